/* test_token_cache: the per-worker cache of verified tokens (server/auth/token_cache) with real
 * HS256 tokens: hits share one identity, expiry and new keys are honoured, refusals stay out. */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jwt.h>

#include "server/auth/auth.h"
#include "server/auth/token_cache.h"

#define NOW ((time_t) 1800000000)
#define SECRET "0123456789abcdef0123456789abcdef-test-secret"
#define OTHER_SECRET "0123456789abcdef0123456789abcdef-another-one"

/* Keys from a file holding secret; anonymous_role when given. */
static auth_keys *load(const char *secret, const char *anonymous_role)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_token_cache.XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, secret, strlen(secret)), (ssize_t) strlen(secret));
    close(fd);
    tvsync_config config;
    memset(&config, 0, sizeof config);
    config.server.jwt_key_file = path;
    config.server.jwt_audience = config.server.jwt_issuer = (char *) "";
    config.server.jwt_role_claim = (char *) "role";
    config.server.anonymous_role = (char *) (anonymous_role ? anonymous_role : "");
    char error[512] = "";
    auth_keys *keys = auth_keys_load(&config, error, sizeof error);
    unlink(path);
    ck_assert_msg(keys != NULL, "keys did not load: %s", error);
    return keys;
}

/* "Bearer <token>" signed with HS256 and secret over claims; the caller frees it. */
static char *bearer(const char *secret, const char *claims)
{
    jwt_t *jwt = NULL;
    ck_assert_int_eq(jwt_new(&jwt), 0);
    ck_assert_int_eq(jwt_add_grants_json(jwt, claims), 0);
    ck_assert_int_eq(jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *) secret, (int) strlen(secret)), 0);
    char *token = jwt_encode_str(jwt);
    ck_assert_ptr_nonnull(token);
    char *value = malloc(strlen(token) + 8);
    sprintf(value, "Bearer %s", token);
    free(token);
    jwt_free(jwt);
    return value;
}

static char *bearer_for(const char *role, long exp)
{
    char claims[128];
    if (exp != 0)
        snprintf(claims, sizeof claims, "{\"role\":\"%s\",\"exp\":%ld}", role, exp);
    else
        snprintf(claims, sizeof claims, "{\"role\":\"%s\"}", role);
    return bearer(SECRET, claims);
}

static token_cache_stats stats_of(const token_cache *cache)
{
    token_cache_stats stats;
    token_cache_get_stats(cache, &stats);
    return stats;
}

static auth_failure failure;

/* Verifies and releases at once: the result and failure are what the test looks at. */
static auth_result verify(token_cache *cache, const auth_keys *keys, const char *authorization, time_t now)
{
    token_cache_hold hold = {0};
    auth_result result = token_cache_verify(cache, keys, authorization, now, &hold, &failure);
    if (result != AUTH_OK)
        ck_assert_ptr_null(token_cache_hold_identity(&hold)->role);
    token_cache_hold_release(&hold);
    return result;
}

START_TEST(test_hit_shares_the_identity_verified_first)
{
    auth_keys *keys = load(SECRET, NULL);
    token_cache *cache = token_cache_new(TOKEN_CACHE_ENTRIES);
    char *token = bearer_for("reader", NOW + 3600);
    token_cache_hold first = {0}, second = {0};
    ck_assert_int_eq(token_cache_verify(cache, keys, token, NOW, &first, &failure), AUTH_OK);
    ck_assert_int_eq(token_cache_verify(cache, keys, token, NOW + 1, &second, &failure), AUTH_OK);
    ck_assert_ptr_eq(token_cache_hold_identity(&first), token_cache_hold_identity(&second));
    ck_assert_str_eq(token_cache_hold_identity(&second)->role, "reader");
    ck_assert_ptr_nonnull(strstr(token_cache_hold_identity(&second)->claims_json, "\"reader\""));
    ck_assert(!token_cache_hold_identity(&second)->anonymous);
    token_cache_stats stats = stats_of(cache);
    ck_assert_uint_eq(stats.hits, 1);
    ck_assert_uint_eq(stats.misses, 1);
    ck_assert_uint_eq(stats.entries, 1);
    token_cache_hold_release(&first);
    /* The cache dropping its entry leaves the request's identity usable. */
    token_cache_free(cache);
    ck_assert_str_eq(token_cache_hold_identity(&second)->role, "reader");
    token_cache_hold_release(&second);
    ck_assert_ptr_null(second.shared);
    free(token);
    auth_keys_release(keys);
}
END_TEST

