/* test_schema_derive: a file declaring read models becomes a schema with tables, derived list
 * arguments and CRUD mutations; what the file writes wins; errors name the file's line. */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/schema_derive.h"
#include "server/schema_map.h"

/* No directive definitions: the server supplies them. */
static const char DECLARED[] =
    "scalar DateTime\n"                                                                        /* 1 */
    "type AuthorRef @embedded(source: \"blog.tb_user\") { id: ID! username: String! }\n"      /* 2 */
    "type TagRef @embedded(source: \"blog.tb_tag\") { id: ID! label: String! }\n"             /* 3 */
    "type Post @entity(source: \"blog.tb_post\", crud: true) {\n"                              /* 4 */
    "  id: ID!\n"
    "  title: String!\n"
    "  body: String @column(name: \"content\")\n"
    "  score: Float\n"
    "  published: Boolean!\n"
    "  createdAt: DateTime!\n"
    "  author: AuthorRef! @ref(via: \"author_id\")\n"
    "  tags: [TagRef!]! @many(through: \"blog.tb_post_tag\", via: \"post_id\", target: \"tag_id\")\n"
    "  commentCount: Int! @count(from: \"blog.tb_comment\", via: \"post_id\")\n"
    "}\n"                                                                                      /* 14 */
    "type OrderLine @entity(source: \"tb_order_line\") { id: ID! amount: Int }\n"            /* 15 */
    "type Query {\n"                                                                           /* 16 */
    "  post(id: ID!): Post @lookup\n"
    "  posts: [Post!]! @list\n"                                                                /* 18 */
    "  orderLines: [OrderLine!]! @list\n"
    "}\n";

static gql_schema *schema;
static schema_map *map;

static char *derive_text(const char *sdl, bool *ok, char *error, size_t error_size)
{
    gql_buf out;
    gql_buf_init(&out);
    *ok = schema_derive(sdl, strlen(sdl), "model.graphql", &out, error, error_size);
    return out.data;
}

/* Derives, builds and maps sdl; fails the test on any error. */
static void load(const char *sdl)
{
    char error[512] = "";
    bool ok;
    char *text = derive_text(sdl, &ok, error, sizeof error);
    ck_assert_msg(ok, "derive: %s", error);
    char *parse_error = NULL;
    schema = gql_schema_parse(text, strlen(text), &parse_error);
    ck_assert_msg(schema != NULL, "schema: %s\n%s", parse_error ? parse_error : "?", text);
    free(text);
    map = schema_map_new(schema, error, sizeof error);
    ck_assert_msg(map != NULL, "map: %s", error);
}

static void unload(void)
{
    schema_map_free(map);
    gql_schema_free(schema);
    map = NULL;
    schema = NULL;
}

static const gql_type *type_named(const char *name)
{
    const gql_type *type = gql_schema_type(schema, name);
    ck_assert_msg(type != NULL, "no type %s", name);
    return type;
}

/* The type of field (or input field) name of type_name, printed. */
static char *field_type(const char *type_name, const char *name)
{
    const gql_type *type = type_named(type_name);
    gql_buf out;
    gql_buf_init(&out);
    const gql_field *field = gql_type_field(type, name);
    if (field != NULL)
        gql_type_print(field->type, &out);
    for (size_t i = 0; field == NULL && i < type->input_field_count; i++)
        if (strcmp(type->input_fields[i].name, name) == 0)
            gql_type_print(type->input_fields[i].type, &out);
    static char text[128];
    snprintf(text, sizeof text, "%s", out.data ? out.data : "(none)");
    gql_buf_free(&out);
    return text;
}

static bool has_enum_value(const char *type_name, const char *value)
{
    const gql_type *type = type_named(type_name);
    for (size_t i = 0; i < type->enum_value_count; i++)
        if (strcmp(type->enum_values[i].name, value) == 0)
            return true;
    return false;
}

static const schema_map_field *mapped(const gql_type *root, const char *name)
{
    const gql_field *field = gql_type_field(root, name);
    ck_assert_msg(field != NULL, "no field %s", name);
    return schema_map_find(map, field);
}

START_TEST(test_entity_is_served_from_its_read_model_table)
{
    load(DECLARED);
    const schema_map_field *post = mapped(gql_schema_query_type(schema), "post");
    ck_assert_str_eq(post->table->quoted_name, "\"blog\".\"tv_post\"");
    /* An unqualified source is in public; the entity is the type name in snake_case. */
    const schema_map_field *lines = mapped(gql_schema_query_type(schema), "orderLines");
    ck_assert_str_eq(lines->table->quoted_name, "\"public\".\"tv_order_line\"");
    /* The @table stands in the @entity's line, so database checks name it. */
    ck_assert_uint_eq(post->table->directive->location.line, 4);
    unload();
}
END_TEST

