#!/bin/sh
# cdc_pgoutput.sh: the core tvsync-cdc tests again with [slot] plugin = pgoutput
# (TVSYNC_TEST_PLUGIN, read by cdc_lib.sh and server_lib.sh): apply, crash and resume,
# registry changes read from row inserts, and read-your-writes through tvsync-server.
set -u
TVSYNC_TEST_PLUGIN=pgoutput
export TVSYNC_TEST_PLUGIN
status=0
for name in cdc_apply cdc_crash cdc_registry server_cdc; do
    echo "# $name.sh with pgoutput"
    if "$TVSYNC_SRCDIR/tests/integration/$name.sh"; then
        echo "ok - $name.sh with pgoutput"
    else
        echo "not ok - $name.sh with pgoutput"
        status=1
    fi
done
exit $status
