#!/bin/bash
# server_auth.sh: tvsync-server verifies Bearer tokens (HS256, RS256 from a PEM key, ES256
# from a JWK set chosen by kid): 401 with the RFC 6750 WWW-Authenticate headers for a
# missing or bad token, anonymous_role, key rotation on SIGHUP (also for tokens the workers
# cached), a cached token refused once it expires, and no token in the log.
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
# with_token_times N TOKEN: N requests, each on its own connection (so on any worker);
# $STATUSES lists their statuses.
with_token_times() {
    STATUSES=""
    for _ in $(seq "$1"); do
        with_token "$2"
        STATUSES+="$STATUS "
    done
}
times() {
    printf "$1 %.0s" $(seq "$2")
}
# cache_hits_at_least N: /metrics counts N or more tokens answered from the workers' caches.
cache_hits_at_least() {
    local hits
    hits=$(curl -s "$SERVER_BASE/metrics" | sed -n 's/^tvsync_server_auth_cache_hits_total \([0-9]*\).*/\1/p')
    [ "${hits:-0}" -ge "$1" ]
}
www_authenticate() {
    sed -n 's/^[Ww][Ww][Ww]-[Aa]uthenticate: //p' <<<"$HEADERS"
}

# ---------------------------------------------------------------- HS256
umask 022
openssl rand -base64 48 >"$WORK/secret"
# Two workers, each with its own cache of verified tokens.
server_start --set server.jwt_key_file="$WORK/secret" --set server.threads=2 || { echo "server did not start"; exit 1; }
assert_contains "$(cat "$SERVER_LOG")" "authentication: 1 key (HS*) from $WORK/secret" "the log says which keys verify tokens"
assert_contains "$(cat "$SERVER_LOG")" "jwt_key_file $WORK/secret: the secret is readable by other users (mode $(stat -c %a "$WORK/secret"))" \
    "a secret other users may read is warned about"

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

# The workers' caches: the same token again is answered without verifying it again.
with_token_times 10 "$GOOD"
assert_eq "$(times 200 10)" "$STATUSES" "the same token ten times: 200 each time"
wait_for 5 cache_hits_at_least 8
assert_eq 0 $? "/metrics counts the tokens answered from the cache (at most one miss per worker)"
# A cached token is refused once its exp (plus the 30 s leeway) has passed.
START=$(date +%s)
SOON=$(sign HS256 "$WORK/secret" "{\"role\":\"$ROLE\",\"exp\":$((START + 6 - 30))}")
with_token_times 6 "$SOON"
assert_eq "$(times 200 6)" "$STATUSES" "a token valid for 6 more seconds: accepted (and cached)"
while [ "$(date +%s)" -le $((START + 6)) ]; do sleep 0.2; done
with_token_times 6 "$SOON"
assert_eq "$(times 401 6)" "$STATUSES" "the cached token once expired: 401 on every worker"
assert_contains "$(www_authenticate)" "the token has expired" "and the reason is its expiry"

# Rotation: SIGHUP reads the file again; tokens of the old secret are refused from then on.
mv "$WORK/secret" "$WORK/old_secret"
openssl rand -base64 48 >"$WORK/secret"
NEW=$(sign HS256 "$WORK/secret" "{\"role\":\"$ROLE\"}")
kill -HUP "$SERVER_PID"
wait_for 10 grep -q "JWT keys reloaded" "$SERVER_LOG"
with_token_times 10 "$GOOD"
assert_eq "$(times 401 10)" "$STATUSES" "SIGHUP: a token of the old secret is refused, though the workers cached it"
with_token "$NEW"
assert_eq "200 $POSTS" "$STATUS $BODY" "SIGHUP: a token of the new secret is accepted"
echo short >"$WORK/secret"
kill -HUP "$SERVER_PID"
wait_for 10 grep -q "keeping the current JWT keys" "$SERVER_LOG"
assert_contains "$(grep 'keeping the current JWT keys' "$SERVER_LOG")" "at least 32 bytes" \
    "SIGHUP with a bad key file: logged with what is wrong"
with_token "$NEW"
assert_eq 200 "$STATUS" "SIGHUP with a bad key file: the old keys keep verifying"
METRICS=$(curl -s "$SERVER_BASE/metrics")
assert_contains "$METRICS" 'tvsync_server_auth_key_reloads_total{result="ok"} 1' "/metrics counts the key reload"
assert_contains "$METRICS" 'tvsync_server_auth_key_reloads_total{result="failed"} 1' "and the failed one"
server_stop

LOGS=("$SERVER_LOG")

# ---------------------------------------------------------------- RS256 from a PEM public key
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/rsa.pem" 2>/dev/null
openssl pkey -in "$WORK/rsa.pem" -pubout -out "$WORK/rsa.pub"
server_start --set server.jwt_key_file="$WORK/rsa.pub" --set server.jwt_audience=blog \
    --set server.jwt_issuer=https://id.example.com || { echo "server did not start"; exit 1; }
