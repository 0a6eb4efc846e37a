#!/bin/sh
# cdc_big: one source transaction publishing 1,000,000 ids is applied in local
# transactions of at most cdc.batch_max_ids ids, counted once, and the daemon's
# peak RSS (VmHWM) stays bounded by the batch size, not the transaction size.
. "$TVSYNC_SRCDIR/tests/integration/cdc_lib.sh"
set -u

cdc_setup
cdc_kill_on_exit
cdc_start || exit 1

hwm_kib() {
    awk '/^VmHWM:/ { print $2 }' "/proc/$CDC_PID/status"
}
before=$(hwm_kib)
# A million ids of comments that do not exist (the build returns nothing for them),
# plus two real ones, first and last, so the transaction's both ends are checked.
lsn=$(pgcluster_psql <<'SQL' | tail -n1
BEGIN;
UPDATE tb_comment SET content = 'first of a million' WHERE id = '30000000-0000-4000-8000-000000003000';
UPDATE tb_comment SET content = 'last of a million' WHERE id = '30000000-0000-4000-8000-000000003399';
INSERT INTO test_published VALUES ('comment', 1000000);
SELECT tvsync.publish('comment', array(
    SELECT ('30000000-0000-4000-8000-000000003000')::uuid
    UNION ALL SELECT ('00000000-0000-4000-a000-' || lpad(to_hex(g), 12, '0'))::uuid FROM generate_series(1, 999998) g
    UNION ALL SELECT ('30000000-0000-4000-8000-000000003399')::uuid));
COMMIT;
SQL
)
start=$(date +%s)
cdc_wait_lsn "$lsn" 240
assert_eq "0" "$?" "a 1,000,000-id transaction is applied"
echo "# applied in $(( $(date +%s) - start )) s"
after=$(hwm_kib)
echo "# VmHWM before: $before KiB, after: $after KiB"
assert_eq "t" "$([ "$after" -le 24576 ] && echo t || echo f)" "peak RSS stays under 24 MiB for 1,000,000 ids (VmHWM $after KiB)"
assert_eq "t" "$([ $((after - before)) -le 8192 ] && echo t || echo f)" "the transaction grows peak RSS by less than 8 MiB"
assert_eq "first of a million" "$(pgcluster_psql -c "SELECT data->>'content' FROM tv_comment WHERE id = '30000000-0000-4000-8000-000000003000'")" \
    "the first id of the transaction is applied"
assert_eq "last of a million" "$(pgcluster_psql -c "SELECT data->>'content' FROM tv_comment WHERE id = '30000000-0000-4000-8000-000000003399'")" \
    "the last id of the transaction is applied"
assert_eq "" "$(cdc_count_mismatch)" "the million intents are counted once, with the transaction's last batch"
assert_eq "1" "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.sync_log WHERE entity = 'comment' AND intents > 0")" \
    "one sync_log row carries the transaction's intents"
cdc_stop
assert_eq "0" "$CDC_STATUS" "SIGTERM exits 0"
test_summary
