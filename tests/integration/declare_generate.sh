#!/bin/bash
# declare_generate.sh: tvsync-migrate generate against a real PostgreSQL: a domain declared in
# SDL (every directive) becomes a migration whose documents, cascades and watches tvsync-cdc
# follows (a moved comment reaches both posts, a delete, renames through @ref and
# @many(through:), a change outside the watched paths cascades nowhere); the migration
# applies twice; a second run writes nothing, a change writes only what changed; each
# declaration error is one FILE:LINE line; verify agrees with the read models at the end.
set -u
. "$TVSYNC_SRCDIR/tests/integration/cdc_lib.sh"

WORK=$(mktemp -d /tmp/tvsync-declare.XXXXXX)
SET="$WORK/decl"
mkdir "$SET"
pgcluster_start || { echo "starting PostgreSQL failed"; exit 1; }
cdc_kill_on_exit
pgcluster_on_exit "rm -rf '$WORK'"
migrate() {
    "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$TVSYNC_DATABASE_URL" "$@"
}
generate() {
    migrate generate --schema "$1" --dir "$SET"
}
q() {
    pgcluster_psql -c "$1"
}

cat >"$SET/001_schema.sql" <<'SQL'
-- 001_schema: the command tables the declarations read (keys of four types).
CREATE TABLE tb_user (
    id          uuid PRIMARY KEY,
    username    text NOT NULL,
    full_name   text,
    created_at  timestamptz NOT NULL DEFAULT '2026-01-02 03:04:05+00'
);
CREATE TABLE tb_post (
    id          bigint PRIMARY KEY,
    author_id   uuid NOT NULL REFERENCES tb_user (id),
    title       text NOT NULL,
    content     text NOT NULL,
    published   boolean NOT NULL DEFAULT false,
    price       numeric(12,2) NOT NULL DEFAULT 0
);
CREATE TABLE tb_comment (
    id          integer PRIMARY KEY,
    post_id     bigint NOT NULL REFERENCES tb_post (id) ON DELETE CASCADE,
    author_id   uuid NOT NULL REFERENCES tb_user (id),
    content     text NOT NULL,
    likes       integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL
);
CREATE TABLE tb_tag (
    id          text PRIMARY KEY,
    label       text NOT NULL
);
CREATE TABLE tb_post_tag (
    post_id     bigint NOT NULL REFERENCES tb_post (id) ON DELETE CASCADE,
    tag_id      text NOT NULL REFERENCES tb_tag (id),
    PRIMARY KEY (post_id, tag_id)
);
SQL

SDL="$WORK/schema.graphql"
cat >"$SDL" <<'GRAPHQL'
type Query { posts: [Post!]! }
type User @entity(source: "tb_user") {
  id: ID!
  username: String!
  fullName: String
  createdAt: String!
  postCount: Int! @count(from: "tb_post", via: "author_id")
  publishedCount: Int! @count(from: "tb_post", via: "author_id", where: "published")
}
type Post @entity(source: "tb_post") {
  id: ID!
  title: String!
  body: String! @column(name: "content")
  price: Float!
  author: UserRef! @ref(via: "author_id")
  comments: [PostComment!]! @many(via: "post_id", orderBy: "created_at")
  tags: [TagRef!]! @many(through: "tb_post_tag", via: "post_id", target: "tag_id")
  commentCount: Int! @count(from: "tb_comment", via: "post_id")
  likes: Int! @sum(from: "tb_comment", via: "post_id", column: "likes")
  minLikes: Int @min(from: "tb_comment", via: "post_id", column: "likes")
  maxLikes: Int @max(from: "tb_comment", via: "post_id", column: "likes")
  words: Int! @expr(sql: "array_length(regexp_split_to_array(content, '\\s+'), 1)")
}
type Comment @entity(source: "tb_comment") {
  id: ID!
  postId: ID!
  content: String!
  likes: Int!
  createdAt: String!
  author: UserRef! @ref(via: "author_id")
}
type Tag @entity(source: "tb_tag") {
  id: ID!
  label: String!
}
type UserRef @embedded(source: "tb_user") { id: ID! username: String! }
type PostComment @embedded(source: "tb_comment") {
  id: ID!
  content: String!
  author: UserRef! @ref(via: "author_id")
}
type TagRef @embedded(source: "tb_tag") { id: ID! label: String! }
GRAPHQL

