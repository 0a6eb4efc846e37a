#!/bin/bash
# migrate_sql.sh: the engine schema at the SQL level: publish and request_rebuild reach the
# WAL (read back through wal2json, or test_decoding where the server has none), apply/rebuild_chunk
# converge, cascades find old and new references, and the roles get exactly their privileges.
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

pgcluster_start || exit 1
pgcluster_migrate >/dev/null 2>&1 || { echo "tvsync-migrate up failed"; exit 1; }
"$TVSYNC_BUILDDIR/migrations/tvsync-migrate" seed "$TVSYNC_SRCDIR/examples/blog/seed.sql" >/dev/null 2>&1 ||
    { echo "tvsync-migrate seed failed"; exit 1; }

ALICE=10000000-0000-4000-8000-000000000001
BOB=10000000-0000-4000-8000-000000000002
CHARLIE=10000000-0000-4000-8000-000000000003
POST1=20000000-0000-4000-8000-000000000001
POST2=20000000-0000-4000-8000-000000000002
POST3=20000000-0000-4000-8000-000000000003
COMMENT1=30000000-0000-4000-8000-000000000001
COMMENT2=30000000-0000-4000-8000-000000000002
COMMENT3=30000000-0000-4000-8000-000000000003
COMMENT4=30000000-0000-4000-8000-000000000004

verify() {
    "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" verify
}

# --- intents in the WAL ------------------------------------------------------------------
# wal2json, or test_decoding on servers without it (the npm builds of PostgreSQL 16-18).
SLOT_PLUGIN=test_decoding SLOT_OPTIONS=
if pgcluster_has_plugin wal2json; then
    SLOT_PLUGIN=wal2json SLOT_OPTIONS=", 'format-version', '2'"
fi
# The tvsync messages decoded since the slot was made (peek: nothing is consumed), as rows
# (lsn, transactional, content).
SLOT_MESSAGES="SELECT (data::jsonb->>'lsn')::pg_lsn AS lsn, (data::jsonb->>'transactional')::boolean AS transactional,
        data::jsonb->>'content' AS content
    FROM pg_logical_slot_peek_changes('test_slot', NULL, NULL, 'format-version', '2', 'add-msg-prefixes', 'tvsync',
        'include-lsn', 'true') WHERE data::jsonb->>'action' = 'M'"
if [ "$SLOT_PLUGIN" = test_decoding ]; then
    SLOT_MESSAGES="SELECT lsn, substring(data FROM '^message: transactional: ([01])') = '1' AS transactional,
            substring(data FROM '^message: transactional: [01] prefix: tvsync, sz: [0-9]+ content:(.*)$') AS content
        FROM pg_logical_slot_peek_changes('test_slot', NULL, NULL) WHERE data LIKE 'message: transactional: _ prefix: tvsync, %'"
fi
pgcluster_psql -c "SELECT pg_create_logical_replication_slot('test_slot', '$SLOT_PLUGIN')" >/dev/null
messages() {
    pgcluster_psql -c "SELECT content FROM ($SLOT_MESSAGES) AS m WHERE transactional"
}
advance() {
    pgcluster_psql -c "SELECT count(*) FROM pg_logical_slot_get_changes('test_slot', NULL, NULL$SLOT_OPTIONS)" >/dev/null
}

lsn=$(pgcluster_psql -c "SELECT tvsync.publish('post', ARRAY['$POST2', '$POST1', '$POST2']::uuid[])")
assert_eq "{\"entity\":\"post\",\"ids\":[\"$POST1\",\"$POST2\"]}" "$(messages)" \
    "publish emits one transactional tvsync message with the ids, duplicates dropped"
message_lsn=$(pgcluster_psql -c "SELECT lsn FROM ($SLOT_MESSAGES) AS m")
assert_eq "t" "$(pgcluster_psql -c "SELECT '$lsn'::pg_lsn >= '$message_lsn'::pg_lsn")" \
    "publish returns an LSN at or past its message"
advance

