/* test_cdc_apply_sql: the apply transaction's per-entity statements hold the
 * registry's names whole, however long PostgreSQL lets them be, and keep their
 * text from one build to the next (they key the prepared statements). */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/apply_sql.h"
#include "cdc/watch_path.h"

/* About the longest name tvsync.build_function_name or regclass text can give:
 * schema and name of 63 bytes each, nearly all double quotes (each doubled
 * when quoted), so 2 + 125 bytes each, and the dot. fill tells names apart. */
static const char *longest_name(char *buffer, char fill)
{
    char *p = buffer;
    for (int part = 0; part < 2; part++) {
        if (part)
            *p++ = '.';
        *p++ = '"';
        for (int i = 0; i < 62; i++) {
            *p++ = '"';
            *p++ = '"';
        }
        *p++ = fill;
        *p++ = '"';
    }
    *p = '\0';
    return buffer;
}

static size_t occurrences(const char *text, const char *needle)
{
    size_t count = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        count++;
    return count;
}

static int ends_with(const char *text, const char *tail)
{
    size_t length = strlen(text), tail_length = strlen(tail);
    return length >= tail_length && strcmp(text + length - tail_length, tail) == 0;
}

START_TEST(test_diff_along_a_query_keeps_the_longest_names_whole)
{
    /* The statement a cascade query runs inside a diff of its targets: with
     * the longest names it is longer than the query plus 1280 bytes (the array
     * it was once cut to), and a cut statement failed every batch. */
    char build[300], table[300];
    longest_name(build, 'b');
    longest_name(table, 't');
    const char *query = "SELECT p.id FROM blog.tb_post p WHERE p.author = ANY ($1)";
    strbuf sql = STRBUF_INIT;
    const char *text = apply_sql_diff_along(&sql, query, build, table, "uuid", 12345, true, NULL, NULL, NULL, 0);
    ck_assert_uint_gt(strlen(text), strlen(query) + 1280);
    ck_assert_uint_eq(strlen(text), sql.length);
    ck_assert_uint_eq(occurrences(text, query), 1);
    ck_assert_uint_eq(occurrences(text, build), 1);
    ck_assert_uint_eq(occurrences(text, table), 1);
    ck_assert_ptr_nonnull(strstr(text, "SELECT 12345, d.id::text, d.new FROM d WHERE d.new IS NOT NULL"));
    ck_assert(ends_with(text, " FROM d UNION ALL SELECT x, NULL, true FROM q, unnest(q.ids) AS x"));
    strbuf_free(&sql);
}
END_TEST

START_TEST(test_diff_and_apply_keep_the_longest_names_whole)
{
    char build[300], table[300];
    longest_name(build, 'b');
    longest_name(table, 't');
    strbuf sql = STRBUF_INIT;
    const char *diff = apply_sql_diff(&sql, build, table, "uuid", 7, true, NULL);
    ck_assert_uint_eq(occurrences(diff, build), 1);
    ck_assert_uint_eq(occurrences(diff, table), 1);
    ck_assert_ptr_nonnull(strstr(diff, "kept AS (INSERT INTO pg_temp.tvsync_built"));
    ck_assert(ends_with(diff, "WHERE d.new -> k IS DISTINCT FROM d.old -> k) END FROM d"));
    for (int mode = 1; mode < 4; mode++) {
        int build_ids = mode & 1, take = mode & 2;
        const char *apply = apply_sql_apply(&sql, build, table, "uuid", 7, build_ids, take);
        ck_assert_uint_eq(occurrences(apply, build), build_ids ? 1 : 0);
        ck_assert_uint_eq(occurrences(apply, table), 2);   /* upsert and delete */
        ck_assert_uint_eq(occurrences(apply, "pg_temp.tvsync_built"), take ? 1 : 0);
        ck_assert(ends_with(apply, "FROM (SELECT (SELECT count(*) FROM up) AS u, (SELECT count(*) FROM gone) AS d) AS c"));
        ck_assert_ptr_nonnull(strstr(apply, "set_config('tvsync.count_7', c.u || ' ' || c.d, true)"));
    }
    strbuf_free(&sql);
}
END_TEST

