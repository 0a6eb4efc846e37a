/* log: leveled logging to stderr; systemd priority prefixes under the journal.
 * One write(2)-sized line per message so threads never interleave. */
#include <config.h>

#include "common/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *log_program = "tvsync";
static atomic_int log_threshold = LOG_LEVEL_INFO;
static bool log_to_journal;
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;

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

void log_message(log_level level, const char *format, ...)
{
    if ((int) level > atomic_load(&log_threshold))
        return;

    char text[2048];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    /* One message, one line: the journal and grep both depend on it. */
    for (char *p = text; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';

    pthread_mutex_lock(&log_mutex);
    if (log_to_journal) {
        fprintf(stderr, "<%d>%s\n", journal_priorities[level], text);
    } else {
        char stamp[32];
        struct timespec now;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, now.tv_nsec / 1000000L, log_program,
                level_names[level], text);
    }
    fflush(stderr);
    pthread_mutex_unlock(&log_mutex);
}
