#!/bin/sh
# make check: runs the Bearer token and key file fuzzer (fuzz_auth.c) on its regressions, then for a bounded time.
set -eu
: "${TVSYNC_SRCDIR:?run through make check}"
. "$TVSYNC_SRCDIR/tests/fuzz/fuzzlib.sh"
fuzz_run auth auth.dict
