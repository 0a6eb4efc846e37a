/* gql_json_read: a JSON reader for documents whose numbers must be answered digit for digit
 * (numeric 24.50, bigint keys above 2^53), building the cJSON trees the engine completes. */
#include "config.h"

#include "server/graphql/gql_json_read.h"

#include "common/hex.h"
#include "server/graphql/gql_arena.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    const char *p;
    const char *end;
    int depth;
} reader;

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void skip_space(reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

/* A string or number node with room for its text behind it: one allocation instead of two,
 * which is what keeps this reader ahead of cJSON_Parse. */
static cJSON *leaf_new(int type, size_t text_bytes)
{
    cJSON *node = gql_xmalloc(sizeof *node + text_bytes + 1);
    memset(node, 0, sizeof *node);
    node->type = type | cJSON_IsReference;
    node->valuestring = (char *)(node + 1);
    return node;
}


/* The code unit of the \uXXXX whose hex digits start at s (4 bytes available), or -1. */
static long hex4(const char *s)
{
    long unit = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(s[i]);
        if (h < 0)
            return -1;
        unit = unit * 16 + h;
    }
    return unit;
}

static size_t utf8_put(char *out, unsigned long cp)
{
    if (cp == 0) { /* the engine's C-string form of U+0000 */
        out[0] = (char)0xC0;
        out[1] = (char)0x80;
        return 2;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* r->p is just after the opening quote. Finds the closing quote (*close) and whether escapes
 * come before it; false for an unterminated string or a raw control character. */
static bool string_extent(const reader *r, const char **close, bool *escaped)
{
    bool any = false;
    for (const char *s = r->p; s < r->end;) {
        unsigned char c = (unsigned char)*s;
        if (c == '"') {
            *close = s;
            *escaped = any;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            any = true;
            s += 2;
        } else {
            s++;
        }
    }
    return false;
}

/* Decodes the escapes of [s, end) into out (room for end - s bytes: no escape grows);
 * returns the decoded length, or -1 on a bad escape or a lone surrogate. */
static long string_decode(const char *s, const char *end, char *out)
{
    char *o = out;
    while (s < end) {
        const char *run = s;
        while (s < end && *s != '\\')
            s++;
        memcpy(o, run, (size_t)(s - run));
        o += s - run;
        if (s == end)
            break;
        char e = s[1];
        s += 2;
        switch (e) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            long unit = end - s >= 4 ? hex4(s) : -1;
            if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF))
                return -1;
            s += 4;
            unsigned long cp = (unsigned long)unit;
            if (unit >= 0xD800 && unit <= 0xDBFF) {
                long low = end - s >= 6 && s[0] == '\\' && s[1] == 'u' ? hex4(s + 2) : -1;
                if (low < 0xDC00 || low > 0xDFFF)
                    return -1;
                s += 6;
                cp = 0x10000 + (((unsigned long)unit - 0xD800) << 10) + ((unsigned long)low - 0xDC00);
            }
            o += utf8_put(o, cp);
            break;
        }
        default:
            return -1;
        }
    }
    *o = '\0';
    return o - out;
}

/* An object's key at r->p (an opening quote), malloc'd as cJSON_Delete frees keys; NULL on
 * malformed input. */
static char *read_key(reader *r)
{
    r->p++;
    const char *close;
    bool escaped;
    if (!string_extent(r, &close, &escaped))
        return NULL;
    size_t raw = (size_t)(close - r->p);
    char *key = gql_xmalloc(raw + 1);
    if (!escaped) {
        memcpy(key, r->p, raw);
        key[raw] = '\0';
    } else if (string_decode(r->p, close, key) < 0) {
        free(key);
        return NULL;
    }
    r->p = close + 1;
    return key;
}

static cJSON *read_string(reader *r)
{
    r->p++;
    const char *close;
    bool escaped;
    if (!string_extent(r, &close, &escaped))
        return NULL;
    size_t raw = (size_t)(close - r->p);
    cJSON *node = leaf_new(cJSON_String, raw);
    if (!escaped) {
        memcpy(node->valuestring, r->p, raw);
        node->valuestring[raw] = '\0';
    } else if (string_decode(r->p, close, node->valuestring) < 0) {
        cJSON_Delete(node);
        return NULL;
    }
    r->p = close + 1;
    return node;
}

/* The node of number text [start, start + length) that JSON's grammar accepted; `plain`
 * when it has neither fraction nor exponent. */
