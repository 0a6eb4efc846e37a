/* decl_model: the read models a GraphQL SDL file declares (@entity, @embedded and the field
 * directives), read from the parsed SDL into plain structs, with each declaration's line. */
#ifndef TVSYNC_DECLARE_DECL_MODEL_H
#define TVSYNC_DECLARE_DECL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/graphql/gql_parser.h"

/* The declaration language (docs/declared-read-models.md is the user's reference):
 *
 *   type Post @entity(source: "tb_post", crud: true) { ... }   one document per source row
 *   type AuthorRef @embedded(source: "tb_user") { ... }          a projection used inside documents
 *
 * source is "table" (schema public) or "schema.table", each part taken as written (no
 * quoting, lower-case identifiers). The entity's name is the type name in snake_case
 * (OrderLine -> order_line) unless @entity(name: "..."); its read model is
 * <schema>.tv_<entity>, its build function <schema>.fn_build_<entity>, both in the source's
 * schema. Fields (each becomes the document key of the same name):
 *   id: ID!                         the source's primary key (one column, any name)
 *   title: String!                  column snake_case(field name)  (createdAt -> created_at)
 *   body: String! @column(name: "content")
 *   author: AuthorRef! @ref(via: "author_id")         FK column of this source -> the type's source
 *   comments: [PostComment!]! @many(via: "post_id", orderBy: "created_at")
 *                                   rows of the type's source whose FK column via points here
 *   tags: [TagRef!]! @many(through: "tb_post_tag", via: "post_id", target: "tag_id")
 *                                   through: association table; via: its FK to this source;
 *                                   target: its FK to the type's source
 *   latest: [PostComment!]! @many(via: "post_id", orderBy: "created_at", last: 50)
 *                                   first: K / last: K keep the first / last K rows in order
 *                                   (bounded embedding; last needs orderBy to be columns)
 *   commentCount: Int! @count(from: "tb_comment", via: "post_id", where: "published")
 *   total: Float @sum(from: "tb_order_line", via: "order_id", column: "amount")   (@min, @max alike)
 *   words: Int! @expr(sql: "array_length(regexp_split_to_array(content, '\\s+'), 1)")
 * where and orderBy are SQL over the other table's columns; @expr is SQL over this row's
 * own columns only. Object types without @entity/@embedded are not read models (Query,
 * Mutation, SyncMetrics, ...) and are ignored here. */

/* The most rows @many(first:/last:) may keep in a document. */
#define DECL_MAX_WINDOW 10000

typedef enum decl_field_kind {
    DECL_FIELD_COLUMN,    /* a column of the type's own source; the key when field is "id" */
    DECL_FIELD_REF,       /* @ref */
    DECL_FIELD_MANY,      /* @many */
    DECL_FIELD_AGGREGATE, /* @count @sum @min @max */
    DECL_FIELD_EXPR,      /* @expr */
} decl_field_kind;

typedef enum decl_aggregate { DECL_COUNT, DECL_SUM, DECL_MIN, DECL_MAX } decl_aggregate;

typedef struct decl_type decl_type;

typedef struct decl_field {
    const char *name;         /* GraphQL field name = document key */
    uint32_t line;            /* 1-based line of the field in the SDL file */
    decl_field_kind kind;
    const char *graphql_type; /* innermost named type: "String", "AuthorRef", ... */
    bool list;                /* [T] */
    bool non_null;            /* outermost ! */
    /* COLUMN: the column (NULL for id without @column: the source's key, decl_table.key);
     * AGGREGATE: column of sum/min/max (NULL for count) */
    const char *column;
    /* REF: FK column of this source; MANY: FK column (of the target's source, or of through)
     * pointing at this source; AGGREGATE: FK column of `from` pointing at this source */
    const char *via;
    const char *through;      /* MANY through: "table" / "schema.table"; else NULL */
    const char *target;       /* MANY through: its FK column to the target's source */
    const char *order_by;     /* MANY: SQL ORDER BY list over the target rows; NULL: by key */
    /* MANY: at most this many rows, the first ones in order or, with window_last, the last
     * ones (still listed in order); 0: every row */
    uint32_t window;
    bool window_last;
    const char *from;         /* AGGREGATE: the aggregated table */
    const char *where;        /* AGGREGATE: SQL predicate over `from`'s rows, or NULL */
    decl_aggregate aggregate; /* AGGREGATE */
    const char *sql;          /* EXPR */
    const decl_type *target_type; /* REF, MANY: the @entity/@embedded type named */
} decl_field;

struct decl_type {
    const char *name;         /* GraphQL type name */
    uint32_t line;
    bool entity;              /* @entity; false: @embedded */
    const char *entity_name;  /* @entity: snake_case name or @entity(name:) ; @embedded: NULL */
    const char *source_schema;/* "public" unless source was qualified */
    const char *source_table;
    bool crud;                /* @entity(crud: true) */
    decl_field *fields;
    size_t field_count;
};

typedef struct decl_model {
    const char *path;         /* the SDL file as given (for messages) */
    decl_type *types;         /* @entity and @embedded types, in file order */
    size_t type_count;
} decl_model;

/* The SDL definitions of the declaration directives, for a schema that uses them without
 * declaring them (tvsync-server prepends what the file does not declare). */
extern const char decl_directives_sdl[];

/* Reads the declarations of doc (parsed from the file at path) into a model allocated in
 * arena (freed with it). Checks what needs no database: directive arguments present and of
 * the right kind, one of @entity/@embedded per type, field directives only on their
 * types, @ref/@many naming an @entity/@embedded type, an `id: ID!` field on every type,
 * @many on list fields only, @ref on non-lists. Returns NULL with ONE line in error[]
 * "<path>:<line>: <what is wrong> (<what to do>)" on the first problem. A document without
 * declarations gives a model with type_count 0. */
decl_model *decl_model_read(gql_arena *arena, const ast_document *doc, const char *path,
                            char *error, size_t error_size);

/* One item of an orderBy list (length bytes at item): "column [ASC|DESC] [NULLS FIRST|LAST]",
 * blanks between words, case-insensitive keywords, a lower-case column. Writes the column,
 * whether descending, and where NULLs go (PostgreSQL's default: first when descending).
 * False when the item is not of that form. */
#define DECL_MAX_ORDER_COLUMN 64
bool decl_model_order_item(const char *item, size_t length, char column[DECL_MAX_ORDER_COLUMN], bool *desc,
                           bool *nulls_first);

/* The model's type of that name, or NULL. */
const decl_type *decl_model_type(const decl_model *model, const char *name);

/* The entity types' entity names; "post" for Post. Writes snake_case of name into out. */
void decl_snake_case(const char *name, char *out, size_t out_size);

#endif
