#!/bin/bash
# server_audit.sh: the graphql-http conformance audits (npm graphql-http, serverAudits)
# against a live tvsync-server; all 61 must be ok. npm installs the locked packages into
# the build tree once (tests/server_audit/package-lock.json).
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "server_audit: node and npm are needed (apt-get install nodejs npm)" >&2
    exit 1
fi
AUDIT_DIR="$TVSYNC_BUILDDIR/tests/server_audit"
mkdir -p "$AUDIT_DIR"
if ! cmp -s "$TVSYNC_SRCDIR/tests/server_audit/package-lock.json" "$AUDIT_DIR/package-lock.json" ||
   [ ! -d "$AUDIT_DIR/node_modules/graphql-http" ]; then
    if [ "$AUDIT_DIR" != "$TVSYNC_SRCDIR/tests/server_audit" ]; then
        cp "$TVSYNC_SRCDIR/tests/server_audit/package.json" "$TVSYNC_SRCDIR/tests/server_audit/package-lock.json" "$AUDIT_DIR/"
    fi
    (cd "$AUDIT_DIR" && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm ci failed" >&2; exit 1; }
fi
cp "$TVSYNC_SRCDIR/tests/integration/server_audit.mjs" "$AUDIT_DIR/"

pgcluster_start
pgcluster_on_exit server_lib_cleanup
pgcluster_migrate >/dev/null 2>&1 || { echo "migrate failed"; exit 1; }
server_start --set server.threads=2 || { echo "server did not start"; exit 1; }

assert_exit 0 "graphql-http: every server audit is ok" -- node "$AUDIT_DIR/server_audit.mjs" "$SERVER_URL"
printf '%s\n' "$ASSERT_OUTPUT" | tail -1
printf '%s\n' "$ASSERT_OUTPUT" | grep -v '^ok ' | grep -v 'audits ok' || true
assert_contains "$ASSERT_OUTPUT" "61/61 audits ok" "all 61 audits ran"

test_summary
