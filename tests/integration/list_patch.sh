#!/bin/bash
# list_patch.sh: a generated patch function returns exactly what the build function returns.
# On the blog (fn_patch_post_from_comment), for random histories: tv_post built at state A,
# then random changes to a set C of comments (inserts, edits, deletes, moves between posts,
# created_at changed, ties in created_at, their authors renamed, posts' titles changed):
# fn_patch_post_from_comment(every post, C) equals fn_build_post(every post), several seeds.
# The same on a declared domain with bigint keys and orderBy "rank DESC NULLS LAST, label"
# (NULLs, ties). The fallbacks (no tv row, a list that is not an array), tvsync.patch_list's
# edge cases, migration 046's check of a patch function's signature, and registry_json's
# "patch".
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"

WORK=$(mktemp -d /tmp/tvsync-list-patch.XXXXXX)
pgcluster_start || { echo "starting PostgreSQL failed"; exit 1; }
pgcluster_on_exit "rm -rf '$WORK'"
assert_exit 0 "the engine and the blog migrate" -- pgcluster_migrate
q() {
    pgcluster_psql -c "$1"
}

# ---------------------------------------------------------------- registry
assert_eq "fn_patch_post_from_comment(uuid[],uuid[])" \
    "$(q "SELECT patch_function FROM tvsync.cascade WHERE source_entity = 'comment' AND target_entity = 'post'")" \
    "the blog's generated file registers the patch function on comment -> post"
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
assert_eq '[]' "$(q "SELECT tvsync.patch_list('[{\"id\": 2, \"t\": 3}]', '{2}', NULL, 'id', '$spec')")" \
    "removing the only element leaves an empty list"
assert_exit 1 "an element without the key is an error, not a wrong place" -- \
    q "SELECT tvsync.patch_list('[{\"x\": 2}]', '{2}', '[]', 'id', '$spec')"

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
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS changed (id uuid PRIMARY KEY);
    TRUNCATE changed;
    -- state A: every post built
    PERFORM tvsync.apply('post', NULL);
    FOR c IN SELECT id FROM tb_comment ORDER BY id LOOP
        CASE floor(random() * 10)::int
        WHEN 0 THEN
            UPDATE tb_comment SET content = 'edited ' || random() WHERE id = c.id;
        WHEN 1 THEN
            UPDATE tb_comment SET created_at = v_times[1 + floor(random() * 6)::int] WHERE id = c.id;
        WHEN 2 THEN
            UPDATE tb_comment SET post_id = (SELECT id FROM tb_post ORDER BY random() LIMIT 1) WHERE id = c.id;
        WHEN 3 THEN
            DELETE FROM tb_comment WHERE id = c.id;
        ELSE
            CONTINUE;
        END CASE;
        INSERT INTO changed VALUES (c.id);
    END LOOP;
    FOR i IN 1 .. floor(random() * 6)::int LOOP
        INSERT INTO tb_comment (id, post_id, author_id, content, created_at)
        SELECT md5(random()::text)::uuid, (SELECT id FROM tb_post ORDER BY random() LIMIT 1),
               (SELECT id FROM tb_user ORDER BY random() LIMIT 1), 'new ' || i, v_times[1 + floor(random() * 6)::int]
        RETURNING id INTO v_user;
        INSERT INTO changed VALUES (v_user);
    END LOOP;
    -- a renamed author: the comments that embed them change too
    IF random() < 0.5 THEN
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
for seed in 11 23 37 41 53 67; do
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
SELECT string_agg(pg_temp.blog_step()::text, ',') FROM generate_series(1, 5);
SELECT count(*) FROM tb_comment;
SQL
)
    echo "seed 0.$seed: differing posts per step, comments left: $(echo $result | tr '\n' ' ')"
    assert_eq "0,0,0,0,0" "$(echo "$result" | sed -n 1p)" "seed 0.$seed: patched posts equal built ones at every step"
done

# ---------------------------------------------------------------- fallbacks
q "SELECT tvsync.apply('post', NULL)" >/dev/null
post=$(q "SELECT post_id FROM tb_comment GROUP BY post_id ORDER BY count(*) DESC, post_id LIMIT 1")
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
TRUNCATE tb_card, tb_board;
INSERT INTO tb_board SELECT n, 'board ' || n FROM generate_series(1, 4) n;
INSERT INTO tb_card SELECT n, 1 + floor(random() * 4), CASE WHEN random() < 0.2 THEN NULL ELSE floor(random() * 5) END,
                           chr(97 + floor(random() * 3)::int) FROM generate_series(1, 80) n;
CREATE TEMP TABLE IF NOT EXISTS changed (id bigint PRIMARY KEY);
CREATE OR REPLACE FUNCTION pg_temp.ranked_step() RETURNS int LANGUAGE plpgsql AS \$\$
DECLARE
    v_differ int;
BEGIN
    TRUNCATE changed;
    PERFORM tvsync.apply('board', NULL);
    INSERT INTO changed SELECT id FROM tb_card WHERE random() < 0.2;
    UPDATE tb_card SET rank = CASE WHEN random() < 0.3 THEN NULL ELSE floor(random() * 5) END,
                       board_id = CASE WHEN random() < 0.3 THEN 1 + floor(random() * 4) ELSE board_id END
    WHERE id IN (SELECT id FROM changed);
    DELETE FROM tb_card WHERE id IN (SELECT id FROM changed WHERE random() < 0.2);
    INSERT INTO tb_card SELECT 1000 * n + m, 1 + floor(random() * 4), CASE WHEN random() < 0.3 THEN NULL ELSE floor(random() * 5) END, 'new'
    FROM (SELECT coalesce(max(id), 0) AS n FROM tb_card) s, generate_series(1, 3) m;
    INSERT INTO changed SELECT id FROM tb_card WHERE label = 'new' ON CONFLICT DO NOTHING;
    SELECT count(*) INTO v_differ
    FROM (SELECT * FROM public.fn_patch_board_from_card(ARRAY(SELECT id FROM tb_board), ARRAY(SELECT id FROM changed))) p
    FULL JOIN (SELECT * FROM public.fn_build_board(ARRAY(SELECT id FROM tb_board))) b ON b.id = p.id
    WHERE p.data IS DISTINCT FROM b.data;
    UPDATE tb_card SET label = 'old' WHERE label = 'new';
    RETURN v_differ;
END
\$\$;
SELECT string_agg(pg_temp.ranked_step()::text, ',') FROM generate_series(1, 4);
SQL
)
    echo "ranked seed 0.$seed: differing boards per step: $(echo $result | tr '\n' ' ')"
    assert_eq "0,0,0,0" "$(echo "$result" | tail -n 1)" "ranked seed 0.$seed: patched boards equal built ones"
done

test_summary
