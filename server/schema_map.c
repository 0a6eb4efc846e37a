/* schema_map: reads the SDL directives that tie GraphQL fields to tables and SQL functions,
 * so that adding a type or a mutation to the SDL needs no C change (DESIGN.md invariant 5). */
#include <config.h>

#include "server/schema_map.h"

#include "common/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void set_error(char *error, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void set_error(char *error, size_t error_size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(error, error_size, format, args);
    va_end(args);
}

char *schema_map_quote_qualified(const char *name)
{
    size_t length = strlen(name);
    if (length == 0)
        return NULL;
    /* Worst case: every byte a quote (doubled), plus quotes around each part. */
    char *out = alloc_calloc(length * 2 + 3 * (length + 1) + 1, 1);
    char *cursor = out;
    const char *part = name;
    for (;;) {
        const char *dot = strchr(part, '.');
        size_t part_length = dot ? (size_t) (dot - part) : strlen(part);
        if (part_length == 0) {
            free(out);
            return NULL;
        }
        *cursor++ = '"';
        for (size_t i = 0; i < part_length; i++) {
            if (part[i] == '"')
                *cursor++ = '"';
            *cursor++ = part[i];
        }
        *cursor++ = '"';
        if (dot == NULL)
            break;
        *cursor++ = '.';
        part = dot + 1;
    }
    *cursor = '\0';
    return out;
}

const char *schema_map_key_name(schema_map_key key)
{
    switch (key) {
    case SCHEMA_MAP_KEY_UUID:
        return "uuid";
    case SCHEMA_MAP_KEY_BIGINT:
        return "bigint";
    case SCHEMA_MAP_KEY_INTEGER:
        return "integer";
    case SCHEMA_MAP_KEY_TEXT:
        return "text";
    case SCHEMA_MAP_KEY_UNKNOWN:
        break;
    }
    return "unknown";
}

schema_map_key schema_map_key_of(const char *type_name)
{
    static const schema_map_key keys[] = {SCHEMA_MAP_KEY_UUID, SCHEMA_MAP_KEY_BIGINT, SCHEMA_MAP_KEY_INTEGER,
                                          SCHEMA_MAP_KEY_TEXT};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(type_name, schema_map_key_name(keys[i])) == 0)
            return keys[i];
    return SCHEMA_MAP_KEY_UNKNOWN;
}

void schema_map_set_key(schema_map_table *table, schema_map_key key)
{
    free(table->lookup_sql);
    table->lookup_sql = NULL;
    table->key = key;
    if (key == SCHEMA_MAP_KEY_UNKNOWN)
        return;
    /* The cast to the column's own type keeps the lookup on the primary key's index. */
    size_t sql_size = strlen(table->quoted_name) + 64;
    table->lookup_sql = alloc_calloc(sql_size, 1);
    snprintf(table->lookup_sql, sql_size, "SELECT data::text FROM %s WHERE id = $1::%s", table->quoted_name,
             schema_map_key_name(key));
}

static const schema_map_table *table_of(const schema_map *map, const gql_type *type)
{
    for (size_t i = 0; i < map->table_count; i++)
        if (map->tables[i].type == type)
            return &map->tables[i];
    return NULL;
}

static bool add_tables(schema_map *map, const gql_schema *schema, char *error, size_t error_size)
{
    size_t type_count = gql_schema_type_count(schema);
    map->tables = alloc_calloc(type_count, sizeof *map->tables);
    for (size_t i = 0; i < type_count; i++) {
        const gql_type *type = gql_schema_type_at(schema, i);
        const gql_directive_use *use = gql_directive_find(type->directives, type->directive_count, "table");
        if (use == NULL)
            continue;
        if (type->kind != GQL_KIND_OBJECT) {
            set_error(error, error_size, "type %s: @table applies to object types only", type->name);
            return false;
        }
        const char *name = gql_directive_string_arg(use, "name");
        char *quoted = name ? schema_map_quote_qualified(name) : NULL;
        if (quoted == NULL) {
            set_error(error, error_size, "type %s: @table needs a non-empty name, e.g. @table(name: \"tv_post\")",
                      type->name);
            return false;
        }
        schema_map_table *table = &map->tables[map->table_count];
        table->type = type;
        table->directive = use;
        table->quoted_name = quoted;
        snprintf(table->statement_name, sizeof table->statement_name, "tvsync_lookup_%zu", map->table_count);
        map->table_count++;
    }
    return true;
}