START_TEST(test_expired_entry_is_verified_again_and_refused)
{
    auth_keys *keys = load(SECRET, NULL);
    token_cache *cache = token_cache_new(TOKEN_CACHE_ENTRIES);
    char *token = bearer_for("reader", NOW + 10);
    ck_assert_int_eq(verify(cache, keys, token, NOW), AUTH_OK);
    /* The last second auth_verify itself accepts: exp plus the leeway. */
    ck_assert_int_eq(verify(cache, keys, token, NOW + 10 + AUTH_CLOCK_LEEWAY_SECONDS), AUTH_OK);
    ck_assert_uint_eq(stats_of(cache).hits, 1);
    ck_assert_int_eq(verify(cache, keys, token, NOW + 11 + AUTH_CLOCK_LEEWAY_SECONDS), AUTH_INVALID);
    ck_assert_str_eq(failure.reason, "expired");
    ck_assert_uint_eq(stats_of(cache).hits, 1);
    ck_assert_uint_eq(stats_of(cache).entries, 0);
    free(token);

    /* Without exp: trusted for a bounded time, then verified again. */
    token = bearer_for("reader", 0);
    ck_assert_int_eq(verify(cache, keys, token, NOW), AUTH_OK);
    ck_assert_int_eq(verify(cache, keys, token, NOW + TOKEN_CACHE_NO_EXPIRY_SECONDS), AUTH_OK);
    ck_assert_uint_eq(stats_of(cache).hits, 2);
    uint64_t misses = stats_of(cache).misses;
    ck_assert_int_eq(verify(cache, keys, token, NOW + TOKEN_CACHE_NO_EXPIRY_SECONDS + 1), AUTH_OK);
    ck_assert_uint_eq(stats_of(cache).misses, misses + 1);
    free(token);
    token_cache_free(cache);
    auth_keys_release(keys);
}
END_TEST

START_TEST(test_new_keys_empty_the_cache)
{
    auth_keys *keys = load(SECRET, NULL);
    token_cache *cache = token_cache_new(TOKEN_CACHE_ENTRIES);
    char *token = bearer_for("reader", NOW + 3600);
    token_cache_hold held = {0};
    ck_assert_int_eq(token_cache_verify(cache, keys, token, NOW, &held, &failure), AUTH_OK);
    ck_assert_int_eq(verify(cache, keys, token, NOW), AUTH_OK);
    ck_assert_uint_eq(stats_of(cache).hits, 1);

    /* Rotated: the token of the old secret no longer passes, though it was cached. */
    auth_keys *rotated = load(OTHER_SECRET, NULL);
    ck_assert_uint_ne(auth_keys_generation(rotated), auth_keys_generation(keys));
    ck_assert_int_eq(verify(cache, rotated, token, NOW), AUTH_INVALID);
    ck_assert_str_eq(failure.reason, "signature");
    ck_assert_uint_eq(stats_of(cache).entries, 0);
    ck_assert_str_eq(token_cache_hold_identity(&held)->role, "reader");
    token_cache_hold_release(&held);

    /* The same secret loaded again is still other keys (rules may differ): verified anew. */
    auth_keys *reloaded = load(SECRET, NULL);
    uint64_t misses = stats_of(cache).misses;
    ck_assert_int_eq(verify(cache, reloaded, token, NOW), AUTH_OK);
    ck_assert_uint_eq(stats_of(cache).misses, misses + 1);
    ck_assert_uint_eq(stats_of(cache).hits, 1);
    free(token);
    token_cache_free(cache);
    auth_keys_release(keys);
    auth_keys_release(rotated);
    auth_keys_release(reloaded);
}
END_TEST

START_TEST(test_value_differing_in_one_byte_misses)
{
    auth_keys *keys = load(SECRET, NULL);
    /* One bucket: every entry is a candidate for every lookup, as under a hash collision. */
    token_cache *cache = token_cache_new(1);
    char *reader = bearer_for("reader", NOW + 3600);
    char *writer = bearer_for("writer", NOW + 3600);
    char *spaced = malloc(strlen(reader) + 2);
    sprintf(spaced, "%s ", reader);
    token_cache_hold hold = {0}, other = {0};
    ck_assert_int_eq(token_cache_verify(cache, keys, reader, NOW, &hold, &failure), AUTH_OK);
    /* Verifies to the same identity, but is other bytes: not an entry's match. */
    ck_assert_int_eq(token_cache_verify(cache, keys, spaced, NOW, &other, &failure), AUTH_OK);
    ck_assert_ptr_ne(token_cache_hold_identity(&hold), token_cache_hold_identity(&other));
    ck_assert_uint_eq(stats_of(cache).misses, 2);
    token_cache_hold_release(&hold);
    token_cache_hold_release(&other);
    for (int round = 0; round < 3; round++) {
        ck_assert_int_eq(token_cache_verify(cache, keys, writer, NOW, &hold, &failure), AUTH_OK);
        ck_assert_str_eq(token_cache_hold_identity(&hold)->role, "writer");
        token_cache_hold_release(&hold);
        ck_assert_int_eq(token_cache_verify(cache, keys, reader, NOW, &hold, &failure), AUTH_OK);
        ck_assert_str_eq(token_cache_hold_identity(&hold)->role, "reader");
        token_cache_hold_release(&hold);
    }
    /* A cached token with one byte of its signature changed is refused. */
    char *forged = strdup(reader);
    size_t last = strlen(forged) - 1;
    forged[last] = forged[last] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(verify(cache, keys, forged, NOW), AUTH_INVALID);
    ck_assert_str_eq(failure.reason, "signature");
    free(forged);
    free(spaced);
    free(reader);
    free(writer);
    token_cache_free(cache);
    auth_keys_release(keys);
}
END_TEST

