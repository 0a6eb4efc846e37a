/* gql_parser: lexer and parser for GraphQL documents (executable and SDL) into an arena AST,
 * with graphql-js's syntax error wording and its line/column counting. */
#ifndef TVSYNC_GQL_PARSER_H
#define TVSYNC_GQL_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/graphql/graphql.h"
#include "server/graphql/gql_arena.h"

/* Every node carries `pos`, the byte offset in the source of its first token. */

typedef enum ast_value_kind {
    AST_VALUE_VARIABLE,
    AST_VALUE_INT,
    AST_VALUE_FLOAT,
    AST_VALUE_STRING,
    AST_VALUE_BOOLEAN,
    AST_VALUE_NULL,
    AST_VALUE_ENUM,
    AST_VALUE_LIST,
    AST_VALUE_OBJECT,
} ast_value_kind;

typedef struct ast_value ast_value;

typedef struct ast_object_field {
    const char *name;
    ast_value *value;
    uint32_t pos;
} ast_object_field;

struct ast_value {
    ast_value_kind kind;
    uint32_t pos;
    const char *text;   /* variable name, Int/Float source text, string value, enum name */
    size_t text_length; /* strings may hold NUL bytes */
    bool boolean;
    bool block;         /* block string */
    ast_value **items;  /* LIST */
    ast_object_field *fields; /* OBJECT */
    size_t count;
};

typedef struct ast_argument {
    const char *name;
    ast_value *value;
    uint32_t pos;
} ast_argument;

typedef struct ast_directive {
    const char *name;
    ast_argument *arguments;
    size_t argument_count;
    uint32_t pos;
} ast_directive;

typedef enum ast_type_kind { AST_TYPE_NAMED, AST_TYPE_LIST, AST_TYPE_NON_NULL } ast_type_kind;

typedef struct ast_type {
    ast_type_kind kind;
    const char *name; /* NAMED */
    struct ast_type *inner;
    uint32_t pos;
} ast_type;

typedef enum ast_selection_kind {
    AST_SELECTION_FIELD,
    AST_SELECTION_FRAGMENT_SPREAD,
    AST_SELECTION_INLINE_FRAGMENT,
} ast_selection_kind;

typedef struct ast_selection_set ast_selection_set;

typedef struct ast_selection {
    ast_selection_kind kind;
    uint32_t pos;
    const char *alias;          /* FIELD, NULL when none */
    const char *name;           /* FIELD name, FRAGMENT_SPREAD fragment name */
    uint32_t name_pos;          /* of the name (FRAGMENT_SPREAD: after "...") */
    ast_argument *arguments;    /* FIELD */
    size_t argument_count;
    ast_directive *directives;
    size_t directive_count;
    const char *type_condition; /* INLINE_FRAGMENT, NULL when none */
    uint32_t type_condition_pos;
    ast_selection_set *selection_set; /* FIELD (may be NULL), INLINE_FRAGMENT */
} ast_selection;

struct ast_selection_set {
    ast_selection **items;
    size_t count;
    uint32_t pos;
};

typedef struct ast_variable_definition {
    const char *name;
    uint32_t pos;          /* of the definition (= of the variable) */
    uint32_t name_pos;     /* of the name after "$" */
    ast_type *type;
    ast_value *default_value;
    ast_directive *directives;
    size_t directive_count;
} ast_variable_definition;

typedef struct ast_input_value_def {
    const char *description;
    const char *name;
    ast_type *type;
    ast_value *default_value;
    ast_directive *directives;
    size_t directive_count;
    uint32_t pos;
    uint32_t name_pos;
} ast_input_value_def;

typedef struct ast_field_def {
    const char *description;
    const char *name;
    ast_input_value_def *arguments;
    size_t argument_count;
    ast_type *type;
    ast_directive *directives;
    size_t directive_count;
    uint32_t pos;
    uint32_t name_pos;
} ast_field_def;

typedef struct ast_enum_value_def {
    const char *description;
    const char *name;
    ast_directive *directives;
    size_t directive_count;
    uint32_t pos;
    uint32_t name_pos;
} ast_enum_value_def;

