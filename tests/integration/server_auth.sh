#!/bin/bash
# server_auth.sh: tvsync-server verifies Bearer tokens (HS256, RS256 from a PEM key, ES256
# from a JWK set chosen by kid): 401 with the RFC 6750 WWW-Authenticate headers for a
# missing or bad token, anonymous_role, key rotation on SIGHUP, and no token in the log.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"

SIGN="$TVSYNC_BUILDDIR/tests/tools/jwt_sign"
server_database_start
WORK=$(mktemp -d /tmp/tvsync-server-auth.XXXXXX)
pgcluster_on_exit 'rm -rf "$WORK"'
NOW=$(date +%s)
QUERY='{"query":"{ posts { title } }"}'
POSTS='{"data":{"posts":[{"title":"Logical decoding in practice"},{"title":"Getting started with CQRS"}]}}'
# tvsync_app exists in every tvsync database and reads the blog's tables.
ROLE=tvsync_app
TOKENS_USED=()

# sign ALG KEY CLAIMS [KID]: a token, remembered so the log can be searched for it.
sign() {
    local token
    token=$("$SIGN" "$@") || { echo "jwt_sign failed: $*" >&2; exit 1; }
    TOKENS_USED+=("$token")
    printf '%s' "$token"
}

# call [curl options...]: POSTs the posts query; $STATUS, $HEADERS and $BODY hold the answer.
call() {
    BODY=$(curl -s --max-time 30 -D "$WORK/headers" -H 'Content-Type: application/json' "$@" \
        --data-binary "$QUERY" "$SERVER_URL")
    HEADERS=$(tr -d '\r' <"$WORK/headers")
    STATUS=$(head -1 <<<"$HEADERS" | cut -d' ' -f2)
}
with_token() {
    call -H "Authorization: Bearer $1"
}
www_authenticate() {
    sed -n 's/^[Ww][Ww][Ww]-[Aa]uthenticate: //p' <<<"$HEADERS"
}

# ---------------------------------------------------------------- HS256
openssl rand -base64 48 >"$WORK/secret"
server_start --set server.jwt_key_file="$WORK/secret" || { echo "server did not start"; exit 1; }
assert_contains "$(cat "$SERVER_LOG")" "authentication: 1 key (HS*) from $WORK/secret" "the log says which keys verify tokens"

call
assert_eq 401 "$STATUS" "no token: 401"
assert_eq "Bearer" "$(www_authenticate)" "no token: WWW-Authenticate: Bearer"
assert_eq UNAUTHENTICATED "$(jq -r '.errors[0].extensions.code' <<<"$BODY")" "no token: a GraphQL error body"

GOOD=$(sign HS256 "$WORK/secret" "{\"role\":\"$ROLE\",\"sub\":\"alice\",\"exp\":$((NOW + 600))}")
with_token "$GOOD"
assert_eq 200 "$STATUS" "a good HS256 token: 200"
assert_eq "$POSTS" "$BODY" "a good HS256 token: the data"

with_token "$(sign HS256 "$WORK/secret" "{\"role\":\"$ROLE\",\"exp\":$((NOW - 3600))}")"
assert_eq 401 "$STATUS" "an expired token: 401"
assert_eq 'Bearer error="invalid_token", error_description="the token has expired"' "$(www_authenticate)" \
    "an expired token: invalid_token with a description"
assert_eq INVALID_TOKEN "$(jq -r '.errors[0].extensions.code' <<<"$BODY")" "an expired token: code INVALID_TOKEN"

openssl rand -base64 48 >"$WORK/other_secret"
with_token "$(sign HS256 "$WORK/other_secret" "{\"role\":\"$ROLE\"}")"
assert_contains "$STATUS $(www_authenticate)" '401 Bearer error="invalid_token", error_description="the token'"'"'s signature does not verify"' \
    "a token signed with another secret: 401 invalid_token"

with_token "$(sign none "$WORK/secret" "{\"role\":\"$ROLE\"}")"
assert_contains "$STATUS $(www_authenticate)" '401 Bearer error="invalid_token"' "alg none: 401 invalid_token"

with_token "$(sign HS256 "$WORK/secret" '{"sub":"alice"}')"
assert_contains "$(www_authenticate)" "no role claim" "a token without role: 401 naming the role claim"

call -H "Authorization: Bearer not.a-token"
assert_contains "$STATUS $(www_authenticate)" '401 Bearer error="invalid_token"' "a malformed token: 401 invalid_token"
call -H "Authorization: Basic YWxpY2U6c2VjcmV0"
assert_eq 401 "$STATUS" "another scheme than Bearer: 401"

assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' "$SERVER_BASE/health")" "/health needs no token"
METRICS=$(curl -s "$SERVER_BASE/metrics")
assert_contains "$METRICS" 'tvsync_server_auth_refused_total{reason="expired"} 1' "/metrics needs no token and counts refusals by reason"
assert_contains "$METRICS" 'tvsync_server_auth_refused_total{reason="missing"} 1' "a missing token is counted as missing"

# Rotation: SIGHUP reads the file again; tokens of the old secret are refused from then on.
mv "$WORK/secret" "$WORK/old_secret"
openssl rand -base64 48 >"$WORK/secret"
NEW=$(sign HS256 "$WORK/secret" "{\"role\":\"$ROLE\"}")
kill -HUP "$SERVER_PID"
wait_for 10 grep -q "JWT keys reloaded" "$SERVER_LOG"
with_token "$GOOD"
assert_eq 401 "$STATUS" "SIGHUP: a token of the old secret is refused"
with_token "$NEW"
assert_eq "200 $POSTS" "$STATUS $BODY" "SIGHUP: a token of the new secret is accepted"
echo short >"$WORK/secret"
kill -HUP "$SERVER_PID"
wait_for 10 grep -q "keeping the current JWT keys" "$SERVER_LOG"
assert_contains "$(grep 'keeping the current JWT keys' "$SERVER_LOG")" "at least 32 bytes" \
    "SIGHUP with a bad key file: logged with what is wrong"
with_token "$NEW"
assert_eq 200 "$STATUS" "SIGHUP with a bad key file: the old keys keep verifying"
server_stop

LOG_TEXT=$(cat "$SERVER_LOG")
leaked=0
for token in "${TOKENS_USED[@]}"; do
    signature=${token##*.}
    payload=${token#*.}
    payload=${payload%%.*}
    if [ -n "$signature" ] && [[ "$LOG_TEXT" == *"$signature"* ]]; then leaked=1; fi
    if [[ "$LOG_TEXT" == *"$payload"* ]]; then leaked=1; fi
done
assert_eq 0 "$leaked" "no token material in the server log (debug level)"
assert_contains "$LOG_TEXT" "401 Invalid token: the token has expired" "the log says why a token was refused"

test_summary
