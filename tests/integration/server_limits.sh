#!/bin/bash
# server_limits.sh: what tvsync-server refuses before any SQL runs, against a throwaway
# PostgreSQL 15: the request cost limit (aliases, list limits, introspection breadth), the
# introspection switch, and the allow-list of persisted operations.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"

server_database_start
WORK=$(mktemp -d /tmp/tvsync-limits.XXXXXX)
pgcluster_on_exit 'rm -rf "$WORK"'

# aliases N SELECTION: a query document of N aliases a1..aN of SELECTION.
aliases() {
    local n=$1 selection=$2
    awk -v n="$n" -v s="$selection" 'BEGIN { printf "{"; for (i = 1; i <= n; i++) printf " a%d: %s", i, s; printf " }" }'
}

# aliases_body N SELECTION: the JSON request body of that document (too long for an
# argument of jq; SELECTION holds no quote or backslash).
aliases_body() {
    printf '{"query":"%s"}' "$(aliases "$1" "$2")"
}

# Index and sequential scans of tv_post so far: how much SQL the requests caused.
post_scans() {
    pgcluster_psql -Atc "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'tv_post'"
}

scans_above() {
    [ "$(post_scans)" -gt "$1" ]
}

server_start --set server.threads=2 --set server.pool_size=2 || { echo "server did not start"; exit 1; }

# ---------------------------------------------------------------- the cost limit
# Four requests of 5,000 `posts(limit: 100)` aliases at once used to keep both workers and
# their pools busy for about 50 s, and were answered "database unavailable".
aliases_body 5000 'posts(limit: 100) { id title }' >"$WORK/aliases.json"
scans_before=$(post_scans)
clients=
started=$(date +%s%N)
for i in 1 2 3 4; do
    curl -s --max-time 120 -H 'Content-Type: application/json' --data-binary @"$WORK/aliases.json" \
        -o "$WORK/aliases.$i.out" "$SERVER_URL" &
    clients="$clients $!"
done
wait $clients
echo "# 4 x 5,000 aliases answered in $(( ($(date +%s%N) - started) / 1000000 )) ms (for the record, not asserted)"
for i in 1 2 3 4; do
    out=$(cat "$WORK/aliases.$i.out")
    assert_contains "$out" '"code":"QUERY_TOO_EXPENSIVE"' "5,000 posts(limit: 100) aliases are refused as too expensive ($i of 4)"
done
assert_not_contains "$out" '"data"' "a refused request runs nothing: no data"
assert_contains "$out" "more than server.max_request_cost = 100000" "the message names the limit and its key"
assert_contains "$out" "would cost 1505000," "the message says the cost: 5,000 x (100 for the statement + posts + 100 x (id, title))"
assert_contains "$out" "fewer aliases or root fields, a smaller limit" "the message says what to reduce"

out=$(gql_query '{ posts { title } }')
assert_eq '{"data":{"posts":[{"title":"Logical decoding in practice"},{"title":"Getting started with CQRS"}]}}' \
    "$out" "right after them, a normal query is answered"
# Counting work, not time: the refused requests scanned tv_post not once; the normal query did.
wait_for 20 scans_above "$scans_before" || true
scans=$(( $(post_scans) - scans_before ))
assert_eq 1 "$([ "$scans" -ge 1 ] && [ "$scans" -le 10 ] && echo 1 || echo 0)" \
    "the 20,000 refused root fields ran no statement on tv_post ($scans scans, the normal query's included)"

# GraphQL over HTTP: a request error before execution is a 400 under graphql-response+json.
status=$(curl -s -o "$WORK/strict.out" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H 'Accept: application/graphql-response+json' --data-binary @"$WORK/aliases.json" "$SERVER_URL")
assert_eq 400 "$status" "too expensive under application/graphql-response+json: 400"
status=$(curl -s -o "$WORK/json.out" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H 'Accept: application/json' --data-binary @"$WORK/aliases.json" "$SERVER_URL")
assert_eq 200 "$status" "too expensive under application/json: 200 with errors, as for validation errors"

# 2,000 __schema aliases used to build a 6 MB answer.
aliases_body 2000 '__schema { types { name kind fields { name } } }' >"$WORK/schema.json"
curl -s --max-time 60 -H 'Content-Type: application/json' --data-binary @"$WORK/schema.json" \
    -o "$WORK/schema.out" "$SERVER_URL"
out=$(cat "$WORK/schema.out")
assert_contains "$out" '"code":"QUERY_TOO_EXPENSIVE"' "2,000 __schema aliases are refused as too expensive"
assert_eq 1 "$([ "$(wc -c <"$WORK/schema.out")" -lt 2000 ] && echo 1 || echo 0)" "the refusal is small, not megabytes"

