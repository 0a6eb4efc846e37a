/* http_parser: the incremental HTTP/1.1 request parser of tvsync-server's HTTP layer:
 * request line, header fields, Content-Length and chunked bodies, in place in one buffer. */
#include <config.h>

#include "server/http_parser.h"
#include "common/hex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_CHUNK_LINE_MAX 1024

enum {
    PS_HEAD,
    PS_BODY,
    PS_CHUNK_SIZE,
    PS_CHUNK_DATA,
    PS_CHUNK_DATA_END,
    PS_TRAILER,
    PS_DONE,
    PS_ERROR,
};

void http_parser_init(http_parser *parser, int64_t max_body)
{
    memset(parser, 0, offsetof(http_parser, fields));
    parser->max_head = HTTP_MAX_HEADER_BYTES;
    parser->max_body = max_body;
    parser->query = UINT32_MAX;
    parser->state = PS_HEAD;
    parser->field_count = 0;
    parser->method = parser->target = parser->path = 0;
    parser->minor = 1;
    parser->keep_alive = parser->expect_continue = parser->chunked = parser->head_done = false;
    parser->content_length = 0;
    parser->body_length = parser->cursor = 0;
    parser->chunk_left = 0;
    parser->chunk_state = 0;
    parser->error_status = 0;
    parser->error_message = NULL;
}

static http_parse_result parse_error(http_parser *parser, int status, const char *message)
{
    parser->state = PS_ERROR;
    parser->error_status = status;
    parser->error_message = message;
    return HTTP_PARSE_ERROR;
}

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A field value byte: HTAB, SP, visible ASCII or obs-text. */
static bool is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* The end of the line starting at p (the '\n'), within [p, end). */
static char *line_end(char *p, char *end)
{
    return memchr(p, '\n', (size_t) (end - p));
}

bool http_token_list_has(const char *list, const char *token)
{
    size_t length = strlen(token);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *stop = p;
        while (stop > start && (stop[-1] == ' ' || stop[-1] == '\t'))
            stop--;
        if ((size_t) (stop - start) == length && strncasecmp(start, token, length) == 0)
            return true;
    }
    return false;
}

/* Content-Length: 1*DIGIT, or a list of equal values. -1: invalid; INT64_MAX: too large. */
static int64_t parse_content_length(const char *value)
{
    int64_t result = -1;
    const char *p = value;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p < '0' || *p > '9')
            return -1;
        int64_t number = 0;
        while (*p >= '0' && *p <= '9') {
            if (number > (INT64_MAX - 9) / 10)
                number = INT64_MAX;
            else
                number = number * 10 + (*p - '0');
            p++;
        }
        if (result != -1 && result != number)
            return -1;
        result = number;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return result;
        if (*p != ',')
            return -1;
        p++;
    }
}

