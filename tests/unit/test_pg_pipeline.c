/* common/pg_pipeline against a real server (TVSYNC_DATABASE_URL; run by
 * tests/integration/pg_pipeline.sh, which starts a throwaway cluster): statements with
 * their own sync points and sharing one, the prepared-statement cache, SQLSTATEs, and a
 * lost connection reported whether or not anything was pending. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "common/pg_pipeline.h"

#define MAX_SEEN 16

typedef struct seen {
    int count;
    bool ok[MAX_SEEN];
    char value[MAX_SEEN][64];
    char error[MAX_SEEN][512];
    char sqlstate[MAX_SEEN][6];
    bool had_error_result[MAX_SEEN];
} seen;

/* Answers of many statements, as numbers. */
typedef struct count_seen {
    int count;
    int failures;
    int values[1024];
} count_seen;

static count_seen counted;

static struct event_base *base;
static pg_pipeline *pipeline;
static seen got;

static void record_cb(void *arg, const pg_pipeline_outcome *outcome)
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
    got.had_error_result[i] = outcome->error_result != NULL;
    ck_assert(!outcome->connection_lost);
}

static void record_count_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    (void) arg;
    ck_assert_int_lt(counted.count, 1024);
    if (!outcome->ok)
        counted.failures++;
    counted.values[counted.count++] = outcome->ok ? atoi(PQgetvalue(outcome->result, 0, 0)) : -1;
}

/* Runs the loop until every pending query is called back (at most 10 s). */
static void run_until_idle(void)
{
    for (int i = 0; i < 1000 && pg_pipeline_busy(pipeline); i++) {
        struct timeval tick = {0, 10000};
        event_base_loopexit(base, &tick);
        event_base_dispatch(base);
    }
    ck_assert(!pg_pipeline_busy(pipeline));
}

static void setup(void)
{
    const char *url = getenv("TVSYNC_DATABASE_URL");
    ck_assert_msg(url != NULL, "TVSYNC_DATABASE_URL is not set (run tests/integration/pg_pipeline.sh)");
    PGconn *conn = PQconnectdb(url);
    ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "cannot connect: %s", PQerrorMessage(conn));
    base = event_base_new();
    pipeline = pg_pipeline_new(base, conn, "test connection");
    ck_assert_ptr_nonnull(pipeline);
    memset(&got, 0, sizeof got);
    memset(&counted, 0, sizeof counted);
}

static void teardown(void)
{
    pg_pipeline_free(pipeline);
    event_base_free(base);
}

static void send_plain(const char *sql)
{
    ck_assert(pg_pipeline_send(pipeline, sql, 0, NULL, record_cb, NULL));
}

static void send_prepared(const char *sql, const char *value)
{
    const char *values[1] = {value};
    ck_assert(pg_pipeline_send_prepared(pipeline, sql, 1, values, record_cb, NULL));
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
    pg_pipeline_defer_sync(pipeline);
    send_prepared("SELECT $1::int * 2", "1");
    send_prepared("SELECT $1::int * 2", "2");
    pg_pipeline_defer_sync(pipeline);   /* nested: only the outer sync adds the point */
    send_plain("SELECT 'three'");
    ck_assert(pg_pipeline_sync(pipeline));
    send_plain("COMMIT");
    ck_assert(pg_pipeline_sync(pipeline));
    run_until_idle();
    ck_assert_int_eq(got.count, 5);
    for (int i = 0; i < 5; i++)
        ck_assert_msg(got.ok[i], "query %d: %s", i, got.error[i]);
    ck_assert_str_eq(got.value[1], "2");
    ck_assert_str_eq(got.value[2], "4");
    ck_assert_str_eq(got.value[3], "three");
    ck_assert_int_eq(PQtransactionStatus(pg_pipeline_connection(pipeline)), PQTRANS_IDLE);
}
END_TEST

START_TEST(test_error_before_a_shared_sync_point_skips_the_rest)
{
    send_plain("BEGIN");
    pg_pipeline_defer_sync(pipeline);
    send_plain("SELECT 'before'");
    send_plain("SELECT 1/0");
    /* first use of this text: its Parse is skipped with the rest */
    send_prepared("SELECT $1::text || ' after'", "x");
    send_plain("COMMIT");
    ck_assert(pg_pipeline_sync(pipeline));
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
    ck_assert_int_eq(PQtransactionStatus(pg_pipeline_connection(pipeline)), PQTRANS_INERROR);
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
    pg_pipeline_defer_sync(pipeline);
    ck_assert(pg_pipeline_sync(pipeline));
    ck_assert(!pg_pipeline_busy(pipeline));
    send_plain("SELECT 'alone'");
    run_until_idle();
    ck_assert_int_eq(got.count, 1);
    ck_assert_str_eq(got.value[0], "alone");
}
END_TEST


