/* test_server_replica: [server] replica_urls is read as whitespace-separated postgresql:// URIs,
 * one host each, and a set whose replicas were never probed sends every read to the primary. */
#include <config.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "server/replica.h"

static replica_set *set_from(const char *urls, char *error, size_t error_size)
{
    tvsync_config config;
    config_init(&config);
    char message[256];
    ck_assert_msg(config_set(&config, "server", "replica_urls", urls, "test", message, sizeof message), "%s", message);
    error[0] = '\0';
    replica_set *set = replica_set_new(&config, error, error_size);
    config_free(&config);
    return set;
}

START_TEST(test_empty_list_has_no_replica)
{
    char error[512];
    replica_set *set = set_from("  ", error, sizeof error);
    ck_assert_ptr_nonnull(set);
    ck_assert_int_eq(replica_set_count(set), 0);
    unsigned cursor = 0;
    ck_assert_int_eq(replica_set_pick(set, &cursor), -1);
    ck_assert_str_eq(replica_set_label(set, -1), "primary");
    replica_set_free(set);
}
END_TEST

START_TEST(test_uris_separated_by_any_whitespace)
{
    char error[512];
    replica_set *set = set_from(" postgresql://a:5432/app\tpostgres://u@b/app?sslmode=disable \n", error, sizeof error);
    ck_assert_msg(set != NULL, "%s", error);
    ck_assert_int_eq(replica_set_count(set), 2);
    ck_assert_str_eq(replica_set_url(set, 0), "postgresql://a:5432/app");
    ck_assert_str_eq(replica_set_url(set, 1), "postgres://u@b/app?sslmode=disable");
    ck_assert_str_eq(replica_set_label(set, 1), "replica2");
    replica_set_free(set);
}
END_TEST

START_TEST(test_conninfo_string_is_refused)
{
    char error[512];
    ck_assert_ptr_null(set_from("host=a port=5432", error, sizeof error));
    ck_assert_ptr_nonnull(strstr(error, "\"host=a\" is not a postgresql:// URI"));
    ck_assert_ptr_nonnull(strstr(error, "separated by spaces"));
}
END_TEST

START_TEST(test_multi_host_uri_is_refused)
{
    char error[512];
    ck_assert_ptr_null(set_from("postgresql://a:1,b:2/app", error, sizeof error));
    ck_assert_ptr_nonnull(strstr(error, "names several hosts"));
}
END_TEST

START_TEST(test_malformed_uri_is_refused)
{
    char error[512];
    ck_assert_ptr_null(set_from("postgresql://a/app postgresql://b:5432/app?nosuchoption=1", error, sizeof error));
    ck_assert_ptr_nonnull(strstr(error, "is not a valid URI"));
    ck_assert_ptr_nonnull(strstr(error, "nosuchoption"));
}
END_TEST

START_TEST(test_unprobed_replicas_take_no_read)
{
    char error[512];
    replica_set *set = set_from("postgresql://a/app postgresql://b/app", error, sizeof error);
    ck_assert_ptr_nonnull(set);
    unsigned cursor = 0;
    ck_assert_int_eq(replica_set_pick(set, &cursor), -1);
    ck_assert_int_eq(replica_set_pick_reached(set, 1, &cursor), -1);
    ck_assert(!replica_set_any_alive(set));
    replica_view view;
    replica_set_view(set, 0, &view);
    ck_assert_str_eq(replica_state_name(view.state), "down");
    ck_assert(view.lag_seconds < 0);
    replica_set_free(set);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("server_replica");
    TCase *tc = tcase_create("replica_urls");
    tcase_add_test(tc, test_empty_list_has_no_replica);
    tcase_add_test(tc, test_uris_separated_by_any_whitespace);
    tcase_add_test(tc, test_conninfo_string_is_refused);
    tcase_add_test(tc, test_multi_host_uri_is_refused);
    tcase_add_test(tc, test_malformed_uri_is_refused);
    tcase_add_test(tc, test_unprobed_replicas_take_no_read);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