/* Parses the request line and the fields of [start, head_end); NUL-terminates in place. */
static http_parse_result parse_head(http_parser *parser, char *buffer)
{
    char *p = buffer + parser->start;
    char *end = buffer + parser->head_end;
    /* request line */
    char *eol = line_end(p, end);
    char *stop = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
    char *method = p;
    while (p < stop && is_tchar((unsigned char) *p))
        p++;
    if (p == method || p >= stop || *p != ' ')
        return parse_error(parser, 400, "Malformed request line: expected METHOD /path HTTP/1.1.");
    *p++ = '\0';
    char *target = p;
    while (p < stop && (unsigned char) *p > 0x20 && (unsigned char) *p < 0x7f)
        p++;
    if (p == target || p >= stop || *p != ' ')
        return parse_error(parser, 400, "Malformed request line: expected METHOD /path HTTP/1.1.");
    *p++ = '\0';
    char *version = p;
    if (stop - version != 8 || memcmp(version, "HTTP/", 5) != 0 || version[5] < '0' || version[5] > '9' ||
        version[6] != '.' || version[7] < '0' || version[7] > '9')
        return parse_error(parser, 400, "Malformed request line: expected METHOD /path HTTP/1.1.");
    if (version[5] != '1' || (version[7] != '0' && version[7] != '1'))
        return parse_error(parser, 505, "Only HTTP/1.0 and HTTP/1.1 are supported.");
    parser->minor = version[7] - '0';
    if (target[0] != '/')
        return parse_error(parser, 400, "The request target must be a path starting with / (origin form).");
    parser->method = (uint32_t) (method - buffer);
    parser->target = parser->path = (uint32_t) (target - buffer);
    char *question = strchr(target, '?');
    if (question != NULL) {
        *question = '\0';
        parser->query = (uint32_t) (question + 1 - buffer);
    }
    /* fields */
    int hosts = 0;
    bool have_length = false, have_encoding = false, close = false, keep_alive = false;
    const char *encoding_last = NULL;
    bool encoding_other = false;
    parser->field_count = 0;
    for (p = eol + 1; p < end; p = eol + 1) {
        eol = line_end(p, end);
        stop = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        if (stop == p)
            break; /* the empty line */
        if (*p == ' ' || *p == '\t')
            return parse_error(parser, 400,
                               "Header fields continued on the next line (obs-fold) are not allowed; "
                               "send each field on one line.");
        char *name = p;
        while (p < stop && is_tchar((unsigned char) *p))
            p++;
        if (p == name || p >= stop || *p != ':')
            return parse_error(parser, 400, "Malformed header line: expected Name: value.");
        *p++ = '\0';
        while (p < stop && (*p == ' ' || *p == '\t'))
            p++;
        char *value = p;
        for (char *q = value; q < stop; q++)
            if (!is_value_char((unsigned char) *q))
                return parse_error(parser, 400, "A header value contains a control character.");
        char *value_end = stop;
        while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
            value_end--;
        *value_end = '\0';
        if (parser->field_count == HTTP_MAX_HEADERS)
            return parse_error(parser, 431, "Too many header fields (at most 100).");
        parser->fields[parser->field_count].name = (uint32_t) (name - buffer);
        parser->fields[parser->field_count].value = (uint32_t) (value - buffer);
        parser->field_count++;
        if (strcasecmp(name, "Host") == 0) {
            hosts++;
        } else if (strcasecmp(name, "Content-Length") == 0) {
            int64_t length = parse_content_length(value);
            if (length < 0 || (have_length && length != parser->content_length))
                return parse_error(parser, 400,
                                   "Invalid Content-Length: send one decimal number (repeated values must agree).");
            have_length = true;
            parser->content_length = length;
        } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
            have_encoding = true;
            /* The codings of every field, in order: only a lone "chunked" is understood. */
            const char *q = value;
            while (*q) {
                while (*q == ' ' || *q == '\t' || *q == ',')
                    q++;
                if (*q == '\0')
                    break;
                const char *coding = q;
                while (*q && *q != ',')
                    q++;
                const char *coding_end = q;
                while (coding_end > coding && (coding_end[-1] == ' ' || coding_end[-1] == '\t'))
                    coding_end--;
                if (encoding_last != NULL)
                    encoding_other = true; /* more than one coding */
                if (!((size_t) (coding_end - coding) == 7 && strncasecmp(coding, "chunked", 7) == 0))
                    encoding_other = true;
                encoding_last = coding;
            }
        } else if (strcasecmp(name, "Connection") == 0) {
            close = close || http_token_list_has(value, "close");
            keep_alive = keep_alive || http_token_list_has(value, "keep-alive");
        } else if (strcasecmp(name, "Expect") == 0) {
            if (strcasecmp(value, "100-continue") != 0)
                return parse_error(parser, 417, "Only Expect: 100-continue is supported.");
            parser->expect_continue = parser->minor == 1;
        }
    }
    if (parser->minor == 1 && hosts != 1)
        return parse_error(parser, 400, "An HTTP/1.1 request needs exactly one Host header.");
    if (hosts > 1)
        return parse_error(parser, 400, "A request may have only one Host header.");
    parser->keep_alive = parser->minor == 1 ? !close : keep_alive && !close;
    if (have_encoding) {
        if (parser->minor == 0)
            return parse_error(parser, 400, "Transfer-Encoding is not allowed in HTTP/1.0 requests.");
        if (have_length)
            return parse_error(parser, 400, "Send either Content-Length or Transfer-Encoding, not both.");
        if (encoding_other || encoding_last == NULL)
            return parse_error(parser, 501, "Only Transfer-Encoding: chunked is supported.");
        parser->chunked = true;
    } else if (parser->content_length > parser->max_body) {
        return parse_error(parser, 413, "The request body exceeds server.max_body_bytes.");
    }
    parser->head_done = true;
    return HTTP_PARSE_MORE;
}

