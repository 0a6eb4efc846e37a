/* Unit tests for common/strbuf: text of any length is kept whole, and a reset
 * buffer reuses its memory. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

START_TEST(test_empty_buffer_reads_as_empty_text)
{
    strbuf buffer = STRBUF_INIT;
    ck_assert_str_eq(strbuf_text(&buffer), "");
    ck_assert_uint_eq(buffer.length, 0);
    strbuf_reset(&buffer);
    ck_assert_str_eq(strbuf_text(&buffer), "");
    strbuf_free(&buffer);
}
END_TEST

START_TEST(test_append_concatenates_in_order)
{
    strbuf buffer = STRBUF_INIT;
    strbuf_append(&buffer, "SELECT ");
    strbuf_append_char(&buffer, '1');
    strbuf_append_length(&buffer, ", 2xyz", 3);
    strbuf_appendf(&buffer, " FROM %s WHERE id = %d", "t", 42);
    ck_assert_str_eq(strbuf_text(&buffer), "SELECT 1, 2 FROM t WHERE id = 42");
    ck_assert_uint_eq(buffer.length, strlen("SELECT 1, 2 FROM t WHERE id = 42"));
    strbuf_free(&buffer);
}
END_TEST

START_TEST(test_appendf_keeps_text_longer_than_any_fixed_array)
{
    /* Formatted pieces far beyond the first allocation, so the second
     * vsnprintf (after growing) must produce the whole text. */
    size_t size = 100000;
    char *long_name = malloc(size + 1);
    memset(long_name, 'n', size);
    long_name[size] = '\0';
    strbuf buffer = STRBUF_INIT;
    strbuf_append(&buffer, "<");
    strbuf_appendf(&buffer, "%s|%s|%zu", long_name, long_name, size);
    ck_assert_uint_eq(buffer.length, 1 + 2 * size + 2 + strlen("100000"));
    ck_assert_uint_eq(strlen(strbuf_text(&buffer)), buffer.length);
    ck_assert_int_eq(strbuf_text(&buffer)[0], '<');
    ck_assert_int_eq(strbuf_text(&buffer)[1 + size], '|');
    ck_assert_str_eq(strbuf_text(&buffer) + 1 + 2 * size + 2, "100000");
    /* Many small appends across several doublings. */
    strbuf_reset(&buffer);
    for (int i = 0; i < 5000; i++)
        strbuf_appendf(&buffer, "%d,", i % 10);
    ck_assert_uint_eq(buffer.length, 10000);
    ck_assert(strncmp(strbuf_text(&buffer), "0,1,2,3,4,", 10) == 0);
    ck_assert(strcmp(strbuf_text(&buffer) + 9990, "5,6,7,8,9,") == 0);
    strbuf_free(&buffer);
    free(long_name);
}
END_TEST

START_TEST(test_reset_keeps_memory_for_the_next_text)
{
    strbuf buffer = STRBUF_INIT;
    for (int i = 0; i < 1000; i++)
        strbuf_append(&buffer, "0123456789");
    char *data = buffer.data;
    size_t capacity = buffer.capacity;
    strbuf_reset(&buffer);
    ck_assert_str_eq(strbuf_text(&buffer), "");
    ck_assert_uint_eq(buffer.length, 0);
    for (int i = 0; i < 1000; i++)
        strbuf_append(&buffer, "abcdefghij");
    /* The same storage: no allocation for a text that fits. */
    ck_assert_ptr_eq(buffer.data, data);
    ck_assert_uint_eq(buffer.capacity, capacity);
    ck_assert_uint_eq(buffer.length, 10000);
    strbuf_free(&buffer);
    ck_assert_ptr_null(buffer.data);
    ck_assert_uint_eq(buffer.capacity, 0);
    strbuf_append(&buffer, "again");
    ck_assert_str_eq(strbuf_text(&buffer), "again");
    strbuf_free(&buffer);
}
END_TEST

START_TEST(test_reserve_allows_writing_in_place)
{
    strbuf buffer = STRBUF_INIT;
    strbuf_append(&buffer, "{");
    strbuf_reserve(&buffer, 3);
    memcpy(buffer.data + buffer.length, "abc", 3);
    strbuf_set_length(&buffer, buffer.length + 3);
    strbuf_append_char(&buffer, '}');
    ck_assert_str_eq(strbuf_text(&buffer), "{abc}");
    strbuf_free(&buffer);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("strbuf");
    TCase *tc = tcase_create("strbuf");
    tcase_add_test(tc, test_empty_buffer_reads_as_empty_text);
    tcase_add_test(tc, test_append_concatenates_in_order);
    tcase_add_test(tc, test_appendf_keeps_text_longer_than_any_fixed_array);
    tcase_add_test(tc, test_reset_keeps_memory_for_the_next_text);
    tcase_add_test(tc, test_reserve_allows_writing_in_place);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
