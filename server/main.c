/* tvsync-server: GraphQL over HTTP for the tvsync read models. Reads come from tv_*,
 * writes go through SQL functions and are answered after tvsync-cdc applied them. */
#include <config.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "common/alloc.h"
#include "common/cli.h"
#include "common/config.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "common/notify.h"
#include "server/app.h"
#include "server/auth/auth.h"
#include "server/graphiql/graphiql.h"
#include "server/status.h"
#include "server/sync_wait.h"
#include "server/replica.h"
#include "server/worker.h"

/* STATUS= is sent this often, and at once when the database goes or returns (checked
 * every second; the workers refresh their figures every second too). */
#define SERVER_STATUS_INTERVAL_SECONDS 5
#define SERVER_STATUS_CHECK_MS 1000

static const cli_option server_options[] = {
    {"listen", "HOST:PORT", "server.listen", "address to serve HTTP on (default 127.0.0.1:8080)"},
    {"schema", "FILE", "server.schema", "GraphQL SDL file of your domain (required; no default)"},
    {NULL, NULL, NULL, NULL},
};

static const cli_program server_program = {
    .name = "tvsync-server",
    .synopsis = "[OPTION]...",
    .description =
        "Serves GraphQL over HTTP on /graphql (POST, and GET for queries), with /health and /metrics.\n"
        "Queries read the tv_* read models; mutations call the SQL functions named in the schema,\n"
        "publish their sync intents in the same transaction and answer once tvsync-cdc applied them.\n"
        "A request may skip that wait with \"extensions\": {\"tvsync\": {\"waitForSync\": false}}.\n"
        "Signals: SIGHUP reloads the schema and the jwt_key_file (a bad one is logged and the old one kept);\n"
        "SIGTERM and SIGINT stop accepting, answer the requests in flight, then exit 0.",
    .commands_help = NULL,
    .options = server_options,
    .log_section = "server",
};

typedef struct server_main {
    app server;
    cli_state cli;
    worker **workers;
    int worker_count;
    struct event_base *base;
    struct event *watchdog_timer;
    struct event *status_timer;
    char listen[300];               /* host:port actually served */
    server_status status_sent;      /* figures of the last STATUS= line */
    struct timespec status_sent_at;
    bool status_sent_once;
    bool stopping;
} server_main;

static double seconds_between(const struct timespec *from, const struct timespec *to)
{
    return (double) (to->tv_sec - from->tv_sec) + (double) (to->tv_nsec - from->tv_nsec) / 1e9;
}

/* Sends STATUS= when forced, when the state changed, or when the interval passed. */
static void status_update(server_main *main_state, bool force)
{
    server_status now;
    memset(&now, 0, sizeof now);
    for (int i = 0; i < main_state->worker_count; i++)
        worker_add_status(main_state->workers[i], &now);
    now.slot_lag_bytes = atomic_load(&main_state->server.slot_lag_bytes);
    now.draining = main_state->stopping;
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    const server_status *before = main_state->status_sent_once ? &main_state->status_sent : NULL;
    double seconds = before ? seconds_between(&main_state->status_sent_at, &at) : 0;
    bool changed = before && server_status_changed(before, &now);
    if (!force && !changed && seconds < SERVER_STATUS_INTERVAL_SECONDS)
        return;
    char text[512];
    server_status_format(&now, before, seconds, main_state->listen, text, sizeof text);
    notify_status("%s", text);
    if (changed)
        log_info("status: %s", text);
    main_state->status_sent = now;
    main_state->status_sent_at = at;
    main_state->status_sent_once = true;
}

static void status_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    status_update(arg, false);
}

static void reload_cb(evutil_socket_t signal_number, short what, void *arg)
{
    server_main *main_state = arg;
    notify_reloading();
    const char *path = main_state->server.config->server.schema;
    char error[1024];
    app_schema_failure failure;
    app_schema *schema = app_schema_load(path, main_state->server.config, &failure, error, sizeof error);
    if (schema == NULL) {
        log_error("SIGHUP: keeping the current schema: %s", error);
        const char *label[] = {"failed"};
        prom_counter_add(main_state->server.metrics.schema_reloads, label, 1);
    } else {
        app_schema_replace(&main_state->server, schema);
        log_info("SIGHUP: schema reloaded from %s", path);
        const char *label[] = {"ok"};
        prom_counter_add(main_state->server.metrics.schema_reloads, label, 1);
    }
    /* Keys rotate on their own schedule: a bad schema does not stop new keys, nor the reverse. */
    if (main_state->server.auth != NULL) {
        auth_keys *keys = auth_keys_load(main_state->server.config, error, sizeof error);
        const char *label[] = {keys != NULL ? "ok" : "failed"};
        prom_counter_add(main_state->server.metrics.auth_reloads, label, 1);
        if (keys == NULL) {
            log_error("SIGHUP: keeping the current JWT keys: %s", error);
        } else {
            log_info("SIGHUP: JWT keys reloaded: %s", auth_keys_summary(keys));
            auth_current_replace(main_state->server.auth, keys);
        }
    }
    notify_ready();
}

