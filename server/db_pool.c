/* db_pool: a worker's connections on one event loop, each a common/pg_pipeline: queued
 * statements go out in FIFO order, reads pipelined together; lost connections reconnect. */
#include <config.h>

#include "server/db_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/pg.h"
#include "common/pg_pipeline.h"

typedef struct db_conn db_conn;

/* The role and claims a statement runs as (db_pool_identity_begin), shared by the statements
 * of one request. */
typedef struct db_identity {
    int refs;
    char *role;
    char *claims;
} db_identity;

typedef struct db_job {
    struct db_job *next;
    db_conn *conn;             /* the connection it was sent on */
    char *sql;
    int param_count;
    char **params;
    unsigned flags;
    bool retried;
    bool alone;                /* skipped inside a pipeline after another's error: runs alone */
    db_identity *identity;     /* the role it runs as (a reference); NULL: the server's own */
    char *role_error;          /* the database refused identity: the job fails with this */
    struct timeval queued_at;
    db_pool_result_fn fn;
    void *arg;
} db_job;

/* A list of jobs in order. */
typedef struct job_list {
    db_job *head, *tail;
} job_list;

typedef enum conn_state {
    CONN_DOWN,        /* waiting for its reconnect timer */
    CONN_CONNECTING,  /* PQconnectPoll in progress */
    CONN_IDLE,
    CONN_BUSY,        /* session setup or jobs in flight */
} conn_state;

struct db_conn {
    db_pool *pool;
    int index;
    const char *url;           /* the database it connects to */
    PGconn *connecting;        /* while PQconnectPoll runs */
    struct event *connect_io;  /* read or write readiness while connecting */
    pg_pipeline *pipeline;     /* once connected */
    conn_state state;
    struct event *retry_timer;
    bool reconnect_at_once;    /* DOWN only until the next loop turn: it was working */
    pg_backoff backoff;
    struct timeval connect_started; /* the attempt's start; bounds connecting and session setup */
    bool setting_up;           /* connected, session setup in flight */
    job_list sent;             /* jobs in flight, in the order their results come */
    job_list skipped;          /* jobs of the current pipeline skipped after an error, to run again */
    /* The identity the statements sent since the current sync point began run as: its
     * set_config(..., true) lasts until that sync point's transaction ends. NULL: the
     * server's own (nothing set). Borrowed from a job in flight. */
    const db_identity *segment_identity;
};

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
    job_list queue;
    size_t queued;
    db_pool_notify_fn notify_fn;
    void *notify_arg;
    db_pool_connect_fn connect_fn;
    void *connect_arg;
    char last_error[512];
    /* "host:port" a connection last reached: with a multi-host database.url, a reconnect
     * after a failover lands on another server, and the log says so. */
    char server_address[128];
    int deadline_ms;           /* a statement unanswered this long after its submission fails; 0: none */
    int probe_ms;              /* an idle pool is probed after this long without an answer; 0: never */
    bool probe_in_flight;
    struct timeval last_answer; /* when a connection last answered anything */
    db_identity *identity;     /* between db_pool_identity_begin and _end, else NULL */
};

static db_identity *identity_ref(db_identity *identity)
{
    if (identity != NULL)
        identity->refs++;
    return identity;
}

static void identity_release(db_identity *identity)
{
    if (identity == NULL || --identity->refs > 0)
        return;
    free(identity->role);
    free(identity->claims);
    free(identity);
}

static bool identity_same(const db_identity *a, const db_identity *b)
{
    if (a == b)
        return true;
    if (a == NULL || b == NULL)
        return false;
    return strcmp(a->role, b->role) == 0 && strcmp(a->claims, b->claims) == 0;
}

static void job_free(db_job *job)
{
    identity_release(job->identity);
    free(job->role_error);
    for (int i = 0; i < job->param_count; i++)
        free(job->params[i]);
    free(job->params);
    free(job->sql);
    free(job);
}

static void job_finish(db_job *job, const PGresult *result, const char *error)
{
    job->fn(job->arg, result, error);
    job_free(job);
}