# What clients really send passes with a wide margin.
out=$(gql_query '{ __schema { queryType { name } types { name kind description fields(includeDeprecated: true) { name description args { name description type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } defaultValue } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } isDeprecated deprecationReason } inputFields { name type { kind name ofType { kind name } } defaultValue } interfaces { name } enumValues(includeDeprecated: true) { name isDeprecated } possibleTypes { name } } directives { name locations args { name } } } }')
assert_contains "$out" '"queryType":{"name":"Query"}' "a GraphiQL-sized introspection query is answered"
assert_not_contains "$out" '"errors"' "... without errors"
out=$(gql_query '{ posts(limit: 100) { title author { username } comments { content author { username } } } users { username } }')
assert_contains "$out" '"title":"Getting started with CQRS"' "a page of posts with their comments is answered"
assert_not_contains "$out" '"errors"' "... without errors"
server_stop

# A small limit shows the unit: a root field counts 100, each value 1.
server_start --set server.max_request_cost=105 || { echo "server did not start"; exit 1; }
out=$(gql_query '{ posts(limit: 2) { id title } }')
assert_not_contains "$out" '"errors"' "101 + 2 x 2 = 105 is within max_request_cost = 105"
out=$(gql_query '{ posts(limit: 3) { id title } }')
assert_contains "$out" "would cost 107, more than server.max_request_cost = 105" "101 + 3 x 2 = 107 is over it"
out=$(gql_query '{ a: __typename b: __typename }')
assert_eq '{"data":{"a":"Query","b":"Query"}}' "$out" "__typename costs no statement"
# Introspection is counted by walking the schema, which stops once past the limit.
out=$(gql_query '{ __schema { types { name fields { name } } } }')
assert_contains "$out" "would cost at least 10" "introspection counting stops past the limit (a lower bound)"
server_stop

# ---------------------------------------------------------------- the introspection switch
server_start --set server.introspection=off || { echo "server did not start"; exit 1; }
out=$(gql_query '{ __schema { queryType { name } } }')
assert_contains "$out" '"code":"INTROSPECTION_DISABLED"' "introspection off: __schema is refused"
assert_contains "$out" "server.introspection = off" "the message names the switch"
out=$(gql_query '{ __type(name: "Post") { name } }')
assert_contains "$out" '"code":"INTROSPECTION_DISABLED"' "introspection off: __type is refused"
out=$(gql_query 'query { ...F } fragment F on Query { __schema { types { name } } }')
assert_contains "$out" '"code":"INTROSPECTION_DISABLED"' "introspection off: __schema in a fragment is refused"
out=$(gql_query '{ __typename posts(limit: 1) { __typename title } }')
assert_eq '{"data":{"__typename":"Query","posts":[{"__typename":"Post","title":"Logical decoding in practice"}]}}' \
    "$out" "introspection off: __typename still works"
server_stop
server_start || { echo "server did not start"; exit 1; }
out=$(gql_query '{ __type(name: "Post") { name } }')
assert_eq '{"data":{"__type":{"name":"Post"}}}' "$out" "introspection is on by default"
server_stop

# ---------------------------------------------------------------- persisted operations
# sha256_of TEXT: what a client sends as extensions.persistedQuery.sha256Hash.
sha256_of() {
    printf '%s' "$1" | sha256sum | cut -d' ' -f1
}
LISTED='query Titles { posts { title } }'
LISTED_VARS='query Post($id: ID!) { post(id: $id) { title } }'
LATER='{ users(limit: 1) { username } }'
LISTED_HASH=$(sha256_of "$LISTED")
VARS_HASH=$(sha256_of "$LISTED_VARS")
LATER_HASH=$(sha256_of "$LATER")
OPERATIONS="$WORK/operations.json"
jq -n --arg a "$LISTED" --arg ah "$LISTED_HASH" --arg b "$LISTED_VARS" --arg bh "$VARS_HASH" \
    '{($ah): $a, ($bh): $b}' >"$OPERATIONS"
# by_hash HASH [VARIABLES_JSON]: a request naming its document by hash only.
by_hash() {
    jq -cn --arg h "$1" --argjson v "${2:-null}" '{variables: $v, extensions: {persistedQuery: {version: 1, sha256Hash: $h}}}'
}
TITLES='{"data":{"posts":[{"title":"Logical decoding in practice"},{"title":"Getting started with CQRS"}]}}'

