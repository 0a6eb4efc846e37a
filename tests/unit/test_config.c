/* Unit tests for common/config and common/cli: the key table, the INI file,
 * the environment and the flags, in that order of precedence. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/config.h"
#include "common/exit_codes.h"

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/tvsync-config-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    close(fd);
    return path;
}

static void clear_tvsync_environment(void)
{
    unsetenv("TVSYNC_DATABASE_URL");
    unsetenv("TVSYNC_CDC_BATCH_MAX_IDS");
    unsetenv("TVSYNC_CDC_BATH_MAX_IDS");
    unsetenv("TVSYNC_CONFIG");
    unsetenv("TVSYNC_LOG_LEVEL");
}

START_TEST(test_every_default_parses_and_formats_back)
{
    tvsync_config config;
    config_init(&config);
    ck_assert_str_eq(config.slot.name, "tvsync");
    ck_assert_str_eq(config.cdc.metrics_listen, "127.0.0.1:9188");
    ck_assert_str_eq(config.server.listen, "127.0.0.1:8080");
    ck_assert_int_eq(config.cdc.status_interval_ms, 10000);
    ck_assert_int_eq(config.server.max_body_bytes, 1024 * 1024);
    for (size_t i = 0; i < config_key_count(); i++) {
        const config_key *key = config_key_at(i);
        char text[512], error[512];
        config_format_value(&config, key, text, sizeof text);
        ck_assert_msg(config_set(&config, key->section, key->name, text, "test", error, sizeof error),
                      "%s.%s: formatted value does not parse back: %s", key->section, key->name, error);
        ck_assert_ptr_eq(config_key_find(key->section, key->name), key);
    }
    ck_assert_ptr_null(config_key_at(config_key_count()));
    config_free(&config);
}
END_TEST

START_TEST(test_slot_plugin_defaults_to_wal2json_and_refuses_other_names)
{
    tvsync_config config;
    char error[512], text[64];
    config_init(&config);
    ck_assert_int_eq(config.slot.plugin, OUTPUT_PLUGIN_WAL2JSON);
    ck_assert(config_set(&config, "slot", "plugin", "pgoutput", "test", error, sizeof error));
    ck_assert_int_eq(config.slot.plugin, OUTPUT_PLUGIN_PGOUTPUT);
    ck_assert_str_eq(config_format_value(&config, config_key_find("slot", "plugin"), text, sizeof text), "pgoutput");
    ck_assert(!config_set(&config, "slot", "plugin", "test_decoding", "tvsync.conf:3", error, sizeof error));
    ck_assert_int_eq(config.slot.plugin, OUTPUT_PLUGIN_PGOUTPUT);
    ck_assert_ptr_nonnull(strstr(error, "tvsync.conf:3"));
    ck_assert_ptr_nonnull(strstr(error, "slot.plugin"));
    ck_assert_ptr_nonnull(strstr(error, "wal2json, pgoutput"));
    config_free(&config);
}
END_TEST

START_TEST(test_slot_failover_is_off_by_default_and_reads_from_file_and_environment)
{
    tvsync_config config;
    char error[512], text[64];
    config_init(&config);
    ck_assert(!config.slot.failover);
    char *path = write_temp("[slot]\nplugin = pgoutput\nfailover = true\n");
    ck_assert_msg(config_load_file(&config, path, true, error, sizeof error), "%s", error);
    ck_assert(config.slot.failover);
    ck_assert_str_eq(config_format_value(&config, config_key_find("slot", "failover"), text, sizeof text), "on");
    setenv("TVSYNC_SLOT_FAILOVER", "false", 1);
    ck_assert_msg(config_apply_environment(&config, error, sizeof error), "%s", error);
    unsetenv("TVSYNC_SLOT_FAILOVER");
    ck_assert(!config.slot.failover);
    ck_assert(!config_set(&config, "slot", "failover", "maybe", "tvsync.conf:4", error, sizeof error));
    ck_assert(!config.slot.failover);
    ck_assert_ptr_nonnull(strstr(error, "slot.failover"));
    unlink(path);
    free(path);
    config_free(&config);
}
END_TEST

START_TEST(test_no_default_points_at_the_blog_and_migrate_keys_load_from_a_file)
{
    tvsync_config config;
    char error[512];
    config_init(&config);
    ck_assert_str_eq(config.server.schema, "");
    ck_assert_str_eq(config.migrate.dirs, "");
    ck_assert_str_eq(config.migrate.engine_dir, "");
    char *path = write_temp("[migrate]\ndirs = /srv/app/migrations, /srv/b\nengine_dir = /opt/tvsync/migrations\n");
    ck_assert_msg(config_load_file(&config, path, true, error, sizeof error), "%s", error);
    ck_assert_str_eq(config.migrate.dirs, "/srv/app/migrations, /srv/b");
    ck_assert_str_eq(config.migrate.engine_dir, "/opt/tvsync/migrations");
    ck_assert(!config_set(&config, "migration", "dirs", "x", "t", error, sizeof error));
    ck_assert_ptr_nonnull(strstr(error, "[migrate]"));
    unlink(path);
    free(path);
    config_free(&config);
}
END_TEST

START_TEST(test_values_are_checked_by_type_and_range)
{
    tvsync_config config;
    char error[512];
    config_init(&config);
    ck_assert(config_set(&config, "cdc", "status_interval", "250ms", "t", error, sizeof error));
    ck_assert_int_eq(config.cdc.status_interval_ms, 250);
    ck_assert(config_set(&config, "cdc", "status_interval", "2min", "t", error, sizeof error));
    ck_assert_int_eq(config.cdc.status_interval_ms, 120000);
    ck_assert(config_set(&config, "cdc", "status_interval", "3", "t", error, sizeof error));
    ck_assert_int_eq(config.cdc.status_interval_ms, 3000);
    ck_assert(config_set(&config, "server", "max_body_bytes", "64kB", "t", error, sizeof error));
    ck_assert_int_eq(config.server.max_body_bytes, 65536);
    ck_assert(config_set(&config, "server", "listen", "[::1]:9000", "t", error, sizeof error));

    ck_assert(!config_set(&config, "cdc", "batch_max_ids", "ten", "origin-x", error, sizeof error));
    ck_assert_ptr_nonnull(strstr(error, "origin-x"));
    ck_assert_ptr_nonnull(strstr(error, "cdc.batch_max_ids"));
    ck_assert(!config_set(&config, "cdc", "batch_max_ids", "0", "t", error, sizeof error));
    ck_assert_ptr_nonnull(strstr(error, "out of range"));
    ck_assert(!config_set(&config, "cdc", "status_interval", "10 parsecs", "t", error, sizeof error));
    ck_assert(!config_set(&config, "server", "listen", "8080", "t", error, sizeof error));
    ck_assert(!config_set(&config, "server", "listen", "host:99999", "t", error, sizeof error));
    ck_assert(!config_set(&config, "cdc", "log_level", "loud", "t", error, sizeof error));
    ck_assert_int_eq(config.cdc.batch_max_ids, 10000); /* unchanged by the failures */
    config_free(&config);
}
END_TEST

