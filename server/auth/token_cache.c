/* token_cache: a worker's set-associative cache of verified Authorization values with LRU
 * eviction inside a bucket; entries shared with the requests that use them by a count. */
#include <config.h>

#include "server/auth/token_cache.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "server/graphql/gql_hash.h"

/* Entries per bucket: a lookup compares at most this many, and a token evicts only within its
 * bucket, whose index a client cannot predict (the hash is keyed). */
#define TOKEN_CACHE_WAYS 8

/* A verified identity and the Authorization value it came from; freed when neither the cache
 * nor a request holds it. */
typedef struct token_cache_value {
    unsigned references;
    auth_identity identity;
    size_t length;
    char authorization[]; /* length bytes, then a NUL */
} token_cache_value;

typedef struct token_cache_slot {
    token_cache_value *value; /* NULL: empty */
    uint64_t hash;
    time_t valid_until;       /* the last second at which it is answered from here */
    uint64_t last_used;
} token_cache_slot;

struct token_cache {
    token_cache_slot *slots;
    size_t bucket_count;      /* a power of two */
    gql_hash_key hash_key;
    gql_hash_function hash;
    uint64_t generation;      /* of the keys every entry was verified with; 0: none yet */
    uint64_t clock;           /* counts lookups, for LRU */
    token_cache_stats stats;
};

static void value_release(token_cache_value *value)
{
    if (value != NULL && --value->references == 0) {
        auth_identity_clear(&value->identity);
        free(value);
    }
}

static void slot_clear(token_cache *cache, token_cache_slot *slot)
{
    if (slot->value == NULL)
        return;
    value_release(slot->value);
    slot->value = NULL;
    cache->stats.entries--;
}

static void clear_all(token_cache *cache)
{
    for (size_t i = 0; i < cache->bucket_count * TOKEN_CACHE_WAYS; i++)
        slot_clear(cache, &cache->slots[i]);
}

token_cache *token_cache_new(size_t entries)
{
    token_cache *cache = alloc_calloc(1, sizeof *cache);
    cache->bucket_count = 1;
    while (cache->bucket_count * TOKEN_CACHE_WAYS < entries)
        cache->bucket_count *= 2;
    cache->slots = alloc_calloc(cache->bucket_count * TOKEN_CACHE_WAYS, sizeof *cache->slots);
    /* Without the kernel's randomness the key falls back to a weaker one: buckets are then
     * easier to aim at, which costs evictions, never a wrong answer. */
    gql_hash_key_random(&cache->hash_key);
    cache->hash = gql_hash_document_function();
    return cache;
}

void token_cache_free(token_cache *cache)
{
    if (cache == NULL)
        return;
    clear_all(cache);
    free(cache->slots);
    free(cache);
}

const auth_identity *token_cache_hold_identity(const token_cache_hold *hold)
{
    return hold->shared != NULL ? &hold->shared->identity : &hold->own;
}

void token_cache_hold_release(token_cache_hold *hold)
{
    auth_identity_clear(&hold->own);
    value_release(hold->shared);
    hold->shared = NULL;
}

void token_cache_get_stats(const token_cache *cache, token_cache_stats *stats)
{
    *stats = cache->stats;
}

/* The slot for a new entry in bucket: an empty one, else an expired one, else the least
 * recently used (counted as an eviction). */
static token_cache_slot *slot_for_insert(token_cache *cache, token_cache_slot *bucket, time_t now)
{
    token_cache_slot *oldest = &bucket[0];
    for (size_t i = 0; i < TOKEN_CACHE_WAYS; i++) {
        if (bucket[i].value == NULL)
            return &bucket[i];
        if (bucket[i].valid_until < now) {
            slot_clear(cache, &bucket[i]);
            return &bucket[i];
        }
        if (bucket[i].last_used < oldest->last_used)
            oldest = &bucket[i];
    }
    slot_clear(cache, oldest);
    cache->stats.evictions++;
    return oldest;
}

auth_result token_cache_verify(token_cache *cache, const auth_keys *keys, const char *authorization, time_t now,
                               token_cache_hold *hold, auth_failure *failure)
{
    memset(hold, 0, sizeof *hold);
    if (authorization == NULL)
        return auth_verify(keys, authorization, now, &hold->own, failure);
    uint64_t generation = auth_keys_generation(keys);
    if (generation != cache->generation) {
        clear_all(cache);
        cache->generation = generation;
    }
    size_t length = strlen(authorization);
    cache->clock++;
    bool cacheable = length <= TOKEN_CACHE_MAX_AUTHORIZATION_BYTES;
    uint64_t hash = 0;
    token_cache_slot *bucket = NULL;
    if (cacheable) {
        hash = cache->hash(&cache->hash_key, authorization, length);
        bucket = &cache->slots[(hash & (cache->bucket_count - 1)) * TOKEN_CACHE_WAYS];
        for (size_t i = 0; i < TOKEN_CACHE_WAYS; i++) {
            token_cache_slot *slot = &bucket[i];
            /* The hash only picks candidates: the whole value must match, or one client could
             * be given another's identity. */
            if (slot->value == NULL || slot->hash != hash || slot->value->length != length ||
                memcmp(slot->value->authorization, authorization, length) != 0)
                continue;
            if (slot->valid_until < now) {
                slot_clear(cache, slot);
                break;
            }
            slot->last_used = cache->clock;
            slot->value->references++;
            hold->shared = slot->value;
            cache->stats.hits++;
            failure->reason = NULL;
            failure->description = NULL;
            return AUTH_OK;
        }
    }
    cache->stats.misses++;
    time_t valid_until = 0;
    auth_result result = auth_verify_until(keys, authorization, now, &hold->own, failure, &valid_until);
    if (result != AUTH_OK || !cacheable)
        return result;
    if (valid_until == AUTH_NO_EXPIRY)
        valid_until = now + TOKEN_CACHE_NO_EXPIRY_SECONDS;
    token_cache_value *value = alloc_malloc(sizeof *value + length + 1);
    value->references = 2; /* the cache's and this request's */
    value->identity = hold->own;
    memset(&hold->own, 0, sizeof hold->own);
    value->length = length;
    memcpy(value->authorization, authorization, length + 1);
    token_cache_slot *slot = slot_for_insert(cache, bucket, now);
    *slot = (token_cache_slot){.value = value, .hash = hash, .valid_until = valid_until, .last_used = cache->clock};
    cache->stats.entries++;
    hold->shared = value;
    return AUTH_OK;
}
