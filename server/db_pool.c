/* db_pool: non-blocking libpq connections on one event loop. Each connection runs one
 * statement at a time; statements wait in a FIFO; lost connections reconnect with backoff. */
#include <config.h>

#include "server/db_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pg.h"
#include "common/alloc.h"

typedef struct db_job {
    struct db_job *next;
    char *statement_name;
    char *sql;
    int param_count;
    char **params;
    unsigned flags;
    bool retried;
    bool alone;                /* aborted inside a pipeline by another's error: runs alone */
    struct timeval queued_at;
    db_pool_result_fn fn;
    void *arg;
} db_job;

typedef enum conn_state {
    CONN_DOWN,        /* waiting for its reconnect timer */
    CONN_CONNECTING,  /* PQconnectPoll in progress */
    CONN_IDLE,
    CONN_BUSY,
} conn_state;

typedef enum job_phase {
    PHASE_PREPARE,
    PHASE_EXECUTE,
} job_phase;

typedef struct db_conn {
    db_pool *pool;
    int index;
    PGconn *pg;
    conn_state state;
    struct event *io;          /* read or write readiness on PQsocket */
    struct event *retry_timer;
    bool reconnect_at_once;    /* DOWN only until the next loop turn: it was working */
    pg_backoff backoff;
    db_job *job;
    job_phase phase;
    PGresult *result;          /* the result kept while the command drains */
    PGresult *error_result;    /* the first failed result of the command */
    char **prepared;           /* texts prepared on this connection; text i is named tvsync_s<i> */
    size_t prepared_count;
    /* Several queued reads sent at once in pipeline mode, one sync point for all:
     * the jobs in order (head: the one whose results come next). */
    bool pipelining;
    db_job *pipeline, *pipeline_tail;
    bool pipeline_aborted;     /* the current job was skipped after an earlier error */
} db_conn;

/* At most this many reads go out in one pipeline. */
#define DB_POOL_PIPELINE_MAX 32

struct db_pool {
    struct event_base *base;
    char *url;
    char *application_name;
    int connect_timeout_ms;
    char *setup_sql;           /* run on each new connection before it takes work, or NULL */
    int queue_timeout_ms;      /* a statement waiting longer for a connection fails */
    struct event *queue_timer;
    /* Submitted statements go out when the loop has run every callback that was ready:
     * the reads of all requests that arrived together share one pipeline (one write,
     * one wakeup of the database backend, one flush of its answers). */
    struct event *dispatch_event;
    int size;
    db_conn *conns;
    db_job *head, *tail;
    size_t queued;
    db_pool_notify_fn notify_fn;
    void *notify_arg;
    db_pool_connect_fn connect_fn;
    void *connect_arg;
    char last_error[512];
};

static void job_free(db_job *job)
{
    for (int i = 0; i < job->param_count; i++)
        free(job->params[i]);
    free(job->params);
    free(job->statement_name);
    free(job->sql);
    free(job);
}

static void job_finish(db_job *job, const PGresult *result, const char *error)
{
    job->fn(job->arg, result, error);
    job_free(job);
}

static void queue_push(db_pool *pool, db_job *job, bool front)
{
    job->next = NULL;
    if (pool->head == NULL) {
        pool->head = pool->tail = job;
    } else if (front) {
        job->next = pool->head;
        pool->head = job;
    } else {
        pool->tail->next = job;
        pool->tail = job;
    }
    pool->queued++;
}

static db_job *queue_pop(db_pool *pool)
{
    db_job *job = pool->head;
    if (job != NULL) {
        pool->head = job->next;
        if (pool->head == NULL)
            pool->tail = NULL;
        pool->queued--;
        job->next = NULL;
    }
    return job;
}

static void conn_start_connect(db_conn *conn);
static void conn_dispatch(db_conn *conn);
static void conn_send(db_conn *conn);
static void pool_dispatch(db_pool *pool);

