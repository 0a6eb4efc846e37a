#!/bin/bash
# migrate.sh: tvsync-migrate against a throwaway PostgreSQL: up (twice, concurrently,
# changed checksum, broken file), status, seed, verify, and its command-line errors.
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

MIGRATE="$TVSYNC_BUILDDIR/migrations/tvsync-migrate"
SRC_MIGRATIONS="$TVSYNC_SRCDIR/migrations"
LOCK_KEY=128052092300899

pgcluster_start || exit 1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tvsync-migrate-test.XXXXXX")
pgcluster_on_exit 'rm -rf "$WORK"'

migrate() {
    "$MIGRATE" --dir "$SRC_MIGRATIONS" "$@"
}

migration_count() {
    pgcluster_psql -d "${1:-tvsync_test}" -c "SELECT count(*) FROM tvsync.schema_migrations"
}

# --- every migration file is installed ---------------------------------------------------
# make install only copies what migrations/include.am lists: a file left out would be
# applied from the source tree but missing from every installation.
listed=$(sed -n '/^dist_migrations_DATA/,/^$/p' "$SRC_MIGRATIONS/include.am" |
    grep -o '[0-9][0-9A-Za-z_.-]*\.sql' | sort | tr '\n' ' ')
present=$(cd "$SRC_MIGRATIONS" && ls [0-9]*_*.sql | sort | tr '\n' ' ')
assert_eq "$present" "$listed" "every migrations/*.sql file is listed in dist_migrations_DATA"

# --- up, twice -------------------------------------------------------------------------
file_count=$(ls "$SRC_MIGRATIONS"/[0-9]*_*.sql | wc -l)
assert_exit 0 "status on an empty database succeeds" -- migrate status
assert_contains "$ASSERT_OUTPUT" "pending  001_tvsync_engine.sql" "status lists the first migration as pending"
assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'tvsync'")" \
    "status creates nothing"

assert_exit 0 "up applies the migrations" -- migrate up
assert_contains "$ASSERT_OUTPUT" "applied 003_blog_entities.sql" "up names what it applied"
assert_eq "$file_count" "$(migration_count)" "every migration file is recorded once"
assert_eq "3" "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.entity")" "the blog entities are registered"
sha_db=$(pgcluster_psql -c "SELECT sha256 FROM tvsync.schema_migrations WHERE version = '001'")
sha_file=$(sha256sum "$SRC_MIGRATIONS/001_tvsync_engine.sql" | cut -d' ' -f1)
assert_eq "$sha_file" "$sha_db" "the recorded sha256 is the file's"
applied_before=$(pgcluster_psql -c "SELECT string_agg(version || applied_at, ',' ORDER BY version) FROM tvsync.schema_migrations")

assert_exit 0 "a second up succeeds" -- migrate up
assert_contains "$ASSERT_OUTPUT" "nothing to do" "a second up says there is nothing to do"
assert_eq "$applied_before" \
    "$(pgcluster_psql -c "SELECT string_agg(version || applied_at, ',' ORDER BY version) FROM tvsync.schema_migrations")" \
    "a second up changes nothing"

assert_exit 0 "status after up succeeds" -- migrate status
assert_contains "$ASSERT_OUTPUT" "applied  001_tvsync_engine.sql" "status lists applied migrations"
assert_contains "$ASSERT_OUTPUT" "$file_count applied, 0 pending" "status counts applied and pending"

# --- a changed file is refused; a new one is pending -------------------------------------
cp -r "$SRC_MIGRATIONS" "$WORK/copy"
printf 'CREATE TABLE added_later (x int);\n' >"$WORK/copy/900_added_later.sql"
assert_exit 0 "status with a new file succeeds" -- "$MIGRATE" --dir "$WORK/copy" status
assert_contains "$ASSERT_OUTPUT" "pending  900_added_later.sql" "status lists a new file as pending"
printf '\n-- an edit after the fact\n' >>"$WORK/copy/002_blog_schema.sql"
assert_exit 1 "up refuses an applied file whose checksum changed" -- "$MIGRATE" --dir "$WORK/copy" up
assert_contains "$ASSERT_OUTPUT" "002_blog_schema.sql was changed after it was applied" "the refusal names the file"
assert_eq "" "$(pgcluster_psql -c "SELECT to_regclass('added_later')")" "nothing is applied after the refusal"
assert_exit 1 "status reports the changed file" -- "$MIGRATE" --dir "$WORK/copy" status
assert_contains "$ASSERT_OUTPUT" "changed  002_blog_schema.sql" "status marks the file as changed"

cp -r "$SRC_MIGRATIONS" "$WORK/missing"
rm "$WORK/missing/003_blog_entities.sql"
assert_exit 0 "status without an applied file's source succeeds" -- "$MIGRATE" --dir "$WORK/missing" status
assert_contains "$ASSERT_OUTPUT" "missing  003_blog_entities.sql" "status lists an applied file missing from the directory"

