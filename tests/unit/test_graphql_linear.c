/* Unit tests: lexing, parsing, validation, planning and variable coercion cost time linear in
 * the document. Each shape runs at n and 8n in the same run and compares CPU times. */
#include <check.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* A document (and optional variables JSON) of a shape with n repetitions. */
typedef void (*shape_fn)(size_t n, gql_buf *document, gql_buf *variables);

/* Prepares the document and, when it is valid, a request with the variables: the work one
 * HTTP request does before any SQL. */
static void run_once(const gql_buf *document, const gql_buf *variables)
{
    cJSON *errors = NULL;
    gql_prepared *p = gql_prepare(schema, document->data, document->len, NULL, NULL, &errors);
    if (p == NULL) {
        cJSON_Delete(errors);
        return;
    }
    gql_request *r = gql_request_new_json(p, variables->len ? variables->data : NULL, &errors);
    if (r != NULL)
        gql_request_free(r);
    else
        cJSON_Delete(errors);
    gql_prepared_release(p);
}

/* CPU time of this thread per run (other sessions on the machine do not count), best of 5
 * rounds; a round repeats the run until it has taken at least 5 ms, so that a document that
 * is prepared in a fraction of a millisecond is not timed at the clock's and the caches'
 * noise. */
static double best_seconds(shape_fn shape, size_t n)
{
    gql_buf document, variables;
    gql_buf_init(&document);
    gql_buf_init(&variables);
    gql_buf_puts(&document, "");
    gql_buf_puts(&variables, "");
    shape(n, &document, &variables);
    double best = 1e30;
    for (int round = 0; round < 5; round++) {
        struct timespec a, b;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
        double s = 0;
        int runs = 0;
        do {
            run_once(&document, &variables);
            runs++;
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
            s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
        } while (s < 0.005 && runs < 10000);
        if (s / runs < best)
            best = s / runs;
    }
    gql_buf_free(&document);
    gql_buf_free(&variables);
    return best;
}

/* Linear work grows ~8x from n to 8n, quadratic ~64x: above 24x the growth is superlinear. */
static void assert_linear(const char *what, shape_fn shape, size_t n)
{
    double small = best_seconds(shape, n);
    double large = best_seconds(shape, 8 * n);
    double ratio = large / (small > 1e-6 ? small : 1e-6);
    fprintf(stderr, "%s: n=%zu %.6fs, 8n %.6fs, ratio %.1f\n", what, n, small, large, ratio);
    ck_assert_msg(ratio < 24, "%s: %zu -> %zu repetitions took %.6fs -> %.6fs (x%.1f): "
                  "superlinear", what, n, 8 * n, small, large, ratio);
}

/* { a0: posts { id } a1: posts { id } ... } on one line */
static void shape_aliases(size_t n, gql_buf *d, gql_buf *v)
{
    (void)v;
    gql_buf_puts(d, "{");
    for (size_t i = 0; i < n; i++)
        gql_buf_printf(d, " a%zu: posts { id }", i);
    gql_buf_puts(d, " }");
}

/* query Q($v0: Int, ...) { a0: posts(limit: $v0) { id } ... } with every variable given */
static void shape_variables(size_t n, gql_buf *d, gql_buf *v)
{
    gql_buf_puts(d, "query Q(");
    for (size_t i = 0; i < n; i++)
        gql_buf_printf(d, "%s$v%zu: Int", i ? ", " : "", i);
    gql_buf_puts(d, ") {");
    for (size_t i = 0; i < n; i++)
        gql_buf_printf(d, " a%zu: posts(limit: $v%zu) { id }", i, i);
    gql_buf_puts(d, " }");
    gql_buf_puts(v, "{");
    for (size_t i = 0; i < n; i++)
        gql_buf_printf(v, "%s\"v%zu\": %zu", i ? ", " : "", i, i % 50);
    gql_buf_puts(v, "}");
}

/* query Q($v0: Int, ...) { posts { id } }: every variable unused (the error limit stops the
 * reports, not the work before them) */
