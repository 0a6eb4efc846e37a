#!/bin/bash
# blog_generated.sh: examples/blog/002_blog_read_models.sql and 005_generated.sql are exactly
# what tvsync-migrate generate writes from examples/blog/schema.graphql (nobody edited them):
# generating from the tables alone writes 002's objects and the patch objects 005 added
# since; generating over 001-004 writes 005. An aggregate's where watches the columns it
# names, and generating again over the applied blog says "nothing changed" and writes nothing.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"

WORK=$(mktemp -d /tmp/tvsync-blog-generated.XXXXXX)
BLOG="$TVSYNC_SRCDIR/examples/blog"
pgcluster_start || { echo "starting PostgreSQL failed"; exit 1; }
pgcluster_on_exit "rm -rf '$WORK'"
migrate() {
    "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$TVSYNC_DATABASE_URL" "$@"
}

# A set named blog holding only the tables: generate writes its 002 from the blog's SDL,
# named as the committed file's header names it (relative to the source tree).
mkdir -p "$WORK/fresh/blog" "$WORK/applied"
cp "$BLOG/001_blog_schema.sql" "$WORK/fresh/blog/"
assert_exit 0 "the blog's tables apply alone" -- migrate --dir "$WORK/fresh/blog" up
assert_exit 0 "generate from the blog's schema" -- \
    sh -c 'cd "$1" && shift && "$@"' sh "$TVSYNC_SRCDIR" "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" \
    --database "$TVSYNC_DATABASE_URL" generate --schema examples/blog/schema.graphql --dir "$WORK/fresh/blog"
# Objects are paragraphs; the fresh file has 002's and, before its rebuild requests, the
# patch function and its registration, which 005 added when generate learned to write them.
paragraphs() {
    awk -v drop="$2" 'BEGIN { RS = ""; ORS = "\n\n" }
        drop && /^-- tvsync:object (function [^ ]*\.fn_patch_|patch )/ { next } { print }' "$1"
}
paragraphs "$WORK/fresh/blog/002_generated.sql" 1 >"$WORK/fresh.txt"
paragraphs "$BLOG/002_blog_read_models.sql" 0 >"$WORK/committed.txt"
assert_exit 0 "the committed read models are the generated ones, unedited" -- cmp "$WORK/fresh.txt" "$WORK/committed.txt"
assert_eq "2" "$(grep -c '^-- tvsync:object \(function public.fn_patch_post_from_comment\|patch comment post\) ' \
    "$WORK/fresh/blog/002_generated.sql")" "a fresh generate writes the patch function and its registration"

# Over 001-004 (002's markers), generate writes the committed 005.
mkdir -p "$WORK/upto4/blog"
cp "$BLOG"/00[1-4]_*.sql "$WORK/upto4/blog/"
assert_exit 0 "generate over the blog's files up to 004" -- \
    sh -c 'cd "$1" && shift && "$@"' sh "$TVSYNC_SRCDIR" "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" \
    --database "$TVSYNC_DATABASE_URL" generate --schema examples/blog/schema.graphql --dir "$WORK/upto4/blog"
assert_exit 0 "the committed 005 is the generated one, unedited" -- \
    cmp "$WORK/upto4/blog/005_generated.sql" "$BLOG/005_generated.sql"

# The whole blog applied, generate again over a copy of its folder: nothing to write.
cp -r "$BLOG" "$WORK/applied/blog"
files_before=$(ls "$WORK/applied/blog" | tr '\n' ' ')
# 001 is applied already (the same file, the same set): up adds 002 to 005.
assert_exit 0 "the rest of the blog applies" -- migrate --dir "$BLOG" up
assert_contains "$ASSERT_OUTPUT" "applied 003_blog_mutations.sql (set blog)" "up applied the mutations"
# publishedPostCount counts with where: "published": a post's change reaches its author's
# document only when the post moves or its published flag changes.
assert_eq "{author.id,published}" \
    "$(pgcluster_psql -c "SELECT watch FROM tvsync.cascade WHERE source_entity = 'post' AND target_entity = 'user'")" \
    "an aggregate's where watches the columns it names"
assert_exit 0 "generate over the applied blog" -- \
    migrate generate --schema "$WORK/applied/blog/schema.graphql" --dir "$WORK/applied/blog"
assert_contains "$ASSERT_OUTPUT" "nothing changed" "it says nothing changed"
assert_eq "$files_before" "$(ls "$WORK/applied/blog" | tr '\n' ' ')" "and writes no file"

test_summary
