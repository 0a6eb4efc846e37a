/* test_migrate_sql_script: statement splitting and error-line mapping of tvsync-migrate,
 * which file names count as migrations, set names and the [migrate] dirs list. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migrations/migration_set.h"
#include "migrations/sql_script.h"

typedef struct split_result {
    sql_statement *items;
    size_t count;
    const char *text;
} split_result;

static split_result split(const char *text)
{
    split_result result = {.text = text};
    sql_script_split(text, strlen(text), &result.items, &result.count);
    return result;
}

/* The statement's text, for comparing (static buffer: one at a time). */
static const char *statement_text(const split_result *result, size_t index)
{
    static char buffer[4096];
    const sql_statement *statement = &result->items[index];
    ck_assert_uint_lt(statement->length, sizeof buffer);
    memcpy(buffer, result->text + statement->offset, statement->length);
    buffer[statement->length] = '\0';
    return buffer;
}

START_TEST(test_splits_at_top_level_semicolons_with_start_lines)
{
    split_result r = split("CREATE TABLE a (x int);\n\nINSERT INTO a VALUES (1);\nSELECT 1");
    ck_assert_uint_eq(r.count, 3);
    ck_assert_str_eq(statement_text(&r, 0), "CREATE TABLE a (x int)");
    ck_assert_int_eq(r.items[0].line, 1);
    ck_assert_str_eq(statement_text(&r, 1), "INSERT INTO a VALUES (1)");
    ck_assert_int_eq(r.items[1].line, 3);
    ck_assert_str_eq(statement_text(&r, 2), "SELECT 1");
    ck_assert_int_eq(r.items[2].line, 4);
    free(r.items);
}
END_TEST

START_TEST(test_semicolons_in_quotes_and_comments_do_not_split)
{
    split_result r = split("SELECT 'a;b', \"c;d\", E'e\\';f' -- g;h\n;"
                           "/* i; /* nested; */ j; */ SELECT 2;");
    ck_assert_uint_eq(r.count, 2);
    ck_assert_str_eq(statement_text(&r, 0), "SELECT 'a;b', \"c;d\", E'e\\';f' -- g;h\n");
    ck_assert_str_eq(statement_text(&r, 1), "SELECT 2");
    ck_assert_int_eq(r.items[1].line, 2);
    free(r.items);
}
END_TEST

START_TEST(test_dollar_quoted_bodies_stay_whole)
{
    split_result r = split("DO $body$ BEGIN PERFORM 1; END $body$;\n"
                           "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n"
                           "SELECT $1, a$b$c FROM t;");
    ck_assert_uint_eq(r.count, 3);
    ck_assert_str_eq(statement_text(&r, 0), "DO $body$ BEGIN PERFORM 1; END $body$");
    ck_assert_int_eq(r.items[1].line, 2);
    ck_assert_str_eq(statement_text(&r, 2), "SELECT $1, a$b$c FROM t");
    ck_assert(!r.items[0].transaction_control);
    free(r.items);
}
END_TEST

START_TEST(test_begin_atomic_body_stays_whole)
{
    split_result r = split("CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql\n"
                           "BEGIN ATOMIC\n  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;\n  SELECT 2;\nEND;\n"
                           "SELECT 3;");
    ck_assert_uint_eq(r.count, 2);
    ck_assert_int_eq(r.items[1].line, 6);
    ck_assert_str_eq(statement_text(&r, 1), "SELECT 3");
    free(r.items);
}
END_TEST

START_TEST(test_transaction_control_is_flagged)
{
    split_result r = split("begin; CREATE TABLE t (x int); Commit;");
    ck_assert_uint_eq(r.count, 3);
    ck_assert(r.items[0].transaction_control);
    ck_assert(!r.items[1].transaction_control);
    ck_assert(r.items[2].transaction_control);
    free(r.items);
}
END_TEST

START_TEST(test_blank_and_comment_only_statements_are_dropped)
{
    split_result r = split("  ;\n-- only a comment\n;\n/* x */ ;");
    ck_assert_uint_eq(r.count, 0);
    free(r.items);
}
END_TEST

START_TEST(test_position_maps_to_the_line_in_the_file)
{
    const char *text = "SELECT 1;\n\n-- the bad one\nCREATE TABLE t (\n  x int,\n  y nosuchtype\n);";
    split_result r = split(text);
    ck_assert_uint_eq(r.count, 2);
    ck_assert_int_eq(r.items[1].line, 4);
    /* "nosuchtype" starts at character 31 of the statement (1-based). */
    const char *statement = text + r.items[1].offset;
    long position = (long) (strstr(statement, "nosuchtype") - statement) + 1;
    ck_assert_int_eq(sql_script_line_at(text, &r.items[1], position), 6);
    ck_assert_int_eq(sql_script_line_at(text, &r.items[1], 0), 4);
    ck_assert_int_eq(sql_script_line_at(text, &r.items[1], 100000), 4);
    free(r.items);
}
END_TEST

