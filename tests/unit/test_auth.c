/* test_auth: JWT verification (server/auth) with keys made here: signatures, exp/nbf and
 * their leeway, aud, iss, the role claim, alg confusion, malformed tokens, JWK sets by kid. */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "server/auth/auth.h"

#define NOW ((time_t) 1800000000)
#define SECRET "0123456789abcdef0123456789abcdef-test-secret"

static EVP_PKEY *rsa_key, *ec_key, *ec384_key, *other_rsa_key;
static char *rsa_private, *rsa_public, *ec_private, *ec_public, *ec384_private, *ec384_public;
static char *other_rsa_private;

static char *pem_text(EVP_PKEY *key, bool private_key)
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

static void make_keys(void)
{
    if (rsa_key != NULL)
        return;
    rsa_key = EVP_RSA_gen(2048);
    other_rsa_key = EVP_RSA_gen(2048);
    ec_key = EVP_EC_gen("P-256");
    ec384_key = EVP_EC_gen("P-384");
    ck_assert_ptr_nonnull(rsa_key);
    ck_assert_ptr_nonnull(ec384_key);
    rsa_private = pem_text(rsa_key, true);
    rsa_public = pem_text(rsa_key, false);
    other_rsa_private = pem_text(other_rsa_key, true);
    ec_private = pem_text(ec_key, true);
    ec_public = pem_text(ec_key, false);
    ec384_private = pem_text(ec384_key, true);
    ec384_public = pem_text(ec384_key, false);
}

static char key_path[64];

