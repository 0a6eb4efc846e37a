/* Unit tests for plans and execution: field collection, variable coercion, completion of JSON
 * sources (scalars, enums, lists, abstract types, null propagation) and introspection. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "graphql_test_helpers.h"
#include "server/graphql/gql_json_read.h"

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


/* ------------------------------------------------------------------ numbers as stored */

static const char number_sdl[] =
    "scalar Decimal\n"
    "type Item { i: Int f: Float id: ID s: String d: Decimal b: Boolean }\n"
    "type Query { items: [Item]! item(id: ID, amount: Decimal, amounts: [Decimal]): Item }\n";

/* Executes `doc` over the root JSON read as tvsync-server reads documents (gql_json_read). */
static char *execute_document(const char *doc, const char *root_json)
{
    gql_schema *s = gql_schema_parse(number_sdl, strlen(number_sdl), NULL);
    ck_assert_ptr_nonnull(s);
    gql_prepared *p = gql_prepare(s, doc, strlen(doc), NULL, NULL, NULL);
    ck_assert_ptr_nonnull(p);
    gql_request *r = gql_request_new(p, NULL, NULL);
    ck_assert_ptr_nonnull(r);
    cJSON *root = gql_json_read(root_json, strlen(root_json));
    ck_assert_ptr_nonnull(root);
    gql_buf b;
    gql_buf_init(&b);
    gql_execute_json(r, root, &b);
    cJSON_Delete(root);
    gql_request_free(r);
    gql_prepared_release(p);
    gql_schema_free(s);
    return b.data;
}

START_TEST(test_float_answers_stored_digits)
{
    ck_assert_json_eq(
        execute_document("{ items { f } }",
                         "{\"items\": [{\"f\": 24.50}, {\"f\": 0.10}, {\"f\": 1e2}, {\"f\": -0},"
                         " {\"f\": 9007199254740993}, {\"f\": 12345678901234567890123},"
                         " {\"f\": 1E-7}, {\"f\": 1e400}]}"),
        "{\"errors\":[{\"message\":\"Float cannot represent non numeric value: 1e400\","
        "\"locations\":[{\"line\":1,\"column\":11}],\"path\":[\"items\",7,\"f\"]}],"
        "\"data\":{\"items\":[{\"f\":24.50},{\"f\":0.10},{\"f\":1e2},{\"f\":-0},"
        "{\"f\":9007199254740993},{\"f\":12345678901234567890123},{\"f\":1E-7},{\"f\":null}]}}");
}
END_TEST

START_TEST(test_int_range_is_decided_on_stored_digits)
{
    ck_assert_json_eq(
        execute_document("{ items { i } }",
                         "{\"items\": [{\"i\": 2147483647}, {\"i\": -2147483648}, {\"i\": 1e2},"
                         " {\"i\": 100.00}, {\"i\": -0}, {\"i\": 2147483648}, {\"i\": -2147483649},"
                         " {\"i\": 9007199254740993}, {\"i\": 24.50},"
                         " {\"i\": 2147483647.0000000001}, {\"i\": 1e400}, {\"i\": 0.0e5}]}"),
        "{\"errors\":["
        "{\"message\":\"Int cannot represent non 32-bit signed integer value: 2147483648\","
        "\"locations\":[{\"line\":1,\"column\":11}],\"path\":[\"items\",5,\"i\"]},"
        "{\"message\":\"Int cannot represent non 32-bit signed integer value: -2147483649\","
        "\"locations\":[{\"line\":1,\"column\":11}],\"path\":[\"items\",6,\"i\"]},"
        "{\"message\":\"Int cannot represent non 32-bit signed integer value: 9007199254740993\","
        "\"locations\":[{\"line\":1,\"column\":11}],\"path\":[\"items\",7,\"i\"]},"
        "{\"message\":\"Int cannot represent non-integer value: 24.50\","
        "\"locations\":[{\"line\":1,\"column\":11}],\"path\":[\"items\",8,\"i\"]},"
        "{\"message\":\"Int cannot represent non-integer value: 2147483647.0000000001\","
        "\"locations\":[{\"line\":1,\"column\":11}],\"path\":[\"items\",9,\"i\"]},"
        "{\"message\":\"Int cannot represent non 32-bit signed integer value: 1e400\","
        "\"locations\":[{\"line\":1,\"column\":11}],\"path\":[\"items\",10,\"i\"]}],"
        "\"data\":{\"items\":[{\"i\":2147483647},{\"i\":-2147483648},{\"i\":100},{\"i\":100},"
        "{\"i\":0},{\"i\":null},{\"i\":null},{\"i\":null},{\"i\":null},{\"i\":null},{\"i\":null},"
        "{\"i\":0}]}}");
}
END_TEST