static void conn_set_io(db_conn *conn, short what, event_callback_fn fn)
{
    int fd = PQsocket(conn->pg);
    /* Most queries keep the same interest (read, persistent): re-registering it
     * would cost two epoll_ctl calls and an allocation per query. */
    if (conn->io != NULL && fd >= 0 && event_get_fd(conn->io) == fd && event_get_events(conn->io) == what &&
        event_get_callback(conn->io) == fn && event_pending(conn->io, what & (EV_READ | EV_WRITE), NULL))
        return;
    if (conn->io != NULL) {
        event_free(conn->io);
        conn->io = NULL;
    }
    if (fd < 0)
        return;
    conn->io = event_new(conn->pool->base, fd, what, fn, conn);
    if (conn->io == NULL) {
        fprintf(stderr, "tvsync-server: out of memory\n");
        abort();
    }
    event_add(conn->io, NULL);
}

static void conn_clear_results(db_conn *conn)
{
    PQclear(conn->result);
    PQclear(conn->error_result);
    conn->result = NULL;
    conn->error_result = NULL;
}

static void conn_forget_prepared(db_conn *conn)
{
    for (size_t i = 0; i < conn->prepared_count; i++)
        free(conn->prepared[i]);
    free(conn->prepared);
    conn->prepared = NULL;
    conn->prepared_count = 0;
}

/* A connection names its prepared statements after their texts, not after the names
 * callers give: after a schema reload the same name may come with another text. */
static long conn_prepared_index(const db_conn *conn, const char *sql)
{
    for (size_t i = 0; i < conn->prepared_count; i++)
        if (strcmp(conn->prepared[i], sql) == 0)
            return (long) i;
    return -1;
}

static bool conn_has_prepared(const db_conn *conn, const char *sql)
{
    return conn_prepared_index(conn, sql) >= 0;
}

static void prepared_name(long index, char *out, size_t size)
{
    snprintf(out, size, "tvsync_s%ld", index);
}

static void conn_add_prepared(db_conn *conn, const char *sql)
{
    char **grown = realloc(conn->prepared, (conn->prepared_count + 1) * sizeof *grown);
    if (grown == NULL) {
        fprintf(stderr, "tvsync-server: out of memory\n");
        abort();
    }
    conn->prepared = grown;
    conn->prepared[conn->prepared_count++] = alloc_strdup(sql);
}

static bool pool_any_usable(const db_pool *pool)
{
    for (int i = 0; i < pool->size; i++)
        if (pool->conns[i].state != CONN_DOWN || pool->conns[i].reconnect_at_once)
            return true;
    return false;
}

static bool pool_any_connected(const db_pool *pool)
{
    for (int i = 0; i < pool->size; i++)
        if (pool->conns[i].state == CONN_IDLE || pool->conns[i].state == CONN_BUSY)
            return true;
    return false;
}

/* Every queued statement fails: no connection can serve it now. */
static void pool_fail_queue(db_pool *pool)
{
    char error[600];
    snprintf(error, sizeof error, "database unavailable: %s",
             pool->last_error[0] ? pool->last_error : "no connection");
    db_job *job;
    while ((job = queue_pop(pool)) != NULL)
        job_finish(job, NULL, error);
}

static void retry_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    conn_start_connect(arg);
}

/* The connection is gone (or never came up): drop it, fail or requeue its statement, and
 * schedule the next attempt. A connection that was working reconnects at once; failed
 * attempts back off. */
