/* gql_parser: lexer and recursive-descent parser for GraphQL documents (October 2021 spec,
 * graphql-js 16 wording). Depth is checked before every descent, so no input overflows the stack. */
#include "config.h"

#include "server/graphql/gql_parser.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef enum token_kind {
    TOK_SOF,
    TOK_EOF,
    TOK_BANG,
    TOK_DOLLAR,
    TOK_AMP,
    TOK_PAREN_L,
    TOK_PAREN_R,
    TOK_SPREAD,
    TOK_COLON,
    TOK_EQUALS,
    TOK_AT,
    TOK_BRACKET_L,
    TOK_BRACKET_R,
    TOK_BRACE_L,
    TOK_PIPE,
    TOK_BRACE_R,
    TOK_NAME,
    TOK_INT,
    TOK_FLOAT,
    TOK_STRING,
    TOK_BLOCK_STRING,
} token_kind;

static const char *const token_kind_desc[] = {
    [TOK_SOF] = "<SOF>",       [TOK_EOF] = "<EOF>",     [TOK_BANG] = "\"!\"",
    [TOK_DOLLAR] = "\"$\"",    [TOK_AMP] = "\"&\"",     [TOK_PAREN_L] = "\"(\"",
    [TOK_PAREN_R] = "\")\"",   [TOK_SPREAD] = "\"...\"", [TOK_COLON] = "\":\"",
    [TOK_EQUALS] = "\"=\"",    [TOK_AT] = "\"@\"",      [TOK_BRACKET_L] = "\"[\"",
    [TOK_BRACKET_R] = "\"]\"", [TOK_BRACE_L] = "\"{\"", [TOK_PIPE] = "\"|\"",
    [TOK_BRACE_R] = "\"}\"",   [TOK_NAME] = "Name",     [TOK_INT] = "Int",
    [TOK_FLOAT] = "Float",     [TOK_STRING] = "String", [TOK_BLOCK_STRING] = "BlockString",
};

typedef struct token {
    token_kind kind;
    uint32_t start;
    uint32_t end;
    const char *value; /* NAME/INT/FLOAT: into the source; strings: decoded, in the arena */
    size_t value_length;
} token;

typedef struct parser {
    gql_arena *arena;
    const char *src;
    size_t len;
    token tok;
    size_t token_count;
    size_t max_tokens;
    unsigned depth;
    unsigned max_depth;
    gql_parse_error *error;
    jmp_buf fail;
} parser;

static _Noreturn void parse_fail(parser *p, uint32_t pos, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static _Noreturn void parse_fail(parser *p, uint32_t pos, const char *format, ...)
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
        parse_fail(p, (uint32_t)pos, "Invalid number, expected digit but got: %s.", cp);
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
            parse_fail(p, (uint32_t)pos, "Invalid number, unexpected digit after 0: %s.", cp);
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
        parse_fail(p, (uint32_t)pos, "Invalid number, expected digit but got: %s.", cp);
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
    parse_fail(p, (uint32_t)pos, "Invalid %s escape sequence: \"%.*s\".", what,
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
    parse_fail(p, (uint32_t)pos, "Unterminated string.");
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
    parse_fail(p, (uint32_t)pos, "Unterminated string.");
}

static void set_punct(parser *p, token_kind kind, size_t pos, size_t size)
{
    p->tok.kind = kind;
    p->tok.start = (uint32_t)pos;
    p->tok.end = (uint32_t)(pos + size);
    p->tok.value = NULL;
    p->tok.value_length = 0;
}

/* Reads the next non-comment token starting at byte offset `pos`. */
static void lex_from(parser *p, size_t pos)
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
            parse_fail(p, (uint32_t)pos,
                       "Unexpected single quote character ('), did you mean to use a double "
                       "quote (\")?");
        char cp[16];
        print_code_point_at(p, pos, cp, sizeof(cp));
        parse_fail(p, (uint32_t)pos, "Unexpected character: %s.", cp);
    }
    set_punct(p, TOK_EOF, p->len, 0);
    p->tok.start = p->tok.end = (uint32_t)p->len;
}

static void advance(parser *p)
{
    lex_from(p, p->tok.end);
    if (p->tok.kind != TOK_EOF && ++p->token_count > p->max_tokens)
        parse_fail(p, p->tok.start, "Document contains more than %zu tokens. Parsing aborted.",
                   p->max_tokens);
}

