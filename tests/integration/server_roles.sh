#!/bin/bash
# server_roles.sh: each request runs as its token's role (the blog's 004_blog_security):
# tvsync-server connects as an authenticator that may only take blog_anon and blog_user;
# anonymous readers see published posts only, a signed-in user also their own drafts, and
# changes or deletes only their own posts and comments; read-your-writes per role with the
# real tvsync-cdc; a role the authenticator may not take is 403, one that does not exist 401.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"

server_database_start
pgcluster_on_exit '[ -n "${CDC_PID:-}" ] && kill "$CDC_PID" 2>/dev/null && wait "$CDC_PID" 2>/dev/null; rm -f "${CDC_LOG:-}" "${KEY_FILE:-}"'
pgcluster_psql >/dev/null <<'SQL' || { echo "creating the roles failed"; exit 1; }
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT blog_anon, blog_user TO authenticator;
GRANT USAGE ON SCHEMA tvsync TO authenticator;
CREATE ROLE outsider NOLOGIN;
SQL
"$TVSYNC_BUILDDIR/slot/tvsync-slot" --database "$TVSYNC_DATABASE_URL" create >/dev/null 2>&1 || { echo "slot create failed"; exit 1; }
CDC_LOG=$(mktemp /tmp/tvsync-cdc-log.XXXXXX)
"$TVSYNC_BUILDDIR/cdc/tvsync-cdc" --database "$TVSYNC_DATABASE_URL" --metrics-listen 127.0.0.1:0 >"$CDC_LOG" 2>&1 &
CDC_PID=$!

KEY_FILE=$(mktemp /tmp/tvsync-jwt-key.XXXXXX)
SECRET=server-roles-test-secret-of-at-least-32-bytes
printf '%s' "$SECRET" >"$KEY_FILE"
# token ROLE [SUB]: an HS256 token valid for an hour.
token() {
    python3 - "$SECRET" "$1" "${2:-}" <<'PY'
import base64, hashlib, hmac, json, sys, time
secret, role, sub = sys.argv[1], sys.argv[2], sys.argv[3]
b64 = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()
claims = {"role": role, "exp": int(time.time()) + 3600}
if sub:
    claims["sub"] = sub
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
print(head + "." + b64(hmac.new(secret.encode(), head.encode(), hashlib.sha256).digest()))
PY
}

AUTH_URL=$(sed 's|//[^@/]*@|//authenticator@|' <<<"$TVSYNC_DATABASE_URL")
server_start --database "$AUTH_URL" --set server.jwt_key_file="$KEY_FILE" --set server.anonymous_role=blog_anon \
    --set server.sync_wait_timeout_ms=10000 || { echo "server did not start"; exit 1; }

ALICE=10000000-0000-4000-8000-000000000001
BOB=10000000-0000-4000-8000-000000000002
BOB_DRAFT=20000000-0000-4000-8000-000000000003
ALICE_POST=20000000-0000-4000-8000-000000000001
BOB_COMMENT=30000000-0000-4000-8000-000000000001
ALICE_COMMENT=30000000-0000-4000-8000-000000000004
ALICE_TOKEN=$(token blog_user $ALICE)
BOB_TOKEN=$(token blog_user $BOB)

# as TOKEN QUERY: the query run with the token ("" for none).
as() {
    local auth=()
    [ -n "$1" ] && auth=(-H "Authorization: Bearer $1")
    gql "$(jq -cn --arg q "$2" '{query: $q}')" "${auth[@]}"
}
post_ids() { jq -c '[.data.posts[].id] | sort' <<<"$1"; }
ALL_POSTS='{ posts(publishedOnly: false) { id } }'

# Reads: RLS on tv_post (and on tv_comment through its post).
out=$(as "" "$ALL_POSTS")
assert_eq "[\"$ALICE_POST\",\"20000000-0000-4000-8000-000000000002\"]" "$(post_ids "$out")" \
    "an anonymous reader sees the published posts only"
