#!/bin/bash
# migrate.sh: tvsync-migrate against a throwaway PostgreSQL: migration sets (the engine's
# found by itself, the user's by --dir or [migrate] dirs), up (twice, concurrently, changed
# checksum, broken file), status, the upgrade of a ledger from before sets, seed FILE,
# verify, and its command-line errors.
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

MIGRATE="$TVSYNC_BUILDDIR/migrations/tvsync-migrate"
SRC_MIGRATIONS="$TVSYNC_SRCDIR/migrations"
BLOG="$TVSYNC_SRCDIR/examples/blog"
BLOG_MIGRATIONS="$BLOG"
LOCK_KEY=128052092300899

pgcluster_start || exit 1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tvsync-migrate-test.XXXXXX")
pgcluster_on_exit 'rm -rf "$WORK"'

migrate() {
    "$MIGRATE" --dir "$BLOG_MIGRATIONS" "$@"
}

migration_count() {
    pgcluster_psql -d "${1:-tvsync_test}" -c "SELECT count(*) FROM tvsync.schema_migrations"
}

database_url() {
    echo "postgresql://postgres@127.0.0.1:$PGPORT/$1"
}

ledger_state() {
    pgcluster_psql -d "${1:-tvsync_test}" -c "SELECT string_agg(set_name || '/' || version || applied_at, ','
        ORDER BY set_name, version) FROM tvsync.schema_migrations"
}

# --- every migration file is installed ---------------------------------------------------
# make install only copies what an include.am lists: a file left out would be applied
# from the source tree but missing from every installation.
listed_in() { # INCLUDE_AM VARIABLE
    sed -n "/^$2/,/^\$/p" "$1" | grep -o '[0-9][0-9A-Za-z_.-]*\.sql' | sort | tr '\n' ' '
}
present_in() { # DIR
    (cd "$1" && ls [0-9]*_*.sql | sort | tr '\n' ' ')
}
assert_eq "$(present_in "$SRC_MIGRATIONS")" "$(listed_in "$SRC_MIGRATIONS/include.am" dist_migrations_DATA)" \
    "every migrations/*.sql file is listed in dist_migrations_DATA"
assert_eq "$(present_in "$BLOG_MIGRATIONS")" "$(listed_in "$BLOG/include.am" dist_blogexamplemigrations_DATA)" \
    "every examples/blog/*.sql file is listed in dist_blogexamplemigrations_DATA"
assert_eq "" "$(cd "$SRC_MIGRATIONS" && ls [0-9]*_*.sql | grep -i blog)" "the engine's set holds no blog file"

# --- up, twice -------------------------------------------------------------------------
engine_count=$(ls "$SRC_MIGRATIONS"/[0-9]*_*.sql | wc -l)
blog_count=$(ls "$BLOG_MIGRATIONS"/[0-9]*_*.sql | wc -l)
file_count=$((engine_count + blog_count))
assert_exit 0 "status on an empty database succeeds" -- migrate status
assert_contains "$ASSERT_OUTPUT" "set tvsync: $SRC_MIGRATIONS" "status finds the engine's set beside the binary"
assert_contains "$ASSERT_OUTPUT" "pending  001_tvsync_engine.sql" "status lists the first migration as pending"
assert_contains "$ASSERT_OUTPUT" "set blog: $BLOG_MIGRATIONS" "a --dir set is named after its folder"
assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'tvsync'")" \
    "status creates nothing"

assert_exit 0 "up applies the migrations" -- migrate up
assert_contains "$ASSERT_OUTPUT" "applied 002_blog_read_models.sql (set blog)" "up names what it applied and its set"
assert_eq "$file_count" "$(migration_count)" "every migration file is recorded once"
assert_eq "$engine_count $blog_count" \
    "$(pgcluster_psql -c "SELECT count(*) FILTER (WHERE set_name = 'tvsync') || ' ' ||
        count(*) FILTER (WHERE set_name = 'blog') FROM tvsync.schema_migrations")" \
    "the ledger records each file in its set"
