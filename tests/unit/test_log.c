/* test_log: common/log writes each message as one whole line in its documented format,
 * read back from a pipe put in place of stderr. */
#include <config.h>

#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

static int saved_stderr = -1;
static int pipe_read = -1;

/* Points stderr at a fresh pipe whose read end is pipe_read. */
static void capture_start(void)
{
    int pipe_fds[2];
    ck_assert_int_eq(pipe(pipe_fds), 0);
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    ck_assert_int_ge(saved_stderr, 0);
    ck_assert_int_ge(dup2(pipe_fds[1], STDERR_FILENO), 0);
    close(pipe_fds[1]);
    pipe_read = pipe_fds[0];
}

/* Restores stderr and returns everything written to the pipe (the caller frees it). */
static char *capture_end(size_t *length)
{
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    size_t capacity = 1 << 16, used = 0;
    char *data = malloc(capacity + 1);
    ck_assert_ptr_nonnull(data);
    for (;;) {
        if (used == capacity) {
            capacity *= 2;
            data = realloc(data, capacity + 1);
            ck_assert_ptr_nonnull(data);
        }
        ssize_t n = read(pipe_read, data + used, capacity - used);
        if (n <= 0)
            break;
        used += (size_t) n;
    }
    close(pipe_read);
    data[used] = '\0';
    *length = used;
    return data;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "2026-01-02T03:04:05.678Z " */
static bool starts_with_timestamp(const char *line)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ ";
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd' ? !is_digit(line[i]) : line[i] != shape[i])
            return false;
    }
    return true;
}

START_TEST(test_line_has_timestamp_program_level_and_one_newline)
{
    unsetenv("JOURNAL_STREAM");
    log_init("/usr/bin/tvsync-test");
    log_set_level(LOG_LEVEL_INFO);
    capture_start();
    log_warning("slot %s at %d\nsecond\rthird", "tvsync", 42);
    log_debug("dropped below the level");
    size_t length;
    char *out = capture_end(&length);
    ck_assert_msg(starts_with_timestamp(out), "%s", out);
    ck_assert_str_eq(out + 25, "tvsync-test warning: slot tvsync at 42 second third\n");
    free(out);
}
END_TEST

START_TEST(test_journal_line_has_priority_prefix)
{
    setenv("JOURNAL_STREAM", "8:1234", 1);
    log_init("tvsync-test");
    log_set_level(LOG_LEVEL_DEBUG);
    capture_start();
    log_error("broken");
    log_info("fine");
    log_debug("detail");
    size_t length;
    char *out = capture_end(&length);
    ck_assert_str_eq(out, "<3>broken\n<6>fine\n<7>detail\n");
    free(out);
    unsetenv("JOURNAL_STREAM");
}
END_TEST

START_TEST(test_long_message_is_written_whole)
{
    setenv("JOURNAL_STREAM", "8:1234", 1);
    log_init("tvsync-test");
    log_set_level(LOG_LEVEL_INFO);
    static char text[10001];
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    capture_start();
    log_info("%s|end", text);
    size_t length;
    char *out = capture_end(&length);
    ck_assert_uint_eq(length, 3 + 10000 + 4 + 1);
    ck_assert(strncmp(out, "<6>xxx", 6) == 0);
    ck_assert_str_eq(out + length - 5, "|end\n");
    free(out);
    unsetenv("JOURNAL_STREAM");
}
END_TEST

#define THREADS 4
#define LINES_PER_THREAD 100

static void *log_lines(void *arg)
{
    int thread = (int) (long) arg;
    for (int i = 0; i < LINES_PER_THREAD; i++)
        log_info("thread %d line %03d %s", thread, i, "------------------------------------------------------------");
    return NULL;
}

START_TEST(test_lines_from_threads_never_interleave)
{
    setenv("JOURNAL_STREAM", "8:1234", 1);
    log_init("tvsync-test");
    log_set_level(LOG_LEVEL_INFO);
    capture_start();
    pthread_t threads[THREADS];
    for (long t = 0; t < THREADS; t++)
        ck_assert_int_eq(pthread_create(&threads[t], NULL, log_lines, (void *) t), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    size_t length;
    char *out = capture_end(&length);
    int seen[THREADS] = {0};
    int lines = 0;
    for (char *line = out, *end; *line; line = end + 1) {
        end = strchr(line, '\n');
        ck_assert_ptr_nonnull(end);
        *end = '\0';
        int thread, number;
        char dashes[128];
        ck_assert_msg(sscanf(line, "<6>thread %d line %d %127s", &thread, &number, dashes) == 3, "%s", line);
        ck_assert_int_eq(number, seen[thread]++); /* each thread's lines arrive whole and in order */
        ck_assert_uint_eq(strlen(dashes), 60);
        lines++;
    }
    ck_assert_int_eq(lines, THREADS * LINES_PER_THREAD);
    free(out);
    unsetenv("JOURNAL_STREAM");
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("log");
    TCase *lines = tcase_create("lines");
    tcase_add_test(lines, test_line_has_timestamp_program_level_and_one_newline);
    tcase_add_test(lines, test_journal_line_has_priority_prefix);
    tcase_add_test(lines, test_long_message_is_written_whole);
    tcase_add_test(lines, test_lines_from_threads_never_interleave);
    suite_add_tcase(suite, lines);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
