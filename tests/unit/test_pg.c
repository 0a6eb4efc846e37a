/* Unit tests for common/pg's pure parts: backoff, redaction, and connection
 * failures told apart (no server is running on the ports used here). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/pg.h"

START_TEST(test_backoff_doubles_up_to_the_cap_with_bounded_jitter)
{
    pg_backoff backoff;
    pg_backoff_init(&backoff, 100, 1000);
    int expected[] = {100, 200, 400, 800, 1000, 1000, 1000};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        int delay = pg_backoff_next_ms(&backoff);
        ck_assert_int_le(delay, expected[i]);
        ck_assert_int_ge(delay, expected[i] - expected[i] / 5);
    }
    pg_backoff_reset(&backoff);
    ck_assert_int_le(pg_backoff_next_ms(&backoff), 100);
}
END_TEST

START_TEST(test_redact_hides_passwords_in_both_forms)
{
    char *a = pg_redact_url("postgresql://app:s3cret@db.example:5432/blog");
    ck_assert_str_eq(a, "postgresql://app:***@db.example:5432/blog");
    char *b = pg_redact_url("host=db password=x user=app");
    ck_assert_str_eq(b, "host=db password=*** user=app");
    char *c = pg_redact_url("host=db password='a b\\'c' user=app");
    ck_assert_str_eq(c, "host=db password=*** user=app");
    char *d = pg_redact_url("postgresql://db/blog?user=a&password=longsecret&sslmode=require");
    ck_assert_str_eq(d, "postgresql://db/blog?user=a&password=***&sslmode=require");
    char *e = pg_redact_url("postgresql://u:p@h/db");
    ck_assert_str_eq(e, "postgresql://u:***@h/db");
    char *f = pg_redact_url("postgresql://u@h/db");
    ck_assert_str_eq(f, "postgresql://u@h/db");
    free(a), free(b), free(c), free(d), free(e), free(f);
}
END_TEST

START_TEST(test_refused_connection_is_retryable_and_bad_url_is_fatal)
{
    pg_error_kind kind = PG_ERROR_NONE;
    char error[1024];
    /* Port 1 on loopback: nothing listens there. */
    PGconn *conn = pg_connect("postgresql://127.0.0.1:1/x", "tvsync-test", PG_CONNECT_NORMAL, 2000, &kind,
                              error, sizeof error);
    ck_assert_ptr_null(conn);
    ck_assert_int_eq(kind, PG_ERROR_RETRYABLE);
    ck_assert_msg(strstr(error, "cannot connect to postgresql://127.0.0.1:1/x"), "%s", error);
    ck_assert_ptr_null(strchr(error, '\n'));

    conn = pg_connect("postgresql://u:pw@127.0.0.1:1/x?nosuchoption=1", "t", PG_CONNECT_NORMAL, 2000, &kind, error,
                      sizeof error);
    ck_assert_ptr_null(conn);
    ck_assert_int_eq(kind, PG_ERROR_FATAL);
    ck_assert_msg(strstr(error, "nosuchoption"), "%s", error);
    ck_assert_msg(!strstr(error, "pw@"), "password leaked: %s", error);
}
END_TEST

/* The value libpq settled on for keyword after expanding the arrays (a connection
 * attempt starts, to a port where nothing listens, only so that libpq parses them). */
static char *effective(const pg_conninfo *info, const char *keyword)
{
    PGconn *conn = PQconnectStartParams(info->keywords, info->values, 1);
    ck_assert_ptr_nonnull(conn);
    PQconninfoOption *options = PQconninfo(conn);
    ck_assert_ptr_nonnull(options);
    char *value = NULL;
    for (PQconninfoOption *o = options; o->keyword; o++)
        if (strcmp(o->keyword, keyword) == 0 && o->val)
            value = strdup(o->val);
    PQconninfoFree(options);
    PQfinish(conn);
    return value;
}

/* The name the server is told: application_name when the URL or PGAPPNAME sets it, else
 * the fallback. */
static char *effective_name(const pg_conninfo *info)
{
    char *name = effective(info, "application_name");
    return name ? name : effective(info, "fallback_application_name");
}

START_TEST(test_conninfo_lets_the_urls_settings_win_over_the_defaults)
{
    pg_conninfo info;
    pg_conninfo_build(&info,
                      "postgresql://127.0.0.1:1/x?application_name=from_url&connect_timeout=7&client_encoding=LATIN1",
                      "tvsync-test", PG_CONNECT_NORMAL, 3000);
    char *name = effective_name(&info);
    char *timeout = effective(&info, "connect_timeout");
    char *encoding = effective(&info, "client_encoding");
    ck_assert_str_eq(name, "from_url");
    ck_assert_str_eq(timeout, "7");
    ck_assert_str_eq(encoding, "LATIN1");
    free(name), free(timeout), free(encoding);

    pg_conninfo_build(&info, "postgresql://127.0.0.1:1/x", "tvsync-test", PG_CONNECT_NORMAL, 1);
    name = effective_name(&info);
    timeout = effective(&info, "connect_timeout");
    encoding = effective(&info, "client_encoding");
    ck_assert_str_eq(name, "tvsync-test");
    ck_assert_str_eq(timeout, "2");   /* whole seconds, at least 2 */
    ck_assert_str_eq(encoding, "UTF8");
    free(name), free(timeout), free(encoding);

    /* PGAPPNAME wins over the program's name too, as libpq users expect. */
    setenv("PGAPPNAME", "from_env", 1);
    name = effective_name(&info);
    unsetenv("PGAPPNAME");
    ck_assert_str_eq(name, "from_env");
    free(name);

    /* The mode the binary needs wins over the URL. */
    pg_conninfo_build(&info, "host=127.0.0.1 port=1 replication=false", "tvsync-test", PG_CONNECT_REPLICATION, 0);
    char *replication = effective(&info, "replication");
    ck_assert_str_eq(replication, "database");
    ck_assert_ptr_null(effective(&info, "connect_timeout"));
    free(replication);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("pg");
    TCase *tc = tcase_create("pg");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_backoff_doubles_up_to_the_cap_with_bounded_jitter);
    tcase_add_test(tc, test_redact_hides_passwords_in_both_forms);
    tcase_add_test(tc, test_refused_connection_is_retryable_and_bad_url_is_fatal);
    tcase_add_test(tc, test_conninfo_lets_the_urls_settings_win_over_the_defaults);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
