#!/bin/sh
# make check: runs the tvsync-cdc registry and watch path fuzzer (fuzz_registry.c) on its regressions, then for a bounded time.
set -eu
: "${TVSYNC_SRCDIR:?run through make check}"
. "$TVSYNC_SRCDIR/tests/fuzz/fuzzlib.sh"
fuzz_run registry json.dict