static void list_append(job_list *list, db_job *job)
{
    job->next = NULL;
    if (list->tail)
        list->tail->next = job;
    else
        list->head = job;
    list->tail = job;
}

static db_job *list_pop(job_list *list)
{
    db_job *job = list->head;
    if (job != NULL) {
        list->head = job->next;
        if (list->head == NULL)
            list->tail = NULL;
        job->next = NULL;
    }
    return job;
}

static size_t list_length(const job_list *list)
{
    size_t n = 0;
    for (const db_job *job = list->head; job; job = job->next)
        n++;
    return n;
}

static void queue_push(db_pool *pool, db_job *job, bool front)
{
    if (front && pool->queue.head != NULL) {
        job->next = pool->queue.head;
        pool->queue.head = job;
    } else {
        list_append(&pool->queue, job);
    }
    pool->queued++;
}

/* Puts jobs back at the front of the queue, in their order. */
static void queue_push_front(db_pool *pool, job_list *jobs)
{
    if (jobs->head == NULL)
        return;
    pool->queued += list_length(jobs);
    jobs->tail->next = pool->queue.head;
    if (pool->queue.head == NULL)
        pool->queue.tail = jobs->tail;
    pool->queue.head = jobs->head;
    jobs->head = jobs->tail = NULL;
}

static db_job *queue_pop(db_pool *pool)
{
    db_job *job = list_pop(&pool->queue);
    if (job != NULL)
        pool->queued--;
    return job;
}

static void conn_start_connect(db_conn *conn);
static void conn_dispatch(db_conn *conn);

static void conn_connect_cb(evutil_socket_t fd, short what, void *arg);

/* Keeps an unchanged interest registered as it is: re-registering costs epoll_ctl calls. */
static void conn_set_connect_io(db_conn *conn, short what)
{
    int fd = PQsocket(conn->connecting);
    if (conn->connect_io != NULL && fd >= 0 && event_get_fd(conn->connect_io) == fd &&
        event_get_events(conn->connect_io) == what && event_pending(conn->connect_io, what, NULL))
        return;
    if (conn->connect_io != NULL) {
        event_free(conn->connect_io);
        conn->connect_io = NULL;
    }
    if (fd < 0)
        return;
    conn->connect_io = alloc_check(event_new(conn->pool->base, fd, what, conn_connect_cb, conn));
    event_add(conn->connect_io, NULL);
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

/* The connection is gone (or never came up): drop it, give back or fail its jobs, and
 * schedule the next attempt. A connection that was working reconnects at once; failed
 * attempts back off. Jobs skipped after an error never ran and go back as they are;
 * jobs in flight may have run: only those safe to repeat go back, once. Both keep
 * their order, ahead of the queue. */
static void conn_lost(db_conn *conn, const char *reason, bool was_connected)
{
    db_pool *pool = conn->pool;
    snprintf(pool->last_error, sizeof pool->last_error, "%s", reason);
    if (conn->connect_io != NULL) {
        event_free(conn->connect_io);
        conn->connect_io = NULL;
    }
    if (conn->connecting != NULL) {
        PQfinish(conn->connecting);
        conn->connecting = NULL;
    }
    pg_pipeline_free(conn->pipeline);
    conn->pipeline = NULL;
    conn->state = CONN_DOWN;
    conn->setting_up = false;
    job_list again = conn->skipped, failed = {NULL, NULL};
    conn->skipped = (job_list){NULL, NULL};
    db_job *job;
    while ((job = list_pop(&conn->sent)) != NULL) {
        job_list *to = &failed;
        if ((job->flags & DB_POOL_RETRY_ON_LOSS) && !job->retried) {
            job->retried = true;
            to = &again;
        }
        list_append(to, job);
    }
    queue_push_front(pool, &again);
    conn->reconnect_at_once = was_connected;
    int delay_ms = was_connected ? 0 : pg_backoff_next_ms(&conn->backoff);
    struct timeval delay = {delay_ms / 1000, (delay_ms % 1000) * 1000};
    evtimer_add(conn->retry_timer, &delay);
    if (failed.head != NULL) {
        char error[600];
        snprintf(error, sizeof error, "database connection lost; the statement may or may not have run: %s", reason);
        while ((job = list_pop(&failed)) != NULL)
            job_finish(job, NULL, error);
    }
    /* A failed attempt means the database is not there now: unless a connection is still
     * working, the queued statements fail instead of waiting for the next attempts. */
    if (!pool_any_usable(pool) || (!was_connected && !pool_any_connected(pool)))
        pool_fail_queue(pool);
}

static void conn_pipeline_lost_cb(void *arg, const char *error)
{
    db_conn *conn = arg;
    log_warning("database connection %d lost: %s", conn->index, error);
    conn_lost(conn, error, true);
}

static void conn_notify_cb(void *arg, const char *channel, const char *payload)
{
    db_pool *pool = arg;
    if (pool->notify_fn != NULL)
        pool->notify_fn(pool->notify_arg, channel, payload);
}

static void conn_ready(db_conn *conn)
{
    conn->state = CONN_IDLE;
    if (conn->pool->connect_fn != NULL)
        conn->pool->connect_fn(conn->pool->connect_arg);
    conn_dispatch(conn);
}

static void pool_heard(db_pool *pool)
{
    event_base_gettimeofday_cached(pool->base, &pool->last_answer);
}

static void setup_done_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    db_conn *conn = arg;
    if (outcome->connection_lost)
        return; /* the lost callback follows */
    conn->setting_up = false;
    pool_heard(conn->pool);
    if (!outcome->ok)
        log_warning("database connection %d: session setup failed: %s", conn->index, outcome->error);
    conn_ready(conn);
}

