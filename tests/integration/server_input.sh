#!/bin/bash
# server_input.sh: tvsync-server refuses input PostgreSQL would take wrongly, over real HTTP
# against a throwaway PostgreSQL 15: U+0000 in strings, variables or the query text, bytes
# that are not UTF-8, and DateTime values that are not RFC 3339 date-times. Nothing is stored.
# shellcheck disable=SC2016  # GraphQL variables ($t) are written in single quotes on purpose

set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"

server_database_start
applier_install
applier_start
server_start --set server.threads=1 --set server.pool_size=2 || { echo "server did not start"; exit 1; }

BOB=10000000-0000-4000-8000-000000000002
POST1=20000000-0000-4000-8000-000000000001
comments() { pgcluster_psql -Atc "SELECT count(*) FROM tb_comment"; }
before=$(comments)

# status BODY: POSTs raw bytes, prints "<status> <body>".
status() {
    curl -s --max-time 60 -o /dev/stdout -w ' %{http_code}' -H 'Content-Type: application/json' \
        --data-binary "$1" "$SERVER_URL"
}
message() { jq -r '.errors[0].message' <<<"${1% *}"; }

# ---------------------------------------------------------------- U+0000
out=$(gql_query "mutation { createComment(postId: \"$POST1\", authorId: \"$BOB\", content: \"a\\u0000b\") { id } }")
assert_eq 'String value contains U+0000 (NUL), which PostgreSQL text cannot store: remove it.' \
    "$(jq -r '.errors[0].message' <<<"$out")" "a \\u0000 escape in a GraphQL string is a validation error"
assert_eq null "$(jq -c '.data' <<<"$out")" "the mutation did not run"

out=$(status "{\"query\": \"mutation(\$c: String!) { createComment(postId: \\\"$POST1\\\", authorId: \\\"$BOB\\\", content: \$c) { id } }\", \"variables\": {\"c\": \"a\\u0000b\"}}")
assert_eq 400 "${out##* }" "U+0000 in a variable is a 400"
assert_eq 'A string in "variables" contains U+0000 (NUL), which PostgreSQL text cannot store: remove it.' \
    "$(message "$out")" "the 400 says where the NUL is"

out=$(status '{"query": "mutation { deleteEverything }\u0000{ posts { title } }"}')
assert_eq 400 "${out##* }" "a query text with U+0000 is a 400, not its prefix run"
assert_contains "$(message "$out")" 'The "query" parameter contains U+0000 (NUL)' "the 400 names the query"

out=$(curl -s --max-time 60 -w ' %{http_code}' "$SERVER_URL?query=%7B%20posts%20%7B%20title%20%7D%20%7D%00garbage")
assert_eq 400 "${out##* }" "GET with %00 is a 400, not its prefix run"
assert_eq 'The query string contains %00 (NUL): remove it.' "$(message "$out")" "the 400 names %00"
assert_eq "$before" "$(comments)" "no comment was stored"

# ---------------------------------------------------------------- UTF-8
out=$(status "$(printf '{"query": "{ posts(where: {title: {eq: \\"\xff\\"}}) { title } }"}')")
assert_eq 400 "${out##* }" "a body that is not UTF-8 is a 400 from the HTTP layer"
assert_contains "$(message "$out")" "not valid UTF-8" "the 400 says the body is not UTF-8"
out=$(status "$(printf '{"query": "{ posts { title } }", "variables": {"t": "\xed\xa0\x80"}}')")
assert_eq 400 "${out##* }" "an encoded surrogate in the variables is a 400"
out=$(curl -s --max-time 60 -w ' %{http_code}' "$SERVER_URL?query=%7B%20posts(where%3A%7Btitle%3A%7Beq%3A%22%C0%AF%22%7D%7D)%20%7B%20title%20%7D%20%7D")
assert_eq 400 "${out##* }" "a GET parameter that is not UTF-8 once decoded is a 400"
assert_eq 'The "query" parameter is not valid UTF-8: percent-encode UTF-8 text.' "$(message "$out")" \
    "the 400 names the parameter"
out=$(gql_query '{ posts(where: {title: {eq: "é😀"}}) { title } }')
assert_eq '{"data":{"posts":[]}}' "$out" "well-formed UTF-8 still reaches the database"

# ---------------------------------------------------------------- DateTime
out=$(gql_query '{ posts(where: {createdAt: {gt: "garbage"}}) { title } }')
assert_eq 'Invalid value for "where.createdAt.gt": DateTime cannot represent "garbage"; expected an RFC 3339 date-time such as "2024-05-01T12:00:00Z".' \
    "$(jq -r '.errors[0].message' <<<"$out")" "a DateTime filter that is not RFC 3339 is a validation error naming the field"
out=$(gql_query 'query($t: DateTime) { posts(where: {createdAt: {lt: $t}}) { title } }' '{"t": "2024-13-01T00:00:00Z"}')
assert_contains "$(jq -r '.errors[0].message' <<<"$out")" 'Variable "$t" got invalid value "2024-13-01T00:00:00Z"' \
    "a DateTime variable that is not RFC 3339 is refused"
out=$(gql_query '{ posts(where: {createdAt: {gt: "2000-01-01T00:00:00Z"}}) { title } }')
assert_eq 2 "$(jq '.data.posts | length' <<<"$out")" "an RFC 3339 DateTime filter works"
out=$(gql_query 'query($t: DateTime) { posts(where: {createdAt: {lt: $t}}) { title } }' '{"t": "2000-01-01T00:00:00+02:00"}')
assert_eq '{"data":{"posts":[]}}' "$out" "an RFC 3339 DateTime variable with an offset works"

test_summary
