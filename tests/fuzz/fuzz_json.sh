#!/bin/sh
# make check: runs the document/body JSON reader fuzzer (fuzz_json.c) on its regressions, then for a bounded time.
set -eu
: "${TVSYNC_SRCDIR:?run through make check}"
. "$TVSYNC_SRCDIR/tests/fuzz/fuzzlib.sh"
fuzz_run json json.dict
