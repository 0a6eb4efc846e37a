/* worker: a tvsync-server thread. It owns an event base with the HTTP listener, the
 * GraphQL-over-HTTP handling, a pool of non-blocking database connections and a LISTEN
 * connection; nothing here blocks the loop. */
#include <config.h>

#include "server/worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "common/alloc.h"
#include "common/log.h"
#include "server/auth/auth.h"
#include "server/auth/token_cache.h"
#include "server/db_pool.h"
#include "server/executor.h"
#include "server/graphql/gql_cost.h"
#include "server/graphql/gql_errors.h"
#include "server/graphql_http.h"
#include "server/http.h"
#include "server/persisted_operations.h"
#include "server/replica.h"
#include "server/sync_wait.h"

#define WORKER_STATS_INTERVAL_MS 1000
/* /health says the database is not answering after this long without an answer to
 * something waiting (an idle pool is probed every DB_PROBE_MS, so this covers it too). */
#define WORKER_HEALTH_SILENCE_MS 2000
#define WORKER_DB_PROBE_MS 500
/* What one SQL statement adds to a request's cost (gql_cost.h): about as much work as
 * answering this many values. A query's root field issues one; a mutation's two (its
 * function, then the read of what it wrote). */
#define WORKER_STATEMENT_COST 100
/* The slot lag is read every this many stats ticks, by worker 0 only. */
#define WORKER_LAG_EVERY_TICKS 5

struct worker {
    app *server;
    int index;
    char index_text[16];
    struct event_base *base;
    http_server *http;
    int port;
    db_pool *pool;
    db_pool **replica_pools;    /* one per replica of server->replicas */
    unsigned replica_cursor;
    sync_wait *sync;
    executor_env env;
    gql_cost_rules cost_rules;
    token_cache *tokens;        /* NULL while authentication is off */
    token_cache_stats tokens_counted; /* what the auth cache metrics already show */
    struct event *drain_event;
    struct event *stats_timer;
    struct event *force_exit_timer;
    /* Requests handed to us by the HTTP layer whose reply is not yet written. */
    int in_flight;
    int connection_limit;
    bool draining;
    bool lag_in_flight;
    unsigned ticks;
    unsigned long request_counter;
    char id_prefix[16];         /* differs between runs, so ids do not repeat after a restart */
    pthread_t thread;
    bool started;
    /* What worker_add_status reads from the main thread: the requests answered, and the
     * figures the stats timer copies each tick (the rest of the worker is this thread's). */
    atomic_ullong answered;
    atomic_int shown_in_flight;
    atomic_int shown_pool_size;
    atomic_int shown_pool_connected;
    atomic_int shown_pool_busy;
    atomic_bool shown_pool_stalled;   /* the database does not answer in time */
    atomic_int shown_sync_pending;
    atomic_bool ever_connected;
};

/* The headers a reply adds besides X-Request-Id and Cache-Control: Allow, Retry-After,
 * Connection, X-Tvsync-Lsn and X-Tvsync-Node, each at most once. */
#define CALL_EXTRA_HEADERS 5

typedef struct http_call {
    worker *owner;
    http_request *request;
    http_header extra[CALL_EXTRA_HEADERS];
    size_t extra_count;
    graphql_http_media media;
    const char *operation;  /* "query", "mutation" or "none" */
    struct timespec started;
    char request_id[80];
    token_cache_hold identity;  /* who the request runs as; zeroed while authentication is off */
    char www_authenticate[256]; /* the header of a 401 for an invalid token */
    char lsn[LSN_FORMAT_SIZE];  /* X-Tvsync-Lsn */
} http_call;

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double) (now.tv_sec - start->tv_sec) + (double) (now.tv_nsec - start->tv_nsec) / 1e9;
}

/* A draining worker stops once it answered everything; the one that listens for
 * tvsync-cdc's progress (the sync_wait leader) only after the others stopped, since their
 * waiting mutations learn it from there. */
static void maybe_exit(worker *w)
{
    if (w->draining && w->in_flight == 0 && sync_wait_followers_stopped(w->sync))
        event_base_loopexit(w->base, NULL);
}

static void followers_stopped(void *arg)
{
    maybe_exit(arg);
}

/* A client-supplied X-Request-Id is echoed when it is short and printable. */
static void choose_request_id(worker *w, http_request *request, char *out, size_t size)
{
    const char *given = http_request_header(request, "X-Request-Id");
    if (given != NULL && *given != '\0' && strlen(given) < size) {
        bool printable = true;
        for (const char *p = given; *p; p++)
            printable = printable && *p > 0x20 && *p < 0x7f;
        if (printable) {
            snprintf(out, size, "%s", given);
            return;
        }
    }
    snprintf(out, size, "%s-%d-%lu", w->id_prefix, w->index, ++w->request_counter);
}

