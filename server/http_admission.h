/* http_admission: what the HTTP servers (worker threads) of one process share to admit
 * connections at server.max_connections, and the parts of a refusal that need no connection.
 *
 * Contract:
 * - An http_admission is zeroed by its owner before the first server uses it and outlives
 *   every server using it; all functions taking one are thread-safe (atomics, no lock).
 * - The summary line is written by whoever calls http_admission_log_summary: server/http
 *   does it from a timer, HTTP_ADMISSION_LOG_SECONDS after the first event of an interval.
 * - Nothing here allocates after the first refusal; errors of send/recv on a refused socket
 *   are ignored (the client is gone or will see the connection close). */
#ifndef TVSYNC_SERVER_HTTP_ADMISSION_H
#define TVSYNC_SERVER_HTTP_ADMISSION_H

#include <stdatomic.h>

#include "common/prom.h"

#define HTTP_ADMISSION_LOG_SECONDS 10   /* refusals are summed up in one log line per interval */

typedef struct http_admission {
    atomic_int open;                  /* admitted connections over all sharing servers */
    atomic_llong refused_unlogged;    /* events not yet in a summary line: */
    atomic_llong idle_closed_unlogged;
    atomic_llong out_of_descriptors_unlogged;
    atomic_llong accept_paused_unlogged;
} http_admission;

typedef enum http_admission_event {
    HTTP_ADMISSION_REFUSED,               /* 503: every admitted connection busy */
    HTTP_ADMISSION_REFUSED_NO_DESCRIPTOR, /* 503 through the reserve descriptor (EMFILE) */
    HTTP_ADMISSION_IDLE_CLOSED,           /* an idle connection closed to admit a new one */
    HTTP_ADMISSION_ACCEPT_PAUSED,         /* no descriptor at all: accepting waits a moment */
} http_admission_event;

/* The message of the 503 a refused client gets. */
extern const char http_admission_refused_message[];

/* Counts event for the next summary line, and in metric (a counter without labels) when
 * not NULL. */
void http_admission_count(http_admission *admission, http_admission_event event, prom_metric *metric);

/* Logs the events counted since the last call as one line (a warning when clients were
 * refused, else info; nothing when there were none) and starts counting anew. */
void http_admission_log_summary(http_admission *admission, int max_connections);

/* Answers 503 (Retry-After: 1, Connection: close) on a freshly accepted socket that gets no
 * connection object, half-closes, discards what already arrived and closes fd. */
void http_admission_refuse_at_once(int fd);

/* Raises the soft RLIMIT_NOFILE to the hard limit (process-wide, the first call only) and
 * warns once when max_connections plus a margin for the pool and listeners does not fit. */
void http_admission_raise_descriptor_limit(int max_connections);

#endif
