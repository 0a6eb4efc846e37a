#!/bin/bash
# migrate_blog_validation.sh: 033 moved the blog mutations' argument checks into shared
# helpers; every mutation answers exactly as under 030 (status, message, entity, id, sync)
# for the same inputs, good and bad, and tvsync_app can still run them. 035 changes only
# what six of them publish. 036 and 037 change plans, not answers. 040 moves them onto the
# engine's helpers (042), answers unchanged.
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

MIGRATE="$TVSYNC_BUILDDIR/migrations/tvsync-migrate"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tvsync-blog-validation.XXXXXX")
pgcluster_start || exit 1
pgcluster_on_exit 'rm -rf "$WORK"'

# The engine's set, the blog's migrations before 033 (with the seed), then all of them.
# Each partial copy keeps the folder name, so it is the same set (named blog).
BLOG="$TVSYNC_SRCDIR/examples/blog"
mkdir -p "$WORK/before/blog"
for file in "$BLOG"/[0-9]*.sql; do
    [[ "$(basename "$file")" < 033 ]] && cp "$file" "$WORK/before/blog/"
done
"$MIGRATE" --dir "$WORK/before/blog" up >/dev/null 2>&1 || { echo "migrations before 033 failed"; exit 1; }
"$MIGRATE" seed "$BLOG/seed.sql" >/dev/null 2>&1 || { echo "seed failed"; exit 1; }
assert_eq 0 "$(pgcluster_psql -c "SELECT count(*) FROM pg_proc WHERE proname = 'uuid_problem'")" \
    "the first run has 030's functions (033 not applied)"

ALICE=10000000-0000-4000-8000-000000000001
POST1=20000000-0000-4000-8000-000000000001
POST3=20000000-0000-4000-8000-000000000003
COMMENT1=30000000-0000-4000-8000-000000000001
NOBODY=90000000-0000-4000-8000-000000000009