static const char *write_key_file(const char *text)
{
    snprintf(key_path, sizeof key_path, "/tmp/test_auth_key.XXXXXX");
    int fd = mkstemp(key_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    close(fd);
    return key_path;
}

/* tvsync_config holds char *: the tests give it literals it never writes to. */
static char *text_of(const char *text)
{
    return (char *) text;
}

typedef struct rules {
    const char *audience, *issuer, *role_claim, *anonymous_role;
} rules;

/* Keys from a file holding text, with rules; fails the test when they do not load. */
static auth_keys *load(const char *text, rules r)
{
    tvsync_config config;
    memset(&config, 0, sizeof config);
    config.server.jwt_key_file = text_of(text ? write_key_file(text) : "");
    config.server.jwt_audience = (char *) (r.audience ? r.audience : "");
    config.server.jwt_issuer = (char *) (r.issuer ? r.issuer : "");
    config.server.jwt_role_claim = (char *) (r.role_claim ? r.role_claim : "role");
    config.server.anonymous_role = (char *) (r.anonymous_role ? r.anonymous_role : "");
    char error[512] = "";
    auth_keys *keys = auth_keys_load(&config, error, sizeof error);
    if (text)
        unlink(key_path);
    ck_assert_msg(keys != NULL, "keys did not load: %s", error);
    return keys;
}

/* The error of a key file that must not load. */
static char load_error[512];
static bool load_fails(const char *text)
{
    tvsync_config config;
    memset(&config, 0, sizeof config);
    config.server.jwt_key_file = (char *) write_key_file(text);
    config.server.jwt_audience = config.server.jwt_issuer = config.server.anonymous_role = text_of("");
    config.server.jwt_role_claim = text_of("role");
    auth_keys *keys = auth_keys_load(&config, load_error, sizeof load_error);
    unlink(key_path);
    auth_keys_release(keys);
    return keys == NULL;
}

/* "Bearer <token>" signed with alg and key over claims (and kid when given). */
static char header_value[8192];
static const char *bearer(jwt_alg_t alg, const char *key, const char *claims, const char *kid)
{
    jwt_t *jwt = NULL;
    ck_assert_int_eq(jwt_new(&jwt), 0);
    ck_assert_int_eq(jwt_add_grants_json(jwt, claims), 0);
    if (kid)
        ck_assert_int_eq(jwt_add_header(jwt, "kid", kid), 0);
    ck_assert_int_eq(jwt_set_alg(jwt, alg, (const unsigned char *) key, key ? (int) strlen(key) : 0), 0);
    char *token = jwt_encode_str(jwt);
    ck_assert_ptr_nonnull(token);
    snprintf(header_value, sizeof header_value, "Bearer %s", token);
    free(token);
    jwt_free(jwt);
    return header_value;
}

static auth_failure failure;
static auth_identity identity;

static auth_result verify(auth_keys *keys, const char *authorization)
{
    auth_identity_clear(&identity);
    return auth_verify(keys, authorization, NOW, &identity, &failure);
}

static void assert_refused(auth_keys *keys, const char *authorization, const char *reason)
{
    ck_assert_int_eq(verify(keys, authorization), AUTH_INVALID);
    ck_assert_str_eq(failure.reason, reason);
    ck_assert_ptr_nonnull(failure.description);
    ck_assert_ptr_null(strchr(failure.description, '"'));
    ck_assert_ptr_null(identity.role);
}

START_TEST(test_hs256_token_gives_its_role_and_claims)
{
    auth_keys *keys = load(SECRET "\n", (rules){0});
    ck_assert_int_eq(verify(keys, bearer(JWT_ALG_HS256, SECRET, "{\"role\":\"web_user\",\"sub\":\"alice\"}", NULL)),
                     AUTH_OK);
    ck_assert_str_eq(identity.role, "web_user");
    ck_assert_str_eq(identity.claims_json, "{\"role\":\"web_user\",\"sub\":\"alice\"}");
    ck_assert(!identity.anonymous);
    /* The claims are passed on as signed: an integer past 2^53 keeps its digits. */
    ck_assert_int_eq(verify(keys, bearer(JWT_ALG_HS256, SECRET, "{\"role\":\"r\",\"uid\":9007199254740993}", NULL)),
                     AUTH_OK);
    ck_assert_ptr_nonnull(strstr(identity.claims_json, "\"uid\":9007199254740993"));
    auth_identity_clear(&identity);
    auth_keys_release(keys);
}
END_TEST

START_TEST(test_token_of_another_secret_is_refused)
{
    auth_keys *keys = load(SECRET, (rules){0});
    assert_refused(keys, bearer(JWT_ALG_HS256, SECRET "x", "{\"role\":\"web_user\"}", NULL), "signature");
    /* A payload swapped under a good signature. */
    const char *good = bearer(JWT_ALG_HS256, SECRET, "{\"role\":\"web_user\"}", NULL);
    char forged[8192];
    snprintf(forged, sizeof forged, "%s", good);
    char *payload = strchr(forged, '.') + 1;
    const char *admin = "eyJyb2xlIjoiYWRtaW5fdXNlciJ9"; /* {"role":"admin_user"} */
    char *end = strchr(payload, '.');
    char rebuilt[8192];
    snprintf(rebuilt, sizeof rebuilt, "%.*s%s%s", (int) (payload - forged), forged, admin, end);
    assert_refused(keys, rebuilt, "signature");
    auth_keys_release(keys);
}
END_TEST

START_TEST(test_exp_and_nbf_with_leeway)
{
    auth_keys *keys = load(SECRET, (rules){0});
    char claims[256];
    snprintf(claims, sizeof claims, "{\"role\":\"r\",\"exp\":%ld}", (long) NOW - AUTH_CLOCK_LEEWAY_SECONDS - 1);
    assert_refused(keys, bearer(JWT_ALG_HS256, SECRET, claims, NULL), "expired");
    snprintf(claims, sizeof claims, "{\"role\":\"r\",\"exp\":%ld}", (long) NOW - AUTH_CLOCK_LEEWAY_SECONDS + 1);
    ck_assert_int_eq(verify(keys, bearer(JWT_ALG_HS256, SECRET, claims, NULL)), AUTH_OK);
    snprintf(claims, sizeof claims, "{\"role\":\"r\",\"nbf\":%ld}", (long) NOW + AUTH_CLOCK_LEEWAY_SECONDS + 1);
    assert_refused(keys, bearer(JWT_ALG_HS256, SECRET, claims, NULL), "not_yet_valid");
    snprintf(claims, sizeof claims, "{\"role\":\"r\",\"nbf\":%ld}", (long) NOW + AUTH_CLOCK_LEEWAY_SECONDS - 1);
    ck_assert_int_eq(verify(keys, bearer(JWT_ALG_HS256, SECRET, claims, NULL)), AUTH_OK);
    assert_refused(keys, bearer(JWT_ALG_HS256, SECRET, "{\"role\":\"r\",\"exp\":\"tomorrow\"}", NULL), "malformed");
    auth_keys_release(keys);
}
END_TEST

START_TEST(test_audience_and_issuer_when_configured)
{
    auth_keys *keys = load(SECRET, (rules){.audience = "blog-api", .issuer = "https://id.example.com/"});
    const char *iss = "\"iss\":\"https://id.example.com/\"";
    char claims[256];
    snprintf(claims, sizeof claims, "{\"role\":\"r\",\"aud\":\"blog-api\",%s}", iss);
    ck_assert_int_eq(verify(keys, bearer(JWT_ALG_HS256, SECRET, claims, NULL)), AUTH_OK);
    snprintf(claims, sizeof claims, "{\"role\":\"r\",\"aud\":[\"other\",\"blog-api\"],%s}", iss);
    ck_assert_int_eq(verify(keys, bearer(JWT_ALG_HS256, SECRET, claims, NULL)), AUTH_OK);
    snprintf(claims, sizeof claims, "{\"role\":\"r\",\"aud\":\"other\",%s}", iss);
    assert_refused(keys, bearer(JWT_ALG_HS256, SECRET, claims, NULL), "audience");
    snprintf(claims, sizeof claims, "{\"role\":\"r\",%s}", iss);
    assert_refused(keys, bearer(JWT_ALG_HS256, SECRET, claims, NULL), "audience");
    assert_refused(keys, bearer(JWT_ALG_HS256, SECRET, "{\"role\":\"r\",\"aud\":\"blog-api\",\"iss\":\"evil\"}", NULL),
                   "issuer");
    assert_refused(keys, bearer(JWT_ALG_HS256, SECRET, "{\"role\":\"r\",\"aud\":\"blog-api\"}", NULL), "issuer");
    auth_keys_release(keys);
    /* Unconfigured, aud and iss are not looked at. */
    keys = load(SECRET, (rules){0});
    ck_assert_int_eq(verify(keys, bearer(JWT_ALG_HS256, SECRET, "{\"role\":\"r\",\"aud\":\"x\",\"iss\":\"y\"}", NULL)),
                     AUTH_OK);
    auth_keys_release(keys);
}
END_TEST

START_TEST(test_role_claim_missing_or_by_path)
{
    auth_keys *keys = load(SECRET, (rules){0});
    assert_refused(keys, bearer(JWT_ALG_HS256, SECRET, "{\"sub\":\"alice\"}", NULL), "role");
    assert_refused(keys, bearer(JWT_ALG_HS256, SECRET, "{\"role\":42}", NULL), "role");
    assert_refused(keys, bearer(JWT_ALG_HS256, SECRET, "{\"role\":\"\"}", NULL), "role");
    auth_keys_release(keys);
    keys = load(SECRET, (rules){.role_claim = ".realm_access.role"});
    ck_assert_int_eq(verify(keys, bearer(JWT_ALG_HS256, SECRET, "{\"realm_access\":{\"role\":\"editor\"}}", NULL)),
                     AUTH_OK);
    ck_assert_str_eq(identity.role, "editor");
    assert_refused(keys, bearer(JWT_ALG_HS256, SECRET, "{\"role\":\"editor\"}", NULL), "role");
    auth_keys_release(keys);
    /* A plain name is one claim, dots and all (namespaced claims). */
    keys = load(SECRET, (rules){.role_claim = "https://example.com/role"});
    ck_assert_int_eq(verify(keys, bearer(JWT_ALG_HS256, SECRET, "{\"https://example.com/role\":\"r\"}", NULL)), AUTH_OK);
    auth_keys_release(keys);
}
END_TEST

START_TEST(test_alg_must_fit_the_key)
{
    make_keys();
    /* The classic confusion: the RSA public key's PEM text used as an HMAC secret. */
    auth_keys *keys = load(rsa_public, (rules){0});
    assert_refused(keys, bearer(JWT_ALG_HS256, rsa_public, "{\"role\":\"r\"}", NULL), "algorithm");
    assert_refused(keys, bearer(JWT_ALG_NONE, NULL, "{\"role\":\"r\"}", NULL), "algorithm");
    assert_refused(keys, bearer(JWT_ALG_ES256, ec_private, "{\"role\":\"r\"}", NULL), "algorithm");
    auth_keys_release(keys);
    keys = load(SECRET, (rules){0});
    assert_refused(keys, bearer(JWT_ALG_RS256, rsa_private, "{\"role\":\"r\"}", NULL), "algorithm");
    assert_refused(keys, bearer(JWT_ALG_NONE, NULL, "{\"role\":\"r\"}", NULL), "algorithm");
    auth_keys_release(keys);
    /* An EC key verifies only its curve's algorithm. */
    keys = load(ec384_public, (rules){0});
    assert_refused(keys, bearer(JWT_ALG_ES256, ec_private, "{\"role\":\"r\"}", NULL), "algorithm");
    ck_assert_int_eq(verify(keys, bearer(JWT_ALG_ES384, ec384_private, "{\"role\":\"r\"}", NULL)), AUTH_OK);
    auth_keys_release(keys);
}
END_TEST

START_TEST(test_rs256_and_es256_from_pem)
{
    make_keys();
    auth_keys *keys = load(rsa_public, (rules){0});
    ck_assert_int_eq(verify(keys, bearer(JWT_ALG_RS256, rsa_private, "{\"role\":\"r\"}", NULL)), AUTH_OK);
    ck_assert_int_eq(verify(keys, bearer(JWT_ALG_RS512, rsa_private, "{\"role\":\"r\"}", NULL)), AUTH_OK);
    assert_refused(keys, bearer(JWT_ALG_RS256, other_rsa_private, "{\"role\":\"r\"}", NULL), "signature");
    auth_keys_release(keys);
    keys = load(ec_public, (rules){0});
    ck_assert_int_eq(verify(keys, bearer(JWT_ALG_ES256, ec_private, "{\"role\":\"r\"}", NULL)), AUTH_OK);
    auth_keys_release(keys);
}
END_TEST

START_TEST(test_malformed_tokens)
{
    auth_keys *keys = load(SECRET, (rules){0});
    assert_refused(keys, "Basic YWxpY2U6c2VjcmV0", "malformed");
    assert_refused(keys, "Bearer", "malformed");
    assert_refused(keys, "Bearer ", "malformed");
    assert_refused(keys, "Bearer abc", "malformed");
    assert_refused(keys, "Bearer a.b", "malformed");
    assert_refused(keys, "Bearer a.b.c.d", "malformed");
    assert_refused(keys, "Bearer !!!.???.sig", "malformed");
    assert_refused(keys, "Bearer eyJhbGciOiJIUzI1NiJ9.W10.sig", "malformed"); /* payload [] */
    assert_refused(keys, "Bearer bm90IGpzb24.e30.sig", "malformed");          /* header "not json" */
    /* The scheme is case-insensitive (RFC 7235). */
    const char *good = bearer(JWT_ALG_HS256, SECRET, "{\"role\":\"r\"}", NULL);
    char lower[8192];
    snprintf(lower, sizeof lower, "bearer  %s ", good + 7);
    ck_assert_int_eq(verify(keys, lower), AUTH_OK);
    auth_keys_release(keys);
}
END_TEST

/* base64url without padding of a big-endian number of exactly length bytes. */
static char *b64url_bn(const BIGNUM *number, int length)
{
    unsigned char bytes[1024];
    ck_assert_int_eq(BN_bn2binpad(number, bytes, length), length);
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = calloc(1, (size_t) length * 2 + 4);
    size_t used = 0;
    for (int i = 0; i < length; i += 3) {
        unsigned value = (unsigned) bytes[i] << 16 | (i + 1 < length ? (unsigned) bytes[i + 1] << 8 : 0) |
                         (i + 2 < length ? bytes[i + 2] : 0);
        int chars = length - i >= 3 ? 4 : length - i + 1;
        for (int c = 0; c < chars; c++)
            out[used++] = alphabet[(value >> (18 - 6 * c)) & 63];
    }
    return out;
}

static char *jwk_of(EVP_PKEY *key, const char *kid)
{
    char *text = calloc(1, 4096);
    BIGNUM *a = NULL, *b = NULL;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &a);
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &b);
        char *n = b64url_bn(a, BN_num_bytes(a)), *e = b64url_bn(b, BN_num_bytes(b));
        snprintf(text, 4096, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"use\":\"sig\",\"alg\":\"RS256\",\"n\":\"%s\",\"e\":\"%s\"}",
                 kid, n, e);
        free(n);
        free(e);
    } else {
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &a);
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &b);
        char *x = b64url_bn(a, 32), *y = b64url_bn(b, 32);
        snprintf(text, 4096, "{\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", kid, x, y);
        free(x);
        free(y);
    }
    BN_free(a);
    BN_free(b);
    return text;
}

