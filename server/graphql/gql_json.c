/* gql_json: the engine's growable buffer and JSON writer, byte-compatible with
 * JavaScript's JSON.stringify (string escaping, Number#toString). */
#include "config.h"

#include "server/graphql/graphql.h"
#include "server/graphql/gql_arena.h"
#include "server/graphql/gql_json_read.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gql_buf_init(gql_buf *buf)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}

void gql_buf_free(gql_buf *buf)
{
    free(buf->data);
    gql_buf_init(buf);
}

void gql_buf_reset(gql_buf *buf)
{
    buf->len = 0;
    if (buf->data)
        buf->data[0] = '\0';
}

static void gql_buf_reserve(gql_buf *buf, size_t extra)
{
    if (buf->len + extra + 1 <= buf->cap)
        return;
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap < buf->len + extra + 1)
        cap *= 2;
    buf->data = gql_xrealloc(buf->data, cap);
    buf->cap = cap;
}

void gql_buf_append(gql_buf *buf, const char *bytes, size_t length)
{
    gql_buf_reserve(buf, length);
    if (length)
        memcpy(buf->data + buf->len, bytes, length);
    buf->len += length;
    buf->data[buf->len] = '\0';
}

void gql_buf_puts(gql_buf *buf, const char *text)
{
    gql_buf_append(buf, text, strlen(text));
}

void gql_buf_printf(gql_buf *buf, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    char small[256];
    int n = vsnprintf(small, sizeof(small), format, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        gql_buf_append(buf, small, (size_t)n);
        return;
    }
    gql_buf_reserve(buf, (size_t)n);
    va_start(ap, format);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, format, ap);
    va_end(ap);
    buf->len += (size_t)n;
}

void gql_buf_json_string(gql_buf *buf, const char *text, size_t length)
{
    static const char hex[] = "0123456789abcdef";
    gql_buf_reserve(buf, length + 2);
    buf->data[buf->len++] = '"';
    size_t run = 0;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        const char *esc = NULL;
        char u[7];
        /* C0 80 (modified UTF-8) is how engine messages carry U+0000 inside C strings */
        if (c == 0xC0 && i + 1 < length && (unsigned char)text[i + 1] == 0x80) {
            gql_buf_append(buf, text + run, i - run);
            gql_buf_puts(buf, "\\u0000");
            i++;
            run = i + 1;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
            u[4] = hex[c >> 4]; u[5] = hex[c & 15]; u[6] = '\0';
            esc = u;
        }
        gql_buf_append(buf, text + run, i - run);
        gql_buf_puts(buf, esc);
        run = i + 1;
    }
    gql_buf_append(buf, text + run, length - run);
    gql_buf_append(buf, "\"", 1);
}

/* ECMAScript Number::toString(10): shortest round-trip digits, then the spec's layout rules. */
void gql_buf_json_number(gql_buf *buf, double value)
{
    if (!isfinite(value)) {
        gql_buf_puts(buf, "null");
        return;
    }
    if (value == 0) {
        gql_buf_puts(buf, "0");
        return;
    }
    if (fabs(value) < 1e15 && value == (double)(long long)value) {
        gql_buf_printf(buf, "%lld", (long long)value);
        return;
    }
    char tmp[40];
    int precision;
    for (precision = 1; precision <= 17; precision++) {
        snprintf(tmp, sizeof(tmp), "%.*e", precision - 1, value);
        if (strtod(tmp, NULL) == value)
            break;
    }
    /* tmp = [-]d[.ddd]e[+-]xx */
    char digits[24];
    int k = 0;
    const char *p = tmp;
    bool negative = false;
    if (*p == '-') {
        negative = true;
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[k++] = *p;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    int exponent = atoi(p + 1);
    int n = exponent + 1;
    if (negative)
        gql_buf_append(buf, "-", 1);
    if (k <= n && n <= 21) {
        gql_buf_append(buf, digits, (size_t)k);
        for (int i = 0; i < n - k; i++)
            gql_buf_append(buf, "0", 1);
    } else if (0 < n && n <= 21) {
        gql_buf_append(buf, digits, (size_t)n);
        gql_buf_append(buf, ".", 1);
        gql_buf_append(buf, digits + n, (size_t)(k - n));
    } else if (-6 < n && n <= 0) {
        gql_buf_append(buf, "0.", 2);
        for (int i = 0; i < -n; i++)
            gql_buf_append(buf, "0", 1);
        gql_buf_append(buf, digits, (size_t)k);
    } else {
        gql_buf_append(buf, digits, 1);
        if (k > 1) {
            gql_buf_append(buf, ".", 1);
            gql_buf_append(buf, digits + 1, (size_t)(k - 1));
        }
        gql_buf_printf(buf, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
    }
}

void gql_buf_json_value(gql_buf *buf, const cJSON *value)
{
    if (!value || cJSON_IsNull(value)) {
        gql_buf_puts(buf, "null");
    } else if (cJSON_IsTrue(value)) {
        gql_buf_puts(buf, "true");
    } else if (cJSON_IsFalse(value)) {
        gql_buf_puts(buf, "false");
    } else if (cJSON_IsNumber(value)) {
        if (gql_json_number_text(value))
            gql_buf_puts(buf, value->valuestring);
        else
            gql_buf_json_number(buf, value->valuedouble);
    } else if (cJSON_IsString(value)) {
        gql_buf_json_string(buf, value->valuestring, strlen(value->valuestring));
    } else if (cJSON_IsArray(value)) {
        gql_buf_append(buf, "[", 1);
        for (const cJSON *item = value->child; item; item = item->next) {
            if (item != value->child)
                gql_buf_append(buf, ",", 1);
            gql_buf_json_value(buf, item);
        }
        gql_buf_append(buf, "]", 1);
    } else if (cJSON_IsObject(value)) {
        gql_buf_append(buf, "{", 1);
        for (const cJSON *item = value->child; item; item = item->next) {
            if (item != value->child)
                gql_buf_append(buf, ",", 1);
            gql_buf_json_string(buf, item->string, strlen(item->string));
            gql_buf_append(buf, ":", 1);
            gql_buf_json_value(buf, item);
        }
        gql_buf_append(buf, "}", 1);
    } else if (cJSON_IsRaw(value)) {
        gql_buf_puts(buf, value->valuestring);
    } else {
        gql_buf_puts(buf, "null");
    }
}

/* ------------------------------------------------------------------ errors */

#include "server/graphql/gql_errors.h"

cJSON *gql_error_append(cJSON *errors, const char *message)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddItemToArray(errors, e);
    return e;
}

void gql_error_set_code(cJSON *error, const char *code)
{
    cJSON_AddStringToObject(cJSON_AddObjectToObject(error, "extensions"), "code", code);
}

void gql_error_add_location(cJSON *error, gql_location location)
{
    cJSON *locations = cJSON_GetObjectItemCaseSensitive(error, "locations");
    if (!locations)
        locations = cJSON_AddArrayToObject(error, "locations");
    cJSON *loc = cJSON_CreateObject();
    cJSON_AddNumberToObject(loc, "line", location.line);
    cJSON_AddNumberToObject(loc, "column", location.column);
    cJSON_AddItemToArray(locations, loc);
}

void gql_error_set_path(cJSON *error, const cJSON *path)
{
    cJSON_DeleteItemFromObjectCaseSensitive(error, "path");
    cJSON_AddItemToObject(error, "path", cJSON_Duplicate(path, true));
}

void gql_errors_write_response(const cJSON *errors, gql_buf *out)
{
    gql_buf_puts(out, "{\"errors\":");
    gql_buf_json_value(out, errors);
    gql_buf_puts(out, "}");
}