static void call_reply_error(http_call *call, int status, const char *reason, const char *message,
                             const char *code);

/* Contract: at most CALL_EXTRA_HEADERS per call (the code paths here add a fixed set). A
 * header past that is a bug in this file, not something a client can cause: it stops the
 * server with a message rather than leaving a header out of a reply. */
static void call_add_header(http_call *call, const char *name, const char *value)
{
    if (call->extra_count == CALL_EXTRA_HEADERS) {
        log_error("worker: response header %s is one more than the %d a reply may add", name, CALL_EXTRA_HEADERS);
        abort();
    }
    call->extra[call->extra_count++] = (http_header){name, value};
}

/* Every request the HTTP layer hands over is counted in flight until its reply is
 * written (done_cb); a draining worker waits for that. Connections over
 * server.max_connections never get here: the HTTP layer refuses them at accept. */
static http_call *call_begin(worker *w, http_request *request)
{
    http_call *call = alloc_calloc(1, sizeof *call);
    call->owner = w;
    call->request = request;
    call->operation = "none";
    call->media = GRAPHQL_HTTP_MEDIA_JSON;
    clock_gettime(CLOCK_MONOTONIC, &call->started);
    choose_request_id(w, request, call->request_id, sizeof call->request_id);
    prom_gauge_add(w->server->metrics.in_flight, NULL, 1);
    return call;
}

/* The HTTP layer wrote a reply (or dropped it: the client was gone). */
static void reply_done_cb(void *arg)
{
    worker *w = arg;
    w->in_flight--;
    maybe_exit(w);
}

/* A request the HTTP layer refused itself (malformed, too large, too slow). */
static void http_error_cb(void *arg, int status, const char *message)
{
    worker *w = arg;
    char status_text[8];
    snprintf(status_text, sizeof status_text, "%d", status);
    const char *labels[] = {"invalid", status_text};
    prom_counter_add(w->server->metrics.requests, labels, 1);
    log_info("http: %d %s", status, message);
}

/* Sends the response, records metrics and frees the call. */
static void call_reply(http_call *call, int status, const char *reason, const char *content_type,
                       const char *body, size_t length)
{
    worker *w = call->owner;
    http_header headers[2 + CALL_EXTRA_HEADERS] = {
        {"X-Request-Id", call->request_id},
        {"Cache-Control", "no-store"},
    };
    memcpy(headers + 2, call->extra, call->extra_count * sizeof *headers);
    /* A draining worker exits only once the reply is written (reply_done_cb). */
    http_reply(call->request, status, reason, content_type, headers, 2 + call->extra_count, body, length);

    char status_text[8];
    snprintf(status_text, sizeof status_text, "%d", status);
    const char *labels[] = {call->operation, status_text};
    prom_counter_add(w->server->metrics.requests, labels, 1);
    const char *operation[] = {call->operation};
    double seconds = seconds_since(&call->started);
    prom_histogram_observe(w->server->metrics.request_seconds, operation, seconds);
    prom_gauge_add(w->server->metrics.in_flight, NULL, -1);
    atomic_fetch_add_explicit(&w->answered, 1, memory_order_relaxed);
    log_debug("request %s: %s %d in %.3f ms", call->request_id, call->operation, status, seconds * 1000);
    token_cache_hold_release(&call->identity);
    free(call);
}

/* A request-level error: {"errors":[{"message":...}]} (400, 405, 406, 413, 415, 503). */
static void call_reply_error(http_call *call, int status, const char *reason, const char *message,
                             const char *code)
{
    gql_buf body;
    gql_buf_init(&body);
    gql_buf_puts(&body, "{\"errors\":[{\"message\":");
    gql_buf_json_string(&body, message, strlen(message));
    if (code != NULL) {
        gql_buf_puts(&body, ",\"extensions\":{\"code\":");
        gql_buf_json_string(&body, code, strlen(code));
        gql_buf_puts(&body, "}");
    }
    gql_buf_puts(&body, "}]}");
    /* 406 and 415 answer in application/json: the client accepts nothing better. */
    const char *type = status == 406 || status == 415 ? GRAPHQL_HTTP_JSON_TYPE : graphql_http_media_type(call->media);
    log_info("request %s: %d %s", call->request_id, status, message);
    call_reply(call, status, reason, type, body.data, body.len);
    gql_buf_free(&body);
}

