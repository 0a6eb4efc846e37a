-- 045_trusted_log: only the engine's own functions write messages with the prefix tvsync,
-- and they check who asks: heartbeats carry tvsync-cdc's nonce, a full rebuild needs
-- tvsync_admin, and a role without it publishes at most publish_policy.max_ids ids a call.
--
-- pg_logical_emit_message is executable by PUBLIC in a fresh cluster: any role that can
-- connect could forge intents (a rebuild of every entity, a million ids) and heartbeats
-- (whose time tvsync-cdc's /health reads as lag). This migration revokes it from PUBLIC
-- when it may (a superuser runs it), and the functions that emit become SECURITY
-- DEFINER, so that application roles publish through them only.

-- Roles are cluster-wide: another database of the cluster may have created it.
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tvsync_admin') THEN
        CREATE ROLE tvsync_admin NOLOGIN;
    END IF;
    -- Whoever migrates also runs the rebuilds that migrations request.
    IF NOT pg_has_role(current_user, 'tvsync_admin', 'MEMBER') THEN
        EXECUTE format('GRANT tvsync_admin TO %I', current_user);
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'tvsync: cannot grant tvsync_admin to % (%): migrations that request a rebuild '
                  'will fail until a role with CREATEROLE runs: GRANT tvsync_admin TO %',
                  current_user, SQLERRM, quote_ident(current_user);
END
$roles$;
-- tvsync-cdc's role may rebuild every row already (tvsync.apply(entity, NULL)); operators
-- run tvsync-slot rebuild with its login.
GRANT tvsync_admin TO tvsync_cdc;
COMMENT ON ROLE tvsync_admin IS 'may request full rebuilds and publish more than tvsync.publish_policy.max_ids ids at once';

-- How many ids one call of tvsync.publish (or one intent of a mutation's sync list) may
-- carry for a role without tvsync_admin. One row. A table, not a setting: any role may
-- SET a custom setting.
CREATE TABLE tvsync.publish_policy (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    -- publish_text reads this only for calls of more than 100 ids
    max_ids  integer NOT NULL DEFAULT 10000 CHECK (max_ids >= 100)
);
INSERT INTO tvsync.publish_policy DEFAULT VALUES;
COMMENT ON TABLE tvsync.publish_policy IS
    'max_ids: ids one publish may carry for a role without tvsync_admin (UPDATE it to change)';

-- The role a publish is checked against: the one the session set (SET ROLE, as
-- tvsync-server does per request), else the one that logged in. Not current_user: the
-- functions that call this run as their owner. A SECURITY DEFINER function of the
-- application's in between does not lend its owner's rights.
CREATE FUNCTION tvsync.caller_is_admin() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_has_role(coalesce(nullif(current_setting('role'), 'none'), session_user::text),
                       'tvsync_admin', 'MEMBER')
$$;

-- publish_text (041), SECURITY DEFINER, with the size check first (before the ids are
-- read: a refused call costs nothing).
CREATE OR REPLACE FUNCTION tvsync.publish_text(p_entity text, p_ids text[]) RETURNS pg_lsn
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_key regtype;
    v_ids text[];
    v_lsn pg_lsn;
    v_max integer;
BEGIN
    IF cardinality(p_ids) > 100 THEN
        SELECT p.max_ids INTO v_max FROM tvsync.publish_policy p;
        IF cardinality(p_ids) > v_max AND NOT tvsync.caller_is_admin() THEN
            RAISE EXCEPTION 'tvsync: % ids in one publish for entity "%": a role without tvsync_admin may publish at most %',
                cardinality(p_ids), p_entity, v_max
                USING ERRCODE = 'program_limit_exceeded',
                      HINT = 'publish fewer ids per call; to rebuild a whole entity, a role granted tvsync_admin '
                             'calls tvsync.request_rebuild; tvsync.publish_policy.max_ids holds the limit';
        END IF;
    END IF;
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

-- request_rebuild (001): a full rebuild reads every source row and rewrites every
-- document, so it needs tvsync_admin.
CREATE OR REPLACE FUNCTION tvsync.request_rebuild(p_entity text) RETURNS pg_lsn
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT tvsync.caller_is_admin() THEN
        RAISE EXCEPTION 'tvsync: role "%" may not request a full rebuild of "%"',
            coalesce(nullif(current_setting('role'), 'none'), session_user::text), p_entity
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'run it as a role granted tvsync_admin (GRANT tvsync_admin TO ...), '
                         'or publish the ids that changed with tvsync.publish';
    END IF;
    PERFORM tvsync.entity_row(p_entity);
    RETURN pg_logical_emit_message(true, 'tvsync',
        '{"entity":' || to_json(p_entity)::text || ',"rebuild":true}');
END
$$;

-- tvsync-cdc's heartbeat with its nonce: a heartbeat without it is ignored.
CREATE FUNCTION tvsync.heartbeat(p_nonce text) RETURNS pg_lsn
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_logical_emit_message(true, 'tvsync',
        '{"heartbeat":' || to_json(tvsync.iso_time(clock_timestamp()))::text
        || ',"nonce":' || to_json(p_nonce)::text || '}')
$$;
COMMENT ON FUNCTION tvsync.heartbeat(text) IS
    'Emits {"heartbeat":T,"nonce":N} for tvsync-cdc, which ignores heartbeats without its own nonce';

-- Revokes every overload of pg_logical_emit_message from PUBLIC and grants it to the
-- owners of the functions above, when the caller may (a superuser); else, while PUBLIC
-- may still run it, a WARNING with the statements a superuser must run. Safe to run again.
CREATE FUNCTION tvsync.restrict_emit_message() RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_owners text;
    v_function text;
    v_statements text[] := '{}';
BEGIN
    SELECT string_agg(DISTINCT quote_ident(r.rolname), ', ') INTO v_owners
    FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner
    WHERE p.oid IN ('tvsync.publish_text(text, text[])'::regprocedure,
                    'tvsync.request_rebuild(text)'::regprocedure,
                    'tvsync.heartbeat(text)'::regprocedure);
    FOR v_function IN
        SELECT 'pg_catalog.' || p.oid::regprocedure::text
        FROM pg_proc p
        WHERE p.proname = 'pg_logical_emit_message' AND p.pronamespace = 'pg_catalog'::regnamespace
        ORDER BY 1
    LOOP
        v_statements := v_statements
            || format('GRANT EXECUTE ON FUNCTION %s TO %s', v_function, v_owners)
            || format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', v_function);
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_proc p
               WHERE p.proname = 'pg_logical_emit_message' AND p.pronamespace = 'pg_catalog'::regnamespace
                 AND NOT pg_has_role(current_user, p.proowner, 'USAGE')) THEN
        IF NOT EXISTS (SELECT 1 FROM pg_proc p
                       WHERE p.proname = 'pg_logical_emit_message'
                         AND p.pronamespace = 'pg_catalog'::regnamespace
                         AND has_function_privilege('public', p.oid, 'EXECUTE')) THEN
            RETURN;   -- a superuser did it already
        END IF;
        RAISE WARNING 'tvsync: pg_logical_emit_message stays executable by every role (only a superuser may '
                      'revoke it), so any role that can connect can forge intents; a superuser should run: %;',
                      array_to_string(v_statements, '; ');
        RETURN;
    END IF;
    FOR i IN 1 .. cardinality(v_statements) LOOP
        EXECUTE v_statements[i];
    END LOOP;
END
$$;
SELECT tvsync.restrict_emit_message();

REVOKE ALL ON tvsync.publish_policy FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION tvsync.caller_is_admin(), tvsync.heartbeat(text), tvsync.restrict_emit_message()
    FROM PUBLIC;
GRANT SELECT ON tvsync.publish_policy TO tvsync_app, tvsync_cdc;
GRANT EXECUTE ON FUNCTION tvsync.caller_is_admin() TO tvsync_app, tvsync_cdc;
GRANT EXECUTE ON FUNCTION tvsync.heartbeat(text) TO tvsync_cdc;
