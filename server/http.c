/* http: tvsync-server's HTTP/1.1 server on raw libevent events (see http.h); requests are parsed
 * by server/http_parser.
 *
 * Per connection: one persistent EV_READ event (registered once, at accept), an EV_WRITE
 * event added only while a reply waits for socket space, and one timer that is armed at
 * accept and re-armed only when it fires (it compares the time spent in the current phase
 * with the limit), so a keep-alive request adds and removes no event at all. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include <config.h>

#include "server/http.h"
#include "common/alloc.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define HTTP_INPUT_INITIAL 4096
#define HTTP_INPUT_KEEP 65536           /* larger input buffers shrink back after their request */
#define HTTP_MAX_REFUSED_LINGERING 64  /* refused connections lingering at once; more are closed after one read */

/* ------------------------------------------------------------------ server */

typedef struct http_conn http_conn;

struct http_request {
    http_conn *conn;        /* NULL once the client is gone */
    http_server *server;    /* NULL once the server is freed */
    char *buffer;           /* the connection's input; owned here once the client is gone */
    http_parser parser;
    bool head;
    bool handed_out;        /* given to the handler */
    bool replied;           /* http_reply was called; the reply is being written */
    http_request *orphan_prev, *orphan_next; /* the server's list of requests whose client is gone */
};

enum {
    CONN_IDLE,      /* between requests, no byte of the next one yet */
    CONN_READING,   /* part of a request has arrived */
    CONN_HANDLING,  /* the handler has the request */
    CONN_WRITING,   /* the reply waits for socket space */
    CONN_CLOSING,   /* an error reply waits for socket space; then linger */
    CONN_LINGER,    /* our side is shut down; unread input is drained, then close */
};

struct http_conn {
    http_server *server;
    http_conn *prev, *next;
    int fd;
    struct event *read_event, *write_event, *timer;
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_off, out_len, out_cap;
    http_request *request;
    int phase;
    int64_t since_ms;       /* start of the current phase (timeouts) */
    int64_t last_read_ms;   /* lingering: when the client last sent something */
    http_conn *idle_prev, *idle_next; /* the server's idle list, oldest first */
    bool idle_listed;
    int busy;               /* inside conn_process: closing only marks the connection dead */
    bool dead;
    bool over_limit;        /* refused: it only gets its 503 and a lingering close */
    bool close_after, read_paused, write_armed, continue_sent;
};

struct http_server {
    struct event_base *base;
    http_server_options options;
    int listen_fd;
    struct event *accept_event;
    struct event *accept_pause;
    struct event *summary_timer;     /* the next admission summary line */
    bool summary_armed;
    int reserve_fd;                  /* given up to accept and refuse a client when out of descriptors */
    http_conn *connections;
    http_conn *idle_oldest, *idle_newest; /* idle keep-alive and lingering connections: closed first to admit */
    http_request *orphans;  /* handed out, client gone, not yet answered */
    int count;              /* admitted connections */
    int refused_lingering;  /* refused connections in their lingering close */
    http_admission own_admission;
    http_admission *admission;       /* own_admission unless shared */
    bool draining;
    size_t max_input;
    time_t date_second;
    char date[64];
};

static int64_t now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void timer_arm(http_conn *c, int64_t ms)
{
    if (ms < 1)
        ms = 1;
    struct timeval delay = {(time_t) (ms / 1000), (suseconds_t) (ms % 1000) * 1000};
    event_add(c->timer, &delay);
}

static void conn_process(http_conn *c);
static void conn_close(http_conn *c);

/* The idle list holds the admitted connections that may be closed to admit a new one, in the
 * order they became idle: pointer updates only, nothing per request reaches the kernel. */
static void idle_add(http_conn *c)
{
    http_server *server = c->server;
    if (c->idle_listed || c->over_limit)
        return;
    c->idle_listed = true;
    c->idle_next = NULL;
    c->idle_prev = server->idle_newest;
    if (server->idle_newest)
        server->idle_newest->idle_next = c;
    else
        server->idle_oldest = c;
    server->idle_newest = c;
}

