#!/bin/bash
# bench/server/run.sh: one run of the tvsync-server benchmark (issue 5), printed as a table:
# post(id) requests/s against pgbench reading tv_post directly (and PostGraphile v5 over
# tb_* when BENCH_POSTGRAPHILE=1 and npm can install it), latency at half the peak rate,
# and createComment with read-your-writes (tvsync-cdc applying the intents).
# Usage: bench/server/run.sh  (from a built tree; BENCH_DURATION=seconds, default 10)
# Every database client (tvsync-server, tvsync-cdc, pgbench, PostGraphile) connects over
# the cluster's Unix socket, as the services do on a database host with the default
# [database] url (libpq's defaults); BENCH_TRANSPORT=tcp connects over 127.0.0.1 instead.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export TVSYNC_SRCDIR=${TVSYNC_SRCDIR:-$(cd "$here/../.." && pwd)}
export TVSYNC_BUILDDIR=${TVSYNC_BUILDDIR:-$TVSYNC_SRCDIR}
DURATION=${BENCH_DURATION:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"
for tool in wrk jq; do
    command -v "$tool" >/dev/null || { echo "bench needs $tool (apt-get install $tool)" >&2; exit 1; }
done

pgcluster_start "max_connections = 200" "shared_buffers = 256MB" "synchronous_commit = on"
TRANSPORT=${BENCH_TRANSPORT:-unix}
case "$TRANSPORT" in
unix) export TVSYNC_DATABASE_URL="postgresql://postgres@/tvsync_test?host=$PGCLUSTER_DIR&port=$PGPORT" ;;
tcp) ;;
*) echo "BENCH_TRANSPORT is unix or tcp, not $TRANSPORT" >&2; exit 1 ;;
esac
pgcluster_on_exit server_lib_cleanup
pgcluster_on_exit '[ -n "${CDC_PID:-}" ] && kill "$CDC_PID" 2>/dev/null && wait "$CDC_PID" 2>/dev/null'
pgcluster_migrate >/dev/null 2>&1 || { echo "migrate failed" >&2; exit 1; }
"$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$TVSYNC_DATABASE_URL" \
    seed "$TVSYNC_SRCDIR/examples/blog/seed.sql" >/dev/null 2>&1
# The benchmark's blog (1,000 users, 10,000 posts, 100,000 comments): tvsync-slot create
# builds its read models from the slot's snapshot.
pgcluster_psql -d "$TVSYNC_DATABASE_URL" -f "$here/dataset.sql" >/dev/null ||
    { echo "loading bench/server/dataset.sql failed" >&2; exit 1; }
"$TVSYNC_BUILDDIR/slot/tvsync-slot" --database "$TVSYNC_DATABASE_URL" create >/dev/null 2>&1 ||
    { echo "tvsync-slot create failed" >&2; exit 1; }
# The tables as autovacuum leaves a bulk load a minute later, before the measuring starts
# rather than during it: statistics, hint bits and visibility maps (a user's comment count
# then reads the index, not each comment's page).
pgcluster_psql -d "$TVSYNC_DATABASE_URL" -c "VACUUM ANALYZE" >/dev/null ||
    { echo "VACUUM ANALYZE failed" >&2; exit 1; }
# ... and their pages in shared buffers, as on a server that has been running: VACUUM
# reads through a small ring of buffers, so without this the first round of writes reads
# the posts, comments and users it builds documents from one page at a time from the OS.
pgcluster_psql -d "$TVSYNC_DATABASE_URL" -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" \
    -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('public', 'tvsync') AND c.relkind IN ('r', 'i')" >/dev/null ||
    { echo "pg_prewarm failed" >&2; exit 1; }
CDC_LOG=$(mktemp /tmp/tvsync-bench-cdc.XXXXXX)
"$TVSYNC_BUILDDIR/cdc/tvsync-cdc" --database "$TVSYNC_DATABASE_URL" --metrics-listen 127.0.0.1:0 >"$CDC_LOG" 2>&1 &
CDC_PID=$!
server_start --log-level info --set server.pool_size=8 --set server.max_connections=4096 || exit 1

# wrk's summary in milliseconds: "Requests/sec:" and the --latency percentiles.
wrk_rps() { sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.]*\)/\1/p' <<<"$1"; }
wrk_ms() {  # $1 output, $2 percentile ("50%", "99%")
    awk -v p="$2" '$1 == p { v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v);
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000; printf "%.2f", v }' <<<"$1"
}

