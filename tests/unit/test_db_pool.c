/* server/db_pool against a real server (TVSYNC_DATABASE_URL; run by
 * tests/integration/db_pool.sh): the order of statements that run again, what happens to
 * statements in flight when the connection drops, the URL's own settings, NOTIFY. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "server/db_pool.h"

#define MAX_SEEN 16

typedef struct answer {
    char label;
    bool ok;
    char value[64];
    char error[600];
} answer;

static struct event_base *base;
static db_pool *pool;
static answer answers[MAX_SEEN];
static int answer_count;
static const char labels[] = "abcdefghijklmnop";

static void answer_cb(void *arg, const PGresult *result, const char *error)
{
    ck_assert_int_lt(answer_count, MAX_SEEN);
    answer *a = &answers[answer_count++];
    a->label = *(const char *) arg;
    a->ok = error == NULL;
    a->value[0] = a->error[0] = '\0';
    if (error)
        snprintf(a->error, sizeof a->error, "%s", error);
    else if (PQntuples(result) > 0)
        snprintf(a->value, sizeof a->value, "%s", PQgetvalue(result, 0, 0));
}

static void submit(const char *sql, unsigned flags, int label)
{
    db_pool_submit(pool, sql, 0, NULL, flags, answer_cb, (void *) &labels[label]);
}

static void run_until_answers(int count)
{
    for (int i = 0; i < 1500 && answer_count < count; i++) {
        struct timeval tick = {0, 10000};
        event_base_loopexit(base, &tick);
        event_base_dispatch(base);
    }
    ck_assert_int_eq(answer_count, count);
}

static void run_until_connected(void)
{
    db_pool_stats stats = {0};
    for (int i = 0; i < 1000 && stats.connected == 0; i++) {
        struct timeval tick = {0, 10000};
        event_base_loopexit(base, &tick);
        event_base_dispatch(base);
        db_pool_get_stats(pool, &stats);
    }
    ck_assert_int_eq(stats.connected, 1);
}

/* Runs sql on a blocking connection of its own; returns the first value (static). */
static const char *sql_elsewhere(const char *sql)
{
    static char value[256];
    PGconn *conn = PQconnectdb(getenv("TVSYNC_DATABASE_URL"));
    ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "cannot connect: %s", PQerrorMessage(conn));
    PGresult *result = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(result);
    ck_assert_msg(status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(conn));
    snprintf(value, sizeof value, "%s", status == PGRES_TUPLES_OK && PQntuples(result) ? PQgetvalue(result, 0, 0) : "");
    PQclear(result);
    PQfinish(conn);
    return value;
}

static void setup(void)
{
    const char *url = getenv("TVSYNC_DATABASE_URL");
    ck_assert_msg(url != NULL, "TVSYNC_DATABASE_URL is not set (run tests/integration/db_pool.sh)");
    /* die_once(seq): ends its own backend the first time it runs for seq, and runs
     * normally afterwards. */
    sql_elsewhere("DROP SEQUENCE IF EXISTS pool_read_seq, pool_write_seq; "
                  "CREATE SEQUENCE pool_read_seq; CREATE SEQUENCE pool_write_seq; "
                  "CREATE OR REPLACE FUNCTION die_once(seq regclass) RETURNS text LANGUAGE plpgsql AS $$ "
                  "BEGIN IF nextval(seq) = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid()); "
                  "PERFORM pg_sleep(5); END IF; RETURN 'survived'; END $$");
    base = event_base_new();
    pool = db_pool_new(base, url, "tvsync test pool", 1, 5000, NULL, 10000);
    answer_count = 0;
    run_until_connected();
}

static void teardown(void)
{
    db_pool_free(pool);
    event_base_free(base);
}

