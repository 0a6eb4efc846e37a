#!/bin/bash
# slot_cdc.sh: tvsync-slot create hands over to tvsync-cdc without a gap: writes
# committed during the build are streamed and applied, and rebuild requests work.
set -u
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

SLOT="$TVSYNC_BUILDDIR/slot/tvsync-slot"
CDC="$TVSYNC_BUILDDIR/cdc/tvsync-cdc"
MIGRATE="$TVSYNC_BUILDDIR/migrations/tvsync-migrate"
migrate() { "$MIGRATE" --dir "$TVSYNC_SRCDIR/examples/blog" "$@"; }
sql() { pgcluster_psql -c "$1"; }
verify_clean() { migrate verify >/dev/null 2>&1; }

alice=10000000-0000-4000-8000-000000000001
bob=10000000-0000-4000-8000-000000000002
charlie=10000000-0000-4000-8000-000000000003
bobs_post=20000000-0000-4000-8000-000000000003
new_post=20000000-0000-4000-8000-0000000000aa

pgcluster_start || exit 1
pgcluster_migrate >/dev/null 2>&1 || { echo "not ok - tvsync-migrate up failed"; exit 1; }
migrate seed "$TVSYNC_SRCDIR/examples/blog/seed.sql" >/dev/null 2>&1 || { echo "not ok - tvsync-migrate seed failed"; exit 1; }

# ---- the build is held on a lock while other sessions write and publish
locker_in=$(mktemp -u "${TMPDIR:-/tmp}/tvsync-slot-lock.XXXXXX")
mkfifo "$locker_in"
pgcluster_psql <"$locker_in" >/dev/null &
locker_pid=$!
exec 7>"$locker_in"
pgcluster_on_exit "kill $locker_pid 2>/dev/null; rm -f '$locker_in'"
echo "BEGIN; LOCK TABLE tv_comment IN EXCLUSIVE MODE;" >&7
lock_held() { [ "$(sql "SELECT count(*) FROM pg_locks WHERE relation = 'tv_comment'::regclass AND mode = 'ExclusiveLock' AND granted")" = 1 ]; }
wait_for 20 lock_held || echo "not ok - the test session did not get its lock"

create_log=$(mktemp "${TMPDIR:-/tmp}/tvsync-slot-create.XXXXXX")
pgcluster_on_exit "rm -f '$create_log'"
"$SLOT" create >"$create_log" 2>&1 &
create_pid=$!
pgcluster_on_exit "kill $create_pid 2>/dev/null"
build_waiting() { [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tvsync-slot' AND wait_event_type = 'Lock'")" = 1 ]; }
if wait_for 30 build_waiting; then
    assert__pass "the build waits on the test's lock"
else
    assert__fail "the build waits on the test's lock" "$(cat "$create_log")"
fi

# As a mutation would: the write and its intents in one transaction.
pgcluster_psql -c "BEGIN" \
    -c "INSERT INTO tb_post (id, author_id, title, published) VALUES ('$new_post', '$charlie', 'Written during the build', true)" \
    -c "SELECT tvsync.publish('post', ARRAY['$new_post']::uuid[])" \
    -c "COMMIT" >/dev/null
pgcluster_psql -c "BEGIN" \
    -c "UPDATE tb_user SET username = 'robert', updated_at = now() WHERE id = '$bob'" \
    -c "SELECT tvsync.publish('user', ARRAY['$bob']::uuid[])" \
    -c "COMMIT" >/dev/null
echo "COMMIT;" >&7
exec 7>&-
wait "$create_pid"
assert_eq "0" "$?" "create finishes once the lock is released"

assert_eq "0" "$(sql "SELECT count(*) FROM tv_post WHERE id = '$new_post'")" "the post written during the build is not in the build"
assert_eq "bob" "$(sql "SELECT data->'author'->>'username' FROM tv_post WHERE id = '$bobs_post'")" \
    "the rename committed during the build is not in the build"
assert_exit 1 "verify differs before the daemon runs" -- migrate verify

# ---- tvsync-cdc streams from where the build ended and catches up
cdc_log=$(mktemp "${TMPDIR:-/tmp}/tvsync-slot-cdc.XXXXXX")
pgcluster_on_exit "rm -f '$cdc_log'"
"$CDC" --metrics-listen 127.0.0.1:0 --set cdc.status_interval=500ms --set cdc.heartbeat_interval=1s >"$cdc_log" 2>&1 &
cdc_pid=$!
pgcluster_on_exit "kill -9 $cdc_pid 2>/dev/null"
if wait_for 60 verify_clean; then
    assert__pass "after tvsync-cdc starts, every tv_* equals a full rebuild"
else
    assert__fail "after tvsync-cdc starts, every tv_* equals a full rebuild" "$(migrate verify 2>&1)" "$(tail -20 "$cdc_log")"
fi
assert_eq "1" "$(sql "SELECT count(*) FROM tv_post WHERE id = '$new_post'")" "the post written during the build was applied"
assert_eq "robert" "$(sql "SELECT data->'author'->>'username' FROM tv_post WHERE id = '$bobs_post'")" \
    "the rename written during the build cascaded to bob's post"

# ---- while the daemon streams
assert_exit 1 "peek is refused while tvsync-cdc streams" -- "$SLOT" peek
assert_contains "$ASSERT_OUTPUT" "is in use by PID" "peek says who holds the slot"
assert_exit 0 "status while tvsync-cdc streams" -- "$SLOT" status --json
assert_contains "$ASSERT_OUTPUT" "\"active\":true,\"active_pid\":" "status shows the slot active"
consistent=$(sed -n 's/^created replication slot "tvsync" (wal2json) at consistent point \([0-9A-F]*\/[0-9A-F]*\)$/\1/p' "$create_log")
acked() { [ "$(sql "SELECT confirmed_flush_lsn > '$consistent'::pg_lsn AND pg_replication_origin_progress('tvsync', true) > '$consistent'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'tvsync'")" = t ]; }
if wait_for 30 acked; then
    assert__pass "the daemon's progress moves the slot and the origin past the consistent point"
else
    assert__fail "the daemon's progress moves the slot and the origin past the consistent point" "$("$SLOT" status 2>&1)"
fi

# ---- a rebuild request travels through the log and repairs a hand-made change
sql "UPDATE tv_user SET data = jsonb_set(data, '{fullName}', '\"tampered\"') WHERE id = '$alice'"
assert_exit 1 "verify notices the hand-made change" -- migrate verify
assert_exit 0 "rebuild user is requested" -- "$SLOT" rebuild user
if wait_for 30 verify_clean; then
    assert__pass "the daemon rebuilds user on request"
else
    assert__fail "the daemon rebuilds user on request" "$(migrate verify 2>&1)" "$(tail -20 "$cdc_log")"
fi

# ---- drop is refused while the daemon streams, works once it stopped
assert_exit 1 "drop is refused while tvsync-cdc streams" -- "$SLOT" drop
kill -TERM "$cdc_pid"
wait "$cdc_pid"
assert_eq "0" "$?" "tvsync-cdc stops cleanly on SIGTERM"
slot_inactive() { [ "$(sql "SELECT active FROM pg_replication_slots WHERE slot_name = 'tvsync'")" = f ]; }
wait_for 20 slot_inactive || echo "not ok - the slot stayed active after the daemon stopped"
assert_exit 0 "peek works once the daemon stopped" -- "$SLOT" peek
assert_exit 0 "drop works once the daemon stopped" -- "$SLOT" drop
assert_contains "$ASSERT_OUTPUT" 'dropped replication origin "tvsync"' "drop removes the origin the daemon used"

test_summary