static void stop_cb(evutil_socket_t signal_number, short what, void *arg)
{
    server_main *main_state = arg;
    if (main_state->stopping)
        return;
    main_state->stopping = true;
    log_info("received %s: answering the requests in flight, then exiting",
             signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    notify_stopping();
    status_update(main_state, true);
    atomic_store(&main_state->server.draining, true);
    for (int i = 0; i < main_state->worker_count; i++)
        worker_drain(main_state->workers[i]);
    event_base_loopexit(main_state->base, NULL);
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    notify_watchdog();
}

static int online_cpus(void)
{
    long count = sysconf(_SC_NPROCESSORS_ONLN);
    return count > 0 ? (int) count : 1;
}

int main(int argc, char **argv)
{
    log_init("tvsync-server");
    server_main state;
    memset(&state, 0, sizeof state);
    tvsync_config *config = alloc_calloc(1, sizeof *config);
    int exit_code = cli_load(&server_program, argc, argv, &state.cli, config);
    if (exit_code >= 0) {
        free(config);
        return exit_code;
    }
    if (state.cli.operand_count > 0) {
        exit_code = cli_usage_error(&state.cli, "unexpected argument '%s'", state.cli.operands[0]);
        goto done_config;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Workers are woken from the main thread (drain), so libevent needs its locks. */
    if (evthread_use_pthreads() != 0) {
        log_error("libevent has no pthreads support");
        exit_code = TVSYNC_EXIT_SOFTWARE;
        goto done_config;
    }

    /* 1. The schema: a bad one is a configuration error, before anything listens. */
    app *server = &state.server;
    server->config = config;
    char error[1024];
    if (!config->server.schema || !*config->server.schema) {
        /* No production default: serving the blog's schema against another domain would fail per request. */
        log_error("no schema given: name your GraphQL SDL file with --schema FILE, --set server.schema=FILE "
                  "or [server] schema (an example: " TVSYNC_PKGDATADIR "/examples/blog/schema.graphql)");
        exit_code = TVSYNC_EXIT_CONFIG;
        goto done_config;
    }
    if (config->server.statement_timeout_ms >= config->server.request_deadline_ms)
        log_warning("server.statement_timeout (%d ms) is not below server.request_deadline (%d ms): a slow "
                    "statement will be cut by the deadline and its connection reset instead of being canceled by "
                    "PostgreSQL; set statement_timeout lower", config->server.statement_timeout_ms,
                    config->server.request_deadline_ms);
    server->replicas = replica_set_new(config, error, sizeof error);
    if (server->replicas == NULL) {
        log_error("%s", error);
        exit_code = TVSYNC_EXIT_CONFIG;
        goto done_config;
    }
    for (int i = 0; i < replica_set_count(server->replicas); i++)
        log_info("queries may be answered by replica %d: %s", i + 1, replica_set_url(server->replicas, i));
    app_schema_failure failure;
    app_schema *schema = app_schema_load(config->server.schema, config, &failure, error, sizeof error);
    if (schema == NULL) {
        log_error("%s", error);
        exit_code = failure == APP_SCHEMA_DATABASE ? TVSYNC_EXIT_DATABASE : TVSYNC_EXIT_CONFIG;
        goto done_config;
    }
    pthread_mutex_init(&server->schema_lock, NULL);
    server->schema = schema;
    /* Authentication: a key file that cannot be used stops the start, like a bad schema. */
    if (auth_configured(config)) {
        auth_keys *keys = auth_keys_load(config, error, sizeof error);
        if (keys == NULL) {
            log_error("%s", error);
            exit_code = TVSYNC_EXIT_CONFIG;
            app_schema_release(schema);
            pthread_mutex_destroy(&server->schema_lock);
            goto done_config;
        }
        log_info("authentication: %s", auth_keys_summary(keys));
        server->auth = auth_current_new(keys);
    } else {
        log_warning("authentication is off (no [server] jwt_key_file or anonymous_role): every client that reaches "
                    "the port may run every query and mutation");
    }
    atomic_init(&server->draining, false);
    atomic_init(&server->slot_lag_bytes, -1);
    server->registry = prom_registry_new();
    app_metrics_init(&server->metrics, server->registry);
    /* GraphiQL for browsers (GET /graphql with Accept: text/html); without its page the
     * server still answers GraphQL. */
    graphiql_page *graphiql = graphiql_page_load(NULL);
    if (graphiql != NULL) {
        server->graphiql_serve = graphiql_serve_hook;
        server->graphiql_arg = graphiql;
    } else {
        log_warning("GraphiQL page not found: GET /graphql from a browser is answered as GraphQL");
    }

    /* 2. The listeners: worker 0 binds (port 0 picks one), the others share its port. */
    char host[256];
    int port;
    if (!config_parse_listen(config->server.listen, host, sizeof host, &port)) {
        log_error("server.listen: \"%s\" is not HOST:PORT", config->server.listen);
        exit_code = TVSYNC_EXIT_CONFIG;
        goto done_server;
    }
    state.worker_count = config->server.threads > 0 ? config->server.threads : online_cpus();
    server->sync_hub = sync_hub_new();
    state.workers = alloc_calloc((size_t) state.worker_count, sizeof *state.workers);
    for (int i = 0; i < state.worker_count; i++) {
        state.workers[i] = worker_new(server, i, state.worker_count, host, port);
        if (state.workers[i] == NULL) {
            exit_code = TVSYNC_EXIT_FAILURE;
            goto done_workers;
        }
        port = worker_port(state.workers[i]);
    }

    /* 3. Signals and the watchdog on the main thread's own loop. */
    state.base = alloc_check(event_base_new());
    struct event *hup = alloc_check(evsignal_new(state.base, SIGHUP, reload_cb, &state));
    struct event *term = alloc_check(evsignal_new(state.base, SIGTERM, stop_cb, &state));
    struct event *interrupt = alloc_check(evsignal_new(state.base, SIGINT, stop_cb, &state));
    event_add(hup, NULL);
    event_add(term, NULL);
    event_add(interrupt, NULL);
    uint64_t watchdog_usec = notify_watchdog_usec();
    if (watchdog_usec > 0) {
        state.watchdog_timer = alloc_check(event_new(state.base, -1, EV_PERSIST, watchdog_cb, NULL));
        struct timeval half = {(time_t) (watchdog_usec / 2 / 1000000), (suseconds_t) (watchdog_usec / 2 % 1000000)};
        event_add(state.watchdog_timer, &half);
    }
    state.status_timer = alloc_check(event_new(state.base, -1, EV_PERSIST, status_timer_cb, &state));
    struct timeval check = {SERVER_STATUS_CHECK_MS / 1000, (SERVER_STATUS_CHECK_MS % 1000) * 1000};
    event_add(state.status_timer, &check);

    /* 4. Start serving. */
    for (int i = 0; i < state.worker_count; i++) {
        if (!worker_start(state.workers[i])) {
            exit_code = TVSYNC_EXIT_SOFTWARE;
            for (int j = 0; j < i; j++)
                worker_drain(state.workers[j]);
            goto done_loop;
        }
    }
    log_info("listening on http://%s:%d/graphql with %d worker threads, schema %s", host, port,
             state.worker_count, config->server.schema);
    notify_ready();
    snprintf(state.listen, sizeof state.listen, "%s:%d", host, port);
    status_update(&state, true);
    event_base_dispatch(state.base);
    exit_code = TVSYNC_EXIT_OK;

done_loop:
    for (int i = 0; i < state.worker_count; i++) {
        worker_join_free(state.workers[i]);
        state.workers[i] = NULL;
    }
    event_free(hup);
    event_free(term);
    event_free(interrupt);
    if (state.watchdog_timer)
        event_free(state.watchdog_timer);
    event_free(state.status_timer);
    event_base_free(state.base);
    if (exit_code == TVSYNC_EXIT_OK)
        log_info("stopped");
done_workers:
    for (int i = 0; i < state.worker_count; i++)
        if (state.workers[i] != NULL)
            worker_join_free(state.workers[i]);
    free(state.workers);
    sync_hub_free(server->sync_hub);
done_server:
    graphiql_page_free(server->graphiql_arg);
    app_schema_release(server->schema);
    auth_current_free(server->auth);
    prom_registry_free(server->registry);
    pthread_mutex_destroy(&server->schema_lock);
done_config:
    replica_set_free(server->replicas);
    cli_state_free(&state.cli);
    config_free(config);
    free(config);
    return exit_code;
}
