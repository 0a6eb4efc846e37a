/* pg_pipeline: statements pipelined over a non-blocking libpq connection, so the event
 * loop never waits on the database and a chain of statements costs one round trip. */
#include <config.h>

#include "common/pg_pipeline.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/pg.h"

/* One statement: an optional Parse (a statement prepared on first use), the execution,
 * and the sync point when one follows it. libpq ends the results of each of those
 * commands with a NULL; a sync point has a result of its own. */
typedef struct pending {
    pg_pipeline_cb callback;
    void *arg;
    long prepared_index;      /* statement this one prepares, -1: none */
    int commands;             /* 2 with a Parse, else 1 */
    int ended;                /* commands whose results have ended */
    bool sync;                /* a sync point follows this statement */
    bool aborted;             /* skipped: an earlier statement before the same sync point failed */
    bool parse_failed;        /* its Parse failed or was skipped: the statement does not exist */
    int results;              /* results seen so far */
    PGresult *last;           /* last successful result */
    PGresult *first_error;    /* first failed result */
} pending;

/* A text prepared on this connection as "tvsync_s<index>". Entries never move, so a
 * pending Parse keeps its index; a failed Parse only clears prepared. */
typedef struct statement {
    char *text;
    uint64_t hash;
    bool prepared;
} statement;

struct pg_pipeline {
    PGconn *conn;
    char *name;
    struct event *read_event;
    struct event *write_event;
    bool lost;
    bool *alive;              /* set while callbacks run: cleared when freed under them */
    pending *queue;           /* ring buffer of the statements in flight, oldest at head */
    size_t head, count, capacity;
    int defer_depth;          /* > 0: statements share the sync point pg_pipeline_sync adds */
    size_t unsynced;          /* statements at the tail of the queue without a sync point yet */
    statement *statements;
    size_t statement_count, statement_capacity;
    int32_t *slots;           /* open addressing over statements: index, or -1 */
    size_t slot_count;        /* a power of two, at least twice statement_count */
    pg_pipeline_lost_cb lost_cb;
    void *lost_arg;
    pg_pipeline_notify_cb notify_cb;
    void *notify_arg;
};

/* Eight bytes a step: a text is hashed on every send, and apply statements run long. The
 * texts come from the program, not from clients, so no keyed hash is needed. */
static uint64_t text_hash(const char *text)
{
    size_t length = strlen(text);
    uint64_t hash = 0x9e3779b97f4a7c15ull ^ length;
    size_t i = 0;
    for (; i + 8 <= length; i += 8) {
        uint64_t word;
        memcpy(&word, text + i, 8);
        hash = (hash ^ word) * 0xff51afd7ed558ccdull;
        hash ^= hash >> 29;
    }
    uint64_t tail = 0;
    memcpy(&tail, text + i, length - i);
    hash = (hash ^ tail) * 0xc4ceb9fe1a85ec53ull;
    return hash ^ (hash >> 32);
}

static void slots_rebuild(pg_pipeline *p, size_t slot_count)
{
    free(p->slots);
    p->slots = alloc_array(NULL, slot_count, sizeof *p->slots);
    memset(p->slots, 0xff, slot_count * sizeof *p->slots);
    p->slot_count = slot_count;
    for (size_t i = 0; i < p->statement_count; i++) {
        size_t slot = (size_t) p->statements[i].hash & (slot_count - 1);
        while (p->slots[slot] >= 0)
            slot = (slot + 1) & (slot_count - 1);
        p->slots[slot] = (int32_t) i;
    }
}

/* The index of text's statement, added (not yet prepared) when new. */
static size_t statement_find(pg_pipeline *p, const char *text)
{
    uint64_t hash = text_hash(text);
    size_t slot = (size_t) hash & (p->slot_count - 1);
    for (; p->slots[slot] >= 0; slot = (slot + 1) & (p->slot_count - 1)) {
        const statement *s = &p->statements[p->slots[slot]];
        if (s->hash == hash && strcmp(s->text, text) == 0)
            return (size_t) p->slots[slot];
    }
    if (p->statement_count == p->statement_capacity) {
        p->statement_capacity = p->statement_capacity ? 2 * p->statement_capacity : 16;
        p->statements = alloc_array(p->statements, p->statement_capacity, sizeof *p->statements);
    }
    size_t index = p->statement_count++;
    p->statements[index] = (statement){alloc_strdup(text), hash, false};
    if (2 * p->statement_count > p->slot_count)
        slots_rebuild(p, 2 * p->slot_count);
    else
        p->slots[slot] = (int32_t) index;
    return index;
}