START_TEST(test_on_off_keys_take_on_off_and_say_what_they_take)
{
    tvsync_config config;
    char error[512];
    config_init(&config);
    ck_assert(config.server.introspection);
    ck_assert(config_set(&config, "server", "introspection", "off", "t", error, sizeof error));
    ck_assert(!config.server.introspection);
    ck_assert_str_eq(config_format_value(&config, config_key_find("server", "introspection"), error, sizeof error),
                     "off");
    ck_assert(config_set(&config, "server", "introspection", "TRUE", "t", error, sizeof error));
    ck_assert(config.server.introspection);
    ck_assert(!config_set(&config, "server", "introspection", "maybe", "t", error, sizeof error));
    ck_assert_ptr_nonnull(strstr(error, "server.introspection = \"maybe\" is not on or off"));
    ck_assert(config.server.introspection); /* unchanged by the failure */
    config_free(&config);
}
END_TEST

START_TEST(test_file_error_names_file_line_and_key)
{
    char *path = write_temp("[database]\nurl = postgresql:///x\n\n[cdc]\nbatch_max_ids = 50\nbath_max_ids = 7\n");
    tvsync_config config;
    char error[1024];
    config_init(&config);
    ck_assert(!config_load_file(&config, path, true, error, sizeof error));
    char expected[512];
    snprintf(expected, sizeof expected, "%s:6:", path);
    ck_assert_msg(strstr(error, expected), "error does not name file and line: %s", error);
    ck_assert_msg(strstr(error, "bath_max_ids"), "error does not name the key: %s", error);
    config_free(&config);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_file_unknown_section_and_missing_file)
{
    char *path = write_temp("[databse]\nurl = x\n");
    tvsync_config config;
    char error[1024];
    config_init(&config);
    ck_assert(!config_load_file(&config, path, true, error, sizeof error));
    ck_assert_msg(strstr(error, "[databse]") && strstr(error, ":2:"), "%s", error);
    unlink(path);
    ck_assert(config_load_file(&config, path, false, error, sizeof error)); /* optional + missing: fine */
    ck_assert(!config_load_file(&config, path, true, error, sizeof error));
    ck_assert_msg(strstr(error, "cannot read"), "%s", error);
    config_free(&config);
    free(path);
}
END_TEST