START_TEST(test_reads_skipped_after_an_error_run_again_in_their_order)
{
    /* Submitted together: one pipeline, one sync point; the error skips the rest. */
    submit("SELECT 1/0", DB_POOL_RETRY_ON_LOSS, 0);
    submit("SELECT 'b'", DB_POOL_RETRY_ON_LOSS, 1);
    submit("SELECT 'c'", DB_POOL_RETRY_ON_LOSS, 2);
    submit("SELECT 'd'", DB_POOL_RETRY_ON_LOSS, 3);
    run_until_answers(4);
    ck_assert_int_eq(answers[0].label, 'a');
    ck_assert(!answers[0].ok);
    ck_assert_msg(strstr(answers[0].error, "division by zero"), "%s", answers[0].error);
    for (int i = 1; i < 4; i++) {
        ck_assert_msg(answers[i].ok, "%c: %s", answers[i].label, answers[i].error);
        ck_assert_int_eq(answers[i].label, labels[i]);
        ck_assert_int_eq(answers[i].value[0], labels[i]);
    }
}
END_TEST

START_TEST(test_reads_in_flight_when_the_connection_drops_run_again_in_their_order)
{
    /* One pipeline: the first read ends the backend; the others were in flight. */
    submit("SELECT die_once('pool_read_seq')", DB_POOL_RETRY_ON_LOSS, 0);
    submit("SELECT 'b'", DB_POOL_RETRY_ON_LOSS, 1);
    submit("SELECT 'c'", DB_POOL_RETRY_ON_LOSS, 2);
    submit("SELECT 'd'", DB_POOL_RETRY_ON_LOSS, 3);
    run_until_answers(4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(answers[i].label, labels[i]);
    /* The server's own error ("terminating connection") reached the first before the
     * connection closed, or it ran again. */
    ck_assert_msg(answers[0].ok ? strcmp(answers[0].value, "survived") == 0 : strstr(answers[0].error, "57P01") != NULL,
                  "%s%s", answers[0].value, answers[0].error);
    for (int i = 1; i < 4; i++) {
        ck_assert_msg(answers[i].ok, "%c: %s", answers[i].label, answers[i].error);
        ck_assert_int_eq(answers[i].value[0], labels[i]);
    }
}
END_TEST

START_TEST(test_a_write_in_flight_when_the_connection_drops_fails_and_is_not_resent)
{
    submit("SELECT die_once('pool_write_seq')", 0, 0);
    run_until_answers(1);
    ck_assert(!answers[0].ok);
    ck_assert_msg(strstr(answers[0].error, "database connection lost; the statement may or may not have run"), "%s",
                  answers[0].error);
    /* The pool works again afterwards, and the write ran once. */
    submit("SELECT 'after'", 0, 1);
    run_until_answers(2);
    ck_assert_msg(answers[1].ok, "%s", answers[1].error);
    ck_assert_str_eq(sql_elsewhere("SELECT last_value FROM pool_write_seq"), "1");
}
END_TEST

START_TEST(test_prepared_statements_with_another_text_under_a_caller_name_are_not_confused)
{
    const char *params[1] = {"7"};
    db_pool_submit(pool, "SELECT $1::int + 1", 1, params, DB_POOL_PREPARED | DB_POOL_RETRY_ON_LOSS, answer_cb,
                   (void *) &labels[0]);
    db_pool_submit(pool, "SELECT $1::int * 3", 1, params, DB_POOL_PREPARED | DB_POOL_RETRY_ON_LOSS, answer_cb,
                   (void *) &labels[1]);
    run_until_answers(2);
    db_pool_submit(pool, "SELECT $1::int * 3", 1, params, DB_POOL_PREPARED, answer_cb, (void *) &labels[2]);
    db_pool_submit(pool, "SELECT count(*) FROM pg_prepared_statements", 0, NULL, 0, answer_cb, (void *) &labels[3]);
    run_until_answers(4);
    ck_assert_str_eq(answers[0].value, "8");
    ck_assert_str_eq(answers[1].value, "21");
    ck_assert_str_eq(answers[2].value, "21");
    ck_assert_str_eq(answers[3].value, "2");
}
END_TEST

START_TEST(test_the_urls_own_settings_win_over_the_pools)
{
    char url[512];
    snprintf(url, sizeof url, "%s?application_name=from_the_url&client_encoding=LATIN1", getenv("TVSYNC_DATABASE_URL"));
    db_pool_free(pool);
    pool = db_pool_new(base, url, "tvsync test pool", 1, 5000, NULL, 10000);
    run_until_connected();
    submit("SELECT current_setting('application_name') || ' ' || current_setting('client_encoding')", 0, 0);
    run_until_answers(1);
    ck_assert_msg(answers[0].ok, "%s", answers[0].error);
    ck_assert_str_eq(answers[0].value, "from_the_url LATIN1");
    /* Without settings in the URL, the pool's own. */
    db_pool_free(pool);
    pool = db_pool_new(base, getenv("TVSYNC_DATABASE_URL"), "tvsync test pool", 1, 5000, NULL, 10000);
    run_until_connected();
    submit("SELECT current_setting('application_name') || ' ' || current_setting('client_encoding')", 0, 1);
    run_until_answers(2);
    ck_assert_str_eq(answers[1].value, "tvsync test pool UTF8");
}
END_TEST

static char notified[128];

static void notify_cb(void *arg, const char *channel, const char *payload)
{
    (void) arg;
    snprintf(notified, sizeof notified, "%s:%s", channel, payload);
}

START_TEST(test_notifications_reach_the_notify_callback_while_idle)
{
    notified[0] = '\0';
    db_pool_set_notify(pool, notify_cb, NULL);
    submit("LISTEN pool_test_channel", 0, 0);
    run_until_answers(1);
    ck_assert_msg(answers[0].ok, "%s", answers[0].error);
    sql_elsewhere("NOTIFY pool_test_channel, 'hello'");
    for (int i = 0; i < 1000 && notified[0] == '\0'; i++) {
        struct timeval tick = {0, 10000};
        event_base_loopexit(base, &tick);
        event_base_dispatch(base);
    }
    ck_assert_str_eq(notified, "pool_test_channel:hello");
}
END_TEST

/* A statement the database never answers in time (pg_sleep stands for a frozen server):
 * past the pool's deadline it fails, with the write said to be of unknown outcome, and the
 * pool makes a new connection and serves the next statement. */
START_TEST(test_statements_past_the_deadline_fail_and_the_connection_is_made_again)
{
    db_pool_set_deadline(pool, 300, 0);
    submit("SELECT pg_sleep(60)", 0, 0);
    run_until_answers(1);
    ck_assert(!answers[0].ok);
    ck_assert_int_eq(db_pool_error_classify(answers[0].error), DB_POOL_ERROR_TIMEOUT);
    ck_assert_msg(strstr(answers[0].error, "no answer within 300 ms; the statement may or may not have run"), "%s",
                  answers[0].error);
    submit("SELECT pg_sleep(60)", DB_POOL_RETRY_ON_LOSS, 1);
    run_until_answers(2);
    ck_assert_int_eq(db_pool_error_classify(answers[1].error), DB_POOL_ERROR_TIMEOUT);
    ck_assert_msg(strstr(answers[1].error, "may or may not") == NULL, "a read is not said to have written: %s",
                  answers[1].error);
    submit("SELECT 'fresh'", DB_POOL_RETRY_ON_LOSS, 2);
    run_until_answers(3);
    ck_assert_msg(answers[2].ok, "%s", answers[2].error);
    ck_assert_str_eq(answers[2].value, "fresh");
    sql_elsewhere("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'");
}
END_TEST

/* A server that accepts the connection but never answers it (a frozen postmaster: the
 * kernel completes the handshake): the attempt is abandoned after connect_timeout_ms,
 * which libpq does not enforce on non-blocking connects, and the statement fails. */
START_TEST(test_a_connection_attempt_nobody_answers_is_abandoned)
{
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(listener, (struct sockaddr *) &address, sizeof address), 0);
    ck_assert_int_eq(listen(listener, 8), 0);
    socklen_t length = sizeof address;
    ck_assert_int_eq(getsockname(listener, (struct sockaddr *) &address, &length), 0);
    char url[128];
    snprintf(url, sizeof url, "host=127.0.0.1 port=%d dbname=x user=x sslmode=disable", ntohs(address.sin_port));
    db_pool_free(pool);
    pool = db_pool_new(base, url, "tvsync test pool", 1, 300, NULL, 60000);
    submit("SELECT 1", DB_POOL_RETRY_ON_LOSS, 0);
    run_until_answers(1);
    ck_assert(!answers[0].ok);
    ck_assert_msg(strstr(answers[0].error, "no answer to a connection attempt within 300 ms"), "%s", answers[0].error);
    ck_assert_int_eq(db_pool_error_classify(db_pool_last_error(pool)), DB_POOL_ERROR_TIMEOUT);
    close(listener);
}
END_TEST