first_blog=$(printf '%s\n' "$ASSERT_OUTPUT" | grep -n "(set blog)" | head -1 | cut -d: -f1)
last_engine=$(printf '%s\n' "$ASSERT_OUTPUT" | grep -n "(set tvsync)" | tail -1 | cut -d: -f1)
assert_eq yes "$([ "${last_engine:-9999}" -lt "${first_blog:-0}" ] && echo yes || echo no)" \
    "the engine's set is applied first"
assert_eq "3" "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.entity")" "the blog entities are registered"
sha_db=$(pgcluster_psql -c "SELECT sha256 FROM tvsync.schema_migrations WHERE set_name = 'tvsync' AND version = '001'")
sha_file=$(sha256sum "$SRC_MIGRATIONS/001_tvsync_engine.sql" | cut -d' ' -f1)
assert_eq "$sha_file" "$sha_db" "the recorded sha256 is the file's"
applied_before=$(ledger_state)

assert_exit 0 "a second up succeeds" -- migrate up
assert_contains "$ASSERT_OUTPUT" "nothing to do" "a second up says there is nothing to do"
assert_eq "$applied_before" "$(ledger_state)" "a second up changes nothing"

assert_exit 0 "status after up succeeds" -- migrate status
assert_contains "$ASSERT_OUTPUT" "applied  001_tvsync_engine.sql" "status lists applied migrations"
assert_contains "$ASSERT_OUTPUT" "$file_count applied, 0 pending" "status counts applied and pending"

# --- a set that is not given: one summary line, nothing missing ---------------------------
assert_exit 0 "status without the blog's set succeeds" -- "$MIGRATE" status
assert_contains "$ASSERT_OUTPUT" "set blog: $blog_count migration(s) applied, not given" \
    "status sums up a set it was not given in one line"
assert_not_contains "$ASSERT_OUTPUT" "001_blog_schema.sql" "status lists no file of a set it was not given"
assert_not_contains "$ASSERT_OUTPUT" "missing" "a set not given is not missing"
assert_contains "$ASSERT_OUTPUT" "$engine_count applied, 0 pending" "status counts the sets given"
assert_exit 0 "up without the blog's set succeeds" -- "$MIGRATE" up
assert_contains "$ASSERT_OUTPUT" "nothing to do" "up without the blog's set has nothing to do"
assert_not_contains "$ASSERT_OUTPUT" "applied in set" "up does not warn about a set it was not given"

# --- a changed file is refused; a new one is pending -------------------------------------
# The copies keep the folder's name: each is the blog's set.
mkdir -p "$WORK/copy" "$WORK/missing" "$WORK/broken"
cp -r "$BLOG_MIGRATIONS" "$WORK/copy/blog"
printf 'CREATE TABLE added_later (x int);\n' >"$WORK/copy/blog/900_added_later.sql"
assert_exit 0 "status with a new file succeeds" -- "$MIGRATE" --dir "$WORK/copy/blog" status
assert_contains "$ASSERT_OUTPUT" "pending  900_added_later.sql" "status lists a new file as pending"
printf '\n-- an edit after the fact\n' >>"$WORK/copy/blog/001_blog_schema.sql"
assert_exit 1 "up refuses an applied file whose checksum changed" -- "$MIGRATE" --dir "$WORK/copy/blog" up
assert_contains "$ASSERT_OUTPUT" "001_blog_schema.sql was changed after it was applied" "the refusal names the file"
assert_eq "" "$(pgcluster_psql -c "SELECT to_regclass('added_later')")" "nothing is applied after the refusal"
assert_exit 1 "status reports the changed file" -- "$MIGRATE" --dir "$WORK/copy/blog" status
assert_contains "$ASSERT_OUTPUT" "changed  001_blog_schema.sql" "status marks the file as changed"

cp -r "$BLOG_MIGRATIONS" "$WORK/missing/blog"
rm "$WORK/missing/blog/003_blog_mutations.sql"
assert_exit 0 "status without an applied file's source succeeds" -- "$MIGRATE" --dir "$WORK/missing/blog" status
assert_contains "$ASSERT_OUTPUT" "missing  003_blog_mutations.sql" "status lists an applied file missing from the directory"