pgcluster_psql -c "BEGIN; SELECT tvsync.publish('post', ARRAY['$POST3']::uuid[]); ROLLBACK;" >/dev/null
pgcluster_psql -c "SELECT tvsync.heartbeat()" >/dev/null
assert_contains "$(messages)" '{"heartbeat":"' "a heartbeat reaches the log"
assert_not_contains "$(messages)" "$POST3" "a rolled-back publish emits nothing"
advance

pgcluster_psql -c "SELECT tvsync.publish('user', array(SELECT gen_random_uuid() FROM generate_series(1, 25000)))" >/dev/null
sizes=$(pgcluster_psql -c "SELECT string_agg(jsonb_array_length(content::jsonb->'ids')::text, ',') FROM ($SLOT_MESSAGES) AS m")
assert_eq "10000,10000,5000" "$sizes" "25,000 ids are split into messages of at most 10,000"
advance

assert_eq "" "$(pgcluster_psql -c "SELECT tvsync.publish('post', '{}'::uuid[])")" "publishing no id emits nothing"
assert_exit 1 "publishing an unknown entity fails" -- pgcluster_psql -c "SELECT tvsync.publish('nope', ARRAY['$POST1']::uuid[])"
assert_contains "$ASSERT_OUTPUT" 'unknown entity "nope"' "the error names the entity"
pgcluster_psql -c "SELECT tvsync.request_rebuild('user')" >/dev/null
assert_eq '{"entity":"user","rebuild":true}' "$(messages)" "request_rebuild emits a rebuild intent"
advance

# finish_mutation: what tvsync-server runs around each mutation function.
assert_eq "ok|$POST2" \
    "$(pgcluster_psql -c "SELECT status, id FROM tvsync.finish_mutation(blog.update_post('{\"id\": \"$POST2\", \"title\": \"finished\"}'))")" \
    "finish_mutation returns an ok result"
assert_eq "{\"entity\":\"post\",\"ids\":[\"$POST2\"]}" "$(messages)" "finish_mutation publishes the result's intents"
advance
title_before=$(pgcluster_psql -c "SELECT title FROM tb_post WHERE id = '$POST2'")
assert_exit 1 "finish_mutation raises for a failed mutation" -- pgcluster_psql -v VERBOSITY=verbose \
    -c "SELECT * FROM tvsync.finish_mutation(blog.update_post('{\"id\": \"$POST2\", \"title\": \" \"}'))"
assert_contains "$ASSERT_OUTPUT" "TVS01: title must not be empty" "the error has SQLSTATE TVS01 and the function's message"
assert_contains "$ASSERT_OUTPUT" "DETAIL:  validation_failed" "the error's detail is the status"
assert_eq "$title_before" "$(pgcluster_psql -c "SELECT title FROM tb_post WHERE id = '$POST2'")" \
    "a failed mutation writes nothing"
assert_exit 1 "finish_mutation raises for a result without a status" -- pgcluster_psql -v VERBOSITY=verbose \
    -c "SELECT * FROM tvsync.finish_mutation(ROW(NULL, NULL, 'post', NULL, '[{\"entity\": \"post\", \"ids\": [\"$POST2\"]}]')::tvsync.mutation_result)"
assert_contains "$ASSERT_OUTPUT" "DETAIL:  validation_failed" "a missing status counts as validation_failed"
assert_eq "" "$(messages)" "a failed mutation publishes nothing"
pgcluster_psql -c "SELECT pg_drop_replication_slot('test_slot')" >/dev/null

# --- apply and rebuild_chunk --------------------------------------------------------------
assert_eq "(3,0)(3,0)(4,0)" \
    "$(pgcluster_psql -c "SELECT string_agg(tvsync.apply(name, NULL)::text, '' ORDER BY name DESC) FROM tvsync.entity")" \
    "a full apply upserts every row"
assert_eq "(0,0)" "$(pgcluster_psql -c "SELECT tvsync.apply('post', NULL)")" "applying unchanged rows writes nothing"
assert_exit 0 "verify agrees with a full apply" -- verify
assert_eq "2024-02-01T10:00:00.000000Z" \
    "$(pgcluster_psql -c "SELECT data->>'createdAt' FROM tv_post WHERE id = '$POST1'")" "timestamps are ISO 8601 in UTC"
