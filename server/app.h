/* app: what every worker thread of tvsync-server shares: the configuration, the current
 * schema (swapped on SIGHUP, reference-counted), the metrics, and the drain flag. */
#ifndef TVSYNC_SERVER_APP_H
#define TVSYNC_SERVER_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/prom.h"
#include "server/graphql/graphql.h"
#include "server/http.h"
#include "server/schema_map.h"

/* A loaded schema: SDL, its database mapping and its plan cache, shared by the requests
 * that started while it was current. */
struct http_request;
struct persisted_operations;

typedef struct app_schema {
    gql_schema *schema;
    schema_map *map;
    gql_plan_cache *cache;
    /* server.persisted_operations, read with the schema (so SIGHUP reloads both); NULL: none */
    struct persisted_operations *persisted;
    atomic_int references;
} app_schema;

typedef struct app_metrics {
    prom_metric *requests;          /* counter {operation, status} */
    prom_metric *request_seconds;   /* histogram {operation} */
    prom_metric *in_flight;         /* gauge */
    prom_metric *pool_connections;  /* gauge {worker, state} */
    prom_metric *pool_queued;       /* gauge {worker} */
    prom_metric *sync_waits;        /* counter {result} */
    prom_metric *sync_wait_seconds; /* histogram */
    prom_metric *slot_lag_bytes;    /* gauge */
    prom_metric *plan_cache;        /* gauge {event} */
    prom_metric *schema_reloads;    /* counter {result} */
    prom_metric *auth_refused;      /* counter {reason} */
    prom_metric *auth_reloads;      /* counter {result} */
    prom_metric *auth_cache_hits;   /* counter: tokens answered from a worker's cache */
    prom_metric *auth_cache_misses; /* counter: tokens verified (the cache did not have them) */
    prom_metric *connections_refused;     /* counter: 503 over server.max_connections */
    prom_metric *idle_connections_closed; /* counter: idle keep-alive connections closed to admit new ones */
    prom_metric *reads;                   /* counter {node}: queries answered by the primary or a replica */
    prom_metric *replica_waits;           /* counter {result}: queries with X-Tvsync-Min-Lsn: reached, timeout, none */
    prom_metric *replica_up;              /* gauge {replica, state}: 1 for the replica's state, 0 for the others */
    prom_metric *replica_lag_seconds;     /* gauge {replica} */
    prom_metric *replica_replayed_lsn;    /* gauge {replica}: replayed origin progress as a number */
} app_metrics;

typedef struct app {
    tvsync_config *config;          /* read-only after start */
    prom_registry *registry;
    app_metrics metrics;
    pthread_mutex_t schema_lock;
    app_schema *schema;             /* current; guarded by schema_lock */
    atomic_bool draining;
    atomic_llong slot_lag_bytes;    /* -1 when unknown */
    http_admission admission;       /* server.max_connections counts the connections of all workers */
    struct sync_hub *sync_hub;      /* the workers' read-your-writes waits (one listener) */
    struct replica_set *replicas;   /* [server] replica_urls (maybe none); probed from worker 0's loop */
    struct auth_current *auth;      /* the JWT keys (server/auth); NULL: authentication off */
    /* GET /graphql with Accept: text/html. NULL: no GraphiQL (the request is answered as
     * GraphQL). Returns true when it sent a response. */
    bool (*graphiql_serve)(struct http_request *request, void *arg);
    void *graphiql_arg;
} app;

typedef enum app_schema_failure {
    APP_SCHEMA_INVALID,   /* the file, its SDL, or its match with the database */
    APP_SCHEMA_DATABASE,  /* the database could not be reached to check it */
} app_schema_failure;

/* Reads the SDL file at path and checks it, then against the database of config on one
 * blocking connection (server/schema_check), which also gives each table's key type, and
 * the persisted operations file of config when one is set.
 * NULL with one line (file and line) in error[] and *failure set when it cannot be
 * used. The result has one reference. Blocking: main thread only. */
app_schema *app_schema_load(const char *path, const tvsync_config *config, app_schema_failure *failure,
                            char *error, size_t error_size);
app_schema *app_schema_acquire(app *server);
void app_schema_release(app_schema *schema);
/* Makes schema current (takes over the caller's reference). */
void app_schema_replace(app *server, app_schema *schema);

/* Parses, validates and selects the operation through the schema's plan cache (a repeated
 * document skips lexing, parsing and validation). Same contract as gql_plan_cache_get. */
gql_prepared *app_schema_prepare(app_schema *schema, const char *document, size_t length,
                                 const char *operation_name, cJSON **errors);

/* Declares the metrics in registry. */
void app_metrics_init(app_metrics *metrics, prom_registry *registry);

#endif
