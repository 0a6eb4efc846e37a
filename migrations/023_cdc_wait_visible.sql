-- 023_cdc_wait_visible: fixes tvsync.cdc_wait_visible (020). It widened each 32-bit xid
-- with the epoch of the snapshot's xmax assuming an xid is never at or past xmax; but
-- xmax is "latest completed xid + 1", so a source transaction that has written its
-- commit record and not yet left the proc array (the very case the function waits for)
-- can be at xmax. It was then taken for an xid of the previous epoch, counted as
-- visible, and the batch rebuilt from the old state. Now each xid is placed at the
-- nearest full xid to xmax (within 2^31, as PostgreSQL compares xids), so one at or past
-- xmax stays pending until it is visible.
CREATE OR REPLACE FUNCTION tvsync.cdc_wait_visible(p_xids bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    snap pg_snapshot;
    xmax bigint;
    pending bigint;
    deadline timestamptz := clock_timestamp() + interval '10 seconds';
BEGIN
    LOOP
        snap := pg_current_snapshot();
        xmax := pg_snapshot_xmax(snap)::text::bigint;
        SELECT count(*) INTO pending
        FROM (SELECT xmax + ((x - (xmax & 4294967295)) + 6442450944) % 4294967296 - 2147483648 AS full_xid
              FROM unnest(p_xids) AS x
              WHERE x >= 3) w   -- 0, 1, 2: invalid, bootstrap and frozen xids
        WHERE NOT pg_visible_in_snapshot(w.full_xid::text::xid8, snap);
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