assert_exit 0 "the engine and the set's tables are applied" -- migrate --dir "$SET" up
assert_exit 2 "generate without --schema is a usage error" -- migrate generate --dir "$SET"
assert_contains "$ASSERT_OUTPUT" "generate needs --schema FILE" "the usage error says what generate needs"
assert_exit 0 "--help lists generate" -- migrate --help
assert_contains "$ASSERT_OUTPUT" "generate --schema FILE --dir DIR" "with its options"
assert_exit 0 "generate writes the set's next migration" -- generate "$SDL"
assert_eq "wrote $SET/002_generated.sql" "$ASSERT_OUTPUT" "the next version, as wide as the set's"
GEN="$SET/002_generated.sql"
assert_contains "$(head -n1 "$GEN")" "read models generated from $SDL by tvsync-migrate generate" \
    "the header names the source file and the generator"
assert_exit 0 "the generated migration applies" -- migrate --dir "$SET" up
assert_exit 0 "the generated migration applies a second time (psql)" -- pgcluster_psql -1 -f "$GEN"
assert_eq "comment|post|tag|user" "$(q "SELECT string_agg(name, '|' ORDER BY name) FROM tvsync.entity")" \
    "one registry row per @entity"
assert_eq "comment>post:{content,author.id,postId,createdAt,likes}|post>user:|tag>post:{label}|user>comment:{username}|user>post:{username}" \
    "$(q "SELECT string_agg(source_entity || '>' || target_entity || ':' || coalesce(watch::text, ''), '|'
                          ORDER BY source_entity, target_entity) FROM tvsync.cascade")" \
    "cascades with the watched paths (a where: every key)"

pgcluster_psql >/dev/null <<'SQL'
INSERT INTO tb_user (id, username, full_name) VALUES
    ('00000000-0000-4000-8000-000000000001', 'ada', 'Ada Lovelace'),
    ('00000000-0000-4000-8000-000000000002', 'alan', NULL);
INSERT INTO tb_post (id, author_id, title, content, published, price) VALUES
    (9007199254740993, '00000000-0000-4000-8000-000000000001', 'Engines', 'the analytical engine weaves', true, 24.50),
    (2, '00000000-0000-4000-8000-000000000002', 'Machines', 'can machines think', false, 0);
INSERT INTO tb_comment (id, post_id, author_id, content, likes, created_at) VALUES
    (1, 9007199254740993, '00000000-0000-4000-8000-000000000002', 'first', 3, '2026-01-01 10:00:00+00'),
    (2, 9007199254740993, '00000000-0000-4000-8000-000000000001', 'second', 5, '2026-01-01 09:00:00+00'),
    (3, 2, '00000000-0000-4000-8000-000000000001', 'third', 1, '2026-01-01 11:00:00+00');
INSERT INTO tb_tag VALUES ('math', 'Mathematics'), ('ai', 'AI');
INSERT INTO tb_post_tag VALUES (9007199254740993, 'math'), (9007199254740993, 'ai');
SQL
"$TVSYNC_BUILDDIR/slot/tvsync-slot" --database "$TVSYNC_DATABASE_URL" create >/dev/null 2>&1 || { echo "slot create failed"; exit 1; }

doc() {
    q "SELECT data::text FROM public.tv_$1 WHERE id = '$2'"
}
assert_eq '{"id": "9007199254740993", "body": "the analytical engine weaves", "tags": [{"id": "ai", "label": "AI"}, {"id": "math", "label": "Mathematics"}], "likes": 8, "price": 24.50, "title": "Engines", "words": 4, "author": {"id": "00000000-0000-4000-8000-000000000001", "username": "ada"}, "comments": [{"id": "2", "author": {"id": "00000000-0000-4000-8000-000000000001", "username": "ada"}, "content": "second"}, {"id": "1", "author": {"id": "00000000-0000-4000-8000-000000000002", "username": "alan"}, "content": "first"}], "maxLikes": 5, "minLikes": 3, "commentCount": 2}' \
    "$(doc post 9007199254740993)" \
    "a post: column, @column, numeric, @ref, @many in orderBy, @many(through:), @count, @sum, @min, @max, @expr"
