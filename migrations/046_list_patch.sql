-- 046_list_patch: a cascade edge may carry a patch function, which computes the target's
-- new documents from the old ones (tv_*) by patching the lists the source's rows feed.
--
-- Without one, a new comment on a post with thousands of comments rebuilds the whole post:
-- every comment looked up, sorted and aggregated again. Along an edge with a patch function,
-- tvsync-cdc calls patch_function(ids TARGET_KEY[], changed SOURCE_KEY[]) instead of the
-- build function; it returns what the build function would, provided each target's tv_*
-- document was built at a state that differs from the current one only in rows reached
-- from the changed source ids. tvsync.patch_list is the engine's helper for the lists:
-- it removes the changed elements and puts the current ones where the list's ORDER BY puts
-- them, without sorting or rebuilding the rest.

ALTER TABLE tvsync.cascade ADD COLUMN patch_function regprocedure;
COMMENT ON COLUMN tvsync.cascade.patch_function IS
    'patch_function(ids TARGET_KEY[], changed SOURCE_KEY[]) returns table (id TARGET_KEY, data jsonb): '
    'the target documents patched from the old ones along this edge; NULL: tvsync-cdc runs the build function';

-- A BEFORE trigger, like entity_check (041): the message names the edge and the signature
-- it needs, since tvsync-cdc would otherwise fail on the first batch that follows the edge.
CREATE FUNCTION tvsync.cascade_patch_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_source regtype;
    v_target regtype;
    v_source_array oid;
    v_target_array oid;
    p pg_proc;
BEGIN
    IF NEW.patch_function IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT e.key_type INTO v_source FROM tvsync.entity e WHERE e.name = NEW.source_entity;
    SELECT e.key_type INTO v_target FROM tvsync.entity e WHERE e.name = NEW.target_entity;
    SELECT t.typarray INTO v_source_array FROM pg_type t WHERE t.oid = v_source;
    SELECT t.typarray INTO v_target_array FROM pg_type t WHERE t.oid = v_target;
    SELECT * INTO p FROM pg_proc WHERE oid = NEW.patch_function;
    IF p.pronargs <> 2 OR p.proargtypes[0] IS DISTINCT FROM v_target_array
       OR p.proargtypes[1] IS DISTINCT FROM v_source_array
       OR NOT p.proretset
       OR p.proallargtypes IS DISTINCT FROM ARRAY[v_target_array, v_source_array, v_target::oid, 'jsonb'::regtype::oid]
       OR p.proargmodes IS DISTINCT FROM ARRAY['i', 'i', 't', 't']::"char"[] THEN
        RAISE EXCEPTION 'tvsync: cascade % -> %: patch function % must be (ids %[], changed %[]) returning table (id %, data jsonb)',
                        NEW.source_entity, NEW.target_entity, NEW.patch_function, v_target, v_source, v_target
            USING ERRCODE = 'invalid_function_definition',
                  HINT = 'ids are the target''s keys, changed the source''s; it returns what the target''s build '
                         'function returns for ids; or set patch_function to NULL to rebuild along this edge';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER cascade_patch_check BEFORE INSERT OR UPDATE OF patch_function ON tvsync.cascade
    FOR EACH ROW EXECUTE FUNCTION tvsync.cascade_patch_check();

-- registry_json (041) with each cascade's "patch": the function's quoted, schema-qualified
-- name without arguments (the registry knows the argument types), or null. The triggers
-- of 040 stay on the altered table, so setting a patch function reaches tvsync-cdc in log
-- order like any registry change.
CREATE OR REPLACE FUNCTION tvsync.registry_json() RETURNS json
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT json_build_object(
        'entities', coalesce((
            SELECT json_agg(json_build_object(
                       'name', e.name,
                       'tv_table', format('%I.%I', tn.nspname, t.relname),
                       'source_table', format('%I.%I', sn.nspname, s.relname),
                       'build_function', tvsync.build_function_name(e),
                       'key_type', e.key_type::text)
                   ORDER BY e.name COLLATE "C")
            FROM tvsync.entity e
            JOIN pg_class t ON t.oid = e.tv_table
            JOIN pg_namespace tn ON tn.oid = t.relnamespace
            JOIN pg_class s ON s.oid = e.source_table
            JOIN pg_namespace sn ON sn.oid = s.relnamespace), '[]'::json),
        'cascades', coalesce((
            SELECT json_agg(json_build_object(
                       'source', c.source_entity,
                       'target', c.target_entity,
                       'query', c.query,
                       'watch', c.watch,
                       'patch', (SELECT format('%I.%I', n.nspname, p.proname)
                                 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                                 WHERE p.oid = c.patch_function))
                   ORDER BY c.source_entity COLLATE "C", c.target_entity COLLATE "C")
            FROM tvsync.cascade c
            -- while a statement deleting an entity has not yet run its foreign key's
            -- cascade, an edge may still name it
            WHERE EXISTS (SELECT 1 FROM tvsync.entity e WHERE e.name = c.source_entity)
              AND EXISTS (SELECT 1 FROM tvsync.entity e WHERE e.name = c.target_entity)), '[]'::json))
