/* graphql_http: GraphQL-over-HTTP request rules (negotiation, content types, parameters),
 * kept free of libevent state so they can be unit tested. */
#include <config.h>

#include "server/graphql_http.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/queue.h>

#include <event2/keyvalq_struct.h>
#include <event2/http.h>

#include "common/alloc.h"
#include "common/utf8.h"
#include "server/graphql/gql_json_read.h"

static void set_error(char *error, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void set_error(char *error, size_t error_size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(error, error_size, format, args);
    va_end(args);
}

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Compares the media range [start, end) with a type, ignoring case and trailing space. */
static bool range_is(const char *start, const char *end, const char *type)
{
    while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t length = (size_t) (end - start);
    return length == strlen(type) && strncasecmp(start, type, length) == 0;
}

graphql_http_media graphql_http_negotiate(const char *accept, bool *wants_html)
{
    if (wants_html)
        *wants_html = false;
    if (accept == NULL || *skip_space(accept) == '\0')
        return GRAPHQL_HTTP_MEDIA_JSON;
    double q_graphql = -1, q_json = -1, q_html = -1;
    bool html_named = false;
    const char *p = accept;
    while (*p) {
        p = skip_space(p);
        const char *start = p;
        while (*p && *p != ';' && *p != ',')
            p++;
        const char *end = p;
        double q = 1.0;
        while (*p == ';') {
            p = skip_space(p + 1);
            if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
                q = strtod(p + 2, NULL);
                if (q < 0 || q > 1)
                    q = 0;
            }
            while (*p && *p != ';' && *p != ',')
                p++;
        }
        if (*p == ',')
            p++;
        if (range_is(start, end, "application/graphql-response+json")) {
            if (q > q_graphql)
                q_graphql = q;
        } else if (range_is(start, end, "application/json") || range_is(start, end, "application/*") ||
                   range_is(start, end, "*/*")) {
            if (q > q_json)
                q_json = q;
            if (range_is(start, end, "*/*") && q > q_html)
                q_html = q;
        } else if (range_is(start, end, "text/html") || range_is(start, end, "text/*")) {
            html_named = html_named || range_is(start, end, "text/html");
            if (q > q_html)
                q_html = q;
        }
    }
    graphql_http_media chosen = GRAPHQL_HTTP_MEDIA_NONE;
    double q_chosen = 0;
    if (q_graphql > 0 && q_graphql >= q_json) {
        chosen = GRAPHQL_HTTP_MEDIA_GRAPHQL_RESPONSE;
        q_chosen = q_graphql;
    } else if (q_json > 0) {
        chosen = GRAPHQL_HTTP_MEDIA_JSON;
        q_chosen = q_json;
    }
    /* A browser names text/html first and any type with a lower q: it wants the page. */
    if (wants_html && html_named && q_html > 0 && q_html >= q_chosen)
        *wants_html = true;
    return chosen;
}

const char *graphql_http_media_type(graphql_http_media media)
{
    return media == GRAPHQL_HTTP_MEDIA_GRAPHQL_RESPONSE ? GRAPHQL_HTTP_GRAPHQL_RESPONSE_TYPE
                                                        : GRAPHQL_HTTP_JSON_TYPE;
}

bool graphql_http_content_type_ok(const char *content_type)
{
    if (content_type == NULL)
        return false;
    const char *p = skip_space(content_type);
    const char *end = p;
    while (*end && *end != ';')
        end++;
    if (!range_is(p, end, "application/json"))
        return false;
    while (*end == ';') {
        p = skip_space(end + 1);
        end = p;
        while (*end && *end != ';')
            end++;
        if (strncasecmp(p, "charset=", 8) == 0) {
            const char *value = p + 8;
            if (*value == '"')
                value++;
            if (strncasecmp(value, "utf-8", 5) != 0 && strncasecmp(value, "utf8", 4) != 0)
                return false;
        }
    }
    return true;
}

void graphql_http_params_free(graphql_http_params *params)
{
    free(params->query);
    free(params->operation_name);
    cJSON_Delete(params->variables);
    cJSON_Delete(params->extensions);
    memset(params, 0, sizeof *params);
}


