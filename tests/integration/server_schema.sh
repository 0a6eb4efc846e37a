#!/bin/bash
# server_schema.sh: tvsync-server checks its schema against the database at start (exit 3
# with one line naming the SDL file and line) and at SIGHUP (the old schema stays); lookups
# and ID arguments follow each table's key type; mutation statuses it does not know.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"

server_database_start
sql() { pgcluster_psql -c "$1"; }
WORK=$(mktemp -d /tmp/tvsync-server-schema.XXXXXX)
pgcluster_on_exit 'rm -rf "$WORK"'

# Read models with each key type, and functions for them (a test's own domain).
pgcluster_psql >/dev/null <<'SQL'
CREATE SCHEMA shop;
CREATE TABLE shop.tv_order (id bigint PRIMARY KEY, data jsonb NOT NULL);
CREATE TABLE shop.tv_seat (id integer PRIMARY KEY, data jsonb NOT NULL);
CREATE TABLE shop.tv_tag (id text PRIMARY KEY, data jsonb NOT NULL);
CREATE TABLE shop.tv_varchar (id varchar(20) PRIMARY KEY, data jsonb NOT NULL);
CREATE TABLE shop.tv_no_data (id bigint PRIMARY KEY, body jsonb);
CREATE TABLE shop.tv_secret (id bigint PRIMARY KEY, data jsonb NOT NULL);
INSERT INTO shop.tv_order VALUES (9007199254740993, '{"id":"9007199254740993","total":"24.50"}'),
                                 (-5, '{"id":"-5","total":"1.00"}');
INSERT INTO shop.tv_seat VALUES (2147483647, '{"id":"2147483647","row":"Z"}');
INSERT INTO shop.tv_tag VALUES ('a,b "c" {d}\e', '{"id":"a,b \"c\" {d}\\e","label":"odd"}');
-- Inserts the order itself (no intents: nothing to wait for) and answers its id as text.
CREATE FUNCTION shop.create_order(args jsonb) RETURNS tvsync.mutation_result LANGUAGE sql AS $$
    INSERT INTO shop.tv_order VALUES ((args ->> 'id')::bigint,
        jsonb_build_object('id', args ->> 'id', 'total', args ->> 'total'))
    RETURNING ROW('ok', NULL, NULL, id::text, NULL)::tvsync.mutation_result
$$;
CREATE FUNCTION shop.bad_id(args jsonb) RETURNS tvsync.mutation_result LANGUAGE sql AS $$
    SELECT ROW('ok', NULL, NULL, 'not-a-number', NULL)::tvsync.mutation_result
$$;
CREATE FUNCTION shop.answer(args jsonb) RETURNS tvsync.mutation_result LANGUAGE sql AS $$
    SELECT ROW(args ->> 'status', 'no such order', 'order', NULL, NULL)::tvsync.mutation_result
$$;
CREATE FUNCTION shop.stats(args jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT '{"orders":2}'::jsonb $$;
CREATE FUNCTION shop.stats_text(args jsonb) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$;
CREATE FUNCTION shop.stats_int(args int) RETURNS jsonb LANGUAGE sql AS $$ SELECT '{}'::jsonb $$;
CREATE ROLE shop_server LOGIN IN ROLE tvsync_app;
GRANT USAGE ON SCHEMA shop TO shop_server;
GRANT SELECT ON shop.tv_order, shop.tv_seat, shop.tv_tag TO shop_server;
GRANT INSERT ON shop.tv_order TO shop_server;
GRANT SELECT (id) ON shop.tv_secret TO shop_server;
SQL

# schema_file NAME BODY: an SDL file with the directive definitions and BODY.
schema_file() {
    {
        sed -n '/^directive @table/,/^directive @whenTrue/p' "$SERVER_SCHEMA" | grep -v '^"""' | grep '^directive'
        printf '%s\n' "$2"
    } >"$WORK/$1.graphql"
}
GOOD_TYPES='type Order @table(name: "shop.tv_order") { id: ID! total: String }
type Seat @table(name: "shop.tv_seat") { id: ID! row: String }
type Tag @table(name: "shop.tv_tag") { id: ID! label: String }
type Stats { orders: Int }'
GOOD_QUERY='type Query {
  order(id: ID!): Order @lookup
  seat(id: ID!): Seat @lookup
  tag(id: ID!): Tag @lookup
  orders: [Order!]! @list
  stats: Stats @sql(function: "shop.stats")
}'
GOOD_MUTATION='type Mutation {
  createOrder(id: ID!, total: String!): Order @sql(function: "shop.create_order")
  badId: Order @sql(function: "shop.bad_id")
  answer(status: String!): Order @sql(function: "shop.answer")
}'
schema_file good "$GOOD_TYPES
$GOOD_QUERY
$GOOD_MUTATION"

