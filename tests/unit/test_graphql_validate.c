/* Unit tests for validation: a sample of graphql-js's rules with their exact messages,
 * locations and order (the differential test covers every rule against graphql-js). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "graphql_test_helpers.h"
#include "server/graphql/gql_date_time.h"
#include "server/graphql/gql_values.h"

static gql_schema *schema;

static void setup(void)
{
    schema = test_schema();
}

static void teardown(void)
{
    gql_schema_free(schema);
}

START_TEST(test_valid_document_has_no_errors)
{
    ck_assert_json_eq(test_validate(schema, "query Q($id: UUID!) { post(id: $id) { id title "
                                            "author { name } ...C } } fragment C on Post { "
                                            "comments { body } }"),
                      "{\"errors\":[]}");
}
END_TEST

START_TEST(test_unknown_field_suggests_names)
{
    ck_assert_json_eq(test_validate(schema, "{ post(id: \"1\") { titel } }"),
                      "{\"errors\":[{\"message\":\"Cannot query field \\\"titel\\\" on type "
                      "\\\"Post\\\". Did you mean \\\"title\\\"?\",\"locations\":[{\"line\":1,"
                      "\"column\":19}]}]}");
}
END_TEST

START_TEST(test_missing_argument_and_wrong_literal)
{
    ck_assert_json_eq(test_validate(schema, "{ post { id } posts(limit: \"x\") { id } }"),
                      "{\"errors\":[{\"message\":\"Field \\\"post\\\" argument \\\"id\\\" of type "
                      "\\\"UUID!\\\" is required, but it was not provided.\",\"locations\":[{"
                      "\"line\":1,\"column\":3}]},{\"message\":\"Int cannot represent "
                      "non-integer value: \\\"x\\\"\",\"locations\":[{\"line\":1,\"column\":28}]}]}");
}
END_TEST

START_TEST(test_variables_undefined_unused_and_misplaced)
{
    ck_assert_json_eq(
        test_validate(schema, "query Q($a: String, $b: Int) { post(id: $a) { id } x: post(id: "
                              "$c) { id } }"),
        "{\"errors\":[{\"message\":\"Variable \\\"$c\\\" is not defined by operation \\\"Q\\\".\","
        "\"locations\":[{\"line\":1,\"column\":64},{\"line\":1,\"column\":1}]},{\"message\":"
        "\"Variable \\\"$b\\\" is never used in operation \\\"Q\\\".\",\"locations\":[{\"line\":1,"
        "\"column\":21}]},{\"message\":\"Variable \\\"$a\\\" of type \\\"String\\\" used in position "
        "expecting type \\\"UUID!\\\".\",\"locations\":[{\"line\":1,\"column\":9},{\"line\":1,"
        "\"column\":41}]}]}");
}
END_TEST

START_TEST(test_overlapping_fields_conflict)
{
    ck_assert_json_eq(test_validate(schema, "{ post(id: \"1\") { x: title x: views } }"),
                      "{\"errors\":[{\"message\":\"Fields \\\"x\\\" conflict because \\\"title\\\" "
                      "and \\\"views\\\" are different fields. Use different aliases on the "
                      "fields to fetch both if this was intentional.\",\"locations\":[{\"line\":"
                      "1,\"column\":19},{\"line\":1,\"column\":28}]}]}");
}
END_TEST

/* "\u0000" and "\u{0}" decode to U+0000, which PostgreSQL text cannot store: refused where
 * written (graphql-js accepts them, and so does gql-tool). */
START_TEST(test_nul_in_string_value_is_refused)
{
    const char *message = "String value contains U+0000 (NUL), which PostgreSQL text cannot store: "
                          "remove it.";
    const char *docs[] = {"{ posts(where: {title: \"a\\u0000b\"}) { id } }",
                          "{ search(text: \"a\\u{0}\") { __typename } }"};
    for (size_t i = 0; i < 2; i++) {
        cJSON *errors = gql_validate_document(schema, docs[i], strlen(docs[i]), NULL, NULL);
        ck_assert_int_eq(cJSON_GetArraySize(errors), 1);
        ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(errors, 0), "message")->valuestring,
                         message);
        cJSON_Delete(errors);
    }
    gql_accept_graphql_js_values(true);
    cJSON *errors = gql_validate_document(schema, docs[0], strlen(docs[0]), NULL, NULL);
    gql_accept_graphql_js_values(false);
    ck_assert_int_eq(cJSON_GetArraySize(errors), 0);
    cJSON_Delete(errors);
}
END_TEST

