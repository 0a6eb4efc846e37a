/* pg_async: a pipeline of queries over a non-blocking libpq connection, so the
 * event loop never waits on the database and a chain of statements costs one
 * round trip instead of one per statement. */
#include "config.h"

#include "cdc/pg_async.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/pg.h"

/* One query: an optional Parse (a statement prepared on first use), the
 * execution, and the sync point when one follows it. libpq ends the results
 * of each of those commands with a NULL; a sync point has a result of its own. */
typedef struct pending {
    pg_async_cb callback;
    void *arg;
    long prepared_index;      /* statement this query prepares, -1: none */
    int commands;             /* 2 with a Parse, else 1 */
    int ended;                /* commands whose results have ended */
    bool sync;                /* a sync point follows this query */
    bool aborted;             /* skipped: an earlier query before the same sync point failed */
    bool parse_failed;        /* its Parse failed or was skipped: the statement does not exist */
    int results;              /* results seen so far */
    PGresult *last;           /* last successful result */
    PGresult *first_error;    /* first failed result */
} pending;

struct pg_async {
    PGconn *conn;
    char *name;
    struct event *read_event;
    struct event *write_event;
    pending *queue;           /* ring buffer of the queries in flight, oldest at head */
    size_t head, count, capacity;
    int defer_depth;          /* > 0: queries share the sync point pg_async_sync adds */
    size_t unsynced;          /* queries at the tail of the queue without a sync point yet */
    /* Prepared statements of this connection: statements[i] is named
     * "tvsync_cdc_<i>"; NULL when its preparation failed. */
    char **statements;
    size_t statement_count, statement_capacity;
};

/* A send failed: the connection is unusable (the read event reports it). */
static bool send_failed(pg_async *async)
{
    char line[512];
    log_warning("%s: cannot send a query: %s", async->name, pg_error_line(async->conn, NULL, line, sizeof line));
    return false;
}

static void statement_name(size_t index, char *name, size_t size)
{
    snprintf(name, size, "tvsync_cdc_%zu", index);
}

static pending *queue_push(pg_async *async)
{
    if (async->count == async->capacity) {
        size_t capacity = async->capacity ? 2 * async->capacity : 16;
        pending *queue = alloc_calloc(capacity, sizeof *queue);
        for (size_t i = 0; i < async->count; i++)
            queue[i] = async->queue[(async->head + i) % async->capacity];
        free(async->queue);
        async->queue = queue;
        async->head = 0;
        async->capacity = capacity;
    }
    pending *entry = &async->queue[(async->head + async->count++) % async->capacity];
    memset(entry, 0, sizeof *entry);
    entry->prepared_index = -1;
    return entry;
}

static void pending_clear(pending *entry)
{
    PQclear(entry->last);
    PQclear(entry->first_error);
    entry->last = entry->first_error = NULL;
}

/* Drops every pending query without calling back. */
static void queue_clear(pg_async *async)
{
    for (size_t i = 0; i < async->count; i++)
        pending_clear(&async->queue[(async->head + i) % async->capacity]);
    async->count = 0;
    async->head = 0;
}

/* The oldest query is complete (its sync point arrived) or the connection is
 * gone: call it back. On a lost connection the others are dropped. */
static void finish_head(pg_async *async, bool connection_lost, const char *error_text)
{
    pending entry = async->queue[async->head];
    async->head = (async->head + 1) % async->capacity;
    async->count--;
    pg_async_outcome outcome;
    memset(&outcome, 0, sizeof outcome);
    outcome.connection_lost = connection_lost || PQstatus(async->conn) != CONNECTION_OK;
    if (entry.first_error) {
        pg_error_line(async->conn, entry.first_error, outcome.error, sizeof outcome.error);
        const char *sqlstate = PQresultErrorField(entry.first_error, PG_DIAG_SQLSTATE);
        snprintf(outcome.sqlstate, sizeof outcome.sqlstate, "%s", sqlstate ? sqlstate : "");
    } else if (outcome.connection_lost) {
        snprintf(outcome.error, sizeof outcome.error, "%s", error_text ? error_text : "connection lost");
    } else if (entry.aborted) {
        snprintf(outcome.error, sizeof outcome.error,
                 "not run: an earlier statement sent with it (before the same sync point) failed");
    } else if (!entry.last) {
        pg_error_line(async->conn, NULL, outcome.error, sizeof outcome.error);
    } else {
        outcome.ok = true;
        outcome.result = entry.last;
    }
    if (entry.parse_failed) {
        free(async->statements[entry.prepared_index]);
        async->statements[entry.prepared_index] = NULL;
    }
    if (outcome.connection_lost)
        queue_clear(async);
    if (entry.callback)
        entry.callback(entry.arg, &outcome);
    pending_clear(&entry);
}

