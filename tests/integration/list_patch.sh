#!/bin/bash
# list_patch.sh: a generated patch function returns exactly what the build function returns.
# On the blog (fn_patch_post_from_comment), for random histories: tv_post built at state A,
# then random changes to a set C of comments (inserts, edits, deletes, moves between posts,
# created_at changed, ties in created_at, their authors renamed, posts' titles changed):
# fn_patch_post_from_comment(every post, C) equals fn_build_post(every post), several seeds.
# The same on a declared domain with bigint keys and orderBy "rank DESC NULLS LAST, label"
# (NULLs, ties). The fallbacks (no tv row, a list that is not an array), tvsync.patch_list's
# edge cases, migration 046's check of a patch function's signature, and registry_json's
# "patch". The blog is the one without 007's bound on Post.comments (cdc_unbounded_blog):
# a bounded list is built, not patched.
set -u
. "$TVSYNC_SRCDIR/tests/integration/cdc_lib.sh"

WORK=$(mktemp -d /tmp/tvsync-list-patch.XXXXXX)
pgcluster_start || { echo "starting PostgreSQL failed"; exit 1; }
pgcluster_on_exit "rm -rf '$WORK'"
assert_exit 0 "the engine and the blog migrate" -- pgcluster_migrate
cdc_unbounded_blog || { echo "the blog without the bound on Post.comments failed"; exit 1; }
q() {
    pgcluster_psql -c "$1"
}

# ---------------------------------------------------------------- registry
assert_eq "fn_patch_post_from_comment(uuid[],uuid[])" \
    "$(q "SELECT patch_function FROM tvsync.cascade WHERE source_entity = 'comment' AND target_entity = 'post'")" \
    "the unbounded blog's generated file registers the patch function on comment -> post"
assert_eq "public.fn_patch_post_from_comment|null" \
    "$(q "SELECT string_agg(coalesce(c->>'patch', 'null'), '|' ORDER BY c->>'patch')
          FROM json_array_elements((SELECT registry FROM tvsync.registry_log ORDER BY version DESC LIMIT 1)->'cascades') c
          WHERE c->>'target' = 'post'")" \
    "the logged registry names it as \"patch\" (null on the other edge)"
assert_exit 1 "a patch function with the wrong arguments is refused" -- \
    q "UPDATE tvsync.cascade SET patch_function = 'public.fn_build_post(uuid[])' WHERE source_entity = 'comment' AND target_entity = 'post'"
assert_contains "$ASSERT_OUTPUT" "must be (ids uuid[], changed uuid[]) returning table (id uuid, data jsonb)" \
    "the error says the signature it needs"
q "CREATE FUNCTION public.wrong_result(ids uuid[], changed uuid[]) RETURNS TABLE (id uuid, doc json)
   LANGUAGE sql AS 'SELECT NULL::uuid, NULL::json'"
assert_exit 1 "so is one returning the wrong columns" -- \
    q "UPDATE tvsync.cascade SET patch_function = 'public.wrong_result(uuid[], uuid[])' WHERE source_entity = 'user' AND target_entity = 'post'"

# ---------------------------------------------------------------- patch_list itself
spec='[{"field": "t", "type": "integer", "desc": true, "nulls_first": false}, {"field": "id", "type": "bigint"}]'
assert_eq "" "$(q "SELECT tvsync.patch_list('{\"a\": 1}', '{1}', '[]', 'id', '$spec')")" \
    "patch_list of something that is not an array is NULL"
assert_eq '[{"t": 3, "id": 2}, {"t": 2, "id": 10}, {"t": 1, "id": 1}, {"t": null, "id": 4}]' \
    "$(q "SELECT tvsync.patch_list('[{\"id\": 2, \"t\": 3}, {\"id\": 1, \"t\": 1}]', '{5}',
          '[{\"id\": 4, \"t\": null}, {\"id\": 10, \"t\": 2}]', 'id', '$spec')")" \
    "DESC NULLS LAST puts NULL at the end, numbers compare as numbers (10 after 2 by key)"