assert_eq '{"id": "00000000-0000-4000-8000-000000000001", "fullName": "Ada Lovelace", "username": "ada", "createdAt": "2026-01-02T03:04:05.000000Z", "postCount": 1, "publishedCount": 1}' \
    "$(doc user 00000000-0000-4000-8000-000000000001)" "a user: timestamptz as ISO time, @count with where"
assert_eq '{"id": "2", "body": "can machines think", "tags": [], "likes": 1, "price": 0.00, "title": "Machines", "words": 3, "author": {"id": "00000000-0000-4000-8000-000000000002", "username": "alan"}, "comments": [{"id": "3", "author": {"id": "00000000-0000-4000-8000-000000000001", "username": "ada"}, "content": "third"}], "maxLikes": 1, "minLikes": 1, "commentCount": 1}' \
    "$(doc post 2)" "an empty list is []"

cdc_start || exit 1
publish() {
    q "SELECT tvsync.publish('$1', ARRAY[$2])" | tail -n1
}
# Writes, then publishes the written entity as a mutation would, and waits until applied.
write() {
    local lsn
    lsn=$(pgcluster_psql -c "BEGIN" -c "$1" -c "SELECT tvsync.publish('$2', ARRAY[$3]::text[])" -c "COMMIT" | tail -n1)
    cdc_wait_lsn "$lsn"
}

# A comment moved to another post reaches both (the old one through the documents).
write "UPDATE tb_comment SET post_id = 2 WHERE id = 1" comment "'1'"
assert_eq "1|2|4|first,third" \
    "$(q "SELECT (SELECT data->>'commentCount' FROM tv_post WHERE id = 9007199254740993) || '|' ||
                 (SELECT data->>'commentCount' FROM tv_post WHERE id = 2) || '|' ||
                 (SELECT data->>'likes' FROM tv_post WHERE id = 2) || '|' ||
                 (SELECT string_agg(c->>'content', ',') FROM tv_post, jsonb_array_elements(data->'comments') c WHERE id = 2)")" \
    "a moved comment leaves its old post and reaches its new one"

# A delete reaches the post that listed and counted it.
write "DELETE FROM tb_comment WHERE id = 2" comment "'2'"
assert_eq "0|0|[]|" \
    "$(q "SELECT concat_ws('|', data->>'commentCount', data->>'likes', data->>'comments', coalesce(data->>'maxLikes', ''))
          FROM tv_post WHERE id = 9007199254740993")" \
    "a deleted comment leaves its post's list and aggregates"
assert_eq "0" "$(q "SELECT count(*) FROM tv_comment WHERE id = 2")" "the deleted comment's document is gone"

# Renames through @ref (at two depths) and through @many(through:).
write "UPDATE tb_user SET username = 'alan.t' WHERE id = '00000000-0000-4000-8000-000000000002'" user \
    "'00000000-0000-4000-8000-000000000002'"
assert_eq "alan.t|alan.t|alan.t" \
    "$(q "SELECT (SELECT data->'author'->>'username' FROM tv_post WHERE id = 2) || '|' ||
                 (SELECT c->'author'->>'username' FROM tv_post, jsonb_array_elements(data->'comments') c
                  WHERE id = 2 AND c->>'id' = '1') || '|' ||
                 (SELECT data->'author'->>'username' FROM tv_comment WHERE id = 1)")" \
    "a rename reaches the post's author, its comments' authors and the comment"
write "UPDATE tb_tag SET label = 'Maths' WHERE id = 'math'" tag "'math'"
assert_eq "AI,Maths" "$(q "SELECT string_agg(t->>'label', ',') FROM tv_post, jsonb_array_elements(data->'tags') t
                           WHERE id = 9007199254740993")" "a tag's rename reaches the posts that link it"
# An association row removed: the tag's old half finds the post in the documents that list it.
write "DELETE FROM tb_post_tag WHERE tag_id = 'ai'" tag "'ai'"
assert_eq "Maths" "$(q "SELECT string_agg(t->>'label', ',') FROM tv_post, jsonb_array_elements(data->'tags') t
                        WHERE id = 9007199254740993")" "an unlinked tag leaves the post (found through its document)"