assert_eq "$COMMENT1,$COMMENT2,$COMMENT4" \
    "$(pgcluster_psql -c "SELECT string_agg(c->>'id', ',') FROM tv_post, jsonb_array_elements(data->'comments') c WHERE id = '$POST1'")" \
    "a post embeds its comments oldest first"
assert_eq "3 alice Alice Anderson" \
    "$(pgcluster_psql -c "SELECT concat_ws(' ', data->>'commentCount', data->'author'->>'username', data->'author'->>'fullName') FROM tv_post WHERE id = '$POST1'")" \
    "a post carries its comment count and author"
assert_eq "2 2 1" \
    "$(pgcluster_psql -c "SELECT concat_ws(' ', data->>'postCount', data->>'publishedPostCount', data->>'commentCount') FROM tv_user WHERE id = '$ALICE'")" \
    "a user carries post, published post and comment counts"
assert_eq "$POST1 Getting started with CQRS bob" \
    "$(pgcluster_psql -c "SELECT concat_ws(' ', data->>'postId', data->'post'->>'title', data->'author'->>'username') FROM tv_comment WHERE id = '$COMMENT1'")" \
    "a comment carries its post and author"

pgcluster_psql -c "DELETE FROM tv_user WHERE id = '$BOB'; UPDATE tv_user SET data = '{}' WHERE id = '$ALICE';
    INSERT INTO tv_user (id, data) VALUES ('ffffffff-0000-4000-8000-000000000000', '{}'),
                                          ('00000000-0000-4000-8000-000000000000', '{}')"
# Runs rebuild_chunk over tv_user in chunks of 2 until done; prints what it did.
chunked_rebuild() {
    pgcluster_psql 2>&1 <<'EOF'
DO $$
DECLARE
    after uuid;
    r record;
    calls int := 0;
    up bigint := 0;
    del bigint := 0;
BEGIN
    LOOP
        r := tvsync.rebuild_chunk('user', after, 2);
        calls := calls + 1;
        up := up + r.upserted;
        del := del + r.deleted;
        after := r.last_id;
        EXIT WHEN after IS NULL OR calls > 10;
    END LOOP;
    RAISE NOTICE 'chunks % upserted % deleted %', calls, up, del;
END
$$;
EOF
}
assert_contains "$(chunked_rebuild)" "chunks 2 upserted 2 deleted 2" \
    "a chunked rebuild restores a missing and a changed row and deletes two strays"
run_chunks=$(chunked_rebuild)
assert_contains "$run_chunks" "chunks 2 upserted 0 deleted 0" "a second chunked rebuild of a rebuilt table changes nothing"
assert_exit 0 "verify agrees after a chunked rebuild" -- verify
assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM tv_user WHERE id IN ('ffffffff-0000-4000-8000-000000000000', '00000000-0000-4000-8000-000000000000')")" \
    "a chunked rebuild deletes tv rows without a source row, at both ends of the id range"
assert_exit 1 "rebuild_chunk refuses a chunk size of 0" -- pgcluster_psql -c "SELECT tvsync.rebuild_chunk('user', NULL, 0)"

# --- cascades ---------------------------------------------------------------------------------
pgcluster_psql <<'EOF'
CREATE SCHEMA test;
-- Runs one declared cascade query, as tvsync-cdc does.
CREATE FUNCTION test.cascade_ids(source text, target text, ids uuid[]) RETURNS SETOF uuid
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE (SELECT query FROM tvsync.cascade WHERE source_entity = source AND target_entity = target)
        USING ids;
END
$$;
-- Expands cascades transitively from one entity's ids and applies every reached entity:
-- what tvsync-cdc does with one intent. Returns "entity:[ids]" of what it rebuilt.
CREATE FUNCTION test.sync(entity text, ids uuid[]) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    todo jsonb := jsonb_build_object(entity, to_jsonb(ids));
    done text[] := '{}';
    current text;
    c record;
    found uuid[];
    result text := '';
