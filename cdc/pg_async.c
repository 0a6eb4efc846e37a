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

/* One query between two sync points: an optional Parse (a statement prepared
 * on first use), the execution, the Sync. */
typedef struct pending {
    pg_async_cb callback;
    void *arg;
    long prepared_index;      /* statement this query prepares, -1: none */
    int results;              /* results seen so far */
    int first_error_at;       /* results when the first error came (1: the Parse, if any) */
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
        /* The Parse itself failed: the statement does not exist. */
        if (entry.prepared_index >= 0 && entry.first_error_at == 1) {
            free(async->statements[entry.prepared_index]);
            async->statements[entry.prepared_index] = NULL;
        }
    } else if (outcome.connection_lost) {
        snprintf(outcome.error, sizeof outcome.error, "%s", error_text ? error_text : "connection lost");
    } else if (!entry.last) {
        pg_error_line(async->conn, NULL, outcome.error, sizeof outcome.error);
    } else {
        outcome.ok = true;
        outcome.result = entry.last;
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
            /* the end of one query's results; its sync point follows */
            if (PQstatus(async->conn) != CONNECTION_OK) {
                finish_head(async, true, NULL);
                return;
            }
            if (++nulls > 1)
                return;   /* nothing more now: libpq is idle */
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
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
            PQclear(entry->last);
            entry->last = result;
        } else if (status == PGRES_PIPELINE_ABORTED || entry->first_error) {
            PQclear(result);   /* skipped after an earlier error of the same query */
        } else {
            entry->first_error = result;
            entry->first_error_at = entry->results;
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

/* Queues the callback of a query whose messages are sent, adds the sync point
 * and flushes what the socket takes. */
static bool sent(pg_async *async, long prepared_index, pg_async_cb callback, void *arg)
{
    if (!PQpipelineSync(async->conn))
        return send_failed(async);
    pending *entry = queue_push(async);
    entry->callback = callback;
    entry->arg = arg;
    entry->prepared_index = prepared_index;
    int flushed = PQflush(async->conn);
    if (flushed == 1)
        event_add(async->write_event, NULL);
    else if (flushed < 0) {
        log_warning("%s: cannot send a query: %s", async->name, PQerrorMessage(async->conn));
        /* the loss reaches this and earlier queries through the read event */
    }
    return true;
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