static void executor_done_cb(void *arg, int http_status, gql_buf *body, const executor_answer *answer)
{
    http_call *call = arg;
    if (answer->lsn != 0)
        call_add_header(call, "X-Tvsync-Lsn", lsn_format(answer->lsn, call->lsn));
    /* Which node answered a query: for clients and tests that check where reads go. */
    if (answer->node >= -1 && replica_set_count(call->owner->server->replicas) > 0)
        call_add_header(call, "X-Tvsync-Node", replica_set_label(call->owner->server->replicas, answer->node));
    const char *reason = "OK";
    if (http_status == 401) {
        call_add_header(call, "WWW-Authenticate",
                        "Bearer error=\"invalid_token\", error_description=\"the token's role does not exist\"");
        reason = "Unauthorized";
    } else if (http_status == 403) {
        reason = "Forbidden";
    }
    call_reply(call, http_status, reason, graphql_http_media_type(call->media), body->data, body->len);
}

/* Errors before execution (syntax, validation, variables): 400 under
 * application/graphql-response+json, 200 under application/json (GraphQL over HTTP). */
static void reply_graphql_errors(http_call *call, cJSON *errors)
{
    gql_buf body;
    gql_buf_init(&body);
    gql_errors_write_response(errors, &body);
    cJSON_Delete(errors);
    bool strict = call->media == GRAPHQL_HTTP_MEDIA_GRAPHQL_RESPONSE;
    call_reply(call, strict ? 400 : 200, strict ? "Bad Request" : "OK", graphql_http_media_type(call->media),
               body.data, body.len);
    gql_buf_free(&body);
}

/* Checks the Bearer token before any work is spent on the request. False: answered 401
 * (RFC 6750: WWW-Authenticate names the scheme, and the error when a token was sent). The
 * token is never logged, only why it was refused. */
static bool call_authenticate(http_call *call)
{
    worker *w = call->owner;
    auth_keys *keys = auth_current_acquire(w->server->auth);
    auth_failure failure;
    auth_result result = token_cache_verify(w->tokens, keys, http_request_header(call->request, "Authorization"),
                                            time(NULL), &call->identity, &failure);
    auth_keys_release(keys);
    if (result == AUTH_OK)
        return true;
    const char *reason[] = {failure.reason};
    prom_counter_add(w->server->metrics.auth_refused, reason, 1);
    if (result == AUTH_MISSING) {
        call_add_header(call, "WWW-Authenticate", "Bearer");
        call_reply_error(call, 401, "Unauthorized", failure.description, "UNAUTHENTICATED");
        return false;
    }
    snprintf(call->www_authenticate, sizeof call->www_authenticate,
             "Bearer error=\"invalid_token\", error_description=\"%s\"", failure.description);
    call_add_header(call, "WWW-Authenticate", call->www_authenticate);
    char message[256];
    snprintf(message, sizeof message, "Invalid token: %s.", failure.description);
    call_reply_error(call, 401, "Unauthorized", message, "INVALID_TOKEN");
    return false;
}

/* A refusal before validation (answered as validation errors are): [{message, extensions: {code}}]. */
static cJSON *graphql_error_with_code(const char *message, const char *code)
{
    cJSON *errors = alloc_check(cJSON_CreateArray());
    gql_error_set_code(gql_error_append(errors, message), code);
    return errors;
}

