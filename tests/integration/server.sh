#!/bin/bash
# server.sh: tvsync-server over real HTTP against a throwaway PostgreSQL (TVSYNC_PG_MAJOR): every blog
# query and mutation, read your writes, statuses, injection attempts, HTTP edge cases,
# a dropped database, schema reload and draining on SIGTERM.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"

server_database_start
sql() { pgcluster_psql -c "$1"; }
applier_install
applier_start

ALICE=10000000-0000-4000-8000-000000000001
BOB=10000000-0000-4000-8000-000000000002
CHARLIE=10000000-0000-4000-8000-000000000003
POST1=20000000-0000-4000-8000-000000000001
DRAFT=20000000-0000-4000-8000-000000000003
COMMENT1=30000000-0000-4000-8000-000000000001

# No production default: without a schema the server says how to give one, and exits 3.
assert_exit 3 "tvsync-server without a schema is a configuration error" -- \
    env -u TVSYNC_SERVER_SCHEMA "$SERVER_BIN" --config /dev/null --database "$TVSYNC_DATABASE_URL" --listen 127.0.0.1:0
assert_contains "$ASSERT_OUTPUT" "--set server.schema=FILE" "the error says how to give a schema"
assert_contains "$ASSERT_OUTPUT" "examples/blog/schema.graphql" "the error points at the blog's schema as an example"
assert_eq 1 "$(printf '%s\n' "$ASSERT_OUTPUT" | wc -l)" "the missing schema is one line"

SCHEMA_COPY=$(mktemp /tmp/tvsync-schema.XXXXXX)
cp "$SERVER_SCHEMA" "$SCHEMA_COPY"
pgcluster_on_exit 'rm -f "$SCHEMA_COPY"'
server_start --log-level debug --schema "$SCHEMA_COPY" --set server.threads=2 --set server.pool_size=2 \
    --set server.max_limit=50 --set server.sync_wait_timeout_ms=3000 --set server.max_body_bytes=1MB \
    || { echo "server did not start"; exit 1; }

# ---------------------------------------------------------------- queries
out=$(gql_query '{ users(orderBy: [{field: username}]) { username postCount commentCount } }')
assert_eq '{"data":{"users":[{"username":"alice","postCount":2,"commentCount":1},{"username":"bob","postCount":1,"commentCount":1},{"username":"charlie","postCount":0,"commentCount":2}]}}' \
    "$out" "users lists every user in order, fields in selection order"
out=$(gql_query "{ user(id: \"$BOB\") { email fullName } nobody: user(id: \"$POST1\") { id } }")
assert_eq '{"data":{"user":{"email":"bob@example.com","fullName":"Bob Brown"},"nobody":null}}' "$out" \
    "user by id; an unknown id is null"
out=$(gql_query '{ posts { title } }')
assert_eq '{"data":{"posts":[{"title":"Logical decoding in practice"},{"title":"Getting started with CQRS"}]}}' \
    "$out" "posts: published only, newest first by default"
out=$(gql_query '{ posts(publishedOnly: false, orderBy: [{field: createdAt, direction: ASC}], limit: 1, offset: 2) { title published } }')
assert_eq '{"data":{"posts":[{"title":"Draft: GraphQL without N+1","published":false}]}}' "$out" \
    "posts: drafts with publishedOnly false, orderBy, limit and offset"
out=$(gql_query "{ post(id: \"$POST1\") { title author { username } comments { content author { username } } commentCount } }")
assert_eq '{"data":{"post":{"title":"Getting started with CQRS","author":{"username":"alice"},"comments":[{"content":"Great introduction!","author":{"username":"bob"}},{"content":"How does it handle deletes?","author":{"username":"charlie"}},{"content":"Deletes are synced too.","author":{"username":"alice"}}],"commentCount":3}}}' \
    "$out" "post by id with its author and comments (one statement, nested documents)"
out=$(gql_query "{ comment(id: \"$COMMENT1\") { content post { title } author { username } } }")
assert_eq '{"data":{"comment":{"content":"Great introduction!","post":{"title":"Getting started with CQRS"},"author":{"username":"bob"}}}}' \
    "$out" "comment by id"
out=$(gql_query "{ comments(where: {post: {id: {eq: \"$POST1\"}}}) { content } }")
assert_eq '{"data":{"comments":[{"content":"Great introduction!"},{"content":"How does it handle deletes?"},{"content":"Deletes are synced too."}]}}' \
    "$out" "comments filtered on a nested document field, oldest first"
out=$(gql_query '{ syncMetrics(entityType: "post") { entityType totalSyncs24h failures24h } }')
assert_eq '{"data":{"syncMetrics":{"entityType":"post","totalSyncs24h":0,"failures24h":0}}}' "$out" \
    "syncMetrics from tvsync.sync_log"