static void shape_unused_variables(size_t n, gql_buf *d, gql_buf *v)
{
    (void)v;
    gql_buf_puts(d, "query Q(");
    for (size_t i = 0; i < n; i++)
        gql_buf_printf(d, "%s$v%zu: Int", i ? ", " : "", i);
    gql_buf_puts(d, ") { posts { id } }");
}

/* { posts(x0: 1, x1: 1, ...) { id } } */
static void shape_unknown_arguments(size_t n, gql_buf *d, gql_buf *v)
{
    (void)v;
    gql_buf_puts(d, "{ posts(");
    for (size_t i = 0; i < n; i++)
        gql_buf_printf(d, "%sx%zu: 1", i ? ", " : "", i);
    gql_buf_puts(d, ") { id } }");
}

/* { post(id: {k0: 1, k1: 1, ...}) { id } }: an object literal of a custom scalar */
static void shape_object_literal(size_t n, gql_buf *d, gql_buf *v)
{
    (void)v;
    gql_buf_puts(d, "{ post(id: {");
    for (size_t i = 0; i < n; i++)
        gql_buf_printf(d, "%sk%zu: 1", i ? ", " : "", i);
    gql_buf_puts(d, "}) { id } }");
}

/* { posts { ...F ...F ... } } fragment F on Post { id title } */
static void shape_repeated_fragment(size_t n, gql_buf *d, gql_buf *v)
{
    (void)v;
    gql_buf_puts(d, "{ posts {");
    for (size_t i = 0; i < n; i++)
        gql_buf_puts(d, " ...F");
    gql_buf_puts(d, " } } fragment F on Post { id title }");
}

/* { posts { id id id ... } }: one response key selected n times */
static void shape_overlapping_fields(size_t n, gql_buf *d, gql_buf *v)
{
    (void)v;
    gql_buf_puts(d, "{ posts {");
    for (size_t i = 0; i < n; i++)
        gql_buf_puts(d, " id");
    gql_buf_puts(d, " } }");
}

/* { posts { ...F0 ...F1 ... } } fragment F0 on Post { id } ... */
static void shape_many_fragments(size_t n, gql_buf *d, gql_buf *v)
{
    (void)v;
    gql_buf_puts(d, "{ posts {");
    for (size_t i = 0; i < n; i++)
        gql_buf_printf(d, " ...F%zu", i);
    gql_buf_puts(d, " } }");
    for (size_t i = 0; i < n; i++)
        gql_buf_printf(d, " fragment F%zu on Post { id }", i);
}

/* { posts @include(if: true) @include(if: true) ... { id } } */
static void shape_repeated_directives(size_t n, gql_buf *d, gql_buf *v)
{
    (void)v;
    gql_buf_puts(d, "{ posts");
    for (size_t i = 0; i < n; i++)
        gql_buf_puts(d, " @include(if: true)");
    gql_buf_puts(d, " { id } }");
}

/* directive @d(a0: Int! ...) on FIELD  { posts @d(a0: 1 ...) { id } }: both lists from the
 * document */
static void shape_document_directive(size_t n, gql_buf *d, gql_buf *v)
{
    (void)v;
    gql_buf_puts(d, "directive @d(");
    for (size_t i = 0; i < n; i++)
        gql_buf_printf(d, "%sa%zu: Int!", i ? ", " : "", i);
    gql_buf_puts(d, ") on FIELD { posts @d(");
    for (size_t i = 0; i < n; i++)
        gql_buf_printf(d, "%sa%zu: 1", i ? ", " : "", i);
    gql_buf_puts(d, ") { id } }");
}

START_TEST(test_document_directive_arguments_cost_linear_time)
{
    assert_linear("document directive arguments", shape_document_directive, 1000);
}
END_TEST

/* Locations on a long line start from column marks: they must still count UTF-16 units from
 * the line start (an astral character counts 2) as graphql-js does. */
