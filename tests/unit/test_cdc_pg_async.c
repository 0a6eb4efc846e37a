/* cdc/pg_async against a real server (TVSYNC_DATABASE_URL; run by
 * tests/integration/cdc_pg_async.sh, which starts a throwaway cluster):
 * queries with their own sync points, and queries that share one
 * (pg_async_defer_sync): callbacks in order, the failing query's own error,
 * the later ones reported as not run, and a prepared statement whose Parse was
 * skipped prepared again on its next use. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "cdc/pg_async.h"

#define MAX_SEEN 16

typedef struct seen {
    int count;
    bool ok[MAX_SEEN];
    char value[MAX_SEEN][64];
    char error[MAX_SEEN][512];
    char sqlstate[MAX_SEEN][6];
} seen;

static struct event_base *base;
static pg_async *async;
static seen got;

static void record_cb(void *arg, const pg_async_outcome *outcome)
{
    (void) arg;
    ck_assert_int_lt(got.count, MAX_SEEN);
    int i = got.count++;
    got.ok[i] = outcome->ok;
    got.value[i][0] = '\0';
    got.error[i][0] = '\0';
    if (outcome->ok && PQntuples(outcome->result) > 0)
        snprintf(got.value[i], sizeof got.value[i], "%s", PQgetvalue(outcome->result, 0, 0));
    if (!outcome->ok)
        snprintf(got.error[i], sizeof got.error[i], "%s", outcome->error);
    memcpy(got.sqlstate[i], outcome->sqlstate, sizeof got.sqlstate[i]);
    ck_assert(!outcome->connection_lost);
}

/* Runs the loop until every pending query is called back (at most 10 s). */
static void run_until_idle(void)
{
    for (int i = 0; i < 1000 && pg_async_busy(async); i++) {
        struct timeval tick = {0, 10000};
        event_base_loopexit(base, &tick);
        event_base_dispatch(base);
    }
    ck_assert(!pg_async_busy(async));
}

static void setup(void)
{
    const char *url = getenv("TVSYNC_DATABASE_URL");
    ck_assert_msg(url != NULL, "TVSYNC_DATABASE_URL is not set (run tests/integration/cdc_pg_async.sh)");
    PGconn *conn = PQconnectdb(url);
    ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "cannot connect: %s", PQerrorMessage(conn));
    base = event_base_new();
    async = pg_async_new(base, conn, "test connection");
    ck_assert_ptr_nonnull(async);
    memset(&got, 0, sizeof got);
}

static void teardown(void)
{
    pg_async_free(async);
    event_base_free(base);
}

static void send_plain(const char *sql)
{
    ck_assert(pg_async_send(async, sql, 0, NULL, record_cb, NULL));
}

static void send_prepared(const char *sql, const char *value)
{
    const char *values[1] = {value};
    ck_assert(pg_async_send_prepared(async, sql, 1, values, record_cb, NULL));
}

START_TEST(test_own_sync_points_keep_failures_apart)
{
    send_prepared("SELECT $1::int + 1", "1");
    send_plain("SELECT 1/0");
    send_prepared("SELECT $1::int + 1", "41");
    run_until_idle();
    ck_assert_int_eq(got.count, 3);
    ck_assert(got.ok[0]);
    ck_assert_str_eq(got.value[0], "2");
    ck_assert(!got.ok[1]);
    ck_assert_msg(strstr(got.error[1], "division by zero"), "error: %s", got.error[1]);
    ck_assert_str_eq(got.sqlstate[1], "22012");   /* division_by_zero */
    ck_assert_str_eq(got.sqlstate[0], "");
    ck_assert(got.ok[2]);
    ck_assert_str_eq(got.value[2], "42");
}
END_TEST

START_TEST(test_shared_sync_point_answers_each_query_in_order)
{
    send_plain("BEGIN");
    pg_async_defer_sync(async);
    send_prepared("SELECT $1::int * 2", "1");
    send_prepared("SELECT $1::int * 2", "2");
    pg_async_defer_sync(async);   /* nested: only the outer sync adds the point */
    send_plain("SELECT 'three'");
    ck_assert(pg_async_sync(async));
    send_plain("COMMIT");
    ck_assert(pg_async_sync(async));
    run_until_idle();
    ck_assert_int_eq(got.count, 5);
    for (int i = 0; i < 5; i++)
        ck_assert_msg(got.ok[i], "query %d: %s", i, got.error[i]);
    ck_assert_str_eq(got.value[1], "2");
    ck_assert_str_eq(got.value[2], "4");
    ck_assert_str_eq(got.value[3], "three");
    ck_assert_int_eq(PQtransactionStatus(pg_async_connection(async)), PQTRANS_IDLE);
}
END_TEST

START_TEST(test_error_before_a_shared_sync_point_skips_the_rest)
{
    send_plain("BEGIN");
    pg_async_defer_sync(async);
    send_plain("SELECT 'before'");
    send_plain("SELECT 1/0");
    /* first use of this text: its Parse is skipped with the rest */
    send_prepared("SELECT $1::text || ' after'", "x");
    send_plain("COMMIT");
    ck_assert(pg_async_sync(async));
    run_until_idle();
    ck_assert_int_eq(got.count, 5);
    ck_assert(got.ok[1]);
    ck_assert_str_eq(got.value[1], "before");
    ck_assert(!got.ok[2]);
    ck_assert_msg(strstr(got.error[2], "division by zero"), "the failing query's own error: %s", got.error[2]);
    for (int i = 3; i < 5; i++) {
        ck_assert(!got.ok[i]);
        ck_assert_msg(strstr(got.error[i], "not run"), "query %d: %s", i, got.error[i]);
        ck_assert_str_eq(got.sqlstate[i], "");   /* the server raised nothing for it */
    }
    /* The block is aborted (the COMMIT did not run): ROLLBACK ends it. */
    ck_assert_int_eq(PQtransactionStatus(pg_async_connection(async)), PQTRANS_INERROR);
    send_plain("ROLLBACK");
    /* The statement whose Parse never ran is prepared again, not executed by a
     * name the server does not know. */
    send_prepared("SELECT $1::text || ' after'", "y");
    run_until_idle();
    ck_assert_int_eq(got.count, 7);
    ck_assert(got.ok[5]);
    ck_assert_msg(got.ok[6], "re-prepared: %s", got.error[6]);
    ck_assert_str_eq(got.value[6], "y after");
}
END_TEST

START_TEST(test_sync_without_queries_sends_nothing)
{
    pg_async_defer_sync(async);
    ck_assert(pg_async_sync(async));
    ck_assert(!pg_async_busy(async));
    send_plain("SELECT 'alone'");
    run_until_idle();
    ck_assert_int_eq(got.count, 1);
    ck_assert_str_eq(got.value[0], "alone");
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("cdc_pg_async");
    TCase *tc = tcase_create("pipeline");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_own_sync_points_keep_failures_apart);
    tcase_add_test(tc, test_shared_sync_point_answers_each_query_in_order);
    tcase_add_test(tc, test_error_before_a_shared_sync_point_skips_the_rest);
    tcase_add_test(tc, test_sync_without_queries_sends_nothing);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
