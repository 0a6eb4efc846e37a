/* pg_pipeline: the one libpq pipeline driver: a non-blocking connection on a libevent
 * loop, statements sent at once and called back in order, each connection's prepared statements. */
#ifndef TVSYNC_COMMON_PG_PIPELINE_H
#define TVSYNC_COMMON_PG_PIPELINE_H

#include <stdbool.h>

#include <event2/event.h>
#include <libpq-fe.h>

typedef struct pg_pipeline pg_pipeline;

/* What a statement came to. The results are freed after the callback returns. */
typedef struct pg_pipeline_outcome {
    PGresult *result;        /* the last result when ok, else NULL */
    PGresult *error_result;  /* the failed result when the server raised the error, else NULL */
    bool ok;                 /* COMMAND_OK or TUPLES_OK */
    bool connection_lost;    /* the connection is gone: reconnect */
    bool not_run;            /* skipped: an earlier statement before the same sync point failed */
    char error[512];         /* one line when !ok ("message (SQLSTATE xxxxx)") */
    char sqlstate[6];        /* the server's SQLSTATE when it raised the error, else "" */
} pg_pipeline_outcome;

/* Called once per statement, on the loop, in the order the statements were sent. It
 * may send more statements, and may free the pipeline when connection_lost is set.
 * When the connection is lost, only the oldest pending statement's callback is called
 * (connection_lost); the others are dropped. */
typedef void (*pg_pipeline_cb)(void *arg, const pg_pipeline_outcome *outcome);

/* Called once when the connection is lost, whether or not statements were pending
 * (after the oldest one's callback). error is one line. It may free the pipeline. */
typedef void (*pg_pipeline_lost_cb)(void *arg, const char *error);

/* Called for each NOTIFY the connection receives. */
typedef void (*pg_pipeline_notify_cb)(void *arg, const char *channel, const char *payload);

/* Takes ownership of conn (a connected, idle connection), switches it to non-blocking
 * pipeline mode and registers its socket on base. name prefixes log lines. NULL on
 * error (logged; conn is closed). */
pg_pipeline *pg_pipeline_new(struct event_base *base, PGconn *conn, const char *name);

/* Optional. Without a lost callback a lost connection is noticed by the pending
 * statements (connection_lost) or by the next send (which returns false). */
void pg_pipeline_set_lost(pg_pipeline *pipeline, pg_pipeline_lost_cb callback, void *arg);
/* Optional. Without it notifications are dropped. */
void pg_pipeline_set_notify(pg_pipeline *pipeline, pg_pipeline_notify_cb callback, void *arg);

/* Sends sql (one statement) with text parameters, followed by a sync point, so each
 * statement fails or succeeds on its own as without a pipeline (inside a transaction
 * block, a failure still aborts the block: later statements fail, and a COMMIT then
 * rolls back). Returns false (logged; no callback) when the send failed: the
 * connection is unusable. */
bool pg_pipeline_send(pg_pipeline *pipeline, const char *sql, int param_count,
                      const char *const *param_values, pg_pipeline_cb callback, void *arg);

/* Like pg_pipeline_send, but through a prepared statement named after the text (the
 * same text is the same statement on this connection whatever the caller calls it):
 * the first use of a text prepares it in the same pipeline, so the server parses and
 * plans it once per connection. For statements that run again and again. */
bool pg_pipeline_send_prepared(pg_pipeline *pipeline, const char *sql, int param_count,
                               const char *const *param_values, pg_pipeline_cb callback, void *arg);

/* Sync points deferred: the statements sent from now until the matching
 * pg_pipeline_sync share one sync point, so the server answers them in one write and
 * libpq sends them in one (PQpipelineSync flushes). They then fail together: after an
 * error the later ones are not run (not_run, "not run: ..."), and outside a
 * transaction block they form one implicit transaction. Calls nest; only the
 * outermost pg_pipeline_sync adds the sync point. */
void pg_pipeline_defer_sync(pg_pipeline *pipeline);

/* Ends a pg_pipeline_defer_sync; the outermost adds the sync point after the
 * statements sent since and flushes. False (logged) when that failed: the connection
 * is unusable, and those statements get no callback. */
bool pg_pipeline_sync(pg_pipeline *pipeline);

/* Whether any statement is pending. */
bool pg_pipeline_busy(const pg_pipeline *pipeline);
/* The connection, still owned by the pipeline. */
PGconn *pg_pipeline_connection(pg_pipeline *pipeline);

/* Cancels nothing and waits for nothing: closes the connection (PQfinish) and frees;
 * pending callbacks are never called. NULL is ignored. */
void pg_pipeline_free(pg_pipeline *pipeline);

#endif
