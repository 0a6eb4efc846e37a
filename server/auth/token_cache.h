/* token_cache: one worker's cache of Authorization values it verified, so a client that
 * sends the same token on every request has its signature and claims checked once. */
#ifndef TVSYNC_SERVER_TOKEN_CACHE_H
#define TVSYNC_SERVER_TOKEN_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "server/auth/auth.h"

/* Entries of a worker's cache, and the longest Authorization value kept in it: a longer one
 * is verified on every request. Together they bound its memory (the claims of a token are
 * shorter than the token). */
#define TOKEN_CACHE_ENTRIES 1024
#define TOKEN_CACHE_MAX_AUTHORIZATION_BYTES 4096
/* How long a token without exp is trusted before it is verified again. */
#define TOKEN_CACHE_NO_EXPIRY_SECONDS 60

/* Not thread-safe, and needs none: each worker (one event loop thread) has its own, and every
 * call on a cache and on the holds it filled is made from that thread (or after it ended). */
typedef struct token_cache token_cache;

/* What a request runs as, for as long as the request holds it. Zero it before first use;
 * token_cache_hold_release ends it. */
typedef struct token_cache_hold {
    auth_identity own;                /* verified for this request alone (not cached) */
    struct token_cache_value *shared; /* or shared with the cache: NULL when own is used */
} token_cache_hold;

typedef struct token_cache_stats {
    uint64_t hits;      /* tokens found, unexpired, verified with the same keys */
    uint64_t misses;    /* tokens verified (a failure included: it is not kept) */
    uint64_t evictions; /* entries dropped for room (not for expiry or new keys) */
    size_t entries;     /* entries held now */
} token_cache_stats;

/* A cache of about entries entries (rounded up to a whole number of its buckets; at least
 * one bucket). Exits on out-of-memory (common/alloc). Free with token_cache_free. */
token_cache *token_cache_new(size_t entries);

/* Drops the cache's entries; identities still held by requests stay valid until released. */
void token_cache_free(token_cache *cache);

/* auth_verify(keys, authorization, now, ...) answered from the cache when it can. AUTH_OK
 * fills *hold: token_cache_hold_identity gives the identity until token_cache_hold_release.
 * An entry is found only for the same authorization bytes, the same keys (a new generation
 * of keys empties the cache first) and a now no later than the token's exp plus the leeway
 * (TOKEN_CACHE_NO_EXPIRY_SECONDS after it was verified when it has no exp). Only AUTH_OK for
 * a token no longer than TOKEN_CACHE_MAX_AUTHORIZATION_BYTES is kept: a refusal is verified
 * again each time and evicts nothing. A missing authorization is answered by auth_verify
 * alone. Otherwise as auth_verify: *failure says why, *hold is left zeroed. */
auth_result token_cache_verify(token_cache *cache, const auth_keys *keys, const char *authorization, time_t now,
                               token_cache_hold *hold, auth_failure *failure);

/* The identity of an AUTH_OK hold (owned by the hold: do not free it), or a zeroed identity. */
const auth_identity *token_cache_hold_identity(const token_cache_hold *hold);

/* Ends the hold (frees what nothing else uses) and zeroes it; safe on a zeroed hold. */
void token_cache_hold_release(token_cache_hold *hold);

void token_cache_get_stats(const token_cache *cache, token_cache_stats *stats);

#endif