static const char date_time_sdl[] =
    "scalar DateTime\n"
    "input DateTimeFilter { gt: DateTime in: [DateTime!] }\n"
    "input PostWhere { createdAt: DateTimeFilter }\n"
    "type Post { id: ID! createdAt: DateTime! }\n"
    "type Query { posts(where: PostWhere, since: DateTime): [Post!]! }\n";

/* DateTime is checked as RFC 3339, in literals (the error names the argument and input
 * fields) and in variables; graphql-js takes any value for a custom scalar. */
START_TEST(test_date_time_values_are_rfc3339)
{
    char *error = NULL;
    gql_schema *s = gql_schema_parse(date_time_sdl, strlen(date_time_sdl), &error);
    ck_assert_ptr_nonnull(s);
    ck_assert_json_eq(test_validate(s, "{ posts(where: {createdAt: {gt: \"garbage\"}}) { id } }"),
                      "{\"errors\":[{\"message\":\"Invalid value for \\\"where.createdAt.gt\\\": DateTime "
                      "cannot represent \\\"garbage\\\"; expected an RFC 3339 date-time such as "
                      "\\\"2024-05-01T12:00:00Z\\\".\",\"locations\":[{\"line\":1,\"column\":33}]}]}");
    /* February 30th, a number */
    ck_assert_json_eq(test_validate(s, "{ posts(since: 5, where: {createdAt: {in: [\"2024-02-30T00:00:00Z\"]}}) "
                                       "{ id } }"),
                      "{\"errors\":[{\"message\":\"Invalid value for \\\"since\\\": DateTime cannot "
                      "represent 5; expected an RFC 3339 date-time such as \\\"2024-05-01T12:00:00Z\\\".\","
                      "\"locations\":[{\"line\":1,\"column\":16}]},{\"message\":\"Invalid value for "
                      "\\\"where.createdAt.in\\\": DateTime cannot represent \\\"2024-02-30T00:00:00Z\\\"; "
                      "expected an RFC 3339 date-time such as \\\"2024-05-01T12:00:00Z\\\".\",\"locations\":"
                      "[{\"line\":1,\"column\":44}]}]}");
    ck_assert_json_eq(test_validate(s, "{ a: posts(since: \"2024-02-29T23:59:60.5+01:00\") { id } "
                                       "b: posts(since: \"2023-12-31t10:00:00z\") { id } }"),
                      "{\"errors\":[]}");
    const char *invalid[] = {"2024-05-01", "2024-05-01T12:00:00", "2023-02-29T00:00:00Z",
                             "2024-05-01T24:00:00Z", "2024-05-01T12:00:00+2:00", "2024-05-01T12:00:00Z ",
                             "2024-05-01 12:00:00Z", "2024-13-01T12:00:00Z"};
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++)
        ck_assert_msg(!gql_date_time_valid(invalid[i]), "%s accepted", invalid[i]);
    ck_assert_json_eq(test_execute(s, "query ($s: DateTime) { posts(since: $s) { id } }",
                                   "{\"s\": \"yesterday\"}", "{\"posts\": []}"),
                      "{\"errors\":[{\"message\":\"Variable \\\"$s\\\" got invalid value \\\"yesterday\\\"; "
                      "DateTime cannot represent \\\"yesterday\\\"; expected an RFC 3339 date-time such as "
                      "\\\"2024-05-01T12:00:00Z\\\".\",\"locations\":[{\"line\":1,\"column\":8}]}]}");
    ck_assert_json_eq(test_execute(s, "query ($s: DateTime) { posts(since: $s) { id } }",
                                   "{\"s\": \"2024-05-01T12:00:00Z\"}", "{\"posts\": []}"),
                      "{\"data\":{\"posts\":[]}}");
    gql_schema_free(s);
}
END_TEST

/* The error limit is reached among repeated directives: the rule's map is freed all the
 * same (a leak checker, valgrind or ASan, sees this run). */