static void conn_poll_connect(db_conn *conn)
{
    PostgresPollingStatusType status = PQconnectPoll(conn->connecting);
    switch (status) {
    case PGRES_POLLING_READING:
        conn_set_connect_io(conn, EV_READ);
        return;
    case PGRES_POLLING_WRITING:
        conn_set_connect_io(conn, EV_WRITE);
        return;
    case PGRES_POLLING_OK:
        break;
    default: {
        char line[512];
        pg_error_line(conn->connecting, NULL, line, sizeof line);
        log_warning("database connection %d failed: %s", conn->index, line);
        conn_lost(conn, line, false);
        return;
    }
    }
    if (conn->connect_io != NULL) {
        event_free(conn->connect_io);
        conn->connect_io = NULL;
    }
    char address[sizeof conn->pool->server_address];
    snprintf(address, sizeof address, "%s:%s", PQhost(conn->connecting), PQport(conn->connecting));
    if (conn->pool->server_address[0] && strcmp(address, conn->pool->server_address) != 0)
        log_warning("database connection %d: connected to a different server: %s (was %s), as after a failover",
                    conn->index, address, conn->pool->server_address);
    memcpy(conn->pool->server_address, address, sizeof address);
    char name[48];
    snprintf(name, sizeof name, "database connection %d", conn->index);
    conn->pipeline = pg_pipeline_new(conn->pool->base, conn->connecting, name);
    conn->connecting = NULL;
    if (conn->pipeline == NULL) {
        conn_lost(conn, "cannot switch the connection to non-blocking pipeline mode", false);
        return;
    }
    pg_pipeline_set_lost(conn->pipeline, conn_pipeline_lost_cb, conn);
    pg_pipeline_set_notify(conn->pipeline, conn_notify_cb, conn->pool);
    pg_backoff_reset(&conn->backoff);
    conn->pool->last_error[0] = '\0';
    pool_heard(conn->pool);
    log_debug("database connection %d ready", conn->index);
    if (conn->pool->setup_sql != NULL) {
        /* The session settings go first, on this connection only. */
        conn->state = CONN_BUSY;
        conn->setting_up = true;
        if (!pg_pipeline_send(conn->pipeline, conn->pool->setup_sql, 0, NULL, setup_done_cb, conn))
            conn_lost(conn, "cannot send the session setup", true);
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
    conn->setting_up = false;
    event_base_gettimeofday_cached(pool->base, &conn->connect_started);
    pg_conninfo info;
    pg_conninfo_build(&info, conn->url, pool->application_name, PG_CONNECT_NORMAL, pool->connect_timeout_ms);
    conn->connecting = alloc_check(PQconnectStartParams(info.keywords, info.values, 1));
    if (PQstatus(conn->connecting) == CONNECTION_BAD) {
        char line[512];
        pg_error_line(conn->connecting, NULL, line, sizeof line);
        conn_lost(conn, line, false);
        return;
    }
    conn->state = CONN_CONNECTING;
    conn_poll_connect(conn);
}

/* A statement of a job came back. A job skipped after another's error waits, in
 * order, until the pipeline is done and then runs alone. */
static void job_done_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    db_job *job = arg;
    db_conn *conn = job->conn;
    if (outcome->connection_lost)
        return; /* the lost callback gives back or fails every job in flight */
    pool_heard(conn->pool);
    list_pop(&conn->sent);
    if (job->role_error != NULL) {
        /* its role statement failed: running it again would fail the same way */
        job_finish(job, NULL, job->role_error);
    } else if (outcome->not_run) {
        job->alone = true;
        list_append(&conn->skipped, job);
    } else if (outcome->ok) {
        job_finish(job, outcome->result, NULL);
    } else {
        job_finish(job, outcome->error_result, outcome->error);
    }
    if (conn->sent.head != NULL || conn->state == CONN_DOWN)
        return;
    queue_push_front(conn->pool, &conn->skipped);
    conn->state = CONN_IDLE;
    conn_dispatch(conn);
}

