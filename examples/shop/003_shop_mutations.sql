-- 003_shop_mutations: the shop's write side for tvsync-server, written with the engine's
-- helpers (tvsync.mutation_ok, mutation_failed, intent and the *_problem checks).
--
-- Each function takes the GraphQL field's arguments as one jsonb object and returns
-- tvsync.mutation_result; a status other than ok undoes what it wrote. Intents name the
-- rows written: a customer, a product, or the orders whose lines changed (the cascades of
-- 002 reach the customers and products that count them). Line edits lock their order FOR
-- UPDATE, so two edits of one order's lines run one after the other. A function that
-- answers a status other than ok has written nothing.

CREATE FUNCTION shop.create_customer(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id text := tvsync.text_arg(args, 'id');
    v_problem text := coalesce(tvsync.key_problem(args, 'id', 'text'),
                               CASE WHEN v_id !~ '^[A-Z0-9][A-Z0-9-]{0,31}$'
                                    THEN 'id must be 1 to 32 capital letters, digits or "-"' END,
                               tvsync.text_problem(args, 'name'), tvsync.text_problem(args, 'email'));
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'customer');
    END IF;
    INSERT INTO shop.tb_customer (id, name, email) VALUES (v_id, args ->> 'name', args ->> 'email')
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('conflict', format('customer %s or email %s exists already', v_id, args ->> 'email'),
                                      'customer');
    END IF;
    RETURN tvsync.mutation_ok('customer', v_id, jsonb_build_array(tvsync.intent('customer', ARRAY[v_id])));
END
$$;

-- A new name reaches the customer's orders through the customer -> order cascade.
CREATE FUNCTION shop.update_customer(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id text := tvsync.text_arg(args, 'id');
    v_problem text := coalesce(tvsync.key_problem(args, 'id', 'text'),
                               tvsync.text_problem(args, 'name', required => false),
                               tvsync.text_problem(args, 'email', required => false));
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'customer', v_id);
    END IF;
    BEGIN
        UPDATE shop.tb_customer SET name = coalesce(tvsync.text_arg(args, 'name'), name),
                                    email = coalesce(tvsync.text_arg(args, 'email'), email)
        WHERE id = v_id;
    EXCEPTION WHEN unique_violation THEN
        RETURN tvsync.mutation_failed('conflict', format('email %s is in use', args ->> 'email'), 'customer', v_id);
    END;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('no customer with id %s', v_id), 'customer', v_id);
    END IF;
    RETURN tvsync.mutation_ok('customer', v_id, jsonb_build_array(tvsync.intent('customer', ARRAY[v_id])));
END
$$;

CREATE FUNCTION shop.create_product(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id integer;
    v_problem text := coalesce(tvsync.text_problem(args, 'sku'), tvsync.text_problem(args, 'name'),
                               tvsync.numeric_problem(args, 'price', min_value => 0, max_value => 9999999999.99,
                                                      max_scale => 2));
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'product');
    END IF;
    INSERT INTO shop.tb_product (sku, name, price)
    VALUES (args ->> 'sku', args ->> 'name', (args ->> 'price')::numeric)
    ON CONFLICT (sku) DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        RETURN tvsync.mutation_failed('conflict', format('sku %s exists already', args ->> 'sku'), 'product');
    END IF;
    RETURN tvsync.mutation_ok('product', v_id, jsonb_build_array(tvsync.intent('product', ARRAY[v_id])));
END
$$;

-- A new name or sku reaches the orders that embed it through product -> order; a new
-- price applies to lines ordered from now on.
CREATE FUNCTION shop.update_product(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id integer := tvsync.try_integer(args ->> 'id');
    v_problem text := coalesce(tvsync.key_problem(args, 'id', 'integer'),
                               tvsync.text_problem(args, 'sku', required => false),
                               tvsync.text_problem(args, 'name', required => false),
                               tvsync.numeric_problem(args, 'price', required => false, min_value => 0,
                                                      max_value => 9999999999.99, max_scale => 2));
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'product', v_id);
    END IF;
    BEGIN
        UPDATE shop.tb_product SET sku = coalesce(tvsync.text_arg(args, 'sku'), sku),
                                   name = coalesce(tvsync.text_arg(args, 'name'), name),
                                   price = coalesce(tvsync.try_numeric(args ->> 'price'), price)
        WHERE id = v_id;
    EXCEPTION WHEN unique_violation THEN
        RETURN tvsync.mutation_failed('conflict', format('sku %s exists already', args ->> 'sku'), 'product', v_id);
    END;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('no product with id %s', v_id), 'product', v_id);
    END IF;
    RETURN tvsync.mutation_ok('product', v_id, jsonb_build_array(tvsync.intent('product', ARRAY[v_id])));
END
$$;