static void graphql_cb(worker *w, http_request *request)
{
    http_call *call = call_begin(w, request);
    bool is_get = http_request_method_is(request, "GET");
    bool is_post = http_request_method_is(request, "POST");
    if (!is_get && !is_post) {
        call_add_header(call, "Allow", "GET, POST");
        call_reply_error(call, 405, "Method Not Allowed", "Use GET or POST for /graphql.", NULL);
        return;
    }
    bool wants_html = false;
    call->media = graphql_http_negotiate(http_request_header(request, "Accept"), &wants_html);
    if (is_get && wants_html && w->server->graphiql_serve != NULL &&
        w->server->graphiql_serve(request, w->server->graphiql_arg)) {
        /* The page was sent by the GraphiQL module (reply_done_cb follows once written). */
        const char *labels[] = {"graphiql", "200"};
        prom_counter_add(w->server->metrics.requests, labels, 1);
        prom_gauge_add(w->server->metrics.in_flight, NULL, -1);
        atomic_fetch_add_explicit(&w->answered, 1, memory_order_relaxed);
        free(call);
        return;
    }
    if (call->media == GRAPHQL_HTTP_MEDIA_NONE) {
        call_reply_error(call, 406, "Not Acceptable",
                         "Accept must allow application/graphql-response+json or application/json.", NULL);
        return;
    }
    /* The consistency token of an earlier mutation: read from a node that replayed it. */
    lsn_t min_lsn = 0;
    const char *min_lsn_text = http_request_header(request, "X-Tvsync-Min-Lsn");
    if (min_lsn_text != NULL && !lsn_parse(min_lsn_text, &min_lsn)) {
        char message[200];
        snprintf(message, sizeof message,
                 "X-Tvsync-Min-Lsn: \"%.40s\" is not an LSN; send the value of a mutation's X-Tvsync-Lsn header "
                 "(e.g. 0/1A2B3C)", min_lsn_text);
        call_reply_error(call, 400, "Bad Request", message, "BAD_REQUEST");
        return;
    }
    const auth_identity *identity = NULL;
    if (w->server->auth != NULL) {
        if (!call_authenticate(call))
            return;
        identity = token_cache_hold_identity(&call->identity);
    }
    graphql_http_params params;
    char error[300];
    bool parsed;
    if (is_post) {
        if (!graphql_http_content_type_ok(http_request_header(request, "Content-Type"))) {
            call_reply_error(call, 415, "Unsupported Media Type",
                             "POST /graphql needs Content-Type: application/json (UTF-8).", NULL);
            return;
        }
        /* The HTTP layer already refused bodies over server.max_body_bytes (413). */
        size_t length = 0;
        const char *data = http_request_body(request, &length);
        parsed = graphql_http_params_from_json(data, length, &params, error, sizeof error);
    } else {
        parsed = graphql_http_params_from_query(http_request_query(request), &params, error, sizeof error);
    }
    if (!parsed) {
        call_reply_error(call, 400, "Bad Request", error, "BAD_REQUEST");
        return;
    }
    app_schema *schema = app_schema_acquire(w->server);
    cJSON *errors = NULL;
    const char *document = NULL, *refusal = NULL;
    if (!persisted_operations_resolve(schema->persisted, params.query, params.extensions, &document, &refusal, error,
                                      sizeof error)) {
        app_schema_release(schema);
        graphql_http_params_free(&params);
        if (strcmp(refusal, "BAD_REQUEST") == 0)
            call_reply_error(call, 400, "Bad Request", error, refusal);
        else
            reply_graphql_errors(call, graphql_error_with_code(error, refusal));
        return;
    }
    gql_prepared *prepared = app_schema_prepare(schema, document, strlen(document), params.operation_name, &errors);
    if (prepared == NULL) {
        app_schema_release(schema);
        graphql_http_params_free(&params);
        reply_graphql_errors(call, errors);
        return;
    }
    gql_operation_type type = gql_prepared_operation_type(prepared);
    call->operation = type == GQL_OPERATION_MUTATION ? "mutation"
                      : type == GQL_OPERATION_QUERY  ? "query"
                                                     : "subscription";
    if (is_get && type == GQL_OPERATION_MUTATION) {
        gql_prepared_release(prepared);
        app_schema_release(schema);
        graphql_http_params_free(&params);
        call_add_header(call, "Allow", "POST");
        call_reply_error(call, 405, "Method Not Allowed", "Mutations must be sent with POST.", NULL);
        return;
    }
    gql_request *planned = gql_request_new(prepared, params.variables, &errors);
    gql_prepared_release(prepared);
    bool wait_for_sync = graphql_http_wait_for_sync(&params);
    graphql_http_params_free(&params);
    if (planned == NULL || !gql_cost_check(planned, &w->cost_rules, &errors)) {
        gql_request_free(planned);
        app_schema_release(schema);
        reply_graphql_errors(call, errors);
        return;
    }
    executor_run(&w->env, schema, planned, identity, wait_for_sync, min_lsn, call->request_id, executor_done_cb,
                 call);
}

/* Connections closed for not answering, or whose attempts hang, are a database that does
 * not answer too, not only a silence while connected. */
static bool pool_not_answering(worker *w, const db_pool_stats *stats, long *silence_ms)
{
    *silence_ms = db_pool_silence_ms(w->pool);
    return *silence_ms >= WORKER_HEALTH_SILENCE_MS ||
           (stats->connected == 0 && db_pool_error_classify(db_pool_last_error(w->pool)) == DB_POOL_ERROR_TIMEOUT);
}

/* The database's state as /health reports it: up only when a connection is open and the
 * database answered what waits for it recently. The reasons name no host, port or server
 * message (anyone who reaches the port reads them); the server log has those. */
