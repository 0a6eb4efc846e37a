/* Unit tests for plans and execution: field collection, variable coercion, completion of JSON
 * sources (scalars, enums, lists, abstract types, null propagation) and introspection. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "graphql_test_helpers.h"

static gql_schema *schema;

static void setup(void)
{
    schema = test_schema();
}

static void teardown(void)
{
    gql_schema_free(schema);
}

START_TEST(test_plan_collects_fields_in_selection_order)
{
    const char *doc = "query ($skip: Boolean!) { posts(limit: 2) { b: title id ...F "
                      "views @skip(if: $skip) } } fragment F on Post { id author { name } }";
    cJSON *errors = NULL;
    gql_prepared *p = gql_prepare(schema, doc, strlen(doc), NULL, NULL, &errors);
    ck_assert_ptr_nonnull(p);
    gql_request *r = gql_request_new_json(p, "{\"skip\": true}", &errors);
    ck_assert_ptr_nonnull(r);
    size_t n;
    const gql_plan_field *roots = gql_request_fields(r, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(roots[0].response_key, "posts");
    ck_assert_uint_eq(roots[0].selection_count, 1);
    const gql_plan_selection *sel = &roots[0].selections[0];
    ck_assert_str_eq(sel->object_type->name, "Post");
    ck_assert_uint_eq(sel->field_count, 3); /* b, id (merged with F's), author; views skipped */
    ck_assert_str_eq(sel->fields[0].response_key, "b");
    ck_assert_str_eq(sel->fields[0].name, "title");
    ck_assert_str_eq(sel->fields[1].response_key, "id");
    ck_assert_str_eq(sel->fields[2].response_key, "author");
    char *error = NULL;
    const cJSON *args = gql_request_arguments(r, &roots[0], &error);
    char *text = cJSON_PrintUnformatted(args);
    ck_assert_str_eq(text, "{\"limit\":2}");
    free(text);
    gql_request_free(r);
    gql_prepared_release(p);
}
END_TEST

START_TEST(test_abstract_fields_plan_every_possible_type)
{
    const char *doc = "{ search(text: \"a\") { __typename ... on Post { title } } }";
    gql_prepared *p = gql_prepare(schema, doc, strlen(doc), NULL, NULL, NULL);
    gql_request *r = gql_request_new(p, NULL, NULL);
    size_t n;
    const gql_plan_field *roots = gql_request_fields(r, &n);
    ck_assert_uint_eq(roots[0].selection_count, 2);
    ck_assert_str_eq(roots[0].selections[0].object_type->name, "Post");
    ck_assert_uint_eq(roots[0].selections[0].field_count, 2);
    ck_assert_str_eq(roots[0].selections[1].object_type->name, "User");
    ck_assert_uint_eq(roots[0].selections[1].field_count, 1);
    ck_assert_int_eq(roots[0].selections[1].fields[0].kind, GQL_FIELD_TYPENAME);
    gql_request_free(r);
    gql_prepared_release(p);
}
END_TEST

START_TEST(test_variable_coercion_errors)
{
    ck_assert_json_eq(test_execute(schema, "query ($l: Int, $w: Filter) { posts(limit: $l, "
                                           "where: $w) { id } }",
                                   "{\"l\": 3000000000, \"w\": {\"order\": \"NEW\", \"x\": 1}}",
                                   NULL),
                      "{\"errors\":[{\"message\":\"Variable \\\"$l\\\" got invalid value "
                      "3000000000; Int cannot represent non 32-bit signed integer value: "
                      "3000000000\",\"locations\":[{\"line\":1,\"column\":8}]},{\"message\":"
                      "\"Variable \\\"$w\\\" got invalid value \\\"NEW\\\" at \\\"w.order\\\"; "
                      "Value \\\"NEW\\\" does not exist in \\\"Order\\\" enum.\",\"locations\":[{\"line\":1,\"column\":17}]},"
                      "{\"message\":\"Variable \\\"$w\\\" got invalid value { order: \\\"NEW\\\", "
                      "x: 1 }; Field \\\"x\\\" is not defined by type \\\"Filter\\\".\","
                      "\"locations\":[{\"line\":1,\"column\":17}]}]}");
    ck_assert_json_eq(test_execute(schema, "query ($id: UUID!) { post(id: $id) { id } }", NULL,
                                   NULL),
                      "{\"errors\":[{\"message\":\"Variable \\\"$id\\\" of required type "
                      "\\\"UUID!\\\" was not provided.\",\"locations\":[{\"line\":1,\"column\":8}]}]}");
}
END_TEST

