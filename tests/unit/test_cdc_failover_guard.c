/* Unit tests for cdc/failover_guard: the flush tvsync-cdc confirms on a failover slot
 * stays behind what the standbys have flushed of the primary's WAL. */
#include <check.h>
#include <stdlib.h>

#include "cdc/failover_guard.h"

START_TEST(test_inactive_guard_confirms_every_flush)
{
    failover_guard guard;
    failover_guard_reset(&guard, false);
    ck_assert_uint_eq(failover_guard_cap(&guard, 500), 500);
    ck_assert(!failover_guard_sampled(&guard, 500, 900, true, 100));
    ck_assert_uint_eq(failover_guard_cap(&guard, 700), 700);
}
END_TEST

START_TEST(test_nothing_is_confirmed_before_a_sample)
{
    failover_guard guard;
    failover_guard_reset(&guard, true);
    ck_assert_uint_eq(failover_guard_cap(&guard, 500), LSN_INVALID);
}
END_TEST

START_TEST(test_flush_waits_until_the_standby_has_the_apply_commit)
{
    failover_guard guard;
    failover_guard_reset(&guard, true);
    /* applied up to 500, the primary's WAL at 900, the standby flushed 600: the apply
     * commit for 500 lies somewhere before 900, maybe past 600 */
    ck_assert(!failover_guard_sampled(&guard, 500, 900, true, 600));
    ck_assert_uint_eq(failover_guard_cap(&guard, 500), LSN_INVALID);
    /* the standby reached 899 only: still not */
    ck_assert(!failover_guard_sampled(&guard, 800, 1200, true, 899));
    ck_assert_uint_eq(failover_guard_cap(&guard, 800), LSN_INVALID);
    /* it has 900 now: 500 is safe, 800 (noted at 1200) not yet */
    ck_assert(failover_guard_sampled(&guard, 850, 1300, true, 900));
    ck_assert_uint_eq(failover_guard_cap(&guard, 850), 500);
    ck_assert_uint_eq(failover_guard_cap(&guard, 400), 400);
}
END_TEST

START_TEST(test_a_standby_that_always_lags_still_lets_the_flush_advance)
{
    failover_guard guard;
    failover_guard_reset(&guard, true);
    /* each sample: the standby has the WAL of two samples ago, never the current end */
    lsn_t safe_seen = LSN_INVALID;
    for (lsn_t i = 1; i <= 20; i++) {
        lsn_t wal = i * 1000, noted = i * 1000 - 500, standby = i >= 2 ? (i - 1) * 1000 : LSN_INVALID;
        failover_guard_sampled(&guard, noted, wal, true, standby);
        lsn_t capped = failover_guard_cap(&guard, noted);
        ck_assert_uint_ge(capped, safe_seen);
        ck_assert_uint_lt(capped, noted);
        safe_seen = capped;
    }
    ck_assert_uint_ge(safe_seen, 15000);
}
END_TEST

START_TEST(test_standby_level_with_the_primary_confirms_at_once)
{
    failover_guard guard;
    failover_guard_reset(&guard, true);
    ck_assert(failover_guard_sampled(&guard, 500, 900, true, 900));
    ck_assert_uint_eq(failover_guard_cap(&guard, 500), 500);
    ck_assert_uint_eq(failover_guard_cap(&guard, 700), 500);
}
END_TEST

START_TEST(test_unknown_standby_holds_the_flush)
{
    failover_guard guard;
    failover_guard_reset(&guard, true);
    for (int i = 0; i < 5; i++)
        ck_assert(!failover_guard_sampled(&guard, 500 + (lsn_t) i, 900, true, LSN_INVALID));
    ck_assert_uint_eq(failover_guard_cap(&guard, 600), LSN_INVALID);
    /* the standby comes: the oldest noted flush first */
    ck_assert(failover_guard_sampled(&guard, 600, 1000, true, 950));
    ck_assert_uint_eq(failover_guard_cap(&guard, 600), 500);
}
END_TEST

START_TEST(test_no_standbys_listed_confirms_the_noted_flush)
{
    failover_guard guard;
    failover_guard_reset(&guard, true);
    ck_assert(failover_guard_sampled(&guard, 500, 900, false, LSN_INVALID));
    ck_assert_uint_eq(failover_guard_cap(&guard, 800), 500);
    /* the safe position never goes back */
    ck_assert(!failover_guard_sampled(&guard, 300, 1000, false, LSN_INVALID));
    ck_assert_uint_eq(failover_guard_cap(&guard, 800), 500);
}
END_TEST

START_TEST(test_reset_forgets_the_last_session)
{
    failover_guard guard;
    failover_guard_reset(&guard, true);
    failover_guard_sampled(&guard, 500, 900, true, 900);
    failover_guard_reset(&guard, true);
    ck_assert_uint_eq(failover_guard_cap(&guard, 500), LSN_INVALID);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("failover_guard");
    TCase *tc = tcase_create("failover_guard");
    tcase_add_test(tc, test_inactive_guard_confirms_every_flush);
    tcase_add_test(tc, test_nothing_is_confirmed_before_a_sample);
    tcase_add_test(tc, test_flush_waits_until_the_standby_has_the_apply_commit);
    tcase_add_test(tc, test_a_standby_that_always_lags_still_lets_the_flush_advance);
    tcase_add_test(tc, test_standby_level_with_the_primary_confirms_at_once);
    tcase_add_test(tc, test_unknown_standby_holds_the_flush);
    tcase_add_test(tc, test_no_standbys_listed_confirms_the_noted_flush);
    tcase_add_test(tc, test_reset_forgets_the_last_session);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
