#!/bin/bash
# pg_pipeline.sh: runs tests/unit/test_pg_pipeline (common/pg_pipeline: sync points shared
# or not, prepared statements, lost connections) against a throwaway PostgreSQL 15.
set -u
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"

pgcluster_start || exit 1
"$TVSYNC_BUILDDIR/tests/unit/test_pg_pipeline"
