/* gql_lexer: the GraphQL lexer (October 2021 spec, graphql-js 16 wording), UTF-8 decoding
 * and source locations. */
#include "config.h"

#include "server/graphql/gql_lexer.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

_Noreturn void gql_parse_fail(parser *p, uint32_t pos, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int n = snprintf(p->error->message, sizeof(p->error->message), "Syntax Error: ");
    vsnprintf(p->error->message + n, sizeof(p->error->message) - (size_t)n, format, ap);
    va_end(ap);
    p->error->pos = pos;
    p->error->has_pos = true;
    longjmp(p->fail, 1);
}

/* ------------------------------------------------------------------ UTF-8 */

/* Decodes one code point at src[i]; invalid sequences decode as U+FFFD of length 1 (as a
 * UTF-8 decoder feeding graphql-js would produce). */
static uint32_t utf8_decode(const char *src, size_t len, size_t i, size_t *size)
{
    const unsigned char *s = (const unsigned char *)src;
    unsigned char c = s[i];
    if (c < 0x80) {
        *size = 1;
        return c;
    }
    int n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 1;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3;
        cp = c & 0x07;
    } else {
        *size = 1;
        return 0xFFFD;
    }
    for (int k = 1; k <= n; k++) {
        if (i + (size_t)k >= len || (s[i + (size_t)k] & 0xC0) != 0x80) {
            *size = 1;
            return 0xFFFD;
        }
        cp = (cp << 6) | (s[i + (size_t)k] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
        *size = 1;
        return 0xFFFD;
    }
    *size = (size_t)n + 1;
    return cp;
}

gql_location gql_source_location(const char *source, size_t length, uint32_t pos)
{
    gql_location loc = {1, 1};
    size_t line_start = 0;
    if (pos > length)
        pos = (uint32_t)length;
    for (size_t i = 0; i < pos; i++) {
        if (source[i] == '\n') {
            loc.line++;
            line_start = i + 1;
        } else if (source[i] == '\r') {
            if (i + 1 < length && source[i + 1] == '\n')
                i++;
            loc.line++;
            line_start = i + 1;
        }
    }
    unsigned column = 1;
    for (size_t i = line_start; i < pos;) {
        size_t size;
        uint32_t cp = utf8_decode(source, length, i, &size);
        column += cp >= 0x10000 ? 2 : 1;
        i += size;
    }
    loc.column = column;
    return loc;
}

void gql_column_marks(const char *source, size_t length, gql_column_mark *marks)
{
    size_t count = gql_column_mark_count(length), next = 0;
    uint32_t column = 1;
    for (size_t i = 0; i < length;) {
        for (; next < count && next * GQL_COLUMN_MARK_BYTES <= i; next++) {
            marks[next].offset = (uint32_t)i;
            marks[next].column = column;
        }
        if (source[i] == '\n' || source[i] == '\r') {
            i += source[i] == '\r' && i + 1 < length && source[i + 1] == '\n' ? 2 : 1;
            column = 1;
            continue;
        }
        size_t size;
        uint32_t cp = utf8_decode(source, length, i, &size);
        column += cp >= 0x10000 ? 2 : 1;
        i += size;
    }
    for (; next < count; next++) {
        marks[next].offset = (uint32_t)length;
        marks[next].column = column;
    }
}

static void print_code_point_at(parser *p, size_t pos, char *out, size_t out_size)
{
    if (pos >= p->len) {
        snprintf(out, out_size, "<EOF>");
        return;
    }
    size_t size;
    uint32_t cp = utf8_decode(p->src, p->len, pos, &size);
    if (cp >= 0x20 && cp <= 0x7E) {
        if (cp == '"')
            snprintf(out, out_size, "'\"'");
        else
            snprintf(out, out_size, "\"%c\"", (char)cp);
    } else {
        snprintf(out, out_size, "U+%04X", cp);
    }
}

/* ------------------------------------------------------------------ lexer */

