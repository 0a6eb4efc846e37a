/* decl_crud: the CRUD functions of the @entity(crud: true) types (create, update, delete,
 * link/unlink per @many(through:)), as PL/pgSQL over the engine's mutation helpers (042). */
#include "declare/decl_sql.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/strbuf.h"
#include "declare/decl_cascade.h"

/* A value the client may write: a COLUMN field (title) or a @ref field's key (authorId). */
typedef struct crud_input {
    char *name;                 /* the GraphQL input field */
    char *variable;             /* the PL/pgSQL variable holding the cast value */
    const decl_column *column;
    const char *noun;           /* a @ref's or FK's target, for "no such <noun>" */
    const decl_foreign_key *foreign_key;
} crud_input;

typedef struct crud_entity {
    const decl_model *model;
    const decl_catalog *catalog;
    const decl_type *type;
    const decl_table *table;
    const decl_column *key;
    const char *name;           /* the entity */
    char *qualified_table;      /* quoted schema.table */
    crud_input *inputs;
    size_t input_count;
} crud_entity;

/* The engine's entity catalog check guarantees these; anything else is not generated. */
static const char *const supported_key_types[] = {"uuid", "bigint", "integer", "text"};

/* Reserved words PostgreSQL does not take as column names unquoted. */
static const char *const reserved_words[] = {
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization",
    "binary", "both", "case", "cast", "check", "collate", "collation", "column", "concurrently",
    "constraint", "create", "cross", "current_catalog", "current_date", "current_role",
    "current_schema", "current_time", "current_timestamp", "current_user", "default", "deferrable",
    "desc", "distinct", "do", "else", "end", "except", "false", "fetch", "for", "foreign", "freeze",
    "from", "full", "grant", "group", "having", "ilike", "in", "initially", "inner", "intersect",
    "into", "is", "isnull", "join", "lateral", "leading", "left", "like", "limit", "localtime",
    "localtimestamp", "natural", "not", "notnull", "null", "offset", "on", "only", "or", "order",
    "outer", "overlaps", "placing", "primary", "references", "returning", "right", "select",
    "session_user", "similar", "some", "symmetric", "table", "tablesample", "then", "to", "trailing",
    "true", "union", "unique", "user", "using", "variadic", "verbose", "when", "where", "window", "with",
};

static bool is_plain_identifier(const char *name)
{
    if (!name[0] || !(islower((unsigned char) name[0]) || name[0] == '_'))
        return false;
    for (const char *c = name; *c; c++)
        if (!(islower((unsigned char) *c) || isdigit((unsigned char) *c) || *c == '_' || *c == '$'))
            return false;
    for (size_t i = 0; i < sizeof reserved_words / sizeof reserved_words[0]; i++)
        if (strcmp(name, reserved_words[i]) == 0)
            return false;
    return true;
}

/* Appends name as an SQL identifier, quoted only where it must be (readable output). */
static void append_identifier(strbuf *sql, const char *name)
{
    if (is_plain_identifier(name)) {
        strbuf_append(sql, name);
        return;
    }
    strbuf_append_char(sql, '"');
    for (const char *c = name; *c; c++) {
        if (*c == '"')
            strbuf_append_char(sql, '"');
        strbuf_append_char(sql, *c);
    }
    strbuf_append_char(sql, '"');
}

static void append_literal(strbuf *sql, const char *text)
{
    strbuf_append_char(sql, '\'');
    for (const char *c = text; *c; c++) {
        if (*c == '\'')
            strbuf_append_char(sql, '\'');
        strbuf_append_char(sql, *c);
    }
    strbuf_append_char(sql, '\'');
}

static void append_qualified(strbuf *sql, const char *schema, const char *name)
{
    append_identifier(sql, schema);
    strbuf_append_char(sql, '.');
    append_identifier(sql, name);
}

static const decl_foreign_key *table_foreign_key_on(const decl_table *table, const char *column)
{
    for (size_t i = 0; i < table->foreign_key_count; i++)
        if (strcmp(table->foreign_keys[i].column, column) == 0)
            return &table->foreign_keys[i];
    return NULL;
}

/* What a row of schema.table is called in messages: the entity over it, else the table's
 * name without its tb_ prefix. */
static const char *table_noun(const decl_model *model, const char *schema, const char *table)
{
    for (size_t i = 0; i < model->type_count; i++) {
        const decl_type *type = &model->types[i];
        if (type->entity && type->entity_name && strcmp(type->source_schema, schema) == 0
            && strcmp(type->source_table, table) == 0)
            return type->entity_name;
    }
    return strncmp(table, "tb_", 3) == 0 && table[3] ? table + 3 : table;
}

static bool is_json_type(const char *type)
{
    return strcmp(type, "jsonb") == 0 || strcmp(type, "json") == 0;
}

static bool is_array_type(const char *type)
{
    size_t length = strlen(type);
    return length > 2 && strcmp(type + length - 2, "[]") == 0;
}

static bool is_supported_key_type(const char *type)
{
    for (size_t i = 0; i < sizeof supported_key_types / sizeof supported_key_types[0]; i++)
        if (type && strcmp(type, supported_key_types[i]) == 0)
            return true;
    return false;
}

/* The key in args->name as key_type, NULL when it is not one (tvsync.try_* of 042). */
static void append_key_value(strbuf *sql, const char *key_type, const char *json, const char *name)
{
    if (strcmp(key_type, "text") == 0) {
        strbuf_appendf(sql, "tvsync.text_arg(%s, ", json);
        append_literal(sql, name);
        strbuf_append_char(sql, ')');
        return;
    }
    strbuf_appendf(sql, "tvsync.try_%s(%s ->> ", key_type, json);
    append_literal(sql, name);
    strbuf_append_char(sql, ')');
}

static void append_key_problem(strbuf *sql, const char *key_type, const char *json, const char *name)
{
    strbuf_appendf(sql, "tvsync.key_problem(%s, ", json);
    append_literal(sql, name);
    strbuf_appendf(sql, ", '%s')", key_type);
}

