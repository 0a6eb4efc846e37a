/* test_graphiql: Check tests of the GraphiQL module: Accept negotiation, and real
 * HTTP requests (an evhttp client) to tvsync-server's HTTP layer (server/http.h) on a
 * free port serving a temporary page. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/log.h"
#include "server/graphiql/graphiql.h"

/* ---- Accept negotiation ---- */

START_TEST(test_browser_accept_prefers_html)
{
    ck_assert(graphiql_accept_prefers_html(
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"));
}
END_TEST

START_TEST(test_graphql_client_accept_does_not_get_html)
{
    ck_assert(!graphiql_accept_prefers_html("application/graphql-response+json, application/json"));
    ck_assert(!graphiql_accept_prefers_html("application/json"));
    ck_assert(!graphiql_accept_prefers_html("*/*"));
    ck_assert(!graphiql_accept_prefers_html(""));
    ck_assert(!graphiql_accept_prefers_html(NULL));
}
END_TEST

START_TEST(test_accept_quality_values_decide)
{
    ck_assert(!graphiql_accept_prefers_html("text/html;q=0.5, application/json"));
    ck_assert(graphiql_accept_prefers_html("application/json;q=0.5, text/html"));
    ck_assert(!graphiql_accept_prefers_html("text/html;q=0"));
    ck_assert(graphiql_accept_prefers_html("TEXT/HTML ; q=1"));
    /* text/htmlx is not text/html */
    ck_assert(!graphiql_accept_prefers_html("text/htmlx"));
}
END_TEST

/* ---- HTTP ---- */

static char asset_dir[] = "/tmp/tvsync-graphiql-test-XXXXXX";
static const char index_text[] = "<!doctype html><title>page</title>graphiql test page";

static void write_index(const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/index.html", asset_dir);
    FILE *file = fopen(path, "w");
    ck_assert_ptr_nonnull(file);
    fputs(text, file);
    fclose(file);
}

static void remove_assets(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/index.html", asset_dir);
    unlink(path);
    rmdir(asset_dir);
}

typedef struct http_fixture {
    struct event_base *base;
    http_server *http;
    int port;
    graphiql_page *page;
} http_fixture;

/* What the server's own /graphql handler does: GraphiQL first, else GraphQL. */
static void generic_cb(http_request *request, void *arg)
{
    http_fixture *fixture = arg;
    if (graphiql_serve_hook(request, fixture->page))
        return;
    http_reply(request, 418, "Not GraphiQL's", "text/plain", NULL, 0, "", 0);
}

static void fixture_start(http_fixture *fixture, graphiql_page *page)
{
    fixture->base = event_base_new();
    ck_assert_ptr_nonnull(fixture->base);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &address, sizeof address), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    socklen_t length = sizeof address;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &address, &length), 0);
    fixture->port = ntohs(address.sin_port);
    fixture->page = page;
    http_server_options options = {
        .request_timeout_ms = 10000, .max_body_bytes = 1 << 20, .handler = generic_cb, .arg = fixture};
    fixture->http = http_server_new(fixture->base, fd, &options);
    ck_assert_ptr_nonnull(fixture->http);
}

static void fixture_stop(http_fixture *fixture)
{
    http_server_free(fixture->http);
    event_base_free(fixture->base);
}

typedef struct http_response {
    int status;
    char content_type[128];
    char etag[64];
    char vary[64];
    char *body;
    size_t body_length;
    struct event_base *base;
} http_response;

static void copy_header(struct evhttp_request *request, const char *name, char *out, size_t out_size)
{
    const char *value = evhttp_find_header(evhttp_request_get_input_headers(request), name);
    snprintf(out, out_size, "%s", value ? value : "");
}