/* The statement that makes the statements after it (until the sync point) run as an
 * identity, or as the server's own role again: one text for all, prepared once. Local to the
 * sync point's transaction, so the role never outlives it, whatever a request's functions do
 * with their session. */
#define SET_IDENTITY_SQL "SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true)"

/* The database refused a job's identity: the job fails with why (and the statements after
 * it until the sync point are not run, then sent again). */
static void identity_done_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    if (outcome->connection_lost || outcome->ok || outcome->not_run)
        return;
    db_job *job = arg;
    size_t size = strlen(DB_POOL_ROLE_PREFIX) + strlen(outcome->error) + 3;
    job->role_error = alloc_malloc(size);
    snprintf(job->role_error, size, "%s: %s", DB_POOL_ROLE_PREFIX, outcome->error);
}

/* Sends a job on the connection, after the statement that sets its identity when the
 * statements before it in the same sync point ran as another; false when the connection
 * broke (already handled). */
static bool conn_send_job(db_conn *conn, db_job *job)
{
    job->conn = conn;
    const char *const *params = (const char *const *) job->params;
    bool switching = !identity_same(conn->segment_identity, job->identity);
    bool sent = true;
    if (switching) {
        pg_pipeline_defer_sync(conn->pipeline);
        const char *identity_params[] = {job->identity ? job->identity->role : "none",
                                         job->identity ? job->identity->claims : ""};
        sent = pg_pipeline_send_prepared(conn->pipeline, SET_IDENTITY_SQL, 2, identity_params, identity_done_cb, job);
        conn->segment_identity = job->identity;
    }
    if (sent)
        sent = (job->flags & DB_POOL_PREPARED)
                   ? pg_pipeline_send_prepared(conn->pipeline, job->sql, job->param_count, params, job_done_cb, job)
                   : pg_pipeline_send(conn->pipeline, job->sql, job->param_count, params, job_done_cb, job);
    if (switching && sent)
        sent = pg_pipeline_sync(conn->pipeline);
    if (sent) {
        list_append(&conn->sent, job);
        return true;
    }
    /* Never sent: it goes back as it is. */
    queue_push(conn->pool, job, true);
    conn_lost(conn, "cannot send a statement", true);
    return false;
}