/* The engine carries U+0000 inside C strings as the bytes C0 80 (gql_json_read writes a
 * \u0000 escape so); a well-formed UTF-8 text never holds them otherwise. */
static bool has_nul(const char *text)
{
    for (const char *p = strchr(text, '\xC0'); p != NULL; p = strchr(p + 1, '\xC0'))
        if ((unsigned char)p[1] == 0x80)
            return true;
    return false;
}

/* Whether a string or a key anywhere in value holds U+0000 (PostgreSQL text cannot). */
static bool json_has_nul(const cJSON *value)
{
    for (; value != NULL; value = value->next) {
        if (value->string != NULL && has_nul(value->string))
            return true;
        if (cJSON_IsString(value) && has_nul(value->valuestring))
            return true;
        if (value->child != NULL && (cJSON_IsObject(value) || cJSON_IsArray(value)) &&
            json_has_nul(value->child))
            return true;
    }
    return false;
}

/* U+0000 in the document or the variables is refused here: cut at it, a document would run
 * its prefix, and a value would be stored cut short. */
static bool params_without_nul(const graphql_http_params *params, char *error, size_t error_size)
{
    if (params->query != NULL && has_nul(params->query)) {
        set_error(error, error_size,
                  "The \"query\" parameter contains U+0000 (NUL), which a GraphQL document cannot "
                  "contain: remove it.");
        return false;
    }
    if (params->operation_name != NULL && has_nul(params->operation_name)) {
        set_error(error, error_size, "The \"operationName\" parameter contains U+0000 (NUL): remove it.");
        return false;
    }
    if (params->variables != NULL && json_has_nul(params->variables->child)) {
        set_error(error, error_size,
                  "A string in \"variables\" contains U+0000 (NUL), which PostgreSQL text cannot "
                  "store: remove it.");
        return false;
    }
    return true;
}

/* variables / extensions: an object, null, or absent. Takes ownership of value. */
static bool take_object(cJSON *value, const char *name, cJSON **out, char *error, size_t error_size)
{
    if (value == NULL || cJSON_IsNull(value)) {
        cJSON_Delete(value);
        return true;
    }
    if (!cJSON_IsObject(value)) {
        cJSON_Delete(value);
        set_error(error, error_size, "The \"%s\" parameter must be an object or null.", name);
        return false;
    }
    *out = value;
    return true;
}

/* A persisted query may come without its text (server/persisted_operations decides). */
static bool names_persisted_query(const cJSON *extensions)
{
    const cJSON *persisted = cJSON_GetObjectItemCaseSensitive(extensions, "persistedQuery");
    return persisted != NULL && !cJSON_IsNull(persisted);
}

bool graphql_http_params_from_json(const char *body, size_t length, graphql_http_params *params,
                                   char *error, size_t error_size)
{
    memset(params, 0, sizeof *params);
    if (length == 0) {
        set_error(error, error_size, "The request body is empty; send a JSON object with a \"query\".");
        return false;
    }
    size_t bad = 0;
    if (!utf8_valid(body, length, &bad)) {
        set_error(error, error_size,
                  "The request body is not valid UTF-8 (byte %zu): send the JSON as UTF-8 text.", bad);
        return false;
    }
    /* numbers keep their digits: an ID or Decimal variable reaches SQL as it was sent */
    cJSON *root = gql_json_read(body, length);
    if (root == NULL) {
        set_error(error, error_size, "The request body is not valid JSON.");
        return false;
    }
    bool ok = false;
    if (!cJSON_IsObject(root)) {
        set_error(error, error_size, "The request body must be a JSON object.");
        goto done;
    }
    const cJSON *query = cJSON_GetObjectItemCaseSensitive(root, "query");
    const cJSON *extensions = cJSON_GetObjectItemCaseSensitive(root, "extensions");
    if ((query == NULL || cJSON_IsNull(query)) && !names_persisted_query(extensions)) {
        set_error(error, error_size, "The \"query\" parameter is missing.");
        goto done;
    }
    if (query != NULL && !cJSON_IsNull(query) && !cJSON_IsString(query)) {
        set_error(error, error_size, "The \"query\" parameter must be a string.");
        goto done;
    }
    if (cJSON_IsString(query))
        params->query = alloc_strdup(query->valuestring);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "operationName");
    if (name != NULL && !cJSON_IsNull(name)) {
        if (!cJSON_IsString(name)) {
            set_error(error, error_size, "The \"operationName\" parameter must be a string or null.");
            goto done;
        }
        params->operation_name = alloc_strdup(name->valuestring);
    }
    if (!take_object(cJSON_DetachItemFromObjectCaseSensitive(root, "variables"), "variables",
                     &params->variables, error, error_size) ||
        !take_object(cJSON_DetachItemFromObjectCaseSensitive(root, "extensions"), "extensions",
                     &params->extensions, error, error_size) ||
        !params_without_nul(params, error, error_size))
        goto done;
    ok = true;