START_TEST(test_list_without_arguments_gets_where_order_by_limit_offset)
{
    load(DECLARED);
    const gql_field *posts = gql_type_field(gql_schema_query_type(schema), "posts");
    ck_assert_uint_eq(posts->argument_count, 4);
    ck_assert_str_eq(field_type("Query", "posts"), "[Post!]!");
    const schema_map_field *list = mapped(gql_schema_query_type(schema), "posts");
    ck_assert_ptr_eq(list->where_type, type_named("PostWhere"));
    ck_assert_str_eq(field_type("PostWhere", "id"), "IDFilter");
    ck_assert_str_eq(field_type("PostWhere", "title"), "StringFilter");
    ck_assert_str_eq(field_type("PostWhere", "body"), "StringFilter");
    ck_assert_str_eq(field_type("PostWhere", "score"), "FloatFilter");
    ck_assert_str_eq(field_type("PostWhere", "published"), "BooleanFilter");
    ck_assert_str_eq(field_type("PostWhere", "createdAt"), "DateTimeFilter");
    ck_assert_str_eq(field_type("PostWhere", "commentCount"), "IntFilter");
    ck_assert_str_eq(field_type("PostWhere", "author"), "AuthorRefWhere");
    ck_assert_str_eq(field_type("PostWhere", "tags"), "(none)");
    ck_assert_str_eq(field_type("PostWhere", "AND"), "[PostWhere!]");
    ck_assert_str_eq(field_type("PostWhere", "NOT"), "PostWhere");
    ck_assert_str_eq(field_type("AuthorRefWhere", "username"), "StringFilter");
    ck_assert(has_enum_value("PostOrderField", "title"));
    ck_assert(has_enum_value("PostOrderField", "createdAt"));
    ck_assert(!has_enum_value("PostOrderField", "author"));
    ck_assert(!has_enum_value("PostOrderField", "tags"));
    ck_assert_str_eq(field_type("PostOrderBy", "field"), "PostOrderField!");
    ck_assert_str_eq(field_type("PostOrderBy", "direction"), "OrderDirection");
    ck_assert_str_eq(field_type("Query", "posts"), "[Post!]!");
    const gql_input_value *order_by = gql_field_argument(posts, "orderBy");
    gql_buf out;
    gql_buf_init(&out);
    gql_type_print(order_by->type, &out);
    ck_assert_str_eq(out.data, "[PostOrderBy!]");
    gql_buf_free(&out);
    ck_assert_ptr_nonnull(gql_field_argument(posts, "limit"));
    ck_assert_ptr_nonnull(gql_field_argument(posts, "offset"));
    unload();
}
END_TEST

START_TEST(test_crud_entity_gets_contract_mutations)
{
    load(DECLARED);
    const gql_type *mutation = gql_schema_mutation_type(schema);
    ck_assert_ptr_nonnull(mutation);
    const schema_map_field *create = mapped(mutation, "createPost");
    ck_assert_str_eq(create->function_name, "\"blog\".\"create_post\"");
    ck_assert_str_eq(create->table->quoted_name, "\"blog\".\"tv_post\"");
    ck_assert_str_eq(mapped(mutation, "updatePost")->function_name, "\"blog\".\"update_post\"");
    ck_assert_str_eq(mapped(mutation, "deletePost")->function_name, "\"blog\".\"delete_post\"");
    ck_assert_str_eq(mapped(mutation, "linkPostTags")->function_name, "\"blog\".\"link_post_tags\"");
    ck_assert_str_eq(mapped(mutation, "unlinkPostTags")->function_name, "\"blog\".\"unlink_post_tags\"");
    ck_assert_str_eq(field_type("Mutation", "deletePost"), "ID");
    ck_assert_str_eq(field_type("Mutation", "updatePost"), "Post");
    const gql_field *update = gql_type_field(mutation, "updatePost");
    gql_buf out;
    gql_buf_init(&out);
    gql_type_print(gql_field_argument(update, "patch")->type, &out);
    ck_assert_str_eq(out.data, "PostPatch!");
    gql_buf_free(&out);
    ck_assert_str_eq(field_type("PostCreateInput", "id"), "ID");
    ck_assert_str_eq(field_type("PostCreateInput", "title"), "String");
    ck_assert_str_eq(field_type("PostCreateInput", "authorId"), "ID");
    ck_assert_str_eq(field_type("PostCreateInput", "createdAt"), "DateTime");
    ck_assert_str_eq(field_type("PostCreateInput", "tags"), "(none)");
    ck_assert_str_eq(field_type("PostCreateInput", "commentCount"), "(none)");
    ck_assert_str_eq(field_type("PostPatch", "id"), "(none)");
    ck_assert_str_eq(field_type("PostPatch", "body"), "String");
    /* Not crud: no mutations. */
    ck_assert_ptr_null(gql_type_field(mutation, "createOrderLine"));
    /* The derived fields stand in the type's line. */
    ck_assert_uint_eq(create->sql_directive->location.line, 4);
    unload();
}
END_TEST