# Concurrent reads: more requests than connections (pool_size 2 per worker), so queued
# reads go out together in one pipeline; every answer must still be its own.
W=$(mktemp -d /tmp/tvsync-concurrent.XXXXXX)
pids=
for i in $(seq 1 60); do
    case $((i % 3)) in
    0) id=$ALICE ;; 1) id=$BOB ;; 2) id=$CHARLIE ;;
    esac
    gql_query "{ user(id: \"$id\") { id username } }" >"$W/$i.out" &
    pids="$pids $!"
done
wait $pids
wrong=0
for i in $(seq 1 60); do
    case $((i % 3)) in
    0) expected="{\"data\":{\"user\":{\"id\":\"$ALICE\",\"username\":\"alice\"}}}" ;;
    1) expected="{\"data\":{\"user\":{\"id\":\"$BOB\",\"username\":\"bob\"}}}" ;;
    2) expected="{\"data\":{\"user\":{\"id\":\"$CHARLIE\",\"username\":\"charlie\"}}}" ;;
    esac
    [ "$(cat "$W/$i.out")" = "$expected" ] || wrong=$((wrong + 1))
done
rm -rf "$W"
assert_eq 0 "$wrong" "60 concurrent reads over 4 connections each get their own answer"
# One request with eight root fields: eight statements queue for two connections and
# go out in pipelines; the answer keeps every field in selection order.
out=$(gql_query "{ a: user(id: \"$ALICE\") { username } b: user(id: \"$BOB\") { username } c: user(id: \"$CHARLIE\") { username } d: post(id: \"$POST1\") { title } e: user(id: \"$BOB\") { username } f: comment(id: \"$COMMENT1\") { content } g: user(id: \"$POST1\") { username } h: user(id: \"$ALICE\") { email } }")
assert_eq '{"data":{"a":{"username":"alice"},"b":{"username":"bob"},"c":{"username":"charlie"},"d":{"title":"Getting started with CQRS"},"e":{"username":"bob"},"f":{"content":"Great introduction!"},"g":null,"h":{"email":"alice@example.com"}}}' \
    "$out" "eight root fields, pipelined on two connections, each in its place"
assert_contains "$(cat "$SERVER_LOG")" "reads in one pipeline" "queued reads went out in one pipeline (server log, debug level)"

# ---------------------------------------------------------------- filters
names() { jq -c '[.data.users[].username]' <<<"$1"; }
f() { names "$(gql_query "{ users(where: $1, orderBy: [{field: username}]) { username } }")"; }
assert_eq '["bob"]' "$(f '{username: {eq: "bob"}}')" "where eq"
assert_eq '["alice","charlie"]' "$(f '{username: {neq: "bob"}}')" "where neq"
assert_eq '["alice"]' "$(f '{postCount: {gt: 1}}')" "where gt on an Int"
assert_eq '["alice","bob"]' "$(f '{postCount: {gte: 1}}')" "where gte"
assert_eq '["charlie"]' "$(f '{postCount: {lt: 1}}')" "where lt"
assert_eq '["bob","charlie"]' "$(f '{postCount: {lte: 1}}')" "where lte"
assert_eq '["alice","charlie"]' "$(f '{username: {in: ["alice", "charlie", "zoe"]}}')" "where in"
assert_eq '["bob"]' "$(f '{username: {nin: ["alice", "charlie"]}}')" "where nin"
assert_eq '["charlie"]' "$(f '{email: {contains: "arli"}}')" "where contains"
assert_eq '["alice"]' "$(f '{fullName: {startsWith: "Alice"}}')" "where startsWith"
assert_eq '[]' "$(f '{fullName: {isNull: true}}')" "where isNull true"
assert_eq '["alice","bob","charlie"]' "$(f '{fullName: {isNull: false}}')" "where isNull false"
assert_eq '["alice","bob"]' "$(f '{OR: [{username: {eq: "alice"}}, {username: {eq: "bob"}}]}')" "where OR"
assert_eq '["alice"]' "$(f '{AND: [{postCount: {gte: 1}}, {commentCount: {gte: 1}}], NOT: {username: {eq: "bob"}}}')" \
    "where AND and NOT"
assert_eq '["bob"]' "$(f '{createdAt: {gt: "2024-01-01T12:00:00Z"}, username: {startsWith: "b"}}')" "where on a DateTime"
out=$(gql_query '{ users(limit: 100000) { id } }')
assert_eq 3 "$(jq '.data.users | length' <<<"$out")" "a large limit is accepted and capped"
out=$(gql_query '{ users(limit: 1) { id } }')
assert_eq 1 "$(jq '.data.users | length' <<<"$out")" "limit 1"
out=$(gql_query '{ users(limit: -1) { id } }')
assert_eq "VALIDATION_FAILED" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "a negative limit is refused"