static void idle_remove(http_conn *c)
{
    http_server *server = c->server;
    if (!c->idle_listed)
        return;
    c->idle_listed = false;
    if (c->idle_prev)
        c->idle_prev->idle_next = c->idle_next;
    else
        server->idle_oldest = c->idle_next;
    if (c->idle_next)
        c->idle_next->idle_prev = c->idle_prev;
    else
        server->idle_newest = c->idle_prev;
    c->idle_prev = c->idle_next = NULL;
}

static void conn_free_memory(http_conn *c)
{
    event_free(c->read_event);
    event_free(c->write_event);
    event_free(c->timer);
    if (c->request != NULL) {
        free(c->request);
    }
    free(c->in);
    free(c->out);
    free(c);
}

/* Detaches the request being handled: it lives on with the input buffer. */
static void conn_detach_request(http_conn *c, bool server_gone)
{
    http_request *request = c->request;
    if (request == NULL)
        return;
    if (request->handed_out && request->replied) {
        /* The reply was being written: it is dropped, the request is done. */
        request->handed_out = false;
        if (!server_gone && c->server->options.done)
            c->server->options.done(c->server->options.arg);
    } else if (request->handed_out) {
        request->conn = NULL;
        request->buffer = c->in;
        if (server_gone) {
            request->server = NULL;
        } else {
            http_server *server = c->server;
            request->orphan_prev = NULL;
            request->orphan_next = server->orphans;
            if (server->orphans)
                server->orphans->orphan_prev = request;
            server->orphans = request;
        }
        c->in = NULL;
        c->request = NULL;
    }
}

static void conn_close_internal(http_conn *c, bool server_gone)
{
    http_server *server = c->server;
    if (c->fd < 0)
        return;
    event_del(c->read_event);
    event_del(c->write_event);
    event_del(c->timer);
    close(c->fd);
    c->fd = -1;
    conn_detach_request(c, server_gone);
    idle_remove(c);
    if (c->over_limit) {
        server->refused_lingering--;
    } else {
        server->count--;
        atomic_fetch_sub_explicit(&server->admission->open, 1, memory_order_relaxed);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        server->connections = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->busy > 0)
        c->dead = true;
    else
        conn_free_memory(c);
}

static void conn_close(http_conn *c)
{
    conn_close_internal(c, false);
}

static void out_reserve(http_conn *c, size_t extra)
{
    if (c->out_off > 0 && c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len + extra <= c->out_cap)
        return;
    if (c->out_off > 0) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
        if (c->out_len + extra <= c->out_cap)
            return;
    }
    size_t capacity = c->out_cap ? c->out_cap : 1024;
    while (capacity < c->out_len + extra)
        capacity *= 2;
    char *grown = alloc_realloc(c->out, capacity);
    c->out = grown;
    c->out_cap = capacity;
}

static void out_add(http_conn *c, const void *data, size_t length)
{
    out_reserve(c, length);
    memcpy(c->out + c->out_len, data, length);
    c->out_len += length;
}

static void out_puts(http_conn *c, const char *text)
{
    out_add(c, text, strlen(text));
}

static bool write_blocked(int error)
{
    return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

/* Writes the pending output plus body (not copied unless the socket refuses part of it).
 * Returns false when the connection failed (closed already). */
static bool conn_send(http_conn *c, const char *body, size_t length)
{
    size_t pending = c->out_len - c->out_off;
    if (c->write_armed) {
        /* Earlier bytes are still waiting: keep the order. */
        if (length > 0)
            out_add(c, body, length);
        return true;
    }
    struct iovec iov[2] = {{c->out + c->out_off, pending}, {(void *) body, length}};
    struct msghdr message = {.msg_iov = iov, .msg_iovlen = length ? 2 : 1};
    ssize_t written = sendmsg(c->fd, &message, MSG_NOSIGNAL);
    if (written < 0) {
        if (!write_blocked(errno)) {
            conn_close(c);
            return false;
        }
        written = 0;
    }
    size_t done = (size_t) written;
    if (done >= pending) {
        c->out_off = c->out_len = 0;
        done -= pending;
        if (done < length)
            out_add(c, body + done, length - done);
    } else {
        c->out_off += done;
        out_add(c, body, length);
    }
    if (c->out_len > c->out_off) {
        event_add(c->write_event, NULL);
        c->write_armed = true;
    }
    return true;
}

static void conn_linger(http_conn *c)
{
    if (c->in_len == 0 && c->phase != CONN_CLOSING) {
        conn_close(c);
        return;
    }
    shutdown(c->fd, SHUT_WR);
    c->phase = CONN_LINGER;
    c->since_ms = c->last_read_ms = now_ms();
    idle_add(c); /* done with: the first to go when a new client needs the place */
    if (c->read_paused) {
        event_add(c->read_event, NULL);
        c->read_paused = false;
    }
    timer_arm(c, HTTP_LINGER_TIMEOUT_MS);
}

static const char *status_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

static const char *http_date(http_server *server)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME_COARSE, &now);
    if (now.tv_sec != server->date_second) {
        struct tm tm;
        gmtime_r(&now.tv_sec, &tm);
        strftime(server->date, sizeof server->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        server->date_second = now.tv_sec;
    }
    return server->date;
}