/* A read that can share a pipeline: safe to repeat and not to run alone. */
static bool job_pipelinable(const db_job *job)
{
    return (job->flags & DB_POOL_RETRY_ON_LOSS) && !job->alone;
}

/* Sends the queued reads at the head of the queue in one pipeline: one write, one
 * sync point, one flush of the results by the server, instead of a round trip each.
 * After an error the rest of the pipeline is not run: those reads run again alone
 * (job_done_cb). */
static void conn_send_pipeline(db_conn *conn)
{
    db_pool *pool = conn->pool;
    conn->state = CONN_BUSY;
    pg_pipeline_defer_sync(conn->pipeline);
    int n = 0;
    while (n < DB_POOL_PIPELINE_MAX && pool->queue.head != NULL && job_pipelinable(pool->queue.head)) {
        n++;
        if (!conn_send_job(conn, queue_pop(pool)))
            return;
    }
    log_debug("database connection %d: %d reads in one pipeline", conn->index, n);
    if (!pg_pipeline_sync(conn->pipeline))
        conn_lost(conn, "cannot send a statement", true);
}

static void conn_dispatch(db_conn *conn)
{
    if (conn->state != CONN_IDLE)
        return;
    /* Nothing is in flight: whatever ran before ended with its sync point's transaction. */
    conn->segment_identity = NULL;
    db_job *head = conn->pool->queue.head;
    if (head == NULL)
        return;
    if (head->next != NULL && job_pipelinable(head) && job_pipelinable(head->next)) {
        conn_send_pipeline(conn);
        return;
    }
    conn->state = CONN_BUSY;
    conn_send_job(conn, queue_pop(conn->pool));
}

static void pool_dispatch(db_pool *pool)
{
    for (int i = 0; i < pool->size && pool->queue.head != NULL; i++)
        conn_dispatch(&pool->conns[i]);
}

static void dispatch_cb(evutil_socket_t fd, short what, void *arg)
{
    pool_dispatch(arg);
}

static long ms_since(const struct timeval *now, const struct timeval *then)
{
    struct timeval age;
    evutil_timersub(now, then, &age);
    return (long) age.tv_sec * 1000 + age.tv_usec / 1000;
}

/* The database has not answered a connection in time (frozen, or gone without a reset):
 * the connection is closed and its statements in flight fail now rather than whenever
 * the database wakes up. They may have run, so none is sent again; the ones skipped
 * after an error never ran and go back to the queue. */
static void conn_timed_out(db_conn *conn, long waited_ms)
{
    db_pool *pool = conn->pool;
    job_list failed = conn->sent;
    conn->sent = (job_list){NULL, NULL};
    size_t count = list_length(&failed);
    log_warning("database connection %d: no answer for %ld ms (server.request_deadline is %d ms); closing it "
                "and failing its %zu statement%s", conn->index, waited_ms, pool->deadline_ms, count,
                count == 1 ? "" : "s");
    char reason[160];
    snprintf(reason, sizeof reason, DB_POOL_TIMEOUT_PREFIX ": no answer within %d ms", pool->deadline_ms);
    conn_lost(conn, reason, true);
    char read_error[200], write_error[260];
    snprintf(read_error, sizeof read_error, DB_POOL_TIMEOUT_PREFIX ": no answer within %d ms", pool->deadline_ms);
    snprintf(write_error, sizeof write_error,
             DB_POOL_TIMEOUT_PREFIX ": no answer within %d ms; the statement may or may not have run",
             pool->deadline_ms);
    db_job *job;
    while ((job = list_pop(&failed)) != NULL)
        job_finish(job, NULL, (job->flags & DB_POOL_RETRY_ON_LOSS) ? read_error : write_error);
}

/* A connection attempt, or the session setup after it, that the database does not
 * answer: libpq's connect_timeout does not apply to non-blocking connects. */
