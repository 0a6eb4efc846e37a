/* graphql_http: the GraphQL-over-HTTP rules that need no socket: Accept negotiation,
 * request content types, and reading {query, operationName, variables, extensions}. */
#ifndef TVSYNC_SERVER_GRAPHQL_HTTP_H
#define TVSYNC_SERVER_GRAPHQL_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

typedef enum graphql_http_media {
    GRAPHQL_HTTP_MEDIA_NONE,              /* Accept allows neither: 406 */
    GRAPHQL_HTTP_MEDIA_GRAPHQL_RESPONSE,  /* application/graphql-response+json */
    GRAPHQL_HTTP_MEDIA_JSON,              /* application/json */
} graphql_http_media;

#define GRAPHQL_HTTP_GRAPHQL_RESPONSE_TYPE "application/graphql-response+json; charset=utf-8"
#define GRAPHQL_HTTP_JSON_TYPE "application/json; charset=utf-8"

/* Chooses the response media type from an Accept header (NULL or empty: application/json).
 * The highest q wins; the wildcards (any type, application/any) mean application/json; on a tie the
 * graphql-response type wins when it is named. *wants_html (may be NULL) is set when
 * text/html is acceptable with a q at least that of the chosen JSON type. */
graphql_http_media graphql_http_negotiate(const char *accept, bool *wants_html);

const char *graphql_http_media_type(graphql_http_media media);

/* True for application/json with no charset or charset=utf-8 (any case, spaces allowed). */
bool graphql_http_content_type_ok(const char *content_type);

/* The request parameters; strings and objects owned by the struct. */
typedef struct graphql_http_params {
    char *query;           /* NULL only when extensions.persistedQuery names the document */
    char *operation_name;  /* NULL when absent or null */
    cJSON *variables;      /* an object, or NULL */
    cJSON *extensions;     /* an object, or NULL */
} graphql_http_params;

void graphql_http_params_free(graphql_http_params *params);

/* Reads a POST body. False with a message for the client in error[] (then 400) when the
 * body is not UTF-8 or not a JSON object, query is missing (and extensions names no
 * persistedQuery) or not a string, operationName is not a string or null,
 * variables/extensions are not objects or null, or U+0000 is in the query, the
 * operationName or a string (or key) of the variables. */
bool graphql_http_params_from_json(const char *body, size_t length, graphql_http_params *params,
                                   char *error, size_t error_size);

/* Reads a GET query string (already split from the URI, not decoded). Same rules, with
 * variables and extensions as URL-encoded JSON text; %00 anywhere and a decoded value that
 * is not UTF-8 are refused too. */
bool graphql_http_params_from_query(const char *query_string, graphql_http_params *params,
                                    char *error, size_t error_size);

/* Whether the request's extensions ask to skip the read-your-writes wait:
 * {"tvsync": {"waitForSync": false}}. */
bool graphql_http_wait_for_sync(const graphql_http_params *params);

#endif