# Watch pruning: a new post changes its author's counts, not the username posts copy, so
# the author's other posts are not rebuilt (a marker planted in one survives); a rename is.
q "UPDATE tv_post SET data = data || '{\"marker\": true}' WHERE id = 9007199254740993" >/dev/null
write "INSERT INTO tb_post (id, author_id, title, content) VALUES (3, '00000000-0000-4000-8000-000000000001', 'Notes', 'notes on it')" \
    post "'3'"
assert_eq "2" "$(q "SELECT data->>'postCount' FROM tv_user WHERE id = '00000000-0000-4000-8000-000000000001'")" \
    "the new post reached its author's count"
assert_eq "true" "$(q "SELECT data->>'marker' FROM tv_post WHERE id = 9007199254740993")" \
    "a change outside the watched paths cascades nowhere"
write "UPDATE tb_user SET username = 'ada.l' WHERE id = '00000000-0000-4000-8000-000000000001'" user \
    "'00000000-0000-4000-8000-000000000001'"
assert_eq "|ada.l" "$(q "SELECT coalesce(data->>'marker', '') || '|' || (data->'author'->>'username') FROM tv_post
                          WHERE id = 9007199254740993")" "a watched change rebuilds the posts"

# The old half of a @ref inside a list reads the listed entity's documents: a comment whose
# author changed (its intent not yet applied) still names its old author and post there.
write "INSERT INTO tb_comment VALUES (4, 9007199254740993, '00000000-0000-4000-8000-000000000002', 'fourth', 0, now())" \
    comment "'4'"