static void conn_connect_timed_out(db_conn *conn)
{
    char reason[160];
    snprintf(reason, sizeof reason, DB_POOL_TIMEOUT_PREFIX ": no answer to a connection attempt within %d ms",
             conn->pool->connect_timeout_ms);
    log_warning("database connection %d: %s", conn->index, reason);
    conn_lost(conn, reason, false);
}

static void probe_done_cb(void *arg, const PGresult *result, const char *error)
{
    db_pool *pool = arg;
    pool->probe_in_flight = false;
}

/* Every tick: statements that waited longer than queue_timeout_ms for a connection fail
 * (all connections busy with slow statements, or connecting to a database that does not
 * answer); connections that do not answer within the deadlines are reset; an idle pool
 * is probed so that its health reflects the database, not only its sockets. */
static void queue_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    db_pool *pool = arg;
    struct timeval now;
    event_base_gettimeofday_cached(pool->base, &now);
    while (pool->queue.head != NULL) {
        if (ms_since(&now, &pool->queue.head->queued_at) < pool->queue_timeout_ms)
            break;
        db_job *job = queue_pop(pool);
        char error[160];
        snprintf(error, sizeof error, DB_POOL_TIMEOUT_PREFIX ": no connection became free within %d ms; not sent",
                 pool->queue_timeout_ms);
        job_finish(job, NULL, error);
    }
    for (int i = 0; i < pool->size; i++) {
        db_conn *conn = &pool->conns[i];
        if ((conn->state == CONN_CONNECTING || conn->setting_up) &&
            ms_since(&now, &conn->connect_started) >= pool->connect_timeout_ms) {
            conn_connect_timed_out(conn);
        } else if (pool->deadline_ms > 0 && conn->state == CONN_BUSY && conn->sent.head != NULL) {
            long waited = ms_since(&now, &conn->sent.head->queued_at);
            if (waited >= pool->deadline_ms)
                conn_timed_out(conn, waited);
        }
    }
    if (pool->probe_ms > 0 && !pool->probe_in_flight && pool_any_connected(pool) &&
        ms_since(&now, &pool->last_answer) >= pool->probe_ms) {
        pool->probe_in_flight = true;
        db_pool_submit(pool, "SELECT 1", 0, NULL, DB_POOL_RETRY_ON_LOSS, probe_done_cb, pool);
    }
}

db_pool *db_pool_new(struct event_base *base, const char *url, const char *application_name,
                     int size, int connect_timeout_ms, const char *setup_sql, int queue_timeout_ms)
{
    db_pool *pool = alloc_calloc(1, sizeof *pool);
    pool->base = base;
    pool->url = alloc_strdup(url ? url : "");
    pool->application_name = alloc_strdup(application_name);
    pool->connect_timeout_ms = connect_timeout_ms > 0 ? connect_timeout_ms : 5000;
    pool->setup_sql = setup_sql ? alloc_strdup(setup_sql) : NULL;
    pool->queue_timeout_ms = queue_timeout_ms > 0 ? queue_timeout_ms : 10000;
    pool->queue_timer = alloc_check(event_new(base, -1, EV_PERSIST, queue_timer_cb, pool));
    struct timeval tick = {0, 100000};
    event_add(pool->queue_timer, &tick);
    pool->dispatch_event = alloc_check(event_new(base, -1, 0, dispatch_cb, pool));
    pool->size = size > 0 ? size : 1;
    pool->conns = alloc_calloc((size_t) pool->size, sizeof *pool->conns);
    for (int i = 0; i < pool->size; i++) {
        db_conn *conn = &pool->conns[i];
        conn->pool = pool;
        conn->index = i;
        conn->url = pool->url;
        conn->state = CONN_DOWN;
        pg_backoff_init(&conn->backoff, 100, 5000);
        conn->retry_timer = alloc_check(evtimer_new(base, retry_timer_cb, conn));
    }
    event_base_gettimeofday_cached(base, &pool->last_answer);
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
        /* The pipeline first: its pending callbacks must not run for freed jobs. */
        pg_pipeline_free(conn->pipeline);
        conn->pipeline = NULL;
        db_job *job;
        while ((job = list_pop(&conn->sent)) != NULL)
            job_finish(job, NULL, "server shutting down");
        while ((job = list_pop(&conn->skipped)) != NULL)
            job_finish(job, NULL, "server shutting down");
        if (conn->connect_io != NULL)
            event_free(conn->connect_io);
        event_free(conn->retry_timer);
        if (conn->connecting != NULL)
            PQfinish(conn->connecting);
    }
    db_job *job;
    while ((job = queue_pop(pool)) != NULL)
        job_finish(job, NULL, "server shutting down");
    identity_release(pool->identity);
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

