/* test_decl_model: reading @entity/@embedded declarations from SDL into the model, with the
 * one-line FILE:LINE errors of declarations that need no database to be found wrong. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "declare/decl_model.h"

typedef struct parsed {
    gql_arena arena;
    decl_model *model;
    char error[1024];
} parsed;

static void read_sdl(parsed *p, const char *sdl)
{
    gql_arena_init(&p->arena);
    gql_parse_error parse_error;
    ast_document *doc = gql_parse(&p->arena, sdl, strlen(sdl), NULL, &parse_error);
    ck_assert_msg(doc != NULL, "parse: %s", parse_error.message);
    p->error[0] = '\0';
    p->model = decl_model_read(&p->arena, doc, "blog.graphql", p->error, sizeof p->error);
}

static const char blog_sdl[] =
    "type Query { posts: [Post!]! }\n"
    "type Post @entity(source: \"tb_post\") {\n"
    "  id: ID!\n"
    "  title: String!\n"
    "  body: String! @column(name: \"content\")\n"
    "  author: AuthorRef! @ref(via: \"author_id\")\n"
    "  comments: [PostComment!]! @many(via: \"post_id\", orderBy: \"created_at\")\n"
    "  tags: [TagRef!]! @many(through: \"tb_post_tag\", via: \"post_id\", target: \"tag_id\")\n"
    "  commentCount: Int! @count(from: \"tb_comment\", via: \"post_id\", where: \"published\")\n"
    "  total: Float @sum(from: \"shop.tb_line\", via: \"post_id\", column: \"amount\")\n"
    "  words: Int! @expr(sql: \"length(content)\")\n"
    "}\n"
    "type AuthorRef @embedded(source: \"tb_user\") { id: ID! username: String! fullName: String }\n"
    "type PostComment @embedded(source: \"tb_comment\") { id: ID! content: String! }\n"
    "type TagRef @embedded(source: \"blog.tb_tag\") { id: ID! name: String! }\n"
    "type OrderLine @entity(source: \"shop.tb_order_line\", name: \"line\", crud: true) { id: ID! }\n";

START_TEST(test_reads_every_directive_with_its_line)
{
    parsed p;
    read_sdl(&p, blog_sdl);
    ck_assert_msg(p.model != NULL, "%s", p.error);
    ck_assert_uint_eq(p.model->type_count, 5);
    const decl_type *post = decl_model_type(p.model, "Post");
    ck_assert(post->entity);
    ck_assert_str_eq(post->entity_name, "post");
    ck_assert_str_eq(post->source_schema, "public");
    ck_assert_str_eq(post->source_table, "tb_post");
    ck_assert_uint_eq(post->line, 2);
    ck_assert_uint_eq(post->field_count, 9);
    const decl_field *f = post->fields;
    ck_assert_int_eq(f[0].kind, DECL_FIELD_COLUMN);
    ck_assert_ptr_null(f[0].column);
    ck_assert_str_eq(f[1].column, "title");
    ck_assert_str_eq(f[2].column, "content");
    ck_assert_int_eq(f[3].kind, DECL_FIELD_REF);
    ck_assert_str_eq(f[3].via, "author_id");
    ck_assert_ptr_eq(f[3].target_type, decl_model_type(p.model, "AuthorRef"));
    ck_assert_uint_eq(f[3].line, 6);
    ck_assert_int_eq(f[4].kind, DECL_FIELD_MANY);
    ck_assert(f[4].list && f[4].non_null);
    ck_assert_str_eq(f[4].order_by, "created_at");
    ck_assert_ptr_null(f[4].through);
    ck_assert_str_eq(f[5].through, "tb_post_tag");
    ck_assert_str_eq(f[5].target, "tag_id");
    ck_assert_int_eq(f[6].kind, DECL_FIELD_AGGREGATE);
    ck_assert_int_eq(f[6].aggregate, DECL_COUNT);
    ck_assert_str_eq(f[6].where, "published");
    ck_assert_int_eq(f[7].aggregate, DECL_SUM);
    ck_assert_str_eq(f[7].from, "shop.tb_line");
    ck_assert_str_eq(f[7].column, "amount");
    ck_assert(!f[7].non_null);
    ck_assert_int_eq(f[8].kind, DECL_FIELD_EXPR);
    ck_assert_str_eq(f[8].sql, "length(content)");
    const decl_type *author = decl_model_type(p.model, "AuthorRef");
    ck_assert(!author->entity);
    ck_assert_str_eq(author->fields[2].column, "full_name");
    const decl_type *tag = decl_model_type(p.model, "TagRef");
    ck_assert_str_eq(tag->source_schema, "blog");
    const decl_type *line = decl_model_type(p.model, "OrderLine");
    ck_assert_str_eq(line->entity_name, "line");
    ck_assert(line->crud);
    ck_assert_ptr_null(decl_model_type(p.model, "Query"));
    gql_arena_free(&p.arena);
}
END_TEST

static void expect_error(const char *sdl, const char *error)
{
    parsed p;
    read_sdl(&p, sdl);
    ck_assert_ptr_null(p.model);
    ck_assert_msg(strstr(p.error, error) != NULL, "error \"%s\" does not contain \"%s\"", p.error, error);
    ck_assert_ptr_null(strchr(p.error, '\n'));
    gql_arena_free(&p.arena);
}

START_TEST(test_errors_name_file_and_line)
{
    expect_error("type A @entity(source: \"tb_a\") {\n  id: ID!\n  b: [B!]! @ref(via: \"b_id\")\n}\n"
                 "type B @embedded(source: \"tb_b\") { id: ID! }\n",
                 "blog.graphql:3: @ref on A.b needs a single type");
    expect_error("type A @entity(source: \"tb_a\") {\n  id: ID!\n  b: B! @many(via: \"a_id\")\n}\n"
                 "type B @embedded(source: \"tb_b\") { id: ID! }\n",
                 "blog.graphql:3: @many on A.b needs a list type");
    expect_error("type A @entity(source: \"tb_a\") {\n  id: ID!\n  b: C @ref(via: \"c_id\")\n}\ntype C { x: Int }\n",
                 "blog.graphql:3: @ref on A.b: type C is not an @entity or @embedded type");
    expect_error("\n\ntype A @embedded(source: \"tb_a\") { name: String }\n", "blog.graphql:3: type A has no id field");
    expect_error("type A @entity(source: \"tb_a\") {\n id: ID!\n n: Int! @count(via: \"a_id\")\n}\n",
                 "blog.graphql:3: @count needs from");
    expect_error("type A @entity(source: \"tb_a\") { id: ID! }\ntype Q {\n x: Int @ref(via: \"y\")\n}\n",
                 "blog.graphql:3: @ref on Q.x: Q has no @entity or @embedded");
    expect_error("type A @entity(source: 12) { id: ID! }\n", "blog.graphql:1: @entity(source:) must be a non-empty string");
    expect_error("type A @entity(source: \"tb_a\") {\n id: String\n}\n", "blog.graphql:2: A.id must be ID!");
    expect_error("type A @entity(source: \"tb_a\") {\n id: ID!\n b: [B!]! @many(via: \"a_id\", through: \"t\")\n}\n"
                 "type B @embedded(source: \"tb_b\") { id: ID! }\n",
                 "blog.graphql:3: @many on A.b: through and target go together");
    expect_error("type A @entity(source: \"tb_a\") {\n id: ID!\n b: [[Int]]\n}\n",
                 "blog.graphql:3: field A.b: nested lists are not read models");
    expect_error("type A @entity(source: \"tb_a\") {\n id: ID!\n b: B!\n}\ntype B @embedded(source: \"tb_b\") { id: ID! }\n",
                 "blog.graphql:3: field A.b of read model type B needs @ref or @many");
}
END_TEST

static const decl_field *read_window(parsed *p, const char *arguments)
{
    char sdl[512];
    snprintf(sdl, sizeof sdl,
             "type A @entity(source: \"tb_a\") {\n id: ID!\n b: [B!]! @many(via: \"a_id\"%s)\n}\n"
             "type B @embedded(source: \"tb_b\") { id: ID! }\n", arguments);
    read_sdl(p, sdl);
    ck_assert_msg(p->model != NULL, "%s: %s", arguments, p->error);
    return &decl_model_type(p->model, "A")->fields[1];
}

START_TEST(test_many_keeps_the_first_or_last_k_rows)
{
    parsed p;
    const decl_field *f = read_window(&p, "");
    ck_assert_uint_eq(f->window, 0);
    gql_arena_free(&p.arena);
    f = read_window(&p, ", orderBy: \"created_at\", last: 50");
    ck_assert_uint_eq(f->window, 50);
    ck_assert(f->window_last);
    gql_arena_free(&p.arena);
    f = read_window(&p, ", orderBy: \"lower(name)\", first: 1");
    ck_assert_uint_eq(f->window, 1);
    ck_assert(!f->window_last);
    gql_arena_free(&p.arena);
    f = read_window(&p, ", last: 10000");
    ck_assert_uint_eq(f->window, DECL_MAX_WINDOW);
    gql_arena_free(&p.arena);
    const char *head = "type A @entity(source: \"tb_a\") {\n id: ID!\n b: [B!]! @many(via: \"a_id\", ";
    const char *tail = ")\n}\ntype B @embedded(source: \"tb_b\") { id: ID! }\n";
    static const struct { const char *arguments, *error; } bad[] = {
        {"first: 2, last: 3", "blog.graphql:3: @many on A.b has both first and last (keep one"},
        {"last: 0", "blog.graphql:3: @many(last:) on A.b must be an integer from 1 to 10000"},
        {"first: -4", "@many(first:) on A.b must be an integer from 1 to 10000"},
        {"first: 10001", "must be an integer from 1 to 10000"},
        {"first: 99999999999999999999", "must be an integer from 1 to 10000"},
        {"last: \"5\"", "@many(last:) on A.b must be an integer"},
        {"first: 2.5", "@many(first:) on A.b must be an integer"},
        {"orderBy: \"lower(name)\", last: 5", "blog.graphql:3: @many(last:) on A.b needs orderBy to be columns"},
        {"orderBy: \"a, b DESC NULLS\", last: 5", "needs orderBy to be columns"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char sdl[512];
        snprintf(sdl, sizeof sdl, "%s%s%s", head, bad[i].arguments, tail);
        expect_error(sdl, bad[i].error);
    }
}
END_TEST

START_TEST(test_document_without_declarations_is_an_empty_model)
{
    parsed p;
    read_sdl(&p, "type Query { hello: String }\n");
    ck_assert_ptr_nonnull(p.model);
    ck_assert_uint_eq(p.model->type_count, 0);
    gql_arena_free(&p.arena);
}
END_TEST

START_TEST(test_directive_definitions_parse_and_declare_every_directive)
{
    parsed p;
    gql_arena_init(&p.arena);
    gql_parse_error parse_error;
    ast_document *doc = gql_parse(&p.arena, decl_directives_sdl, strlen(decl_directives_sdl), NULL, &parse_error);
    ck_assert_msg(doc != NULL, "%s", parse_error.message);
    static const char *const names[] = {"entity", "embedded", "column", "ref", "many", "count", "sum", "min", "max", "expr"};
    ck_assert_uint_eq(doc->count, sizeof names / sizeof names[0]);
    for (size_t i = 0; i < doc->count; i++) {
        ck_assert_int_eq(doc->definitions[i]->kind, AST_DEF_DIRECTIVE);
        ck_assert_str_eq(doc->definitions[i]->name, names[i]);
        ck_assert_ptr_nonnull(doc->definitions[i]->description);
    }
    gql_arena_free(&p.arena);
}
END_TEST

START_TEST(test_snake_case)
{
    char out[64];
    decl_snake_case("createdAt", out, sizeof out);
    ck_assert_str_eq(out, "created_at");
    decl_snake_case("OrderLine", out, sizeof out);
    ck_assert_str_eq(out, "order_line");
    decl_snake_case("HTTPServer", out, sizeof out);
    ck_assert_str_eq(out, "http_server");
    decl_snake_case("line2Total", out, sizeof out);
    ck_assert_str_eq(out, "line2_total");
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("decl_model");
    TCase *tc = tcase_create("model");
    tcase_add_test(tc, test_reads_every_directive_with_its_line);
    tcase_add_test(tc, test_errors_name_file_and_line);
    tcase_add_test(tc, test_document_without_declarations_is_an_empty_model);
    tcase_add_test(tc, test_directive_definitions_parse_and_declare_every_directive);
    tcase_add_test(tc, test_snake_case);
    tcase_add_test(tc, test_many_keeps_the_first_or_last_k_rows);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? 1 : 0;
}
