#!/bin/sh
# cdc_trusted_log: only tvsync writes intents to the log. After tvsync-migrate up a role
# may not run pg_logical_emit_message; forged heartbeats (1970, 9999) leave /health's lag
# alone; a rebuild or an oversized publish needs tvsync_admin; an intent with text after
# its JSON is dead-lettered; tvsync-slot check warns while the emit function is open.
. "$TVSYNC_SRCDIR/tests/integration/cdc_lib.sh"
set -u

SLOT="$TVSYNC_BUILDDIR/slot/tvsync-slot"
cdc_setup || exit 1
cdc_kill_on_exit

pgcluster_psql <<'SQL' >/dev/null
CREATE ROLE test_mallory LOGIN;
CREATE ROLE test_app LOGIN IN ROLE tvsync_app;
CREATE ROLE test_operator LOGIN IN ROLE tvsync_app, tvsync_admin;
CREATE ROLE test_cdc LOGIN IN ROLE tvsync_cdc;
SQL
# As ROLE, with the SQLSTATE in error messages; output and errors together.
as_role() {
    role=$1
    shift
    "$PGCLUSTER_BINDIR/psql" -X -qAt -U "$role" -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "$1" 2>&1
}
ids_sql() {
    echo "ARRAY(SELECT ('40000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid FROM generate_series(1, $1) g)"
}

# 1. The emit function is closed to PUBLIC: a role that merely connects cannot forge.
assert_eq "f" "$(pgcluster_psql -c "SELECT bool_or(has_function_privilege('public', oid, 'EXECUTE'))
    FROM pg_proc WHERE proname = 'pg_logical_emit_message' AND pronamespace = 'pg_catalog'::regnamespace")" \
    "after migrate up PUBLIC may not execute any pg_logical_emit_message"
out=$(as_role test_mallory "SELECT pg_logical_emit_message(true, 'tvsync', '{\"entity\":\"post\",\"rebuild\":true}')")
assert_contains "$out" "permission denied for function pg_logical_emit_message" \
    "a role without grants cannot emit a message with the prefix tvsync"
out=$(as_role test_app "SELECT pg_logical_emit_message(true, 'tvsync', '{\"heartbeat\":\"1970-01-01T00:00:00Z\"}')")
assert_contains "$out" "permission denied for function pg_logical_emit_message" \
    "tvsync_app cannot emit directly either: it publishes through tvsync.publish"

# 2. Forged heartbeats (a superuser can still emit) are ignored and counted. No
# heartbeat of the daemon's own within the test: the lag is the forged one's or 0.
cdc_start --set cdc.heartbeat_interval=1h || exit 1
pgcluster_psql -c "SELECT pg_logical_emit_message(true, 'tvsync', '{\"heartbeat\":\"1970-01-01T00:00:00Z\"}')" >/dev/null
cdc_sync
health=$(curl -s -w ' %{http_code}' "http://127.0.0.1:$CDC_PORT/health")
assert_contains "$health" '"status":"streaming"' "a forged heartbeat dated 1970 does not make /health report lag ($health)"
assert_contains "$health" ' 200' "/health stays 200 after a forged heartbeat dated 1970"
pgcluster_psql -c "SELECT pg_logical_emit_message(true, 'tvsync',
    '{\"heartbeat\":\"9999-12-31T23:59:59Z\",\"nonce\":\"0123456789abcdef0123456789abcdef\"}')" >/dev/null
cdc_sync
assert_contains "$(cdc_metrics)" "tvsync_cdc_heartbeats_ignored_total 2" \
    "forged heartbeats (1970, 9999 with a guessed nonce) are counted as ignored"
assert_contains "$(cat "$CDC_LOG")" "ignoring a heartbeat" "a forged heartbeat is logged"
assert_not_contains "$(cdc_metrics)" "tvsync_cdc_heartbeat_round_trip_seconds 0" \
    "a heartbeat dated 9999 does not set the round trip to 0"
cdc_stop

# The daemon's own heartbeats still count.
cdc_start || exit 1
own_heartbeat() {
    cdc_metrics | grep -q '^tvsync_cdc_heartbeat_round_trip_seconds [0-9]'
}
wait_for 10 own_heartbeat
assert_eq "0" "$?" "the daemon's own heartbeats measure the round trip"
assert_eq "0" "$(cdc_metrics | grep -c '^tvsync_cdc_heartbeats_ignored_total [1-9]')" "its own heartbeats are not ignored"

# 3. Publishing needs the right for rebuilds and for large intents.
out=$(as_role test_app "SELECT tvsync.request_rebuild('post')")
assert_contains "$out" "ERROR:  42501: tvsync: role \"test_app\" may not request a full rebuild of \"post\"" \
    "a role without tvsync_admin cannot request a rebuild (insufficient_privilege)"
assert_contains "$out" "HINT:  run it as a role granted tvsync_admin" "the refusal says what to do"
out=$(as_role postgres "SET ROLE test_app; SELECT tvsync.request_rebuild('post')")
assert_contains "$out" "may not request a full rebuild" "SET ROLE to a role without tvsync_admin is refused too"
assert_exit 4 "tvsync-slot rebuild as a role without tvsync_admin fails" -- \
    "$SLOT" --database "postgresql://test_app@$PGHOST:$PGPORT/$PGDATABASE" rebuild post