# Every case runs in a subtransaction that is rolled back, so each sees the seed data.
# A created row's random id is shown as <new>.
probe_sql() {
    cat <<EOF
CREATE FUNCTION pg_temp.probe(fn text, args jsonb) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE
    r tvsync.mutation_result;
    answer text;
BEGIN
    BEGIN
        EXECUTE format('SELECT * FROM %s(\$1)', fn) INTO r USING args;
        answer := concat_ws(' | ', r.status, coalesce(r.message, '-'), r.entity, coalesce(r.id::text, '-'),
                            r.sync::text);
        IF fn LIKE 'blog.create_%' AND r.id IS NOT NULL THEN
            answer := replace(answer, r.id::text, '<new>');
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'TVS99';
    EXCEPTION
        WHEN SQLSTATE 'TVS99' THEN NULL;
        WHEN OTHERS THEN answer := 'error: ' || SQLERRM;
    END;
    RETURN answer;
END
\$\$;
SELECT fn || ' ' || args::jsonb::text || ' => ' || pg_temp.probe(fn, args::jsonb) FROM (VALUES
    ('blog.create_user', '{}'),
    ('blog.create_user', '{"username": ""}'),
    ('blog.create_user', '{"username": "   "}'),
    ('blog.create_user', '{"username": 5, "email": "a@b"}'),
    ('blog.create_user', '{"username": "dave"}'),
    ('blog.create_user', '{"username": "dave", "email": ""}'),
    ('blog.create_user', '{"username": "bad name", "email": "a@b"}'),
    ('blog.create_user', '{"username": "$(printf 'u%.0s' $(seq 51))", "email": "a@b"}'),
    ('blog.create_user', '{"username": "dave", "email": "nope"}'),
    ('blog.create_user', '{"username": "alice", "email": "z@z"}'),
    ('blog.create_user', '{"username": "dave", "email": "alice@example.com"}'),
    ('blog.create_user', '{"username": "dave", "email": "dave@example.com", "fullName": "Dave"}'),
    ('blog.update_user', '{}'),
    ('blog.update_user', '{"id": "bad"}'),
    ('blog.update_user', '{"id": 5}'),
    ('blog.update_user', '{"id": null}'),
    ('blog.update_user', '{"id": "bad", "username": ""}'),
    ('blog.update_user', '{"id": "$ALICE", "username": ""}'),
    ('blog.update_user', '{"id": "$ALICE", "username": null}'),
    ('blog.update_user', '{"id": "$ALICE", "email": " "}'),
    ('blog.update_user', '{"id": "$ALICE", "username": "bad name"}'),
    ('blog.update_user', '{"id": "$ALICE", "email": "bad"}'),
    ('blog.update_user', '{"id": "$NOBODY"}'),
    ('blog.update_user', '{"id": "$NOBODY", "username": ""}'),
    ('blog.update_user', '{"id": "$ALICE", "username": "bob"}'),
    ('blog.update_user', '{"id": "$ALICE", "email": "bob@example.com"}'),
    ('blog.update_user', '{"id": "$ALICE", "fullName": "A. Anderson"}'),
    ('blog.update_user', '{"id": "${ALICE//-/}", "bio": "no dashes"}'),
    ('blog.delete_user', '{}'),
    ('blog.delete_user', '{"id": "x"}'),
    ('blog.delete_user', '{"id": "$NOBODY"}'),
    ('blog.delete_user', '{"id": "$ALICE"}'),
    ('blog.create_post', '{}'),
    ('blog.create_post', '{"authorId": "x"}'),
    ('blog.create_post', '{"authorId": "$ALICE"}'),
    ('blog.create_post', '{"authorId": "$ALICE", "title": ""}'),
    ('blog.create_post', '{"authorId": "$ALICE", "title": "t"}'),
    ('blog.create_post', '{"authorId": "$ALICE", "title": "t", "content": " "}'),
    ('blog.create_post', '{"authorId": "$NOBODY", "title": "t", "content": "c"}'),
    ('blog.create_post', '{"authorId": "$NOBODY", "title": ""}'),
    ('blog.create_post', '{"authorId": "$POST1", "title": "t", "content": "c"}'),
    ('blog.create_post', '{"authorId": "$ALICE", "title": "t", "content": "c"}'),
    ('blog.create_post', '{"authorId": "$ALICE", "title": "t", "content": "c", "published": true}'),
    ('blog.update_post', '{}'),
    ('blog.update_post', '{"id": "x"}'),
    ('blog.update_post', '{"id": "x", "title": ""}'),
    ('blog.update_post', '{"id": "$POST1", "title": ""}'),
    ('blog.update_post', '{"id": "$POST1", "content": ""}'),
    ('blog.update_post', '{"id": "$POST1", "title": "", "published": "yes"}'),
    ('blog.update_post', '{"id": "$POST1", "published": "yes"}'),
    ('blog.update_post', '{"id": "$POST1", "published": null}'),
    ('blog.update_post', '{"id": "$NOBODY"}'),
    ('blog.update_post', '{"id": "$NOBODY", "content": ""}'),
    ('blog.update_post', '{"id": "$POST1", "title": "new title"}'),
    ('blog.update_post', '{"id": "$POST1", "published": false}'),
    ('blog.publish_post', '{}'),
    ('blog.publish_post', '{"id": "x"}'),
    ('blog.publish_post', '{"id": "$NOBODY"}'),
    ('blog.publish_post', '{"id": "$POST3"}'),
    ('blog.delete_post', '{}'),
    ('blog.delete_post', '{"id": "x"}'),
    ('blog.delete_post', '{"id": "$NOBODY"}'),
    ('blog.delete_post', '{"id": "$POST1"}'),
    ('blog.create_comment', '{}'),
    ('blog.create_comment', '{"postId": "x"}'),
    ('blog.create_comment', '{"postId": "$POST1"}'),
    ('blog.create_comment', '{"postId": "$POST1", "authorId": "x"}'),
    ('blog.create_comment', '{"postId": "$POST1", "authorId": "$ALICE"}'),
    ('blog.create_comment', '{"postId": "$POST1", "authorId": "$ALICE", "content": ""}'),
    ('blog.create_comment', '{"postId": "$NOBODY", "authorId": "$ALICE", "content": "c"}'),
    ('blog.create_comment', '{"postId": "$POST1", "authorId": "$NOBODY", "content": "c"}'),
    ('blog.create_comment', '{"postId": "$NOBODY", "authorId": "$NOBODY", "content": "c"}'),
    ('blog.create_comment', '{"postId": "$NOBODY", "authorId": "x", "content": "c"}'),
    ('blog.create_comment', '{"postId": "$POST1", "authorId": "$ALICE", "content": "c"}'),
    ('blog.update_comment', '{}'),
    ('blog.update_comment', '{"id": "x"}'),
    ('blog.update_comment', '{"id": "$COMMENT1"}'),
    ('blog.update_comment', '{"id": "$COMMENT1", "content": ""}'),
    ('blog.update_comment', '{"id": "$NOBODY"}'),
    ('blog.update_comment', '{"id": "$NOBODY", "content": "c"}'),
    ('blog.update_comment', '{"id": "$COMMENT1", "content": "edited"}'),
    ('blog.delete_comment', '{}'),
    ('blog.delete_comment', '{"id": "x"}'),
    ('blog.delete_comment', '{"id": "$NOBODY"}'),
    ('blog.delete_comment', '{"id": "$COMMENT1"}')
) AS c(fn, args) ORDER BY fn, args::jsonb::text;
EOF
}