START_TEST(test_entries_stay_bounded_by_eviction)
{
    auth_keys *keys = load(SECRET, NULL);
    token_cache *cache = token_cache_new(16);
    for (int i = 0; i < 200; i++) {
        char claims[96];
        snprintf(claims, sizeof claims, "{\"role\":\"reader\",\"n\":%d,\"exp\":%ld}", i, (long) NOW + 3600);
        char *token = bearer(SECRET, claims);
        ck_assert_int_eq(verify(cache, keys, token, NOW), AUTH_OK);
        free(token);
        ck_assert_uint_le(stats_of(cache).entries, 16);
    }
    ck_assert_uint_eq(stats_of(cache).entries + stats_of(cache).evictions, 200);
    token_cache_free(cache);
    auth_keys_release(keys);
}
END_TEST

START_TEST(test_refusals_are_not_kept_and_evict_nothing)
{
    auth_keys *keys = load(SECRET, NULL);
    token_cache *cache = token_cache_new(8);
    char *valid[8];
    for (int i = 0; i < 8; i++) {
        char claims[96];
        snprintf(claims, sizeof claims, "{\"role\":\"reader\",\"n\":%d}", i);
        valid[i] = bearer(SECRET, claims);
        ck_assert_int_eq(verify(cache, keys, valid[i], NOW), AUTH_OK);
    }
    ck_assert_uint_eq(stats_of(cache).entries, 8);
    for (int i = 0; i < 100; i++) {
        char claims[96];
        snprintf(claims, sizeof claims, "{\"role\":\"admin\",\"n\":%d}", i);
        char *forged = bearer(OTHER_SECRET, claims);
        ck_assert_int_eq(verify(cache, keys, forged, NOW), AUTH_INVALID);
        ck_assert_int_eq(verify(cache, keys, forged, NOW), AUTH_INVALID);
        free(forged);
    }
    ck_assert_int_eq(verify(cache, keys, "Bearer not-a-token", NOW), AUTH_INVALID);
    ck_assert_uint_eq(stats_of(cache).evictions, 0);
    ck_assert_uint_eq(stats_of(cache).misses, 8 + 201);
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(verify(cache, keys, valid[i], NOW), AUTH_OK);
        free(valid[i]);
    }
    ck_assert_uint_eq(stats_of(cache).hits, 8);
    token_cache_free(cache);
    auth_keys_release(keys);
}
END_TEST

START_TEST(test_long_token_and_no_token_are_not_kept)
{
    auth_keys *keys = load(SECRET, "guest");
    token_cache *cache = token_cache_new(TOKEN_CACHE_ENTRIES);
    size_t filler_length = TOKEN_CACHE_MAX_AUTHORIZATION_BYTES;
    char *claims = malloc(filler_length + 64);
    snprintf(claims, filler_length + 64, "{\"role\":\"reader\",\"filler\":\"%0*d\"}", (int) filler_length, 0);
    char *token = bearer(SECRET, claims);
    ck_assert_uint_gt(strlen(token), TOKEN_CACHE_MAX_AUTHORIZATION_BYTES);
    ck_assert_int_eq(verify(cache, keys, token, NOW), AUTH_OK);
    ck_assert_int_eq(verify(cache, keys, token, NOW), AUTH_OK);
    ck_assert_uint_eq(stats_of(cache).misses, 2);
    ck_assert_uint_eq(stats_of(cache).entries, 0);
    token_cache_hold hold = {0};
    ck_assert_int_eq(token_cache_verify(cache, keys, NULL, NOW, &hold, &failure), AUTH_OK);
    ck_assert_str_eq(token_cache_hold_identity(&hold)->role, "guest");
    ck_assert(token_cache_hold_identity(&hold)->anonymous);
    token_cache_hold_release(&hold);
    ck_assert_uint_eq(stats_of(cache).entries, 0);
    free(token);
    free(claims);
    token_cache_free(cache);
    auth_keys_release(keys);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("token_cache");
    TCase *tc = tcase_create("cache");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_hit_shares_the_identity_verified_first);
    tcase_add_test(tc, test_expired_entry_is_verified_again_and_refused);
    tcase_add_test(tc, test_new_keys_empty_the_cache);
    tcase_add_test(tc, test_value_differing_in_one_byte_misses);
    tcase_add_test(tc, test_entries_stay_bounded_by_eviction);
    tcase_add_test(tc, test_refusals_are_not_kept_and_evict_nothing);
    tcase_add_test(tc, test_long_token_and_no_token_are_not_kept);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_set_fork_status(runner, CK_NOFORK);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
