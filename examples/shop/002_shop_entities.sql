-- 002_shop_entities: the shop's build functions, their registration and the cascades.
--
-- Build functions take an array of the entity's key type (NULL: every row) and return
-- (id, data). Each selects its rows by id = ANY (...) and reads what a row embeds or counts
-- with a subquery per row, so the generic plan tvsync-cdc keeps per connection looks rows
-- up by index whatever the tables' sizes. Ids appear in documents in their text form (a
-- GraphQL ID is a string, and a bigint above 2^53 stays exact in any client); money is a
-- JSON number with its two decimals (numeric(12,2) and sums cast to numeric(14,2)).

CREATE FUNCTION shop.fn_build_customer(ids text[]) RETURNS TABLE (id text, data jsonb)
LANGUAGE sql STABLE
AS $$
    SELECT c.id,
           jsonb_build_object(
               'id', c.id,
               'name', c.name,
               'email', c.email,
               'orderCount', (SELECT count(*) FROM shop.tb_order o WHERE o.customer_id = c.id),
               'totalSpent', (SELECT coalesce(sum(l.quantity * l.unit_price), 0)::numeric(14,2)
                              FROM shop.tb_order o JOIN shop.tb_order_line l ON l.order_id = o.id
                              WHERE o.customer_id = c.id),
               'createdAt', tvsync.iso_time(c.created_at))
    FROM shop.tb_customer c
    WHERE c.id = ANY (coalesce(ids, ARRAY(SELECT every.id FROM shop.tb_customer every)))
$$;

CREATE FUNCTION shop.fn_build_product(ids integer[]) RETURNS TABLE (id integer, data jsonb)
LANGUAGE sql STABLE
AS $$
    SELECT p.id,
           jsonb_build_object(
               'id', p.id::text,
               'sku', p.sku,
               'name', p.name,
               'price', p.price,
               'orderCount', (SELECT count(*) FROM shop.tb_order_line l WHERE l.product_id = p.id),
               'unitsSold', (SELECT coalesce(sum(l.quantity), 0) FROM shop.tb_order_line l WHERE l.product_id = p.id),
               'createdAt', tvsync.iso_time(p.created_at))
    FROM shop.tb_product p
    WHERE p.id = ANY (coalesce(ids, ARRAY(SELECT every.id FROM shop.tb_product every)))
$$;

-- An order embeds its customer's name and each line's product (sku, name); lines in
-- product id order.
CREATE FUNCTION shop.fn_build_order(ids bigint[]) RETURNS TABLE (id bigint, data jsonb)
LANGUAGE sql STABLE
AS $$
    SELECT o.id,
           jsonb_build_object(
               'id', o.id::text,
               'customer', (SELECT jsonb_build_object('id', c.id, 'name', c.name)
                            FROM shop.tb_customer c WHERE c.id = o.customer_id),
               'note', o.note,
               'placedAt', tvsync.iso_time(o.placed_at),
               'updatedAt', tvsync.iso_time(o.updated_at),
               'lines', coalesce(lines.list, '[]'::jsonb),
               'lineCount', coalesce(lines.line_count, 0),
               'itemCount', coalesce(lines.item_count, 0),
               'total', coalesce(lines.total, 0)::numeric(14,2))
    FROM shop.tb_order o
    LEFT JOIN LATERAL (
        SELECT jsonb_agg(jsonb_build_object(
                   'productId', l.product_id::text,
                   'product', (SELECT jsonb_build_object('id', p.id::text, 'sku', p.sku, 'name', p.name)
                               FROM shop.tb_product p WHERE p.id = l.product_id),
                   'quantity', l.quantity,
                   'unitPrice', l.unit_price,
                   'amount', (l.quantity * l.unit_price)::numeric(14,2))
                   ORDER BY l.product_id) AS list,
               count(*) AS line_count,
               sum(l.quantity) AS item_count,
               sum(l.quantity * l.unit_price) AS total
        FROM shop.tb_order_line l
        WHERE l.order_id = o.id
    ) AS lines ON true
    WHERE o.id = ANY (coalesce(ids, ARRAY(SELECT every.id FROM shop.tb_order every)))
$$;

REVOKE ALL ON FUNCTION shop.fn_build_customer(text[]), shop.fn_build_product(integer[]),
    shop.fn_build_order(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.fn_build_customer(text[]), shop.fn_build_product(integer[]),
    shop.fn_build_order(bigint[]) TO tvsync_cdc;

INSERT INTO tvsync.entity (name, tv_table, source_table, build_function) VALUES
    ('customer', 'shop.tv_customer', 'shop.tb_customer', 'shop.fn_build_customer(text[])'),
    ('product', 'shop.tv_product', 'shop.tb_product', 'shop.fn_build_product(integer[])'),
    ('order', 'shop.tv_order', 'shop.tb_order', 'shop.fn_build_order(bigint[])');

-- Cascades: $1 holds the changed source ids (cast to the source's key type, so the query
-- reads the same whichever array type tvsync-cdc binds). Each reads the new state (tb_*)
-- and, where a reference can move or vanish, the old one (the tv_* documents, not yet
-- rebuilt when tvsync-cdc expands cascades).
--
-- Order lines are not entities. A mutation that writes lines publishes the order (the
-- document that embeds them); the order -> product cascade brings the products whose
-- counts changed, found in the order's lines now and in its document before, so a line
-- moved to another order or deleted with its order still reaches its product. Publishing
-- the products as intents instead would expand them along product -> order, which is
-- unconditional for intents: every order of a popular product rebuilt for one new line.
INSERT INTO tvsync.cascade (source_entity, target_entity, query, watch) VALUES
    -- an order embeds its customer's name
    ('customer', 'order', $q$
        SELECT o.id FROM shop.tb_order o WHERE o.customer_id = ANY ($1::text[])
        UNION SELECT t.id FROM shop.tv_order t WHERE t.data->'customer'->>'id' = ANY ($1::text[])
    $q$, ARRAY['name']),
    -- an order embeds each line's product sku and name; a product with lines cannot be
    -- deleted (tb_order_line_product_fkey), and a line that changes product is written by a
    -- mutation that publishes its order
    ('product', 'order', $q$
        SELECT l.order_id FROM shop.tb_order_line l WHERE l.product_id = ANY ($1::integer[])
    $q$, ARRAY['sku', 'name']),
    -- a customer counts orders and sums their totals
    ('order', 'customer', $q$
        SELECT o.customer_id FROM shop.tb_order o WHERE o.id = ANY ($1::bigint[])
        UNION SELECT t.data->'customer'->>'id' FROM shop.tv_order t WHERE t.id = ANY ($1::bigint[])
    $q$, ARRAY['customer', 'total']),
    -- a product counts the lines that name it and the units they order
    ('order', 'product', $q$
        SELECT l.product_id FROM shop.tb_order_line l WHERE l.order_id = ANY ($1::bigint[])
        UNION SELECT (line->>'productId')::integer
              FROM shop.tv_order t, jsonb_array_elements(t.data->'lines') AS line
              WHERE t.id = ANY ($1::bigint[])
    $q$, ARRAY['lines']);