/* Sends sql on a second, blocking connection (to act on the pipeline's backend). */
static void run_elsewhere(const char *sql)
{
    PGconn *other = PQconnectdb(getenv("TVSYNC_DATABASE_URL"));
    ck_assert_msg(PQstatus(other) == CONNECTION_OK, "cannot connect: %s", PQerrorMessage(other));
    PGresult *result = PQexec(other, sql);
    ck_assert_msg(PQresultStatus(result) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(other));
    PQclear(result);
    PQfinish(other);
}

static void terminate_pipeline_backend(void)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", PQbackendPID(pg_pipeline_connection(pipeline)));
    run_elsewhere(sql);
}

START_TEST(test_prepared_statements_are_found_by_text_among_many)
{
    enum { STATEMENTS = 300 };
    char sql[STATEMENTS][64];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < STATEMENTS; i++) {
            snprintf(sql[i], sizeof sql[i], "SELECT $1::int + %d", i);
            const char *values[1] = {"1000"};
            ck_assert(pg_pipeline_send_prepared(pipeline, sql[i], 1, values, record_count_cb, NULL));
        }
        run_until_idle();
    }
    ck_assert_int_eq(counted.count, 2 * STATEMENTS);
    ck_assert_int_eq(counted.failures, 0);
    /* every answer belongs to its own text, in both rounds */
    for (int i = 0; i < 2 * STATEMENTS; i++)
        ck_assert_int_eq(counted.values[i], 1000 + i % STATEMENTS);
    /* each text was prepared once, though sent twice */
    send_plain("SELECT count(*) FROM pg_prepared_statements");
    run_until_idle();
    ck_assert_str_eq(got.value[0], "300");
}
END_TEST

START_TEST(test_same_text_is_one_statement)
{
    send_prepared("SELECT $1::int * 10", "1");
    send_prepared("SELECT $1::int * 10", "2");
    run_until_idle();
    send_prepared("SELECT $1::int * 10", "3");
    send_plain("SELECT count(*) FROM pg_prepared_statements");
    run_until_idle();
    ck_assert_int_eq(got.count, 4);
    ck_assert_str_eq(got.value[0], "10");
    ck_assert_str_eq(got.value[1], "20");
    ck_assert_str_eq(got.value[2], "30");
    ck_assert_str_eq(got.value[3], "1");
}
END_TEST

START_TEST(test_outcomes_carry_the_sqlstate_and_the_failed_result)
{
    send_plain("CREATE TEMP TABLE once (id int PRIMARY KEY)");
    send_prepared("INSERT INTO once VALUES ($1::int)", "1");
    send_prepared("INSERT INTO once VALUES ($1::int)", "1");
    send_prepared("SELECT $1::int", "not a number");
    run_until_idle();
    ck_assert_int_eq(got.count, 4);
    ck_assert(got.ok[0] && got.ok[1]);
    ck_assert_str_eq(got.sqlstate[1], "");
    ck_assert(!got.ok[2]);
    ck_assert_str_eq(got.sqlstate[2], "23505");   /* unique_violation */
    ck_assert_msg(strstr(got.error[2], "SQLSTATE 23505"), "error: %s", got.error[2]);
    ck_assert(got.had_error_result[2]);
    ck_assert(!got.ok[3]);
    ck_assert_str_eq(got.sqlstate[3], "22P02");   /* invalid_text_representation */
    ck_assert(!got.had_error_result[0]);
}
END_TEST

static int lost_calls;
static char lost_error[512];

static int notifies_seen;

static void notify_cb(void *arg, const char *channel, const char *payload)
{
    (void) arg;
    if (strcmp(channel, "pipeline_test") == 0 && strcmp(payload, "behind a result") == 0)
        notifies_seen++;
}

/* A session's own NOTIFY is sent at its commit, after the statement's result and before
 * the sync point's, so it reaches the client in the same read as that result. */
