/* test_server_http: GraphQL-over-HTTP rules: Accept negotiation, request content types,
 * and reading the query, operationName, variables and extensions parameters. */
#include <config.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "server/graphql_http.h"

START_TEST(test_accept_negotiation)
{
    ck_assert_int_eq(graphql_http_negotiate(NULL, NULL), GRAPHQL_HTTP_MEDIA_JSON);
    ck_assert_int_eq(graphql_http_negotiate("", NULL), GRAPHQL_HTTP_MEDIA_JSON);
    ck_assert_int_eq(graphql_http_negotiate("*/*", NULL), GRAPHQL_HTTP_MEDIA_JSON);
    ck_assert_int_eq(graphql_http_negotiate("application/json", NULL), GRAPHQL_HTTP_MEDIA_JSON);
    ck_assert_int_eq(graphql_http_negotiate("application/graphql-response+json", NULL),
                     GRAPHQL_HTTP_MEDIA_GRAPHQL_RESPONSE);
    ck_assert_int_eq(graphql_http_negotiate("application/graphql-response+json, application/json;q=0.9", NULL),
                     GRAPHQL_HTTP_MEDIA_GRAPHQL_RESPONSE);
    ck_assert_int_eq(graphql_http_negotiate("application/graphql-response+json;q=0.5, application/json", NULL),
                     GRAPHQL_HTTP_MEDIA_JSON);
    ck_assert_int_eq(graphql_http_negotiate("APPLICATION/JSON; charset=utf-8", NULL), GRAPHQL_HTTP_MEDIA_JSON);
    ck_assert_int_eq(graphql_http_negotiate("text/plain", NULL), GRAPHQL_HTTP_MEDIA_NONE);
    ck_assert_int_eq(graphql_http_negotiate("application/json;q=0", NULL), GRAPHQL_HTTP_MEDIA_NONE);
}
END_TEST

START_TEST(test_browsers_get_the_page)
{
    bool html = false;
    graphql_http_negotiate("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", &html);
    ck_assert(html);
    graphql_http_negotiate("application/json, text/html;q=0.5", &html);
    ck_assert(!html);
    graphql_http_negotiate("*/*", &html);
    ck_assert(!html);
}
END_TEST

START_TEST(test_request_content_types)
{
    ck_assert(graphql_http_content_type_ok("application/json"));
    ck_assert(graphql_http_content_type_ok("application/json; charset=utf-8"));
    ck_assert(graphql_http_content_type_ok("Application/JSON;charset=UTF-8"));
    ck_assert(!graphql_http_content_type_ok(NULL));
    ck_assert(!graphql_http_content_type_ok("text/plain"));
    ck_assert(!graphql_http_content_type_ok("application/json; charset=latin1"));
    ck_assert(!graphql_http_content_type_ok("application/jsonx"));
}
END_TEST

static bool parse(const char *body, graphql_http_params *params, char *error)
{
    return graphql_http_params_from_json(body, strlen(body), params, error, 300);
}

START_TEST(test_post_parameters)
{
    graphql_http_params params;
    char error[300];
    ck_assert(parse("{\"query\":\"{ a }\",\"operationName\":null,\"variables\":{\"x\":1},\"extensions\":null}",
                    &params, error));
    ck_assert_str_eq(params.query, "{ a }");
    ck_assert_ptr_null(params.operation_name);
    ck_assert_int_eq(cJSON_GetObjectItem(params.variables, "x")->valueint, 1);
    ck_assert_ptr_null(params.extensions);
    ck_assert(graphql_http_wait_for_sync(&params));
    graphql_http_params_free(&params);

    ck_assert(parse("{\"query\":\"{ a }\",\"extensions\":{\"tvsync\":{\"waitForSync\":false}}}", &params, error));
    ck_assert(!graphql_http_wait_for_sync(&params));
    graphql_http_params_free(&params);
}
END_TEST

START_TEST(test_variables_keep_the_digits_clients_sent)
{
    graphql_http_params params;
    char error[300];
    ck_assert(parse("{\"query\":\"{ a }\",\"variables\":{\"id\":9007199254740993,\"amount\":24.50}}",
                    &params, error));
    const cJSON *id = cJSON_GetObjectItem(params.variables, "id");
    ck_assert(cJSON_IsNumber(id));
    ck_assert_str_eq(id->valuestring, "9007199254740993");
    ck_assert_str_eq(cJSON_GetObjectItem(params.variables, "amount")->valuestring, "24.50");
    graphql_http_params_free(&params);

    ck_assert(graphql_http_params_from_query("query=%7B%20a%20%7D&variables=%7B%22amount%22%3A0.10%7D",
                                             &params, error, sizeof error));
    ck_assert_str_eq(cJSON_GetObjectItem(params.variables, "amount")->valuestring, "0.10");
    graphql_http_params_free(&params);
}
END_TEST

START_TEST(test_bad_post_parameters_are_refused)
{
    graphql_http_params params;
    char error[300];
    ck_assert(!parse("{ \"not a JSON", &params, error));
    ck_assert_str_eq(error, "The request body is not valid JSON.");
    ck_assert(!parse("[1]", &params, error));
    ck_assert(!parse("{\"qeury\":\"{ a }\"}", &params, error));
    ck_assert_str_eq(error, "The \"query\" parameter is missing.");
    ck_assert(!parse("{\"query\":{\"obj\":\"ect\"}}", &params, error));
    ck_assert(!parse("{\"query\":0}", &params, error));
    ck_assert(!parse("{\"query\":\"{a}\",\"operationName\":false}", &params, error));
    ck_assert(!parse("{\"query\":\"{a}\",\"variables\":\"string\"}", &params, error));
    ck_assert(!parse("{\"query\":\"{a}\",\"variables\":[\"array\"]}", &params, error));
    ck_assert(!parse("{\"query\":\"{a}\",\"extensions\":0}", &params, error));
    ck_assert(!graphql_http_params_from_json("", 0, &params, error, sizeof error));
}
END_TEST

START_TEST(test_get_parameters)
{
    graphql_http_params params;
    char error[300];
    ck_assert(graphql_http_params_from_query(
        "query=query%20T(%24n%3AString!)%7B__type(name%3A%24n)%7Bname%7D%7D&variables=%7B%22n%22%3A%22x%22%7D"
        "&operationName=T",
        &params, error, sizeof error));
    ck_assert_str_eq(params.query, "query T($n:String!){__type(name:$n){name}}");
    ck_assert_str_eq(params.operation_name, "T");
    ck_assert_str_eq(cJSON_GetObjectItem(params.variables, "n")->valuestring, "x");
    graphql_http_params_free(&params);
    ck_assert(!graphql_http_params_from_query("variables=%7B%7D", &params, error, sizeof error));
    ck_assert(!graphql_http_params_from_query("query=%7Ba%7D&variables=nope", &params, error, sizeof error));
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("server_http");
    TCase *tc = tcase_create("graphql_http");
    tcase_add_test(tc, test_accept_negotiation);
    tcase_add_test(tc, test_browsers_get_the_page);
    tcase_add_test(tc, test_request_content_types);
    tcase_add_test(tc, test_post_parameters);
    tcase_add_test(tc, test_variables_keep_the_digits_clients_sent);
    tcase_add_test(tc, test_bad_post_parameters_are_refused);
    tcase_add_test(tc, test_get_parameters);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