/* "present": the client gave a value that is not JSON null. */
static void append_present(strbuf *sql, const char *json, const char *name)
{
    strbuf_appendf(sql, "coalesce(jsonb_typeof(%s -> ", json);
    append_literal(sql, name);
    strbuf_append(sql, "), 'null') <> 'null'");
}

static void append_absent(strbuf *sql, const char *json, const char *name)
{
    strbuf_appendf(sql, "coalesce(jsonb_typeof(%s -> ", json);
    append_literal(sql, name);
    strbuf_append(sql, "), 'null') = 'null'");
}

static bool entity_init(crud_entity *entity, const decl_model *model, const decl_catalog *catalog,
                        const decl_type *type)
{
    memset(entity, 0, sizeof *entity);
    entity->model = model;
    entity->catalog = catalog;
    entity->type = type;
    entity->name = type->entity_name;
    entity->table = decl_catalog_table(catalog, type->source_schema, type->source_table);
    if (!entity->name || !entity->table || !entity->table->key || !is_supported_key_type(entity->table->key_type))
        return false;
    entity->key = decl_table_column(entity->table, entity->table->key);
    if (!entity->key)
        return false;
    strbuf qualified = STRBUF_INIT;
    append_qualified(&qualified, type->source_schema, type->source_table);
    entity->qualified_table = qualified.data;
    entity->inputs = alloc_array(NULL, type->field_count ? type->field_count : 1, sizeof *entity->inputs);
    for (size_t i = 0; i < type->field_count; i++) {
        const decl_field *field = &type->fields[i];
        if (field->kind != DECL_FIELD_COLUMN && field->kind != DECL_FIELD_REF)
            continue;
        const char *column_name = field->kind == DECL_FIELD_COLUMN ? field->column : field->via;
        if (!column_name || strcmp(column_name, entity->table->key) == 0 || strcmp(field->name, "id") == 0)
            continue;
        const decl_column *column = decl_table_column(entity->table, column_name);
        bool taken = false;
        for (size_t j = 0; j < entity->input_count; j++)
            taken = taken || entity->inputs[j].column == column;
        if (!column || taken)
            continue;
        crud_input *input = &entity->inputs[entity->input_count];
        strbuf name = STRBUF_INIT, variable = STRBUF_INIT;
        strbuf_append(&name, field->name);
        if (field->kind == DECL_FIELD_REF)
            strbuf_append(&name, "Id");
        if (is_plain_identifier(column->name) && strlen(column->name) < 60)
            strbuf_appendf(&variable, "c_%s", column->name);
        else
            strbuf_appendf(&variable, "c_%zu", entity->input_count + 1);
        input->name = name.data;
        input->variable = variable.data;
        input->column = column;
        input->foreign_key = table_foreign_key_on(entity->table, column->name);
        if (field->kind == DECL_FIELD_REF && field->target_type)
            input->noun = table_noun(model, field->target_type->source_schema, field->target_type->source_table);
        else if (input->foreign_key)
            input->noun = table_noun(model, input->foreign_key->ref_schema, input->foreign_key->ref_table);
        entity->input_count++;
    }
    return true;
}

static void entity_free(crud_entity *entity)
{
    for (size_t i = 0; i < entity->input_count; i++) {
        free(entity->inputs[i].name);
        free(entity->inputs[i].variable);
    }
    free(entity->inputs);
    free(entity->qualified_table);
}

static const crud_input *input_of_column(const crud_entity *entity, const char *column)
{
    for (size_t i = 0; i < entity->input_count; i++)
        if (strcmp(entity->inputs[i].column->name, column) == 0)
            return &entity->inputs[i];
    return NULL;
}

/* The fields a constraint's columns are written through ("input.title, input.authorId"),
 * or the column itself where no field writes it. */
static void append_columns_as_fields(strbuf *out, const crud_entity *entity, const char *prefix,
                                     char *const *columns)
{
    for (size_t i = 0; columns[i]; i++) {
        const crud_input *input = input_of_column(entity, columns[i]);
        if (i)
            strbuf_append(out, ", ");
        if (strcmp(columns[i], entity->key->name) == 0)
            strbuf_appendf(out, "%s.id", prefix);
        else if (input)
            strbuf_appendf(out, "%s.%s", prefix, input->name);
        else
            strbuf_append(out, columns[i]);
    }
}

/* The inputs whose columns a CHECK's definition names (identifier tokens outside quotes). */
static void append_check_fields(strbuf *out, const crud_entity *entity, const char *prefix,
                                const char *definition, size_t *count)
{
    bool *named = alloc_calloc(entity->input_count + 1, sizeof *named);
    const char *c = definition;
    while (*c) {
        if (*c == '\'') {
            for (c++; *c && !(*c == '\'' && c[1] != '\''); c += *c == '\'' ? 2 : 1)
                ;
            if (*c)
                c++;
            continue;
        }
        if (isalpha((unsigned char) *c) || *c == '_') {
            const char *start = c;
            while (isalnum((unsigned char) *c) || *c == '_' || *c == '$')
                c++;
            for (size_t i = 0; i < entity->input_count; i++)
                if (strlen(entity->inputs[i].column->name) == (size_t) (c - start)
                    && strncmp(entity->inputs[i].column->name, start, (size_t) (c - start)) == 0)
                    named[i] = true;
            continue;
        }
        c++;
    }
    *count = 0;
    for (size_t i = 0; i < entity->input_count; i++) {
        if (!named[i])
            continue;
        strbuf_appendf(out, "%s%s.%s", *count ? ", " : "", prefix, entity->inputs[i].name);
        (*count)++;
    }
    free(named);
}

/* A CASE over v_column/v_constraint with no WHEN (no constraint of that kind) is not SQL:
 * it becomes its ELSE expression. */