/* The pool's silence grows while a statement waits without an answer, and is 0 when idle. */
START_TEST(test_silence_counts_only_while_something_waits)
{
    ck_assert_int_eq(db_pool_silence_ms(pool), 0);
    submit("SELECT pg_sleep(0.6)", DB_POOL_RETRY_ON_LOSS, 0);
    long longest = 0;
    for (int i = 0; i < 1000 && answer_count == 0; i++) {
        struct timeval tick = {0, 10000};
        event_base_loopexit(base, &tick);
        event_base_dispatch(base);
        long silence = db_pool_silence_ms(pool);
        if (answer_count == 0 && silence > longest)
            longest = silence;
    }
    ck_assert_int_eq(answer_count, 1);
    ck_assert_msg(longest >= 300, "silence while waiting: %ld ms", longest);
    ck_assert_int_eq(db_pool_silence_ms(pool), 0);
}
END_TEST

/* A read with an identity in flight when its connection drops runs again, on the new
 * connection, as its identity. */
START_TEST(test_a_read_sent_again_after_a_drop_keeps_its_identity)
{
    sql_elsewhere("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pool_reader') THEN "
                  "CREATE ROLE pool_reader NOLOGIN; END IF; END $$; ALTER FUNCTION die_once(regclass) SECURITY DEFINER; "
                  "GRANT EXECUTE ON FUNCTION die_once(regclass) "
                  "TO pool_reader; GRANT USAGE, UPDATE ON SEQUENCE pool_read_seq TO pool_reader");
    db_pool_identity_begin(pool, "pool_reader", "{\"sub\":\"again\"}");
    submit("SELECT die_once('pool_read_seq') || ' ' || current_user || ' ' || "
           "current_setting('request.jwt.claims')", DB_POOL_RETRY_ON_LOSS, 0);
    db_pool_identity_end(pool);
    run_until_answers(1);
    ck_assert_msg(answers[0].ok, "%s", answers[0].error);
    ck_assert_str_eq(answers[0].value, "survived pool_reader {\"sub\":\"again\"}");
}
END_TEST

