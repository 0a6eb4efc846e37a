/* gql_cache: bounded, thread-safe LRU of prepared documents keyed by (document text,
 * operation name), so a repeated request skips lexing, parsing and validation. */
#include "config.h"

#include "server/graphql/graphql.h"
#include "server/graphql/gql_arena.h"
#include "server/graphql/gql_map.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct cache_entry {
    struct cache_entry *bucket_next;
    struct cache_entry *lru_prev;
    struct cache_entry *lru_next;
    uint32_t hash;
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
    uint64_t seed;
    bool aes_hash; /* document_hash_aes instead of document_hash */
};

/* 64x64 -> 128-bit multiply folded to 64 bits. */
static inline uint64_t fold_multiply(uint64_t a, uint64_t b)
{
#ifdef __SIZEOF_INT128__
    unsigned __int128 product = (unsigned __int128)a * b;
    return (uint64_t)product ^ (uint64_t)(product >> 64);
#else
    /* 32-bit targets: the same product from four 32x32 -> 64-bit ones */
    uint64_t a_lo = (uint32_t)a, a_hi = a >> 32, b_lo = (uint32_t)b, b_hi = b >> 32;
    uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
    uint64_t cross = (lo_lo >> 32) + (uint32_t)hi_lo + lo_hi;
    uint64_t low = (cross << 32) | (uint32_t)lo_lo;
    uint64_t high = hi_hi + (hi_lo >> 32) + (cross >> 32);
    return low ^ high;
#endif
}

static inline uint64_t load64(const char *bytes)
{
    uint64_t word;
    memcpy(&word, bytes, 8);
    return word;
}

/* The document hash every request computes, hit or miss: four independent sums of folded
 * products, 64 bytes a step, so it runs at the multiplier's throughput instead of waiting on
 * one dependency chain (an NH-style hash, as in UMASH or wyhash). Keyed by the cache's random
 * seed, so colliding documents cannot be prepared offline. */
