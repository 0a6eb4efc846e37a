-- 041_key_types: an entity's key may be uuid, bigint, integer or text (one column "id").
--
-- The registry learns each entity's key type from its source table when the entity is
-- registered (tvsync.entity.key_type, filled by a trigger: nobody types it twice). Ids
-- travel as text everywhere between PostgreSQL and tvsync (intents, tvsync-cdc, dead
-- letters, tvsync.mutation_result.id), in the key type's own text form, so a bigint above
-- 2^53 keeps every digit; SQL casts them back to the key type where a table is read.
-- tvsync.publish takes an array of the key type (or of text in its form) and rejects an
-- id the key type does not accept inside the mutation, before anything is committed.
--
-- tvsync.apply takes text[]; rebuild_chunk's uuid form stays as a wrapper.

CREATE FUNCTION tvsync.key_type_of(p_table regclass) RETURNS regtype
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.atttypid::regtype
    FROM pg_attribute a
    WHERE a.attrelid = p_table AND a.attname = 'id' AND a.attnum > 0 AND NOT a.attisdropped
$$;

ALTER TABLE tvsync.entity ADD COLUMN key_type regtype;
COMMENT ON COLUMN tvsync.entity.key_type IS
    'The type of the source table''s id column (uuid, bigint, integer or text); set on registration';

-- Fills key_type from the source table and checks what an entity must have: an id column
-- of a supported type, the same type in the read model, and a build function that takes
-- an array of it. An error here names the table and says what to change.
CREATE FUNCTION tvsync.entity_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_key regtype := tvsync.key_type_of(NEW.source_table);
    v_tv regtype := tvsync.key_type_of(NEW.tv_table);
    v_nargs int;
    v_arg oid;
BEGIN
    IF v_key IS NULL THEN
        RAISE EXCEPTION 'tvsync: entity "%": source table % has no column "id"', NEW.name, NEW.source_table
            USING ERRCODE = 'invalid_table_definition',
                  HINT = 'an entity''s source table needs a one-column key named id';
    END IF;
    IF v_key NOT IN ('uuid'::regtype, 'bigint'::regtype, 'integer'::regtype, 'text'::regtype) THEN
        RAISE EXCEPTION 'tvsync: entity "%": key %.id is %, not uuid, bigint, integer or text',
                        NEW.name, NEW.source_table, v_key
            USING ERRCODE = 'invalid_table_definition';
    END IF;
    IF v_tv IS DISTINCT FROM v_key THEN
        RAISE EXCEPTION 'tvsync: entity "%": %.id is %, but %.id is %', NEW.name,
                        NEW.tv_table, coalesce(v_tv::text, 'missing'), NEW.source_table, v_key
            USING ERRCODE = 'invalid_table_definition',
                  HINT = 'the read model''s id column has the source key''s type';
    END IF;
    SELECT p.pronargs, p.proargtypes[0] INTO v_nargs, v_arg FROM pg_proc p WHERE p.oid = NEW.build_function;
    IF v_nargs <> 1 OR v_arg IS DISTINCT FROM (SELECT t.typarray FROM pg_type t WHERE t.oid = v_key) THEN
        RAISE EXCEPTION 'tvsync: entity "%": build function % must take one argument of type %[]',
                        NEW.name, NEW.build_function, v_key
            USING ERRCODE = 'invalid_function_definition',
                  HINT = 'build_function(ids KEY[]) returns table (id KEY, data jsonb); ids NULL means every row';
    END IF;
    NEW.key_type := v_key;
    RETURN NEW;
END
$$;

CREATE TRIGGER entity_check BEFORE INSERT OR UPDATE ON tvsync.entity
    FOR EACH ROW EXECUTE FUNCTION tvsync.entity_check();


-- The registry tvsync-cdc reads (040) names each entity's key type: its statements cast
-- the ids, which travel as text, to it. The triggers of 040 log the registry again below
-- (the UPDATE that fills key_type), so a running tvsync-cdc learns the types in log order.
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
                       'watch', c.watch)
                   ORDER BY c.source_entity COLLATE "C", c.target_entity COLLATE "C")
            FROM tvsync.cascade c
            -- while a statement deleting an entity has not yet run its foreign key's
            -- cascade, an edge may still name it
            WHERE EXISTS (SELECT 1 FROM tvsync.entity e WHERE e.name = c.source_entity)
              AND EXISTS (SELECT 1 FROM tvsync.entity e WHERE e.name = c.target_entity)), '[]'::json))