static void conn_lost(db_conn *conn, const char *reason, bool was_connected)
{
    db_pool *pool = conn->pool;
    snprintf(pool->last_error, sizeof pool->last_error, "%s", reason);
    if (conn->io != NULL) {
        event_free(conn->io);
        conn->io = NULL;
    }
    if (conn->pg != NULL) {
        PQfinish(conn->pg);
        conn->pg = NULL;
    }
    conn_clear_results(conn);
    conn_forget_prepared(conn);
    conn->state = CONN_DOWN;
    db_job *job = conn->job;
    conn->job = NULL;
    /* Jobs of a pipeline: like the single job below, each read is resent once. */
    db_job *pipelined = conn->pipeline;
    conn->pipeline = conn->pipeline_tail = NULL;
    conn->pipelining = false;
    conn->pipeline_aborted = false;
    while (pipelined != NULL) {
        db_job *next = pipelined->next;
        pipelined->next = NULL;
        if (!pipelined->retried) {
            pipelined->retried = true;
            queue_push(pool, pipelined, true);
        } else {
            char error[600];
            snprintf(error, sizeof error, "database connection lost: %s", reason);
            job_finish(pipelined, NULL, error);
        }
        pipelined = next;
    }
    conn->reconnect_at_once = was_connected;
    int delay_ms = was_connected ? 0 : pg_backoff_next_ms(&conn->backoff);
    struct timeval delay = {delay_ms / 1000, (delay_ms % 1000) * 1000};
    evtimer_add(conn->retry_timer, &delay);
    if (job != NULL) {
        if ((job->flags & DB_POOL_RETRY_ON_LOSS) && !job->retried) {
            job->retried = true;
            queue_push(pool, job, true);
        } else {
            char error[600];
            snprintf(error, sizeof error, "database connection lost: %s", reason);
            job_finish(job, NULL, error);
        }
    }
    /* A failed attempt means the database is not there now: unless a connection is still
     * working, the queued statements fail instead of waiting for the next attempts. */
    if (!pool_any_usable(pool) || (!was_connected && !pool_any_connected(pool)))
        pool_fail_queue(pool);
}

static void conn_connect_cb(evutil_socket_t fd, short what, void *arg);

static void conn_ready(db_conn *conn)
{
    conn->state = CONN_IDLE;
    if (conn->pool->connect_fn != NULL)
        conn->pool->connect_fn(conn->pool->connect_arg);
    conn_dispatch(conn);
}

/* The setup statement finished; conn_command_done then makes the connection idle. */
static void setup_done_cb(void *arg, const PGresult *result, const char *error)
{
    db_conn *conn = arg;
    if (error != NULL)
        log_warning("database connection %d: session setup failed: %s", conn->index, error);
    if (conn->pool->connect_fn != NULL)
        conn->pool->connect_fn(conn->pool->connect_arg);
}

static void conn_poll_connect(db_conn *conn)
{
    PostgresPollingStatusType status = PQconnectPoll(conn->pg);
    switch (status) {
    case PGRES_POLLING_READING:
        conn_set_io(conn, EV_READ, conn_connect_cb);
        return;
    case PGRES_POLLING_WRITING:
        conn_set_io(conn, EV_WRITE, conn_connect_cb);
        return;
    case PGRES_POLLING_OK:
        break;
    default: {
        char line[512];
        pg_error_line(conn->pg, NULL, line, sizeof line);
        log_warning("database connection %d failed: %s", conn->index, line);
        conn_lost(conn, line, false);
        return;
    }
    }
    if (PQsetnonblocking(conn->pg, 1) != 0) {
        conn_lost(conn, "cannot switch the connection to non-blocking mode", false);
        return;
    }
    pg_backoff_reset(&conn->backoff);
    conn->pool->last_error[0] = '\0';
    log_debug("database connection %d ready", conn->index);
    if (conn->pool->setup_sql != NULL) {
        /* The session settings go first, on this connection only. */
        db_job *job = alloc_malloc(sizeof *job);
        memset(job, 0, sizeof *job);
        job->sql = alloc_strdup(conn->pool->setup_sql);
        job->params = alloc_malloc(1);
        job->fn = setup_done_cb;
        job->arg = conn;
        conn->job = job;
        conn->state = CONN_BUSY;
        conn_send(conn);
        return;
    }
    conn_ready(conn);
}

static void conn_connect_cb(evutil_socket_t fd, short what, void *arg)
{
    conn_poll_connect(arg);
}

