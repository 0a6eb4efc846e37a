#!/bin/sh
# cdc_ops: tvsync-cdc's operations side: a missing slot is one line and exit 5;
# an idle daemon keeps confirmed_flush_lsn close to the WAL under an unrelated
# write load; heartbeats measure the round trip; a rebuild request repairs a
# damaged read model chunk by chunk; a new entity needs no SIGHUP; a role without
# TEMPORARY gets a warning and the same results.
. "$TVSYNC_SRCDIR/tests/integration/cdc_lib.sh"
set -u

pgcluster_start || exit 1
cdc_migrate || exit 1
cdc_install_oracle >/dev/null || exit 1
cdc_kill_on_exit

# 1. No slot yet: one line naming the fix, exit 5.
assert_exit 5 "a missing slot exits with status 5" -- \
    "$CDC_BIN" --database "$TVSYNC_DATABASE_URL" --metrics-listen 127.0.0.1:0
assert_contains "$ASSERT_OUTPUT" 'replication slot "tvsync" does not exist: run tvsync-slot create' \
    "a missing slot says to run tvsync-slot create"

cdc_create_slot || exit 1
cdc_start --set cdc.rebuild_chunk_rows=2 || exit 1

# 2. Idle under an unrelated write load: the slot's confirmed position follows the WAL.
pgcluster_psql -c "CREATE TABLE unrelated (id bigserial PRIMARY KEY, payload text)"
start_lsn=$(pgcluster_psql -c "SELECT pg_current_wal_lsn()")
cat > "$PGCLUSTER_DIR/unrelated.sql" <<'SQL'
INSERT INTO unrelated (payload) SELECT md5(g::text) FROM generate_series(1, 20) g;
SQL
"$PGCLUSTER_BINDIR/pgbench" -n -c 2 -T 6 -f "$PGCLUSTER_DIR/unrelated.sql" >/dev/null 2>&1
end_lsn=$(pgcluster_psql -c "SELECT pg_current_wal_lsn()")
echo "# unrelated load wrote $(pgcluster_psql -c "SELECT pg_wal_lsn_diff('$end_lsn', '$start_lsn')") bytes of WAL"
slot_caught_up() {
    [ "$(pgcluster_psql -c "SELECT confirmed_flush_lsn >= '$end_lsn'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'tvsync'")" = t ]
}
wait_for 10 slot_caught_up
assert_eq "0" "$?" "an idle daemon moves confirmed_flush_lsn past the unrelated load's WAL"
assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.sync_log")" "an unrelated load applies nothing"

# 3. Heartbeats: the round trip is measured even when no application writes.
heartbeat_seen() {
    cdc_metrics | grep -q '^tvsync_cdc_heartbeat_round_trip_seconds [0-9]'
}
wait_for 10 heartbeat_seen
assert_eq "0" "$?" "the heartbeat round trip is in /metrics"
assert_contains "$(curl -s "http://127.0.0.1:$CDC_PORT/health")" '"status":"streaming"' "/health says streaming"

# 4. A rebuild request repairs a damaged read model, in chunks between live batches.
pgcluster_psql <<'SQL' >/dev/null
UPDATE tv_post SET data = '{"damaged": true}' WHERE id = '20000000-0000-4000-8000-000000000001';
DELETE FROM tv_post WHERE id = '20000000-0000-4000-8000-000000000002';
INSERT INTO tv_post (id, data) VALUES ('20000000-0000-4000-8000-0000000000ee', '{"stale": true}');
SQL
lsn=$(pgcluster_psql -c "SELECT tvsync.request_rebuild('post')")
cdc_wait_lsn "$lsn"
rebuild_done() {
    [ "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.cdc_rebuild")" = 0 ]
}
wait_for 30 rebuild_done
assert_eq "0" "$?" "the rebuild finishes"
assert_exit 0 "after the rebuild tv_* equals a full rebuild" -- cdc_verify
assert_eq "1" "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.sync_log WHERE entity = 'post' AND intents = 0 AND rows_upserted = 2 AND rows_deleted = 1")" \
    "the finished rebuild is logged with its rows (2 repaired, 1 removed)"
assert_contains "$(cdc_metrics)" 'tvsync_cdc_rebuild_chunks_total{entity="post"} 2' "the 3 posts were rebuilt in chunks of 2"

