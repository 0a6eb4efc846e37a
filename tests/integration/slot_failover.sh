#!/bin/bash
# slot_failover.sh: [slot] failover = on. On PostgreSQL 17 (npm build, pgoutput) create makes a failover
# slot, check reports it and the primary's synchronized_standby_slots, status shows it, create
# --if-not-exists turns it off and on again; on PostgreSQL 15 create and check refuse the key.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

SLOT="$TVSYNC_BUILDDIR/slot/tvsync-slot"

# Without an argument: run this script once per major, each in a shell of its own (the harness
# holds one cluster per shell and reads TVSYNC_PG_MAJOR when sourced).
if [ $# -eq 0 ]; then
    . "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
    pgcluster_need_npm_builds 17
    for major in 17 15; do
        output=$(TVSYNC_PG_MAJOR=$major bash "$0" "$major" 2>&1)
        status=$?
        sed "s/^/[$major] /" <<<"$output"
        assert_eq 0 "$status" "PostgreSQL $major: every check passes"
    done
    test_summary
fi

. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
sql() { pgcluster_psql -c "$1"; }
pgcluster_start || exit 1
export TVSYNC_SLOT_FAILOVER=on

if [ "$1" = 15 ]; then
    refusal='[slot] failover is on, but the server is PostgreSQL 15.'
    fix='and failover slots need PostgreSQL 17 or later: set failover = off under [slot]'
    assert_exit 1 "create refuses failover on 15" -- "$SLOT" create
    assert_contains "$ASSERT_OUTPUT" "$refusal" "create names the server's version"
    assert_contains "$ASSERT_OUTPUT" "$fix" "create says failover needs 17 and how to turn it off"
    assert_eq 0 "$(sql "SELECT count(*) FROM pg_replication_slots")" "nothing was created"
    assert_exit 1 "check fails with failover on 15" -- "$SLOT" check
    assert_contains "$ASSERT_OUTPUT" "FAIL  $refusal" "check's FAIL line names the server's version"
    assert_contains "$ASSERT_OUTPUT" "$fix" "check says failover needs 17 and how to turn it off"
    assert_exit 1 "check without failover still runs (no schema here)" -- env TVSYNC_SLOT_FAILOVER=off "$SLOT" check
    assert_not_contains "$ASSERT_OUTPUT" "failover" "with failover off, check says nothing of it on 15"
    test_summary
fi

# ---- PostgreSQL 17
export TVSYNC_SLOT_PLUGIN=pgoutput
pgcluster_migrate >/dev/null || { echo "not ok - tvsync-migrate up failed"; exit 1; }

# synchronized_standby_slots is reloaded, not restarted: wait until a new session sees it.
standby_slots_are() { [ "$(sql "SHOW synchronized_standby_slots")" = "$1" ]; }
set_standby_slots() {
    sql "ALTER SYSTEM SET synchronized_standby_slots = '$1'" >/dev/null
    sql "SELECT pg_reload_conf()" >/dev/null
    wait_for 10 standby_slots_are "$1" || assert_fail "synchronized_standby_slots becomes '$1'"
}

# ---- check before create: what create will do, what the primary lacks, what the standbys need
assert_exit 0 "check passes before create" -- "$SLOT" check
assert_contains "$ASSERT_OUTPUT" 'ok    failover: tvsync-slot create makes replication slot "tvsync" a failover slot' \
    "check says create makes a failover slot"
assert_contains "$ASSERT_OUTPUT" "warn  synchronized_standby_slots is empty: " "check warns of the empty setting"
assert_contains "$ASSERT_OUTPUT" "(synchronized_standby_slots = '<standby's slot>[, ...]') and reload PostgreSQL" \
    "the warning says what to set on the primary"
assert_contains "$ASSERT_OUTPUT" "note  the standbys cannot be seen from here" "check says it cannot see the standbys"
for need in "sync_replication_slots = on" "hot_standby_feedback = on" "primary_slot_name = '" \
    "primary_conninfo with dbname=tvsync_test" "wal_level = logical"; do
    assert_contains "$ASSERT_OUTPUT" "note    $need" "check advises the standbys: $need"
done
assert_contains "$ASSERT_OUTPUT" "note  after a promotion, the new primary's synchronized_standby_slots must name only physical slots it has" \
    "check warns of the list a promoted standby inherits"

# ---- create makes a failover slot
assert_exit 0 "create with failover on" -- "$SLOT" create
assert_contains "$ASSERT_OUTPUT" 'created replication slot "tvsync" (pgoutput, failover) at consistent point' \
    "create says the slot is a failover slot"
assert_contains "$ASSERT_OUTPUT" "note: synchronized_standby_slots is empty" "create points at the empty setting"
assert_eq "t" "$(sql "SELECT failover FROM pg_replication_slots WHERE slot_name = 'tvsync'")" \
    "pg_replication_slots.failover is t"

assert_exit 0 "status" -- "$SLOT" status
assert_contains "$ASSERT_OUTPUT" "failover             yes" "status shows failover"
assert_exit 0 "status --json" -- "$SLOT" status --json
assert_contains "$ASSERT_OUTPUT" '"failover":true' "status --json shows failover"

watch_log=$(mktemp "${TMPDIR:-/tmp}/tvsync-slot-watch.XXXXXX")
"$SLOT" status --watch >"$watch_log" 2>&1 &
watch_pid=$!
pgcluster_on_exit "kill $watch_pid 2>/dev/null; rm -f '$watch_log'"
watch_sampled() { grep -q 'lag_bytes=' "$watch_log"; }
wait_for 20 watch_sampled || echo "not ok - status --watch printed no sample"
kill -INT "$watch_pid"
wait "$watch_pid"
assert_contains "$(head -n 1 "$watch_log")" " failover=yes " "status --watch shows failover"

assert_exit 0 "check passes after create" -- "$SLOT" check
assert_contains "$ASSERT_OUTPUT" 'ok    replication slot "tvsync" has failover on, as [slot] failover says' \
    "check compares the slot's flag with the key"

# ---- synchronized_standby_slots: a name that is no slot stalls decoding; a physical slot is ok
set_standby_slots nosuch
assert_exit 1 "check fails when synchronized_standby_slots names no slot" -- "$SLOT" check
assert_contains "$ASSERT_OUTPUT" "FAIL  synchronized_standby_slots = 'nosuch' names 'nosuch', which is no physical replication slot here" \
    "check names the missing slot"
sql "SELECT pg_create_physical_replication_slot('standby1', true)" >/dev/null
set_standby_slots standby1
assert_exit 0 "check passes with a physical slot in synchronized_standby_slots" -- "$SLOT" check
assert_contains "$ASSERT_OUTPUT" "ok    synchronized_standby_slots = 'standby1'" "check accepts the physical slot"
assert_not_contains "$ASSERT_OUTPUT" "warn  synchronized_standby_slots is empty" "no warning about an empty setting"
assert_contains "$ASSERT_OUTPUT" "warn  physical slot 'standby1' is not in use" "check warns that its standby is not connected"
# Decoding now waits for standby1's standby, which never comes: peek says so at once rather
# than hanging (the timeout only bounds this test if it did hang).
sql "SELECT tvsync.publish('user', ARRAY['10000000-0000-4000-8000-000000000001'::uuid])" >/dev/null
assert_exit 1 "peek of a failover slot waiting for a missing standby fails" -- timeout 60 "$SLOT" peek
assert_contains "$ASSERT_OUTPUT" 'peeking at replication slot "tvsync" waited for the standby of physical slot "standby1"' \
    "peek names the standby it waited for"
assert_contains "$ASSERT_OUTPUT" 'or remove "standby1" from synchronized_standby_slots on the primary and reload' \
    "peek says what to do"
# create --if-not-exists remaking a missing publication decodes the slot once to check it:
# it is not waited for either, and the publication goes again so that a later run checks.
sql "DROP PUBLICATION tvsync_pub" >/dev/null
assert_exit 1 "create --if-not-exists waiting for a missing standby fails" -- timeout 60 "$SLOT" create --if-not-exists
assert_contains "$ASSERT_OUTPUT" 'decoding waited for the standby of physical slot "standby1" (the slot is a failover slot), so the publication is dropped again' \
    "create names the standby it waited for"
assert_eq 0 "$(sql "SELECT count(*) FROM pg_publication WHERE pubname = 'tvsync_pub'")" "the unchecked publication is not left"
set_standby_slots ""
assert_exit 0 "peek once the setting is emptied" -- timeout 60 "$SLOT" peek
assert_exit 0 "create --if-not-exists makes and checks the publication then" -- timeout 60 "$SLOT" create --if-not-exists
assert_eq 1 "$(sql "SELECT count(*) FROM pg_publication WHERE pubname = 'tvsync_pub'")" "the publication is back"

# ---- the key and the slot disagree: check says so, create --if-not-exists aligns the slot
assert_exit 0 "check with failover off on a failover slot" -- env TVSYNC_SLOT_FAILOVER=off "$SLOT" check
assert_contains "$ASSERT_OUTPUT" 'warn  replication slot "tvsync" has failover on but [slot] failover is off' \
    "check warns of the difference"
assert_not_contains "$ASSERT_OUTPUT" "synchronized_standby_slots" "with failover off, nothing about the standbys"
assert_exit 0 "create --if-not-exists turns failover off" -- env TVSYNC_SLOT_FAILOVER=off "$SLOT" create --if-not-exists
assert_contains "$ASSERT_OUTPUT" 'replication slot "tvsync" has failover on but [slot] failover is off: turning it off' \
    "create says what it changes"
assert_eq "f" "$(sql "SELECT failover FROM pg_replication_slots WHERE slot_name = 'tvsync'")" "the slot has failover off"
assert_exit 0 "status of a slot without failover" -- "$SLOT" status
assert_contains "$ASSERT_OUTPUT" "failover             no" "status shows failover off"
assert_contains "$ASSERT_OUTPUT" 'has failover off but [slot] failover is on: stop tvsync-cdc and run tvsync-slot create --if-not-exists' \
    "status warns that slot and key disagree"

assert_exit 1 "check fails when the key wants failover and the slot lacks it" -- "$SLOT" check
assert_contains "$ASSERT_OUTPUT" 'FAIL  replication slot "tvsync" has failover off but [slot] failover is on' \
    "check says the slot lacks failover"
assert_contains "$ASSERT_OUTPUT" "run tvsync-slot create --if-not-exists (it turns failover on)" "check says how to fix it"

# A slot in use cannot be altered: create says to stop the streaming process.
"$PGCLUSTER_BINDIR/pg_recvlogical" -d "$PGDATABASE" -S tvsync --start -f /dev/null -o proto_version=1 \
    -o publication_names=tvsync_pub >/dev/null 2>&1 &
receiver=$!
slot_active() { [ "$(sql "SELECT active FROM pg_replication_slots WHERE slot_name = 'tvsync'")" = t ]; }
if wait_for 15 slot_active; then
    assert_exit 1 "create --if-not-exists refuses to alter a slot in use" -- "$SLOT" create --if-not-exists
    assert_contains "$ASSERT_OUTPUT" "(tvsync-cdc?) streams from it: stop it, then run tvsync-slot create --if-not-exists again" \
        "create says to stop the streaming process"
else
    assert_fail "pg_recvlogical streams from the slot"
fi
kill "$receiver" 2>/dev/null
wait "$receiver" 2>/dev/null
wait_for 15 eval '! slot_active' || assert_fail "the slot is released"

assert_exit 0 "create --if-not-exists turns failover on" -- "$SLOT" create --if-not-exists
assert_contains "$ASSERT_OUTPUT" 'replication slot "tvsync": failover is now on' "create says failover is on"
assert_eq "t" "$(sql "SELECT failover FROM pg_replication_slots WHERE slot_name = 'tvsync'")" "the slot has failover on again"
assert_exit 0 "create --if-not-exists with nothing to change" -- "$SLOT" create --if-not-exists
assert_contains "$ASSERT_OUTPUT" "already exists (pgoutput): nothing done" "nothing done when slot and key agree"

# ---- drop
assert_exit 0 "drop" -- "$SLOT" drop
assert_eq 0 "$(sql "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'tvsync'")" "the slot is gone"
test_summary