static void conn_start_connect(db_conn *conn)
{
    db_pool *pool = conn->pool;
    conn->reconnect_at_once = false;
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", (pool->connect_timeout_ms + 999) / 1000);
    /* dbname carries the URL (expand_dbname); later keywords only fill what it leaves unset. */
    const char *keywords[] = {"dbname", "application_name", "client_encoding", "connect_timeout", NULL};
    const char *values[] = {pool->url, pool->application_name, "UTF8", timeout, NULL};
    conn->pg = PQconnectStartParams(keywords, values, 1);
    if (conn->pg == NULL) {
        fprintf(stderr, "tvsync-server: out of memory\n");
        abort();
    }
    if (PQstatus(conn->pg) == CONNECTION_BAD) {
        char line[512];
        pg_error_line(conn->pg, NULL, line, sizeof line);
        conn_lost(conn, line, false);
        return;
    }
    conn->state = CONN_CONNECTING;
    conn_poll_connect(conn);
}

static void conn_io_cb(evutil_socket_t fd, short what, void *arg);

/* Reads whatever arrived; returns false when the connection broke (already handled). */
static bool conn_consume(db_conn *conn)
{
    if (!PQconsumeInput(conn->pg) || PQstatus(conn->pg) == CONNECTION_BAD) {
        char line[512];
        pg_error_line(conn->pg, NULL, line, sizeof line);
        log_warning("database connection %d lost: %s", conn->index, line);
        conn_lost(conn, line, true);
        return false;
    }
    PGnotify *notify;
    while ((notify = PQnotifies(conn->pg)) != NULL) {
        if (conn->pool->notify_fn != NULL)
            conn->pool->notify_fn(conn->pool->notify_arg, notify->relname, notify->extra);
        PQfreemem(notify);
    }
    return true;
}

static void conn_wait_read(db_conn *conn)
{
    conn_set_io(conn, EV_READ | EV_PERSIST, conn_io_cb);
}

/* Sends what libpq buffered; waits for writability while it cannot. */
static void conn_flush(db_conn *conn)
{
    int rc = PQflush(conn->pg);
    if (rc < 0) {
        char line[512];
        pg_error_line(conn->pg, NULL, line, sizeof line);
        conn_lost(conn, line, true);
        return;
    }
    if (rc == 1)
        conn_set_io(conn, EV_READ | EV_WRITE | EV_PERSIST, conn_io_cb);
    else
        conn_wait_read(conn);
}

/* Sends a job's statement: prepared (already, on this connection) or with its text. */
static int conn_send_statement(db_conn *conn, const db_job *job)
{
    long index = job->statement_name != NULL ? conn_prepared_index(conn, job->sql) : -1;
    if (index < 0)
        return PQsendQueryParams(conn->pg, job->sql, job->param_count, NULL, (const char *const *) job->params,
                                 NULL, NULL, 0);
    char name[32];
    prepared_name(index, name, sizeof name);
    return PQsendQueryPrepared(conn->pg, name, job->param_count, (const char *const *) job->params, NULL, NULL, 0);
}

static void conn_send(db_conn *conn)
{
    db_job *job = conn->job;
    int ok;
    if (job->statement_name != NULL && !conn_has_prepared(conn, job->sql)) {
        conn->phase = PHASE_PREPARE;
        char name[32];
        prepared_name((long) conn->prepared_count, name, sizeof name);
        ok = PQsendPrepare(conn->pg, name, job->sql, job->param_count, NULL);
    } else {
        conn->phase = PHASE_EXECUTE;
        ok = conn_send_statement(conn, job);
    }
    if (!ok) {
        char line[512];
        pg_error_line(conn->pg, NULL, line, sizeof line);
        conn_lost(conn, line, true);
        return;
    }
    conn_flush(conn);
}

/* The command finished (PQgetResult returned NULL): move to the next phase or report. */
static void conn_command_done(db_conn *conn)
{
    db_job *job = conn->job;
    if (conn->error_result != NULL) {
        char line[512];
        pg_error_line(conn->pg, conn->error_result, line, sizeof line);
        conn->job = NULL;
        conn->state = CONN_IDLE;
        job_finish(job, conn->error_result, line);
        conn_clear_results(conn);
        conn_dispatch(conn);
        return;
    }
    if (conn->phase == PHASE_PREPARE) {
        conn_add_prepared(conn, job->sql);
        conn_clear_results(conn);
        conn_send(conn);
        return;
    }
    conn->job = NULL;
    conn->state = CONN_IDLE;
    job_finish(job, conn->result, NULL);
    conn_clear_results(conn);
    conn_dispatch(conn);
}