static bool is_name_start(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_continue(int c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int char_at(parser *p, size_t pos)
{
    return pos < p->len ? (unsigned char)p->src[pos] : -1;
}

static size_t read_digits(parser *p, size_t pos)
{
    if (!is_digit(char_at(p, pos))) {
        char cp[16];
        print_code_point_at(p, pos, cp, sizeof(cp));
        gql_parse_fail(p, (uint32_t)pos, "Invalid number, expected digit but got: %s.", cp);
    }
    pos++;
    while (is_digit(char_at(p, pos)))
        pos++;
    return pos;
}

static void read_number(parser *p, size_t start)
{
    size_t pos = start;
    bool is_float = false;
    char cp[16];
    if (char_at(p, pos) == '-')
        pos++;
    if (char_at(p, pos) == '0') {
        pos++;
        if (is_digit(char_at(p, pos))) {
            print_code_point_at(p, pos, cp, sizeof(cp));
            gql_parse_fail(p, (uint32_t)pos, "Invalid number, unexpected digit after 0: %s.", cp);
        }
    } else {
        pos = read_digits(p, pos);
    }
    if (char_at(p, pos) == '.') {
        is_float = true;
        pos = read_digits(p, pos + 1);
    }
    if (char_at(p, pos) == 'E' || char_at(p, pos) == 'e') {
        is_float = true;
        pos++;
        if (char_at(p, pos) == '+' || char_at(p, pos) == '-')
            pos++;
        pos = read_digits(p, pos);
    }
    if (char_at(p, pos) == '.' || is_name_start(char_at(p, pos))) {
        print_code_point_at(p, pos, cp, sizeof(cp));
        gql_parse_fail(p, (uint32_t)pos, "Invalid number, expected digit but got: %s.", cp);
    }
    p->tok.kind = is_float ? TOK_FLOAT : TOK_INT;
    p->tok.start = (uint32_t)start;
    p->tok.end = (uint32_t)pos;
    p->tok.value = p->src + start;
    p->tok.value_length = pos - start;
}

/* String builder in the arena (strings are rare enough that doubling is fine). */
typedef struct sbuf {
    char *data;
    size_t len;
    size_t cap;
} sbuf;

static void sbuf_add(parser *p, sbuf *b, const char *bytes, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = gql_arena_alloc(p->arena, cap);
        if (b->len)
            memcpy(d, b->data, b->len);
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void sbuf_add_code_point(parser *p, sbuf *b, uint32_t cp)
{
    char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    sbuf_add(p, b, out, n);
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static bool is_scalar_value(uint32_t cp)
{
    return cp <= 0xD7FF || (cp >= 0xE000 && cp <= 0x10FFFF);
}

static int read_hex16(parser *p, size_t pos)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(char_at(p, pos + (size_t)i));
        if (h < 0)
            return -1;
        v = (v << 4) | h;
    }
    return v;
}

/* graphql-js reports the escape as a slice of the source; print that slice clamped to it. */
static _Noreturn void fail_escape(parser *p, size_t pos, size_t size, const char *what)
{
    size_t end = pos + size > p->len ? p->len : pos + size;
    gql_parse_fail(p, (uint32_t)pos, "Invalid %s escape sequence: \"%.*s\".", what,
                   (int)(end - pos), p->src + pos);
}

/* Reads the escape at pos (a backslash); returns its source size. */
static size_t read_escape(parser *p, size_t pos, sbuf *b)
{
    int c = char_at(p, pos + 1);
    if (c == 'u' && char_at(p, pos + 2) == '{') {
        uint32_t point = 0;
        size_t size = 3;
        while (size < 12) {
            int code = char_at(p, pos + size++);
            if (code == '}') {
                if (size < 5 || !is_scalar_value(point))
                    break;
                sbuf_add_code_point(p, b, point);
                return size;
            }
            int h = hex_value(code);
            if (h < 0 || point > 0x7FFFFFF)
                break;
            point = (point << 4) | (uint32_t)h;
        }
        fail_escape(p, pos, size, "Unicode");
    }
    if (c == 'u') {
        int code = read_hex16(p, pos + 2);
        if (code >= 0 && is_scalar_value((uint32_t)code)) {
            sbuf_add_code_point(p, b, (uint32_t)code);
            return 6;
        }
        if (code >= 0xD800 && code <= 0xDBFF && char_at(p, pos + 6) == '\\' &&
            char_at(p, pos + 7) == 'u') {
            int trail = read_hex16(p, pos + 8);
            if (trail >= 0xDC00 && trail <= 0xDFFF) {
                uint32_t cp = 0x10000 + (((uint32_t)code - 0xD800) << 10) +
                              ((uint32_t)trail - 0xDC00);
                sbuf_add_code_point(p, b, cp);
                return 12;
            }
        }
        fail_escape(p, pos, 6, "Unicode");
    }
    char out;
    switch (c) {
    case '"': out = '"'; break;
    case '\\': out = '\\'; break;
    case '/': out = '/'; break;
    case 'b': out = '\b'; break;
    case 'f': out = '\f'; break;
    case 'n': out = '\n'; break;
    case 'r': out = '\r'; break;
    case 't': out = '\t'; break;
    default:
        fail_escape(p, pos, 2, "character");
    }
    sbuf_add(p, b, &out, 1);
    return 2;
}

static void read_string(parser *p, size_t start)
{
    size_t pos = start + 1;
    size_t chunk = pos;
    sbuf b = {0};
    sbuf_add(p, &b, "", 0);
    while (pos < p->len) {
        int c = char_at(p, pos);
        if (c == '"') {
            sbuf_add(p, &b, p->src + chunk, pos - chunk);
            p->tok.kind = TOK_STRING;
            p->tok.start = (uint32_t)start;
            p->tok.end = (uint32_t)(pos + 1);
            p->tok.value = b.data;
            p->tok.value_length = b.len;
            return;
        }
        if (c == '\\') {
            sbuf_add(p, &b, p->src + chunk, pos - chunk);
            pos += read_escape(p, pos, &b);
            chunk = pos;
            continue;
        }
        if (c == '\n' || c == '\r')
            break;
        size_t size;
        utf8_decode(p->src, p->len, pos, &size);
        pos += size;
    }
    gql_parse_fail(p, (uint32_t)pos, "Unterminated string.");
}

static size_t leading_whitespace(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

typedef struct line_ref {
    const char *text;
    size_t length;
} line_ref;

static void read_block_string(parser *p, size_t start, size_t *line_count)
{
    size_t pos = start + 3;
    size_t chunk = pos;
    sbuf current = {0};
    sbuf_add(p, &current, "", 0);
    line_ref *lines = NULL;
    size_t count = 0, cap = 0;
    *line_count = 0;
    while (pos < p->len) {
        int c = char_at(p, pos);
        bool closing = c == '"' && char_at(p, pos + 1) == '"' && char_at(p, pos + 2) == '"';
        if (closing || c == '\n' || c == '\r') {
            sbuf_add(p, &current, p->src + chunk, pos - chunk);
            if (count == cap) {
                cap = cap ? cap * 2 : 16;
                line_ref *n = gql_arena_alloc(p->arena, cap * sizeof(*n));
                if (count)
                    memcpy(n, lines, count * sizeof(*n));
                lines = n;
            }
            lines[count].text = current.data;
            lines[count].length = current.len;
            count++;
            if (closing) {
                /* dedentBlockStringLines */
                size_t common = SIZE_MAX;
                size_t first = SIZE_MAX, last = 0;
                bool any = false;
                for (size_t i = 0; i < count; i++) {
                    size_t indent = leading_whitespace(lines[i].text, lines[i].length);
                    if (indent == lines[i].length)
                        continue;
                    if (first == SIZE_MAX)
                        first = i;
                    last = i;
                    any = true;
                    if (i != 0 && indent < common)
                        common = indent;
                }
                sbuf out = {0};
                sbuf_add(p, &out, "", 0);
                if (any) {
                    for (size_t i = first; i <= last; i++) {
                        const char *t = lines[i].text;
                        size_t n = lines[i].length;
                        if (i != 0 && common != SIZE_MAX) {
                            size_t cut = common < n ? common : n;
                            t += cut;
                            n -= cut;
                        }
                        if (i != first)
                            sbuf_add(p, &out, "\n", 1);
                        sbuf_add(p, &out, t, n);
                    }
                }
                p->tok.kind = TOK_BLOCK_STRING;
                p->tok.start = (uint32_t)start;
                p->tok.end = (uint32_t)(pos + 3);
                p->tok.value = out.data;
                p->tok.value_length = out.len;
                *line_count = count;
                return;
            }
            if (c == '\r' && char_at(p, pos + 1) == '\n')
                pos += 2;
            else
                pos++;
            current.data = NULL;
            current.len = current.cap = 0;
            sbuf_add(p, &current, "", 0);
            chunk = pos;
            continue;
        }
        if (c == '\\' && char_at(p, pos + 1) == '"' && char_at(p, pos + 2) == '"' &&
            char_at(p, pos + 3) == '"') {
            sbuf_add(p, &current, p->src + chunk, pos - chunk);
            chunk = pos + 1;
            pos += 4;
            continue;
        }
        size_t size;
        utf8_decode(p->src, p->len, pos, &size);
        pos += size;
    }
    gql_parse_fail(p, (uint32_t)pos, "Unterminated string.");
}

static void set_punct(parser *p, token_kind kind, size_t pos, size_t size)
{
    p->tok.kind = kind;
    p->tok.start = (uint32_t)pos;
    p->tok.end = (uint32_t)(pos + size);
    p->tok.value = NULL;
    p->tok.value_length = 0;
}

void gql_lex_from(parser *p, size_t pos)
{
    while (pos < p->len) {
        int c = (unsigned char)p->src[pos];
        switch (c) {
        case '\t': case ' ': case ',': case '\n': case '\r':
            pos++;
            continue;
        case 0xEF:
            if (char_at(p, pos + 1) == 0xBB && char_at(p, pos + 2) == 0xBF) {
                pos += 3; /* BOM */
                continue;
            }
            break;
        case '#':
            while (pos < p->len && p->src[pos] != '\n' && p->src[pos] != '\r')
                pos++;
            continue;
        case '!': set_punct(p, TOK_BANG, pos, 1); return;
        case '$': set_punct(p, TOK_DOLLAR, pos, 1); return;
        case '&': set_punct(p, TOK_AMP, pos, 1); return;
        case '(': set_punct(p, TOK_PAREN_L, pos, 1); return;
        case ')': set_punct(p, TOK_PAREN_R, pos, 1); return;
        case '.':
            if (char_at(p, pos + 1) == '.' && char_at(p, pos + 2) == '.') {
                set_punct(p, TOK_SPREAD, pos, 3);
                return;
            }
            break;
        case ':': set_punct(p, TOK_COLON, pos, 1); return;
        case '=': set_punct(p, TOK_EQUALS, pos, 1); return;
        case '@': set_punct(p, TOK_AT, pos, 1); return;
        case '[': set_punct(p, TOK_BRACKET_L, pos, 1); return;
        case ']': set_punct(p, TOK_BRACKET_R, pos, 1); return;
        case '{': set_punct(p, TOK_BRACE_L, pos, 1); return;
        case '|': set_punct(p, TOK_PIPE, pos, 1); return;
        case '}': set_punct(p, TOK_BRACE_R, pos, 1); return;
        case '"':
            if (char_at(p, pos + 1) == '"' && char_at(p, pos + 2) == '"') {
                size_t lines;
                read_block_string(p, pos, &lines);
            } else {
                read_string(p, pos);
            }
            return;
        default:
            break;
        }
        if (is_digit(c) || c == '-') {
            read_number(p, pos);
            return;
        }
        if (is_name_start(c)) {
            size_t end = pos + 1;
            while (end < p->len && is_name_continue((unsigned char)p->src[end]))
                end++;
            p->tok.kind = TOK_NAME;
            p->tok.start = (uint32_t)pos;
            p->tok.end = (uint32_t)end;
            p->tok.value = p->src + pos;
            p->tok.value_length = end - pos;
            return;
        }
        if (c == '\'')
            gql_parse_fail(p, (uint32_t)pos,
                           "Unexpected single quote character ('), did you mean to use a double "
                           "quote (\")?");
        char cp[16];
        print_code_point_at(p, pos, cp, sizeof(cp));
        gql_parse_fail(p, (uint32_t)pos, "Unexpected character: %s.", cp);
    }
    set_punct(p, TOK_EOF, p->len, 0);
    p->tok.start = p->tok.end = (uint32_t)p->len;
}