BEGIN
    LOOP
        SELECT k INTO current FROM jsonb_object_keys(todo) k WHERE k <> ALL (done) ORDER BY k LIMIT 1;
        EXIT WHEN current IS NULL;
        done := done || current;
        FOR c IN SELECT target_entity FROM tvsync.cascade WHERE source_entity = current LOOP
            SELECT array_agg(DISTINCT x) INTO found FROM (
                SELECT test.cascade_ids(current, c.target_entity,
                    ARRAY(SELECT jsonb_array_elements_text(todo->current)::uuid)) AS x
                UNION SELECT jsonb_array_elements_text(coalesce(todo->c.target_entity, '[]'))::uuid) s;
            todo := todo || jsonb_build_object(c.target_entity, coalesce(to_jsonb(found), '[]'));
        END LOOP;
    END LOOP;
    FOR current IN SELECT k FROM jsonb_object_keys(todo) k ORDER BY k LOOP
        PERFORM tvsync.apply(current, ARRAY(SELECT jsonb_array_elements_text(todo->current)));
        result := result || current || ':' || (todo->current)::text || ' ';
    END LOOP;
    RETURN rtrim(result);
END
$$;
EOF
cascade() {
    pgcluster_psql -c "SELECT string_agg(x::text, ',' ORDER BY x) FROM test.cascade_ids('$1', '$2', '{$3}') x"
}

pgcluster_psql -c "UPDATE tb_user SET username = 'alice2' WHERE id = '$ALICE'"
assert_eq "$POST1,$POST2" "$(cascade user post "$ALICE")" \
    "a user rename reaches the user's posts and the posts the user commented on"
assert_eq "$COMMENT4" "$(cascade user comment "$ALICE")" "a user rename reaches the user's comments"
assert_eq "$POST1,$POST3" "$(cascade user post "$BOB")" "bob's posts and the post he commented on"
pgcluster_psql -c "SELECT test.sync('user', '{$ALICE}')" >/dev/null
assert_eq "alice2 alice2" \
    "$(pgcluster_psql -c "SELECT (SELECT data->'author'->>'username' FROM tv_post WHERE id = '$POST2') || ' ' ||
        (SELECT c->'author'->>'username' FROM tv_post, jsonb_array_elements(data->'comments') c WHERE id = '$POST1' AND c->>'id' = '$COMMENT4')")" \
    "after the cascade the rename shows in posts and in embedded comments"
assert_exit 0 "verify agrees after the rename's cascade" -- verify

# A comment moved to another post: both the old post (from tv) and the new one (from tb).
pgcluster_psql -c "UPDATE tb_comment SET post_id = '$POST2' WHERE id = '$COMMENT1'"
assert_eq "$POST1,$POST2" "$(cascade comment post "$COMMENT1")" "a moved comment reaches its old and its new post"
pgcluster_psql -c "SELECT test.sync('comment', '{$COMMENT1}')" >/dev/null
assert_exit 0 "verify agrees after the move's cascade" -- verify

# A deleted post: its comments are gone from tb_* (ON DELETE CASCADE) and found in tv_*.
pgcluster_psql -c "DELETE FROM tb_post WHERE id = '$POST1'"
assert_eq "$COMMENT2,$COMMENT4" "$(cascade post comment "$POST1")" "a deleted post reaches its deleted comments"
assert_eq "$ALICE" "$(cascade post user "$POST1")" "a deleted post reaches its author"
reached=$(pgcluster_psql -c "SELECT test.sync('post', '{$POST1}')")
assert_contains "$reached" "$COMMENT2" "the deleted post's cascade reaches its comments"
assert_contains "$reached" "$CHARLIE" "through the deleted comments it reaches their authors"
assert_eq "0 0" "$(pgcluster_psql -c "SELECT (SELECT count(*) FROM tv_post WHERE id = '$POST1') || ' ' ||
    (SELECT count(*) FROM tv_comment WHERE id IN ('$COMMENT2', '$COMMENT4'))")" "the deleted rows are gone from tv_*"
