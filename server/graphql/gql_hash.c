/* gql_hash: keyed hashes of request text for the plan cache: SipHash everywhere, and a keyed
 * AES-round hash where the CPU has AES-NI (the cached path hashes every request). */
#include "config.h"

#include "server/graphql/gql_hash.h"

#include <string.h>
#include <time.h>

#include "common/random.h"

static inline uint64_t rotate_left(uint64_t x, unsigned bits)
{
    return (x << bits) | (x >> (64 - bits));
}

/* SipHash reads its input as little-endian words whatever the host's order. */
static inline uint64_t load_le64(const unsigned char *bytes)
{
    uint64_t word;
    memcpy(&word, bytes, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    word = __builtin_bswap64(word);
#endif
    return word;
}

#define SIP_ROUND(v0, v1, v2, v3)                                                                \
    do {                                                                                         \
        v0 += v1;                                                                                \
        v1 = rotate_left(v1, 13);                                                                \
        v1 ^= v0;                                                                                \
        v0 = rotate_left(v0, 32);                                                                \
        v2 += v3;                                                                                \
        v3 = rotate_left(v3, 16);                                                                \
        v3 ^= v2;                                                                                \
        v0 += v3;                                                                                \
        v3 = rotate_left(v3, 21);                                                                \
        v3 ^= v0;                                                                                \
        v2 += v1;                                                                                \
        v1 = rotate_left(v1, 17);                                                                \
        v1 ^= v2;                                                                                \
        v2 = rotate_left(v2, 32);                                                                \
    } while (0)

/* SipHash-c-d: c rounds per 8-byte word, d rounds to finish; constant at each call site. */
static inline __attribute__((always_inline)) uint64_t siphash(const gql_hash_key *key,
                                                              const void *data, size_t length,
                                                              int c_rounds, int d_rounds)
{
    const unsigned char *in = data;
    uint64_t v0 = key->k0 ^ 0x736f6d6570736575ull;
    uint64_t v1 = key->k1 ^ 0x646f72616e646f6dull;
    uint64_t v2 = key->k0 ^ 0x6c7967656e657261ull;
    uint64_t v3 = key->k1 ^ 0x7465646279746573ull;
    size_t whole = length & ~(size_t)7;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = load_le64(in + i);
        v3 ^= m;
        for (int r = 0; r < c_rounds; r++)
            SIP_ROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    /* the last word: the remaining bytes, then the length's low byte in the top byte */
    uint64_t m = (uint64_t)(length & 0xff) << 56;
    for (size_t i = 0; i < (length & 7); i++)
        m |= (uint64_t)in[whole + i] << (8 * i);
    v3 ^= m;
    for (int r = 0; r < c_rounds; r++)
        SIP_ROUND(v0, v1, v2, v3);
    v0 ^= m;
    v2 ^= 0xff;
    for (int r = 0; r < d_rounds; r++)
        SIP_ROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t gql_siphash24(const gql_hash_key *key, const void *data, size_t length)
{
    return siphash(key, data, length, 2, 4);
}

uint64_t gql_siphash13(const gql_hash_key *key, const void *data, size_t length)
{
    return siphash(key, data, length, 1, 3);
}

void gql_hash_key_from_bytes(gql_hash_key *key, const unsigned char bytes[16])
{
    key->k0 = load_le64(bytes);
    key->k1 = load_le64(bytes + 8);
}

bool gql_hash_key_random(gql_hash_key *key)
{
    unsigned char bytes[16];
    if (random_bytes(bytes, sizeof bytes)) {
        gql_hash_key_from_bytes(key, bytes);
        return true;
    }
    /* a kernel without getrandom and without /dev/urandom (a bare chroot): better than a
     * constant key, and the caller is told */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    gql_hash_key seed = {(uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 32),
                         (uint64_t)(uintptr_t)key};
    key->k0 = gql_siphash13(&seed, "k0", 2);
    key->k1 = gql_siphash13(&seed, "k1", 2);
    return false;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <wmmintrin.h>


/* Four lanes of one AES round per 16 bytes, summed: each 64-byte block is whitened with a
 * per-position counter (so swapping two blocks changes the sum); one round is a bijection
 * of its input (so a lone changed block always changes its lane); every constant the lanes
 * start from and the counter's start are derived from the whole 128-bit key; the lanes and
 * the length are folded by further rounds keyed by it. */
__attribute__((target("aes,sse2"))) static inline __m128i aes_lane(const char *bytes,
                                                                  __m128i counter, __m128i key)
{
    __m128i in = _mm_xor_si128(_mm_loadu_si128((const __m128i *)bytes), counter);
    return _mm_aesenc_si128(in, key);
}

__attribute__((target("aes,sse2"))) static uint64_t hash_aes(const gql_hash_key *key,
                                                             const void *data, size_t length)
{
    const char *text = data;
    const __m128i k0 = _mm_set_epi64x((long long)key->k0, (long long)key->k1);
    const __m128i k1 = _mm_set_epi64x((long long)(key->k1 ^ 0xE7037ED1A0B428DBull),
                                      (long long)(key->k0 ^ 0x589965CC75374CC3ull));
    const __m128i step = _mm_set_epi64x((long long)0x94D049BB133111EBull,
                                        (long long)0xD6E8FEB86659FD93ull);
    __m128i counter = _mm_set_epi64x((long long)(key->k0 ^ 0x1D8E4E27C47D124Full),
                                     (long long)(key->k1 ^ 0xBF58476D1CE4E5B9ull));
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
                if (length > 0)   /* text may be NULL then */
                    memcpy(buffer, text, length);
                block = buffer;
            }
            last = true;
        }
        counter = _mm_add_epi64(counter, step);
        s0 = _mm_add_epi64(s0, aes_lane(block, counter, k0));
        s1 = _mm_add_epi64(s1, aes_lane(block + 16, counter, k1));
        s2 = _mm_add_epi64(s2, aes_lane(block + 32, counter, k0));
        s3 = _mm_add_epi64(s3, aes_lane(block + 48, counter, k1));
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

uint64_t gql_hash_aes(const gql_hash_key *key, const void *data, size_t length)
{
    return __builtin_cpu_supports("aes") ? hash_aes(key, data, length)
                                         : gql_siphash13(key, data, length);
}

gql_hash_function gql_hash_document_function(void)
{
    return __builtin_cpu_supports("aes") ? hash_aes : gql_siphash13;
}
#else
gql_hash_function gql_hash_document_function(void)
{
    return gql_siphash13;
}

uint64_t gql_hash_aes(const gql_hash_key *key, const void *data, size_t length)
{
    return gql_siphash13(key, data, length);
}
#endif
