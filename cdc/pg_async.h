/* pg_async: one non-blocking libpq connection driven by the libevent loop, in
 * pipeline mode: queries are sent at once, even while earlier ones run, and
 * their callbacks are called in order. No call here blocks. */
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
    char sqlstate[6];        /* the server's SQLSTATE when it raised the error, else "" */
} pg_async_outcome;

/* Called once per query, on the loop, in the order the queries were sent. It
 * may send more queries. When the connection is lost, only the oldest pending
 * query's callback is called (connection_lost); the others are dropped. */
typedef void (*pg_async_cb)(void *arg, const pg_async_outcome *outcome);

/* Takes ownership of conn (a connected, idle connection), switches it to
 * non-blocking pipeline mode and registers its socket on base. NULL on error
 * (logged). */
pg_async *pg_async_new(struct event_base *base, PGconn *conn, const char *name);

/* Sends sql (one statement) with text parameters, followed by a sync point,
 * so each query fails or succeeds on its own as without a pipeline (inside a
 * transaction block, a failure still aborts the block: later queries fail,
 * and a COMMIT then rolls back). Returns false (logged; no callback) when the
 * send failed: the connection is unusable. */
bool pg_async_send(pg_async *async, const char *sql, int param_count,
                   const char *const *param_values, pg_async_cb callback, void *arg);

/* Like pg_async_send, but through a named prepared statement, so the server
 * parses and plans sql once per connection instead of once per query: the
 * first use of a text prepares it in the same pipeline. For statements that run
 * again and again (the apply loop), not for one-offs. */
bool pg_async_send_prepared(pg_async *async, const char *sql, int param_count,
                            const char *const *param_values, pg_async_cb callback, void *arg);

/* Sync points deferred: the queries sent from now until the matching
 * pg_async_sync share one sync point, so the server answers them in one write
 * and libpq sends them in one (PQpipelineSync flushes). They then fail together:
 * after an error the later ones are not run (their callbacks get !ok, "not
 * run: ..."), and outside a transaction block they form one implicit
 * transaction. For statements inside a transaction block, where an error aborts
 * the block anyway. Calls nest; only the outermost pg_async_sync adds the
 * sync point. */
void pg_async_defer_sync(pg_async *async);

/* Ends a pg_async_defer_sync; the outermost adds the sync point after the
 * queries sent since and flushes. False (logged) when that failed: the
 * connection is unusable, and those queries get no callback. */
bool pg_async_sync(pg_async *async);

/* Whether any query is pending. */
bool pg_async_busy(const pg_async *async);
PGconn *pg_async_connection(pg_async *async);

/* Cancels nothing and waits for nothing: closes the connection (PQfinish) and
 * frees; pending callbacks are never called. */
void pg_async_free(pg_async *async);

#endif
