/* Unit tests for the GraphQL lexer and parser: syntax errors worded and located as
 * graphql-js reports them, string escapes, and the document limits. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/graphql/gql_parser.h"
#include "graphql_test_helpers.h"

static char *syntax_error(const char *doc, const gql_limits *limits)
{
    gql_arena arena;
    gql_arena_init(&arena);
    gql_parse_error err;
    ast_document *d = gql_parse(&arena, doc, strlen(doc), limits, &err);
    char *out;
    if (d) {
        out = strdup("ok");
    } else {
        gql_location loc = gql_source_location(doc, strlen(doc), err.pos);
        size_t n = strlen(err.message) + 32;
        out = malloc(n);
        snprintf(out, n, "%u:%u %s", loc.line, loc.column, err.message);
    }
    gql_arena_free(&arena);
    return out;
}

START_TEST(test_syntax_errors_use_graphql_js_wording_and_location)
{
    ck_assert_json_eq(syntax_error("", NULL), "1:1 Syntax Error: Unexpected <EOF>.");
    ck_assert_json_eq(syntax_error("{", NULL), "1:2 Syntax Error: Expected Name, found <EOF>.");
    ck_assert_json_eq(syntax_error("{ a(x: 01) }", NULL),
                      "1:9 Syntax Error: Invalid number, unexpected digit after 0: \"1\".");
    ck_assert_json_eq(syntax_error("{ a(x: \"\\q\") }", NULL),
                      "1:9 Syntax Error: Invalid character escape sequence: \"\\q\".");
    ck_assert_json_eq(syntax_error("{ a(x: 'y') }", NULL),
                      "1:8 Syntax Error: Unexpected single quote character ('), did you mean to "
                      "use a double quote (\")?");
    ck_assert_json_eq(syntax_error("query Q($a: Int = $b) { a }", NULL),
                      "1:19 Syntax Error: Unexpected variable \"$b\" in constant value.");
    ck_assert_json_eq(syntax_error("{ a }\r\n\r\n  ]", NULL), "3:3 Syntax Error: Unexpected \"]\".");
}
END_TEST

START_TEST(test_columns_count_utf16_code_units)
{
    /* U+1F600 is two UTF-16 units, é one: graphql-js columns count units, not bytes */
    ck_assert_json_eq(syntax_error("{ a(x: \"\xf0\x9f\x98\x80\xc3\xa9\") } ?", NULL),
                      "1:17 Syntax Error: Unexpected character: \"?\".");
    ck_assert_json_eq(syntax_error("{ a } \xf0\x9f\x98\x80", NULL),
                      "1:7 Syntax Error: Unexpected character: U+1F600.");
}
END_TEST

START_TEST(test_strings_decode_escapes_and_block_strings)
{
    gql_arena arena;
    gql_arena_init(&arena);
    gql_parse_error err;
    const char *doc = "{ a(x: \"\\u{1F600}\\uD83D\\uDE00\\n\", y: \"\"\"\n    one\n      two\n  \"\"\") }";
    ast_document *d = gql_parse(&arena, doc, strlen(doc), NULL, &err);
    ck_assert_msg(d != NULL, "%s", err.message);
    const ast_selection *field = d->definitions[0]->selection_set->items[0];
    ck_assert_str_eq(field->arguments[0].value->text, "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\n");
    ck_assert_str_eq(field->arguments[1].value->text, "one\n  two");
    ck_assert(field->arguments[1].value->block);
    gql_arena_free(&arena);
}
END_TEST

START_TEST(test_bom_commas_and_comments_are_ignored)
{
    ck_assert_json_eq(syntax_error("\xef\xbb\xbf# c\n{ a, b,, c # x\n }", NULL), "ok");
}
END_TEST

START_TEST(test_limits_refuse_big_long_and_deep_documents)
{
    gql_limits limits = {.max_document_bytes = 20, .max_tokens = 5, .max_depth = 3};
    ck_assert_json_eq(syntax_error("{ a b c d e f g h i j k l }", &limits),
                      "1:1 Document is 27 bytes, more than the limit of 20 bytes. Parsing aborted.");
    limits.max_document_bytes = 1000;
    ck_assert_json_eq(syntax_error("{ a b c d e }", &limits),
                      "1:11 Syntax Error: Document contains more than 5 tokens. Parsing aborted.");
    limits.max_tokens = 1000;
    ck_assert_json_eq(syntax_error("{ a { b { c { d } } } }", &limits),
                      "1:13 Syntax Error: Document exceeds the maximum nesting depth of 3.");
}
END_TEST

START_TEST(test_hostile_nesting_is_refused_at_the_depth_limit)
{
    /* a million brackets would overflow a recursive parser's stack */
    size_t n = 1000000;
    char *doc = malloc(n + 16);
    memcpy(doc, "{ a(x: ", 7);
    memset(doc + 7, '[', n);
    doc[7 + n] = 0;
    gql_limits limits = {.max_document_bytes = 2 * n, .max_tokens = 2 * n, .max_depth = 64};
    char *e = syntax_error(doc, &limits);
    ck_assert_str_eq(e, "1:71 Syntax Error: Document exceeds the maximum nesting depth of 64.");
    free(e);
    free(doc);
}
END_TEST

START_TEST(test_sdl_definitions_parse)
{
    ck_assert_json_eq(syntax_error(test_blog_sdl, NULL), "ok");
    ck_assert_json_eq(syntax_error("enum E { true }", NULL),
                      "1:10 Syntax Error: Name \"true\" is reserved and cannot be used for an enum value.");
    ck_assert_json_eq(syntax_error("extend scalar Foo", NULL),
                      "1:18 Syntax Error: Unexpected <EOF>.");
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("graphql_parser");
    TCase *tc = tcase_create("parser");
    tcase_add_test(tc, test_syntax_errors_use_graphql_js_wording_and_location);
    tcase_add_test(tc, test_columns_count_utf16_code_units);
    tcase_add_test(tc, test_strings_decode_escapes_and_block_strings);
    tcase_add_test(tc, test_bom_commas_and_comments_are_ignored);
    tcase_add_test(tc, test_limits_refuse_big_long_and_deep_documents);
    tcase_add_test(tc, test_hostile_nesting_is_refused_at_the_depth_limit);
    tcase_add_test(tc, test_sdl_definitions_parse);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