static void drop_empty_case(strbuf *message)
{
    const char *text = strbuf_text(message);
    const char *space = strchr(text, ' ');
    if (strncmp(text, "CASE v_", 7) != 0 || !space || (space = strchr(space + 1, ' ')) == NULL
        || strncmp(space, " ELSE ", 6) != 0)
        return;
    strbuf rest = STRBUF_INIT;
    strbuf_append_length(&rest, space + 6, message->length - (size_t) (space + 6 - text) - 4);
    strbuf_reset(message);
    strbuf_append(message, strbuf_text(&rest));
    strbuf_free(&rest);
}

static void append_failed(strbuf *sql, const char *status, const char *message_sql, const crud_entity *entity,
                          const char *id_sql)
{
    strbuf_appendf(sql, "tvsync.mutation_failed('%s', %s, ", status, message_sql);
    append_literal(sql, entity->name);
    if (id_sql)
        strbuf_appendf(sql, ", %s", id_sql);
    strbuf_append_char(sql, ')');
}

static void append_own_intent(strbuf *sql, const crud_entity *entity)
{
    strbuf_append(sql, "    RETURN tvsync.mutation_ok(");
    append_literal(sql, entity->name);
    strbuf_append(sql, ", v_id, jsonb_build_array(tvsync.intent(");
    append_literal(sql, entity->name);
    strbuf_append(sql, ", ARRAY[v_id])));\n");
}

/* The cast of each given value into its column's type: a value that does not cast is
 * reported with the field that held it (v_field survives the handler's rollback). */
static void append_casts(strbuf *sql, const crud_entity *entity, const char *json)
{
    for (size_t i = 0; i < entity->input_count; i++) {
        const crud_input *input = &entity->inputs[i];
        strbuf_append(sql, "        v_field := ");
        append_literal(sql, input->name);
        strbuf_appendf(sql, ";\n        %s := ", input->variable);
        if (is_json_type(input->column->type)) {
            strbuf_appendf(sql, "nullif(%s -> ", json);
            append_literal(sql, input->name);
            strbuf_appendf(sql, ", 'null')%s;\n", strcmp(input->column->type, "json") == 0 ? "::json" : "");
        } else if (is_array_type(input->column->type)) {
            /* a JSON list's elements; anything else reaches the array's text form and
             * fails there with the field's name */
            strbuf_appendf(sql, "CASE jsonb_typeof(%s -> ", json);
            append_literal(sql, input->name);
            strbuf_appendf(sql, ") WHEN 'array' THEN ARRAY(SELECT jsonb_array_elements_text(%s -> ", json);
            append_literal(sql, input->name);
            strbuf_appendf(sql, ")) WHEN 'null' THEN NULL ELSE (%s ->> ", json);
            append_literal(sql, input->name);
            strbuf_append(sql, ")::text[] END;\n");
        } else {
            strbuf_appendf(sql, "%s ->> ", json);
            append_literal(sql, input->name);
            strbuf_append(sql, ";\n");
        }
    }
    strbuf_append(sql, "        v_field := NULL;\n");
}

static void append_declarations(strbuf *sql, const crud_entity *entity)
{
    strbuf_append(sql, "    v_field text;\n    v_column text;\n    v_constraint text;\n");
    for (size_t i = 0; i < entity->input_count; i++) {
        strbuf_appendf(sql, "    %s %s.", entity->inputs[i].variable, entity->qualified_table);
        append_identifier(sql, entity->inputs[i].column->name);
        strbuf_append(sql, "%TYPE;\n");
    }
}

/* The exception handlers of a create or update: every constraint the write can break,
 * mapped by name to the field the client gave (prefix "input" or "patch"). */
