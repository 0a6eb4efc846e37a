#!/bin/bash
# declare_blog.sh: the blog's read models declared again in SDL (under other entity names,
# beside the blog's own, generated from examples/blog/schema.graphql) build exactly the blog's
# documents, on the blog's seed and a larger load of users, posts and comments.
set -u
. "$TVSYNC_SRCDIR/tests/integration/cdc_lib.sh"

WORK=$(mktemp -d /tmp/tvsync-declare-blog.XXXXXX)
SET="$WORK/gblog"
mkdir "$SET"
pgcluster_start || { echo "starting PostgreSQL failed"; exit 1; }
pgcluster_on_exit "rm -rf '$WORK'"
cdc_migrate || { echo "migrations failed"; exit 1; }
cdc_seed_more || exit 1
migrate() {
    "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$TVSYNC_DATABASE_URL" "$@"
}

cat >"$WORK/blog.graphql" <<'GRAPHQL'
type User @entity(source: "tb_user", name: "g_user") {
  id: ID!
  username: String!
  email: String!
  fullName: String
  bio: String
  postCount: Int! @count(from: "tb_post", via: "author_id")
  publishedPostCount: Int! @count(from: "tb_post", via: "author_id", where: "published")
  commentCount: Int! @count(from: "tb_comment", via: "author_id")
  createdAt: String!
  updatedAt: String!
}
type Post @entity(source: "tb_post", name: "g_post") {
  id: ID!
  title: String!
  content: String!
  published: Boolean!
  createdAt: String!
  updatedAt: String!
  author: Author! @ref(via: "author_id")
  comments: [PostComment!]! @many(via: "post_id", orderBy: "created_at")
  commentCount: Int! @count(from: "tb_comment", via: "post_id")
}
type Comment @entity(source: "tb_comment", name: "g_comment") {
  id: ID!
  postId: ID!
  content: String!
  createdAt: String!
  updatedAt: String!
  author: Author! @ref(via: "author_id")
  post: PostRef! @ref(via: "post_id")
}
type Author @embedded(source: "tb_user") { id: ID! username: String! fullName: String }
type PostComment @embedded(source: "tb_comment") {
  id: ID!
  content: String!
  createdAt: String!
  author: Author! @ref(via: "author_id")
}
type PostRef @embedded(source: "tb_post") { id: ID! title: String! }
GRAPHQL

assert_exit 0 "generate from the blog's tables" -- migrate generate --schema "$WORK/blog.graphql" --dir "$SET"
assert_exit 0 "the generated set applies beside the blog's" -- migrate --dir "$TVSYNC_SRCDIR/examples/blog" --dir "$SET" up
assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM pg_indexes WHERE indexname IN ('tb_post_author_id_idx', 'tb_comment_post_id_idx', 'tb_comment_author_id_idx')")" \
    "no second index where the blog's indexes serve"
for entity in user post comment; do
    assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM fn_build_$entity(NULL) h FULL JOIN fn_build_g_$entity(NULL) g USING (id)
                                         WHERE h.data IS DISTINCT FROM g.data")" \
        "every $entity document equals the hand-written one"
done
assert_eq "t" "$(pgcluster_psql -c "SELECT count(*) = (SELECT count(*) FROM tb_comment) AND count(*) > 400 FROM fn_build_g_comment(NULL)")" \
    "over every comment"

test_summary