$$;

UPDATE tvsync.entity SET key_type = tvsync.key_type_of(source_table);
ALTER TABLE tvsync.entity ALTER COLUMN key_type SET NOT NULL;

COMMENT ON TABLE tvsync.entity IS
    'Entities: build_function(ids KEY[]) returns table(id KEY, data jsonb); ids NULL = every row; KEY = key_type';

-- Ids as text: a mutation of an entity with any key type answers its id here.
ALTER TYPE tvsync.mutation_result ALTER ATTRIBUTE id TYPE text;

-- The ids, cast to the entity's key type and back, deduplicated and in key order:
-- the canonical text form tvsync-cdc compares. An id the key type does not accept raises
-- invalid_text_representation (22P02) naming the entity. One static query per key type, so
-- PL/pgSQL plans each once per session.
CREATE FUNCTION tvsync.canonical_ids(p_entity text, p_key regtype, p_ids text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    CASE p_key
    WHEN 'uuid'::regtype THEN
        RETURN ARRAY(SELECT DISTINCT x::uuid FROM unnest(p_ids) AS x WHERE x IS NOT NULL ORDER BY 1)::text[];
    WHEN 'bigint'::regtype THEN
        RETURN ARRAY(SELECT DISTINCT x::bigint FROM unnest(p_ids) AS x WHERE x IS NOT NULL ORDER BY 1)::text[];
    WHEN 'integer'::regtype THEN
        RETURN ARRAY(SELECT DISTINCT x::integer FROM unnest(p_ids) AS x WHERE x IS NOT NULL ORDER BY 1)::text[];
    ELSE
        RETURN ARRAY(SELECT DISTINCT x FROM unnest(p_ids) AS x WHERE x IS NOT NULL ORDER BY 1);
    END CASE;
EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
    RAISE EXCEPTION 'tvsync: entity "%": an id is not a valid % (%)', p_entity, p_key, SQLERRM
        USING ERRCODE = 'invalid_text_representation',
              HINT = 'intent ids are the key''s text form';
END
$$;

-- Emits the intents for ids (text in the key type's form) as transactional logical
-- messages (prefix tvsync), at most 10,000 ids per message so no message is huge.
-- Duplicates and NULLs are dropped. Returns the LSN of the last message, NULL when there
-- was no id to publish.
CREATE FUNCTION tvsync.publish_text(p_entity text, p_ids text[]) RETURNS pg_lsn
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_key regtype;
    v_ids text[];
    v_lsn pg_lsn;
BEGIN
    SELECT e.key_type INTO v_key FROM tvsync.entity e WHERE e.name = p_entity;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'tvsync: unknown entity "%"', p_entity
            USING ERRCODE = 'undefined_object',
                  HINT = 'registered entities are in tvsync.entity';
    END IF;
    v_ids := tvsync.canonical_ids(p_entity, v_key, p_ids);
    IF cardinality(v_ids) = 0 THEN
        RETURN NULL;
    END IF;
    FOR part IN 0 .. (cardinality(v_ids) - 1) / 10000 LOOP
        v_lsn := pg_logical_emit_message(true, 'tvsync',
            '{"entity":' || to_json(p_entity)::text || ',"ids":'
            || to_json(v_ids[part * 10000 + 1 : part * 10000 + 10000])::text || '}');
    END LOOP;
    RETURN v_lsn;
END
$$;

-- tvsync.publish(entity, ids): ids is an array of the entity's key type (uuid[],
-- bigint[], integer[], text[]); any array whose elements' text form the key accepts works.
DROP FUNCTION tvsync.publish(text, uuid[]);
CREATE FUNCTION tvsync.publish(p_entity text, p_ids anyarray) RETURNS pg_lsn
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT tvsync.publish_text(p_entity, p_ids::text[]) $$;
COMMENT ON FUNCTION tvsync.publish(text, anyarray) IS
    'Emits {"entity":E,"ids":[...]} (ids as text, transactional, prefix tvsync, <= 10000 ids each); returns the last LSN';

-- finish_mutation (038) with text ids: the sync list's ids are strings or numbers in
-- the key's text form; id is the result's id as text.
DROP FUNCTION tvsync.finish_mutation(tvsync.mutation_result);
CREATE FUNCTION tvsync.finish_mutation(r tvsync.mutation_result,
    OUT status text, OUT message text, OUT entity text, OUT id text, OUT publish_lsn pg_lsn)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_intent jsonb;
BEGIN
    IF r.status IS DISTINCT FROM 'ok' THEN
        RAISE EXCEPTION USING ERRCODE = 'TVS01',
            MESSAGE = coalesce(r.message, coalesce(r.status, 'validation_failed')),
            DETAIL = coalesce(r.status, 'validation_failed');
    END IF;
    status := r.status;
    message := r.message;
    entity := r.entity;
    id := r.id;
    FOR v_intent IN SELECT value FROM jsonb_array_elements(coalesce(r.sync, '[]')) LOOP
        IF jsonb_array_length(coalesce(v_intent -> 'ids', '[]')) > 0 THEN
            publish_lsn := greatest(publish_lsn, tvsync.publish_text(v_intent ->> 'entity',
                ARRAY(SELECT jsonb_array_elements_text(v_intent -> 'ids'))));
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION tvsync.finish_mutation(tvsync.mutation_result) IS
    'Publishes an ok mutation result''s intents (returns the last LSN); raises TVS01 (DETAIL: the status) otherwise';

-- run_mutation (031) for callers of its own: the same, with text ids.
DROP FUNCTION tvsync.run_mutation(regproc, jsonb);
CREATE FUNCTION tvsync.run_mutation(function regproc, args jsonb,
    OUT status text, OUT message text, OUT entity text, OUT id text, OUT sync jsonb,
    OUT publish_lsn pg_lsn)
LANGUAGE plpgsql AS $$
DECLARE
    r tvsync.mutation_result;
    v_intent jsonb;
    v_lsn pg_lsn;
BEGIN
    BEGIN
        EXECUTE format('SELECT * FROM %s($1)', function) INTO r USING args;
        IF r.status IS DISTINCT FROM 'ok' THEN
            RAISE EXCEPTION USING ERRCODE = 'TVS01', MESSAGE = 'tvsync: mutation did not succeed';
        END IF;
    EXCEPTION WHEN SQLSTATE 'TVS01' THEN
        NULL;
    END;
    status := coalesce(r.status, 'validation_failed');
    message := r.message;
    entity := r.entity;
    id := r.id;
    sync := coalesce(r.sync, '[]');
    IF status <> 'ok' THEN
        RETURN;
    END IF;
    FOR v_intent IN SELECT value FROM jsonb_array_elements(sync) LOOP
        IF jsonb_array_length(coalesce(v_intent -> 'ids', '[]')) > 0 THEN
            v_lsn := tvsync.publish_text(v_intent ->> 'entity',
                ARRAY(SELECT jsonb_array_elements_text(v_intent -> 'ids')));
            publish_lsn := greatest(publish_lsn, v_lsn);
        END IF;
    END LOOP;
END
$$;

-- Rebuilds ids (text in the key's form; NULL: every row) of an entity in one statement,
-- as apply(text, uuid[]) did for uuid keys.
CREATE FUNCTION tvsync.apply(p_entity text, p_ids text[], OUT upserted bigint, OUT deleted bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e tvsync.entity := tvsync.entity_row(p_entity);
BEGIN
    EXECUTE format($sql$
        WITH built AS MATERIALIZED (
            SELECT b.id, b.data FROM %1$s($1::%3$s[]) AS b
        ), up AS (
            INSERT INTO %2$s AS t (id, data, updated_at)
            SELECT id, data, now() FROM built
            ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at
            WHERE t.data IS DISTINCT FROM excluded.data
            RETURNING 1
        ), gone AS (
            DELETE FROM %2$s AS t
            WHERE ($1 IS NULL OR t.id = ANY ($1::%3$s[]))
              AND NOT EXISTS (SELECT 1 FROM built WHERE built.id = t.id)
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM gone)
        $sql$, tvsync.build_function_name(e), e.tv_table, e.key_type)
    INTO upserted, deleted
    USING p_ids;
END
$$;
COMMENT ON FUNCTION tvsync.apply(text, text[]) IS
    'Rebuilds the given ids (text; NULL: all) of an entity: upserts changed documents, deletes vanished rows';

-- Replaced, not kept beside it: apply('post', NULL) would be ambiguous between the two.
DROP FUNCTION tvsync.apply(text, uuid[]);

-- Full rebuilds record how far they got as text.
ALTER TABLE tvsync.cdc_rebuild ALTER COLUMN after_id TYPE text USING after_id::text;

-- rebuild_chunk with the position as text in the key's form: chunks follow the key's own
-- order (numeric for integer keys).
CREATE FUNCTION tvsync.rebuild_chunk(p_entity text, p_after text, p_chunk_rows int,
                                     OUT last_id text, OUT upserted bigint, OUT deleted bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e tvsync.entity := tvsync.entity_row(p_entity);
    ids text[];
BEGIN
    IF p_chunk_rows IS NULL OR p_chunk_rows < 1 THEN
        RAISE EXCEPTION 'tvsync.rebuild_chunk: chunk_rows must be at least 1, not %', p_chunk_rows
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format($sql$
        SELECT coalesce(array_agg(c.id ORDER BY c.id), '{}')::text[]
        FROM (SELECT s.id FROM %s AS s WHERE $1 IS NULL OR s.id > $1::%s ORDER BY s.id LIMIT $2) c
        $sql$, e.source_table, e.key_type)
    INTO ids
    USING p_after, p_chunk_rows;
    -- a short chunk is the last one: its range runs to the end of the id space
    IF cardinality(ids) = p_chunk_rows THEN
        last_id := ids[p_chunk_rows];
    END IF;
    EXECUTE format($sql$
        WITH built AS MATERIALIZED (
            SELECT b.id, b.data FROM %1$s($1::%3$s[]) AS b
        ), up AS (
            INSERT INTO %2$s AS t (id, data, updated_at)
            SELECT id, data, now() FROM built
            ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at
            WHERE t.data IS DISTINCT FROM excluded.data
            RETURNING 1
        ), gone AS (
            DELETE FROM %2$s AS t
            WHERE ($2 IS NULL OR t.id > $2::%3$s)
              AND ($3 IS NULL OR t.id <= $3::%3$s)
              AND NOT EXISTS (SELECT 1 FROM built WHERE built.id = t.id)
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM gone)
        $sql$, tvsync.build_function_name(e), e.tv_table, e.key_type)
    INTO upserted, deleted
    USING ids, p_after, last_id;
END
$$;
COMMENT ON FUNCTION tvsync.rebuild_chunk(text, text, int) IS
    'Rebuilds the next chunk of an entity in key order after p_after (text; NULL: from the start); last_id NULL when done';

DROP FUNCTION tvsync.rebuild_chunk(text, uuid, int);
CREATE FUNCTION tvsync.rebuild_chunk(p_entity text, p_after uuid, p_chunk_rows int,
                                     OUT last_id uuid, OUT upserted bigint, OUT deleted bigint)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.last_id::uuid, c.upserted, c.deleted FROM tvsync.rebuild_chunk(p_entity, p_after::text, p_chunk_rows) c
$$;

REVOKE EXECUTE ON FUNCTION tvsync.key_type_of(regclass), tvsync.entity_check(),
    tvsync.canonical_ids(text, regtype, text[]), tvsync.publish_text(text, text[]),
    tvsync.publish(text, anyarray), tvsync.finish_mutation(tvsync.mutation_result),
    tvsync.run_mutation(regproc, jsonb), tvsync.apply(text, text[]),
    tvsync.rebuild_chunk(text, text, int), tvsync.rebuild_chunk(text, uuid, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tvsync.key_type_of(regclass) TO tvsync_app, tvsync_cdc;
GRANT EXECUTE ON FUNCTION tvsync.canonical_ids(text, regtype, text[]), tvsync.publish_text(text, text[]),
    tvsync.publish(text, anyarray) TO tvsync_app, tvsync_cdc;
GRANT EXECUTE ON FUNCTION tvsync.finish_mutation(tvsync.mutation_result),
    tvsync.run_mutation(regproc, jsonb) TO tvsync_app;
GRANT EXECUTE ON FUNCTION tvsync.apply(text, text[]),
    tvsync.rebuild_chunk(text, text, int), tvsync.rebuild_chunk(text, uuid, int) TO tvsync_cdc;
