/* sql_builder: turns a @list field's coerced arguments (where, orderBy, limit, offset,
 * @whenTrue flags) into ONE parameterized SELECT over the JSONB documents of its table. */
#ifndef TVSYNC_SERVER_SQL_BUILDER_H
#define TVSYNC_SERVER_SQL_BUILDER_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "server/graphql/graphql.h"
#include "server/schema_map.h"

/* SQL text with $1..$n placeholders and the parameter values as text. No value from a
 * request ever goes into the text: only names from the schema, quoted. */
typedef struct sql_statement {
    gql_buf text;
    char **params;
    int param_count;
    int param_capacity;
} sql_statement;

void sql_statement_init(sql_statement *statement);
void sql_statement_free(sql_statement *statement);
/* Adds a parameter (copied) and returns its number (1-based). */
int sql_statement_add_param(sql_statement *statement, const char *value);

/* Builds `SELECT data::text FROM <table> WHERE ... ORDER BY ..., id LIMIT $a OFFSET $b`.
 * arguments is the field's coerced argument object. limit is capped at max_limit.
 * Returns false with a message for the client in error[] when an argument is out of range
 * (a negative limit or offset, a filter nested too deeply); *out is then unspecified. */
bool sql_build_list(const schema_map_field *field, const cJSON *arguments, int max_limit,
                    sql_statement *out, char *error, size_t error_size);

/* True when text is a UUID PostgreSQL accepts in its canonical or hyphen-less form. */
bool sql_is_uuid(const char *text);

/* Whether text is a value of the key type, so that the lookup's cast cannot fail: uuid
 * as sql_is_uuid; bigint and integer an optionally signed decimal integer (no spaces) in
 * the type's range; text anything. UNKNOWN accepts nothing. */
bool sql_is_key(schema_map_key key, const char *text);

#endif
