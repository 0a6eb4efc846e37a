/* auth: who a request is, from its Authorization header: a JWT verified with the configured
 * keys (the PostgREST convention: the role claim names the PostgreSQL role). */
#ifndef TVSYNC_SERVER_AUTH_H
#define TVSYNC_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/config.h"

/* The identity a request runs as. Strings owned by the struct (auth_identity_clear). */
typedef struct auth_identity {
    char *role;         /* the role to SET LOCAL ROLE to; NULL: run as the server's own role */
    char *claims_json;  /* the verified claims as JSON text; "{}" for an anonymous request */
    bool anonymous;     /* no token: the anonymous_role */
} auth_identity;

/* Frees the strings and zeroes the struct; safe on a zeroed struct. */
void auth_identity_clear(auth_identity *identity);

typedef enum auth_result {
    AUTH_OK,       /* *identity filled (role NULL only when authentication is off) */
    AUTH_MISSING,  /* no token and no anonymous_role: 401 with WWW-Authenticate: Bearer */
    AUTH_INVALID,  /* bad, expired, wrong audience/issuer, no role claim: 401 invalid_token */
} auth_result;

/* The verification keys and rules of [server] jwt_* and anonymous_role; immutable once
 * loaded, shared by all workers, replaced as a whole on SIGHUP. */
typedef struct auth_keys auth_keys;

/* Clock tolerance on exp and nbf, for clocks of issuer and server that differ a little. */
#define AUTH_CLOCK_LEEWAY_SECONDS 30

/* Why a request was refused. Both strings are static, carry no token material and no double
 * quote: reason is a metric label (missing, malformed, algorithm, key, signature, expired,
 * not_yet_valid, audience, issuer, role, no_tokens), description is told to the client. */
typedef struct auth_failure {
    const char *reason;
    const char *description;
} auth_failure;

/* True when config asks for authentication (a jwt_key_file or an anonymous_role); false
 * keeps the server open to every client, as before authentication existed. */
bool auth_configured(const tvsync_config *config);

/* Reads config's jwt_key_file (when set) and rules. The file holds an HMAC secret (HS256,
 * HS384, HS512; at least 32 bytes, a trailing newline is not part of it), a PEM public key
 * (RSA for RS*, EC P-256/P-384/P-521 for ES256/ES384/ES512), or a JWK set {"keys":[...]}
 * (RSA, EC or oct keys; a token's kid picks one, a token without kid needs a set of one key).
 * Returns keys with one reference, or NULL with a message naming the file and what to fix
 * in error[]. Blocking (reads a file): main thread only. */
auth_keys *auth_keys_load(const tvsync_config *config, char *error, size_t error_size);

/* A short description of what was loaded, for the log ("2 keys (RS256, ES256) from FILE"). */
const char *auth_keys_summary(const auth_keys *keys);

/* Reference counting: keys are freed when the last reference goes. NULL is ignored. */
auth_keys *auth_keys_ref(auth_keys *keys);
void auth_keys_release(auth_keys *keys);

/* Verifies authorization (the Authorization header's value, NULL when absent) at time now.
 * AUTH_OK fills *identity (the caller clears it; claims_json is the token's payload exactly as
 * signed); otherwise *failure says why and *identity is left zeroed. Thread-safe; keys are
 * only read. */
auth_result auth_verify(const auth_keys *keys, const char *authorization, time_t now, auth_identity *identity,
                        auth_failure *failure);

/* valid_until of a token without exp: it never expires by itself. */
#define AUTH_NO_EXPIRY ((time_t) INT64_MAX)

/* auth_verify, and on AUTH_OK *valid_until: the last second at which the same authorization
 * still verifies with these keys (the token's exp plus the leeway; AUTH_NO_EXPIRY for a token
 * without exp or a request without token); meaningless on a refusal. */
auth_result auth_verify_until(const auth_keys *keys, const char *authorization, time_t now, auth_identity *identity,
                              auth_failure *failure, time_t *valid_until);

/* A number that differs between any two auth_keys_load results of this process (it grows
 * with each load), so a cache of verified tokens can tell it verified with other keys; an
 * address cannot, since freed memory is reused. */
uint64_t auth_keys_generation(const auth_keys *keys);

/* The current keys of a running server, swapped whole on SIGHUP: a request keeps the keys it
 * started with. */
typedef struct auth_current auth_current;

/* Takes over the caller's reference to keys. */
auth_current *auth_current_new(auth_keys *keys);
/* A reference to the current keys; release it with auth_keys_release. */
auth_keys *auth_current_acquire(auth_current *current);
/* Makes keys current (takes over the caller's reference) and releases the old ones. */
void auth_current_replace(auth_current *current, auth_keys *keys);
void auth_current_free(auth_current *current);

#endif
