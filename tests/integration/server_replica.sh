#!/bin/bash
# server_replica.sh: queries from a streaming hot standby ([server] replica_urls) with the real
# tvsync-cdc: a read carrying a mutation's token (X-Tvsync-Min-Lsn) sees that write every time,
# under a concurrent write load, and is mostly answered by the standby; without a token reads go
# to a lagging standby until replica_max_lag, then to the primary; a stopped standby sends
# reads to the primary with no error until it is back; bad replica_urls and tokens are refused.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"

pgcluster_start || { echo "starting PostgreSQL failed"; exit 1; }
pgcluster_on_exit server_lib_cleanup
pgcluster_standby_start || { echo "starting the standby failed"; exit 1; }
# tvsync's programs read TVSYNC_<SECTION>_<KEY> variables and refuse unknown ones.
STANDBY_URL=$PGCLUSTER_STANDBY_URL
pgcluster_on_exit '[ -n "${CDC_PID:-}" ] && kill "$CDC_PID" 2>/dev/null && wait "$CDC_PID" 2>/dev/null; rm -f "${CDC_LOG:-}"'
pgcluster_on_exit '[ -n "${LOAD_PID:-}" ] && kill "$LOAD_PID" 2>/dev/null'
migrate() {
    "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$TVSYNC_DATABASE_URL" --dir "$TVSYNC_SRCDIR/examples/blog" "$@"
}
migrate up >"$PGCLUSTER_DIR/migrate.out" 2>&1 || { cat "$PGCLUSTER_DIR/migrate.out"; echo "migrate failed"; exit 1; }
migrate seed "$TVSYNC_SRCDIR/examples/blog/seed.sql" >/dev/null 2>&1 || { echo "seed failed"; exit 1; }
"$TVSYNC_BUILDDIR/slot/tvsync-slot" --database "$TVSYNC_DATABASE_URL" create >/dev/null 2>&1 || { echo "slot create failed"; exit 1; }
pgcluster_psql -c "CREATE TABLE public.noise (n int)" >/dev/null
CDC_LOG=$(mktemp /tmp/tvsync-cdc-log.XXXXXX)
"$TVSYNC_BUILDDIR/cdc/tvsync-cdc" --database "$TVSYNC_DATABASE_URL" --metrics-listen 127.0.0.1:0 >"$CDC_LOG" 2>&1 &
CDC_PID=$!

# --- (d) bad values ---------------------------------------------------------------------
assert_exit 3 "a conninfo string in replica_urls is refused" -- \
    "$SERVER_BIN" --database "$TVSYNC_DATABASE_URL" --schema "$SERVER_SCHEMA" --listen 127.0.0.1:0 \
    --set "server.replica_urls=host=127.0.0.1 port=$PGCLUSTER_STANDBY_PORT"
assert_contains "$ASSERT_OUTPUT" 'is not a postgresql:// URI' "the error says what the entry is not"
assert_contains "$ASSERT_OUTPUT" 'separated by spaces' "and how to write the list"
assert_exit 3 "a multi-host URI in replica_urls is refused" -- \
    "$SERVER_BIN" --database "$TVSYNC_DATABASE_URL" --schema "$SERVER_SCHEMA" --listen 127.0.0.1:0 \
    --set "server.replica_urls=postgresql://127.0.0.1:1,127.0.0.1:2/db"
assert_contains "$ASSERT_OUTPUT" 'names several hosts; give each standby its own URI' "the error says to list each standby"

server_start --set server.sync_wait_timeout_ms=10000 --set "server.replica_urls=$STANDBY_URL" \
    --set server.replica_max_lag=3s --set server.replica_wait_timeout=5s --set server.threads=2 \
    || { echo "server did not start"; exit 1; }
replica_state() {
    curl -s "$SERVER_BASE/health" | jq -r '.replicas[0].state'
}
replica_is() {
    [ "$(replica_state)" = "$1" ]
}
assert_exit 0 "the standby is seen up" -- wait_for 20 replica_is up

BOB=10000000-0000-4000-8000-000000000002
ALICE=10000000-0000-4000-8000-000000000001
# query_on NODE_FILE DOCUMENT [curl options]: the body; the answering node goes to NODE_FILE.
query_on() {
    local file=$1 document=$2
    shift 2
    gql "$(jq -cn --arg q "$document" '{query: $q}')" -D "$file" "$@"
}
header_of() {
    tr -d '\r' <"$1" | sed -n "s/^$2: //Ip" | head -1
}

# --- (a) a token's read sees its write, from the standby, under write load ---------------
( while :; do
      gql_query "mutation { updateUser(id: \"$ALICE\", username: \"alice$RANDOM\") { id } }" >/dev/null
      pgcluster_psql -c "INSERT INTO public.noise SELECT generate_series(1, 100)" >/dev/null 2>&1
  done ) &