/* Results of a pipeline: each job's results end with a NULL; the sync point ends
 * the pipeline. A job skipped after another's error is queued again to run alone. */
static void conn_pipeline_collect(db_conn *conn)
{
    while (conn->pipelining && !PQisBusy(conn->pg)) {
        PGresult *result = PQgetResult(conn->pg);
        if (result == NULL) {
            db_job *job = conn->pipeline;
            if (job == NULL)
                continue;
            conn->pipeline = job->next;
            if (conn->pipeline == NULL)
                conn->pipeline_tail = NULL;
            job->next = NULL;
            if (conn->error_result != NULL) {
                char line[512];
                pg_error_line(conn->pg, conn->error_result, line, sizeof line);
                job_finish(job, conn->error_result, line);
            } else if (conn->pipeline_aborted || conn->result == NULL) {
                job->alone = true;
                queue_push(conn->pool, job, true);
            } else {
                job_finish(job, conn->result, NULL);
            }
            conn_clear_results(conn);
            conn->pipeline_aborted = false;
            continue;
        }
        ExecStatusType status = PQresultStatus(result);
        if (status == PGRES_PIPELINE_SYNC) {
            PQclear(result);
            conn->pipelining = false;
            if (PQexitPipelineMode(conn->pg) != 1) {
                char line[512];
                pg_error_line(conn->pg, NULL, line, sizeof line);
                conn_lost(conn, line, true);
                return;
            }
            conn->state = CONN_IDLE;
            conn_dispatch(conn);
            return;
        }
        if (status == PGRES_PIPELINE_ABORTED) {
            conn->pipeline_aborted = true;
            PQclear(result);
        } else if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
            PQclear(conn->result);
            conn->result = result;
        } else if (conn->error_result == NULL) {
            conn->error_result = result;
        } else {
            PQclear(result);
        }
    }
}

/* A read that can share a pipeline: safe to repeat, not alone, and not needing a
 * prepare on this connection first. */
static bool job_pipelinable(const db_conn *conn, const db_job *job)
{
    return (job->flags & DB_POOL_RETRY_ON_LOSS) && !job->alone &&
           (job->statement_name == NULL || conn_has_prepared(conn, job->sql));
}

/* Sends the queued reads at the head of the queue in one pipeline: one write, one
 * sync point, one flush of the results by the server, instead of a round trip each. */
static void conn_send_pipeline(db_conn *conn)
{
    db_pool *pool = conn->pool;
    if (PQenterPipelineMode(conn->pg) != 1) {
        char line[512];
        pg_error_line(conn->pg, NULL, line, sizeof line);
        conn_lost(conn, line, true);
        return;
    }
    conn->pipelining = true;
    conn->state = CONN_BUSY;
    int n = 0;
    for (; n < DB_POOL_PIPELINE_MAX && pool->head != NULL && job_pipelinable(conn, pool->head); n++) {
        db_job *job = queue_pop(pool);
        if (conn->pipeline_tail)
            conn->pipeline_tail->next = job;
        else
            conn->pipeline = job;
        conn->pipeline_tail = job;
        if (!conn_send_statement(conn, job)) {
            char line[512];
            pg_error_line(conn->pg, NULL, line, sizeof line);
            conn_lost(conn, line, true);
            return;
        }
    }
    log_debug("database connection %d: %d reads in one pipeline", conn->index, n);
    if (!PQpipelineSync(conn->pg)) {
        char line[512];
        pg_error_line(conn->pg, NULL, line, sizeof line);
        conn_lost(conn, line, true);
        return;
    }
    conn_flush(conn);
}

