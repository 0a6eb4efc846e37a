#!/bin/bash
# slot_check.sh: tvsync-slot check and create on servers that are not ready for
# tvsync (wal_level = replica, wal2json not allowed or not found, no free slot).
set -u
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

SLOT="$TVSYNC_BUILDDIR/slot/tvsync-slot"
sql() { pgcluster_psql -c "$1"; }
no_slots() { assert_eq "0" "$(sql "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'tvsync'")" "$1"; }
# Later lines of postgresql.conf win, so each scenario appends and restarts.
reconfigure() {
    printf '%s\n' "$@" >>"$(pgcluster_datadir)/postgresql.conf"
    pgcluster_restart || { echo "not ok - restart with $*"; exit 1; }
}

pgcluster_start "wal_level = replica" || exit 1
pgcluster_migrate >/dev/null || { echo "not ok - tvsync-migrate up failed"; exit 1; }

# ---- wal_level = replica
assert_exit 1 "check fails on a wal_level = replica server" -- "$SLOT" check
assert_contains "$ASSERT_OUTPUT" "FAIL  wal_level is replica: set wal_level = logical in postgresql.conf and restart PostgreSQL" \
    "check gives the wal_level fix"
assert_contains "$ASSERT_OUTPUT" "ok    migrations: $(ls "$TVSYNC_SRCDIR"/migrations/[0-9]*.sql "$TVSYNC_SRCDIR"/examples/blog/[0-9]*.sql | wc -l) applied; entities: comment, post, user" "the other checks still run"
assert_contains "$ASSERT_OUTPUT" "ok    wal2json is installed" "a superuser's check still loads wal2json"
assert_exit 1 "create fails on a wal_level = replica server" -- "$SLOT" create
assert_contains "$ASSERT_OUTPUT" "set wal_level = logical in postgresql.conf and restart PostgreSQL" "create gives the wal_level fix"
assert_eq "1" "$(printf '%s\n' "$ASSERT_OUTPUT" | wc -l)" "create's wal_level error is one line"
no_slots "no slot after the refused create"

# ---- wal2json not in output_plugin_libraries (Debian's PostgreSQL 15.19 and later)
if "$PGCLUSTER_BINDIR/postgres" --describe-config 2>/dev/null | grep -q '^output_plugin_libraries'; then
    reconfigure "wal_level = logical" "output_plugin_libraries = 'pgoutput'"
    assert_exit 1 "check fails when wal2json is not an allowed output plugin" -- "$SLOT" check
    assert_contains "$ASSERT_OUTPUT" "FAIL  output_plugin_libraries is 'pgoutput': add wal2json in postgresql.conf (output_plugin_libraries = 'pgoutput, wal2json') and reload PostgreSQL" \
        "check says how to allow wal2json"
    assert_exit 4 "create fails when wal2json is not an allowed output plugin" -- "$SLOT" create
    assert_contains "$ASSERT_OUTPUT" "add wal2json to output_plugin_libraries" "create says how to allow wal2json"
    no_slots "no slot after create was refused the plugin"
    reconfigure "output_plugin_libraries = 'pgoutput, test_decoding, wal2json'"
else
    reconfigure "wal_level = logical"
fi

# ---- wal2json not installed: the server looks for it where it is not
reconfigure "dynamic_library_path = '/nonexistent'"
assert_exit 1 "check fails when wal2json cannot be found" -- "$SLOT" check
assert_contains "$ASSERT_OUTPUT" "install the wal2json output plugin on the database server (apt-get install postgresql-15-wal2json" \
    "check names the package to install"
assert_exit 4 "create fails when wal2json cannot be found" -- "$SLOT" create
assert_contains "$ASSERT_OUTPUT" "postgresql-15-wal2json" "create names the package to install"
no_slots "no slot after create could not load wal2json"
reconfigure "dynamic_library_path = '\$libdir'"