START_TEST(test_id_string_and_custom_scalars_keep_every_digit)
{
    ck_assert_json_eq(
        execute_document("{ items { id s d } }",
                         "{\"items\": [{\"id\": 9007199254740993, \"s\": 24.50, \"d\": 24.50},"
                         " {\"id\": 12345678901234567890123, \"s\": 0.10,"
                         " \"d\": {\"total\": [0.10, -0, 1e2]}},"
                         " {\"id\": -0, \"s\": 1e400, \"d\": 12345678901234567890123},"
                         " {\"id\": 1e2, \"s\": -12, \"d\": null}, {\"id\": 24.50}]}"),
        "{\"errors\":[{\"message\":\"ID cannot represent value: 24.50\",\"locations\":"
        "[{\"line\":1,\"column\":11}],\"path\":[\"items\",4,\"id\"]}],"
        "\"data\":{\"items\":[{\"id\":\"9007199254740993\",\"s\":\"24.50\",\"d\":24.50},"
        "{\"id\":\"12345678901234567890123\",\"s\":\"0.10\",\"d\":{\"total\":[0.10,-0,1e2]}},"
        "{\"id\":\"0\",\"s\":\"1e400\",\"d\":12345678901234567890123},"
        "{\"id\":\"100\",\"s\":\"-12\",\"d\":null},{\"id\":null,\"s\":null,\"d\":null}]}}");
}
END_TEST

START_TEST(test_id_of_a_stored_integer_with_fraction_or_exponent_keeps_every_digit)
{
    ck_assert_json_eq(execute_document("{ items { id } }",
                                       "{\"items\": [{\"id\": 12345678901234567890.00},"
                                       " {\"id\": 1e1000000000}]}"),
                      "{\"errors\":[{\"message\":\"ID cannot represent value: 1e1000000000\","
                      "\"locations\":[{\"line\":1,\"column\":11}],\"path\":[\"items\",1,\"id\"]}],"
                      "\"data\":{\"items\":[{\"id\":\"12345678901234567890\"},{\"id\":null}]}}");
}
END_TEST

START_TEST(test_boolean_of_stored_number_is_decided_on_its_digits)
{
    ck_assert_json_eq(execute_document("{ items { b } }",
                                       "{\"items\": [{\"b\": 0.00}, {\"b\": 1e-400}, {\"b\": -0},"
                                       " {\"b\": 0.10}]}"),
                      "{\"data\":{\"items\":[{\"b\":false},{\"b\":true},{\"b\":false},"
                      "{\"b\":true}]}}");
}
END_TEST

