-- 039_cdc_check_visible: tvsync-cdc checks, inside the apply transaction, that its
-- snapshot sees the batch's source transactions, instead of waiting for them in a
-- statement of its own before BEGIN (tvsync.cdc_wait_visible, 020/023).
--
-- A source transaction can reach the slot a moment before it leaves the proc array, so
-- a snapshot taken then would not see it. That moment is almost always over by the time
-- tvsync-cdc has received the transaction: the wait's own sync point cost an answer and
-- a wakeup on both sides for every batch. Now the check is the transaction's first
-- statement; when it fails (SQLSTATE TVS02) tvsync-cdc rolls back, waits with
-- cdc_wait_visible and begins again.

-- Raises TVS02 unless the transaction's snapshot sees every one of p_xids (32-bit xids
-- of committed transactions; 0, 1 and 2 are ignored). For a REPEATABLE READ transaction,
-- whose snapshot the whole transaction keeps. Each xid is placed at the nearest full xid
-- to the snapshot's xmax, as in cdc_wait_visible (023).
CREATE FUNCTION tvsync.cdc_check_visible(p_xids bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    snap pg_snapshot := pg_current_snapshot();
    xmax bigint := pg_snapshot_xmax(snap)::text::bigint;
    pending bigint;
BEGIN
    SELECT count(*) INTO pending
    FROM (SELECT xmax + ((x - (xmax & 4294967295)) + 6442450944) % 4294967296 - 2147483648 AS full_xid
          FROM unnest(p_xids) AS x
          WHERE x >= 3) w
    WHERE NOT pg_visible_in_snapshot(w.full_xid::text::xid8, snap);
    IF pending > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'TVS02',
            MESSAGE = format('tvsync.cdc_check_visible: %s source transactions are not visible to this snapshot yet',
                             pending),
            HINT = 'roll back, wait with tvsync.cdc_wait_visible and begin again';
    END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION tvsync.cdc_check_visible(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tvsync.cdc_check_visible(bigint[]) TO tvsync_cdc;