/* Statements of several identities and none share one pipeline: each runs as its own role
 * with its own claims, and one without an identity right after one with runs as the pool's
 * own role again; an identity's setting is not left behind for the next sync point. */
START_TEST(test_each_statement_runs_as_its_identity_within_one_pipeline)
{
    sql_elsewhere("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pool_reader') THEN "
                  "CREATE ROLE pool_reader NOLOGIN; END IF; END $$");
    const char *who = "SELECT current_user || ' ' || coalesce(nullif(current_setting('request.jwt.claims', true), ''), "
                      "'-')";
    const char *own = sql_elsewhere("SELECT current_user");
    char own_user[64];
    snprintf(own_user, sizeof own_user, "%s", own);
    const char *claims[] = {"{\"sub\":\"a\"}", NULL, "{\"sub\":\"b\"}", "{\"sub\":\"b\"}", NULL, "{\"sub\":\"a\"}"};
    for (int i = 0; i < 6; i++) {
        if (claims[i] != NULL)
            db_pool_identity_begin(pool, "pool_reader", claims[i]);
        submit(who, DB_POOL_RETRY_ON_LOSS | DB_POOL_PREPARED, i);
        if (claims[i] != NULL)
            db_pool_identity_end(pool);
    }
    run_until_answers(6);
    for (int i = 0; i < 6; i++) {
        ck_assert_msg(answers[i].ok, "%c: %s", answers[i].label, answers[i].error);
        ck_assert_int_eq(answers[i].label, labels[i]);
        char expected[128];
        if (claims[i] != NULL)
            snprintf(expected, sizeof expected, "pool_reader %s", claims[i]);
        else
            snprintf(expected, sizeof expected, "%s -", own_user);
        ck_assert_str_eq(answers[i].value, expected);
    }
    /* A write alone (its own sync point) with an identity, then a read without one. */
    db_pool_identity_begin(pool, "pool_reader", "{}");
    submit(who, 0, 6);
    db_pool_identity_end(pool);
    run_until_answers(7);
    submit(who, 0, 7);
    run_until_answers(8);
    ck_assert_str_eq(answers[6].value, "pool_reader {}");
    char expected[128];
    snprintf(expected, sizeof expected, "%s -", own_user);
    ck_assert_str_eq(answers[7].value, expected);
}
END_TEST

