/* fuzz_auth: libFuzzer target for server/auth: any Authorization header value is accepted or
 * refused, and any key file loaded or refused; never a crash, a leak or a time beyond linear.
 * The first input byte picks the case: 0 an HS256 secret, 1 a JWK set, 2 the key file itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "server/auth/auth.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The secret of the seeds in corpus_auth, so their signatures verify. */
#define FUZZ_SECRET "fuzz-secret-0123456789abcdef0123456789"

static auth_keys *secret_keys, *set_keys;
static char key_path[64];

static auth_keys *load(const char *text, size_t length)
{
    FILE *file = fopen(key_path, "wb");
    if (file == NULL)
        abort();
    fwrite(text, 1, length, file);
    fclose(file);
    tvsync_config config;
    memset(&config, 0, sizeof config);
    config.server.jwt_key_file = key_path;
    config.server.jwt_audience = (char *) "fuzz";
    config.server.jwt_issuer = (char *) "";
    config.server.jwt_role_claim = (char *) ".app.role";
    config.server.anonymous_role = (char *) "anon";
    char error[512];
    return auth_keys_load(&config, error, sizeof error);
}

static void b64url(const BIGNUM *number, int length, char *out)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char bytes[600];
    BN_bn2binpad(number, bytes, length);
    size_t used = 0;
    for (int i = 0; i < length; i += 3) {
        unsigned value = (unsigned) bytes[i] << 16 | (i + 1 < length ? (unsigned) bytes[i + 1] << 8 : 0) |
                         (i + 2 < length ? bytes[i + 2] : 0);
        int chars = length - i >= 3 ? 4 : length - i + 1;
        for (int c = 0; c < chars; c++)
            out[used++] = alphabet[(value >> (18 - 6 * c)) & 63];
    }
    out[used] = '\0';
}

static void remove_key_file(void)
{
    unlink(key_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    snprintf(key_path, sizeof key_path, "/tmp/fuzz_auth_key.%d", (int) getpid());
    umask(077); /* a secret others may read is warned about on every load: not what is fuzzed */
    atexit(remove_key_file);
    secret_keys = load(FUZZ_SECRET, strlen(FUZZ_SECRET));
    EVP_PKEY *rsa = EVP_RSA_gen(2048), *ec = EVP_EC_gen("P-256");
    BIGNUM *n = NULL, *e = NULL, *x = NULL, *y = NULL;
    EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_E, &e);
    EVP_PKEY_get_bn_param(ec, OSSL_PKEY_PARAM_EC_PUB_X, &x);
    EVP_PKEY_get_bn_param(ec, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
    static char n_text[400], e_text[16], x_text[64], y_text[64], set[2048];
    b64url(n, BN_num_bytes(n), n_text);
    b64url(e, BN_num_bytes(e), e_text);
    b64url(x, 32, x_text);
    b64url(y, 32, y_text);
    snprintf(set, sizeof set,
             "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r\",\"n\":\"%s\",\"e\":\"%s\"},"
             "{\"kty\":\"EC\",\"kid\":\"e\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"},"
             "{\"kty\":\"oct\",\"kid\":\"h\",\"alg\":\"HS256\",\"k\":\"ZnV6ei1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODk\"}]}",
             n_text, e_text, x_text, y_text);
    set_keys = load(set, strlen(set));
    BN_free(n);
    BN_free(e);
    BN_free(x);
    BN_free(y);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    if (secret_keys == NULL || set_keys == NULL)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int mode = data[0] % 3;
    /* A header value ends at NUL (the HTTP layer refuses NUL in headers). */
    size_t length = strnlen((const char *) data + 1, size - 1);
    char *text = malloc(length + 1);
    memcpy(text, data + 1, length);
    text[length] = '\0';
    if (mode == 2) {
        auth_keys_release(load(text, length));
    } else {
        auth_identity identity;
        auth_failure failure;
        auth_result result = auth_verify(mode == 0 ? secret_keys : set_keys, text, 1800000000, &identity, &failure);
        if (result == AUTH_OK && (identity.role == NULL || identity.claims_json == NULL))
            __builtin_trap();
        if (result != AUTH_OK && (failure.reason == NULL || strchr(failure.description, '"') != NULL))
            __builtin_trap();
        auth_identity_clear(&identity);
    }
    free(text);
    return 0;
}
