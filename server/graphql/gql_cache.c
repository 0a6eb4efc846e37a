/* gql_cache: bounded, thread-safe LRU of prepared documents keyed by (document text,
 * operation name), so a repeated request skips lexing, parsing and validation. */
#include "config.h"

#include "server/graphql/graphql.h"
#include "server/graphql/gql_arena.h"
#include "server/graphql/gql_hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct cache_entry {
    struct cache_entry *bucket_next;
    struct cache_entry *lru_prev;
    struct cache_entry *lru_next;
    uint64_t hash;
    char *document;
    size_t length;
    char *operation; /* "" when none */
    gql_prepared *prepared;
} cache_entry;

struct gql_plan_cache {
    pthread_mutex_t lock;
    const gql_schema *schema;
    gql_limits limits;
    size_t capacity;
    size_t count;
    cache_entry **buckets;
    size_t bucket_count; /* power of two */
    cache_entry *lru_head; /* most recently used */
    cache_entry *lru_tail;
    uint64_t hits;
    uint64_t misses;
    uint64_t evictions;
    gql_hash_key document_key; /* random per cache: without it colliding documents cannot be made */
    gql_hash_key operation_key;
    gql_hash_function document_hash; /* chosen for this CPU once */
};

gql_plan_cache *gql_plan_cache_new(const gql_schema *schema, size_t capacity,
                                   const gql_limits *limits)
{
    gql_plan_cache *c = gql_xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->schema = schema;
    if (limits)
        c->limits = *limits;
    else
        gql_limits_default(&c->limits);
    c->capacity = capacity ? capacity : 1;
    gql_hash_key_random(&c->document_key);
    gql_hash_key_random(&c->operation_key);
    c->document_hash = gql_hash_document_function();
    c->bucket_count = 16;
    while (c->bucket_count < c->capacity * 2)
        c->bucket_count *= 2;
    c->buckets = gql_xcalloc(c->bucket_count, sizeof(cache_entry *));
    return c;
}

static void entry_free(cache_entry *e)
{
    gql_prepared_release(e->prepared);
    free(e->document);
    free(e->operation);
    free(e);
}

void gql_plan_cache_free(gql_plan_cache *c)
{
    if (!c)
        return;
    cache_entry *e = c->lru_head;
    while (e) {
        cache_entry *next = e->lru_next;
        entry_free(e);
        e = next;
    }
    free(c->buckets);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* The document's hash, and the operation name's (usually absent) under another key. The
 * entry keeps all 64 bits, so a lookup compares documents only on a genuine match. */
static uint64_t key_hash(const gql_plan_cache *c, const char *document, size_t length,
                         const char *operation)
{
    uint64_t h = c->document_hash(&c->document_key, document, length);
    if (*operation)
        h ^= gql_siphash13(&c->operation_key, operation, strlen(operation));
    return h;
}

static void lru_unlink(gql_plan_cache *c, cache_entry *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        c->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        c->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(gql_plan_cache *c, cache_entry *e)
{
    e->lru_prev = NULL;
    e->lru_next = c->lru_head;
    if (c->lru_head)
        c->lru_head->lru_prev = e;
    c->lru_head = e;
    if (!c->lru_tail)
        c->lru_tail = e;
}

/* Operation names are short (usually empty): a byte loop beats a call to strcmp. */
static inline bool names_equal(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static cache_entry *lookup(gql_plan_cache *c, uint64_t hash, const char *document,
                           size_t length, const char *operation)
{
    for (cache_entry *e = c->buckets[hash & (c->bucket_count - 1)]; e; e = e->bucket_next)
        if (e->hash == hash && e->length == length && names_equal(e->operation, operation) &&
            !memcmp(e->document, document, length))
            return e;
    return NULL;
}

static void bucket_remove(gql_plan_cache *c, cache_entry *e)
{
    cache_entry **p = &c->buckets[e->hash & (c->bucket_count - 1)];
    while (*p && *p != e)
        p = &(*p)->bucket_next;
    if (*p)
        *p = e->bucket_next;
}

gql_prepared *gql_plan_cache_get(gql_plan_cache *c, const char *document, size_t length,
                                 const char *operation_name, cJSON **errors, bool *hit)
{
    const char *op = operation_name ? operation_name : "";
    uint64_t hash = key_hash(c, document, length, op);
    if (errors)
        *errors = NULL;
    pthread_mutex_lock(&c->lock);
    cache_entry *e = lookup(c, hash, document, length, op);
    if (e) {
        lru_unlink(c, e);
        lru_push_front(c, e);
        gql_prepared *p = gql_prepared_ref(e->prepared);
        c->hits++;
        pthread_mutex_unlock(&c->lock);
        if (hit)
            *hit = true;
        return p;
    }
    c->misses++;
    pthread_mutex_unlock(&c->lock);
    if (hit)
        *hit = false;
    /* prepare outside the lock: other threads keep being served meanwhile */
    gql_prepared *p = gql_prepare(c->schema, document, length, operation_name, &c->limits,
                                  errors);
    if (!p)
        return NULL;
    pthread_mutex_lock(&c->lock);
    e = lookup(c, hash, document, length, op);
    if (!e) {
        e = gql_xcalloc(1, sizeof(*e));
        e->hash = hash;
        e->document = gql_xmalloc(length + 1);
        memcpy(e->document, document, length);
        e->document[length] = '\0';
        e->length = length;
        e->operation = gql_xstrdup(op);
        e->prepared = gql_prepared_ref(p);
        size_t b = hash & (c->bucket_count - 1);
        e->bucket_next = c->buckets[b];
        c->buckets[b] = e;
        lru_push_front(c, e);
        c->count++;
        while (c->count > c->capacity && c->lru_tail) {
            cache_entry *victim = c->lru_tail;
            lru_unlink(c, victim);
            bucket_remove(c, victim);
            c->count--;
            c->evictions++;
            entry_free(victim);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return p;
}

void gql_plan_cache_get_stats(gql_plan_cache *c, gql_plan_cache_stats *stats)
{
    pthread_mutex_lock(&c->lock);
    stats->hits = c->hits;
    stats->misses = c->misses;
    stats->evictions = c->evictions;
    stats->entries = c->count;
    stats->capacity = c->capacity;
    pthread_mutex_unlock(&c->lock);
}