/* Finds the end of the head (an empty line) from parser->scan. */
static http_parse_result find_head_end(http_parser *parser, char *buffer, size_t length)
{
    /* Empty lines before the request line are ignored (RFC 9112, 2.2). */
    while (parser->start == parser->scan && parser->start < length) {
        if (buffer[parser->start] == '\n') {
            parser->start++;
        } else if (buffer[parser->start] == '\r') {
            if (parser->start + 1 >= length)
                return HTTP_PARSE_MORE;
            if (buffer[parser->start + 1] != '\n')
                return parse_error(parser, 400, "Malformed request line: expected METHOD /path HTTP/1.1.");
            parser->start += 2;
        } else {
            break;
        }
        parser->scan = parser->start;
        if (parser->start > parser->max_head)
            return parse_error(parser, 400, "Malformed request: only empty lines.");
    }
    size_t i = parser->scan;
    while (i < length) {
        char *newline = memchr(buffer + i, '\n', length - i);
        if (newline == NULL) {
            i = length;
            break;
        }
        i = (size_t) (newline - buffer);
        if (i + 1 >= length || (buffer[i + 1] == '\r' && i + 2 >= length))
            break; /* cannot tell yet whether an empty line follows */
        if (buffer[i + 1] == '\n') {
            parser->head_end = i + 2;
            return HTTP_PARSE_COMPLETE;
        }
        if (buffer[i + 1] == '\r' && buffer[i + 2] == '\n') {
            parser->head_end = i + 3;
            return HTTP_PARSE_COMPLETE;
        }
        i++;
    }
    parser->scan = i;
    if (length - parser->start > parser->max_head)
        return parse_error(parser, 431, "The request line and headers exceed 64 KiB.");
    return HTTP_PARSE_MORE;
}

/* Decodes chunks from parser->cursor, moving data down to head_end + body_length, then
 * moves the undecoded rest after it so that the buffer holds no dead bytes. */
