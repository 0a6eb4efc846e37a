#!/bin/bash
# bench/server/compare_builds.sh: two whole builds of tvsync side by side in one cluster:
# each gets its own database (its own migrations, the benchmark's dataset, its own slot,
# tvsync-cdc and tvsync-server), then post(id) reads and createComment with
# read-your-writes run in interleaved rounds against both, so a slow phase of the machine
# hits both builds alike. For a change to the server and tvsync-cdc together (compare.sh
# compares two server binaries on one tvsync-cdc).
# Usage: OLD_BUILDDIR=/path/to/old/build bench/server/compare_builds.sh  (from a built tree;
# OLD_SRCDIR defaults to OLD_BUILDDIR, NEW_BUILDDIR to this tree; BENCH_DURATION seconds per
# round, default 5; BENCH_ROUNDS, default 3)
set -u
here=$(cd "$(dirname "$0")" && pwd)
export TVSYNC_SRCDIR=${TVSYNC_SRCDIR:-$(cd "$here/../.." && pwd)}
export TVSYNC_BUILDDIR=${TVSYNC_BUILDDIR:-$TVSYNC_SRCDIR}
OLD_BUILDDIR=${OLD_BUILDDIR:?set OLD_BUILDDIR to the build tree to compare against}
OLD_SRCDIR=${OLD_SRCDIR:-$OLD_BUILDDIR}
NEW_BUILDDIR=${NEW_BUILDDIR:-$TVSYNC_BUILDDIR}
NEW_SRCDIR=${NEW_SRCDIR:-$TVSYNC_SRCDIR}
DURATION=${BENCH_DURATION:-5}
ROUNDS=${BENCH_ROUNDS:-3}
for tool in wrk curl; do
    command -v "$tool" >/dev/null || { echo "compare_builds.sh needs $tool" >&2; exit 1; }
done
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"

pgcluster_start "max_connections = 200" "shared_buffers = 512MB" "synchronous_commit = on" || exit 1
PIDS=
pgcluster_on_exit 'for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done'
LOGS=$(mktemp -d /tmp/tvsync-compare-builds.XXXXXX)
pgcluster_on_exit 'rm -rf "$LOGS"'

# stack_start NAME BUILDDIR SRCDIR: database NAME with the build's migrations, the dataset,
# slot NAME, its tvsync-cdc and tvsync-server; sets URL_<NAME>.
stack_start() {
    local name=$1 build=$2 src=$3 url log server_url up seed schema
    pgcluster_psql -d postgres -c "CREATE DATABASE $name" >/dev/null || return 1
    url="postgresql://postgres@/$name?host=$PGCLUSTER_DIR&port=$PGPORT"
    # A tree from before examples/blog had the blog in migrations/, next to the engine.
    if [ -d "$src/examples/blog" ]; then
        up="--dir $src/examples/blog up" seed="seed $src/examples/blog/seed.sql"
        schema="$src/examples/blog/schema.graphql"
    else
        up="--dir $src/migrations up" seed="--dir $src/migrations seed" schema="$src/server/blog/schema.graphql"
    fi
    # shellcheck disable=SC2086
    "$build/migrations/tvsync-migrate" --database "$url" $up >/dev/null 2>&1 &&
        "$build/migrations/tvsync-migrate" --database "$url" $seed >/dev/null 2>&1 &&
        pgcluster_psql -d "$url" -f "$here/dataset.sql" >/dev/null &&
        "$build/slot/tvsync-slot" --database "$url" --slot "$name" create >/dev/null 2>&1 &&
        pgcluster_psql -d "$url" -c "VACUUM ANALYZE" >/dev/null &&
        pgcluster_psql -d "$url" -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" \
            -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname IN ('public', 'tvsync') AND c.relkind IN ('r', 'i')" >/dev/null ||
        { echo "setting up the $name stack failed" >&2; return 1; }
    "$build/cdc/tvsync-cdc" --database "$url" --slot "$name" --metrics-listen 127.0.0.1:0 \
        >"$LOGS/$name-cdc.log" 2>&1 &
    PIDS="$PIDS $!"
    log="$LOGS/$name-server.log"
    "$build/server/tvsync-server" --database "$url" --listen 127.0.0.1:0 \
        --schema "$schema" --log-level info \
        --set server.pool_size=8 --set server.max_connections=4096 >"$log" 2>&1 &
    PIDS="$PIDS $!"
    printf -v "PID_$name" '%s' "$!"
    wait_for 20 grep -q "listening on http://" "$log" || { cat "$log" >&2; return 1; }
    server_url=$(sed -n 's|.*listening on \(http://[^ ]*/graphql\).*|\1|p' "$log" | head -1)
    printf -v "URL_$name" '%s' "$server_url"
}
stack_start old "$OLD_BUILDDIR" "$OLD_SRCDIR" || exit 1
stack_start new "$NEW_BUILDDIR" "$NEW_SRCDIR" || exit 1
echo "old: $OLD_BUILDDIR ($URL_old)"
echo "new: $NEW_BUILDDIR ($URL_new)"

