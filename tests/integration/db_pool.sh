#!/bin/bash
# db_pool.sh: runs tests/unit/test_db_pool (server/db_pool: order of statements that run
# again, statements in flight on a lost connection, the URL's settings) against a
# throwaway PostgreSQL 15.
set -u
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"

pgcluster_start || exit 1
"$TVSYNC_BUILDDIR/tests/unit/test_db_pool"
