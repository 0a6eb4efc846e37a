/* schema_check: reads the catalog for each @table and @sql of a schema (one statement
 * each, on the blocking load connection) and turns a mismatch into one line with the SDL line. */
#include <config.h>

#include "server/schema_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/pg.h"

/* One row: the relation's kind, the types of its id and data columns, whether the role
 * may read both, and the role. Column privileges count: the server reads only those two. */
static const char TABLE_SQL[] =
    "SELECT c.relkind::text, format_type(i.atttypid, NULL), format_type(d.atttypid, NULL), "
    "CASE WHEN i.attnum IS NOT NULL AND d.attnum IS NOT NULL "
    "THEN has_column_privilege(c.oid, i.attnum, 'SELECT') AND has_column_privilege(c.oid, d.attnum, 'SELECT') END, "
    "current_user::text "
    "FROM (SELECT to_regclass($1) AS oid) AS r "
    "LEFT JOIN pg_class c ON c.oid = r.oid "
    "LEFT JOIN pg_attribute i ON i.attrelid = c.oid AND i.attname = 'id' AND i.attnum > 0 AND NOT i.attisdropped "
    "LEFT JOIN pg_attribute d ON d.attrelid = c.oid AND d.attname = 'data' AND d.attnum > 0 AND NOT d.attisdropped";

/* One row: the function's kind, its result type (as PostgreSQL names it, and whether it
 * is JSON or a mutation result), whether it returns a set, whether the role may call it. */
static const char FUNCTION_SQL[] =
    "SELECT p.prokind::text, format_type(p.prorettype, NULL), "
    "p.prorettype IN ('jsonb'::regtype, 'json'::regtype), "
    "p.prorettype IS NOT DISTINCT FROM to_regtype('tvsync.mutation_result'), "
    "p.proretset, has_function_privilege(p.oid, 'EXECUTE'), current_user::text "
    "FROM (SELECT to_regprocedure($1 || '(jsonb)') AS oid) AS r "
    "LEFT JOIN pg_proc p ON p.oid = r.oid";

/* What every mutation statement calls around the field's function. */
static const char FINISH_MUTATION_SQL[] =
    "SELECT p.oid IS NOT NULL, p.oid IS NOT NULL AND has_function_privilege(p.oid, 'EXECUTE'), current_user::text "
    "FROM (SELECT to_regprocedure('tvsync.finish_mutation(tvsync.mutation_result)') AS oid) AS r "
    "LEFT JOIN pg_proc p ON p.oid = r.oid";

typedef struct check_state {
    PGconn *conn;
    const char *path;
    bool check_privileges;
    char *error;
    size_t error_size;
} check_state;

static bool fail(check_state *state, unsigned line, const char *format, ...) __attribute__((format(printf, 3, 4)));
static bool fail(check_state *state, unsigned line, const char *format, ...)
{
    int used = snprintf(state->error, state->error_size, "%s:%u: ", state->path, line);
    if (used < 0 || (size_t) used >= state->error_size)
        return false;
    va_list args;
    va_start(args, format);
    vsnprintf(state->error + used, state->error_size - (size_t) used, format, args);
    va_end(args);
    return false;
}

/* Runs one catalog query with one parameter; NULL after recording the failure. The
 * caller clears the result. */
static PGresult *query_one_row(check_state *state, unsigned line, const char *what, const char *sql,
                               const char *param)
{
    const char *params[] = {param};
    PGresult *result = PQexecParams(state->conn, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1)
        return result;
    char line_text[512];
    fail(state, line, "%s: checking it against the database failed: %s", what,
         pg_error_line(state->conn, result, line_text, sizeof line_text));
    PQclear(result);
    return NULL;
}

static const char *column(const PGresult *result, int index)
{
    return PQgetisnull(result, 0, index) ? NULL : PQgetvalue(result, 0, index);
}

static bool is_true(const PGresult *result, int index)
{
    const char *value = column(result, index);
    return value != NULL && strcmp(value, "t") == 0;
}

