#!/bin/sh
# make check: runs the schema_derive fuzzer (fuzz_schema_derive.c) on its regressions, then for a bounded time.
set -eu
: "${TVSYNC_SRCDIR:?run through make check}"
. "$TVSYNC_SRCDIR/tests/fuzz/fuzzlib.sh"
fuzz_run schema_derive
