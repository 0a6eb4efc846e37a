-- 020_cdc: tvsync-cdc's record of full rebuilds in progress. A rebuild request
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

-- A commit record can reach tvsync-cdc before the committing backend has left the
-- proc array, so for a moment the transaction is committed but not yet visible to new
-- snapshots; rebuilding from tb_* then would read the old state. tvsync-cdc calls this
-- at the start of each apply transaction with the (32-bit) xids of the batch's source
-- transactions: it returns once every one is visible, which takes microseconds.
CREATE FUNCTION tvsync.cdc_wait_visible(p_xids bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    snap pg_snapshot;
    next_xid bigint;
    pending bigint;
    deadline timestamptz := clock_timestamp() + interval '10 seconds';
BEGIN
    LOOP
        snap := pg_current_snapshot();
        next_xid := pg_snapshot_xmax(snap)::text::bigint;
        -- Widen each xid with the epoch of the snapshot's xmax (an xid is never in the future).
        SELECT count(*) INTO pending
        FROM (SELECT CASE WHEN ((next_xid >> 32) << 32 | x) >= next_xid
                          THEN ((next_xid >> 32) << 32 | x) - 4294967296
                          ELSE ((next_xid >> 32) << 32 | x) END AS full_xid
              FROM unnest(p_xids) AS x) w
        WHERE w.full_xid >= 3 AND NOT pg_visible_in_snapshot(w.full_xid::text::xid8, snap);
        IF pending = 0 THEN
            RETURN;
        END IF;
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION 'tvsync.cdc_wait_visible: % source transactions still not visible after 10 s', pending;
        END IF;
        PERFORM pg_sleep(0.0005);
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION tvsync.cdc_wait_visible(bigint[]) TO tvsync_cdc;