/* The object type at the core of a field's type: Post for Post, Post!, [Post!]!. */
static const gql_type *core_object(const gql_type *type, bool *is_list)
{
    *is_list = false;
    while (type->kind == GQL_KIND_NON_NULL || type->kind == GQL_KIND_LIST) {
        if (type->kind == GQL_KIND_LIST)
            *is_list = true;
        type = type->of_type;
    }
    return type;
}

static bool map_query_field(schema_map *map, const gql_field *field, schema_map_field *out,
                            char *error, size_t error_size)
{
    bool is_list;
    const gql_type *core = core_object(field->type, &is_list);
    const gql_directive_use *lookup = gql_directive_find(field->directives, field->directive_count, "lookup");
    const gql_directive_use *list = gql_directive_find(field->directives, field->directive_count, "list");
    const gql_directive_use *sql = gql_directive_find(field->directives, field->directive_count, "sql");
    out->field = field;
    if ((lookup != NULL) + (list != NULL) + (sql != NULL) != 1) {
        set_error(error, error_size,
                  "Query.%s needs exactly one of @lookup, @list or @sql(function: ...)", field->name);
        return false;
    }
    if (sql != NULL) {
        const char *function = gql_directive_string_arg(sql, "function");
        char *quoted = function ? schema_map_quote_qualified(function) : NULL;
        if (quoted == NULL) {
            set_error(error, error_size, "Query.%s: @sql needs a function name", field->name);
            return false;
        }
        out->kind = SCHEMA_MAP_FUNCTION;
        out->sql_directive = sql;
        out->function_name = quoted;
        size_t sql_size = strlen(quoted) + 48;
        out->function_sql = alloc_calloc(sql_size, 1);
        snprintf(out->function_sql, sql_size, "SELECT %s($1::jsonb)::text", quoted);
        snprintf(out->statement_name, sizeof out->statement_name, "tvsync_function_%zu", map->field_count);
        return true;
    }
    out->table = table_of(map, core);
    if (out->table == NULL) {
        set_error(error, error_size, "Query.%s: its type %s has no @table(name: ...) directive",
                  field->name, core->name);
        return false;
    }
    if (lookup != NULL) {
        const gql_input_value *id = gql_field_argument(field, "id");
        if (is_list || id == NULL) {
            set_error(error, error_size, "Query.%s: @lookup needs an `id` argument and a single object type",
                      field->name);
            return false;
        }
        out->kind = SCHEMA_MAP_LOOKUP;
        return true;
    }
    if (!is_list) {
        set_error(error, error_size, "Query.%s: @list needs a list type such as [%s!]!", field->name, core->name);
        return false;
    }
    out->kind = SCHEMA_MAP_LIST;
    const gql_input_value *where = gql_field_argument(field, "where");
    if (where != NULL) {
        const gql_type *where_type = gql_type_named(where->type);
        if (where_type->kind != GQL_KIND_INPUT_OBJECT) {
            set_error(error, error_size, "Query.%s: `where` must be an input object type", field->name);
            return false;
        }
        out->where_type = where_type;
    }
    for (size_t i = 0; i < field->argument_count; i++) {
        const gql_input_value *argument = &field->arguments[i];
        const gql_directive_use *when = gql_directive_find(argument->directives, argument->directive_count, "whenTrue");
        if (when == NULL)
            continue;
        const char *document_field = gql_directive_string_arg(when, "field");
        if (document_field == NULL || *document_field == '\0' ||
            strcmp(gql_type_named(argument->type)->name, "Boolean") != 0) {
            set_error(error, error_size, "Query.%s(%s:): @whenTrue needs a Boolean argument and a field name",
                      field->name, argument->name);
            return false;
        }
        out->when_true_argument = argument->name;
        out->when_true_field = document_field;
    }
    return true;
}