/* Peeks at the token after the current one without consuming anything. */
static token lookahead(parser *p)
{
    token saved = p->tok;
    lex_from(p, p->tok.end);
    token next = p->tok;
    p->tok = saved;
    return next;
}

/* ------------------------------------------------------------------ parser helpers */

static void describe_token(const token *t, char *out, size_t size)
{
    if (t->kind == TOK_NAME || t->kind == TOK_INT || t->kind == TOK_FLOAT ||
        t->kind == TOK_STRING || t->kind == TOK_BLOCK_STRING) {
        size_t n = (size_t)snprintf(out, size, "%s \"", token_kind_desc[t->kind]);
        /* the value may hold U+0000: write it as C0 80 so the message stays a C string */
        for (size_t i = 0; i < t->value_length && n + 4 < size; i++) {
            if (t->value[i] == '\0') {
                out[n++] = (char)0xC0;
                out[n++] = (char)0x80;
            } else {
                out[n++] = t->value[i];
            }
        }
        out[n++] = '"';
        out[n] = '\0';
    } else {
        snprintf(out, size, "%s", token_kind_desc[t->kind]);
    }
}

static _Noreturn void unexpected(parser *p, const token *t)
{
    char desc[3500];
    describe_token(t ? t : &p->tok, desc, sizeof(desc));
    parse_fail(p, (t ? t : &p->tok)->start, "Unexpected %s.", desc);
}

static bool peek(parser *p, token_kind kind)
{
    return p->tok.kind == kind;
}

static token expect(parser *p, token_kind kind)
{
    token t = p->tok;
    if (t.kind == kind) {
        advance(p);
        return t;
    }
    char desc[3500];
    describe_token(&t, desc, sizeof(desc));
    parse_fail(p, t.start, "Expected %s, found %s.", token_kind_desc[kind], desc);
}

static bool expect_optional(parser *p, token_kind kind)
{
    if (p->tok.kind == kind) {
        advance(p);
        return true;
    }
    return false;
}

static bool token_is_keyword(const token *t, const char *word)
{
    return t->kind == TOK_NAME && t->value_length == strlen(word) &&
           memcmp(t->value, word, t->value_length) == 0;
}

static void expect_keyword(parser *p, const char *word)
{
    if (token_is_keyword(&p->tok, word)) {
        advance(p);
        return;
    }
    char desc[3500];
    describe_token(&p->tok, desc, sizeof(desc));
    parse_fail(p, p->tok.start, "Expected \"%s\", found %s.", word, desc);
}

static bool expect_optional_keyword(parser *p, const char *word)
{
    if (token_is_keyword(&p->tok, word)) {
        advance(p);
        return true;
    }
    return false;
}

static void enter_depth(parser *p)
{
    if (++p->depth > p->max_depth)
        parse_fail(p, p->tok.start, "Document exceeds the maximum nesting depth of %u.",
                   p->max_depth);
}

/* Growable arrays of structs in the arena. */
typedef struct avec {
    void *data;
    size_t count;
    size_t cap;
} avec;

static void *avec_push(parser *p, avec *v, size_t item_size)
{
    if (v->count == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4;
        void *d = gql_arena_alloc(p->arena, cap * item_size);
        if (v->count)
            memcpy(d, v->data, v->count * item_size);
        v->data = d;
        v->cap = cap;
    }
    return (char *)v->data + item_size * v->count++;
}

static const char *parse_name(parser *p, uint32_t *pos)
{
    token t = expect(p, TOK_NAME);
    if (pos)
        *pos = t.start;
    return gql_arena_strndup(p->arena, t.value, t.value_length);
}

/* ------------------------------------------------------------------ values and types */

static ast_value *parse_value(parser *p, bool is_const);

