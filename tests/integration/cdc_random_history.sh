#!/bin/bash
# cdc_random_history: tv_* equals a full rebuild after seeded random histories of blog
# mutations (comments created, edited, deleted, moved between posts, reordered; users renamed;
# posts published, unpublished, renamed, deleted with their comments), applied while
# tvsync-cdc streams, and after one history during which tvsync-cdc is killed with SIGKILL.
# Two large posts keep more comments than Post.comments' window (last: 50): their documents
# list the latest 50 while comments come, go, move and change times, and count them all.
#
# SEED=N reproduces a run (history i uses seed N+i); HISTORIES (default 5) and TRANSACTIONS
# (default 300 each) size it. The histories are generated inside PostgreSQL (setseed, and
# targets picked by key order), so the same seed on the same build gives the same history.
. "$TVSYNC_SRCDIR/tests/integration/cdc_lib.sh"
set -u

SEED=${SEED:-$(od -An -N3 -tu4 /dev/urandom | tr -d ' ')}
HISTORIES=${HISTORIES:-5}
TRANSACTIONS=${TRANSACTIONS:-300}
echo "# SEED=$SEED (rerun with SEED=$SEED to replay these histories)"

pgcluster_start || exit 1
cdc_kill_on_exit
cdc_migrate || { echo "migrations failed" >&2; exit 1; }
cdc_install_oracle >/dev/null || exit 1
cdc_seed_more || exit 1

# Two large posts (400 and 150 comments) next to the 100 small ones of cdc_seed_more; the
# histories aim a share of their comment changes at them and never delete them.
pgcluster_psql <<'SQL' >/dev/null || exit 1
INSERT INTO tb_post (id, author_id, title, content, published) VALUES
    ('20000000-0000-4000-8000-00000000b001', '10000000-0000-4000-8000-000000000101', 'big post', 'text', true),
    ('20000000-0000-4000-8000-00000000b002', '10000000-0000-4000-8000-000000000102', 'large post', 'text', true);
INSERT INTO tb_comment (id, post_id, author_id, content, created_at)
SELECT ('30000000-0000-4000-8000-' || lpad((900000 + n)::text, 12, '0'))::uuid,
       CASE WHEN n < 400 THEN '20000000-0000-4000-8000-00000000b001'::uuid ELSE '20000000-0000-4000-8000-00000000b002'::uuid END,
       ('10000000-0000-4000-8000-' || lpad((100 + n % 50)::text, 12, '0'))::uuid, 'big comment ' || n,
       -- some equal times: the list's order then falls back to the id
       timestamptz '2025-01-01' + (n / 3) * interval '1 minute'
FROM generate_series(0, 549) n;
SQL

pgcluster_psql <<'SQL' >/dev/null || exit 1
CREATE TABLE public.test_big_post (id uuid PRIMARY KEY);
INSERT INTO test_big_post VALUES ('20000000-0000-4000-8000-00000000b001'), ('20000000-0000-4000-8000-00000000b002');

-- One row of a table in key order, at a random place (NULL when the table is empty).
CREATE FUNCTION public.test_pick(p_table regclass) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    v_count bigint;
    v_id uuid;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s', p_table) INTO v_count;
    IF v_count = 0 THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT id FROM %s ORDER BY id OFFSET $1 LIMIT 1', p_table)
        INTO v_id USING floor(random() * v_count)::bigint;
    RETURN v_id;
END
$$;

-- A comment's target post: a big one 40% of the time.
CREATE FUNCTION public.test_pick_post() RETURNS uuid LANGUAGE plpgsql AS $$
BEGIN
    IF random() < 0.4 THEN
        RETURN test_pick('test_big_post');
    END IF;
    RETURN test_pick('tb_post');
END
$$;

-- A seeded history of p_transactions transactions of 1 to 4 changes each, every change
-- published as the blog's mutation functions publish (through them, or tvsync.publish the
-- same way). Ids of new rows derive from the seed, so a replay picks the same targets.
CREATE PROCEDURE public.test_history(p_seed int, p_transactions int, p_pause double precision DEFAULT 0)
LANGUAGE plpgsql AS $$
DECLARE
    v_n bigint := 0;
    v_changes int;
    v_dice double precision;
    v_comment uuid;
    v_last uuid;
    v_post uuid;
    v_user uuid;
    v_result record;
