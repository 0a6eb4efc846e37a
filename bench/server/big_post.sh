#!/bin/bash
# bench/server/big_post.sh: createComment with read-your-writes on posts with 5,000 comments
# against posts with 10 (issue 18), same server, same run, rounds interleaved.
# Usage: bench/server/big_post.sh  (from a built tree; BENCH_DURATION=seconds per round and
# set, default 10; BENCH_ROUNDS, default 3; BENCH_BIG_POSTS, default 10, and
# BENCH_BIG_COMMENTS, default 5000: the big posts added to dataset.sql's blog.)
# Prints p50/p99 of each set (medians of the rounds) and big/small ratios.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export TVSYNC_SRCDIR=${TVSYNC_SRCDIR:-$(cd "$here/../.." && pwd)}
export TVSYNC_BUILDDIR=${TVSYNC_BUILDDIR:-$TVSYNC_SRCDIR}
DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-3}
BIG_POSTS=${BENCH_BIG_POSTS:-10}
BIG_COMMENTS=${BENCH_BIG_COMMENTS:-5000}
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"
for tool in wrk jq; do
    command -v "$tool" >/dev/null || { echo "bench needs $tool (apt-get install $tool)" >&2; exit 1; }
done

# The stack as bench/server/run.sh sets it up (Unix socket, VACUUM ANALYZE, pg_prewarm).
pgcluster_start "max_connections = 200" "shared_buffers = 256MB" "synchronous_commit = on"
export TVSYNC_DATABASE_URL="postgresql://postgres@/tvsync_test?host=$PGCLUSTER_DIR&port=$PGPORT"
pgcluster_on_exit server_lib_cleanup
pgcluster_on_exit '[ -n "${CDC_PID:-}" ] && kill "$CDC_PID" 2>/dev/null && wait "$CDC_PID" 2>/dev/null'
pgcluster_migrate >/dev/null 2>&1 || { echo "migrate failed" >&2; exit 1; }
pgcluster_psql -d "$TVSYNC_DATABASE_URL" -f "$here/dataset.sql" >/dev/null ||
    { echo "loading bench/server/dataset.sql failed" >&2; exit 1; }
# The big posts: numbers 0x100001 on (create_comment.lua's BENCH_POST_FIRST), published,
# BIG_COMMENTS comments each by users spread over the whole set.
pgcluster_psql -d "$TVSYNC_DATABASE_URL" -v posts="$BIG_POSTS" -v comments="$BIG_COMMENTS" <<'SQL' >/dev/null ||
INSERT INTO tb_post (id, author_id, title, content, published)
SELECT ('50000000-0000-4000-8000-' || lpad(to_hex(1048576 + i), 12, '0'))::uuid,
       ('40000000-0000-4000-8000-' || lpad(to_hex(1 + i % 1000), 12, '0'))::uuid,
       'Big post ' || i, repeat('Some text. ', 40), true
FROM generate_series(1, :posts) AS i;
INSERT INTO tb_comment (post_id, author_id, content)
SELECT ('50000000-0000-4000-8000-' || lpad(to_hex(1048576 + 1 + i % :posts), 12, '0'))::uuid,
       ('40000000-0000-4000-8000-' || lpad(to_hex(1 + (i * 7) % 1000), 12, '0'))::uuid,
       'Comment ' || i
FROM generate_series(1, :posts * :comments) AS i;
ANALYZE;
SQL
    { echo "adding the big posts failed" >&2; exit 1; }
"$TVSYNC_BUILDDIR/slot/tvsync-slot" --database "$TVSYNC_DATABASE_URL" create >/dev/null 2>&1 ||
    { echo "tvsync-slot create failed" >&2; exit 1; }
pgcluster_psql -d "$TVSYNC_DATABASE_URL" -c "VACUUM ANALYZE" >/dev/null || exit 1
pgcluster_psql -d "$TVSYNC_DATABASE_URL" -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" \
    -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('public', 'tvsync') AND c.relkind IN ('r', 'i')" >/dev/null || exit 1
CDC_LOG=$(mktemp /tmp/tvsync-bench-cdc.XXXXXX)
"$TVSYNC_BUILDDIR/cdc/tvsync-cdc" --database "$TVSYNC_DATABASE_URL" --metrics-listen 127.0.0.1:0 >"$CDC_LOG" 2>&1 &
CDC_PID=$!
server_start --log-level info --set server.pool_size=8 --set server.max_connections=4096 || exit 1