# ---------------------------------------------------------------- mutations, read your writes
out=$(gql_query 'mutation { createUser(username: "dave", email: "dave@example.com", fullName: "Dave Doe") { id username fullName postCount } }')
DAVE=$(jq -r '.data.createUser.id' <<<"$out")
assert_eq '{"username":"dave","fullName":"Dave Doe","postCount":0}' "$(jq -c '.data.createUser | del(.id)' <<<"$out")" \
    "createUser answers with the user read from tv_user"
out=$(gql_query "{ user(id: \"$DAVE\") { username } }")
assert_eq '{"data":{"user":{"username":"dave"}}}' "$out" "a query right after the mutation sees it"
out=$(gql_query "mutation { updateUser(id: \"$DAVE\", username: \"david\", bio: \"hi\") { username bio } }")
assert_eq '{"data":{"updateUser":{"username":"david","bio":"hi"}}}' "$(without_token <<<"$out")" "updateUser"
out=$(gql_query "mutation(\$a: ID!) { createPost(authorId: \$a, title: \"Hello\", content: \"World\") { id title published author { username } } }" \
    "{\"a\":\"$DAVE\"}")
POST=$(jq -r '.data.createPost.id' <<<"$out")
assert_eq '{"title":"Hello","published":false,"author":{"username":"david"}}' "$(jq -c '.data.createPost | del(.id)' <<<"$out")" \
    "createPost with variables"
out=$(gql_query "{ user(id: \"$DAVE\") { postCount publishedPostCount } }")
assert_eq '{"data":{"user":{"postCount":1,"publishedPostCount":0}}}' "$out" "the author's counts follow the post"
out=$(gql_query "mutation { updatePost(id: \"$POST\", title: \"Hello again\") { title } }")
assert_eq '{"data":{"updatePost":{"title":"Hello again"}}}' "$(without_token <<<"$out")" "updatePost"
out=$(gql_query "mutation { publishPost(id: \"$POST\") { published } }")
assert_eq '{"data":{"publishPost":{"published":true}}}' "$(without_token <<<"$out")" "publishPost"
out=$(gql_query "{ user(id: \"$DAVE\") { publishedPostCount } }")
assert_eq '{"data":{"user":{"publishedPostCount":1}}}' "$out" "publishing updates the author at once"
out=$(gql_query "mutation { createComment(postId: \"$POST\", authorId: \"$BOB\", content: \"Nice\") { id content post { title } author { username } } }")
COMMENT=$(jq -r '.data.createComment.id' <<<"$out")
assert_eq '{"content":"Nice","post":{"title":"Hello again"},"author":{"username":"bob"}}' \
    "$(jq -c '.data.createComment | del(.id)' <<<"$out")" "createComment"
out=$(gql_query "{ post(id: \"$POST\") { commentCount comments { content } } }")
assert_eq '{"data":{"post":{"commentCount":1,"comments":[{"content":"Nice"}]}}}' "$out" \
    "read your writes: the post shows the new comment right away"
out=$(gql_query "mutation { updateComment(id: \"$COMMENT\", content: \"Very nice\") { content } }")
assert_eq '{"data":{"updateComment":{"content":"Very nice"}}}' "$(without_token <<<"$out")" "updateComment"
out=$(gql_query "mutation { deleteComment(id: \"$COMMENT\") }")
assert_eq "{\"data\":{\"deleteComment\":\"$COMMENT\"}}" "$(without_token <<<"$out")" "deleteComment answers with the id"
out=$(gql_query "{ comment(id: \"$COMMENT\") { id } post(id: \"$POST\") { commentCount } }")
assert_eq '{"data":{"comment":null,"post":{"commentCount":0}}}' "$out" "a deleted comment is gone from tv_comment and its post"
gql_query "mutation { createComment(postId: \"$POST\", authorId: \"$ALICE\", content: \"x\") { id } }" >/dev/null
out=$(gql_query "mutation { deletePost(id: \"$POST\") }")
assert_eq "{\"data\":{\"deletePost\":\"$POST\"}}" "$(without_token <<<"$out")" "deletePost"
assert_eq 0 "$(sql "SELECT count(*) FROM tv_comment WHERE data->>'postId' = '$POST'")" "deletePost removes its comments' documents"
out=$(gql_query "mutation { deleteUser(id: \"$DAVE\") }")
assert_eq "{\"data\":{\"deleteUser\":\"$DAVE\"}}" "$(without_token <<<"$out")" "deleteUser"
assert_eq 0 "$(sql "SELECT count(*) FROM tv_user WHERE id = '$DAVE'")" "deleteUser removes tv_user's row"
out=$(gql_query 'mutation { a: createUser(username: "m1", email: "m1@x.io") { username } b: createUser(username: "m1", email: "m2@x.io") { username } }')
assert_eq '{"a":{"username":"m1"},"b":null}' "$(jq -c '.data' <<<"$out")" "mutation fields run in order"
assert_eq '["b"]' "$(jq -c '.errors[0].path' <<<"$out")" "the second one's error names its path"

