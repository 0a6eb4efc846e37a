#!/bin/bash
# server_documents.sh: tvsync-server against tv_* documents: numbers are answered with the
# digits PostgreSQL stored (numeric 24.50, bigint above 2^53); a document it cannot read
# (jsonb nests deeper than the reader's limit) is a field error and the server keeps serving.
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

# Numbers as a shop stores them: money in numeric(12,2), a bigint key beyond a double's 2^53.
sql "UPDATE tv_user SET data = data || jsonb_build_object(
        'balance', 24.50::numeric(12,2), 'accountId', 9007199254740993::bigint,
        'huge', 12345678901234567890123::numeric, 'visits', 2147483647::bigint,
        'tooMany', 2147483648::bigint, 'fraction', 0.10::numeric(4,2))
     WHERE id = '$ALICE'" >/dev/null
# What a query function receives, as the database reads it: the arguments' digits.
sql "CREATE FUNCTION public.echo_numbers(args jsonb) RETURNS jsonb LANGUAGE sql AS
     \$\$ SELECT jsonb_build_object('amount', args -> 'amount', 'amountText', args ->> 'amount',
                                   'id', args ->> 'id', 'cents', (args ->> 'amount')::numeric * 100) \$\$" >/dev/null
NUMBERS_SCHEMA=$(mktemp /tmp/tvsync-numbers-schema.XXXXXX)
cat "$SERVER_SCHEMA" - >"$NUMBERS_SCHEMA" <<'SDL'
scalar Decimal
extend type User {
  balance: Decimal
  balanceText: String
  accountId: ID
  huge: Float
  visits: Int
  tooMany: Int
  fraction: Float
}
type Echo {
  amount: Decimal
  amountText: String
  id: ID
  cents: Decimal
}
extend type Query {
  echo(id: ID, amount: Decimal): Echo @sql(function: "public.echo_numbers")
}
input DecimalFilter {
  gt: Decimal
  eq: Decimal
}
extend input UserWhere {
  balance: DecimalFilter
}
SDL
SERVER_SCHEMA=$NUMBERS_SCHEMA
pgcluster_on_exit 'rm -f "$NUMBERS_SCHEMA"'

server_start --set server.threads=1 --set server.pool_size=1 || { echo "server did not start"; exit 1; }

# jq would read the numbers as doubles: the answer's text is compared as it is.
out=$(gql_query "{ user(id: \"$ALICE\") { balance accountId huge visits fraction } }")
assert_eq '{"data":{"user":{"balance":24.50,"accountId":"9007199254740993","huge":12345678901234567890123,"visits":2147483647,"fraction":0.10}}}' \
    "$out" "a lookup answers numeric and bigint values with their stored digits"
out=$(gql_query '{ users(orderBy: [{field: username}], limit: 1) { username balance accountId } }')
assert_contains "$out" '{"username":"alice","balance":24.50,"accountId":"9007199254740993"}' \
    "a list answers them with their stored digits"
out=$(gql_query '{ echo(id: 9007199254740993, amount: 24.50) { amount amountText id cents } }')
assert_eq '{"data":{"echo":{"amount":24.50,"amountText":"24.50","id":"9007199254740993","cents":2450.00}}}' \
    "$out" "ID and Decimal literals reach SQL with their digits"
out=$(gql '{"query":"query ($id: ID, $amount: Decimal) { echo(id: $id, amount: $amount) { amountText id } }","variables":{"id":9007199254740993,"amount":12345678901234567890.10}}')
assert_eq '{"data":{"echo":{"amountText":"12345678901234567890.10","id":"9007199254740993"}}}' \
    "$out" "ID and Decimal variables sent as JSON numbers reach SQL with their digits"
# Money compares as a number, not as text ("24.50" > "100" as text, < "9.99").
out=$(gql_query '{ users(where: {balance: {gt: 9.99}}) { username balance } }')
assert_eq '{"data":{"users":[{"username":"alice","balance":24.50}]}}' "$out" "a Decimal filter compares by value (gt 9.99)"
out=$(gql_query '{ users(where: {balance: {gt: 100}}) { username } }')
assert_eq '{"data":{"users":[]}}' "$out" "a Decimal filter compares by value (gt 100)"
out=$(gql_query '{ users(where: {balance: {eq: "24.5"}}) { username } }')
assert_eq '{"data":{"users":[{"username":"alice"}]}}' "$out" "a Decimal given as a string compares as its number"
out=$(gql_query "{ user(id: \"$ALICE\") { tooMany } }")
assert_eq 'Int cannot represent non 32-bit signed integer value: 2147483648' "$(jq -r '.errors[0].message' <<<"$out")" \
    "an Int field beyond 32 bits is a field error"
assert_eq '{"tooMany":null}' "$(jq -c '.data.user' <<<"$out")" "the field is null"

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