START_TEST(test_statements_are_the_same_text_each_time)
{
    /* The same entity must get the same text: it is the prepared statement's key. */
    strbuf first = STRBUF_INIT, again = STRBUF_INIT;
    apply_sql_apply(&first, "blog.build_post", "blog.tv_post", "uuid", 2, true, true);
    apply_sql_diff(&again, "blog.build_user", "blog.tv_user", "uuid", 1, false, NULL);
    apply_sql_apply(&again, "blog.build_post", "blog.tv_post", "uuid", 2, true, true);
    ck_assert_str_eq(strbuf_text(&first), strbuf_text(&again));
    ck_assert_str_eq(strbuf_text(&first),
                     "WITH taken AS (DELETE FROM pg_temp.tvsync_built AS k WHERE k.entity = 2 "
                     "AND k.id = ANY ($2::text[]) RETURNING k.id::uuid AS id, k.data), "
                     "built AS MATERIALIZED (SELECT b.id, b.data FROM blog.build_post($1::uuid[]) AS b "
                     "UNION ALL SELECT DISTINCT ON (taken.id) taken.id, taken.data FROM taken), "
                     "up AS (INSERT INTO blog.tv_post AS t (id, data, updated_at) SELECT id, data, now() FROM built "
                     "ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at "
                     "WHERE t.data IS DISTINCT FROM excluded.data RETURNING 1), "
                     "gone AS (DELETE FROM blog.tv_post AS t WHERE t.id = ANY ($1::uuid[] || $2::uuid[]) "
                     "AND NOT EXISTS (SELECT 1 FROM built WHERE built.id = t.id) RETURNING 1) "
                     "SELECT c.u, c.d, set_config('tvsync.count_2', c.u || ' ' || c.d, true) "
                     "FROM (SELECT (SELECT count(*) FROM up) AS u, (SELECT count(*) FROM gone) AS d) AS c");
    ck_assert(strcmp(apply_sql_progress(true), apply_sql_progress(false)) != 0);
    strbuf_free(&first);
    strbuf_free(&again);
}
END_TEST

START_TEST(test_statements_cast_ids_to_the_key_type)
{
    /* Ids travel as text literals; each statement reads them as the entity's
     * key type, so a bigint keeps its digits and the key's index serves. */
    strbuf sql = STRBUF_INIT;
    const char *text = apply_sql_diff(&sql, "shop.build_order", "shop.tv_order", "bigint", 3, true, NULL);
    ck_assert_uint_eq(occurrences(text, "$1::bigint[]"), 2);
    ck_assert_uint_eq(occurrences(text, "uuid"), 0);
    text = apply_sql_apply(&sql, "shop.build_order", "shop.tv_order", "bigint", 3, true, true);
    ck_assert_uint_eq(occurrences(text, "$1::bigint[]"), 2);   /* build and delete */
    ck_assert_uint_eq(occurrences(text, "$2::bigint[]"), 1);   /* delete */
    ck_assert_uint_eq(occurrences(text, "$2::text[]"), 1);     /* the kept documents' text ids */
    ck_assert_uint_eq(occurrences(text, "uuid"), 0);
    text = apply_sql_apply(&sql, "shop.build_note", "shop.tv_note", "text", 4, false, true);
    ck_assert_ptr_nonnull(strstr(text, "WHERE t.id = ANY ($1::text[]) AND NOT EXISTS"));
    /* only kept documents, each found different by its diff: no second comparison */
    ck_assert_uint_eq(occurrences(text, "IS DISTINCT FROM"), 0);
    ck_assert_ptr_nonnull(strstr(text, "updated_at = excluded.updated_at RETURNING 1), gone AS"));
    text = apply_sql_apply(&sql, "shop.build_note", "shop.tv_note", "text", 4, true, false);
    ck_assert_uint_eq(occurrences(text, "WHERE t.data IS DISTINCT FROM excluded.data RETURNING 1"), 1);
    text = apply_sql_diff_along(&sql, "SELECT customer_id FROM shop.tb_order WHERE id = ANY ($1)",
                                "shop.build_customer", "shop.tv_customer", "integer", 5, false, NULL, NULL, NULL, 0);
    ck_assert_ptr_nonnull(strstr(text, "array_agg(DISTINCT q0.x::integer)"));
    ck_assert_ptr_nonnull(strstr(text, "'{}'::integer[]"));
    text = apply_sql_cascade_query(&sql, "SELECT customer_id FROM shop.tb_order WHERE id = ANY ($1)", "integer");
    ck_assert_str_eq(text, "SELECT q0.x::integer FROM (SELECT customer_id FROM shop.tb_order WHERE id = ANY ($1)) AS q0(x)");
    strbuf_free(&sql);
}
END_TEST