static void append_write_handlers(strbuf *sql, const crud_entity *entity, const char *prefix, const char *json,
                                  const char *id_sql)
{
    const decl_table *table = entity->table;
    strbuf message = STRBUF_INIT, text = STRBUF_INIT;

    strbuf_append(sql, "    EXCEPTION\n        WHEN data_exception THEN\n"
                       "            IF v_field IS NULL THEN\n                RAISE;\n            END IF;\n");
    strbuf_appendf(&message, "format('%s.%%s %%s is not a valid %%s', v_field, %s ->> v_field, %s", prefix, json,
                   entity->input_count ? "CASE v_field" : "");
    for (size_t i = 0; i < entity->input_count; i++) {
        strbuf_append(&message, " WHEN ");
        append_literal(&message, entity->inputs[i].name);
        strbuf_append(&message, " THEN ");
        append_literal(&message, entity->inputs[i].column->type);
    }
    strbuf_append(&message, entity->input_count ? " END)" : " NULL)");
    strbuf_append(sql, "            RETURN ");
    append_failed(sql, "validation_failed", strbuf_text(&message), entity, id_sql);
    strbuf_append(sql, ";\n");

    bool create = strcmp(prefix, "input") == 0;
    strbuf_reset(&message);
    strbuf_append(&message, "CASE v_column");
    for (size_t i = 0; i < entity->input_count; i++) {
        if (!entity->inputs[i].column->not_null)
            continue;
        strbuf_reset(&text);
        strbuf_appendf(&text, "%s.%s %s", prefix, entity->inputs[i].name, create ? "is required" : "must not be null");
        strbuf_append(&message, " WHEN ");
        append_literal(&message, entity->inputs[i].column->name);
        strbuf_append(&message, " THEN ");
        append_literal(&message, strbuf_text(&text));
    }
    strbuf_append(&message, " ELSE format('%s is required', v_column) END");
    strbuf_append(sql, "        WHEN not_null_violation THEN\n"
                       "            GET STACKED DIAGNOSTICS v_column = COLUMN_NAME;\n            RETURN ");
    drop_empty_case(&message);
    append_failed(sql, "validation_failed", strbuf_text(&message), entity, id_sql);
    strbuf_append(sql, ";\n");

    strbuf_reset(&message);
    strbuf_append(&message, "CASE v_constraint");
    for (size_t i = 0; i < table->unique_count; i++) {
        const decl_unique *unique = &table->uniques[i];
        size_t columns = 0;
        while (unique->columns[columns])
            columns++;
        strbuf_reset(&text);
        append_columns_as_fields(&text, entity, prefix, unique->columns);
        strbuf_appendf(&text, ": another %s has %s", entity->name, columns > 1 ? "these values" : "this value");
        strbuf_append(&message, " WHEN ");
        append_literal(&message, unique->name);
        strbuf_append(&message, " THEN ");
        append_literal(&message, strbuf_text(&text));
    }
    strbuf_append(&message, " ELSE ");
    if (create) {
        /* the key's constraint, which the catalog may not list among the uniques */
        strbuf_append(&message, "CASE WHEN v_constraint = (SELECT c.conname FROM pg_constraint c WHERE c.conrelid = ");
        append_literal(&message, entity->qualified_table);
        strbuf_appendf(&message, "::regclass AND c.contype = 'p') THEN 'input.id: another %s has this value' ELSE ",
                       entity->name);
    }
    strbuf_appendf(&message, "format('%s: another %%s has these values (%%s)', ", prefix);
    append_literal(&message, entity->name);
    strbuf_appendf(&message, ", v_constraint)%s END", create ? " END" : "");
    strbuf_append(sql, "        WHEN unique_violation THEN\n"
                       "            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;\n            RETURN ");
    drop_empty_case(&message);
    append_failed(sql, "conflict", strbuf_text(&message), entity, id_sql);
    strbuf_append(sql, ";\n");

    strbuf_reset(&message);
    strbuf_append(&message, "CASE v_constraint");
    for (size_t i = 0; i < entity->input_count; i++) {
        const crud_input *input = &entity->inputs[i];
        if (!input->foreign_key)
            continue;
        strbuf_append(&message, " WHEN ");
        append_literal(&message, input->foreign_key->name);
        strbuf_reset(&text);
        strbuf_appendf(&text, "%s.%s %%s: no such %s", prefix, input->name, input->noun);
        strbuf_append(&message, " THEN format(");
        append_literal(&message, strbuf_text(&text));
        strbuf_appendf(&message, ", %s ->> ", json);
        append_literal(&message, input->name);
        strbuf_append(&message, ")");
    }
    strbuf_appendf(&message, " ELSE format('%s: no row that foreign key %%s references', v_constraint) END", prefix);
    strbuf_append(sql, "        WHEN foreign_key_violation THEN\n"
                       "            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;\n            RETURN ");
    drop_empty_case(&message);
    append_failed(sql, "validation_failed", strbuf_text(&message), entity, id_sql);
    strbuf_append(sql, ";\n");

    strbuf_reset(&message);
    strbuf_append(&message, "CASE v_constraint");
    for (size_t i = 0; i < table->check_count; i++) {
        const decl_check_constraint *check = &table->checks[i];
        size_t fields = 0;
        strbuf_reset(&text);
        append_check_fields(&text, entity, prefix, check->definition, &fields);
        if (fields == 0)
            strbuf_append(&text, prefix);
        strbuf_appendf(&text, " %s check %s", fields > 1 ? "violate" : "violates", check->name);
        strbuf_append(&message, " WHEN ");
        append_literal(&message, check->name);
        strbuf_append(&message, " THEN ");
        append_literal(&message, strbuf_text(&text));
    }
    strbuf_appendf(&message, " ELSE format('%s violates check %%s', v_constraint) END", prefix);
    strbuf_append(sql, "        WHEN check_violation THEN\n"
                       "            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;\n            RETURN ");
    drop_empty_case(&message);
    append_failed(sql, "validation_failed", strbuf_text(&message), entity, id_sql);
    strbuf_append(sql, ";\n");

    /* a generated column is written only when given (append_update): name its field */
    strbuf_reset(&message);
    strbuf_append(&message, "CASE v_column");
    for (size_t i = 0; i < entity->input_count; i++) {
        if (!entity->inputs[i].column->has_default)
            continue;
        strbuf_reset(&text);
        strbuf_appendf(&text, "%s.%s cannot be written: its column is generated", prefix, entity->inputs[i].name);
        strbuf_append(&message, " WHEN ");
        append_literal(&message, entity->inputs[i].column->name);
        strbuf_append(&message, " THEN ");
        append_literal(&message, strbuf_text(&text));
    }
    strbuf_append(&message, " ELSE format('%s cannot be written: it is generated', v_column) END");
    strbuf_append(sql, "        WHEN generated_always THEN\n"
                       "            v_column := substring(SQLERRM FROM '\"([^\"]+)\"');\n            RETURN ");
    drop_empty_case(&message);
    append_failed(sql, "validation_failed", strbuf_text(&message), entity, id_sql);
    strbuf_append(sql, ";\n    END;\n");
    strbuf_free(&message);
    strbuf_free(&text);
}

static void append_function_head(strbuf *sql, const crud_entity *entity, const char *function)
{
    strbuf_append(sql, "CREATE OR REPLACE FUNCTION ");
    append_qualified(sql, entity->type->source_schema, function);
    strbuf_append(sql, "(args jsonb) RETURNS tvsync.mutation_result\n"
                       "LANGUAGE plpgsql VOLATILE SECURITY INVOKER\nAS $tvsync$\n#variable_conflict use_variable\nDECLARE\n");
}

/* EXECUTE for tvsync_app (only), and the table rights a SECURITY INVOKER function needs. */
static void append_grants(strbuf *sql, const crud_entity *entity, const char *function, const char *table_sql,
                          const char *rights)
{
    strbuf_append(sql, "$tvsync$;\nCOMMENT ON FUNCTION ");
    append_qualified(sql, entity->type->source_schema, function);
    /* generate refuses to replace a function of that name without this comment */
    strbuf_append(sql, "(jsonb) IS '" DECL_CRUD_COMMENT "';\nREVOKE ALL ON FUNCTION ");
    append_qualified(sql, entity->type->source_schema, function);
    strbuf_append(sql, "(jsonb) FROM PUBLIC;\nGRANT EXECUTE ON FUNCTION ");
    append_qualified(sql, entity->type->source_schema, function);
    strbuf_append(sql, "(jsonb) TO tvsync_app;\nGRANT USAGE ON SCHEMA ");
    append_identifier(sql, entity->type->source_schema);
    strbuf_appendf(sql, " TO tvsync_app;\nGRANT %s ON %s TO tvsync_app;\n", rights, table_sql);
}

