#!/bin/sh
# make check: runs the validate fuzzer (fuzz_validate.c) on its regressions and the large inputs of
# tests/fuzz/slow_inputs (each within its time budget), then for a bounded time.
set -eu
: "${TVSYNC_SRCDIR:?run through make check}"
. "$TVSYNC_SRCDIR/tests/fuzz/fuzzlib.sh"
fuzz_run validate graphql.dict slow_inputs