START_TEST(test_notify_arriving_behind_a_result_is_delivered_without_more_traffic)
{
    pg_pipeline_set_notify(pipeline, notify_cb, NULL);
    notifies_seen = 0;
    send_plain("LISTEN pipeline_test");
    run_until_idle();
    send_plain("SELECT pg_notify('pipeline_test', 'behind a result')");
    run_until_idle();
    /* Nothing more is sent: the notification must not wait for the next answer. */
    for (int i = 0; i < 100 && notifies_seen == 0; i++) {
        struct timeval tick = {0, 10000};
        event_base_loopexit(base, &tick);
        event_base_dispatch(base);
    }
    ck_assert_int_eq(notifies_seen, 1);
}
END_TEST

static void lost_cb(void *arg, const char *error)
{
    (void) arg;
    lost_calls++;
    snprintf(lost_error, sizeof lost_error, "%s", error);
}

static void run_until_lost(void)
{
    for (int i = 0; i < 1000 && lost_calls == 0; i++) {
        struct timeval tick = {0, 10000};
        event_base_loopexit(base, &tick);
        event_base_dispatch(base);
    }
}

START_TEST(test_connection_lost_while_idle_is_reported_at_once)
{
    pg_pipeline_set_lost(pipeline, lost_cb, NULL);
    lost_calls = 0;
    send_plain("SELECT 'before'");
    run_until_idle();
    /* Nothing pending and nothing sent from here on. */
    terminate_pipeline_backend();
    run_until_lost();
    ck_assert_int_eq(lost_calls, 1);
    ck_assert_msg(lost_error[0] != '\0', "the loss has a reason");
    /* The socket left the loop: libpq closed it, and its number may be reused. */
    ck_assert_int_eq(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 0);
    ck_assert(!pg_pipeline_send(pipeline, "SELECT 1", 0, NULL, record_cb, NULL));
    ck_assert_int_eq(lost_calls, 1);
    ck_assert_int_eq(got.count, 1);
}
END_TEST

static int pending_lost_calls;
static bool pending_lost_flag;
static char pending_lost_error[512];

static void pending_lost_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    (void) arg;
    pending_lost_calls++;
    pending_lost_flag = outcome->connection_lost;
    snprintf(pending_lost_error, sizeof pending_lost_error, "%s", outcome->error);
    /* the oldest statement hears of the loss before the lost callback */
    ck_assert_int_eq(lost_calls, 0);
}

START_TEST(test_connection_lost_with_statements_pending_calls_back_the_oldest_then_the_lost_callback)
{
    pg_pipeline_set_lost(pipeline, lost_cb, NULL);
    lost_calls = pending_lost_calls = 0;
    ck_assert(pg_pipeline_send(pipeline, "SELECT pg_sleep(30)", 0, NULL, pending_lost_cb, NULL));
    ck_assert(pg_pipeline_send(pipeline, "SELECT 'dropped'", 0, NULL, pending_lost_cb, NULL));
    /* wait until the sleep runs, then end the backend under it */
    run_elsewhere("DO $$ BEGIN WHILE NOT EXISTS (SELECT FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' "
                  "AND state = 'active') LOOP PERFORM pg_sleep(0.01); END LOOP; END $$; SELECT 1");
    terminate_pipeline_backend();
    run_until_lost();
    ck_assert_int_eq(pending_lost_calls, 1);
    ck_assert(pending_lost_flag);
    ck_assert_msg(pending_lost_error[0] != '\0', "the oldest statement is told why");
    ck_assert_int_eq(lost_calls, 1);
    ck_assert(!pg_pipeline_busy(pipeline));
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("pg_pipeline");
    TCase *tc = tcase_create("pipeline");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_own_sync_points_keep_failures_apart);
    tcase_add_test(tc, test_shared_sync_point_answers_each_query_in_order);
    tcase_add_test(tc, test_error_before_a_shared_sync_point_skips_the_rest);
    tcase_add_test(tc, test_sync_without_queries_sends_nothing);
    tcase_add_test(tc, test_prepared_statements_are_found_by_text_among_many);
    tcase_add_test(tc, test_same_text_is_one_statement);
    tcase_add_test(tc, test_outcomes_carry_the_sqlstate_and_the_failed_result);
    tcase_add_test(tc, test_notify_arriving_behind_a_result_is_delivered_without_more_traffic);
    tcase_add_test(tc, test_connection_lost_while_idle_is_reported_at_once);
    tcase_add_test(tc, test_connection_lost_with_statements_pending_calls_back_the_oldest_then_the_lost_callback);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
