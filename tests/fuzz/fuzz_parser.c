/* fuzz_parser: libFuzzer target for the GraphQL lexer and parser (server/graphql/gql_parser).
 * Any byte string must either parse or give a located syntax error, never crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/graphql/gql_arena.h"
#include "server/graphql/gql_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small limits as well as the defaults: the limit paths (document size, token count,
 * nesting depth) are error paths a hostile client reaches first. */
static const gql_limits tight_limits = {
    .max_document_bytes = 2048,
    .max_tokens = 300,
    .max_depth = 8,
};

static void parse_once(const char *source, size_t size, const gql_limits *limits)
{
    gql_arena arena;
    gql_parse_error error;

    gql_arena_init(&arena);
    memset(&error, 0, sizeof error);
    ast_document *document = gql_parse(&arena, source, size, limits, &error);
    if (document == NULL) {
        /* The message must be a terminated string and its position inside the source,
         * since both are turned into graphql-js's "locations". */
        size_t message_length = strnlen(error.message, sizeof error.message);
        if (message_length == 0 || message_length == sizeof error.message)
            __builtin_trap();
        if (error.has_pos) {
            if (error.pos > size)
                __builtin_trap();
            gql_location location = gql_source_location(source, size, error.pos);
            if (location.line == 0 || location.column == 0)
                __builtin_trap();
        }
    } else if (document->source != source || document->source_length != size) {
        __builtin_trap();
    }
    gql_arena_free(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy without a terminating NUL, so that reading past the end is caught
     * by AddressSanitizer instead of stopping at a lucky terminator. */
    char *source = gql_xmalloc(size == 0 ? 1 : size);
    memcpy(source, data, size);
    parse_once(source, size, NULL);
    parse_once(source, size, &tight_limits);
    free(source);
    return 0;
}