assert_eq "null" "$(jq -c '.data.post' <<<"$(as "" "{ post(id: \"$BOB_DRAFT\") { id } }")")" \
    "an anonymous lookup of a draft answers null"
assert_contains "$(post_ids "$(as "$BOB_TOKEN" "$ALL_POSTS")")" "$BOB_DRAFT" "bob sees his own draft"
assert_not_contains "$(post_ids "$(as "$ALICE_TOKEN" "$ALL_POSTS")")" "$BOB_DRAFT" "alice does not see bob's draft"
assert_eq "2" "$(jq '.data.posts | length' <<<"$(as "$ALICE_TOKEN" "$ALL_POSTS")")" "alice sees the two published posts"

# Writes: only one's own posts and comments; others' are FORBIDDEN and unchanged.
out=$(as "$ALICE_TOKEN" "mutation { updatePost(id: \"$BOB_DRAFT\", title: \"Mine now\") { title } }")
assert_eq "FORBIDDEN" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "alice may not update bob's post: $out"
assert_contains "$(jq -r '.errors[0].message' <<<"$out")" "belongs to another user" "the error says why"
out=$(as "$ALICE_TOKEN" "mutation { deletePost(id: \"$BOB_DRAFT\") }")
assert_eq "FORBIDDEN" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "alice may not delete bob's post"
out=$(as "$ALICE_TOKEN" "mutation { updateComment(id: \"$BOB_COMMENT\", content: \"edited by alice\") { content } }")
assert_eq "FORBIDDEN" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "alice may not update bob's comment"
out=$(as "$ALICE_TOKEN" "mutation { deleteComment(id: \"$BOB_COMMENT\") }")
assert_eq "FORBIDDEN" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "alice may not delete bob's comment"
assert_eq "1" "$(pgcluster_psql -Atc "SELECT count(*) FROM tb_post WHERE id = '$BOB_DRAFT' AND title <> 'Mine now'")" \
    "bob's post is unchanged"
assert_eq "1" "$(pgcluster_psql -Atc "SELECT count(*) FROM tb_comment WHERE id = '$BOB_COMMENT' AND content <> 'edited by alice'")" \
    "bob's comment is unchanged"
out=$(as "$ALICE_TOKEN" "mutation { createComment(postId: \"$ALICE_POST\", authorId: \"$BOB\", content: \"as bob\") { id } }")
assert_eq "FORBIDDEN" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "alice may not write a comment as bob"

# Own rows, with read-your-writes under the role: a draft is visible to its author at once.
out=$(as "$BOB_TOKEN" "mutation { updateComment(id: \"$BOB_COMMENT\", content: \"edited by bob\") { content author { username } } }")
assert_eq '{"content":"edited by bob","author":{"username":"bob"}}' "$(jq -c '.data.updateComment' <<<"$out")" \
    "bob updates his comment and reads his write"
out=$(as "$ALICE_TOKEN" "mutation { createPost(authorId: \"$ALICE\", title: \"Alice's draft\", content: \"wip\") { id published author { username } } }")
assert_eq '{"published":false,"author":{"username":"alice"}}' "$(jq -c '.data.createPost | del(.id)' <<<"$out")" \
    "alice's new draft is answered from tv_post under her role: $out"