$$;

-- The order of two list elements under the order fields: -1, 0 or 1. Each value is cast
-- back to its SQL type (types[i], a name as format_type writes it), so that the order is
-- the one ORDER BY gives on the columns; JSON null or a missing field is SQL NULL. Text
-- compares in the database's default collation.
CREATE FUNCTION tvsync.patch_compare(a jsonb, b jsonb, fields text[], types text[],
                                     descending boolean[], nulls_first boolean[]) RETURNS int
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    x text;
    y text;
    c int;
BEGIN
    FOR i IN 1 .. cardinality(fields) LOOP
        x := a ->> fields[i];
        y := b ->> fields[i];
        IF x IS NULL OR y IS NULL THEN
            IF x IS NULL AND y IS NULL THEN
                CONTINUE;
            END IF;
            -- where NULL goes does not depend on the direction
            RETURN CASE WHEN (x IS NULL) = nulls_first[i] THEN -1 ELSE 1 END;
        END IF;
        CASE types[i]
        WHEN 'timestamp with time zone' THEN
            c := (x::timestamptz > y::timestamptz)::int - (x::timestamptz < y::timestamptz)::int;
        WHEN 'timestamp without time zone' THEN
            c := (x::timestamp > y::timestamp)::int - (x::timestamp < y::timestamp)::int;
        WHEN 'date' THEN
            c := (x::date > y::date)::int - (x::date < y::date)::int;
        WHEN 'smallint', 'integer', 'bigint', 'numeric' THEN
            c := (x::numeric > y::numeric)::int - (x::numeric < y::numeric)::int;
        WHEN 'real', 'double precision' THEN
            c := (x::float8 > y::float8)::int - (x::float8 < y::float8)::int;
        WHEN 'boolean' THEN
            c := (x::boolean > y::boolean)::int - (x::boolean < y::boolean)::int;
        WHEN 'uuid' THEN
            c := (x::uuid > y::uuid)::int - (x::uuid < y::uuid)::int;
        WHEN 'text', 'character varying' THEN
            c := (x > y)::int - (x < y)::int;
        ELSE
            RAISE EXCEPTION 'tvsync.patch_list: cannot order by field "%" of type %', fields[i], types[i]
                USING ERRCODE = 'feature_not_supported',
                      HINT = 'order fields may be timestamptz, timestamp, date, smallint, integer, bigint, '
                             'numeric, real, double precision, boolean, uuid, text or character varying';
        END CASE;
        IF c <> 0 THEN
            RETURN CASE WHEN descending[i] THEN -c ELSE c END;
        END IF;
    END LOOP;
    RETURN 0;
END
$$;