static http_parse_result decode_chunks(http_parser *parser, char *buffer, size_t *length)
{
    http_parse_result result = HTTP_PARSE_MORE;
    for (;;) {
        size_t cursor = parser->cursor;
        if (parser->state == PS_CHUNK_SIZE || parser->state == PS_TRAILER) {
            char *newline = memchr(buffer + cursor, '\n', *length - cursor);
            if (newline == NULL) {
                if (*length - cursor > (parser->state == PS_TRAILER ? parser->max_head : HTTP_CHUNK_LINE_MAX))
                    return parse_error(parser, parser->state == PS_TRAILER ? 431 : 400,
                                       parser->state == PS_TRAILER ? "The chunked body's trailer fields exceed 64 KiB."
                                                                  : "Malformed chunked body: a chunk-size line is too long.");
                break;
            }
            char *line = buffer + cursor;
            char *stop = newline > line && newline[-1] == '\r' ? newline - 1 : newline;
            parser->cursor = (size_t) (newline + 1 - buffer);
            if (parser->state == PS_TRAILER) {
                if (stop == line) {
                    parser->state = PS_DONE;
                    result = HTTP_PARSE_COMPLETE;
                    break;
                }
                parser->chunk_left += (size_t) (newline + 1 - line);
                if (parser->chunk_left > parser->max_head)
                    return parse_error(parser, 431, "The chunked body's trailer fields exceed 64 KiB.");
                continue;
            }
            if ((size_t) (newline - line) > HTTP_CHUNK_LINE_MAX) /* as when it arrives in pieces */
                return parse_error(parser, 400, "Malformed chunked body: a chunk-size line is too long.");
            uint64_t size = 0;
            char *p = line;
            int digit;
            while (p < stop && (digit = hex_value(*p)) >= 0) {
                if (size > (UINT64_MAX >> 4))
                    return parse_error(parser, 413, "The request body exceeds server.max_body_bytes.");
                size = size << 4 | (uint64_t) digit;
                p++;
            }
            if (p == line)
                return parse_error(parser, 400, "Malformed chunked body: a chunk must start with its size in hex.");
            while (p < stop && (*p == ' ' || *p == '\t'))
                p++;
            if (p < stop && *p != ';')
                return parse_error(parser, 400, "Malformed chunked body: a chunk must start with its size in hex.");
            for (; p < stop; p++)
                if (!is_value_char((unsigned char) *p))
                    return parse_error(parser, 400, "Malformed chunked body: a control character in a chunk extension.");
            if (size > (uint64_t) parser->max_body || parser->body_length + size > (uint64_t) parser->max_body)
                return parse_error(parser, 413, "The request body exceeds server.max_body_bytes.");
            if (size == 0) {
                parser->state = PS_TRAILER;
                parser->chunk_left = 0;
            } else {
                parser->chunk_left = size;
                parser->state = PS_CHUNK_DATA;
            }
        } else if (parser->state == PS_CHUNK_DATA) {
            size_t available = *length - cursor;
            if (available == 0)
                break;
            size_t n = available < parser->chunk_left ? available : (size_t) parser->chunk_left;
            memmove(buffer + parser->head_end + parser->body_length, buffer + cursor, n);
            parser->body_length += n;
            parser->cursor += n;
            parser->chunk_left -= n;
            if (parser->chunk_left == 0)
                parser->state = PS_CHUNK_DATA_END;
        } else { /* PS_CHUNK_DATA_END */
            if (cursor >= *length)
                break;
            if (buffer[cursor] == '\n') {
                parser->cursor++;
            } else if (buffer[cursor] == '\r') {
                if (cursor + 1 >= *length)
                    break;
                if (buffer[cursor + 1] != '\n')
                    return parse_error(parser, 400, "Malformed chunked body: chunk data must end with CRLF.");
                parser->cursor += 2;
            } else {
                return parse_error(parser, 400, "Malformed chunked body: chunk data must end with CRLF.");
            }
            parser->state = PS_CHUNK_SIZE;
        }
    }
    /* Close the gap between the decoded body and the rest. */
    size_t decoded_end = parser->head_end + parser->body_length;
    if (parser->cursor > decoded_end) {
        size_t rest = *length - parser->cursor;
        memmove(buffer + decoded_end, buffer + parser->cursor, rest);
        *length = decoded_end + rest;
        parser->cursor = decoded_end;
    }
    return result;
}

http_parse_result http_parser_run(http_parser *parser, char *buffer, size_t *length)
{
    if (parser->state == PS_ERROR)
        return HTTP_PARSE_ERROR;
    if (parser->state == PS_DONE)
        return HTTP_PARSE_COMPLETE;
    if (parser->state == PS_HEAD) {
        http_parse_result found = find_head_end(parser, buffer, *length);
        if (found != HTTP_PARSE_COMPLETE)
            return found;
        if (parser->head_end - parser->start > parser->max_head)
            return parse_error(parser, 431, "The request line and headers exceed 64 KiB.");
        if (parse_head(parser, buffer) == HTTP_PARSE_ERROR)
            return HTTP_PARSE_ERROR;
        if (parser->chunked) {
            parser->state = PS_CHUNK_SIZE;
            parser->cursor = parser->head_end;
        } else {
            parser->state = PS_BODY;
        }
    }
    if (parser->state == PS_BODY) {
        if (*length - parser->head_end < (uint64_t) parser->content_length)
            return HTTP_PARSE_MORE;
        parser->body_length = (size_t) parser->content_length;
        parser->cursor = parser->head_end + parser->body_length;
        parser->state = PS_DONE;
        return HTTP_PARSE_COMPLETE;
    }
    return decode_chunks(parser, buffer, length);
}

size_t http_parser_consumed(const http_parser *parser)
{
    return parser->cursor;
}

const char *http_parser_field(const http_parser *parser, const char *buffer, const char *name)
{
    for (size_t i = 0; i < parser->field_count; i++)
        if (strcasecmp(buffer + parser->fields[i].name, name) == 0)
            return buffer + parser->fields[i].value;
    return NULL;
}
