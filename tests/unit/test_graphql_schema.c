/* Unit tests for schemas built from SDL: custom directives carried with their arguments,
 * root types, errors naming line and column, and graphql-js's type order. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "graphql_test_helpers.h"

START_TEST(test_custom_directives_are_carried_on_types_and_fields)
{
    gql_schema *s = test_schema();
    const gql_type *post = gql_schema_type(s, "Post");
    ck_assert_ptr_nonnull(post);
    const gql_directive_use *table = gql_directive_find(post->directives, post->directive_count,
                                                        "table");
    ck_assert_ptr_nonnull(table);
    ck_assert_str_eq(gql_directive_string_arg(table, "name"), "tv_post");
    const gql_field *create = gql_type_field(gql_schema_mutation_type(s), "createPost");
    ck_assert_ptr_nonnull(create);
    const gql_directive_use *sql = gql_directive_find(create->directives, create->directive_count,
                                                      "sql");
    ck_assert_str_eq(gql_directive_string_arg(sql, "function"), "blog.create_post");
    ck_assert_uint_eq(sql->location.line, 24);
    gql_schema_free(s);
}
END_TEST

START_TEST(test_types_fields_arguments_and_defaults)
{
    gql_schema *s = test_schema();
    const gql_type *q = gql_schema_query_type(s);
    ck_assert_str_eq(q->name, "Query");
    const gql_field *posts = gql_type_field(q, "posts");
    gql_buf b;
    gql_buf_init(&b);
    gql_type_print(posts->type, &b);
    ck_assert_str_eq(b.data, "[Post!]!");
    const gql_input_value *limit = gql_field_argument(posts, "limit");
    ck_assert_double_eq(limit->default_value->valuedouble, 10);
    const gql_type *filter = gql_schema_type(s, "Filter");
    ck_assert_str_eq(filter->input_fields[2].default_value->valuestring, "NEWEST");
    const gql_type *order = gql_schema_type(s, "Order");
    ck_assert_str_eq(order->enum_values[2].deprecation_reason, "gone");
    const gql_type *node = gql_schema_type(s, "Node");
    ck_assert_uint_eq(node->possible_type_count, 3);
    ck_assert_str_eq(node->possible_types[0]->name, "User");
    gql_buf_free(&b);
    gql_schema_free(s);
}
END_TEST

START_TEST(test_type_order_follows_graphql_js)
{
    gql_schema *s = test_schema();
    /* unreferenced standard scalars (ID is referenced by Filter, Float by Post) */
    const char *expected[] = {"UUID", "Order", "Node", "User", "String", "Post", "Int", "Float",
                              "Comment", "Result", "Filter", "ID", "Query", "Mutation",
                              "Boolean", "__Schema"};
    for (size_t i = 0; i < sizeof(expected) / sizeof(*expected); i++)
        ck_assert_str_eq(gql_schema_type_at(s, i)->name, expected[i]);
    gql_schema_free(s);
}
END_TEST

START_TEST(test_schema_errors_name_line_and_column)
{
    char *error = NULL;
    const char *sdl = "type Query {\n  a: Nope\n}\n";
    ck_assert_ptr_null(gql_schema_parse(sdl, strlen(sdl), &error));
    ck_assert_str_eq(error, "line 2, column 6: Unknown type \"Nope\".");
    free(error);
    sdl = "type Query {\n  a: Int\n";
    ck_assert_ptr_null(gql_schema_parse(sdl, strlen(sdl), &error));
    ck_assert_str_eq(error, "line 3, column 1: Syntax Error: Expected Name, found <EOF>.");
    free(error);
    sdl = "type Foo { a: Int }";
    ck_assert_ptr_null(gql_schema_parse(sdl, strlen(sdl), &error));
    ck_assert_str_eq(error, "line 1, column 1: Query root type must be provided.");
    free(error);
    sdl = "type Query { a: Int @nope }";
    ck_assert_ptr_null(gql_schema_parse(sdl, strlen(sdl), &error));
    ck_assert_str_eq(error, "line 1, column 21: Unknown directive \"@nope\".");
    free(error);
}
END_TEST

START_TEST(test_extensions_are_merged)
{
    const char *sdl = "type Query { a: Int }\nextend type Query { b: String }\n"
                      "schema { query: Query }";
    gql_schema *s = gql_schema_parse(sdl, strlen(sdl), NULL);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(gql_schema_query_type(s)->field_count, 2);
    ck_assert_ptr_nonnull(gql_type_field(gql_schema_query_type(s), "b"));
    gql_schema_free(s);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("graphql_schema");
    TCase *tc = tcase_create("schema");
    tcase_add_test(tc, test_custom_directives_are_carried_on_types_and_fields);
    tcase_add_test(tc, test_types_fields_arguments_and_defaults);
    tcase_add_test(tc, test_type_order_follows_graphql_js);
    tcase_add_test(tc, test_schema_errors_name_line_and_column);
    tcase_add_test(tc, test_extensions_are_merged);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