static ast_value *parse_value(parser *p, bool is_const)
{
    token t = p->tok;
    ast_value *v = gql_arena_alloc(p->arena, sizeof(*v));
    v->pos = t.start;
    switch (t.kind) {
    case TOK_BRACKET_L: {
        enter_depth(p);
        advance(p);
        v->kind = AST_VALUE_LIST;
        avec items = {0};
        while (!expect_optional(p, TOK_BRACKET_R))
            *(ast_value **)avec_push(p, &items, sizeof(ast_value *)) = parse_value(p, is_const);
        v->items = items.data;
        v->count = items.count;
        p->depth--;
        return v;
    }
    case TOK_BRACE_L: {
        enter_depth(p);
        advance(p);
        v->kind = AST_VALUE_OBJECT;
        avec fields = {0};
        while (!expect_optional(p, TOK_BRACE_R)) {
            ast_object_field *f = avec_push(p, &fields, sizeof(ast_object_field));
            f->pos = p->tok.start;
            f->name = parse_name(p, NULL);
            expect(p, TOK_COLON);
            f->value = parse_value(p, is_const);
        }
        v->fields = fields.data;
        v->count = fields.count;
        p->depth--;
        return v;
    }
    case TOK_INT:
    case TOK_FLOAT:
        advance(p);
        v->kind = t.kind == TOK_INT ? AST_VALUE_INT : AST_VALUE_FLOAT;
        v->text = gql_arena_strndup(p->arena, t.value, t.value_length);
        v->text_length = t.value_length;
        return v;
    case TOK_STRING:
    case TOK_BLOCK_STRING:
        advance(p);
        v->kind = AST_VALUE_STRING;
        v->text = t.value;
        v->text_length = t.value_length;
        v->block = t.kind == TOK_BLOCK_STRING;
        return v;
    case TOK_NAME:
        advance(p);
        if (token_is_keyword(&t, "true") || token_is_keyword(&t, "false")) {
            v->kind = AST_VALUE_BOOLEAN;
            v->boolean = t.value[0] == 't';
        } else if (token_is_keyword(&t, "null")) {
            v->kind = AST_VALUE_NULL;
        } else {
            v->kind = AST_VALUE_ENUM;
            v->text = gql_arena_strndup(p->arena, t.value, t.value_length);
            v->text_length = t.value_length;
        }
        return v;
    case TOK_DOLLAR:
        if (is_const) {
            advance(p);
            if (p->tok.kind == TOK_NAME)
                parse_fail(p, t.start, "Unexpected variable \"$%.*s\" in constant value.",
                           (int)p->tok.value_length, p->tok.value);
            unexpected(p, &t);
        }
        advance(p);
        v->kind = AST_VALUE_VARIABLE;
        v->text = parse_name(p, NULL);
        v->text_length = strlen(v->text);
        return v;
    default:
        unexpected(p, NULL);
    }
}

static ast_type *parse_type(parser *p)
{
    ast_type *t = gql_arena_alloc(p->arena, sizeof(*t));
    t->pos = p->tok.start;
    if (expect_optional(p, TOK_BRACKET_L)) {
        enter_depth(p);
        t->kind = AST_TYPE_LIST;
        t->inner = parse_type(p);
        expect(p, TOK_BRACKET_R);
        p->depth--;
    } else {
        t->kind = AST_TYPE_NAMED;
        t->name = parse_name(p, NULL);
    }
    if (expect_optional(p, TOK_BANG)) {
        ast_type *nn = gql_arena_alloc(p->arena, sizeof(*nn));
        nn->kind = AST_TYPE_NON_NULL;
        nn->pos = t->pos;
        nn->inner = t;
        return nn;
    }
    return t;
}

static void parse_arguments(parser *p, bool is_const, ast_argument **out, size_t *count)
{
    avec args = {0};
    if (expect_optional(p, TOK_PAREN_L)) {
        do {
            ast_argument *a = avec_push(p, &args, sizeof(ast_argument));
            a->pos = p->tok.start;
            a->name = parse_name(p, NULL);
            expect(p, TOK_COLON);
            a->value = parse_value(p, is_const);
        } while (!expect_optional(p, TOK_PAREN_R));
    }
    *out = args.data;
    *count = args.count;
}

static void parse_directives(parser *p, bool is_const, ast_directive **out, size_t *count)
{
    avec dirs = {0};
    while (peek(p, TOK_AT)) {
        ast_directive *d = avec_push(p, &dirs, sizeof(ast_directive));
        d->pos = p->tok.start;
        advance(p);
        d->name = parse_name(p, NULL);
        parse_arguments(p, is_const, &d->arguments, &d->argument_count);
    }
    *out = dirs.data;
    *count = dirs.count;
}

