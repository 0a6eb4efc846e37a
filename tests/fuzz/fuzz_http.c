/* fuzz_http: libFuzzer target for tvsync-server's HTTP/1.1 request parser (server/http_parser.c).
 * Any byte string, fed whole or in pieces (the first input byte picks the piece size), must
 * give the same sequence of parsed requests (method, path, query, fields, body) and the
 * same final error status, with every string inside the buffer; never crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/http_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EVENTS 64

typedef struct outcome {
    int count;
    uint64_t hashes[MAX_EVENTS]; /* one per request, or the error status last */
    int error_status;
    bool pending;                /* input ended inside a request */
} outcome;

static uint64_t hash_bytes(uint64_t hash, const char *bytes, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        hash ^= (unsigned char) bytes[i];
        hash *= 1099511628211ULL;
    }
    return hash ^ length;
}

static void check_string(const char *buffer, size_t length, uint32_t offset)
{
    if (offset >= length || memchr(buffer + offset, '\0', length - offset) == NULL)
        __builtin_trap();
}

/* What a request parsed to; checks that it lies inside buffer[0, length). */
static uint64_t request_hash(const http_parser *parser, const char *buffer, size_t length)
{
    uint64_t hash = 14695981039346656037ULL;
    size_t consumed = http_parser_consumed(parser);
    if (consumed > length || parser->head_end > consumed || parser->head_end + parser->body_length > consumed)
        __builtin_trap();
    check_string(buffer, parser->head_end, parser->method);
    check_string(buffer, parser->head_end, parser->path);
    hash = hash_bytes(hash, buffer + parser->method, strlen(buffer + parser->method));
    hash = hash_bytes(hash, buffer + parser->path, strlen(buffer + parser->path));
    if (parser->query != UINT32_MAX) {
        check_string(buffer, parser->head_end, parser->query);
        hash = hash_bytes(hash, buffer + parser->query, strlen(buffer + parser->query));
    }
    for (size_t i = 0; i < parser->field_count; i++) {
        check_string(buffer, parser->head_end, parser->fields[i].name);
        check_string(buffer, parser->head_end, parser->fields[i].value);
        hash = hash_bytes(hash, buffer + parser->fields[i].name, strlen(buffer + parser->fields[i].name));
        hash = hash_bytes(hash, buffer + parser->fields[i].value, strlen(buffer + parser->fields[i].value));
    }
    hash = hash_bytes(hash, buffer + parser->head_end, parser->body_length);
    hash ^= (uint64_t) parser->minor << 1 ^ (uint64_t) parser->keep_alive << 2 ^ (uint64_t) parser->expect_continue << 3;
    if ((int64_t) parser->body_length > parser->max_body)
        __builtin_trap();
    return hash;
}

static void start(http_parser *parser)
{
    http_parser_init(parser, 300);
    parser->max_head = 700; /* small limits: their paths are what a hostile client reaches */
}

/* Feeds input in pieces of step bytes (0: all at once), as a connection would. */
static void run(const char *input, size_t size, size_t step, outcome *out)
{
    memset(out, 0, sizeof *out);
    char *buffer = malloc(size + 1);
    size_t length = 0, fed = 0;
    http_parser parser;
    start(&parser);
    while (out->count < MAX_EVENTS) {
        size_t n = step == 0 ? size - fed : (size - fed < step ? size - fed : step);
        memcpy(buffer + length, input + fed, n);
        length += n;
        fed += n;
        http_parse_result result = http_parser_run(&parser, buffer, &length);
        if (length > fed)
            __builtin_trap();
        if (result == HTTP_PARSE_ERROR) {
            if (parser.error_message == NULL || parser.error_status < 400 || parser.error_status > 505)
                __builtin_trap();
            out->error_status = parser.error_status;
            break;
        }
        if (result == HTTP_PARSE_COMPLETE) {
            out->hashes[out->count++] = request_hash(&parser, buffer, length);
            size_t consumed = http_parser_consumed(&parser);
            memmove(buffer, buffer + consumed, length - consumed);
            length -= consumed;
            start(&parser);
            continue; /* the rest may hold the next request */
        }
        if (fed == size) {
            out->pending = length > 0;
            break;
        }
    }
    free(buffer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = 1 + data[0] % 17;
    const char *input = (const char *) data + 1;
    size--;
    outcome whole, pieces;
    run(input, size, 0, &whole);
    run(input, size, step, &pieces);
    if (whole.count != pieces.count || whole.error_status != pieces.error_status ||
        memcmp(whole.hashes, pieces.hashes, sizeof whole.hashes[0] * (size_t) whole.count) != 0) {
        fprintf(stderr, "whole: %d requests, error %d; in pieces of %zu: %d requests, error %d\n", whole.count,
                whole.error_status, step, pieces.count, pieces.error_status);
        __builtin_trap();
    }
    return 0;
}
