/* log: leveled logging to stderr for every tvsync binary.
 * Under systemd (JOURNAL_STREAM set) each line carries a <N> priority prefix. */
#ifndef TVSYNC_COMMON_LOG_H
#define TVSYNC_COMMON_LOG_H

#include <stdbool.h>

typedef enum log_level {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARNING = 1,
    LOG_LEVEL_INFO = 2,
    LOG_LEVEL_DEBUG = 3,
} log_level;

/* Sets the program name printed on each line and detects the journal
 * (JOURNAL_STREAM) to choose between "<3>message" and "program: error: message". */
void log_init(const char *program);

/* Messages above `level` are dropped. Default: LOG_LEVEL_INFO. Thread-safe. */
void log_set_level(log_level level);
log_level log_get_level(void);

/* Parses "error", "warning", "info" or "debug" (case-insensitive).
 * Returns false and leaves *out untouched on anything else. */
bool log_level_parse(const char *text, log_level *out);
const char *log_level_name(log_level level);

/* Writes one line (a trailing newline is added; CR and LF inside the message become
 * spaces) to stderr with one write(2), retried on EINTR and short writes. Thread-safe
 * without a lock: lines shorter than PIPE_BUF never interleave on a pipe (the journal's
 * stream is one). Long messages are formatted on the heap (aborts on out of memory). */
void log_message(log_level level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_message(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_message(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_message(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_message(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
