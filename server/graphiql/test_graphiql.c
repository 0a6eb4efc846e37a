/* test_graphiql: Check tests of the GraphiQL module: Accept negotiation, and real
 * HTTP requests to an evhttp server on a free port serving a temporary asset folder. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
static const char script_text[] = "/* graphiql.min.js test asset */";

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", asset_dir, name);
    FILE *file = fopen(path, "w");
    ck_assert_ptr_nonnull(file);
    fputs(text, file);
    fclose(file);
}

static void remove_assets(void)
{
    const char *names[] = {"index.html", "graphiql.min.js", "graphiql.min.css"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", asset_dir, names[i]);
        unlink(path);
    }
    rmdir(asset_dir);
}

typedef struct http_fixture {
    struct event_base *base;
    struct evhttp *http;
    int port;
    graphiql_assets *assets;
} http_fixture;

/* What the server's own handler would do with a request GraphiQL declines. */
static void generic_cb(struct evhttp_request *request, void *arg)
{
    http_fixture *fixture = arg;
    if (graphiql_serve(request, fixture->assets))
        return;
    evhttp_send_reply(request, 418, "Not GraphiQL's", NULL);
}

static void fixture_start(http_fixture *fixture, graphiql_assets *assets)
{
    fixture->base = event_base_new();
    ck_assert_ptr_nonnull(fixture->base);
    fixture->http = evhttp_new(fixture->base);
    evhttp_set_allowed_methods(fixture->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
    evhttp_set_gencb(fixture->http, generic_cb, fixture);
    struct evhttp_bound_socket *handle = evhttp_bind_socket_with_handle(fixture->http, "127.0.0.1", 0);
    ck_assert_ptr_nonnull(handle);
    struct sockaddr_in address;
    socklen_t length = sizeof address;
    ck_assert_int_eq(getsockname(evhttp_bound_socket_get_fd(handle), (struct sockaddr *) &address, &length), 0);
    fixture->port = ntohs(address.sin_port);
    fixture->assets = assets;
}

static void fixture_stop(http_fixture *fixture)
{
    evhttp_free(fixture->http);
    event_base_free(fixture->base);
}

typedef struct http_response {
    int status;
    char content_type[128];
    char cache_control[128];
    char *body;
    size_t body_length;
    struct event_base *base;
} http_response;

static void response_cb(struct evhttp_request *request, void *arg)
{
    http_response *response = arg;
    if (request) {
        response->status = evhttp_request_get_response_code(request);
        const char *type = evhttp_find_header(evhttp_request_get_input_headers(request), "Content-Type");
        snprintf(response->content_type, sizeof response->content_type, "%s", type ? type : "");
        const char *cache = evhttp_find_header(evhttp_request_get_input_headers(request), "Cache-Control");
        snprintf(response->cache_control, sizeof response->cache_control, "%s", cache ? cache : "");
        struct evbuffer *body = evhttp_request_get_input_buffer(request);
        response->body_length = evbuffer_get_length(body);
        response->body = malloc(response->body_length + 1);
        evbuffer_remove(body, response->body, response->body_length);
        response->body[response->body_length] = '\0';
    }
    event_base_loopexit(response->base, NULL);
}

static http_response http_request(http_fixture *fixture, enum evhttp_cmd_type command, const char *path,
                                  const char *accept)
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
    ck_assert_int_eq(evhttp_make_request(connection, request, command, path), 0);
    struct timeval limit = {10, 0};
    event_base_loopexit(fixture->base, &limit);
    event_base_dispatch(fixture->base);
    evhttp_connection_free(connection);
    return response;
}

static graphiql_assets *test_assets;
static http_fixture fixture;

static void http_setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(asset_dir));
    write_file("index.html", index_text);
    write_file("graphiql.min.js", script_text);
    test_assets = graphiql_assets_load(asset_dir);
    ck_assert_ptr_nonnull(test_assets);
    fixture_start(&fixture, test_assets);
}

static void http_teardown(void)
{
    fixture_stop(&fixture);
    graphiql_assets_free(test_assets);
    remove_assets();
    strcpy(asset_dir, "/tmp/tvsync-graphiql-test-XXXXXX");
}

