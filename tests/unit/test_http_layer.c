/* test_http_layer: tvsync-server's HTTP/1.1 layer (server/http.c): the request parser on
 * its own (every split point, pipelining, chunked bodies, malformed input, limits), and
 * the server over a socketpair (pipelined answers in order, 100-continue, early 413, HEAD,
 * the request timeout, a client gone before its deferred reply, admission at the connection
 * limit, the lingering close after an error). */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "server/http.h"

/* ------------------------------------------------------------------ parser */

typedef struct feed {
    http_parser parser;
    char buffer[200000];
    size_t length;      /* bytes in buffer (chunked decoding shortens it) */
    const char *source;
    size_t source_length;
    size_t fed;
} feed;

static void feed_start(feed *f, const char *source, size_t source_length, int64_t max_body)
{
    http_parser_init(&f->parser, max_body);
    f->length = 0;
    f->source = source;
    f->source_length = source_length;
    f->fed = 0;
}

static http_parse_result feed_more(feed *f, size_t n)
{
    if (f->fed + n > f->source_length)
        n = f->source_length - f->fed;
    memcpy(f->buffer + f->length, f->source + f->fed, n);
    f->length += n;
    f->fed += n;
    return http_parser_run(&f->parser, f->buffer, &f->length);
}

static const char *field(feed *f, const char *name)
{
    return http_parser_field(&f->parser, f->buffer, name);
}

static http_parse_result parse_all(feed *f, const char *text, int64_t max_body)
{
    feed_start(f, text, strlen(text), max_body);
    return feed_more(f, strlen(text));
}

static feed f; /* large: not on the stack */

START_TEST(test_simple_get)
{
    const char *text = "GET /graphql?query=%7Bx%7D HTTP/1.1\r\nHost: a\r\nX-Request-Id:  abc \r\nAccept: */*\r\n\r\n";
    ck_assert_int_eq(parse_all(&f, text, 1000), HTTP_PARSE_COMPLETE);
    ck_assert_str_eq(f.buffer + f.parser.method, "GET");
    ck_assert_str_eq(f.buffer + f.parser.path, "/graphql");
    ck_assert_str_eq(f.buffer + f.parser.query, "query=%7Bx%7D");
    ck_assert_str_eq(field(&f, "x-request-id"), "abc");
    ck_assert_str_eq(field(&f, "ACCEPT"), "*/*");
    ck_assert_ptr_null(field(&f, "Content-Type"));
    ck_assert(f.parser.keep_alive);
    ck_assert_int_eq(f.parser.minor, 1);
    ck_assert_uint_eq(http_parser_consumed(&f.parser), strlen(text));
    ck_assert_uint_eq(f.parser.body_length, 0);
}
END_TEST

START_TEST(test_bare_lf_and_leading_empty_lines)
{
    ck_assert_int_eq(parse_all(&f, "\r\n\nGET / HTTP/1.0\nConnection: keep-alive\n\n", 1000), HTTP_PARSE_COMPLETE);
    ck_assert_str_eq(f.buffer + f.parser.path, "/");
    ck_assert_uint_eq(f.parser.query, UINT32_MAX);
    ck_assert(f.parser.keep_alive);
    ck_assert_int_eq(f.parser.minor, 0);
}
END_TEST

START_TEST(test_keep_alive_rules)
{
    ck_assert_int_eq(parse_all(&f, "GET / HTTP/1.0\r\n\r\n", 1000), HTTP_PARSE_COMPLETE);
    ck_assert(!f.parser.keep_alive);
    ck_assert_int_eq(parse_all(&f, "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, close\r\n\r\n", 1000),
                     HTTP_PARSE_COMPLETE);
    ck_assert(!f.parser.keep_alive);
    ck_assert_int_eq(parse_all(&f, "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", 1000),
                     HTTP_PARSE_COMPLETE);
    ck_assert(f.parser.keep_alive);
}
END_TEST

