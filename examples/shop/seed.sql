-- seed: the shop example's data with fixed ids, so that tests and readers can name them.
-- Idempotent: rows that exist are left alone.
--
-- Customers  C-1001 Ada Lovelace, C-1002 Grace Hopper
-- Products   1 TEA-01 Green tea 24.50, 2 MUG-01 Mug 9.99, 3 POT-01 Teapot 120.00
-- Orders     9007199254740993 (2^53 + 1) Ada: 2 x tea, 1 x mug = 58.99
--            9007199254740994 Grace: 1 x teapot = 120.00
-- Tags       1 tea (Green tea), 2 ceramic (Mug, Teapot), 3 gift (Green tea, Teapot)

INSERT INTO shop.tb_customer (id, name, email, created_at) VALUES
    ('C-1001', 'Ada Lovelace', 'ada@example.com', '2024-03-01 09:00:00+00'),
    ('C-1002', 'Grace Hopper', 'grace@example.com', '2024-03-02 09:00:00+00')
ON CONFLICT DO NOTHING;

INSERT INTO shop.tb_product (id, sku, name, price, created_at) VALUES
    (1, 'TEA-01', 'Green tea', 24.50, '2024-03-01 08:00:00+00'),
    (2, 'MUG-01', 'Mug', 9.99, '2024-03-01 08:00:00+00'),
    (3, 'POT-01', 'Teapot', 120.00, '2024-03-01 08:00:00+00')
ON CONFLICT DO NOTHING;
-- later products continue after the seeded ids
SELECT setval(pg_get_serial_sequence('shop.tb_product', 'id'), (SELECT max(id) FROM shop.tb_product));

INSERT INTO shop.tb_order (id, customer_id, note, placed_at, updated_at) VALUES
    (9007199254740993, 'C-1001', 'Gift wrap, please', '2024-03-05 10:00:00+00', '2024-03-05 10:00:00+00'),
    (9007199254740994, 'C-1002', NULL, '2024-03-06 11:00:00+00', '2024-03-06 11:00:00+00')
ON CONFLICT DO NOTHING;
SELECT setval('shop.tb_order_id_seq', (SELECT max(id) FROM shop.tb_order));

INSERT INTO shop.tb_order_line (order_id, product_id, quantity, unit_price) VALUES
    (9007199254740993, 1, 2, 24.50),
    (9007199254740993, 2, 1, 9.99),
    (9007199254740994, 3, 1, 120.00)
ON CONFLICT DO NOTHING;

INSERT INTO shop.tb_tag (id, name) VALUES (1, 'tea'), (2, 'ceramic'), (3, 'gift')
ON CONFLICT DO NOTHING;
SELECT setval(pg_get_serial_sequence('shop.tb_tag', 'id'), (SELECT max(id) FROM shop.tb_tag));

INSERT INTO shop.tb_product_tag (product_id, tag_id) VALUES (1, 1), (1, 3), (2, 2), (3, 2), (3, 3)
ON CONFLICT DO NOTHING;
