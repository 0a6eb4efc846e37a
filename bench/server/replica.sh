#!/bin/bash
# bench/server/replica.sh: reads through tvsync-server against the primary alone vs the primary
# plus one streaming hot standby ([server] replica_urls), in the same run, and what a
# read-your-writes token (X-Tvsync-Min-Lsn) adds to a read that follows its mutation.
# Usage: bench/server/replica.sh  (from a built tree; BENCH_DURATION=seconds, default 10;
# BENCH_ROUNDS, default 3; BENCH_PAIRS mutation-then-read pairs, default 300). Not a test.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export TVSYNC_SRCDIR=${TVSYNC_SRCDIR:-$(cd "$here/../.." && pwd)}
export TVSYNC_BUILDDIR=${TVSYNC_BUILDDIR:-$TVSYNC_SRCDIR}
DURATION=${BENCH_DURATION:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
ROUNDS=${BENCH_ROUNDS:-3}
PAIRS=${BENCH_PAIRS:-300}
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"
for tool in wrk jq curl; do
    command -v "$tool" >/dev/null || { echo "bench needs $tool (apt-get install $tool)" >&2; exit 1; }
done

pgcluster_start "max_connections = 200" "shared_buffers = 256MB" || exit 1
pgcluster_on_exit server_lib_cleanup
pgcluster_standby_start "max_connections = 200" "shared_buffers = 256MB" || exit 1
# tvsync's programs read TVSYNC_<SECTION>_<KEY> variables and refuse unknown ones.
STANDBY_URL=$PGCLUSTER_STANDBY_URL
pgcluster_on_exit '[ -n "${CDC_PID:-}" ] && kill "$CDC_PID" 2>/dev/null && wait "$CDC_PID" 2>/dev/null'
pgcluster_on_exit '[ -n "${SERVER2_PID:-}" ] && kill "$SERVER2_PID" 2>/dev/null'
pgcluster_migrate >/dev/null 2>&1 || { echo "migrate failed" >&2; exit 1; }
"$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$TVSYNC_DATABASE_URL" \
    seed "$TVSYNC_SRCDIR/examples/blog/seed.sql" >/dev/null 2>&1
pgcluster_psql -d "$TVSYNC_DATABASE_URL" -f "$here/dataset.sql" >/dev/null ||
    { echo "loading bench/server/dataset.sql failed" >&2; exit 1; }
"$TVSYNC_BUILDDIR/slot/tvsync-slot" --database "$TVSYNC_DATABASE_URL" create >/dev/null 2>&1 ||
    { echo "tvsync-slot create failed" >&2; exit 1; }
pgcluster_psql -d "$TVSYNC_DATABASE_URL" -c "VACUUM ANALYZE" >/dev/null
CDC_LOG=$(mktemp /tmp/tvsync-bench-cdc.XXXXXX)
"$TVSYNC_BUILDDIR/cdc/tvsync-cdc" --database "$TVSYNC_DATABASE_URL" --metrics-listen 127.0.0.1:0 >"$CDC_LOG" 2>&1 &
CDC_PID=$!
pgcluster_standby_wait_replay

# Two servers on one run: the primary alone, and the primary plus the standby.
server_start --log-level info --set server.pool_size=8 --set server.max_connections=4096 || exit 1
PRIMARY_URL=$SERVER_URL
PRIMARY_PID=$SERVER_PID
server_start --log-level info --set server.pool_size=8 --set server.max_connections=4096 \
    --set "server.replica_urls=$STANDBY_URL" --set server.replica_wait_timeout=2s || exit 1
REPLICA_URL=$SERVER_URL
REPLICA_BASE=$SERVER_BASE
SERVER2_PID=$PRIMARY_PID
wait_for 20 sh -c "curl -s '$REPLICA_BASE/health' | jq -e '.replicas[0].state == \"up\"'" ||
    { echo "the standby never came up" >&2; exit 1; }

wrk_rps() { sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.]*\)/\1/p' <<<"$1"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
percentile() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.5); if (i < 1) i = 1; printf "%.2f", v[i] }'; }

echo "warming up..."
wrk -t2 -c"$CONNECTIONS" -d2s -s "$here/post_query.lua" "$PRIMARY_URL" >/dev/null
wrk -t2 -c"$CONNECTIONS" -d2s -s "$here/post_query.lua" "$REPLICA_URL" >/dev/null
primary_rounds= replica_rounds=
for round in $(seq "$ROUNDS"); do
    primary_rounds="$primary_rounds $(wrk_rps "$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "$here/post_query.lua" "$PRIMARY_URL")")"
    replica_rounds="$replica_rounds $(wrk_rps "$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "$here/post_query.lua" "$REPLICA_URL")")"
