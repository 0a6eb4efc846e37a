#!/bin/sh
# make check: runs the tvsync-cdc pgoutput decoder fuzzer (fuzz_pgoutput.c) on its regressions, then for a bounded time.
set -eu
: "${TVSYNC_SRCDIR:?run through make check}"
. "$TVSYNC_SRCDIR/tests/fuzz/fuzzlib.sh"
fuzz_run pgoutput pgoutput.dict
