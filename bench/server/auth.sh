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
# "anon": the server with authentication, requests without a token (blog_anon): the role's
# cost without the token's verification.
declare -A TOKENS=([off]="" [anon]="" [on]="$TOKEN")
URL_anon=$URL_on PID_anon=$PID_on
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
# CPU time (user + system, clock ticks) of a process, and of all of PostgreSQL's processes:
# the cost per request, which a machine shared with other work changes far less than the rate.
HZ=$(getconf CLK_TCK)
PM_PID=$(head -1 "$PGCLUSTER_DIR/data/postmaster.pid")
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
pg_ticks() {
    local total=0 p
    for p in $PM_PID $(ps --ppid "$PM_PID" -o pid=); do
        total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}
us_per() { awk -v c="$1" -v n="$2" -v hz="$HZ" 'BEGIN { if (n > 0) printf "%.0f", c * 1e6 / hz / n }'; }
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
declare -A reads writes errors server_cpu pg_cpu
for which in off anon on; do reads[$which]= writes[$which]= errors[$which]=0 server_cpu[$which]= pg_cpu[$which]=; done
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order="off on"; reads_order="off anon on"; else order="on off"; reads_order="on anon off"; fi
    for which in $reads_order; do
        u=URL_$which
        p=PID_$which
        server_before=$(cpu_ticks "${!p}") pg_before=$(pg_ticks)
        out=$(BENCH_TOKEN=${TOKENS[$which]} wrk -t2 -c32 -d"${DURATION}s" --latency -s "$here/post_query.lua" "${!u}")
        n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
        s_us=$(us_per $(( $(cpu_ticks "${!p}") - server_before )) "$n")
        p_us=$(us_per $(( $(pg_ticks) - pg_before )) "$n")
        reads[$which]="${reads[$which]} $(wrk_rps "$out")"
        server_cpu[$which]="${server_cpu[$which]} $s_us"
        pg_cpu[$which]="${pg_cpu[$which]} $p_us"
        echo "round $round $which post(id) $(wrk_rps "$out") req/s, p50 $(wrk_ms "$out" 50%) ms, CPU per request: server $s_us us, PostgreSQL $p_us us"
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
anon_rps=$(tr ' ' '\n' <<<"${reads[anon]}" | grep . | median)
r_off=$(tr ' ' '\n' <<<"${reads[off]}" | grep . | median)
r_on=$(tr ' ' '\n' <<<"${reads[on]}" | grep . | median)
w_off=$(tr ' ' '\n' <<<"${writes[off]}" | grep . | median)
w_on=$(tr ' ' '\n' <<<"${writes[on]}" | grep . | median)
printf '%-48s %12s %12s %11sx\n' "post(id) requests/s (32 connections)" "$r_off" "$r_on" \
    "$(awk -v a="$r_on" -v b="$r_off" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
printf '%-48s %12s %12s %+10.2f ms\n' "createComment + read-your-writes p50 ms" "$w_off" "$w_on" \
    "$(awk -v a="$w_on" -v b="$w_off" 'BEGIN { print a - b }')"
for m in server_cpu pg_cpu; do
    declare -n cpu=$m
    c_off=$(tr ' ' '\n' <<<"${cpu[off]}" | grep . | median)
    c_on=$(tr ' ' '\n' <<<"${cpu[on]}" | grep . | median)
    printf '%-48s %12s %12s %11sx\n' "post(id) CPU us/request, ${m%_cpu}" "$c_off" "$c_on" \
        "$(awk -v a="$c_on" -v b="$c_off" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
    c_anon=$(tr ' ' '\n' <<<"${cpu[anon]}" | grep . | median)
    printf '%-48s %12s %12s %11sx\n' "  the same without a token (blog_anon)" "$c_off" "$c_anon" \
        "$(awk -v a="$c_anon" -v b="$c_off" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
    unset -n cpu
done
printf '%-48s %12s %12s %11sx\n' "post(id) requests/s without a token (blog_anon)" "$r_off" "$anon_rps" \
    "$(awk -v a="$anon_rps" -v b="$r_off" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
printf '%-48s %12s %12s\n' "failed answers" "${errors[off]}" "${errors[on]}"
# The workers' caches of verified tokens (a build that has them): every read after a worker's
# first should be a hit, or "auth on" measures verification rather than the cache.
hits=$(curl -s "${URL_on%/graphql}/metrics" | sed -n 's/^tvsync_server_auth_cache_hits_total \([0-9]*\).*/\1/p')
misses=$(curl -s "${URL_on%/graphql}/metrics" | sed -n 's/^tvsync_server_auth_cache_misses_total \([0-9]*\).*/\1/p')
if [ -n "$hits" ]; then
    printf '%-48s %12s %12s\n' "auth on: token cache hits, misses" "$hits" "$misses"
fi
