/* test_server_sql: the blog SDL maps to tables and functions, bad directives are refused,
 * and list arguments compile to parameterized SQL with no request value in the text. */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/graphql/gql_json_read.h"
#include "server/schema_derive.h"
#include "server/schema_map.h"
#include "server/sql_builder.h"

static gql_schema *blog_schema;
static schema_map *blog_map;

static char *read_blog_sdl(size_t *length)
{
    const char *srcdir = getenv("TVSYNC_SRCDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/blog/schema.graphql", srcdir ? srcdir : ".");
    FILE *file = fopen(path, "rb");
    ck_assert_msg(file != NULL, "cannot open %s", path);
    static char buffer[1 << 16];
    *length = fread(buffer, 1, sizeof buffer - 1, file);
    fclose(file);
    buffer[*length] = '\0';
    return buffer;
}

static void setup(void)
{
    size_t length;
    char *sdl = read_blog_sdl(&length);
    char *error = NULL;
    char map_error[512];
    /* The blog's file declares its read models: the server serves what schema_derive makes of it. */
    gql_buf derived;
    gql_buf_init(&derived);
    ck_assert_msg(schema_derive(sdl, length, "schema.graphql", &derived, map_error, sizeof map_error),
                  "blog schema: %s", map_error);
    blog_schema = gql_schema_parse(derived.data, derived.len, &error);
    gql_buf_free(&derived);
    ck_assert_msg(blog_schema != NULL, "blog schema: %s", error ? error : "?");
    blog_map = schema_map_new(blog_schema, map_error, sizeof map_error);
    ck_assert_msg(blog_map != NULL, "blog map: %s", map_error);
}

static void teardown(void)
{
    schema_map_free(blog_map);
    gql_schema_free(blog_schema);
}

static const schema_map_field *query_field(const char *name)
{
    const gql_field *field = gql_type_field(gql_schema_query_type(blog_schema), name);
    ck_assert_ptr_nonnull(field);
    return schema_map_find(blog_map, field);
}

static const schema_map_field *mutation_field(const char *name)
{
    const gql_field *field = gql_type_field(gql_schema_mutation_type(blog_schema), name);
    ck_assert_ptr_nonnull(field);
    return schema_map_find(blog_map, field);
}

START_TEST(test_blog_fields_map_to_tables_and_functions)
{
    const schema_map_field *post = query_field("post");
    ck_assert_int_eq(post->kind, SCHEMA_MAP_LOOKUP);
    ck_assert_str_eq(post->table->quoted_name, "\"public\".\"tv_post\"");
    /* The lookup waits for the key type, which comes from the database (schema_check). */
    ck_assert_ptr_null(post->table->lookup_sql);
    schema_map_set_key((schema_map_table *) post->table, SCHEMA_MAP_KEY_UUID);
    ck_assert_str_eq(post->table->lookup_sql, "SELECT data::text FROM \"public\".\"tv_post\" WHERE id = $1::uuid");
    const schema_map_field *posts = query_field("posts");
    ck_assert_int_eq(posts->kind, SCHEMA_MAP_LIST);
    ck_assert_str_eq(posts->when_true_argument, "publishedOnly");
    ck_assert_str_eq(posts->when_true_field, "published");
    ck_assert_int_eq(query_field("syncMetrics")->kind, SCHEMA_MAP_FUNCTION);
    ck_assert_str_eq(query_field("syncMetrics")->function_sql, "SELECT \"tvsync\".\"sync_metrics\"($1::jsonb)::text");
    const schema_map_field *create = mutation_field("createComment");
    ck_assert_int_eq(create->kind, SCHEMA_MAP_MUTATION);
    ck_assert_str_eq(create->function_sql,
                     "SELECT status, message, entity, id::text, publish_lsn::text FROM "
                     "tvsync.finish_mutation(\"blog\".\"create_comment\"($1::jsonb))");
    ck_assert_str_ne(create->statement_name, mutation_field("createPost")->statement_name);
    ck_assert_str_eq(create->table->quoted_name, "\"public\".\"tv_comment\"");
    /* A delete answers with the id: no table to read. */
    ck_assert_ptr_null(mutation_field("deletePost")->table);
}
END_TEST

static void assert_map_error(const char *sdl, const char *expected)
{
    char *error = NULL;
    gql_schema *schema = gql_schema_parse(sdl, strlen(sdl), &error);
    ck_assert_msg(schema != NULL, "schema: %s", error ? error : "?");
    char map_error[512] = "";
    schema_map *map = schema_map_new(schema, map_error, sizeof map_error);
    ck_assert_ptr_null(map);
    ck_assert_msg(strstr(map_error, expected) != NULL, "error \"%s\" lacks \"%s\"", map_error, expected);
    gql_schema_free(schema);
}

