#!/bin/sh
# cdc_misc_lost: tvsync-cdc notices the loss of its misc connection (heartbeats, slot
# statistics), which is idle between heartbeats, and reconnects at
# once instead of logging failed sends until someone restarts it.
. "$TVSYNC_SRCDIR/tests/integration/cdc_lib.sh"
set -u

cdc_setup
cdc_kill_on_exit
# Heartbeats far apart: the misc connection is idle when its backend goes away, so only
# the driver's lost callback can notice it soon.
cdc_start --set cdc.heartbeat_interval=1h || exit 1

misc_backend() {
    pgcluster_psql -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'tvsync-cdc misc'"
}
first=$(misc_backend)
case "$first" in
[0-9]*) assert_pass "tvsync-cdc has a misc connection" ;;
*) assert_fail "tvsync-cdc has a misc connection" "got: $first"; test_summary; exit 1 ;;
esac
pgcluster_psql -c "SELECT pg_terminate_backend($first)" >/dev/null

reconnected() {
    grep -q "reconnecting in" "$CDC_LOG" && [ "$(grep -c "streaming slot" "$CDC_LOG")" -ge 2 ]
}
assert_exit 0 "the idle misc connection's loss starts a reconnect, and streaming resumes" -- wait_for 20 reconnected
second=$(misc_backend)
case "$second" in
[0-9]*) [ "$second" != "$first" ] && assert_pass "a new misc connection is up, on another backend" ||
    assert_fail "a new misc connection is up, on another backend" "before: $first" "after: $second" ;;
*) assert_fail "a new misc connection is up, on another backend" "got: $second" ;;
esac
reconnects=$(cdc_metrics | awk '$1 == "tvsync_cdc_reconnects_total" { print $2 + 0 }')
assert_eq "1" "$reconnects" "the reconnect is counted"
assert_exit 0 "intents are applied after the reconnect" -- cdc_sync 30
assert_exit 0 "tv_* equals a full rebuild (verify)" -- cdc_verify

cdc_stop
assert_eq "0" "$CDC_STATUS" "SIGTERM exits 0"
test_summary
