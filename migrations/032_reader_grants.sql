-- 032_reader_grants: tvsync_reader can run syncMetrics (031 granted it the function and
-- tvsync.sync_log but not USAGE on schema tvsync, so neither was reachable).

-- Functions created after 001 (cdc_wait_visible in 020, run_mutation and sync_metrics in
-- 031) kept PostgreSQL's default EXECUTE for PUBLIC. That was unreachable while only
-- tvsync_app and tvsync_cdc could enter the schema; before tvsync_reader may enter it,
-- take it back, so each function is callable only by the roles granted it by name.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA tvsync FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tvsync.cdc_wait_visible(bigint[]) TO tvsync_cdc;
GRANT EXECUTE ON FUNCTION tvsync.run_mutation(regproc, jsonb) TO tvsync_app;

-- What a read-only client needs for syncMetrics: the schema, the function (SQL, run
-- with the caller's rights) and SELECT on the log it reads. Nothing else in tvsync.
GRANT USAGE ON SCHEMA tvsync TO tvsync_reader;
GRANT EXECUTE ON FUNCTION tvsync.sync_metrics(jsonb) TO tvsync_app, tvsync_reader;
GRANT SELECT ON tvsync.sync_log TO tvsync_reader;
