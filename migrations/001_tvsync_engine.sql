-- 001_tvsync_engine: the engine schema tvsync (entity registry, cascades, intents,
-- apply/rebuild, sync_log, dead_letter) and the three least-privilege roles.
--
-- Applied by tvsync-migrate inside one transaction. Nothing here knows about the blog:
-- entities register themselves in tvsync.entity and tvsync.cascade.

CREATE SCHEMA IF NOT EXISTS tvsync;
COMMENT ON SCHEMA tvsync IS 'tvsync engine: entity registry, cascades, intents, apply, logs';

-- tvsync-migrate creates this table itself before the first migration (it needs it to
-- know what is applied); the statement is here so the schema reads whole.
CREATE TABLE IF NOT EXISTS tvsync.schema_migrations (
    version     text PRIMARY KEY,
    filename    text NOT NULL,
    sha256      text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- Roles are cluster-wide: another database of the cluster may have created them.
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['tvsync_app', 'tvsync_cdc', 'tvsync_reader'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
    -- tvsync-cdc streams from the slot: walsender connections need REPLICATION.
    ALTER ROLE tvsync_cdc REPLICATION;
END
$roles$;
COMMENT ON ROLE tvsync_app IS 'tvsync-server: writes tb_*, reads tv_*, runs mutations and publish';
COMMENT ON ROLE tvsync_cdc IS 'tvsync-cdc: replication, reads tb_*, writes tv_*, sync_log, dead_letter';
COMMENT ON ROLE tvsync_reader IS 'read-only access to the tv_* read models';

-- One row per entity: its read model, its source table (a uuid column "id"),
-- and the function that builds documents from the source.
CREATE TABLE tvsync.entity (
    name            text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]*$'),
    tv_table        regclass NOT NULL UNIQUE,
    source_table    regclass NOT NULL,
    build_function  regprocedure NOT NULL
);
COMMENT ON TABLE tvsync.entity IS
    'Entities: build_function(ids uuid[]) returns table(id uuid, data jsonb); ids NULL = every row';

-- When source_entity ids change, query ($1 uuid[] of changed source ids, one uuid column)
-- gives the target_entity ids to rebuild. It must look at the new state (tb_*) and at the
-- old state (the tv_* documents, not yet rebuilt) so deletes and moved references are caught.
CREATE TABLE tvsync.cascade (
    source_entity  text NOT NULL REFERENCES tvsync.entity (name) ON DELETE CASCADE,
    target_entity  text NOT NULL REFERENCES tvsync.entity (name) ON DELETE CASCADE,
    query          text NOT NULL,
    PRIMARY KEY (source_entity, target_entity)
);

-- One row per applied batch and entity.
CREATE TABLE tvsync.sync_log (
    id             bigserial PRIMARY KEY,
    entity         text NOT NULL,
    intents        int NOT NULL DEFAULT 0,
    rows_upserted  int NOT NULL DEFAULT 0,
    rows_deleted   int NOT NULL DEFAULT 0,
    duration_ms    double precision NOT NULL DEFAULT 0,
    success        boolean NOT NULL,
    error          text,
    source_lsn     pg_lsn,
    applied_at     timestamptz NOT NULL DEFAULT now()
);
-- syncMetrics reads the last 24 hours of one entity.
CREATE INDEX sync_log_entity_applied_at ON tvsync.sync_log (entity, applied_at);

-- Intents tvsync-cdc could not apply (malformed, unknown entity, build error).
CREATE TABLE tvsync.dead_letter (
    id          bigserial PRIMARY KEY,
    lsn         pg_lsn,
    content     text,
    reason      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- What a mutation function returns; sync lists the intents the server publishes:
-- [{"entity":"post","ids":["..."]}, ...].
CREATE TYPE tvsync.mutation_result AS (
    status   text,
    message  text,
    entity   text,
    id       uuid,
    sync     jsonb
);

-- ISO 8601 in UTC with microseconds, whatever the session's TimeZone: documents built
-- by different sessions must compare equal. STABLE like to_char, so the planner inlines
-- it into the build functions instead of calling a SQL function per timestamp.
CREATE FUNCTION tvsync.iso_time(ts timestamptz) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
AS $$ SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

CREATE FUNCTION tvsync.entity_row(p_entity text) RETURNS tvsync.entity
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e tvsync.entity;
BEGIN
    SELECT * INTO e FROM tvsync.entity WHERE name = p_entity;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'tvsync: unknown entity "%"', p_entity
            USING ERRCODE = 'undefined_object',
                  HINT = 'registered entities are in tvsync.entity';
    END IF;
    RETURN e;
END
$$;

-- The build function's schema-qualified, quoted name (without the argument list).
CREATE FUNCTION tvsync.build_function_name(e tvsync.entity) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('%I.%I', n.nspname, p.proname)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE p.oid = e.build_function
$$;

-- Emits the intents for ids as transactional logical messages (prefix tvsync), at most
-- 10,000 ids per message so no message is huge. Duplicates and NULLs are dropped.
-- Returns the LSN of the last message, NULL when there was no id to publish.
CREATE FUNCTION tvsync.publish(p_entity text, p_ids uuid[]) RETURNS pg_lsn
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    chunk uuid[];
    last_lsn pg_lsn;
BEGIN
    PERFORM tvsync.entity_row(p_entity);
    FOR chunk IN
        SELECT array_agg(n.id ORDER BY n.id)
        FROM (SELECT d.id, (row_number() OVER (ORDER BY d.id) - 1) / 10000 AS part
              FROM (SELECT DISTINCT x AS id FROM unnest(p_ids) AS x WHERE x IS NOT NULL) d) n
        GROUP BY n.part
        ORDER BY n.part
    LOOP
        last_lsn := pg_logical_emit_message(true, 'tvsync',
            '{"entity":' || to_json(p_entity)::text || ',"ids":' || to_json(chunk)::text || '}');
    END LOOP;
    RETURN last_lsn;
END
$$;
COMMENT ON FUNCTION tvsync.publish(text, uuid[]) IS
    'Emits {"entity":E,"ids":[...]} (transactional, prefix tvsync, <= 10000 ids each); returns the last LSN';

-- Asks tvsync-cdc to rebuild every row of an entity, in log order with live intents.
CREATE FUNCTION tvsync.request_rebuild(p_entity text) RETURNS pg_lsn
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM tvsync.entity_row(p_entity);
    RETURN pg_logical_emit_message(true, 'tvsync',
        '{"entity":' || to_json(p_entity)::text || ',"rebuild":true}');
END
$$;

-- A heartbeat through the log: tvsync-cdc measures the round trip with it.
CREATE FUNCTION tvsync.heartbeat() RETURNS pg_lsn
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_logical_emit_message(true, 'tvsync',
        '{"heartbeat":' || to_json(tvsync.iso_time(clock_timestamp()))::text || '}')
$$;

-- Rebuilds ids of an entity in one statement: upserts the documents the build function
-- returns whose data changed, deletes the tv rows among ids it no longer returns.
-- ids NULL rebuilds every row (and deletes every tv row without a document).
CREATE FUNCTION tvsync.apply(p_entity text, p_ids uuid[], OUT upserted bigint, OUT deleted bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e tvsync.entity := tvsync.entity_row(p_entity);
BEGIN
    EXECUTE format($sql$
        WITH built AS MATERIALIZED (
            SELECT b.id, b.data FROM %1$s($1) AS b
        ), up AS (
            INSERT INTO %2$s AS t (id, data, updated_at)
            SELECT id, data, now() FROM built
            ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at
            WHERE t.data IS DISTINCT FROM excluded.data
            RETURNING 1
        ), gone AS (
            DELETE FROM %2$s AS t
            WHERE ($1 IS NULL OR t.id = ANY ($1))
              AND NOT EXISTS (SELECT 1 FROM built WHERE built.id = t.id)
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM gone)
        $sql$, tvsync.build_function_name(e), e.tv_table)
    INTO upserted, deleted
    USING p_ids;
END
$$;
COMMENT ON FUNCTION tvsync.apply(text, uuid[]) IS
    'Rebuilds the given ids (NULL: all) of an entity: upserts changed documents, deletes vanished rows';

-- Rebuilds the next chunk_rows source ids after p_after (NULL: from the start), in id
-- order, and deletes the tv rows of the same id range that have no document. last_id is
-- the next p_after, NULL when the whole table is done. A chunk is small and bounded, so
-- a live batch waits at most one chunk. The ids are picked first and handed to the build
-- as a parameter: with a constant array the planner uses the primary-key indexes.
CREATE FUNCTION tvsync.rebuild_chunk(p_entity text, p_after uuid, p_chunk_rows int,
                                     OUT last_id uuid, OUT upserted bigint, OUT deleted bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e tvsync.entity := tvsync.entity_row(p_entity);
    ids uuid[];
BEGIN
    IF p_chunk_rows IS NULL OR p_chunk_rows < 1 THEN
        RAISE EXCEPTION 'tvsync.rebuild_chunk: chunk_rows must be at least 1, not %', p_chunk_rows
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format($sql$
        SELECT coalesce(array_agg(c.id ORDER BY c.id), '{}')
        FROM (SELECT s.id FROM %s AS s WHERE $1 IS NULL OR s.id > $1 ORDER BY s.id LIMIT $2) c
        $sql$, e.source_table)
    INTO ids
    USING p_after, p_chunk_rows;
    -- a short chunk is the last one: its range runs to the end of the id space
    IF cardinality(ids) = p_chunk_rows THEN
        last_id := ids[p_chunk_rows];
    END IF;
    EXECUTE format($sql$
        WITH built AS MATERIALIZED (
            SELECT b.id, b.data FROM %1$s($1) AS b
        ), up AS (
            INSERT INTO %2$s AS t (id, data, updated_at)
            SELECT id, data, now() FROM built
            ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at
            WHERE t.data IS DISTINCT FROM excluded.data
            RETURNING 1
        ), gone AS (
            DELETE FROM %2$s AS t
            WHERE ($2 IS NULL OR t.id > $2)
              AND ($3 IS NULL OR t.id <= $3)
              AND NOT EXISTS (SELECT 1 FROM built WHERE built.id = t.id)
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM gone)
        $sql$, tvsync.build_function_name(e), e.tv_table)
    INTO upserted, deleted
    USING ids, p_after, last_id;
END
$$;
COMMENT ON FUNCTION tvsync.rebuild_chunk(text, uuid, int) IS
    'Rebuilds the next chunk of an entity in id order; last_id NULL when done';

-- Least privilege. Table grants for tb_*/tv_* come with each entity's migration.
REVOKE ALL ON SCHEMA tvsync FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tvsync FROM PUBLIC;
GRANT USAGE ON SCHEMA tvsync TO tvsync_app, tvsync_cdc;
GRANT USAGE ON TYPE tvsync.mutation_result TO tvsync_app;
GRANT SELECT ON tvsync.entity, tvsync.cascade TO tvsync_app, tvsync_cdc;
GRANT EXECUTE ON FUNCTION tvsync.iso_time(timestamptz), tvsync.entity_row(text),
    tvsync.build_function_name(tvsync.entity) TO tvsync_app, tvsync_cdc;
GRANT EXECUTE ON FUNCTION tvsync.publish(text, uuid[]), tvsync.request_rebuild(text)
    TO tvsync_app, tvsync_cdc;
GRANT EXECUTE ON FUNCTION tvsync.heartbeat(), tvsync.apply(text, uuid[]),
    tvsync.rebuild_chunk(text, uuid, int) TO tvsync_cdc;
GRANT SELECT, INSERT ON tvsync.sync_log, tvsync.dead_letter TO tvsync_cdc;
GRANT USAGE ON SEQUENCE tvsync.sync_log_id_seq, tvsync.dead_letter_id_seq TO tvsync_cdc;
-- tvsync-cdc records its progress with a replication origin (DESIGN.md invariant 2);
-- PostgreSQL lets only superusers run the origin functions until they are granted.
-- Granting needs a superuser: a migration run by a mere database owner warns instead,
-- and tvsync-slot check names what is missing.
DO $origin$
BEGIN
    GRANT EXECUTE ON FUNCTION
        pg_catalog.pg_replication_origin_create(text),
        pg_catalog.pg_replication_origin_drop(text),
        pg_catalog.pg_replication_origin_oid(text),
        pg_catalog.pg_replication_origin_session_setup(text),
        pg_catalog.pg_replication_origin_session_reset(),
        pg_catalog.pg_replication_origin_session_is_setup(),
        pg_catalog.pg_replication_origin_session_progress(boolean),
        pg_catalog.pg_replication_origin_xact_setup(pg_lsn, timestamptz),
        pg_catalog.pg_replication_origin_xact_reset(),
        pg_catalog.pg_replication_origin_advance(text, pg_lsn),
        pg_catalog.pg_replication_origin_progress(text, boolean)
    TO tvsync_cdc;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'tvsync: cannot grant the replication origin functions to tvsync_cdc (%); '
                  'a superuser must grant them, or tvsync-cdc must run as a superuser', SQLERRM;
END
$origin$;
-- The server's syncMetrics reads sync_log; operators read dead letters.
GRANT SELECT ON tvsync.sync_log TO tvsync_app;
GRANT SELECT ON tvsync.schema_migrations TO tvsync_app, tvsync_cdc;
