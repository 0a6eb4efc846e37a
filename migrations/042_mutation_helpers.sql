-- 042_mutation_helpers: what every mutation function needs, in the engine (schema tvsync):
-- the result constructors, the intent builder and the argument checks.
--
-- A mutation function takes the GraphQL field's arguments as one jsonb object and returns
-- tvsync.mutation_result. With these helpers it reads:
--
--   v_problem := coalesce(tvsync.key_problem(args, 'orderId', 'bigint'),
--                         tvsync.integer_problem(args, 'quantity', min_value => 1),
--                         tvsync.numeric_problem(args, 'unitPrice', min_value => 0, max_scale => 2),
--                         tvsync.missing_reference('orderId', v_order, 'shop.tb_order'));
--   IF v_problem IS NOT NULL THEN
--       RETURN tvsync.mutation_failed('validation_failed', v_problem, 'order');
--   END IF;
--   ... write ...
--   RETURN tvsync.mutation_ok('order', v_order, jsonb_build_array(tvsync.intent('order', ARRAY[v_order])));
--
-- Every check returns the sentence for the client, or NULL when the argument is fine, so a
-- function lists its checks in one coalesce(): the first message wins, and no check after
-- it runs (a reference check's row lock is taken only once the earlier checks passed).
--
-- Speed: the checks, try_* and mutation_ok are SQL functions that PostgreSQL inlines into
-- the caller's expressions (a SQL function that is not inlined is planned again in every
-- transaction that calls it); intent, mutation_failed and missing_reference are PL/pgSQL,
-- planned once per session. missing_reference reads a table it is given at run time, so it
-- plans that lookup on every call; a mutation on a hot path locks the row itself in the
-- argument of reference_problem instead, which costs nothing over a hand-written check.

-- The status values tvsync-server maps to GraphQL error codes (NOT_FOUND, CONFLICT,
-- VALIDATION_FAILED); anything else would reach the client as INTERNAL_SERVER_ERROR.
CREATE FUNCTION tvsync.mutation_failed(status text, message text, entity text DEFAULT NULL,
                                       id anycompatible DEFAULT NULL)
