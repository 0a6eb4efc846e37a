#!/bin/bash
# bench/server/auth.sh: what running each request as its token's role costs: one build, one
# database (the blog with 004_blog_security's row-level security, the benchmark's dataset),
# one tvsync-cdc, and two tvsync-servers: "off" without authentication (connecting as the
# cluster's superuser, as the other benchmarks do) and "on" connecting as an authenticator
# role, every request with an HS256 token for blog_user. post(id) reads and createComment
# with read-your-writes run in interleaved rounds against both.
# Usage: bench/server/auth.sh (from a built tree; BENCH_DURATION seconds per round, default 5;
# BENCH_ROUNDS, default 3)
set -u
here=$(cd "$(dirname "$0")" && pwd)
export TVSYNC_SRCDIR=${TVSYNC_SRCDIR:-$(cd "$here/../.." && pwd)}
export TVSYNC_BUILDDIR=${TVSYNC_BUILDDIR:-$TVSYNC_SRCDIR}
DURATION=${BENCH_DURATION:-5}
ROUNDS=${BENCH_ROUNDS:-3}
for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "auth.sh needs $tool" >&2; exit 1; }
done
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"

pgcluster_start "max_connections = 200" "shared_buffers = 512MB" "synchronous_commit = on" || exit 1
PIDS=
pgcluster_on_exit 'for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done'
LOGS=$(mktemp -d /tmp/tvsync-bench-auth.XXXXXX)
pgcluster_on_exit 'rm -rf "$LOGS"'
BLOG=$TVSYNC_SRCDIR/examples/blog
url="postgresql://postgres@/bench?host=$PGCLUSTER_DIR&port=$PGPORT"
auth_url="postgresql://authenticator@/bench?host=$PGCLUSTER_DIR&port=$PGPORT"
pgcluster_psql -d postgres -c "CREATE DATABASE bench" >/dev/null || exit 1
"$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$url" --dir "$BLOG" up >"$LOGS/setup.log" 2>&1 &&
    "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$url" seed "$BLOG/seed.sql" >>"$LOGS/setup.log" 2>&1 &&
    pgcluster_psql -d "$url" -f "$here/dataset.sql" >/dev/null &&
    pgcluster_psql -d "$url" -c "CREATE ROLE authenticator LOGIN NOINHERIT" \
        -c "GRANT blog_anon, blog_user TO authenticator" -c "GRANT USAGE ON SCHEMA tvsync TO authenticator" >/dev/null &&
    "$TVSYNC_BUILDDIR/slot/tvsync-slot" --database "$url" create >>"$LOGS/setup.log" 2>&1 &&
    pgcluster_psql -d "$url" -c "VACUUM ANALYZE" >/dev/null &&
    pgcluster_psql -d "$url" -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" \
        -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname IN ('public', 'tvsync') AND c.relkind IN ('r', 'i')" >/dev/null ||
    { cat "$LOGS/setup.log" >&2; echo "setting up the database failed" >&2; exit 1; }
"$TVSYNC_BUILDDIR/cdc/tvsync-cdc" --database "$url" --metrics-listen 127.0.0.1:0 >"$LOGS/cdc.log" 2>&1 &
PIDS="$PIDS $!"

KEY_FILE=$LOGS/jwt.key
SECRET=bench-auth-secret-of-at-least-thirty-two-bytes
printf '%s' "$SECRET" >"$KEY_FILE"
AUTHOR=40000000-0000-4000-8000-000000000001
TOKEN=$(python3 - "$SECRET" "$AUTHOR" <<'PY'
import base64, hashlib, hmac, json, sys, time
b64 = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()
claims = {"role": "blog_user", "sub": sys.argv[2], "exp": int(time.time()) + 86400}
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
print(head + "." + b64(hmac.new(sys.argv[1].encode(), head.encode(), hashlib.sha256).digest()))
PY
)

