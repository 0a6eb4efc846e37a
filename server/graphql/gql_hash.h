/* gql_hash: keyed hashes of request text for the plan cache, so that documents that collide
 * cannot in practice be prepared without the key (a collision flood is a denial of service). */
#ifndef TVSYNC_GQL_HASH_H
#define TVSYNC_GQL_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 128 bits of key; k0 is the key's first 8 bytes read little-endian, k1 the next 8. */
typedef struct gql_hash_key {
    uint64_t k0;
    uint64_t k1;
} gql_hash_key;

/* Fills key with random bytes from the kernel (getrandom, then /dev/urandom). Returns false
 * when neither answered: the key is then derived from the clock and the key's address,
 * which is unpredictable only to someone who cannot time the call. */
bool gql_hash_key_random(gql_hash_key *key);

/* The key whose 16 bytes are bytes[0..15] (for test vectors). */
void gql_hash_key_from_bytes(gql_hash_key *key, const unsigned char bytes[16]);

/* SipHash-2-4 of length bytes, 64-bit result (the published reference variant). */
uint64_t gql_siphash24(const gql_hash_key *key, const void *data, size_t length);
/* SipHash-1-3 (one round per word, three to finish), as hash tables use it against
 * flooding (CPython, Rust): the portable hash of the plan cache. */
uint64_t gql_siphash13(const gql_hash_key *key, const void *data, size_t length);

/* A keyed, position-dependent hash on AES rounds, for the cached request path where SipHash
 * would cost more than the rest of the lookup. Where the CPU has no AES-NI it returns
 * gql_siphash13's result. */
uint64_t gql_hash_aes(const gql_hash_key *key, const void *data, size_t length);

/* The document hash for this CPU, chosen once (a cache keeps it): the AES-round hash with
 * AES-NI, else gql_siphash13. Calling it costs no CPU check. */
typedef uint64_t (*gql_hash_function)(const gql_hash_key *key, const void *data, size_t length);
gql_hash_function gql_hash_document_function(void);

#endif
