/* sql_builder: compiles list arguments into SQL over `data jsonb`: filters become JSONB
 * operators with bound parameters, ordering becomes jsonb ordering with the id as tiebreaker. */
#include <config.h>

#include "server/sql_builder.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/decimal.h"

/* Deeper filters are refused: the GraphQL depth limit already bounds them, this keeps the
 * recursion below bounded by our own number too. */
#define SQL_MAX_FILTER_DEPTH 16
#define SQL_MAX_PATH 8

static void set_error(char *error, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void set_error(char *error, size_t error_size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(error, error_size, format, args);
    va_end(args);
}

void sql_statement_init(sql_statement *statement)
{
    memset(statement, 0, sizeof *statement);
    gql_buf_init(&statement->text);
}

void sql_statement_free(sql_statement *statement)
{
    for (int i = 0; i < statement->param_count; i++)
        free(statement->params[i]);
    free(statement->params);
    gql_buf_free(&statement->text);
    memset(statement, 0, sizeof *statement);
}

int sql_statement_add_param(sql_statement *statement, const char *value)
{
    if (statement->param_count == statement->param_capacity) {
        int capacity = statement->param_capacity ? statement->param_capacity * 2 : 8;
        statement->params = alloc_array(statement->params, (size_t) capacity, sizeof *statement->params);
        statement->param_capacity = capacity;
    }
    statement->params[statement->param_count++] = alloc_strdup(value);
    return statement->param_count;
}

/* Written by the engine's writer, so that numbers keep the digits the client sent. */
static int add_json_param(sql_statement *statement, const cJSON *value)
{
    gql_buf text;
    gql_buf_init(&text);
    gql_buf_json_value(&text, value);
    int number = sql_statement_add_param(statement, text.data);
    gql_buf_free(&text);
    return number;
}

bool sql_is_uuid(const char *text)
{
    size_t length = strlen(text);
    if (length == 32) {
        for (size_t i = 0; i < 32; i++)
            if (!isxdigit((unsigned char) text[i]))
                return false;
        return true;
    }
    if (length != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool hyphen = i == 8 || i == 13 || i == 18 || i == 23;
        if (hyphen ? text[i] != '-' : !isxdigit((unsigned char) text[i]))
            return false;
    }
    return true;
}

/* An optionally signed decimal integer within [-limit - 1, limit]: compared digit by
 * digit, so no value is ever read into a C number (a bigint above 2^53 stays exact). */
/* An optionally signed run of decimal digits whose magnitude is at most
 * positive_limit, or negative_limit after a '-'. */
static bool is_integer_within(const char *text, const char *positive_limit, const char *negative_limit)
{
    bool negative = *text == '-';
    if (*text == '-' || *text == '+')
        text++;
    size_t length = 0;
    for (const char *p = text; *p; p++, length++)
        if (!isdigit((unsigned char) *p))
            return false;
    return length > 0 && decimal_digits_within(text, length, negative ? negative_limit : positive_limit);
}

bool sql_is_key(schema_map_key key, const char *text)
{
    switch (key) {
    case SCHEMA_MAP_KEY_UUID:
        return sql_is_uuid(text);
    case SCHEMA_MAP_KEY_BIGINT:
        return is_integer_within(text, "9223372036854775807", "9223372036854775808");
    case SCHEMA_MAP_KEY_INTEGER:
        return is_integer_within(text, "2147483647", "2147483648");
    case SCHEMA_MAP_KEY_TEXT:
        return true;
    case SCHEMA_MAP_KEY_UNKNOWN:
        break;
    }
    return false;
}

/* A document path from the schema: input field names, which GraphQL restricts to
 * [_A-Za-z][_0-9A-Za-z]*, so they can be written as an SQL text-array literal as they are. */
typedef struct doc_path {
    const char *keys[SQL_MAX_PATH];
    int length;
} doc_path;

static bool is_graphql_name(const char *name)
{
    if (!(isalpha((unsigned char) *name) || *name == '_'))
        return false;
    for (const char *p = name; *p; p++)
        if (!(isalnum((unsigned char) *p) || *p == '_'))
            return false;
    return true;
}

/* (data -> 'a' -> 'b') as jsonb, or (data -> 'a' ->> 'b') as text: the same chained form
 * as the expression indexes of the tv_* tables, so the planner can use them. */
static void append_path(gql_buf *out, const doc_path *path, bool as_text)
{
    gql_buf_puts(out, "(data");
    for (int i = 0; i < path->length; i++)
        gql_buf_printf(out, " %s '%s'", as_text && i == path->length - 1 ? "->>" : "->", path->keys[i]);
    gql_buf_puts(out, ")");
}

/* Strings, IDs and DateTimes (ISO 8601 in UTC, fixed width) compare as text; numbers and
 * booleans as jsonb, which orders numbers by value, exactly (jsonb numbers are numeric).
 * Decimal, the scalar the documentation gives for money, holds numbers in documents. */
static bool is_text_scalar(const gql_type *type)
{
    const char *name = gql_type_named(type)->name;
    return strcmp(name, "Int") != 0 && strcmp(name, "Float") != 0 && strcmp(name, "Decimal") != 0 &&
           strcmp(name, "Boolean") != 0;
}

/* A value compared as jsonb: its JSON text, except that a Decimal sent as a string ("24.50")
 * is taken as the number it spells (PostgreSQL refuses a string that is not one). */
static int add_jsonb_param(sql_statement *statement, const cJSON *value)
{
    if (cJSON_IsString(value))
        return sql_statement_add_param(statement, value->valuestring);
    return add_json_param(statement, value);
}

/* A JSON value as a text parameter: strings as they are, anything else as JSON text. */
static int add_text_param(sql_statement *statement, const cJSON *value)
{
    if (cJSON_IsString(value))
        return sql_statement_add_param(statement, value->valuestring);
    return add_json_param(statement, value);
}

static bool compile_where(sql_statement *statement, const gql_type *type, const cJSON *where,
                          doc_path *path, int depth, char *error, size_t error_size);

static bool is_leaf_filter(const gql_type *type)
{
    for (size_t i = 0; i < type->input_field_count; i++)
        if (strcmp(type->input_fields[i].name, "eq") == 0)
            return true;
    return false;
}

/* One operator of a leaf filter such as {gt: 3}; appends a condition. */
static bool compile_operator(sql_statement *statement, const char *op, const cJSON *value,
                             const doc_path *path, bool text, char *error, size_t error_size)
{
    gql_buf *out = &statement->text;
    if (strcmp(op, "isNull") == 0) {
        if (!cJSON_IsBool(value)) {
            set_error(error, error_size, "isNull must be true or false");
            return false;
        }
        gql_buf_puts(out, "coalesce(jsonb_typeof");
        append_path(out, path, false);
        gql_buf_puts(out, cJSON_IsTrue(value) ? ", 'null') = 'null'" : ", 'null') <> 'null'");
        return true;
    }
    if (cJSON_IsNull(value)) {
        /* An operator given as null constrains nothing (as if it were absent). */
        gql_buf_puts(out, "true");
        return true;
    }
    static const struct { const char *name; const char *sql; } comparisons[] = {
        {"eq", "="}, {"neq", "IS DISTINCT FROM"}, {"gt", ">"}, {"gte", ">="}, {"lt", "<"}, {"lte", "<="},
    };
    for (size_t i = 0; i < sizeof comparisons / sizeof comparisons[0]; i++) {
        if (strcmp(op, comparisons[i].name) == 0) {
            int n = text ? add_text_param(statement, value) : add_jsonb_param(statement, value);
            append_path(out, path, text);
            gql_buf_printf(out, " %s $%d::%s", comparisons[i].sql, n, text ? "text" : "jsonb");
            return true;
        }
    }
    if (strcmp(op, "in") == 0 || strcmp(op, "nin") == 0) {
        if (!cJSON_IsArray(value)) {
            set_error(error, error_size, "%s expects a list", op);
            return false;
        }
        int n = add_json_param(statement, value);
        /* A missing field is "not in" any list of non-null values. */
        gql_buf_puts(out, op[0] == 'n' ? "coalesce(" : "");
        append_path(out, path, text);
        gql_buf_printf(out, " %sIN (SELECT %s($%d::jsonb))", op[0] == 'n' ? "NOT " : "",
                       text ? "jsonb_array_elements_text" : "jsonb_array_elements", n);
        gql_buf_puts(out, op[0] == 'n' ? ", true)" : "");
        return true;
    }
    if (strcmp(op, "contains") == 0 || strcmp(op, "startsWith") == 0) {
        if (!cJSON_IsString(value)) {
            set_error(error, error_size, "%s expects a string", op);
            return false;
        }
        int n = sql_statement_add_param(statement, value->valuestring);
        if (op[0] == 'c') {
            gql_buf_puts(out, "strpos(");
            append_path(out, path, true);
            gql_buf_printf(out, ", $%d::text) > 0", n);
        } else {
            gql_buf_puts(out, "starts_with(");
            append_path(out, path, true);
            gql_buf_printf(out, ", $%d::text)", n);
        }
        return true;
    }
    set_error(error, error_size, "unknown filter operator %s", op);
    return false;
}

static bool compile_leaf(sql_statement *statement, const gql_type *filter_type, const cJSON *filter,
                         const doc_path *path, char *error, size_t error_size)
{
    bool text = true;
    for (size_t i = 0; i < filter_type->input_field_count; i++)
        if (strcmp(filter_type->input_fields[i].name, "eq") == 0)
            text = is_text_scalar(filter_type->input_fields[i].type);
    gql_buf *out = &statement->text;
    bool first = true;
    gql_buf_puts(out, "(");
    for (const cJSON *item = filter->child; item; item = item->next) {
        if (!first)
            gql_buf_puts(out, " AND ");
        first = false;
        if (!compile_operator(statement, item->string, item, path, text, error, error_size))
            return false;
    }
    if (first)
        gql_buf_puts(out, "true");
    gql_buf_puts(out, ")");
    return true;
}

static const gql_input_value *input_field(const gql_type *type, const char *name)
{
    for (size_t i = 0; i < type->input_field_count; i++)
        if (strcmp(type->input_fields[i].name, name) == 0)
            return &type->input_fields[i];
    return NULL;
}

static bool compile_where(sql_statement *statement, const gql_type *type, const cJSON *where,
                          doc_path *path, int depth, char *error, size_t error_size)
{
    gql_buf *out = &statement->text;
    if (depth > SQL_MAX_FILTER_DEPTH) {
        set_error(error, error_size, "where: filters are nested more than %d levels deep", SQL_MAX_FILTER_DEPTH);
        return false;
    }
    if (where == NULL || cJSON_IsNull(where)) {
        gql_buf_puts(out, "true");
        return true;
    }
    if (!cJSON_IsObject(where)) {
        set_error(error, error_size, "where: expected an input object");
        return false;
    }
    bool first = true;
    gql_buf_puts(out, "(");
    for (const cJSON *item = where->child; item; item = item->next) {
        if (!first)
            gql_buf_puts(out, " AND ");
        first = false;
        const char *key = item->string;
        if (strcmp(key, "AND") == 0 || strcmp(key, "OR") == 0) {
            bool is_and = key[0] == 'A';
            const cJSON *list = item;
            cJSON *single = NULL;
            if (!cJSON_IsArray(list)) {
                /* Input coercion turns a single value into a list; be as lenient. */
                single = alloc_check(cJSON_CreateArray());
                cJSON_AddItemToArray(single, cJSON_Duplicate(item, true));
                list = single;
            }
            bool inner_first = true;
            gql_buf_puts(out, "(");
            for (const cJSON *element = list->child; element; element = element->next) {
                if (!inner_first)
                    gql_buf_puts(out, is_and ? " AND " : " OR ");
                inner_first = false;
                if (!compile_where(statement, type, element, path, depth + 1, error, error_size)) {
                    cJSON_Delete(single);
                    return false;
                }
            }
            /* An empty AND holds; an empty OR does not. */
            if (inner_first)
                gql_buf_puts(out, is_and ? "true" : "false");
            gql_buf_puts(out, ")");
            cJSON_Delete(single);
            continue;
        }
        if (strcmp(key, "NOT") == 0) {
            gql_buf_puts(out, "NOT coalesce(");
            if (!compile_where(statement, type, item, path, depth + 1, error, error_size))
                return false;
            gql_buf_puts(out, ", false)");
            continue;
        }
        const gql_input_value *definition = input_field(type, key);
        if (definition == NULL || !is_graphql_name(key)) {
            set_error(error, error_size, "where: unknown field %s", key);
            return false;
        }
        if (cJSON_IsNull(item)) {
            gql_buf_puts(out, "true");
            continue;
        }
        const gql_type *field_type = gql_type_named(definition->type);
        if (path->length >= SQL_MAX_PATH) {
            set_error(error, error_size, "where: document path deeper than %d", SQL_MAX_PATH);
            return false;
        }
        path->keys[path->length++] = key;
        bool ok = field_type->kind == GQL_KIND_INPUT_OBJECT && is_leaf_filter(field_type)
                      ? compile_leaf(statement, field_type, item, path, error, error_size)
                      : field_type->kind == GQL_KIND_INPUT_OBJECT
                            ? compile_where(statement, field_type, item, path, depth + 1, error, error_size)
                            : false;
        path->length--;
        if (!ok) {
            if (field_type->kind != GQL_KIND_INPUT_OBJECT)
                set_error(error, error_size, "where: field %s is not a filter input", key);
            return false;
        }
    }
    if (first)
        gql_buf_puts(out, "true");
    gql_buf_puts(out, ")");
    return true;
}

static bool read_int_argument(const cJSON *arguments, const char *name, long fallback, long *out,
                              char *error, size_t error_size)
{
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(arguments, name);
    if (value == NULL || cJSON_IsNull(value)) {
        *out = fallback;
        return true;
    }
    if (!cJSON_IsNumber(value) || value->valuedouble < 0) {
        set_error(error, error_size, "%s must be a non-negative integer", name);
        return false;
    }
    *out = (long) value->valuedouble;
    return true;
}

static bool append_order(sql_statement *statement, const gql_type *object_type, const cJSON *order_by,
                         char *error, size_t error_size)
{
    gql_buf *out = &statement->text;
    gql_buf_puts(out, " ORDER BY ");
    cJSON *single = NULL;
    if (order_by != NULL && cJSON_IsObject(order_by)) {
        single = alloc_check(cJSON_CreateArray());
        cJSON_AddItemToArray(single, cJSON_Duplicate(order_by, true));
        order_by = single;
    }
    for (const cJSON *item = order_by && cJSON_IsArray(order_by) ? order_by->child : NULL; item; item = item->next) {
        const cJSON *field = cJSON_GetObjectItemCaseSensitive(item, "field");
        const cJSON *direction = cJSON_GetObjectItemCaseSensitive(item, "direction");
        if (!cJSON_IsString(field) || !is_graphql_name(field->valuestring)) {
            set_error(error, error_size, "orderBy: field must be one of the declared fields");
            cJSON_Delete(single);
            return false;
        }
        bool descending = cJSON_IsString(direction) && strcmp(direction->valuestring, "DESC") == 0;
        const gql_field *definition = gql_type_field(object_type, field->valuestring);
        bool text = definition == NULL || is_text_scalar(definition->type);
        gql_buf_printf(out, "(data %s '%s') %s, ", text ? "->>" : "->", field->valuestring,
                       descending ? "DESC" : "ASC");
    }
    cJSON_Delete(single);
    gql_buf_puts(out, "id");
    return true;
}

bool sql_build_list(const schema_map_field *field, const cJSON *arguments, int max_limit,
                    sql_statement *out, char *error, size_t error_size)
{
    long limit, offset;
    long default_limit = max_limit;
    if (!read_int_argument(arguments, "limit", default_limit, &limit, error, error_size) ||
        !read_int_argument(arguments, "offset", 0, &offset, error, error_size))
        return false;
    if (limit > max_limit)
        limit = max_limit;
    gql_buf_printf(&out->text, "SELECT data::text FROM %s WHERE ", field->table->quoted_name);
    const cJSON *where = cJSON_GetObjectItemCaseSensitive(arguments, "where");
    doc_path path = {.length = 0};
    if (field->where_type != NULL) {
        if (!compile_where(out, field->where_type, where, &path, 0, error, error_size))
            return false;
    } else {
        gql_buf_puts(&out->text, "true");
    }
    if (field->when_true_argument != NULL) {
        const cJSON *flag = cJSON_GetObjectItemCaseSensitive(arguments, field->when_true_argument);
        if (cJSON_IsTrue(flag)) {
            /* As text, to match an index on (data ->> 'published'). */
            int n = sql_statement_add_param(out, "true");
            gql_buf_puts(&out->text, " AND ");
            doc_path flag_path = {.keys = {field->when_true_field}, .length = 1};
            append_path(&out->text, &flag_path, true);
            gql_buf_printf(&out->text, " = $%d::text", n);
        }
    }
    if (!append_order(out, field->table->type, cJSON_GetObjectItemCaseSensitive(arguments, "orderBy"), error,
                      error_size))
        return false;
    char number[32];
    snprintf(number, sizeof number, "%ld", limit);
    int limit_param = sql_statement_add_param(out, number);
    snprintf(number, sizeof number, "%ld", offset);
    int offset_param = sql_statement_add_param(out, number);
    gql_buf_printf(&out->text, " LIMIT $%d::bigint OFFSET $%d::bigint", limit_param, offset_param);
    return true;
}