START_TEST(test_flag_beats_environment_beats_file_beats_default)
{
    clear_tvsync_environment();
    char *path = write_temp("[database]\nurl = from-file\n[cdc]\nbatch_max_ids = 11\nbatch_max_transactions = 12\n"
                            "max_retries = 13\n");
    setenv("TVSYNC_CDC_BATCH_MAX_IDS", "21", 1);
    setenv("TVSYNC_CDC_MAX_RETRIES", "23", 1);
    static const cli_option options[] = {{"slot", "NAME", "slot.name", "slot"}, {NULL, NULL, NULL, NULL}};
    static const cli_program program = {"tvsync-test", "[OPTION]...", "test", NULL, options, "cdc"};
    char *argv[] = {(char *) "tvsync-test", (char *) "--config", path, (char *) "--set", (char *) "cdc.max_retries=33", (char *) "--slot", (char *) "s1",
                    (char *) "operand", NULL};
    cli_state state;
    tvsync_config config;
    ck_assert_int_eq(cli_load(&program, 8, argv, &state, &config), -1);
    ck_assert_str_eq(config.database.url, "from-file");           /* file */
    ck_assert_int_eq(config.cdc.batch_max_ids, 21);               /* env over file */
    ck_assert_int_eq(config.cdc.batch_max_transactions, 12);      /* file over default */
    ck_assert_int_eq(config.cdc.max_retries, 33);                 /* flag over env */
    ck_assert_int_eq(config.cdc.rebuild_chunk_rows, 5000);        /* default */
    ck_assert_str_eq(config.slot.name, "s1");
    ck_assert_str_eq(cli_option_value(&state, "slot"), "s1");
    ck_assert_int_eq(state.operand_count, 1);
    ck_assert_str_eq(state.operands[0], "operand");

    /* A reload sees the file's new contents, keeping the flags. */
    FILE *file = fopen(path, "w");
    fputs("[cdc]\nbatch_max_transactions = 99\n", file);
    fclose(file);
    char error[512];
    ck_assert(cli_reload(&state, &config, error, sizeof error));
    ck_assert_int_eq(config.cdc.batch_max_transactions, 99);
    ck_assert_str_eq(config.slot.name, "s1");
    ck_assert_str_eq(config.database.url, "");
    config_free(&config);
    cli_state_free(&state);
    unsetenv("TVSYNC_CDC_BATCH_MAX_IDS");
    unsetenv("TVSYNC_CDC_MAX_RETRIES");
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_misspelled_environment_override_is_an_error)
{
    clear_tvsync_environment();
    setenv("TVSYNC_CDC_BATH_MAX_IDS", "5", 1);
    tvsync_config config;
    char error[512];
    config_init(&config);
    ck_assert(!config_apply_environment(&config, error, sizeof error));
    ck_assert_msg(strstr(error, "TVSYNC_CDC_BATH_MAX_IDS"), "%s", error);
    unsetenv("TVSYNC_CDC_BATH_MAX_IDS");
    setenv("TVSYNC_DATABASE_URL", "postgresql://h/db", 1);
    ck_assert(config_apply_environment(&config, error, sizeof error));
    ck_assert_str_eq(config.database.url, "postgresql://h/db");
    unsetenv("TVSYNC_DATABASE_URL");
    config_free(&config);
}
END_TEST