static bool header_text_ok(const char *text)
{
    for (const char *p = text; *p; p++)
        if (*p == '\r' || *p == '\n')
            return false;
    return true;
}

/* Appends the status line and headers to the output. */
static void put_head(http_conn *c, int status, const char *reason, const char *content_type,
                     const http_header *headers, size_t count, size_t length, bool with_length, bool keep_alive_header)
{
    /* A reason with CR or LF would end the status line early and let its rest pass for
     * header fields: the standard phrase replaces it. */
    if (reason == NULL || !header_text_ok(reason))
        reason = status_reason(status);
    char line[64];
    int n = snprintf(line, sizeof line, "HTTP/1.1 %d ", status);
    out_add(c, line, (size_t) n);
    out_puts(c, reason);
    out_puts(c, "\r\nDate: ");
    out_puts(c, http_date(c->server));
    out_puts(c, "\r\n");
    if (content_type != NULL && header_text_ok(content_type)) {
        out_puts(c, "Content-Type: ");
        out_puts(c, content_type);
        out_puts(c, "\r\n");
    }
    if (with_length) {
        n = snprintf(line, sizeof line, "Content-Length: %zu\r\n", length);
        out_add(c, line, (size_t) n);
    }
    for (size_t i = 0; i < count; i++) {
        if (headers[i].name == NULL || headers[i].value == NULL || !header_text_ok(headers[i].name) ||
            !header_text_ok(headers[i].value) || strcasecmp(headers[i].name, "Connection") == 0 ||
            strcasecmp(headers[i].name, "Content-Length") == 0)
            continue;
        out_puts(c, headers[i].name);
        out_puts(c, ": ");
        out_puts(c, headers[i].value);
        out_puts(c, "\r\n");
    }
    if (c->close_after)
        out_puts(c, "Connection: close\r\n\r\n");
    else if (keep_alive_header)
        out_puts(c, "Connection: keep-alive\r\n\r\n");
    else
        out_puts(c, "\r\n");
}

/* The bytes json_escape writes for text. */
static size_t json_escaped_length(const char *text)
{
    size_t length = 0;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        length += *p == '"' || *p == '\\' ? 2 : *p < 0x20 ? 6 : 1;
    return length;
}

/* Writes text as the inside of a JSON string (quotes, backslashes and control characters
 * escaped); returns the end of what it wrote. */
static char *json_escape(char *out, const char *text)
{
    static const char digits[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        if (*p == '"' || *p == '\\') {
            *out++ = '\\';
            *out++ = (char) *p;
        } else if (*p < 0x20) {
            memcpy(out, "\\u00", 4);
            out[4] = digits[*p >> 4];
            out[5] = digits[*p & 15];
            out += 6;
        } else {
            *out++ = (char) *p;
        }
    }
    return out;
}

char *http_error_body(const char *message, size_t *length)
{
    static const char prefix[] = "{\"errors\":[{\"message\":\"", suffix[] = "\"}]}";
    *length = sizeof prefix - 1 + json_escaped_length(message) + sizeof suffix - 1;
    char *body = alloc_malloc(*length + 1);
    memcpy(body, prefix, sizeof prefix - 1);
    char *end = json_escape(body + sizeof prefix - 1, message);
    memcpy(end, suffix, sizeof suffix);
    return body;
}