START_TEST(test_diff_of_top_level_watches_compares_only_top_level_keys)
{
    /* An entity whose edges watch top-level keys only keeps the diff it always had. */
    strbuf sql = STRBUF_INIT;
    const char *text = apply_sql_diff(&sql, "blog.build_user", "blog.tv_user", "uuid", 1, false, NULL);
    ck_assert_str_eq(text,
                     "WITH d AS MATERIALIZED (SELECT d.id, d.new, d.old FROM (SELECT coalesce(b.id, t.id) AS id, "
                     "b.data AS new, t.data #> '{}' AS old "
                     "FROM blog.build_user($1::uuid[]) AS b "
                     "FULL JOIN (SELECT id, data FROM blog.tv_user WHERE id = ANY ($1::uuid[])) AS t ON t.id = b.id "
                     "OFFSET 0) AS d WHERE d.new IS DISTINCT FROM d.old) "
                     "SELECT d.id, CASE WHEN jsonb_typeof(d.new) = 'object' AND jsonb_typeof(d.old) = 'object' THEN "
                     "ARRAY(SELECT k FROM (SELECT jsonb_object_keys(d.new) UNION SELECT jsonb_object_keys(d.old)) AS x(k) "
                     "WHERE d.new -> k IS DISTINCT FROM d.old -> k) END FROM d");
    ck_assert_uint_eq(occurrences(text, "jsonb_path_query_array"), 0);
    strbuf_free(&sql);
}
END_TEST

START_TEST(test_diff_of_nested_watches_adds_the_changed_paths)
{
    /* The nested paths that changed follow the changed keys, in the diff and in
     * the diff along a cascade query alike; one path query per path and side. */
    strbuf nested = STRBUF_INIT, sql = STRBUF_INIT;
    const char *const paths[] = {"author.username", "comments.\"a.b\".x"};
    watch_path_append_changed(&nested, paths, 2, "d.new", "d.old");
    const char *text = apply_sql_diff(&sql, "blog.build_post", "blog.tv_post", "bigint", 2, true, strbuf_text(&nested));
    ck_assert_ptr_nonnull(strstr(text, "WHERE d.new -> k IS DISTINCT FROM d.old -> k) || array_remove(ARRAY["));
    ck_assert(ends_with(text, "]::text[], NULL) END FROM d"));
    ck_assert_uint_eq(occurrences(text, "jsonb_path_query_array(d.new, "), 2);
    ck_assert_uint_eq(occurrences(text, "jsonb_path_query_array(d.old, "), 2);
    ck_assert_uint_eq(occurrences(text, "E'$.\"author\".\"username\"'::jsonpath"), 2);
    ck_assert_uint_eq(occurrences(text, "E'$.\"comments\".\"a.b\".\"x\"'::jsonpath"), 2);
    ck_assert_uint_eq(occurrences(text, "THEN E'author.username' END"), 1);
    ck_assert_uint_eq(occurrences(text, "THEN E'comments.\"a.b\".x' END"), 1);
    text = apply_sql_diff_along(&sql, "SELECT 1", "blog.build_post", "blog.tv_post", "bigint", 2, true,
                                strbuf_text(&nested), NULL, NULL, 0);
    ck_assert_uint_eq(occurrences(text, strbuf_text(&nested)), 1);
    ck_assert(ends_with(text, "]::text[], NULL) END, false FROM d UNION ALL SELECT x, NULL, true FROM q, unnest(q.ids) AS x"));
    strbuf_free(&nested);
    strbuf_free(&sql);
}
END_TEST