#define DIRECTIVES \
    "directive @table(name: String!) on OBJECT\n" \
    "directive @lookup on FIELD_DEFINITION\n" \
    "directive @list on FIELD_DEFINITION\n" \
    "directive @sql(function: String!) on FIELD_DEFINITION\n"

START_TEST(test_unmapped_or_bad_fields_are_refused)
{
    assert_map_error(DIRECTIVES "type T { id: ID } type Query { t(id: ID!): T }", "Query.t needs exactly one of");
    assert_map_error(DIRECTIVES "type T { id: ID } type Query { t(id: ID!): T @lookup }", "has no @table");
    assert_map_error(DIRECTIVES "type T @table(name: \"tv_t\") { id: ID } type Query { t: T @lookup }",
                     "@lookup needs an `id` argument");
    assert_map_error(DIRECTIVES "type T @table(name: \"tv_t\") { id: ID } type Query { t: T @list }",
                     "@list needs a list type");
    assert_map_error(DIRECTIVES "type T @table(name: \"\") { id: ID } type Query { t: [T] @list }",
                     "@table needs a non-empty name");
    assert_map_error(DIRECTIVES "type T @table(name: \"tv_t\") { id: ID } type Query { t: [T] @list }"
                                " type Mutation { m: T }",
                     "Mutation.m needs @sql");
}
END_TEST

START_TEST(test_identifiers_are_quoted_part_by_part)
{
    char *quoted = schema_map_quote_qualified("blog.tv_\"post");
    ck_assert_str_eq(quoted, "\"blog\".\"tv_\"\"post\"");
    free(quoted);
    ck_assert_ptr_null(schema_map_quote_qualified("blog."));
    ck_assert_ptr_null(schema_map_quote_qualified(""));
}
END_TEST

static char *build(const char *field, const char *arguments_json, sql_statement *statement, bool *ok)
{
    static char error[300];
    cJSON *arguments = cJSON_Parse(arguments_json);
    ck_assert_ptr_nonnull(arguments);
    sql_statement_init(statement);
    error[0] = '\0';
    *ok = sql_build_list(query_field(field), arguments, 100, statement, error, sizeof error);
    cJSON_Delete(arguments);
    return error;
}

START_TEST(test_list_filters_become_parameters)
{
    sql_statement statement;
    bool ok;
    const char *hostile = "x'; DROP TABLE tb_post; --";
    char arguments[512];
    snprintf(arguments, sizeof arguments,
             "{\"where\":{\"title\":{\"contains\":\"%s\"},\"commentCount\":{\"gte\":2},"
             "\"author\":{\"username\":{\"in\":[\"alice\",\"bob\"]}}},"
             "\"orderBy\":[{\"field\":\"createdAt\",\"direction\":\"DESC\"}],\"limit\":10,\"offset\":5,"
             "\"publishedOnly\":true}",
             hostile);
    build("posts", arguments, &statement, &ok);
    ck_assert(ok);
    ck_assert_str_eq(statement.text.data,
                     "SELECT data::text FROM \"public\".\"tv_post\" WHERE ((strpos((data ->> 'title'), $1::text) > 0) AND "
                     "((data -> 'commentCount') >= $2::jsonb) AND (((data -> 'author' ->> 'username') IN "
                     "(SELECT jsonb_array_elements_text($3::jsonb))))) AND (data ->> 'published') = $4::text "
                     "ORDER BY (data ->> 'createdAt') DESC, id LIMIT $5::bigint OFFSET $6::bigint");
    ck_assert_int_eq(statement.param_count, 6);
    ck_assert_str_eq(statement.params[0], hostile);
    ck_assert_str_eq(statement.params[1], "2");
    ck_assert_str_eq(statement.params[2], "[\"alice\",\"bob\"]");
    ck_assert_str_eq(statement.params[4], "10");
    ck_assert_str_eq(statement.params[5], "5");
    ck_assert_ptr_null(strstr(statement.text.data, "DROP"));
    sql_statement_free(&statement);
}
END_TEST

/* Money as the documentation says: a Decimal field compares and orders as a number, and the
 * client's digits reach the statement (arguments read as the server reads request bodies). */