echo "warming up..."
wrk -t2 -c"$CONNECTIONS" -d2s -s "$here/post_query.lua" "$SERVER_URL" >/dev/null
check=$(curl -s -H 'Content-Type: application/json' --data-binary "$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$here/post_query.lua")" "$SERVER_URL")
case "$check" in *'"comments"'*) ;; *) echo "post(id) does not answer: $check" >&2; exit 1 ;; esac

# Throughput: ROUNDS interleaved rounds of tvsync-server and pgbench, each rate the
# median of its rounds, so a burst of other work on the machine hits both sides alike.
ROUNDS=${BENCH_ROUNDS:-3}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
server_rounds= pgbench_rounds=
for round in $(seq "$ROUNDS"); do
    peak=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$here/post_query.lua" "$SERVER_URL")
    server_rounds="$server_rounds $(wrk_rps "$peak")"
    pgbench_out=$("$PGCLUSTER_BINDIR/pgbench" -n -M prepared -c "$CONNECTIONS" -j 2 -T "$DURATION" \
        -f "$here/tv_post.sql" "$TVSYNC_DATABASE_URL" 2>&1)
    pgbench_rounds="$pgbench_rounds $(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$pgbench_out" | head -1)"
done
server_rps=$(tr ' ' '\n' <<<"$server_rounds" | grep . | median)
pgbench_tps=$(tr ' ' '\n' <<<"$pgbench_rounds" | grep . | median)

# Half the peak rate: each connection waits so that CONNECTIONS connections together send
# about server_rps / 2 requests per second.
delay=$(awk -v c="$CONNECTIONS" -v r="$server_rps" 'BEGIN { d = c * 1000 / (r / 2); printf "%d", d < 1 ? 1 : d }')
half=$(BENCH_DELAY_MS=$delay wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$here/post_query.lua" "$SERVER_URL")

# createComment on random posts of the dataset, as random users, one client: ROUNDS
# rounds, each percentile the median of its rounds (one round's p50 moves by a few tenths
# of a millisecond with whatever else the machine does).
# Each round also runs the same write opting out of the wait (BENCH_NO_WAIT=1: answered once
# committed), the baseline in this run for what read-your-writes adds: on a shared machine
# both move together with whatever else it does.
mutation_p50s= mutation_p99s= mutation_rps= mutation_errors=0 nowait_p50s=
# Warm-up, as for the reads: each connection's first use of the write path plans it.
wrk -t1 -c1 -d2s -s "$here/create_comment.lua" "$SERVER_URL" >/dev/null 2>&1
for round in $(seq "$ROUNDS"); do
    mutation=$(wrk -t1 -c1 -d"${DURATION}s" --latency -s "$here/create_comment.lua" "$SERVER_URL" 2>&1)
    mutation_errors=$((mutation_errors + $(grep -c "unexpected answer" <<<"$mutation")))
    mutation_p50s="$mutation_p50s $(wrk_ms "$mutation" 50%)"
    mutation_p99s="$mutation_p99s $(wrk_ms "$mutation" 99%)"
    mutation_rps="$mutation_rps $(wrk_rps "$mutation" | cut -d. -f1)"
    nowait=$(BENCH_NO_WAIT=1 wrk -t1 -c1 -d"${DURATION}s" --latency -s "$here/create_comment.lua" "$SERVER_URL" 2>&1)
    mutation_errors=$((mutation_errors + $(grep -c "unexpected answer" <<<"$nowait")))
    nowait_p50s="$nowait_p50s $(wrk_ms "$nowait" 50%)"
    # Until tvsync-cdc has applied what that round wrote: one write that waits for it (a
    # backlog would otherwise lengthen the next round's waits).
    for attempt in $(seq 30); do
        caught_up=$(curl -s -H 'Content-Type: application/json' --data-binary \
            '{"query":"mutation { createComment(postId: \"50000000-0000-4000-8000-000000000001\", authorId: \"40000000-0000-4000-8000-000000000001\", content: \"bench\") { id } }"}' \
            "$SERVER_URL")
        case "$caught_up" in *'"errors"'*) ;; *) break ;; esac
    done
    case "$caught_up" in
    *'"errors"'*) echo "warning: tvsync-cdc did not catch up after the no-wait round: $caught_up" >&2 ;;
    esac
