/* http_endpoint: tvsync-cdc's small HTTP listener for /metrics and /health
 * (libevent evhttp on the caller's event base). tvsync-server serves its own
 * /metrics and /health on its HTTP port and does not use this. */
#ifndef TVSYNC_CDC_HTTP_ENDPOINT_H
#define TVSYNC_CDC_HTTP_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <event2/http.h>

#include "common/prom.h"

/* Fills *reason (a short JSON object text, e.g. {"status":"lagging","lag_seconds":42})
 * and returns true when healthy (200), false when not (503). Runs on the loop:
 * it must not block. */
typedef bool (*http_health_fn)(void *arg, char *reason, size_t reason_size);

/* Called before /metrics renders, to refresh gauges (may be NULL). */
typedef void (*http_metrics_refresh_fn)(void *arg);

typedef struct http_endpoint http_endpoint;

/* Listens on listen ("HOST:PORT"; port 0 picks a free one) and serves
 * GET /metrics (registry) and GET /health (health_fn). NULL on error (logged,
 * naming the address). The caller frees with http_endpoint_free before freeing
 * the base. */
http_endpoint *http_endpoint_start(struct event_base *base, const char *listen,
                                   prom_registry *registry,
                                   http_metrics_refresh_fn refresh_fn,
                                   http_health_fn health_fn, void *arg);

/* The port actually bound (useful with port 0). */
int http_endpoint_port(const http_endpoint *endpoint);

void http_endpoint_free(http_endpoint *endpoint);

#endif