START_TEST(test_decimal_compares_as_a_number_with_its_digits)
{
    static const char sdl[] =
        "directive @table(name: String!) on OBJECT\n"
        "directive @list on FIELD_DEFINITION\n"
        "scalar Decimal\n"
        "enum OrderDirection { ASC DESC }\n"
        "input DecimalFilter { eq: Decimal gt: Decimal in: [Decimal!] }\n"
        "input OrderWhere { total: DecimalFilter }\n"
        "enum OrderField { total }\n"
        "input OrderOrderBy { field: OrderField! direction: OrderDirection = ASC }\n"
        "type Order @table(name: \"tv_order\") { id: ID! total: Decimal }\n"
        "type Query { orders(where: OrderWhere, orderBy: [OrderOrderBy!], limit: Int = 10, "
        "offset: Int = 0): [Order!]! @list }\n";
    gql_schema *schema = gql_schema_parse(sdl, strlen(sdl), NULL);
    ck_assert_ptr_nonnull(schema);
    char error[300];
    schema_map *map = schema_map_new(schema, error, sizeof error);
    ck_assert_msg(map != NULL, "%s", error);
    const char *arguments_json = "{\"where\":{\"total\":{\"gt\":24.50,\"eq\":\"0.10\","
                                 "\"in\":[12345678901234567890.10]}},\"orderBy\":[{\"field\":\"total\","
                                 "\"direction\":\"DESC\"}],\"limit\":10,\"offset\":0}";
    cJSON *arguments = gql_json_read(arguments_json, strlen(arguments_json));
    ck_assert_ptr_nonnull(arguments);
    sql_statement statement;
    sql_statement_init(&statement);
    const gql_field *orders = gql_type_field(gql_schema_query_type(schema), "orders");
    ck_assert(sql_build_list(schema_map_find(map, orders), arguments, 100, &statement, error, sizeof error));
    ck_assert_str_eq(statement.text.data,
                     "SELECT data::text FROM \"tv_order\" WHERE (((data -> 'total') > $1::jsonb AND "
                     "(data -> 'total') = $2::jsonb AND (data -> 'total') IN (SELECT jsonb_array_elements($3::jsonb)))) "
                     "ORDER BY (data -> 'total') DESC, id LIMIT $4::bigint OFFSET $5::bigint");
    ck_assert_str_eq(statement.params[0], "24.50");
    ck_assert_str_eq(statement.params[1], "0.10");
    ck_assert_str_eq(statement.params[2], "[12345678901234567890.10]");
    sql_statement_free(&statement);
    cJSON_Delete(arguments);
    schema_map_free(map);
    gql_schema_free(schema);
}
END_TEST

START_TEST(test_boolean_combinators_nest)
{
    sql_statement statement;
    bool ok;
    build("users",
          "{\"where\":{\"OR\":[{\"username\":{\"eq\":\"a\"}},{\"NOT\":{\"email\":{\"isNull\":true}}}],"
          "\"AND\":[]},\"orderBy\":[]}",
          &statement, &ok);
    ck_assert(ok);
    ck_assert_str_eq(statement.text.data,
                     "SELECT data::text FROM \"public\".\"tv_user\" WHERE (((((data ->> 'username') = $1::text)) OR "
                     "(NOT coalesce(((coalesce(jsonb_typeof(data -> 'email'), 'null') = 'null')), false))) AND "
                     "(true)) ORDER BY id LIMIT $2::bigint OFFSET $3::bigint");
    sql_statement_free(&statement);
}
END_TEST

START_TEST(test_limit_is_capped_and_negative_values_refused)
{
    sql_statement statement;
    bool ok;
    build("comments", "{\"limit\":100000}", &statement, &ok);
    ck_assert(ok);
    ck_assert_str_eq(statement.params[statement.param_count - 2], "100");
    sql_statement_free(&statement);
    const char *error = build("comments", "{\"limit\":-1}", &statement, &ok);
    ck_assert(!ok);
    ck_assert_str_eq(error, "limit must be a non-negative integer");
    sql_statement_free(&statement);
    error = build("comments", "{\"offset\":-3}", &statement, &ok);
    ck_assert(!ok);
    ck_assert_str_eq(error, "offset must be a non-negative integer");
    sql_statement_free(&statement);
}
END_TEST

START_TEST(test_uuid_recognition)
{
    ck_assert(sql_is_uuid("10000000-0000-4000-8000-000000000001"));
    ck_assert(sql_is_uuid("10000000000040008000000000000001"));
    ck_assert(!sql_is_uuid("10000000-0000-4000-8000-00000000000"));
    ck_assert(!sql_is_uuid("' OR 1=1 --"));
    ck_assert(!sql_is_uuid(""));
}
END_TEST