# start_refused NAME [options...]: starts the server on schema NAME; prints its exit status
# and its error line. It must stop before listening.
start_refused() {
    local name=$1
    shift
    timeout 30 "$SERVER_BIN" --database "$TVSYNC_DATABASE_URL" --listen 127.0.0.1:0 --schema "$WORK/$name.graphql" \
        "$@" >"$WORK/$name.log" 2>&1
    echo "$? $(grep -v 'listening on' "$WORK/$name.log" | tail -1)"
}
# line_of NAME TEXT: the SDL line that holds TEXT.
line_of() { grep -n -F "$2" "$WORK/$1.graphql" | head -1 | cut -d: -f1; }

# ---------------------------------------------------------------- checks at start
refused() {  # refused NAME TYPES_AND_QUERY EXPECTED_TEXT WHERE DESCRIPTION [options...]
    local name=$1 body=$2 expected=$3 where=$4 description=$5
    shift 5
    schema_file "$name" "$body"
    local out
    out=$(start_refused "$name" "$@")
    assert_eq 3 "${out%% *}" "$description: exit status 3"
    assert_contains "$out" "$WORK/$name.graphql:$(line_of "$name" "$where"): $expected" "$description: one line naming file, line and what"
}
refused no_table "$GOOD_TYPES
type Missing @table(name: \"shop.tv_missing\") { id: ID! }
type Query { missing(id: ID!): Missing @lookup }" \
    '@table "shop.tv_missing": no such table (create it with a migration, or fix the name)' \
    'shop.tv_missing' "a @table that does not exist"
refused no_data "$GOOD_TYPES
type NoData @table(name: \"shop.tv_no_data\") { id: ID! }
type Query { noData(id: ID!): NoData @lookup }" \
    '@table "shop.tv_no_data": no column "data"' 'shop.tv_no_data' "a @table without a data column"
refused varchar_key "$GOOD_TYPES
type Odd @table(name: \"shop.tv_varchar\") { id: ID! }
type Query { odd(id: ID!): Odd @lookup }" \
    '@table "shop.tv_varchar": its id column is character varying (a key must be uuid, bigint, integer or text' \
    'shop.tv_varchar' "a key type the server does not support"
refused no_function "$GOOD_TYPES
type Query { stats: Stats @sql(function: \"shop.statz\") }" \
    'Query.stats: @sql function "shop.statz": no function shop.statz(jsonb) (create it with a migration, or fix the name' \
    'shop.statz' "an @sql function that does not exist"
refused wrong_arguments "$GOOD_TYPES
type Query { stats: Stats @sql(function: \"shop.stats_int\") }" \
    'Query.stats: @sql function "shop.stats_int": no function shop.stats_int(jsonb)' \
    'shop.stats_int' "an @sql function with another signature"
refused query_returns_text "$GOOD_TYPES
type Query { stats: Stats @sql(function: \"shop.stats_text\") }" \
    'Query.stats: @sql function "shop.stats_text": returns text (make it return jsonb)' \
    'shop.stats_text' "a query function that does not return JSON"
refused mutation_returns_jsonb "$GOOD_TYPES
$GOOD_QUERY
type Mutation { make: Order @sql(function: \"shop.stats\") }" \
    'Mutation.make: @sql function "shop.stats": returns jsonb (make it return tvsync.mutation_result)' \
    'function: "shop.stats") }' "a mutation function that does not return tvsync.mutation_result"
SHOP_URL="postgresql://shop_server@127.0.0.1:$PGPORT/$PGDATABASE"
refused not_readable "$GOOD_TYPES
type Secret @table(name: \"shop.tv_secret\") { id: ID! }
type Query { secret(id: ID!): Secret @lookup }" \
    '@table "shop.tv_secret": role "shop_server" may not read its id and data columns (GRANT SELECT ON shop.tv_secret TO shop_server)' \
    'shop.tv_secret' "a table the server's role may not read" --database "$SHOP_URL"
out=$(start_refused good --database "postgresql://postgres@127.0.0.1:1/nowhere" --set database.connect_timeout=2s)
assert_eq 4 "${out%% *}" "no database to check the schema against: exit status 4 (retry later)"
assert_contains "$out" "$WORK/good.graphql: cannot check the schema against the database" "and says why"

# ---------------------------------------------------------------- key types
server_start --schema "$WORK/good.graphql" --database "$SHOP_URL" --set server.threads=1 \
    || { echo "server did not start on the shop schema"; exit 1; }
out=$(gql_query '{ order(id: "9007199254740993") { id total } }')
assert_eq '{"data":{"order":{"id":"9007199254740993","total":"24.50"}}}' "$out" "bigint key above 2^53: exact"
out=$(gql_query '{ order(id: 9007199254740993) { id } }')
assert_eq '{"data":{"order":{"id":"9007199254740993"}}}' "$out" "an ID given as an Int literal is taken as its digits"
out=$(gql_query '{ order(id: "-5") { total } }')
assert_eq '{"data":{"order":{"total":"1.00"}}}' "$out" "a negative bigint key"
out=$(gql_query '{ order(id: "10000000-0000-4000-8000-000000000001") { id } }')
assert_eq "VALIDATION_FAILED" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "a UUID for a bigint key is refused"
assert_contains "$(jq -r '.errors[0].message' <<<"$out")" "is not a valid bigint" "and the error names the key type"
out=$(gql_query '{ order(id: "9223372036854775808") { id } }')
assert_eq "VALIDATION_FAILED" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "a bigint out of range is refused, not a database error"
out=$(gql_query '{ seat(id: "2147483647") { row } }')
assert_eq '{"data":{"seat":{"row":"Z"}}}' "$out" "integer key"
out=$(gql_query '{ seat(id: "2147483648") { row } }')
assert_contains "$(jq -r '.errors[0].message' <<<"$out")" "is not a valid integer" "an integer out of range is refused"
out=$(gql "$(jq -cn '{query: "query($t: ID!) { tag(id: $t) { label } }", variables: {t: "a,b \"c\" {d}\\e"}}')")
assert_eq '{"data":{"tag":{"label":"odd"}}}' "$out" "text key with commas, quotes, braces and a backslash"
out=$(gql_query '{ tag(id: "nope") { label } }')
assert_eq '{"data":{"tag":null}}' "$out" "an unknown text key is null"
out=$(gql_query '{ stats { orders } }')
assert_eq '{"data":{"stats":{"orders":2}}}' "$out" "a checked @sql query function runs"
out=$(gql_query 'mutation { createOrder(id: 9007199254740995, total: "3.10") { id total } }')
assert_eq '{"data":{"createOrder":{"id":"9007199254740995","total":"3.10"}}}' "$out" \
    "a mutation's text id is looked up with its table's key type (bigint above 2^53)"
out=$(gql_query 'mutation { badId { id } }')
assert_eq "INTERNAL_SERVER_ERROR" "$(jq -r '.errors[0].extensions.code' <<<"$out")" \
    "a mutation id the key type rejects is an error, not a failed statement"

# ---------------------------------------------------------------- mutation statuses
out=$(gql_query 'mutation { answer(status: "not_found") { id } }')
assert_eq "NOT_FOUND no such order" "$(jq -r '.errors[0] | .extensions.code + " " + .message' <<<"$out")" \
    "status not_found: NOT_FOUND with the function's message"
out=$(gql_query 'mutation { answer(status: "conflict") { id } }')
assert_eq "CONFLICT" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "status conflict: CONFLICT"
out=$(gql_query 'mutation { answer(status: "validation_failed") { id } }')
assert_eq "VALIDATION_FAILED" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "status validation_failed: VALIDATION_FAILED"
out=$(gql_query 'mutation { answer(status: "NOT_FOUND") { id } }')
assert_eq "INTERNAL_SERVER_ERROR" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "an unknown status is an error"
assert_eq 'The mutation function answered status "NOT_FOUND", which is not one of ok, validation_failed, not_found, conflict; nothing was written.' \
    "$(jq -r '.errors[0].message' <<<"$out")" "that names the status and the values allowed"
assert_contains "$(cat "$SERVER_LOG")" 'answered status "NOT_FOUND"' "and is logged for operators"

# ---------------------------------------------------------------- SIGHUP
cp "$WORK/good.graphql" "$WORK/good.graphql.orig"
schema_file good "$GOOD_TYPES
type Missing @table(name: \"shop.tv_missing\") { id: ID! }
$GOOD_QUERY"
kill -HUP "$SERVER_PID"
wait_for 10 grep -q "keeping the current schema" "$SERVER_LOG"
assert_contains "$(grep 'keeping the current schema' "$SERVER_LOG")" \
    "$WORK/good.graphql:$(line_of good 'shop.tv_missing'): @table \"shop.tv_missing\": no such table" \
    "SIGHUP with a table that does not exist: logged with file and line"
out=$(gql_query '{ order(id: "-5") { total } }')
assert_eq '{"data":{"order":{"total":"1.00"}}}' "$out" "SIGHUP: the old schema keeps serving"
sql "ALTER TABLE shop.tv_seat ALTER COLUMN id TYPE bigint" >/dev/null
cp "$WORK/good.graphql.orig" "$WORK/good.graphql"
kill -HUP "$SERVER_PID"
wait_for 10 grep -q "schema reloaded" "$SERVER_LOG"
out=$(gql_query '{ seat(id: "2147483648") { row } }')
assert_eq '{"data":{"seat":null}}' "$out" "SIGHUP reads the key types again (integer became bigint)"
server_stop

test_summary
