/* test_server_status: the sd_notify STATUS= line of tvsync-server: its figures, the
 * database state it reports, and which changes are announced at once. */
#include <config.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "server/status.h"

static server_status healthy(void)
{
    server_status status = {
        .workers = 2, .workers_connected = 2, .ever_connected = true, .requests = 1000,
        .in_flight = 3, .pool_size = 16, .pool_connected = 16, .pool_busy = 2, .sync_pending = 1,
        .slot_lag_bytes = 4096, .draining = false,
    };
    return status;
}

START_TEST(test_status_line_carries_every_figure)
{
    server_status before = healthy();
    server_status now = healthy();
    now.requests = before.requests + 250;
    char text[512];
    server_status_format(&now, &before, 5.0, "127.0.0.1:8080", text, sizeof text);
    ck_assert_str_eq(text, "serving on 127.0.0.1:8080; database up; 50.0 req/s; 3 in flight; "
                           "pool 2 busy, 16/16 connected; 1 sync waits pending; slot lag 4096 bytes");
}
END_TEST

START_TEST(test_first_line_has_no_invented_rate)
{
    server_status now = healthy();
    now.slot_lag_bytes = -1;
    char text[512];
    server_status_format(&now, NULL, 0, "[::1]:80", text, sizeof text);
    ck_assert_ptr_nonnull(strstr(text, "; 0.0 req/s;"));
    /* An unknown lag is left out rather than shown as -1. */
    ck_assert_ptr_null(strstr(text, "slot lag"));
}
END_TEST

START_TEST(test_database_states)
{
    server_status status = healthy();
    ck_assert_int_eq(server_status_database_state(&status), SERVER_STATUS_DATABASE_UP);
    status.workers_connected = 1;
    ck_assert_int_eq(server_status_database_state(&status), SERVER_STATUS_DATABASE_PARTIAL);
    char text[512];
    server_status_format(&status, NULL, 0, "h:1", text, sizeof text);
    ck_assert_ptr_nonnull(strstr(text, "; database up on 1 of 2 workers;"));
    status.workers_connected = 0;
    ck_assert_int_eq(server_status_database_state(&status), SERVER_STATUS_DATABASE_DOWN);
    server_status_format(&status, NULL, 0, "h:1", text, sizeof text);
    ck_assert_ptr_nonnull(strstr(text, "; database down;"));
    status.ever_connected = false;
    ck_assert_int_eq(server_status_database_state(&status), SERVER_STATUS_DATABASE_CONNECTING);
    server_status_format(&status, NULL, 0, "h:1", text, sizeof text);
    ck_assert_ptr_nonnull(strstr(text, "; database connecting;"));
}
END_TEST

START_TEST(test_database_that_does_not_answer_is_not_up)
{
    /* Sockets open to a frozen database: its workers count as not answering, not connected. */
    server_status status = healthy();
    status.workers_connected = 0;
    status.workers_not_answered = 2;
    ck_assert_int_eq(server_status_database_state(&status), SERVER_STATUS_DATABASE_NOT_ANSWERING);
    char text[512];
    server_status_format(&status, NULL, 0, "h:1", text, sizeof text);
    ck_assert_ptr_nonnull(strstr(text, "; database not answering;"));
    ck_assert(server_status_changed(&(server_status){.workers = 2, .workers_connected = 2}, &status));
    /* One worker still answers: the others' silence does not hide it. */
    status.workers_connected = 1;
    status.workers_not_answered = 1;
    ck_assert_int_eq(server_status_database_state(&status), SERVER_STATUS_DATABASE_PARTIAL);
}
END_TEST

START_TEST(test_state_changes_are_announced_at_once)
{
    server_status before = healthy();
    server_status now = healthy();
    now.requests += 10;
    now.in_flight = 7;
    now.pool_busy = 9;
    ck_assert(!server_status_changed(&before, &now)); /* figures wait for the next interval */
    now.workers_connected = 0;
    ck_assert(server_status_changed(&before, &now)); /* database lost */
    ck_assert(server_status_changed(&now, &before)); /* and back */
    now = healthy();
    now.draining = true;
    ck_assert(server_status_changed(&before, &now));
    char text[512];
    server_status_format(&now, &before, 1.0, "127.0.0.1:8080", text, sizeof text);
    ck_assert_ptr_nonnull(strstr(text, "draining, was serving on 127.0.0.1:8080;"));
}
END_TEST

START_TEST(test_truncates_to_the_buffer)
{
    server_status now = healthy();
    char text[16];
    memset(text, 'x', sizeof text);
    server_status_format(&now, NULL, 0, "127.0.0.1:8080", text, sizeof text);
    ck_assert_uint_eq(strlen(text), sizeof text - 1);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("server_status");
    TCase *tc = tcase_create("status");
    tcase_add_test(tc, test_status_line_carries_every_figure);
    tcase_add_test(tc, test_first_line_has_no_invented_rate);
    tcase_add_test(tc, test_database_states);
    tcase_add_test(tc, test_database_that_does_not_answer_is_not_up);
    tcase_add_test(tc, test_state_changes_are_announced_at_once);
    tcase_add_test(tc, test_truncates_to_the_buffer);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