static void add_object(decl_objects *out, const crud_entity *entity, const char *function, const strbuf *sql)
{
    strbuf key = STRBUF_INIT;
    strbuf_append(&key, "crud ");
    append_qualified(&key, entity->type->source_schema, function);
    decl_objects_add(out, strbuf_text(&key), strbuf_text(sql), NULL);
    strbuf_free(&key);
}

/* "given": create takes a present, non-null value (absent or null keeps the default);
 * update takes any present key (null sets NULL). */
static void append_given(strbuf *sql, bool create, const char *name)
{
    if (create) {
        append_present(sql, "v_input", name);
        return;
    }
    strbuf_append(sql, "v_patch ? ");
    append_literal(sql, name);
}

/* UPDATE of the new or patched row. The given fields without a default in one statement;
 * each column with a default in a statement of its own, run only when given, so an absent
 * one keeps its default and a generated column is named only when a client writes it (a
 * generated column cannot even be set to itself). Returns false when there was no field. */
static bool append_update(strbuf *sql, const crud_entity *entity, bool defaulted, bool create)
{
    strbuf set = STRBUF_INIT;
    bool any = false;
    for (size_t i = 0; i < entity->input_count; i++) {
        const crud_input *input = &entity->inputs[i];
        if (input->column->has_default != defaulted)
            continue;
        any = true;
        if (defaulted) {
            strbuf_appendf(sql, "        IF %s", create ? "" : "v_found AND ");
            append_given(sql, create, input->name);
            strbuf_appendf(sql, " THEN\n            UPDATE %s AS r SET ", entity->qualified_table);
            append_identifier(sql, input->column->name);
            strbuf_appendf(sql, " = %s WHERE r.", input->variable);
            append_identifier(sql, entity->key->name);
            strbuf_append(sql, " = v_id;\n        END IF;\n");
            continue;
        }
        if (set.length)
            strbuf_append(&set, ",\n                ");
        append_identifier(&set, input->column->name);
        strbuf_append(&set, " = CASE WHEN ");
        append_given(&set, create, input->name);
        strbuf_appendf(&set, " THEN %s ELSE r.", input->variable);
        append_identifier(&set, input->column->name);
        strbuf_append(&set, " END");
    }
    if (set.length) {
        strbuf_appendf(sql, "        UPDATE %s AS r SET %s\n        WHERE r.", entity->qualified_table, strbuf_text(&set));
        append_identifier(sql, entity->key->name);
        strbuf_append(sql, " = v_id;\n");
    }
    strbuf_free(&set);
    return any;
}

