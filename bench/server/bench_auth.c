/* bench_auth: the cost of one Bearer token verification (server/auth) per key type, as a
 * worker pays it for a token it has not cached, and of a token_cache hit. Not a test:
 *   make bench/server/bench_auth && bench/server/bench_auth [ITERATIONS] */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jwt.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "server/auth/auth.h"
#include "server/auth/token_cache.h"

static char *pem_text(EVP_PKEY *key, int private_key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (private_key)
        PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
    else
        PEM_write_bio_PUBKEY(bio, key);
    char *data;
    long length = BIO_get_mem_data(bio, &data);
    char *text = strndup(data, (size_t) length);
    BIO_free(bio);
    return text;
}

static auth_keys *load(const char *key_text)
{
    char path[] = "/tmp/bench_auth_key.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, key_text, strlen(key_text)) != (ssize_t) strlen(key_text))
        exit(1);
    close(fd);
    tvsync_config config;
    memset(&config, 0, sizeof config);
    config.server.jwt_key_file = path;
    config.server.jwt_audience = (char *) "blog";
    config.server.jwt_issuer = (char *) "https://id.example.com";
    config.server.jwt_role_claim = (char *) "role";
    config.server.anonymous_role = (char *) "";
    char error[512];
    auth_keys *keys = auth_keys_load(&config, error, sizeof error);
    unlink(path);
    if (keys == NULL) {
        fprintf(stderr, "bench_auth: %s\n", error);
        exit(1);
    }
    return keys;
}

static void run(const char *name, const char *public_text, jwt_alg_t alg, const char *signing_key, long iterations)
{
    auth_keys *keys = load(public_text);
    jwt_t *jwt = NULL;
    jwt_new(&jwt);
    jwt_add_grants_json(jwt, "{\"role\":\"web_user\",\"sub\":\"8c3e1f0a-2b7d-4e59-9a61-5f0c2d7b9e41\","
                             "\"aud\":\"blog\",\"iss\":\"https://id.example.com\",\"exp\":4102444800}");
    jwt_set_alg(jwt, alg, (const unsigned char *) signing_key, (int) strlen(signing_key));
    char *token = jwt_encode_str(jwt);
    char header[4096];
    snprintf(header, sizeof header, "Bearer %s", token);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < iterations; i++) {
        auth_identity identity;
        auth_failure failure;
        if (auth_verify(keys, header, time(NULL), &identity, &failure) != AUTH_OK) {
            fprintf(stderr, "bench_auth: %s token refused: %s\n", name, failure.description);
            exit(1);
        }
        auth_identity_clear(&identity);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ns = ((double) (end.tv_sec - start.tv_sec) * 1e9 + (double) (end.tv_nsec - start.tv_nsec)) / iterations;
    printf("%-6s %8.0f ns/verify  (%ld verifications, token %zu bytes)\n", name, ns, iterations, strlen(token));
    /* What a worker pays for a token it has seen: its cache's lookup (one verification, then hits). */
    token_cache *cache = token_cache_new(TOKEN_CACHE_ENTRIES);
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < iterations; i++) {
        token_cache_hold hold;
        auth_failure failure;
        if (token_cache_verify(cache, keys, header, time(NULL), &hold, &failure) != AUTH_OK) {
            fprintf(stderr, "bench_auth: %s token refused through the cache: %s\n", name, failure.description);
            exit(1);
        }
        token_cache_hold_release(&hold);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double cached_ns =
        ((double) (end.tv_sec - start.tv_sec) * 1e9 + (double) (end.tv_nsec - start.tv_nsec)) / iterations;
    printf("%-6s %8.0f ns/verify  through a worker's token_cache (%.0fx less)\n", name, cached_ns, ns / cached_ns);
    token_cache_free(cache);
    /* The same token through libjwt's jwt_decode with the key file's text, which is what
     * server/auth would cost if it handed RS and ES keys to libjwt 1.x as well. */
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < iterations; i++) {
        jwt_t *decoded = NULL;
        if (jwt_decode(&decoded, token, (const unsigned char *) public_text, (int) strlen(public_text)) != 0) {
            fprintf(stderr, "bench_auth: libjwt refused the %s token\n", name);
            exit(1);
        }
        jwt_free(decoded);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double libjwt_ns =
        ((double) (end.tv_sec - start.tv_sec) * 1e9 + (double) (end.tv_nsec - start.tv_nsec)) / iterations;
    printf("%-6s %8.0f ns/verify  through libjwt's jwt_decode alone (%.1fx)\n", name, libjwt_ns, libjwt_ns / ns);
    free(token);
    jwt_free(jwt);
    auth_keys_release(keys);
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? atol(argv[1]) : 20000;
    if (iterations <= 0)
        iterations = 20000;
    const char *secret = "bench-secret-0123456789abcdef0123456789abcdef";
    run("HS256", secret, JWT_ALG_HS256, secret, iterations);
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    run("RS256", pem_text(rsa, 0), JWT_ALG_RS256, pem_text(rsa, 1), iterations / 10 > 0 ? iterations / 10 : 1);
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    run("ES256", pem_text(ec, 0), JWT_ALG_ES256, pem_text(ec, 1), iterations / 10 > 0 ? iterations / 10 : 1);
    return 0;
}