static bool check_table(check_state *state, schema_map_table *table)
{
    unsigned line = table->directive->location.line;
    const char *name = gql_directive_string_arg(table->directive, "name");
    char what[400];
    /* An @entity's @table is derived (schema_derive): name what the file says. */
    if (gql_directive_find(table->type->directives, table->type->directive_count, "entity") != NULL)
        snprintf(what, sizeof what, "@entity %s: its read model \"%s\"", table->type->name, name);
    else
        snprintf(what, sizeof what, "@table \"%s\"", name);
    PGresult *result = query_one_row(state, line, what, TABLE_SQL, table->quoted_name);
    if (result == NULL)
        return false;
    const char *kind = column(result, 0);
    const char *id_type = column(result, 1);
    const char *data_type = column(result, 2);
    const char *role = column(result, 4);
    bool ok = false;
    if (kind == NULL)
        fail(state, line, "%s: no such table (create it with a migration, or fix the name)", what);
    else if (strchr("rpvmf", kind[0]) == NULL)
        fail(state, line, "%s: not a table or view (fix the name)", what);
    else if (id_type == NULL)
        fail(state, line, "%s: no column \"id\" (a read model table has id and data columns)", what);
    else if (data_type == NULL)
        fail(state, line, "%s: no column \"data\" (a read model table has id and data columns)", what);
    else if (schema_map_key_of(id_type) == SCHEMA_MAP_KEY_UNKNOWN)
        fail(state, line, "%s: its id column is %s (a key must be uuid, bigint, integer or text: change its type)",
             what, id_type);
    else if (strcmp(data_type, "jsonb") != 0 && strcmp(data_type, "json") != 0)
        fail(state, line, "%s: its data column is %s (documents are jsonb: change its type)", what, data_type);
    else if (state->check_privileges && !is_true(result, 3))
        fail(state, line, "%s: role \"%s\" may not read its id and data columns (GRANT SELECT ON %s TO %s)",
             what, role, name, role);
    else
        ok = true;
    if (ok)
        schema_map_set_key(table, schema_map_key_of(id_type));
    PQclear(result);
    return ok;
}

static bool check_function(check_state *state, const schema_map_field *field)
{
    unsigned line = field->sql_directive->location.line;
    const char *name = gql_directive_string_arg(field->sql_directive, "function");
    bool mutation = field->kind == SCHEMA_MAP_MUTATION;
    char what[300];
    snprintf(what, sizeof what, "%s.%s: @sql function \"%s\"", mutation ? "Mutation" : "Query", field->field->name,
             name);
    PGresult *result = query_one_row(state, line, what, FUNCTION_SQL, field->function_name);
    if (result == NULL)
        return false;
    const char *kind = column(result, 0);
    const char *returns = column(result, 1);
    const char *role = column(result, 6);
    const char *wanted = mutation ? "tvsync.mutation_result" : "jsonb";
    bool ok = false;
    if (kind == NULL)
        fail(state, line, "%s: no function %s(jsonb) (create it with a migration, or fix the name; it is called "
             "with the field's arguments as one jsonb)", what, name);
    else if (kind[0] != 'f')
        fail(state, line, "%s: %s(jsonb) is not a plain function (make it a function returning %s)", what, name,
             wanted);
    else if (is_true(result, 4) || !is_true(result, mutation ? 3 : 2))
        fail(state, line, "%s: returns %s%s (make it return %s)", what, is_true(result, 4) ? "setof " : "", returns,
             wanted);
    else if (state->check_privileges && !is_true(result, 5))
        fail(state, line, "%s: role \"%s\" may not execute it (GRANT EXECUTE ON FUNCTION %s(jsonb) TO %s)", what,
             role, name, role);
    else
        ok = true;
    PQclear(result);
    return ok;
}

/* Mutations run inside tvsync.finish_mutation: an engine that lacks it, or a role that
 * may not call it, fails every mutation. */
static bool check_finish_mutation(check_state *state, const schema_map_field *first_mutation)
{
    unsigned line = first_mutation->sql_directive->location.line;
    char what[200];
    snprintf(what, sizeof what, "Mutation.%s", first_mutation->field->name);
    PGresult *result = query_one_row(state, line, what, FINISH_MUTATION_SQL, NULL);
    if (result == NULL)
        return false;
    bool ok = false;
    if (!is_true(result, 0))
        fail(state, line, "%s: the database has no tvsync.finish_mutation (install the engine: tvsync-migrate up)",
             what);
    else if (state->check_privileges && !is_true(result, 1))
        fail(state, line, "%s: role \"%s\" may not execute tvsync.finish_mutation (GRANT tvsync_app TO %s)", what,
             column(result, 2), column(result, 2));
    else
        ok = true;
    PQclear(result);
    return ok;
}

bool schema_check(schema_map *map, PGconn *conn, const char *path, bool check_privileges, char *error,
                  size_t error_size)
{
    check_state state = {conn, path, check_privileges, error, error_size};
    for (size_t i = 0; i < map->table_count; i++)
        if (!check_table(&state, &map->tables[i]))
            return false;
    const schema_map_field *first_mutation = NULL;
    for (size_t i = 0; i < map->field_count; i++) {
        const schema_map_field *field = &map->fields[i];
        if (field->kind != SCHEMA_MAP_FUNCTION && field->kind != SCHEMA_MAP_MUTATION)
            continue;
        if (field->kind == SCHEMA_MAP_MUTATION && first_mutation == NULL) {
            first_mutation = field;
            if (!check_finish_mutation(&state, field))
                return false;
        }
        if (!check_function(&state, field))
            return false;
    }
    return true;
}
