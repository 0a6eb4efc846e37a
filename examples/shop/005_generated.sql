-- 005_generated: read models generated from examples/shop/schema.graphql by tvsync-migrate generate.
-- Change the declarations and run generate again rather than editing this file.
-- Each object's marker line (its key and the sha256 of its SQL) tells the next run what changed.

-- tvsync:object table shop.tv_product ec6272b9309e22de918192e28f8adf8836adc439aa92ffa76c9bee2705401d33
CREATE TABLE IF NOT EXISTS shop.tv_product (
    id          integer PRIMARY KEY,
    data        jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
GRANT USAGE ON SCHEMA shop TO tvsync_app, tvsync_cdc, tvsync_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON shop.tv_product TO tvsync_cdc;
GRANT SELECT ON shop.tv_product TO tvsync_app, tvsync_reader;

-- tvsync:object table shop.tv_tag 9be0a31f995a176d6e23a97ab0fb2079d1cbededab01c75839b708b96bd534bf
CREATE TABLE IF NOT EXISTS shop.tv_tag (
    id          integer PRIMARY KEY,
    data        jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
GRANT USAGE ON SCHEMA shop TO tvsync_app, tvsync_cdc, tvsync_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON shop.tv_tag TO tvsync_cdc;
GRANT SELECT ON shop.tv_tag TO tvsync_app, tvsync_reader;

-- tvsync:object index shop.tb_order_line_product_id_idx 65ab4c8880d582b62e4b666df3f35b290faa817ef9b692d79138883980a71c3b
DO $tvsync$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                   WHERE i.indrelid = 'shop.tb_order_line'::regclass AND a.attname = 'product_id') THEN
        CREATE INDEX IF NOT EXISTS tb_order_line_product_id_idx ON shop.tb_order_line (product_id);
    END IF;
END
$tvsync$;

-- tvsync:object index shop.tb_product_tag_product_id_idx 6bd9dd7fef0879f4732035ee624dcf27a30d9c27861bdaa8e2601293ae73047d
DO $tvsync$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                   WHERE i.indrelid = 'shop.tb_product_tag'::regclass AND a.attname = 'product_id') THEN
        CREATE INDEX IF NOT EXISTS tb_product_tag_product_id_idx ON shop.tb_product_tag (product_id);
    END IF;
END
$tvsync$;

-- tvsync:object index shop.tb_product_tag_tag_id_idx 0b9e34d1a8177813cbcef1d92965e43c3f32111b36e80653f97f9c2d6f4393cc
DO $tvsync$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                   WHERE i.indrelid = 'shop.tb_product_tag'::regclass AND a.attname = 'tag_id') THEN
        CREATE INDEX IF NOT EXISTS tb_product_tag_tag_id_idx ON shop.tb_product_tag (tag_id);
    END IF;
END
$tvsync$;

-- tvsync:object function shop.fn_build_product 1d0dccfa89242d067ed9dfcccea8baa220f9537b84d050656bb5b338f6108147
-- one document per shop.tb_product row; ids NULL: every row. A subquery per embedded value and per
-- set of listed or counted rows keeps the generic plan an index lookup whatever the tables' sizes.
CREATE OR REPLACE FUNCTION shop.fn_build_product(ids integer[]) RETURNS TABLE (id integer, data jsonb)
LANGUAGE sql STABLE
AS $tvsync$
    SELECT t0.id,
           jsonb_build_object(
               'id', t0.id::text,
               'sku', t0.sku,
               'name', t0.name,
               'price', t0.price,
               'orderCount', l1.v0,
               'unitsSold', coalesce(l1.v1, 0),
               'createdAt', tvsync.iso_time(t0.created_at),
               'tags', coalesce((SELECT jsonb_agg(jsonb_build_object(
                   'id', t2.id::text,
                   'name', t2.name) ORDER BY name, t2.id) FROM shop.tb_tag t2 WHERE t2.id IN (SELECT t3.tag_id FROM shop.tb_product_tag t3 WHERE t3.product_id = t0.id)), '[]'::jsonb))
    FROM shop.tb_product t0
    LEFT JOIN LATERAL (
        SELECT count(*) AS v0,
               sum(t1.quantity) AS v1
        FROM shop.tb_order_line t1 WHERE t1.product_id = t0.id
    ) AS l1 ON true
    WHERE t0.id = ANY (coalesce($1, ARRAY(SELECT every.id FROM shop.tb_product every)))