START_TEST(test_hand_written_arguments_types_and_mutations_win)
{
    char sdl[4096];
    snprintf(sdl, sizeof sdl, "%s%s", DECLARED,
             "input PostWhere { title: StringFilter }\n"
             "input StringFilter { eq: String }\n"
             "extend type Query { drafts(limit: Int): [Post!]! @list }\n"
             "type Mutation { createPost(title: String!): Post @sql(function: \"blog.my_create\") }\n");
    load(sdl);
    ck_assert_str_eq(field_type("PostWhere", "title"), "StringFilter");
    ck_assert_str_eq(field_type("PostWhere", "id"), "(none)");
    ck_assert_ptr_null(gql_type_field(type_named("StringFilter"), "contains"));
    ck_assert_uint_eq(type_named("StringFilter")->input_field_count, 1);
    const gql_field *drafts = gql_type_field(gql_schema_query_type(schema), "drafts");
    ck_assert_uint_eq(drafts->argument_count, 1);
    const gql_type *mutation = gql_schema_mutation_type(schema);
    ck_assert_str_eq(mapped(mutation, "createPost")->function_name, "\"blog\".\"my_create\"");
    ck_assert_str_eq(mapped(mutation, "updatePost")->function_name, "\"blog\".\"update_post\"");
    unload();
}
END_TEST

START_TEST(test_hand_written_arguments_may_name_derived_inputs)
{
    char sdl[4096];
    snprintf(sdl, sizeof sdl, "%s%s", DECLARED,
             "extend type Query {\n"
             "  recent(where: PostWhere, orderBy: [PostOrderBy!] = [{field: createdAt, direction: DESC}],\n"
             "         limit: Int = 100, offset: Int = 0): [Post!]! @list\n"
             "}\n");
    load(sdl);
    const gql_field *recent = gql_type_field(gql_schema_query_type(schema), "recent");
    ck_assert_uint_eq(recent->argument_count, 4);
    ck_assert_ptr_nonnull(gql_field_argument(recent, "limit")->default_value);
    ck_assert_ptr_eq(mapped(gql_schema_query_type(schema), "recent")->where_type, type_named("PostWhere"));
    ck_assert_str_eq(field_type("PostWhere", "author"), "AuthorRefWhere");
    ck_assert_str_eq(field_type("AuthorRefWhere", "username"), "StringFilter");
    ck_assert(has_enum_value("PostOrderField", "createdAt"));
    ck_assert_str_eq(field_type("PostOrderBy", "direction"), "OrderDirection");
    unload();
}
END_TEST

START_TEST(test_file_without_declarations_is_served_as_written)
{
    /* The differential test's schema: no declarations, every directive it uses declared. */
    const char *srcdir = getenv("TVSYNC_SRCDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/graphql/schema.graphql", srcdir ? srcdir : ".");
    FILE *file = fopen(path, "rb");
    ck_assert_msg(file != NULL, "cannot open %s", path);
    static char sdl[1 << 16];
    size_t length = fread(sdl, 1, sizeof sdl - 1, file);
    fclose(file);
    sdl[length] = '\0';
    char error[512];
    bool ok;
    char *text = derive_text(sdl, &ok, error, sizeof error);
    ck_assert(ok);
    /* compared without ck_assert_str_eq: Check cannot carry a message this long */
    ck_assert_msg(strcmp(text, sdl) == 0, "the derived SDL differs from the file (%zu and %zu bytes)", strlen(text),
                  length);
    free(text);
}
END_TEST

/* The error for sdl, which must be refused. */
static const char *refused(const char *sdl)
{
    static char error[512];
    bool ok;
    free(derive_text(sdl, &ok, error, sizeof error));
    ck_assert_msg(!ok, "accepted: %s", sdl);
    return error;
}