wrk_rps() { sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.]*\)/\1/p' <<<"$1" | cut -d. -f1; }
wrk_ms() {
    awk -v p="$2" '$1 == p { v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v);
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000; printf "%.2f", v }' <<<"$1"
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# One waiting write, so no backlog of a round reaches the next.
settle() {
    curl -s --max-time 30 -H 'Content-Type: application/json' --data-binary \
        '{"query":"mutation { createComment(postId: \"50000000-0000-4000-8000-000000000001\", authorId: \"40000000-0000-4000-8000-000000000001\", content: \"bench\") { id } }"}' \
        "$1" >/dev/null
}

for which in old new; do
    u=URL_$which
    wrk -t2 -c32 -d2s -s "$here/post_query.lua" "${!u}" >/dev/null
    wrk -t1 -c1 -d2s -s "$here/create_comment.lua" "${!u}" >/dev/null 2>&1
done
declare -A reads writes errors cpus
for which in old new; do reads[$which]= writes[$which]= errors[$which]=0 cpus[$which]=; done
# A server's CPU time (user + system, clock ticks) from /proc: its cost per write.
HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# The order alternates by round: whichever runs second may find the machine warmer or busier.
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order="old new"; else order="new old"; fi
    for which in $order; do
        u=URL_$which
        out=$(wrk -t2 -c32 -d"${DURATION}s" --latency -s "$here/post_query.lua" "${!u}")
        reads[$which]="${reads[$which]} $(wrk_rps "$out")"
        echo "round $round $which post(id) $(wrk_rps "$out") req/s, p50 $(wrk_ms "$out" 50%) ms"
    done
    for which in $order; do
        u=URL_$which
        p=PID_$which
        cpu_before=$(cpu_ticks "${!p}")
        out=$(wrk -t1 -c1 -d"${DURATION}s" --latency -s "$here/create_comment.lua" "${!u}" 2>&1)
        cpu=$(( $(cpu_ticks "${!p}") - cpu_before ))
        n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
        errors[$which]=$((errors[$which] + $(grep -c "unexpected answer" <<<"$out")))
        writes[$which]="${writes[$which]} $(wrk_ms "$out" 50%)"
        cpus[$which]="${cpus[$which]} $(awk -v c="$cpu" -v n="$n" -v hz="$HZ" 'BEGIN { if (n > 0) printf "%.0f", c * 1e6 / hz / n }')"
        echo "round $round $which createComment p50 $(wrk_ms "$out" 50%) ms, p99 $(wrk_ms "$out" 99%) ms, server CPU $(awk -v c="$cpu" -v n="$n" -v hz="$HZ" 'BEGIN { if (n > 0) printf "%.0f", c * 1e6 / hz / n }') us/request"
        settle "${!u}"
    done
done
printf '\n%-48s %12s %12s %8s\n' "measure (median of $ROUNDS rounds)" old new new/old
r_old=$(tr ' ' '\n' <<<"${reads[old]}" | grep . | median)
r_new=$(tr ' ' '\n' <<<"${reads[new]}" | grep . | median)
w_old=$(tr ' ' '\n' <<<"${writes[old]}" | grep . | median)
w_new=$(tr ' ' '\n' <<<"${writes[new]}" | grep . | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
printf '%-48s %12s %12s %8s\n' "post(id) requests/s (32 connections)" "$r_old" "$r_new" "$(ratio "$r_new" "$r_old")"
printf '%-48s %12s %12s %8s\n' "createComment + read-your-writes p50 ms" "$w_old" "$w_new" "$(ratio "$w_new" "$w_old")"
c_old=$(tr ' ' '\n' <<<"${cpus[old]}" | grep . | median)
c_new=$(tr ' ' '\n' <<<"${cpus[new]}" | grep . | median)
printf '%-48s %12s %12s %8s\n' "createComment tvsync-server CPU us/request" "$c_old" "$c_new" "$(ratio "$c_new" "$c_old")"
printf '%-48s %12s %12s\n' "failed answers" "${errors[old]}" "${errors[new]}"