# --- a broken migration is rolled back whole ----------------------------------------------
cp -r "$BLOG_MIGRATIONS" "$WORK/broken/blog"
BROKEN="$WORK/broken/blog"
cat >"$BROKEN/090_broken.sql" <<'SQL'
-- creates a table, fills it, then fails: none of it may stay
CREATE TABLE broken_first (x int);
INSERT INTO broken_first VALUES (1);

SELECT x
FROM broken_first
JOIN no_such_table USING (x);
SQL
assert_exit 4 "up fails on a broken migration" -- "$MIGRATE" --dir "$BROKEN" up
assert_contains "$ASSERT_OUTPUT" "090_broken.sql:7:" "the error names the file and the line of the error"
assert_contains "$ASSERT_OUTPUT" "no_such_table" "the error carries the server's message"
assert_eq "" "$(pgcluster_psql -c "SELECT to_regclass('broken_first')")" "the broken migration's table does not exist"
assert_eq "$file_count" "$(migration_count)" "the broken migration is not recorded"

cat >"$BROKEN/090_broken.sql" <<'SQL'
CREATE TABLE broken_first (x int);
SELECT 1;
SELECT 1 / 0;
SQL
assert_exit 4 "up fails on a run-time error" -- "$MIGRATE" --dir "$BROKEN" up
assert_contains "$ASSERT_OUTPUT" "090_broken.sql:3:" "a run-time error names the statement's line"
assert_contains "$ASSERT_OUTPUT" "division by zero" "a run-time error carries the message"
assert_eq "" "$(pgcluster_psql -c "SELECT to_regclass('broken_first')")" "the run-time failure left nothing"

cat >"$BROKEN/090_broken.sql" <<'SQL'
CREATE TABLE broken_first (x int);
DO $$
BEGIN
    PERFORM 1;
    RAISE EXCEPTION 'raised in a DO block';
END
$$;
SQL
assert_exit 4 "up fails on an exception in a DO block" -- "$MIGRATE" --dir "$BROKEN" up
assert_contains "$ASSERT_OUTPUT" "090_broken.sql:5: raised in a DO block" "the error names the line inside the DO block"
assert_eq "" "$(pgcluster_psql -c "SELECT to_regclass('broken_first')")" "the DO block failure left nothing"

printf 'BEGIN;\nCREATE TABLE broken_first (x int);\nCOMMIT;\n' >"$BROKEN/090_broken.sql"
assert_exit 4 "up refuses transaction control inside a migration" -- "$MIGRATE" --dir "$BROKEN" up
assert_contains "$ASSERT_OUTPUT" "090_broken.sql:1: transaction control" "the refusal names file and line"
assert_eq "" "$(pgcluster_psql -c "SELECT to_regclass('broken_first')")" "the refused migration left nothing"

# --- two concurrent runs: one applies, the other waits and finds nothing to do -----------
pgcluster_psql -c "CREATE DATABASE tvsync_concurrent"
concurrent_url="postgresql://postgres@127.0.0.1:$PGPORT/tvsync_concurrent"
mkfifo "$WORK/lock_fifo"
# A session holds the lock so both runs are certainly waiting at the same time.
pgcluster_psql -d tvsync_concurrent <"$WORK/lock_fifo" >/dev/null &
holder=$!
exec 3>"$WORK/lock_fifo"
echo "SELECT pg_advisory_lock($LOCK_KEY);" >&3
lock_held() {
    [ "$(pgcluster_psql -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" = 1 ]
}
wait_for 20 lock_held
"$MIGRATE" --dir "$BLOG_MIGRATIONS" --database "$concurrent_url" up >"$WORK/run1.log" 2>&1 &
run1=$!
"$MIGRATE" --dir "$BLOG_MIGRATIONS" --database "$concurrent_url" up >"$WORK/run2.log" 2>&1 &
run2=$!
both_waiting() {
    [ "$(pgcluster_psql -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")" = 2 ]
}
if wait_for 20 both_waiting; then
    assert_pass "both runs wait for the advisory lock"
else
    assert_fail "both runs wait for the advisory lock"