wrk_ms() {  # $1 output, $2 percentile ("50%", "99%")
    awk -v p="$2" '$1 == p { v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v);
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000; printf "%.2f", v }' <<<"$1"
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# createComment on the set's posts, as random users, one client, read-your-writes.
comments() {  # $1 big|small, $2 seconds
    if [ "$1" = big ]; then
        BENCH_POST_FIRST=$((0x100001)) BENCH_POST_COUNT=$BIG_POSTS \
            wrk -t1 -c1 -d"$2s" --latency -s "$here/create_comment.lua" "$SERVER_URL" 2>&1
    else
        wrk -t1 -c1 -d"$2s" --latency -s "$here/create_comment.lua" "$SERVER_URL" 2>&1
    fi
}

# tvsync-cdc first reads the log the load and VACUUM wrote (no intents there): until then
# a waiting write times out. One waiting write at a time until one is answered in time.
for attempt in $(seq 60); do
    caught_up=$(curl -s -H 'Content-Type: application/json' --data-binary \
        '{"query":"mutation { createComment(postId: \"50000000-0000-4000-8000-000000000001\", authorId: \"40000000-0000-4000-8000-000000000001\", content: \"bench\") { id } }"}' \
        "$SERVER_URL")
    case "$caught_up" in *'"errors"'*) ;; *) break ;; esac
done
case "$caught_up" in
*'"errors"'*) echo "tvsync-cdc did not catch up: $caught_up" >&2; exit 1 ;;
esac
# Warm-up of both: each connection's first use of the write path plans it.
comments small 2 >/dev/null
comments big 2 >/dev/null
declare -A p50s=([big]="" [small]="") p99s=([big]="" [small]="") counts=([big]="" [small]="")
errors=0
for round in $(seq "$ROUNDS"); do
    order="big small"
    [ $((round % 2)) = 0 ] && order="small big"
    for set in $order; do
        out=$(comments "$set" "$DURATION")
        errors=$((errors + $(grep -c "unexpected answer" <<<"$out")))
        grep -m1 "unexpected answer" <<<"$out" >&2
        p50s[$set]="${p50s[$set]} $(wrk_ms "$out" 50%)"
        p99s[$set]="${p99s[$set]} $(wrk_ms "$out" 99%)"
        counts[$set]="${counts[$set]} $(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")"
    done
done

sizes=$(pgcluster_psql -d "$TVSYNC_DATABASE_URL" -c "
    SELECT round(avg((data->>'commentCount')::int) FILTER (WHERE id >= '50000000-0000-4000-8000-000000100000')) || ' / '
        || round(avg((data->>'commentCount')::int) FILTER (WHERE id < '50000000-0000-4000-8000-000000100000'), 1)
        || ' (embedded: ' || round(avg(jsonb_array_length(data->'comments')) FILTER (WHERE id >= '50000000-0000-4000-8000-000000100000'))
        || ' / ' || round(avg(jsonb_array_length(data->'comments')) FILTER (WHERE id < '50000000-0000-4000-8000-000000100000'), 1)
        || '; document bytes ' || round(avg(pg_column_size(data)) FILTER (WHERE id >= '50000000-0000-4000-8000-000000100000'))
        || ' / ' || round(avg(pg_column_size(data)) FILTER (WHERE id < '50000000-0000-4000-8000-000000100000')) || ')'
    FROM tv_post WHERE id::text LIKE '50000000-%'")
big_p50=$(echo "${p50s[big]}" | median) small_p50=$(echo "${p50s[small]}" | median)
big_p99=$(echo "${p99s[big]}" | median) small_p99=$(echo "${p99s[small]}" | median)
echo
echo "createComment with read-your-writes, 1 client, $ROUNDS rounds of ${DURATION}s per set"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; comments per post at the end (big / small): $sizes"
printf '%-44s %10s %10s %10s\n' "measure" "big" "small" "big/small"
printf '%-44s %10s %10s %10s\n' "p50 ms (median of the rounds)" "$big_p50" "$small_p50" \
    "$(awk -v a="$big_p50" -v b="$small_p50" 'BEGIN { printf "%.1fx", a / b }')"
printf '%-44s %10s %10s %10s\n' "p99 ms (median of the rounds)" "$big_p99" "$small_p99" \
    "$(awk -v a="$big_p99" -v b="$small_p99" 'BEGIN { printf "%.1fx", a / b }')"
printf '%-44s %10s %10s\n' "  rounds: p50 ms" "$(echo ${p50s[big]} | tr ' ' '/')" "$(echo ${p50s[small]} | tr ' ' '/')"
printf '%-44s %10s %10s\n' "  rounds: requests" "$(echo ${counts[big]} | tr ' ' '/')" "$(echo ${counts[small]} | tr ' ' '/')"
printf '%-44s %10s %10s\n' "target (issue 18): big/small p50" "<= 3x" ""
printf '%-44s %10s\n' "failed answers" "$errors"
rm -f "$CDC_LOG"