assert_exit 0 "verify agrees after the delete's cascade" -- verify
assert_eq "1 0 1" "$(pgcluster_psql -c "SELECT concat_ws(' ', (SELECT data->>'commentCount' FROM tv_user WHERE id = '$CHARLIE'),
    (SELECT data->>'commentCount' FROM tv_user WHERE id = '$ALICE'), (SELECT data->>'postCount' FROM tv_user WHERE id = '$ALICE'))")" \
    "the commenters' and the author's counts follow the deleted post"

# --- a new entity is declared in SQL only (names that need quoting on purpose) -------------
pgcluster_psql <<'EOF'
CREATE SCHEMA "Shop";
CREATE TABLE "Shop".tb_item (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE "Shop"."tv_Item" (id uuid PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION "Shop"."build Item"(ids uuid[]) RETURNS TABLE (id uuid, data jsonb)
LANGUAGE sql STABLE AS $$
    SELECT i.id, jsonb_build_object('name', i.name) FROM "Shop".tb_item i WHERE ids IS NULL OR i.id = ANY (ids)
$$;
INSERT INTO tvsync.entity VALUES ('item', '"Shop"."tv_Item"', '"Shop".tb_item', '"Shop"."build Item"(uuid[])');
INSERT INTO "Shop".tb_item
    SELECT ('40000000-0000-4000-8000-00000000000' || g)::uuid, 'item ' || g FROM generate_series(1, 5) g;
EOF
assert_eq "(5,0)" "$(pgcluster_psql -c "SELECT tvsync.apply('item', NULL)")" "a new entity applies with no C change"
assert_exit 0 "verify covers the new entity" -- verify
pgcluster_psql -c "UPDATE \"Shop\".tb_item SET name = 'renamed' WHERE id = '40000000-0000-4000-8000-000000000003'"
pgcluster_psql -c "DELETE FROM \"Shop\".tb_item WHERE id = '40000000-0000-4000-8000-000000000005'"
assert_exit 1 "verify sees the new entity's stale rows" -- verify
assert_contains "$ASSERT_OUTPUT" "item 40000000-0000-4000-8000-000000000003: different" "verify names the new entity's changed row"
assert_contains "$ASSERT_OUTPUT" "item 40000000-0000-4000-8000-000000000005: extra" "verify names the new entity's deleted row"
assert_eq "(1,1)" "$(pgcluster_psql -c "SELECT tvsync.apply('item', '{40000000-0000-4000-8000-000000000003,40000000-0000-4000-8000-000000000005}')")" \
    "apply upserts the changed row and deletes the vanished one"
assert_exit 0 "verify agrees after applying the new entity" -- verify
assert_exit 0 "the new entity can be published" -- pgcluster_psql -c "SELECT tvsync.publish('item', '{40000000-0000-4000-8000-000000000001}'::uuid[])"
pgcluster_psql -c "DELETE FROM tvsync.entity WHERE name = 'item'"

# --- key types (041): bigint, integer and text keys ---------------------------------------
pgcluster_psql <<'EOF' >/dev/null
CREATE TABLE tb_order (id bigint PRIMARY KEY, total numeric(12,2) NOT NULL);
CREATE TABLE tv_order (id bigint PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION fn_build_order(ids bigint[]) RETURNS TABLE (id bigint, data jsonb)
LANGUAGE sql STABLE AS $$
    SELECT o.id, jsonb_build_object('id', o.id::text, 'total', o.total) FROM public.tb_order o WHERE ids IS NULL OR o.id = ANY (ids)
$$;
CREATE TABLE tb_tag (id text PRIMARY KEY);
CREATE TABLE tv_tag (id text PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION fn_build_tag(ids text[]) RETURNS TABLE (id text, data jsonb)
LANGUAGE sql STABLE AS $$ SELECT t.id, jsonb_build_object('id', t.id) FROM public.tb_tag t WHERE ids IS NULL OR t.id = ANY (ids) $$;
CREATE TABLE tb_bad (id numeric PRIMARY KEY);
CREATE TABLE tv_bad (id numeric PRIMARY KEY, data jsonb NOT NULL);
CREATE FUNCTION fn_build_bad(ids numeric[]) RETURNS TABLE (id numeric, data jsonb)
LANGUAGE sql STABLE AS $$ SELECT b.id, '{}'::jsonb FROM tb_bad b $$;
EOF
register() {
    pgcluster_psql -c "INSERT INTO tvsync.entity (name, tv_table, source_table, build_function) VALUES ($1)"
}
assert_exit 0 "a bigint-keyed entity registers" -- register "'order', 'tv_order', 'tb_order', 'fn_build_order(bigint[])'"
assert_eq "bigint" "$(pgcluster_psql -c "SELECT key_type FROM tvsync.entity WHERE name = 'order'")" \
    "registration fills the key type from the source table"
assert_exit 0 "a text-keyed entity registers" -- register "'tag', 'tv_tag', 'tb_tag', 'fn_build_tag(text[])'"
assert_exit 1 "a numeric key is refused" -- register "'bad', 'tv_bad', 'tb_bad', 'fn_build_bad(numeric[])'"
assert_contains "$ASSERT_OUTPUT" "not uuid, bigint, integer or text" "the refusal names the supported key types"
assert_exit 1 "a read model whose id type differs is refused" -- register "'bad', 'tv_tag', 'tb_order', 'fn_build_order(bigint[])'"
assert_contains "$ASSERT_OUTPUT" "public.tv_tag.id is text, but public.tb_order.id is bigint" "the refusal names both id types"
assert_exit 1 "a build function of another key type is refused" -- register "'bad', 'tv_order', 'tb_order', 'fn_build_tag(text[])'"
assert_contains "$ASSERT_OUTPUT" "must take one argument of type bigint[]" "the refusal says what the build function must take"

pgcluster_psql -c "SELECT pg_create_logical_replication_slot('test_slot', '$SLOT_PLUGIN')" >/dev/null
pgcluster_psql -c "SELECT tvsync.publish('order', ARRAY[9007199254740993, 100, 2, 10, 2]::bigint[])" >/dev/null
assert_eq '{"entity":"order","ids":["2","10","100","9007199254740993"]}' "$(messages)" \
    "bigint ids are published as text, every digit kept, in key order, duplicates dropped"
advance
assert_exit 1 "an id the key type rejects fails the publish" -- pgcluster_psql -c "SELECT tvsync.publish('order', ARRAY['12x'])"
assert_contains "$ASSERT_OUTPUT" 'entity "order": an id is not a valid bigint' "the error names the entity and the key type"
assert_exit 1 "a bigint id out of range fails the publish" -- pgcluster_psql -c "SELECT tvsync.publish('order', ARRAY['9223372036854775808'])"
pgcluster_psql -c "SELECT tvsync.publish('tag', ARRAY['a,b', '{x}', 'q\"uote', 'back\\slash', 'sp ace'])" >/dev/null
assert_eq '{"entity":"tag","ids":["a,b","back\\slash","q\"uote","sp ace","{x}"]}' "$(messages)" \
    "text ids reach the log as JSON strings, whatever they hold"
advance

pgcluster_psql -c "INSERT INTO tb_order VALUES (2, 1.50), (10, 24.50), (100, 3), (9007199254740993, 0.10);
                   INSERT INTO tb_tag VALUES ('a,b'), ('{x}'), ('q\"uote')" >/dev/null
assert_eq "(1,0)" "$(pgcluster_psql -c "SELECT tvsync.apply('order', ARRAY['9007199254740993'])")" "apply takes bigint ids as text"
assert_eq '{"id": "9007199254740993", "total": 0.10}' \
    "$(pgcluster_psql -c "SELECT data FROM tv_order WHERE id = 9007199254740993")" "the bigint id is exact in the read model"
assert_eq "(3,0)" "$(pgcluster_psql -c "SELECT tvsync.apply('tag', ARRAY['a,b', '{x}', 'q\"uote'])")" \
    "apply takes text ids with commas, braces and quotes"
assert_eq "10|2 9007199254740993|1 NULL|0" "$(pgcluster_psql -c "SELECT concat_ws(' ', r1.last_id || '|' || r1.upserted,
        r2.last_id || '|' || r2.upserted, coalesce(r3.last_id, 'NULL') || '|' || r3.upserted)
    FROM tvsync.rebuild_chunk('order', NULL, 2) r1, tvsync.rebuild_chunk('order', '10', 2) r2,
         tvsync.rebuild_chunk('order', '9007199254740993', 2) r3")" \
    "rebuild_chunk walks a bigint key in numeric order (2, 10 | 100, 2^53+1 | end)"
assert_eq "9007199254740993" "$(pgcluster_psql -c "SELECT id FROM tvsync.finish_mutation(
        ROW('ok', NULL, 'order', 9007199254740993, '[{\"entity\":\"order\",\"ids\":[9007199254740993]}]')::tvsync.mutation_result)")" \
    "a mutation result carries a bigint id as text"
assert_contains "$(messages)" '"ids":["9007199254740993"]' "finish_mutation publishes ids given as JSON numbers as text"
pgcluster_psql -c "SELECT pg_drop_replication_slot('test_slot')" >/dev/null
pgcluster_psql -c "DELETE FROM tvsync.entity WHERE name IN ('order', 'tag')" >/dev/null

# --- roles -----------------------------------------------------------------------------------
as_role() {
    local role=$1
    shift
    pgcluster_psql -c "SET ROLE $role" -c "$@"
}
assert_exit 0 "tvsync_reader reads tv_*" -- as_role tvsync_reader "SELECT count(*) FROM tv_post"
assert_exit 1 "tvsync_reader cannot read tb_*" -- as_role tvsync_reader "SELECT count(*) FROM tb_post"
assert_exit 1 "tvsync_reader cannot publish" -- as_role tvsync_reader "SELECT tvsync.publish('post', '{$POST2}'::uuid[])"
assert_exit 0 "tvsync_app writes tb_* and publishes in one transaction" -- as_role tvsync_app \
    "BEGIN; UPDATE tb_post SET title = 'by the app' WHERE id = '$POST2'; SELECT tvsync.publish('post', '{$POST2}'::uuid[]); COMMIT;"
assert_exit 1 "tvsync_app cannot write tv_*" -- as_role tvsync_app "DELETE FROM tv_post"
assert_exit 1 "tvsync_app cannot apply" -- as_role tvsync_app "SELECT tvsync.apply('post', NULL)"
assert_exit 0 "tvsync_cdc applies and logs" -- as_role tvsync_cdc \
    "SELECT tvsync.apply('post', '{$POST2}'); INSERT INTO tvsync.sync_log (entity, intents, success) VALUES ('post', 1, true); INSERT INTO tvsync.dead_letter (reason) VALUES ('test')"
assert_exit 1 "tvsync_cdc cannot write tb_*" -- as_role tvsync_cdc "DELETE FROM tb_comment"
assert_eq "t" "$(pgcluster_psql -c "SELECT rolreplication FROM pg_roles WHERE rolname = 'tvsync_cdc'")" "tvsync_cdc may replicate"
pgcluster_psql -c "CREATE ROLE cdc_login LOGIN IN ROLE tvsync_cdc"
assert_exit 0 "a member of tvsync_cdc records progress with a replication origin" -- \
    pgcluster_psql -U cdc_login -c "SELECT pg_replication_origin_create('member_origin')" \
        -c "BEGIN; SELECT pg_replication_origin_session_setup('member_origin');
            SELECT pg_replication_origin_xact_setup('0/1234', now());
            INSERT INTO tvsync.sync_log (entity, success) VALUES ('post', true); COMMIT;"
assert_eq "0/1234" "$(pgcluster_psql -c "SELECT pg_replication_origin_progress('member_origin', true)")" \
    "the member's origin progress is recorded"
assert_exit 1 "tvsync_reader may not touch replication origins" -- \
    as_role tvsync_reader "SELECT pg_replication_origin_create('reader_origin')"

# A login role in tvsync_reader (the way a read-only client connects) reads the read
# models and the sync metrics, and nothing it runs can write or publish.
pgcluster_psql -c "CREATE ROLE reader_login LOGIN IN ROLE tvsync_reader"
as_reader() {
    pgcluster_psql -U reader_login -c "$@"
}
# reader_refused MESSAGE SQL: fails, and for lack of a privilege (not a typo in SQL).
reader_refused() {
    assert_exit 1 "$1" -- as_reader "$2"
    assert_contains "$ASSERT_OUTPUT" "permission denied" "$1 (permission denied)"
}
assert_exit 0 "a tvsync_reader member reads tv_*" -- as_reader "SELECT count(*) FROM tv_post"
assert_exit 0 "a tvsync_reader member reads the sync metrics" -- \
    as_reader "SELECT tvsync.sync_metrics('{\"entityType\": \"post\"}')"
logged=$(pgcluster_psql -c "SELECT count(*) FROM tvsync.sync_log WHERE entity = 'post'")
assert_eq "post $logged t" "$(as_reader "SELECT r->>'entityType', r->>'totalSyncs24h', (r->>'successRate')::numeric = 1
                                   FROM tvsync.sync_metrics('{\"entityType\": \"post\"}') r" | tr '|' ' ')" \
    "a tvsync_reader member's syncMetrics counts the logged syncs ($logged)"
assert_exit 0 "a tvsync_reader member reads tvsync.sync_log" -- as_reader "SELECT count(*) FROM tvsync.sync_log"
reader_refused "a tvsync_reader member cannot insert into tb_*" \
    "INSERT INTO tb_user (id, username, email, full_name) VALUES (gen_random_uuid(), 'r', 'r@x', 'R')"
reader_refused "a tvsync_reader member cannot update tb_*" "UPDATE tb_post SET title = 'x'"
reader_refused "a tvsync_reader member cannot update tv_*" "UPDATE tv_post SET data = '{}'"
reader_refused "a tvsync_reader member cannot delete from tv_*" "DELETE FROM tv_comment"
reader_refused "a tvsync_reader member cannot write tvsync.sync_log" \
    "INSERT INTO tvsync.sync_log (entity, success) VALUES ('post', true)"
reader_refused "a tvsync_reader member cannot read tvsync.dead_letter" "SELECT count(*) FROM tvsync.dead_letter"
reader_refused "a tvsync_reader member cannot run mutations" \
    "SELECT * FROM tvsync.run_mutation('blog.delete_post', '{\"id\": \"$POST2\"}')"
reader_refused "a tvsync_reader member cannot call the CDC's functions" \
    "SELECT tvsync.cdc_wait_visible('{}')"
reader_refused "a tvsync_reader member cannot apply" "SELECT tvsync.apply('post', NULL)"
reader_refused "a tvsync_reader member cannot finish mutations" \
    "SELECT * FROM tvsync.finish_mutation(blog.delete_post('{\"id\": \"$POST2\"}'))"
assert_eq ok "$(as_role tvsync_app "SELECT status FROM tvsync.finish_mutation(blog.update_post(
                                        '{\"id\": \"$POST2\", \"title\": \"by finish_mutation\"}'))")" \
    "tvsync_app finishes mutations"
# The roles that had these functions keep them.
assert_eq ok "$(as_role tvsync_app "SELECT status FROM tvsync.run_mutation('blog.update_post',
                                        '{\"id\": \"$POST2\", \"title\": \"by run_mutation\"}')")" \
    "tvsync_app still runs mutations"
assert_exit 0 "tvsync_app still reads the sync metrics" -- \
    as_role tvsync_app "SELECT tvsync.sync_metrics('{\"entityType\": \"post\"}')"
assert_exit 0 "tvsync_cdc still calls cdc_wait_visible" -- as_role tvsync_cdc "SELECT tvsync.cdc_wait_visible('{}')"

test_summary