/* A request the layer refuses itself: JSON error, Connection: close, then linger. */
static void conn_error_reply(http_conn *c, int status, const char *message)
{
    http_server *server = c->server;
    if (server->options.error)
        server->options.error(server->options.arg, status, message);
    size_t length;
    char *body = http_error_body(message, &length);
    c->close_after = true;
    c->phase = CONN_CLOSING;
    c->since_ms = now_ms();
    put_head(c, status, NULL, "application/json; charset=utf-8", NULL, 0, length, true, false);
    bool open = conn_send(c, body, length);
    free(body);
    if (!open)
        return;
    if (!c->write_armed)
        conn_linger(c);
}

/* The current reply is written: report it, drop the request's bytes, go on. */
static void conn_reply_written(http_conn *c)
{
    http_server *server = c->server;
    http_request *request = c->request;
    size_t consumed = http_parser_consumed(&request->parser);
    request->handed_out = false;
    request->replied = false;
    if (server->options.done)
        server->options.done(server->options.arg);
    if (consumed < c->in_len)
        memmove(c->in, c->in + consumed, c->in_len - consumed);
    c->in_len -= consumed;
    if (c->in_cap > HTTP_INPUT_KEEP && c->in_len <= HTTP_INPUT_INITIAL) {
        /* A large body is done: do not keep its buffer for the connection's life. */
        char *shrunk = realloc(c->in, HTTP_INPUT_INITIAL);
        if (shrunk != NULL) {
            c->in = shrunk;
            c->in_cap = HTTP_INPUT_INITIAL;
        }
    }
    http_parser_init(&request->parser, server->options.max_body_bytes);
    c->continue_sent = false;
    if (c->close_after) {
        conn_linger(c);
        return;
    }
    c->phase = CONN_IDLE;
    c->since_ms = now_ms();
    idle_add(c);
    if (c->read_paused) {
        event_add(c->read_event, NULL);
        c->read_paused = false;
    }
    if (c->busy == 0 && c->in_len > 0)
        conn_process(c);
}

static void conn_dispatch(http_conn *c)
{
    http_request *request = c->request;
    http_server *server = c->server;
    request->conn = c;
    request->server = server;
    request->buffer = c->in;
    request->head = strcmp(c->in + request->parser.method, "HEAD") == 0;
    request->handed_out = true;
    request->replied = false;
    if (server->draining)
        request->parser.keep_alive = false;
    c->phase = CONN_HANDLING;
    server->options.handler(request, server->options.arg);
}

static bool in_reserve(http_conn *c, size_t want)
{
    if (want <= c->in_cap)
        return true;
    if (want > c->server->max_input)
        want = c->server->max_input;
    if (want <= c->in_cap)
        return false;
    size_t capacity = c->in_cap;
    while (capacity < want)
        capacity *= 2;
    if (capacity > c->server->max_input)
        capacity = c->server->max_input;
    char *grown = alloc_realloc(c->in, capacity);
    c->in = grown;
    c->in_cap = capacity;
    return true;
}