assert_eq '[{"t": null, "id": 2}, {"t": 1, "id": 1}, {"t": 2, "id": 3}]' \
    "$(q "SELECT tvsync.patch_list('[{\"id\": 1, \"t\": 1}]', '{}', '[{\"id\": 3, \"t\": 2}, {\"id\": 2, \"t\": null}]', 'id',
          '[{\"field\": \"t\", \"type\": \"integer\", \"nulls_first\": true}, {\"field\": \"id\", \"type\": \"bigint\"}]')")" \
    "ASC NULLS FIRST puts NULL first"
assert_eq '[{"t": null, "id": 2}, {"t": 2, "id": 3}, {"t": 1, "id": 1}]' \
    "$(q "SELECT tvsync.patch_list('[{\"id\": 1, \"t\": 1}]', '{}', '[{\"id\": 3, \"t\": 2}, {\"id\": 2, \"t\": null}]', 'id',
          '[{\"field\": \"t\", \"type\": \"integer\", \"desc\": true}, {\"field\": \"id\", \"type\": \"bigint\"}]')")" \
    "DESC without NULLS puts NULL first, as ORDER BY does"
assert_eq '[]' "$(q "SELECT tvsync.patch_list('[{\"id\": 2, \"t\": 3}]', '{2}', NULL, 'id', '$spec')")" \
    "removing the only element leaves an empty list"
assert_exit 1 "an element without the key is an error, not a wrong place" -- \
    q "SELECT tvsync.patch_list('[{\"x\": 2}, {\"id\": 3, \"t\": 1}]', '{3}', '[]', 'id', '$spec')"
assert_contains "$ASSERT_OUTPUT" 'tvsync.patch_list: 1 of the 2 elements of the list have no "id"' "which says so"

