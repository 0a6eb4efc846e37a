-- 031_server: SQL that tvsync-server calls for any schema: the mutation wrapper that keeps
-- writes and intents in one transaction, and the syncMetrics query over tvsync.sync_log.

-- Calls a mutation function (regproc from the SDL's @sql directive) with the field's
-- arguments and, when it says 'ok', publishes every intent of its sync with
-- tvsync.publish, all in the caller's transaction (DESIGN.md invariant 1).
-- Any other status rolls back whatever the function wrote (a subtransaction), so a
-- failing mutation writes and publishes nothing. publish_lsn is the LSN the server
-- waits for tvsync-cdc to pass (NULL when nothing was published).
CREATE OR REPLACE FUNCTION tvsync.run_mutation(function regproc, args jsonb,
    OUT status text, OUT message text, OUT entity text, OUT id uuid, OUT sync jsonb,
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
        -- r keeps the function's answer; its writes are undone.
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
            v_lsn := tvsync.publish(v_intent ->> 'entity',
                ARRAY(SELECT jsonb_array_elements_text(v_intent -> 'ids'))::uuid[]);
            publish_lsn := greatest(publish_lsn, v_lsn);
        END IF;
    END LOOP;
END
$$;

-- syncMetrics(entityType): the last 24 hours of tvsync.sync_log for one entity.
CREATE OR REPLACE FUNCTION tvsync.sync_metrics(args jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'entityType', args ->> 'entityType',
        'totalSyncs24h', count(*),
        'avgDurationMs', round(avg(duration_ms)::numeric, 3),
        'successRate', CASE WHEN count(*) > 0
                            THEN round(count(*) FILTER (WHERE success)::numeric / count(*), 4) END,
        'failures24h', count(*) FILTER (WHERE NOT success))
    FROM tvsync.sync_log
    WHERE entity = args ->> 'entityType' AND applied_at > now() - interval '24 hours'
$$;

GRANT EXECUTE ON FUNCTION tvsync.run_mutation(regproc, jsonb) TO tvsync_app;
GRANT EXECUTE ON FUNCTION tvsync.sync_metrics(jsonb) TO tvsync_app, tvsync_reader;
GRANT SELECT ON tvsync.sync_log TO tvsync_app, tvsync_reader;