START_TEST(test_json_read_builds_plain_cjson)
{
    const char *text = " {\"a\": [1, -2.5e3, true, false, null, \"x\\\"\\u00e9\\ud83d\\ude00\\u0000\"],"
                       " \"b\\n\": {}, \"c\": []} ";
    cJSON *v = gql_json_read(text, strlen(text));
    ck_assert_ptr_nonnull(v);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(v, "a");
    ck_assert_int_eq(cJSON_GetArraySize(a), 6);
    ck_assert(cJSON_GetArrayItem(a, 0)->valuedouble == 1);
    ck_assert_int_eq(cJSON_GetArrayItem(a, 0)->valueint, 1);
    ck_assert(cJSON_GetArrayItem(a, 1)->valuedouble == -2500);
    ck_assert_str_eq(gql_json_number_text(cJSON_GetArrayItem(a, 1)), "-2.5e3");
    ck_assert(cJSON_IsTrue(cJSON_GetArrayItem(a, 2)) && cJSON_IsFalse(cJSON_GetArrayItem(a, 3)));
    ck_assert(cJSON_IsNull(cJSON_GetArrayItem(a, 4)));
    ck_assert_str_eq(cJSON_GetArrayItem(a, 5)->valuestring, "x\"\xc3\xa9\xf0\x9f\x98\x80\xc0\x80");
    ck_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(v, "b\n")));
    ck_assert(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(v, "c")));
    /* cJSON's list shape (first->prev is the last), so cJSON's own editing works on it */
    cJSON_AddItemToArray((cJSON *)a, cJSON_CreateNumber(7));
    ck_assert(cJSON_GetArrayItem(a, 6)->valuedouble == 7);
    ck_assert_ptr_null(gql_json_number_text(cJSON_GetArrayItem(a, 6)));
    cJSON *copy = cJSON_Duplicate(v, true);
    cJSON_Delete(v);
    gql_buf b;
    gql_buf_init(&b);
    gql_buf_json_value(&b, copy);
    ck_assert_str_eq(b.data, "{\"a\":[1,-2.5e3,true,false,null,\"x\\\"\xc3\xa9\xf0\x9f\x98\x80\\u0000\",7],"
                             "\"b\\n\":{},\"c\":[]}");
    gql_buf_free(&b);
    cJSON_Delete(copy);
}
END_TEST

START_TEST(test_json_read_refuses_what_is_not_json)
{
    const char *bad[] = {"", " ", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "01", "1.", ".5", "+1",
                         "-", "1e", "1e+", "[1] x", "\"a", "\"\\x\"", "\"\\ud800\"",
                         "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\tb\"", "tru", "nul", "[1 2]",
                         "{1:2}", "NaN", "Infinity"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON *v = gql_json_read(bad[i], strlen(bad[i]));
        ck_assert_msg(v == NULL, "read %s", bad[i]);
    }
    /* a byte order mark is ignored, as cJSON_Parse ignored it */
    const char *with_bom = "\xEF\xBB\xBF [0.10]";
    cJSON *bom = gql_json_read(with_bom, strlen(with_bom));
    ck_assert_ptr_nonnull(bom);
    ck_assert_str_eq(gql_json_number_text(bom->child), "0.10");
    cJSON_Delete(bom);
    /* the length bounds the text: what follows is not read */
    ck_assert_ptr_null(gql_json_read("12", 0));
    cJSON *v = gql_json_read("12345", 2);
    ck_assert_str_eq(gql_json_number_text(v), "12");
    cJSON_Delete(v);
}
END_TEST

START_TEST(test_json_read_takes_any_number_of_digits_and_bounded_nesting)
{
    /* a numeric(1000, 500) value: every digit kept, whatever a double could hold */
    char number[1200];
    memset(number, '9', 1001);
    number[500] = '.';
    number[1001] = '\0';
    cJSON *v = gql_json_read(number, strlen(number));
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(gql_json_number_text(v), number);
    cJSON_Delete(v);

    char nested[2 * CJSON_NESTING_LIMIT + 4];
    size_t depth = CJSON_NESTING_LIMIT;
    memset(nested, '[', depth);
    memset(nested + depth, ']', depth);
    nested[2 * depth] = '\0';
    v = gql_json_read(nested, strlen(nested));
    ck_assert_ptr_nonnull(v);
    cJSON_Delete(v);
    memset(nested, '[', depth + 1);
    memset(nested + depth + 1, ']', depth + 1);
    nested[2 * depth + 2] = '\0';
    ck_assert_ptr_null(gql_json_read(nested, strlen(nested)));
}
END_TEST