START_TEST(test_test_harness_variables_are_not_keys)
{
    clear_tvsync_environment();
    setenv("TVSYNC_PG_MAJOR", "17", 1);
    setenv("TVSYNC_PG_CACHE", "/var/cache/tvsync/postgres", 1);
    setenv("TVSYNC_SRCDIR", "/src", 1);
    tvsync_config config;
    char error[512] = "";
    config_init(&config);
    ck_assert_msg(config_apply_environment(&config, error, sizeof error), "%s", error);
    unsetenv("TVSYNC_PG_MAJOR");
    unsetenv("TVSYNC_PG_CACHE");
    unsetenv("TVSYNC_SRCDIR");
    config_free(&config);
}
END_TEST

START_TEST(test_cli_usage_errors_and_config_errors_return_documented_codes)
{
    clear_tvsync_environment();
    static const cli_program program = {"tvsync-test", "[OPTION]...", "test", NULL, NULL, NULL};
    cli_state state;
    tvsync_config config;
    char *unknown[] = {(char *) "tvsync-test", (char *) "--no-such-option", NULL};
    ck_assert_int_eq(cli_load(&program, 2, unknown, &state, &config), TVSYNC_EXIT_USAGE);
    char *missing_value[] = {(char *) "tvsync-test", (char *) "--database", NULL};
    ck_assert_int_eq(cli_load(&program, 2, missing_value, &state, &config), TVSYNC_EXIT_USAGE);
    char *bad_set[] = {(char *) "tvsync-test", (char *) "--set", (char *) "novalue", NULL};
    ck_assert_int_eq(cli_load(&program, 3, bad_set, &state, &config), TVSYNC_EXIT_USAGE);
    char *bad_key[] = {(char *) "tvsync-test", (char *) "--set", (char *) "cdc.nope=1", NULL};
    ck_assert_int_eq(cli_load(&program, 3, bad_key, &state, &config), TVSYNC_EXIT_CONFIG);
    char *missing_file[] = {(char *) "tvsync-test", (char *) "--config", (char *) "/nonexistent/tvsync.conf", NULL};
    ck_assert_int_eq(cli_load(&program, 3, missing_file, &state, &config), TVSYNC_EXIT_CONFIG);
    char *bad_level[] = {(char *) "tvsync-test", (char *) "--log-level", (char *) "loud", NULL};
    ck_assert_int_eq(cli_load(&program, 3, bad_level, &state, &config), TVSYNC_EXIT_USAGE);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_every_default_parses_and_formats_back);
    tcase_add_test(tc, test_values_are_checked_by_type_and_range);
    tcase_add_test(tc, test_on_off_keys_take_on_off_and_say_what_they_take);
    tcase_add_test(tc, test_no_default_points_at_the_blog_and_migrate_keys_load_from_a_file);
    tcase_add_test(tc, test_file_error_names_file_line_and_key);
    tcase_add_test(tc, test_slot_plugin_defaults_to_wal2json_and_refuses_other_names);
    tcase_add_test(tc, test_slot_failover_is_off_by_default_and_reads_from_file_and_environment);
    tcase_add_test(tc, test_file_unknown_section_and_missing_file);
    tcase_add_test(tc, test_flag_beats_environment_beats_file_beats_default);
    tcase_add_test(tc, test_misspelled_environment_override_is_an_error);
    tcase_add_test(tc, test_test_harness_variables_are_not_keys);
    tcase_add_test(tc, test_cli_usage_errors_and_config_errors_return_documented_codes);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_set_fork_status(runner, CK_NOFORK);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
