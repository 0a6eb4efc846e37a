/* http_endpoint: tvsync-cdc's /metrics and /health, on the caller's libevent
 * loop. Nothing here blocks: the health callback must not either. */
#include <config.h>

#include "cdc/http_endpoint.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "common/alloc.h"
#include "common/config.h"
#include "common/log.h"

struct http_endpoint {
    struct evhttp *http;
    prom_registry *registry;
    http_metrics_refresh_fn refresh_fn;
    http_health_fn health_fn;
    void *arg;
    int port;
};

static void send_text(struct evhttp_request *request, int code, const char *reason, const char *content_type,
                      const char *body, size_t length)
{
    struct evkeyvalq *headers = evhttp_request_get_output_headers(request);
    evhttp_add_header(headers, "Content-Type", content_type);
    evhttp_add_header(headers, "Cache-Control", "no-store");
    struct evbuffer *buffer = alloc_check(evbuffer_new());
    evbuffer_add(buffer, body, length);
    evhttp_send_reply(request, code, reason, buffer);
    evbuffer_free(buffer);
}

static bool method_is_read(struct evhttp_request *request)
{
    enum evhttp_cmd_type method = evhttp_request_get_command(request);
    if (method == EVHTTP_REQ_GET || method == EVHTTP_REQ_HEAD)
        return true;
    evhttp_add_header(evhttp_request_get_output_headers(request), "Allow", "GET, HEAD");
    static const char body[] = "{\"error\":\"method not allowed: use GET\"}\n";
    send_text(request, 405, "Method Not Allowed", "application/json", body, sizeof body - 1);
    return false;
}

static void metrics_cb(struct evhttp_request *request, void *arg)
{
    http_endpoint *endpoint = arg;
    if (!method_is_read(request))
        return;
    if (endpoint->refresh_fn)
        endpoint->refresh_fn(endpoint->arg);
    size_t length = 0;
    char *text = prom_render(endpoint->registry, &length);
    send_text(request, 200, "OK", PROM_CONTENT_TYPE, text, length);
    free(text);
}

static void health_cb(struct evhttp_request *request, void *arg)
{
    http_endpoint *endpoint = arg;
    if (!method_is_read(request))
        return;
    char reason[1024] = "{\"status\":\"ok\"}";
    bool healthy = endpoint->health_fn ? endpoint->health_fn(endpoint->arg, reason, sizeof reason) : true;
    size_t length = strlen(reason);
    if (length + 1 < sizeof reason) {
        reason[length++] = '\n';
        reason[length] = '\0';
    }
    send_text(request, healthy ? 200 : 503, healthy ? "OK" : "Service Unavailable", "application/json", reason,
              length);
}

static void other_cb(struct evhttp_request *request, void *arg)
{
    static const char body[] = "{\"error\":\"not found: this endpoint serves /metrics and /health\"}\n";
    send_text(request, 404, "Not Found", "application/json", body, sizeof body - 1);
}

http_endpoint *http_endpoint_start(struct event_base *base, const char *listen, prom_registry *registry,
                                   http_metrics_refresh_fn refresh_fn, http_health_fn health_fn, void *arg)
{
    char host[256];
    int port;
    if (!config_parse_listen(listen, host, sizeof host, &port)) {
        log_error("metrics listen address \"%s\" is not HOST:PORT", listen);
        return NULL;
    }
    http_endpoint *endpoint = alloc_calloc(1, sizeof *endpoint);
    endpoint->registry = registry;
    endpoint->refresh_fn = refresh_fn;
    endpoint->health_fn = health_fn;
    endpoint->arg = arg;
    endpoint->http = evhttp_new(base);
    if (!endpoint->http) {
        free(endpoint);
        return NULL;
    }
    evhttp_set_allowed_methods(endpoint->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                                   EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_timeout(endpoint->http, 10);
    evhttp_set_cb(endpoint->http, "/metrics", metrics_cb, endpoint);
    evhttp_set_cb(endpoint->http, "/health", health_cb, endpoint);
    evhttp_set_gencb(endpoint->http, other_cb, endpoint);
    struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(endpoint->http, host, (ev_uint16_t) port);
    if (!bound) {
        log_error("cannot listen on %s for /metrics and /health: address in use or not available", listen);
        evhttp_free(endpoint->http);
        free(endpoint);
        return NULL;
    }
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    endpoint->port = port;
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *) &address, &length) == 0) {
        if (address.ss_family == AF_INET)
            endpoint->port = ntohs(((struct sockaddr_in *) &address)->sin_port);
        else if (address.ss_family == AF_INET6)
            endpoint->port = ntohs(((struct sockaddr_in6 *) &address)->sin6_port);
    }
    log_info("serving /metrics and /health on %s:%d", host, endpoint->port);
    return endpoint;
}

int http_endpoint_port(const http_endpoint *endpoint)
{
    return endpoint->port;
}

void http_endpoint_free(http_endpoint *endpoint)
{
    if (!endpoint)
        return;
    evhttp_free(endpoint->http);
    free(endpoint);
}
