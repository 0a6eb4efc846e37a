-- 040_registry_log: changes to the registry (tvsync.entity, tvsync.cascade) reach
-- tvsync-cdc through the log, at their position among the intents.
--
-- Every statement that changes the registry adds a row to tvsync.registry_log holding the
-- whole registry as its transaction sees it (tvsync.registry_json). tvsync-cdc decodes the
-- inserts into that table from its slot (wal2json actions 'insert', add-tables
-- tvsync.registry_log): intents read before the row are applied with the registry before
-- it, intents after it with the new one, with no signal and no race with the visibility of
-- the migration that made the change.
--
-- A row change, not a logical message: any role that can connect may emit a message with
-- the prefix tvsync (pg_logical_emit_message needs no privilege), and the registry names
-- the functions and queries tvsync-cdc runs. Only the owner of tvsync.registry_log writes
-- it, through the trigger below.

-- The registry as one JSON value, as tvsync-cdc reads it at start and from the log:
-- {"entities":[{"name","tv_table","source_table","build_function"}...],
--  "cascades":[{"source","target","query","watch"}...]}. Table and function names are
-- schema-qualified and quoted (format %I.%I), so their text does not depend on the
-- search_path of whoever reads or changes the registry. Entities are ordered by name,
-- cascades by source and target (collation "C": the same order in every database).
CREATE FUNCTION tvsync.registry_json() RETURNS json
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT json_build_object(
        'entities', coalesce((
            SELECT json_agg(json_build_object(
                       'name', e.name,
                       'tv_table', format('%I.%I', tn.nspname, t.relname),
                       'source_table', format('%I.%I', sn.nspname, s.relname),
                       'build_function', tvsync.build_function_name(e))
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
COMMENT ON FUNCTION tvsync.registry_json() IS
    'The whole registry (entities, cascades) as tvsync-cdc reads it: at start and from tvsync.registry_log';

-- One row per statement that changed the registry. tvsync-cdc reads the inserts from the
-- log, never this table: old rows may be deleted at will.
CREATE TABLE tvsync.registry_log (
    version     bigserial PRIMARY KEY,
    registry    json NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    changed_by  name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE tvsync.registry_log IS
    'The registry after each statement that changed it; tvsync-cdc reads the inserts from its slot';

-- SECURITY DEFINER: whoever may change the registry logs it, without a right of their own
-- on tvsync.registry_log.
CREATE FUNCTION tvsync.registry_logged() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO tvsync.registry_log (registry) VALUES (tvsync.registry_json());
    RETURN NULL;
END
$$;

-- Statement level: a migration that changes the registry in several statements logs
-- several rows, each the registry at its point; the last one is what stays in force.
CREATE TRIGGER registry_logged AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tvsync.entity
    FOR EACH STATEMENT EXECUTE FUNCTION tvsync.registry_logged();
CREATE TRIGGER registry_logged AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tvsync.cascade
    FOR EACH STATEMENT EXECUTE FUNCTION tvsync.registry_logged();

-- The registry from here on: a tvsync-cdc that streams across this migration sees it too.
INSERT INTO tvsync.registry_log (registry) VALUES (tvsync.registry_json());

REVOKE ALL ON tvsync.registry_log FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION tvsync.registry_json(), tvsync.registry_logged() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tvsync.registry_json() TO tvsync_cdc;
