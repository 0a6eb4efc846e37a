/* log: leveled logging to stderr; systemd priority prefixes under the journal.
 * Each message is one line, written with one write(2) so threads never interleave. */
#include <config.h>

#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"

#define LOG_LINE_STACK 2048 /* longer lines are formatted on the heap */

static const char *log_program = "tvsync";
static atomic_int log_threshold = LOG_LEVEL_INFO;
static bool log_to_journal;

static const char *const level_names[] = {"error", "warning", "info", "debug"};
/* sd-daemon.h priorities: err=3, warning=4, info=6, debug=7. */
static const int journal_priorities[] = {3, 4, 6, 7};

void log_init(const char *program)
{
    const char *slash = strrchr(program, '/');
    log_program = slash ? slash + 1 : program;
    /* systemd sets JOURNAL_STREAM when stderr is connected to the journal. */
    log_to_journal = getenv("JOURNAL_STREAM") != NULL;
}

void log_set_level(log_level level)
{
    atomic_store(&log_threshold, (int) level);
}

log_level log_get_level(void)
{
    return (log_level) atomic_load(&log_threshold);
}

bool log_level_parse(const char *text, log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcasecmp(text, level_names[i]) == 0) {
            *out = (log_level) i;
            return true;
        }
    }
    return false;
}

const char *log_level_name(log_level level)
{
    if ((int) level < 0 || (size_t) level >= sizeof level_names / sizeof level_names[0])
        return "unknown";
    return level_names[level];
}

/* Writes all of data to stderr: a short write or a signal does not lose the rest. */
static void write_all(const char *data, size_t length)
{
    while (length > 0) {
        ssize_t written = write(STDERR_FILENO, data, length);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report it */
        }
        data += written;
        length -= (size_t) written;
    }
}

/* The line's prefix: "<3>" for the journal, else "2026-01-02T03:04:05.678Z program error: ". */
static int format_prefix(char *out, size_t size, log_level level)
{
    if (log_to_journal)
        return snprintf(out, size, "<%d>", journal_priorities[level]);
    char stamp[32];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    return snprintf(out, size, "%s.%03ldZ %s %s: ", stamp, now.tv_nsec / 1000000L, log_program,
                    level_names[level]);
}

void log_message(log_level level, const char *format, ...)
{
    if ((int) level > atomic_load(&log_threshold))
        return;

    /* The whole line is formatted first and leaves in one write(2): no lock is shared
     * between threads (a stalled journal would stall every thread behind it), and a line
     * shorter than PIPE_BUF reaches a pipe whole, never interleaved with another. */
    char small[LOG_LINE_STACK];
    char *line = small;
    size_t capacity = sizeof small;
    size_t prefix = (size_t) format_prefix(line, capacity, level);
    if (prefix >= capacity)
        prefix = capacity - 1;
    va_list args;
    va_start(args, format);
    va_list again;
    va_copy(again, args);
    int length = vsnprintf(line + prefix, capacity - prefix, format, args);
    va_end(args);
    if (length < 0)
        length = 0;
    if (prefix + (size_t) length + 1 >= capacity) {
        capacity = prefix + (size_t) length + 2;
        line = alloc_malloc(capacity);
        memcpy(line, small, prefix);
        vsnprintf(line + prefix, capacity - prefix, format, again);
    }
    va_end(again);
    char *end = line + prefix + length;
    /* One message, one line: the journal and grep both depend on it. */
    for (char *p = line + prefix; p < end; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    *end++ = '\n';
    write_all(line, (size_t) (end - line));
    if (line != small)
        free(line);
}