static void generate_create(decl_objects *out, const crud_entity *entity)
{
    strbuf sql = STRBUF_INIT, function = STRBUF_INIT;
    const char *key_type = entity->table->key_type;
    bool key_default = entity->key->has_default;
    strbuf_append(&function, "create_");
    strbuf_append(&function, entity->name);

    strbuf_append(&sql, "-- create");
    strbuf_append(&sql, entity->type->name);
    strbuf_append(&sql, "(input): one row of the source; the constraints' violations are answers naming the input field.\n");
    append_function_head(&sql, entity, strbuf_text(&function));
    strbuf_appendf(&sql, "    v_input jsonb := args -> 'input';\n    v_id %s;\n    v_problem text;\n", key_type);
    append_declarations(&sql, entity);
    strbuf_append(&sql, "BEGIN\n    IF jsonb_typeof(v_input) IS DISTINCT FROM 'object' THEN\n        RETURN ");
    append_failed(&sql, "validation_failed", "'input must be an object'", entity, NULL);
    strbuf_append(&sql, ";\n    END IF;\n    v_problem := coalesce(\n        CASE WHEN ");
    if (key_default) {
        append_present(&sql, "v_input", "id");
        strbuf_append(&sql, " THEN 'input.' || ");
        append_key_problem(&sql, key_type, "v_input", "id");
        strbuf_append(&sql, " END");
    } else {
        append_absent(&sql, "v_input", "id");
        strbuf_append(&sql, " THEN 'input.id is required' ELSE 'input.' || ");
        append_key_problem(&sql, key_type, "v_input", "id");
        strbuf_append(&sql, " END");
    }
    for (size_t i = 0; i < entity->input_count; i++) {
        const crud_input *input = &entity->inputs[i];
        if (!input->column->not_null || input->column->has_default)
            continue;
        strbuf_append(&sql, ",\n        CASE WHEN ");
        append_absent(&sql, "v_input", input->name);
        strbuf_appendf(&sql, " THEN 'input.%s is required' END", input->name);
    }
    strbuf_append(&sql, ");\n    IF v_problem IS NOT NULL THEN\n        RETURN ");
    append_failed(&sql, "validation_failed", "v_problem", entity, NULL);
    strbuf_append(&sql, ";\n    END IF;\n    BEGIN\n");
    append_casts(&sql, entity, "v_input");

    /* One static INSERT of the columns without a default (two when the key has one: with
     * the key given, or taken from its default); the given columns with a default follow
     * in an UPDATE of the new row, so an absent one keeps its default. */
    strbuf columns = STRBUF_INIT, values = STRBUF_INIT;
    for (size_t i = 0; i < entity->input_count; i++) {
        const crud_input *input = &entity->inputs[i];
        if (input->column->has_default)
            continue;
        strbuf_append(&columns, ", ");
        append_identifier(&columns, input->column->name);
        strbuf_appendf(&values, ", %s", input->variable);
    }
    if (key_default) {
        strbuf_append(&sql, "        IF ");
        append_present(&sql, "v_input", "id");
        strbuf_append(&sql, " THEN\n            v_id := ");
        append_key_value(&sql, key_type, "v_input", "id");
        strbuf_appendf(&sql, ";\n            INSERT INTO %s (", entity->qualified_table);
        append_identifier(&sql, entity->key->name);
        strbuf_appendf(&sql, "%s) OVERRIDING SYSTEM VALUE VALUES (v_id%s);\n        ELSE\n            INSERT INTO %s AS r ",
                       strbuf_text(&columns), strbuf_text(&values), entity->qualified_table);
        if (columns.length)
            strbuf_appendf(&sql, "(%s) VALUES (%s)", strbuf_text(&columns) + 2, strbuf_text(&values) + 2);
        else
            strbuf_append(&sql, "DEFAULT VALUES");
        strbuf_append(&sql, " RETURNING r.");
        append_identifier(&sql, entity->key->name);
        strbuf_append(&sql, " INTO v_id;\n        END IF;\n");
    } else {
        strbuf_append(&sql, "        v_id := ");
        append_key_value(&sql, key_type, "v_input", "id");
        strbuf_appendf(&sql, ";\n        INSERT INTO %s (", entity->qualified_table);
        append_identifier(&sql, entity->key->name);
        strbuf_appendf(&sql, "%s) VALUES (v_id%s);\n", strbuf_text(&columns), strbuf_text(&values));
    }
    append_update(&sql, entity, true, true);
    append_write_handlers(&sql, entity, "input", "v_input", NULL);
    append_own_intent(&sql, entity);
    strbuf_append(&sql, "END\n");
    append_grants(&sql, entity, strbuf_text(&function), entity->qualified_table, "SELECT, INSERT, UPDATE");
    bool sequence = false;
    for (size_t i = 0; i < entity->table->column_count; i++)
        sequence = sequence || entity->table->columns[i].has_default;
    if (sequence) {
        /* serial and identity columns draw from a sequence the caller needs USAGE on */
        strbuf_append(&sql, "DO $tvsync$\nDECLARE\n    v_sequence text;\nBEGIN\n"
                            "    FOR v_sequence IN SELECT pg_get_serial_sequence(");
        append_literal(&sql, entity->qualified_table);
        strbuf_append(&sql, ", c.attname) FROM pg_attribute c WHERE c.attrelid = ");
        append_literal(&sql, entity->qualified_table);
        strbuf_append(&sql, "::regclass AND c.attnum > 0 AND NOT c.attisdropped LOOP\n"
                            "        IF v_sequence IS NOT NULL THEN\n"
                            "            EXECUTE format('GRANT USAGE ON SEQUENCE %s TO tvsync_app', v_sequence);\n"
                            "        END IF;\n    END LOOP;\nEND\n$tvsync$;\n");
    }
    add_object(out, entity, strbuf_text(&function), &sql);
    strbuf_free(&columns);
    strbuf_free(&values);
    strbuf_free(&function);
    strbuf_free(&sql);
}

static void generate_update(decl_objects *out, const crud_entity *entity)
{
    strbuf sql = STRBUF_INIT, function = STRBUF_INIT;
    const char *key_type = entity->table->key_type;
    strbuf_append(&function, "update_");
    strbuf_append(&function, entity->name);

    strbuf_append(&sql, "-- update");
    strbuf_append(&sql, entity->type->name);
    strbuf_append(&sql, "(id, patch): a field left out keeps its column, null sets NULL. One UPDATE reads the\n"
                        "-- row's latest version, so concurrent patches of other fields are not lost.\n");
    append_function_head(&sql, entity, strbuf_text(&function));
    strbuf_appendf(&sql, "    v_patch jsonb := args -> 'patch';\n    v_id %s := ", key_type);
    append_key_value(&sql, key_type, "args", "id");
    strbuf_append(&sql, ";\n    v_problem text := ");
    append_key_problem(&sql, key_type, "args", "id");
    strbuf_append(&sql, ";\n    v_found boolean;\n");
    append_declarations(&sql, entity);
    strbuf_append(&sql, "BEGIN\n    IF v_problem IS NOT NULL THEN\n        RETURN ");
    append_failed(&sql, "validation_failed", "v_problem", entity, NULL);
    strbuf_append(&sql, ";\n    END IF;\n    IF jsonb_typeof(v_patch) IS DISTINCT FROM 'object' THEN\n        RETURN ");
    append_failed(&sql, "validation_failed", "'patch must be an object'", entity, "v_id");
    strbuf_append(&sql, ";\n    END IF;\n    BEGIN\n");
    append_casts(&sql, entity, "v_patch");
    if (!append_update(&sql, entity, false, false)) {
        strbuf_appendf(&sql, "        PERFORM FROM %s AS r WHERE r.", entity->qualified_table);
        append_identifier(&sql, entity->key->name);
        strbuf_append(&sql, " = v_id FOR NO KEY UPDATE;\n");
    }
    strbuf_append(&sql, "        v_found := FOUND;\n");
    append_update(&sql, entity, true, false);

    append_write_handlers(&sql, entity, "patch", "v_patch", "v_id");
    strbuf_append(&sql, "    IF NOT v_found THEN\n        RETURN ");
    strbuf message = STRBUF_INIT;
    strbuf_appendf(&message, "format('no %s with id %%s', v_id)", entity->name);
    append_failed(&sql, "not_found", strbuf_text(&message), entity, "v_id");
    strbuf_append(&sql, ";\n    END IF;\n");
    append_own_intent(&sql, entity);
    strbuf_append(&sql, "END\n");
    append_grants(&sql, entity, strbuf_text(&function), entity->qualified_table, "SELECT, UPDATE");
    add_object(out, entity, strbuf_text(&function), &sql);
    strbuf_free(&message);
    strbuf_free(&function);
    strbuf_free(&sql);
}