# ---------------------------------------------------------------- statuses write and publish nothing
# The intents (tvsync messages) a probe slot sees: wal2json, or test_decoding on the npm builds.
if pgcluster_has_plugin wal2json; then
    sql "SELECT pg_create_logical_replication_slot('server_test_probe', 'wal2json')" >/dev/null
    PROBE_INTENTS="SELECT count(*) FROM pg_logical_slot_peek_changes('server_test_probe', NULL, NULL, 'format-version', '2', 'actions', '', 'add-msg-prefixes', 'tvsync') WHERE data::jsonb->>'action' = 'M'"
else
    sql "SELECT pg_create_logical_replication_slot('server_test_probe', 'test_decoding')" >/dev/null
    PROBE_INTENTS="SELECT count(*) FROM pg_logical_slot_peek_changes('server_test_probe', NULL, NULL) WHERE data LIKE 'message: transactional: _ prefix: tvsync, %'"
fi
before=$(sql "SELECT (SELECT count(*) FROM tb_user) + (SELECT count(*) FROM tb_post) + (SELECT count(*) FROM tb_comment)")
code() { jq -r '.errors[0].extensions.code + ": " + .errors[0].message' <<<"$1"; }
out=$(gql_query 'mutation { createUser(username: "alice", email: "new@x.io") { id } }')
assert_eq "CONFLICT: username 'alice' is already taken" "$(code "$out")" "duplicate username: CONFLICT"
out=$(gql_query 'mutation { createPost(authorId: "not-a-uuid", title: "t", content: "c") { id } }')
assert_eq "VALIDATION_FAILED: authorId not-a-uuid is not a valid UUID" "$(code "$out")" "malformed uuid: VALIDATION_FAILED"
out=$(gql_query "mutation { createPost(authorId: \"$POST1\", title: \"t\", content: \"c\") { id } }")
assert_eq "VALIDATION_FAILED: authorId $POST1: no such user" "$(code "$out")" "unknown author: VALIDATION_FAILED"
out=$(gql_query "mutation { createPost(authorId: \"$ALICE\", title: \"  \", content: \"c\") { id } }")
assert_eq "VALIDATION_FAILED: title must not be empty" "$(code "$out")" "empty title: VALIDATION_FAILED"
out=$(gql_query "mutation { updatePost(id: \"$ALICE\", title: \"x\") { id } }")
assert_eq "NOT_FOUND: no post with id $ALICE" "$(code "$out")" "unknown post: NOT_FOUND"
out=$(gql_query "mutation { deleteComment(id: \"$ALICE\") }")
assert_eq "NOT_FOUND: no comment with id $ALICE" "$(code "$out")" "unknown comment: NOT_FOUND"
after=$(sql "SELECT (SELECT count(*) FROM tb_user) + (SELECT count(*) FROM tb_post) + (SELECT count(*) FROM tb_comment)")
assert_eq "$before" "$after" "failed mutations wrote no row"
assert_eq 0 "$(sql "$PROBE_INTENTS")" \
    "failed mutations published no intent"
gql_query "mutation { updateUser(id: \"$ALICE\", bio: \"probe\") { id } }" >/dev/null
assert_eq 1 "$(sql "$PROBE_INTENTS")" \
    "a successful mutation publishes its intent (the probe slot sees it)"
sql "SELECT pg_drop_replication_slot('server_test_probe')" >/dev/null

# ---------------------------------------------------------------- injection attempts
HOSTILE="x'); DROP TABLE tb_post; --"
out=$(gql_query 'query($s: String!) { users(where: {username: {eq: $s}, email: {contains: $s}, fullName: {startsWith: $s}, OR: [{username: {in: [$s]}}]}) { id } }' \
    "$(jq -cn --arg s "$HOSTILE" '{s: $s}')")
assert_eq '{"data":{"users":[]}}' "$out" "hostile text in every filter is a plain value"
out=$(gql_query 'query($s: ID!) { user(id: $s) { id } post(id: $s) { id } comment(id: $s) { id } }' "$(jq -cn --arg s "$HOSTILE" '{s: $s}')")
assert_eq "VALIDATION_FAILED" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "a hostile id is refused as not a UUID"
out=$(gql_query 'query { users(orderBy: [{field: "username; DROP TABLE tb_user"}]) { id } }')
assert_eq "null" "$(jq -c '.data' <<<"$out")" "orderBy takes declared fields only: nothing runs"
assert_contains "$(jq -r '.errors[0].message' <<<"$out")" '"username; DROP TABLE tb_user"' "orderBy: the error names the refused value"
out=$(gql_query 'mutation($s: String!) { createUser(username: "evil", email: "e@x.io", bio: $s) { bio } }' "$(jq -cn --arg s "$HOSTILE" '{s: $s}')")
assert_eq "$HOSTILE" "$(jq -r '.data.createUser.bio' <<<"$out")" "a hostile mutation argument is stored as text"
out=$(gql_query 'mutation($s: String!) { createUser(username: $s, email: "e2@x.io") { id } }' "$(jq -cn --arg s "$HOSTILE" '{s: $s}')")
assert_eq "VALIDATION_FAILED" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "a hostile username fails validation"
out=$(gql_query 'query($s: String!) { syncMetrics(entityType: $s) { totalSyncs24h } }' "$(jq -cn --arg s "$HOSTILE" '{s: $s}')")
assert_eq '{"data":{"syncMetrics":{"totalSyncs24h":0}}}' "$out" "a hostile syncMetrics argument is a plain value"
assert_eq 3 "$(sql "SELECT count(*) FROM tb_post")" "tb_post survived every attempt"