RETURNS tvsync.mutation_result
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF status IS NULL OR status NOT IN ('validation_failed', 'not_found', 'conflict') THEN
        RAISE EXCEPTION 'tvsync.mutation_failed: status "%" is not validation_failed, not_found or conflict',
                        coalesce(status, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'a successful mutation returns tvsync.mutation_ok(entity, id, sync)';
    END IF;
    RETURN ROW(status, message, entity, id::text, '[]'::jsonb)::tvsync.mutation_result;
END
$$;
COMMENT ON FUNCTION tvsync.mutation_failed(text, text, text, anycompatible) IS
    'A failed mutation''s result: status validation_failed, not_found or conflict (others raise), the client''s message, entity and id (any key type, as text)';

CREATE FUNCTION tvsync.mutation_ok(entity text, id anycompatible, sync jsonb DEFAULT '[]')
RETURNS tvsync.mutation_result
LANGUAGE sql STABLE
AS $$
    SELECT ROW('ok', NULL, entity, id::text, coalesce(sync, '[]'))::tvsync.mutation_result
$$;
COMMENT ON FUNCTION tvsync.mutation_ok(text, anycompatible, jsonb) IS
    'A successful mutation''s result: the entity the field returns, its id (any key type, as text), the intents to publish (tvsync.intent)';

-- The single-id case skips the DISTINCT subquery: it is what most mutations publish. No
-- SET search_path: it calls only built-ins (pg_catalog comes first anyway), and the
-- setting would be saved and restored on every call of every mutation.
CREATE FUNCTION tvsync.intent(entity text, ids anyarray) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF cardinality(ids) = 1 AND array_ndims(ids) = 1 THEN
        RETURN jsonb_build_object('entity', entity, 'ids',
            CASE WHEN ids[array_lower(ids, 1)] IS NULL THEN '[]'::jsonb
                 ELSE jsonb_build_array(ids[array_lower(ids, 1)]::text) END);
    END IF;
    RETURN jsonb_build_object('entity', entity, 'ids', coalesce(
        (SELECT jsonb_agg(d.i::text ORDER BY d.i)
         FROM (SELECT DISTINCT i FROM unnest(ids) AS i WHERE i IS NOT NULL) AS d), '[]'));
END
$$;
COMMENT ON FUNCTION tvsync.intent(text, anyarray) IS
    'One intent {"entity":E,"ids":[...]}: ids of any key type as text, in key order, without NULLs or duplicates';

-- The key in text, or NULL when the text is not one, so a bad id is a validation message
-- and not a SQL error. The numeric forms accept what the type's input accepts in PostgreSQL
-- 15 (sign, surrounding blanks), bounded first so a huge digit string cannot overflow.
CREATE FUNCTION tvsync.try_uuid(value text) RETURNS uuid
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN value ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                THEN value::uuid END
$$;
COMMENT ON FUNCTION tvsync.try_uuid(text) IS 'value as uuid; NULL when it is not one';

CREATE FUNCTION tvsync.try_bigint(value text) RETURNS bigint
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN value ~ '^\s*[+-]?[0-9]{1,19}\s*$'
                 AND value::numeric BETWEEN -9223372036854775808 AND 9223372036854775807
                THEN value::bigint END
$$;
COMMENT ON FUNCTION tvsync.try_bigint(text) IS 'value as bigint; NULL when it is not one';

CREATE FUNCTION tvsync.try_integer(value text) RETURNS integer
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN value ~ '^\s*[+-]?[0-9]{1,10}\s*$'
                 AND value::numeric BETWEEN -2147483648 AND 2147483647
                THEN value::integer END
$$;
COMMENT ON FUNCTION tvsync.try_integer(text) IS 'value as integer; NULL when it is not one';

-- Plain decimal notation only (no exponent, NaN or Infinity): money and quantities.
CREATE FUNCTION tvsync.try_numeric(value text) RETURNS numeric
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN value ~ '^\s*[+-]?([0-9]{1,100}(\.[0-9]{0,100})?|\.[0-9]{1,100})\s*$'
                THEN value::numeric END
$$;
COMMENT ON FUNCTION tvsync.try_numeric(text) IS 'value as numeric (plain decimal notation); NULL when it is not one';

-- A text argument: present, a string and not blank; NULL otherwise.
CREATE FUNCTION tvsync.text_arg(args jsonb, name text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN jsonb_typeof(args -> name) = 'string' AND btrim(args ->> name) <> ''
                THEN args ->> name END
$$;
COMMENT ON FUNCTION tvsync.text_arg(jsonb, text) IS 'args->>name when it is a non-blank string; NULL otherwise';

-- Raised by key_problem for a key type an entity cannot have: a mistake in the mutation
-- function, not in the client's arguments.
CREATE FUNCTION tvsync.unsupported_key_type(key_type regtype) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'tvsync.key_problem: key type % is not uuid, bigint, integer or text', key_type
        USING ERRCODE = 'invalid_parameter_value';
END
$$;

-- The checks below are STABLE, not IMMUTABLE: format() is STABLE, and a function that
-- claims more than its body is not inlined.

-- A key argument of key_type: 'id x is not a valid UUID' ('null' when absent), '... is not
-- a valid bigint' / '... integer'; a text key must be a non-blank string ('id must not be
-- empty'). key_type is a constant in the caller, so the planner keeps only its branch.
CREATE FUNCTION tvsync.key_problem(args jsonb, name text, key_type regtype) RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT CASE key_type
        WHEN 'uuid'::regtype THEN
            CASE WHEN tvsync.try_uuid(args ->> name) IS NULL
                 THEN format('%s %s is not a valid UUID', name, coalesce(args ->> name, 'null')) END
        WHEN 'bigint'::regtype THEN
            CASE WHEN tvsync.try_bigint(args ->> name) IS NULL
                 THEN format('%s %s is not a valid bigint', name, coalesce(args ->> name, 'null')) END
        WHEN 'integer'::regtype THEN
            CASE WHEN tvsync.try_integer(args ->> name) IS NULL
                 THEN format('%s %s is not a valid integer', name, coalesce(args ->> name, 'null')) END
        WHEN 'text'::regtype THEN
            CASE WHEN tvsync.text_arg(args, name) IS NULL THEN format('%s must not be empty', name) END
        ELSE tvsync.unsupported_key_type(key_type)
    END
$$;
COMMENT ON FUNCTION tvsync.key_problem(jsonb, text, regtype) IS
    'NULL when args->name is a valid key of key_type (uuid, bigint, integer, text); the client''s message otherwise';

-- A text argument that is absent, not a string or blank: 'title must not be empty'.
-- required false: absence is fine (an update leaves the column as it is), but a present
-- value must still be a non-blank string.
CREATE FUNCTION tvsync.text_problem(args jsonb, name text, required boolean DEFAULT true) RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT CASE WHEN (required OR args ? name) AND tvsync.text_arg(args, name) IS NULL
                THEN format('%s must not be empty', name) END
$$;
COMMENT ON FUNCTION tvsync.text_problem(jsonb, text, boolean) IS
    'NULL when args->name is a non-blank string (or absent and not required); otherwise "NAME must not be empty"';

-- An integer argument (a JSON number, or a string holding one, within bigint), with
-- optional bounds: 'quantity is required', 'quantity must be an integer', 'quantity must be
-- at least 1', 'quantity must be at most 999'. A present null is not an integer.
CREATE FUNCTION tvsync.integer_problem(args jsonb, name text, required boolean DEFAULT true,
                                       min_value bigint DEFAULT NULL, max_value bigint DEFAULT NULL)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT CASE
        WHEN NOT args ? name THEN CASE WHEN required THEN format('%s is required', name) END
        WHEN jsonb_typeof(args -> name) NOT IN ('number', 'string')
             OR tvsync.try_bigint(args ->> name) IS NULL THEN format('%s must be an integer', name)
        WHEN (args ->> name)::bigint < min_value THEN format('%s must be at least %s', name, min_value)
        WHEN (args ->> name)::bigint > max_value THEN format('%s must be at most %s', name, max_value)
    END
$$;
COMMENT ON FUNCTION tvsync.integer_problem(jsonb, text, boolean, bigint, bigint) IS
    'NULL when args->name is an integer within the bounds (or absent and not required); the client''s message otherwise';

-- A decimal argument (a JSON number, or a string holding one, as money is best sent so no
-- client parses it as a double), with optional bounds and at most max_scale digits after
-- the point (trailing zeros do not count: 24.50 has scale 1 here, 24.505 has 3).
CREATE FUNCTION tvsync.numeric_problem(args jsonb, name text, required boolean DEFAULT true,
                                       min_value numeric DEFAULT NULL, max_value numeric DEFAULT NULL,
                                       max_scale integer DEFAULT NULL)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT CASE
        WHEN NOT args ? name THEN CASE WHEN required THEN format('%s is required', name) END
        WHEN jsonb_typeof(args -> name) NOT IN ('number', 'string')
             OR tvsync.try_numeric(args ->> name) IS NULL THEN format('%s must be a number', name)
        WHEN (args ->> name)::numeric < min_value THEN format('%s must be at least %s', name, min_value)
        WHEN (args ->> name)::numeric > max_value THEN format('%s must be at most %s', name, max_value)
        WHEN min_scale((args ->> name)::numeric) > max_scale
            THEN format('%s must have at most %s digits after the decimal point', name, max_scale)
    END
$$;
COMMENT ON FUNCTION tvsync.numeric_problem(jsonb, text, boolean, numeric, numeric, integer) IS
    'NULL when args->name is a decimal number within the bounds and scale (or absent and not required); the client''s message otherwise';

-- The message for a referenced row that is not there: 'authorId <id>: no such user'.
-- found is the caller's lookup, which should lock the row so it cannot be deleted before
-- the caller's write references it:
--   tvsync.reference_problem('postId', v_post, 'post',
--                            EXISTS (SELECT FROM tb_post WHERE id = v_post FOR KEY SHARE))
-- Inlined, found is evaluated only when the checks before it in a coalesce() passed.
CREATE FUNCTION tvsync.reference_problem(name text, ref anycompatible, noun text, found boolean)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT CASE WHEN NOT found THEN format('%s %s: no such %s', name, ref, noun) END
$$;
COMMENT ON FUNCTION tvsync.reference_problem(text, anycompatible, text, boolean) IS
    'NULL when found; otherwise "NAME REF: no such NOUN"';

-- The same for a row of source (a table with a one-column key named id), looked up and
-- locked FOR KEY SHARE here. noun defaults to the entity whose source table it is (else the
-- table's name). The lookup is planned on every call (the table is only known at run time).
CREATE FUNCTION tvsync.missing_reference(name text, ref anycompatible, source regclass,
                                         noun text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_found boolean;
BEGIN
    EXECUTE format('SELECT true FROM %s WHERE id = $1 FOR KEY SHARE', source) INTO v_found USING ref;
    IF v_found THEN
        RETURN NULL;
    END IF;
    IF noun IS NULL THEN
        SELECT e.name INTO noun FROM tvsync.entity e WHERE e.source_table = source ORDER BY e.name LIMIT 1;
        IF noun IS NULL THEN
            SELECT c.relname INTO noun FROM pg_class c WHERE c.oid = source;
        END IF;
    END IF;
    RETURN format('%s %s: no such %s', name, ref, noun);
END
$$;
COMMENT ON FUNCTION tvsync.missing_reference(text, anycompatible, regclass, text) IS
    'NULL when source has a row with id = ref (locked FOR KEY SHARE); otherwise "NAME REF: no such NOUN" (noun: the entity of source)';

-- The role that calls mutation functions runs these; PUBLIC does not (032).
REVOKE EXECUTE ON FUNCTION
    tvsync.mutation_failed(text, text, text, anycompatible), tvsync.mutation_ok(text, anycompatible, jsonb),
    tvsync.intent(text, anyarray), tvsync.try_uuid(text), tvsync.try_bigint(text), tvsync.try_integer(text),
    tvsync.try_numeric(text), tvsync.text_arg(jsonb, text), tvsync.unsupported_key_type(regtype),
    tvsync.key_problem(jsonb, text, regtype), tvsync.text_problem(jsonb, text, boolean),
    tvsync.integer_problem(jsonb, text, boolean, bigint, bigint),
    tvsync.numeric_problem(jsonb, text, boolean, numeric, numeric, integer),
    tvsync.reference_problem(text, anycompatible, text, boolean),
    tvsync.missing_reference(text, anycompatible, regclass, text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    tvsync.mutation_failed(text, text, text, anycompatible), tvsync.mutation_ok(text, anycompatible, jsonb),
    tvsync.intent(text, anyarray), tvsync.try_uuid(text), tvsync.try_bigint(text), tvsync.try_integer(text),
    tvsync.try_numeric(text), tvsync.text_arg(jsonb, text), tvsync.unsupported_key_type(regtype),
    tvsync.key_problem(jsonb, text, regtype), tvsync.text_problem(jsonb, text, boolean),
    tvsync.integer_problem(jsonb, text, boolean, bigint, bigint),
    tvsync.numeric_problem(jsonb, text, boolean, numeric, numeric, integer),
    tvsync.reference_problem(text, anycompatible, text, boolean),
    tvsync.missing_reference(text, anycompatible, regclass, text)
TO tvsync_app;