static void conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
    db_conn *conn = arg;
    if (what & EV_WRITE) {
        conn_flush(conn);
        if (conn->state == CONN_DOWN)
            return;
    }
    if (!(what & EV_READ))
        return;
    if (!conn_consume(conn))
        return;
    if (conn->state != CONN_BUSY)
        return;
    if (conn->pipelining) {
        conn_pipeline_collect(conn);
        return;
    }
    while (!PQisBusy(conn->pg)) {
        PGresult *result = PQgetResult(conn->pg);
        if (result == NULL) {
            conn_command_done(conn);
            return;
        }
        ExecStatusType status = PQresultStatus(result);
        if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
            PQclear(conn->result);
            conn->result = result;
        } else if (conn->error_result == NULL) {
            conn->error_result = result;
        } else {
            PQclear(result);
        }
    }
}

static void conn_dispatch(db_conn *conn)
{
    if (conn->state != CONN_IDLE)
        return;
    db_job *head = conn->pool->head;
    if (head != NULL && head->next != NULL && job_pipelinable(conn, head) && job_pipelinable(conn, head->next)) {
        conn_send_pipeline(conn);
        return;
    }
    db_job *job = queue_pop(conn->pool);
    if (job == NULL)
        return;
    conn->job = job;
    conn->state = CONN_BUSY;
    conn_send(conn);
}

static void pool_dispatch(db_pool *pool)
{
    for (int i = 0; i < pool->size && pool->head != NULL; i++)
        conn_dispatch(&pool->conns[i]);
}

static void dispatch_cb(evutil_socket_t fd, short what, void *arg)
{
    pool_dispatch(arg);
}

/* Fails the statements that waited longer than queue_timeout_ms for a connection (all
 * connections busy with slow statements, or connecting to a database that does not answer). */
static void queue_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    db_pool *pool = arg;
    struct timeval now, age;
    event_base_gettimeofday_cached(pool->base, &now);
    while (pool->head != NULL) {
        evutil_timersub(&now, &pool->head->queued_at, &age);
        if (age.tv_sec * 1000 + age.tv_usec / 1000 < pool->queue_timeout_ms)
            break;
        db_job *job = queue_pop(pool);
        job_finish(job, NULL, "database unavailable: no connection became free in time");
    }
}

db_pool *db_pool_new(struct event_base *base, const char *url, const char *application_name,
                     int size, int connect_timeout_ms, const char *setup_sql, int queue_timeout_ms)
{
    db_pool *pool = alloc_malloc(sizeof *pool);
    memset(pool, 0, sizeof *pool);
    pool->base = base;
    pool->url = alloc_strdup(url ? url : "");
    pool->application_name = alloc_strdup(application_name);
    pool->connect_timeout_ms = connect_timeout_ms > 0 ? connect_timeout_ms : 5000;
    pool->setup_sql = setup_sql ? alloc_strdup(setup_sql) : NULL;
    pool->queue_timeout_ms = queue_timeout_ms > 0 ? queue_timeout_ms : 10000;
    pool->queue_timer = event_new(base, -1, EV_PERSIST, queue_timer_cb, pool);
    if (pool->queue_timer == NULL) {
        fprintf(stderr, "tvsync-server: out of memory\n");
        abort();
    }
    struct timeval tick = {0, 100000};
    event_add(pool->queue_timer, &tick);
    pool->dispatch_event = event_new(base, -1, 0, dispatch_cb, pool);
    if (pool->dispatch_event == NULL) {
        fprintf(stderr, "tvsync-server: out of memory\n");
        abort();
    }
    pool->size = size > 0 ? size : 1;
    pool->conns = alloc_malloc((size_t) pool->size * sizeof *pool->conns);
    memset(pool->conns, 0, (size_t) pool->size * sizeof *pool->conns);
    for (int i = 0; i < pool->size; i++) {
        db_conn *conn = &pool->conns[i];
        conn->pool = pool;
        conn->index = i;
        conn->state = CONN_DOWN;
        pg_backoff_init(&conn->backoff, 100, 5000);
        conn->retry_timer = evtimer_new(base, retry_timer_cb, conn);
        if (conn->retry_timer == NULL) {
            fprintf(stderr, "tvsync-server: out of memory\n");
            abort();
        }
    }
    for (int i = 0; i < pool->size; i++)
        conn_start_connect(&pool->conns[i]);
    return pool;
}