START_TEST(test_diff_along_a_patch_edge_patches_or_builds_each_id_once)
{
    /* The query's ids not in $2 go to the patch function with the source ids
     * $1 (cast to the source's key type), those in $2 to the build; the rest
     * of the statement is the build's diff. */
    strbuf sql = STRBUF_INIT;
    const char *query = "SELECT post_id FROM blog.tb_comment WHERE id = ANY ($1)";
    const char *text = apply_sql_diff_along(&sql, query, "blog.build_post", "blog.tv_post", "bigint", 2, true, NULL,
                                            "\"My Schema\".patch_post", "uuid", 0);
    char *first = strdup(text);
    ck_assert_ptr_nonnull(strstr(text, "ARRAY(SELECT x FROM unnest(i.ids) AS x WHERE x <> ALL ($2::bigint[])) "
                                       "AS patch_ids"));
    ck_assert_ptr_nonnull(strstr(text, "ARRAY(SELECT x FROM unnest(i.ids) AS x WHERE x = ANY ($2::bigint[])) "
                                       "AS build_ids"));
    /* columns of q as the arguments, never a subquery: PostgreSQL inlines the functions then */
    ck_assert_ptr_nonnull(strstr(text, "\"My Schema\".patch_post(q.patch_ids, $1::uuid[]) AS b"));
    ck_assert_ptr_nonnull(strstr(text, "blog.build_post(q.build_ids) AS b"));
    ck_assert_uint_eq(occurrences(text, "blog.build_post("), 1);
    ck_assert_uint_eq(occurrences(text, "$2::"), 2);
    ck_assert_ptr_nonnull(strstr(text, "INSERT INTO pg_temp.tvsync_built"));
    ck_assert(ends_with(text, "UNION ALL SELECT x, NULL, true FROM q, unnest(q.ids) AS x"));
    /* the stored document is read once (detoasted in d's subquery), and d compares what it read */
    ck_assert_uint_eq(occurrences(text, "t.data"), 2);
    ck_assert_ptr_nonnull(strstr(text, "t.data #> '{}' AS old"));
    ck_assert_ptr_nonnull(strstr(text, "OFFSET 0) AS d WHERE d.new IS DISTINCT FROM d.old)"));
    /* the same text each time: it keys the prepared statement */
    ck_assert_str_eq(apply_sql_diff_along(&sql, query, "blog.build_post", "blog.tv_post", "bigint", 2, true, NULL,
                                          "\"My Schema\".patch_post", "uuid", 0), first);
    /* without a patch, the statement has no $2 */
    text = apply_sql_diff_along(&sql, query, "blog.build_post", "blog.tv_post", "bigint", 2, true, NULL, NULL, NULL, 0);
    ck_assert_uint_eq(occurrences(text, "$2"), 0);
    ck_assert_ptr_nonnull(strstr(text, "CROSS JOIN LATERAL blog.build_post(q.ids) AS b"));
    free(first);
    strbuf_free(&sql);
}
END_TEST

START_TEST(test_diff_along_a_patch_edge_builds_small_documents)
{
    /* With patch_min_bytes, an id goes to the patch function only when it is not
     * in $2 and its tv_* row is stored in at least that many bytes; every other
     * id (in $2, small, or without a row) to the build: the two conditions are
     * each other's negation, so each id goes to exactly one. */
    strbuf sql = STRBUF_INIT;
    const char *query = "SELECT post_id FROM blog.tb_comment WHERE id = ANY ($1)";
    const char *text = apply_sql_diff_along(&sql, query, "blog.build_post", "blog.tv_post", "bigint", 2, true, NULL,
                                            "blog.patch_post", "uuid", 32768);
    ck_assert_ptr_nonnull(strstr(text, "ARRAY(SELECT x FROM unnest(i.ids) AS x WHERE x <> ALL ($2::bigint[]) AND "
                                       "EXISTS (SELECT FROM blog.tv_post AS o WHERE o.id = x AND "
                                       "pg_column_size(o.data) >= 32768)) AS patch_ids"));
    ck_assert_ptr_nonnull(strstr(text, "ARRAY(SELECT x FROM unnest(i.ids) AS x WHERE x = ANY ($2::bigint[]) OR "
                                       "NOT EXISTS (SELECT FROM blog.tv_post AS o WHERE o.id = x AND "
                                       "pg_column_size(o.data) >= 32768)) AS build_ids"));
    ck_assert_ptr_nonnull(strstr(text, "blog.patch_post(q.patch_ids, $1::uuid[]) AS b"));
    ck_assert_ptr_nonnull(strstr(text, "blog.build_post(q.build_ids) AS b"));
    /* 0: every id not in $2 is patched, as without the setting */
    text = apply_sql_diff_along(&sql, query, "blog.build_post", "blog.tv_post", "bigint", 2, true, NULL,
                                "blog.patch_post", "uuid", 0);
    ck_assert_uint_eq(occurrences(text, "pg_column_size"), 0);
    ck_assert_ptr_nonnull(strstr(text, "WHERE x <> ALL ($2::bigint[])) AS patch_ids"));
    strbuf_free(&sql);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("cdc_apply_sql");
    TCase *tc = tcase_create("apply_sql");
    tcase_add_test(tc, test_diff_along_a_query_keeps_the_longest_names_whole);
    tcase_add_test(tc, test_diff_and_apply_keep_the_longest_names_whole);
    tcase_add_test(tc, test_statements_are_the_same_text_each_time);
    tcase_add_test(tc, test_statements_cast_ids_to_the_key_type);
    tcase_add_test(tc, test_diff_of_top_level_watches_compares_only_top_level_keys);
    tcase_add_test(tc, test_diff_of_nested_watches_adds_the_changed_paths);
    tcase_add_test(tc, test_diff_along_a_patch_edge_patches_or_builds_each_id_once);
    tcase_add_test(tc, test_diff_along_a_patch_edge_builds_small_documents);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
