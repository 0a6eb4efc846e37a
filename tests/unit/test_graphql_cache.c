/* Unit tests for the plan cache: hits skip preparation, LRU eviction, failures not cached,
 * and several threads sharing one cache. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graphql_test_helpers.h"
#include "server/graphql/gql_hash.h"

START_TEST(test_repeated_document_is_a_hit_and_shares_the_plan)
{
    gql_schema *s = test_schema();
    gql_plan_cache *c = gql_plan_cache_new(s, 4, NULL);
    const char *doc = "{ posts { id } }";
    bool hit = true;
    gql_prepared *a = gql_plan_cache_get(c, doc, strlen(doc), NULL, NULL, &hit);
    ck_assert(!hit);
    gql_prepared *b = gql_plan_cache_get(c, doc, strlen(doc), NULL, NULL, &hit);
    ck_assert(hit);
    ck_assert_ptr_eq(a, b);
    /* the operation name is part of the key */
    gql_prepared *d = gql_plan_cache_get(c, doc, strlen(doc), "", NULL, &hit);
    ck_assert(hit);
    gql_prepared_release(d);
    gql_plan_cache_stats st;
    gql_plan_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.hits, 2);
    ck_assert_uint_eq(st.misses, 1);
    ck_assert_uint_eq(st.entries, 1);
    gql_prepared_release(a);
    gql_prepared_release(b);
    gql_plan_cache_free(c);
    gql_schema_free(s);
}
END_TEST

START_TEST(test_least_recently_used_entry_is_evicted)
{
    gql_schema *s = test_schema();
    gql_plan_cache *c = gql_plan_cache_new(s, 2, NULL);
    const char *docs[] = {"{ a: posts { id } }", "{ b: posts { id } }", "{ c: posts { id } }"};
    bool hit;
    gql_prepared_release(gql_plan_cache_get(c, docs[0], strlen(docs[0]), NULL, NULL, &hit));
    gql_prepared_release(gql_plan_cache_get(c, docs[1], strlen(docs[1]), NULL, NULL, &hit));
    gql_prepared_release(gql_plan_cache_get(c, docs[0], strlen(docs[0]), NULL, NULL, &hit));
    ck_assert(hit);
    gql_prepared_release(gql_plan_cache_get(c, docs[2], strlen(docs[2]), NULL, NULL, &hit));
    /* b was the least recently used */
    gql_prepared_release(gql_plan_cache_get(c, docs[0], strlen(docs[0]), NULL, NULL, &hit));
    ck_assert(hit);
    gql_prepared_release(gql_plan_cache_get(c, docs[1], strlen(docs[1]), NULL, NULL, &hit));
    ck_assert(!hit);
    gql_plan_cache_stats st;
    gql_plan_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.entries, 2);
    ck_assert_uint_eq(st.evictions, 2);
    gql_plan_cache_free(c);
    gql_schema_free(s);
}
END_TEST

START_TEST(test_invalid_documents_are_not_cached)
{
    gql_schema *s = test_schema();
    gql_plan_cache *c = gql_plan_cache_new(s, 2, NULL);
    const char *doc = "{ nope }";
    cJSON *errors = NULL;
    bool hit;
    ck_assert_ptr_null(gql_plan_cache_get(c, doc, strlen(doc), NULL, &errors, &hit));
    ck_assert_int_eq(cJSON_GetArraySize(errors), 1);
    cJSON_Delete(errors);
    ck_assert_ptr_null(gql_plan_cache_get(c, doc, strlen(doc), NULL, &errors, &hit));
    ck_assert(!hit);
    cJSON_Delete(errors);
    gql_plan_cache_free(c);
    gql_schema_free(s);
}
END_TEST

