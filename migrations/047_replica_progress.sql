-- 047_replica_progress: tvsync-server reads, on a hot standby, how far tvsync-cdc's applied
-- transactions have been replayed there, to serve a read-your-writes token from it.

-- The replication origin's progress: the source LSN tvsync-cdc's last replayed apply
-- committed with. The origin views are the superuser's by default; this lends the server's
-- roles that one origin's progress, read-only. On a standby, replay makes a commit visible
-- to new snapshots before it advances the origin, so a read that starts after this answered
-- sees every apply up to the progress returned. After a standby restart the progress comes
-- from its last restartpoint and may be ahead of what replay has made visible: until replay
-- passes the local commit that progress belongs to, NULL (not known yet). NULL too when the
-- origin does not exist.
CREATE FUNCTION tvsync.replica_progress(p_origin text) RETURNS pg_lsn
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_remote pg_lsn;
    v_local pg_lsn;
    v_replayed pg_lsn;
BEGIN
    SELECT s.remote_lsn, s.local_lsn INTO v_remote, v_local
    FROM pg_replication_origin_status s WHERE s.external_id = p_origin;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    -- read after the origin: replay only moves forward
    v_replayed := pg_last_wal_replay_lsn();
    IF v_replayed IS NOT NULL AND v_replayed < v_local THEN
        RETURN NULL;
    END IF;
    RETURN v_remote;
END
$$;

REVOKE EXECUTE ON FUNCTION tvsync.replica_progress(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tvsync.replica_progress(text) TO tvsync_app, tvsync_reader;