static void collect_results(pg_async *async)
{
    int nulls = 0;
    while (async->count > 0 && !PQisBusy(async->conn)) {
        PGresult *result = PQgetResult(async->conn);
        pending *entry = &async->queue[async->head];
        if (!result) {
            if (PQstatus(async->conn) != CONNECTION_OK) {
                finish_head(async, true, NULL);
                return;
            }
            /* The end of one command's results. When every command of the
             * oldest query has ended, libpq is idle until its sync point. */
            if (++nulls > 1 || entry->ended == entry->commands)
                return;
            if (++entry->ended == entry->commands && !entry->sync)
                finish_head(async, false, NULL);
            continue;
        }
        nulls = 0;
        ExecStatusType status = PQresultStatus(result);
        if (status == PGRES_PIPELINE_SYNC) {
            PQclear(result);
            finish_head(async, false, NULL);
            continue;
        }
        entry->results++;
        if (entry->prepared_index >= 0 && entry->results == 1 && status != PGRES_COMMAND_OK)
            entry->parse_failed = true;
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
            PQclear(entry->last);
            entry->last = result;
        } else if (status == PGRES_PIPELINE_ABORTED) {
            /* skipped after an earlier error: of the same query, or of an
             * earlier one before the same sync point */
            if (!entry->first_error)
                entry->aborted = true;
            PQclear(result);
        } else if (entry->first_error) {
            PQclear(result);
        } else {
            entry->first_error = result;
        }
        if (PQstatus(async->conn) != CONNECTION_OK) {
            finish_head(async, true, "connection lost");
            return;
        }
    }
}

static void read_cb(evutil_socket_t fd, short events, void *arg)
{
    pg_async *async = arg;
    if (!PQconsumeInput(async->conn)) {
        if (async->count > 0)
            finish_head(async, true, NULL);
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
    } else if (flushed < 0 && async->count > 0) {
        finish_head(async, true, NULL);
    }
}

pg_async *pg_async_new(struct event_base *base, PGconn *conn, const char *name)
{
    if (PQsetnonblocking(conn, 1) != 0 || PQenterPipelineMode(conn) != 1) {
        log_error("%s: cannot switch the connection to non-blocking pipeline mode: %s", name, PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    pg_async *async = alloc_calloc(1, sizeof *async);
    async->conn = conn;
    async->name = alloc_strdup(name);
    async->read_event = event_new(base, PQsocket(conn), EV_READ | EV_PERSIST, read_cb, async);
    async->write_event = event_new(base, PQsocket(conn), EV_WRITE, write_cb, async);
    if (!async->read_event || !async->write_event || event_add(async->read_event, NULL) != 0) {
        log_error("%s: cannot register the connection's socket", name);
        pg_async_free(async);
        return NULL;
    }
    return async;
}

/* Adds the sync point after the queries sent without one and flushes what
 * the socket takes. */
static bool sync_point(pg_async *async)
{
    if (async->unsynced == 0)
        return true;
    if (!PQpipelineSync(async->conn)) {
        /* the connection is unusable: these queries get no callback */
        async->count -= async->unsynced;
        async->unsynced = 0;
        return send_failed(async);
    }
    async->queue[(async->head + async->count - 1) % async->capacity].sync = true;
    async->unsynced = 0;
    int flushed = PQflush(async->conn);
    if (flushed == 1)
        event_add(async->write_event, NULL);
    else if (flushed < 0) {
        log_warning("%s: cannot send a query: %s", async->name, PQerrorMessage(async->conn));
        /* the loss reaches this and earlier queries through the read event */
    }
    return true;
}

/* Queues the callback of a query whose messages are sent and, unless sync
 * points are deferred, adds its sync point. */
static bool sent(pg_async *async, long prepared_index, pg_async_cb callback, void *arg)
{
    pending *entry = queue_push(async);
    entry->callback = callback;
    entry->arg = arg;
    entry->prepared_index = prepared_index;
    entry->commands = prepared_index >= 0 ? 2 : 1;
    async->unsynced++;
    return async->defer_depth > 0 ? true : sync_point(async);
}

void pg_async_defer_sync(pg_async *async)
{
    async->defer_depth++;
}

bool pg_async_sync(pg_async *async)
{
    if (async->defer_depth > 0 && --async->defer_depth > 0)
        return true;
    return sync_point(async);
}

bool pg_async_send(pg_async *async, const char *sql, int param_count,
                   const char *const *param_values, pg_async_cb callback, void *arg)
{
    if (!PQsendQueryParams(async->conn, sql, param_count, NULL, param_values, NULL, NULL, 0))
        return send_failed(async);
    return sent(async, -1, callback, arg);
}

bool pg_async_send_prepared(pg_async *async, const char *sql, int param_count,
                            const char *const *param_values, pg_async_cb callback, void *arg)
{
    size_t index = 0;
    while (index < async->statement_count && !(async->statements[index] && strcmp(async->statements[index], sql) == 0))
        index++;
    char name[32];
    statement_name(index, name, sizeof name);
    long prepared_index = -1;
    if (index == async->statement_count) {
        /* First use: Parse in the same pipeline, just before the execution. */
        if (!PQsendPrepare(async->conn, name, sql, param_count, NULL))
            return send_failed(async);
        if (async->statement_count == async->statement_capacity) {
            async->statement_capacity = async->statement_capacity ? 2 * async->statement_capacity : 16;
            async->statements = alloc_array(async->statements, async->statement_capacity, sizeof *async->statements);
        }
        async->statements[async->statement_count++] = alloc_strdup(sql);
        prepared_index = (long) index;
    }
    if (!PQsendQueryPrepared(async->conn, name, param_count, param_values, NULL, NULL, 0))
        return send_failed(async);
    return sent(async, prepared_index, callback, arg);
}

bool pg_async_busy(const pg_async *async)
{
    return async->count > 0;
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
    queue_clear(async);
    free(async->queue);
    for (size_t i = 0; i < async->statement_count; i++)
        free(async->statements[i]);
    free(async->statements);
    PQfinish(async->conn);
    free(async->name);
    free(async);
}
