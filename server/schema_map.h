/* schema_map: what each root field of the SDL means for the database, read from its
 * directives (@table, @lookup, @list, @sql, @whenTrue) and checked once when a schema loads. */
#ifndef TVSYNC_SERVER_SCHEMA_MAP_H
#define TVSYNC_SERVER_SCHEMA_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "server/graphql/graphql.h"

typedef enum schema_map_kind {
    SCHEMA_MAP_LOOKUP,    /* Query field @lookup: one row of the type's table by `id` */
    SCHEMA_MAP_LIST,      /* Query field @list: rows with where/orderBy/limit/offset */
    SCHEMA_MAP_FUNCTION,  /* Query field @sql: SELECT function(args jsonb) -> jsonb */
    SCHEMA_MAP_MUTATION,  /* Mutation field @sql: tvsync.finish_mutation(function(args jsonb)) */
} schema_map_kind;

/* The type of a table's `id` column: what an ID argument must look like and what the
 * lookup casts it to. UNKNOWN until schema_check has read it from the database. */
typedef enum schema_map_key {
    SCHEMA_MAP_KEY_UNKNOWN,
    SCHEMA_MAP_KEY_UUID,
    SCHEMA_MAP_KEY_BIGINT,
    SCHEMA_MAP_KEY_INTEGER,
    SCHEMA_MAP_KEY_TEXT,
} schema_map_key;

/* A @table type: its quoted table name and the prepared lookup statement for it. */
typedef struct schema_map_table {
    const gql_type *type;
    const gql_directive_use *directive; /* its @table, for the SDL line in messages */
    char *quoted_name;       /* "tv_post" or "blog"."tv_post", quoted as an SQL identifier */
    schema_map_key key;
    char *lookup_sql;        /* SELECT data::text FROM <table> WHERE id = $1::<key type>;
                                NULL while the key type is unknown */
    char statement_name[32]; /* prepared statement name, unique within the schema */
} schema_map_table;

typedef struct schema_map_field {
    const gql_field *field;
    schema_map_kind kind;
    const schema_map_table *table;  /* LOOKUP, LIST; MUTATION when it returns a @table type */
    const gql_directive_use *sql_directive; /* FUNCTION, MUTATION: its @sql */
    char *function_name;            /* FUNCTION, MUTATION: quoted, as it goes into SQL */
    char *function_sql;             /* FUNCTION: SELECT <quoted function>($1::jsonb)::text;
                                       MUTATION: SELECT status, message, entity, id::text,
                                       publish_lsn::text FROM
                                       tvsync.finish_mutation(<quoted function>($1::jsonb)) */
    char statement_name[32];        /* FUNCTION, MUTATION: prepared statement name */
    const char *when_true_argument; /* LIST: Boolean argument with @whenTrue, or NULL */
    const char *when_true_field;    /* its document field */
    const gql_type *where_type;     /* LIST: input type of `where`, or NULL */
} schema_map_field;

typedef struct schema_map {
    schema_map_table *tables;
    size_t table_count;
    schema_map_field *fields;       /* Query fields, then Mutation fields */
    size_t field_count;
} schema_map;

/* Reads the directives of every Query and Mutation field of schema. Every Query field
 * needs @lookup, @list or @sql and every Mutation field @sql; @lookup and @list need a
 * return type with @table. On error returns NULL with a message naming the field in
 * error[]. The map points into schema (keep the schema alive); free with schema_map_free. */
schema_map *schema_map_new(const gql_schema *schema, char *error, size_t error_size);
void schema_map_free(schema_map *map);

/* Records a table's key type (read from the database by schema_check) and builds its
 * lookup statement for it. */
void schema_map_set_key(schema_map_table *table, schema_map_key key);

/* The key type's name as PostgreSQL spells it ("uuid", "bigint", ...); "unknown". */
const char *schema_map_key_name(schema_map_key key);

/* The key type a PostgreSQL type name (regtype text) names; SCHEMA_MAP_KEY_UNKNOWN for
 * any type tvsync does not key on. The inverse of schema_map_key_name. */
schema_map_key schema_map_key_of(const char *type_name);

/* The mapping of a root field definition; NULL when the field is not mapped
 * (introspection fields). */
const schema_map_field *schema_map_find(const schema_map *map, const gql_field *field);

/* Quotes an SQL identifier the way PQescapeIdentifier does for a UTF-8 client encoding
 * ("a""b"); "schema.name" is quoted part by part. NULL when the text is empty or has an
 * empty part. Caller frees. The schema loads before any connection exists, which is why
 * this does not call libpq. */
char *schema_map_quote_qualified(const char *name);

#endif