static void response_cb(struct evhttp_request *request, void *arg)
{
    http_response *response = arg;
    if (request) {
        response->status = evhttp_request_get_response_code(request);
        copy_header(request, "Content-Type", response->content_type, sizeof response->content_type);
        copy_header(request, "ETag", response->etag, sizeof response->etag);
        copy_header(request, "Vary", response->vary, sizeof response->vary);
        struct evbuffer *body = evhttp_request_get_input_buffer(request);
        response->body_length = evbuffer_get_length(body);
        response->body = malloc(response->body_length + 1);
        evbuffer_remove(body, response->body, response->body_length);
        response->body[response->body_length] = '\0';
    }
    event_base_loopexit(response->base, NULL);
}

static http_response send_request(http_fixture *fixture, enum evhttp_cmd_type command, const char *path,
                                  const char *accept, const char *if_none_match)
{
    http_response response = {.status = -1, .base = fixture->base};
    struct evhttp_connection *connection =
        evhttp_connection_base_new(fixture->base, NULL, "127.0.0.1", (unsigned short) fixture->port);
    ck_assert_ptr_nonnull(connection);
    struct evhttp_request *request = evhttp_request_new(response_cb, &response);
    struct evkeyvalq *headers = evhttp_request_get_output_headers(request);
    evhttp_add_header(headers, "Host", "127.0.0.1");
    if (accept)
        evhttp_add_header(headers, "Accept", accept);
    if (if_none_match)
        evhttp_add_header(headers, "If-None-Match", if_none_match);
    ck_assert_int_eq(evhttp_make_request(connection, request, command, path), 0);
    struct timeval limit = {10, 0};
    event_base_loopexit(fixture->base, &limit);
    event_base_dispatch(fixture->base);
    evhttp_connection_free(connection);
    ck_assert_msg(response.status != -1, "no response to %s", path);
    return response;
}

static const char browser_accept[] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
static graphiql_page *test_page;
static http_fixture fixture;

static void http_setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(asset_dir));
    write_index(index_text);
    test_page = graphiql_page_load(asset_dir);
    ck_assert_ptr_nonnull(test_page);
    fixture_start(&fixture, test_page);
}

static void http_teardown(void)
{
    fixture_stop(&fixture);
    graphiql_page_free(test_page);
    remove_assets();
    strcpy(asset_dir, "/tmp/tvsync-graphiql-test-XXXXXX");
}

START_TEST(test_browser_get_graphql_serves_the_page)
{
    http_response response = send_request(&fixture, EVHTTP_REQ_GET, "/graphql?query=%7Bposts%7Bid%7D%7D",
                                          browser_accept, NULL);
    ck_assert_int_eq(response.status, 200);
    ck_assert_str_eq(response.content_type, "text/html; charset=utf-8");
    ck_assert_str_eq(response.vary, "Accept");
    ck_assert_int_eq(strlen(response.etag), 18);
    ck_assert_str_eq(response.body, index_text);
    free(response.body);
}
END_TEST

START_TEST(test_matching_etag_gets_304_without_body)
{
    http_response first = send_request(&fixture, EVHTTP_REQ_GET, "/graphql", browser_accept, NULL);
    http_response again = send_request(&fixture, EVHTTP_REQ_GET, "/graphql", browser_accept, first.etag);
    ck_assert_int_eq(again.status, 304);
    ck_assert_uint_eq(again.body_length, 0);
    http_response stale = send_request(&fixture, EVHTTP_REQ_GET, "/graphql", browser_accept, "\"0000\"");
    ck_assert_int_eq(stale.status, 200);
    free(first.body);
    free(again.body);
    free(stale.body);
}
END_TEST

START_TEST(test_head_gets_headers_only)
{
    http_response response = send_request(&fixture, EVHTTP_REQ_HEAD, "/graphql", browser_accept, NULL);
    ck_assert_int_eq(response.status, 200);
    ck_assert_str_eq(response.content_type, "text/html; charset=utf-8");
    ck_assert_uint_eq(response.body_length, 0);
    free(response.body);
}
END_TEST