START_TEST(test_list_promotion_and_defaults)
{
    const char *doc = "query ($ids: [ID!]) { posts(where: {ids: $ids}) { id } }";
    gql_prepared *p = gql_prepare(schema, doc, strlen(doc), NULL, NULL, NULL);
    gql_request *r = gql_request_new_json(p, "{\"ids\": 7}", NULL);
    ck_assert_ptr_nonnull(r);
    char *text = cJSON_PrintUnformatted(gql_request_variables(r));
    ck_assert_str_eq(text, "{\"ids\":[\"7\"]}");
    free(text);
    size_t n;
    const gql_plan_field *roots = gql_request_fields(r, &n);
    text = cJSON_PrintUnformatted(gql_request_arguments(r, &roots[0], NULL));
    ck_assert_str_eq(text, "{\"where\":{\"ids\":[\"7\"],\"order\":\"NEWEST\"},\"limit\":10}");
    free(text);
    gql_request_free(r);
    gql_prepared_release(p);
}
END_TEST

START_TEST(test_execution_serializes_scalars_like_graphql_js)
{
    ck_assert_json_eq(
        test_execute(schema, "{ posts { id title views score } }", NULL,
                     "{\"posts\": [{\"id\": 12, \"title\": true, \"views\": \"7\", \"score\": 1e21},"
                     " {\"id\": \"u\", \"title\": 0.1, \"views\": 2.5, \"score\": \"x\"}]}"),
        "{\"errors\":[{\"message\":\"Int cannot represent non-integer value: 2.5\",\"locations\":"
        "[{\"line\":1,\"column\":20}],\"path\":[\"posts\",1,\"views\"]},{\"message\":\"Float "
        "cannot represent non numeric value: \\\"x\\\"\",\"locations\":[{\"line\":1,\"column\":26}"
        "],\"path\":[\"posts\",1,\"score\"]}],\"data\":{\"posts\":[{\"id\":12,\"title\":"
        "\"true\",\"views\":7,\"score\":1e+21},{\"id\":\"u\",\"title\":\"0.1\",\"views\":null,"
        "\"score\":null}]}}");
}
END_TEST

START_TEST(test_null_propagates_to_nearest_nullable_parent)
{
    ck_assert_json_eq(test_execute(schema, "{ post(id: \"1\") { id author { name } } }", NULL,
                                   "{\"post\": {\"id\": \"1\", \"author\": {\"name\": null}}}"),
                      "{\"errors\":[{\"message\":\"Cannot return null for non-nullable field "
                      "User.name.\",\"locations\":[{\"line\":1,\"column\":31}],\"path\":[\"post\","
                      "\"author\",\"name\"]}],\"data\":{\"post\":null}}");
    ck_assert_json_eq(test_execute(schema, "{ posts { id } }", NULL,
                                   "{\"posts\": [{\"id\": \"1\"}, null]}"),
                      "{\"errors\":[{\"message\":\"Cannot return null for non-nullable field "
                      "Query.posts.\",\"locations\":[{\"line\":1,\"column\":3}],\"path\":"
                      "[\"posts\",1]}],\"data\":null}");
}
END_TEST

START_TEST(test_abstract_types_resolve_from_typename)
{
    ck_assert_json_eq(test_execute(schema, "{ search(text: \"a\") { __typename ... on Post { title }"
                                           " ... on User { name } } }",
                                   NULL,
                                   "{\"search\": [{\"__typename\": \"User\", \"name\": \"Ann\"},"
                                   " {\"__typename\": \"Post\", \"title\": \"T\"}]}"),
                      "{\"data\":{\"search\":[{\"__typename\":\"User\",\"name\":\"Ann\"},"
                      "{\"__typename\":\"Post\",\"title\":\"T\"}]}}");
}
END_TEST

