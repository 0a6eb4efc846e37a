#!/bin/sh
# Tests the differential runner itself: against a graphql-js stand-in (fake-gql-tool.mjs)
# a sample of the corpus must pass, and each injected kind of difference must fail.
set -eu
: "${TVSYNC_SRCDIR:?run through make check}"
: "${TVSYNC_BUILDDIR:?run through make check}"
. "$TVSYNC_SRCDIR/tests/graphql/node-env.sh"
graphql_node_env || exit 1
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

runner() {
	node "$GRAPHQL_NODE_DIR/differential.mjs" --tool "$GRAPHQL_NODE_DIR/fake-gql-tool.mjs" "$@"
}
# One case per family keeps this quick: every case costs two node start-ups.
sample='^test/(schema:|kitchen-sink$|rule-overlapping-nested$|rule-values-printed-values$|string-printed-in-error$|variables-input-object-nested-error-path$|nulls-non-null-nested$|merge-fragment-order$|operation-ambiguous$)'

out=$(runner --only "$sample" 2>&1) && status=0 || status=$?
assert_eq 0 "$status" "the runner passes graphql-js against itself"
assert_contains "$out" "11 passed, 0 failed" "closing line counts every sampled case (8 cases, 3 schema checks)"

# Each injected fault, on a case that shows it (two node start-ups per case).
check_fault() {
	fault=$1 only=$2 needle=$3
	out=$(GQL_FAKE_BREAK=$fault runner --only "$only" 2>&1) && status=0 || status=$?
	assert_eq 1 "$status" "an engine that gets '$fault' wrong fails the test"
	assert_contains "$out" "$needle" "the '$fault' difference is reported as '$needle'"
}
check_fault message '^test/rule-overlapping-nested$' "only engine:"
check_fault message '^test/rule-overlapping-nested$' "only graphql-js:"
check_fault location '^test/string-printed-in-error$' '"column":'
check_fault accept '^test/rule-values-printed-values$' "graphql-js rejects the document, engine accepts it"
check_fault order '^test/merge-fragment-order$' "key order differs"
check_fault introspection '^test/schema:' "FAIL test/schema:introspection"
check_fault print '^test/schema:print' "FAIL test/schema:print-schema"

out=$(node "$GRAPHQL_NODE_DIR/differential.mjs" --tool /nonexistent/gql-tool 2>&1) && status=0 || status=$?
assert_eq 1 "$status" "a missing gql-tool fails, never skips"

out=$(cd "$TVSYNC_SRCDIR/tests/graphql" && node "$GRAPHQL_NODE_DIR/gen-corpus.mjs" --check 2>&1) && status=0 || status=$?
assert_eq 0 "$status" "corpus/ is what gen-corpus.mjs writes, and every case does what it says: $out"

test_summary