/* A role the database does not know fails its statement with DB_POOL_ERROR_ROLE (and the
 * SQLSTATE), without running it; the statements around it in the pipeline are answered. */
START_TEST(test_a_refused_role_fails_only_its_statement)
{
    sql_elsewhere("DROP TABLE IF EXISTS pool_role_rows; CREATE TABLE pool_role_rows (v text)");
    submit("SELECT 'before'", DB_POOL_RETRY_ON_LOSS, 0);
    db_pool_identity_begin(pool, "pool_no_such_role", "{}");
    submit("SELECT 'never'", DB_POOL_RETRY_ON_LOSS, 1);
    db_pool_identity_end(pool);
    submit("SELECT 'after'", DB_POOL_RETRY_ON_LOSS, 2);
    db_pool_identity_begin(pool, "pool_no_such_role", "{}");
    submit("INSERT INTO pool_role_rows VALUES ('x')", 0, 3);
    db_pool_identity_end(pool);
    run_until_answers(4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(answers[i].label, labels[i]);
    ck_assert_msg(answers[0].ok && answers[2].ok, "%s %s", answers[0].error, answers[2].error);
    ck_assert_str_eq(answers[2].value, "after");
    for (int i = 1; i < 4; i += 2) {
        ck_assert(!answers[i].ok);
        ck_assert_int_eq(db_pool_error_classify(answers[i].error), DB_POOL_ERROR_ROLE);
        ck_assert_msg(strstr(answers[i].error, "(SQLSTATE 22023)") != NULL, "%s", answers[i].error);
    }
    ck_assert_str_eq(sql_elsewhere("SELECT count(*) FROM pool_role_rows"), "0");
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("db_pool");
    TCase *tc = tcase_create("db_pool");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_reads_skipped_after_an_error_run_again_in_their_order);
    tcase_add_test(tc, test_reads_in_flight_when_the_connection_drops_run_again_in_their_order);
    tcase_add_test(tc, test_a_write_in_flight_when_the_connection_drops_fails_and_is_not_resent);
    tcase_add_test(tc, test_prepared_statements_with_another_text_under_a_caller_name_are_not_confused);
    tcase_add_test(tc, test_the_urls_own_settings_win_over_the_pools);
    tcase_add_test(tc, test_notifications_reach_the_notify_callback_while_idle);
    tcase_add_test(tc, test_statements_past_the_deadline_fail_and_the_connection_is_made_again);
    tcase_add_test(tc, test_silence_counts_only_while_something_waits);
    tcase_add_test(tc, test_a_connection_attempt_nobody_answers_is_abandoned);
    tcase_add_test(tc, test_a_read_sent_again_after_a_drop_keeps_its_identity);
    tcase_add_test(tc, test_each_statement_runs_as_its_identity_within_one_pipeline);
    tcase_add_test(tc, test_a_refused_role_fails_only_its_statement);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