typedef struct worker_arg {
    gql_plan_cache *cache;
    int id;
    int ok;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *w = p;
    char doc[128];
    for (int i = 0; i < 2000; i++) {
        snprintf(doc, sizeof(doc), "query Q%d($id: UUID!) { post(id: $id) { id title } }",
                 (i + w->id) % 12);
        gql_prepared *prepared = gql_plan_cache_get(w->cache, doc, strlen(doc), NULL, NULL, NULL);
        if (!prepared)
            continue;
        gql_request *r = gql_request_new_json(prepared, "{\"id\": \"x\"}", NULL);
        cJSON *root = cJSON_Parse("{\"post\": {\"id\": \"x\", \"title\": \"t\"}}");
        gql_buf b;
        gql_buf_init(&b);
        gql_execute_json(r, root, &b);
        if (strcmp(b.data, "{\"data\":{\"post\":{\"id\":\"x\",\"title\":\"t\"}}}") == 0)
            w->ok++;
        gql_buf_free(&b);
        cJSON_Delete(root);
        gql_request_free(r);
        gql_prepared_release(prepared);
    }
    return NULL;
}

START_TEST(test_threads_share_one_cache)
{
    gql_schema *s = test_schema();
    gql_plan_cache *c = gql_plan_cache_new(s, 8, NULL); /* smaller than the 12 documents */
    pthread_t threads[4];
    worker_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (worker_arg){c, i, 0};
        pthread_create(&threads[i], NULL, worker, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_int_eq(args[i].ok, 2000);
    }
    gql_plan_cache_stats st;
    gql_plan_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.hits + st.misses, 8000);
    ck_assert_uint_le(st.entries, 8);
    gql_plan_cache_free(c);
    gql_schema_free(s);
}
END_TEST

/* Requests made in one thread and freed in others (as an event loop may hand them over):
 * a thread's deferred releases and spare request block never free what another still uses.
 * Run under valgrind or ASan, this also shows every document freed once, at the end. */
typedef struct handover {
    gql_request **requests;
    gql_prepared **prepared;
    size_t first, count;
} handover;

static void *free_handed_over(void *p)
{
    handover *h = p;
    for (size_t i = h->first; i < h->first + h->count; i++) {
        const cJSON *variables = gql_request_variables(h->requests[i]);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(variables, "id");
        if (!cJSON_IsString(id) || strcmp(id->valuestring, "x") != 0)
            return (void *)1;
        gql_request_free(h->requests[i]);
        gql_prepared_release(h->prepared[i]);
    }
    return NULL;
}

START_TEST(test_requests_freed_by_other_threads)
{
    enum { REQUESTS = 400, THREADS = 4 };
    gql_schema *s = test_schema();
    gql_plan_cache *c = gql_plan_cache_new(s, 2, NULL); /* evicts: documents outlive entries */
    gql_request *requests[REQUESTS];
    gql_prepared *prepared[REQUESTS];
    char doc[128];
    for (int i = 0; i < REQUESTS; i++) {
        snprintf(doc, sizeof(doc), "query Q%d($id: UUID!) { post(id: $id) { id } }", i % 5);
        prepared[i] = gql_plan_cache_get(c, doc, strlen(doc), NULL, NULL, NULL);
        ck_assert_ptr_nonnull(prepared[i]);
        cJSON *variables = cJSON_Parse("{\"id\": \"x\"}");
        requests[i] = gql_request_new(prepared[i], variables, NULL);
        cJSON_Delete(variables);
        ck_assert_ptr_nonnull(requests[i]);
    }
    gql_plan_cache_free(c); /* the requests keep their documents */
    pthread_t threads[THREADS];
    handover parts[THREADS];
    for (int t = 0; t < THREADS; t++) {
        parts[t] = (handover){requests, prepared, (size_t)t * REQUESTS / THREADS,
                              REQUESTS / THREADS};
        pthread_create(&threads[t], NULL, free_handed_over, &parts[t]);
    }
    for (int t = 0; t < THREADS; t++) {
        void *result;
        pthread_join(threads[t], &result);
        ck_assert_ptr_null(result);
    }
    gql_schema_free(s);
}
END_TEST

/* The published SipHash-2-4 vectors for the key 00 01 .. 0f and the messages 00 01 .. (n-1)
 * (the paper's appendix gives n = 15): lengths 0, 7, 8 and 15 take every path through the
 * word loop and the last word. */