START_TEST(test_locations_on_a_long_line_are_exact)
{
    gql_buf d;
    gql_buf_init(&d);
    gql_buf_puts(&d, "{ a: search(text: \"");
    for (int i = 0; i < 300; i++)
        gql_buf_puts(&d, "\xF0\x9F\x98\x80\xC3\xA9"); /* U+1F600, U+00E9 */
    gql_buf_puts(&d, "\") { __typename } post(id: \"1\") { title } }");
    char *out = test_execute(schema, d.data, NULL, "{\"search\": [], \"post\": {\"title\": null}}");
    ck_assert_str_eq(out, "{\"errors\":[{\"message\":\"Cannot return null for non-nullable field "
                          "Post.title.\",\"locations\":[{\"line\":1,\"column\":954}],\"path\":"
                          "[\"post\",\"title\"]}],\"data\":{\"a\":[],\"post\":null}}");
    free(out);
    gql_buf_free(&d);
}
END_TEST

START_TEST(test_aliases_cost_linear_time)
{
    assert_linear("aliases", shape_aliases, 1000);
}
END_TEST

START_TEST(test_variable_definitions_cost_linear_time)
{
    assert_linear("variable definitions", shape_variables, 600);
}
END_TEST

START_TEST(test_unused_variables_cost_linear_time)
{
    assert_linear("unused variables", shape_unused_variables, 2000);
}
END_TEST

START_TEST(test_unknown_arguments_cost_linear_time)
{
    assert_linear("unknown arguments", shape_unknown_arguments, 2000);
}
END_TEST

START_TEST(test_object_literal_fields_cost_linear_time)
{
    assert_linear("object literal fields", shape_object_literal, 2000);
}
END_TEST

START_TEST(test_repeated_fragment_costs_linear_time)
{
    assert_linear("repeated fragment", shape_repeated_fragment, 2000);
}
END_TEST

START_TEST(test_overlapping_fields_cost_linear_time)
{
    assert_linear("overlapping fields", shape_overlapping_fields, 2000);
}
END_TEST

START_TEST(test_one_field_selected_many_times_is_valid)
{
    gql_buf d, v;
    gql_buf_init(&d);
    gql_buf_init(&v);
    gql_buf_puts(&d, "");
    shape_overlapping_fields(16000, &d, &v);
    cJSON *errors = gql_validate_document(schema, d.data, d.len, NULL, NULL);
    ck_assert_int_eq(cJSON_GetArraySize(errors), 0);
    cJSON_Delete(errors);
    gql_buf_free(&d);
    gql_buf_free(&v);
}
END_TEST

START_TEST(test_many_fragments_cost_linear_time)
{
    assert_linear("many fragments", shape_many_fragments, 500);
}
END_TEST

START_TEST(test_repeated_directives_cost_linear_time)
{
    assert_linear("repeated directives", shape_repeated_directives, 2000);
}
END_TEST

int main(void)
{
    /* Freed memory stays in the process: page faults on fresh mappings grow with the size
     * touched and would blur the algorithm's growth that these tests measure. */
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    Suite *s = suite_create("graphql_linear");
    TCase *tc = tcase_create("linear");
    tcase_add_checked_fixture(tc, setup, teardown);
    /* today's quadratic shapes take seconds at 8n: fail on the ratio, not the Check timeout */
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_locations_on_a_long_line_are_exact);
    tcase_add_test(tc, test_aliases_cost_linear_time);
    tcase_add_test(tc, test_variable_definitions_cost_linear_time);
    tcase_add_test(tc, test_unused_variables_cost_linear_time);
    tcase_add_test(tc, test_unknown_arguments_cost_linear_time);
    tcase_add_test(tc, test_object_literal_fields_cost_linear_time);
    tcase_add_test(tc, test_repeated_fragment_costs_linear_time);
    tcase_add_test(tc, test_overlapping_fields_cost_linear_time);
    tcase_add_test(tc, test_one_field_selected_many_times_is_valid);
    tcase_add_test(tc, test_many_fragments_cost_linear_time);
    tcase_add_test(tc, test_repeated_directives_cost_linear_time);
    tcase_add_test(tc, test_document_directive_arguments_cost_linear_time);
    suite_add_tcase(s, tc);
    SRunner *runner = srunner_create(s);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