# ---------------------------------------------------------------- opting out of the wait, timeouts
out=$(gql '{"query":"mutation { updateUser(id: \"'$BOB'\", bio: \"later\") { id } }","extensions":{"tvsync":{"waitForSync":false}}}')
assert_eq "true" "$(jq -r '.extensions.tvsync.readModelMayBeBehind' <<<"$out")" "waitForSync false: the response says the read model may be behind"
applier_stop
out=$(gql_query "mutation { updateUser(id: \"$BOB\", bio: \"stuck\") { bio } }")
assert_eq "SYNC_TIMEOUT" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "no applier: SYNC_TIMEOUT"
assert_eq "stuck" "$(sql "SELECT bio FROM tb_user WHERE id = '$BOB'")" "SYNC_TIMEOUT: the write is committed"
applier_start
wait_for 10 sh -c "[ \"\$(curl -s -H 'Content-Type: application/json' -d '{\"query\":\"{ user(id: \\\"$BOB\\\") { bio } }\"}' $SERVER_URL)\" = '{\"data\":{\"user\":{\"bio\":\"stuck\"}}}' ]"
assert_eq 0 $? "after SYNC_TIMEOUT the write appears once applied"

# ---------------------------------------------------------------- HTTP
status() { curl -s -o /dev/null -w '%{http_code} %{content_type}' "$@"; }
assert_eq "400 application/json; charset=utf-8" "$(status -H 'Content-Type: application/json' -d '{"query": "{ users { id }' "$SERVER_URL")" "malformed JSON: 400"
assert_eq "415 application/json; charset=utf-8" "$(status -H 'Content-Type: text/plain' -d '{}' "$SERVER_URL")" "text/plain body: 415"
assert_eq "406 application/json; charset=utf-8" "$(status -H 'Accept: text/csv' -H 'Content-Type: application/json' -d '{"query":"{__typename}"}' "$SERVER_URL")" "Accept: text/csv: 406"
assert_eq "405 application/json; charset=utf-8" "$(status -X DELETE "$SERVER_URL")" "DELETE: 405"
assert_eq "405 application/json; charset=utf-8" "$(status "$SERVER_URL?query=mutation%7BdeleteUser(id%3A%22x%22)%7D")" "mutation over GET: 405"
assert_eq "200 application/json; charset=utf-8" "$(status "$SERVER_URL?query=%7Busers%7Bid%7D%7D")" "query over GET: 200"
assert_eq "404 application/json; charset=utf-8" "$(status "$SERVER_BASE/nope")" "unknown path: 404 with a content type"
big=$(mktemp /tmp/tvsync-big.XXXXXX)
pgcluster_on_exit 'rm -f "$big"'
head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$big"
assert_eq "413" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "@$big" "$SERVER_URL")" "10 MiB body: 413"
deep=$(python3 -c "print('{ ' + 'users { ' * 10000 + 'id' + ' }' * 10001)")
out=$(gql "$(jq -cn --arg q "$deep" '{query: $q}')")
assert_contains "$(jq -r '.errors[0].message' <<<"$out")" "" "a 10,000-deep selection gets an error"
assert_eq "null" "$(jq -c '.data' <<<"$out")" "a 10,000-deep selection is not executed"
echo "    (deep selection: $(jq -r '.errors[0].message' <<<"$out"))"
out=$(gql_query '{ users { id password } }')
assert_eq 'Cannot query field "password" on type "User".' "$(jq -r '.errors[0].message' <<<"$out")" "unknown field: validation error"
assert_eq "400" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/graphql-response+json' -H 'Content-Type: application/json' -d '{"query":"{ users { password } }"}' "$SERVER_URL")" \
    "validation error under graphql-response+json: 400"