static const char *health_database_state(worker *w, const db_pool_stats *stats, long *silence_ms,
                                         const char **reason)
{
    *reason = NULL;
    if (pool_not_answering(w, stats, silence_ms)) {
        *reason = "the database did not answer in time; it may be overloaded or stopped";
        return "not answering";
    }
    if (stats->connected == 0) {
        *reason = db_pool_last_error(w->pool)[0] != '\0'
                      ? "no connection to the database; the server log has the connection error"
                      : "connecting to the database";
        return "down";
    }
    return "up";
}

/* ,"replicas":[...]: each replica's state, lag and replayed progress (no host: anyone who
 * reaches the port reads this; the log names them). A replica down does not make the
 * server unhealthy: the primary answers its reads. */
static void health_replicas(worker *w, gql_buf *body)
{
    const replica_set *replicas = w->server->replicas;
    int count = replica_set_count(replicas);
    if (count == 0)
        return;
    gql_buf_puts(body, ",\"replicas\":[");
    for (int i = 0; i < count; i++) {
        replica_view view;
        replica_set_view(replicas, i, &view);
        char progress[LSN_FORMAT_SIZE];
        lsn_format(view.replayed_progress, progress);
        gql_buf_printf(body, "%s{\"replica\":\"%s\",\"state\":\"%s\",\"lag_seconds\":", i ? "," : "",
                       replica_set_label(replicas, i), replica_state_name(view.state));
        if (view.lag_seconds < 0)
            gql_buf_puts(body, "null");
        else
            gql_buf_printf(body, "%.3f", view.lag_seconds);
        gql_buf_printf(body, ",\"replayed_lsn\":\"%s\"}", progress);
    }
    gql_buf_puts(body, "]");
}

static void health_cb(worker *w, http_request *request)
{
    http_call *call = call_begin(w, request);
    call->operation = "health";
    db_pool_stats stats;
    db_pool_get_stats(w->pool, &stats);
    long silence_ms = 0;
    const char *reason = NULL;
    const char *database = health_database_state(w, &stats, &silence_ms, &reason);
    bool database_up = reason == NULL;
    char applied[LSN_FORMAT_SIZE];
    lsn_format(sync_wait_applied(w->sync), applied);
    gql_buf body;
    gql_buf_init(&body);
    gql_buf_printf(&body, "{\"status\":\"%s\",\"database\":\"%s\"", database_up ? "ok" : "unavailable",
                   database);
    if (reason != NULL) {
        gql_buf_puts(&body, ",\"error\":");
        gql_buf_json_string(&body, reason, strlen(reason));
        gql_buf_printf(&body, ",\"waiting_ms\":%ld", silence_ms);
    }
    gql_buf_printf(&body, ",\"listener\":\"%s\",\"applied_lsn\":\"%s\",\"slot_lag_bytes\":%lld,"
                          "\"pool\":{\"size\":%d,\"connected\":%d,\"busy\":%d,\"queued\":%zu}",
                   sync_wait_listening(w->sync) ? "up" : "down", applied,
                   (long long) atomic_load(&w->server->slot_lag_bytes), stats.size, stats.connected, stats.busy,
                   stats.queued);
    health_replicas(w, &body);
    gql_buf_puts(&body, "}");
    call_reply(call, database_up ? 200 : 503, database_up ? "OK" : "Service Unavailable", GRAPHQL_HTTP_JSON_TYPE,
               body.data, body.len);
    gql_buf_free(&body);
}

static void update_pool_gauges(worker *w)
{
    db_pool_stats stats;
    db_pool_get_stats(w->pool, &stats);
    atomic_store(&w->shown_in_flight, w->in_flight);
    atomic_store(&w->shown_pool_size, stats.size);
    atomic_store(&w->shown_pool_connected, stats.connected);
    atomic_store(&w->shown_pool_busy, stats.busy);
    long silence_ms;
    atomic_store(&w->shown_pool_stalled, pool_not_answering(w, &stats, &silence_ms));
    atomic_store(&w->shown_sync_pending, sync_wait_pending(w->sync));
    if (stats.connected > 0)
        atomic_store(&w->ever_connected, true);
    app_metrics *metrics = &w->server->metrics;
    const char *size[] = {w->index_text, "size"};
    const char *connected[] = {w->index_text, "connected"};
    const char *busy[] = {w->index_text, "busy"};
    const char *worker_label[] = {w->index_text};
    prom_gauge_set(metrics->pool_connections, size, stats.size);
    prom_gauge_set(metrics->pool_connections, connected, stats.connected);
    prom_gauge_set(metrics->pool_connections, busy, stats.busy);
    prom_gauge_set(metrics->pool_queued, worker_label, (double) stats.queued);
    if (w->tokens != NULL) {
        /* Counted by the cache without a lock per request; shown here, once a tick. */
        token_cache_stats tokens;
        token_cache_get_stats(w->tokens, &tokens);
        prom_counter_add(metrics->auth_cache_hits, NULL, (double) (tokens.hits - w->tokens_counted.hits));
        prom_counter_add(metrics->auth_cache_misses, NULL, (double) (tokens.misses - w->tokens_counted.misses));
        w->tokens_counted = tokens;
    }
}