static void conn_process(http_conn *c)
{
    c->busy++;
    while (!c->dead) {
        if (c->phase == CONN_IDLE) {
            if (c->in_len == 0)
                break;
            c->phase = CONN_READING;
            c->since_ms = now_ms();
            idle_remove(c);
        }
        if (c->phase != CONN_READING)
            break;
        http_parser *parser = &c->request->parser;
        size_t length = c->in_len;
        http_parse_result result = http_parser_run(parser, c->in, &length);
        c->in_len = length;
        if (result == HTTP_PARSE_ERROR) {
            conn_error_reply(c, parser->error_status, parser->error_message);
            break;
        }
        if (result == HTTP_PARSE_MORE) {
            if (c->in_len == c->in_cap && c->in_cap >= c->server->max_input) {
                /* Cannot happen within the limits the parser checks; never spin on a full buffer. */
                conn_error_reply(c, 413, "The request is larger than server.max_body_bytes allows.");
                break;
            }
            if (parser->head_done) {
                if (!parser->chunked)
                    in_reserve(c, parser->head_end + (size_t) parser->content_length + 1);
                bool body_missing = parser->chunked ? c->in_len <= parser->head_end
                                                    : c->in_len < parser->head_end + (size_t) parser->content_length;
                if (parser->expect_continue && !c->continue_sent && body_missing) {
                    c->continue_sent = true;
                    static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";
                    out_add(c, continue_line, sizeof continue_line - 1);
                    if (!conn_send(c, NULL, 0))
                        break;
                }
            }
            break;
        }
        conn_dispatch(c);
    }
    c->busy--;
    if (c->dead && c->busy == 0)
        conn_free_memory(c);
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
    http_conn *c = arg;
    if (c->phase == CONN_LINGER || c->phase == CONN_CLOSING) {
        /* The answer is final: what the client still sends is discarded, so that it can
         * finish writing and then read the answer (closing now would reset its writes). */
        char scrap[16384];
        for (int i = 0; i < 16; i++) {
            ssize_t n = read(fd, scrap, sizeof scrap);
            if (n < 0 && write_blocked(errno))
                return;
            if (n == 0 && c->phase == CONN_CLOSING) {
                /* A half-closed client still reads: finish writing the answer first. */
                event_del(c->read_event);
                c->read_paused = true;
                return;
            }
            if (n <= 0) {
                conn_close(c);
                return;
            }
            c->last_read_ms = now_ms();
            if ((size_t) n < sizeof scrap)
                return;
        }
        return;
    }
    bool waiting = c->phase != CONN_IDLE && c->phase != CONN_READING;
    if (waiting) {
        /* A reply is pending: read ahead only into free space (the request's strings
         * point into the buffer), else stop reading until the reply is written. */
        if (c->in_len == c->in_cap) {
            event_del(c->read_event);
            c->read_paused = true;
            return;
        }
        ssize_t n = read(fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (n > 0)
            c->in_len += (size_t) n;
        else if (n == 0 || !write_blocked(errno))
            conn_close(c); /* the client is gone */
        return;
    }
    for (;;) {
        if (c->in_len == c->in_cap && !in_reserve(c, c->in_cap * 2))
            break; /* full: the parser answers 413 or 431 */
        size_t space = c->in_cap - c->in_len;
        ssize_t n = read(fd, c->in + c->in_len, space);
        if (n < 0) {
            if (write_blocked(errno))
                break;
            conn_close(c);
            return;
        }
        if (n == 0) {
            conn_close(c);
            return;
        }
        c->in_len += (size_t) n;
        if ((size_t) n < space)
            break;
    }
    conn_process(c);
}

static void write_cb(evutil_socket_t fd, short what, void *arg)
{
    http_conn *c = arg;
    size_t pending = c->out_len - c->out_off;
    ssize_t n = send(fd, c->out + c->out_off, pending, MSG_NOSIGNAL);
    if (n < 0) {
        if (!write_blocked(errno))
            conn_close(c);
        return;
    }
    c->out_off += (size_t) n;
    c->since_ms = now_ms();
    if (c->out_off < c->out_len)
        return;
    c->out_off = c->out_len = 0;
    event_del(c->write_event);
    c->write_armed = false;
    if (c->phase == CONN_WRITING)
        conn_reply_written(c);
    else if (c->phase == CONN_CLOSING)
        conn_linger(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    http_conn *c = arg;
    int64_t limit = c->server->options.request_timeout_ms;
    int64_t elapsed = now_ms() - c->since_ms;
    switch (c->phase) {
    case CONN_IDLE:
        if (elapsed >= limit) {
            conn_close(c);
            return;
        }
        break;
    case CONN_READING:
        if (elapsed >= limit) {
            conn_error_reply(c, 408, "The request did not arrive within server.request_timeout_ms; send it faster.");
            return;
        }
        break;
    case CONN_HANDLING:
        elapsed = 0; /* the handler answers in its own time */
        break;
    case CONN_WRITING:
    case CONN_CLOSING:
        if (elapsed >= limit) { /* the client reads nothing */
            conn_close(c);
            return;
        }
        break;
    case CONN_LINGER: {
        int64_t now = now_ms();
        int64_t total_left = HTTP_LINGER_TIME_MS - (now - c->since_ms);
        int64_t quiet_left = HTTP_LINGER_TIMEOUT_MS - (now - c->last_read_ms);
        if (total_left <= 0 || quiet_left <= 0) {
            conn_close(c);
            return;
        }
        timer_arm(c, total_left < quiet_left ? total_left : quiet_left);
        return;
    }
    }
    timer_arm(c, limit - elapsed);
}

/* ---- admission (shared counters, summary and descriptor limit: server/http_admission) */

/* Counts an admission event (metrics, next summary line) and makes sure the summary comes:
 * a burst costs no log write per connection. */
static void admission_note(http_server *server, http_admission_event event)
{
    prom_metric *metric = event == HTTP_ADMISSION_IDLE_CLOSED ? server->options.idle_closed_metric
                          : event == HTTP_ADMISSION_ACCEPT_PAUSED ? NULL
                                                                  : server->options.refused_metric;
    http_admission_count(server->admission, event, metric);
    if (!server->summary_armed) {
        struct timeval interval = {HTTP_ADMISSION_LOG_SECONDS, 0};
        event_add(server->summary_timer, &interval);
        server->summary_armed = true;
    }
}

/* Shared counters: the first server whose timer fires writes them all, the others find
 * nothing to say. */
static void summary_cb(evutil_socket_t fd, short what, void *arg)
{
    http_server *server = arg;
    server->summary_armed = false;
    http_admission_log_summary(server->admission, server->options.max_connections);
}

/* The least recently used idle connection whose client has not started a new request
 * (its bytes may wait in the socket, not read yet: closing would lose that request), or a
 * lingering one; NULL when there is none. One recv per candidate, only at the limit. */
static http_conn *idle_victim(http_server *server)
{
    int checked = 0;
    for (http_conn *c = server->idle_oldest; c != NULL && checked < 16; c = c->idle_next, checked++) {
        if (c->phase == CONN_LINGER)
            return c;
        char byte;
        ssize_t n = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && write_blocked(errno))
            return c;
        if (n == 0)
            return c; /* the client left already */
    }
    return NULL;
}

/* Takes a place for a new connection: a free one, or the least recently idle connection's.
 * False when every admitted connection is busy. */
static bool admission_take(http_server *server)
{
    int limit = server->options.max_connections;
    int open = atomic_fetch_add_explicit(&server->admission->open, 1, memory_order_relaxed);
    if (limit <= 0 || open < limit)
        return true;
    http_conn *victim = idle_victim(server);
    if (victim != NULL) {
        conn_close(victim); /* gives its place back */
        admission_note(server, HTTP_ADMISSION_IDLE_CLOSED);
        return true;
    }
    atomic_fetch_sub_explicit(&server->admission->open, 1, memory_order_relaxed);
    return false;
}

static http_conn *conn_create(http_server *server, int fd, bool over_limit)
{
    http_conn *c = alloc_calloc(1, sizeof *c);
    c->server = server;
    c->fd = fd;
    c->over_limit = over_limit;
    c->in_cap = HTTP_INPUT_INITIAL;
    c->in = alloc_malloc(c->in_cap);
    c->request = alloc_calloc(1, sizeof *c->request);
    /* event_new fails only when it cannot allocate. */
    c->read_event = alloc_check(event_new(server->base, fd, EV_READ | EV_PERSIST, read_cb, c));
    c->write_event = alloc_check(event_new(server->base, fd, EV_WRITE | EV_PERSIST, write_cb, c));
    c->timer = alloc_check(evtimer_new(server->base, timer_cb, c));
    http_parser_init(&c->request->parser, server->options.max_body_bytes);
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on); /* fails harmlessly on a socketpair */
    if (event_add(c->read_event, NULL) != 0) {
        close(fd);
        event_free(c->read_event);
        event_free(c->write_event);
        event_free(c->timer);
        free(c->request);
        free(c->in);
        free(c);
        return NULL;
    }
    if (over_limit)
        server->refused_lingering++;
    else
        server->count++;
    c->next = server->connections;
    if (c->next)
        c->next->prev = c;
    server->connections = c;
    c->phase = CONN_IDLE;
    c->since_ms = now_ms();
    return c;
}