BEGIN
    PERFORM setseed((p_seed % 1999999) / 1000000.0 - 0.999999);
    FOR v_t IN 1 .. p_transactions LOOP
        v_changes := 1 + floor(random() ^ 2 * 4)::int;
        FOR v_c IN 1 .. v_changes LOOP
            v_n := v_n + 1;
            v_dice := random();
            -- Several transactions touch the same comment: the last one again, a third of the time.
            IF v_last IS NOT NULL AND random() < 0.33 AND EXISTS (SELECT FROM tb_comment WHERE id = v_last) THEN
                v_comment := v_last;
            ELSE
                v_comment := test_pick('tb_comment');
            END IF;
            IF v_dice < 0.25 OR v_comment IS NULL THEN
                -- create a comment (plain SQL, publish as blog.create_comment does)
                v_comment := md5(p_seed || ':' || v_n)::uuid;
                INSERT INTO tb_comment (id, post_id, author_id, content)
                VALUES (v_comment, test_pick_post(), test_pick('tb_user'), 'comment ' || p_seed || ':' || v_n);
                PERFORM tvsync.publish('comment', ARRAY[v_comment]);
            ELSIF v_dice < 0.38 THEN
                SELECT * INTO v_result FROM tvsync.run_mutation('blog.update_comment',
                    jsonb_build_object('id', v_comment, 'content', 'edited ' || p_seed || ':' || v_n));
            ELSIF v_dice < 0.46 THEN
                SELECT * INTO v_result FROM tvsync.run_mutation('blog.delete_comment', jsonb_build_object('id', v_comment));
            ELSIF v_dice < 0.56 THEN
                -- move to another post: the old post is reached through the comment's old document
                UPDATE tb_comment SET post_id = test_pick_post() WHERE id = v_comment;
                PERFORM tvsync.publish('comment', ARRAY[v_comment]);
            ELSIF v_dice < 0.66 THEN
                -- a new place in its post's list: an earlier time, or the time of another comment of the post
                IF random() < 0.5 THEN
                    UPDATE tb_comment SET created_at = timestamptz '2024-06-01' + floor(random() * 1000000) * interval '1 minute'
                    WHERE id = v_comment;
                ELSE
                    UPDATE tb_comment c SET created_at = coalesce((SELECT o.created_at FROM tb_comment o
                                                                   WHERE o.post_id = c.post_id ORDER BY o.id
                                                                   OFFSET floor(random() * 5) LIMIT 1), c.created_at)
                    WHERE c.id = v_comment;
                END IF;
                PERFORM tvsync.publish('comment', ARRAY[v_comment]);
            ELSIF v_dice < 0.70 THEN
                -- another author: both users' comment counts change (published as text ids)
                UPDATE tb_comment SET author_id = test_pick('tb_user') WHERE id = v_comment;
                PERFORM tvsync.publish_text('comment', ARRAY[v_comment::text]);
            ELSIF v_dice < 0.79 THEN
                v_user := test_pick('tb_user');
                SELECT * INTO v_result FROM tvsync.run_mutation('blog.update_user',
                    CASE WHEN random() < 0.5
                         THEN jsonb_build_object('id', v_user, 'fullName', 'Name ' || p_seed || ':' || v_n)
                         ELSE jsonb_build_object('id', v_user, 'username', 'u' || p_seed || '_' || v_n) END);
            ELSIF v_dice < 0.86 THEN
                SELECT * INTO v_result FROM tvsync.run_mutation('blog.update_post',
                    jsonb_build_object('id', test_pick('tb_post'), 'published', random() < 0.5));
            ELSIF v_dice < 0.90 THEN
                SELECT * INTO v_result FROM tvsync.run_mutation('blog.update_post',
                    jsonb_build_object('id', test_pick_post(), 'title', 'title ' || p_seed || ':' || v_n));
            ELSIF v_dice < 0.95 THEN
                v_post := md5('post ' || p_seed || ':' || v_n)::uuid;
                INSERT INTO tb_post (id, author_id, title, content, published)
                VALUES (v_post, test_pick('tb_user'), 'post ' || p_seed || ':' || v_n, 'text', random() < 0.7);
                PERFORM tvsync.publish('post', ARRAY[v_post]);
            ELSE
                -- a small post with its comments (the big ones stay)
                v_post := test_pick('tb_post');
                IF NOT EXISTS (SELECT FROM test_big_post WHERE id = v_post) THEN
                    SELECT * INTO v_result FROM tvsync.run_mutation('blog.delete_post', jsonb_build_object('id', v_post));
                END IF;
            END IF;
            v_last := v_comment;
        END LOOP;
        COMMIT;
        IF p_pause > 0 THEN
            PERFORM pg_sleep(p_pause);
        END IF;
    END LOOP;