fi
echo "SELECT pg_advisory_unlock($LOCK_KEY);" >&3
exec 3>&-
wait "$holder"
wait "$run1"; status1=$?
wait "$run2"; status2=$?
assert_eq "0 0" "$status1 $status2" "both concurrent runs succeed"
assert_eq "$file_count" "$(migration_count tvsync_concurrent)" "each migration is recorded once"
applied_lines=$(cat "$WORK/run1.log" "$WORK/run2.log" | grep -c "applied 001_tvsync_engine.sql")
assert_eq "1" "$applied_lines" "exactly one run applied the first migration"
assert_contains "$(cat "$WORK/run1.log" "$WORK/run2.log")" "nothing to do" "the other run found nothing to do"
assert_contains "$(cat "$WORK/run1.log")" "holds the migration lock; waiting" "a run that has to wait says so"


# --- the user's sets: order, names, versions per set -------------------------------------
# app/002_x.sql has the blog's version 002 and is applied all the same: versions are per set.
mkdir -p "$WORK/app" "$WORK/second" "$WORK/dup/one/migrations" "$WORK/dup/two/migrations" "$WORK/tvsync" \
    "$WORK/dupver"
printf 'CREATE TABLE app_x (id int PRIMARY KEY);\n' >"$WORK/app/002_x.sql"
# second's only file needs app's table: it passes only when app is applied before it.
printf 'ALTER TABLE app_x ADD COLUMN note text;\n' >"$WORK/second/001_note.sql"
assert_exit 0 "up applies a user's 002_x.sql in its own set next to the blog's 002" -- \
    "$MIGRATE" --dir "$BLOG_MIGRATIONS" --dir "$WORK/app" --dir "$WORK/second" up
assert_contains "$ASSERT_OUTPUT" "applied 002_x.sql (set app)" "up applies app's 002"
assert_contains "$ASSERT_OUTPUT" "applied 001_note.sql (set second)" "up applies the second set after the first"
assert_eq "app|002_x.sql,blog|002_blog_read_models.sql" \
    "$(pgcluster_psql -c "SELECT string_agg(set_name || '|' || filename, ',' ORDER BY set_name)
        FROM tvsync.schema_migrations WHERE version = '002'")" \
    "the ledger holds version 002 once per set"
assert_eq "note" "$(pgcluster_psql -c "SELECT attname FROM pg_attribute WHERE attrelid = 'app_x'::regclass AND attname = 'note'")" \
    "the sets were applied in the order given"
assert_exit 0 "status lists every set given" -- \
    "$MIGRATE" --dir "$BLOG_MIGRATIONS" --dir "$WORK/app" --dir "$WORK/second" status
assert_contains "$ASSERT_OUTPUT" "set app: $WORK/app" "status lists the set app"
assert_contains "$ASSERT_OUTPUT" "applied  002_x.sql" "status lists app's file as applied"
assert_contains "$ASSERT_OUTPUT" "$((file_count + 2)) applied, 0 pending" "status counts every set's files"

pgcluster_psql -c "CREATE DATABASE tvsync_sets"
sets_url=$(database_url tvsync_sets)
assert_exit 4 "second before app fails: the order given is the order applied" -- \
    "$MIGRATE" --database "$sets_url" --dir "$WORK/second" --dir "$WORK/app" up
assert_contains "$ASSERT_OUTPUT" "001_note.sql:1:" "the failure names second's file"
printf '[migrate]\ndirs = %s , %s\n' "$WORK/app" "$WORK/second" >"$WORK/sets.conf"
assert_exit 0 "[migrate] dirs names the sets, in order" -- \
    "$MIGRATE" --config "$WORK/sets.conf" --database "$sets_url" up
assert_contains "$ASSERT_OUTPUT" "applied 001_note.sql (set second)" "up applies [migrate] dirs' sets"
assert_eq "app second tvsync" \
    "$(pgcluster_psql -d tvsync_sets -c "SELECT string_agg(DISTINCT set_name, ' ' ORDER BY set_name) FROM tvsync.schema_migrations")" \
    "the configured sets and the engine's are recorded"