/* A refused client gets its 503 before it sent anything (it reads it after sending its
 * request), then the lingering close discards that request instead of resetting it. */
static void conn_refuse(http_server *server, int fd)
{
    admission_note(server, HTTP_ADMISSION_REFUSED);
    if (server->refused_lingering >= HTTP_MAX_REFUSED_LINGERING) {
        http_admission_refuse_at_once(fd);
        return;
    }
    http_conn *c = conn_create(server, fd, true);
    if (c == NULL)
        return;
    static const http_header retry[] = {{"Retry-After", "1"}};
    size_t length;
    char *body = http_error_body(http_admission_refused_message, &length);
    c->close_after = true;
    c->phase = CONN_CLOSING;
    put_head(c, 503, NULL, "application/json; charset=utf-8", retry, 1, length, true, false);
    bool open = conn_send(c, body, length);
    free(body);
    if (!open)
        return;
    if (c->write_armed)
        timer_arm(c, server->options.request_timeout_ms);
    else
        conn_linger(c);
}

static bool conn_new(http_server *server, int fd)
{
    if (!admission_take(server)) {
        conn_refuse(server, fd);
        return true;
    }
    http_conn *c = conn_create(server, fd, false);
    if (c == NULL) {
        atomic_fetch_sub_explicit(&server->admission->open, 1, memory_order_relaxed);
        return false;
    }
    /* Not on the idle list before its first request: closing it would be a refusal without
     * an answer. */
    timer_arm(c, server->options.request_timeout_ms);
    return true;
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    http_server *server = arg;
    if (server->listen_fd >= 0)
        event_add(server->accept_event, NULL);
}