END
$$;

-- Rows of an entity's tv_* that differ from its build function's (both directions): how
-- many, the first id, and for it the top-level keys that differ (for lists, the lengths
-- and the first element that differs).
CREATE FUNCTION public.test_entity_diff(p_entity text, OUT differing bigint, OUT first_id text, OUT detail text)
LANGUAGE plpgsql AS $$
DECLARE
    e tvsync.entity;
    v_tv jsonb;
    v_built jsonb;
    v_key text;
    v_i int;
BEGIN
    SELECT * INTO e FROM tvsync.entity WHERE name = p_entity;
    EXECUTE format('CREATE TEMP TABLE test_built ON COMMIT DROP AS SELECT id::text AS id, data FROM %s(NULL)',
                   tvsync.build_function_name(e));
    EXECUTE format('SELECT count(*), min(id) FROM (SELECT id FROM (SELECT id::text AS id, data FROM %s) t
                    FULL JOIN test_built b USING (id) WHERE t.data IS DISTINCT FROM b.data) d', e.tv_table)
        INTO differing, first_id;
    detail := '';
    IF differing = 0 THEN
        RETURN;
    END IF;
    EXECUTE format('SELECT data FROM %s WHERE id::text = $1', e.tv_table) INTO v_tv USING first_id;
    SELECT data INTO v_built FROM test_built WHERE id = first_id;
    IF v_tv IS NULL OR v_built IS NULL THEN
        detail := CASE WHEN v_tv IS NULL THEN 'missing from ' || e.tv_table
                       ELSE 'in ' || e.tv_table || ' but not in a full build' END;
        RETURN;
    END IF;
    FOR v_key IN SELECT k FROM jsonb_object_keys(v_tv || v_built) k ORDER BY k LOOP
        CONTINUE WHEN v_tv -> v_key IS NOT DISTINCT FROM v_built -> v_key;
        IF jsonb_typeof(v_tv -> v_key) = 'array' AND jsonb_typeof(v_built -> v_key) = 'array' THEN
            SELECT min(i) INTO v_i FROM generate_series(0, greatest(jsonb_array_length(v_tv -> v_key),
                                                                    jsonb_array_length(v_built -> v_key)) - 1) i
            WHERE v_tv -> v_key -> i IS DISTINCT FROM v_built -> v_key -> i;
            detail := detail || format(E'\n%s: %s elements in %s, %s in a full build; first difference at [%s]:\n  tv:    %s\n  build: %s',
                v_key, jsonb_array_length(v_tv -> v_key), e.tv_table, jsonb_array_length(v_built -> v_key), v_i,
                left(coalesce((v_tv -> v_key -> v_i)::text, '(none)'), 300),
                left(coalesce((v_built -> v_key -> v_i)::text, '(none)'), 300));
        ELSE
            detail := detail || format(E'\n%s:\n  tv:    %s\n  build: %s', v_key,
                left(coalesce((v_tv -> v_key)::text, '(none)'), 300), left(coalesce((v_built -> v_key)::text, '(none)'), 300));
        END IF;
    END LOOP;
END
$$;
SQL

cdc_create_slot || exit 1

# verify, then each entity against its build function in SQL.
check_documents() {
    local what=$1 entity line
    assert_exit 0 "$what: tvsync-migrate verify exits 0" -- cdc_verify
    for entity in post comment user; do
        line=$(pgcluster_psql -F '|' -c "SELECT differing, first_id, detail FROM test_entity_diff('$entity')")
        if [ "${line%%|*}" = 0 ]; then
            assert_pass "$what: tv_$entity equals fn_build_$entity row for row"
        else
            assert_fail "$what: tv_$entity equals fn_build_$entity row for row (SEED=$SEED)" \
                "rows that differ: ${line%%|*}; first: $line"
        fi
    done
}