START_TEST(test_introspection_is_resolved_by_the_engine)
{
    ck_assert_json_eq(test_execute(schema, "{ __type(name: \"Order\") { kind name enumValues { name }"
                                           " } __schema { queryType { name } } __typename }",
                                   NULL, NULL),
                      "{\"data\":{\"__type\":{\"kind\":\"ENUM\",\"name\":\"Order\",\"enumValues\":"
                      "[{\"name\":\"NEWEST\"},{\"name\":\"OLDEST\"}]},\"__schema\":{\"queryType\":"
                      "{\"name\":\"Query\"}},\"__typename\":\"Query\"}}");
}
END_TEST

START_TEST(test_response_roots_set_by_the_server)
{
    const char *doc = "mutation { a: createPost(title: \"x\") { id } b: createPost(title: \"y\") { id } }";
    gql_prepared *p = gql_prepare(schema, doc, strlen(doc), NULL, NULL, NULL);
    ck_assert_int_eq(gql_prepared_operation_type(p), GQL_OPERATION_MUTATION);
    gql_request *r = gql_request_new(p, NULL, NULL);
    gql_response *resp = gql_response_new(r);
    cJSON *value = cJSON_Parse("{\"id\": \"p9\"}");
    gql_response_set_root(resp, 0, value);
    gql_response_set_root_error(resp, 1, "duplicate title");
    gql_buf b;
    gql_buf_init(&b);
    gql_response_finish(resp, &b);
    ck_assert_str_eq(b.data, "{\"errors\":[{\"message\":\"duplicate title\",\"locations\":[{"
                             "\"line\":1,\"column\":45}],\"path\":[\"b\"]}],\"data\":{\"a\":{"
                             "\"id\":\"p9\"},\"b\":null}}");
    gql_buf_free(&b);
    cJSON_Delete(value);
    gql_response_free(resp);
    gql_request_free(r);
    gql_prepared_release(p);
}
END_TEST

/* The variables of `doc` coerced from `variables_json` as printed JSON (malloc'd), or the
 * errors array as printed JSON. The input is freed before the result is read: a request must
 * not point into its caller's variables. */
static char *coerced_variables(gql_schema *s, const char *doc, const char *variables_json)
{
    cJSON *errors = NULL;
    gql_prepared *p = gql_prepare(s, doc, strlen(doc), NULL, NULL, &errors);
    ck_assert_msg(p != NULL, "prepare: %s", doc);
    cJSON *variables = cJSON_Parse(variables_json);
    ck_assert_ptr_nonnull(variables);
    gql_request *r = gql_request_new(p, variables, &errors);
    cJSON_Delete(variables);
    char *text;
    if (r == NULL) {
        text = cJSON_PrintUnformatted(errors);
        cJSON_Delete(errors);
    } else {
        text = cJSON_PrintUnformatted(gql_request_variables(r));
        size_t n;
        const gql_plan_field *roots = gql_request_fields(r, &n);
        ck_assert_ptr_nonnull(gql_request_arguments(r, &roots[0], NULL));
        gql_request_free(r);
    }
    gql_prepared_release(p);
    return text;
}

#define ck_assert_coerced(doc, input, expected)                                    \
    do {                                                                           \
        char *coerced_ = coerced_variables(scalars, doc, input);                   \
        ck_assert_str_eq(coerced_, expected);                                      \
        free(coerced_);                                                            \
    } while (0)