assert_contains "$ASSERT_OUTPUT" 'may not request a full rebuild of "post"' "tvsync-slot rebuild says what was refused"
assert_contains "$ASSERT_OUTPUT" 'GRANT tvsync_admin TO "test_app"' "tvsync-slot rebuild says what to grant"
assert_exit 0 "tvsync-slot rebuild with tvsync-cdc's role (a member of tvsync_admin) works" -- \
    "$SLOT" --database "postgresql://test_cdc@$PGHOST:$PGPORT/$PGDATABASE" rebuild post
out=$(as_role test_operator "SELECT tvsync.request_rebuild('post') IS NOT NULL")
assert_eq "t" "$out" "a role granted tvsync_admin requests a rebuild"
out=$(as_role test_app "SELECT tvsync.publish('post', $(ids_sql 10001))")
assert_contains "$out" "ERROR:  54000: tvsync: 10001 ids in one publish for entity \"post\"" \
    "a role without tvsync_admin cannot publish 10,001 ids (program_limit_exceeded)"
assert_contains "$out" "HINT:  publish fewer ids per call" "the refusal says what to do"
out=$(as_role test_app "SELECT tvsync.publish('post', $(ids_sql 10000)) IS NOT NULL")
assert_eq "t" "$out" "10,000 ids are within the default limit"
out=$(as_role test_operator "SELECT tvsync.publish('post', $(ids_sql 10001)) IS NOT NULL")
assert_eq "t" "$out" "a role granted tvsync_admin publishes more"
pgcluster_psql -c "UPDATE tvsync.publish_policy SET max_ids = 100" >/dev/null
out=$(as_role test_app "SELECT tvsync.publish('post', $(ids_sql 101))")
assert_contains "$out" "at most 100" "tvsync.publish_policy.max_ids sets the limit"
lsn=$(as_role test_app "UPDATE tb_post SET title = 'published by test_app' WHERE id = '20000000-0000-4000-8000-000000000001';
    SELECT tvsync.publish('post', ARRAY['20000000-0000-4000-8000-000000000001'::uuid])" | tail -n1)
cdc_wait_lsn "$lsn"
assert_eq "published by test_app" \
    "$(pgcluster_psql -c "SELECT data->>'title' FROM tv_post WHERE id = '20000000-0000-4000-8000-000000000001'")" \
    "tvsync_app still publishes through tvsync.publish, and the intent is applied"

# 4. Text after an intent's JSON: dead-lettered, not applied (once the rebuild above is done; not
# a post of alice, whom cdc_sync publishes).
rebuild_done() {
    [ "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.cdc_rebuild")" = 0 ]
}
wait_for 60 rebuild_done
pgcluster_psql -c "UPDATE tv_post SET data = '{\"damaged\": true}' WHERE id = '20000000-0000-4000-8000-000000000200'" >/dev/null
pgcluster_psql -c "SELECT pg_logical_emit_message(true, 'tvsync',
    '{\"entity\":\"post\",\"ids\":[\"20000000-0000-4000-8000-000000000200\"]}garbage')" >/dev/null
cdc_sync
assert_eq "1" "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.dead_letter WHERE lsn IS NOT NULL
    AND content LIKE '%}garbage' AND reason LIKE 'text follows the JSON object%'")" \
    "an intent with text after its JSON is in dead_letter with the reason"
assert_eq '{"damaged": true}' \
    "$(pgcluster_psql -c "SELECT data FROM tv_post WHERE id = '20000000-0000-4000-8000-000000000200'")" \
    "an intent with text after its JSON is not applied"
cdc_stop

# 5. tvsync-slot check, tvsync.restrict_emit_message and tvsync-migrate up while the
# function is open again.
out=$("$SLOT" --database "$TVSYNC_DATABASE_URL" check 2>&1)
assert_contains "$out" "ok    pg_logical_emit_message is not executable by PUBLIC" "check passes when the function is closed"
pgcluster_psql -c "GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) TO PUBLIC" >/dev/null
out=$("$SLOT" --database "$TVSYNC_DATABASE_URL" check 2>&1)
assert_contains "$out" "warn  pg_logical_emit_message is executable by PUBLIC: any role that can connect can forge tvsync intents; as a superuser run: SELECT tvsync.restrict_emit_message();" \
    "check warns while PUBLIC may emit, with the statement that fixes it"
pgcluster_psql -c "GRANT USAGE ON SCHEMA tvsync TO test_mallory;
    GRANT EXECUTE ON FUNCTION tvsync.restrict_emit_message() TO test_mallory" >/dev/null
out=$(as_role test_mallory "SELECT tvsync.restrict_emit_message()")
assert_contains "$out" "WARNING:  01000: tvsync: pg_logical_emit_message stays executable by every role" \
    "a role that may not revoke gets a warning"
assert_contains "$out" "REVOKE EXECUTE ON FUNCTION pg_catalog.pg_logical_emit_message(boolean,text,text) FROM PUBLIC" \
    "the warning names the statement a superuser runs"
assert_exit 0 "tvsync-migrate up with nothing to apply" -- pgcluster_migrate
out=$("$SLOT" --database "$TVSYNC_DATABASE_URL" check 2>&1)
assert_contains "$out" "ok    pg_logical_emit_message is not executable by PUBLIC" \
    "a superuser's tvsync-migrate up closes it again, with nothing to apply"

test_summary