START_TEST(test_json_get_graphql_is_left_to_the_server)
{
    http_response response = send_request(&fixture, EVHTTP_REQ_GET, "/graphql?query=%7Bposts%7Bid%7D%7D",
                                          "application/graphql-response+json", NULL);
    ck_assert_int_eq(response.status, 418);
    free(response.body);
    response = send_request(&fixture, EVHTTP_REQ_GET, "/graphql?query=%7Bposts%7Bid%7D%7D", NULL, NULL);
    ck_assert_int_eq(response.status, 418);
    free(response.body);
}
END_TEST

START_TEST(test_post_graphql_is_left_to_the_server)
{
    http_response response = send_request(&fixture, EVHTTP_REQ_POST, "/graphql", "text/html", NULL);
    ck_assert_int_eq(response.status, 418);
    free(response.body);
}
END_TEST

START_TEST(test_other_paths_are_left_to_the_server)
{
    http_response response = send_request(&fixture, EVHTTP_REQ_GET, "/metrics", "text/html", NULL);
    ck_assert_int_eq(response.status, 418);
    free(response.body);
    response = send_request(&fixture, EVHTTP_REQ_GET, "/graphql/../etc/passwd", "text/html", NULL);
    ck_assert_int_ne(response.status, 200);
    free(response.body);
}
END_TEST

START_TEST(test_load_without_index_fails)
{
    ck_assert_ptr_null(graphiql_page_load("/nonexistent/tvsync-graphiql"));
}
END_TEST

START_TEST(test_no_page_serves_nothing)
{
    http_fixture bare;
    fixture_start(&bare, NULL);
    http_response response = send_request(&bare, EVHTTP_REQ_GET, "/graphql", "text/html", NULL);
    ck_assert_int_eq(response.status, 418);
    free(response.body);
    fixture_stop(&bare);
}
END_TEST

/* The page this build made (npm-inlined or CDN) loads and is a GraphiQL page. */
START_TEST(test_built_page_is_served)
{
    const char *builddir = getenv("TVSYNC_BUILDDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/server/graphiql/assets", builddir ? builddir : ".");
    graphiql_page *built = graphiql_page_load(dir);
    ck_assert_ptr_nonnull(built);
    http_fixture served;
    fixture_start(&served, built);
    http_response response = send_request(&served, EVHTTP_REQ_GET, "/graphql", browser_accept, NULL);
    ck_assert_int_eq(response.status, 200);
    ck_assert_ptr_nonnull(strstr(response.body, "GraphiQL.createFetcher"));
    free(response.body);
    fixture_stop(&served);
    graphiql_page_free(built);
}
END_TEST

static Suite *graphiql_suite(void)
{
    Suite *suite = suite_create("graphiql");
    TCase *accept = tcase_create("accept");
    tcase_add_test(accept, test_browser_accept_prefers_html);
    tcase_add_test(accept, test_graphql_client_accept_does_not_get_html);
    tcase_add_test(accept, test_accept_quality_values_decide);
    suite_add_tcase(suite, accept);

    TCase *http = tcase_create("http");
    tcase_add_checked_fixture(http, http_setup, http_teardown);
    tcase_add_test(http, test_browser_get_graphql_serves_the_page);
    tcase_add_test(http, test_matching_etag_gets_304_without_body);
    tcase_add_test(http, test_head_gets_headers_only);
    tcase_add_test(http, test_json_get_graphql_is_left_to_the_server);
    tcase_add_test(http, test_post_graphql_is_left_to_the_server);
    tcase_add_test(http, test_other_paths_are_left_to_the_server);
    suite_add_tcase(suite, http);

    TCase *load = tcase_create("load");
    tcase_add_test(load, test_load_without_index_fails);
    tcase_add_test(load, test_no_page_serves_nothing);
    tcase_add_test(load, test_built_page_is_served);
    suite_add_tcase(suite, load);
    return suite;
}

int main(void)
{
    log_init("test_graphiql");
    log_set_level(LOG_LEVEL_ERROR);
    SRunner *runner = srunner_create(graphiql_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