# --- a broken migration is rolled back whole ----------------------------------------------
cp -r "$SRC_MIGRATIONS" "$WORK/broken"
cat >"$WORK/broken/004_broken.sql" <<'EOF'
-- creates a table, fills it, then fails: none of it may stay
CREATE TABLE broken_first (x int);
INSERT INTO broken_first VALUES (1);

SELECT x
FROM broken_first
JOIN no_such_table USING (x);
EOF
assert_exit 4 "up fails on a broken migration" -- "$MIGRATE" --dir "$WORK/broken" up
assert_contains "$ASSERT_OUTPUT" "004_broken.sql:7:" "the error names the file and the line of the error"
assert_contains "$ASSERT_OUTPUT" "no_such_table" "the error carries the server's message"
assert_eq "" "$(pgcluster_psql -c "SELECT to_regclass('broken_first')")" "the broken migration's table does not exist"
assert_eq "$file_count" "$(migration_count)" "the broken migration is not recorded"

cat >"$WORK/broken/004_broken.sql" <<'EOF'
CREATE TABLE broken_first (x int);
SELECT 1;
SELECT 1 / 0;
EOF
assert_exit 4 "up fails on a run-time error" -- "$MIGRATE" --dir "$WORK/broken" up
assert_contains "$ASSERT_OUTPUT" "004_broken.sql:3:" "a run-time error names the statement's line"
assert_contains "$ASSERT_OUTPUT" "division by zero" "a run-time error carries the message"
assert_eq "" "$(pgcluster_psql -c "SELECT to_regclass('broken_first')")" "the run-time failure left nothing"

cat >"$WORK/broken/004_broken.sql" <<'EOF'
CREATE TABLE broken_first (x int);
DO $$
BEGIN
    PERFORM 1;
    RAISE EXCEPTION 'raised in a DO block';
END
$$;
EOF
assert_exit 4 "up fails on an exception in a DO block" -- "$MIGRATE" --dir "$WORK/broken" up
assert_contains "$ASSERT_OUTPUT" "004_broken.sql:5: raised in a DO block" "the error names the line inside the DO block"
assert_eq "" "$(pgcluster_psql -c "SELECT to_regclass('broken_first')")" "the DO block failure left nothing"

printf 'BEGIN;\nCREATE TABLE broken_first (x int);\nCOMMIT;\n' >"$WORK/broken/004_broken.sql"
assert_exit 4 "up refuses transaction control inside a migration" -- "$MIGRATE" --dir "$WORK/broken" up
assert_contains "$ASSERT_OUTPUT" "004_broken.sql:1: transaction control" "the refusal names file and line"
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
"$MIGRATE" --dir "$SRC_MIGRATIONS" --database "$concurrent_url" up >"$WORK/run1.log" 2>&1 &
run1=$!
"$MIGRATE" --dir "$SRC_MIGRATIONS" --database "$concurrent_url" up >"$WORK/run2.log" 2>&1 &
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

# --- seed ------------------------------------------------------------------------------------
assert_exit 0 "seed loads the example data" -- migrate seed
counts() {
    pgcluster_psql -c "SELECT (SELECT count(*) FROM tb_user) || ' ' || (SELECT count(*) FROM tb_post) || ' ' || (SELECT count(*) FROM tb_comment)"
}
assert_eq "3 3 4" "$(counts)" "seed loads 3 users, 3 posts, 4 comments"
assert_eq "alice,bob,charlie" "$(pgcluster_psql -c "SELECT string_agg(username, ',' ORDER BY username) FROM tb_user")" \
    "seed loads alice, bob and charlie"
# The installed layout: $(pkgdatadir)/migrations and $(pkgdatadir)/seed side by side.
mkdir -p "$WORK/share/migrations" "$WORK/share/seed"
cp "$SRC_MIGRATIONS"/[0-9]*_*.sql "$WORK/share/migrations/"
cp "$SRC_MIGRATIONS/seed/blog_seed.sql" "$WORK/share/seed/"
assert_exit 0 "seed finds the seed file beside an installed migrations directory" -- \
    "$MIGRATE" --dir "$WORK/share/migrations" seed
assert_exit 0 "seed a second time succeeds" -- migrate seed
assert_eq "3 3 4" "$(counts)" "seed a second time adds nothing"
pgcluster_psql -c "DROP DATABASE tvsync_concurrent"
pgcluster_psql -c "CREATE DATABASE tvsync_empty"
assert_exit 1 "seed before up is refused" -- migrate --database "postgresql://postgres@127.0.0.1:$PGPORT/tvsync_empty" seed
assert_contains "$ASSERT_OUTPUT" "before 'tvsync-migrate seed'" "the refusal says to run up first"
assert_exit 1 "verify before up is refused" -- migrate --database "postgresql://postgres@127.0.0.1:$PGPORT/tvsync_empty" verify
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