void db_pool_free(db_pool *pool)
{
    if (pool == NULL)
        return;
    for (int i = 0; i < pool->size; i++) {
        db_conn *conn = &pool->conns[i];
        if (conn->job != NULL) {
            job_finish(conn->job, NULL, "server shutting down");
            conn->job = NULL;
        }
        while (conn->pipeline != NULL) {
            db_job *next = conn->pipeline->next;
            job_finish(conn->pipeline, NULL, "server shutting down");
            conn->pipeline = next;
        }
        if (conn->io != NULL)
            event_free(conn->io);
        event_free(conn->retry_timer);
        conn_clear_results(conn);
        conn_forget_prepared(conn);
        if (conn->pg != NULL)
            PQfinish(conn->pg);
    }
    db_job *job;
    while ((job = queue_pop(pool)) != NULL)
        job_finish(job, NULL, "server shutting down");
    event_free(pool->queue_timer);
    event_free(pool->dispatch_event);
    free(pool->conns);
    free(pool->url);
    free(pool->application_name);
    free(pool->setup_sql);
    free(pool);
}

void db_pool_set_notify(db_pool *pool, db_pool_notify_fn fn, void *arg)
{
    pool->notify_fn = fn;
    pool->notify_arg = arg;
}

void db_pool_set_connect(db_pool *pool, db_pool_connect_fn fn, void *arg)
{
    pool->connect_fn = fn;
    pool->connect_arg = arg;
}

/* Every connection waits out its backoff: a statement that arrives now tries one connection
 * at once and waits for it, so a database that came back is used without delay (and one
 * that is still down fails the statement as soon as the attempt fails). */
static void pool_connect_on_demand(db_pool *pool)
{
    db_conn *conn = &pool->conns[0];
    if (conn->state != CONN_DOWN)
        return;
    evtimer_del(conn->retry_timer);
    conn_start_connect(conn);
}

void db_pool_submit(db_pool *pool, const char *statement_name, const char *sql,
                    int param_count, const char *const *params, unsigned flags,
                    db_pool_result_fn fn, void *arg)
{
    db_job *job = alloc_malloc(sizeof *job);
    memset(job, 0, sizeof *job);
    job->statement_name = statement_name ? alloc_strdup(statement_name) : NULL;
    job->sql = alloc_strdup(sql);
    job->param_count = param_count;
    job->params = alloc_malloc((size_t) param_count * sizeof *job->params);
    for (int i = 0; i < param_count; i++)
        job->params[i] = params[i] ? alloc_strdup(params[i]) : NULL;
    job->flags = flags;
    job->fn = fn;
    job->arg = arg;
    if (!pool_any_usable(pool))
        pool_connect_on_demand(pool);
    if (!pool_any_usable(pool)) {
        char error[600];
        snprintf(error, sizeof error, "database unavailable: %s",
                 pool->last_error[0] ? pool->last_error : "no connection");
        job_finish(job, NULL, error);
        return;
    }
    event_base_gettimeofday_cached(pool->base, &job->queued_at);
    queue_push(pool, job, (flags & DB_POOL_FRONT) != 0);
    /* Activating an event that is already active is a no-op: one dispatch per loop turn. */
    event_active(pool->dispatch_event, EV_TIMEOUT, 1);
}

void db_pool_get_stats(const db_pool *pool, db_pool_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    stats->size = pool->size;
    stats->queued = pool->queued;
    for (int i = 0; i < pool->size; i++) {
        if (pool->conns[i].state == CONN_IDLE || pool->conns[i].state == CONN_BUSY)
            stats->connected++;
        if (pool->conns[i].state == CONN_BUSY)
            stats->busy++;
    }
}

const char *db_pool_last_error(const db_pool *pool)
{
    return pool->last_error;
}