/* The same request, cut in two at every byte boundary and fed byte by byte, parses the same. */
static void check_every_split(const char *text, const char *expect_body, const char *expect_type)
{
    size_t length = strlen(text);
    for (size_t cut = 0; cut <= length; cut++) {
        feed_start(&f, text, length, 100000);
        http_parse_result first = feed_more(&f, cut);
        if (cut < length)
            ck_assert_msg(first == HTTP_PARSE_MORE, "cut at %zu: %d", cut, first);
        ck_assert_int_eq(feed_more(&f, length - cut), HTTP_PARSE_COMPLETE);
        ck_assert_uint_eq(f.parser.body_length, strlen(expect_body));
        ck_assert_int_eq(memcmp(f.buffer + f.parser.head_end, expect_body, f.parser.body_length), 0);
        ck_assert_str_eq(field(&f, "Content-Type"), expect_type);
        ck_assert_str_eq(f.buffer + f.parser.method, "POST");
    }
    feed_start(&f, text, length, 100000);
    for (size_t i = 0; i + 1 < length; i++)
        ck_assert_int_eq(feed_more(&f, 1), HTTP_PARSE_MORE);
    ck_assert_int_eq(feed_more(&f, 1), HTTP_PARSE_COMPLETE);
    ck_assert_uint_eq(f.parser.body_length, strlen(expect_body));
    ck_assert_int_eq(memcmp(f.buffer + f.parser.head_end, expect_body, f.parser.body_length), 0);
}