static cJSON *number_node(const char *start, size_t length, bool plain)
{
    cJSON *node = leaf_new(cJSON_Number, length);
    memcpy(node->valuestring, start, length);
    node->valuestring[length] = '\0';
    double value;
    bool negative = *start == '-';
    if (plain && length - negative <= 15) {
        /* exact in a double: no strtod */
        long long integer = 0;
        for (size_t i = negative; i < length; i++)
            integer = integer * 10 + (start[i] - '0');
        value = negative ? (integer == 0 ? -0.0 : (double)-integer) : (double)integer;
    } else {
        value = strtod(node->valuestring, NULL);
    }
    node->valuedouble = value;
    node->valueint = value >= INT_MAX ? INT_MAX : value <= (double)INT_MIN ? INT_MIN : (int)value;
    return node;
}

cJSON *gql_json_number_new(const char *text, size_t length)
{
    bool plain = memchr(text, '.', length) == NULL && memchr(text, 'e', length) == NULL &&
                 memchr(text, 'E', length) == NULL;
    return number_node(text, length, plain);
}

/* JSON's number grammar, strictly: the text is answered as written, so it must be JSON. */
static cJSON *read_number(reader *r)
{
    const char *s = r->p, *end = r->end;
    const char *start = s;
    if (s < end && *s == '-')
        s++;
    if (s >= end || !is_digit(*s))
        return NULL;
    if (*s == '0')
        s++;
    else
        while (s < end && is_digit(*s))
            s++;
    bool plain = true;
    if (s < end && *s == '.') {
        plain = false;
        s++;
        if (s >= end || !is_digit(*s))
            return NULL;
        while (s < end && is_digit(*s))
            s++;
    }
    if (s < end && (*s == 'e' || *s == 'E')) {
        plain = false;
        s++;
        if (s < end && (*s == '+' || *s == '-'))
            s++;
        if (s >= end || !is_digit(*s))
            return NULL;
        while (s < end && is_digit(*s))
            s++;
    }
    cJSON *node = number_node(start, (size_t)(s - start), plain);
    r->p = s;
    return node;
}

static bool read_word(reader *r, const char *word, size_t length)
{
    if ((size_t)(r->end - r->p) < length || memcmp(r->p, word, length) != 0)
        return false;
    r->p += length;
    return true;
}

static cJSON *read_value(reader *r);

/* An array or object at r->p. cJSON's list shape: the first child's prev is the last child. */
static cJSON *read_container(reader *r, bool object)
{
    if (r->depth >= CJSON_NESTING_LIMIT)
        return NULL;
    r->depth++;
    char close = object ? '}' : ']';
    cJSON *node = gql_xcalloc(1, sizeof *node);
    node->type = object ? cJSON_Object : cJSON_Array;
    cJSON *last = NULL;
    r->p++;
    skip_space(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        r->depth--;
        return node;
    }
    for (;;) {
        char *key = NULL;
        if (object) {
            if (r->p >= r->end || *r->p != '"' || (key = read_key(r)) == NULL)
                goto fail;
            skip_space(r);
            if (r->p >= r->end || *r->p != ':') {
                free(key);
                goto fail;
            }
            r->p++;
            skip_space(r);
        }
        cJSON *item = read_value(r);
        if (item == NULL) {
            free(key);
            goto fail;
        }
        item->string = key;
        if (last == NULL) {
            node->child = item;
        } else {
            last->next = item;
            item->prev = last;
        }
        last = item;
        skip_space(r);
        if (r->p >= r->end)
            goto fail;
        if (*r->p == ',') {
            r->p++;
            skip_space(r);
            continue;
        }
        if (*r->p != close)
            goto fail;
        r->p++;
        break;
    }
    node->child->prev = last;
    r->depth--;
    return node;
fail:
    cJSON_Delete(node);
    return NULL;
}

static cJSON *read_literal(reader *r, const char *word, int type)
{
    if (!read_word(r, word, strlen(word)))
        return NULL;
    cJSON *node = gql_xcalloc(1, sizeof *node);
    node->type = type;
    if (type == cJSON_True)
        node->valueint = 1;
    return node;
}

