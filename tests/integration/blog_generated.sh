#!/bin/bash
# blog_generated.sh: examples/blog's generated files (002_blog_read_models.sql, 005_generated.sql,
# 007_generated.sql) are exactly what tvsync-migrate generate writes (nobody edited them):
# generating from the tables alone writes, object by object, the last version of each object
# in 002, 005 and 007 (less those 007 lists as no longer declared); generating over 001-004
# with the schema of that time (Post.comments without last: 50) writes 005; generating over
# 001-006 writes 007. An aggregate's where watches the columns it names, 007 unregistered the
# patch function, and generating again over the applied blog says "nothing changed" and
# writes nothing.
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
# Objects are paragraphs (a marker line, then its SQL). objects DIR FILE...: each object of
# the files, in order, into DIR/<its key>: a later file's version of an object replaces an
# earlier one's, and an object a later file lists as dropped goes.
objects() {
    local dir=$1
    shift
    mkdir -p "$dir"
    awk -v dir="$dir" 'BEGIN { RS = "" }
        /^-- tvsync:object / {
            key = substr($0, 1, index($0, "\n") - 1)
            sub(/^-- tvsync:object /, "", key)
            sub(/ [0-9a-f]+$/, "", key)
            text[key] = $0
        }
        {
            n = split($0, lines, "\n")
            for (i = 1; i <= n; i++)
                if (lines[i] ~ /^-- tvsync:dropped /) {
                    key = lines[i]
                    sub(/^-- tvsync:dropped /, "", key)
                    delete text[key]
                }
        }
        END {
            for (key in text) {
                file = key
                gsub(/ /, "_", file)
                print text[key] > (dir "/" file)
                close(dir "/" file)
            }
        }' "$@"
}
objects "$WORK/objects.fresh" "$WORK/fresh/blog/002_generated.sql"
objects "$WORK/objects.committed" "$BLOG/002_blog_read_models.sql" "$BLOG/005_generated.sql" "$BLOG/007_generated.sql"
assert_exit 0 "object by object, the committed 002, 005 and 007 give what generate writes from the tables alone" -- \
    diff -r "$WORK/objects.fresh" "$WORK/objects.committed"
assert_eq "yes" "$(test "$(ls "$WORK/objects.fresh" | wc -l)" -gt 20 && echo yes)" \
    "every object of the blog is compared ($(ls "$WORK/objects.fresh" | wc -l) of them)"
# The rest of 002 (its header, the rebuild requests) is the fresh file's too.
others() {
    awk 'BEGIN { RS = ""; ORS = "\n\n" } !/^-- tvsync:object / { print }' "$1"
}
assert_eq "$(others "$WORK/fresh/blog/002_generated.sql")" "$(others "$BLOG/002_blog_read_models.sql")" \
    "002's header and rebuild requests are the generated ones"
assert_not_contains "$(cat "$WORK/fresh/blog/002_generated.sql")" "fn_patch_post_from_comment" \
    "a fresh generate writes no patch function for the bounded Post.comments"
assert_contains "$(cat "$WORK/fresh/blog/002_generated.sql")" "UPDATE tvsync.cascade SET patch_function = NULL
WHERE source_entity = 'comment' AND target_entity = 'post'" "and clears the edge's patch"

# Over 001-004 (002's markers), with the schema as it was before 007 (Post.comments without
# its bound), generate writes the committed 005; the schema is under examples/blog of a copied
# tree so that the header names it as the committed file does.
mkdir -p "$WORK/upto4/blog" "$WORK/then/examples/blog"
cp "$BLOG"/00[1-4]_*.sql "$WORK/upto4/blog/"
sed 's/, last: 50)/)/' "$BLOG/schema.graphql" >"$WORK/then/examples/blog/schema.graphql"
assert_eq "1" "$(diff "$BLOG/schema.graphql" "$WORK/then/examples/blog/schema.graphql" | grep -c '^>')" \
    "the schema of 005's time is today's without the bound (one line differs)"
assert_exit 0 "generate over the blog's files up to 004, Post.comments unbounded" -- \
    sh -c 'cd "$1" && shift && "$@"' sh "$WORK/then" "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" \
    --database "$TVSYNC_DATABASE_URL" generate --schema examples/blog/schema.graphql --dir "$WORK/upto4/blog"
assert_exit 0 "the committed 005 is the generated one, unedited" -- \
    cmp "$WORK/upto4/blog/005_generated.sql" "$BLOG/005_generated.sql"

# Over 001-006, with today's schema, generate writes the committed 007.
mkdir -p "$WORK/upto6/blog"
cp "$BLOG"/00[1-6]_*.sql "$WORK/upto6/blog/"
assert_exit 0 "generate over the blog's files up to 006" -- \
    sh -c 'cd "$1" && shift && "$@"' sh "$TVSYNC_SRCDIR" "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" \
    --database "$TVSYNC_DATABASE_URL" generate --schema examples/blog/schema.graphql --dir "$WORK/upto6/blog"
assert_exit 0 "the committed 007 is the generated one, unedited" -- \
    cmp "$WORK/upto6/blog/007_generated.sql" "$BLOG/007_generated.sql"

# The whole blog applied, generate again over a copy of its folder: nothing to write.
cp -r "$BLOG" "$WORK/applied/blog"
files_before=$(ls "$WORK/applied/blog" | tr '\n' ' ')
# 001 is applied already (the same file, the same set): up adds 002 to 007.
assert_exit 0 "the rest of the blog applies" -- migrate --dir "$BLOG" up
assert_contains "$ASSERT_OUTPUT" "applied 003_blog_mutations.sql (set blog)" "up applied the mutations"
# publishedPostCount counts with where: "published": a post's change reaches its author's
# document only when the post moves or its published flag changes.
assert_eq "{author.id,published}" \
    "$(pgcluster_psql -c "SELECT watch FROM tvsync.cascade WHERE source_entity = 'post' AND target_entity = 'user'")" \
    "an aggregate's where watches the columns it names"
assert_contains "$ASSERT_OUTPUT" "applied 007_generated.sql (set blog)" "up applied 007"
assert_eq "" "$(pgcluster_psql -c "SELECT patch_function FROM tvsync.cascade WHERE source_entity = 'comment' AND target_entity = 'post'")" \
    "007 unregistered comment -> post's patch function (Post.comments is bounded)"
assert_exit 0 "generate over the applied blog" -- \
    migrate generate --schema "$WORK/applied/blog/schema.graphql" --dir "$WORK/applied/blog"
assert_contains "$ASSERT_OUTPUT" "nothing changed" "it says nothing changed"
assert_eq "$files_before" "$(ls "$WORK/applied/blog" | tr '\n' ' ')" "and writes no file"

test_summary