START_TEST(test_error_limit_in_repeated_directives_frees_everything)
{
    char doc[8192] = "{ post(id: \"1\")";
    for (int i = 0; i < 200; i++)
        strcat(doc, " @include(if: true)");
    strcat(doc, " { id } }");
    cJSON *errors = gql_validate_document(schema, doc, strlen(doc), NULL, NULL);
    ck_assert_int_eq(cJSON_GetArraySize(errors), 101);
    const cJSON *last = cJSON_GetArrayItem(errors, 100);
    ck_assert_str_eq(cJSON_GetObjectItem(last, "message")->valuestring,
                     "Too many validation errors, error limit reached. Validation aborted.");
    cJSON_Delete(errors);
}
END_TEST

START_TEST(test_fragment_cycles_and_unused_fragments)
{
    ck_assert_json_eq(test_validate(schema, "{ post(id: \"1\") { ...A } } fragment A on Post { "
                                            "...A } fragment B on Post { id }"),
                      "{\"errors\":[{\"message\":\"Cannot spread fragment \\\"A\\\" within "
                      "itself.\",\"locations\":[{\"line\":1,\"column\":49}]},{\"message\":"
                      "\"Fragment \\\"B\\\" is never used.\",\"locations\":[{\"line\":1,"
                      "\"column\":56}]}]}");
}
END_TEST

START_TEST(test_operation_selection_errors)
{
    cJSON *errors = gql_validate_document(schema, "query A { __typename } query B { __typename }",
                                          45, NULL, NULL);
    char *text = cJSON_PrintUnformatted(errors);
    ck_assert_str_eq(text, "[{\"message\":\"Must provide operation name if query contains "
                           "multiple operations.\"}]");
    free(text);
    cJSON_Delete(errors);
    errors = gql_validate_document(schema, "query A { __typename }", 22, "C", NULL);
    text = cJSON_PrintUnformatted(errors);
    ck_assert_str_eq(text, "[{\"message\":\"Unknown operation named \\\"C\\\".\"}]");
    free(text);
    cJSON_Delete(errors);
}
END_TEST

START_TEST(test_error_count_is_capped_at_100)
{
    char doc[4096] = "{ ";
    for (int i = 0; i < 150; i++)
        strcat(doc, "x ");
    strcat(doc, "}");
    cJSON *errors = gql_validate_document(schema, doc, strlen(doc), NULL, NULL);
    ck_assert_int_eq(cJSON_GetArraySize(errors), 101);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(errors, 100), "message")->valuestring,
                     "Too many validation errors, error limit reached. Validation aborted.");
    cJSON_Delete(errors);
}
END_TEST

START_TEST(test_fragment_chains_count_toward_depth_limit)
{
    /* 80 fragments each nesting the next one level deeper */
    gql_buf b;
    gql_buf_init(&b);
    gql_buf_puts(&b, "{ post(id: \"1\") { ...F0 } }");
    for (int i = 0; i < 80; i++)
        gql_buf_printf(&b, " fragment F%d on Post { author { id } ...F%d }", i, i + 1);
    gql_buf_puts(&b, " fragment F80 on Post { id }");
    cJSON *errors = gql_validate_document(schema, b.data, b.len, NULL, NULL);
    ck_assert_int_eq(cJSON_GetArraySize(errors), 1);
    ck_assert_str_eq(cJSON_GetObjectItem(errors->child, "message")->valuestring,
                     "Document exceeds the maximum nesting depth of 64 (fragment spreads "
                     "included).");
    cJSON_Delete(errors);
    gql_buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("graphql_validate");
    TCase *tc = tcase_create("validate");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_valid_document_has_no_errors);
    tcase_add_test(tc, test_unknown_field_suggests_names);
    tcase_add_test(tc, test_missing_argument_and_wrong_literal);
    tcase_add_test(tc, test_variables_undefined_unused_and_misplaced);
    tcase_add_test(tc, test_overlapping_fields_conflict);
    tcase_add_test(tc, test_fragment_cycles_and_unused_fragments);
    tcase_add_test(tc, test_operation_selection_errors);
    tcase_add_test(tc, test_error_count_is_capped_at_100);
    tcase_add_test(tc, test_fragment_chains_count_toward_depth_limit);
    tcase_add_test(tc, test_error_limit_in_repeated_directives_frees_everything);
    tcase_add_test(tc, test_nul_in_string_value_is_refused);
    tcase_add_test(tc, test_date_time_values_are_rfc3339);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
