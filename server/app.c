/* app: shared server state: schema loading and swapping under a mutex with reference
 * counts, so a SIGHUP never pulls a schema from under a running request. */
#include <config.h>

#include "server/app.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/pg.h"
#include "declare/decl_catalog.h"
#include "declare/decl_model.h"
#include "server/auth/auth.h"
#include "server/graphql/gql_parser.h"
#include "server/persisted_operations.h"
#include "server/schema_check.h"
#include "server/schema_derive.h"

/* Distinct (document, operation name) pairs kept prepared per schema. */
#define APP_PLAN_CACHE_ENTRIES 1024

static char *read_file(const char *path, size_t *length, char *error, size_t error_size)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        snprintf(error, error_size, "cannot open schema %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t capacity = 65536, used = 0;
    char *data = alloc_malloc(capacity);
    for (;;) {
        size_t got = fread(data + used, 1, capacity - used - 1, file);
        used += got;
        if (got == 0)
            break;
        if (capacity - used < 2) {
            capacity *= 2;
            data = alloc_realloc(data, capacity);
        }
    }
    bool failed = ferror(file);
    fclose(file);
    if (failed) {
        snprintf(error, error_size, "cannot read schema %s", path);
        free(data);
        return NULL;
    }
    data[used] = '\0';
    *length = used;
    return data;
}

/* The read models the file declares, against the tables they name (tvsync-migrate generate
 * runs the same checks): a declaration the database contradicts is found at start. A file
 * that does not parse has no declarations here; the schema build reports it. */
static bool check_declarations(const char *sdl, size_t length, PGconn *conn, const char *path, char *error,
                               size_t error_size)
{
    gql_arena arena;
    gql_arena_init(&arena);
    gql_limits limits = {SIZE_MAX / 4, SIZE_MAX / 4, 512};
    gql_parse_error parse_error;
    bool ok = true;
    ast_document *doc = gql_parse(&arena, sdl, length, &limits, &parse_error);
    decl_model *model = doc ? decl_model_read(&arena, doc, path, error, error_size) : NULL;
    if (doc != NULL && model == NULL) {
        ok = false;
    } else if (model != NULL && model->type_count > 0) {
        char load_error[512];
        decl_catalog *catalog = decl_catalog_load(conn, model, load_error, sizeof load_error);
        if (catalog == NULL) {
            snprintf(error, error_size, "%s: checking the read-model declarations against the database failed: %s",
                     path, load_error);
            ok = false;
        } else {
            ok = decl_catalog_check(model, catalog, error, error_size);
            decl_catalog_free(catalog);
        }
    }
    gql_arena_free(&arena);
    return ok;
}

/* The check runs as the pool's role would: the same URL, so the same role and settings.
 * With authentication that role is an authenticator whose requests take other roles:
 * their grants decide per request, so privileges are not checked. */
static bool check_against_database(schema_map *map, const char *sdl, size_t length, const char *path,
                                   const tvsync_config *config, app_schema_failure *failure, char *error,
                                   size_t error_size)
{
    pg_error_kind kind;
    char connect_error[512];
    PGconn *conn = pg_connect(config->database.url, "tvsync-server schema check", PG_CONNECT_NORMAL,
                              config->database.connect_timeout_ms, &kind, connect_error, sizeof connect_error);
    if (conn == NULL) {
        *failure = APP_SCHEMA_DATABASE;
        snprintf(error, error_size, "%s: cannot check the schema against the database: %s", path, connect_error);
        return false;
    }
    *failure = APP_SCHEMA_INVALID;
    bool ok = check_declarations(sdl, length, conn, path, error, error_size) &&
              schema_check(map, conn, path, !auth_configured(config), error, error_size);
    if (!ok && PQstatus(conn) != CONNECTION_OK)
        *failure = APP_SCHEMA_DATABASE;
    PQfinish(conn);
    return ok;
}