assert_exit 0 "--dir replaces [migrate] dirs" -- \
    "$MIGRATE" --config "$WORK/sets.conf" --database "$sets_url" --dir "$WORK/app" status
assert_contains "$ASSERT_OUTPUT" "set second: 1 migration(s) applied, not given" \
    "the configured set that --dir leaves out is not given"
assert_exit 0 "--set migrate.dirs names the sets too" -- \
    "$MIGRATE" --database "$sets_url" --set "migrate.dirs=$WORK/app,$WORK/second" status
assert_contains "$ASSERT_OUTPUT" "set second: $WORK/second" "--set migrate.dirs lists the second set"
pgcluster_psql -c "DROP DATABASE tvsync_sets"

printf 'SELECT 1;\n' >"$WORK/dup/one/migrations/001_one.sql"
printf 'SELECT 2;\n' >"$WORK/dup/two/migrations/001_two.sql"
assert_exit 3 "two sets with the same name are a configuration error" -- \
    "$MIGRATE" --dir "$WORK/dup/one/migrations" --dir "$WORK/dup/two/migrations" status
assert_contains "$ASSERT_OUTPUT" "two migration sets are named migrations" "the error names the set"
assert_contains "$ASSERT_OUTPUT" "$WORK/dup/two/migrations" "the error names the folders"
printf 'SELECT 1;\n' >"$WORK/tvsync/001_mine.sql"
assert_exit 3 "a set named tvsync is refused" -- "$MIGRATE" --dir "$WORK/tvsync" status
assert_contains "$ASSERT_OUTPUT" "the set name tvsync is the engine's" "the refusal says the name is the engine's"
assert_exit 3 "the engine's folder given as a set is refused" -- "$MIGRATE" --dir "$SRC_MIGRATIONS" up
assert_contains "$ASSERT_OUTPUT" "is the engine's migration set" "the refusal says the folder is the engine's"
printf 'SELECT 1;\n' >"$WORK/dupver/001_a.sql"
printf 'SELECT 2;\n' >"$WORK/dupver/001_b.sql"
assert_exit 3 "two files with one version in a set are refused" -- "$MIGRATE" --dir "$WORK/dupver" status
assert_contains "$ASSERT_OUTPUT" "001_a.sql and 001_b.sql share version 001" "the refusal names both files"

# --- where the engine's set comes from ----------------------------------------------------
cp -r "$SRC_MIGRATIONS" "$WORK/engine"
assert_exit 0 "[migrate] engine_dir names the engine's folder" -- \
    migrate --set "migrate.engine_dir=$WORK/engine" status
assert_contains "$ASSERT_OUTPUT" "set tvsync: $WORK/engine" "status reads the engine's set from engine_dir"
mkdir -p "$WORK/bin"
cp "$MIGRATE" "$WORK/bin/tvsync-migrate"
installed=$("$MIGRATE" --help | tr -s ' \n' '  ' | grep -o "/[^ ]*/migrations;" | head -1 | tr -d ';')
if [ -n "$installed" ] && [ ! -e "$installed/001_tvsync_engine.sql" ]; then
    assert_exit 3 "without the engine's set beside it or installed, up is a configuration error" -- \
        "$WORK/bin/tvsync-migrate" up
    assert_contains "$ASSERT_OUTPUT" "cannot find the engine's migrations" "the error says what is missing"
    assert_contains "$ASSERT_OUTPUT" "engine_dir" "the error names the key that fixes it"
    cp "$SRC_MIGRATIONS"/[0-9]*.sql "$WORK/bin/"
    assert_exit 0 "the engine's set beside the program is found" -- "$WORK/bin/tvsync-migrate" status
    assert_contains "$ASSERT_OUTPUT" "set tvsync: $WORK/bin" "status names the folder beside the program"
else
    echo "note: an engine set is installed in '$installed'; its absence is not tested"
fi

