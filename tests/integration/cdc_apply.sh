#!/bin/sh
# cdc_apply: tvsync-cdc against a real cluster: intents apply, rollbacks publish
# nothing, deletes remove rows, a user rename reaches every embedding document,
# concurrent writers converge in commit order, malformed intents and failing
# builds go to dead_letter without stalling, SIGTERM exits 0.
. "$TVSYNC_SRCDIR/tests/integration/cdc_lib.sh"
set -u

cdc_setup
cdc_kill_on_exit
cdc_start --set cdc.max_retries=1 || exit 1

ALICE=10000000-0000-4000-8000-000000000001
BOB=10000000-0000-4000-8000-000000000002
POST1=20000000-0000-4000-8000-000000000001

# 1. A post written with its intent in one transaction shows up in tv_post.
lsn=$(pgcluster_psql <<SQL
BEGIN;
INSERT INTO tb_post (id, author_id, title, content, published)
VALUES ('20000000-0000-4000-8000-0000000000aa', '$BOB', 'Fresh post', 'x', true);
SELECT tvsync.publish('post', ARRAY['20000000-0000-4000-8000-0000000000aa'::uuid]);
SELECT tvsync.publish('user', ARRAY['$BOB'::uuid]);
COMMIT;
SQL
)
lsn=$(echo "$lsn" | tail -n1)
cdc_wait_lsn "$lsn"
assert_eq "Fresh post" "$(pgcluster_psql -c "SELECT data->>'title' FROM tv_post WHERE id = '20000000-0000-4000-8000-0000000000aa'")" \
    "an inserted post reaches tv_post"
assert_eq "1" "$(pgcluster_psql -c "SELECT rows_upserted FROM tvsync.sync_log WHERE entity = 'post' AND intents = 1 ORDER BY id DESC LIMIT 1")" \
    "sync_log counts the upserted document"

# The stream leaves out the daemon's own apply transactions (their origin's id); with
# pgoutput the decoder does (the Origin message), and the stream names the publication.
if [ "${TVSYNC_TEST_PLUGIN:-wal2json}" = pgoutput ]; then
    assert_eq "t" "$(pgcluster_psql -c "SELECT query LIKE '%\"publication_names\" ''\"tvsync_pub\"''%\"messages\" ''true''%'
                                        FROM pg_stat_activity WHERE backend_type = 'walsender' LIMIT 1")" \
        "START_REPLICATION asks pgoutput for the messages and names the publication"