static void update_replica_gauges(worker *w)
{
    const replica_set *replicas = w->server->replicas;
    app_metrics *metrics = &w->server->metrics;
    static const replica_state states[] = {REPLICA_UP, REPLICA_LAGGING, REPLICA_DOWN};
    for (int i = 0; i < replica_set_count(replicas); i++) {
        replica_view view;
        replica_set_view(replicas, i, &view);
        const char *label[] = {replica_set_label(replicas, i), NULL};
        for (size_t s = 0; s < sizeof states / sizeof states[0]; s++) {
            label[1] = replica_state_name(states[s]);
            prom_gauge_set(metrics->replica_up, label, view.state == states[s] ? 1 : 0);
        }
        prom_gauge_set(metrics->replica_lag_seconds, label, view.lag_seconds < 0 ? 0 : view.lag_seconds);
        prom_gauge_set(metrics->replica_replayed_lsn, label, (double) view.replayed_progress);
    }
}

static void metrics_cb(worker *w, http_request *request)
{
    http_call *call = call_begin(w, request);
    call->operation = "metrics";
    update_pool_gauges(w);
    update_replica_gauges(w);
    app_schema *schema = app_schema_acquire(w->server);
    gql_plan_cache_stats cache;
    gql_plan_cache_get_stats(schema->cache, &cache);
    app_schema_release(schema);
    app_metrics *metrics = &w->server->metrics;
    const char *hits[] = {"hits"}, *misses[] = {"misses"}, *evictions[] = {"evictions"}, *entries[] = {"entries"};
    prom_gauge_set(metrics->plan_cache, hits, (double) cache.hits);
    prom_gauge_set(metrics->plan_cache, misses, (double) cache.misses);
    prom_gauge_set(metrics->plan_cache, evictions, (double) cache.evictions);
    prom_gauge_set(metrics->plan_cache, entries, (double) cache.entries);
    size_t length = 0;
    char *text = prom_render(w->server->registry, &length);
    call_reply(call, 200, "OK", PROM_CONTENT_TYPE, text, length);
    free(text);
}

static void other_cb(worker *w, http_request *request)
{
    http_call *call = call_begin(w, request);
    call_reply_error(call, 404, "Not Found", "Not found: tvsync-server answers /graphql, /health and /metrics.",
                     NULL);
}

/* Every request the HTTP layer hands over: routed by path (the query string aside). */
static void request_cb(http_request *request, void *arg)
{
    worker *w = arg;
    w->in_flight++;
    const char *path = http_request_path(request);
    if (strcmp(path, "/graphql") == 0)
        graphql_cb(w, request);
    else if (strcmp(path, "/health") == 0)
        health_cb(w, request);
    else if (strcmp(path, "/metrics") == 0)
        metrics_cb(w, request);
    else
        other_cb(w, request);
}

static void lag_cb(void *arg, const PGresult *result, const char *error)
{
    worker *w = arg;
    w->lag_in_flight = false;
    long long lag = -1;
    if (error == NULL && PQntuples(result) == 1 && !PQgetisnull(result, 0, 0))
        lag = strtoll(PQgetvalue(result, 0, 0), NULL, 10);
    atomic_store(&w->server->slot_lag_bytes, lag);
    if (lag >= 0)
        prom_set(w->server->metrics.slot_lag_bytes, (double) lag);
}

static void stats_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    worker *w = arg;
    update_pool_gauges(w);
    if (w->index == 0 && w->ticks++ % WORKER_LAG_EVERY_TICKS == 0 && !w->lag_in_flight) {
        db_pool_stats stats;
        db_pool_get_stats(w->pool, &stats);
        if (stats.connected > 0) {
            const char *params[] = {w->server->config->slot.name};
            w->lag_in_flight = true;
            db_pool_submit(w->pool,
                           "SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint "
                           "FROM pg_replication_slots WHERE slot_name = $1",
                           1, params, 0, lag_cb, w);
        }
    }
}