CLAIMS="{\"role\":\"$ROLE\",\"aud\":\"blog\",\"iss\":\"https://id.example.com\"}"
with_token "$(sign RS256 "$WORK/rsa.pem" "$CLAIMS")"
assert_eq "200 $POSTS" "$STATUS $BODY" "RS256 with the PEM public key: accepted"
with_token "$(sign HS256 "$WORK/rsa.pub" "$CLAIMS")"
assert_eq 'Bearer error="invalid_token", error_description="the token'"'"'s alg does not match the server'"'"'s key"' \
    "$(www_authenticate)" "HS256 signed with the RSA public key as secret: refused (alg confusion)"
with_token "$(sign RS256 "$WORK/rsa.pem" "{\"role\":\"$ROLE\",\"aud\":\"other\",\"iss\":\"https://id.example.com\"}")"
assert_contains "$STATUS $(www_authenticate)" "401 Bearer error=\"invalid_token\", error_description=\"the token's aud" \
    "jwt_audience: another audience is refused"
with_token "$(sign RS256 "$WORK/rsa.pem" "{\"role\":\"$ROLE\",\"aud\":\"blog\"}")"
assert_contains "$(www_authenticate)" "the token's iss" "jwt_issuer: a token without iss is refused"
server_stop
LOGS+=("$SERVER_LOG")

# ---------------------------------------------------------------- ES256 from a JWK set, by kid
b64url() { basenc --base64url | tr -d '=\n'; }
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/ec.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/ec2.pem" 2>/dev/null
# The last 65 bytes of a P-256 SubjectPublicKeyInfo are the point 04 || x || y.
jwk_ec() {
    openssl pkey -in "$1" -pubout -outform DER | tail -c 64 >"$WORK/point"
    printf '{"kty":"EC","crv":"P-256","kid":"%s","x":"%s","y":"%s"}' "$2" \
        "$(head -c 32 "$WORK/point" | b64url)" "$(tail -c 32 "$WORK/point" | b64url)"
}
printf '{"keys":[%s,%s]}' "$(jwk_ec "$WORK/ec.pem" one)" "$(jwk_ec "$WORK/ec2.pem" two)" >"$WORK/jwks.json"
server_start --set server.jwt_key_file="$WORK/jwks.json" --set server.jwt_role_claim=.app.role || {
    echo "server did not start"; exit 1; }
assert_contains "$(cat "$SERVER_LOG")" "authentication: 2 keys (ES256, ES256) from $WORK/jwks.json" "a JWK set of two keys is loaded"
with_token "$(sign ES256 "$WORK/ec2.pem" "{\"app\":{\"role\":\"$ROLE\"}}" two)"
assert_eq "200 $POSTS" "$STATUS $BODY" "ES256 with the JWK its kid names, role from .app.role: accepted"
with_token "$(sign ES256 "$WORK/ec2.pem" "{\"app\":{\"role\":\"$ROLE\"}}" one)"
assert_contains "$(www_authenticate)" "signature does not verify" "ES256 under another key's kid: refused"
with_token "$(sign ES256 "$WORK/ec.pem" "{\"app\":{\"role\":\"$ROLE\"}}" three)"
assert_contains "$(www_authenticate)" "no key matches the token's kid" "an unknown kid: refused"
server_stop
LOGS+=("$SERVER_LOG")

# ---------------------------------------------------------------- anonymous_role alone
server_start --set server.anonymous_role="$ROLE" || { echo "server did not start"; exit 1; }
call
assert_eq "200 $POSTS" "$STATUS $BODY" "anonymous_role without key file: a request without token is answered"
with_token "$NEW"
assert_contains "$STATUS $(www_authenticate)" "401 Bearer error=\"invalid_token\", error_description=\"this server takes no tokens" \
    "anonymous_role without key file: a token is refused"
server_stop
LOGS+=("$SERVER_LOG")

# ---------------------------------------------------------------- a bad key file at start
assert_exit 3 "an unusable jwt_key_file stops the start (exit 3)" -- "$SERVER_BIN" --database "$TVSYNC_DATABASE_URL" \
    --listen 127.0.0.1:0 --schema "$SERVER_SCHEMA" --set server.jwt_key_file="$WORK/rsa.pem"
assert_contains "$ASSERT_OUTPUT" "not a PEM public key" "and says the file holds no public key"

LOG_TEXT=$(cat "${LOGS[@]}")
leaked=0
for token in "${TOKENS_USED[@]}"; do
    signature=${token##*.}
    payload=${token#*.}
    payload=${payload%%.*}
    if [ -n "$signature" ] && [[ "$LOG_TEXT" == *"$signature"* ]]; then leaked=1; fi
    if [[ "$LOG_TEXT" == *"$payload"* ]]; then leaked=1; fi
done
assert_eq 0 "$leaked" "no token material in the server logs (debug level)"
assert_contains "$LOG_TEXT" "401 Invalid token: the token has expired" "the log says why a token was refused"

test_summary