/* ------------------------------------------------------------------ executable definitions */

static ast_selection_set *parse_selection_set(parser *p);

static ast_selection *parse_selection(parser *p)
{
    ast_selection *s = gql_arena_alloc(p->arena, sizeof(*s));
    s->pos = p->tok.start;
    if (expect_optional(p, TOK_SPREAD)) {
        bool has_type_condition = expect_optional_keyword(p, "on");
        if (!has_type_condition && peek(p, TOK_NAME)) {
            s->kind = AST_SELECTION_FRAGMENT_SPREAD;
            if (token_is_keyword(&p->tok, "on"))
                unexpected(p, NULL);
            s->name = parse_name(p, &s->name_pos);
            parse_directives(p, false, &s->directives, &s->directive_count);
            return s;
        }
        s->kind = AST_SELECTION_INLINE_FRAGMENT;
        if (has_type_condition)
            s->type_condition = parse_name(p, &s->type_condition_pos);
        parse_directives(p, false, &s->directives, &s->directive_count);
        s->selection_set = parse_selection_set(p);
        return s;
    }
    s->kind = AST_SELECTION_FIELD;
    const char *name_or_alias = parse_name(p, &s->name_pos);
    if (expect_optional(p, TOK_COLON)) {
        s->alias = name_or_alias;
        s->name = parse_name(p, &s->name_pos);
    } else {
        s->name = name_or_alias;
    }
    parse_arguments(p, false, &s->arguments, &s->argument_count);
    parse_directives(p, false, &s->directives, &s->directive_count);
    if (peek(p, TOK_BRACE_L))
        s->selection_set = parse_selection_set(p);
    return s;
}

static ast_selection_set *parse_selection_set(parser *p)
{
    ast_selection_set *set = gql_arena_alloc(p->arena, sizeof(*set));
    set->pos = p->tok.start;
    if (peek(p, TOK_BRACE_L))
        enter_depth(p);
    expect(p, TOK_BRACE_L);
    avec items = {0};
    do {
        *(ast_selection **)avec_push(p, &items, sizeof(ast_selection *)) = parse_selection(p);
    } while (!expect_optional(p, TOK_BRACE_R));
    p->depth--;
    set->items = items.data;
    set->count = items.count;
    return set;
}

static const char *parse_description(parser *p)
{
    if (peek(p, TOK_STRING) || peek(p, TOK_BLOCK_STRING)) {
        const char *d = p->tok.value;
        advance(p);
        return d;
    }
    return NULL;
}

static gql_operation_type parse_operation_type(parser *p)
{
    token t = expect(p, TOK_NAME);
    if (token_is_keyword(&t, "query"))
        return GQL_OPERATION_QUERY;
    if (token_is_keyword(&t, "mutation"))
        return GQL_OPERATION_MUTATION;
    if (token_is_keyword(&t, "subscription"))
        return GQL_OPERATION_SUBSCRIPTION;
    unexpected(p, &t);
}

static ast_definition *parse_operation(parser *p)
{
    ast_definition *d = gql_arena_alloc(p->arena, sizeof(*d));
    d->kind = AST_DEF_OPERATION;
    d->pos = p->tok.start;
    if (peek(p, TOK_BRACE_L)) {
        d->operation = GQL_OPERATION_QUERY;
        d->selection_set = parse_selection_set(p);
        return d;
    }
    d->description = parse_description(p);
    d->operation = parse_operation_type(p);
    if (peek(p, TOK_NAME))
        d->name = parse_name(p, &d->name_pos);
    avec vars = {0};
    if (expect_optional(p, TOK_PAREN_L)) {
        do {
            ast_variable_definition *v = avec_push(p, &vars, sizeof(*v));
            v->pos = p->tok.start;
            parse_description(p);
            v->pos = p->tok.start;
            expect(p, TOK_DOLLAR);
            v->name = parse_name(p, &v->name_pos);
            expect(p, TOK_COLON);
            v->type = parse_type(p);
            if (expect_optional(p, TOK_EQUALS))
                v->default_value = parse_value(p, true);
            parse_directives(p, true, &v->directives, &v->directive_count);
        } while (!expect_optional(p, TOK_PAREN_R));
    }
    d->variables = vars.data;
    d->variable_count = vars.count;
    parse_directives(p, false, &d->directives, &d->directive_count);
    d->selection_set = parse_selection_set(p);
    return d;
}