static uint64_t document_hash(uint64_t seed, const char *text, size_t length)
{
    static const uint64_t k[8] = {
        0xA0761D6478BD642Full, 0xE7037ED1A0B428DBull, 0x8EBC6AF09C88C6E3ull,
        0x589965CC75374CC3ull, 0x1D8E4E27C47D124Full, 0xBF58476D1CE4E5B9ull,
        0x94D049BB133111EBull, 0xD6E8FEB86659FD93ull,
    };
    uint64_t s0 = seed ^ k[0], s1 = seed ^ k[1], s2 = seed ^ k[2], s3 = seed ^ k[3];
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    size_t i = 0;
    for (; i + 64 <= length; i += 64) {
        a0 += fold_multiply(load64(text + i) ^ s0, load64(text + i + 8) ^ k[4]);
        a1 += fold_multiply(load64(text + i + 16) ^ s1, load64(text + i + 24) ^ k[5]);
        a2 += fold_multiply(load64(text + i + 32) ^ s2, load64(text + i + 40) ^ k[6]);
        a3 += fold_multiply(load64(text + i + 48) ^ s3, load64(text + i + 56) ^ k[7]);
    }
    for (; i + 16 <= length; i += 16)
        a0 += fold_multiply(load64(text + i) ^ s1, load64(text + i + 8) ^ k[5]);
    uint64_t tail0 = 0, tail1 = 0;
    size_t rest = length - i;
    if (rest > 8) {
        memcpy(&tail0, text + i, 8);
        memcpy(&tail1, text + i + 8, rest - 8);
    } else {
        memcpy(&tail0, text + i, rest);
    }
    a1 += fold_multiply(tail0 ^ s2, tail1 ^ k[6]);
    uint64_t h = fold_multiply(a0 ^ k[0], a1 ^ (uint64_t)length) ^
                 fold_multiply(a2 ^ k[2], a3 ^ seed);
    return fold_multiply(h ^ k[3], h ^ k[7]);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <wmmintrin.h>
#define CACHE_HAVE_AES_HASH 1

/* The same job with AES-NI where the CPU has it (checked once per cache): one AES round per
 * 16 bytes, four lanes, summed, which does a block in about half the time of the multiplies.
 * Each block is whitened with a per-position counter, so swapping two blocks changes the
 * sum; one round is a bijection of its input, so a lone changed block always changes its
 * lane; the lanes are folded by further rounds keyed by the seed. */
__attribute__((target("aes,sse2"))) static uint64_t document_hash_aes(uint64_t seed,
                                                                      const char *text,
                                                                      size_t length)
{
    const __m128i k0 = _mm_set_epi64x((long long)(seed ^ 0xA0761D6478BD642Full),
                                      (long long)0xE7037ED1A0B428DBull);
    const __m128i k1 = _mm_set_epi64x((long long)0x8EBC6AF09C88C6E3ull,
                                      (long long)(seed ^ 0x589965CC75374CC3ull));
    const __m128i step = _mm_set_epi64x((long long)0x94D049BB133111EBull,
                                        (long long)0xD6E8FEB86659FD93ull);
    __m128i counter = _mm_set_epi64x((long long)0x1D8E4E27C47D124Full,
                                     (long long)(seed ^ 0xBF58476D1CE4E5B9ull));
    __m128i s0 = k0, s1 = k1, s2 = _mm_xor_si128(k0, step), s3 = _mm_xor_si128(k1, step);
    const char *end = text + length;
    char buffer[64];
    const char *block = text;
    bool last = false;
    while (!last) {
        if (end - block <= 64) {
            /* the last block: the final 64 bytes (overlapping the previous block), or the whole
             * text zero-padded when shorter; the length is folded in below */
            if (length >= 64) {
                block = end - 64;
            } else {
                memset(buffer, 0, sizeof buffer);
                memcpy(buffer, text, length);
                block = buffer;
            }
            last = true;
        }
        counter = _mm_add_epi64(counter, step);
        s0 = _mm_add_epi64(s0, _mm_aesenc_si128(_mm_xor_si128(_mm_loadu_si128((const __m128i *)block), counter), k0));
        s1 = _mm_add_epi64(s1, _mm_aesenc_si128(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(block + 16)), counter), k1));
        s2 = _mm_add_epi64(s2, _mm_aesenc_si128(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(block + 32)), counter), k0));
        s3 = _mm_add_epi64(s3, _mm_aesenc_si128(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(block + 48)), counter), k1));
        block += 64;
    }
    __m128i x = _mm_aesenc_si128(_mm_xor_si128(s0, _mm_set_epi64x(0, (long long)length)), s1);
    __m128i y = _mm_aesenc_si128(s2, s3);
    __m128i z = _mm_aesenc_si128(_mm_aesenc_si128(x, y), k0);
    z = _mm_aesenc_si128(z, k1);
    uint64_t halves[2];
    _mm_storeu_si128((__m128i *)halves, z);
    return halves[0] ^ halves[1];
}
#endif

/* A per-cache hash seed: not secret, only unpredictable enough that nobody can compute
 * colliding documents in advance. */
static uint64_t cache_seed(const gql_plan_cache *c)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t seed = (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 32) ^ (uint64_t)(uintptr_t)c;
    return fold_multiply(seed ^ 0x9E3779B97F4A7C15ull, 0xBF58476D1CE4E5B9ull);
}

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
    c->seed = cache_seed(c);
#ifdef CACHE_HAVE_AES_HASH
    c->aes_hash = __builtin_cpu_supports("aes");
#endif
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

static uint32_t key_hash(const gql_plan_cache *c, const char *document, size_t length,
                         const char *operation)
{
#ifdef CACHE_HAVE_AES_HASH
    uint64_t h = c->aes_hash ? document_hash_aes(c->seed, document, length)
                             : document_hash(c->seed, document, length);
#else
    uint64_t h = document_hash(c->seed, document, length);
#endif
    if (*operation)
        h ^= document_hash(c->seed + 1, operation, strlen(operation));
    return (uint32_t)(h ^ (h >> 32));
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

static cache_entry *lookup(gql_plan_cache *c, uint32_t hash, const char *document,
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
    uint32_t hash = key_hash(c, document, length, op);
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