done

postgraphile_rps=
if [ "${BENCH_POSTGRAPHILE:-0}" = 1 ]; then
    postgraphile_rps=$("$here/postgraphile.sh" "$DURATION" "$CONNECTIONS" 2>/dev/null | tail -1)
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
printf '\ndatabase connections: %s\n' "$([ "$TRANSPORT" = unix ] && echo "Unix socket" || echo "TCP, 127.0.0.1")"
printf '%-58s %12s %10s\n' "measure" "value" "target"
printf '%-58s %12.0f %10s\n' "tvsync-server post(id) requests/s ($CONNECTIONS connections)" "$server_rps" ""
printf '%-58s %12.0f %10s\n' "pgbench SELECT data FROM tv_post WHERE id = ... tps" "$pgbench_tps" ""
printf '%-58s %12s %10s\n' "  ratio tvsync-server / pgbench (median of $ROUNDS rounds each)" "$(ratio "$server_rps" "$pgbench_tps")" ">= 0.6x"
printf '%-58s %12s %10s\n' "  rounds: tvsync-server" "$(echo $server_rounds | tr ' ' '/' | sed 's/\.[0-9]*//g')" ""
printf '%-58s %12s %10s\n' "  rounds: pgbench" "$(echo $pgbench_rounds | tr ' ' '/' | sed 's/\.[0-9]*//g')" ""
if [ -n "$postgraphile_rps" ]; then
    printf '%-58s %12.0f %10s\n' "PostGraphile v5 same question over tb_* requests/s" "$postgraphile_rps" ""
    printf '%-58s %12s %10s\n' "  ratio tvsync-server / PostGraphile" "$(ratio "$server_rps" "$postgraphile_rps")" ">= 8x"
else
    printf '%-58s %12s %10s\n' "PostGraphile v5 (BENCH_POSTGRAPHILE=1 to include)" "not run" ">= 8x"
fi
printf '%-58s %12s %10s\n' "post(id) p50 ms at half peak ($(wrk_rps "$half" | cut -d. -f1) req/s)" "$(wrk_ms "$half" 50%)" ""
printf '%-58s %12s %10s\n' "post(id) p99 ms at half peak" "$(wrk_ms "$half" 99%)" ""
mutation_p50=$(tr ' ' '\n' <<<"$mutation_p50s" | grep . | median)
nowait_p50=$(tr ' ' '\n' <<<"$nowait_p50s" | grep . | median)
printf '%-58s %12s %10s\n' "createComment + read-your-writes p50 ms (1 client)" "$mutation_p50" "<= 3 ms"
printf '%-58s %12s %10s\n' "  rounds: p50 ms" "$(echo $mutation_p50s | tr ' ' '/')" ""
printf '%-58s %12s %10s\n' "createComment without waiting (baseline) p50 ms" "$nowait_p50" ""
printf '%-58s %12s %10s\n' "  rounds: p50 ms" "$(echo $nowait_p50s | tr ' ' '/')" ""
printf '%-58s %12s %10s\n' "  read-your-writes adds, ms (ratio)" \
    "$(awk -v a="$mutation_p50" -v b="$nowait_p50" 'BEGIN { printf "%.2f (%.2fx)", a - b, (b > 0 ? a / b : 0) }')" ""
printf '%-58s %12s %10s\n' "createComment + read-your-writes p99 ms" "$(tr ' ' '\n' <<<"$mutation_p99s" | grep . | median)" ""
printf '%-58s %12s %10s\n' "createComment requests/s (1 client), failed answers" \
    "$(echo $mutation_rps | tr ' ' '/'), $mutation_errors" ""
sync_sum=$(curl -s "$SERVER_BASE/metrics" | sed -n 's/^tvsync_server_sync_wait_seconds_sum //p')
sync_count=$(curl -s "$SERVER_BASE/metrics" | sed -n 's/^tvsync_server_sync_wait_seconds_count //p')
printf '%-58s %12s %10s\n' "  of which waiting for tvsync-cdc, mean ms" "$(awk -v s="$sync_sum" -v c="$sync_count" 'BEGIN { if (c > 0) printf "%.2f", s * 1000 / c }')" ""
rm -f "$CDC_LOG"