START_TEST(test_position_counts_characters_not_bytes)
{
    /* "é" is two bytes but one character, as the server counts. */
    const char *text = "SELECT 'é',\n 'ü',\n nosuch";
    split_result r = split(text);
    ck_assert_uint_eq(r.count, 1);
    /* characters: SELECT(6) space(1) 'é'(3) ,(1) \n(1) space(1) 'ü'(3) ,(1) \n(1) space(1) -> n at 20 */
    ck_assert_int_eq(sql_script_line_at(text, &r.items[0], 20), 3);
    ck_assert_int_eq(sql_script_line_at(text, &r.items[0], 13), 2);
    free(r.items);
}
END_TEST

START_TEST(test_body_line_is_where_the_do_block_starts)
{
    const char *text = "SELECT 1;\nDO\n$$\nBEGIN\n  RAISE EXCEPTION 'x';\nEND\n$$;\nSELECT 2;";
    split_result r = split(text);
    ck_assert_uint_eq(r.count, 3);
    ck_assert_int_eq(r.items[1].line, 2);
    ck_assert_int_eq(sql_script_body_line(text, &r.items[1]), 3);
    ck_assert_int_eq(sql_script_body_line(text, &r.items[2]), 8);
    free(r.items);
}
END_TEST

START_TEST(test_unterminated_quote_ends_the_last_statement)
{
    split_result r = split("SELECT 1; SELECT 'oops;");
    ck_assert_uint_eq(r.count, 2);
    ck_assert_str_eq(statement_text(&r, 1), "SELECT 'oops;");
    free(r.items);
}
END_TEST

START_TEST(test_migration_names)
{
    ck_assert(migration_set_is_migration_name("001_tvsync_engine.sql"));
    ck_assert(migration_set_is_migration_name("20240101_x.sql"));
    ck_assert(!migration_set_is_migration_name("001_.sql"));
    ck_assert(!migration_set_is_migration_name("_x.sql"));
    ck_assert(!migration_set_is_migration_name("001_x.sql~"));
    ck_assert(!migration_set_is_migration_name("README.md"));
    ck_assert(!migration_set_is_migration_name("seed"));
}
END_TEST

START_TEST(test_set_is_named_after_its_folder)
{
    char base[] = "/tmp/tvsync-set-name.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(base));
    char dir[256], error[512];
    snprintf(dir, sizeof dir, "%s/migrations", base);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    const char *spellings[] = {"%s/migrations", "%s/migrations/", "%s/migrations//", "%s/./migrations"};
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        char given[300];
        snprintf(given, sizeof given, spellings[i], base);
        char *name = migration_set_name_of(given, error, sizeof error);
        ck_assert_msg(name != NULL, "%s: %s", given, error);
        ck_assert_str_eq(name, "migrations");
        free(name);
    }
    char missing[300];
    snprintf(missing, sizeof missing, "%s/nowhere", base);
    ck_assert_ptr_null(migration_set_name_of(missing, error, sizeof error));
    ck_assert_ptr_nonnull(strstr(error, missing));
    char file[300];
    snprintf(file, sizeof file, "%s/plain", base);
    FILE *handle = fopen(file, "w");
    ck_assert_ptr_nonnull(handle);
    fclose(handle);
    ck_assert_ptr_null(migration_set_name_of(file, error, sizeof error));
    ck_assert_ptr_nonnull(strstr(error, "not a directory"));
    unlink(file);
    rmdir(dir);
    rmdir(base);
}
END_TEST

START_TEST(test_dir_list_is_comma_separated_and_trimmed)
{
    char **dirs;
    size_t count = migration_set_dir_list_parse(" /srv/app/migrations ,/srv/b,, \t/srv/c d ,", &dirs);
    ck_assert_uint_eq(count, 3);
    ck_assert_str_eq(dirs[0], "/srv/app/migrations");
    ck_assert_str_eq(dirs[1], "/srv/b");
    ck_assert_str_eq(dirs[2], "/srv/c d");
    migration_set_dir_list_free(dirs, count);
    ck_assert_uint_eq(migration_set_dir_list_parse("", &dirs), 0);
    ck_assert_ptr_null(dirs);
    ck_assert_uint_eq(migration_set_dir_list_parse(" , ", &dirs), 0);
    ck_assert_uint_eq(migration_set_dir_list_parse(NULL, &dirs), 0);
}
END_TEST

static Suite *sql_script_suite(void)
{
    Suite *suite = suite_create("migrate_sql_script");
    TCase *tc = tcase_create("split");
    tcase_add_test(tc, test_splits_at_top_level_semicolons_with_start_lines);
    tcase_add_test(tc, test_semicolons_in_quotes_and_comments_do_not_split);
    tcase_add_test(tc, test_dollar_quoted_bodies_stay_whole);
    tcase_add_test(tc, test_begin_atomic_body_stays_whole);
    tcase_add_test(tc, test_transaction_control_is_flagged);
    tcase_add_test(tc, test_blank_and_comment_only_statements_are_dropped);
    tcase_add_test(tc, test_position_maps_to_the_line_in_the_file);
    tcase_add_test(tc, test_position_counts_characters_not_bytes);
    tcase_add_test(tc, test_body_line_is_where_the_do_block_starts);
    tcase_add_test(tc, test_unterminated_quote_ends_the_last_statement);
    tcase_add_test(tc, test_migration_names);
    tcase_add_test(tc, test_set_is_named_after_its_folder);
    tcase_add_test(tc, test_dir_list_is_comma_separated_and_trimmed);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(sql_script_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