$tvsync$;
REVOKE ALL ON FUNCTION shop.fn_build_product(integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.fn_build_product(integer[]) TO tvsync_cdc;
GRANT USAGE ON SCHEMA shop TO tvsync_cdc;
GRANT SELECT ON shop.tb_order_line, shop.tb_product, shop.tb_tag, shop.tb_product_tag TO tvsync_cdc;

-- tvsync:object function shop.fn_build_tag ad2c30647f4db0c918a62d7cce1ecb034ed2c91b9b2c03df30e9beeb0b32d9ed
-- one document per shop.tb_tag row; ids NULL: every row. A subquery per embedded value and per
-- set of listed or counted rows keeps the generic plan an index lookup whatever the tables' sizes.
CREATE OR REPLACE FUNCTION shop.fn_build_tag(ids integer[]) RETURNS TABLE (id integer, data jsonb)
LANGUAGE sql STABLE
AS $tvsync$
    SELECT t0.id,
           jsonb_build_object(
               'id', t0.id::text,
               'name', t0.name,
               'productCount', (SELECT count(*) FROM shop.tb_product_tag t1 WHERE t1.tag_id = t0.id),
               'products', coalesce((SELECT jsonb_agg(jsonb_build_object(
                   'id', t2.id::text,
                   'sku', t2.sku,
                   'name', t2.name) ORDER BY sku, t2.id) FROM shop.tb_product t2 WHERE t2.id IN (SELECT t3.product_id FROM shop.tb_product_tag t3 WHERE t3.tag_id = t0.id)), '[]'::jsonb))
    FROM shop.tb_tag t0
    WHERE t0.id = ANY (coalesce($1, ARRAY(SELECT every.id FROM shop.tb_tag every)))
$tvsync$;
REVOKE ALL ON FUNCTION shop.fn_build_tag(integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.fn_build_tag(integer[]) TO tvsync_cdc;
GRANT USAGE ON SCHEMA shop TO tvsync_cdc;
GRANT SELECT ON shop.tb_tag, shop.tb_product_tag, shop.tb_product TO tvsync_cdc;

-- tvsync:object entity product 46527962e98c711dd3e4d5a2473b0819162e01cea9df0fdddc1a9016bb775a13
INSERT INTO tvsync.entity (name, tv_table, source_table, build_function)
VALUES ('product', 'shop.tv_product', 'shop.tb_product', 'shop.fn_build_product(integer[])')
ON CONFLICT (name) DO UPDATE SET tv_table = excluded.tv_table, source_table = excluded.source_table,
    build_function = excluded.build_function
WHERE (tvsync.entity.tv_table, tvsync.entity.source_table, tvsync.entity.build_function)
      IS DISTINCT FROM (excluded.tv_table, excluded.source_table, excluded.build_function);

-- tvsync:object entity tag 703fbe7f6f0e55fe84a09b45d1d1fc42d0e4de0b34cef36acf513526b285f829
INSERT INTO tvsync.entity (name, tv_table, source_table, build_function)
VALUES ('tag', 'shop.tv_tag', 'shop.tb_tag', 'shop.fn_build_tag(integer[])')
ON CONFLICT (name) DO UPDATE SET tv_table = excluded.tv_table, source_table = excluded.source_table,
    build_function = excluded.build_function
WHERE (tvsync.entity.tv_table, tvsync.entity.source_table, tvsync.entity.build_function)
      IS DISTINCT FROM (excluded.tv_table, excluded.source_table, excluded.build_function);

-- tvsync:object index shop.tv_tag_data_idx abb653ef90779ac3f30c0a93c56c6617df928b57d973f3feb33e89008be04e9f
CREATE INDEX IF NOT EXISTS tv_tag_data_idx ON shop.tv_tag USING gin (data jsonb_path_ops);

-- tvsync:object cascade product tag ae5973f68fa10f1d1f555c0b83e487bd1a48495713cd17ffcd93c8c89ad80397
-- tag's documents copy rows of shop.tb_product: its changed ids ($1) reach the tag documents that
-- hold them now (tb_*) and that held them before (tv_*)
INSERT INTO tvsync.cascade (source_entity, target_entity, query, watch)
VALUES ('product', 'tag', $tvsync$
    SELECT c0.tag_id FROM shop.tb_product_tag c0 WHERE c0.product_id = ANY ($1::integer[])
    UNION SELECT o.x::integer FROM (SELECT l.v->>'id' FROM shop.tv_product s CROSS JOIN LATERAL jsonb_array_elements(s.data->'tags') AS l(v) WHERE s.id = ANY ($1::integer[])) AS o(x)
    UNION SELECT x0.tag_id FROM shop.tb_product_tag x0 WHERE x0.product_id = ANY ($1::integer[])
    UNION SELECT t.id FROM shop.tv_tag t WHERE t.data @> ANY (ARRAY(SELECT jsonb_build_object('products', jsonb_build_array(jsonb_build_object('id', v.x))) FROM unnest($1::text[]) AS v(x)))
$tvsync$, ARRAY['tags', 'sku', 'name']::text[])
ON CONFLICT (source_entity, target_entity) DO UPDATE SET query = excluded.query, watch = excluded.watch
WHERE (tvsync.cascade.query, tvsync.cascade.watch) IS DISTINCT FROM (excluded.query, excluded.watch);

-- tvsync:object index shop.tv_product_data_idx b38bbe561b721679eee3b2c63ce7f582df572d7f7c8f7c2760aca26f0c515fbc
CREATE INDEX IF NOT EXISTS tv_product_data_idx ON shop.tv_product USING gin (data jsonb_path_ops);

-- tvsync:object cascade tag product c059009cf22a5a2bff41a49fe9ee806fda4ac92466db3f02cb1c4d1de0b4b62c
-- product's documents copy rows of shop.tb_tag: its changed ids ($1) reach the product documents that
-- hold them now (tb_*) and that held them before (tv_*)
INSERT INTO tvsync.cascade (source_entity, target_entity, query, watch)
VALUES ('tag', 'product', $tvsync$
    SELECT x0.product_id FROM shop.tb_product_tag x0 WHERE x0.tag_id = ANY ($1::integer[])
    UNION SELECT t.id FROM shop.tv_product t WHERE t.data @> ANY (ARRAY(SELECT jsonb_build_object('tags', jsonb_build_array(jsonb_build_object('id', v.x))) FROM unnest($1::text[]) AS v(x)))
$tvsync$, ARRAY['name']::text[])
ON CONFLICT (source_entity, target_entity) DO UPDATE SET query = excluded.query, watch = excluded.watch
WHERE (tvsync.cascade.query, tvsync.cascade.watch) IS DISTINCT FROM (excluded.query, excluded.watch);

-- tvsync:object crud shop.create_tag 1623b719a3d491e060a0bec343538f6a94a7c50e55d8e6df3cb0f0608a606b10
-- createTag(input): one row of the source; the constraints' violations are answers naming the input field.
CREATE OR REPLACE FUNCTION shop.create_tag(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $tvsync$
#variable_conflict use_variable
DECLARE
    v_input jsonb := args -> 'input';
    v_id integer;
    v_problem text;
    v_field text;
    v_column text;
    v_constraint text;
    c_name shop.tb_tag.name%TYPE;
BEGIN
    IF jsonb_typeof(v_input) IS DISTINCT FROM 'object' THEN
        RETURN tvsync.mutation_failed('validation_failed', 'input must be an object', 'tag');
    END IF;
    v_problem := coalesce(
        CASE WHEN coalesce(jsonb_typeof(v_input -> 'id'), 'null') <> 'null' THEN 'input.' || tvsync.key_problem(v_input, 'id', 'integer') END,
        CASE WHEN coalesce(jsonb_typeof(v_input -> 'name'), 'null') = 'null' THEN 'input.name is required' END);
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'tag');
    END IF;
    BEGIN
        v_field := 'name';
        c_name := v_input ->> 'name';
        v_field := NULL;
        IF coalesce(jsonb_typeof(v_input -> 'id'), 'null') <> 'null' THEN
            v_id := tvsync.try_integer(v_input ->> 'id');
            INSERT INTO shop.tb_tag (id, name) OVERRIDING SYSTEM VALUE VALUES (v_id, c_name);
        ELSE
            INSERT INTO shop.tb_tag AS r (name) VALUES (c_name) RETURNING r.id INTO v_id;
        END IF;
    EXCEPTION
        WHEN data_exception THEN
            IF v_field IS NULL THEN
                RAISE;
            END IF;
            RETURN tvsync.mutation_failed('validation_failed', format('input.%s %s is not a valid %s', v_field, v_input ->> v_field, CASE v_field WHEN 'name' THEN 'text' END), 'tag');
        WHEN not_null_violation THEN
            GET STACKED DIAGNOSTICS v_column = COLUMN_NAME;
            RETURN tvsync.mutation_failed('validation_failed', CASE v_column WHEN 'name' THEN 'input.name is required' ELSE format('%s is required', v_column) END, 'tag');
        WHEN unique_violation THEN
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            RETURN tvsync.mutation_failed('conflict', CASE v_constraint WHEN 'tb_tag_name_key' THEN 'input.name: another tag has this value' ELSE CASE WHEN v_constraint = (SELECT c.conname FROM pg_constraint c WHERE c.conrelid = 'shop.tb_tag'::regclass AND c.contype = 'p') THEN 'input.id: another tag has this value' ELSE format('input: another %s has these values (%s)', 'tag', v_constraint) END END, 'tag');
        WHEN foreign_key_violation THEN
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            RETURN tvsync.mutation_failed('validation_failed', format('input: no row that foreign key %s references', v_constraint), 'tag');
        WHEN check_violation THEN
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            RETURN tvsync.mutation_failed('validation_failed', CASE v_constraint WHEN 'tb_tag_name_not_empty' THEN 'input.name violates check tb_tag_name_not_empty' ELSE format('input violates check %s', v_constraint) END, 'tag');
        WHEN generated_always THEN
            v_column := substring(SQLERRM FROM '"([^"]+)"');
            RETURN tvsync.mutation_failed('validation_failed', format('%s cannot be written: it is generated', v_column), 'tag');
    END;
    RETURN tvsync.mutation_ok('tag', v_id, jsonb_build_array(tvsync.intent('tag', ARRAY[v_id])));
END
$tvsync$;
COMMENT ON FUNCTION shop.create_tag(jsonb) IS 'generated by tvsync-migrate generate (crud: true)';
REVOKE ALL ON FUNCTION shop.create_tag(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.create_tag(jsonb) TO tvsync_app;
GRANT USAGE ON SCHEMA shop TO tvsync_app;
GRANT SELECT, INSERT, UPDATE ON shop.tb_tag TO tvsync_app;
DO $tvsync$
DECLARE
    v_sequence text;
BEGIN
    FOR v_sequence IN SELECT pg_get_serial_sequence('shop.tb_tag', c.attname) FROM pg_attribute c WHERE c.attrelid = 'shop.tb_tag'::regclass AND c.attnum > 0 AND NOT c.attisdropped LOOP
        IF v_sequence IS NOT NULL THEN
            EXECUTE format('GRANT USAGE ON SEQUENCE %s TO tvsync_app', v_sequence);
        END IF;
    END LOOP;
END
$tvsync$;

-- tvsync:object crud shop.update_tag 66f0d342dbada5267c33cafdbead68cad89caf67ec05f5ff80fabc730528a5fd
-- updateTag(id, patch): a field left out keeps its column, null sets NULL. One UPDATE reads the
-- row's latest version, so concurrent patches of other fields are not lost.
CREATE OR REPLACE FUNCTION shop.update_tag(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $tvsync$
#variable_conflict use_variable
DECLARE
    v_patch jsonb := args -> 'patch';
    v_id integer := tvsync.try_integer(args ->> 'id');
    v_problem text := tvsync.key_problem(args, 'id', 'integer');
    v_found boolean;
    v_field text;
    v_column text;
    v_constraint text;
    c_name shop.tb_tag.name%TYPE;
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'tag');
    END IF;
    IF jsonb_typeof(v_patch) IS DISTINCT FROM 'object' THEN
        RETURN tvsync.mutation_failed('validation_failed', 'patch must be an object', 'tag', v_id);
    END IF;
    BEGIN
        v_field := 'name';
        c_name := v_patch ->> 'name';
        v_field := NULL;
        UPDATE shop.tb_tag AS r SET name = CASE WHEN v_patch ? 'name' THEN c_name ELSE r.name END
        WHERE r.id = v_id;
        v_found := FOUND;
    EXCEPTION
        WHEN data_exception THEN
            IF v_field IS NULL THEN
                RAISE;
            END IF;
            RETURN tvsync.mutation_failed('validation_failed', format('patch.%s %s is not a valid %s', v_field, v_patch ->> v_field, CASE v_field WHEN 'name' THEN 'text' END), 'tag', v_id);
        WHEN not_null_violation THEN
            GET STACKED DIAGNOSTICS v_column = COLUMN_NAME;
            RETURN tvsync.mutation_failed('validation_failed', CASE v_column WHEN 'name' THEN 'patch.name must not be null' ELSE format('%s is required', v_column) END, 'tag', v_id);
        WHEN unique_violation THEN
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            RETURN tvsync.mutation_failed('conflict', CASE v_constraint WHEN 'tb_tag_name_key' THEN 'patch.name: another tag has this value' ELSE format('patch: another %s has these values (%s)', 'tag', v_constraint) END, 'tag', v_id);
        WHEN foreign_key_violation THEN
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            RETURN tvsync.mutation_failed('validation_failed', format('patch: no row that foreign key %s references', v_constraint), 'tag', v_id);
        WHEN check_violation THEN
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            RETURN tvsync.mutation_failed('validation_failed', CASE v_constraint WHEN 'tb_tag_name_not_empty' THEN 'patch.name violates check tb_tag_name_not_empty' ELSE format('patch violates check %s', v_constraint) END, 'tag', v_id);
        WHEN generated_always THEN
            v_column := substring(SQLERRM FROM '"([^"]+)"');
            RETURN tvsync.mutation_failed('validation_failed', format('%s cannot be written: it is generated', v_column), 'tag', v_id);
    END;
    IF NOT v_found THEN
        RETURN tvsync.mutation_failed('not_found', format('no tag with id %s', v_id), 'tag', v_id);
    END IF;
    RETURN tvsync.mutation_ok('tag', v_id, jsonb_build_array(tvsync.intent('tag', ARRAY[v_id])));
END
$tvsync$;
COMMENT ON FUNCTION shop.update_tag(jsonb) IS 'generated by tvsync-migrate generate (crud: true)';
REVOKE ALL ON FUNCTION shop.update_tag(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.update_tag(jsonb) TO tvsync_app;
GRANT USAGE ON SCHEMA shop TO tvsync_app;
GRANT SELECT, UPDATE ON shop.tb_tag TO tvsync_app;

-- tvsync:object crud shop.delete_tag b7a9a75b005cf00df17d189d8acdfba65ab72bb9517c9b6460c524c7d3fdb8fc
-- deleteTag(id): a row other rows still reference stays (conflict); ON DELETE CASCADE children go with it.
CREATE OR REPLACE FUNCTION shop.delete_tag(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $tvsync$
#variable_conflict use_variable
DECLARE
    v_id integer := tvsync.try_integer(args ->> 'id');
    v_problem text := tvsync.key_problem(args, 'id', 'integer');
    v_found boolean;
    v_schema text;
    v_table text;
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'tag');
    END IF;
    BEGIN
        DELETE FROM shop.tb_tag AS r WHERE r.id = v_id;
        v_found := FOUND;
    EXCEPTION WHEN foreign_key_violation THEN
        GET STACKED DIAGNOSTICS v_schema = SCHEMA_NAME, v_table = TABLE_NAME;
        RETURN tvsync.mutation_failed('conflict', format('tag %s is still referenced by rows of %I.%I', v_id, v_schema, v_table), 'tag', v_id);
    END;
    IF NOT v_found THEN
        RETURN tvsync.mutation_failed('not_found', format('no tag with id %s', v_id), 'tag', v_id);
    END IF;
    RETURN tvsync.mutation_ok('tag', v_id, jsonb_build_array(tvsync.intent('tag', ARRAY[v_id])));
END
$tvsync$;
COMMENT ON FUNCTION shop.delete_tag(jsonb) IS 'generated by tvsync-migrate generate (crud: true)';
REVOKE ALL ON FUNCTION shop.delete_tag(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.delete_tag(jsonb) TO tvsync_app;
GRANT USAGE ON SCHEMA shop TO tvsync_app;
GRANT SELECT, DELETE ON shop.tb_tag TO tvsync_app;

-- tvsync:object crud shop.link_tag_products 7eee427c3b494824103ac1defa5772bcb3c8df2874259da7b7a7fadef4cf821d
-- linkTagProducts(id, targetId): adds one row of shop.tb_product_tag.
CREATE OR REPLACE FUNCTION shop.link_tag_products(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $tvsync$
#variable_conflict use_variable
DECLARE
    v_id integer := tvsync.try_integer(args ->> 'id');
    v_target integer := tvsync.try_integer(args ->> 'targetId');
    v_problem text := coalesce(tvsync.key_problem(args, 'id', 'integer'), tvsync.key_problem(args, 'targetId', 'integer'));
    v_found boolean;
    v_constraint text;
    v_column text;
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'tag');
    END IF;
    BEGIN
        INSERT INTO shop.tb_product_tag AS r (tag_id, product_id)
        SELECT v_id, v_target WHERE NOT EXISTS (SELECT FROM shop.tb_product_tag AS r WHERE r.tag_id = v_id AND r.product_id = v_target)
        ON CONFLICT DO NOTHING;
        v_found := FOUND;
    EXCEPTION
        WHEN foreign_key_violation THEN
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            IF v_constraint = 'tb_product_tag_tag_fkey' THEN
                RETURN tvsync.mutation_failed('not_found', format('no tag with id %s', v_id), 'tag', v_id);
            END IF;
            RETURN tvsync.mutation_failed('validation_failed', format('targetId %s: no such product', v_target), 'tag', v_id);
        WHEN not_null_violation THEN
            GET STACKED DIAGNOSTICS v_column = COLUMN_NAME;
            RETURN tvsync.mutation_failed('validation_failed', format('%s.%s has no default: linkTagProducts cannot fill it', 'tb_product_tag', v_column), 'tag', v_id);
        WHEN check_violation THEN
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            RETURN tvsync.mutation_failed('validation_failed', format('the link violates check %s', v_constraint), 'tag', v_id);
    END;
    IF NOT v_found THEN
        RETURN tvsync.mutation_ok('tag', v_id);
    END IF;
    RETURN tvsync.mutation_ok('tag', v_id, jsonb_build_array(
            tvsync.intent('product', ARRAY[v_target]),
            tvsync.intent('tag', ARRAY[v_id])));
END
$tvsync$;
COMMENT ON FUNCTION shop.link_tag_products(jsonb) IS 'generated by tvsync-migrate generate (crud: true)';
REVOKE ALL ON FUNCTION shop.link_tag_products(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.link_tag_products(jsonb) TO tvsync_app;
GRANT USAGE ON SCHEMA shop TO tvsync_app;
GRANT SELECT, INSERT ON shop.tb_product_tag TO tvsync_app;

-- tvsync:object crud shop.unlink_tag_products ccbc4575a9733a7729ff2a0474b6b66873a2bccfb7de3857d532e235bbe38019
-- unlinkTagProducts(id, targetId): removes one row of shop.tb_product_tag.
CREATE OR REPLACE FUNCTION shop.unlink_tag_products(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $tvsync$
#variable_conflict use_variable
DECLARE
    v_id integer := tvsync.try_integer(args ->> 'id');
    v_target integer := tvsync.try_integer(args ->> 'targetId');
    v_problem text := coalesce(tvsync.key_problem(args, 'id', 'integer'), tvsync.key_problem(args, 'targetId', 'integer'));
    v_found boolean;
    v_constraint text;
    v_column text;
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'tag');
    END IF;
    DELETE FROM shop.tb_product_tag AS r WHERE r.tag_id = v_id AND r.product_id = v_target;
    v_found := FOUND;
    IF NOT v_found AND NOT EXISTS (SELECT FROM shop.tb_tag AS r WHERE r.id = v_id) THEN
        RETURN tvsync.mutation_failed('not_found', format('no tag with id %s', v_id), 'tag', v_id);
    END IF;
    IF NOT v_found THEN
        RETURN tvsync.mutation_ok('tag', v_id);
    END IF;
    RETURN tvsync.mutation_ok('tag', v_id, jsonb_build_array(
            tvsync.intent('product', ARRAY[v_target]),
            tvsync.intent('tag', ARRAY[v_id])));
END
$tvsync$;
COMMENT ON FUNCTION shop.unlink_tag_products(jsonb) IS 'generated by tvsync-migrate generate (crud: true)';
REVOKE ALL ON FUNCTION shop.unlink_tag_products(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.unlink_tag_products(jsonb) TO tvsync_app;
GRANT USAGE ON SCHEMA shop TO tvsync_app;
GRANT SELECT, DELETE ON shop.tb_product_tag TO tvsync_app;
GRANT SELECT ON shop.tb_tag TO tvsync_app;

-- documents whose build function is new or changed are built (again)
SELECT tvsync.request_rebuild('product');
SELECT tvsync.request_rebuild('tag');