LOAD_PID=$!
PAIRS=200
seen=0 on_replica=0 tokens=0 ext_tokens=0
for i in $(seq 1 $PAIRS); do
    out=$(query_on "$PGCLUSTER_DIR/m.h" "mutation { updateUser(id: \"$BOB\", username: \"bob$i\") { username } }")
    token=$(header_of "$PGCLUSTER_DIR/m.h" X-Tvsync-Lsn)
    [ -n "$token" ] && tokens=$((tokens + 1))
    [ "$(jq -r '.extensions.tvsync.lsn // empty' <<<"$out")" = "$token" ] && ext_tokens=$((ext_tokens + 1))
    out=$(query_on "$PGCLUSTER_DIR/q.h" "{ user(id: \"$BOB\") { username } }" -H "X-Tvsync-Min-Lsn: ${token:-0/0}")
    [ "$(jq -r '.data.user.username' <<<"$out")" = "bob$i" ] && seen=$((seen + 1))
    [ "$(header_of "$PGCLUSTER_DIR/q.h" X-Tvsync-Node)" = replica1 ] && on_replica=$((on_replica + 1))
done
kill "$LOAD_PID" 2>/dev/null
wait "$LOAD_PID" 2>/dev/null
LOAD_PID=
assert_eq $PAIRS "$tokens" "every mutation answered with an X-Tvsync-Lsn token"
assert_eq $PAIRS "$ext_tokens" "and with the same token in extensions.tvsync.lsn"
assert_eq $PAIRS "$seen" "every read with its mutation's token saw the write ($on_replica of $PAIRS on the standby)"
if [ "$on_replica" -gt $((PAIRS / 2)) ]; then
    assert_pass "most token reads were answered by the standby ($on_replica of $PAIRS)"
else
    assert_fail "most token reads were answered by the standby (only $on_replica of $PAIRS)"
fi
metrics=$(curl -s "$SERVER_BASE/metrics")
assert_contains "$metrics" 'tvsync_server_reads_total{node="replica1"}' "/metrics counts the reads the standby answered"
assert_contains "$metrics" 'tvsync_server_replica_state{replica="replica1",state="up"} 1' "/metrics shows the standby up"
assert_contains "$metrics" 'tvsync_server_replica_lag_seconds{replica="replica1"}' "/metrics shows its lag"
assert_contains "$metrics" 'tvsync_server_replica_token_waits_total{result="reached"}' "/metrics counts the tokens reached"
health=$(curl -s "$SERVER_BASE/health")
assert_eq '"replica1" "up"' "$(jq -c '.replicas[0].replica, .replicas[0].state' <<<"$health" | paste -sd' ')" \
    "/health lists the standby up"
assert_contains "$(jq -r '.replicas[0].replayed_lsn' <<<"$health")" '/' "/health shows the replayed origin progress"

# An idle primary does not make the standby lag: nothing is written for longer than max_lag.
sleep 4
assert_eq up "$(replica_state)" "after 4 s without writes (replica_max_lag 3 s) the standby is still up"

# --- (b) without a token reads are answered while the standby lags -----------------------
# A fresh replayed commit first: the standby measures its lag from its last replayed commit.
gql_query "mutation { updateUser(id: \"$BOB\", username: \"before\") { id } }" >/dev/null
pgcluster_standby_wait_replay
pgcluster_standby_psql -c "SELECT pg_wal_replay_pause()" >/dev/null
out=$(query_on "$PGCLUSTER_DIR/m.h" "mutation { updateUser(id: \"$BOB\", username: \"paused\") { username } }")
token=$(header_of "$PGCLUSTER_DIR/m.h" X-Tvsync-Lsn)
out=$(query_on "$PGCLUSTER_DIR/q.h" "{ user(id: \"$BOB\") { username } }")
assert_eq replica1 "$(header_of "$PGCLUSTER_DIR/q.h" X-Tvsync-Node)" \
    "a read without a token is answered by the paused standby (behind, within replica_max_lag)"
assert_eq before "$(jq -r '.data.user.username' <<<"$out")" "which shows the state before the write it has not replayed"
out=$(query_on "$PGCLUSTER_DIR/q.h" "{ user(id: \"$BOB\") { username } }" -H "X-Tvsync-Min-Lsn: $token")
assert_eq paused "$(jq -r '.data.user.username' <<<"$out")" "a read with the token sees the write though the standby is paused"
assert_eq primary "$(header_of "$PGCLUSTER_DIR/q.h" X-Tvsync-Node)" "the primary answered it after replica_wait_timeout"
# Writes keep coming: the standby's lag passes replica_max_lag.
( while :; do pgcluster_psql -c "SELECT tvsync.publish('user', ARRAY['$ALICE'])" >/dev/null 2>&1; sleep 0.2; done ) &
LOAD_PID=$!
assert_exit 0 "the paused standby becomes lagging past replica_max_lag" -- wait_for 20 replica_is lagging
out=$(query_on "$PGCLUSTER_DIR/q.h" "{ user(id: \"$BOB\") { username } }")
assert_eq '{"data":{"user":{"username":"paused"}}}' "$out" "a read without a token is answered, with no error"
assert_eq primary "$(header_of "$PGCLUSTER_DIR/q.h" X-Tvsync-Node)" "by the primary while the standby lags too much"
kill "$LOAD_PID" 2>/dev/null
wait "$LOAD_PID" 2>/dev/null
LOAD_PID=
pgcluster_standby_psql -c "SELECT pg_wal_replay_resume()" >/dev/null
assert_exit 0 "the resumed standby is up again" -- wait_for 20 replica_is up