q "UPDATE tb_comment SET author_id = '00000000-0000-4000-8000-000000000001' WHERE id = 4" >/dev/null
reach=$(q "SELECT query FROM tvsync.cascade WHERE source_entity = 'user' AND target_entity = 'post'")
reach=${reach//\$1/\'\{00000000-0000-4000-8000-000000000002\}\'}
assert_eq "2,9007199254740993" "$(q "SELECT string_agg(x::text, ',' ORDER BY x) FROM ($reach) AS r(x)")" \
    "user -> post reaches the post a comment of the user was on (through the comment's document)"
write "SELECT 1" comment "'4'"
assert_exit 0 "verify agrees with the read models tvsync-cdc kept" -- migrate verify

# A second run with nothing changed writes nothing.
assert_exit 0 "generate with no change exits 0" -- generate "$SDL"
assert_eq "nothing changed" "$ASSERT_OUTPUT" "and says nothing changed"
assert_eq "001_schema.sql 002_generated.sql" "$(cd "$SET" && echo *)" "and writes no file"

# A change writes only what changed, and a rebuild of the entity whose documents changed.
sed -i 's/^  label: String!$/  label: String!\n  shout: String! @expr(sql: "upper(label)")/' "$SDL"
assert_exit 0 "generate after a change" -- generate "$SDL"
assert_eq "-- tvsync:object function public.fn_build_tag" "$(grep '^-- tvsync:object' "$SET/003_generated.sql" | cut -d' ' -f1-4)" \
    "only the changed build function is written"
assert_contains "$(cat "$SET/003_generated.sql")" "SELECT tvsync.request_rebuild('tag');" "with a rebuild of its entity"
assert_exit 0 "the change applies" -- migrate --dir "$SET" up
shout_is_ai() {
    [ "$(q "SELECT data->>'shout' FROM tv_tag WHERE id = 'ai'")" = AI ]
}
wait_for 30 shout_is_ai
assert_eq "AI" "$(q "SELECT data->>'shout' FROM tv_tag WHERE id = 'ai'")" "tvsync-cdc rebuilt the tags with the new field"
assert_exit 0 "verify agrees after the rebuild" -- migrate verify

# A declaration removed: its cascade is deleted, the entity's objects named for a hand drop.
sed -i 's/  tags: \[TagRef!\]! @many.*$//' "$SDL"
assert_exit 0 "generate after removing a list" -- generate "$SDL"
assert_contains "$(cat "$SET/004_generated.sql")" "DELETE FROM tvsync.cascade WHERE source_entity = 'tag' AND target_entity = 'post';" \
    "the cascade no longer declared is deleted"
assert_exit 0 "and that applies" -- migrate --dir "$SET" up
assert_eq "0" "$(q "SELECT count(*) FROM tvsync.cascade WHERE source_entity = 'tag'")" "the tag cascade is gone"
assert_exit 0 "a third run after it" -- generate "$SDL"
assert_eq "nothing changed" "$ASSERT_OUTPUT" "remembers what it dropped"

# Declaration errors: one line, FILE:LINE.
bad() {
    local name=$1 line=$2 text=$3
    cat >"$WORK/$name.graphql"
    assert_exit 1 "$name: generate refuses" -- generate "$WORK/$name.graphql"
    assert_eq 1 "$(printf '%s\n' "$ASSERT_OUTPUT" | wc -l)" "$name: one line"
    assert_contains "$ASSERT_OUTPUT" "$WORK/$name.graphql:$line: $text" "$name: names the file and line"
}
bad unknown_table 2 "A: unknown table public.tb_nope" <<'GRAPHQL'
type Query { a: Int }
type A @entity(source: "tb_nope") { id: ID! }
GRAPHQL
bad unknown_embedded_table 5 "AuthorRef: unknown table public.tb_author" <<'GRAPHQL'
type Post @entity(source: "tb_post") {
  id: ID!
  author: AuthorRef! @ref(via: "author_id")
}
type AuthorRef @embedded(source: "tb_author") { id: ID! }
GRAPHQL
pgcluster_psql -c 'CREATE TABLE tb_odd (id integer PRIMARY KEY, "order" integer, "Label" text)' >/dev/null
bad reserved_column 3 'Odd.order: "order" would need quotes in SQL' <<'GRAPHQL'
type Odd @entity(source: "tb_odd") {
  id: ID!
  order: Int
}
GRAPHQL
bad unknown_column 4 "Post.subtitle: public.tb_post has no column subtitle" <<'GRAPHQL'
type Post @entity(source: "tb_post") {
  id: ID!
  title: String!
  subtitle: String
}
GRAPHQL
bad via_not_fk 3 "Post.author: public.tb_post.title is not a foreign key to public.tb_user" <<'GRAPHQL'
type Post @entity(source: "tb_post") {
  id: ID!
  author: UserRef! @ref(via: "title")
}
type UserRef @embedded(source: "tb_user") { id: ID! }
GRAPHQL
bad via_wrong_table 3 "Post.comments: public.tb_comment.author_id is not a foreign key to public.tb_post" <<'GRAPHQL'
type Post @entity(source: "tb_post") {
  id: ID!
  comments: [C!]! @many(via: "author_id")
}
type C @embedded(source: "tb_comment") { id: ID! }
GRAPHQL
bad embedded_without_key 5 "type UserRef has no id field" <<'GRAPHQL'
type Post @entity(source: "tb_post") {
  id: ID!
  author: UserRef! @ref(via: "author_id")
}
type UserRef @embedded(source: "tb_user") { username: String! }
GRAPHQL
bad embedded_id_not_key 3 "UserRef.id: id is the key id of public.tb_user, not username" <<'GRAPHQL'
type UserRef @embedded(source: "tb_user") {
  username: String!
  id: ID! @column(name: "username")
}
GRAPHQL
bad aggregate_via_not_fk 3 "Post.likes: public.tb_comment.author_id is not a foreign key to public.tb_post" <<'GRAPHQL'
type Post @entity(source: "tb_post") {
  id: ID!
  likes: Int! @sum(from: "tb_comment", via: "author_id", column: "likes")
}
GRAPHQL
bad through_target_not_fk 3 "Post.tags: public.tb_post_tag.post_id is not a foreign key to public.tb_tag" <<'GRAPHQL'
type Post @entity(source: "tb_post") {
  id: ID!
  tags: [TagRef!]! @many(through: "tb_post_tag", via: "post_id", target: "post_id")
}
type TagRef @embedded(source: "tb_tag") { id: ID! }
GRAPHQL
bad same_entity_name 2 "B: entity name post is also A's" <<'GRAPHQL'
type A @entity(source: "tb_post", name: "post") { id: ID! }
type B @entity(source: "tb_comment", name: "post") { id: ID! }
GRAPHQL
bad cycle 8 "UserRef.posts: PostRef embeds itself through posts" <<'GRAPHQL'
type Post @entity(source: "tb_post") { id: ID! }
type PostRef @embedded(source: "tb_post") {
  id: ID!
  author: UserRef! @ref(via: "author_id")
}
type UserRef @embedded(source: "tb_user") {
  id: ID!
  posts: [PostRef!]! @many(via: "author_id")
}
GRAPHQL

test_summary
