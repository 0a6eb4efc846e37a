#!/bin/bash
# slot.sh: tvsync-slot against a throwaway PostgreSQL 15: check, create (the build
# in the slot's snapshot, the origin at its consistent point), status, peek, rebuild, drop.
set -u
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

SLOT="$TVSYNC_BUILDDIR/slot/tvsync-slot"
MIGRATE="$TVSYNC_BUILDDIR/migrations/tvsync-migrate"
migrate() { "$MIGRATE" --dir "$TVSYNC_SRCDIR/examples/blog" "$@"; }
sql() { pgcluster_psql -c "$1"; }

pgcluster_start || exit 1

# ---- check before and after the migrations
assert_exit 1 "check fails before the migrations" -- "$SLOT" check
assert_contains "$ASSERT_OUTPUT" "FAIL  migrations: the tvsync schema is missing: apply the migrations with tvsync-migrate up" \
    "check names the missing migrations and the fix"
assert_contains "$ASSERT_OUTPUT" "ok    wal_level is logical" "check reports passing checks as ok lines"

pgcluster_migrate >/dev/null || { echo "not ok - tvsync-migrate up failed"; exit 1; }
migrate seed "$TVSYNC_SRCDIR/examples/blog/seed.sql" >/dev/null || { echo "not ok - tvsync-migrate seed failed"; exit 1; }

assert_exit 0 "check passes on a migrated logical cluster" -- "$SLOT" check
assert_contains "$ASSERT_OUTPUT" "ok    wal2json decodes" "check creates and drops a temporary wal2json slot"
assert_contains "$ASSERT_OUTPUT" "entities: comment, post, user" "check lists the registered entities"
assert_eq "0" "$(sql "SELECT count(*) FROM pg_replication_slots")" "check leaves no slot behind"

# ---- create builds every tv_* table inside the slot's snapshot
assert_exit 1 "verify differs before create (seeded tb_*, empty tv_*)" -- migrate verify
assert_eq "0" "$(sql "SELECT count(*) FROM tv_post")" "tv_post is empty before create"

# One row per chunk, so the chunk loop (rebuild_chunk's last_id) is exercised.
assert_exit 0 "create succeeds" -- "$SLOT" --set cdc.rebuild_chunk_rows=1 create
create_output=$ASSERT_OUTPUT
assert_contains "$create_output" "built post: 3 rows upserted, 0 deleted, 4 chunks" "create builds post chunk by chunk"
assert_contains "$create_output" "built comment: 4 rows upserted" "create builds comment"
assert_contains "$create_output" "built user: 3 rows upserted" "create builds user"
consistent=$(printf '%s\n' "$create_output" | sed -n 's/^created replication slot "tvsync" (wal2json) at consistent point \([0-9A-F]*\/[0-9A-F]*\)$/\1/p')
assert_contains "$consistent" "/" "create prints the consistent point"

assert_exit 0 "verify equals a full rebuild after create" -- migrate verify
assert_eq "wal2json|logical|f" "$(sql "SELECT plugin, slot_type, active FROM pg_replication_slots WHERE slot_name = 'tvsync'")" \
    "the slot exists with wal2json and is not held"
assert_eq "$consistent" "$(sql "SELECT pg_replication_origin_progress('tvsync', false)")" \
    "the origin's progress is the slot's consistent point"
assert_eq "$consistent" "$(sql "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'tvsync'")" \
    "the consistent point is the slot's confirmed_flush_lsn"

# ---- status, as text and as JSON
assert_exit 0 "status succeeds" -- "$SLOT" status
assert_contains "$ASSERT_OUTPUT" "plugin               wal2json" "status shows the plugin"
assert_contains "$ASSERT_OUTPUT" "origin_progress      $consistent" "status shows the origin progress"
assert_contains "$ASSERT_OUTPUT" "wal_status           reserved" "status shows wal_status"

