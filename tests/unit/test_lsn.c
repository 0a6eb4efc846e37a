/* Unit tests for common/lsn: the X/Y text form of PostgreSQL LSNs. */
#include <check.h>
#include <stdlib.h>

#include "common/lsn.h"

START_TEST(test_parse_reads_high_and_low_halves)
{
    lsn_t lsn = 0;
    ck_assert(lsn_parse("16/B374D848", &lsn));
    ck_assert_uint_eq(lsn, ((lsn_t) 0x16 << 32) | 0xB374D848u);
    ck_assert(lsn_parse("0/0", &lsn));
    ck_assert_uint_eq(lsn, 0);
    ck_assert(lsn_parse("FFFFFFFF/FFFFFFFF", &lsn));
    ck_assert_uint_eq(lsn, UINT64_MAX);
    ck_assert(lsn_parse("a/b", &lsn));
    ck_assert_uint_eq(lsn, ((lsn_t) 0xa << 32) | 0xb);
}
END_TEST

START_TEST(test_parse_rejects_malformed_text_and_keeps_output)
{
    static const char *const bad[] = {"", "/", "1/", "/1", "1//2", "1/2/3", "G/1", "1/2 ", " 1/2",
                                      "123456789/1", "1/123456789", "12", "-1/2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lsn_t lsn = 42;
        ck_assert_msg(!lsn_parse(bad[i], &lsn), "accepted \"%s\"", bad[i]);
        ck_assert_uint_eq(lsn, 42);
    }
    lsn_t lsn = 7;
    ck_assert(!lsn_parse(NULL, &lsn));
}
END_TEST

START_TEST(test_format_round_trips)
{
    char buffer[LSN_FORMAT_SIZE];
    ck_assert_str_eq(lsn_format(((lsn_t) 0x16 << 32) | 0xB374D848u, buffer), "16/B374D848");
    ck_assert_str_eq(lsn_format(0, buffer), "0/0");
    ck_assert_str_eq(lsn_format(UINT64_MAX, buffer), "FFFFFFFF/FFFFFFFF");
    lsn_t values[] = {1, 0x100000000ULL, 0x123456789abcdefULL};
    for (size_t i = 0; i < 3; i++) {
        lsn_t back = 0;
        ck_assert(lsn_parse(lsn_format(values[i], buffer), &back));
        ck_assert_uint_eq(back, values[i]);
    }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("lsn");
    TCase *tc = tcase_create("lsn");
    tcase_add_test(tc, test_parse_reads_high_and_low_halves);
    tcase_add_test(tc, test_parse_rejects_malformed_text_and_keeps_output);
    tcase_add_test(tc, test_format_round_trips);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