START_TEST(test_browser_get_graphql_serves_the_page)
{
    http_response response = http_request(&fixture, EVHTTP_REQ_GET, "/graphql?query=%7Bposts%7Bid%7D%7D",
                                          "text/html,application/xhtml+xml,*/*;q=0.8");
    ck_assert_int_eq(response.status, 200);
    ck_assert_str_eq(response.content_type, "text/html; charset=utf-8");
    ck_assert_str_eq(response.body, index_text);
    free(response.body);
}
END_TEST

START_TEST(test_json_get_graphql_is_left_to_the_server)
{
    http_response response = http_request(&fixture, EVHTTP_REQ_GET, "/graphql?query=%7Bposts%7Bid%7D%7D",
                                          "application/graphql-response+json");
    ck_assert_int_eq(response.status, 418);
    free(response.body);
}
END_TEST

START_TEST(test_post_graphql_is_left_to_the_server)
{
    http_response response = http_request(&fixture, EVHTTP_REQ_POST, "/graphql", "text/html");
    ck_assert_int_eq(response.status, 418);
    free(response.body);
}
END_TEST

START_TEST(test_asset_is_served_with_its_type)
{
    http_response response = http_request(&fixture, EVHTTP_REQ_GET, "/graphiql/graphiql.min.js", NULL);
    ck_assert_int_eq(response.status, 200);
    ck_assert_str_eq(response.content_type, "text/javascript; charset=utf-8");
    ck_assert_str_eq(response.cache_control, "public, max-age=86400");
    ck_assert_str_eq(response.body, script_text);
    free(response.body);
}
END_TEST

START_TEST(test_missing_asset_is_404)
{
    http_response response = http_request(&fixture, EVHTTP_REQ_GET, "/graphiql/graphiql.min.css", NULL);
    ck_assert_int_eq(response.status, 404);
    free(response.body);
}
END_TEST

START_TEST(test_unknown_asset_path_is_404_not_a_file_read)
{
    http_response response = http_request(&fixture, EVHTTP_REQ_GET, "/graphiql/../../etc/passwd", NULL);
    ck_assert_int_eq(response.status, 404);
    ck_assert_ptr_null(strstr(response.body, "root:"));
    free(response.body);
    response = http_request(&fixture, EVHTTP_REQ_GET, "/graphiql/index.html", NULL);
    ck_assert_int_eq(response.status, 404);
    free(response.body);
}
END_TEST

START_TEST(test_other_paths_are_left_to_the_server)
{
    http_response response = http_request(&fixture, EVHTTP_REQ_GET, "/metrics", "text/html");
    ck_assert_int_eq(response.status, 418);
    free(response.body);
}
END_TEST

START_TEST(test_load_without_index_fails)
{
    ck_assert_ptr_null(graphiql_assets_load("/nonexistent/tvsync-graphiql"));
}
END_TEST

START_TEST(test_no_assets_serves_nothing)
{
    http_fixture bare;
    fixture_start(&bare, NULL);
    http_response response = http_request(&bare, EVHTTP_REQ_GET, "/graphql", "text/html");
    ck_assert_int_eq(response.status, 418);
    free(response.body);
    fixture_stop(&bare);
}
END_TEST

/* The assets this build made (npm or CDN page) load and hold a GraphiQL page. */
START_TEST(test_built_assets_load)
{
    const char *builddir = getenv("TVSYNC_BUILDDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/server/graphiql/assets", builddir ? builddir : ".");
    graphiql_assets *built = graphiql_assets_load(dir);
    ck_assert_ptr_nonnull(built);
    http_fixture served;
    fixture_start(&served, built);
    http_response response = http_request(&served, EVHTTP_REQ_GET, "/graphql", "text/html");
    ck_assert_int_eq(response.status, 200);
    ck_assert_ptr_nonnull(strstr(response.body, "GraphiQL.createFetcher"));
    free(response.body);
    fixture_stop(&served);
    graphiql_assets_free(built);
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
    tcase_add_test(http, test_json_get_graphql_is_left_to_the_server);
    tcase_add_test(http, test_post_graphql_is_left_to_the_server);
    tcase_add_test(http, test_asset_is_served_with_its_type);
    tcase_add_test(http, test_missing_asset_is_404);
    tcase_add_test(http, test_unknown_asset_path_is_404_not_a_file_read);
    tcase_add_test(http, test_other_paths_are_left_to_the_server);
    suite_add_tcase(suite, http);

    TCase *load = tcase_create("load");
    tcase_add_test(load, test_load_without_index_fails);
    tcase_add_test(load, test_no_assets_serves_nothing);
    tcase_add_test(load, test_built_assets_load);
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