/* Out of descriptors: an idle connection gives its place, or else the reserve descriptor
 * makes room to accept the waiting client, answer 503 and close, rather than leave it in
 * the backlog, where the listening socket stays readable and the loop would spin. False
 * when neither worked. */
static bool accept_out_of_descriptors(http_server *server, int listen_fd)
{
    http_conn *victim = idle_victim(server);
    if (victim != NULL) {
        conn_close(victim);
        admission_note(server, HTTP_ADMISSION_IDLE_CLOSED);
        return true;
    }
    if (server->reserve_fd < 0)
        return false;
    close(server->reserve_fd);
    server->reserve_fd = -1;
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        server->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        return false;
    }
    admission_note(server, HTTP_ADMISSION_REFUSED_NO_DESCRIPTOR);
    http_admission_refuse_at_once(fd);
    server->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return server->reserve_fd >= 0;
}

static void accept_cb(evutil_socket_t listen_fd, short what, void *arg)
{
    http_server *server = arg;
    for (int i = 0; i < 64; i++) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int error = errno;
            if ((error == EMFILE || error == ENFILE) && accept_out_of_descriptors(server, listen_fd))
                continue;
            if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
                /* Nothing to spare: stop accepting a moment instead of spinning; the
                 * clients wait in the backlog. */
                admission_note(server, HTTP_ADMISSION_ACCEPT_PAUSED);
                event_del(server->accept_event);
                struct timeval pause = {0, 100000};
                event_add(server->accept_pause, &pause);
                return;
            }
            if (error == ECONNABORTED || error == EINTR)
                continue;
            return; /* EAGAIN and the like */
        }
        conn_new(server, fd);
    }
}

http_server *http_server_new(struct event_base *base, int listen_fd, const http_server_options *options)
{
    http_server *server = alloc_calloc(1, sizeof *server);
    server->base = base;
    server->options = *options;
    if (server->options.request_timeout_ms <= 0)
        server->options.request_timeout_ms = 10000;
    server->admission = options->admission ? options->admission : &server->own_admission;
    server->reserve_fd = -1;
    server->listen_fd = listen_fd;
    /* head + body + chunked trailer fields + a chunk-size line */
    server->max_input = 2 * (size_t) HTTP_MAX_HEADER_BYTES + (size_t) options->max_body_bytes + 4096;
    server->summary_timer = alloc_check(evtimer_new(base, summary_cb, server));
    if (listen_fd >= 0) {
        if (options->max_connections > 0)
            http_admission_raise_descriptor_limit(options->max_connections);
        server->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        server->accept_event = alloc_check(event_new(base, listen_fd, EV_READ | EV_PERSIST, accept_cb, server));
        server->accept_pause = alloc_check(evtimer_new(base, accept_resume_cb, server));
        if (event_add(server->accept_event, NULL) != 0) {
            close(listen_fd);
            if (server->reserve_fd >= 0)
                close(server->reserve_fd);
            event_free(server->accept_event);
            event_free(server->accept_pause);
            event_free(server->summary_timer);
            free(server);
            return NULL;
        }
    }
    return server;
}