probe_sql | pgcluster_psql >"$WORK/before.txt" 2>&1 || { cat "$WORK/before.txt"; echo "probe failed"; exit 1; }
mkdir -p "$WORK/upto033/blog"
for file in "$BLOG"/[0-9]*.sql; do
    [[ "$(basename "$file")" < 034 ]] && cp "$file" "$WORK/upto033/blog/"
done
"$MIGRATE" --dir "$WORK/upto033/blog" up >/dev/null 2>&1 || { echo "tvsync-migrate up (033) failed"; exit 1; }
assert_eq 1 "$(pgcluster_psql -c "SELECT count(*) FROM pg_proc WHERE proname = 'uuid_problem'")" \
    "the second run has 033's helpers"
probe_sql | pgcluster_psql >"$WORK/after.txt" 2>&1 || { cat "$WORK/after.txt"; echo "probe failed"; exit 1; }

cases=$(wc -l <"$WORK/before.txt")
echo "$cases cases"
assert_eq yes "$([ "$cases" -ge 80 ] && echo yes || echo no)" "every case produced an answer ($cases)"
for message in "validation_failed | id x is not a valid UUID | post | -" \
               "validation_failed | authorId $NOBODY: no such user | post | -" \
               "validation_failed | postId $NOBODY: no such post | comment | -" \
               "validation_failed | title must not be empty | post | $POST1" \
               "validation_failed | published must be true or false | post | $POST1" \
               "validation_failed | username may contain only letters" \
               "not_found | no user with id $NOBODY | user | $NOBODY" \
               "conflict | username 'bob' is already taken | user | $ALICE" \
               "ok | - | comment | <new> | [{\"ids\": [\"<new>\"], \"entity\": \"comment\"}"; do
    assert_contains "$(cat "$WORK/before.txt")" "$message" "030 answers: $message"
done
assert_eq "" "$(grep '=> error: ' "$WORK/before.txt" "$WORK/after.txt")" "no case raised a SQL error"
assert_eq "" "$(diff "$WORK/before.txt" "$WORK/after.txt")" \
    "every mutation answers the same after 033 (status, message, entity, id, sync)"

# 035 changes what six mutations publish (the rows they write; cascades do the rest)
# and nothing else.
mkdir -p "$WORK/before040/blog"
for file in "$BLOG"/[0-9]*.sql; do
    [[ "$(basename "$file")" < 040 ]] && cp "$file" "$WORK/before040/blog/"
done
"$MIGRATE" --dir "$WORK/before040/blog" up >/dev/null 2>&1 || { echo "tvsync-migrate up (035) failed"; exit 1; }
probe_sql | pgcluster_psql >"$WORK/latest.txt" 2>&1 || { cat "$WORK/latest.txt"; echo "probe failed"; exit 1; }
without_sync() { sed 's/ | [^|]*$//' "$1"; }
assert_eq "" "$(diff <(without_sync "$WORK/after.txt") <(without_sync "$WORK/latest.txt"))" \
    "after 035 every mutation answers the same status, message, entity and id"
assert_contains "$(cat "$WORK/latest.txt")" \
    "blog.create_comment {\"postId\": \"$POST1\", \"content\": \"c\", \"authorId\": \"$ALICE\"} => ok | - | comment | <new> | [{\"ids\": [\"<new>\"], \"entity\": \"comment\"}]" \
    "after 035 createComment publishes the new comment only"
changed=$(diff "$WORK/after.txt" "$WORK/latest.txt" | grep '^> ')
assert_eq "" "$(grep -vE '^> blog\.(create_comment|update_comment|delete_comment|create_post|update_post|publish_post) ' <<<"$changed")" \
    "after 035 only the six mutations' intents differ"
assert_eq "yes" "$([ -n "$changed" ] && echo yes || echo no)" "after 035 some answers publish fewer intents"

# tvsync_app (the server's role) runs them, helpers included; PUBLIC no longer may.
as_app() { pgcluster_psql -c "SET ROLE tvsync_app" -c "$1"; }
assert_eq "validation_failed|postId $NOBODY: no such post" \
    "$(as_app "SELECT status, message FROM blog.create_comment('{\"postId\": \"$NOBODY\", \"authorId\": \"$ALICE\", \"content\": \"c\"}')")" \
    "tvsync_app runs a mutation through the helpers"
assert_eq ok "$(as_app "SELECT status FROM tvsync.run_mutation('blog.create_comment',
                        '{\"postId\": \"$POST1\", \"authorId\": \"$ALICE\", \"content\": \"by the app\"}')")" \
    "tvsync_app creates a comment through tvsync.run_mutation"
assert_eq 0 "$(pgcluster_psql -c "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                                  WHERE n.nspname = 'blog' AND has_function_privilege('public', p.oid, 'EXECUTE')")" \
    "no blog function is executable by PUBLIC"