# ---------------------------------------------------------------- the blog, random histories
cat >"$WORK/blog_round.sql" <<'SQL'
-- One random history step on the blog: changes to a set of comments (pg_temp.changed),
-- then the number of posts whose patched document differs from the built one.
CREATE OR REPLACE FUNCTION pg_temp.blog_step() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    c record;
    v_user uuid;
    v_times timestamptz[] := ARRAY(SELECT '2026-01-01 00:00:00+00'::timestamptz + n * interval '1 minute'
                                   FROM generate_series(0, 5) n);
    v_differ int;
    v_rate float8;
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS changed (id uuid PRIMARY KEY);
    TRUNCATE changed;
    -- state A: every post built
    PERFORM tvsync.apply('post', NULL);
    -- from a single change (one insert, edit, move or delete: each of patch_list's ways)
    -- to many in every post
    v_rate := (ARRAY[0.005, 0.01, 0.03, 0.1, 0.4])[1 + floor(random() * 5)::int];
    FOR c IN SELECT id FROM tb_comment ORDER BY id LOOP
        CONTINUE WHEN random() >= v_rate;
        CASE floor(random() * 4)::int
        WHEN 0 THEN
            UPDATE tb_comment SET content = 'edited ' || random() WHERE id = c.id;
        WHEN 1 THEN
            UPDATE tb_comment SET created_at = v_times[1 + floor(random() * 6)::int] WHERE id = c.id;
        WHEN 2 THEN
            UPDATE tb_comment SET post_id = (SELECT id FROM tb_post ORDER BY random() LIMIT 1) WHERE id = c.id;
        ELSE
            DELETE FROM tb_comment WHERE id = c.id;
        END CASE;
        INSERT INTO changed VALUES (c.id);
    END LOOP;
    FOR i IN 1 .. floor(random() * (CASE WHEN v_rate < 0.03 THEN 2 ELSE 6 END))::int LOOP
        INSERT INTO tb_comment (id, post_id, author_id, content, created_at)
        SELECT md5(random()::text)::uuid, (SELECT id FROM tb_post ORDER BY random() LIMIT 1),
               (SELECT id FROM tb_user ORDER BY random() LIMIT 1), 'new ' || i, v_times[1 + floor(random() * 6)::int]
        RETURNING id INTO v_user;
        INSERT INTO changed VALUES (v_user);
    END LOOP;
    -- a renamed author: the comments that embed them change too
    IF random() < 0.3 THEN
        SELECT id INTO v_user FROM tb_user ORDER BY random() LIMIT 1;
        UPDATE tb_user SET username = username || 'x', full_name = NULL WHERE id = v_user;
        INSERT INTO changed SELECT id FROM tb_comment WHERE author_id = v_user ON CONFLICT DO NOTHING;
    END IF;
    -- the post's own fields are computed, not patched
    UPDATE tb_post SET title = title || '!' WHERE id = (SELECT id FROM tb_post ORDER BY random() LIMIT 1);
    SELECT count(*) INTO v_differ
    FROM (SELECT * FROM public.fn_patch_post_from_comment(ARRAY(SELECT id FROM tb_post), ARRAY(SELECT id FROM changed))) p
    FULL JOIN (SELECT * FROM public.fn_build_post(ARRAY(SELECT id FROM tb_post))) b ON b.id = p.id
    WHERE p.data IS DISTINCT FROM b.data;
    RETURN v_differ;
END
$$;
SQL
for seed in 11 23 37 41 53 67 71 83 97; do
    result=$(pgcluster_psql <<SQL
DO \$\$ BEGIN PERFORM setseed(0.$seed); END \$\$;
\i $WORK/blog_round.sql
TRUNCATE tb_comment, tb_post, tb_user CASCADE;
INSERT INTO tb_user (id, username, email, full_name)
SELECT md5(random()::text)::uuid, 'user' || n, 'user' || n || '@example.com', 'User ' || n FROM generate_series(1, 6) n;
INSERT INTO tb_post (id, author_id, title, content)
SELECT md5(random()::text)::uuid, (SELECT id FROM tb_user ORDER BY random() LIMIT 1), 'post ' || n, 'text'
FROM generate_series(1, 5) n;
INSERT INTO tb_comment (id, post_id, author_id, content, created_at)
SELECT md5(random()::text)::uuid, (SELECT id FROM tb_post ORDER BY random() LIMIT 1),
       (SELECT id FROM tb_user ORDER BY random() LIMIT 1), 'comment ' || n,
       '2026-01-01 00:00:00+00'::timestamptz + floor(random() * 6) * interval '1 minute'
FROM generate_series(1, 120) n;
SELECT string_agg(pg_temp.blog_step()::text, ',') FROM generate_series(1, 10);
SELECT count(*) FROM tb_comment;
SQL
)
    echo "seed 0.$seed: differing posts per step, comments left: $(echo $result | tr '\n' ' ')"
    assert_eq "0,0,0,0,0,0,0,0,0,0" "$(echo "$result" | sed -n 1p)" "seed 0.$seed: patched posts equal built ones at every step"
done

# ---------------------------------------------------------------- one change at a time
# Each of patch_list's ways, on the post with the most comments: an insert in the middle, an
# edit in place, an edit that moves the comment earlier, later, a delete.
post=$(q "SELECT post_id FROM tb_comment GROUP BY post_id ORDER BY count(*) DESC, post_id LIMIT 1")
one_change() {
    q "SELECT tvsync.apply('post', ARRAY['$post'])" >/dev/null
    q "$2" >/dev/null
    assert_eq "t" "$(q "SELECT (SELECT data FROM public.fn_patch_post_from_comment(ARRAY['$post'::uuid], ARRAY['$3'::uuid]))
                              = (SELECT data FROM public.fn_build_post(ARRAY['$post'::uuid]))")" "$1"
}
middle=$(q "SELECT id FROM tb_comment WHERE post_id = '$post' ORDER BY created_at, id OFFSET 3 LIMIT 1")
new_id=$(q "SELECT md5('one change')::uuid")
one_change "one comment inserted among others" \
    "INSERT INTO tb_comment (id, post_id, author_id, content, created_at)
     SELECT '$new_id', '$post', author_id, 'inserted', created_at FROM tb_comment WHERE id = '$middle'" "$new_id"
one_change "one comment edited in place" "UPDATE tb_comment SET content = 'edited' WHERE id = '$middle'" "$middle"
one_change "one comment moved earlier" \
    "UPDATE tb_comment SET created_at = '2000-01-01' WHERE id = '$middle'" "$middle"
one_change "one comment moved last" \
    "UPDATE tb_comment SET created_at = '2100-01-01' WHERE id = '$middle'" "$middle"
one_change "one comment deleted" "DELETE FROM tb_comment WHERE id = '$middle'" "$middle"

# ---------------------------------------------------------------- work that does not grow with the list
# The build looks up every comment's author (an index scan of tb_user each); the patch looks up
# the post's author and the changed comment's: the same for 50 comments as for 400.
lookups() {   # N: comments on a new post; prints "patch build" author lookups after one new comment
    local big
    big=$(q "INSERT INTO tb_post (id, author_id, title, content) SELECT md5('big $1')::uuid, id, 'big', 'text'
             FROM tb_user ORDER BY id LIMIT 1 RETURNING id")
    q "INSERT INTO tb_comment (id, post_id, author_id, content, created_at)
       SELECT md5('big $1 ' || n)::uuid, '$big', u.id, 'c' || n, '2026-01-01'::timestamptz + n * interval '1 second'
       FROM generate_series(1, $1) n CROSS JOIN LATERAL (SELECT id FROM tb_user ORDER BY id OFFSET n % 3 LIMIT 1) u"
    q "SELECT tvsync.apply('post', ARRAY['$big'])" >/dev/null
    q "INSERT INTO tb_comment (id, post_id, author_id, content, created_at)
       SELECT md5('new $1')::uuid, '$big', id, 'new', '2026-01-01 00:02:00+00' FROM tb_user ORDER BY id LIMIT 1"
    pgcluster_psql <<SQL | tr '\n' ' '
BEGIN;
CREATE TEMP TABLE seen AS SELECT idx_scan AS n FROM pg_stat_xact_user_tables WHERE relname = 'tb_user';
SELECT length(data::text) > 0 FROM public.fn_patch_post_from_comment(ARRAY['$big'::uuid], ARRAY[md5('new $1')::uuid]) \\g /dev/null
SELECT (SELECT idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'tb_user') - n FROM seen;
UPDATE seen SET n = (SELECT idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'tb_user');
SELECT length(data::text) > 0 FROM public.fn_build_post(ARRAY['$big'::uuid]) \\g /dev/null
SELECT (SELECT idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'tb_user') - n FROM seen;
COMMIT;
SQL
}
small=$(lookups 50)
large=$(lookups 400)
echo "author lookups (patch build): 50 comments: $small; 400 comments: $large"
assert_eq "$(echo $small | cut -d' ' -f1)" "$(echo $large | cut -d' ' -f1)" \
    "the patch looks up as many authors for 400 comments as for 50"
assert_eq "yes" "$(echo $small $large | awk '{ print ($1 <= 3 && $2 > 50 && $4 > 400) ? "yes" : "no" }')" \
    "a few, where the build looks up one per comment"
q "DELETE FROM tb_post WHERE title = 'big'"

# ---------------------------------------------------------------- fallbacks
q "SELECT tvsync.apply('post', NULL)" >/dev/null
comment=$(q "SELECT id FROM tb_comment WHERE post_id = '$post' ORDER BY id LIMIT 1")
q "UPDATE tb_comment SET content = 'after' WHERE id = '$comment'"
same_as_build() {
    q "SELECT (SELECT data FROM public.fn_patch_post_from_comment(ARRAY['$post'::uuid], ARRAY['$comment'::uuid]))
              = (SELECT data FROM public.fn_build_post(ARRAY['$post'::uuid]))"
}
q "DELETE FROM tv_post WHERE id = '$post'"
assert_eq "t" "$(same_as_build)" "without a tv_post row, the patch builds the whole list"
q "SELECT tvsync.apply('post', ARRAY['$post'])" >/dev/null
q "UPDATE tb_comment SET content = 'after again' WHERE id = '$comment'"
q "UPDATE tv_post SET data = jsonb_set(data, '{comments}', '\"not a list\"') WHERE id = '$post'"
assert_eq "t" "$(same_as_build)" "with a comments member that is not an array, too"
q "SELECT tvsync.apply('post', ARRAY['$post'])" >/dev/null
q "UPDATE tb_comment SET content = 'as tvsync_cdc' WHERE id = '$comment'"
assert_eq "t" "$(pgcluster_psql <<SQL
SET ROLE tvsync_cdc;
SELECT EXISTS (SELECT 1 FROM tv_post WHERE id = '$post')
   AND (SELECT data FROM public.fn_patch_post_from_comment(ARRAY['$post'::uuid], ARRAY['$comment'::uuid]))
       = (SELECT data FROM public.fn_build_post(ARRAY['$post'::uuid]));
SQL
)" "tvsync-cdc's role may run it (its grants, tv_post's row-level security)"
assert_eq "" "$(q "SELECT id FROM public.fn_patch_post_from_comment(ARRAY['$(q "SELECT md5('gone')::uuid")'::uuid], ARRAY['$comment'::uuid])")" \
    "an id without a tb_post row gives nothing, as the build"