# server_start NAME DATABASE_URL [options...]: sets URL_<NAME> and PID_<NAME>.
server_start() {
    local name=$1 database=$2 log=$LOGS/$1-server.log server_url
    shift 2
    "$TVSYNC_BUILDDIR/server/tvsync-server" --database "$database" --listen 127.0.0.1:0 \
        --schema "$BLOG/schema.graphql" --log-level info \
        --set server.pool_size=8 --set server.max_connections=4096 "$@" >"$log" 2>&1 &
    PIDS="$PIDS $!"
    printf -v "PID_$name" '%s' "$!"
    wait_for 20 grep -q "listening on http://" "$log" || { cat "$log" >&2; return 1; }
    server_url=$(sed -n 's|.*listening on \(http://[^ ]*/graphql\).*|\1|p' "$log" | head -1)
    printf -v "URL_$name" '%s' "$server_url"
}
server_start off "$url" || exit 1
server_start on "$auth_url" --set server.jwt_key_file="$KEY_FILE" --set server.anonymous_role=blog_anon || exit 1
declare -A TOKENS=([off]="" [on]="$TOKEN")
echo "off: $URL_off (no authentication)"
echo "on:  $URL_on (authenticator, Bearer token for blog_user)"
out=$(curl -s -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
    --data-binary '{"query":"{ post(id: \"20000000-0000-4000-8000-000000000001\") { title } }"}' "$URL_on")
grep -q '"title"' <<<"$out" || { echo "the server with authentication answered: $out" >&2; exit 1; }

wrk_rps() { sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.]*\)/\1/p' <<<"$1" | cut -d. -f1; }
wrk_ms() {
    awk -v p="$2" '$1 == p { v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v);
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000; printf "%.2f", v }' <<<"$1"
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# One waiting write, so no backlog of a round reaches the next.
settle() {
    curl -s --max-time 30 -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" --data-binary \
        "{\"query\":\"mutation { createComment(postId: \\\"50000000-0000-4000-8000-000000000001\\\", authorId: \\\"$AUTHOR\\\", content: \\\"bench\\\") { id } }\"}" \
        "$1" >/dev/null
}

export BENCH_AUTHOR=$AUTHOR
for which in off on; do
    u=URL_$which
    BENCH_TOKEN=${TOKENS[$which]} wrk -t2 -c32 -d2s -s "$here/post_query.lua" "${!u}" >/dev/null
    BENCH_TOKEN=${TOKENS[$which]} wrk -t1 -c1 -d2s -s "$here/create_comment.lua" "${!u}" >/dev/null 2>&1
done
declare -A reads writes errors
for which in off on; do reads[$which]= writes[$which]= errors[$which]=0; done
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order="off on"; else order="on off"; fi
    for which in $order; do
        u=URL_$which
        out=$(BENCH_TOKEN=${TOKENS[$which]} wrk -t2 -c32 -d"${DURATION}s" --latency -s "$here/post_query.lua" "${!u}")
        reads[$which]="${reads[$which]} $(wrk_rps "$out")"
        echo "round $round $which post(id) $(wrk_rps "$out") req/s, p50 $(wrk_ms "$out" 50%) ms"
    done
    for which in $order; do
        u=URL_$which
        out=$(BENCH_TOKEN=${TOKENS[$which]} wrk -t1 -c1 -d"${DURATION}s" --latency -s "$here/create_comment.lua" "${!u}" 2>&1)
        errors[$which]=$((errors[$which] + $(grep -c "unexpected answer" <<<"$out")))
        writes[$which]="${writes[$which]} $(wrk_ms "$out" 50%)"
        echo "round $round $which createComment p50 $(wrk_ms "$out" 50%) ms, p99 $(wrk_ms "$out" 99%) ms"
        settle "${!u}"
    done
done
printf '\n%-48s %12s %12s %12s\n' "measure (median of $ROUNDS rounds)" "auth off" "auth on" "on vs off"
r_off=$(tr ' ' '\n' <<<"${reads[off]}" | grep . | median)
r_on=$(tr ' ' '\n' <<<"${reads[on]}" | grep . | median)
w_off=$(tr ' ' '\n' <<<"${writes[off]}" | grep . | median)
w_on=$(tr ' ' '\n' <<<"${writes[on]}" | grep . | median)
printf '%-48s %12s %12s %11sx\n' "post(id) requests/s (32 connections)" "$r_off" "$r_on" \
    "$(awk -v a="$r_on" -v b="$r_off" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
printf '%-48s %12s %12s %+10.2f ms\n' "createComment + read-your-writes p50 ms" "$w_off" "$w_on" \
    "$(awk -v a="$w_on" -v b="$w_off" 'BEGIN { print a - b }')"
printf '%-48s %12s %12s\n' "failed answers" "${errors[off]}" "${errors[on]}"
