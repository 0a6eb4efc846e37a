/* pg_async: a single-query-at-a-time state machine over a non-blocking libpq
 * connection, so the event loop never waits on the database. */
#include "config.h"

#include "cdc/pg_async.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/alloc.h"
#include "common/log.h"
#include "common/pg.h"

struct pg_async {
    PGconn *conn;
    char *name;
    struct event *read_event;
    struct event *write_event;
    bool busy;
    pg_async_cb callback;
    void *callback_arg;
    PGresult *last;           /* last result of the running query */
    PGresult *first_error;    /* first failed result of the running query */
    /* Prepared statements of this connection: statements[i] is named "tvsync_cdc_<i>". */
    char **statements;
    size_t statement_count, statement_capacity;
    /* While a statement is being prepared: its text and the execution to send after. */
    char *preparing;
    int pending_count;
    char **pending_values;
};

static void statement_name(size_t index, char *name, size_t size)
{
    snprintf(name, size, "tvsync_cdc_%zu", index);
}

static void pending_clear(pg_async *async)
{
    for (int i = 0; i < async->pending_count; i++)
        free(async->pending_values[i]);
    free(async->pending_values);
    async->pending_values = NULL;
    async->pending_count = 0;
    free(async->preparing);
    async->preparing = NULL;
}

static bool flush_after_send(pg_async *async)
{
    int flushed = PQflush(async->conn);
    if (flushed == 1)
        event_add(async->write_event, NULL);
    return flushed >= 0;
}

/* The statement async->preparing is now prepared: remember it and send the
 * execution the caller asked for. False when that send failed. */
static bool execute_prepared_pending(pg_async *async)
{
    if (async->statement_count == async->statement_capacity) {
        async->statement_capacity = async->statement_capacity ? 2 * async->statement_capacity : 16;
        async->statements = alloc_resize(async->statements, async->statement_capacity, sizeof *async->statements);
    }
    size_t index = async->statement_count++;
    async->statements[index] = async->preparing;
    async->preparing = NULL;
    char name[32];
    statement_name(index, name, sizeof name);
    bool sent = PQsendQueryPrepared(async->conn, name, async->pending_count,
                                    (const char *const *) async->pending_values, NULL, NULL, 0) &&
                flush_after_send(async);
    pending_clear(async);
    return sent;
}

static void finish_query(pg_async *async, bool connection_lost, const char *error_text)
{
    pg_async_outcome outcome;
    memset(&outcome, 0, sizeof outcome);
    outcome.connection_lost = connection_lost || PQstatus(async->conn) != CONNECTION_OK;
    if (async->first_error) {
        pg_error_line(async->conn, async->first_error, outcome.error, sizeof outcome.error);
    } else if (error_text) {
        snprintf(outcome.error, sizeof outcome.error, "%s", error_text);
    } else if (!async->last) {
        pg_error_line(async->conn, NULL, outcome.error, sizeof outcome.error);
    } else {
        outcome.ok = !outcome.connection_lost;
        outcome.result = async->last;
        if (!outcome.ok)
            snprintf(outcome.error, sizeof outcome.error, "connection lost");
    }
    if (async->preparing) {
        if (outcome.ok) {
            /* The statement exists now; the caller's query has not run yet. */
            PQclear(async->last);
            async->last = NULL;
            if (execute_prepared_pending(async))
                return;
            outcome.ok = false;
            outcome.connection_lost = PQstatus(async->conn) != CONNECTION_OK;
            pg_error_line(async->conn, NULL, outcome.error, sizeof outcome.error);
        }
        pending_clear(async);
    }
    pg_async_cb callback = async->callback;
    void *arg = async->callback_arg;
    PGresult *last = async->last, *first_error = async->first_error;
    async->busy = false;
    async->callback = NULL;
    async->last = NULL;
    async->first_error = NULL;
    if (callback)
        callback(arg, &outcome);
    PQclear(last);
    PQclear(first_error);
}

static void collect_results(pg_async *async)
{
    while (async->busy && !PQisBusy(async->conn)) {
        PGresult *result = PQgetResult(async->conn);
        if (!result) {
            finish_query(async, false, NULL);
            return;
        }
        ExecStatusType status = PQresultStatus(result);
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
            PQclear(async->last);
            async->last = result;
        } else if (!async->first_error) {
            async->first_error = result;
        } else {
            PQclear(result);
        }
        if (PQstatus(async->conn) != CONNECTION_OK) {
            finish_query(async, true, "connection lost");
            return;
        }
    }
}