# --- a ledger from before sets is upgraded in place ---------------------------------------
# The old layout: the engine's and the blog's files in one folder, applied in name order,
# recorded under one version key.
pgcluster_psql -c "CREATE DATABASE tvsync_old"
old_url=$(database_url tvsync_old)
pgcluster_psql -d tvsync_old -c "CREATE SCHEMA tvsync;
    CREATE TABLE tvsync.schema_migrations (version text PRIMARY KEY, filename text NOT NULL,
        sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
# The layout before sets ended at 039: later files of either set are new to it. The blog's
# files of that time (numbered between the engine's) are stood in for by small files of the
# same names: the blog has restarted its numbering since.
OLD_BLOG="$WORK/oldblog/blog"
mkdir -p "$WORK/old" "$OLD_BLOG"
for name in 002_blog_schema 003_blog_entities 037_blog_helpers_inline 040_blog_engine_helpers; do
    printf -- '-- %s: a blog file of the layout before sets.\nCREATE TABLE old_%s (x int);\n' "$name" "${name#0[0-9][0-9]_}" \
        >"$OLD_BLOG/$name.sql"
done
for file in "$SRC_MIGRATIONS"/[0-9]*.sql "$OLD_BLOG"/[0-9]*.sql; do
    [[ "$(basename "$file")" < 040 ]] && cp "$file" "$WORK/old/"
done
old_engine=$(cd "$SRC_MIGRATIONS" && ls [0-9]*_*.sql | awk '$0 < "040"' | wc -l)
old_blog=$(cd "$OLD_BLOG" && ls [0-9]*_*.sql | awk '$0 < "040"' | wc -l)
for file in "$WORK/old"/[0-9]*.sql; do
    name=$(basename "$file")
    pgcluster_psql -d tvsync_old -1 -f "$file" >/dev/null || assert_fail "the old layout applies $name"
    pgcluster_psql -d tvsync_old -c "INSERT INTO tvsync.schema_migrations (version, filename, sha256)
        VALUES ('${name%%_*}', '$name', '$(sha256sum "$file" | cut -d' ' -f1)')"
done
assert_eq "$((old_engine + old_blog))" "$(migration_count tvsync_old)" "the old ledger holds every old file once"
old_rows() {
    pgcluster_psql -d tvsync_old -c "SELECT string_agg(filename || sha256 || applied_at, ',' ORDER BY filename)
        FROM tvsync.schema_migrations WHERE version < '040'"
}
old_applied=$(old_rows)

assert_exit 0 "status upgrades an old ledger, the blog's set not given" -- "$MIGRATE" --database "$old_url" status
assert_contains "$ASSERT_OUTPUT" "keyed by (set_name, version)" "the upgrade says what it did"
assert_contains "$ASSERT_OUTPUT" "unassigned  002_blog_schema.sql" "rows of no set given stay unassigned"
assert_contains "$ASSERT_OUTPUT" "$old_engine applied, $((engine_count - old_engine)) pending" "the engine's rows are the engine's set"
assert_eq "$old_engine" \
    "$(pgcluster_psql -d tvsync_old -c "SELECT count(*) FROM tvsync.schema_migrations WHERE set_name = 'tvsync'")" \
    "the engine's rows are recorded in set tvsync"

pgcluster_psql -d tvsync_old -c "UPDATE tvsync.schema_migrations SET sha256 = 'feed' WHERE version = '037'"
assert_exit 1 "status reports an old row whose file changed" -- \
    "$MIGRATE" --database "$old_url" --dir "$OLD_BLOG" status
assert_contains "$ASSERT_OUTPUT" "changed  037_blog_helpers_inline.sql" "the changed old row is named"
assert_exit 1 "up refuses an old row whose file changed" -- "$MIGRATE" --database "$old_url" --dir "$OLD_BLOG" up
assert_contains "$ASSERT_OUTPUT" "037_blog_helpers_inline.sql was changed after it was applied" "up names the changed file"
pgcluster_psql -d tvsync_old -c "UPDATE tvsync.schema_migrations
    SET sha256 = '$(sha256sum "$OLD_BLOG/037_blog_helpers_inline.sql" | cut -d' ' -f1)' WHERE version = '037'"

assert_exit 0 "up with the blog's set upgrades the old ledger" -- \
    "$MIGRATE" --database "$old_url" --dir "$OLD_BLOG" up
assert_contains "$ASSERT_OUTPUT" "applied 040_registry_log.sql (set tvsync)" "up applies the engine's new files"
assert_contains "$ASSERT_OUTPUT" "applied 040_blog_engine_helpers.sql (set blog)" "and the blog's"
assert_eq "0" "$(printf '%s\n' "$ASSERT_OUTPUT" | grep -c 'applied 0[0-3][0-9]_')" "no old file is applied again"
assert_eq "$old_applied" "$(old_rows)" "every old row is kept as it was applied"
assert_eq "$engine_count 4 0" \
    "$(pgcluster_psql -d tvsync_old -c "SELECT count(*) FILTER (WHERE set_name = 'tvsync') || ' ' ||
        count(*) FILTER (WHERE set_name = 'blog') || ' ' || count(*) FILTER (WHERE set_name = '')
        FROM tvsync.schema_migrations")" \
    "every old row is in its set"
assert_eq "set_name,version" \
    "$(pgcluster_psql -d tvsync_old -c "SELECT string_agg(a.attname, ',' ORDER BY k.n)
        FROM pg_constraint c, unnest(c.conkey) WITH ORDINALITY k(attnum, n), pg_attribute a
        WHERE c.conrelid = 'tvsync.schema_migrations'::regclass AND c.contype = 'p'
          AND a.attrelid = c.conrelid AND a.attnum = k.attnum")" \
    "the ledger is keyed by (set_name, version)"
assert_exit 0 "status is clean after the upgrade" -- "$MIGRATE" --database "$old_url" --dir "$OLD_BLOG" status
assert_contains "$ASSERT_OUTPUT" "$((engine_count + 4)) applied, 0 pending" "status counts every old row as applied"
assert_not_contains "$ASSERT_OUTPUT" "unassigned" "no row is left unassigned"
upgraded=$(ledger_state tvsync_old)
assert_exit 0 "a second up on the upgraded ledger succeeds" -- \
    "$MIGRATE" --database "$old_url" --dir "$OLD_BLOG" up
assert_eq "$upgraded" "$(ledger_state tvsync_old)" "the upgrade is idempotent"
pgcluster_psql -d tvsync_old -c "INSERT INTO tvsync.schema_migrations (set_name, version, filename, sha256)
    VALUES ('', '900', '900_gone.sql', 'beef')"
assert_exit 0 "an old row that matches no file is not an error" -- \
    "$MIGRATE" --database "$old_url" --dir "$OLD_BLOG" status
assert_contains "$ASSERT_OUTPUT" "unassigned  900_gone.sql" "status lists it as unassigned"
pgcluster_psql -c "DROP DATABASE tvsync_old"

# --- seed FILE ---------------------------------------------------------------------------
assert_exit 0 "seed loads the given file" -- "$MIGRATE" seed "$BLOG/seed.sql"
counts() {
    pgcluster_psql -c "SELECT (SELECT count(*) FROM tb_user) || ' ' || (SELECT count(*) FROM tb_post) || ' ' || (SELECT count(*) FROM tb_comment)"
}
assert_eq "3 3 4" "$(counts)" "seed loads 3 users, 3 posts, 4 comments"
assert_eq "alice,bob,charlie" "$(pgcluster_psql -c "SELECT string_agg(username, ',' ORDER BY username) FROM tb_user")" \
    "seed loads alice, bob and charlie"
assert_exit 0 "seed a second time succeeds" -- "$MIGRATE" seed "$BLOG/seed.sql"
assert_eq "3 3 4" "$(counts)" "seed a second time adds nothing"
assert_exit 2 "seed without a file is a usage error" -- "$MIGRATE" seed
assert_contains "$ASSERT_OUTPUT" "seed needs the SQL file to load" "the usage error says to give the file"
assert_contains "$ASSERT_OUTPUT" "examples/blog/seed.sql" "the usage error names the blog's seed"
assert_exit 3 "seed of a missing file is a configuration error" -- "$MIGRATE" seed "$WORK/no_such_seed.sql"
assert_contains "$ASSERT_OUTPUT" "$WORK/no_such_seed.sql" "the error names the file"
pgcluster_psql -c "DROP DATABASE tvsync_concurrent"
pgcluster_psql -c "CREATE DATABASE tvsync_empty"
assert_exit 1 "seed before up is refused" -- "$MIGRATE" --database "$(database_url tvsync_empty)" seed "$BLOG/seed.sql"
assert_contains "$ASSERT_OUTPUT" "before 'tvsync-migrate seed'" "the refusal says to run up first"
assert_exit 1 "verify before up is refused" -- migrate --database "$(database_url tvsync_empty)" verify
pgcluster_psql -c "DROP DATABASE tvsync_empty"

# --- verify ---------------------------------------------------------------------------------
assert_exit 1 "verify fails when tv_* is empty" -- migrate verify
assert_contains "$ASSERT_OUTPUT" "post 20000000-0000-4000-8000-000000000001: missing" "verify names a missing row"
pgcluster_psql -c "SELECT tvsync.apply(name, NULL) FROM tvsync.entity" >/dev/null
assert_exit 0 "verify succeeds after a full build" -- migrate verify

pgcluster_psql -c "UPDATE tv_post SET data = jsonb_set(data, '{title}', '\"hand-made\"') WHERE id = '20000000-0000-4000-8000-000000000002'"
pgcluster_psql -c "DELETE FROM tv_comment WHERE id = '30000000-0000-4000-8000-000000000003'"
pgcluster_psql -c "INSERT INTO tv_user (id, data) VALUES ('10000000-0000-4000-8000-0000000000ff', '{}')"
assert_exit 1 "verify fails after hand-made tv_* changes" -- migrate verify
assert_contains "$ASSERT_OUTPUT" "post 20000000-0000-4000-8000-000000000002: different" "verify names a different row"
assert_contains "$ASSERT_OUTPUT" "comment 30000000-0000-4000-8000-000000000003: missing" "verify names a deleted row"
assert_contains "$ASSERT_OUTPUT" "user 10000000-0000-4000-8000-0000000000ff: extra" "verify names an extra row"
assert_not_contains "$ASSERT_OUTPUT" "20000000-0000-4000-8000-000000000001" "verify does not name equal rows"
pgcluster_psql -c "SELECT tvsync.apply(name, NULL) FROM tvsync.entity" >/dev/null
assert_exit 0 "verify succeeds again after a rebuild" -- migrate verify

# --- errors: one line, documented exit code, nothing changed --------------------------------
assert_exit 2 "an unknown command is a usage error" -- migrate frobnicate
assert_contains "$ASSERT_OUTPUT" "unknown command 'frobnicate'" "the usage error names the command"
assert_exit 2 "a missing command is a usage error" -- migrate
assert_exit 3 "a missing directory is a configuration error" -- "$MIGRATE" --dir "$WORK/nowhere" up
assert_contains "$ASSERT_OUTPUT" "$WORK/nowhere" "the error names the directory"
assert_exit 3 "a malformed URL is a configuration error" -- migrate --database "postgresql://[oops" up
assert_contains "$ASSERT_OUTPUT" "invalid database URL" "the error says the URL is invalid"
assert_eq "1" "$(printf '%s\n' "$ASSERT_OUTPUT" | wc -l)" "the URL error is one line"
closed_port=$(pgcluster_free_port)
assert_exit 4 "an unreachable server is a database error" -- \
    migrate --database "postgresql://postgres@127.0.0.1:$closed_port/tvsync_test" up
assert_contains "$ASSERT_OUTPUT" "cannot connect to postgresql://postgres@127.0.0.1:$closed_port" \
    "the error names the server"
assert_eq "1" "$(printf '%s\n' "$ASSERT_OUTPUT" | wc -l)" "the connection error is one line"
assert_exit 4 "a missing database is a database error" -- \
    migrate --database "postgresql://postgres@127.0.0.1:$PGPORT/no_such_database" status
assert_exit 0 "--help succeeds" -- migrate --help
assert_contains "$ASSERT_OUTPUT" "Exit status:" "--help documents the exit codes"

test_summary