# 5. An entity declared in SQL while the daemon runs is applied with no signal (its
#    registration reaches the daemon through the log: cdc_registry.sh); SIGHUP reloads the
#    configuration and leaves the registry to the log.
pgcluster_psql <<'SQL' >/dev/null
CREATE TABLE tb_tag (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE tv_tag (id uuid PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION fn_build_tag(ids uuid[]) RETURNS TABLE (id uuid, data jsonb) LANGUAGE sql STABLE AS $$
    SELECT t.id, jsonb_build_object('id', t.id, 'name', t.name) FROM public.tb_tag t WHERE ids IS NULL OR t.id = ANY (ids)
$$;
INSERT INTO tvsync.entity (name, tv_table, source_table, build_function)
VALUES ('tag', 'tv_tag', 'tb_tag', 'fn_build_tag(uuid[])');
INSERT INTO tb_tag VALUES ('40000000-0000-4000-8000-000000000001', 'before');
SQL
lsn=$(pgcluster_psql -c "SELECT tvsync.publish('tag', ARRAY['40000000-0000-4000-8000-000000000001'::uuid])")
cdc_wait_lsn "$lsn"
assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.dead_letter")" "a new entity's intent does not dead-letter"
assert_eq "before" "$(pgcluster_psql -c "SELECT data->>'name' FROM tv_tag")" "a new entity is applied with no SIGHUP"
kill -HUP "$CDC_PID"
configuration_reloaded() {
    grep -q "configuration reloaded" "$CDC_LOG"
}
wait_for 10 configuration_reloaded
assert_eq "0" "$?" "SIGHUP reloads the configuration"
lsn=$(pgcluster_psql -c "UPDATE tb_tag SET name = 'after'" -c "SELECT tvsync.publish('tag', ARRAY['40000000-0000-4000-8000-000000000001'::uuid])" | tail -n1)
cdc_wait_lsn "$lsn"
assert_eq "after" "$(pgcluster_psql -c "SELECT data->>'name' FROM tv_tag")" "after SIGHUP intents are applied as before"

cdc_stop
assert_eq "0" "$CDC_STATUS" "SIGTERM exits 0"
assert_contains "$(cat "$CDC_LOG")" "replication stream closed" "shutdown ends the stream (CopyDone, drain)"

# 6. A role that may not create temporary tables (least privilege, TEMPORARY revoked from
#    PUBLIC): tvsync-cdc says what it cannot do and how to allow it, builds each changed
#    document twice instead of keeping it, and applies as before.
database=$(pgcluster_psql -c "SELECT current_database()")
pgcluster_psql -c "CREATE ROLE cdc_limited LOGIN REPLICATION IN ROLE tvsync_cdc" \
    -c "REVOKE TEMPORARY ON DATABASE \"$database\" FROM PUBLIC" >/dev/null
limited_url=$(echo "$TVSYNC_DATABASE_URL" | sed 's|//postgres@|//cdc_limited@|')
TVSYNC_DATABASE_URL=$limited_url cdc_start || exit 1
assert_contains "$(cat "$CDC_LOG")" "cannot create the temporary table tvsync_built" \
    "without TEMPORARY the log says the documents are built twice"
assert_contains "$(cat "$CDC_LOG")" "GRANT TEMPORARY ON DATABASE" "... and how to allow it"
lsn=$(pgcluster_psql -c "UPDATE tb_post SET title = 'built twice' WHERE id = '20000000-0000-4000-8000-000000000001'" \
    -c "SELECT tvsync.publish('post', ARRAY['20000000-0000-4000-8000-000000000001'::uuid])" | tail -n1)
cdc_wait_lsn "$lsn"
assert_eq "built twice" "$(pgcluster_psql -c "SELECT data->>'title' FROM tv_post WHERE id = '20000000-0000-4000-8000-000000000001'")" \
    "without TEMPORARY intents and cascades are applied"
assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM tv_comment WHERE data->>'postId' = '20000000-0000-4000-8000-000000000001' AND data->'post'->>'title' <> 'built twice'")" \
    "... the post's comments embed the new title (cascade)"
cdc_stop
assert_eq "0" "$CDC_STATUS" "SIGTERM exits 0 (role without TEMPORARY)"
pgcluster_psql -c "GRANT TEMPORARY ON DATABASE \"$database\" TO PUBLIC" >/dev/null
# While a session setup waits on a database that accepts connections and never answers,
# the event loop still serves /health and takes SIGTERM (setup runs on its own thread).
W=$PGCLUSTER_DIR
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
held = []
s.settimeout(1)
end = time.time() + 60
while time.time() < end:
    try:
        held.append(s.accept()[0])
    except socket.timeout:
        pass
' >"$W/blackhole.port" &
blackhole=$!
wait_for 10 test -s "$W/blackhole.port"
"$TVSYNC_BUILDDIR/cdc/tvsync-cdc" --database "postgresql://postgres@127.0.0.1:$(cat "$W/blackhole.port")/x" \
    --metrics-listen 127.0.0.1:0 --set database.connect_timeout=4s >"$W/hang.log" 2>&1 &
hang=$!
wait_for 10 grep -q "metrics on" "$W/hang.log"
mport=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$W/hang.log")
sleep 0.5
code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/health")
assert_eq "503" "$code" "/health answers (503) while the session setup waits on the database"
kill -TERM "$hang"
wait "$hang"
assert_eq "0" "$?" "SIGTERM during the session setup exits 0"
kill "$blackhole" 2>/dev/null
wait "$blackhole" 2>/dev/null

test_summary