START_TEST(test_number_text_int32_is_exact)
{
    struct {
        const char *text;
        gql_json_int32 expected;
        int32_t value;
    } cases[] = {
        {"0", GQL_JSON_INT32, 0},           {"-0", GQL_JSON_INT32, 0},
        {"0.000e-9", GQL_JSON_INT32, 0},    {"1e2", GQL_JSON_INT32, 100},
        {"12.5e1", GQL_JSON_INT32, 125},    {"1250e-1", GQL_JSON_INT32, 125},
        {"-2147483648", GQL_JSON_INT32, INT32_MIN},
        {"2147483647", GQL_JSON_INT32, INT32_MAX},
        {"0.2147483647E10", GQL_JSON_INT32, INT32_MAX},
        {"2147483648", GQL_JSON_OUT_OF_RANGE, 0},
        {"-2147483649", GQL_JSON_OUT_OF_RANGE, 0},
        {"10000000000", GQL_JSON_OUT_OF_RANGE, 0},
        {"1e999999999999", GQL_JSON_OUT_OF_RANGE, 0},
        {"0.5", GQL_JSON_NOT_INTEGER, 0},   {"1e-1", GQL_JSON_NOT_INTEGER, 0},
        {"1e-999999999999", GQL_JSON_NOT_INTEGER, 0},
        {"12345678901234567890.5", GQL_JSON_NOT_INTEGER, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int32_t value = 0;
        ck_assert_msg(gql_json_number_int32(cases[i].text, &value) == cases[i].expected, "%s",
                      cases[i].text);
        if (cases[i].expected == GQL_JSON_INT32)
            ck_assert_int_eq(value, cases[i].value);
    }
    struct {
        const char *text;
        const char *digits; /* NULL: not an integer, or too many zeros */
    } keys[] = {
        {"9007199254740993", "9007199254740993"}, {"-9007199254740993", "-9007199254740993"},
        {"-0", "0"}, {"0.00e7", "0"}, {"1e2", "100"}, {"12.50e1", "125"},
        {"1234567890123456789012.0", "1234567890123456789012"}, {"120e-1", "12"},
        {"0.5", NULL}, {"1e-1", NULL}, {"1e1000000000", NULL},
    };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        gql_buf b;
        gql_buf_init(&b);
        bool ok = gql_json_number_integer_digits(keys[i].text, &b);
        ck_assert_msg(ok == (keys[i].digits != NULL), "%s", keys[i].text);
        if (ok)
            ck_assert_str_eq(b.data, keys[i].digits);
        else
            ck_assert_uint_eq(b.len, 0);
        gql_buf_free(&b);
    }
}
END_TEST

/* The arguments of the first root field of `doc` as the executor sends them to SQL, with the
 * variables read as tvsync-server reads request bodies (gql_json_read). */
static char *sql_arguments(const char *doc, const char *variables_json)
{
    gql_schema *s = gql_schema_parse(number_sdl, strlen(number_sdl), NULL);
    ck_assert_ptr_nonnull(s);
    gql_prepared *p = gql_prepare(s, doc, strlen(doc), NULL, NULL, NULL);
    ck_assert_ptr_nonnull(p);
    cJSON *variables = gql_json_read(variables_json, strlen(variables_json));
    ck_assert_ptr_nonnull(variables);
    gql_request *r = gql_request_new(p, variables, NULL);
    ck_assert_ptr_nonnull(r);
    cJSON_Delete(variables); /* the request keeps nothing of its input */
    size_t n;
    const gql_plan_field *roots = gql_request_fields(r, &n);
    const cJSON *arguments = gql_request_arguments(r, &roots[0], NULL);
    ck_assert_ptr_nonnull(arguments);
    gql_buf b;
    gql_buf_init(&b);
    gql_buf_json_value(&b, arguments);
    gql_request_free(r);
    gql_prepared_release(p);
    gql_schema_free(s);
    return b.data;
}

START_TEST(test_id_and_custom_scalar_literals_reach_sql_with_their_digits)
{
    ck_assert_json_eq(sql_arguments("{ item(id: 9007199254740993, amount: 24.50, amounts: "
                                    "[0.10, 12345678901234567890123, 1e2]) { i } }", "{}"),
                      "{\"id\":\"9007199254740993\",\"amount\":24.50,"
                      "\"amounts\":[0.10,12345678901234567890123,1e2]}");
}
END_TEST