assert_exit 0 "status --json succeeds" -- "$SLOT" status --json
status_json=$ASSERT_OUTPUT
json_check=$(STATUS_JSON="$status_json" CONSISTENT="$consistent" python3 -c '
import json, os
s = json.loads(os.environ["STATUS_JSON"])
problems = []
def want(cond, what):
    if not cond:
        problems.append(what)
want(s["slot"] == "tvsync", "slot")
want(s["plugin"] == "wal2json", "plugin")
want(s["active"] is False and s["active_pid"] is None, "active")
want(s["origin_progress"] == os.environ["CONSISTENT"], "origin_progress")
want(s["confirmed_flush_lsn"] == os.environ["CONSISTENT"], "confirmed_flush_lsn")
want(isinstance(s["retained_wal_bytes"], (int, float)) and s["retained_wal_bytes"] > 0, "retained_wal_bytes")
want(isinstance(s["lag_bytes"], (int, float)) and s["lag_bytes"] >= 0, "lag_bytes")
want(s["wal_status"] == "reserved", "wal_status")
want("safe_wal_size" in s and "restart_lsn" in s, "keys")
print("ok" if not problems else "bad: " + ", ".join(problems))
' 2>&1)
assert_eq "ok" "$json_check" "status --json is one JSON object with the slot's figures"

# ---- peek shows pending intents without consuming them
assert_exit 0 "peek on an idle slot succeeds" -- "$SLOT" peek
assert_contains "$ASSERT_OUTPUT" "no intent is pending" "peek says when nothing is pending"

post1=20000000-0000-4000-8000-000000000001
post2=20000000-0000-4000-8000-000000000002
sql "SELECT tvsync.publish('post', ARRAY['$post1']::uuid[])" >/dev/null
# A rolled-back transaction publishes nothing (transactional messages).
pgcluster_psql -c "BEGIN" -c "SELECT tvsync.publish('post', ARRAY['$post2']::uuid[])" -c "ROLLBACK" >/dev/null
assert_exit 0 "peek succeeds" -- "$SLOT" peek
first_peek=$ASSERT_OUTPUT
assert_contains "$first_peek" "{\"entity\":\"post\",\"ids\":[\"$post1\"]}" "peek shows the published intent"
assert_not_contains "$first_peek" "$post2" "peek does not show a rolled-back intent"
assert_exit 0 "a second peek succeeds" -- "$SLOT" peek
assert_eq "$first_peek" "$ASSERT_OUTPUT" "peek consumed nothing: the second peek sees the same"

assert_exit 0 "rebuild post succeeds" -- "$SLOT" rebuild post
assert_contains "$ASSERT_OUTPUT" "rebuild of post requested at " "rebuild prints the request's LSN"
assert_exit 0 "peek after a rebuild request" -- "$SLOT" peek
assert_contains "$ASSERT_OUTPUT" '{"entity":"post","rebuild":true}' "the rebuild request is in the log"
assert_exit 0 "peek --limit 1" -- "$SLOT" peek --limit 1
assert_eq "1" "$(printf '%s\n' "$ASSERT_OUTPUT" | grep -c '^[0-9A-F]*/[0-9A-F]*	')" "peek --limit 1 prints one intent"
assert_contains "$ASSERT_OUTPUT" "more intents are pending" "peek --limit says when more are pending"
assert_exit 1 "rebuild of an unknown entity is refused (exit 1)" -- "$SLOT" rebuild nosuch
assert_contains "$ASSERT_OUTPUT" 'unknown entity "nosuch": the registered entities are comment, post, user' \
    "the refusal lists the known entities"
assert_exit 0 "rebuild of every entity" -- "$SLOT" rebuild
assert_eq "3" "$(printf '%s\n' "$ASSERT_OUTPUT" | grep -c '^rebuild of .* requested at ')" "rebuild requests one rebuild per entity"

# ---- create twice
assert_exit 1 "a second create fails" -- "$SLOT" create
assert_contains "$ASSERT_OUTPUT" 'replication slot "tvsync" already exists' "the failure names the slot"
assert_exit 0 "create --if-not-exists succeeds on an existing slot" -- "$SLOT" create --if-not-exists
assert_contains "$ASSERT_OUTPUT" "already exists" "create --if-not-exists says it exists"
assert_eq "$consistent" "$(sql "SELECT pg_replication_origin_progress('tvsync', false)")" \
    "create --if-not-exists leaves the origin alone"

# ---- a slot made by hand, without its origin, is not taken for a tvsync slot
sql "SELECT pg_create_logical_replication_slot('bare', 'wal2json')" >/dev/null
assert_exit 5 "status of a slot without its origin exits 5" -- "$SLOT" --slot bare status
assert_contains "$ASSERT_OUTPUT" 'replication origin "bare" does not exist' "status warns that the origin is missing"
assert_exit 5 "create --if-not-exists refuses a slot without its origin" -- "$SLOT" --slot bare create --if-not-exists
assert_contains "$ASSERT_OUTPUT" "run tvsync-slot drop, then create" "create says how to recover"
assert_exit 0 "drop removes the bare slot" -- "$SLOT" --slot bare drop
assert_eq 'dropped replication slot "bare"' "$ASSERT_OUTPUT" "drop says it dropped only the slot"
sql "SELECT pg_create_logical_replication_slot('decoder', 'test_decoding'); SELECT pg_replication_origin_create('decoder')" >/dev/null
assert_exit 1 "create --if-not-exists refuses a slot with another plugin" -- "$SLOT" --slot decoder create --if-not-exists
assert_contains "$ASSERT_OUTPUT" 'exists with plugin test_decoding, but [slot] plugin is wal2json' "create names the wrong plugin"
assert_exit 0 "drop removes the other plugin's slot and origin" -- "$SLOT" --slot decoder drop

# ---- verify notices a hand-made tv_* change, and names the id
sql "UPDATE tv_post SET data = jsonb_set(data, '{title}', '\"tampered\"') WHERE id = '$post2'"
assert_exit 1 "verify exits 1 after a hand-made tv_post change" -- migrate verify
assert_contains "$ASSERT_OUTPUT" "$post2" "verify names the changed id"
sql "SELECT * FROM tvsync.apply('post', ARRAY['$post2'])" >/dev/null
assert_exit 0 "verify is clean again once the row is rebuilt" -- migrate verify

# ---- a failing build leaves nothing behind
sql "CREATE FUNCTION public.test_build_failure() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN RAISE EXCEPTION 'injected build failure'; END \$\$"
# Emptied first, so the build has rows to insert and the row trigger fires.
sql "DELETE FROM tv_comment"
sql "CREATE TRIGGER test_build_failure BEFORE INSERT OR UPDATE ON tv_comment FOR EACH ROW EXECUTE FUNCTION public.test_build_failure()"
assert_exit 4 "create fails when the build fails" -- "$SLOT" --slot broken create
assert_contains "$ASSERT_OUTPUT" "injected build failure" "the failure says why"
assert_contains "$ASSERT_OUTPUT" 'replication slot "broken" was dropped again' "the failure says the slot was dropped"
assert_eq "0" "$(sql "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'broken'")" "no slot is left after a failed create"
assert_eq "0" "$(sql "SELECT count(*) FROM pg_replication_origin WHERE roname = 'broken'")" "no origin is left after a failed create"
sql "DROP TRIGGER test_build_failure ON tv_comment"
sql "SELECT * FROM tvsync.apply('comment', ARRAY(SELECT id::text FROM tb_comment))" >/dev/null

# ---- the build is the snapshot's state: a write committed during the build is
# not in it but waits in the slot. The build is held on a lock on tv_comment
# (built first) while another session writes a new post.
locker_in=$(mktemp -u "${TMPDIR:-/tmp}/tvsync-slot-lock.XXXXXX")
mkfifo "$locker_in"
pgcluster_psql <"$locker_in" >/dev/null &
locker_pid=$!
exec 7>"$locker_in"
pgcluster_on_exit "kill $locker_pid 2>/dev/null; rm -f '$locker_in'"
# The build's INSERT and DELETE on tv_comment need ROW EXCLUSIVE, which EXCLUSIVE blocks.
echo "BEGIN; LOCK TABLE tv_comment IN EXCLUSIVE MODE;" >&7
lock_held() { [ "$(sql "SELECT count(*) FROM pg_locks WHERE relation = 'tv_comment'::regclass AND mode = 'ExclusiveLock' AND granted")" = 1 ]; }
wait_for 20 lock_held || echo "not ok - the test session did not get its lock"

create_log=$(mktemp "${TMPDIR:-/tmp}/tvsync-slot-create.XXXXXX")
"$SLOT" --slot snap create >"$create_log" 2>&1 &
create_pid=$!
pgcluster_on_exit "kill $create_pid 2>/dev/null; rm -f '$create_log'"
build_waiting() { [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tvsync-slot' AND wait_event_type = 'Lock'")" = 1 ]; }
if wait_for 30 build_waiting; then
    assert__pass "the build waits on the test's lock"
else
    assert__fail "the build waits on the test's lock" "$(cat "$create_log")"
fi
new_post=$(pgcluster_psql -c "BEGIN" \
    -c "INSERT INTO tb_post (id, author_id, title) VALUES ('20000000-0000-4000-8000-0000000000ff', '10000000-0000-4000-8000-000000000003', 'Written during the build')" \
    -c "SELECT tvsync.publish('post', ARRAY['20000000-0000-4000-8000-0000000000ff']::uuid[])" \
    -c "COMMIT" >/dev/null && echo 20000000-0000-4000-8000-0000000000ff)
echo "COMMIT;" >&7
wait "$create_pid"
assert_eq "0" "$?" "create finishes once the lock is released"
assert_eq "0" "$(sql "SELECT count(*) FROM tv_post WHERE id = '$new_post'")" \
    "a post committed during the build is not in the build (it is after the consistent point)"
assert_exit 0 "peek the new slot" -- "$SLOT" --slot snap peek
assert_contains "$ASSERT_OUTPUT" "\"ids\":[\"$new_post\"]" "the post's intent waits in the new slot"
assert_exit 1 "verify shows the post the daemon has still to apply" -- migrate verify
assert_contains "$ASSERT_OUTPUT" "$new_post" "verify names the post written during the build"
assert_exit 0 "drop the snapshot test's slot" -- "$SLOT" --slot snap drop
sql "SELECT * FROM tvsync.apply('post', ARRAY['$new_post'])" >/dev/null
sql "SELECT * FROM tvsync.apply('user', ARRAY['10000000-0000-4000-8000-000000000003'])" >/dev/null

# ---- SIGINT during the build drops the slot again
echo "BEGIN; LOCK TABLE tv_comment IN EXCLUSIVE MODE;" >&7
wait_for 20 lock_held || echo "not ok - the test session did not get its lock again"
"$SLOT" --slot interrupted create >"$create_log" 2>&1 &
create_pid=$!
wait_for 30 build_waiting || echo "not ok - the interrupted build did not start"
kill -INT "$create_pid"
wait "$create_pid"
assert_eq "1" "$?" "an interrupted create exits 1"
assert_contains "$(cat "$create_log")" 'replication slot "interrupted" was dropped again' "an interrupted create says it dropped the slot"
assert_eq "0" "$(sql "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'interrupted'")" "an interrupted create leaves no slot"
echo "COMMIT;" >&7
exec 7>&-

# ---- a role without REPLICATION
sql "CREATE ROLE plain LOGIN; GRANT tvsync_cdc TO plain"
plain_url="postgresql://plain@127.0.0.1:$PGPORT/tvsync_test"
assert_exit 4 "create as a role without REPLICATION fails" -- "$SLOT" --database "$plain_url" --slot other create
assert_contains "$ASSERT_OUTPUT" 'role "plain" cannot replicate: give it the REPLICATION attribute as a superuser: ALTER ROLE "plain" REPLICATION' \
    "the failure says how to grant REPLICATION"
assert_eq "1" "$(printf '%s\n' "$ASSERT_OUTPUT" | wc -l)" "the failure is one line"
assert_exit 1 "check as a role without REPLICATION fails" -- "$SLOT" --database "$plain_url" check
assert_contains "$ASSERT_OUTPUT" 'FAIL  role "plain" cannot replicate' "check names the missing privilege"
assert_exit 4 "peek as a role without REPLICATION fails" -- "$SLOT" --database "$plain_url" peek
assert_contains "$ASSERT_OUTPUT" 'ALTER ROLE "plain" REPLICATION' "peek says how to grant REPLICATION"
assert_eq "0" "$(sql "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'other'")" "no slot was made for the role"

# ---- an active slot: peek and drop are refused while something streams from it
"$PGCLUSTER_BINDIR/pg_recvlogical" -d "$TVSYNC_DATABASE_URL" --slot tvsync --start -f /dev/null \
    -o format-version=2 -o include-transaction=false -o actions= -o add-msg-prefixes=tvsync 2>/dev/null &
recv_pid=$!
pgcluster_on_exit "kill $recv_pid 2>/dev/null"
slot_active() { [ "$(sql "SELECT active FROM pg_replication_slots WHERE slot_name = 'tvsync'")" = t ]; }
wait_for 20 slot_active || echo "not ok - pg_recvlogical did not start streaming"
assert_exit 1 "peek is refused while the slot streams" -- "$SLOT" peek
assert_contains "$ASSERT_OUTPUT" "is in use by PID" "peek says the slot is in use"
assert_exit 1 "drop is refused while the slot streams" -- "$SLOT" drop
assert_contains "$ASSERT_OUTPUT" "stop it first" "drop says to stop the streaming process"
assert_exit 0 "status shows an active slot" -- "$SLOT" status --json
assert_contains "$ASSERT_OUTPUT" '"active":true' "status --json says active"
kill "$recv_pid"
wait "$recv_pid" 2>/dev/null
slot_inactive() { [ "$(sql "SELECT active FROM pg_replication_slots WHERE slot_name = 'tvsync'")" = f ]; }
wait_for 20 slot_inactive || echo "not ok - the slot stayed active"

# ---- status --watch: one line a second when not on a terminal, until SIGINT
watch_log=$(mktemp "${TMPDIR:-/tmp}/tvsync-slot-watch.XXXXXX")
"$SLOT" status --watch >"$watch_log" 2>&1 &
watch_pid=$!
pgcluster_on_exit "kill $watch_pid 2>/dev/null; rm -f '$watch_log'"
two_samples() { [ "$(grep -c 'lag_bytes=' "$watch_log")" -ge 2 ]; }
wait_for 20 two_samples || echo "not ok - status --watch printed fewer than 2 samples"
kill -INT "$watch_pid"
wait "$watch_pid"
assert_eq "0" "$?" "status --watch ends with exit 0 on SIGINT"
assert_contains "$(head -n 1 "$watch_log")" "slot=tvsync active=no active_pid=- wal_status=reserved lag_bytes=" \
    "status --watch prints the slot's lag each second"
assert_contains "$(sed -n 2p "$watch_log")" "lag_trend=" "status --watch draws the lag trend"
assert_exit 5 "status --watch of a missing slot exits 5" -- "$SLOT" --slot nosuchslot status --watch
assert_exit 2 "status --json --watch is refused" -- "$SLOT" status --json --watch

# ---- drop
assert_exit 0 "drop succeeds" -- "$SLOT" drop
assert_contains "$ASSERT_OUTPUT" 'dropped replication slot "tvsync"' "drop says it dropped the slot"
assert_contains "$ASSERT_OUTPUT" 'dropped replication origin "tvsync"' "drop says it dropped the origin"
assert_eq "0|0" "$(sql "SELECT (SELECT count(*) FROM pg_replication_slots), (SELECT count(*) FROM pg_replication_origin)")" \
    "no slot and no origin remain"
assert_exit 5 "a second drop exits 5" -- "$SLOT" drop
assert_exit 5 "status of a missing slot exits 5" -- "$SLOT" status
assert_contains "$ASSERT_OUTPUT" 'replication slot "tvsync" does not exist: run tvsync-slot create' "status says how to create the slot"
assert_exit 5 "peek of a missing slot exits 5" -- "$SLOT" peek
assert_exit 5 "rebuild without a slot exits 5" -- "$SLOT" rebuild

# ---- the slot name comes from --slot, TVSYNC_SLOT_NAME or the [slot] section
config_file=$(mktemp "${TMPDIR:-/tmp}/tvsync-slot-conf.XXXXXX")
pgcluster_on_exit "rm -f '$config_file'"
printf '[slot]\nname = from_file\n' >"$config_file"
assert_exit 5 "status with the name from the config file" -- "$SLOT" --config "$config_file" status
assert_contains "$ASSERT_OUTPUT" '"from_file" does not exist' "the [slot] name key is used"
assert_exit 5 "status with the name from TVSYNC_SLOT_NAME" -- env TVSYNC_SLOT_NAME=from_env "$SLOT" --config "$config_file" status
assert_contains "$ASSERT_OUTPUT" '"from_env" does not exist' "TVSYNC_SLOT_NAME overrides the file"
assert_exit 5 "status with the name from --slot" -- env TVSYNC_SLOT_NAME=from_env "$SLOT" --config "$config_file" --slot from_flag status
assert_contains "$ASSERT_OUTPUT" '"from_flag" does not exist' "--slot overrides the environment"
printf '[slot]\nname = Not-Valid\n' >"$config_file"
assert_exit 3 "an invalid slot name in the file is a configuration error" -- "$SLOT" --config "$config_file" status
assert_contains "$ASSERT_OUTPUT" 'slot.name "Not-Valid" is not a valid slot name' "the error names the key and the rule"
printf '[slot]\nnmae = x\n' >"$config_file"
assert_exit 3 "a misspelled key is a configuration error" -- "$SLOT" --config "$config_file" status

# ---- bad input: one clear line, the documented exit code
assert_exit 2 "an unknown command is a usage error" -- "$SLOT" frobnicate
assert_contains "$ASSERT_OUTPUT" 'unknown command "frobnicate"' "the usage error names the command"
assert_exit 2 "an invalid --slot is a usage error" -- "$SLOT" --slot 'Bad-Name' status
assert_exit 4 "an unreachable server exits 4" -- "$SLOT" --database "postgresql://postgres@127.0.0.1:1/tvsync_test" status
assert_eq "1" "$(printf '%s\n' "$ASSERT_OUTPUT" | wc -l)" "the unreachable-server error is one line"
assert_exit 4 "a malformed URL exits 4" -- "$SLOT" --database "postgresql://[bad" status
assert_eq "1" "$(printf '%s\n' "$ASSERT_OUTPUT" | wc -l)" "the malformed-URL error is one line"
assert_exit 4 "a missing database exits 4" -- "$SLOT" --database "postgresql://postgres@127.0.0.1:$PGPORT/nosuchdb" status
assert_contains "$ASSERT_OUTPUT" "nosuchdb" "the error names the database"

test_summary
