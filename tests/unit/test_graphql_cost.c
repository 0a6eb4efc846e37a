/* Unit tests for gql_cost: what a request counts (values, root fields, list limits times
 * nesting, introspection by what it prints) and the introspection switch. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graphql_test_helpers.h"
#include "server/graphql/gql_cost.h"

static const gql_cost_rules rules = {
    .max_cost = 1000000,
    .query_root_cost = 100,
    .mutation_root_cost = 200,
    .default_list_limit = 5,
    .max_list_limit = 50,
    .introspection = true,
};

/* The cost of doc, counted in full. */
static uint64_t cost_of(const char *doc, const gql_cost_rules *with)
{
    gql_schema *schema = test_schema();
    cJSON *errors = NULL;
    gql_prepared *prepared = gql_prepare(schema, doc, strlen(doc), NULL, NULL, &errors);
    ck_assert_msg(prepared != NULL, "prepare failed: %s", doc);
    gql_request *request = gql_request_new(prepared, NULL, &errors);
    ck_assert_ptr_nonnull(request);
    bool exact = false;
    uint64_t cost = gql_cost_of(request, with, UINT64_MAX / 8, &exact);
    ck_assert(exact);
    gql_request_free(request);
    gql_prepared_release(prepared);
    gql_schema_free(schema);
    return cost;
}

START_TEST(test_each_value_counts_once_per_object_and_each_root_field_its_statements)
{
    /* 100 for the statement, posts, then 7 posts x (id, title) */
    ck_assert_uint_eq(cost_of("{ posts(limit: 7) { id title } }", &rules), 100 + 1 + 7 * 2);
    /* the default of the limit argument (10) counts */
    ck_assert_uint_eq(cost_of("{ posts { id } }", &rules), 100 + 1 + 10);
    /* a limit above the cap counts as the cap, as the SQL applies it */
    ck_assert_uint_eq(cost_of("{ posts(limit: 100000) { id } }", &rules), 100 + 1 + 50);
    ck_assert_uint_eq(cost_of("{ post(id: \"x\") { id author { name } } }", &rules), 100 + 1 + 2 + 1);
    ck_assert_uint_eq(cost_of("mutation { createPost(title: \"t\") { id } }", &rules), 200 + 1 + 1);
    ck_assert_uint_eq(cost_of("{ __typename }", &rules), 1);
}
END_TEST

START_TEST(test_nested_lists_multiply_by_their_limit_or_the_default)
{
    /* 3 posts, each with up to default_list_limit (5) comments */
    ck_assert_uint_eq(cost_of("{ posts(limit: 3) { comments { id body } } }", &rules), 100 + 1 + 3 + 3 * 5 * 2);
}
END_TEST

START_TEST(test_aliases_count_each)
{
    char doc[4096] = "{";
    for (int i = 0; i < 40; i++)
        snprintf(doc + strlen(doc), sizeof doc - strlen(doc), " a%d: posts(limit: 2) { id }", i);
    strcat(doc, " }");
    ck_assert_uint_eq(cost_of(doc, &rules), 40 * (100 + 1 + 2));
}
END_TEST

START_TEST(test_an_abstract_type_counts_its_dearest_possible_type)
{
    /* search (default 5 results): a Post selects 3 fields, a User 1 */
    ck_assert_uint_eq(cost_of("{ search(text: \"x\") { ... on Post { id title views } ... on User { id } } }", &rules),
                      100 + 1 + 5 * 3);
}
END_TEST

START_TEST(test_introspection_counts_what_it_prints)
{
    gql_schema *schema = test_schema();
    uint64_t types = gql_schema_type_count(schema);
    gql_schema_free(schema);
    /* the __schema object, its types field, then each type object and its name */
    ck_assert_uint_eq(cost_of("{ __schema { types { name } } }", &rules), 2 + 2 * types);
    ck_assert_uint_eq(cost_of("{ __type(name: \"User\") { name fields { name } } }", &rules), 1 + 2 + 2 * 2);
    ck_assert_uint_eq(cost_of("{ __type(name: \"Nope\") { name } }", &rules), 1);
    ck_assert_uint_eq(cost_of("{ a: __schema { types { name } } b: __schema { types { name } } }", &rules),
                      2 * (2 + 2 * types));
}
END_TEST

static cJSON *check(const char *doc, const gql_cost_rules *with)
{
    gql_schema *schema = test_schema();
    cJSON *errors = NULL;
    gql_prepared *prepared = gql_prepare(schema, doc, strlen(doc), NULL, NULL, &errors);
    ck_assert_ptr_nonnull(prepared);
    gql_request *request = gql_request_new(prepared, NULL, &errors);
    ck_assert_ptr_nonnull(request);
    errors = NULL;
    bool ok = gql_cost_check(request, with, &errors);
    ck_assert(ok == (errors == NULL));
    gql_request_free(request);
    gql_prepared_release(prepared);
    gql_schema_free(schema);
    return errors;
}

