/* gql_lexer: the GraphQL lexer (tokens, strings and block strings, numbers, UTF-8) and the
 * parser state it shares with gql_parser.c; private to gql_lexer.c and gql_parser.c. */
#ifndef TVSYNC_GQL_LEXER_H
#define TVSYNC_GQL_LEXER_H

#include "server/graphql/gql_parser.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Fails the parse: writes "Syntax Error: " and the message into p->error with pos, then
 * longjmps to p->fail. */
_Noreturn void gql_parse_fail(parser *p, uint32_t pos, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Reads the next non-comment token starting at byte offset pos into p->tok; strings are
 * decoded into p->arena. Fails the parse on a lexical error. */
void gql_lex_from(parser *p, size_t pos);

/* Consumes the current token, within the document's token limit. */
static inline void advance(parser *p)
{
    gql_lex_from(p, p->tok.end);
    if (p->tok.kind != TOK_EOF && ++p->token_count > p->max_tokens)
        gql_parse_fail(p, p->tok.start, "Document contains more than %zu tokens. Parsing aborted.",
                       p->max_tokens);
}

/* Peeks at the token after the current one without consuming anything. */
static inline token lookahead(parser *p)
{
    token saved = p->tok;
    gql_lex_from(p, p->tok.end);
    token next = p->tok;
    p->tok = saved;
    return next;
}

#endif
