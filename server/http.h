/* http: the small HTTP/1.1 server tvsync-server answers on, built on raw libevent events
 * (no bufferevents, no evhttp) so that a keep-alive request costs one read() and one
 * write()/writev() and no epoll_ctl: each connection keeps one persistent EV_READ event;
 * a response is written at once; only a short write adds an EV_WRITE event, removed again
 * once the rest is written.
 *
 * Contract:
 * - One http_server per event base (worker thread); it accepts on a listening socket the
 *   caller bound (non-blocking) and takes over (closes it on drain or free).
 * - Every complete request is handed to the handler once. The handler (or any later
 *   callback on the same thread, e.g. a database answer) must call http_reply exactly once
 *   per request. The request's strings stay valid until then.
 * - The connection reads the next request only after the current reply is written to the
 *   socket: pipelined requests are answered in order, and a client that does not read its
 *   answers stops being read (back pressure).
 * - When the client goes away before the reply, the request lives on:
 *   http_request_client_gone says so, and http_reply then only frees it.
 * - done_fn is called once per handed-out request, when its reply is written (or dropped
 *   because the client is gone): a draining worker waits for these.
 * - Malformed requests never reach the handler: the layer answers them itself (400, 408,
 *   413, 417, 431, 501, 505) with a JSON error body and Connection: close, and reports them
 *   through error_fn. Chunked request bodies are decoded; Expect: 100-continue is answered
 *   with 100 Continue when the announced length is acceptable, with 413 at once when not.
 * - After an error reply or a refusal the layer closes the way nginx's lingering close does:
 *   it shuts down its sending side and keeps reading and discarding what the client still
 *   sends (at most HTTP_LINGER_TIME_MS in all, HTTP_LINGER_TIMEOUT_MS between reads), so a
 *   client that writes its whole body before reading gets the answer instead of a reset.
 * - Admission: at most max_connections connections are admitted (counted over every server
 *   that shares one http_admission, e.g. the worker threads of a process). A new connection
 *   over the limit closes this server's least recently used idle keep-alive (or lingering)
 *   connection and takes its place; when there is none it is refused: 503 with Retry-After
 *   at once, then a lingering close. Refusals are logged as one summary line per
 *   HTTP_ADMISSION_LOG_SECONDS, not one per connection. When the process runs out of file
 *   descriptors (EMFILE), a descriptor kept in reserve lets the layer accept and refuse the
 *   waiting client instead of spinning or dropping it silently. http_server_new raises the
 *   soft RLIMIT_NOFILE to the hard limit (process-wide) and warns when max_connections does
 *   not fit under it. */
#ifndef TVSYNC_SERVER_HTTP_H
#define TVSYNC_SERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "common/prom.h"
#include "server/http_admission.h"
#include "server/http_parser.h"

#define HTTP_LINGER_TIME_MS 30000       /* a lingering close lasts at most this long */
#define HTTP_LINGER_TIMEOUT_MS 5000     /* ... and ends when the client sends nothing this long */

typedef struct http_server http_server;
typedef struct http_request http_request;

/* A response header for http_reply. */
typedef struct http_header {
    const char *name;
    const char *value;
} http_header;

typedef void (*http_handler_fn)(http_request *request, void *arg);
typedef void (*http_done_fn)(void *arg);
/* A request the layer refused itself: status and the message sent to the client. */
typedef void (*http_error_fn)(void *arg, int status, const char *message);

typedef struct http_server_options {
    int request_timeout_ms;   /* a request's head and body must arrive within it; also the idle keep-alive limit */
    int64_t max_body_bytes;   /* larger bodies: 413 (at once when Content-Length says so) */
    int max_connections;      /* admitted connections at most, over all servers sharing admission
                                 (see the contract above); 0: no limit */
    http_admission *admission;        /* shared count; NULL: this server counts alone */
    prom_metric *refused_metric;      /* counter without labels: connections refused (may be NULL) */
    prom_metric *idle_closed_metric;  /* counter: idle connections closed to admit one (may be NULL) */
    http_handler_fn handler;
    http_done_fn done;        /* may be NULL */
    http_error_fn error;      /* may be NULL */
    void *arg;                /* for handler, done and error */
} http_server_options;

/* Starts accepting on listen_fd (a listening, non-blocking socket; the server owns it from
 * now on; -1: none, for http_server_adopt only). NULL when the event cannot be added
 * (listen_fd is closed); aborts on out of memory. */
http_server *http_server_new(struct event_base *base, int listen_fd, const http_server_options *options);

/* Serves an already connected socket (the server owns it; tests use a socketpair), admitted
 * like an accepted one (over the limit it is refused with 503). False when it cannot be
 * served at all (the fd is closed). */
bool http_server_adopt(http_server *server, int fd);

/* Stops accepting (closes the listening socket), closes the idle keep-alive connections
 * and makes every other connection close after its current reply. */
void http_server_drain(http_server *server);

/* Open connections of this server (the admitted ones, not those refused). */
int http_server_connections(const http_server *server);

/* Closes every connection and frees the server. Requests not yet answered stay valid
 * (client gone); their http_reply frees them without calling done. */
void http_server_free(http_server *server);

/* ---- the request ---- */

const char *http_request_method(const http_request *request);  /* as sent: "GET", "POST", ... */
bool http_request_method_is(const http_request *request, const char *method);
const char *http_request_path(const http_request *request);    /* the target before '?', not decoded */
const char *http_request_query(const http_request *request);   /* after '?', not decoded; NULL without '?' */
/* The first field of that name (any case), its value without surrounding spaces; NULL when absent. */
const char *http_request_header(const http_request *request, const char *name);
/* The body (decoded when chunked); "" and 0 without one. */
const char *http_request_body(const http_request *request, size_t *length);
int http_request_minor_version(const http_request *request);   /* 0 or 1 (HTTP/1.x) */
bool http_request_keep_alive(const http_request *request);     /* whether the connection stays open after the reply */
bool http_request_client_gone(const http_request *request);

/* Sends the response and ends the request (request is freed: do not use it afterwards).
 * reason NULL: the standard phrase. content_type NULL: none (for 304). The layer adds
 * Content-Length, Date and Connection; headers (count of them, may be NULL) are added as
 * given, and a "Connection: close" among them closes the connection after the reply. HEAD
 * requests get the headers only (Content-Length still tells the body's length); 1xx, 204
 * and 304 get no body and no Content-Length. The body is copied only when the socket does
 * not take it at once. */
void http_reply(http_request *request, int status, const char *reason, const char *content_type,
                const http_header *headers, size_t count, const void *body, size_t length);

/* The JSON body of a reply the layer sends itself: {"errors":[{"message":...}]} with message
 * escaped as a JSON string. Returns a NUL-terminated string the caller frees, its length
 * (without the NUL) in *length; aborts on out of memory. */
char *http_error_body(const char *message, size_t *length);

#endif