else
    assert_eq "t" "$(pgcluster_psql -c "SELECT query LIKE '%\"filter-origins\" ''' || pg_replication_origin_oid('tvsync') || '''%'
                                        FROM pg_stat_activity WHERE backend_type = 'walsender' LIMIT 1")" \
        "START_REPLICATION filters the daemon's own origin"
fi

# 2. A rolled-back write publishes nothing.
pgcluster_psql <<SQL >/dev/null
BEGIN;
INSERT INTO tb_user (id, username, email) VALUES ('10000000-0000-4000-8000-0000000000ff', 'ghost', 'ghost@example.com');
SELECT tvsync.publish('user', ARRAY['10000000-0000-4000-8000-0000000000ff'::uuid]);
ROLLBACK;
SQL
cdc_sync
assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM tv_user WHERE id = '10000000-0000-4000-8000-0000000000ff'")" \
    "a rolled-back intent is not applied"
assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.sync_log WHERE source_lsn IS NULL")" \
    "every sync_log row carries its source LSN"

# 3. A delete removes the tv_* row.
lsn=$(pgcluster_psql <<SQL
BEGIN;
DELETE FROM tb_comment WHERE id = '30000000-0000-4000-8000-000000000001';
SELECT tvsync.publish('comment', ARRAY['30000000-0000-4000-8000-000000000001'::uuid]);
COMMIT;
SQL
)
cdc_wait_lsn "$lsn"
assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM tv_comment WHERE id = '30000000-0000-4000-8000-000000000001'")" \
    "a deleted comment leaves tv_comment"

# 4. A user rename reaches every post and comment that embeds the user (cascades).
lsn=$(pgcluster_psql <<SQL
BEGIN;
UPDATE tb_user SET username = 'alicia', full_name = 'Alicia Anders' WHERE id = '$ALICE';
SELECT tvsync.publish('user', ARRAY['$ALICE'::uuid]);
COMMIT;
SQL
)
cdc_wait_lsn "$lsn"
assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM tv_post WHERE data::text LIKE '%Alice Anderson%' OR data::text LIKE '%\"alice\"%'")" \
    "no tv_post document still embeds the old user name"
assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM tv_comment WHERE data::text LIKE '%Alice Anderson%' OR data::text LIKE '%\"alice\"%'")" \
    "no tv_comment document still embeds the old user name"
assert_eq "0" "$(pgcluster_psql -c "SELECT test_oracle_diff()")" "after the rename tv_* equals a full rebuild"
[ "$(pgcluster_psql -c "SELECT test_oracle_diff()")" = 0 ] || for e in user post comment; do pgcluster_psql -c "SELECT 'tv', id, data FROM tv_$e EXCEPT SELECT 'tv', id, data FROM fn_build_$e(NULL)" -c "SELECT 'b', id, data FROM fn_build_$e(NULL) EXCEPT SELECT 'b', id, data FROM tv_$e"; done

# 4b. A new comment published alone (as the blog's createComment does): the cascade
#     rebuilds its post (comment list) and its author (commentCount), and goes no
#     further: the post's other comments and the author's posts are reached only along
#     edges that watch keys (title, username, fullName) that did not change.
other_comment=$(pgcluster_psql -c "SELECT id FROM tb_comment WHERE post_id = '$POST1' ORDER BY id LIMIT 1")
other_post=$(pgcluster_psql -c "SELECT id FROM tb_post WHERE author_id = '$BOB' AND id <> '$POST1' ORDER BY id LIMIT 1")
stamps() {
    pgcluster_psql -c "SELECT (SELECT updated_at FROM tv_comment WHERE id = '$other_comment')::text || ' ' ||
                              (SELECT updated_at FROM tv_post WHERE id = '$other_post')::text"
}
before=$(stamps)
lsn=$(pgcluster_psql <<SQL | tail -n1
BEGIN;
INSERT INTO tb_comment (id, post_id, author_id, content)
VALUES ('30000000-0000-4000-8000-0000000000cc', '$POST1', '$BOB', 'published alone');
SELECT tvsync.publish('comment', ARRAY['30000000-0000-4000-8000-0000000000cc'::uuid]);
COMMIT;
SQL
)
cdc_wait_lsn "$lsn"
assert_eq "t" "$(pgcluster_psql -c "SELECT data->'comments' @> '[{\"content\": \"published alone\"}]' FROM tv_post WHERE id = '$POST1'")" \
    "the post of a comment published alone lists it (cascade)"
assert_eq "$(pgcluster_psql -c "SELECT count(*) FROM tb_comment WHERE author_id = '$BOB'")" \
    "$(pgcluster_psql -c "SELECT data->>'commentCount' FROM tv_user WHERE id = '$BOB'")" \
    "the author of a comment published alone counts it (cascade)"
assert_eq "$before" "$(stamps)" "the post's other comments and the author's other posts are not rewritten (watch)"
assert_eq "0" "$(pgcluster_psql -c "SELECT test_oracle_diff()")" "after the comment tv_* equals a full rebuild"

# 4c. Two intents in one transaction whose cascades reach the same posts (a new comment on
#     a post, and a rename of a user who wrote and commented on posts): the diffs that go
#     along with the cascade queries overlap, and every document still equals a full
#     rebuild, in this batch and in the next one on the same connection (no document a
#     diff kept is taken by a later batch).
lsn=$(pgcluster_psql <<SQL | tail -n1
BEGIN;
INSERT INTO tb_comment (id, post_id, author_id, content)
VALUES ('30000000-0000-4000-8000-0000000000cd', '$POST1', '$ALICE', 'along a rename');
UPDATE tb_user SET full_name = 'Bob Renamed Along' WHERE id = '$BOB';
SELECT tvsync.publish('comment', ARRAY['30000000-0000-4000-8000-0000000000cd'::uuid]);
SELECT tvsync.publish('user', ARRAY['$BOB'::uuid]);
COMMIT;
SQL
)
cdc_wait_lsn "$lsn"
assert_eq "0" "$(pgcluster_psql -c "SELECT test_oracle_diff()")" \
    "a comment and a rename whose cascades overlap: tv_* equals a full rebuild"
lsn=$(pgcluster_psql <<SQL | tail -n1
BEGIN;
UPDATE tb_comment SET content = 'changed after' WHERE id = '30000000-0000-4000-8000-0000000000cd';
SELECT tvsync.publish('comment', ARRAY['30000000-0000-4000-8000-0000000000cd'::uuid]);
COMMIT;
SQL
)
cdc_wait_lsn "$lsn"
assert_eq "t" "$(pgcluster_psql -c "SELECT data->'comments' @> '[{\"content\": \"changed after\"}]' FROM tv_post WHERE id = '$POST1'")" \
    "the next batch's post shows the comment's new content"
assert_eq "0" "$(pgcluster_psql -c "SELECT test_oracle_diff()")" "and tv_* still equals a full rebuild"

# 5. Interleaved concurrent transactions: the later commit wins, in every document.
pgcluster_psql -c "SELECT 1" >/dev/null
(
    pgcluster_psql <<SQL
BEGIN;
UPDATE tb_post SET title = 'first writer' WHERE id = '$POST1';
SELECT tvsync.publish('post', ARRAY['$POST1'::uuid]);
SELECT pg_sleep(0.5);
COMMIT;
SQL
) >/dev/null &
writer=$!
pgcluster_psql <<SQL >/dev/null
BEGIN;
UPDATE tb_user SET bio = 'interleaved' WHERE id = '$BOB';
SELECT tvsync.publish('user', ARRAY['$BOB'::uuid]);
COMMIT;
SQL
wait $writer
pgcluster_psql <<SQL >/dev/null
BEGIN;
UPDATE tb_post SET title = 'second writer' WHERE id = '$POST1';
SELECT tvsync.publish('post', ARRAY['$POST1'::uuid]);
COMMIT;
SQL
cat > "$PGCLUSTER_DIR/writer.sql" <<'SQL'
\set n random(1, 3)
BEGIN;
UPDATE tb_post SET content = md5(random()::text) WHERE id = ('20000000-0000-4000-8000-00000000000' || :n)::uuid;
SELECT tvsync.publish('post', ARRAY[('20000000-0000-4000-8000-00000000000' || :n)::uuid]);
INSERT INTO test_published VALUES ('post', 1);
END;
SQL
"$PGCLUSTER_BINDIR/pgbench" -n -c 4 -j 2 -t 150 -f "$PGCLUSTER_DIR/writer.sql" >"$PGCLUSTER_DIR/pgbench.log" 2>&1 || cat "$PGCLUSTER_DIR/pgbench.log"
cdc_sync
assert_eq "second writer" "$(pgcluster_psql -c "SELECT data->>'title' FROM tv_post WHERE id = '$POST1'")" \
    "the transaction that committed last decides the document"
assert_eq "0" "$(pgcluster_psql -c "SELECT test_oracle_diff()")" "after 600 concurrent writes tv_* equals a full rebuild"
assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM (SELECT source_lsn < lag(source_lsn) OVER (ORDER BY id) AS back FROM tvsync.sync_log) s WHERE back")" \
    "sync_log rows follow commit (LSN) order"
assert_eq "603" "$(pgcluster_psql -c "SELECT sum(intents) FROM tvsync.sync_log WHERE entity = 'post'")" \
    "every post intent committed so far is counted once in sync_log"

# 6. Malformed intents go to dead_letter with their LSN and reason; the stream goes on.
pgcluster_psql <<'SQL' >/dev/null
SELECT pg_logical_emit_message(true, 'tvsync', 'not json');
SELECT pg_logical_emit_message(true, 'tvsync', '{"entity":"nope","ids":[]}');
SELECT pg_logical_emit_message(true, 'tvsync', '{"entity":"post","ids":["not-a-uuid"]}');
SQL
cdc_sync
assert_eq "3" "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.dead_letter WHERE lsn IS NOT NULL")" \
    "three malformed intents are in dead_letter with their LSN"
reasons=$(pgcluster_psql -c "SELECT string_agg(reason, ' | ' ORDER BY id) FROM tvsync.dead_letter")
assert_contains "$reasons" "not a JSON object" "dead_letter says why: not JSON"
assert_contains "$reasons" 'unknown entity "nope"' "dead_letter says why: unknown entity"
assert_contains "$reasons" "not a uuid" "dead_letter says why: bad uuid"

# 7. A build that fails for one id: retried, then bisected; only that id is dead-lettered.
pgcluster_psql -c "ALTER TABLE tv_post ADD CONSTRAINT test_no_poison CHECK (data->>'title' <> 'poison')"
lsn=$(pgcluster_psql <<SQL
BEGIN;
UPDATE tb_post SET title = 'poison' WHERE id = '20000000-0000-4000-8000-000000000002';
UPDATE tb_post SET title = 'healthy' WHERE id = '20000000-0000-4000-8000-000000000003';
SELECT tvsync.publish('post', ARRAY['20000000-0000-4000-8000-000000000002'::uuid, '20000000-0000-4000-8000-000000000003'::uuid]);
COMMIT;
SQL
)
cdc_wait_lsn "$lsn"
assert_eq "healthy" "$(pgcluster_psql -c "SELECT data->>'title' FROM tv_post WHERE id = '20000000-0000-4000-8000-000000000003'")" \
    "the healthy id of a failing batch is applied"
assert_eq "1" "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.dead_letter WHERE content LIKE '%20000000-0000-4000-8000-000000000002%' AND reason LIKE '%test_no_poison%'")" \
    "only the failing id goes to dead_letter, with the build error"
assert_eq "f" "$(pgcluster_psql -c "SELECT success FROM tvsync.sync_log WHERE entity = 'post' ORDER BY id DESC LIMIT 1")" \
    "sync_log marks the entity's batch as not fully successful"
metrics=$(cdc_metrics)
assert_contains "$metrics" "tvsync_cdc_dead_letters_total 4" "the dead letters are counted in /metrics"
assert_contains "$metrics" 'tvsync_cdc_apply_failures_total{entity="post"}' "failures are counted by entity"
assert_eq "200" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CDC_PORT/health")" "/health is 200 while streaming"
kill -0 "$CDC_PID" 2>/dev/null
assert_eq "0" "$?" "the daemon is still running after bad intents and a failing build"

# 8. tvsync.cdc_wait_visible waits for a transaction that holds the newest xid (at or
#    past its snapshot's xmax: the moment between a commit record and the proc array).
W=$PGCLUSTER_DIR
mkfifo "$W/holder.in"
pgcluster_psql <"$W/holder.in" >"$W/holder.out" 2>&1 &
holder=$!
exec 7>"$W/holder.in"
echo "BEGIN; SELECT txid_current() % 4294967296;" >&7
wait_for 10 test -s "$W/holder.out"
xid=$(head -n1 "$W/holder.out")
pgcluster_psql -c "SELECT tvsync.cdc_wait_visible(ARRAY[$xid]::bigint[]); SELECT 'returned'" >"$W/waiter.out" 2>&1 &
waiter=$!
sleep 0.5
assert_eq "" "$(cat "$W/waiter.out")" "cdc_wait_visible still waits while xid $xid is in progress"
check_visible="BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT tvsync.cdc_check_visible(ARRAY[$xid]::bigint[]); COMMIT"
assert_exit 1 "cdc_check_visible raises while xid $xid is in progress" -- \
    pgcluster_psql -v VERBOSITY=verbose -c "$check_visible"
assert_contains "$ASSERT_OUTPUT" "TVS02" "cdc_check_visible raises SQLSTATE TVS02"
echo "COMMIT;" >&7
exec 7>&-
wait "$waiter" "$holder"
assert_contains "$(cat "$W/waiter.out")" "returned" "cdc_wait_visible returns once xid $xid commits"
assert_exit 0 "cdc_check_visible passes once xid $xid committed" -- pgcluster_psql -c "$check_visible"

# 8b. When the visibility check (the apply transaction's first statement) fails, tvsync-cdc
#     rolls back, waits with cdc_wait_visible and applies the batch: not a failed attempt.
#     The check is replaced by one that fails its first call (a sequence counts the calls:
#     nextval survives the rollback).
original_check=$(pgcluster_psql -c "SELECT pg_get_functiondef('tvsync.cdc_check_visible(bigint[])'::regprocedure)")
pgcluster_psql <<'SQL'
CREATE SEQUENCE test_check_calls;
CREATE OR REPLACE FUNCTION tvsync.cdc_check_visible(p_xids bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF nextval('public.test_check_calls') = 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'TVS02', MESSAGE = 'test: not visible yet';
    END IF;
END
$$;
SQL
failures_before=$(grep -c "batch failed" "$CDC_LOG")
visibility_waits_before=$(cdc_metrics | sed -n 's/^tvsync_cdc_visibility_waits_total //p')
lsn=$(pgcluster_psql -c "BEGIN; UPDATE tb_post SET title = 'seen after a wait' WHERE id = '$POST1';
                         SELECT tvsync.publish('post', ARRAY['$POST1'::uuid]); COMMIT;" | tail -n1)
cdc_wait_lsn "$lsn"
assert_eq "seen after a wait" "$(pgcluster_psql -c "SELECT data->>'title' FROM tv_post WHERE id = '$POST1'")" \
    "a batch whose visibility check failed is applied after the wait"
assert_eq "1" "$(pgcluster_psql -c "SELECT last_value FROM test_check_calls")" \
    "the check ran once: the transaction after the wait does not check again"
assert_eq "$failures_before" "$(grep -c "batch failed" "$CDC_LOG")" "a failed visibility check is not a failed attempt"
visibility_waits_after=$(cdc_metrics | sed -n 's/^tvsync_cdc_visibility_waits_total //p')
assert_eq t "$([ "${visibility_waits_after:-0}" -gt "${visibility_waits_before:-0}" ] && echo t || echo f)" \
    "the wait is counted in /metrics (tvsync_cdc_visibility_waits_total ${visibility_waits_before:-0} -> ${visibility_waits_after:-0})"
pgcluster_psql -c "$original_check" >/dev/null
pgcluster_psql -c "DROP SEQUENCE test_check_calls"

# 8b. Large documents are written lz4-compressed (cdc.toast_compression's default), where the
# server's own default is pglz; a server built without lz4 (the npm PostgreSQL 16-18 builds)
# keeps pglz.
assert_eq "pglz" "$(pgcluster_psql -c "SHOW default_toast_compression")" "the server's default is pglz"
compression=$(pgcluster_psql -c "SELECT CASE WHEN 'lz4' = ANY (enumvals) THEN 'lz4' ELSE 'pglz' END
                                 FROM pg_settings WHERE name = 'default_toast_compression'")
lsn=$(pgcluster_psql -c "BEGIN; UPDATE tb_post SET content = repeat('a large post, compressible ', 2000) WHERE id = '$POST1';
                         SELECT tvsync.publish('post', ARRAY['$POST1'::uuid]); COMMIT;" | tail -n1)
cdc_wait_lsn "$lsn"
assert_eq "$compression" "$(pgcluster_psql -c "SELECT pg_column_compression(data) FROM tv_post WHERE id = '$POST1'")" \
    "tvsync-cdc writes a large document with $compression (lz4 where the server has it)"

# 9. SIGTERM: exit 0 after a final status update.
progress=$(cdc_progress)
cdc_stop
assert_eq "0" "$CDC_STATUS" "SIGTERM exits 0"
assert_eq "t" "$(pgcluster_psql -c "SELECT confirmed_flush_lsn >= '$progress'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'tvsync'")" \
    "the final status update confirmed what was applied"

test_summary