# The large posts patched along comment -> post, the small ones built: both paths, and the
# choice between them, under the same histories.
CDC_ARGS="--set cdc.patch_min_bytes=4kB"
cdc_start $CDC_ARGS || exit 1
echo "# documents at the start: $(pgcluster_psql -c "SELECT count(*) || ' posts, ' || (SELECT count(*) FROM tb_comment) || ' comments, largest post ' || (SELECT max(n) FROM (SELECT count(*) n FROM tb_comment GROUP BY post_id) x) || ', ' || (SELECT count(*) FROM tv_post WHERE pg_column_size(data) >= 4096) || ' posts stored in 4kB or more' FROM tb_post")"
i=0
while [ "$i" -lt "$HISTORIES" ]; do
    seed=$((SEED + i))
    started=$(date +%s.%N)
    # tvsync-cdc applies while the history is written (one transaction after another).
    assert_exit 0 "history $i (seed $seed, $TRANSACTIONS transactions) runs" -- \
        pgcluster_psql -c "CALL test_history($seed, $TRANSACTIONS)"
    written=$(date +%s.%N)
    assert_exit 0 "history $i is applied" -- cdc_sync 120
    awk -v a="$started" -v b="$written" -v c="$(date +%s.%N)" \
        'BEGIN { printf "# history written in %.1f s, applied %.1f s later", b - a, c - b }'
    # The same seed gives the same tables (a replay can be checked against this).
    echo "; tables' fingerprint $(pgcluster_psql -c "SELECT md5(string_agg(c::text, ',' ORDER BY c.id))
        FROM (SELECT id, post_id, author_id, content FROM tb_comment) c")"
    check_documents "after history $i (seed $seed)"
    i=$((i + 1))
done
echo "# after the histories: $(pgcluster_psql -c "SELECT count(*) || ' posts, ' || (SELECT count(*) FROM tb_comment) || ' comments, largest post ' || (SELECT max(n) FROM (SELECT count(*) n FROM tb_comment GROUP BY post_id) x) || ', ' || (SELECT count(*) FROM tv_post WHERE pg_column_size(data) >= 4096) || ' posts stored in 4kB or more' FROM tb_post")"

# One more history, slowed down so tvsync-cdc is killed with SIGKILL several times while
# it is written, and restarted each time (as cdc_crash.sh does).
seed=$((SEED + HISTORIES))
pgcluster_psql -c "CALL test_history($seed, $TRANSACTIONS, 0.01)" >"$PGCLUSTER_DIR/crash_history.log" 2>&1 &
writer=$!
kills=0
while [ "$kills" -lt 4 ] && kill -0 "$writer" 2>/dev/null; do
    sleep "$(awk -v r="$(od -An -N2 -tu2 /dev/urandom)" 'BEGIN { printf "%.2f", 0.2 + (r % 80) / 100 }')"
    kill -9 "$CDC_PID"
    wait "$CDC_PID" 2>/dev/null
    kills=$((kills + 1))
    cdc_start $CDC_ARGS || { assert_fail "tvsync-cdc restarts after SIGKILL $kills"; break; }
done
wait "$writer"
assert_eq 0 "$?" "history with kills (seed $seed) runs"
echo "# tvsync-cdc killed $kills times during it"
assert_exit 0 "the history written under SIGKILLs is applied" -- cdc_sync 120
check_documents "after SIGKILLs during history (seed $seed)"
assert_eq 0 "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.dead_letter")" "no intent was dead-lettered"
# The large posts' documents hold the window, not every comment (the equality with the
# build above says which 50), and count every comment.
assert_eq "50 50" "$(pgcluster_psql -c "SELECT string_agg(jsonb_array_length(t.data -> 'comments')::text, ' ' ORDER BY t.id)
                                        FROM tv_post t JOIN test_big_post USING (id)")" \
    "the large posts' documents list exactly 50 comments"
assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM tv_post t JOIN test_big_post USING (id)
                                    WHERE (t.data ->> 'commentCount')::bigint
                                          IS DISTINCT FROM (SELECT count(*) FROM tb_comment c WHERE c.post_id = t.id)
                                       OR (t.data ->> 'commentCount')::bigint <= 50")" \
    "and count all of their comments (more than 50)"

cdc_stop
assert_eq 0 "$CDC_STATUS" "SIGTERM exits 0"
test_summary