# --- (c) a stopped standby: the primary answers, with no error; then the standby again ---
pgcluster_standby_stop
errors=0 primary=0
for i in $(seq 1 20); do
    out=$(query_on "$PGCLUSTER_DIR/q.h" "{ user(id: \"$BOB\") { username } }")
    [ "$out" = '{"data":{"user":{"username":"paused"}}}' ] || errors=$((errors + 1))
    [ "$(header_of "$PGCLUSTER_DIR/q.h" X-Tvsync-Node)" = primary ] && primary=$((primary + 1))
done
assert_eq 0 "$errors" "reads right after the standby stopped are answered without error"
assert_eq 20 "$primary" "by the primary"
assert_exit 0 "/health shows the stopped standby down" -- wait_for 10 replica_is down
health_status=$(curl -s -o /dev/null -w '%{http_code}' "$SERVER_BASE/health")
assert_eq 200 "$health_status" "a replica down does not make the server unhealthy"
pgcluster_standby_restart
assert_exit 0 "the restarted standby is up again" -- wait_for 30 replica_is up
query_on "$PGCLUSTER_DIR/q.h" "{ user(id: \"$BOB\") { username } }" >/dev/null
assert_eq replica1 "$(header_of "$PGCLUSTER_DIR/q.h" X-Tvsync-Node)" "and answers reads again"

# --- (e) a read the standby cancels by statement_timeout is not run again on the primary:
# that would cost the request its limits twice over. A lock taken on the primary is replayed
# on the standby and blocks the read there.
server_stop
server_start --set "server.replica_urls=$STANDBY_URL" --set server.statement_timeout=500ms \
    || { echo "server did not start"; exit 1; }
assert_exit 0 "the standby is up for the lock test" -- wait_for 20 replica_is up
pgcluster_psql -c "BEGIN; LOCK TABLE tv_user IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT" >/dev/null 2>&1 &
LOCK_PID=$!
standby_locked() {
    # A commit flushes the WAL, the lock's record with it, and so sends it to the standby.
    pgcluster_psql -c "SELECT txid_current()" >/dev/null
    [ "$(pgcluster_standby_psql -c "SELECT count(*) FROM pg_locks WHERE relation = 'tv_user'::regclass AND mode = 'AccessExclusiveLock'")" != 0 ]
}
assert_exit 0 "the standby replays the lock" -- wait_for 10 standby_locked
out=$(query_on "$PGCLUSTER_DIR/q.h" "{ user(id: \"$BOB\") { username } }")
assert_contains "$out" '"code":"DATABASE_TIMEOUT"' "a read canceled on the standby by statement_timeout answers DATABASE_TIMEOUT"
assert_eq replica1 "$(header_of "$PGCLUSTER_DIR/q.h" X-Tvsync-Node)" "from the standby: it is not run again on the primary"
wait "$LOCK_PID" 2>/dev/null

# --- (d) a malformed token ---------------------------------------------------------------
status=$(curl -s -o "$PGCLUSTER_DIR/bad.out" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H 'X-Tvsync-Min-Lsn: 12345' --data-binary '{"query":"{ __typename }"}' "$SERVER_URL")
assert_eq 400 "$status" "a malformed X-Tvsync-Min-Lsn is a 400"
assert_contains "$(cat "$PGCLUSTER_DIR/bad.out")" 'X-Tvsync-Min-Lsn: \"12345\" is not an LSN' "that names the header and the value"
server_stop

# Without replicas the header is accepted and harmless.
server_start || { echo "server did not start"; exit 1; }
out=$(query_on "$PGCLUSTER_DIR/q.h" "{ user(id: \"$BOB\") { username } }" -H "X-Tvsync-Min-Lsn: FF/0")
assert_eq '{"data":{"user":{"username":"paused"}}}' "$out" "without replicas a token is accepted and the primary answers"
assert_eq "" "$(header_of "$PGCLUSTER_DIR/q.h" X-Tvsync-Node)" "with no X-Tvsync-Node header"

test_summary