START_TEST(test_declaration_errors_name_file_and_line)
{
    const char *query = "type Query { x: Int @sql(function: \"f\") }\n";
    char sdl[2048];
    snprintf(sdl, sizeof sdl, "%s\ntype Post @entity { id: ID! }\n", query);
    ck_assert_str_eq(refused(sdl), "model.graphql:3: type Post: @entity needs source: \"tb_x\" or \"schema.tb_x\" "
                                   "(the table its rows come from)");
    snprintf(sdl, sizeof sdl, "%stype Post @entity(source: \"a.b.c\") { id: ID! }\n", query);
    ck_assert_ptr_nonnull(strstr(refused(sdl), "model.graphql:2: type Post: @entity needs source"));
    snprintf(sdl, sizeof sdl, "%stype Stats { n: Int }\ntype Query2 { a: Int }\nextend type Query {\n"
             "  stats: [Stats!]! @list\n}\n", query);
    ck_assert_str_eq(refused(sdl), "model.graphql:5: Query.stats: @list lists a read model, Stats is not one "
                                   "(declare it with @entity(source: ...) or map it with @table(name: ...))");
    snprintf(sdl, sizeof sdl, "%stype A @embedded(source: \"tb_a\") { id: ID! }\n"
             "type Post @entity(source: \"tb_post\") {\n  id: ID!\n  a: [A!]! @ref(via: \"a_id\")\n}\n", query);
    ck_assert_ptr_nonnull(strstr(refused(sdl), "model.graphql:5: Post.a: @ref names one row"));
    snprintf(sdl, sizeof sdl, "%stype Plain { id: ID! }\n"
             "type Post @entity(source: \"tb_post\") {\n  id: ID!\n  p: Plain @ref(via: \"p_id\")\n}\n", query);
    ck_assert_ptr_nonnull(strstr(refused(sdl), "model.graphql:5: Post.p: @ref needs a type declared with @entity"));
    snprintf(sdl, sizeof sdl, "%stype Plain {\n  id: ID!\n  name: String @column(name: \"n\")\n}\n", query);
    ck_assert_ptr_nonnull(strstr(refused(sdl), "model.graphql:4: Plain.name: @column is for fields of @entity"));
    snprintf(sdl, sizeof sdl, "%stype Post @entity(source: \"tb_post\", name: \"a.b\") { id: ID! }\n", query);
    ck_assert_ptr_nonnull(strstr(refused(sdl), "model.graphql:2: type Post: @entity(name:) is a lower-case SQL name"));
    snprintf(sdl, sizeof sdl, "%stype Post @entity(source: \"tb_post\") { title: String }\n", query);
    ck_assert_ptr_nonnull(strstr(refused(sdl), "model.graphql:2: type Post: a declared type needs an `id: ID!`"));
}
END_TEST

START_TEST(test_schema_root_gets_mutation_when_declared_without)
{
    char sdl[4096];
    snprintf(sdl, sizeof sdl, "schema { query: Query }\n%s", DECLARED);
    load(sdl);
    ck_assert_ptr_nonnull(gql_schema_mutation_type(schema));
    ck_assert_ptr_nonnull(gql_type_field(gql_schema_mutation_type(schema), "createPost"));
    unload();
}
END_TEST

START_TEST(test_described_crud_type_keeps_its_description_and_line)
{
    load("\"\"\"\nA post,\n  \"quoted\".\n\"\"\"\n"                                   /* 1-4 */
         "type Post @entity(source: \"tb_post\", crud: true) { id: ID! title: String }\n" /* 5 */
         "type Query { posts: [Post!]! @list }\n");
    const gql_type *post = type_named("Post");
    ck_assert_str_eq(post->description, "A post,\n  \"quoted\".");
    ck_assert_uint_eq(post->location.line, 5);
    const schema_map_field *create = mapped(gql_schema_mutation_type(schema), "createPost");
    ck_assert_uint_eq(create->sql_directive->location.line, 5);
    ck_assert_uint_eq(gql_type_field(gql_schema_query_type(schema), "posts")->location.line, 6);
    unload();
}
END_TEST

START_TEST(test_entity_name_names_table_and_functions)
{
    load("type Foo @entity(source: \"x.tb_foo\", name: \"bar\", crud: true) { id: ID! n: Int }\n"
         "type Query { foo(id: ID!): Foo @lookup }\n");
    ck_assert_str_eq(mapped(gql_schema_query_type(schema), "foo")->table->quoted_name, "\"x\".\"tv_bar\"");
    ck_assert_str_eq(mapped(gql_schema_mutation_type(schema), "createFoo")->function_name, "\"x\".\"create_bar\"");
    unload();
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("schema_derive");
    TCase *derive = tcase_create("derive");
    tcase_add_test(derive, test_entity_is_served_from_its_read_model_table);
    tcase_add_test(derive, test_list_without_arguments_gets_where_order_by_limit_offset);
    tcase_add_test(derive, test_crud_entity_gets_contract_mutations);
    tcase_add_test(derive, test_hand_written_arguments_types_and_mutations_win);
    tcase_add_test(derive, test_hand_written_arguments_may_name_derived_inputs);
    tcase_add_test(derive, test_file_without_declarations_is_served_as_written);
    tcase_add_test(derive, test_declaration_errors_name_file_and_line);
    tcase_add_test(derive, test_schema_root_gets_mutation_when_declared_without);
    tcase_add_test(derive, test_described_crud_type_keeps_its_description_and_line);
    tcase_add_test(derive, test_entity_name_names_table_and_functions);
    suite_add_tcase(suite, derive);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
