#!/bin/sh
# cdc_key_types: entities keyed by uuid, bigint, integer and text, end to end through
# tvsync-slot create, tvsync.publish and tvsync-cdc (cascades between a bigint and an
# integer entity, a moved reference, deletes), a chunked rebuild in numeric order,
# ids that are not of their key type, and SIGKILLs; verify exits 0 after each step.
. "$TVSYNC_SRCDIR/tests/integration/cdc_lib.sh"
set -u

pgcluster_start || exit 1
cdc_migrate || { echo "migrations failed" >&2; exit 1; }
cdc_install_oracle >/dev/null || exit 1

# A shop: customers (integer) embed their orders (bigint) and the orders embed their
# customer's name; tags (uuid) and notes (text) stand alone.
pgcluster_psql <<'SQL' >/dev/null || exit 1
CREATE SCHEMA shop;
CREATE TABLE shop.tb_customer (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE shop.tb_order (id bigint PRIMARY KEY, customer_id integer NOT NULL REFERENCES shop.tb_customer,
                            total numeric(12, 2) NOT NULL);
CREATE TABLE shop.tb_tag (id uuid PRIMARY KEY, label text NOT NULL);
CREATE TABLE shop.tb_note (id text PRIMARY KEY, body text NOT NULL);
CREATE TABLE shop.tv_customer (id integer PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE shop.tv_order (id bigint PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE shop.tv_tag (id uuid PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE shop.tv_note (id text PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());

CREATE FUNCTION shop.build_customer(ids integer[]) RETURNS TABLE (id integer, data jsonb) LANGUAGE sql STABLE AS $$
    SELECT c.id, jsonb_build_object('id', c.id, 'name', c.name,
        'orders', coalesce((SELECT jsonb_agg(o.id::text ORDER BY o.id) FROM shop.tb_order o WHERE o.customer_id = c.id), '[]'))
    FROM shop.tb_customer c WHERE ids IS NULL OR c.id = ANY (ids)
$$;
CREATE FUNCTION shop.build_order(ids bigint[]) RETURNS TABLE (id bigint, data jsonb) LANGUAGE sql STABLE AS $$
    SELECT o.id, jsonb_build_object('id', o.id::text, 'customerId', o.customer_id, 'total', o.total)
    FROM shop.tb_order o WHERE ids IS NULL OR o.id = ANY (ids)
$$;
CREATE FUNCTION shop.build_tag(ids uuid[]) RETURNS TABLE (id uuid, data jsonb) LANGUAGE sql STABLE AS $$
    SELECT t.id, jsonb_build_object('id', t.id, 'label', t.label) FROM shop.tb_tag t WHERE ids IS NULL OR t.id = ANY (ids)
$$;
CREATE FUNCTION shop.build_note(ids text[]) RETURNS TABLE (id text, data jsonb) LANGUAGE sql STABLE AS $$
    SELECT n.id, jsonb_build_object('id', n.id, 'body', n.body) FROM shop.tb_note n WHERE ids IS NULL OR n.id = ANY (ids)
$$;
INSERT INTO tvsync.entity (name, tv_table, source_table, build_function) VALUES
    ('customer', 'shop.tv_customer', 'shop.tb_customer', 'shop.build_customer(integer[])'),
    ('order', 'shop.tv_order', 'shop.tb_order', 'shop.build_order(bigint[])'),
    ('tag', 'shop.tv_tag', 'shop.tb_tag', 'shop.build_tag(uuid[])'),
    ('note', 'shop.tv_note', 'shop.tb_note', 'shop.build_note(text[])');
-- $1: the changed orders (bigint[]); the answer: customers (integer), old and new.
INSERT INTO tvsync.cascade (source_entity, target_entity, query) VALUES ('order', 'customer', $q$
    SELECT o.customer_id FROM shop.tb_order o WHERE o.id = ANY ($1)
    UNION SELECT (t.data->>'customerId')::integer FROM shop.tv_order t WHERE t.id = ANY ($1)
$q$);
INSERT INTO shop.tb_customer VALUES (1, 'Ada'), (2, 'Bob'), (3, 'Cy');
INSERT INTO shop.tb_order VALUES (2, 1, 10.50), (10, 1, 24.50), (100, 2, 7.00);
INSERT INTO shop.tb_tag VALUES ('0190e6c2-7a1b-7cde-8f00-0123456789ab', 'first');
INSERT INTO shop.tb_note VALUES ('plain', 'a note');
SQL
assert_eq "bigint integer text uuid" \
    "$(pgcluster_psql -c "SELECT string_agg(key_type::text, ' ' ORDER BY key_type::text) FROM tvsync.entity WHERE name IN ('customer', 'order', 'tag', 'note')")" \
    "the registry knows each entity's key type"

# The initial build goes chunk by chunk (rebuild_chunk with a text position).
"$TVSYNC_BUILDDIR/slot/tvsync-slot" --database "$TVSYNC_DATABASE_URL" --set cdc.rebuild_chunk_rows=2 create \
    >"$PGCLUSTER_DIR/slot_create.log" 2>&1
assert_eq "0" "$?" "tvsync-slot create builds every key type in chunks"
assert_contains "$(cat "$PGCLUSTER_DIR/slot_create.log")" "built order: 3 rows upserted, 0 deleted, 2 chunks" \
    "the bigint entity was built in two chunks of two"
assert_exit 0 "after the initial build every tv_* equals a full rebuild (verify)" -- cdc_verify

cdc_kill_on_exit
CDC_ARGS="--set cdc.rebuild_chunk_rows=2 --set cdc.max_retries=1"
cdc_start $CDC_ARGS || exit 1

# Runs SQL (stdin) whose last statement publishes; waits until that is applied.
publish() {
    local lsn
    lsn=$(pgcluster_psql | tail -n1)
    [ -n "$lsn" ] || { echo "nothing published" >&2; return 1; }
    cdc_wait_lsn "$lsn" 30
}
q() {
    pgcluster_psql -c "$1"
}

# 1. bigint ids above 2^53 and below zero, and the cascade to their customers.
publish <<'SQL'
INSERT INTO shop.tb_order VALUES (9007199254740993, 1, 1.00), (-5, 2, 2.00);
SELECT tvsync.publish('order', ARRAY[9007199254740993, -5]::bigint[]);
SQL
assert_eq "9007199254740993" "$(q "SELECT data->>'id' FROM shop.tv_order WHERE id = 9007199254740993")" \
    "a bigint above 2^53 keeps every digit (tv_order row and document)"
assert_eq '["2", "10", "9007199254740993"]' "$(q "SELECT data->'orders' FROM shop.tv_customer WHERE id = 1")" \
    "the cascade from bigint orders reached their integer customer"
assert_eq '["-5", "100"]' "$(q "SELECT data->'orders' FROM shop.tv_customer WHERE id = 2")" \
    "a negative bigint went through the cascade"

# 2. A moved reference: order 10 goes from customer 1 to customer 3.
publish <<'SQL'
UPDATE shop.tb_order SET customer_id = 3 WHERE id = 10;
SELECT tvsync.publish('order', ARRAY['10']);
SQL
assert_eq '["2", "9007199254740993"]' "$(q "SELECT data->'orders' FROM shop.tv_customer WHERE id = 1")" \
    "the old customer of a moved order lost it"
assert_eq '["10"]' "$(q "SELECT data->'orders' FROM shop.tv_customer WHERE id = 3")" \
    "the new customer of a moved order has it"

# 3. A delete, and integer and uuid keys on their own.
publish <<'SQL'
DELETE FROM shop.tb_order WHERE id = -5;
INSERT INTO shop.tb_customer VALUES (4, 'Di');
UPDATE shop.tb_tag SET label = 'renamed';
INSERT INTO shop.tb_tag VALUES ('00000000-0000-4000-8000-000000000002', 'second');
SELECT tvsync.publish('customer', ARRAY[4]);
SELECT tvsync.publish('tag', ARRAY['0190e6c2-7a1b-7cde-8f00-0123456789ab', '00000000-0000-4000-8000-000000000002']::uuid[]);
SELECT tvsync.publish('order', ARRAY[-5]::bigint[]);
SQL
assert_eq "0" "$(q "SELECT count(*) FROM shop.tv_order WHERE id = -5")" "a deleted bigint order's document is gone"
assert_eq '["100"]' "$(q "SELECT data->'orders' FROM shop.tv_customer WHERE id = 2")" \
    "its customer no longer lists it"
assert_eq "Di" "$(q "SELECT data->>'name' FROM shop.tv_customer WHERE id = 4")" "a new integer-keyed row is built"
assert_eq "renamed second" "$(q "SELECT string_agg(data->>'label', ' ' ORDER BY data->>'label') FROM shop.tv_tag")" \
    "uuid-keyed rows are built"

# 4. Text ids an array literal or JSON must quote: a comma, a quote, a backslash,
# braces, spaces, NULL, unicode, the empty string.
publish <<'SQL'
INSERT INTO shop.tb_note VALUES ('a,b', 'comma'), ('say "hi"', 'quote'), (E'back\\slash', 'backslash'),
    ('{braces}', 'braces'), ('  spaced out  ', 'spaces'), ('NULL', 'null word'), ('héllo ✓', 'unicode'), ('', 'empty');
UPDATE shop.tb_note SET body = 'changed' WHERE id = 'plain';
SELECT tvsync.publish('note', ARRAY['a,b', 'say "hi"', E'back\\slash', '{braces}', '  spaced out  ', 'NULL',
                                     'héllo ✓', '', 'plain']);
SQL
assert_eq "9" "$(q "SELECT count(*) FROM shop.tv_note t JOIN shop.tb_note n ON n.id = t.id AND t.data->>'body' = n.body")" \
    "every text id (comma, quote, backslash, braces, spaces, NULL, unicode, empty) has its document"
publish <<'SQL'
DELETE FROM shop.tb_note WHERE id IN ('say "hi"', '{braces}');
SELECT tvsync.publish('note', ARRAY['say "hi"', '{braces}']);
SQL
assert_eq "7" "$(q "SELECT count(*) FROM shop.tv_note")" "deleted text ids lose their documents"
assert_exit 0 "after inserts, updates, deletes and a move verify exits 0" -- cdc_verify

# 5. An id no bigint can have, published by hand beside good ids: it alone goes to
# tvsync.dead_letter; the good ones (and their cascades) apply.
publish <<'SQL'
INSERT INTO shop.tb_order VALUES (7, 3, 3.00), (8, 4, 4.00);
SELECT tvsync.publish('order', ARRAY[7]::bigint[]);
SELECT pg_logical_emit_message(true, 'tvsync', '{"entity":"order","ids":["x","8"]}');
SQL
assert_eq "{\"entity\":\"order\",\"ids\":[\"x\"]}|id 0 is not a bigint (ids are the key's text form)" \
    "$(q "SELECT content || '|' || reason FROM tvsync.dead_letter")" "the bad id alone is dead-lettered, with why"
assert_eq '["7", "10"]|["8"]' \
    "$(q "SELECT (SELECT data->>'orders' FROM shop.tv_customer WHERE id = 3) || '|' || (SELECT data->>'orders' FROM shop.tv_customer WHERE id = 4)")" \
    "the good ids of the same intent and batch applied, with their cascades"

# Ids published by hand in another text form of the key (sign, zeros, blanks, upper
# case, braces) are the same ids.
publish <<'SQL'
UPDATE shop.tb_order SET total = 99.99 WHERE id IN (7, 10);
UPDATE shop.tb_tag SET label = 'by hand' WHERE id = '0190e6c2-7a1b-7cde-8f00-0123456789ab';
SELECT pg_logical_emit_message(true, 'tvsync', '{"entity":"order","ids":["+0010"," 7 "]}');
SELECT pg_logical_emit_message(true, 'tvsync', '{"entity":"tag","ids":["{0190E6C2-7A1B-7CDE-8F00-0123456789AB}"]}');
SQL
assert_eq "99.99 99.99 by hand" \
    "$(q "SELECT string_agg(data->>'total', ' ' ORDER BY id) FROM shop.tv_order WHERE id IN (7, 10)") $(q "SELECT data->>'label' FROM shop.tv_tag WHERE id = '0190e6c2-7a1b-7cde-8f00-0123456789ab'")" \
    "ids in another text form of their key are applied"
assert_eq "1" "$(q "SELECT count(*) FROM tvsync.dead_letter")" "and not dead-lettered"

# 6. An id that looks like a number but that the key type rejects fails its batch like
# a build error: retried, bisected, and only it goes to tvsync.dead_letter.
publish <<'SQL'
UPDATE shop.tb_customer SET name = 'Bobby' WHERE id = 2;
SELECT tvsync.publish('customer', ARRAY[2]);
SELECT pg_logical_emit_message(true, 'tvsync', '{"entity":"customer","ids":["3abc"]}');
SQL
assert_eq "Bobby" "$(q "SELECT data->>'name' FROM shop.tv_customer WHERE id = 2")" \
    "the good id of a batch the key type failed is applied"
assert_contains "$(q "SELECT content || ' ' || reason FROM tvsync.dead_letter WHERE content LIKE '%3abc%'")" \
    '{"entity":"customer","ids":["3abc"]} invalid input syntax for type integer' \
    "the id the key type rejects is dead-lettered with the database's error"
assert_eq "2" "$(q "SELECT count(*) FROM tvsync.dead_letter")" "nothing else was dead-lettered"

# 7. A full rebuild of the bigint entity in chunks of two, in numeric order (text order
# would put 10 and 100 before 2), replacing stale and extra documents.
q "DELETE FROM shop.tv_order WHERE id IN (2, 100)" >/dev/null
q "UPDATE shop.tv_order SET data = '{}'" >/dev/null
q "INSERT INTO shop.tv_order (id, data) VALUES (55, '{}'), (9223372036854775807, '{}')" >/dev/null
assert_exit 1 "stale documents make verify exit 1" -- cdc_verify
assert_contains "$ASSERT_OUTPUT" "order 9223372036854775807: extra" "verify names a bigint id with every digit"
assert_contains "$ASSERT_OUTPUT" "order 9007199254740993: different" "verify names a stale document's bigint id"
assert_contains "$ASSERT_OUTPUT" "order 2: missing" "verify names a missing document's id"
chunks_before=$(cdc_metrics | sed -n 's/^tvsync_cdc_rebuild_chunks_total{entity="order"} //p')
"$TVSYNC_BUILDDIR/slot/tvsync-slot" --database "$TVSYNC_DATABASE_URL" rebuild order >/dev/null 2>&1
assert_eq "0" "$?" "tvsync-slot rebuild order asks for the rebuild"
rebuild_done() {
    [ "$(q "SELECT count(*) FROM tvsync.cdc_rebuild")" = 0 ] &&
        [ "$(q "SELECT count(*) FROM tvsync.sync_log WHERE entity = 'order' AND intents = 0")" -ge 1 ]
}
wait_for 30 rebuild_done
assert_exit 0 "after the chunked rebuild verify exits 0" -- cdc_verify
chunks=$(cdc_metrics | sed -n 's/^tvsync_cdc_rebuild_chunks_total{entity="order"} //p')
assert_eq "4" "$((${chunks:-0} - ${chunks_before:-0}))" \
    "the rebuild of 6 orders went in 4 chunks of at most 2 (2 7 | 8 10 | 100 9007199254740993 | the rest)"

# 8. SIGKILLs during writes of every key type: the same result.
cat > "$PGCLUSTER_DIR/w_keys.sql" <<'SQL'
\set n random(1, 4)
\set c random(1, 4)
BEGIN;
UPDATE shop.tb_order SET total = total + 1, customer_id = :c WHERE id = (ARRAY[2, 10, 100, 9007199254740993])[:n];
SELECT tvsync.publish('order', ARRAY[(ARRAY[2, 10, 100, 9007199254740993])[:n]]);
UPDATE shop.tb_note SET body = md5(random()::text) WHERE id = (ARRAY['a,b', E'back\\slash', 'héllo ✓', ''])[:n];
SELECT tvsync.publish('note', ARRAY[(ARRAY['a,b', E'back\\slash', 'héllo ✓', ''])[:n]]);
UPDATE shop.tb_customer SET name = md5(random()::text) WHERE id = :c;
SELECT tvsync.publish('customer', ARRAY[:c]);
UPDATE shop.tb_tag SET label = md5(random()::text);
SELECT tvsync.publish('tag', ARRAY(SELECT id FROM shop.tb_tag));
END;
SQL
"$PGCLUSTER_BINDIR/pgbench" -n -c 3 -j 1 -R 40 -T 8 -f "$PGCLUSTER_DIR/w_keys.sql" >"$PGCLUSTER_DIR/pgbench.log" 2>&1 &
loader=$!
kills=0
while [ $kills -lt 4 ]; do
    sleep "$(awk -v r="$(od -An -N2 -tu2 /dev/urandom)" 'BEGIN { printf "%.2f", 0.3 + (r % 100) / 100 }')"
    kill -9 "$CDC_PID"
    wait "$CDC_PID" 2>/dev/null
    kills=$((kills + 1))
    cdc_start $CDC_ARGS || { assert__fail "tvsync-cdc restarts after SIGKILL $kills"; break; }
done
wait $loader
assert_eq "0" "$?" "the write load over every key type ran without errors"
cdc_sync 120
assert_exit 0 "after SIGKILLs during writes of every key type verify exits 0" -- cdc_verify
assert_eq "2" "$(q "SELECT count(*) FROM tvsync.dead_letter")" "no intent was dead-lettered under SIGKILLs"

cdc_stop
assert_eq "0" "$CDC_STATUS" "SIGTERM exits 0"
test_summary