static void read_cb(evutil_socket_t fd, short events, void *arg)
{
    pg_async *async = arg;
    if (!PQconsumeInput(async->conn)) {
        if (async->busy)
            finish_query(async, true, NULL);
        return;
    }
    /* Notifications and notices are not ours to keep. */
    PGnotify *notify;
    while ((notify = PQnotifies(async->conn)) != NULL)
        PQfreemem(notify);
    collect_results(async);
}

static void write_cb(evutil_socket_t fd, short events, void *arg)
{
    pg_async *async = arg;
    int flushed = PQflush(async->conn);
    if (flushed == 1) {
        event_add(async->write_event, NULL);
    } else if (flushed < 0 && async->busy) {
        finish_query(async, true, NULL);
    }
}

pg_async *pg_async_new(struct event_base *base, PGconn *conn, const char *name)
{
    if (PQsetnonblocking(conn, 1) != 0) {
        log_error("%s: cannot switch the connection to non-blocking mode: %s", name, PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    pg_async *async = alloc_zeroed(1, sizeof *async);
    async->conn = conn;
    async->name = alloc_string(name);
    async->read_event = event_new(base, PQsocket(conn), EV_READ | EV_PERSIST, read_cb, async);
    async->write_event = event_new(base, PQsocket(conn), EV_WRITE, write_cb, async);
    if (!async->read_event || !async->write_event || event_add(async->read_event, NULL) != 0) {
        log_error("%s: cannot register the connection's socket", name);
        pg_async_free(async);
        return NULL;
    }
    return async;
}

bool pg_async_send(pg_async *async, const char *sql, int param_count,
                   const char *const *param_values, pg_async_cb callback, void *arg)
{
    if (async->busy) {
        log_error("%s: a query is already running", async->name);
        return false;
    }
    if (!PQsendQueryParams(async->conn, sql, param_count, NULL, param_values, NULL, NULL, 0)) {
        char line[512];
        log_warning("%s: cannot send a query: %s", async->name, pg_error_line(async->conn, NULL, line, sizeof line));
        return false;
    }
    async->busy = true;
    async->callback = callback;
    async->callback_arg = arg;
    int flushed = PQflush(async->conn);
    if (flushed == 1)
        event_add(async->write_event, NULL);
    else if (flushed < 0) {
        async->busy = false;
        async->callback = NULL;
        log_warning("%s: cannot send a query: %s", async->name, PQerrorMessage(async->conn));
        return false;
    }
    return true;
}

bool pg_async_send_prepared(pg_async *async, const char *sql, int param_count,
                            const char *const *param_values, pg_async_cb callback, void *arg)
{
    if (async->busy) {
        log_error("%s: a query is already running", async->name);
        return false;
    }
    size_t index = 0;
    while (index < async->statement_count && strcmp(async->statements[index], sql) != 0)
        index++;
    char name[32];
    statement_name(index, name, sizeof name);
    bool sent;
    if (index < async->statement_count) {
        sent = PQsendQueryPrepared(async->conn, name, param_count, param_values, NULL, NULL, 0);
    } else {
        /* Prepare first (a failure reaches the callback like a failed query);
         * the values are copied: the caller may reuse its buffers at once. */
        sent = PQsendPrepare(async->conn, name, sql, param_count, NULL);
        if (sent) {
            async->preparing = alloc_string(sql);
            async->pending_count = param_count;
            async->pending_values = alloc_zeroed(param_count > 0 ? (size_t) param_count : 1, sizeof (char *));
            for (int i = 0; i < param_count; i++)
                async->pending_values[i] = param_values[i] ? alloc_string(param_values[i]) : NULL;
        }
    }
    if (!sent) {
        char line[512];
        log_warning("%s: cannot send a query: %s", async->name, pg_error_line(async->conn, NULL, line, sizeof line));
        return false;
    }
    async->busy = true;
    async->callback = callback;
    async->callback_arg = arg;
    if (!flush_after_send(async)) {
        async->busy = false;
        async->callback = NULL;
        pending_clear(async);
        log_warning("%s: cannot send a query: %s", async->name, PQerrorMessage(async->conn));
        return false;
    }
    return true;
}

bool pg_async_busy(const pg_async *async)
{
    return async->busy;
}

PGconn *pg_async_connection(pg_async *async)
{
    return async->conn;
}

void pg_async_free(pg_async *async)
{
    if (!async)
        return;
    if (async->read_event)
        event_free(async->read_event);
    if (async->write_event)
        event_free(async->write_event);
    PQclear(async->last);
    PQclear(async->first_error);
    pending_clear(async);
    for (size_t i = 0; i < async->statement_count; i++)
        free(async->statements[i]);
    free(async->statements);
    PQfinish(async->conn);
    free(async->name);
    free(async);
}