static ast_definition *parse_fragment(parser *p)
{
    ast_definition *d = gql_arena_alloc(p->arena, sizeof(*d));
    d->kind = AST_DEF_FRAGMENT;
    d->pos = p->tok.start;
    d->description = parse_description(p);
    expect_keyword(p, "fragment");
    if (token_is_keyword(&p->tok, "on"))
        unexpected(p, NULL);
    d->name = parse_name(p, &d->name_pos);
    expect_keyword(p, "on");
    d->type_condition = parse_name(p, &d->type_condition_pos);
    parse_directives(p, false, &d->directives, &d->directive_count);
    d->selection_set = parse_selection_set(p);
    return d;
}

/* ------------------------------------------------------------------ type system definitions */

static void parse_input_value_defs(parser *p, token_kind open, token_kind close,
                                   ast_input_value_def **out, size_t *count)
{
    avec defs = {0};
    if (expect_optional(p, open)) {
        do {
            ast_input_value_def *v = avec_push(p, &defs, sizeof(*v));
            v->pos = p->tok.start;
            v->description = parse_description(p);
            v->name = parse_name(p, &v->name_pos);
            expect(p, TOK_COLON);
            v->type = parse_type(p);
            if (expect_optional(p, TOK_EQUALS))
                v->default_value = parse_value(p, true);
            parse_directives(p, true, &v->directives, &v->directive_count);
        } while (!expect_optional(p, close));
    }
    *out = defs.data;
    *count = defs.count;
}

static void parse_named_list(parser *p, token_kind delimiter, ast_definition *d)
{
    avec refs = {0};
    expect_optional(p, delimiter);
    do {
        ast_named_ref *r = avec_push(p, &refs, sizeof(*r));
        r->pos = p->tok.start;
        r->name = parse_name(p, NULL);
    } while (expect_optional(p, delimiter));
    d->types = refs.data;
    d->type_count = refs.count;
}

static void parse_fields_definition(parser *p, ast_definition *d)
{
    avec fields = {0};
    if (expect_optional(p, TOK_BRACE_L)) {
        do {
            ast_field_def *f = avec_push(p, &fields, sizeof(*f));
            f->pos = p->tok.start;
            f->description = parse_description(p);
            f->name = parse_name(p, &f->name_pos);
            parse_input_value_defs(p, TOK_PAREN_L, TOK_PAREN_R, &f->arguments,
                                   &f->argument_count);
            expect(p, TOK_COLON);
            f->type = parse_type(p);
            parse_directives(p, true, &f->directives, &f->directive_count);
        } while (!expect_optional(p, TOK_BRACE_R));
    }
    d->fields = fields.data;
    d->field_count = fields.count;
}

static const char *const directive_location_names[] = {
    "QUERY", "MUTATION", "SUBSCRIPTION", "FIELD", "FRAGMENT_DEFINITION", "FRAGMENT_SPREAD",
    "INLINE_FRAGMENT", "VARIABLE_DEFINITION", "SCHEMA", "SCALAR", "OBJECT", "FIELD_DEFINITION",
    "ARGUMENT_DEFINITION", "INTERFACE", "UNION", "ENUM", "ENUM_VALUE", "INPUT_OBJECT",
    "INPUT_FIELD_DEFINITION", "DIRECTIVE_DEFINITION",
};

const char *gql_directive_location_name(unsigned location)
{
    for (size_t i = 0; i < sizeof(directive_location_names) / sizeof(*directive_location_names);
         i++)
        if (location == 1u << i)
            return directive_location_names[i];
    return "";
}