void db_pool_submit(db_pool *pool, const char *sql, int param_count, const char *const *params, unsigned flags,
                    db_pool_result_fn fn, void *arg)
{
    db_job *job = alloc_calloc(1, sizeof *job);
    job->sql = alloc_strdup(sql);
    job->param_count = param_count;
    job->params = alloc_malloc((size_t) param_count * sizeof *job->params);
    for (int i = 0; i < param_count; i++)
        job->params[i] = params[i] ? alloc_strdup(params[i]) : NULL;
    job->flags = flags;
    job->fn = fn;
    job->arg = arg;
    job->identity = identity_ref(pool->identity);
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

void db_pool_identity_begin(db_pool *pool, const char *role, const char *claims_json)
{
    identity_release(pool->identity);
    pool->identity = alloc_calloc(1, sizeof *pool->identity);
    pool->identity->refs = 1;
    pool->identity->role = alloc_strdup(role);
    pool->identity->claims = alloc_strdup(claims_json ? claims_json : "");
}

void db_pool_identity_end(db_pool *pool)
{
    identity_release(pool->identity);
    pool->identity = NULL;
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

void db_pool_set_deadline(db_pool *pool, int deadline_ms, int probe_ms)
{
    pool->deadline_ms = deadline_ms > 0 ? deadline_ms : 0;
    pool->probe_ms = probe_ms > 0 ? probe_ms : 0;
}

long db_pool_silence_ms(const db_pool *pool)
{
    struct timeval now;
    event_base_gettimeofday_cached(pool->base, &now);
    /* Silence counts from the later of the last answer and the oldest statement still
     * waiting: a pool that was idle for an hour is not silent when a request arrives. */
    const struct timeval *oldest = pool->queue.head ? &pool->queue.head->queued_at : NULL;
    for (int i = 0; i < pool->size; i++) {
        const db_conn *conn = &pool->conns[i];
        const struct timeval *since = conn->sent.head ? &conn->sent.head->queued_at
                                      : conn->setting_up || conn->state == CONN_CONNECTING ? &conn->connect_started
                                                                                            : NULL;
        if (since != NULL && (oldest == NULL || evutil_timercmp(since, oldest, <)))
            oldest = since;
    }
    if (oldest == NULL)
        return 0;
    const struct timeval *from = evutil_timercmp(oldest, &pool->last_answer, <) ? &pool->last_answer : oldest;
    long silence = ms_since(&now, from);
    return silence > 0 ? silence : 0;
}

db_pool_error_kind db_pool_error_classify(const char *error)
{
    if (error == NULL)
        return DB_POOL_ERROR_NONE;
    if (strncmp(error, DB_POOL_TIMEOUT_PREFIX, strlen(DB_POOL_TIMEOUT_PREFIX)) == 0)
        return DB_POOL_ERROR_TIMEOUT;
    if (strncmp(error, "database unavailable", 20) == 0)
        return DB_POOL_ERROR_UNAVAILABLE;
    if (strncmp(error, "database connection lost", 24) == 0)
        return DB_POOL_ERROR_LOST;
    if (strncmp(error, DB_POOL_ROLE_PREFIX, strlen(DB_POOL_ROLE_PREFIX)) == 0)
        return DB_POOL_ERROR_ROLE;
    if (strstr(error, "(SQLSTATE 57014)") != NULL)
        return DB_POOL_ERROR_CANCELED;
    return DB_POOL_ERROR_STATEMENT;
}