assert_eq 1 "$(pgcluster_psql -c "SELECT count(*) FROM tb_comment WHERE content = 'by the app' AND post_id = '$POST1'")" \
    "the app's comment was written"

# 040: the blog's mutations use the engine's helpers (042) and answer exactly as under
# 035; the blog's private copies are gone.
probe_sql | pgcluster_psql >"$WORK/before040.txt" 2>&1 || { cat "$WORK/before040.txt"; echo "probe failed"; exit 1; }
"$MIGRATE" --dir "$BLOG" up >/dev/null 2>&1 || { echo "tvsync-migrate up (040) failed"; exit 1; }
probe_sql | pgcluster_psql >"$WORK/engine.txt" 2>&1 || { cat "$WORK/engine.txt"; echo "probe failed"; exit 1; }
assert_eq "$(wc -l <"$WORK/before040.txt")" "$(wc -l <"$WORK/engine.txt")" "after 040 every case still answers"
assert_eq "" "$(grep '=> error: ' "$WORK/engine.txt")" "after 040 no case raises a SQL error"
assert_eq "" "$(diff "$WORK/before040.txt" "$WORK/engine.txt")" \
    "after 040 every mutation answers the same (status, message, entity, id, sync)"
assert_eq 0 "$(pgcluster_psql -c "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                                  WHERE n.nspname = 'blog' AND p.proname IN ('result', 'intent', 'try_uuid',
                                  'required_text', 'uuid_problem', 'text_problem', 'missing_reference')")" \
    "after 040 the blog has no private copy of the engine's helpers"
assert_eq "validation_failed|authorId $NOBODY: no such user" \
    "$(as_app "SELECT status, message FROM blog.create_comment('{\"postId\": \"$POST1\", \"authorId\": \"$NOBODY\", \"content\": \"c\"}')")" \
    "after 040 tvsync_app runs a mutation through the engine's helpers"

# 036: the build functions' generic plans (the ones tvsync-cdc keeps per connection) read
# what a row embeds by index: building one row never scans another table whole. Under 034,
# with the benchmark's 1,000 users, the planner hashed all of tb_user to build one post or
# comment, and read every post and comment to count one user's.
pgcluster_psql -c "INSERT INTO tb_user (username, email) SELECT 'plan' || i, 'plan' || i || '@example.com'
                   FROM generate_series(1, 1000) AS i" >/dev/null
pgcluster_psql -c "INSERT INTO tb_post (author_id, title) SELECT u.id, 'Plan ' || u.username
                   FROM tb_user u, generate_series(1, 10) AS i" >/dev/null
pgcluster_psql -c "INSERT INTO tb_comment (post_id, author_id, content)
                   SELECT p.id, p.author_id, 'plan' FROM tb_post p, generate_series(1, 3) AS i" >/dev/null
pgcluster_psql -c "ANALYZE" >/dev/null
generic_plan() {
    pgcluster_psql -c "SET plan_cache_mode = force_generic_plan" \
        -c "PREPARE b(uuid[]) AS SELECT * FROM $1(\$1)" -c "EXPLAIN EXECUTE b('{$POST1}')"
}
for pair in fn_build_user:"tb_post tb_comment" fn_build_post:"tb_user tb_comment" fn_build_comment:"tb_user tb_post"; do
    build=${pair%%:*}
    plan=$(generic_plan "$build")
    for other in ${pair#*:}; do
        assert_eq "" "$(grep "Seq Scan on $other" <<<"$plan")" "$build: the generic plan does not scan $other whole"
    done
done

# 037 (and 042 for the engine's helpers): the argument helpers inline into the mutations'
# expressions (a SQL function that does not is planned again in every transaction that
# calls it).
plan=$(pgcluster_psql -c "EXPLAIN (VERBOSE, COSTS OFF) SELECT tvsync.key_problem(a, 'id', 'uuid'), tvsync.text_problem(a, 'title'),
                          tvsync.reference_problem('id', u.id, 'user', EXISTS (SELECT FROM tb_post p WHERE p.id = u.id FOR KEY SHARE)),
                          tvsync.mutation_ok('user', u.id, '[]')
                          FROM tb_user u, to_jsonb(u) AS a")
assert_contains "$plan" "format(" "key_problem, text_problem and reference_problem are inlined"
assert_eq "" "$(grep -oE 'tvsync\.[a-z_]*(problem|ok)' <<<"$plan")" "no call to a check or to mutation_ok is left in the plan"
assert_eq "plpgsql" "$(pgcluster_psql -c "SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
                                          WHERE p.oid = 'tvsync.intent'::regproc")" \
    "tvsync.intent is PL/pgSQL (planned once per session)"

test_summary