DRAFT=$(jq -r '.data.createPost.id' <<<"$out")
out=$(as "$ALICE_TOKEN" "mutation { createComment(postId: \"$DRAFT\", authorId: \"$ALICE\", content: \"note to self\") { content } }")
assert_eq '"note to self"' "$(jq -c '.data.createComment.content' <<<"$out")" "alice comments on her own draft: $out"
assert_not_contains "$(post_ids "$(as "" "$ALL_POSTS")")" "$DRAFT" "anonymous readers do not see alice's draft"
assert_not_contains "$(post_ids "$(as "$BOB_TOKEN" "$ALL_POSTS")")" "$DRAFT" "bob does not see alice's draft"
out=$(as "$BOB_TOKEN" '{ comments(limit: 100) { content } }')
assert_not_contains "$out" "note to self" "bob does not see the comments of alice's draft"
out=$(as "$ALICE_TOKEN" "mutation { deleteComment(id: \"$ALICE_COMMENT\") }")
assert_eq "\"$ALICE_COMMENT\"" "$(jq -c '.data.deleteComment' <<<"$out")" "alice deletes her own comment"
out=$(as "$ALICE_TOKEN" "mutation { updatePost(id: \"$DRAFT\", published: true) { published } }")
assert_eq "true" "$(jq -c '.data.updatePost.published' <<<"$out")" "alice publishes her draft"
assert_contains "$(post_ids "$(as "" "$ALL_POSTS")")" "$DRAFT" "anonymous readers see it once published"

# Anonymous requests run as blog_anon, which may not call mutations.
out=$(as "" "mutation { deleteComment(id: \"$BOB_COMMENT\") }")
assert_eq "FORBIDDEN" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "an anonymous mutation is refused"

# Roles the authenticator cannot take.
curl_status() {
    curl -s -o "$PGCLUSTER_DIR/body" -D "$PGCLUSTER_DIR/headers" -w '%{http_code}' -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $1" --data-binary '{"query":"{ posts { id } }"}' "$SERVER_URL"
}
assert_eq "403" "$(curl_status "$(token outsider $ALICE)")" "a role the authenticator is not a member of: 403"
assert_eq "FORBIDDEN" "$(jq -r '.errors[0].extensions.code' "$PGCLUSTER_DIR/body")" "its code is FORBIDDEN"
assert_eq "null" "$(jq -c '.data' "$PGCLUSTER_DIR/body")" "and no data"
assert_eq "401" "$(curl_status "$(token no_such_role $ALICE)")" "a role that does not exist: 401"
assert_contains "$(cat "$PGCLUSTER_DIR/headers")" 'WWW-Authenticate: Bearer error="invalid_token"' \
    "with WWW-Authenticate: Bearer error=\"invalid_token\""
assert_eq "INVALID_TOKEN" "$(jq -r '.errors[0].extensions.code' "$PGCLUSTER_DIR/body")" "its code is INVALID_TOKEN"
assert_eq "401" "$(curl_status "$(token none $ALICE)")" "role \"none\" (set_config's way back to the server's role): 401"
out=$(gql '{"query":"mutation { deleteComment(id: \"30000000-0000-4000-8000-000000000002\") }"}' \
    -H "Authorization: Bearer $(token outsider $ALICE)")
assert_eq "FORBIDDEN" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "a mutation with such a role is refused too"
assert_eq "1" "$(pgcluster_psql -Atc "SELECT count(*) FROM tb_comment WHERE id = '30000000-0000-4000-8000-000000000002'")" \
    "and wrote nothing"
# The pool is not left in another request's role or transaction.
assert_eq "3" "$(jq '.data.posts | length' <<<"$(as "" "$ALL_POSTS")")" \
    "anonymous reads after refused roles still run as blog_anon"
# One field's failure does not fail the fields after it in the request's transaction.
pgcluster_psql -c "REVOKE SELECT ON tv_comment FROM tvsync_reader" >/dev/null
out=$(as "" "{ comment(id: \"$BOB_COMMENT\") { id } post(id: \"$ALICE_POST\") { id } }")
assert_eq '["comment"]' "$(jq -c '.errors[0].path' <<<"$out")" "a field the role may not read fails: $out"
assert_eq "\"$ALICE_POST\"" "$(jq -c '.data.post.id' <<<"$out")" "the field after it still answers"
assert_not_contains "$(cat "$SERVER_LOG")" "$ALICE_TOKEN" "no token in the log"

test_summary
