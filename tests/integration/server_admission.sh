#!/bin/bash
# server_admission.sh: tvsync-server at its connection limit and after a refused body:
# idle connections give their place to new clients, busy ones make new clients get 503
# with Retry-After (one summary line in the log, counted in /metrics), running out of
# file descriptors refuses instead of hanging, and a client that writes a 10 MiB body
# before reading (a Python socket, Node's fetch) gets its 413 every time (lingering close).
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"

CLIENT="$TVSYNC_SRCDIR/tests/integration/server_admission.py"
HOLD_OUT=$(mktemp /tmp/tvsync-admission.XXXXXX)
pgcluster_on_exit 'rm -f "$HOLD_OUT"'
server_database_start

port_of() { echo "${SERVER_BASE##*:}"; }
status_of() { curl -s -m 5 -o /dev/null -w '%{http_code}' "$@"; }
metric() { curl -s "$SERVER_BASE/metrics" | awk -v name="$1" '$1 == name { print $2 }'; }

# hold MODE N: python holds N connections of that kind on fd 9 (closing fd 9 lets them go).
hold() {
    : >"$HOLD_OUT"
    exec 9> >(exec python3 "$CLIENT" "$1" "$(port_of)" "$2" >"$HOLD_OUT" 2>&1)
    wait_for 60 grep -q ready "$HOLD_OUT" || { echo "the client did not get ready:"; cat "$HOLD_OUT"; }
}
release() { exec 9>&-; }

# ---------------------------------------------------------------- idle connections give way
# 1,200 idle keep-alive connections against the default limit (1,024, two workers): a new
# client is still answered, in place of the least recently used idle connection.
server_start --set server.threads=2 || { echo "server did not start"; exit 1; }
hold idle 1200
assert_contains "$(cat "$HOLD_OUT")" "HTTP/1.1_200_OK=1200" "1,200 keep-alive clients in a row are all answered"
assert_eq 200 "$(status_of "$SERVER_BASE/health")" "with 1,200 idle connections open a new client gets 200"
closed=$(metric tvsync_server_idle_connections_closed_total)
if [ "${closed:-0}" -ge 176 ]; then
    assert_pass "idle connections closed to admit new ones are counted ($closed)"
else
    assert_fail "idle connections closed to admit new ones are counted ($closed, want >= 176)"
fi
refused=$(metric tvsync_server_connections_refused_total)
assert_eq 0 "${refused:-0}" "no client was refused"
release
server_stop

# ---------------------------------------------------------------- busy connections: 503
# Four connections in the middle of a request fill a limit of 4 (over both workers): the
# next clients get 503 with Retry-After at once, logged as one line, counted in /metrics.
server_start --set server.threads=2 --set server.max_connections=4 --set server.request_timeout_ms=60000 \
    || { echo "limited server did not start"; exit 1; }
hold busy 4
headers=$(curl -s -m 5 -D - -o /dev/null "$SERVER_BASE/health")
assert_contains "$headers" "HTTP/1.1 503 Service Unavailable" "a client over the limit gets 503"
assert_contains "$headers" "Retry-After: 1" "with Retry-After"
body=$(curl -s -m 5 "$SERVER_BASE/health")
assert_contains "$body" "server.max_connections" "the answer says which limit, and to retry"
refused=2
for i in $(seq 28); do
    [ "$(status_of "$SERVER_BASE/health")" = 503 ] && refused=$((refused + 1))
done
assert_eq 30 "$refused" "30 clients over the limit all get 503"
wait_for 15 grep -q "refused 30 connections over server.max_connections (4)" "$SERVER_LOG"
assert_eq 0 $? "the burst is logged as one summary line"
assert_eq 1 "$(grep -c "refused .* connections" "$SERVER_LOG")" "one line, not one per connection"
release
wait_for 10 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $SERVER_BASE/health)\" = 200 ]"
assert_eq 0 $? "the busy connections gone, clients are admitted again"
assert_eq 30 "$(metric tvsync_server_connections_refused_total)" "refused connections are counted in /metrics"
server_stop

# ---------------------------------------------------------------- out of file descriptors
# A descriptor limit far below server.max_connections: a warning at start, and clients past
# the limit get 503 (a reserve descriptor accepts them) instead of waiting forever.
SERVER_BIN_REAL=$SERVER_BIN
LOW_NOFILE=$(mktemp /tmp/tvsync-low-nofile.XXXXXX)
pgcluster_on_exit 'rm -f "$LOW_NOFILE"'
printf '#!/bin/sh\nulimit -n 200\nexec "%s" "$@"\n' "$SERVER_BIN_REAL" >"$LOW_NOFILE"
chmod +x "$LOW_NOFILE"
SERVER_BIN=$LOW_NOFILE
server_start --set server.threads=1 --set server.pool_size=2 --set server.request_timeout_ms=60000 \
    || { echo "server with 200 descriptors did not start"; exit 1; }
SERVER_BIN=$SERVER_BIN_REAL
assert_contains "$(cat "$SERVER_LOG")" "file descriptors but this process may open 200" \
    "a descriptor limit too low for server.max_connections is said at start"
hold raw 250
refused=$(awk '/^ready/ { print $2 }' "$HOLD_OUT")
if [ "${refused:-0}" -gt 0 ]; then
    assert_pass "clients past the descriptor limit get 503 at once ($refused of 250)"
else
    assert_fail "clients past the descriptor limit get 503 at once (none of 250 did)"
fi
assert_eq 503 "$(status_of "$SERVER_BASE/health")" "out of descriptors, a new client gets 503 at once"
wait_for 15 grep -q "ran out of file descriptors" "$SERVER_LOG"
assert_eq 0 $? "running out of descriptors is logged (summary line)"
release
wait_for 10 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $SERVER_BASE/health)\" = 200 ]"
assert_eq 0 $? "the connections gone, clients are served again"
server_stop

# ---------------------------------------------------------------- 413 after a whole body
# A 10 MiB POST against the 1 MiB limit, written in full before the client reads: the
# server keeps reading and discarding after its 413 instead of resetting the writer.
server_start --set server.threads=2 --set server.max_body_bytes=1MB || { echo "server did not start"; exit 1; }
answers=$(python3 "$CLIENT" big "$(port_of)" 20 10)
assert_eq 20 "$(grep -c "^HTTP/1.1 413 " <<<"$answers")" "20 clients writing 10 MiB before reading all get 413"
grep -v "^HTTP/1.1 413 " <<<"$answers" | sort | uniq -c | sed 's/^/    /'
if command -v node >/dev/null; then
    answers=$(node "$TVSYNC_SRCDIR/tests/integration/server_admission_fetch.mjs" "$SERVER_URL" 20 10)
    assert_eq 20 "$(grep -c "^413$" <<<"$answers")" "20 POSTs of 10 MiB with Node's fetch all get 413"
    grep -v "^413$" <<<"$answers" | sort | uniq -c | sed 's/^/    /'
else
    echo "    (node not found: the fetch client is skipped)"
fi
assert_eq 200 "$(status_of "$SERVER_BASE/health")" "the server still answers"
server_stop

test_summary