-- old_list without the elements whose id_field (as text) is in changed, with new_elements
-- (a JSON array in any order; NULL: none) placed where order_spec puts them: a JSON array
-- of {"field", "type", "desc", "nulls_first"}, the last field the element's key, so that
-- the result is the list ORDER BY builds from the current rows. old_list must be in that
-- order already (it is what the build function returned). NULL when old_list is not a
-- JSON array: the caller builds the whole list instead.
--
-- The cost is one or two passes building a jsonb value of old_list's size, and one reading
-- its keys: no element is taken out and aggregated one by one (jsonb_array_elements and
-- jsonb_agg cost many times more). The changed elements are found through the array of
-- keys, the new ones' places by binary search (the old list is sorted, its changed
-- elements too); then one insert or replace, or one jsonpath of index ranges over the old
-- list followed by the new elements, builds the result.
CREATE FUNCTION tvsync.patch_list(old_list jsonb, changed text[], new_elements jsonb,
                                  id_field text, order_spec jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_old jsonb := old_list;
    v_fields text[];
    v_types text[];
    v_desc boolean[];
    v_nulls boolean[];
    v_new jsonb[] := '{}';
    v_place int[];
    v_drop int[] := '{}';
    v_count int;
    v_keys jsonb;
    v_take text[] := '{}';
    v_from int := 0;
    v_next int;
    d int := 1;
    lo int;
    hi int;
    mid int;
BEGIN
    IF jsonb_typeof(v_old) IS DISTINCT FROM 'array' THEN
        RETURN NULL;
    END IF;
    v_count := jsonb_array_length(v_old);
    IF cardinality(changed) > 0 AND v_count > 0 THEN
        v_keys := jsonb_path_query_array(v_old,
                      ('$[*]."' || replace(replace(id_field, '\', '\\'), '"', '\"') || '"')::jsonpath);
        -- an element without the key would shift every place after it
        IF jsonb_array_length(v_keys) <> v_count THEN
            RAISE EXCEPTION 'tvsync.patch_list: % of the % elements of the list have no "%"',
                            v_count - jsonb_array_length(v_keys), v_count, id_field
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'patch_list patches a list the build function wrote, whose elements all hold their key '
                             'in id_field; rebuild the document, or build this list whole';
        END IF;
        SELECT coalesce(array_agg(k.n - 1 ORDER BY k.n), '{}') INTO v_drop
        FROM jsonb_array_elements_text(v_keys) WITH ORDINALITY AS k (id, n)
        WHERE k.id = ANY (changed);
    END IF;
    IF jsonb_typeof(new_elements) = 'array' AND jsonb_array_length(new_elements) > 0 THEN
        SELECT array_agg(s ->> 'field' ORDER BY n),
               array_agg(format_type((s ->> 'type')::regtype, NULL) ORDER BY n),
               array_agg(coalesce((s ->> 'desc')::boolean, false) ORDER BY n),
               array_agg(coalesce((s ->> 'nulls_first')::boolean, coalesce((s ->> 'desc')::boolean, false))
                         ORDER BY n)
        INTO v_fields, v_types, v_desc, v_nulls
        FROM jsonb_array_elements(order_spec) WITH ORDINALITY AS o (s, n);
        v_new := ARRAY(SELECT e FROM jsonb_array_elements(new_elements) AS e);
    ELSIF cardinality(v_drop) = 0 THEN
        RETURN v_old;
    END IF;
    -- the new elements in order among themselves (insertion sort: they are few)
    FOR i IN 2 .. cardinality(v_new) LOOP
        FOR j IN REVERSE i - 1 .. 1 LOOP
            EXIT WHEN tvsync.patch_compare(v_new[j], v_new[j + 1], v_fields, v_types, v_desc, v_nulls) <= 0;
            v_new[j : j + 1] := ARRAY[v_new[j + 1], v_new[j]];
        END LOOP;
    END LOOP;
    -- each one's place: how many old elements come before it
    v_place := array_fill(0, ARRAY[cardinality(v_new)]);
    lo := 0;
    FOR i IN 1 .. cardinality(v_new) LOOP
        hi := v_count;
        WHILE lo < hi LOOP
            mid := (lo + hi) / 2;
            IF tvsync.patch_compare(v_old -> mid, v_new[i], v_fields, v_types, v_desc, v_nulls) < 0 THEN
                lo := mid + 1;
            ELSE
                hi := mid;
            END IF;
        END LOOP;
        v_place[i] := lo;
    END LOOP;
    -- one new element, or one that takes the place of the one it replaces (an edit that
    -- keeps the order): one pass instead of two
    IF cardinality(v_new) = 1 AND cardinality(v_drop) = 0 THEN
        RETURN jsonb_insert(v_old, ARRAY[v_place[1]::text], v_new[1]);
    END IF;
    IF cardinality(v_new) = 1 AND cardinality(v_drop) = 1 AND v_place[1] IN (v_drop[1], v_drop[1] + 1) THEN
        RETURN jsonb_set(v_old, ARRAY[v_drop[1]::text], v_new[1]);
    END IF;
    -- the new elements go after the old ones, and index ranges pick the result in order
    FOR i IN 1 .. cardinality(v_new) + 1 LOOP
        v_next := CASE WHEN i <= cardinality(v_new) THEN v_place[i] ELSE v_count END;
        WHILE d <= cardinality(v_drop) AND v_drop[d] < v_next LOOP
            IF v_drop[d] > v_from THEN
                v_take := v_take || format('%s to %s', v_from, v_drop[d] - 1);
            END IF;
            v_from := v_drop[d] + 1;
            d := d + 1;
        END LOOP;
        IF v_next > v_from THEN
            v_take := v_take || format('%s to %s', v_from, v_next - 1);
            v_from := v_next;
        END IF;
        IF i <= cardinality(v_new) THEN
            v_take := v_take || (v_count + i - 1)::text;
        END IF;
    END LOOP;
    IF cardinality(v_take) = 0 THEN
        RETURN '[]';
    END IF;
    IF cardinality(v_new) > 0 THEN
        v_old := v_old || to_jsonb(v_new);
    END IF;
    RETURN jsonb_path_query_array(v_old, ('strict $[' || array_to_string(v_take, ',') || ']')::jsonpath);
END
$$;
COMMENT ON FUNCTION tvsync.patch_list(jsonb, text[], jsonb, text, jsonb) IS
    'old_list minus the elements whose id_field is in changed, plus new_elements in the order order_spec gives '
    '([{"field","type","desc","nulls_first"}...], last the key); NULL when old_list is not an array';

REVOKE EXECUTE ON FUNCTION tvsync.cascade_patch_check(),
    tvsync.patch_compare(jsonb, jsonb, text[], text[], boolean[], boolean[]),
    tvsync.patch_list(jsonb, text[], jsonb, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tvsync.patch_compare(jsonb, jsonb, text[], text[], boolean[], boolean[]),
    tvsync.patch_list(jsonb, text[], jsonb, text, jsonb) TO tvsync_app, tvsync_cdc;

-- The registry from here on, with "patch" in every cascade: a tvsync-cdc that streams
-- across this migration reads the new member from the log.
INSERT INTO tvsync.registry_log (registry) VALUES (tvsync.registry_json());