hdr=$(curl -s -D - -o /dev/null -H 'X-Request-Id: test-1234' -H 'Content-Type: application/json' -d '{"query":"{__typename}"}' "$SERVER_URL" | tr -d '\r')
assert_contains "$hdr" "X-Request-Id: test-1234" "X-Request-Id is echoed"
assert_contains "$(cat "$SERVER_LOG")" "request test-1234" "X-Request-Id is logged"
metrics=$(curl -s "$SERVER_BASE/metrics")
assert_contains "$metrics" 'tvsync_server_requests_total{operation="mutation",status="200"}' "metrics count requests by operation and status"
assert_contains "$metrics" 'tvsync_server_sync_waits_total{result="timeout"} 1' "metrics count sync timeouts"
assert_contains "$metrics" 'tvsync_server_request_duration_seconds_bucket{operation="query"' "metrics have latency histograms"

# ---------------------------------------------------------------- HTTP/1.1 details (server/http.c)
port=${SERVER_BASE##*:}
# raw REQUEST_TEXT (a printf format): sends it in one write on a new connection and
# prints everything the server sends until it closes (at most 5 s).
raw() {
    exec 6<>"/dev/tcp/127.0.0.1/$port"
    printf "$1" >&6
    timeout 5 cat <&6
    exec 6<&-
}
small='{"query":"{ __typename }","variables":{"pad":"'$(head -c 1500 /dev/zero | tr '\0' x)'"}}'
out=$(curl -s -w ' %{http_code} %{time_total}' -H 'Expect: 100-continue' -H 'Content-Type: application/json' \
    --data-binary "$small" "$SERVER_URL")
assert_eq '{"data":{"__typename":"Query"}} 200' "${out% *}" "Expect: 100-continue with a small body is answered"
assert_eq 1 "$(awk -v t="${out##* }" 'BEGIN { print (t < 0.5) ? 1 : 0 }')" \
    "Expect: 100-continue: 100 Continue comes at once, no 1 s client wait (${out##* }s)"
out=$(curl -s -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/json' -d '{"query":"{ __typename }"}' "$SERVER_URL")
assert_eq '{"data":{"__typename":"Query"}}' "$out" "a chunked request body is decoded"
out=$(raw 'GET /health HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' | grep -ao 'HTTP/1\.1 [0-9][0-9][0-9]' | tr '\n' ,)
assert_eq "HTTP/1.1 200,HTTP/1.1 404," "$out" "two pipelined requests in one write get two answers, in order"
start=$(date +%s%N)
out=$(raw 'GET /health HTTP/1.0\r\n\r\n' | tr -d '\r')
took=$(( ($(date +%s%N) - start) / 1000000 ))
assert_eq "HTTP/1.1 200 OK" "$(head -1 <<<"$out")" "HTTP/1.0 request answered"
assert_eq 1 "$([ "$took" -lt 2000 ] && echo 1 || echo 0)" "HTTP/1.0 without keep-alive: the server closes (${took} ms)"
assert_contains "$out" "Connection: close" "HTTP/1.0: Connection: close"
out=$(raw 'HEAD /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')
assert_contains "$(tr -d '\r' <<<"$out")" "Content-Length: " "HEAD: Content-Length tells the body's length"
assert_eq "" "$(printf '%s' "$out" | sed -n '/^\r$/,$p' | tail -n +2)" "HEAD: no body after the headers"
out=$(raw 'GET /health HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n b\r\n\r\n' | tr -d '\r')
assert_eq "HTTP/1.1 400 Bad Request" "$(head -1 <<<"$out")" "an obs-fold header line: 400"
assert_contains "$out" "Content-Type: application/json" "the layer's own errors are JSON"
out=$(raw 'GET /health HTTP/2.0\r\nHost: t\r\n\r\n' | head -1 | tr -d '\r')
assert_eq "HTTP/1.1 505 HTTP Version Not Supported" "$out" "HTTP/2.0 in a request line: 505"
out=$(raw "GET /health HTTP/1.1\\r\\nHost: t\\r\\nX-Big: $(head -c 70000 /dev/zero | tr '\0' x)\\r\\n\\r\\n" | head -1 | tr -d '\r')
assert_eq "HTTP/1.1 431 Request Header Fields Too Large" "$out" "a header section over 64 KiB: 431"
assert_eq "400" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Length: 5, 6' -H 'Content-Type: application/json' -d 'abcde' "$SERVER_URL")" \
    "conflicting Content-Length: 400"
assert_contains "$(curl -s "$SERVER_BASE/metrics")" 'tvsync_server_requests_total{operation="invalid",status="505"} 1' \
    "requests the HTTP layer refuses are counted as operation=\"invalid\""

# A server with a short request timeout (300 ms): slow and idle clients are closed.
MAIN_PID=$SERVER_PID MAIN_URL=$SERVER_URL MAIN_BASE=$SERVER_BASE MAIN_LOG=$SERVER_LOG
server_start --set server.threads=1 --set server.request_timeout_ms=300 || { echo "timeout server did not start"; exit 1; }
port=${SERVER_BASE##*:}
start=$(date +%s%N)
out=$(raw 'GET /health HTTP/1.1\r\nHost: t\r\nX-Half: ' | tr -d '\r')
took=$(( ($(date +%s%N) - start) / 1000000 ))
assert_eq "HTTP/1.1 408 Request Timeout" "$(head -1 <<<"$out")" "half a header: 408"
assert_contains "$out" "Connection: close" "408 closes the connection"
assert_eq 1 "$([ "$took" -ge 250 ] && [ "$took" -lt 2000 ] && echo 1 || echo 0)" \
    "the 408 comes after server.request_timeout_ms (300 ms), not much later (${took} ms)"
start=$(date +%s%N)
out=$(raw 'GET /health HTTP/1.1\r\nHost: t\r\n\r\n' | tr -d '\r')
took=$(( ($(date +%s%N) - start) / 1000000 ))
assert_eq "HTTP/1.1 200 OK" "$(head -1 <<<"$out")" "keep-alive request answered"
assert_eq 1 "$([ "$took" -ge 250 ] && [ "$took" -lt 2000 ] && echo 1 || echo 0)" \
    "an idle keep-alive connection is closed after server.request_timeout_ms (${took} ms)"
server_stop
rm -f "$SERVER_LOG"
SERVER_PID=$MAIN_PID SERVER_URL=$MAIN_URL SERVER_BASE=$MAIN_BASE SERVER_LOG=$MAIN_LOG

# ---------------------------------------------------------------- grouped reads
# One worker with eight idle connections: the eight root fields of one request are
# submitted together and go out in one pipeline on one connection, not one statement
# on each idle connection. (The lookup is prepared on the first connection by the
# request before; a lag query of the stats timer may take that connection for a
# moment, hence a few tries.)
MAIN_PID=$SERVER_PID MAIN_URL=$SERVER_URL MAIN_BASE=$SERVER_BASE MAIN_LOG=$SERVER_LOG
server_start --set server.threads=1 --set server.pool_size=8 || { echo "pool server did not start"; exit 1; }
eight="{ a: user(id: \"$ALICE\") { username } b: user(id: \"$BOB\") { username } c: user(id: \"$CHARLIE\") { username } d: user(id: \"$ALICE\") { email } e: user(id: \"$BOB\") { email } f: user(id: \"$CHARLIE\") { email } g: user(id: \"$ALICE\") { id } h: user(id: \"$BOB\") { id } }"
grouped=0
for attempt in 1 2 3 4 5; do
    gql_query "{ user(id: \"$ALICE\") { id } }" >/dev/null
    out=$(gql_query "$eight")
    if grep -q "8 reads in one pipeline" "$SERVER_LOG"; then
        grouped=1
        break
    fi
done
assert_eq "alice" "$(jq -r '.data.a.username' <<<"$out")" "eight root fields on eight idle connections are answered"
assert_eq 1 "$grouped" "reads submitted together share one pipeline even with idle connections (server log)"
server_stop
rm -f "$SERVER_LOG"
SERVER_PID=$MAIN_PID SERVER_URL=$MAIN_URL SERVER_BASE=$MAIN_BASE SERVER_LOG=$MAIN_LOG

# ---------------------------------------------------------------- connection limit
# A second server admitting 2 connections: two busy keep-alive clients hold them.
MAIN_PID=$SERVER_PID MAIN_URL=$SERVER_URL MAIN_BASE=$SERVER_BASE MAIN_LOG=$SERVER_LOG
server_start --set server.threads=1 --set server.max_connections=2 || { echo "second server did not start"; exit 1; }
LIMITED_PID=$SERVER_PID
port=${SERVER_BASE##*:}
# The descriptors are opened in this shell (not in a $(...) subshell) so they stay open.
exec 7<>"/dev/tcp/127.0.0.1/$port" 8<>"/dev/tcp/127.0.0.1/$port"
keepalive() {  # sends one keep-alive request on fd $1, prints the answer's status line
    printf 'GET /health HTTP/1.1\r\nHost: test\r\n\r\n' >&"$1"
    head -1 <&"$1" | tr -d '\r'
}
assert_eq "HTTP/1.1 200 OK" "$(keepalive 7)" "first connection admitted"
assert_eq "HTTP/1.1 200 OK" "$(keepalive 8)" "second connection admitted"
# Idle, they would give their places to a new client: half a request each keeps them busy.
printf 'GET /health HTTP/1.1\r\n' >&7
printf 'GET /health HTTP/1.1\r\n' >&8
assert_eq "503" "$(curl -s -o /dev/null -w '%{http_code}' "$SERVER_BASE/health")" "a third connection gets 503 (server.max_connections)"
exec 7<&- 8<&-
wait_for 10 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $SERVER_BASE/health)\" = 200 ]"
assert_eq 0 $? "closing connections frees their places"
server_stop
rm -f "$SERVER_LOG"
SERVER_PID=$MAIN_PID SERVER_URL=$MAIN_URL SERVER_BASE=$MAIN_BASE SERVER_LOG=$MAIN_LOG

# ---------------------------------------------------------------- losing the database
sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE 'tvsync-server%'" >/dev/null
out=$(gql_query '{ users(where: {username: {eq: "alice"}}) { username } }')
assert_eq '{"data":{"users":[{"username":"alice"}]}}' "$out" "after pg_terminate_backend the next query succeeds"
wait_for 10 sh -c "curl -s $SERVER_BASE/health | grep -q '\"listener\":\"up\"'"
assert_eq 0 $? "the LISTEN connection comes back"
out=$(gql_query "mutation { updateUser(id: \"$ALICE\", bio: \"after reconnect\") { bio } }")
assert_eq '{"data":{"updateUser":{"bio":"after reconnect"}}}' "$(without_token <<<"$out")" "read your writes after the listener reconnected"
applier_stop
pgcluster_stop
wait_for 30 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $SERVER_BASE/health)\" = 503 ]"
assert_eq 0 $? "database down: /health is 503"
out=$(gql_query '{ users { id } }')
assert_eq "DATABASE_UNAVAILABLE" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "database down: a clear error"
echo "    (database down: $(jq -r '.errors[0].message' <<<"$out"))"
for attempt in 1 2 3 4; do  # several, so both workers and their reconnect timers are exercised
    took=$(curl -s -o /dev/null -w '%{time_total}' --max-time 60 -H 'Content-Type: application/json' \
        -d '{"query":"{ users { id } }"}' "$SERVER_URL")
    assert_eq 1 "$(awk -v t="$took" 'BEGIN { print (t < 12) ? 1 : 0 }')" \
        "database down: request $attempt answered within server.request_timeout_ms (${took}s)"
done
pgcluster_restart >/dev/null 2>&1 || pgcluster__as_owner "$PGCLUSTER_BINDIR/pg_ctl" -D "$PGCLUSTER_DIR/data" -l "$PGCLUSTER_DIR/postgres.log" start -w >/dev/null
wait_for 20 server_healthy
assert_eq 0 $? "database back: /health is 200 again without a restart"
applier_start
wait_for 20 sh -c "curl -s -H 'Content-Type: application/json' -d '{\"query\":\"{ users(where: {username: {eq: \\\"bob\\\"}}) { username } }\"}' $SERVER_URL | grep -q '\"bob\"'"
assert_eq 0 $? "database back: queries work again"

# ---------------------------------------------------------------- SIGHUP and SIGTERM
echo "type Broken {" >>"$SCHEMA_COPY"
kill -HUP "$SERVER_PID"
wait_for 10 grep -q "keeping the current schema" "$SERVER_LOG"
assert_eq 0 $? "a bad schema on SIGHUP is logged and refused"
assert_eq '{"data":{"__typename":"Query"}}' "$(gql_query '{ __typename }')" "the old schema keeps serving"
# Each pool connection prepares updateUser now; the reload below adds a Query field first,
# so every mutation's statement name moves by one and createUser then has the name
# updateUser had: a connection must prepare createUser anew, not run updateUser.
for i in 1 2 3 4; do
    gql_query "mutation { updateUser(id: \"$ALICE\", bio: \"before reload $i\") { bio } }" >/dev/null
done
cp "$SERVER_SCHEMA" "$SCHEMA_COPY"
sed -i 's/^type Query {/type Query {\n  "Added by the reload test."\n  reloadProbe(id: ID!): User @lookup/' "$SCHEMA_COPY"
kill -HUP "$SERVER_PID"
wait_for 10 grep -q "schema reloaded" "$SERVER_LOG"
out=$(gql_query "{ reloadProbe(id: \"$ALICE\") { username } }")
assert_eq '{"data":{"reloadProbe":{"username":"alice"}}}' "$out" "a good schema on SIGHUP is served at once"
created=0
for i in 1 2 3 4; do
    out=$(gql_query "mutation { createUser(username: \"reloaded$i\", email: \"reloaded$i@example.com\") { username } }")
    [ "$(jq -r '.data.createUser.username' <<<"$out")" = "reloaded$i" ] && created=$((created + 1))
done
assert_eq 4 "$created" "after a reload that renumbers the mutations, each runs its own function"
applier_stop
gql_query "mutation { updateUser(id: \"$ALICE\", bio: \"draining\") { bio } }" >"$SERVER_LOG.inflight" &
CURL_PID=$!
wait_for 10 sh -c "curl -s $SERVER_BASE/metrics | grep -q '^tvsync_server_requests_in_flight 2'"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
assert_eq 0 $? "SIGTERM: exit status 0"
SERVER_PID=
wait "$CURL_PID"
assert_eq "SYNC_TIMEOUT" "$(jq -r '.errors[0].extensions.code' <"$SERVER_LOG.inflight")" "SIGTERM: the request in flight still got its answer"
rm -f "$SERVER_LOG.inflight"

test_summary
