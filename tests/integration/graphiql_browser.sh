#!/bin/bash
# graphiql_browser: headless Chromium (Debian's, driven by chromedriver) opens GraphiQL as
# served by a running tvsync-server, clicks Run, and finds the query's answer on the page.
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

. "$TVSYNC_SRCDIR/tests/integration/programs.sh"
SERVER=$(program_path tvsync-server)
SLOT=$(program_path tvsync-slot)
MIGRATE=$(program_path tvsync-migrate)
DRIVER="$TVSYNC_SRCDIR/tests/integration/graphiql_browser.py"

# Debian's python3 starts at once; a pyenv shim earlier in PATH can take seconds.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
# Debian's chromium and its driver; installed here when missing (CI machines start without).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "installing chromium and chromium-driver"
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
              DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1; }
    fi
fi
assert_eq yes "$(command -v chromium >/dev/null && command -v chromedriver >/dev/null && echo yes || echo no)" \
    "chromium and chromedriver are installed (apt-get install chromium chromium-driver)"

if [ -z "$SERVER" ]; then
    echo "note: tvsync-server is not part of this tree yet; GraphiQL is not opened in a browser"
    test_summary
    exit
fi

. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
pgcluster_start || exit 1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tvsync-graphiql-test.XXXXXX")
SERVER_PID= DRIVER_PID=
pgcluster_on_exit '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; [ -n "$DRIVER_PID" ] && kill "$DRIVER_PID" 2>/dev/null; for pid in $SERVER_PID $DRIVER_PID; do wait "$pid" 2>/dev/null; done; rm -rf "$WORK"'

pgcluster_migrate >/dev/null || { echo "migrations failed"; exit 1; }
"$MIGRATE" seed "$TVSYNC_SRCDIR/examples/blog/seed.sql" >/dev/null
# The slot's initial build fills tv_* from the seeded tb_* rows.
"$SLOT" create >/dev/null

free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
schema="$TVSYNC_SRCDIR/examples/blog/schema.graphql"
"$SERVER" --listen "127.0.0.1:$port" --schema "$schema" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_for 30 curl -fs -o /dev/null "http://127.0.0.1:$port/health"
assert_eq 0 "$?" "tvsync-server answers /health"

page_status=$(curl -s -o "$WORK/page.html" -w '%{http_code} %{content_type}' -H 'Accept: text/html' \
    "http://127.0.0.1:$port/graphql")
assert_eq "200 text/html; charset=utf-8" "$page_status" "GET /graphql with Accept: text/html serves the page"

driver_port=$(free_port)
chromedriver --port="$driver_port" >"$WORK/chromedriver.log" 2>&1 &
DRIVER_PID=$!
wait_for 60 curl -fs -o /dev/null "http://127.0.0.1:$driver_port/status"

query='{ users(limit: 3) { username } }'
encoded=$("$PYTHON" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$query")
screenshot="$TVSYNC_BUILDDIR/tests/integration/graphiql_browser.png"
mkdir -p "$(dirname "$screenshot")"
output=$("$PYTHON" "$DRIVER" "http://127.0.0.1:$driver_port" "http://127.0.0.1:$port/graphql?query=$encoded" \
    '"username": "alice"' "$screenshot" 2>&1)
status=$?
printf '%s\n' "$output"
assert_eq 0 "$status" "Chromium ran the query by clicking Run and showed alice on the page"
[ $status -eq 0 ] || tail -20 "$WORK/server.log"

test_summary