START_TEST(test_scalar_variables_coerce_like_the_general_path)
{
    const char *sdl = "enum E { A B } scalar JSON input In { a: Int = 3 }\n"
                      "type Query { f(x: Float, i: Int, s: String, d: ID, b: Boolean, e: E, "
                      "j: JSON, l: [Int], o: In): String }";
    gql_schema *scalars = gql_schema_parse(sdl, strlen(sdl), NULL);
    ck_assert_ptr_nonnull(scalars);
    const char *doc = "query ($x: Float, $i: Int!, $s: String, $d: ID, $b: Boolean = true, "
                      "$e: E, $j: JSON, $l: [Int], $o: In) { f(x: $x, i: $i, s: $s, d: $d, "
                      "b: $b, e: $e, j: $j, l: $l, o: $o) }";
    /* out of declaration order, defaults, list promotion, an input object's default field */
    ck_assert_coerced(doc,
                      "{\"i\": 1, \"x\": 2.5, \"s\": \"a\", \"d\": \"7\", \"e\": \"A\", "
                      "\"j\": \"t\", \"l\": 4, \"o\": {}}",
                      "{\"x\":2.5,\"i\":1,\"s\":\"a\",\"d\":\"7\",\"b\":true,\"e\":\"A\","
                      "\"j\":\"t\",\"l\":[4],\"o\":{\"a\":3}}");
    /* an integer ID becomes a string; custom scalars keep objects; nulls stay null */
    ck_assert_coerced(doc, "{\"i\": -2147483648, \"d\": 7, \"j\": {\"k\": [1]}, \"b\": null, "
                           "\"x\": null, \"s\": \"\"}",
                      "{\"x\":null,\"i\":-2147483648,\"s\":\"\",\"d\":\"7\",\"b\":null,"
                      "\"j\":{\"k\":[1]}}");
    /* plain values with an object among them: the object is copied by the general coercion */
    ck_assert_coerced(doc, "{\"i\": 1, \"j\": {\"k\": [1, null]}, \"l\": [2, 3]}",
                      "{\"i\":1,\"b\":true,\"j\":{\"k\":[1,null]},\"l\":[2,3]}");
    /* a repeated key: the first one counts, as cJSON_GetObjectItemCaseSensitive finds it */
    ck_assert_coerced(doc, "{\"i\": 1, \"i\": 2, \"b\": false}", "{\"i\":1,\"b\":false}");
    ck_assert_coerced(doc, "{\"x\": 1, \"i\": 5, \"x\": 2}", "{\"x\":1,\"i\":5,\"b\":true}");
    /* what the fast path refuses is worded by the general one */
    ck_assert_coerced(doc, "{\"i\": null}",
                      "[{\"message\":\"Variable \\\"$i\\\" of non-null type \\\"Int!\\\" must "
                      "not be null.\",\"locations\":[{\"line\":1,\"column\":19}]}]");
    ck_assert_coerced(doc, "{\"i\": 1.5, \"e\": \"Z\"}",
                      "[{\"message\":\"Variable \\\"$i\\\" got invalid value 1.5; Int cannot "
                      "represent non-integer value: 1.5\",\"locations\":[{\"line\":1,\"column\":"
                      "19}]},{\"message\":\"Variable \\\"$e\\\" got invalid value \\\"Z\\\"; "
                      "Value \\\"Z\\\" does not exist in \\\"E\\\" enum. Did you mean the enum "
                      "value \\\"A\\\" or \\\"B\\\"?\",\"locations\":[{\"line\":1,\"column\":"
                      "69}]}]");
    ck_assert_coerced(doc, "{\"i\": 1, \"x\": \"1\", \"b\": 0}",
                      "[{\"message\":\"Variable \\\"$x\\\" got invalid value \\\"1\\\"; Float "
                      "cannot represent non numeric value: \\\"1\\\"\",\"locations\":[{\"line\":"
                      "1,\"column\":8}]},{\"message\":\"Variable \\\"$b\\\" got invalid value 0; "
                      "Boolean cannot represent a non boolean value: 0\",\"locations\":[{\"line\":"
                      "1,\"column\":49}]}]");
    ck_assert_coerced(doc, "{}",
                      "[{\"message\":\"Variable \\\"$i\\\" of required type \\\"Int!\\\" was not "
                      "provided.\",\"locations\":[{\"line\":1,\"column\":19}]}]");
    gql_schema_free(scalars);
}
END_TEST

START_TEST(test_root_errors_and_response_carry_extensions)
{
    const char *doc = "mutation { a: createPost(title: \"x\") { id } b: createPost(title: \"y\") { id } }";
    gql_prepared *p = gql_prepare(schema, doc, strlen(doc), NULL, NULL, NULL);
    gql_request *r = gql_request_new(p, NULL, NULL);
    gql_response *resp = gql_response_new(r);
    cJSON *details = cJSON_Parse("{\"code\": \"CONFLICT\", \"retry\": [1, 2.5]}");
    gql_response_set_root_error_extensions(resp, 0, "taken", details);
    cJSON_Delete(details); /* copied */
    gql_response_set_root_error_code(resp, 1, "no \"author\"", "NOT_FOUND");
    cJSON *extensions = cJSON_Parse("{\"tvsync\": {\"readModelMayBeBehind\": true}}");
    gql_response_set_extensions(resp, extensions);
    cJSON_Delete(extensions);
    gql_buf b;
    gql_buf_init(&b);
    gql_response_finish(resp, &b);
    ck_assert_str_eq(b.data,
                     "{\"errors\":[{\"message\":\"taken\",\"locations\":[{\"line\":1,\"column\":"
                     "12}],\"path\":[\"a\"],\"extensions\":{\"code\":\"CONFLICT\",\"retry\":[1,"
                     "2.5]}},{\"message\":\"no \\\"author\\\"\",\"locations\":[{\"line\":1,"
                     "\"column\":45}],\"path\":[\"b\"],\"extensions\":{\"code\":\"NOT_FOUND\"}}],"
                     "\"data\":{\"a\":null,\"b\":null},\"extensions\":{\"tvsync\":{"
                     "\"readModelMayBeBehind\":true}}}");
    gql_buf_free(&b);
    gql_response_free(resp);
    gql_request_free(r);
    gql_prepared_release(p);
}
END_TEST