START_TEST(test_split_content_length)
{
    check_every_split("POST /graphql HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                      "Content-Length: 16\r\n\r\n{\"query\":\"{a}\"}\n",
                      "{\"query\":\"{a}\"}\n", "application/json");
}
END_TEST

START_TEST(test_split_chunked)
{
    check_every_split("POST /graphql HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Type: text/x\r\n\r\n"
                      "5\r\nhello\r\n1;ext=\"1\"\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n",
                      "hello 0123456789", "text/x");
}
END_TEST

START_TEST(test_pipelined)
{
    const char *text = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                       "POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
                       "GET /c HTTP/1.1\r\nHost: a\r\n\r\n";
    feed_start(&f, text, strlen(text), 1000);
    ck_assert_int_eq(feed_more(&f, strlen(text)), HTTP_PARSE_COMPLETE);
    ck_assert_str_eq(f.buffer + f.parser.path, "/a");
    ck_assert_int_eq(memcmp(f.buffer + f.parser.head_end, "abc", 3), 0);
    const char *expect[] = {"/b", "/c"};
    const char *bodies[] = {"xy", ""};
    for (int i = 0; i < 2; i++) {
        size_t consumed = http_parser_consumed(&f.parser);
        memmove(f.buffer, f.buffer + consumed, f.length - consumed);
        f.length -= consumed;
        http_parser_init(&f.parser, 1000);
        ck_assert_int_eq(http_parser_run(&f.parser, f.buffer, &f.length), HTTP_PARSE_COMPLETE);
        ck_assert_str_eq(f.buffer + f.parser.path, expect[i]);
        ck_assert_uint_eq(f.parser.body_length, strlen(bodies[i]));
        ck_assert_int_eq(memcmp(f.buffer + f.parser.head_end, bodies[i], strlen(bodies[i])), 0);
    }
    ck_assert_uint_eq(http_parser_consumed(&f.parser), f.length);
}
END_TEST

static void check_error(const char *text, int status)
{
    http_parse_result result = parse_all(&f, text, 1000);
    ck_assert_msg(result == HTTP_PARSE_ERROR && f.parser.error_status == status, "%s: result %d status %d (%s), expected %d",
                  text, result, f.parser.error_status, f.parser.error_message ? f.parser.error_message : "", status);
    ck_assert_ptr_nonnull(f.parser.error_message);
}

START_TEST(test_bad_request_lines)
{
    check_error("GET /\r\n\r\n", 400);
    check_error("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    check_error("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
    check_error("GET http://example.com/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    check_error("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    check_error("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    check_error("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    check_error("GET / FTP/1.1\r\nHost: a\r\n\r\n", 400);
    check_error("GET / HTTP/11\r\nHost: a\r\n\r\n", 400);
    check_error("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
    check_error("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505);
    check_error("GET / HTTP/0.9\r\n\r\n", 505);
    check_error("\r\rGET / HTTP/1.1\r\n\r\n", 400);
}
END_TEST

START_TEST(test_bad_headers)
{
    check_error("GET / HTTP/1.1\r\n\r\n", 400);                                  /* no Host */
    check_error("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);            /* two */
    check_error("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  folded\r\n\r\n", 400); /* obs-fold */
    check_error("GET / HTTP/1.1\r\nHost: a\r\nBad Name: 1\r\n\r\n", 400);
    check_error("GET / HTTP/1.1\r\nHost: a\r\nName : 1\r\n\r\n", 400);
    check_error("GET / HTTP/1.1\r\nHost: a\r\nNo colon\r\n\r\n", 400);
    check_error("GET / HTTP/1.1\r\nHost: a\r\n: empty name\r\n\r\n", 400);
    check_error("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400);
    check_error("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", 400);
    check_error("GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 417);
}
END_TEST

START_TEST(test_oversized_head)
{
    static char text[HTTP_MAX_HEADER_BYTES + 200];
    strcpy(text, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
    size_t length = strlen(text);
    memset(text + length, 'x', HTTP_MAX_HEADER_BYTES);
    text[length + HTTP_MAX_HEADER_BYTES] = '\0';
    /* No end of head yet: refused once it is over the limit, without waiting for more. */
    check_error(text, 431);
    strcat(text, "\r\n\r\n");
    check_error(text, 431);
    /* Many small fields. */
    char many[8192] = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
        strcat(many, "X: 1\r\n");
    strcat(many, "\r\n");
    check_error(many, 431);
}
END_TEST

START_TEST(test_content_length)
{
    check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", 400);
    check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400);
    check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400);
    check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\n", 400);
    check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400);
    check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400);
    check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400);
    check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
    check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n", 413);
    check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413);
    ck_assert_int_eq(parse_all(&f, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc", 1000),
                     HTTP_PARSE_COMPLETE);
    ck_assert_uint_eq(f.parser.body_length, 3);
    ck_assert_int_eq(parse_all(&f, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n", 1000), HTTP_PARSE_MORE);
    ck_assert(f.parser.head_done);
}
END_TEST

START_TEST(test_chunked_errors)
{
    check_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
    check_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 501);
    check_error("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
    check_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400);
    check_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400);
    check_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3x\r\nabc\r\n", 400);
    check_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3E9\r\n", 413);
    check_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFFFFFF\r\n", 413);
    /* the sum of the chunks counts */
    static char big[4000];
    int n = snprintf(big, sizeof big, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1F4\r\n");
    memset(big + n, 'x', 500);
    strcpy(big + n + 500, "\r\n1F5\r\n");
    check_error(big, 413);
}
END_TEST

START_TEST(test_expect_continue)
{
    ck_assert_int_eq(parse_all(&f, "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n", 1000),
                     HTTP_PARSE_MORE);
    ck_assert(f.parser.head_done);
    ck_assert(f.parser.expect_continue);
    ck_assert_int_eq(parse_all(&f, "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", 1000),
                     HTTP_PARSE_MORE);
    ck_assert(!f.parser.expect_continue); /* HTTP/1.0 clients do not wait for it */
}
END_TEST

/* ------------------------------------------------------------------ server over a socketpair */

typedef struct harness {
    struct event_base *base;
    http_server *server;
    int client;
    int done;
    int errors;
    int last_error;
    bool defer;
    http_request *deferred;
    const char *reason; /* the reason phrase echo_cb replies with; NULL: the standard one */
} harness;

static void echo_cb(http_request *request, void *arg)
{
    harness *h = arg;
    if (h->defer) {
        h->deferred = request;
        return;
    }
    char body[512];
    size_t length = 0;
    const char *data = http_request_body(request, &length);
    const char *query = http_request_query(request);
    int n = snprintf(body, sizeof body, "%s %s %s %.*s", http_request_method(request), http_request_path(request),
                     query ? query : "-", (int) length, data);
    http_header headers[] = {{"X-Test", "1"}};
    http_reply(request, 200, h->reason, "text/plain", headers, 1, body, (size_t) n);
}

static void done_cb(void *arg)
{
    ((harness *) arg)->done++;
}

static void error_cb(void *arg, int status, const char *message)
{
    harness *h = arg;
    h->errors++;
    h->last_error = status;
}

static void harness_start_limited(harness *h, int timeout_ms, int max_connections)
{
    memset(h, 0, sizeof *h);
    h->base = event_base_new();
    http_server_options options = {.request_timeout_ms = timeout_ms, .max_body_bytes = 1000, .handler = echo_cb,
                                   .done = done_cb, .error = error_cb, .arg = h, .max_connections = max_connections};
    h->server = http_server_new(h->base, -1, &options);
    ck_assert_ptr_nonnull(h->server);
    int pair[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair), 0);
    h->client = pair[0];
    ck_assert(http_server_adopt(h->server, pair[1]));
}

static void harness_start(harness *h, int timeout_ms)
{
    harness_start_limited(h, timeout_ms, 0);
}

static void harness_stop(harness *h)
{
    http_server_free(h->server);
    event_base_free(h->base);
    if (h->client >= 0)
        close(h->client);
}

static void run(harness *h)
{
    for (int i = 0; i < 5; i++)
        event_base_loop(h->base, EVLOOP_NONBLOCK);
}

static void send_text(harness *h, const char *text)
{
    ck_assert_int_eq(write(h->client, text, strlen(text)), (ssize_t) strlen(text));
    run(h);
}

/* What the server wrote so far; *closed when it also closed its side. */
static char *receive(harness *h, bool *closed)
{
    static char data[65536];
    size_t length = 0;
    *closed = false;
    for (;;) {
        ssize_t n = read(h->client, data + length, sizeof data - 1 - length);
        if (n > 0) {
            length += (size_t) n;
            continue;
        }
        if (n == 0)
            *closed = true;
        break;
    }
    data[length] = '\0';
    return data;
}

static int count_of(const char *text, const char *part)
{
    int count = 0;
    for (const char *p = strstr(text, part); p; p = strstr(p + 1, part))
        count++;
    return count;
}

START_TEST(test_server_pipelined_in_order)
{
    harness h;
    harness_start(&h, 5000);
    send_text(&h, "GET /one?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"
                  "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody"
                  "GET /three HTTP/1.1\r\nHost: a\r\n\r\n");
    bool closed;
    char *out = receive(&h, &closed);
    ck_assert(!closed);
    ck_assert_int_eq(count_of(out, "HTTP/1.1 200 OK\r\n"), 3);
    char *one = strstr(out, "GET /one x=1");
    char *two = strstr(out, "POST /two - body");
    char *three = strstr(out, "GET /three -");
    ck_assert(one && two && three && one < two && two < three);
    ck_assert_ptr_nonnull(strstr(out, "Content-Length: 13\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "Content-Type: text/plain\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "X-Test: 1\r\n"));
    ck_assert_int_eq(h.done, 3);
    ck_assert_int_eq(http_server_connections(h.server), 1);
    harness_stop(&h);
}
END_TEST

START_TEST(test_server_expect_continue_and_early_413)
{
    harness h;
    harness_start(&h, 5000);
    bool closed;
    send_text(&h, "POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    ck_assert_str_eq(receive(&h, &closed), "HTTP/1.1 100 Continue\r\n\r\n");
    send_text(&h, "hello");
    char *out = receive(&h, &closed);
    ck_assert_ptr_nonnull(strstr(out, "HTTP/1.1 200 OK\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "POST /x - hello"));
    /* Over max_body_bytes (1000): 413 at once, no 100, then the server closes. */
    send_text(&h, "POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10485760\r\n\r\n");
    out = receive(&h, &closed);
    ck_assert_msg(strncmp(out, "HTTP/1.1 413 ", 13) == 0, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "Connection: close\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "server.max_body_bytes"));
    ck_assert_ptr_null(strstr(out, "100 Continue"));
    ck_assert(closed); /* our side shut down; the server lingers until we close */
    ck_assert_int_eq(h.errors, 1);
    ck_assert_int_eq(h.last_error, 413);
    harness_stop(&h);
}
END_TEST

START_TEST(test_server_head_and_http10)
{
    harness h;
    harness_start(&h, 5000);
    bool closed;
    send_text(&h, "HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n");
    char *out = receive(&h, &closed);
    ck_assert_ptr_nonnull(strstr(out, "Content-Length: 10\r\n")); /* "HEAD /h - " */
    ck_assert_str_eq(strstr(out, "\r\n\r\n"), "\r\n\r\n");       /* nothing after the head */
    ck_assert(!closed);
    send_text(&h, "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    out = receive(&h, &closed);
    ck_assert_ptr_nonnull(strstr(out, "Connection: keep-alive\r\n"));
    ck_assert(!closed);
    send_text(&h, "GET /c HTTP/1.0\r\n\r\n");
    out = receive(&h, &closed);
    ck_assert_ptr_nonnull(strstr(out, "GET /c -"));
    ck_assert_ptr_nonnull(strstr(out, "Connection: close\r\n"));
    ck_assert(closed);
    ck_assert_int_eq(http_server_connections(h.server), 0);
    harness_stop(&h);
}
END_TEST

START_TEST(test_server_bad_request_closes)
{
    harness h;
    harness_start(&h, 5000);
    bool closed;
    send_text(&h, "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n");
    char *out = receive(&h, &closed);
    ck_assert_msg(strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26) == 0, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "Content-Type: application/json; charset=utf-8\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "obs-fold"));
    ck_assert(closed);
    ck_assert_int_eq(h.done, 0);
    harness_stop(&h);
}
END_TEST

START_TEST(test_server_request_timeout)
{
    harness h;
    harness_start(&h, 100);
    bool closed;
    send_text(&h, "GET / HTTP/1.1\r\nHo");
    struct timeval wait = {0, 300000};
    event_base_loopexit(h.base, &wait);
    event_base_dispatch(h.base);
    char *out = receive(&h, &closed);
    ck_assert_msg(strncmp(out, "HTTP/1.1 408 Request Timeout\r\n", 30) == 0, "%s", out);
    ck_assert(closed);
    harness_stop(&h);
}
END_TEST

START_TEST(test_server_idle_keep_alive_closes)
{
    harness h;
    harness_start(&h, 100);
    bool closed;
    send_text(&h, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_ptr_nonnull(strstr(receive(&h, &closed), "200 OK"));
    struct timeval wait = {0, 300000};
    event_base_loopexit(h.base, &wait);
    event_base_dispatch(h.base);
    ck_assert_str_eq(receive(&h, &closed), ""); /* closed without an answer */
    ck_assert(closed);
    ck_assert_int_eq(http_server_connections(h.server), 0);
    harness_stop(&h);
}
END_TEST

START_TEST(test_server_deferred_reply_and_gone_client)
{
    harness h;
    harness_start(&h, 5000);
    h.defer = true;
    bool closed;
    send_text(&h, "GET /later HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_ptr_nonnull(h.deferred);
    ck_assert_str_eq(receive(&h, &closed), "");
    h.defer = false;
    http_reply(h.deferred, 204, NULL, "text/plain", NULL, 0, NULL, 0);
    char *out = receive(&h, &closed);
    ck_assert_msg(strncmp(out, "HTTP/1.1 204 No Content\r\n", 25) == 0, "%s", out);
    ck_assert_ptr_null(strstr(out, "Content-Length"));
    ck_assert_int_eq(h.done, 1);
    /* The client leaves before the answer: the request stays usable, the reply frees it. */
    h.defer = true;
    h.deferred = NULL;
    send_text(&h, "GET /gone HTTP/1.1\r\nHost: a\r\nX-Id: 7\r\n\r\n");
    ck_assert_ptr_nonnull(h.deferred);
    close(h.client);
    h.client = -1;
    run(&h);
    ck_assert(http_request_client_gone(h.deferred));
    ck_assert_str_eq(http_request_header(h.deferred, "x-id"), "7");
    ck_assert_str_eq(http_request_path(h.deferred), "/gone");
    ck_assert_int_eq(http_server_connections(h.server), 0);
    http_reply(h.deferred, 200, NULL, "text/plain", NULL, 0, "x", 1);
    ck_assert_int_eq(h.done, 2);
    harness_stop(&h);
}
END_TEST

/* Answers that come after the server is freed (a worker shutting down) only free. */
START_TEST(test_server_freed_before_reply)
{
    harness h;
    harness_start(&h, 5000);
    h.defer = true;
    send_text(&h, "GET /a HTTP/1.1\r\nHost: a\r\n\r\n");
    http_request *gone = h.deferred;
    close(h.client); /* this one's client leaves first */
    h.client = -1;
    run(&h);
    ck_assert(http_request_client_gone(gone));
    int pair[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair), 0);
    h.client = pair[0];
    ck_assert(http_server_adopt(h.server, pair[1]));
    send_text(&h, "GET /b HTTP/1.1\r\nHost: a\r\n\r\n");
    http_request *open = h.deferred;
    ck_assert_ptr_ne(open, gone);
    http_server_free(h.server);
    ck_assert(http_request_client_gone(open));
    ck_assert_str_eq(http_request_path(open), "/b");
    http_reply(open, 200, NULL, "text/plain", NULL, 0, "x", 1);
    http_reply(gone, 200, NULL, "text/plain", NULL, 0, "x", 1);
    ck_assert_int_eq(h.done, 0);
    event_base_free(h.base);
    close(h.client);
}
END_TEST

/* A new connection for h's server, its client side in *client. */
static void adopt_another(harness *h, int *client)
{
    int pair[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair), 0);
    ck_assert(http_server_adopt(h->server, pair[1]));
    *client = pair[0];
    run(h);
}

START_TEST(test_server_connection_limit)
{
    harness h;
    harness_start_limited(&h, 5000, 1);
    /* The admitted connection is busy (half a request): nothing can make room. */
    send_text(&h, "GET / HTTP/1.1\r\n");
    int second;
    adopt_another(&h, &second);
    ck_assert_int_eq(http_server_connections(h.server), 1);
    bool closed;
    int first = h.client;
    h.client = second;
    char *out = receive(&h, &closed);
    ck_assert_msg(strncmp(out, "HTTP/1.1 503 Service Unavailable\r\n", 34) == 0, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "Retry-After: 1\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "Connection: close\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "server.max_connections"));
    ck_assert(closed);
    /* Its request, sent after the answer, is read and discarded (no reset). */
    const char *request = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    ck_assert_int_eq(send(second, request, strlen(request), MSG_NOSIGNAL), (ssize_t) strlen(request));
    run(&h);
    ck_assert_int_eq(h.done, 0); /* never handed to the handler */
    close(second);
    h.client = first;
    send_text(&h, "Host: a\r\n\r\n");
    out = receive(&h, &closed);
    ck_assert_ptr_nonnull(strstr(out, "200 OK"));
    ck_assert(!closed);
    close(h.client); /* the admitted one leaves: its place is free again */
    h.client = -1;
    run(&h);
    ck_assert_int_eq(http_server_connections(h.server), 0);
    adopt_another(&h, &h.client);
    send_text(&h, request);
    ck_assert_ptr_nonnull(strstr(receive(&h, &closed), "200 OK"));
    harness_stop(&h);
}
END_TEST

START_TEST(test_server_idle_connection_closed_to_admit_a_new_one)
{
    harness h;
    harness_start_limited(&h, 5000, 2);
    const char *request = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    bool closed;
    int oldest = h.client;
    send_text(&h, request);
    ck_assert_ptr_nonnull(strstr(receive(&h, &closed), "200 OK"));
    int newer;
    adopt_another(&h, &newer);
    h.client = newer;
    send_text(&h, request);
    ck_assert_ptr_nonnull(strstr(receive(&h, &closed), "200 OK"));
    /* Both idle, at the limit: the third client takes the place of the least recently used. */
    int third;
    adopt_another(&h, &third);
    ck_assert_int_eq(http_server_connections(h.server), 2);
    h.client = oldest;
    ck_assert_str_eq(receive(&h, &closed), "");
    ck_assert(closed);
    h.client = newer;
    receive(&h, &closed);
    ck_assert(!closed);
    h.client = third;
    send_text(&h, request);
    char *out = receive(&h, &closed);
    ck_assert_msg(strstr(out, "200 OK") != NULL, "%s", out);
    ck_assert(!closed);
    /* A busy connection is never taken: with newer idle again and third busy, the next
     * client takes newer's place, not third's. */
    send_text(&h, "GET / HTTP/1.1\r\n");
    int fourth;
    adopt_another(&h, &fourth);
    h.client = newer;
    receive(&h, &closed);
    ck_assert(closed);
    h.client = third;
    send_text(&h, "Host: a\r\n\r\n");
    ck_assert_ptr_nonnull(strstr(receive(&h, &closed), "200 OK"));
    close(oldest);
    close(newer);
    close(fourth);
    harness_stop(&h);
}
END_TEST

START_TEST(test_server_413_lingers_while_the_client_writes_its_body)
{
    harness h;
    harness_start(&h, 5000);
    /* Much more than max_body_bytes (1000), written in full before reading, as most
     * clients do: every write must be taken (no EPIPE), then the 413 is there to read. */
    size_t body = 8u << 20;
    char head[128];
    snprintf(head, sizeof head, "POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: %zu\r\n\r\n", body);
    send_text(&h, head);
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    size_t sent = 0;
    while (sent < body) {
        ssize_t n = send(h.client, chunk, sizeof chunk, MSG_NOSIGNAL);
        if (n < 0) {
            ck_assert_msg(errno == EAGAIN, "write %zu of %zu failed: %s", sent, body, strerror(errno));
            run(&h);
            continue;
        }
        sent += (size_t) n;
    }
    run(&h);
    bool closed;
    char *out = receive(&h, &closed);
    ck_assert_msg(strncmp(out, "HTTP/1.1 413 ", 13) == 0, "%s", out);
    ck_assert(closed);
    ck_assert_int_eq(http_server_connections(h.server), 1); /* still lingering until we close */
    close(h.client);
    h.client = -1;
    run(&h);
    ck_assert_int_eq(http_server_connections(h.server), 0);
    harness_stop(&h);
}
END_TEST

START_TEST(test_server_drain)
{
    harness h;
    harness_start(&h, 5000);
    bool closed;
    send_text(&h, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    receive(&h, &closed);
    http_server_drain(h.server);
    receive(&h, &closed);
    ck_assert(closed); /* the idle keep-alive connection is closed */
    ck_assert_int_eq(http_server_connections(h.server), 0);
    harness_stop(&h);
}
END_TEST

START_TEST(test_server_long_reason_keeps_the_head_whole)
{
    harness h;
    harness_start(&h, 5000);
    char reason[301];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    h.reason = reason;
    send_text(&h, "GET /long HTTP/1.1\r\nHost: a\r\n\r\n");
    bool closed;
    char *out = receive(&h, &closed);
    char expected[400];
    snprintf(expected, sizeof expected, "HTTP/1.1 200 %s\r\nDate: ", reason);
    ck_assert_msg(strncmp(out, expected, strlen(expected)) == 0, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "Content-Length: 12\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "GET /long -"));
    ck_assert_int_eq(h.done, 1);
    harness_stop(&h);
}
END_TEST

START_TEST(test_server_reason_with_newline_is_not_sent)
{
    harness h;
    harness_start(&h, 5000);
    h.reason = "OK\r\nSet-Cookie: injected=1";
    send_text(&h, "GET /r HTTP/1.1\r\nHost: a\r\n\r\n");
    bool closed;
    char *out = receive(&h, &closed);
    ck_assert_msg(strncmp(out, "HTTP/1.1 200 OK\r\nDate: ", 23) == 0, "%s", out);
    ck_assert_ptr_null(strstr(out, "injected"));
    ck_assert_ptr_nonnull(strstr(out, "GET /r -"));
    harness_stop(&h);
}
END_TEST

START_TEST(test_error_body_escapes_the_message)
{
    size_t length;
    char *body = http_error_body("a \"quoted\" C:\\path\nnext\x01", &length);
    ck_assert_str_eq(body, "{\"errors\":[{\"message\":\"a \\\"quoted\\\" C:\\\\path\\u000anext\\u0001\"}]}");
    ck_assert_uint_eq(length, strlen(body));
    free(body);
    body = http_error_body("plain", &length);
    ck_assert_str_eq(body, "{\"errors\":[{\"message\":\"plain\"}]}");
    free(body);
}
END_TEST

START_TEST(test_server_large_reply_short_write)
{
    harness h;
    harness_start(&h, 5000);
    h.defer = true;
    send_text(&h, "GET /big HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_ptr_nonnull(h.deferred);
    size_t size = 4 << 20; /* more than the socket takes at once */
    char *body = malloc(size);
    memset(body, 'b', size);
    h.defer = false;
    http_reply(h.deferred, 200, NULL, "application/octet-stream", NULL, 0, body, size);
    free(body);
    ck_assert_int_eq(h.done, 0); /* not written yet */
    size_t got = 0;
    bool closed = false;
    static char chunk[65536];
    char tail[256] = "";
    for (int i = 0; i < 100000 && !strstr(tail, "GET /next -"); i++) {
        run(&h);
        ssize_t n = read(h.client, chunk, sizeof chunk - 1);
        if (n > 0) {
            got += (size_t) n;
            chunk[n] = '\0';
            size_t keep = (size_t) n < sizeof tail - 1 ? (size_t) n : sizeof tail - 1;
            memcpy(tail, chunk + n - keep, keep);
            tail[keep] = '\0';
        }
    }
    ck_assert(!closed);
    ck_assert_uint_gt(got, size);
    ck_assert_ptr_nonnull(strstr(tail, "GET /next -"));
    ck_assert_int_eq(h.done, 2);
    harness_stop(&h);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *suite = suite_create("http");
    TCase *parser = tcase_create("parser");
    tcase_add_test(parser, test_simple_get);
    tcase_add_test(parser, test_bare_lf_and_leading_empty_lines);
    tcase_add_test(parser, test_keep_alive_rules);
    tcase_add_test(parser, test_split_content_length);
    tcase_add_test(parser, test_split_chunked);
    tcase_add_test(parser, test_pipelined);
    tcase_add_test(parser, test_bad_request_lines);
    tcase_add_test(parser, test_bad_headers);
    tcase_add_test(parser, test_oversized_head);
    tcase_add_test(parser, test_content_length);
    tcase_add_test(parser, test_chunked_errors);
    tcase_add_test(parser, test_expect_continue);
    suite_add_tcase(suite, parser);
    TCase *server = tcase_create("server");
    tcase_add_test(server, test_server_pipelined_in_order);
    tcase_add_test(server, test_server_expect_continue_and_early_413);
    tcase_add_test(server, test_server_head_and_http10);
    tcase_add_test(server, test_server_bad_request_closes);
    tcase_add_test(server, test_server_request_timeout);
    tcase_add_test(server, test_server_idle_keep_alive_closes);
    tcase_add_test(server, test_server_deferred_reply_and_gone_client);
    tcase_add_test(server, test_server_freed_before_reply);
    tcase_add_test(server, test_server_connection_limit);
    tcase_add_test(server, test_server_idle_connection_closed_to_admit_a_new_one);
    tcase_add_test(server, test_server_413_lingers_while_the_client_writes_its_body);
    tcase_add_test(server, test_server_drain);
    tcase_add_test(server, test_server_large_reply_short_write);
    tcase_add_test(server, test_server_long_reason_keeps_the_head_whole);
    tcase_add_test(server, test_server_reason_with_newline_is_not_sent);
    tcase_add_test(server, test_error_body_escapes_the_message);
    tcase_set_timeout(server, 20);
    suite_add_tcase(suite, server);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(http_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