# Without an allow-list any document runs; a hash alone is not supported (APQ clients then
# send the query), and a hash sent with its query must be its sha256.
server_start || { echo "server did not start"; exit 1; }
out=$(gql "$(by_hash "$LISTED_HASH")")
assert_contains "$out" '"code":"PERSISTED_QUERY_NOT_SUPPORTED"' "no allow-list: a hash alone is not supported"
out=$(gql "$(jq -cn --arg q "$LISTED" --arg h "$LISTED_HASH" '{query: $q, extensions: {persistedQuery: {version: 1, sha256Hash: $h}}}')")
assert_eq "$TITLES" "$out" "no allow-list: a query with its hash runs"
out=$(gql "$(jq -cn --arg q "$LISTED" --arg h "$VARS_HASH" '{query: $q, extensions: {persistedQuery: {version: 1, sha256Hash: $h}}}')")
assert_contains "$out" "is not the sha256 of the query sent" "a hash that is not the query's is refused"
server_stop

server_start --set server.persisted_operations="$OPERATIONS" || { echo "server did not start"; exit 1; }
out=$(gql "$(by_hash "$LISTED_HASH")")
assert_eq "$TITLES" "$out" "allow-list: a listed document runs by its hash alone"
out=$(gql "$(by_hash "${VARS_HASH^^}" "{\"id\": \"20000000-0000-4000-8000-000000000001\"}")")
assert_eq '{"data":{"post":{"title":"Getting started with CQRS"}}}' "$out" \
    "allow-list: by hash (any case of hex digits) with variables"
out=$(curl -s -G --data-urlencode "extensions={\"persistedQuery\":{\"version\":1,\"sha256Hash\":\"$LISTED_HASH\"}}" "$SERVER_URL")
assert_eq "$TITLES" "$out" "allow-list: by hash in a GET request"
out=$(gql_query "$LISTED")
assert_eq "$TITLES" "$out" "allow-list: a listed document sent as text runs"
out=$(gql_query '{ posts { title } }')
assert_contains "$out" '"code":"OPERATION_NOT_ALLOWED"' "allow-list: any other document is refused"
assert_contains "$out" "server.persisted_operations" "... and the message names the key"
assert_not_contains "$out" '"data"' "... and runs nothing"
out=$(gql "$(by_hash "$LATER_HASH")")
assert_contains "$out" '"code":"PERSISTED_QUERY_NOT_FOUND"' "allow-list: an unknown hash is not found"
status=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -H 'Accept: application/graphql-response+json' --data-binary "$(by_hash "$LATER_HASH")" "$SERVER_URL")
assert_eq 400 "$status" "allow-list: refusals are 400 under graphql-response+json, as validation errors"
out=$(gql '{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "abc"}}}')
assert_contains "$out" '"code":"BAD_REQUEST"' "a hash that is not 64 hex digits is a bad request"

# SIGHUP re-reads the file with the schema; a wrong file is refused and the old list kept.
jq -n --arg c "$LATER" --arg ch "$LATER_HASH" '{($ch): $c}' >"$OPERATIONS.new"
mv "$OPERATIONS.new" "$OPERATIONS"
kill -HUP "$SERVER_PID"
later_runs() {
    gql "$(by_hash "$LATER_HASH")" | grep -q '"users":\[{"username":'
}
assert_eq 0 "$(wait_for 20 later_runs; echo $?)" "SIGHUP: a document added to the file runs"
out=$(gql "$(by_hash "$LISTED_HASH")")
assert_contains "$out" '"code":"PERSISTED_QUERY_NOT_FOUND"' "SIGHUP: a document removed from the file is refused"
printf '{"%s": "{ posts { id } }"}' "$LATER_HASH" >"$OPERATIONS"
kill -HUP "$SERVER_PID"
assert_eq 0 "$(wait_for 20 grep -q 'is not the sha256 of its document' "$SERVER_LOG"; echo $?)" \
    "SIGHUP: an entry whose key is not its document's sha256 is logged"
out=$(gql "$(by_hash "$LATER_HASH")")
assert_contains "$out" '"users":[{"username":' "SIGHUP: ... and the previous list is kept"
server_stop
assert_exit 3 "a wrong persisted operations file stops the start (configuration error)" -- \
    "$SERVER_BIN" --database "$TVSYNC_DATABASE_URL" --listen 127.0.0.1:0 --schema "$SERVER_SCHEMA" \
    --set server.persisted_operations="$OPERATIONS"
assert_contains "$ASSERT_OUTPUT" "each key must be the sha256" "the error says what each key must be"

test_summary
