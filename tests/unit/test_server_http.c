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

START_TEST(test_invalid_utf8_is_refused)
{
    graphql_http_params params;
    char error[300];
    /* a lone continuation byte, an overlong '/', a surrogate, a truncated sequence */
    const char *bodies[] = {"{\"query\": \"{ a(s: \\\"\x80\\\") }\"}",
                            "{\"query\": \"{ a }\", \"variables\": {\"s\": \"\xC0\xAF\"}}",
                            "{\"query\": \"{ a }\", \"variables\": {\"s\": \"\xED\xA0\x80\"}}",
                            "{\"query\": \"{ a }\", \"operationName\": \"\xE2\x82\"}"};
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        ck_assert_msg(!parse(bodies[i], &params, error), "body %zu accepted", i);
        ck_assert_msg(strstr(error, "not valid UTF-8") != NULL, "%s", error);
    }
    ck_assert(parse("{\"query\": \"{ a(s: \\\"\xC3\xA9\xF0\x9F\x98\x80\\\") }\"}", &params, error));
    graphql_http_params_free(&params);
    ck_assert(!graphql_http_params_from_query("query=%7B%20a%20%7D&variables=%7B%22s%22%3A%22%FF%22%7D", &params,
                                              error, sizeof error));
    ck_assert_str_eq(error, "The \"variables\" parameter is not valid UTF-8: percent-encode UTF-8 text.");
    ck_assert(!graphql_http_params_from_query("query=%7B%20a(s%3A%22%C0%80%22)%20%7D", &params, error,
                                              sizeof error));
}
END_TEST

START_TEST(test_nul_in_query_or_variables_is_refused)
{
    graphql_http_params params;
    char error[300];
    ck_assert(!parse("{\"query\": \"{ a }\\u0000{ b }\"}", &params, error));
    ck_assert_str_eq(error, "The \"query\" parameter contains U+0000 (NUL), which a GraphQL document cannot "
                            "contain: remove it.");
    ck_assert(!parse("{\"query\": \"{ a }\", \"variables\": {\"x\": [{\"y\": \"a\\u0000b\"}]}}", &params,
                          error));
    ck_assert_str_eq(error, "A string in \"variables\" contains U+0000 (NUL), which PostgreSQL text cannot "
                            "store: remove it.");
    ck_assert(!parse("{\"query\": \"{ a }\", \"variables\": {\"a\\u0000\": 1}}", &params, error));
    /* an escaped backslash before u0000 is no NUL */
    ck_assert(parse("{\"query\": \"{ a }\", \"variables\": {\"x\": \"\\\\u0000\"}}", &params, error));
    graphql_http_params_free(&params);
    ck_assert(!graphql_http_params_from_query("query=%7B%20a%20%7D%00%7B%20b%20%7D", &params, error, sizeof error));
    ck_assert_str_eq(error, "The query string contains %00 (NUL): remove it.");
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
    tcase_add_test(tc, test_invalid_utf8_is_refused);
    tcase_add_test(tc, test_nul_in_query_or_variables_is_refused);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