static bool map_mutation_field(schema_map *map, const gql_field *field, schema_map_field *out,
                               char *error, size_t error_size)
{
    bool is_list;
    const gql_directive_use *sql = gql_directive_find(field->directives, field->directive_count, "sql");
    const char *function = sql ? gql_directive_string_arg(sql, "function") : NULL;
    out->field = field;
    out->kind = SCHEMA_MAP_MUTATION;
    if (function == NULL || *function == '\0') {
        set_error(error, error_size, "Mutation.%s needs @sql(function: \"schema.function\")", field->name);
        return false;
    }
    const gql_type *core = core_object(field->type, &is_list);
    if (is_list) {
        set_error(error, error_size, "Mutation.%s: a mutation returns one object or an ID, not a list", field->name);
        return false;
    }
    if (core->kind == GQL_KIND_OBJECT) {
        out->table = table_of(map, core);
        if (out->table == NULL) {
            set_error(error, error_size, "Mutation.%s: its type %s has no @table(name: ...) directive",
                      field->name, core->name);
            return false;
        }
    } else if (core->kind != GQL_KIND_SCALAR) {
        set_error(error, error_size, "Mutation.%s: returns an object with @table or a scalar (the id)", field->name);
        return false;
    }
    char *quoted = schema_map_quote_qualified(function);
    if (quoted == NULL) {
        set_error(error, error_size, "Mutation.%s: @sql needs a function name such as \"blog.create_post\"",
                  field->name);
        return false;
    }
    out->sql_directive = sql;
    out->function_name = quoted;
    size_t sql_size = strlen(quoted) + 128;
    out->function_sql = alloc_calloc(sql_size, 1);
    snprintf(out->function_sql, sql_size,
             "SELECT status, message, entity, id::text, publish_lsn::text FROM tvsync.finish_mutation(%s($1::jsonb))",
             quoted);
    snprintf(out->statement_name, sizeof out->statement_name, "tvsync_mutation_%zu", map->field_count);
    return true;
}

schema_map *schema_map_new(const gql_schema *schema, char *error, size_t error_size)
{
    schema_map *map = alloc_calloc(1, sizeof *map);
    const gql_type *query = gql_schema_query_type(schema);
    const gql_type *mutation = gql_schema_mutation_type(schema);
    size_t capacity = (query ? query->field_count : 0) + (mutation ? mutation->field_count : 0);
    map->fields = alloc_calloc(capacity, sizeof *map->fields);
    if (!add_tables(map, schema, error, error_size))
        goto fail;
    for (size_t i = 0; query && i < query->field_count; i++) {
        if (!map_query_field(map, &query->fields[i], &map->fields[map->field_count], error, error_size))
            goto fail;
        map->field_count++;
    }
    for (size_t i = 0; mutation && i < mutation->field_count; i++) {
        if (!map_mutation_field(map, &mutation->fields[i], &map->fields[map->field_count], error, error_size))
            goto fail;
        map->field_count++;
    }
    return map;
fail:
    /* The failing entry may hold allocations too. */
    map->field_count = capacity;
    schema_map_free(map);
    return NULL;
}

void schema_map_free(schema_map *map)
{
    if (map == NULL)
        return;
    for (size_t i = 0; i < map->table_count; i++) {
        free(map->tables[i].quoted_name);
        free(map->tables[i].lookup_sql);
    }
    for (size_t i = 0; i < map->field_count; i++) {
        free(map->fields[i].function_sql);
        free(map->fields[i].function_name);
    }
    free(map->tables);
    free(map->fields);
    free(map);
}

const schema_map_field *schema_map_find(const schema_map *map, const gql_field *field)
{
    for (size_t i = 0; i < map->field_count; i++)
        if (map->fields[i].field == field)
            return &map->fields[i];
    return NULL;
}
