#!/bin/bash
# mutation_helpers.sh: the engine's helpers for mutation functions (042): result
# constructors, the intent builder for every key type, the argument checks' messages,
# who may run them, and that the checks inline into a caller's expressions.
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

pgcluster_start || exit 1
pgcluster_migrate >/dev/null 2>&1 || { echo "tvsync-migrate up failed"; exit 1; }
q() { pgcluster_psql -c "$1" 2>&1; }

# Results: ids of every key type as text; only the three failure statuses the server knows.
assert_eq "(ok,,order,9007199254740993,\"[{\"\"ids\"\": [\"\"9007199254740993\"\"], \"\"entity\"\": \"\"order\"\"}]\")" \
    "$(q "SELECT tvsync.mutation_ok('order', 9007199254740993::bigint,
                 jsonb_build_array(tvsync.intent('order', ARRAY[9007199254740993::bigint])))")" \
    "mutation_ok: a bigint id above 2^53 keeps every digit, in the result and in its intent"
assert_eq "(ok,,user,10000000-0000-4000-8000-000000000001,[])" \
    "$(q "SELECT tvsync.mutation_ok('user', '10000000-0000-4000-8000-000000000001'::uuid)")" "mutation_ok: a uuid id, no intents"
assert_eq "(not_found,\"no product with id 7\",product,7,[])" \
    "$(q "SELECT tvsync.mutation_failed('not_found', 'no product with id 7', 'product', 7)")" "mutation_failed: an integer id"
assert_eq "(validation_failed,\"sku must not be empty\",product,,[])" \
    "$(q "SELECT tvsync.mutation_failed('validation_failed', 'sku must not be empty', 'product', NULL)")" \
    "mutation_failed: no id"
assert_eq "(conflict,taken,,,[])" "$(q "SELECT tvsync.mutation_failed('conflict', 'taken')")" "mutation_failed: entity and id optional"
assert_contains "$(q "SELECT tvsync.mutation_failed('NOT_FOUND', 'x')")" \
    'status "NOT_FOUND" is not validation_failed, not_found or conflict' \
    "mutation_failed: a status the server does not know is an error naming it"
assert_contains "$(q "SELECT tvsync.mutation_failed('ok', 'x')")" "a successful mutation returns tvsync.mutation_ok" \
    "mutation_failed: ok is not a failure"

# Intents: text ids in key order, no NULLs, no duplicates.
assert_eq '{"ids": ["2", "10", "9007199254740993"], "entity": "order"}' \
    "$(q "SELECT tvsync.intent('order', ARRAY[10, 9007199254740993, NULL, 2, 10]::bigint[])")" \
    "intent: bigint ids as text, numeric order, NULLs and duplicates dropped"
assert_eq '{"ids": ["A-1", "B-2"], "entity": "product"}' "$(q "SELECT tvsync.intent('product', ARRAY['B-2', 'A-1', 'B-2'])")" \
    "intent: text ids"
assert_eq '{"ids": [], "entity": "user"}' "$(q "SELECT tvsync.intent('user', ARRAY[NULL::uuid])")" "intent: a NULL id is no id"
assert_eq '{"ids": [], "entity": "user"}' "$(q "SELECT tvsync.intent('user', '{}'::uuid[])")" "intent: no ids"

# Key arguments of each key type.
check() { q "SELECT coalesce($1, '-')"; }
assert_eq "id x is not a valid UUID" "$(check "tvsync.key_problem('{\"id\": \"x\"}', 'id', 'uuid')")" "key_problem: uuid"
assert_eq "-" "$(check "tvsync.key_problem('{\"id\": \"10000000-0000-4000-8000-000000000001\"}', 'id', 'uuid')")" "key_problem: a good uuid"
assert_eq "orderId null is not a valid bigint" "$(check "tvsync.key_problem('{}', 'orderId', 'bigint')")" "key_problem: a missing bigint"
assert_eq "orderId 9223372036854775808 is not a valid bigint" \
    "$(check "tvsync.key_problem('{\"orderId\": \"9223372036854775808\"}', 'orderId', 'bigint')")" "key_problem: past bigint's range"
assert_eq "-" "$(check "tvsync.key_problem('{\"orderId\": \"9007199254740993\"}', 'orderId', 'bigint')")" "key_problem: a bigint above 2^53"
assert_eq "-" "$(check "tvsync.key_problem('{\"productId\": 7}', 'productId', 'integer')")" "key_problem: an integer as a JSON number"
assert_eq "productId 2147483648 is not a valid integer" \
    "$(check "tvsync.key_problem('{\"productId\": 2147483648}', 'productId', 'integer')")" "key_problem: past integer's range"
assert_eq "productId 1.5 is not a valid integer" "$(check "tvsync.key_problem('{\"productId\": 1.5}', 'productId', 'integer')")" \
    "key_problem: not a whole number"
assert_eq "sku must not be empty" "$(check "tvsync.key_problem('{\"sku\": \" \"}', 'sku', 'text')")" "key_problem: a blank text key"
assert_contains "$(check "tvsync.key_problem('{}', 'id', 'numeric')")" "key type numeric is not uuid, bigint, integer or text" \
    "key_problem: a key type no entity can have is an error"
assert_eq "7|9007199254740993||" "$(q "SELECT tvsync.try_integer(' 7 '), tvsync.try_bigint('9007199254740993'),
                                         tvsync.try_integer('99999999999'), tvsync.try_uuid('nope')")" \
    "try_*: the key, or NULL when the text is not one"

