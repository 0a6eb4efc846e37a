-- 020_cdc_rebuild: tvsync-cdc's record of full rebuilds in progress. A rebuild request
-- ({"entity":E,"rebuild":true}) is recorded here in the same transaction that records the
-- origin progress past it, and each chunk moves after_id in the same transaction as the
-- chunk's writes, so a crash neither loses a requested rebuild nor restarts it from scratch.
CREATE TABLE tvsync.cdc_rebuild (
    entity         text PRIMARY KEY REFERENCES tvsync.entity (name) ON DELETE CASCADE,
    after_id       uuid,               -- last id rebuilt; NULL: start from the beginning
    requested_lsn  pg_lsn NOT NULL,    -- the request's position in the log
    requested_at   timestamptz NOT NULL DEFAULT now(),
    rows_upserted  bigint NOT NULL DEFAULT 0,
    rows_deleted   bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE tvsync.cdc_rebuild IS
    'Full rebuilds tvsync-cdc is running, chunk by chunk (tvsync.rebuild_chunk)';
GRANT SELECT, INSERT, UPDATE, DELETE ON tvsync.cdc_rebuild TO tvsync_cdc;