START_TEST(test_lookup_casts_to_the_key_type)
{
    schema_map_table *table = (schema_map_table *) query_field("user")->table;
    schema_map_set_key(table, SCHEMA_MAP_KEY_BIGINT);
    ck_assert_str_eq(table->lookup_sql, "SELECT data::text FROM \"public\".\"tv_user\" WHERE id = $1::bigint");
    schema_map_set_key(table, SCHEMA_MAP_KEY_TEXT);
    ck_assert_str_eq(table->lookup_sql, "SELECT data::text FROM \"public\".\"tv_user\" WHERE id = $1::text");
    schema_map_set_key(table, SCHEMA_MAP_KEY_INTEGER);
    ck_assert_str_eq(table->lookup_sql, "SELECT data::text FROM \"public\".\"tv_user\" WHERE id = $1::integer");
}
END_TEST

START_TEST(test_ids_are_checked_against_the_key_type)
{
    ck_assert(sql_is_key(SCHEMA_MAP_KEY_UUID, "10000000-0000-4000-8000-000000000001"));
    ck_assert(!sql_is_key(SCHEMA_MAP_KEY_UUID, "42"));
    /* bigint: the whole range, exactly, with no trip through a C number */
    ck_assert(sql_is_key(SCHEMA_MAP_KEY_BIGINT, "42"));
    ck_assert(sql_is_key(SCHEMA_MAP_KEY_BIGINT, "-7"));
    ck_assert(sql_is_key(SCHEMA_MAP_KEY_BIGINT, "+7"));
    ck_assert(sql_is_key(SCHEMA_MAP_KEY_BIGINT, "9007199254740993"));
    ck_assert(sql_is_key(SCHEMA_MAP_KEY_BIGINT, "9223372036854775807"));
    ck_assert(sql_is_key(SCHEMA_MAP_KEY_BIGINT, "-9223372036854775808"));
    ck_assert(sql_is_key(SCHEMA_MAP_KEY_BIGINT, "0009223372036854775807"));
    ck_assert(!sql_is_key(SCHEMA_MAP_KEY_BIGINT, "9223372036854775808"));
    ck_assert(!sql_is_key(SCHEMA_MAP_KEY_BIGINT, "-9223372036854775809"));
    ck_assert(!sql_is_key(SCHEMA_MAP_KEY_BIGINT, "10000000000000000000"));
    ck_assert(!sql_is_key(SCHEMA_MAP_KEY_BIGINT, ""));
    ck_assert(!sql_is_key(SCHEMA_MAP_KEY_BIGINT, "-"));
    ck_assert(!sql_is_key(SCHEMA_MAP_KEY_BIGINT, "1.5"));
    ck_assert(!sql_is_key(SCHEMA_MAP_KEY_BIGINT, "1e3"));
    ck_assert(!sql_is_key(SCHEMA_MAP_KEY_BIGINT, " 1"));
    ck_assert(!sql_is_key(SCHEMA_MAP_KEY_BIGINT, "10000000-0000-4000-8000-000000000001"));
    ck_assert(sql_is_key(SCHEMA_MAP_KEY_INTEGER, "2147483647"));
    ck_assert(sql_is_key(SCHEMA_MAP_KEY_INTEGER, "-2147483648"));
    ck_assert(!sql_is_key(SCHEMA_MAP_KEY_INTEGER, "2147483648"));
    ck_assert(!sql_is_key(SCHEMA_MAP_KEY_INTEGER, "-2147483649"));
    ck_assert(sql_is_key(SCHEMA_MAP_KEY_TEXT, "any thing: ' OR 1=1 --"));
    ck_assert(sql_is_key(SCHEMA_MAP_KEY_TEXT, ""));
    ck_assert(!sql_is_key(SCHEMA_MAP_KEY_UNKNOWN, "42"));
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("server_sql");
    TCase *maps = tcase_create("schema_map");
    tcase_add_checked_fixture(maps, setup, teardown);
    tcase_add_test(maps, test_blog_fields_map_to_tables_and_functions);
    tcase_add_test(maps, test_unmapped_or_bad_fields_are_refused);
    tcase_add_test(maps, test_identifiers_are_quoted_part_by_part);
    suite_add_tcase(suite, maps);
    TCase *lists = tcase_create("sql_builder");
    tcase_add_checked_fixture(lists, setup, teardown);
    tcase_add_test(lists, test_list_filters_become_parameters);
    tcase_add_test(lists, test_decimal_compares_as_a_number_with_its_digits);
    tcase_add_test(lists, test_boolean_combinators_nest);
    tcase_add_test(lists, test_limit_is_capped_and_negative_values_refused);
    tcase_add_test(lists, test_uuid_recognition);
    tcase_add_test(lists, test_ids_are_checked_against_the_key_type);
    tcase_add_test(maps, test_lookup_casts_to_the_key_type);
    suite_add_tcase(suite, lists);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