static void generate_delete(decl_objects *out, const crud_entity *entity)
{
    strbuf sql = STRBUF_INIT, function = STRBUF_INIT, message = STRBUF_INIT;
    const char *key_type = entity->table->key_type;
    strbuf_append(&function, "delete_");
    strbuf_append(&function, entity->name);

    strbuf_append(&sql, "-- delete");
    strbuf_append(&sql, entity->type->name);
    strbuf_append(&sql, "(id): a row other rows still reference stays (conflict); ON DELETE CASCADE children go with it.\n");
    append_function_head(&sql, entity, strbuf_text(&function));
    strbuf_appendf(&sql, "    v_id %s := ", key_type);
    append_key_value(&sql, key_type, "args", "id");
    strbuf_append(&sql, ";\n    v_problem text := ");
    append_key_problem(&sql, key_type, "args", "id");
    strbuf_append(&sql, ";\n    v_found boolean;\n    v_schema text;\n    v_table text;\n"
                        "BEGIN\n    IF v_problem IS NOT NULL THEN\n        RETURN ");
    append_failed(&sql, "validation_failed", "v_problem", entity, NULL);
    strbuf_appendf(&sql, ";\n    END IF;\n    BEGIN\n        DELETE FROM %s AS r WHERE r.", entity->qualified_table);
    append_identifier(&sql, entity->key->name);
    strbuf_append(&sql, " = v_id;\n        v_found := FOUND;\n    EXCEPTION WHEN foreign_key_violation THEN\n"
                        "        GET STACKED DIAGNOSTICS v_schema = SCHEMA_NAME, v_table = TABLE_NAME;\n        RETURN ");
    strbuf_appendf(&message, "format('%s %%s is still referenced by rows of %%I.%%I', v_id, v_schema, v_table)", entity->name);
    append_failed(&sql, "conflict", strbuf_text(&message), entity, "v_id");
    strbuf_append(&sql, ";\n    END;\n    IF NOT v_found THEN\n        RETURN ");
    strbuf_reset(&message);
    strbuf_appendf(&message, "format('no %s with id %%s', v_id)", entity->name);
    append_failed(&sql, "not_found", strbuf_text(&message), entity, "v_id");
    strbuf_append(&sql, ";\n    END IF;\n");
    append_own_intent(&sql, entity);
    strbuf_append(&sql, "END\n");
    append_grants(&sql, entity, strbuf_text(&function), entity->qualified_table, "SELECT, DELETE");
    add_object(out, entity, strbuf_text(&function), &sql);
    strbuf_free(&message);
    strbuf_free(&function);
    strbuf_free(&sql);
}

/* The intents of a written association row: every entity whose documents embed or count
 * rows of it (a @many through it, a @many over it, an aggregate from it), with the ids in
 * the row's via/target columns (v_id, v_target). */
static void append_association_intents(strbuf *sql, const crud_entity *entity, const decl_table *association,
                                       const char *via, const char *target)
{
    bool first = true;
    for (size_t i = 0; i < entity->model->type_count; i++) {
        const decl_type *type = &entity->model->types[i];
        if (!type->entity || !type->entity_name)
            continue;
        bool via_used = false, target_used = false;
        for (size_t j = 0; j < type->field_count; j++) {
            const decl_field *field = &type->fields[j];
            const decl_table *rows = NULL;
            if (field->kind == DECL_FIELD_MANY && field->through)
                rows = decl_sql_table(entity->catalog, field->through);
            else if (field->kind == DECL_FIELD_MANY && field->target_type)
                rows = decl_sql_source(entity->catalog, field->target_type);
            else if (field->kind == DECL_FIELD_AGGREGATE && field->from)
                rows = decl_sql_table(entity->catalog, field->from);
            if (rows != association || !field->via)
                continue;
            via_used = via_used || strcmp(field->via, via) == 0;
            target_used = target_used || strcmp(field->via, target) == 0;
        }
        if (!via_used && !target_used)
            continue;
        strbuf_append(sql, first ? "" : ",\n            ");
        first = false;
        strbuf_append(sql, "tvsync.intent(");
        append_literal(sql, type->entity_name);
        strbuf_appendf(sql, ", ARRAY[%s%s%s])", via_used ? "v_id" : "", via_used && target_used ? ", " : "",
                       target_used ? "v_target" : "");
    }
}