/* A send failed: the connection is unusable (the read event reports it). */
static bool send_failed(pg_pipeline *p)
{
    char line[512];
    log_warning("%s: cannot send a statement: %s", p->name, pg_error_line(p->conn, NULL, line, sizeof line));
    return false;
}

static pending *queue_push(pg_pipeline *p)
{
    if (p->count == p->capacity) {
        size_t capacity = p->capacity ? 2 * p->capacity : 16;
        pending *queue = alloc_calloc(capacity, sizeof *queue);
        for (size_t i = 0; i < p->count; i++)
            queue[i] = p->queue[(p->head + i) % p->capacity];
        free(p->queue);
        p->queue = queue;
        p->head = 0;
        p->capacity = capacity;
    }
    pending *entry = &p->queue[(p->head + p->count++) % p->capacity];
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

/* Drops every pending statement without calling back. */
static void queue_clear(pg_pipeline *p)
{
    for (size_t i = 0; i < p->count; i++)
        pending_clear(&p->queue[(p->head + i) % p->capacity]);
    p->count = 0;
    p->head = 0;
    p->unsynced = 0;
}

/* A callback may free p: while one runs, p->alive points at a flag that
 * pg_pipeline_free clears (and the flags of enclosing calls with it). */
static void guard_enter(pg_pipeline *p, bool *alive, bool **outer)
{
    *alive = true;
    *outer = p->alive;
    p->alive = alive;
}

/* Returns whether p still exists. */
static bool guard_leave(pg_pipeline *p, const bool *alive, bool *outer)
{
    if (*alive)
        p->alive = outer;
    else if (outer)
        *outer = false;
    return *alive;
}

static bool connection_lost(pg_pipeline *p, const char *reason);

/* The oldest statement is complete (its sync point arrived) or the connection is gone:
 * call it back. On a lost connection the others are dropped. Returns whether p still
 * exists. */
static bool finish_head(pg_pipeline *p, bool connection_lost_now, const char *error_text)
{
    if (!connection_lost_now && PQstatus(p->conn) != CONNECTION_OK)
        return connection_lost(p, NULL);
    pending entry = p->queue[p->head];
    p->head = (p->head + 1) % p->capacity;
    p->count--;
    pg_pipeline_outcome outcome;
    outcome.result = NULL;
    outcome.error_result = NULL;
    outcome.ok = false;
    outcome.not_run = false;
    outcome.error[0] = '\0';
    outcome.sqlstate[0] = '\0';
    outcome.connection_lost = connection_lost_now;
    if (entry.first_error) {
        pg_error_line(p->conn, entry.first_error, outcome.error, sizeof outcome.error);
        const char *sqlstate = PQresultErrorField(entry.first_error, PG_DIAG_SQLSTATE);
        snprintf(outcome.sqlstate, sizeof outcome.sqlstate, "%s", sqlstate ? sqlstate : "");
        outcome.error_result = entry.first_error;
    } else if (outcome.connection_lost) {
        snprintf(outcome.error, sizeof outcome.error, "%s", error_text ? error_text : "connection lost");
    } else if (entry.aborted) {
        outcome.not_run = true;
        snprintf(outcome.error, sizeof outcome.error,
                 "not run: an earlier statement sent with it (before the same sync point) failed");
    } else if (!entry.last) {
        pg_error_line(p->conn, NULL, outcome.error, sizeof outcome.error);
    } else {
        outcome.ok = true;
        outcome.result = entry.last;
    }
    if (entry.parse_failed)
        p->statements[entry.prepared_index].prepared = false;
    if (outcome.connection_lost)
        queue_clear(p);
    bool alive = true, *outer;
    if (entry.callback) {
        guard_enter(p, &alive, &outer);
        entry.callback(entry.arg, &outcome);
        guard_leave(p, &alive, outer);
    }
    pending_clear(&entry);
    return alive;
}

/* The connection is gone: its socket leaves the loop at once (libpq may have closed it,
 * and the descriptor may be reused), the oldest pending statement and the lost
 * callback hear of it. Returns whether p still exists. */
static bool connection_lost(pg_pipeline *p, const char *reason)
{
    if (p->lost)
        return true;
    p->lost = true;
    event_del(p->read_event);
    event_del(p->write_event);
    char error[512];
    if (reason)
        snprintf(error, sizeof error, "%s", reason);
    else
        pg_error_line(p->conn, NULL, error, sizeof error);
    if (p->count > 0 && !finish_head(p, true, error))
        return false;
    bool alive = true, *outer;
    if (p->lost_cb) {
        guard_enter(p, &alive, &outer);
        p->lost_cb(p->lost_arg, error);
        guard_leave(p, &alive, outer);
    }
    return alive;
}

static void collect_results(pg_pipeline *p)
{
    int nulls = 0;
    while (p->count > 0 && !PQisBusy(p->conn)) {
        PGresult *result = PQgetResult(p->conn);
        pending *entry = &p->queue[p->head];
        if (!result) {
            if (PQstatus(p->conn) != CONNECTION_OK) {
                connection_lost(p, NULL);
                return;
            }
            /* The end of one command's results. When every command of the oldest
             * statement has ended, libpq is idle until its sync point. */
            if (++nulls > 1 || entry->ended == entry->commands)
                return;
            if (++entry->ended == entry->commands && !entry->sync && !finish_head(p, false, NULL))
                return;
            continue;
        }
        nulls = 0;
        ExecStatusType status = PQresultStatus(result);
        if (status == PGRES_PIPELINE_SYNC) {
            PQclear(result);
            if (!finish_head(p, false, NULL))
                return;
            continue;
        }
        entry->results++;
        if (entry->prepared_index >= 0 && entry->results == 1 && status != PGRES_COMMAND_OK)
            entry->parse_failed = true;
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
            PQclear(entry->last);
            entry->last = result;
        } else if (status == PGRES_PIPELINE_ABORTED) {
            /* skipped after an earlier error: of the same statement, or of an earlier
             * one before the same sync point */
            if (!entry->first_error)
                entry->aborted = true;
            PQclear(result);
        } else if (entry->first_error) {
            PQclear(result);
        } else {
            entry->first_error = result;
        }
        if (PQstatus(p->conn) != CONNECTION_OK) {
            connection_lost(p, "connection lost");
            return;
        }
    }
}

