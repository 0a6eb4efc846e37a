#!/bin/bash
# server_frozen.sh: a database that stops answering (every process of the cluster stopped
# with SIGSTOP) gets DATABASE_TIMEOUT answers within server.request_deadline, both daemons'
# /health say so, all recovers after SIGCONT; client errors never show database details.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"

pgcluster_start || { echo "starting PostgreSQL failed"; exit 1; }
pgcluster_on_exit server_lib_cleanup
# A failed assertion must not leave a stopped cluster that pg_ctl stop waits for forever.
pgcluster_on_exit 'thaw'
pgcluster_on_exit '[ -n "${CDC_PID:-}" ] && kill "$CDC_PID" 2>/dev/null && wait "$CDC_PID" 2>/dev/null; rm -f "${CDC_LOG:-}"'
migrate() {
    "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$TVSYNC_DATABASE_URL" --dir "$TVSYNC_SRCDIR/examples/blog" "$@"
}
migrate up >/dev/null 2>&1 || { echo "migrate failed"; exit 1; }
migrate seed "$TVSYNC_SRCDIR/examples/blog/seed.sql" >/dev/null 2>&1 || { echo "seed failed"; exit 1; }
"$TVSYNC_BUILDDIR/slot/tvsync-slot" --database "$TVSYNC_DATABASE_URL" create >/dev/null 2>&1 || { echo "slot create failed"; exit 1; }
CDC_LOG=$(mktemp /tmp/tvsync-cdc-log.XXXXXX)
"$TVSYNC_BUILDDIR/cdc/tvsync-cdc" --database "$TVSYNC_DATABASE_URL" --metrics-listen 127.0.0.1:0 >"$CDC_LOG" 2>&1 &
CDC_PID=$!
wait_for 30 grep -q "streaming slot" "$CDC_LOG" || { cat "$CDC_LOG"; echo "tvsync-cdc did not stream"; exit 1; }
CDC_HEALTH="http://127.0.0.1:$(sed -n 's/.*metrics on .*(port \([0-9]*\)).*/\1/p' "$CDC_LOG" | head -n1)/health"
DEADLINE_S=2
server_start --set server.threads=1 --set server.pool_size=3 --set server.request_deadline=${DEADLINE_S}s \
    --set server.statement_timeout=1500ms --set server.sync_wait_timeout_ms=3000 || { echo "server did not start"; exit 1; }
PORT=$(grep '^port' "$PGCLUSTER_DIR/data/postgresql.conf" | grep -o '[0-9]*' | head -1)

status_of() { curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$1"; }
cluster_pids() {
    local postmaster
    postmaster=$(head -1 "$PGCLUSTER_DIR/data/postmaster.pid")
    echo "$postmaster" $(pgrep -P "$postmaster")
}
freeze() { kill -STOP $(cluster_pids); }
thaw() { [ -f "$PGCLUSTER_DIR/data/postmaster.pid" ] && kill -CONT $(cluster_pids) 2>/dev/null; true; }
# The answer must not tell a client where the database runs or what it said.
assert_no_database_details() {
    assert_not_contains "$1" "$PORT" "$2: the answer does not show the database port"
    assert_not_contains "$1" "PGSQL" "$2: the answer does not show the socket path"
    assert_not_contains "$1" "connection to server" "$2: the answer does not show libpq's message"
    assert_not_contains "$1" "SQLSTATE" "$2: the answer does not show a SQLSTATE"
}

assert_eq 200 "$(status_of "$SERVER_BASE/health")" "tvsync-server /health is 200 before the freeze"
wait_for 10 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $CDC_HEALTH)\" = 200 ]"
assert_eq 0 $? "tvsync-cdc /health is 200 before the freeze"
assert_contains "$(gql_query '{ users(where: {username: {eq: "bob"}}) { username } }')" '"bob"' "queries work before the freeze"

# ---------------------------------------------------------------- statement_timeout
# A lock held longer than server.statement_timeout: PostgreSQL cancels the read.
pgcluster_psql -c "BEGIN; LOCK TABLE tv_user IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(5); COMMIT" >/dev/null &
LOCKER=$!
lock_held() {
    [ "$(pgcluster_psql -c "SELECT count(*) FROM pg_locks WHERE relation = 'tv_user'::regclass
                             AND mode = 'AccessExclusiveLock' AND granted")" = 1 ]
}
wait_for 10 lock_held || echo "the lock was not taken" >&2
out=$(gql '{"query":"{ users { id } }"}' -H 'X-Request-Id: locked-1')
wait $LOCKER
assert_eq DATABASE_TIMEOUT "$(jq -r '.errors[0].extensions.code' <<<"$out")" "a read longer than server.statement_timeout is canceled: DATABASE_TIMEOUT ($out)"
assert_contains "$out" "within 1.5 s (server.statement_timeout)" "the canceled read says which limit it hit"
assert_no_database_details "$out" "canceled read"

