/* decl_catalog: what the database says of the tables a model names (columns, key, foreign
 * keys, constraints), read in one round trip, and the checks of the model against it. */
#ifndef TVSYNC_DECLARE_DECL_CATALOG_H
#define TVSYNC_DECLARE_DECL_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "declare/decl_model.h"

typedef struct decl_column {
    char *name;
    char *type;          /* format_type(): "uuid", "text", "numeric(12,2)", "timestamp with time zone" */
    bool not_null;
    bool has_default;    /* DEFAULT, identity or generated */
    bool other_collation; /* a collation other than the database's default (text orders otherwise) */
} decl_column;

typedef struct decl_foreign_key {
    char *name;          /* constraint name */
    char *column;        /* single-column FKs only; multi-column FKs are not listed */
    char *ref_schema, *ref_table, *ref_column;
} decl_foreign_key;

typedef struct decl_unique {
    char *name;          /* constraint or unique index name */
    char **columns;      /* NULL-terminated */
} decl_unique;

typedef struct decl_check_constraint {
    char *name;
    char *definition;    /* pg_get_constraintdef */
} decl_check_constraint;

typedef struct decl_table {
    char *schema, *name;
    decl_column *columns;
    size_t column_count;
    char *key;           /* the one primary key column; NULL when the key is not one column */
    char *key_type;      /* "uuid", "bigint", "integer", "text"; NULL for others */
    decl_foreign_key *foreign_keys;
    size_t foreign_key_count;
    decl_unique *uniques;
    size_t unique_count;
    decl_check_constraint *checks;
    size_t check_count;
} decl_table;

typedef struct decl_catalog {
    decl_table *tables;
    size_t table_count;
} decl_catalog;

/* Reads every table the model names (sources, through, from) that exists. Returns NULL
 * with "<what failed>: <libpq error>" in error[] when a statement fails; a missing table
 * is not an error here (decl_catalog_check reports it with its line). Free with
 * decl_catalog_free. */
decl_catalog *decl_catalog_load(PGconn *conn, const decl_model *model, char *error, size_t error_size);
void decl_catalog_free(decl_catalog *catalog);

/* The table, or NULL. */
const decl_table *decl_catalog_table(const decl_catalog *catalog, const char *schema, const char *name);
const decl_column *decl_table_column(const decl_table *table, const char *name);
/* The FK of table on column that references (ref_schema, ref_table), or NULL. */
const decl_foreign_key *decl_table_foreign_key(const decl_table *table, const char *column,
                                               const char *ref_schema, const char *ref_table);

/* Checks model against catalog: every table and column named exists; every source has a
 * one-column primary key of type uuid, bigint, integer or text; a @ref's via is a FK of
 * this source to the target's source; a @many's via a FK of the target's source (or of
 * through) to this source, target a FK of through to the target's source; an
 * aggregate's via a FK of from to this source; an @embedded type has its source's key as
 * `id`; entities' names are unique; the entities' embedding has no cycle the engine
 * cannot order (a type embedding itself through @ref/@many). Returns false with ONE line
 * "<path>:<line>: <what is wrong> (<what to do>)" for the first problem. */
bool decl_catalog_check(const decl_model *model, const decl_catalog *catalog, char *error, size_t error_size);

#endif
