#!/bin/sh
# make check: runs the HTTP request parser fuzzer (fuzz_http.c) on its regressions, then for a bounded time.
set -eu
: "${TVSYNC_SRCDIR:?run through make check}"
. "$TVSYNC_SRCDIR/tests/fuzz/fuzzlib.sh"
fuzz_run http http.dict
