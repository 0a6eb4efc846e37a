#!/bin/bash
# migrate_blog_validation.sh: the blog's mutations (examples/blog/003) answer every case, good
# and bad, exactly as the hand-written blog's last form did (status, message, entity, id,
# sync: recorded below); tvsync_app runs them, PUBLIC may not; the generated build functions'
# generic plans read what a row embeds by index; the engine's checks inline.
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

MIGRATE="$TVSYNC_BUILDDIR/migrations/tvsync-migrate"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tvsync-blog-validation.XXXXXX")
pgcluster_start || exit 1
pgcluster_on_exit 'rm -rf "$WORK"'

BLOG="$TVSYNC_SRCDIR/examples/blog"
"$MIGRATE" --dir "$BLOG" up >/dev/null 2>&1 || { echo "tvsync-migrate up failed"; exit 1; }
"$MIGRATE" seed "$BLOG/seed.sql" >/dev/null 2>&1 || { echo "seed failed"; exit 1; }

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

# What the hand-written blog (its mutations as of its migration 040) answered.
cat >"$WORK/expected.txt" <<'ANSWERS'
blog.create_comment {"postId": "20000000-0000-4000-8000-000000000001", "authorId": "10000000-0000-4000-8000-000000000001"} => validation_failed | content must not be empty | comment | - | []
blog.create_comment {"postId": "20000000-0000-4000-8000-000000000001", "authorId": "x"} => validation_failed | authorId x is not a valid UUID | comment | - | []
blog.create_comment {"postId": "20000000-0000-4000-8000-000000000001", "content": "", "authorId": "10000000-0000-4000-8000-000000000001"} => validation_failed | content must not be empty | comment | - | []
blog.create_comment {"postId": "20000000-0000-4000-8000-000000000001", "content": "c", "authorId": "10000000-0000-4000-8000-000000000001"} => ok | - | comment | <new> | [{"ids": ["<new>"], "entity": "comment"}]
blog.create_comment {"postId": "20000000-0000-4000-8000-000000000001", "content": "c", "authorId": "90000000-0000-4000-8000-000000000009"} => validation_failed | authorId 90000000-0000-4000-8000-000000000009: no such user | comment | - | []
blog.create_comment {"postId": "20000000-0000-4000-8000-000000000001"} => validation_failed | authorId null is not a valid UUID | comment | - | []
blog.create_comment {"postId": "90000000-0000-4000-8000-000000000009", "content": "c", "authorId": "10000000-0000-4000-8000-000000000001"} => validation_failed | postId 90000000-0000-4000-8000-000000000009: no such post | comment | - | []
blog.create_comment {"postId": "90000000-0000-4000-8000-000000000009", "content": "c", "authorId": "90000000-0000-4000-8000-000000000009"} => validation_failed | postId 90000000-0000-4000-8000-000000000009: no such post | comment | - | []
blog.create_comment {"postId": "90000000-0000-4000-8000-000000000009", "content": "c", "authorId": "x"} => validation_failed | authorId x is not a valid UUID | comment | - | []
blog.create_comment {"postId": "x"} => validation_failed | postId x is not a valid UUID | comment | - | []
blog.create_comment {} => validation_failed | postId null is not a valid UUID | comment | - | []
blog.create_post {"authorId": "10000000-0000-4000-8000-000000000001"} => validation_failed | title must not be empty | post | - | []
blog.create_post {"authorId": "x"} => validation_failed | authorId x is not a valid UUID | post | - | []
blog.create_post {"title": "", "authorId": "10000000-0000-4000-8000-000000000001"} => validation_failed | title must not be empty | post | - | []
blog.create_post {"title": "", "authorId": "90000000-0000-4000-8000-000000000009"} => validation_failed | title must not be empty | post | - | []
blog.create_post {"title": "t", "authorId": "10000000-0000-4000-8000-000000000001"} => validation_failed | content must not be empty | post | - | []
blog.create_post {"title": "t", "content": " ", "authorId": "10000000-0000-4000-8000-000000000001"} => validation_failed | content must not be empty | post | - | []
blog.create_post {"title": "t", "content": "c", "authorId": "10000000-0000-4000-8000-000000000001", "published": true} => ok | - | post | <new> | [{"ids": ["<new>"], "entity": "post"}]
blog.create_post {"title": "t", "content": "c", "authorId": "10000000-0000-4000-8000-000000000001"} => ok | - | post | <new> | [{"ids": ["<new>"], "entity": "post"}]
blog.create_post {"title": "t", "content": "c", "authorId": "20000000-0000-4000-8000-000000000001"} => validation_failed | authorId 20000000-0000-4000-8000-000000000001: no such user | post | - | []
blog.create_post {"title": "t", "content": "c", "authorId": "90000000-0000-4000-8000-000000000009"} => validation_failed | authorId 90000000-0000-4000-8000-000000000009: no such user | post | - | []
blog.create_post {} => validation_failed | authorId null is not a valid UUID | post | - | []
blog.create_user {"email": "", "username": "dave"} => validation_failed | email must not be empty | user | - | []
blog.create_user {"email": "a@b", "username": "bad name"} => validation_failed | username may contain only letters, digits, "_", "." and "-" | user | - | []
blog.create_user {"email": "a@b", "username": "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"} => validation_failed | username must be at most 50 characters | user | - | []
blog.create_user {"email": "a@b", "username": 5} => validation_failed | username must not be empty | user | - | []
blog.create_user {"email": "alice@example.com", "username": "dave"} => conflict | email 'alice@example.com' is already in use | user | - | []
blog.create_user {"email": "dave@example.com", "fullName": "Dave", "username": "dave"} => ok | - | user | <new> | [{"ids": ["<new>"], "entity": "user"}]
blog.create_user {"email": "nope", "username": "dave"} => validation_failed | email must look like name@domain | user | - | []
blog.create_user {"email": "z@z", "username": "alice"} => conflict | username 'alice' is already taken | user | - | []
blog.create_user {"username": "   "} => validation_failed | username must not be empty | user | - | []
blog.create_user {"username": ""} => validation_failed | username must not be empty | user | - | []
blog.create_user {"username": "dave"} => validation_failed | email must not be empty | user | - | []
blog.create_user {} => validation_failed | username must not be empty | user | - | []
blog.delete_comment {"id": "30000000-0000-4000-8000-000000000001"} => ok | - | comment | 30000000-0000-4000-8000-000000000001 | [{"ids": ["30000000-0000-4000-8000-000000000001"], "entity": "comment"}]
blog.delete_comment {"id": "90000000-0000-4000-8000-000000000009"} => not_found | no comment with id 90000000-0000-4000-8000-000000000009 | comment | 90000000-0000-4000-8000-000000000009 | []
blog.delete_comment {"id": "x"} => validation_failed | id x is not a valid UUID | comment | - | []
blog.delete_comment {} => validation_failed | id null is not a valid UUID | comment | - | []
blog.delete_post {"id": "20000000-0000-4000-8000-000000000001"} => ok | - | post | 20000000-0000-4000-8000-000000000001 | [{"ids": ["20000000-0000-4000-8000-000000000001"], "entity": "post"}, {"ids": ["30000000-0000-4000-8000-000000000001", "30000000-0000-4000-8000-000000000002", "30000000-0000-4000-8000-000000000004"], "entity": "comment"}, {"ids": ["10000000-0000-4000-8000-000000000001", "10000000-0000-4000-8000-000000000002", "10000000-0000-4000-8000-000000000003"], "entity": "user"}]
blog.delete_post {"id": "90000000-0000-4000-8000-000000000009"} => not_found | no post with id 90000000-0000-4000-8000-000000000009 | post | 90000000-0000-4000-8000-000000000009 | []
blog.delete_post {"id": "x"} => validation_failed | id x is not a valid UUID | post | - | []
blog.delete_post {} => validation_failed | id null is not a valid UUID | post | - | []
blog.delete_user {"id": "10000000-0000-4000-8000-000000000001"} => ok | - | user | 10000000-0000-4000-8000-000000000001 | [{"ids": ["10000000-0000-4000-8000-000000000001", "10000000-0000-4000-8000-000000000002", "10000000-0000-4000-8000-000000000003"], "entity": "user"}, {"ids": ["20000000-0000-4000-8000-000000000001", "20000000-0000-4000-8000-000000000002"], "entity": "post"}, {"ids": ["30000000-0000-4000-8000-000000000001", "30000000-0000-4000-8000-000000000002", "30000000-0000-4000-8000-000000000003", "30000000-0000-4000-8000-000000000004"], "entity": "comment"}]
blog.delete_user {"id": "90000000-0000-4000-8000-000000000009"} => not_found | no user with id 90000000-0000-4000-8000-000000000009 | user | 90000000-0000-4000-8000-000000000009 | []
blog.delete_user {"id": "x"} => validation_failed | id x is not a valid UUID | user | - | []
blog.delete_user {} => validation_failed | id null is not a valid UUID | user | - | []
blog.publish_post {"id": "20000000-0000-4000-8000-000000000003"} => ok | - | post | 20000000-0000-4000-8000-000000000003 | [{"ids": ["20000000-0000-4000-8000-000000000003"], "entity": "post"}]
blog.publish_post {"id": "90000000-0000-4000-8000-000000000009"} => not_found | no post with id 90000000-0000-4000-8000-000000000009 | post | 90000000-0000-4000-8000-000000000009 | []
blog.publish_post {"id": "x"} => validation_failed | id x is not a valid UUID | post | - | []
blog.publish_post {} => validation_failed | id null is not a valid UUID | post | - | []
blog.update_comment {"id": "30000000-0000-4000-8000-000000000001", "content": ""} => validation_failed | content must not be empty | comment | 30000000-0000-4000-8000-000000000001 | []
blog.update_comment {"id": "30000000-0000-4000-8000-000000000001", "content": "edited"} => ok | - | comment | 30000000-0000-4000-8000-000000000001 | [{"ids": ["30000000-0000-4000-8000-000000000001"], "entity": "comment"}]
blog.update_comment {"id": "30000000-0000-4000-8000-000000000001"} => validation_failed | content must not be empty | comment | 30000000-0000-4000-8000-000000000001 | []
blog.update_comment {"id": "90000000-0000-4000-8000-000000000009", "content": "c"} => not_found | no comment with id 90000000-0000-4000-8000-000000000009 | comment | 90000000-0000-4000-8000-000000000009 | []
blog.update_comment {"id": "90000000-0000-4000-8000-000000000009"} => validation_failed | content must not be empty | comment | 90000000-0000-4000-8000-000000000009 | []
blog.update_comment {"id": "x"} => validation_failed | id x is not a valid UUID | comment | - | []
blog.update_comment {} => validation_failed | id null is not a valid UUID | comment | - | []
blog.update_post {"id": "20000000-0000-4000-8000-000000000001", "content": ""} => validation_failed | content must not be empty | post | 20000000-0000-4000-8000-000000000001 | []
blog.update_post {"id": "20000000-0000-4000-8000-000000000001", "published": "yes"} => validation_failed | published must be true or false | post | 20000000-0000-4000-8000-000000000001 | []
blog.update_post {"id": "20000000-0000-4000-8000-000000000001", "published": false} => ok | - | post | 20000000-0000-4000-8000-000000000001 | [{"ids": ["20000000-0000-4000-8000-000000000001"], "entity": "post"}]
blog.update_post {"id": "20000000-0000-4000-8000-000000000001", "published": null} => validation_failed | published must be true or false | post | 20000000-0000-4000-8000-000000000001 | []
blog.update_post {"id": "20000000-0000-4000-8000-000000000001", "title": "", "published": "yes"} => validation_failed | title must not be empty | post | 20000000-0000-4000-8000-000000000001 | []
blog.update_post {"id": "20000000-0000-4000-8000-000000000001", "title": ""} => validation_failed | title must not be empty | post | 20000000-0000-4000-8000-000000000001 | []
blog.update_post {"id": "20000000-0000-4000-8000-000000000001", "title": "new title"} => ok | - | post | 20000000-0000-4000-8000-000000000001 | [{"ids": ["20000000-0000-4000-8000-000000000001"], "entity": "post"}]
blog.update_post {"id": "90000000-0000-4000-8000-000000000009", "content": ""} => validation_failed | content must not be empty | post | 90000000-0000-4000-8000-000000000009 | []
blog.update_post {"id": "90000000-0000-4000-8000-000000000009"} => not_found | no post with id 90000000-0000-4000-8000-000000000009 | post | 90000000-0000-4000-8000-000000000009 | []
blog.update_post {"id": "x", "title": ""} => validation_failed | id x is not a valid UUID | post | - | []
blog.update_post {"id": "x"} => validation_failed | id x is not a valid UUID | post | - | []
blog.update_post {} => validation_failed | id null is not a valid UUID | post | - | []
blog.update_user {"id": "10000000-0000-4000-8000-000000000001", "email": " "} => validation_failed | email must not be empty | user | 10000000-0000-4000-8000-000000000001 | []
blog.update_user {"id": "10000000-0000-4000-8000-000000000001", "email": "bad"} => validation_failed | email must look like name@domain | user | 10000000-0000-4000-8000-000000000001 | []
blog.update_user {"id": "10000000-0000-4000-8000-000000000001", "email": "bob@example.com"} => conflict | email 'bob@example.com' is already in use | user | 10000000-0000-4000-8000-000000000001 | []
blog.update_user {"id": "10000000-0000-4000-8000-000000000001", "fullName": "A. Anderson"} => ok | - | user | 10000000-0000-4000-8000-000000000001 | [{"ids": ["10000000-0000-4000-8000-000000000001"], "entity": "user"}]
blog.update_user {"id": "10000000-0000-4000-8000-000000000001", "username": ""} => validation_failed | username must not be empty | user | 10000000-0000-4000-8000-000000000001 | []
blog.update_user {"id": "10000000-0000-4000-8000-000000000001", "username": "bad name"} => validation_failed | username may contain only letters, digits, "_", "." and "-" | user | 10000000-0000-4000-8000-000000000001 | []
blog.update_user {"id": "10000000-0000-4000-8000-000000000001", "username": "bob"} => conflict | username 'bob' is already taken | user | 10000000-0000-4000-8000-000000000001 | []
blog.update_user {"id": "10000000-0000-4000-8000-000000000001", "username": null} => validation_failed | username must not be empty | user | 10000000-0000-4000-8000-000000000001 | []
blog.update_user {"id": "10000000000040008000000000000001", "bio": "no dashes"} => ok | - | user | 10000000-0000-4000-8000-000000000001 | [{"ids": ["10000000-0000-4000-8000-000000000001"], "entity": "user"}]
blog.update_user {"id": "90000000-0000-4000-8000-000000000009", "username": ""} => validation_failed | username must not be empty | user | 90000000-0000-4000-8000-000000000009 | []
blog.update_user {"id": "90000000-0000-4000-8000-000000000009"} => not_found | no user with id 90000000-0000-4000-8000-000000000009 | user | 90000000-0000-4000-8000-000000000009 | []
blog.update_user {"id": "bad", "username": ""} => validation_failed | id bad is not a valid UUID | user | - | []
blog.update_user {"id": "bad"} => validation_failed | id bad is not a valid UUID | user | - | []
blog.update_user {"id": 5} => validation_failed | id 5 is not a valid UUID | user | - | []
blog.update_user {"id": null} => validation_failed | id null is not a valid UUID | user | - | []
blog.update_user {} => validation_failed | id null is not a valid UUID | user | - | []
ANSWERS

probe_sql | pgcluster_psql >"$WORK/answers.txt" 2>&1 || { cat "$WORK/answers.txt"; echo "probe failed"; exit 1; }
cases=$(wc -l <"$WORK/answers.txt")
assert_eq yes "$([ "$cases" -ge 80 ] && echo yes || echo no)" "every case produced an answer ($cases)"
assert_eq "" "$(grep '=> error: ' "$WORK/answers.txt")" "no case raised a SQL error"
assert_eq "" "$(diff "$WORK/expected.txt" "$WORK/answers.txt")" \
    "every mutation answers as the hand-written blog did (status, message, entity, id, sync)"

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

# The build functions' generic plans (the ones tvsync-cdc keeps per connection) read what a
# row embeds by index: building one row never scans another table whole, with the
# benchmark's 1,000 users.
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

# The engine's argument helpers (042) inline into the mutations'
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