static void force_exit_cb(evutil_socket_t fd, short what, void *arg)
{
    worker *w = arg;
    log_warning("worker %d: %d requests still running after the drain timeout; stopping anyway", w->index,
                w->in_flight);
    event_base_loopexit(w->base, NULL);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
    worker *w = arg;
    if (w->draining)
        return;
    w->draining = true;
    /* No new connections; idle keep-alive ones are closed, busy ones after their reply. */
    http_server_drain(w->http);
    int limit_ms = w->server->config->server.request_timeout_ms + w->server->config->server.sync_wait_timeout_ms;
    struct timeval limit = {limit_ms / 1000, (limit_ms % 1000) * 1000};
    evtimer_add(w->force_exit_timer, &limit);
    maybe_exit(w);
}

static evutil_socket_t bind_reuseport(const char *host, int port, bool exclusive_probe)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *addresses = NULL;
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    int rc = getaddrinfo(*host ? host : NULL, port_text, &hints, &addresses);
    if (rc != 0) {
        log_error("cannot resolve listen address %s:%d: %s", host, port, gai_strerror(rc));
        return -1;
    }
    evutil_socket_t fd = -1;
    for (struct addrinfo *a = addresses; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        int on = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        if (exclusive_probe && port != 0) {
            /* SO_REUSEPORT would let us share the port with another process of the same
             * user (a stale tvsync-server) that would then get half the connections:
             * bind once without it first, so a port in use is an error. */
            if (bind(fd, a->ai_addr, a->ai_addrlen) != 0) {
                log_error("cannot listen on %s:%d: %s", host, port, strerror(errno));
                close(fd);
                fd = -1;
                break;
            }
            close(fd);
            fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
            if (fd < 0)
                continue;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        }
        /* Each worker binds its own socket to the same port; the kernel spreads connections. */
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0 ||
            bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
            log_error("cannot listen on %s:%d: %s", host, port, strerror(errno));
            close(fd);
            fd = -1;
            break;
        }
    }
    freeaddrinfo(addresses);
    return fd;
}

static int bound_port(evutil_socket_t fd)
{
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    if (getsockname(fd, (struct sockaddr *) &address, &length) != 0)
        return -1;
    if (address.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *) &address)->sin6_port);
    return ntohs(((struct sockaddr_in *) &address)->sin_port);
}

worker *worker_new(app *server, int index, int worker_count, const char *host, int port)
{
    worker *w = alloc_calloc(1, sizeof *w);
    w->server = server;
    w->index = index;
    snprintf(w->index_text, sizeof w->index_text, "%d", index);
    snprintf(w->id_prefix, sizeof w->id_prefix, "%06lx", ((unsigned long) time(NULL) ^ (unsigned long) getpid() << 8) & 0xffffff);
    /* The HTTP layer keeps each connection's read event registered and writes replies at
     * once, so a keep-alive request changes no epoll registration (no changelist needed). */
    w->base = alloc_check(event_base_new());
    evutil_socket_t fd = bind_reuseport(host, port, index == 0);
    if (fd < 0) {
        event_base_free(w->base);
        free(w);
        return NULL;
    }
    w->port = bound_port(fd);
    /* The limit counts every worker's connections (server->admission): the kernel spreads
     * connections over the SO_REUSEPORT sockets by address hash, not by load. */
    w->connection_limit = server->config->server.max_connections;
    const tvsync_config *config = server->config;
    http_server_options options = {
        .request_timeout_ms = config->server.request_timeout_ms,
        .max_body_bytes = config->server.max_body_bytes,
        .max_connections = w->connection_limit,
        .admission = &server->admission,
        .refused_metric = server->metrics.connections_refused,
        .idle_closed_metric = server->metrics.idle_connections_closed,
        .handler = request_cb,
        .done = reply_done_cb,
        .error = http_error_cb,
        .arg = w,
    };
    w->http = http_server_new(w->base, fd, &options);
    if (w->http == NULL) {
        log_error("worker %d: cannot watch its listening socket", index);
        event_base_free(w->base);
        free(w);
        return NULL;
    }

    char application_name[64];
    snprintf(application_name, sizeof application_name, "tvsync-server w%d", index);
    /* PostgreSQL ends a statement that runs too long (statement_timeout); the pool's
     * deadline covers a database that cannot even do that (stopped, unreachable). */
    char setup_sql[96];
    snprintf(setup_sql, sizeof setup_sql, "SET statement_timeout = %d", config->server.statement_timeout_ms);
    w->pool = db_pool_new(w->base, config->database.url, application_name, config->server.pool_size,
                          config->database.connect_timeout_ms, setup_sql, config->server.request_deadline_ms);
    db_pool_set_deadline(w->pool, config->server.request_deadline_ms, WORKER_DB_PROBE_MS);
    int replica_count = replica_set_count(server->replicas);
    if (replica_count > 0) {
        /* Each replica gets a pool of server.pool_size, like the primary: queries move there. */
        w->replica_pools = alloc_calloc((size_t) replica_count, sizeof *w->replica_pools);
        for (int i = 0; i < replica_count; i++) {
            snprintf(application_name, sizeof application_name, "tvsync-server w%d %s", index,
                     replica_set_label(server->replicas, i));
            w->replica_pools[i] = db_pool_new(w->base, replica_set_url(server->replicas, i), application_name,
                                              config->server.pool_size, config->database.connect_timeout_ms,
                                              setup_sql, config->server.request_deadline_ms);
            db_pool_set_deadline(w->replica_pools[i], config->server.request_deadline_ms, 0);
        }
        if (index == 0)
            replica_set_start_prober(server->replicas, w->base);
    }
    w->sync = sync_wait_new(w->base, server->sync_hub, config->database.url, config->slot.name,
                            config->database.connect_timeout_ms);
    sync_wait_on_followers_stopped(w->sync, followers_stopped, w);
    w->cost_rules = (gql_cost_rules){
        .max_cost = (uint64_t) config->server.max_request_cost,
        .query_root_cost = WORKER_STATEMENT_COST,
        .mutation_root_cost = 2 * WORKER_STATEMENT_COST,
        .default_list_limit = config->server.max_limit,
        .max_list_limit = config->server.max_limit,
        .introspection = config->server.introspection,
    };
    if (server->auth != NULL)
        w->tokens = token_cache_new(TOKEN_CACHE_ENTRIES);
    w->env.server = server;
    w->env.pool = w->pool;
    w->env.sync = w->sync;
    w->env.base = w->base;
    w->env.replicas = server->replicas;
    w->env.replica_pools = w->replica_pools;
    w->env.replica_cursor = &w->replica_cursor;
    w->drain_event = alloc_check(event_new(w->base, -1, 0, drain_cb, w));
    w->force_exit_timer = alloc_check(evtimer_new(w->base, force_exit_cb, w));
    w->stats_timer = alloc_check(event_new(w->base, -1, EV_PERSIST, stats_timer_cb, w));
    struct timeval interval = {WORKER_STATS_INTERVAL_MS / 1000, (WORKER_STATS_INTERVAL_MS % 1000) * 1000};
    event_add(w->stats_timer, &interval);
    update_pool_gauges(w); /* the first STATUS line already knows the pool size */
    return w;
}