done
reads_on_replica=$(curl -s "$REPLICA_BASE/metrics" | sed -n 's/^tvsync_server_reads_total{node="replica1"} \([0-9.e+]*\)$/\1/p')

# Mutation then the read of what it wrote, one client, through the server with the standby:
# the read with the mutation's token (it may wait for the standby's replay) vs the same read
# without (any replica that is up).
POST=50000000-0000-4000-8000-000000000001
AUTHOR=40000000-0000-4000-8000-000000000001
token_ms= plain_ms= token_on_replica=0
for i in $(seq "$PAIRS"); do
    headers=$(curl -s -o /dev/null -D - -H 'Content-Type: application/json' --data-binary \
        "{\"query\":\"mutation { createComment(postId: \\\"$POST\\\", authorId: \\\"$AUTHOR\\\", content: \\\"r$i\\\") { id } }\"}" \
        "$REPLICA_URL" | tr -d '\r')
    token=$(sed -n 's/^X-Tvsync-Lsn: //Ip' <<<"$headers")
    read=$(curl -s -o /dev/null -D - -w 'time %{time_total}\n' -H 'Content-Type: application/json' \
        -H "X-Tvsync-Min-Lsn: $token" --data-binary "{\"query\":\"{ post(id: \\\"$POST\\\") { commentCount } }\"}" \
        "$REPLICA_URL" | tr -d '\r')
    token_ms="$token_ms $(awk '/^time / { printf "%.3f", $2 * 1000 }' <<<"$read")"
    grep -qi '^X-Tvsync-Node: replica1' <<<"$read" && token_on_replica=$((token_on_replica + 1))
    headers=$(curl -s -o /dev/null -D - -H 'Content-Type: application/json' --data-binary \
        "{\"query\":\"mutation { createComment(postId: \\\"$POST\\\", authorId: \\\"$AUTHOR\\\", content: \\\"p$i\\\") { id } }\"}" \
        "$REPLICA_URL")
    plain_ms="$plain_ms $(curl -s -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' \
        --data-binary "{\"query\":\"{ post(id: \\\"$POST\\\") { commentCount } }\"}" "$REPLICA_URL" |
        awk '{ printf "%.3f", $1 * 1000 }')"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
primary_rps=$(tr ' ' '\n' <<<"$primary_rounds" | grep . | median)
replica_rps=$(tr ' ' '\n' <<<"$replica_rounds" | grep . | median)
printf '\n%-62s %12s\n' "measure (median of $ROUNDS rounds of ${DURATION}s, $CONNECTIONS connections)" "value"
printf '%-62s %12.0f\n' "post(id) requests/s, primary alone" "$primary_rps"
printf '%-62s %12.0f\n' "post(id) requests/s, primary + 1 standby (reads on the standby)" "$replica_rps"
printf '%-62s %12s\n' "  ratio standby / primary alone" "$(ratio "$replica_rps" "$primary_rps")"
printf '%-62s %12s\n' "  rounds: primary alone" "$(echo $primary_rounds | tr ' ' '/' | sed 's/\.[0-9]*//g')"
printf '%-62s %12s\n' "  rounds: with the standby" "$(echo $replica_rounds | tr ' ' '/' | sed 's/\.[0-9]*//g')"
printf '%-62s %12s\n' "  reads the standby answered (tvsync_server_reads_total)" "${reads_on_replica:-0}"
printf '%-62s %12s\n' "read after its mutation, with token: p50 ms ($PAIRS pairs)" "$(tr ' ' '\n' <<<"$token_ms" | grep . | percentile 50)"
printf '%-62s %12s\n' "read after its mutation, with token: p99 ms" "$(tr ' ' '\n' <<<"$token_ms" | grep . | percentile 99)"
printf '%-62s %12s\n' "read after its mutation, without token: p50 ms" "$(tr ' ' '\n' <<<"$plain_ms" | grep . | percentile 50)"
printf '%-62s %12s\n' "read after its mutation, without token: p99 ms" "$(tr ' ' '\n' <<<"$plain_ms" | grep . | percentile 99)"
printf '%-62s %12s\n' "  token reads answered by the standby" "$token_on_replica of $PAIRS"