START_TEST(test_non_null_root_error_with_code_nulls_data)
{
    const char *doc = "{ posts { id } }";
    gql_prepared *p = gql_prepare(schema, doc, strlen(doc), NULL, NULL, NULL);
    gql_request *r = gql_request_new(p, NULL, NULL);
    gql_response *resp = gql_response_new(r);
    gql_response_set_root_error_code(resp, 0, "database unavailable", "DATABASE_UNAVAILABLE");
    ck_assert(gql_response_failed(resp));
    gql_response_set_extensions(resp, NULL);
    gql_buf b;
    gql_buf_init(&b);
    gql_response_finish(resp, &b);
    ck_assert_str_eq(b.data, "{\"errors\":[{\"message\":\"database unavailable\",\"locations\":"
                             "[{\"line\":1,\"column\":3}],\"path\":[\"posts\"],\"extensions\":{"
                             "\"code\":\"DATABASE_UNAVAILABLE\"}}],\"data\":null}");
    gql_buf_free(&b);
    gql_response_free(resp);
    gql_request_free(r);
    gql_prepared_release(p);
}
END_TEST

START_TEST(test_subscriptions_are_refused)
{
    const char *sdl = "type Query { a: Int } type Subscription { s: Int }";
    gql_schema *s = gql_schema_parse(sdl, strlen(sdl), NULL);
    ck_assert_json_eq(test_execute(s, "subscription { s }", NULL, NULL),
                      "{\"errors\":[{\"message\":\"Subscription operations are not supported by "
                      "this server.\",\"locations\":[{\"line\":1,\"column\":1}]}]}");
    gql_schema_free(s);
}
END_TEST

START_TEST(test_json_numbers_print_like_javascript)
{
    double values[] = {0, -0.0, 1, -1.5, 0.1, 1e21, 1e-7, 123456789012345680000.0, 5e-324,
                       1.7976931348623157e308, 0.000001, 100, 1.25e-5};
    const char *expected[] = {"0", "0", "1", "-1.5", "0.1", "1e+21", "1e-7",
                              "123456789012345680000", "5e-324", "1.7976931348623157e+308",
                              "0.000001", "100", "0.0000125"};
    for (size_t i = 0; i < sizeof(values) / sizeof(*values); i++) {
        gql_buf b;
        gql_buf_init(&b);
        gql_buf_json_number(&b, values[i]);
        ck_assert_str_eq(b.data, expected[i]);
        gql_buf_free(&b);
    }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("graphql_exec");
    TCase *tc = tcase_create("exec");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_plan_collects_fields_in_selection_order);
    tcase_add_test(tc, test_abstract_fields_plan_every_possible_type);
    tcase_add_test(tc, test_variable_coercion_errors);
    tcase_add_test(tc, test_list_promotion_and_defaults);
    tcase_add_test(tc, test_execution_serializes_scalars_like_graphql_js);
    tcase_add_test(tc, test_null_propagates_to_nearest_nullable_parent);
    tcase_add_test(tc, test_abstract_types_resolve_from_typename);
    tcase_add_test(tc, test_introspection_is_resolved_by_the_engine);
    tcase_add_test(tc, test_response_roots_set_by_the_server);
    tcase_add_test(tc, test_scalar_variables_coerce_like_the_general_path);
    tcase_add_test(tc, test_root_errors_and_response_carry_extensions);
    tcase_add_test(tc, test_non_null_root_error_with_code_nulls_data);
    tcase_add_test(tc, test_subscriptions_are_refused);
    tcase_add_test(tc, test_json_numbers_print_like_javascript);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