START_TEST(test_siphash_matches_the_published_vectors)
{
    unsigned char bytes[16], message[15];
    for (unsigned i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char)i;
    for (unsigned i = 0; i < sizeof message; i++)
        message[i] = (unsigned char)i;
    gql_hash_key key;
    gql_hash_key_from_bytes(&key, bytes);
    ck_assert_uint_eq(gql_siphash24(&key, message, 0), 0x726fdb47dd0e0e31ull);
    ck_assert_uint_eq(gql_siphash24(&key, message, 7), 0xab0200f58b01d137ull);
    ck_assert_uint_eq(gql_siphash24(&key, message, 8), 0x93f5f5799a932462ull);
    ck_assert_uint_eq(gql_siphash24(&key, message, 15), 0xa129ca6149be45e5ull);
}
END_TEST

/* SipHash-1-3 (the cache's portable hash) differs from 2-4 only in its round counts; its
 * value under the zero key, as CPython's hash() gives it (PYTHONHASHSEED=0). */
START_TEST(test_siphash13_matches_cpython)
{
    unsigned char message[15];
    for (unsigned i = 0; i < sizeof message; i++)
        message[i] = (unsigned char)i;
    gql_hash_key zero = {0, 0};
    ck_assert_uint_eq(gql_siphash13(&zero, "siphash", 7), 0x8264ceeccb16bcbeull);
    ck_assert_uint_eq(gql_siphash13(&zero, message, 7), 0x2f098ab0c751325aull);
    ck_assert_uint_eq(gql_siphash13(&zero, message, 15), 0xf30eb725bb91c9eaull);
}
END_TEST

/* A document hash without a position term lets anyone make colliding documents by swapping
 * blocks, whatever the key: a flood of them fills one bucket and every lookup compares them
 * all under the cache's lock. */
START_TEST(test_swapping_two_64_byte_blocks_changes_the_document_hash)
{
    char a[256], b[256];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = (char)('a' + (i / 64) * 3 + i % 7);
    memcpy(b, a, sizeof b);
    memcpy(b, a + 128, 64);
    memcpy(b + 128, a, 64);
    ck_assert(memcmp(a, b, sizeof a) != 0);
    gql_hash_key key;
    gql_hash_key_random(&key);
    for (int round = 0; round < 2; round++) {
        ck_assert_uint_ne(gql_siphash13(&key, a, sizeof a), gql_siphash13(&key, b, sizeof b));
        ck_assert_uint_ne(gql_siphash24(&key, a, sizeof a), gql_siphash24(&key, b, sizeof b));
        ck_assert_uint_ne(gql_hash_aes(&key, a, sizeof a), gql_hash_aes(&key, b, sizeof b));
        key = (gql_hash_key){0, 0};
    }
}
END_TEST

/* Two caches get different keys, so a collision found against one says nothing of another. */
START_TEST(test_random_keys_differ)
{
    gql_hash_key k1, k2;
    ck_assert(gql_hash_key_random(&k1));
    ck_assert(gql_hash_key_random(&k2));
    ck_assert(k1.k0 != k2.k0 || k1.k1 != k2.k1);
    ck_assert_uint_ne(gql_siphash13(&k1, "{ a }", 5), gql_siphash13(&k2, "{ a }", 5));
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("graphql_cache");
    TCase *tc = tcase_create("cache");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_repeated_document_is_a_hit_and_shares_the_plan);
    tcase_add_test(tc, test_requests_freed_by_other_threads);
    tcase_add_test(tc, test_least_recently_used_entry_is_evicted);
    tcase_add_test(tc, test_invalid_documents_are_not_cached);
    tcase_add_test(tc, test_siphash_matches_the_published_vectors);
    tcase_add_test(tc, test_siphash13_matches_cpython);
    tcase_add_test(tc, test_swapping_two_64_byte_blocks_changes_the_document_hash);
    tcase_add_test(tc, test_random_keys_differ);
    tcase_add_test(tc, test_threads_share_one_cache);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
