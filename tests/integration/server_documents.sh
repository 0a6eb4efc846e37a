#!/bin/bash
# server_documents.sh: tvsync-server against tv_* documents it cannot read (jsonb nests
# deeper than cJSON's limit): the field is an error, the server keeps serving.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"

server_database_start
sql() { pgcluster_psql -c "$1"; }

ALICE=10000000-0000-4000-8000-000000000001
BOB=10000000-0000-4000-8000-000000000002

# 1,100 nested arrays: valid jsonb, deeper than the 1,000 levels cJSON parses.
sql "UPDATE tv_user SET data = data || jsonb_build_object('deep', (repeat('[', 1100) || repeat(']', 1100))::jsonb)
     WHERE id = '$BOB'" >/dev/null
assert_eq array "$(pgcluster_psql -Atc "SELECT jsonb_typeof(data -> 'deep') FROM tv_user WHERE id = '$BOB'")" \
    "the deep document is stored"

server_start --set server.threads=1 --set server.pool_size=1 || { echo "server did not start"; exit 1; }

out=$(gql_query "{ user(id: \"$BOB\") { username } }")
assert_eq "INTERNAL_SERVER_ERROR" "$(jq -r '.errors[0].extensions.code' <<<"$out")" \
    "a lookup of the deep document answers with a field error"
assert_eq '["user"]' "$(jq -c '.errors[0].path' <<<"$out")" "the error names the field"
assert_eq 'null' "$(jq -c '.data.user' <<<"$out")" "the field is null"
assert_contains "$(cat "$SERVER_LOG")" "a document this server cannot read" "the server logs the unreadable document"

out=$(gql_query '{ users(orderBy: [{field: username}]) { username } }')
assert_eq "INTERNAL_SERVER_ERROR" "$(jq -r '.errors[0].extensions.code' <<<"$out")" \
    "a list holding the deep document answers with a field error"

kill -0 "$SERVER_PID" 2>/dev/null
assert_eq 0 $? "the server is still running"
out=$(gql_query "{ user(id: \"$ALICE\") { username } }")
assert_eq '{"data":{"user":{"username":"alice"}}}' "$out" "the next request is answered"

test_summary