done:
    cJSON_Delete(root);
    if (!ok)
        graphql_http_params_free(params);
    return ok;
}

static bool parse_json_object_param(const char *text, const char *name, cJSON **out, char *error,
                                    size_t error_size)
{
    if (text == NULL || *text == '\0')
        return true;
    cJSON *value = gql_json_read(text, strlen(text));
    if (value == NULL) {
        set_error(error, error_size, "The \"%s\" parameter is not valid JSON.", name);
        return false;
    }
    return take_object(value, name, out, error, error_size);
}

bool graphql_http_params_from_query(const char *query_string, graphql_http_params *params,
                                    char *error, size_t error_size)
{
    memset(params, 0, sizeof *params);
    struct evkeyvalq pairs;
    TAILQ_INIT(&pairs);
    if (query_string == NULL || evhttp_parse_query_str(query_string, &pairs) != 0) {
        evhttp_clear_headers(&pairs);
        set_error(error, error_size, "The \"query\" parameter is missing.");
        return false;
    }
    bool ok = false;
    /* Decoded, %00 would cut a value short: refuse it before. Every decoded value must be
     * UTF-8 text. */
    for (const char *p = strchr(query_string, '%'); p != NULL; p = strchr(p + 1, '%'))
        if (p[1] == '0' && p[2] == '0') {
            set_error(error, error_size, "The query string contains %%00 (NUL): remove it.");
            goto done;
        }
    struct evkeyval *pair;
    TAILQ_FOREACH(pair, &pairs, next) {
        if (!utf8_valid(pair->value, strlen(pair->value), NULL)) {
            set_error(error, error_size,
                      "The \"%.40s\" parameter is not valid UTF-8: percent-encode UTF-8 text.",
                      strlen(pair->key) <= 40 && utf8_valid(pair->key, strlen(pair->key), NULL)
                          ? pair->key : "?");
            goto done;
        }
    }
    const char *query = evhttp_find_header(&pairs, "query");
    const char *name = evhttp_find_header(&pairs, "operationName");
    if (name != NULL && *name != '\0')
        params->operation_name = alloc_strdup(name);
    if (!parse_json_object_param(evhttp_find_header(&pairs, "variables"), "variables", &params->variables,
                                 error, error_size) ||
        !parse_json_object_param(evhttp_find_header(&pairs, "extensions"), "extensions", &params->extensions,
                                 error, error_size))
        goto done;
    if (query == NULL && !names_persisted_query(params->extensions)) {
        set_error(error, error_size, "The \"query\" parameter is missing.");
        goto done;
    }
    if (query != NULL)
        params->query = alloc_strdup(query);
    if (!params_without_nul(params, error, error_size))
        goto done;
    ok = true;
done:
    evhttp_clear_headers(&pairs);
    if (!ok)
        graphql_http_params_free(params);
    return ok;
}

bool graphql_http_wait_for_sync(const graphql_http_params *params)
{
    const cJSON *tvsync = cJSON_GetObjectItemCaseSensitive(params->extensions, "tvsync");
    const cJSON *wait = cJSON_GetObjectItemCaseSensitive(tvsync, "waitForSync");
    return !cJSON_IsFalse(wait);
}