bool http_server_adopt(http_server *server, int fd)
{
    return conn_new(server, fd);
}

static void stop_accepting(http_server *server)
{
    if (server->listen_fd < 0)
        return;
    event_del(server->accept_event);
    event_del(server->accept_pause);
    close(server->listen_fd);
    server->listen_fd = -1;
}

void http_server_drain(http_server *server)
{
    server->draining = true;
    stop_accepting(server);
    http_conn *next;
    for (http_conn *c = server->connections; c != NULL; c = next) {
        next = c->next;
        if (c->phase == CONN_IDLE)
            conn_close(c);
        else
            c->close_after = c->close_after || c->phase == CONN_WRITING; /* a reply being written keeps its headers */
    }
}

int http_server_connections(const http_server *server)
{
    return server->count;
}

void http_server_free(http_server *server)
{
    if (server == NULL)
        return;
    stop_accepting(server);
    while (server->connections != NULL)
        conn_close_internal(server->connections, true);
    for (http_request *request = server->orphans; request != NULL; request = request->orphan_next)
        request->server = NULL; /* its http_reply only frees it */
    if (server->accept_event)
        event_free(server->accept_event);
    if (server->accept_pause)
        event_free(server->accept_pause);
    event_free(server->summary_timer);
    if (server->reserve_fd >= 0)
        close(server->reserve_fd);
    free(server);
}

/* ------------------------------------------------------------------ request */

const char *http_request_method(const http_request *request)
{
    return request->buffer + request->parser.method;
}

bool http_request_method_is(const http_request *request, const char *method)
{
    return strcmp(http_request_method(request), method) == 0;
}

const char *http_request_path(const http_request *request)
{
    return request->buffer + request->parser.path;
}

const char *http_request_query(const http_request *request)
{
    return request->parser.query == UINT32_MAX ? NULL : request->buffer + request->parser.query;
}

const char *http_request_header(const http_request *request, const char *name)
{
    return http_parser_field(&request->parser, request->buffer, name);
}

const char *http_request_body(const http_request *request, size_t *length)
{
    *length = request->parser.body_length;
    return *length ? request->buffer + request->parser.head_end : "";
}

int http_request_minor_version(const http_request *request)
{
    return request->parser.minor;
}

bool http_request_keep_alive(const http_request *request)
{
    return request->parser.keep_alive && request->conn != NULL && !request->conn->close_after &&
           !(request->server && request->server->draining);
}

bool http_request_client_gone(const http_request *request)
{
    return request->conn == NULL;
}

void http_reply(http_request *request, int status, const char *reason, const char *content_type,
                const http_header *headers, size_t count, const void *body, size_t length)
{
    http_conn *c = request->conn;
    if (c == NULL) {
        /* The client is gone: nothing to write. */
        http_server *server = request->server;
        if (server != NULL) {
            if (request->orphan_prev)
                request->orphan_prev->orphan_next = request->orphan_next;
            else
                server->orphans = request->orphan_next;
            if (request->orphan_next)
                request->orphan_next->orphan_prev = request->orphan_prev;
        }
        free(request->buffer);
        free(request);
        if (server != NULL && server->options.done)
            server->options.done(server->options.arg);
        return;
    }
    bool close = !http_request_keep_alive(request);
    for (size_t i = 0; i < count; i++)
        if (headers[i].name && headers[i].value && strcasecmp(headers[i].name, "Connection") == 0 &&
            http_token_list_has(headers[i].value, "close"))
            close = true;
    c->close_after = close;
    request->replied = true;
    bool no_body = (status >= 100 && status < 200) || status == 204 || status == 304;
    put_head(c, status, reason, no_body ? NULL : content_type, headers, count, length, !no_body,
             !close && request->parser.minor == 0);
    if (no_body || request->head)
        length = 0;
    c->phase = CONN_WRITING;
    c->since_ms = now_ms();
    if (!conn_send(c, body, length))
        return;
    if (!c->write_armed)
        conn_reply_written(c);
}