# ---------------------------------------------------------------- frozen
freeze
frozen_at=$(date +%s.%N)
answer_timed() {  # answer_timed FILE BODY: the answer in FILE, the seconds it took in FILE.time
    curl -s --max-time 60 -H 'Content-Type: application/json' -o "$1" -w '%{time_total}' --data-binary "$2" \
        "$SERVER_URL" >"$1.time"
}
TMP=$(mktemp -d /tmp/tvsync-frozen.XXXXXX)
pgcluster_on_exit 'rm -rf "$TMP"'
answer_timed "$TMP/mutation" '{"query":"mutation { createUser(username: \"frozen\", email: \"frozen@example.com\") { id } second: createUser(username: \"frozen2\", email: \"frozen2@example.com\") { id } }"}' &
m=$!
answer_timed "$TMP/query" '{"query":"{ users { id } }"}' &
q=$!
wait $m $q
out=$(cat "$TMP/query")
assert_eq DATABASE_TIMEOUT "$(jq -r '.errors[0].extensions.code' <<<"$out")" "frozen: a query gets DATABASE_TIMEOUT ($out)"
assert_contains "$out" "did not answer within $DEADLINE_S.0 s" "frozen: the query's error says how long it waited"
assert_eq 1 "$(awk -v t="$(cat "$TMP/query.time")" -v d=$DEADLINE_S 'BEGIN { print (t < 5 * d) ? 1 : 0 }')" \
    "frozen: the query is answered near the deadline, not when the database wakes ($(cat "$TMP/query.time")s)"
assert_no_database_details "$out" "frozen query"
out=$(cat "$TMP/mutation")
assert_eq DATABASE_TIMEOUT "$(jq -r '.errors[0].extensions.code' <<<"$out")" "frozen: a mutation gets DATABASE_TIMEOUT ($out)"
# Sent before the freeze took its connection, its outcome is unknown; still waiting for a
# connection at the deadline (the query may hold the others), it never ran. Either way the
# error says which.
told=$(grep -qE 'may have committed|was not sent: nothing was written' <<<"$out" && echo yes || echo no)
assert_eq yes "$told" "frozen: the mutation's error says what became of it ($out)"
assert_eq DATABASE_TIMEOUT "$(jq -r '.errors[1].extensions.code' <<<"$out")" "frozen: the next mutation field is not started past the deadline"
assert_contains "$(jq -r '.errors[1].message' <<<"$out")" "Not run" "frozen: the next mutation field says it did not run"
assert_eq 1 "$(awk -v t="$(cat "$TMP/mutation.time")" -v d=$DEADLINE_S 'BEGIN { print (t < 5 * d) ? 1 : 0 }')" \
    "frozen: the mutation is answered near the deadline ($(cat "$TMP/mutation.time")s)"
assert_no_database_details "$out" "frozen mutation"

wait_for 20 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $SERVER_BASE/health)\" = 503 ]"
assert_eq 0 $? "frozen: tvsync-server /health is 503"
server_seen=$(awk -v a="$frozen_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
out=$(curl -s "$SERVER_BASE/health")
assert_contains "$out" '"database":"not answering"' "frozen: tvsync-server /health says the database does not answer"
assert_no_database_details "$out" "frozen /health"
wait_for 20 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $CDC_HEALTH)\" = 503 ]"
assert_eq 0 $? "frozen: tvsync-cdc /health is 503"
cdc_seen=$(awk -v a="$frozen_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
assert_contains "$(curl -s "$CDC_HEALTH")" "database not answering" "frozen: tvsync-cdc /health says why"
echo "    (frozen database noticed by /health after ${server_seen}s (tvsync-server), ${cdc_seen}s (tvsync-cdc))"

# ---------------------------------------------------------------- thawed
thaw
wait_for 30 server_healthy
assert_eq 0 $? "thawed: tvsync-server /health is 200 again by itself"
wait_for 30 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $CDC_HEALTH)\" = 200 ]"
assert_eq 0 $? "thawed: tvsync-cdc /health is 200 again by itself"
wait_for 30 sh -c "curl -s -H 'Content-Type: application/json' -d '{\"query\":\"{ users(where: {username: {eq: \\\"bob\\\"}}) { username } }\"}' $SERVER_URL | grep -q '\"bob\"'"
assert_eq 0 $? "thawed: queries work again without a restart"
echo "    (the mutation that timed out committed after all: $(pgcluster_psql -c "SELECT count(*) FROM tb_user WHERE username = 'frozen'") row)"

# ---------------------------------------------------------------- errors from PostgreSQL
pgcluster_psql -c "ALTER TABLE tv_user RENAME TO tv_user_away"
out=$(gql '{"query":"{ users { id } }"}' -H 'X-Request-Id: missing-table-1')
assert_eq DATABASE_ERROR "$(jq -r '.errors[0].extensions.code' <<<"$out")" "a statement error is DATABASE_ERROR"
assert_eq "database error; see the server log, request id missing-table-1" "$(jq -r '.errors[0].message' <<<"$out")" \
    "a statement error reaches the client as a generic message with the request id"
assert_not_contains "$out" "tv_user" "a statement error does not show PostgreSQL's message"
assert_no_database_details "$out" "statement error"
assert_contains "$(grep 'missing-table-1' "$SERVER_LOG")" 'tv_user" does not exist' \
    "the server log has PostgreSQL's message with the request id"
pgcluster_psql -c "ALTER TABLE tv_user_away RENAME TO tv_user"

# ---------------------------------------------------------------- no database
pgcluster_stop
wait_for 30 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $SERVER_BASE/health)\" = 503 ]"
out=$(curl -s "$SERVER_BASE/health")
assert_no_database_details "$out" "database stopped: /health"
out=$(gql '{"query":"{ users { id } }"}' -H 'X-Request-Id: stopped-1')
assert_eq DATABASE_UNAVAILABLE "$(jq -r '.errors[0].extensions.code' <<<"$out")" "database stopped: DATABASE_UNAVAILABLE"
assert_contains "$out" "stopped-1" "database stopped: the message gives the request id"
assert_no_database_details "$out" "database stopped"
assert_contains "$(grep 'stopped-1' "$SERVER_LOG")" "$PORT" "database stopped: the server log has libpq's message"

test_summary
