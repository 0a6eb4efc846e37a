#!/bin/bash
# bench/server/compare.sh: two tvsync-server binaries on one stack (cluster, seed, slot,
# tvsync-cdc): post(id) under wrk (-t2 -c32 -d5s), 3 interleaved rounds each, then the
# system calls and CPU time per request of each (perf stat on syscalls:sys_enter_* and
# task-clock over a whole wrk run, divided by wrk's request count; needs perf and
# tracepoint access).
# Usage: OLD_BIN=/path/to/old/tvsync-server bench/server/compare.sh  (from a built tree;
# NEW_BIN defaults to this tree's server/tvsync-server)
set -u
here=$(cd "$(dirname "$0")" && pwd)
export TVSYNC_SRCDIR=${TVSYNC_SRCDIR:-$(cd "$here/../.." && pwd)}
export TVSYNC_BUILDDIR=${TVSYNC_BUILDDIR:-$TVSYNC_SRCDIR}
OLD=${OLD_BIN:?set OLD_BIN to the tvsync-server to compare against}
NEW=${NEW_BIN:-$TVSYNC_BUILDDIR/server/tvsync-server}
for tool in wrk perf curl; do
    command -v "$tool" >/dev/null || { echo "compare.sh needs $tool" >&2; exit 1; }
done
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"
pgcluster_start "max_connections = 200" "shared_buffers = 256MB" "synchronous_commit = on"
pgcluster_on_exit server_lib_cleanup
pgcluster_on_exit '[ -n "${CDC_PID:-}" ] && kill "$CDC_PID" 2>/dev/null && wait "$CDC_PID" 2>/dev/null'
pgcluster_on_exit '[ -n "${OLD_PID:-}" ] && kill "$OLD_PID" 2>/dev/null && wait "$OLD_PID" 2>/dev/null'
pgcluster_migrate >/dev/null 2>&1 || { echo "migrate failed" >&2; exit 1; }
"$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$TVSYNC_DATABASE_URL" seed "$TVSYNC_SRCDIR/examples/blog/seed.sql" >/dev/null 2>&1
"$TVSYNC_BUILDDIR/slot/tvsync-slot" --database "$TVSYNC_DATABASE_URL" create >/dev/null 2>&1 || { echo "slot failed" >&2; exit 1; }
"$TVSYNC_BUILDDIR/cdc/tvsync-cdc" --database "$TVSYNC_DATABASE_URL" --metrics-listen 127.0.0.1:0 >/dev/null 2>&1 &
CDC_PID=$!
SERVER_BIN=$OLD
server_start --log-level info --set server.pool_size=8 --set server.max_connections=4096 || exit 1
OLD_PID=$SERVER_PID OLD_URL=$SERVER_URL OLD_BASE=$SERVER_BASE
SERVER_BIN=$NEW
server_start --log-level info --set server.pool_size=8 --set server.max_connections=4096 || exit 1
NEW_PID=$SERVER_PID NEW_URL=$SERVER_URL NEW_BASE=$SERVER_BASE
echo "old: $OLD (pid $OLD_PID)"
echo "new: $NEW (pid $NEW_PID)"
PERF_OUT=$(mktemp /tmp/tvsync-compare-perf.XXXXXX)
pgcluster_on_exit 'rm -f "$PERF_OUT"'
for u in $OLD_URL $NEW_URL; do wrk -t2 -c32 -d2s -s "$here/post_query.lua" "$u" >/dev/null; done
rps() { sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.]*\)/\1/p' <<<"$1"; }
for round in 1 2 3; do
    for which in old new; do
        if [ $which = old ]; then u=$OLD_URL; else u=$NEW_URL; fi
        out=$(wrk -t2 -c32 -d5s --latency -s "$here/post_query.lua" "$u")
        echo "round $round $which rps $(rps "$out") p50 $(awk '$1=="50%"{print $2}' <<<"$out") p99 $(awk '$1=="99%"{print $2}' <<<"$out") errors: $(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ')"
    done
done
# syscalls per request: perf over a whole 5 s wrk run, divided by wrk's request count
for round in 1 2; do
for which in old new; do
    if [ $which = old ]; then u=$OLD_URL; b=$OLD_BASE; p=$OLD_PID; else u=$NEW_URL; b=$NEW_BASE; p=$NEW_PID; fi
    perf stat -x, -e task-clock -e 'syscalls:sys_enter_*' -p "$p" -- sleep 5.6 2>$PERF_OUT &
    PERF=$!
    sleep 0.3
    out=$(wrk -t2 -c32 -d5s -s "$here/post_query.lua" "$u")
    wait $PERF
    n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
    echo "== $which round $round: $n requests (wrk), $(rps "$out") req/s"
    awk -F, -v n="$n" '$3 == "task-clock" { printf "  server CPU (task-clock) %.1f us/request\n", $1 * 1000 / n }' $PERF_OUT
    awk -F, -v n="$n" '$1 ~ /^[0-9]+$/ && $1 > 0 && $3 != "task-clock" { printf "  %-32s %10d  %6.3f/request\n", $3, $1, $1 / n; t += $1 } END { printf "  %-32s %10d  %6.3f/request\n", "total", t, t / n }' $PERF_OUT | sort -k3 -n -r | head -12
done
done
kill $OLD_PID; wait $OLD_PID 2>/dev/null; OLD_PID=