START_TEST(test_jwks_key_chosen_by_kid)
{
    make_keys();
    char *rsa_jwk = jwk_of(rsa_key, "rsa-2026");
    char *ec_jwk = jwk_of(ec_key, "ec-2026");
    char set[10000];
    /* An encryption key in the set is skipped, and an oct key verifies HS256. */
    snprintf(set, sizeof set,
             "{\"keys\":[%s,%s,{\"kty\":\"RSA\",\"use\":\"enc\",\"kid\":\"x\"},"
             "{\"kty\":\"oct\",\"kid\":\"hmac\",\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\"}]}",
             rsa_jwk, ec_jwk);
    auth_keys *keys = load(set, (rules){0});
    ck_assert_int_eq(verify(keys, bearer(JWT_ALG_RS256, rsa_private, "{\"role\":\"r\"}", "rsa-2026")), AUTH_OK);
    ck_assert_int_eq(verify(keys, bearer(JWT_ALG_ES256, ec_private, "{\"role\":\"e\"}", "ec-2026")), AUTH_OK);
    ck_assert_str_eq(identity.role, "e");
    ck_assert_int_eq(verify(keys, bearer(JWT_ALG_HS256, "0123456789abcdef0123456789abcdef", "{\"role\":\"h\"}", "hmac")),
                     AUTH_OK);
    assert_refused(keys, bearer(JWT_ALG_RS256, rsa_private, "{\"role\":\"r\"}", "unknown"), "key");
    assert_refused(keys, bearer(JWT_ALG_RS256, rsa_private, "{\"role\":\"r\"}", NULL), "key");
    /* kid of the RSA key, signed by the EC key: the alg does not fit that key. */
    assert_refused(keys, bearer(JWT_ALG_ES256, ec_private, "{\"role\":\"r\"}", "rsa-2026"), "algorithm");
    /* The JWK's own alg binds it: RS512 under an RS256 key is refused. */
    assert_refused(keys, bearer(JWT_ALG_RS512, rsa_private, "{\"role\":\"r\"}", "rsa-2026"), "algorithm");
    auth_keys_release(keys);
    /* A set of one key needs no kid. */
    snprintf(set, sizeof set, "{\"keys\":[%s]}", ec_jwk);
    keys = load(set, (rules){0});
    ck_assert_int_eq(verify(keys, bearer(JWT_ALG_ES256, ec_private, "{\"role\":\"r\"}", NULL)), AUTH_OK);
    auth_keys_release(keys);
    free(rsa_jwk);
    free(ec_jwk);
}
END_TEST

