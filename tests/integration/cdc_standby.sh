#!/bin/bash
# cdc_standby.sh: [cdc] decode_url on PostgreSQL 16, 17, 18 (npm builds, pgoutput; scripts/check runs it on each): tvsync-slot makes the slot
# on a hot standby, tvsync-cdc decodes there and applies on the primary, exactly once across SIGKILLs;
# tvsync-server reads its writes; decode_url at the primary, or at a PostgreSQL 15 standby, is refused.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

SLOT="$TVSYNC_BUILDDIR/slot/tvsync-slot"

# Without an argument: run this script once per major, each in a shell of its own (the harness
# holds one cluster per shell and reads TVSYNC_PG_MAJOR when sourced).
if [ $# -eq 0 ]; then
    # The default run (15) checks 15's refusal; scripts/check's run on each npm major
    # (TVSYNC_PG_MAJOR=16, 17, 18) decodes on that one.
    majors=${TVSYNC_PG_MAJOR:-15}
    if [ "$majors" != 15 ]; then
        . "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
        pgcluster_need_npm_builds "$majors"
    fi
    for major in $majors; do
        output=$(TVSYNC_PG_MAJOR=$major bash "$0" "$major" 2>&1)
        status=$?
        sed "s/^/[$major] /" <<<"$output"
        assert_eq 0 "$status" "PostgreSQL $major: every check passes"
    done
    test_summary
fi

export TVSYNC_TEST_PLUGIN=pgoutput
. "$TVSYNC_SRCDIR/tests/integration/cdc_lib.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"
standby_sql() { pgcluster_standby_psql -c "$1"; }
sql() { pgcluster_psql -c "$1"; }

# ---- PostgreSQL 15: no logical decoding on a standby
if [ "$1" = 15 ]; then
    pgcluster_start || exit 1
    pgcluster_standby_start || exit 1
    export TVSYNC_CDC_DECODE_URL="$PGCLUSTER_STANDBY_URL"
    assert_exit 1 "create refuses a PostgreSQL 15 standby" -- "$SLOT" --database "$TVSYNC_DATABASE_URL" create
    assert_contains "$ASSERT_OUTPUT" "[cdc] decode_url is a PostgreSQL 15." "create names the standby's version"
    assert_contains "$ASSERT_OUTPUT" "needs PostgreSQL 16 or later" "create says what decoding on a standby needs"
    assert_eq 0 "$(standby_sql "SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'logical'")" \
        "no slot on the standby"
    assert_eq 0 "$(sql "SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'logical'")" "none on the primary"
    assert_exit 1 "check fails with a PostgreSQL 15 standby" -- "$SLOT" --database "$TVSYNC_DATABASE_URL" check
    assert_contains "$ASSERT_OUTPUT" "FAIL  [cdc] decode_url is a PostgreSQL 15." "check's FAIL line names the version"
    assert_exit 4 "tvsync-cdc refuses a PostgreSQL 15 standby" -- \
        timeout 60 "$CDC_BIN" --database "$TVSYNC_DATABASE_URL" --metrics-listen 127.0.0.1:0
    assert_contains "$ASSERT_OUTPUT" "[cdc] decode_url is a PostgreSQL 15." "tvsync-cdc names the standby's version"
    assert_contains "$ASSERT_OUTPUT" "needs PostgreSQL 16 or later" "tvsync-cdc says what it needs"
    test_summary
fi

# ---- PostgreSQL 16 or later
pgcluster_start || exit 1
cdc_migrate >/dev/null 2>&1 || { echo "not ok - migrations failed"; exit 1; }
cdc_install_oracle >/dev/null || exit 1
cdc_seed_more || exit 1
pgcluster_standby_start || exit 1
pgcluster_on_exit server_lib_cleanup
cdc_kill_on_exit
PRIMARY=$TVSYNC_DATABASE_URL
STANDBY=$PGCLUSTER_STANDBY_URL

# decode_url at a standby of another cluster: refused by its system identifier. That cluster
# lives in a subshell of its own (the harness holds one cluster per shell), removed at its end.
other=$(
    PGCLUSTER_EXIT_HOOKS= PGCLUSTER_REAPER= PGCLUSTER_DIR=
    pgcluster_start >/dev/null 2>&1 || { echo "other cluster: start failed"; exit 0; }
    pgcluster_migrate >/dev/null 2>&1 || { echo "other cluster: migrate failed"; exit 0; }
    env TVSYNC_CDC_DECODE_URL="$STANDBY" "$SLOT" --database "$TVSYNC_DATABASE_URL" create 2>&1
    echo "create exit $?"
    env TVSYNC_CDC_DECODE_URL="$STANDBY" "$SLOT" --database "$TVSYNC_DATABASE_URL" check 2>&1
    echo "check exit $?"
    timeout 60 "$CDC_BIN" --database "$TVSYNC_DATABASE_URL" --set cdc.decode_url="$STANDBY" \
        --metrics-listen 127.0.0.1:0 2>&1
    echo "cdc exit $?"
)
for step in "create exit 1" "check exit 1" "cdc exit 4"; do
    assert_contains "$other" "$step" "a standby of another cluster: $step"
done
assert_eq 3 "$(grep -c "decode_url is not a standby of database.url: its system identifier is" <<<"$other")" \
    "create, check and tvsync-cdc each say decode_url is no standby of database.url"
assert_eq 0 "$(standby_sql "SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'logical'")" \
    "no slot was made on the other cluster's standby"

# decode_url at the primary itself: refused before anything is made.
assert_exit 1 "create refuses a decode_url that is not a standby" -- \
    env TVSYNC_CDC_DECODE_URL="$PRIMARY" "$SLOT" --database "$PRIMARY" create
assert_contains "$ASSERT_OUTPUT" "[cdc] decode_url is not a hot standby" "create says decode_url is no standby"
assert_eq 0 "$(sql "SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'logical'")" "no slot was made"
assert_eq 0 "$(sql "SELECT count(*) FROM pg_publication")" "no publication was made"
assert_exit 4 "tvsync-cdc refuses a decode_url that is not a standby" -- \
    timeout 60 "$CDC_BIN" --database "$PRIMARY" --set cdc.decode_url="$PRIMARY" --metrics-listen 127.0.0.1:0
assert_contains "$ASSERT_OUTPUT" "[cdc] decode_url is not a hot standby" "tvsync-cdc says decode_url is no standby"
assert_exit 1 "check fails when decode_url is not a standby" -- \
    env TVSYNC_CDC_DECODE_URL="$PRIMARY" "$SLOT" --database "$PRIMARY" check
assert_contains "$ASSERT_OUTPUT" "FAIL  [cdc] decode_url is not a hot standby" "check's FAIL line says so"

# ---- check: what a slot on the standby needs
assert_exit 0 "check passes with decode_url at the standby" -- \
    env TVSYNC_CDC_DECODE_URL="$STANDBY" timeout 120 "$SLOT" --database "$PRIMARY" check
for line in "ok    [cdc] decode_url is a hot standby of database.url" "ok    hot_standby_feedback is on on the standby" \
    "ok    wal_level is logical on the standby" "ok    primary_slot_name is '" \
    "ok    pgoutput decodes (a temporary slot was created and dropped)"; do
    assert_contains "$ASSERT_OUTPUT" "$line" "check: $line"
done
pgcluster_standby_psql -c "ALTER SYSTEM SET hot_standby_feedback = off" -c "SELECT pg_reload_conf()" >/dev/null
feedback_off() { [ "$(standby_sql "SHOW hot_standby_feedback")" = off ]; }
wait_for 10 feedback_off
assert_exit 1 "check fails without hot_standby_feedback on the standby" -- \
    env TVSYNC_CDC_DECODE_URL="$STANDBY" timeout 120 "$SLOT" --database "$PRIMARY" check
assert_contains "$ASSERT_OUTPUT" "FAIL  hot_standby_feedback is off on the standby of [cdc] decode_url" \
    "check says hot_standby_feedback must be on"
pgcluster_standby_psql -c "ALTER SYSTEM RESET hot_standby_feedback" -c "SELECT pg_reload_conf()" >/dev/null
feedback_on() { [ "$(standby_sql "SHOW hot_standby_feedback")" = on ]; }
wait_for 10 feedback_on

# ---- create on the standby, with an idle primary (the running-xacts record is asked for)
export TVSYNC_CDC_DECODE_URL="$STANDBY"
assert_exit 0 "create makes the slot on the standby" -- timeout 120 "$SLOT" --database "$PRIMARY" create
assert_contains "$ASSERT_OUTPUT" 'replication slot "tvsync" is ready' "create finishes"
assert_eq "pgoutput" "$(standby_sql "SELECT plugin FROM pg_replication_slots WHERE slot_name = 'tvsync'")" \
    "the logical slot is on the standby"
assert_eq 0 "$(sql "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'tvsync'")" "and not on the primary"
assert_eq 1 "$(sql "SELECT count(*) FROM pg_publication WHERE pubname = 'tvsync_pub'")" \
    "the publication is made on the primary"
assert_eq t "$(sql "SELECT pg_replication_origin_progress('tvsync', false) IS NOT NULL")" \
    "the origin is on the primary, with progress"
assert_exit 0 "the read models equal a full rebuild after create" -- cdc_verify
assert_exit 0 "create --if-not-exists finds the slot on the standby" -- "$SLOT" --database "$PRIMARY" create --if-not-exists
assert_contains "$ASSERT_OUTPUT" "already exists" "and does nothing"
assert_exit 0 "status reads the slot on the standby" -- "$SLOT" --database "$PRIMARY" status --json
assert_eq pgoutput "$(jq -r .plugin <<<"$ASSERT_OUTPUT" 2>/dev/null)" "status shows the standby's slot"

# ---- tvsync-cdc decodes on the standby, applies on the primary; SIGKILLs under load
cdc_write_scripts "$PGCLUSTER_DIR"
CDC_ARGS="--set cdc.batch_max_ids=100"
cdc_start $CDC_ARGS || exit 1
assert_contains "$(cat "$CDC_LOG")" 'streaming slot "tvsync" on the standby of [cdc] decode_url' \
    "tvsync-cdc says it streams from the standby"
assert_eq t "$(standby_sql "SELECT active FROM pg_replication_slots WHERE slot_name = 'tvsync'")" \
    "the standby's slot is the one streamed from"
load() {
    "$PGCLUSTER_BINDIR/pgbench" -n -c 3 -j 2 -R 40 -T "$1" \
        -f "$PGCLUSTER_DIR/w_post.sql@10" -f "$PGCLUSTER_DIR/w_user.sql@4" \
        -f "$PGCLUSTER_DIR/w_comment.sql@6" -f "$PGCLUSTER_DIR/w_delete.sql@2" \
        -f "$PGCLUSTER_DIR/w_many.sql@1" >"$PGCLUSTER_DIR/pgbench.log" 2>&1
}
load 12 &
loader=$!
kills=0
while [ $kills -lt 4 ]; do
    sleep "$(awk -v r="$(od -An -N2 -tu2 /dev/urandom)" 'BEGIN { printf "%.2f", 0.5 + (r % 150) / 100 }')"
    kill -9 "$CDC_PID"
    wait "$CDC_PID" 2>/dev/null
    kills=$((kills + 1))
    cdc_start $CDC_ARGS || { assert__fail "tvsync-cdc restarts after SIGKILL $kills"; break; }
done
assert_eq 4 "$kills" "tvsync-cdc was killed with SIGKILL 4 times during the load and restarted"
wait $loader
assert_eq 0 "$?" "the write load ran without errors"
assert_exit 0 "the last intents are applied" -- cdc_sync 120
assert_exit 0 "tv_* equals a full rebuild (verify)" -- cdc_verify
assert_eq "" "$(cdc_count_mismatch)" "sync_log counts every committed intent exactly once"
assert_eq 0 "$(sql "SELECT count(*) FROM tvsync.dead_letter")" "no intent was dead-lettered"
assert_not_contains "$(cat "$PGCLUSTER_DIR"/cdc.*.log)" "reading slot statistics failed" \
    "the slot's statistics are read on the standby"
slot_reserved() { cdc_metrics | grep -q '^tvsync_cdc_slot_wal_status{status="reserved"} 1'; }
assert_exit 0 "the slot's wal_status comes from the standby (/metrics)" -- wait_for 30 slot_reserved

# ---- tvsync-server on the primary: read your writes
server_start --set server.sync_wait_timeout_ms=20000 || { echo "not ok - tvsync-server did not start"; exit 1; }
for i in 1 2 3 4 5; do
    out=$(gql_query "mutation { createUser(username: \"standby$i\", email: \"standby$i@example.com\") { id username postCount } }")
    assert_eq "{\"username\":\"standby$i\",\"postCount\":0}" "$(jq -c '.data.createUser | del(.id)' <<<"$out")" \
        "mutation $i answers from tv_user once tvsync-cdc applied it"
    id=$(jq -r '.data.createUser.id' <<<"$out")
    assert_eq "{\"data\":{\"user\":{\"username\":\"standby$i\"}}}" "$(gql_query "{ user(id: \"$id\") { username } }")" \
        "the next query sees mutation $i"
done
assert_not_contains "$(cat "$SERVER_LOG")" "SYNC_TIMEOUT" "no wait timed out"
server_stop

# With the slot on the standby there is no slot row on the primary: tvsync-server takes the
# applied position from the newest applied batch when it (re)connects.
cdc_stop
assert_eq 0 "$CDC_STATUS" "SIGTERM exits 0"
server_start || { echo "not ok - tvsync-server did not start again"; exit 1; }
newest=$(sql "SELECT source_lsn FROM tvsync.sync_log ORDER BY id DESC LIMIT 1")
server_applied() { [ "$(curl -s "$SERVER_BASE/health" | jq -r .applied_lsn)" = "$newest" ]; }
assert_exit 0 "tvsync-server's applied position is the newest applied batch's ($newest)" -- wait_for 20 server_applied
server_stop

assert_exit 0 "rebuild finds the slot on the standby and asks on the primary" -- \
    "$SLOT" --database "$PRIMARY" rebuild user
pgcluster_standby_wait_replay
assert_exit 0 "peek reads the slot on the standby" -- "$SLOT" --database "$PRIMARY" peek --limit 50
assert_contains "$ASSERT_OUTPUT" '{"entity":"user","rebuild":true}' "peek shows the rebuild request, decoded there"

# ---- drop: the slot on the standby, the publication and the origin on the primary
assert_exit 0 "drop" -- "$SLOT" --database "$PRIMARY" drop
assert_eq 0 "$(standby_sql "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'tvsync'")" \
    "the standby's slot is dropped"
assert_eq 0 "$(sql "SELECT count(*) FROM pg_publication")" "the publication is dropped"
assert_eq 0 "$(sql "SELECT count(*) FROM pg_replication_origin")" "the origin is dropped"
test_summary