# Text, integer and numeric arguments.
assert_eq "title must not be empty" "$(check "tvsync.text_problem('{\"title\": 5}', 'title')")" "text_problem: not a string"
assert_eq "-" "$(check "tvsync.text_problem('{}', 'title', required => false)")" "text_problem: optional and absent"
assert_eq "title must not be empty" "$(check "tvsync.text_problem('{\"title\": null}', 'title', required => false)")" \
    "text_problem: optional but present as null"
assert_eq "quantity is required" "$(check "tvsync.integer_problem('{}', 'quantity')")" "integer_problem: required"
assert_eq "-" "$(check "tvsync.integer_problem('{}', 'quantity', required => false)")" "integer_problem: optional"
assert_eq "quantity must be an integer" "$(check "tvsync.integer_problem('{\"quantity\": 2.5}', 'quantity')")" "integer_problem: a fraction"
assert_eq "quantity must be an integer" "$(check "tvsync.integer_problem('{\"quantity\": true}', 'quantity')")" "integer_problem: a boolean"
assert_eq "quantity must be at least 1" "$(check "tvsync.integer_problem('{\"quantity\": 0}', 'quantity', min_value => 1)")" \
    "integer_problem: below the minimum"
assert_eq "quantity must be at most 999" "$(check "tvsync.integer_problem('{\"quantity\": \"1000\"}', 'quantity', max_value => 999)")" \
    "integer_problem: above the maximum, given as a string"
assert_eq "-" "$(check "tvsync.numeric_problem('{\"price\": \"24.50\"}', 'price', min_value => 0, max_scale => 2)")" \
    "numeric_problem: 24.50 as a string"
assert_eq "price must have at most 2 digits after the decimal point" \
    "$(check "tvsync.numeric_problem('{\"price\": 24.505}', 'price', max_scale => 2)")" "numeric_problem: too many decimals"
assert_eq "price must be a number" "$(check "tvsync.numeric_problem('{\"price\": \"NaN\"}', 'price')")" "numeric_problem: NaN"
assert_eq "price must be a number" "$(check "tvsync.numeric_problem('{\"price\": \"1$(printf '0%.0s' $(seq 200))\"}', 'price')")" \
    "numeric_problem: a huge digit string is a message, not a SQL error"
assert_eq "price must be at least 0" "$(check "tvsync.numeric_problem('{\"price\": -0.01}', 'price', min_value => 0)")" \
    "numeric_problem: below the minimum"

# References: the row locked FOR KEY SHARE, the entity's name in the message.
pgcluster_psql -c "CREATE TABLE tb_thing (id bigint PRIMARY KEY);
                   CREATE TABLE tv_thing (id bigint PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz);
                   CREATE FUNCTION fn_build_thing(ids bigint[]) RETURNS TABLE (id bigint, data jsonb)
                       LANGUAGE sql STABLE AS 'SELECT t.id, jsonb_build_object(''id'', t.id) FROM tb_thing t';
                   INSERT INTO tvsync.entity (name, tv_table, source_table, build_function)
                   VALUES ('thing', 'tv_thing', 'tb_thing', 'fn_build_thing(bigint[])');
                   INSERT INTO tb_thing VALUES (9007199254740993)" >/dev/null
assert_eq "thingId 5: no such thing" "$(check "tvsync.missing_reference('thingId', 5::bigint, 'tb_thing')")" \
    "missing_reference: names the entity whose source table it is"
assert_eq "thingId 5: no such gadget" "$(check "tvsync.missing_reference('thingId', 5::bigint, 'tb_thing', 'gadget')")" \
    "missing_reference: a noun of the caller's"
assert_eq "FOR KEY SHARE" "$(q "BEGIN; SELECT tvsync.missing_reference('thingId', 9007199254740993::bigint, 'tb_thing');
                              SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks l WHERE l.relation = 'tb_thing'::regclass
                                                       AND l.mode = 'RowShareLock') THEN 'FOR KEY SHARE' END; COMMIT" | tail -1)" \
    "missing_reference: the row it found is locked"
assert_eq "authorId 3: no such user|-" \
    "$(q "SELECT tvsync.reference_problem('authorId', 3, 'user', false), coalesce(tvsync.reference_problem('authorId', 3, 'user', true), '-')")" \
    "reference_problem: the message when the caller's lookup found nothing"

# Who runs them: the role of mutation functions, not PUBLIC.
assert_eq "validation_failed" "$(q "SET ROLE tvsync_app; SELECT (tvsync.mutation_failed('validation_failed',
                                   tvsync.key_problem('{}', 'id', 'uuid'))).status")" "tvsync_app runs the helpers"
assert_eq 0 "$(q "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = 'tvsync' AND has_function_privilege('public', p.oid, 'EXECUTE')")" \
    "no tvsync function is executable by PUBLIC"

# The checks and mutation_ok inline (no SQL function left to plan per transaction).
plan=$(q "EXPLAIN (VERBOSE, COSTS OFF) SELECT tvsync.key_problem(a, 'id', 'bigint'), tvsync.integer_problem(a, 'n', min_value => 1),
                tvsync.numeric_problem(a, 'p', max_scale => 2), tvsync.text_problem(a, 't'), tvsync.mutation_ok('thing', t.id)
          FROM tb_thing t, to_jsonb(t) AS a")
assert_eq "" "$(grep -oE 'tvsync\.[a-z_]+\(' <<<"$plan")" "the checks and mutation_ok leave no function call in the plan"
assert_not_contains "$plan" "is not a valid UUID" "key_problem keeps only the branch of its key type"

test_summary
