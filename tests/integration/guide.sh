#!/bin/bash
# guide.sh: docs/your-own-domain.md works as written. Its ```sql blocks, in order, are one
# migration of a set of its own and its ```graphql block the server's schema; with the
# real tvsync-migrate, tvsync-slot, tvsync-cdc and tvsync-server (no blog anywhere) a
# client creates and updates tasks, reads its writes with exact ids and money, and the
# cascades keep the projects right; verify agrees.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"

GUIDE="$TVSYNC_SRCDIR/docs/your-own-domain.md"
WORK=$(mktemp -d /tmp/tvsync-guide.XXXXXX)
mkdir -p "$WORK/tracker"
# fenced_blocks LANG: the guide's ```LANG blocks, in order.
fenced_blocks() {
    awk -v lang="$1" '$0 == "```" lang { inside = 1; next } inside && $0 == "```" { inside = 0; print ""; next } inside' "$GUIDE"
}
fenced_blocks sql >"$WORK/tracker/001_tracker.sql"
fenced_blocks graphql >"$WORK/tracker/schema.graphql"
[ -s "$WORK/tracker/001_tracker.sql" ] && [ -s "$WORK/tracker/schema.graphql" ] ||
    { echo "the guide has no sql or graphql blocks"; exit 1; }

pgcluster_start || { echo "starting PostgreSQL failed"; exit 1; }
pgcluster_on_exit server_lib_cleanup
pgcluster_on_exit '[ -n "${CDC_PID:-}" ] && kill "$CDC_PID" 2>/dev/null && wait "$CDC_PID" 2>/dev/null; rm -rf "$WORK"'
migrate() {
    "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$TVSYNC_DATABASE_URL" "$@"
}

assert_exit 0 "the guide's migration applies after the engine's set" -- migrate --dir "$WORK/tracker" up
assert_contains "$ASSERT_OUTPUT" "applied 001_tracker.sql (set tracker)" "as the set named after its folder"
assert_eq "" "$(pgcluster_psql -c "SELECT to_regclass('public.tb_post')")" "no blog table is installed"
assert_eq "project integer|task bigint" \
    "$(pgcluster_psql -c "SELECT string_agg(name || ' ' || key_type::text, '|' ORDER BY name) FROM tvsync.entity")" \
    "the registry has the guide's two entities and their key types"
pgcluster_psql -c "INSERT INTO tracker.tb_project (name) VALUES ('Launch'), ('Docs')" >/dev/null
"$TVSYNC_BUILDDIR/slot/tvsync-slot" --database "$TVSYNC_DATABASE_URL" create >/dev/null 2>&1 ||
    { echo "slot create failed"; exit 1; }
CDC_LOG="$WORK/cdc.log"
"$TVSYNC_BUILDDIR/cdc/tvsync-cdc" --database "$TVSYNC_DATABASE_URL" --metrics-listen 127.0.0.1:0 >"$CDC_LOG" 2>&1 &
CDC_PID=$!
SERVER_SCHEMA="$WORK/tracker/schema.graphql"
server_start --set server.sync_wait_timeout_ms=10000 || { echo "server did not start on the guide's schema"; exit 1; }

out=$(gql_query 'mutation { createTask(projectId: 1, title: "Write the guide", estimate: "24.50") {
    id title estimate done project { id name } } }' | without_token)
assert_eq '{"data":{"createTask":{"id":"9007199254740993","title":"Write the guide","estimate":24.50,"done":false,"project":{"id":"1","name":"Launch"}}}}' \
    "$out" "createTask reads its own write: a bigint id above 2^53 and 24.50 exact"
gql_query 'mutation { createTask(projectId: 1, title: "Test it", estimate: 3) { id } }' >/dev/null
out=$(gql_query '{ project(id: 1) { name openEstimate tasks { id title done } } }')
assert_eq '{"data":{"project":{"name":"Launch","openEstimate":27.50,"tasks":[{"id":"9007199254740993","title":"Write the guide","done":false},{"id":"9007199254740994","title":"Test it","done":false}]}}}' \
    "$out" "the project embeds its tasks and sums their estimates (cascade task -> project)"

out=$(gql_query 'mutation { updateTask(id: "9007199254740993", done: true) { done project { name } } }' | without_token)
assert_eq '{"data":{"updateTask":{"done":true,"project":{"name":"Launch"}}}}' "$out" "updateTask"
out=$(gql_query '{ project(id: 1) { openEstimate tasks { done } } }')
assert_eq '{"data":{"project":{"openEstimate":3.00,"tasks":[{"done":true},{"done":false}]}}}' "$out" \
    "the project's open estimate follows at once"
out=$(gql_query '{ tasks(where: {project: {id: {eq: "1"}}, done: {eq: false}}, orderBy: [{field: title}]) { title } }')
assert_eq '{"data":{"tasks":[{"title":"Test it"}]}}' "$out" "the list filter on a nested key and a Boolean"

out=$(gql_query 'mutation { createTask(projectId: 99, title: "Lost") { id } }' | without_token)
assert_eq 'VALIDATION_FAILED|projectId 99: no such project' \
    "$(jq -r '.errors[0] | .extensions.code + "|" + .message' <<<"$out")" "a missing project is a validation error"
out=$(gql_query 'mutation { updateTask(id: "12x", done: true) { id } }' | without_token)
assert_contains "$out" "not a valid" "a task id that is no bigint is refused"
out=$(gql_query 'mutation { updateTask(id: "5", done: true) { id } }' | without_token)
assert_eq 'NOT_FOUND|no task with id 5' "$(jq -r '.errors[0] | .extensions.code + "|" + .message' <<<"$out")" \
    "updating a task that does not exist: NOT_FOUND"

# A rename outside any mutation, published by hand: the tasks follow (cascade project -> task).
pgcluster_psql -c "BEGIN; UPDATE tracker.tb_project SET name = 'Launch v2' WHERE id = 1;
                   SELECT tvsync.publish('project', ARRAY[1]); COMMIT" >/dev/null
task_renamed() {
    [ "$(gql_query '{ task(id: "9007199254740994") { project { name } } }')" = '{"data":{"task":{"project":{"name":"Launch v2"}}}}' ]
}
wait_for 20 task_renamed
assert_eq '{"data":{"task":{"project":{"name":"Launch v2"}}}}' "$(gql_query '{ task(id: "9007199254740994") { project { name } } }')" \
    "a project's rename reaches its tasks"
assert_eq 0 "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.dead_letter")" "no dead letter"
assert_exit 0 "the read models equal a full rebuild" -- migrate verify

test_summary
