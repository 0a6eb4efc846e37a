#!/bin/bash
# cdc_pg_async.sh: runs tests/unit/test_cdc_pg_async (cdc/pg_async's pipeline, sync
# points shared or not) against a throwaway PostgreSQL 15.
set -u
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"

pgcluster_start || exit 1
"$TVSYNC_BUILDDIR/tests/unit/test_cdc_pg_async"
