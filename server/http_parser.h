/* http_parser: the HTTP/1.1 request parser behind server/http, on its own so that it can be
 * tested and fuzzed without sockets or an event loop.
 *
 * Contract:
 * - The caller owns the buffer and the http_parser (plain memory: no allocation, nothing
 *   to free). http_parser_init starts a request; after COMPLETE or ERROR it must be called
 *   again before the next request.
 * - The parser works in place: it NUL-terminates the method, target, field names and
 *   values inside the buffer and decodes a chunked body in place. Offsets it records
 *   (method, path, query, fields) index the buffer and stay valid while the buffer does.
 * - Work is linear in the input: the head is scanned once across calls (scan resumes where
 *   the last call stopped), chunks are decoded once.
 * - Limits: a head longer than max_head (request line and fields) or with more than
 *   HTTP_MAX_HEADERS fields is refused with 431, a body over max_body with 413. Any
 *   malformed request ends in HTTP_PARSE_ERROR with error_status (400, 413, 417, 431, 501,
 *   505) and a static error_message; the connection must then close. */
#ifndef TVSYNC_SERVER_HTTP_PARSER_H
#define TVSYNC_SERVER_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADER_BYTES 65536 /* request line + header fields; more: 431 */
#define HTTP_MAX_HEADERS 100        /* header fields; more: 431 */

typedef enum http_parse_result {
    HTTP_PARSE_MORE,      /* needs more bytes */
    HTTP_PARSE_COMPLETE,  /* a whole request: the offsets below, http_parser_consumed */
    HTTP_PARSE_ERROR,     /* error_status, error_message; the connection must close */
} http_parse_result;

typedef struct http_field {
    uint32_t name, value;  /* offsets of NUL-terminated strings in the buffer */
} http_field;

typedef struct http_parser {
    size_t max_head;        /* HTTP_MAX_HEADER_BYTES unless set */
    int64_t max_body;
    /* state */
    int state;
    size_t scan;            /* where the search for the end of the head resumes */
    size_t start;           /* the first byte of the request line (after empty lines) */
    size_t head_end;        /* the first byte after the empty line */
    size_t field_count;
    http_field fields[HTTP_MAX_HEADERS];
    uint32_t method, target, path, query; /* offsets; query UINT32_MAX when absent */
    int minor;
    bool keep_alive, expect_continue, chunked, head_done;
    int64_t content_length;
    /* chunked decoding: decoded bytes are moved down to head_end + body_length */
    size_t body_length;
    size_t cursor;          /* next encoded byte to read */
    uint64_t chunk_left;    /* data bytes left in the current chunk */
    int chunk_state;
    /* result */
    int error_status;
    const char *error_message;
} http_parser;

void http_parser_init(http_parser *parser, int64_t max_body);
/* Parses buffer[0, *length) (the same bytes plus new ones at each call; the buffer may
 * move between calls). Bytes are changed in place: strings are NUL-terminated, and a
 * chunked body is decoded in place, which shortens *length. */
http_parse_result http_parser_run(http_parser *parser, char *buffer, size_t *length);
/* After COMPLETE: bytes that belong to the request (the next one starts there). */
size_t http_parser_consumed(const http_parser *parser);
/* After COMPLETE or MORE with head_done: the value of a field (any case) or NULL. */
const char *http_parser_field(const http_parser *parser, const char *buffer, const char *name);

/* Whether a comma-separated field value (Connection: "keep-alive, Upgrade") lists token,
 * in any case, ignoring spaces around the elements. */
bool http_token_list_has(const char *list, const char *token);

#endif