# ---------------------------------------------------------------- a declared domain: bigint keys, DESC NULLS LAST
mkdir -p "$WORK/ranked"
cat >"$WORK/ranked/001_tables.sql" <<'SQL'
CREATE TABLE tb_board (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE tb_card (
    id        bigint PRIMARY KEY,
    board_id  bigint NOT NULL REFERENCES tb_board (id) ON DELETE CASCADE,
    rank      integer,
    label     text NOT NULL
);
CREATE TABLE tb_tag (id text PRIMARY KEY, name text NOT NULL);
CREATE TABLE tb_card_tag (
    card_id  bigint NOT NULL REFERENCES tb_card (id) ON DELETE CASCADE,
    tag_id   text NOT NULL REFERENCES tb_tag (id),
    PRIMARY KEY (card_id, tag_id)
);
SQL
cat >"$WORK/ranked.graphql" <<'SDL'
type Board @entity(source: "tb_board") {
  id: ID!
  name: String!
  cards: [BoardCard!]! @many(via: "board_id", orderBy: "rank DESC NULLS LAST, label")
  cardCount: Int! @count(from: "tb_card", via: "board_id")
}
type BoardCard @embedded(source: "tb_card") { id: ID! rank: Int label: String! }
type Card @entity(source: "tb_card") { id: ID! boardId: ID! rank: Int label: String! }
type Tag @entity(source: "tb_tag") {
  id: ID!
  name: String!
  cards: [BoardCard!]! @many(through: "tb_card_tag", via: "tag_id", target: "card_id", orderBy: "label DESC")
}
SDL
migrate() {
    "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$TVSYNC_DATABASE_URL" "$@"
}
assert_exit 0 "the ranked tables apply" -- migrate --dir "$WORK/ranked" up
assert_exit 0 "generate the ranked domain" -- migrate generate --schema "$WORK/ranked.graphql" --dir "$WORK/ranked"
assert_contains "$(cat "$WORK/ranked/002_generated.sql")" '{"field": "rank", "type": "integer", "desc": true, "nulls_first": false}, {"field": "label", "type": "text", "desc": false, "nulls_first": false}, {"field": "id", "type": "bigint"' \
    "the order spec says DESC NULLS LAST, then label, then the key"
assert_exit 0 "it applies" -- migrate --dir "$WORK/ranked" up
for seed in 5 17 29; do
    result=$(pgcluster_psql <<SQL
DO \$\$ BEGIN PERFORM setseed(0.$seed); END \$\$;
TRUNCATE tb_card_tag, tb_card, tb_board, tb_tag;
INSERT INTO tb_board SELECT n, 'board ' || n FROM generate_series(1, 4) n;
INSERT INTO tb_tag SELECT chr(96 + n), 'tag ' || n FROM generate_series(1, 5) n;
INSERT INTO tb_card SELECT 9007199254740000 + n, 1 + floor(random() * 4), CASE WHEN random() < 0.2 THEN NULL ELSE floor(random() * 5) END,
                           chr(97 + floor(random() * 3)::int) FROM generate_series(1, 80) n;
CREATE TEMP TABLE IF NOT EXISTS changed (id bigint PRIMARY KEY);
CREATE OR REPLACE FUNCTION pg_temp.ranked_step() RETURNS int LANGUAGE plpgsql AS \$\$
DECLARE
    v_differ int;
    v_rate float8;
BEGIN
    TRUNCATE changed;
    PERFORM tvsync.apply('board', NULL);
    PERFORM tvsync.apply('tag', NULL);
    v_rate := (ARRAY[0.01, 0.05, 0.2])[1 + floor(random() * 3)::int];
    INSERT INTO changed SELECT id FROM tb_card WHERE random() < v_rate;
    UPDATE tb_card SET rank = CASE WHEN random() < 0.3 THEN NULL ELSE floor(random() * 5) END,
                       board_id = CASE WHEN random() < 0.3 THEN 1 + floor(random() * 4) ELSE board_id END
    WHERE id IN (SELECT id FROM changed);
    DELETE FROM tb_card WHERE id IN (SELECT id FROM changed WHERE random() < 0.2);
    INSERT INTO tb_card SELECT n + m, 1 + floor(random() * 4), CASE WHEN random() < 0.3 THEN NULL ELSE floor(random() * 5) END, 'new'
    FROM (SELECT coalesce(max(id), 0) AS n FROM tb_card) s, generate_series(1, floor(random() * 3)::int) m;
    INSERT INTO changed SELECT id FROM tb_card WHERE label = 'new' ON CONFLICT DO NOTHING;
    -- links of the changed cards come and go (their intents name them)
    DELETE FROM tb_card_tag WHERE card_id IN (SELECT id FROM changed) AND random() < 0.5;
    INSERT INTO tb_card_tag SELECT c.id, t.id FROM tb_card c, tb_tag t
    WHERE c.id IN (SELECT id FROM changed) AND random() < 0.3 ON CONFLICT DO NOTHING;
    SELECT count(*) INTO v_differ
    FROM (SELECT * FROM public.fn_patch_board_from_card(ARRAY(SELECT id FROM tb_board), ARRAY(SELECT id FROM changed))) p
    FULL JOIN (SELECT * FROM public.fn_build_board(ARRAY(SELECT id FROM tb_board))) b ON b.id = p.id
    WHERE p.data IS DISTINCT FROM b.data;
    SELECT v_differ + count(*) INTO v_differ
    FROM (SELECT * FROM public.fn_patch_tag_from_card(ARRAY(SELECT id FROM tb_tag), ARRAY(SELECT id FROM changed))) p
    FULL JOIN (SELECT * FROM public.fn_build_tag(ARRAY(SELECT id FROM tb_tag))) b ON b.id = p.id
    WHERE p.data IS DISTINCT FROM b.data;
    UPDATE tb_card SET label = 'old' WHERE label = 'new';
    RETURN v_differ;
END
\$\$;
SELECT string_agg(pg_temp.ranked_step()::text, ',') FROM generate_series(1, 8);
SQL
)
    echo "ranked seed 0.$seed: differing boards and tags per step: $(echo $result | tr '\n' ' ')"
    assert_eq "0,0,0,0,0,0,0,0" "$(echo "$result" | tail -n 1)" "ranked seed 0.$seed: patched boards and tags equal built ones"
done
q "SELECT tvsync.apply('tag', NULL)" >/dev/null
assert_eq "$(q "SELECT count(*) FROM tb_card_tag") links" "$(q "SELECT sum(jsonb_array_length(data->'cards')) FROM tv_tag") links" \
    "the tags' lists were not empty"

# A list the generator cannot patch: the file says why, and the edge's patch is cleared.
sed 's/orderBy: "rank DESC NULLS LAST, label"/orderBy: "lower(label)"/' "$WORK/ranked.graphql" >"$WORK/ranked2.graphql"
assert_exit 0 "generate after orderBy became an expression" -- \
    migrate generate --schema "$WORK/ranked2.graphql" --dir "$WORK/ranked"
assert_contains "$(cat "$WORK/ranked/003_generated.sql")" \
    '-- no patch function along card -> board: Board.cards: its orderBy "lower(label)" is not a list of columns' \
    "the generated file says why there is no patch function"
assert_exit 0 "it applies" -- migrate --dir "$WORK/ranked" up
assert_eq "card board |card tag fn_patch_tag_from_card(text[],bigint[])" \
    "$(q "SELECT string_agg(source_entity || ' ' || target_entity || ' ' || coalesce(patch_function::text, ''), '|' ORDER BY 1)
          FROM tvsync.cascade WHERE source_entity = 'card'")" \
    "the edge's patch function is unregistered, the other edge keeps its own"
# Text in another collation than the database's default orders otherwise than patch_list.
q 'ALTER TABLE tb_card ALTER COLUMN label TYPE text COLLATE "C"'
assert_exit 0 "generate after label got its own collation" -- \
    migrate generate --schema "$WORK/ranked2.graphql" --dir "$WORK/ranked"
assert_contains "$(cat "$WORK/ranked/004_generated.sql")" \
    '-- no patch function along card -> tag: Tag.cards: its orderBy column label has its own collation' \
    "the generated file says so"

test_summary