static ast_definition *parse_type_system(parser *p, bool extension, const token *keyword)
{
    ast_definition *d = gql_arena_alloc(p->arena, sizeof(*d));
    d->pos = p->tok.start;
    d->extension = extension;
    if (extension) {
        expect_keyword(p, "extend");
    } else {
        d->description = parse_description(p);
    }
    token kw = p->tok;
    advance(p); /* the keyword itself, already checked by the caller */
    (void)keyword;
    if (token_is_keyword(&kw, "schema")) {
        d->kind = AST_DEF_SCHEMA;
        parse_directives(p, true, &d->directives, &d->directive_count);
        avec refs = {0}, ops = {0};
        if (extension ? expect_optional(p, TOK_BRACE_L) : (expect(p, TOK_BRACE_L), true)) {
            do {
                *(gql_operation_type *)avec_push(p, &ops, sizeof(gql_operation_type)) =
                    parse_operation_type(p);
                expect(p, TOK_COLON);
                ast_named_ref *r = avec_push(p, &refs, sizeof(*r));
                r->pos = p->tok.start;
                r->name = parse_name(p, NULL);
            } while (!expect_optional(p, TOK_BRACE_R));
        }
        d->types = refs.data;
        d->type_count = refs.count;
        d->root_operations = ops.data;
        if (extension && d->directive_count == 0 && d->type_count == 0)
            unexpected(p, NULL);
        return d;
    }
    if (token_is_keyword(&kw, "directive")) {
        d->kind = AST_DEF_DIRECTIVE;
        expect(p, TOK_AT);
        d->name = parse_name(p, &d->name_pos);
        parse_input_value_defs(p, TOK_PAREN_L, TOK_PAREN_R, &d->input_values,
                               &d->input_value_count);
        d->repeatable = expect_optional_keyword(p, "repeatable");
        expect_keyword(p, "on");
        expect_optional(p, TOK_PIPE);
        avec order = {0};
        do {
            token t = expect(p, TOK_NAME);
            unsigned bit = 0;
            for (size_t i = 0;
                 i < sizeof(directive_location_names) / sizeof(*directive_location_names); i++)
                if (token_is_keyword(&t, directive_location_names[i]))
                    bit = 1u << i;
            if (!bit)
                unexpected(p, &t);
            d->locations |= bit;
            *(unsigned *)avec_push(p, &order, sizeof(unsigned)) = bit;
        } while (expect_optional(p, TOK_PIPE));
        d->location_order = order.data;
        d->location_count = order.count;
        return d;
    }
    d->name = parse_name(p, &d->name_pos);
    if (token_is_keyword(&kw, "scalar")) {
        d->kind = AST_DEF_SCALAR;
        parse_directives(p, true, &d->directives, &d->directive_count);
        if (extension && d->directive_count == 0)
            unexpected(p, NULL);
    } else if (token_is_keyword(&kw, "type") || token_is_keyword(&kw, "interface")) {
        d->kind = kw.value[0] == 't' ? AST_DEF_OBJECT : AST_DEF_INTERFACE;
        if (expect_optional_keyword(p, "implements"))
            parse_named_list(p, TOK_AMP, d);
        parse_directives(p, true, &d->directives, &d->directive_count);
        parse_fields_definition(p, d);
        if (extension && d->type_count == 0 && d->directive_count == 0 && d->field_count == 0)
            unexpected(p, NULL);
    } else if (token_is_keyword(&kw, "union")) {
        d->kind = AST_DEF_UNION;
        parse_directives(p, true, &d->directives, &d->directive_count);
        if (expect_optional(p, TOK_EQUALS))
            parse_named_list(p, TOK_PIPE, d);
        if (extension && d->directive_count == 0 && d->type_count == 0)
            unexpected(p, NULL);
    } else if (token_is_keyword(&kw, "enum")) {
        d->kind = AST_DEF_ENUM;
        parse_directives(p, true, &d->directives, &d->directive_count);
        avec values = {0};
        if (expect_optional(p, TOK_BRACE_L)) {
            do {
                ast_enum_value_def *v = avec_push(p, &values, sizeof(*v));
                v->pos = p->tok.start;
                v->description = parse_description(p);
                if (token_is_keyword(&p->tok, "true") || token_is_keyword(&p->tok, "false") ||
                    token_is_keyword(&p->tok, "null")) {
                    char desc[3500];
                    describe_token(&p->tok, desc, sizeof(desc));
                    parse_fail(p, p->tok.start,
                               "%s is reserved and cannot be used for an enum value.", desc);
                }
                v->name = parse_name(p, &v->name_pos);
                parse_directives(p, true, &v->directives, &v->directive_count);
            } while (!expect_optional(p, TOK_BRACE_R));
        }
        d->enum_values = values.data;
        d->enum_value_count = values.count;
        if (extension && d->directive_count == 0 && d->enum_value_count == 0)
            unexpected(p, NULL);
    } else { /* input */
        d->kind = AST_DEF_INPUT_OBJECT;
        parse_directives(p, true, &d->directives, &d->directive_count);
        parse_input_value_defs(p, TOK_BRACE_L, TOK_BRACE_R, &d->input_values,
                               &d->input_value_count);
        if (extension && d->directive_count == 0 && d->input_value_count == 0)
            unexpected(p, NULL);
    }
    return d;
}