-- One line of args.lines (position i, from 0): productId, quantity, unitPrice (default:
-- the product's price). The message names the line.
CREATE FUNCTION shop.line_problem(line jsonb, i integer) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT 'lines[' || i || ']: ' || coalesce(
        CASE WHEN jsonb_typeof(line) <> 'object' THEN 'must be an object' END,
        tvsync.key_problem(line, 'productId', 'integer'),
        tvsync.integer_problem(line, 'quantity', min_value => 1, max_value => 100000),
        tvsync.numeric_problem(line, 'unitPrice', required => false, min_value => 0,
                               max_value => 9999999999.99, max_scale => 2))
$$;

-- Writes the line (order, product) with quantity and unit price, the product's price when
-- unit_price is NULL. The caller checked that the product exists (and locked it).
CREATE FUNCTION shop.put_line(p_order bigint, p_product integer, p_quantity integer, p_unit_price numeric)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO shop.tb_order_line AS l (order_id, product_id, quantity, unit_price)
    SELECT p_order, p_product, p_quantity, coalesce(p_unit_price, p.price)
    FROM shop.tb_product p WHERE p.id = p_product
    ON CONFLICT (order_id, product_id) DO UPDATE
        SET quantity = excluded.quantity,
            unit_price = coalesce(p_unit_price, l.unit_price)
$$;

-- createOrder(customerId, note, lines: [{productId, quantity, unitPrice}]): one line per
-- product (a product named twice is a validation error).
CREATE FUNCTION shop.create_order(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_customer text := tvsync.text_arg(args, 'customerId');
    v_id bigint;
    v_line jsonb;
    v_i integer := 0;
    v_problem text := coalesce(tvsync.key_problem(args, 'customerId', 'text'),
                               CASE WHEN jsonb_typeof(args -> 'lines') <> 'array' OR jsonb_array_length(args -> 'lines') = 0
                                    THEN 'lines must list at least one line' END);
BEGIN
    IF v_problem IS NULL THEN
        FOR v_line IN SELECT value FROM jsonb_array_elements(args -> 'lines') LOOP
            v_problem := shop.line_problem(v_line, v_i);
            EXIT WHEN v_problem IS NOT NULL;
            v_i := v_i + 1;
        END LOOP;
    END IF;
    IF v_problem IS NULL AND (SELECT count(DISTINCT (l ->> 'productId')::integer) FROM jsonb_array_elements(args -> 'lines') AS l)
                             < jsonb_array_length(args -> 'lines') THEN
        v_problem := 'lines must name each product once';
    END IF;
    v_problem := coalesce(v_problem, tvsync.missing_reference('customerId', v_customer, 'shop.tb_customer'));
    -- every product exists (and stays until the lines reference it) before anything is written
    v_i := 0;
    FOR v_line IN SELECT value FROM jsonb_array_elements(args -> 'lines') LOOP
        EXIT WHEN v_problem IS NOT NULL;
        v_problem := 'lines[' || v_i || ']: '
                     || tvsync.missing_reference('productId', (v_line ->> 'productId')::integer, 'shop.tb_product');
        v_i := v_i + 1;
    END LOOP;
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'order');
    END IF;
    INSERT INTO shop.tb_order (customer_id, note) VALUES (v_customer, args ->> 'note') RETURNING id INTO v_id;
    FOR v_line IN SELECT value FROM jsonb_array_elements(args -> 'lines') LOOP
        PERFORM shop.put_line(v_id, (v_line ->> 'productId')::integer, (v_line ->> 'quantity')::integer,
                              tvsync.try_numeric(v_line ->> 'unitPrice'));
    END LOOP;
    RETURN tvsync.mutation_ok('order', v_id, jsonb_build_array(tvsync.intent('order', ARRAY[v_id])));
END
$$;

-- Locks the order for a line edit (FOR UPDATE: line edits of one order run one after the
-- other); false when there is none. Writes nothing, so a failure after it leaves no trace.
CREATE FUNCTION shop.lock_order(p_order bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM shop.tb_order WHERE id = p_order FOR UPDATE;
    RETURN FOUND;
END
$$;

-- The orders' updatedAt, once their lines changed.
CREATE FUNCTION shop.touch_orders(p_orders bigint[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE shop.tb_order SET updated_at = now() WHERE id = ANY (p_orders)
$$;

-- setOrderLine(orderId, productId, quantity, unitPrice): adds the line or changes its
-- quantity (and its price when unitPrice is given).
CREATE FUNCTION shop.set_order_line(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_order bigint := tvsync.try_bigint(args ->> 'orderId');
    v_problem text := coalesce(tvsync.key_problem(args, 'orderId', 'bigint'),
                               tvsync.key_problem(args, 'productId', 'integer'),
                               tvsync.integer_problem(args, 'quantity', min_value => 1, max_value => 100000),
                               tvsync.numeric_problem(args, 'unitPrice', required => false, min_value => 0,
                                                      max_value => 9999999999.99, max_scale => 2),
                               tvsync.missing_reference('productId', tvsync.try_integer(args ->> 'productId'),
                                                        'shop.tb_product'));
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'order', v_order);
    END IF;
    IF NOT shop.lock_order(v_order) THEN
        RETURN tvsync.mutation_failed('not_found', format('no order with id %s', v_order), 'order', v_order);
    END IF;
    PERFORM shop.put_line(v_order, (args ->> 'productId')::integer, (args ->> 'quantity')::integer,
                          tvsync.try_numeric(args ->> 'unitPrice'));
    PERFORM shop.touch_orders(ARRAY[v_order]);
    RETURN tvsync.mutation_ok('order', v_order, jsonb_build_array(tvsync.intent('order', ARRAY[v_order])));
END
$$;

-- moveOrderLine(orderId, productId, toOrderId): the line leaves one order for another
-- (its composite key changes). Both orders are published; their customers' totals and
-- the product follow through the cascades. Returns the order the line moved to.
CREATE FUNCTION shop.move_order_line(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_from bigint := tvsync.try_bigint(args ->> 'orderId');
    v_to bigint := tvsync.try_bigint(args ->> 'toOrderId');
    v_product integer := tvsync.try_integer(args ->> 'productId');
    v_problem text := coalesce(tvsync.key_problem(args, 'orderId', 'bigint'),
                               tvsync.key_problem(args, 'productId', 'integer'),
                               tvsync.key_problem(args, 'toOrderId', 'bigint'),
                               CASE WHEN v_from = v_to THEN 'toOrderId must differ from orderId' END);
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'order', v_to);
    END IF;
    -- both orders locked in id order, so two opposite moves cannot deadlock
    IF NOT shop.lock_order(least(v_from, v_to)) OR NOT shop.lock_order(greatest(v_from, v_to)) THEN
        RETURN tvsync.mutation_failed('not_found',
            format('no order with id %s', CASE WHEN EXISTS (SELECT FROM shop.tb_order WHERE id = v_from) THEN v_to ELSE v_from END),
            'order', v_to);
    END IF;
    BEGIN
        UPDATE shop.tb_order_line SET order_id = v_to WHERE order_id = v_from AND product_id = v_product;
    EXCEPTION WHEN unique_violation THEN
        RETURN tvsync.mutation_failed('conflict', format('order %s has a line for product %s already', v_to, v_product),
                                      'order', v_to);
    END;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('order %s has no line for product %s', v_from, v_product),
                                      'order', v_to);
    END IF;
    PERFORM shop.touch_orders(ARRAY[v_from, v_to]);
    RETURN tvsync.mutation_ok('order', v_to, jsonb_build_array(tvsync.intent('order', ARRAY[v_from, v_to])));
END
$$;

-- removeOrderLine(orderId, productId): returns the order.
CREATE FUNCTION shop.remove_order_line(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_order bigint := tvsync.try_bigint(args ->> 'orderId');
    v_problem text := coalesce(tvsync.key_problem(args, 'orderId', 'bigint'),
                               tvsync.key_problem(args, 'productId', 'integer'));
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'order', v_order);
    END IF;
    IF NOT shop.lock_order(v_order) THEN
        RETURN tvsync.mutation_failed('not_found', format('no order with id %s', v_order), 'order', v_order);
    END IF;
    DELETE FROM shop.tb_order_line WHERE order_id = v_order AND product_id = (args ->> 'productId')::integer;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('order %s has no line for product %s', v_order, args ->> 'productId'),
                                      'order', v_order);
    END IF;
    PERFORM shop.touch_orders(ARRAY[v_order]);
    RETURN tvsync.mutation_ok('order', v_order, jsonb_build_array(tvsync.intent('order', ARRAY[v_order])));
END
$$;

-- deleteOrder(id): the order and its lines; returns the order's id. Its document goes,
-- and its old lines (read from that document by order -> product) reach their products.
CREATE FUNCTION shop.delete_order(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint := tvsync.try_bigint(args ->> 'id');
    v_problem text := tvsync.key_problem(args, 'id', 'bigint');
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'order');
    END IF;
    DELETE FROM shop.tb_order WHERE id = v_id;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('no order with id %s', v_id), 'order', v_id);
    END IF;
    RETURN tvsync.mutation_ok('order', v_id, jsonb_build_array(tvsync.intent('order', ARRAY[v_id])));
END
$$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA shop FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.create_customer(jsonb), shop.update_customer(jsonb), shop.create_product(jsonb),
    shop.update_product(jsonb), shop.line_problem(jsonb, integer), shop.put_line(bigint, integer, integer, numeric),
    shop.create_order(jsonb), shop.lock_order(bigint), shop.touch_orders(bigint[]), shop.set_order_line(jsonb),
    shop.move_order_line(jsonb), shop.remove_order_line(jsonb), shop.delete_order(jsonb)
TO tvsync_app;