static void generate_link(decl_objects *out, const crud_entity *entity, const decl_field *field, bool link)
{
    const decl_table *association = decl_sql_table(entity->catalog, field->through);
    const decl_table *target_table = field->target_type
        ? decl_catalog_table(entity->catalog, field->target_type->source_schema, field->target_type->source_table) : NULL;
    if (!association || !target_table || !field->via || !field->target || !is_supported_key_type(target_table->key_type))
        return;
    const char *key_type = entity->table->key_type, *target_type = target_table->key_type;
    const char *noun = table_noun(entity->model, target_table->schema, target_table->name);
    const decl_foreign_key *via_key = table_foreign_key_on(association, field->via);
    strbuf sql = STRBUF_INIT, function = STRBUF_INIT, message = STRBUF_INIT, table = STRBUF_INIT, where = STRBUF_INIT;
    strbuf_appendf(&function, "%s_%s_", link ? "link" : "unlink", entity->name);
    char snake[256];
    decl_snake_case(field->name, snake, sizeof snake);
    strbuf_append(&function, snake);
    append_qualified(&table, association->schema, association->name);
    strbuf_append(&where, "r.");
    append_identifier(&where, field->via);
    strbuf_append(&where, " = v_id AND r.");
    append_identifier(&where, field->target);
    strbuf_append(&where, " = v_target");

    strbuf_appendf(&sql, "-- %s%s%c%s(id, targetId): %s one row of %s.\n", link ? "link" : "unlink", entity->type->name,
                   toupper((unsigned char) field->name[0]), field->name + 1, link ? "adds" : "removes", strbuf_text(&table));
    append_function_head(&sql, entity, strbuf_text(&function));
    strbuf_appendf(&sql, "    v_id %s := ", key_type);
    append_key_value(&sql, key_type, "args", "id");
    strbuf_appendf(&sql, ";\n    v_target %s := ", target_type);
    append_key_value(&sql, target_type, "args", "targetId");
    strbuf_append(&sql, ";\n    v_problem text := coalesce(");
    append_key_problem(&sql, key_type, "args", "id");
    strbuf_append(&sql, ", ");
    append_key_problem(&sql, target_type, "args", "targetId");
    strbuf_append(&sql, ");\n    v_found boolean;\n    v_constraint text;\n    v_column text;\n"
                        "BEGIN\n    IF v_problem IS NOT NULL THEN\n        RETURN ");
    append_failed(&sql, "validation_failed", "v_problem", entity, NULL);
    strbuf_append(&sql, ";\n    END IF;\n");
    strbuf_reset(&message);
    strbuf_appendf(&message, "format('no %s with id %%s', v_id)", entity->name);
    if (link) {
        /* ON CONFLICT covers a unique (via, target); NOT EXISTS a table without one */
        strbuf_appendf(&sql, "    BEGIN\n        INSERT INTO %s AS r (", strbuf_text(&table));
        append_identifier(&sql, field->via);
        strbuf_append(&sql, ", ");
        append_identifier(&sql, field->target);
        strbuf_appendf(&sql, ")\n        SELECT v_id, v_target WHERE NOT EXISTS (SELECT FROM %s AS r WHERE %s)\n"
                             "        ON CONFLICT DO NOTHING;\n        v_found := FOUND;\n"
                             "    EXCEPTION\n        WHEN foreign_key_violation THEN\n"
                             "            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;\n",
                       strbuf_text(&table), strbuf_text(&where));
        if (via_key) {
            strbuf_append(&sql, "            IF v_constraint = ");
            append_literal(&sql, via_key->name);
            strbuf_append(&sql, " THEN\n                RETURN ");
            append_failed(&sql, "not_found", strbuf_text(&message), entity, "v_id");
            strbuf_append(&sql, ";\n            END IF;\n");
        }
        strbuf_append(&sql, "            RETURN ");
        strbuf_reset(&message);
        strbuf_appendf(&message, "format('targetId %%s: no such %s', v_target)", noun);
        append_failed(&sql, "validation_failed", strbuf_text(&message), entity, "v_id");
        strbuf_appendf(&sql, ";\n        WHEN not_null_violation THEN\n"
                             "            GET STACKED DIAGNOSTICS v_column = COLUMN_NAME;\n            RETURN ");
        strbuf_reset(&message);
        strbuf_appendf(&message, "format('%%s.%%s has no default: link%s%c%s cannot fill it', ",
                       entity->type->name, toupper((unsigned char) field->name[0]), field->name + 1);
        append_literal(&message, association->name);
        strbuf_append(&message, ", v_column)");
        append_failed(&sql, "validation_failed", strbuf_text(&message), entity, "v_id");
        strbuf_append(&sql, ";\n        WHEN check_violation THEN\n"
                            "            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;\n            RETURN ");
        append_failed(&sql, "validation_failed", "format('the link violates check %s', v_constraint)", entity, "v_id");
        strbuf_append(&sql, ";\n    END;\n");
    } else {
        strbuf_appendf(&sql, "    DELETE FROM %s AS r WHERE %s;\n    v_found := FOUND;\n", strbuf_text(&table),
                       strbuf_text(&where));
        strbuf_appendf(&sql, "    IF NOT v_found AND NOT EXISTS (SELECT FROM %s AS r WHERE r.", entity->qualified_table);
        append_identifier(&sql, entity->key->name);
        strbuf_append(&sql, " = v_id) THEN\n        RETURN ");
        append_failed(&sql, "not_found", strbuf_text(&message), entity, "v_id");
        strbuf_append(&sql, ";\n    END IF;\n");
    }
    /* linked already / not linked: nothing changed, nothing to publish */
    strbuf_append(&sql, "    IF NOT v_found THEN\n        RETURN tvsync.mutation_ok(");
    append_literal(&sql, entity->name);
    strbuf_append(&sql, ", v_id);\n    END IF;\n    RETURN tvsync.mutation_ok(");
    append_literal(&sql, entity->name);
    strbuf_append(&sql, ", v_id, jsonb_build_array(\n            ");
    append_association_intents(&sql, entity, association, field->via, field->target);
    strbuf_append(&sql, "));\nEND\n");
    append_grants(&sql, entity, strbuf_text(&function), strbuf_text(&table), link ? "SELECT, INSERT" : "SELECT, DELETE");
    if (!link)
        strbuf_appendf(&sql, "GRANT SELECT ON %s TO tvsync_app;\n", entity->qualified_table);
    add_object(out, entity, strbuf_text(&function), &sql);
    strbuf_free(&where);
    strbuf_free(&table);
    strbuf_free(&message);
    strbuf_free(&function);
    strbuf_free(&sql);
}

void decl_sql_crud(const decl_model *model, const decl_catalog *catalog, decl_objects *out)
{
    for (size_t i = 0; i < model->type_count; i++) {
        const decl_type *type = &model->types[i];
        crud_entity entity;
        if (!type->entity || !type->crud)
            continue;
        if (!entity_init(&entity, model, catalog, type)) {
            entity_free(&entity);
            continue;
        }
        generate_create(out, &entity);
        generate_update(out, &entity);
        generate_delete(out, &entity);
        for (size_t j = 0; j < type->field_count; j++) {
            const decl_field *field = &type->fields[j];
            if (field->kind != DECL_FIELD_MANY || !field->through)
                continue;
            generate_link(out, &entity, field, true);
            generate_link(out, &entity, field, false);
        }
        entity_free(&entity);
    }
}
