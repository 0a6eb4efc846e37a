/* auth: who a request is, from its Authorization header: a JWT verified with the configured
 * keys (the PostgREST convention: the role claim names the PostgreSQL role). */
#ifndef TVSYNC_SERVER_AUTH_H
#define TVSYNC_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* The identity a request runs as. Strings owned by the struct (auth_identity_clear). */
typedef struct auth_identity {
    char *role;         /* the role to SET LOCAL ROLE to; NULL: run as the server's own role */
    char *claims_json;  /* the verified claims as JSON text; "{}" for an anonymous request */
    bool anonymous;     /* no token: the anonymous_role */
} auth_identity;

void auth_identity_clear(auth_identity *identity);

typedef enum auth_result {
    AUTH_OK,       /* *identity filled (role NULL only when authentication is off) */
    AUTH_MISSING,  /* no token and no anonymous_role: 401 with WWW-Authenticate: Bearer */
    AUTH_INVALID,  /* bad, expired, wrong audience/issuer, no role claim: 401 invalid_token */
} auth_result;

/* The verification keys and rules of [server] jwt_* and anonymous_role; immutable once
 * loaded, shared by all workers, replaced as a whole on SIGHUP. */
typedef struct auth_keys auth_keys;

#endif
