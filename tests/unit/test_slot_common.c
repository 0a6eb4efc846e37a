/* test_slot_common: unit tests for tvsync-slot's pure parts: slot-name rules,
 * the fixes suggested for PostgreSQL errors, wal2json message parsing, sparklines. */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "common/wal2json.h"
#include "slot/slot_common.h"
#include "slot/slot_watch.h"

START_TEST(test_slot_name_accepts_postgresql_names)
{
    ck_assert(slot_name_valid("tvsync"));
    ck_assert(slot_name_valid("tvsync_2"));
    ck_assert(slot_name_valid("a"));
    char longest[64];
    memset(longest, 'x', 63);
    longest[63] = '\0';
    ck_assert(slot_name_valid(longest));
}
END_TEST

START_TEST(test_slot_name_refuses_what_postgresql_refuses)
{
    ck_assert(!slot_name_valid(NULL));
    ck_assert(!slot_name_valid(""));
    ck_assert(!slot_name_valid("TvSync"));
    ck_assert(!slot_name_valid("tv-sync"));
    ck_assert(!slot_name_valid("tv\"sync"));
    ck_assert(!slot_name_valid("tv sync"));
    char too_long[65];
    memset(too_long, 'x', 64);
    too_long[64] = '\0';
    ck_assert(!slot_name_valid(too_long));
}
END_TEST

START_TEST(test_fix_for_wal_level)
{
    char buffer[256];
    const char *fix = slot_error_fix("55000", "logical decoding requires wal_level >= logical", NULL,
                                     buffer, sizeof buffer);
    ck_assert_ptr_nonnull(fix);
    ck_assert_str_eq(fix, "set wal_level = logical in postgresql.conf and restart PostgreSQL");
}
END_TEST

START_TEST(test_fix_for_missing_wal2json_names_the_package)
{
    char buffer[256];
    const char *fix = slot_error_fix("58P01", "could not access file \"wal2json\": No such file or directory",
                                     NULL, buffer, sizeof buffer);
    ck_assert_ptr_nonnull(fix);
    ck_assert_ptr_nonnull(strstr(fix, "postgresql-15-wal2json"));
}
END_TEST

START_TEST(test_fix_for_plugin_not_allowed_names_the_setting)
{
    char buffer[256];
    const char *fix = slot_error_fix("42501", "library \"wal2json\" may not be used as an output plugin", "app",
                                     buffer, sizeof buffer);
    ck_assert_ptr_nonnull(fix);
    ck_assert_ptr_nonnull(strstr(fix, "output_plugin_libraries"));
}
END_TEST

START_TEST(test_fix_for_missing_replication_privilege_names_the_role)
{
    char buffer[256];
    const char *fix = slot_error_fix(NULL,
                                     "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  must be "
                                     "superuser or replication role to start walsender",
                                     "app", buffer, sizeof buffer);
    ck_assert_ptr_nonnull(fix);
    ck_assert_ptr_nonnull(strstr(fix, "ALTER ROLE \"app\" REPLICATION"));
}
END_TEST

START_TEST(test_fix_for_missing_schema_says_migrate)
{
    char buffer[256];
    const char *fix = slot_error_fix("3F000", "schema \"tvsync\" does not exist", NULL, buffer,
                                     sizeof buffer);
    ck_assert_ptr_nonnull(fix);
    ck_assert_ptr_nonnull(strstr(fix, "tvsync-migrate up"));
}
END_TEST

START_TEST(test_fix_for_a_refused_rebuild_grants_tvsync_admin)
{
    char buffer[256];
    const char *fix = slot_error_fix("42501", "tvsync: role \"ops\" may not request a full rebuild of \"post\"",
                                     "ops", buffer, sizeof buffer);
    ck_assert_ptr_nonnull(fix);
    ck_assert_str_eq(fix, "run it as a role granted tvsync_admin: GRANT tvsync_admin TO \"ops\"");
}
END_TEST

START_TEST(test_no_fix_for_unknown_errors)
{
    char buffer[256];
    ck_assert_ptr_null(slot_error_fix("22012", "division by zero", NULL, buffer, sizeof buffer));
}
END_TEST