static bool is_type_system_keyword(const token *t)
{
    static const char *const words[] = {"schema", "scalar",  "type",  "interface",
                                        "union",  "enum",    "input", "directive"};
    for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
        if (token_is_keyword(t, words[i]))
            return true;
    return false;
}

static ast_definition *parse_definition(parser *p)
{
    if (peek(p, TOK_BRACE_L))
        return parse_operation(p);
    bool has_description = peek(p, TOK_STRING) || peek(p, TOK_BLOCK_STRING);
    token keyword = has_description ? lookahead(p) : p->tok;
    if (has_description && keyword.kind == TOK_BRACE_L)
        parse_fail(p, p->tok.start,
                   "Unexpected description, descriptions are not supported on shorthand "
                   "queries.");
    if (keyword.kind == TOK_NAME) {
        if (is_type_system_keyword(&keyword))
            return parse_type_system(p, false, &keyword);
        if (token_is_keyword(&keyword, "query") || token_is_keyword(&keyword, "mutation") ||
            token_is_keyword(&keyword, "subscription"))
            return parse_operation(p);
        if (token_is_keyword(&keyword, "fragment"))
            return parse_fragment(p);
        if (has_description)
            parse_fail(p, p->tok.start,
                       "Unexpected description, only GraphQL definitions support "
                       "descriptions.");
        if (token_is_keyword(&keyword, "extend")) {
            token next = lookahead(p);
            if (next.kind == TOK_NAME && is_type_system_keyword(&next) &&
                !token_is_keyword(&next, "directive"))
                return parse_type_system(p, true, &next);
            unexpected(p, &next);
        }
    }
    unexpected(p, &keyword);
}

void gql_limits_default(gql_limits *limits)
{
    limits->max_document_bytes = GQL_DEFAULT_MAX_DOCUMENT_BYTES;
    limits->max_tokens = GQL_DEFAULT_MAX_TOKENS;
    limits->max_depth = GQL_DEFAULT_MAX_DEPTH;
}

ast_document *gql_parse(gql_arena *arena, const char *source, size_t length,
                        const gql_limits *limits, gql_parse_error *error)
{
    gql_limits defaults;
    if (!limits) {
        gql_limits_default(&defaults);
        limits = &defaults;
    }
    memset(error, 0, sizeof(*error));
    if (length > limits->max_document_bytes || length > UINT32_MAX - 16) {
        snprintf(error->message, sizeof(error->message),
                 "Document is %zu bytes, more than the limit of %zu bytes. Parsing aborted.",
                 length, limits->max_document_bytes);
        return NULL;
    }
    parser *p = gql_arena_alloc(arena, sizeof(*p));
    p->arena = arena;
    p->src = source;
    p->len = length;
    p->max_tokens = limits->max_tokens ? limits->max_tokens : SIZE_MAX;
    p->max_depth = limits->max_depth ? limits->max_depth : GQL_DEFAULT_MAX_DEPTH;
    p->error = error;
    ast_document *doc = gql_arena_alloc(arena, sizeof(*doc));
    doc->source = source;
    doc->source_length = length;
    if (setjmp(p->fail))
        return NULL;
    p->tok.kind = TOK_SOF;
    p->tok.start = p->tok.end = 0;
    advance(p);
    avec defs = {0};
    do {
        *(ast_definition **)avec_push(p, &defs, sizeof(ast_definition *)) = parse_definition(p);
    } while (!expect_optional(p, TOK_EOF));
    doc->definitions = defs.data;
    doc->count = defs.count;
    doc->token_count = p->token_count;
    return doc;
}
