#!/bin/sh
# cdc_crash: exactly once under faults. tvsync-cdc is killed with SIGKILL ten
# times at random moments during a mixed write load (with transactions larger
# than a batch) and restarted; then the server itself crashes (pg_ctl restart
# -m immediate) mid-stream. After each phase tv_* equals a full rebuild and
# sync_log counts every committed intent exactly once.
. "$TVSYNC_SRCDIR/tests/integration/cdc_lib.sh"
set -u

cdc_setup
cdc_kill_on_exit
cdc_write_scripts "$PGCLUSTER_DIR"
# Small batches, so a 150-id transaction is applied in several local transactions.
CDC_ARGS="--set cdc.batch_max_ids=100"
cdc_start $CDC_ARGS || exit 1

load() {
    "$PGCLUSTER_BINDIR/pgbench" -n -c 4 -j 2 -R 50 -T "$1" \
        -f "$PGCLUSTER_DIR/w_post.sql@10" -f "$PGCLUSTER_DIR/w_user.sql@4" \
        -f "$PGCLUSTER_DIR/w_comment.sql@6" -f "$PGCLUSTER_DIR/w_delete.sql@2" \
        -f "$PGCLUSTER_DIR/w_many.sql@1" >"$PGCLUSTER_DIR/pgbench.$2.log" 2>&1
}

# Phase 1: ten SIGKILLs at random moments under load.
load 20 kill &
loader=$!
kills=0
while [ $kills -lt 10 ]; do
    # A random moment: 0.2 to 1.4 s into this run (the point is not to wait for anything).
    sleep "$(awk -v r="$(od -An -N2 -tu2 /dev/urandom)" 'BEGIN { printf "%.2f", 0.2 + (r % 120) / 100 }')"
    kill -9 "$CDC_PID"
    wait "$CDC_PID" 2>/dev/null
    kills=$((kills + 1))
    cdc_start $CDC_ARGS || { assert__fail "tvsync-cdc restarts after SIGKILL $kills"; break; }
done
assert_eq "10" "$kills" "tvsync-cdc was killed with SIGKILL 10 times during the load and restarted"
wait $loader
assert_eq "0" "$?" "the write load ran without errors"
committed=$(pgcluster_psql -c "SELECT sum(n) FROM test_published")
echo "# committed intents during the kill phase: $committed"
cdc_sync 120
assert_exit 0 "after 10 SIGKILLs tv_* equals a full rebuild (verify)" -- cdc_verify
assert_eq "" "$(cdc_count_mismatch)" "sync_log counts every committed intent exactly once after 10 SIGKILLs"
assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.dead_letter")" "no intent was dead-lettered"

# Phase 2: the server crashes mid-stream; tvsync-cdc reconnects and resumes.
load 8 restart &
loader=$!
sleep 2
pgcluster_restart -m immediate
wait $loader   # clients lose their connections at the crash: that is expected
cdc_sync 120
assert_contains "$(cat "$CDC_LOG")" "reconnecting in" "the lost connection is logged with a reconnect line"
assert_exit 0 "after a server crash tv_* equals a full rebuild (verify)" -- cdc_verify
assert_eq "" "$(cdc_count_mismatch)" "sync_log counts every committed intent exactly once across the crash"
assert_contains "$(cdc_metrics)" "tvsync_cdc_reconnects_total" "reconnects are counted"

cdc_stop
assert_eq "0" "$CDC_STATUS" "SIGTERM exits 0"
test_summary
