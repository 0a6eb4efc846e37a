-- 006_generated: read models generated from examples/shop/schema.graphql by tvsync-migrate generate.
-- Change the declarations and run generate again rather than editing this file.
-- Each object's marker line (its key and the sha256 of its SQL) tells the next run what changed.

-- tvsync:object function shop.fn_patch_tag_from_product 35716d1656a3f9f72f32f0dba13ac9d9cac818f4a12c804844bb6666d7d6f69b
-- tag's documents when only rows of shop.tb_product changed (changed: their ids): each list of them
-- is the old document's with the changed rows' elements removed and their current ones put
-- in its order (tvsync.patch_list); the other fields are computed as fn_build_tag does.
CREATE OR REPLACE FUNCTION shop.fn_patch_tag_from_product(ids integer[], changed integer[])
RETURNS TABLE (id integer, data jsonb)
LANGUAGE sql STABLE
AS $tvsync$
    SELECT t0.id,
           jsonb_build_object(
               'id', t0.id::text,
               'name', t0.name,
               'productCount', (SELECT count(*) FROM shop.tb_product_tag t1 WHERE t1.tag_id = t0.id),
               'products', coalesce(tvsync.patch_list(old.data -> 'products', $2::text[],
                   (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'id', t2.id::text,
                   'sku', t2.sku,
                   'name', t2.name)), '[]'::jsonb) FROM shop.tb_product t2 WHERE t2.id = ANY ($2) AND t2.id IN (SELECT t3.product_id FROM shop.tb_product_tag t3 WHERE t3.tag_id = t0.id)),
                   'id', '[{"field": "sku", "type": "text", "desc": false, "nulls_first": false}, {"field": "id", "type": "integer", "desc": false, "nulls_first": false}]'::jsonb),
                   coalesce((SELECT jsonb_agg(jsonb_build_object(
                   'id', t4.id::text,
                   'sku', t4.sku,
                   'name', t4.name) ORDER BY sku, t4.id) FROM shop.tb_product t4 WHERE t4.id IN (SELECT t5.product_id FROM shop.tb_product_tag t5 WHERE t5.tag_id = t0.id)), '[]'::jsonb)))
    FROM shop.tb_tag t0
    LEFT JOIN shop.tv_tag old ON old.id = t0.id
    WHERE t0.id = ANY ($1)
$tvsync$;
REVOKE ALL ON FUNCTION shop.fn_patch_tag_from_product(integer[], integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.fn_patch_tag_from_product(integer[], integer[]) TO tvsync_cdc;
GRANT USAGE ON SCHEMA shop TO tvsync_cdc;
GRANT SELECT ON shop.tb_tag, shop.tb_product_tag, shop.tb_product TO tvsync_cdc;

-- tvsync:object patch product tag 9e9101171af93c9c00f64dd322d1fb9c16fa3aa2aa3c1ee1fd3da183a09babe4
-- tvsync-cdc patches tag's documents reached along product -> tag rather than building them
UPDATE tvsync.cascade SET patch_function = 'shop.fn_patch_tag_from_product(integer[], integer[])'
WHERE source_entity = 'product' AND target_entity = 'tag'
  AND patch_function IS DISTINCT FROM 'shop.fn_patch_tag_from_product(integer[], integer[])'::regprocedure;

-- tvsync:object function shop.fn_patch_product_from_tag 891770cefcf4a63f9d77f5eae02eb23df9115c7daca9c309daaacbdbe2e36841
-- product's documents when only rows of shop.tb_tag changed (changed: their ids): each list of them
-- is the old document's with the changed rows' elements removed and their current ones put
-- in its order (tvsync.patch_list); the other fields are computed as fn_build_product does.
CREATE OR REPLACE FUNCTION shop.fn_patch_product_from_tag(ids integer[], changed integer[])
RETURNS TABLE (id integer, data jsonb)
LANGUAGE sql STABLE
AS $tvsync$
    SELECT t0.id,
           jsonb_build_object(
               'id', t0.id::text,
               'sku', t0.sku,
               'name', t0.name,
               'price', t0.price,
               'orderCount', (SELECT count(*) FROM shop.tb_order_line t1 WHERE t1.product_id = t0.id),
               'unitsSold', (SELECT coalesce(sum(t2.quantity), 0) FROM shop.tb_order_line t2 WHERE t2.product_id = t0.id),
               'createdAt', tvsync.iso_time(t0.created_at),
               'tags', coalesce(tvsync.patch_list(old.data -> 'tags', $2::text[],
                   (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'id', t3.id::text,
                   'name', t3.name)), '[]'::jsonb) FROM shop.tb_tag t3 WHERE t3.id = ANY ($2) AND t3.id IN (SELECT t4.tag_id FROM shop.tb_product_tag t4 WHERE t4.product_id = t0.id)),
                   'id', '[{"field": "name", "type": "text", "desc": false, "nulls_first": false}, {"field": "id", "type": "integer", "desc": false, "nulls_first": false}]'::jsonb),
                   coalesce((SELECT jsonb_agg(jsonb_build_object(
                   'id', t5.id::text,
                   'name', t5.name) ORDER BY name, t5.id) FROM shop.tb_tag t5 WHERE t5.id IN (SELECT t6.tag_id FROM shop.tb_product_tag t6 WHERE t6.product_id = t0.id)), '[]'::jsonb)))
    FROM shop.tb_product t0
    LEFT JOIN shop.tv_product old ON old.id = t0.id
    WHERE t0.id = ANY ($1)
$tvsync$;
REVOKE ALL ON FUNCTION shop.fn_patch_product_from_tag(integer[], integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.fn_patch_product_from_tag(integer[], integer[]) TO tvsync_cdc;
GRANT USAGE ON SCHEMA shop TO tvsync_cdc;
GRANT SELECT ON shop.tb_product, shop.tb_order_line, shop.tb_tag, shop.tb_product_tag TO tvsync_cdc;

-- tvsync:object patch tag product 1c3568a6f6be1372b5ae09bbad3cef0e6a06785c85fda6cc2276bcdeb7a6e6ba
-- tvsync-cdc patches product's documents reached along tag -> product rather than building them
UPDATE tvsync.cascade SET patch_function = 'shop.fn_patch_product_from_tag(integer[], integer[])'
WHERE source_entity = 'tag' AND target_entity = 'product'
  AND patch_function IS DISTINCT FROM 'shop.fn_patch_product_from_tag(integer[], integer[])'::regprocedure;