/* The value at r->p (no whitespace before it). */
static cJSON *read_value(reader *r)
{
    if (r->p >= r->end)
        return NULL;
    switch (*r->p) {
    case '{':
        return read_container(r, true);
    case '[':
        return read_container(r, false);
    case '"':
        return read_string(r);
    case 't':
        return read_literal(r, "true", cJSON_True);
    case 'f':
        return read_literal(r, "false", cJSON_False);
    case 'n':
        return read_literal(r, "null", cJSON_NULL);
    default:
        return read_number(r);
    }
}

cJSON *gql_json_read(const char *text, size_t length)
{
    reader r = {text, text + length, 0};
    /* RFC 8259 lets a reader ignore a byte order mark; cJSON did, so clients may send one */
    if (length >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        r.p += 3;
    skip_space(&r);
    cJSON *value = read_value(&r);
    skip_space(&r);
    if (value != NULL && r.p != r.end) {
        cJSON_Delete(value);
        value = NULL;
    }
    return value;
}

/* ------------------------------------------------------------------ judging digits */

/* A number's text as decimal digits D (integer digits, then fraction digits) with the
 * decimal point `point` digits into D once the exponent has moved it; `first` and `last` are
 * D's first and last non-zero digits (first == count: the number is zero). */
typedef struct decimal {
    bool negative;
    const char *integer, *fraction;
    long integer_count, count;
    long first, last, point;
} decimal;

static char decimal_digit(const decimal *d, long i)
{
    if (i < 0 || i >= d->count)
        return '0';
    return i < d->integer_count ? d->integer[i] : d->fraction[i - d->integer_count];
}

static void decimal_parse(const char *text, decimal *d)
{
    const char *s = text;
    d->negative = *s == '-';
    if (d->negative)
        s++;
    d->integer = s;
    while (is_digit(*s))
        s++;
    d->integer_count = s - d->integer;
    d->fraction = s;
    long fraction_count = 0;
    if (*s == '.') {
        d->fraction = ++s;
        while (is_digit(*s))
            s++;
        fraction_count = s - d->fraction;
    }
    long exponent = 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        bool exponent_negative = *s == '-';
        if (*s == '+' || *s == '-')
            s++;
        /* past a billion the answers no longer change: it only needs to stay far away */
        for (; is_digit(*s); s++)
            if (exponent < 1000000000L)
                exponent = exponent * 10 + (*s - '0');
        if (exponent_negative)
            exponent = -exponent;
    }
    d->count = d->integer_count + fraction_count;
    d->first = 0;
    while (d->first < d->count && decimal_digit(d, d->first) == '0')
        d->first++;
    d->last = d->count - 1;
    while (d->last > d->first && decimal_digit(d, d->last) == '0')
        d->last--;
    d->point = d->integer_count + exponent;
}

gql_json_int32 gql_json_number_int32(const char *text, int32_t *out)
{
    decimal d;
    decimal_parse(text, &d);
    if (d.first == d.count) {
        *out = 0;
        return GQL_JSON_INT32;
    }
    if (d.last >= d.point)
        return GQL_JSON_NOT_INTEGER;
    if (d.point - d.first > 10)
        return GQL_JSON_OUT_OF_RANGE;
    long long value = 0;
    for (long i = d.first; i < d.point; i++)
        value = value * 10 + (decimal_digit(&d, i) - '0');
    if (d.negative)
        value = -value;
    if (value < INT32_MIN || value > INT32_MAX)
        return GQL_JSON_OUT_OF_RANGE;
    *out = (int32_t)value;
    return GQL_JSON_INT32;
}

bool gql_json_number_integer_digits(const char *text, gql_buf *out)
{
    decimal d;
    decimal_parse(text, &d);
    if (d.first == d.count) {
        gql_buf_append(out, "0", 1);
        return true;
    }
    if (d.last >= d.point || d.point - d.first > (long)strlen(text) + GQL_JSON_INTEGER_MAX_ZEROS)
        return false;
    if (d.negative)
        gql_buf_append(out, "-", 1);
    /* D[first, point): a run of integer digits, a run of fraction digits, then zeros */
    long end = d.point < d.integer_count ? d.point : d.integer_count;
    if (d.first < end)
        gql_buf_append(out, d.integer + d.first, (size_t)(end - d.first));
    long from = d.first > d.integer_count ? d.first : d.integer_count;
    end = d.point < d.count ? d.point : d.count;
    if (from < end)
        gql_buf_append(out, d.fraction + (from - d.integer_count), (size_t)(end - from));
    for (long i = d.count > d.first ? d.count : d.first; i < d.point; i++)
        gql_buf_append(out, "0", 1);
    return true;
}
