/* Unit tests for common/prom: the Prometheus text exposition format. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/prom.h"

static char *render(prom_registry *registry)
{
    char *text = prom_render(registry, NULL);
    ck_assert_ptr_nonnull(text);
    return text;
}

START_TEST(test_counter_with_labels_renders_help_type_and_series)
{
    prom_registry *registry = prom_registry_new();
    prom_metric *intents = prom_counter(registry, "tvsync_intents_total", "Intents applied.", "entity");
    prom_counter_add(intents, (const char *[]){"post"}, 3);
    prom_counter_add(intents, (const char *[]){"user"}, 1);
    prom_counter_add(intents, (const char *[]){"post"}, 2);
    prom_counter_add(intents, (const char *[]){"post"}, -5); /* ignored: counters never go down */
    char *text = render(registry);
    ck_assert_str_eq(text, "# HELP tvsync_intents_total Intents applied.\n"
                           "# TYPE tvsync_intents_total counter\n"
                           "tvsync_intents_total{entity=\"post\"} 5\n"
                           "tvsync_intents_total{entity=\"user\"} 1\n");
    free(text);
    prom_registry_free(registry);
}
END_TEST

START_TEST(test_label_values_and_help_are_escaped)
{
    prom_registry *registry = prom_registry_new();
    prom_metric *gauge = prom_gauge(registry, "tvsync_x", "line1\nback\\slash", "a,b");
    prom_gauge_set(gauge, (const char *[]){"q\"uote", "new\nline\\"}, 1.5);
    char *text = render(registry);
    ck_assert_str_eq(text, "# HELP tvsync_x line1\\nback\\\\slash\n"
                           "# TYPE tvsync_x gauge\n"
                           "tvsync_x{a=\"q\\\"uote\",b=\"new\\nline\\\\\"} 1.5\n");
    free(text);
    prom_registry_free(registry);
}
END_TEST

START_TEST(test_histogram_buckets_are_cumulative_with_inf_sum_and_count)
{
    prom_registry *registry = prom_registry_new();
    const double buckets[] = {0.001, 0.01, 0.1};
    prom_metric *h = prom_histogram(registry, "tvsync_apply_duration_seconds", "Apply time.", NULL, buckets, 3);
    prom_histogram_observe(h, NULL, 0.0005);
    prom_histogram_observe(h, NULL, 0.005);
    prom_histogram_observe(h, NULL, 0.005);
    prom_histogram_observe(h, NULL, 5);
    char *text = render(registry);
    ck_assert_ptr_nonnull(strstr(text, "tvsync_apply_duration_seconds_bucket{le=\"0.001\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "tvsync_apply_duration_seconds_bucket{le=\"0.01\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(text, "tvsync_apply_duration_seconds_bucket{le=\"0.1\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(text, "tvsync_apply_duration_seconds_bucket{le=\"+Inf\"} 4\n"));
    ck_assert_ptr_nonnull(strstr(text, "tvsync_apply_duration_seconds_sum 5.0105"));
    ck_assert_ptr_nonnull(strstr(text, "tvsync_apply_duration_seconds_count 4\n"));
    free(text);
    prom_registry_free(registry);
}
END_TEST

START_TEST(test_histogram_with_labels_puts_le_last)
{
    prom_registry *registry = prom_registry_new();
    const double buckets[] = {1};
    prom_metric *h = prom_histogram(registry, "tvsync_req_seconds", "x", "operation", buckets, 1);
    prom_histogram_observe(h, (const char *[]){"query"}, 0.5);
    char *text = render(registry);
    ck_assert_ptr_nonnull(strstr(text, "tvsync_req_seconds_bucket{operation=\"query\",le=\"1\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "tvsync_req_seconds_count{operation=\"query\"} 1\n"));
    free(text);
    prom_registry_free(registry);
}
END_TEST

START_TEST(test_declaring_twice_returns_the_same_metric)
{
    prom_registry *registry = prom_registry_new();
    prom_metric *a = prom_counter(registry, "tvsync_a_total", "a", NULL);
    prom_metric *b = prom_counter(registry, "tvsync_a_total", "a", NULL);
    ck_assert_ptr_eq(a, b);
    prom_inc(a);
    prom_inc(b);
    char *text = render(registry);
    ck_assert_ptr_nonnull(strstr(text, "tvsync_a_total 2\n"));
    free(text);
    prom_registry_free(registry);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("prom");
    TCase *tc = tcase_create("prom");
    tcase_add_test(tc, test_counter_with_labels_renders_help_type_and_series);
    tcase_add_test(tc, test_label_values_and_help_are_escaped);
    tcase_add_test(tc, test_histogram_buckets_are_cumulative_with_inf_sum_and_count);
    tcase_add_test(tc, test_histogram_with_labels_puts_le_last);
    tcase_add_test(tc, test_declaring_twice_returns_the_same_metric);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