START_TEST(test_message_content_extracts_the_intent)
{
    const char *text =
        "{\"action\":\"M\",\"transactional\":true,\"prefix\":\"tvsync\","
        "\"content\":\"{\\\"entity\\\":\\\"post\\\",\\\"ids\\\":[\\\"7d3c\\\"]}\"}";
    char *content = wal2json_message_content(text, strlen(text));
    ck_assert_ptr_nonnull(content);
    ck_assert_str_eq(content, "{\"entity\":\"post\",\"ids\":[\"7d3c\"]}");
    free(content);
}
END_TEST

static char *message_content(const char *text)
{
    return wal2json_message_content(text, strlen(text));
}

START_TEST(test_message_content_refuses_other_objects)
{
    ck_assert_ptr_null(message_content("{\"action\":\"B\",\"xid\":726}"));
    ck_assert_ptr_null(message_content("{\"action\":\"M\"}"));
    ck_assert_ptr_null(message_content("not json"));
    ck_assert_ptr_null(message_content(""));
}
END_TEST

START_TEST(test_sparkline_scales_from_zero_to_the_largest)
{
    const double values[] = {0, 4, 8, -3};
    char out[64];
    slot_sparkline(values, 4, out, sizeof out);
    ck_assert_str_eq(out, "\u2581\u2585\u2588\u2581");
}
END_TEST

START_TEST(test_sparkline_of_zeros_is_flat)
{
    const double values[] = {0, 0, 0};
    char out[64];
    slot_sparkline(values, 3, out, sizeof out);
    ck_assert_str_eq(out, "\u2581\u2581\u2581");
}
END_TEST

START_TEST(test_sparkline_keeps_the_newest_that_fit)
{
    const double values[] = {100, 1, 2, 4};
    char out[3 * 2 + 1];
    slot_sparkline(values, 4, out, sizeof out);
    /* Only 2 and 4 fit; scaled to 4, not to the dropped 100. */
    ck_assert_str_eq(out, "\u2585\u2588");
    char empty[1];
    slot_sparkline(values, 4, empty, sizeof empty);
    ck_assert_str_eq(empty, "");
}
END_TEST

START_TEST(test_format_bytes_uses_binary_units)
{
    char out[32];
    slot_format_bytes(0, out, sizeof out);
    ck_assert_str_eq(out, "0 B");
    slot_format_bytes(1023, out, sizeof out);
    ck_assert_str_eq(out, "1023 B");
    slot_format_bytes(12.5 * 1024, out, sizeof out);
    ck_assert_str_eq(out, "12.5 kB");
    slot_format_bytes(3.0 * 1024 * 1024 * 1024, out, sizeof out);
    ck_assert_str_eq(out, "3.0 GB");
}
END_TEST

static Suite *slot_common_suite(void)
{
    Suite *suite = suite_create("slot_common");
    TCase *names = tcase_create("slot names");
    tcase_add_test(names, test_slot_name_accepts_postgresql_names);
    tcase_add_test(names, test_slot_name_refuses_what_postgresql_refuses);
    suite_add_tcase(suite, names);
    TCase *fixes = tcase_create("error fixes");
    tcase_add_test(fixes, test_fix_for_wal_level);
    tcase_add_test(fixes, test_fix_for_a_refused_rebuild_grants_tvsync_admin);
    tcase_add_test(fixes, test_fix_for_missing_wal2json_names_the_package);
    tcase_add_test(fixes, test_fix_for_plugin_not_allowed_names_the_setting);
    tcase_add_test(fixes, test_fix_for_missing_replication_privilege_names_the_role);
    tcase_add_test(fixes, test_fix_for_missing_schema_says_migrate);
    tcase_add_test(fixes, test_no_fix_for_unknown_errors);
    suite_add_tcase(suite, fixes);
    TCase *messages = tcase_create("wal2json messages");
    tcase_add_test(messages, test_message_content_extracts_the_intent);
    tcase_add_test(messages, test_message_content_refuses_other_objects);
    suite_add_tcase(suite, messages);
    TCase *drawing = tcase_create("watch drawing");
    tcase_add_test(drawing, test_sparkline_scales_from_zero_to_the_largest);
    tcase_add_test(drawing, test_sparkline_of_zeros_is_flat);
    tcase_add_test(drawing, test_sparkline_keeps_the_newest_that_fit);
    tcase_add_test(drawing, test_format_bytes_uses_binary_units);
    suite_add_tcase(suite, drawing);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(slot_common_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