app_schema *app_schema_load(const char *path, const tvsync_config *config, app_schema_failure *failure,
                            char *error, size_t error_size)
{
    *failure = APP_SCHEMA_INVALID;
    size_t length;
    char *sdl = read_file(path, &length, error, error_size);
    if (sdl == NULL)
        return NULL;
    /* Read-model declarations become the SDL the rest of the server knows (schema_derive.h). */
    gql_buf derived;
    gql_buf_init(&derived);
    bool derived_ok = schema_derive(sdl, length, path, &derived, error, error_size);
    if (!derived_ok) {
        gql_buf_free(&derived);
        free(sdl);
        return NULL;
    }
    char *parse_error = NULL;
    gql_schema *schema = gql_schema_parse(derived.data, derived.len, &parse_error);
    gql_buf_free(&derived);
    if (schema == NULL) {
        snprintf(error, error_size, "schema %s: %s", path, parse_error ? parse_error : "invalid");
        free(parse_error);
        free(sdl);
        return NULL;
    }
    char map_error[512];
    schema_map *map = schema_map_new(schema, map_error, sizeof map_error);
    if (map == NULL) {
        snprintf(error, error_size, "schema %s: %s", path, map_error);
        gql_schema_free(schema);
        free(sdl);
        return NULL;
    }
    bool checked = check_against_database(map, sdl, length, path, config, failure, error, error_size);
    free(sdl);
    if (!checked) {
        schema_map_free(map);
        gql_schema_free(schema);
        return NULL;
    }
    persisted_operations *persisted = NULL;
    if (config->server.persisted_operations[0] != '\0') {
        *failure = APP_SCHEMA_INVALID;
        persisted = persisted_operations_load(config->server.persisted_operations, error, error_size);
        if (persisted == NULL) {
            schema_map_free(map);
            gql_schema_free(schema);
            return NULL;
        }
        log_info("server.persisted_operations: only the %zu documents of %s are served",
                 persisted_operations_count(persisted), config->server.persisted_operations);
    }
    app_schema *loaded = alloc_calloc(1, sizeof *loaded);
    loaded->schema = schema;
    loaded->map = map;
    loaded->cache = gql_plan_cache_new(schema, APP_PLAN_CACHE_ENTRIES, NULL);
    loaded->persisted = persisted;
    atomic_init(&loaded->references, 1);
    return loaded;
}

app_schema *app_schema_acquire(app *server)
{
    pthread_mutex_lock(&server->schema_lock);
    app_schema *schema = server->schema;
    atomic_fetch_add(&schema->references, 1);
    pthread_mutex_unlock(&server->schema_lock);
    return schema;
}

void app_schema_release(app_schema *schema)
{
    if (schema == NULL || atomic_fetch_sub(&schema->references, 1) != 1)
        return;
    gql_plan_cache_free(schema->cache);
    persisted_operations_free(schema->persisted);
    schema_map_free(schema->map);
    gql_schema_free(schema->schema);
    free(schema);
}

void app_schema_replace(app *server, app_schema *schema)
{
    pthread_mutex_lock(&server->schema_lock);
    app_schema *old = server->schema;
    server->schema = schema;
    pthread_mutex_unlock(&server->schema_lock);
    app_schema_release(old);
}

gql_prepared *app_schema_prepare(app_schema *schema, const char *document, size_t length,
                                 const char *operation_name, cJSON **errors)
{
    return gql_plan_cache_get(schema->cache, document, length, operation_name, errors, NULL);
}