static const char *error_code(const cJSON *errors)
{
    const cJSON *extensions = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(errors, 0), "extensions");
    return cJSON_GetObjectItemCaseSensitive(extensions, "code")->valuestring;
}

START_TEST(test_over_the_limit_is_refused_saying_cost_and_limit)
{
    gql_cost_rules small = rules;
    small.max_cost = 114;
    ck_assert_ptr_null(check("{ posts(limit: 6) { id title } }", &small)); /* 113 */
    cJSON *errors = check("{ posts(limit: 7) { id title } }", &small);    /* 115 */
    ck_assert_str_eq(error_code(errors), "QUERY_TOO_EXPENSIVE");
    const char *message = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(errors, 0), "message")->valuestring;
    ck_assert_ptr_nonnull(strstr(message, "would cost 115, more than server.max_request_cost = 114"));
    ck_assert_ptr_nonnull(strstr(message, "a smaller limit"));
    cJSON_Delete(errors);
    /* introspection stops counting once over: the cost is then a lower bound */
    errors = check("{ __schema { types { name fields { name args { name } } } } }", &small);
    message = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(errors, 0), "message")->valuestring;
    ck_assert_ptr_nonnull(strstr(message, "would cost at least 115,"));
    cJSON_Delete(errors);
}
END_TEST

START_TEST(test_introspection_off_refuses_schema_and_type_but_not_typename)
{
    gql_cost_rules off = rules;
    off.introspection = false;
    cJSON *errors = check("{ __type(name: \"Post\") { name } }", &off);
    ck_assert_str_eq(error_code(errors), "INTROSPECTION_DISABLED");
    cJSON_Delete(errors);
    errors = check("query { ...F } fragment F on Query { __schema { queryType { name } } }", &off);
    ck_assert_str_eq(error_code(errors), "INTROSPECTION_DISABLED");
    cJSON_Delete(errors);
    ck_assert_ptr_null(check("{ __typename posts { __typename id } }", &off));
}
END_TEST

static double seconds_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

/* The fastest of three prepares (and plans) of n aliases on one line. */
static double prepare_seconds(gql_schema *schema, int n)
{
    size_t size = (size_t) n * 40 + 8;
    char *doc = malloc(size);
    size_t used = (size_t) snprintf(doc, size, "{");
    for (int i = 0; i < n; i++)
        used += (size_t) snprintf(doc + used, size - used, " a%d: posts(limit: 2) { id }", i);
    snprintf(doc + used, size - used, " }");
    double best = 1e9;
    for (int round = 0; round < 3; round++) {
        double start = seconds_now();
        cJSON *errors = NULL;
        gql_prepared *prepared = gql_prepare(schema, doc, strlen(doc), NULL, NULL, &errors);
        ck_assert_ptr_nonnull(prepared);
        gql_prepared_release(prepared);
        double took = seconds_now() - start;
        best = took < best ? took : best;
    }
    free(doc);
    return best;
}

/* A plan locates each field; from the start of a long line each time, 5,000 aliases on one
 * line took seconds to plan, before the cost limit could refuse them. 8x the aliases must
 * cost about 8x (quadratic: 64x); the margin absorbs a noisy machine. */
START_TEST(test_planning_many_aliases_on_one_line_is_linear)
{
    gql_schema *schema = test_schema();
    double small = prepare_seconds(schema, 500);
    double large = prepare_seconds(schema, 4000);
    gql_schema_free(schema);
    ck_assert_msg(large < small * 24, "4,000 aliases took %.1fx as long as 500", large / small);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("graphql_cost");
    TCase *tc = tcase_create("cost");
    tcase_add_test(tc, test_each_value_counts_once_per_object_and_each_root_field_its_statements);
    tcase_add_test(tc, test_nested_lists_multiply_by_their_limit_or_the_default);
    tcase_add_test(tc, test_aliases_count_each);
    tcase_add_test(tc, test_an_abstract_type_counts_its_dearest_possible_type);
    tcase_add_test(tc, test_introspection_counts_what_it_prints);
    tcase_add_test(tc, test_over_the_limit_is_refused_saying_cost_and_limit);
    tcase_add_test(tc, test_introspection_off_refuses_schema_and_type_but_not_typename);
    tcase_add_test(tc, test_planning_many_aliases_on_one_line_is_linear);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
