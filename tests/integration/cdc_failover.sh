#!/bin/bash
# cdc_failover.sh: failover without loss on PostgreSQL 17 (npm build, pgoutput): a primary, a
# standby that synchronizes the failover slot, tvsync-cdc and tvsync-server on a multi-host URL.
#   window: the standby has a source transaction but not tvsync-cdc's apply commit of it when the
#     primary dies; the slot must not have been confirmed past it, or the promoted standby's slot
#     starts after that transaction and its rebuild is lost.
#   load: mutations through tvsync-server while the primary dies and the standby is promoted;
#     afterwards verify exits 0 and sync_log counts every committed intent once.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

# Without an argument: each scenario in a shell of its own (the harness holds one cluster per
# shell and reads TVSYNC_PG_MAJOR when sourced).
if [ $# -eq 0 ]; then
    . "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
    pgcluster_need_npm_builds 17
    for scenario in ${CDC_FAILOVER_SCENARIOS:-window load}; do
        output=$(TVSYNC_PG_MAJOR=17 TVSYNC_TEST_PLUGIN=pgoutput bash "$0" "$scenario" 2>&1)
        status=$?
        sed "s/^/[$scenario] /" <<<"$output"
        assert_eq 0 "$status" "scenario $scenario: every check passes"
    done
    test_summary
fi

SCENARIO=$1
. "$TVSYNC_SRCDIR/tests/integration/cdc_lib.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"
export TVSYNC_SLOT_FAILOVER=on
sql() { pgcluster_psql -c "$1"; }
# expect_within SECONDS MESSAGE COMMAND...: an assertion that waits for COMMAND to succeed.
expect_within() {
    local timeout=$1 message=$2
    shift 2
    if wait_for "$timeout" "$@"; then assert_pass "$message"; else assert_fail "$message"; return 1; fi
}
standby_sql() { pgcluster_standby_psql -c "$1"; }
held_bytes() { cdc_metrics | awk '$1 == "tvsync_cdc_failover_held_bytes" { print $2 }'; }
held_is_zero() { [ "$(held_bytes)" = 0 ]; }

# ---- a primary, a standby synchronizing the failover slot, tvsync-cdc on both hosts
pgcluster_start || exit 1
cdc_migrate || { echo "migrations failed"; exit 1; }
cdc_install_oracle >/dev/null || exit 1
cdc_seed_more || exit 1
pgcluster_standby_start "sync_replication_slots = on" || exit 1
# tvsync's programs read TVSYNC_<SECTION>_<KEY> variables and refuse names that are no key.
cdc_create_slot || { echo "tvsync-slot create failed"; exit 1; }
sql "ALTER SYSTEM SET synchronized_standby_slots = '$PGCLUSTER_STANDBY_SLOT'" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
standby_slots_set() { [ "$(sql "SHOW synchronized_standby_slots")" = "$PGCLUSTER_STANDBY_SLOT" ]; }
wait_for 10 standby_slots_set || assert_fail "synchronized_standby_slots names the standby's slot"
PRIMARY_DATA=$(pgcluster_datadir)
export TVSYNC_DATABASE_URL="host=127.0.0.1,127.0.0.1 port=$PGPORT,$PGCLUSTER_STANDBY_PORT user=postgres dbname=$PGDATABASE target_session_attrs=read-write"
cdc_kill_on_exit
cdc_start || exit 1
assert_contains "$(cat "$CDC_LOG")" "a failover slot: its confirmed position waits for the standbys" \
    "tvsync-cdc says the slot is a failover slot"
cdc_sync 60 || assert_fail "tvsync-cdc applies on the primary"
# The guard holds the confirmed position only while the standbys lack the apply commits.
confirmed_past() {
    [ "$(sql "SELECT confirmed_flush_lsn >= '$1' FROM pg_replication_slots WHERE slot_name = 'tvsync'")" = t ]
}
marker=$(sql "SELECT tvsync.publish('user', ARRAY['10000000-0000-4000-8000-000000000001'::uuid])")
sql "INSERT INTO test_published VALUES ('user', 1)" >/dev/null
expect_within 30 "the slot's confirmed position advances while the standby keeps up" confirmed_past "$marker"
slot_synced() {
    [ "$(standby_sql "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'tvsync' AND synced AND NOT temporary")" = 1 ]
}
wait_for 120 slot_synced || { assert_fail "the slot is synchronized on the standby"; test_summary; }

# The primary dies; the standby becomes the primary; psql follows it.
promote() {
    pgcluster_standby_promote || { assert_fail "the standby is promoted"; test_summary; }
    export PGPORT=$PGCLUSTER_STANDBY_PORT
}
cdc_moved() { grep -q "connected to a different server: 127.0.0.1:$PGCLUSTER_STANDBY_PORT" "$CDC_LOG"; }

if [ "$SCENARIO" = window ]; then
    # A tvsync-cdc started while only a standby answers waits for a promotion: refused by libpq
    # (target_session_attrs=read-write), or seeing that the server is in recovery.
    probe_log="$PGCLUSTER_DIR/cdc-standby.log"
    for attrs in " target_session_attrs=read-write" ""; do
        "$CDC_BIN" --database "host=127.0.0.1 port=$PGCLUSTER_STANDBY_PORT user=postgres dbname=$PGDATABASE$attrs" \
            --metrics-listen 127.0.0.1:0 >"$probe_log" 2>&1 &
        probe=$!
        expected="port $PGCLUSTER_STANDBY_PORT failed: session is read-only"
        [ -n "$attrs" ] || expected="the server at 127.0.0.1:$PGCLUSTER_STANDBY_PORT is a standby (in recovery)"
        retried() { grep -q "(attempt 2): .*$expected" "$probe_log"; }
        expect_within 20 "tvsync-cdc on the standby alone${attrs:- without target_session_attrs} retries: $expected" retried ||
            sed 's/^/# /' "$probe_log"
        kill "$probe" 2>/dev/null
        wait "$probe" 2>/dev/null
    done
    USER_ID=10000000-0000-4000-8000-000000000101
    TV_USER=$(sql "SELECT tv_table FROM tvsync.entity WHERE name = 'user'")
    # The apply of the next intent waits for this lock: the standby gets the source
    # transaction (the walsender sends it only then: synchronized_standby_slots) meanwhile.
    PGAPPNAME=test_lock pgcluster_psql -c "BEGIN" -c "LOCK TABLE $TV_USER IN EXCLUSIVE MODE" \
        -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
    locker=$!
    lock_held() {
        [ "$(sql "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                  WHERE a.application_name = 'test_lock' AND l.relation = '$TV_USER'::regclass AND l.granted")" = 1 ]
    }
    wait_for 20 lock_held || assert_fail "the test holds a lock on $TV_USER"
    intent=$(pgcluster_psql <<SQL | tail -n1
BEGIN;
UPDATE tb_user SET full_name = 'renamed before the failover' WHERE id = '$USER_ID';
INSERT INTO test_published VALUES ('user', 1);
SELECT tvsync.publish('user', ARRAY['$USER_ID'::uuid]);
COMMIT;
SQL
)
    apply_waits() {
        [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tvsync-cdc' AND wait_event_type = 'Lock'")" -ge 1 ]
    }
    wait_for 30 apply_waits || assert_fail "tvsync-cdc received the intent and its apply waits for the lock"
    assert_eq t "$(standby_sql "SELECT pg_last_wal_receive_lsn() >= '$intent'")" \
        "the standby has the source transaction (synchronized_standby_slots)"
    # From here on the standby receives nothing: its walsender is stopped.
    walsender=$(sql "SELECT pid FROM pg_stat_replication WHERE application_name = 'tvsync_standby'")
    kill -STOP "$walsender" || assert_fail "the standby's walsender is stopped"
    pgcluster_on_exit "kill -KILL $walsender 2>/dev/null"
    sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'test_lock'" >/dev/null
    wait "$locker" 2>/dev/null
    cdc_wait_lsn "$intent" 30 || assert_fail "tvsync-cdc applied the intent on the primary"
    # tvsync-cdc confirms at its status interval (500 ms): wait for replies sent after the apply.
    after=$(sql "SELECT now() + interval '1.5 seconds'")
    replied() {
        [ "$(sql "SELECT reply_time > '$after' FROM pg_stat_replication WHERE application_name = 'tvsync-cdc'")" = t ]
    }
    wait_for 30 replied || assert_fail "tvsync-cdc sends status updates"
    confirmed=$(sql "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'tvsync'")
    assert_eq t "$(sql "SELECT '$confirmed'::pg_lsn < '$intent'")" \
        "the slot is not confirmed past the intent while the standby lacks its apply ($confirmed < $intent)"
    held=$(held_bytes)
    assert_eq yes "$(awk -v h="${held:-0}" 'BEGIN { print (h > 0) ? "yes" : "no" }')" \
        "tvsync_cdc_failover_held_bytes shows the WAL not confirmed yet (${held:-none})"
    # The standby's slot takes what the primary's has (when the standby has that WAL).
    synced_to() {
        [ "$(standby_sql "SELECT confirmed_flush_lsn = '$1' FROM pg_replication_slots WHERE slot_name = 'tvsync'")" = t ]
    }
    wait_for 90 synced_to "$confirmed" || echo "# the standby's slot did not reach $confirmed (it stays behind: no harm)"

    # The primary dies in immediate mode; its stopped walsender is killed after the postmaster
    # knows it is shutting down (a crash of a child alone would restart the server).
    kill -QUIT "$(head -n1 "$PRIMARY_DATA/postmaster.pid")"
    kill -KILL "$walsender"
    primary_gone() { [ ! -f "$PRIMARY_DATA/postmaster.pid" ]; }
    wait_for 30 primary_gone || assert_fail "the primary stopped"
    assert_eq f "$(standby_sql "SELECT coalesce(pg_replication_origin_progress('tvsync', false) >= '$intent', false)")" \
        "the standby never got the apply commit (the window is open)"
    refused() { grep -q "port $PGCLUSTER_STANDBY_PORT failed: session is read-only" "$CDC_LOG"; }
    expect_within 30 "while only the standby answers, it refuses tvsync-cdc (target_session_attrs=read-write)" refused
    assert_not_contains "$(cat "$CDC_LOG")" "on 127.0.0.1:$PGCLUSTER_STANDBY_PORT" "tvsync-cdc does not stream from the standby"
    promote
    expect_within 60 "tvsync-cdc says it connected to the promoted standby" cdc_moved
    cdc_sync 60 || assert_fail "tvsync-cdc applies on the new primary"
    # The new primary's synchronized_standby_slots is empty: nothing to wait for.
    marker=$(sql "SELECT tvsync.publish('user', ARRAY['10000000-0000-4000-8000-000000000001'::uuid])")
    sql "INSERT INTO test_published VALUES ('user', 1)" >/dev/null
    expect_within 30 "the slot's confirmed position advances on the new primary" confirmed_past "$marker"
    expect_within 30 "nothing is held back on the new primary (no standby to wait for)" held_is_zero
    assert_exit 0 "tv_* equals a full rebuild on the new primary (verify)" -- cdc_verify
    assert_eq "" "$(cdc_count_mismatch)" "sync_log counts each committed intent once"
    assert_contains "$(sql "SELECT data FROM $TV_USER WHERE id = '$USER_ID'")" "renamed before the failover" \
        "the intent whose apply was lost is applied on the new primary"
    cdc_stop
    assert_eq 0 "$CDC_STATUS" "tvsync-cdc stops cleanly"
    test_summary
fi

# ---- load: mutations through tvsync-server across the failover
pgcluster_on_exit server_lib_cleanup
server_start --set server.sync_wait_timeout_ms=5000 || { echo "tvsync-server did not start"; exit 1; }
POST=20000000-0000-4000-8000-000000000200
AUTHOR=10000000-0000-4000-8000-000000000100
# What one mutation adds to sync_log, per entity (a mutation may publish several intents).
logged() { sql "SELECT coalesce(sum(intents), 0) FROM tvsync.sync_log WHERE entity = '$1'"; }
published() { sql "SELECT coalesce(sum(n), 0) FROM test_published WHERE entity = '$1'"; }
ENTITIES=$(sql "SELECT string_agg(name, ' ' ORDER BY name) FROM tvsync.entity")
declare -A base per_mutation
cdc_sync 60
for e in $ENTITIES; do base[$e]=$(logged "$e"); done
out=$(gql_query "mutation { createComment(postId: \"$POST\", authorId: \"$AUTHOR\", content: \"calibration\") { id } }")
assert_contains "$out" '"createComment":{"id"' "a mutation before the failover"
cdc_sync 60
for e in $ENTITIES; do
    per_mutation[$e]=$(( $(logged "$e") - ${base[$e]} - $( [ "$e" = user ] && echo 1 || echo 0) ))
    base[$e]=$(logged "$e")
done
markers_before=$(published user)

# The load: one mutation after another, each recorded with its outcome and its end time.
LOAD_DIR=$(mktemp -d /tmp/tvsync-failover-load.XXXXXX)
(
    i=0
    while [ ! -f "$LOAD_DIR/stop" ]; do
        i=$((i + 1))
        body=$(jq -cn --arg q "mutation { createComment(postId: \"$POST\", authorId: \"$AUTHOR\", content: \"load $i\") { id } }" '{query: $q}')
        answer=$(curl -s --max-time 10 -H 'Content-Type: application/json' --data-binary "$body" "$SERVER_URL")
        if jq -e '.data.createComment.id' <<<"$answer" >/dev/null 2>&1; then
            echo "$i $(date +%s%N) ok" >>"$LOAD_DIR/outcomes"
        else
            echo "$i $(date +%s%N) error" >>"$LOAD_DIR/outcomes"
            sleep 0.1
        fi
    done
) &
loader=$!
pgcluster_on_exit "touch '$LOAD_DIR/stop'; kill $loader 2>/dev/null; rm -rf '$LOAD_DIR'"
oks_after() { awk -v t="$1" '$3 == "ok" && $2 > t' "$LOAD_DIR/outcomes" 2>/dev/null | wc -l; }
at_least_ok_after() { [ "$(oks_after "$2")" -ge "$1" ]; }
wait_for 60 at_least_ok_after 20 0 || assert_fail "mutations succeed before the failover"

pgcluster_primary_stop -m immediate || assert_fail "the primary stops (immediate)"
promote
promoted_at=$(date +%s%N)
wait_for 90 at_least_ok_after 20 "$promoted_at" || assert_fail "tvsync-server answers mutations after the promotion"
touch "$LOAD_DIR/stop"
wait "$loader"
expect_within 60 "tvsync-cdc says it connected to the promoted standby" cdc_moved
assert_contains "$(cat "$SERVER_LOG")" "connected to a different server: 127.0.0.1:$PGCLUSTER_STANDBY_PORT (was 127.0.0.1:" \
    "tvsync-server says it connected to the promoted standby"
cdc_sync 60 || assert_fail "tvsync-cdc catches up on the new primary"

assert_exit 0 "tv_* equals a full rebuild on the new primary (verify)" -- cdc_verify
committed=$(sql "SELECT count(*) FROM tb_comment WHERE content LIKE 'load %'")
markers=$(( $(published user) - markers_before ))
for e in $ENTITIES; do
    expected=$(( committed * ${per_mutation[$e]} ))
    [ "$e" != user ] || expected=$((expected + markers))
    assert_eq "$expected" "$(( $(logged "$e") - ${base[$e]} ))" \
        "sync_log's $e intents: each of the $committed committed mutations once"
done
echo "# $(grep -c ' ok$' "$LOAD_DIR/outcomes") mutations answered, $(grep -c ' error$' "$LOAD_DIR/outcomes") failed, $committed committed"
cdc_stop
assert_eq 0 "$CDC_STATUS" "tvsync-cdc stops cleanly"
test_summary