void app_metrics_init(app_metrics *metrics, prom_registry *registry)
{
    static const double latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    size_t bucket_count = sizeof latency_buckets / sizeof latency_buckets[0];
    metrics->requests = prom_counter(registry, "tvsync_server_requests_total",
        "GraphQL HTTP requests by operation type (query, mutation, none) and HTTP status.", "operation,status");
    metrics->request_seconds = prom_histogram(registry, "tvsync_server_request_duration_seconds",
        "Time from a request's arrival to its response, by operation type.", "operation",
        latency_buckets, bucket_count);
    metrics->in_flight = prom_gauge(registry, "tvsync_server_requests_in_flight",
        "Requests being answered now.", NULL);
    metrics->pool_connections = prom_gauge(registry, "tvsync_server_pool_connections",
        "Database connections per worker: size, connected, busy.", "worker,state");
    metrics->pool_queued = prom_gauge(registry, "tvsync_server_pool_queued_statements",
        "Statements waiting for a free database connection, per worker.", "worker");
    metrics->sync_waits = prom_counter(registry, "tvsync_server_sync_waits_total",
        "Read-your-writes waits by result: applied, timeout, skipped (client opted out), none (nothing published).",
        "result");
    metrics->sync_wait_seconds = prom_histogram(registry, "tvsync_server_sync_wait_seconds",
        "Time a mutation waited for tvsync-cdc to apply its intents.", NULL, latency_buckets, bucket_count);
    metrics->slot_lag_bytes = prom_gauge(registry, "tvsync_server_slot_lag_bytes",
        "WAL bytes between the current position and the slot's confirmed_flush_lsn.", NULL);
    metrics->plan_cache = prom_gauge(registry, "tvsync_server_plan_cache",
        "Plan cache counters of the current schema: hits, misses, evictions, entries.", "event");
    metrics->schema_reloads = prom_counter(registry, "tvsync_server_schema_reloads_total",
        "Schema reloads on SIGHUP by result (ok, failed).", "result");
    metrics->auth_refused = prom_counter(registry, "tvsync_server_auth_refused_total",
        "Requests answered 401 by reason (missing, malformed, algorithm, key, signature, expired, not_yet_valid, "
        "audience, issuer, role, no_tokens).", "reason");
    metrics->auth_reloads = prom_counter(registry, "tvsync_server_auth_key_reloads_total",
        "Re-reads of jwt_key_file on SIGHUP by result (ok, failed).", "result");
    metrics->auth_cache_hits = prom_counter(registry, "tvsync_server_auth_cache_hits_total",
        "Tokens found verified in a worker's cache (same token, same keys, not expired).", NULL);
    metrics->auth_cache_misses = prom_counter(registry, "tvsync_server_auth_cache_misses_total",
        "Tokens verified because a worker's cache did not have them (refused ones included).", NULL);
    metrics->connections_refused = prom_counter(registry, "tvsync_server_connections_refused_total",
        "Connections answered 503 because server.max_connections were open and none was idle.", NULL);
    metrics->idle_connections_closed = prom_counter(registry, "tvsync_server_idle_connections_closed_total",
        "Idle keep-alive connections closed to admit a new client at server.max_connections.", NULL);
    metrics->reads = prom_counter(registry, "tvsync_server_reads_total",
        "Queries by the node that answered them: primary, or replica<N> (the Nth of server.replica_urls).", "node");
    metrics->replica_waits = prom_counter(registry, "tvsync_server_replica_token_waits_total",
        "Queries with X-Tvsync-Min-Lsn by outcome: reached (a replica had replayed it, at once or after a wait), "
        "timeout (the primary answered after server.replica_wait_timeout), none (no replica up: the primary).",
        "result");
    metrics->replica_up = prom_gauge(registry, "tvsync_server_replica_state",
        "Each replica's state (up, lagging, down): 1 for the current one.", "replica,state");
    metrics->replica_lag_seconds = prom_gauge(registry, "tvsync_server_replica_lag_seconds",
        "Each replica's replay lag as it measures it (0 when it replayed all it received).", "replica");
    metrics->replica_replayed_lsn = prom_gauge(registry, "tvsync_server_replica_replayed_origin_lsn",
        "tvsync-cdc's origin progress replayed on each replica, as a number (0: unknown).", "replica");
}