int worker_port(const worker *w)
{
    return w->port;
}

void worker_add_status(worker *w, server_status *status)
{
    int connected = atomic_load(&w->shown_pool_connected);
    bool stalled = atomic_load(&w->shown_pool_stalled);
    status->workers++;
    status->workers_connected += connected > 0 && !stalled;
    status->workers_not_answered += stalled;
    status->ever_connected = status->ever_connected || atomic_load(&w->ever_connected);
    status->requests += atomic_load_explicit(&w->answered, memory_order_relaxed);
    status->in_flight += atomic_load(&w->shown_in_flight);
    status->pool_size += atomic_load(&w->shown_pool_size);
    status->pool_connected += connected;
    status->pool_busy += atomic_load(&w->shown_pool_busy);
    status->sync_pending += atomic_load(&w->shown_sync_pending);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    event_base_dispatch(w->base);
    sync_wait_follower_running(w->sync, false);
    return NULL;
}

bool worker_start(worker *w)
{
    sync_wait_follower_running(w->sync, true);
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    if (rc != 0) {
        sync_wait_follower_running(w->sync, false);
        log_error("cannot start worker thread %d: %s", w->index, strerror(rc));
        return false;
    }
    w->started = true;
    return true;
}

void worker_drain(worker *w)
{
    event_active(w->drain_event, EV_TIMEOUT, 0);
}

void worker_join_free(worker *w)
{
    if (w == NULL)
        return;
    if (w->started)
        pthread_join(w->thread, NULL);
    event_free(w->drain_event);
    event_free(w->force_exit_timer);
    event_free(w->stats_timer);
    /* Waiters first (a timed-out mutation still queues its read), then the pool (its
     * statements fail and their requests are answered), then HTTP. */
    sync_wait_free(w->sync);
    if (w->index == 0)
        replica_set_stop_prober(w->server->replicas);
    for (int i = 0; i < replica_set_count(w->server->replicas) && w->replica_pools != NULL; i++)
        db_pool_free(w->replica_pools[i]);
    free(w->replica_pools);
    db_pool_free(w->pool);
    http_server_free(w->http);
    token_cache_free(w->tokens);
    event_base_free(w->base);
    free(w);
}
