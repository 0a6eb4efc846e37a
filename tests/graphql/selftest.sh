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
assert_contains "$out" "12 passed, 0 failed" "closing line counts every sampled case"

for fault in message location accept order introspection print; do
	out=$(GQL_FAKE_BREAK=$fault runner --only "$sample" 2>&1) && status=0 || status=$?
	assert_eq 1 "$status" "an engine that gets '$fault' wrong fails the test"
	assert_contains "$out" "FAIL " "a '$fault' difference names the failing case"
done

out=$(GQL_FAKE_BREAK=location runner --only '^test/rule-overlapping-nested$' 2>&1) || true
assert_contains "$out" "only engine:" "an error difference shows the engine's error"
assert_contains "$out" "only graphql-js:" "an error difference shows graphql-js's error"
out=$(GQL_FAKE_BREAK=order runner --only '^test/merge-fragment-order$' 2>&1) || true
assert_contains "$out" "key order differs" "a field order difference is reported as such"

out=$(node "$GRAPHQL_NODE_DIR/differential.mjs" --tool /nonexistent/gql-tool 2>&1) && status=0 || status=$?
assert_eq 1 "$status" "a missing gql-tool fails, never skips"

out=$(cd "$TVSYNC_SRCDIR/tests/graphql" && node "$GRAPHQL_NODE_DIR/gen-corpus.mjs" --check 2>&1) && status=0 || status=$?
assert_eq 0 "$status" "corpus/ is what gen-corpus.mjs writes, and every case does what it says: $out"

test_summary