# ---- every replication slot taken
reconfigure "max_replication_slots = 1"
sql "SELECT pg_create_logical_replication_slot('someone_else', 'test_decoding')" >/dev/null
assert_exit 1 "check fails when no replication slot is free" -- "$SLOT" check
assert_contains "$ASSERT_OUTPUT" "FAIL  replication slots: all 1 of max_replication_slots = 1 are in use: raise max_replication_slots" \
    "check says how to free a slot"
assert_exit 4 "create fails when no replication slot is free" -- "$SLOT" create
assert_contains "$ASSERT_OUTPUT" "raise max_replication_slots in postgresql.conf and restart PostgreSQL" "create says how to free a slot"
no_slots "no slot after create found none free"
sql "SELECT pg_drop_replication_slot('someone_else')" >/dev/null

# ---- and once all is fixed, check passes and create works
assert_exit 0 "check passes once the server is fixed" -- "$SLOT" check
assert_contains "$ASSERT_OUTPUT" "note  max_slot_wal_keep_size = -1: WAL is kept for the slot without limit" \
    "check notes that nothing limits the slot's WAL"
reconfigure "max_slot_wal_keep_size = 1GB"
assert_exit 0 "check passes with a WAL limit for slots" -- "$SLOT" check
assert_contains "$ASSERT_OUTPUT" "note  max_slot_wal_keep_size = 1GB: if tvsync-cdc stops for longer" \
    "check notes that the slot can be lost past the limit"
assert_exit 0 "create works once the server is fixed" -- "$SLOT" create
# tvsync's own slot took the last free one: that is not a problem.
assert_exit 0 "check passes when tvsync's slot uses the last free one" -- "$SLOT" check
assert_contains "$ASSERT_OUTPUT" 'ok    wal2json: used by replication slot "tvsync"' "check accepts the slot's own wal2json"
# ---- a slot whose WAL was removed: status says so and how to recover
reconfigure "max_slot_wal_keep_size = 1MB"
sql "CREATE TABLE filler (x text)"
for round in 1 2 3 4; do
    sql "INSERT INTO filler SELECT repeat('w', 1000) FROM generate_series(1, 3000)" >/dev/null
    sql "SELECT pg_switch_wal()" >/dev/null
done
sql "CHECKPOINT"
slot_lost() { [ "$(sql "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'tvsync'")" = lost ]; }
wait_for 20 slot_lost || sql "SELECT slot_name, wal_status, restart_lsn, pg_current_wal_lsn() FROM pg_replication_slots"
assert_exit 5 "status of a slot that lost its WAL exits 5" -- "$SLOT" status
assert_contains "$ASSERT_OUTPUT" "(wal_status lost): tvsync-cdc cannot resume; stop it, run tvsync-slot drop, then tvsync-slot create" \
    "status says how to recover a lost slot"
assert_contains "$ASSERT_OUTPUT" "wal_status           lost" "status shows wal_status lost"
assert_exit 5 "tvsync-cdc on a slot that lost its WAL exits 5" -- \
    timeout 60 "$TVSYNC_BUILDDIR/cdc/tvsync-cdc" --database "$TVSYNC_DATABASE_URL" --metrics-listen 127.0.0.1:0
assert_contains "$ASSERT_OUTPUT" 'replication slot "tvsync" lost its WAL (wal_status lost)' \
    "tvsync-cdc says the slot lost its WAL"
assert_contains "$ASSERT_OUTPUT" "recover with: tvsync-slot drop && tvsync-slot create" "tvsync-cdc says how to recover"
assert_exit 5 "peek of a slot that lost its WAL exits 5" -- "$SLOT" peek
assert_contains "$ASSERT_OUTPUT" "run tvsync-slot drop, then tvsync-slot create" "peek says how to recover a lost slot"
assert_exit 0 "a lost slot can be dropped" -- "$SLOT" drop
assert_exit 0 "a lost slot can be created again after the drop" -- "$SLOT" create
test_summary