typedef struct ast_named_ref {
    const char *name;
    uint32_t pos;
} ast_named_ref;

typedef enum ast_definition_kind {
    AST_DEF_OPERATION,
    AST_DEF_FRAGMENT,
    AST_DEF_SCHEMA,
    AST_DEF_SCALAR,
    AST_DEF_OBJECT,
    AST_DEF_INTERFACE,
    AST_DEF_UNION,
    AST_DEF_ENUM,
    AST_DEF_INPUT_OBJECT,
    AST_DEF_DIRECTIVE,
} ast_definition_kind;

typedef struct ast_definition {
    ast_definition_kind kind;
    bool extension;       /* `extend ...` */
    uint32_t pos;
    uint32_t name_pos;
    const char *description;
    const char *name;     /* NULL for anonymous operations and schema definitions */
    /* OPERATION */
    gql_operation_type operation;
    ast_variable_definition *variables;
    size_t variable_count;
    /* FRAGMENT */
    const char *type_condition;
    uint32_t type_condition_pos;
    /* OPERATION, FRAGMENT */
    ast_selection_set *selection_set;
    /* all */
    ast_directive *directives;
    size_t directive_count;
    /* OBJECT, INTERFACE: implemented interfaces; UNION: members; SCHEMA: root types with
     * root_operations[i] saying which */
    ast_named_ref *types;
    size_t type_count;
    gql_operation_type *root_operations;
    /* OBJECT, INTERFACE */
    ast_field_def *fields;
    size_t field_count;
    /* INPUT_OBJECT fields, DIRECTIVE arguments */
    ast_input_value_def *input_values;
    size_t input_value_count;
    /* ENUM */
    ast_enum_value_def *enum_values;
    size_t enum_value_count;
    /* DIRECTIVE */
    unsigned locations;
    unsigned *location_order;
    size_t location_count;
    bool repeatable;
} ast_definition;

typedef struct ast_document {
    ast_definition **definitions;
    size_t count;
    const char *source; /* not owned */
    size_t source_length;
    size_t token_count;
} ast_document;

typedef struct gql_parse_error {
    char message[4096]; /* U+0000 inside quoted tokens is written as C0 80 */
    uint32_t pos;
    bool has_pos;
} gql_parse_error;

/* Parses `source` into `arena`. Returns NULL and fills *error on a syntax error or a limit
 * exceeded (limits NULL = defaults). The document points into `source`, which must outlive it. */
ast_document *gql_parse(gql_arena *arena, const char *source, size_t length,
                        const gql_limits *limits, gql_parse_error *error);

/* The directive of that name among directives (the first when repeated), or NULL. */
const ast_directive *gql_ast_directive(const ast_directive *directives, size_t count, const char *name);
/* The argument of that name of directive, or NULL. */
const ast_argument *gql_ast_argument(const ast_directive *directive, const char *name);

/* Line and column (UTF-16 code units, as graphql-js) of byte offset `pos` in `source`. */
gql_location gql_source_location(const char *source, size_t length, uint32_t pos);

/* Column marks let a location be found in time bounded by GQL_COLUMN_MARK_BYTES however long
 * its line is (a one-line document of many fields would otherwise cost its length per field). */
#define GQL_COLUMN_MARK_BYTES 256u
typedef struct gql_column_mark {
    uint32_t offset; /* the first character starting at or after the block's first byte */
    uint32_t column; /* its column on its line (UTF-16 code units from 1) */
} gql_column_mark;
/* How many marks gql_column_marks writes for a source of `length` bytes. */
static inline size_t gql_column_mark_count(size_t length)
{
    return length / GQL_COLUMN_MARK_BYTES + 1;
}
/* Fills marks[0 .. gql_column_mark_count(length)) for source, in one pass over it. */
void gql_column_marks(const char *source, size_t length, gql_column_mark *marks);

/* Name of a directive location bit ("FIELD_DEFINITION"); "" when not one bit. */
const char *gql_directive_location_name(unsigned location);

#endif