START_TEST(test_anonymous_role)
{
    auth_keys *keys = load(SECRET, (rules){0});
    ck_assert_int_eq(verify(keys, NULL), AUTH_MISSING);
    ck_assert_str_eq(failure.reason, "missing");
    auth_keys_release(keys);
    keys = load(SECRET, (rules){.anonymous_role = "web_anon"});
    ck_assert_int_eq(verify(keys, NULL), AUTH_OK);
    ck_assert_str_eq(identity.role, "web_anon");
    ck_assert_str_eq(identity.claims_json, "{}");
    ck_assert(identity.anonymous);
    /* A bad token is not downgraded to anonymous. */
    assert_refused(keys, bearer(JWT_ALG_HS256, SECRET "x", "{\"role\":\"r\"}", NULL), "signature");
    auth_keys_release(keys);
    /* Without a key file every request is anonymous and a token is refused. */
    keys = load(NULL, (rules){.anonymous_role = "web_anon"});
    ck_assert_int_eq(verify(keys, NULL), AUTH_OK);
    assert_refused(keys, bearer(JWT_ALG_HS256, SECRET, "{\"role\":\"r\"}", NULL), "no_tokens");
    auth_keys_release(keys);
}
END_TEST

START_TEST(test_unusable_key_files_are_refused_with_a_reason)
{
    make_keys();
    ck_assert(load_fails("short\n"));
    ck_assert_ptr_nonnull(strstr(load_error, "at least 32 bytes"));
    ck_assert(load_fails(rsa_private));
    ck_assert_ptr_nonnull(strstr(load_error, "not a PEM public key"));
    ck_assert(load_fails("{\"keys\":[]}"));
    ck_assert_ptr_nonnull(strstr(load_error, "no signing key"));
    ck_assert(load_fails("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}"));
    ck_assert_ptr_nonnull(strstr(load_error, "an EC key needs"));
    ck_assert(load_fails("{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"none\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}"));
    EVP_PKEY *small = EVP_RSA_gen(1024);
    char *small_public = pem_text(small, false);
    ck_assert(load_fails(small_public));
    ck_assert_ptr_nonnull(strstr(load_error, "at least 2048"));
    free(small_public);
    EVP_PKEY_free(small);
    tvsync_config config;
    memset(&config, 0, sizeof config);
    config.server.jwt_key_file = text_of("/nonexistent/key");
    config.server.jwt_audience = config.server.jwt_issuer = config.server.anonymous_role = text_of("");
    config.server.jwt_role_claim = text_of("role");
    ck_assert_ptr_null(auth_keys_load(&config, load_error, sizeof load_error));
    ck_assert_ptr_nonnull(strstr(load_error, "/nonexistent/key"));
}
END_TEST

START_TEST(test_current_keys_outlive_a_swap_while_held)
{
    auth_keys *first = load(SECRET, (rules){0});
    auth_current *current = auth_current_new(first);
    auth_keys *held = auth_current_acquire(current);
    auth_current_replace(current, load(SECRET "-rotated", (rules){0}));
    /* A request that started before the swap verifies with the keys it holds. */
    ck_assert_int_eq(verify(held, bearer(JWT_ALG_HS256, SECRET, "{\"role\":\"r\"}", NULL)), AUTH_OK);
    auth_keys_release(held);
    auth_keys *now = auth_current_acquire(current);
    assert_refused(now, bearer(JWT_ALG_HS256, SECRET, "{\"role\":\"r\"}", NULL), "signature");
    auth_keys_release(now);
    auth_current_free(current);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("auth");
    TCase *tc = tcase_create("verify");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_hs256_token_gives_its_role_and_claims);
    tcase_add_test(tc, test_token_of_another_secret_is_refused);
    tcase_add_test(tc, test_exp_and_nbf_with_leeway);
    tcase_add_test(tc, test_audience_and_issuer_when_configured);
    tcase_add_test(tc, test_role_claim_missing_or_by_path);
    tcase_add_test(tc, test_alg_must_fit_the_key);
    tcase_add_test(tc, test_rs256_and_es256_from_pem);
    tcase_add_test(tc, test_malformed_tokens);
    tcase_add_test(tc, test_jwks_key_chosen_by_kid);
    tcase_add_test(tc, test_anonymous_role);
    tcase_add_test(tc, test_unusable_key_files_are_refused_with_a_reason);
    tcase_add_test(tc, test_current_keys_outlive_a_swap_while_held);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_set_fork_status(runner, CK_NOFORK);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
