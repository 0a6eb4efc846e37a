/* pg_async: one non-blocking libpq connection driven by the libevent loop:
 * send one query at a time, get its result in a callback. No call here blocks
 * (PQsendQueryParams, PQconsumeInput, PQflush on socket readiness). */
#ifndef TVSYNC_CDC_PG_ASYNC_H
#define TVSYNC_CDC_PG_ASYNC_H

#include <stdbool.h>

#include <event2/event.h>
#include <libpq-fe.h>

typedef struct pg_async pg_async;

/* What a query came to. result is the last result of the query (NULL on
 * error); it is freed after the callback returns. */
typedef struct pg_async_outcome {
    PGresult *result;
    bool ok;                 /* COMMAND_OK or TUPLES_OK */
    bool connection_lost;    /* the connection is gone: reconnect */
    char error[512];         /* one line when !ok */
} pg_async_outcome;

/* Called once per query, on the loop. It may send the next query. */
typedef void (*pg_async_cb)(void *arg, const pg_async_outcome *outcome);

/* Takes ownership of conn (a connected, idle connection), switches it to
 * non-blocking mode and registers its socket on base. NULL on error (logged). */
pg_async *pg_async_new(struct event_base *base, PGconn *conn, const char *name);

/* Sends sql with text parameters. Returns false (and calls nothing) when a
 * query is already running or the send failed; the reason is logged. */
bool pg_async_send(pg_async *async, const char *sql, int param_count,
                   const char *const *param_values, pg_async_cb callback, void *arg);

/* Like pg_async_send, but through a named prepared statement, so the server
 * parses and plans sql once per connection instead of once per query. The
 * first use of a text prepares it (one more round trip, invisible to the
 * caller: parameter values are copied); later uses only execute. For
 * statements that run again and again (the apply loop), not for one-offs. */
bool pg_async_send_prepared(pg_async *async, const char *sql, int param_count,
                            const char *const *param_values, pg_async_cb callback, void *arg);

bool pg_async_busy(const pg_async *async);
PGconn *pg_async_connection(pg_async *async);

/* Cancels nothing and waits for nothing: closes the connection (PQfinish) and
 * frees; a pending callback is never called. */
void pg_async_free(pg_async *async);

#endif