static void read_cb(evutil_socket_t fd, short events, void *arg)
{
    pg_pipeline *p = arg;
    if (!PQconsumeInput(p->conn) || PQstatus(p->conn) != CONNECTION_OK) {
        connection_lost(p, NULL);
        return;
    }
    PGnotify *notify;
    while ((notify = PQnotifies(p->conn)) != NULL) {
        bool alive = true, *outer;
        if (p->notify_cb) {
            guard_enter(p, &alive, &outer);
            p->notify_cb(p->notify_arg, notify->relname, notify->extra);
            guard_leave(p, &alive, outer);
        }
        PQfreemem(notify);
        if (!alive)
            return;
    }
    collect_results(p);
}

static void write_cb(evutil_socket_t fd, short events, void *arg)
{
    pg_pipeline *p = arg;
    int flushed = PQflush(p->conn);
    if (flushed == 1)
        event_add(p->write_event, NULL);
    else if (flushed < 0)
        connection_lost(p, NULL);
}

pg_pipeline *pg_pipeline_new(struct event_base *base, PGconn *conn, const char *name)
{
    if (PQsetnonblocking(conn, 1) != 0 || PQenterPipelineMode(conn) != 1) {
        log_error("%s: cannot switch the connection to non-blocking pipeline mode: %s", name, PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    pg_pipeline *p = alloc_calloc(1, sizeof *p);
    p->conn = conn;
    p->name = alloc_strdup(name);
    slots_rebuild(p, 32);
    p->read_event = event_new(base, PQsocket(conn), EV_READ | EV_PERSIST, read_cb, p);
    p->write_event = event_new(base, PQsocket(conn), EV_WRITE, write_cb, p);
    if (!p->read_event || !p->write_event || event_add(p->read_event, NULL) != 0) {
        log_error("%s: cannot register the connection's socket", name);
        pg_pipeline_free(p);
        return NULL;
    }
    return p;
}

void pg_pipeline_set_lost(pg_pipeline *p, pg_pipeline_lost_cb callback, void *arg)
{
    p->lost_cb = callback;
    p->lost_arg = arg;
}

void pg_pipeline_set_notify(pg_pipeline *p, pg_pipeline_notify_cb callback, void *arg)
{
    p->notify_cb = callback;
    p->notify_arg = arg;
}

/* Adds the sync point after the statements sent without one and flushes what the
 * socket takes. */
static bool sync_point(pg_pipeline *p)
{
    if (p->unsynced == 0)
        return true;
    if (!PQpipelineSync(p->conn)) {
        /* the connection is unusable: these statements get no callback */
        for (size_t i = p->count - p->unsynced; i < p->count; i++)
            pending_clear(&p->queue[(p->head + i) % p->capacity]);
        p->count -= p->unsynced;
        p->unsynced = 0;
        return send_failed(p);
    }
    p->queue[(p->head + p->count - 1) % p->capacity].sync = true;
    p->unsynced = 0;
    int flushed = PQflush(p->conn);
    if (flushed == 1) {
        event_add(p->write_event, NULL);
    } else if (flushed < 0) {
        log_warning("%s: cannot send a statement: %s", p->name, PQerrorMessage(p->conn));
        /* Not from inside a send: the next loop turn reports the loss. */
        event_active(p->read_event, EV_READ, 1);
    }
    return true;
}

/* Queues the callback of a statement whose messages are sent and, unless sync points
 * are deferred, adds its sync point. */
static bool sent(pg_pipeline *p, long prepared_index, pg_pipeline_cb callback, void *arg)
{
    pending *entry = queue_push(p);
    entry->callback = callback;
    entry->arg = arg;
    entry->prepared_index = prepared_index;
    entry->commands = prepared_index >= 0 ? 2 : 1;
    p->unsynced++;
    return p->defer_depth > 0 ? true : sync_point(p);
}

void pg_pipeline_defer_sync(pg_pipeline *p)
{
    p->defer_depth++;
}

bool pg_pipeline_sync(pg_pipeline *p)
{
    if (p->defer_depth > 0 && --p->defer_depth > 0)
        return true;
    return sync_point(p);
}

static bool usable(pg_pipeline *p)
{
    if (!p->lost)
        return true;
    log_warning("%s: cannot send a statement: the connection is lost", p->name);
    return false;
}

bool pg_pipeline_send(pg_pipeline *p, const char *sql, int param_count,
                      const char *const *param_values, pg_pipeline_cb callback, void *arg)
{
    if (!usable(p))
        return false;
    if (!PQsendQueryParams(p->conn, sql, param_count, NULL, param_values, NULL, NULL, 0))
        return send_failed(p);
    return sent(p, -1, callback, arg);
}

bool pg_pipeline_send_prepared(pg_pipeline *p, const char *sql, int param_count,
                               const char *const *param_values, pg_pipeline_cb callback, void *arg)
{
    if (!usable(p))
        return false;
    size_t index = statement_find(p, sql);
    char name[32];
    snprintf(name, sizeof name, "tvsync_s%zu", index);
    long prepared_index = -1;
    if (!p->statements[index].prepared) {
        /* First use: Parse in the same pipeline, just before the execution. */
        if (!PQsendPrepare(p->conn, name, sql, param_count, NULL))
            return send_failed(p);
        p->statements[index].prepared = true;
        prepared_index = (long) index;
    }
    if (!PQsendQueryPrepared(p->conn, name, param_count, param_values, NULL, NULL, 0))
        return send_failed(p);
    return sent(p, prepared_index, callback, arg);
}

bool pg_pipeline_busy(const pg_pipeline *p)
{
    return p->count > 0;
}

PGconn *pg_pipeline_connection(pg_pipeline *p)
{
    return p->conn;
}

void pg_pipeline_free(pg_pipeline *p)
{
    if (!p)
        return;
    if (p->alive)
        *p->alive = false;
    if (p->read_event)
        event_free(p->read_event);
    if (p->write_event)
        event_free(p->write_event);
    queue_clear(p);
    free(p->queue);
    for (size_t i = 0; i < p->statement_count; i++)
        free(p->statements[i].text);
    free(p->statements);
    free(p->slots);
    PQfinish(p->conn);
    free(p->name);
    free(p);
}