START_TEST(test_id_and_custom_scalar_variables_reach_sql_with_their_digits)
{
    /* a scalar variable (the request's fast path) */
    ck_assert_json_eq(sql_arguments("query ($amount: Decimal) { item(amount: $amount) { i } }",
                                    "{\"amount\": 12345678901234567890123.10}"),
                      "{\"amount\":12345678901234567890123.10}");
    /* an ID from a number takes the general coercion */
    ck_assert_json_eq(sql_arguments("query ($id: ID, $amount: Decimal) { item(id: $id, amount: "
                                    "$amount) { i } }",
                                    "{\"id\": 9007199254740993, \"amount\": 24.50}"),
                      "{\"id\":\"9007199254740993\",\"amount\":24.50}");
    /* a list (the general coercion) and a negative zero key */
    ck_assert_json_eq(sql_arguments("query ($id: ID, $amounts: [Decimal]) { item(id: $id, "
                                    "amounts: $amounts) { i } }",
                                    "{\"id\": -0, \"amounts\": [0.10, 12345678901234567890123]}"),
                      "{\"id\":\"0\",\"amounts\":[0.10,12345678901234567890123]}");
    /* not an integer, to the last digit: refused, worded with the digits sent */
    const char *doc = "query ($id: ID) { item(id: $id) { i } }";
    gql_schema *s = gql_schema_parse(number_sdl, strlen(number_sdl), NULL);
    gql_prepared *p = gql_prepare(s, doc, strlen(doc), NULL, NULL, NULL);
    const char *refused[] = {"{\"id\": 1.5}", "{\"id\": 9007199254740993.5}"};
    const char *messages[] = {"Variable \"$id\" got invalid value 1.5; ID cannot represent value: 1.5",
                              "Variable \"$id\" got invalid value 9007199254740993.5; ID cannot "
                              "represent value: 9007199254740993.5"};
    for (size_t i = 0; i < 2; i++) {
        cJSON *variables = gql_json_read(refused[i], strlen(refused[i]));
        cJSON *errors = NULL;
        ck_assert_ptr_null(gql_request_new(p, variables, &errors));
        ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(errors, 0), "message")->valuestring,
                         messages[i]);
        cJSON_Delete(errors);
        cJSON_Delete(variables);
    }
    gql_prepared_release(p);
    gql_schema_free(s);
    /* the same without digits (JSON text read by cJSON): refused as before */
    ck_assert_json_eq(test_execute(schema, "query ($f: Filter) { posts(where: $f) { id } }",
                                   "{\"f\": {\"ids\": [1.5]}}", NULL),
                      "{\"errors\":[{\"message\":\"Variable \\\"$f\\\" got invalid value 1.5 at "
                      "\\\"f.ids[0]\\\"; ID cannot represent value: 1.5\",\"locations\":"
                      "[{\"line\":1,\"column\":8}]}]}");
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
    tcase_add_test(tc, test_float_answers_stored_digits);
    tcase_add_test(tc, test_int_range_is_decided_on_stored_digits);
    tcase_add_test(tc, test_id_string_and_custom_scalars_keep_every_digit);
    tcase_add_test(tc, test_id_of_a_stored_integer_with_fraction_or_exponent_keeps_every_digit);
    tcase_add_test(tc, test_boolean_of_stored_number_is_decided_on_its_digits);
    tcase_add_test(tc, test_json_read_builds_plain_cjson);
    tcase_add_test(tc, test_json_read_refuses_what_is_not_json);
    tcase_add_test(tc, test_json_read_takes_any_number_of_digits_and_bounded_nesting);
    tcase_add_test(tc, test_number_text_int32_is_exact);
    tcase_add_test(tc, test_id_and_custom_scalar_literals_reach_sql_with_their_digits);
    tcase_add_test(tc, test_id_and_custom_scalar_variables_reach_sql_with_their_digits);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
