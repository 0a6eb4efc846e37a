/* decl_catalog: reads the columns, keys, foreign keys and constraints of the tables a model
 * names in one parameterized query, and checks the model's declarations against them. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/strbuf.h"
#include "declare/decl_catalog.h"

/* One row per fact, ordered so that each table's rows are together: c = column,
 * p = one-column primary key, f = one-column foreign key, u = unique constraint or index
 * (columns joined by a unit separator), k = check constraint. */
static const char catalog_query[] =
    "WITH wanted AS ("
    " SELECT DISTINCT c.oid, n.nspname::text AS s, c.relname::text AS t"
    " FROM unnest($1::text[], $2::text[]) AS w(s, t)"
    " JOIN pg_catalog.pg_namespace n ON n.nspname = w.s"
    " JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = w.t AND c.relkind IN ('r', 'p'))"
    " SELECT w.s, w.t, 'c', a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod),"
    "        a.attnotnull::text, (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '')::text, a.attnum::int,"
    "        (a.attcollation NOT IN (0, 100))::text"
    " FROM wanted w JOIN pg_catalog.pg_attribute a ON a.attrelid = w.oid AND a.attnum > 0 AND NOT a.attisdropped"
    " UNION ALL"
    " SELECT w.s, w.t, 'p', a.attname::text, NULL, NULL, NULL, 0, NULL"
    " FROM wanted w JOIN pg_catalog.pg_constraint k ON k.conrelid = w.oid AND k.contype = 'p'"
    "      AND cardinality(k.conkey) = 1"
    " JOIN pg_catalog.pg_attribute a ON a.attrelid = w.oid AND a.attnum = k.conkey[1]"
    " UNION ALL"
    " SELECT w.s, w.t, 'f', k.conname::text, a.attname::text, rn.nspname::text, rc.relname::text || '.' || ra.attname, 0, NULL"
    " FROM wanted w JOIN pg_catalog.pg_constraint k ON k.conrelid = w.oid AND k.contype = 'f'"
    "      AND cardinality(k.conkey) = 1"
    " JOIN pg_catalog.pg_attribute a ON a.attrelid = w.oid AND a.attnum = k.conkey[1]"
    " JOIN pg_catalog.pg_class rc ON rc.oid = k.confrelid"
    " JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace"
    " JOIN pg_catalog.pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = k.confkey[1]"
    " UNION ALL"
    " SELECT w.s, w.t, 'u', ic.relname::text,"
    "        (SELECT string_agg(a.attname::text, E'\\x1f' ORDER BY o.n) FROM unnest(i.indkey) WITH ORDINALITY AS o(attnum, n)"
    "         JOIN pg_catalog.pg_attribute a ON a.attrelid = w.oid AND a.attnum = o.attnum), NULL, NULL, 0, NULL"
    " FROM wanted w JOIN pg_catalog.pg_index i ON i.indrelid = w.oid AND i.indisunique AND NOT i.indisprimary"
    "      AND i.indexprs IS NULL AND i.indpred IS NULL"
    " JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
    " UNION ALL"
    " SELECT w.s, w.t, 'k', k.conname::text, pg_catalog.pg_get_constraintdef(k.oid), NULL, NULL, 0, NULL"
    " FROM wanted w JOIN pg_catalog.pg_constraint k ON k.conrelid = w.oid AND k.contype = 'c'"
    " ORDER BY 1, 2, 3, 8, 4";

static void split_name(const char *qualified, char **schema, char **table)
{
    const char *dot = strchr(qualified, '.');
    if (dot) {
        *schema = alloc_check(strndup(qualified, (size_t) (dot - qualified)));
        *table = alloc_strdup(dot + 1);
    } else {
        *schema = alloc_strdup("public");
        *table = alloc_strdup(qualified);
    }
}

static void add_name(strbuf *schemas, strbuf *tables, const char *schema, const char *table)
{
    /* array literal elements, double-quoted with \ and " escaped */
    strbuf *targets[2] = {schemas, tables};
    const char *values[2] = {schema, table};
    for (int i = 0; i < 2; i++) {
        strbuf_append(targets[i], targets[i]->length > 1 ? ",\"" : "\"");
        for (const char *p = values[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                strbuf_append_char(targets[i], '\\');
            strbuf_append_char(targets[i], *p);
        }
        strbuf_append_char(targets[i], '"');
    }
}

static void add_qualified(strbuf *schemas, strbuf *tables, const char *qualified)
{
    char *schema, *table;
    split_name(qualified, &schema, &table);
    add_name(schemas, tables, schema, table);
    free(schema);
    free(table);
}

static decl_table *table_for(decl_catalog *catalog, const char *schema, const char *name)
{
    if (catalog->table_count > 0) {
        decl_table *last = &catalog->tables[catalog->table_count - 1];
        if (strcmp(last->schema, schema) == 0 && strcmp(last->name, name) == 0)
            return last;
    }
    catalog->tables = alloc_array(catalog->tables, catalog->table_count + 1, sizeof *catalog->tables);
    decl_table *table = &catalog->tables[catalog->table_count++];
    memset(table, 0, sizeof *table);
    table->schema = alloc_strdup(schema);
    table->name = alloc_strdup(name);
    return table;
}

static char **split_columns(const char *text)
{
    size_t count = 1;
    for (const char *p = text; *p; p++)
        count += *p == '\x1f';
    char **columns = alloc_calloc(count + 1, sizeof *columns);
    size_t i = 0;
    for (const char *p = text;; i++) {
        const char *end = strchr(p, '\x1f');
        if (!end) {
            columns[i] = alloc_strdup(p);
            break;
        }
        columns[i] = alloc_check(strndup(p, (size_t) (end - p)));
        p = end + 1;
    }
    return columns;
}

static void add_row(decl_table *table, const PGresult *result, int row)
{
    const char *kind = PQgetvalue(result, row, 2);
    const char *a = PQgetvalue(result, row, 3), *b = PQgetvalue(result, row, 4);
    switch (kind[0]) {
    case 'c': {
        table->columns = alloc_array(table->columns, table->column_count + 1, sizeof *table->columns);
        decl_column *column = &table->columns[table->column_count++];
        column->name = alloc_strdup(a);
        column->type = alloc_strdup(b);
        column->not_null = strcmp(PQgetvalue(result, row, 5), "true") == 0;
        column->has_default = strcmp(PQgetvalue(result, row, 6), "true") == 0;
        column->other_collation = strcmp(PQgetvalue(result, row, 8), "true") == 0;
        break;
    }
    case 'p': {
        table->key = alloc_strdup(a);
        const decl_column *column = decl_table_column(table, a);
        static const char *const supported[] = {"uuid", "bigint", "integer", "text"};
        for (size_t i = 0; column && i < 4; i++)
            if (strcmp(column->type, supported[i]) == 0)
                table->key_type = alloc_strdup(supported[i]);
        break;
    }
    case 'f': {
        table->foreign_keys = alloc_array(table->foreign_keys, table->foreign_key_count + 1,
                                          sizeof *table->foreign_keys);
        decl_foreign_key *fk = &table->foreign_keys[table->foreign_key_count++];
        fk->name = alloc_strdup(a);
        fk->column = alloc_strdup(b);
        fk->ref_schema = alloc_strdup(PQgetvalue(result, row, 5));
        const char *qualified = PQgetvalue(result, row, 6);
        const char *dot = strrchr(qualified, '.');
        fk->ref_table = alloc_check(strndup(qualified, (size_t) (dot - qualified)));
        fk->ref_column = alloc_strdup(dot + 1);
        break;
    }
    case 'u': {
        table->uniques = alloc_array(table->uniques, table->unique_count + 1, sizeof *table->uniques);
        decl_unique *unique = &table->uniques[table->unique_count++];
        unique->name = alloc_strdup(a);
        unique->columns = split_columns(b);
        break;
    }
    case 'k': {
        table->checks = alloc_array(table->checks, table->check_count + 1, sizeof *table->checks);
        decl_check_constraint *check = &table->checks[table->check_count++];
        check->name = alloc_strdup(a);
        check->definition = alloc_strdup(b);
        break;
    }
    }
}

decl_catalog *decl_catalog_load(PGconn *conn, const decl_model *model, char *error, size_t error_size)
{
    strbuf schemas = STRBUF_INIT, tables = STRBUF_INIT;
    strbuf_append(&schemas, "{");
    strbuf_append(&tables, "{");
    for (size_t i = 0; i < model->type_count; i++) {
        const decl_type *type = &model->types[i];
        add_name(&schemas, &tables, type->source_schema, type->source_table);
        for (size_t f = 0; f < type->field_count; f++) {
            if (type->fields[f].through)
                add_qualified(&schemas, &tables, type->fields[f].through);
            if (type->fields[f].from)
                add_qualified(&schemas, &tables, type->fields[f].from);
        }
    }
    strbuf_append(&schemas, "}");
    strbuf_append(&tables, "}");
    const char *values[2] = {strbuf_text(&schemas), strbuf_text(&tables)};
    PGresult *result = PQexecParams(conn, catalog_query, 2, NULL, values, NULL, NULL, 0);
    strbuf_free(&schemas);
    strbuf_free(&tables);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        const char *message = PQresultErrorMessage(result);
        snprintf(error, error_size, "reading the tables the declarations name: %.*s",
                 (int) strcspn(message, "\n"), message);
        PQclear(result);
        return NULL;
    }
    decl_catalog *catalog = alloc_calloc(1, sizeof *catalog);
    for (int row = 0; row < PQntuples(result); row++)
        add_row(table_for(catalog, PQgetvalue(result, row, 0), PQgetvalue(result, row, 1)), result, row);
    PQclear(result);
    return catalog;
}

void decl_catalog_free(decl_catalog *catalog)
{
    if (!catalog)
        return;
    for (size_t i = 0; i < catalog->table_count; i++) {
        decl_table *t = &catalog->tables[i];
        for (size_t c = 0; c < t->column_count; c++) {
            free(t->columns[c].name);
            free(t->columns[c].type);
        }
        for (size_t c = 0; c < t->foreign_key_count; c++) {
            free(t->foreign_keys[c].name);
            free(t->foreign_keys[c].column);
            free(t->foreign_keys[c].ref_schema);
            free(t->foreign_keys[c].ref_table);
            free(t->foreign_keys[c].ref_column);
        }
        for (size_t c = 0; c < t->unique_count; c++) {
            free(t->uniques[c].name);
            for (char **p = t->uniques[c].columns; *p; p++)
                free(*p);
            free(t->uniques[c].columns);
        }
        for (size_t c = 0; c < t->check_count; c++) {
            free(t->checks[c].name);
            free(t->checks[c].definition);
        }
        free(t->columns);
        free(t->foreign_keys);
        free(t->uniques);
        free(t->checks);
        free(t->schema);
        free(t->name);
        free(t->key);
        free(t->key_type);
    }
    free(catalog->tables);
    free(catalog);
}

const decl_table *decl_catalog_table(const decl_catalog *catalog, const char *schema, const char *name)
{
    for (size_t i = 0; i < catalog->table_count; i++)
        if (strcmp(catalog->tables[i].schema, schema) == 0 && strcmp(catalog->tables[i].name, name) == 0)
            return &catalog->tables[i];
    return NULL;
}

const decl_column *decl_table_column(const decl_table *table, const char *name)
{
    for (size_t i = 0; i < table->column_count; i++)
        if (strcmp(table->columns[i].name, name) == 0)
            return &table->columns[i];
    return NULL;
}

const decl_foreign_key *decl_table_foreign_key(const decl_table *table, const char *column, const char *ref_schema,
                                               const char *ref_table)
{
    for (size_t i = 0; i < table->foreign_key_count; i++) {
        const decl_foreign_key *fk = &table->foreign_keys[i];
        if (strcmp(fk->column, column) == 0 && strcmp(fk->ref_schema, ref_schema) == 0
            && strcmp(fk->ref_table, ref_table) == 0)
            return fk;
    }
    return NULL;
}

/* ------------------------------------------------------------------ checks */

typedef struct checker {
    const decl_model *model;
    const decl_catalog *catalog;
    char *error;
    size_t error_size;
} checker;

__attribute__((format(printf, 3, 4)))
static bool fail(const checker *c, uint32_t line, const char *format, ...)
{
    int n = snprintf(c->error, c->error_size, "%s:%u: ", c->model->path, line);
    if (n >= 0 && (size_t) n < c->error_size) {
        va_list args;
        va_start(args, format);
        vsnprintf(c->error + n, c->error_size - (size_t) n, format, args);
        va_end(args);
    }
    return false;
}

/* The generated SQL writes names as they are: a name that would need quotes is refused. */
static bool plain_identifier(const char *name)
{
    static const char *const reserved[] = {
        "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization", "binary",
        "both", "case", "cast", "check", "collate", "collation", "column", "concurrently", "constraint", "create",
        "cross", "current_catalog", "current_date", "current_role", "current_schema", "current_time",
        "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do", "else", "end",
        "except", "false", "fetch", "for", "foreign", "freeze", "from", "full", "grant", "group", "having", "ilike",
        "in", "initially", "inner", "intersect", "into", "is", "isnull", "join", "lateral", "leading", "left", "like",
        "limit", "localtime", "localtimestamp", "natural", "not", "notnull", "null", "offset", "on", "only", "or",
        "order", "outer", "overlaps", "placing", "primary", "references", "returning", "right", "select",
        "session_user", "similar", "some", "symmetric", "table", "tablesample", "then", "to", "trailing", "true",
        "union", "unique", "user", "using", "variadic", "verbose", "when", "where", "window", "with"};
    if (!((*name >= 'a' && *name <= 'z') || *name == '_'))
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcmp(name, reserved[i]) == 0)
            return false;
    return true;
}

static bool plain_names(const checker *c, uint32_t line, const char *what, const char *a, const char *b)
{
    const char *bad = !plain_identifier(a) ? a : b && !plain_identifier(b) ? b : NULL;
    if (!bad)
        return true;
    return fail(c, line, "%s: \"%s\" would need quotes in SQL (declarations take plain lower-case names that are "
                "not reserved words: rename it)", what, bad);
}

/* The table named "table" or "schema.table", or NULL after writing the error. */
static const decl_table *named_table(const checker *c, uint32_t line, const char *qualified, const char *what)
{
    char *schema, *name;
    split_name(qualified, &schema, &name);
    const decl_table *table = decl_catalog_table(c->catalog, schema, name);
    if (!table)
        fail(c, line, "%s: unknown table %s.%s (create it in an earlier migration of the set, or fix the name)", what,
             schema, name);
    else if (!plain_names(c, line, what, schema, name))
        table = NULL;
    free(schema);
    free(name);
    return table;
}

static bool has_column(const checker *c, uint32_t line, const decl_table *table, const char *column,
                       const char *what)
{
    if (decl_table_column(table, column))
        return plain_names(c, line, what, column, NULL);
    return fail(c, line, "%s: %s.%s has no column %s (fix the name, or add the column)", what, table->schema,
                table->name, column);
}

static const decl_table *source_of(const checker *c, const decl_type *type)
{
    return decl_catalog_table(c->catalog, type->source_schema, type->source_table);
}

static bool is_fk(const checker *c, uint32_t line, const decl_table *from, const char *column,
                  const decl_table *to, const char *what)
{
    if (!has_column(c, line, from, column, what))
        return false;
    if (decl_table_foreign_key(from, column, to->schema, to->name))
        return true;
    return fail(c, line, "%s: %s.%s.%s is not a foreign key to %s.%s (add the FOREIGN KEY, or name the column that is one)",
                what, from->schema, from->name, column, to->schema, to->name);
}

static bool check_field(const checker *c, const decl_type *type, const decl_table *source, const decl_field *f)
{
    char what[512];
    snprintf(what, sizeof what, "%s.%s", type->name, f->name);
    switch (f->kind) {
    case DECL_FIELD_COLUMN:
        if (strcmp(f->name, "id") == 0) {
            if (f->column && strcmp(f->column, source->key) != 0)
                return fail(c, f->line, "%s: id is the key %s of %s.%s, not %s (remove @column)", what, source->key,
                            source->schema, source->name, f->column);
            return true;
        }
        return has_column(c, f->line, source, f->column, what);
    case DECL_FIELD_REF:
        return is_fk(c, f->line, source, f->via, source_of(c, f->target_type), what);
    case DECL_FIELD_MANY: {
        const decl_table *target = source_of(c, f->target_type);
        if (!f->through)
            return is_fk(c, f->line, target, f->via, source, what);
        const decl_table *through = named_table(c, f->line, f->through, what);
        return through && is_fk(c, f->line, through, f->via, source, what)
               && is_fk(c, f->line, through, f->target, target, what);
    }
    case DECL_FIELD_AGGREGATE: {
        const decl_table *from = named_table(c, f->line, f->from, what);
        return from && is_fk(c, f->line, from, f->via, source, what)
               && (!f->column || has_column(c, f->line, from, f->column, what));
    }
    case DECL_FIELD_EXPR:
        return true;
    }
    return true;
}

static bool check_type(const checker *c, const decl_type *type)
{
    const decl_table *source = source_of(c, type);
    if (!source)
        return fail(c, type->line, "%s: unknown table %s.%s (create it in an earlier migration of the set, or fix source)",
                    type->name, type->source_schema, type->source_table);
    if (!plain_names(c, type->line, type->name, source->schema, source->name))
        return false;
    if (!source->key)
        return fail(c, type->line, "%s: %s.%s has no one-column primary key (a read model's source needs one)",
                    type->name, source->schema, source->name);
    if (!source->key_type)
        return fail(c, type->line, "%s: the key %s.%s.%s is %s, not uuid, bigint, integer or text (change its type)",
                    type->name, source->schema, source->name, source->key,
                    decl_table_column(source, source->key)->type);
    if (type->entity && strcmp(source->key, "id") != 0)
        return fail(c, type->line, "%s: the key of %s.%s is %s; tvsync entities' keys are named id (rename the column)",
                    type->name, source->schema, source->name, source->key);
    return true;
}

static bool check_fields(const checker *c, const decl_type *type)
{
    for (size_t f = 0; f < type->field_count; f++)
        if (!check_field(c, type, source_of(c, type), &type->fields[f]))
            return false;
    return true;
}

/* Depth-first over @ref/@many: a type met again while still on the path embeds itself. */
static bool check_cycle(const checker *c, const decl_type *type, unsigned char *state)
{
    size_t index = (size_t) (type - c->model->types);
    if (state[index] == 2)
        return true;
    state[index] = 1;
    for (size_t f = 0; f < type->field_count; f++) {
        const decl_field *field = &type->fields[f];
        if (!field->target_type)
            continue;
        size_t target = (size_t) (field->target_type - c->model->types);
        if (state[target] == 1)
            return fail(c, field->line, "%s.%s: %s embeds itself through %s (a document cannot contain itself: "
                        "embed a smaller @embedded type here)", type->name, field->name, field->target_type->name,
                        field->name);
        if (!check_cycle(c, field->target_type, state))
            return false;
    }
    state[index] = 2;
    return true;
}

bool decl_catalog_check(const decl_model *model, const decl_catalog *catalog, char *error, size_t error_size)
{
    checker c = {model, catalog, error, error_size};
    for (size_t i = 0; i < model->type_count; i++) {
        const decl_type *type = &model->types[i];
        for (size_t k = 0; type->entity && k < i; k++)
            if (model->types[k].entity && strcmp(model->types[k].entity_name, type->entity_name) == 0)
                return fail(&c, type->line, "%s: entity name %s is also %s's (give one @entity(name: \"...\"))",
                            type->name, type->entity_name, model->types[k].name);
        if (!check_type(&c, type))
            return false;
    }
    /* fields after every type's source is known: a field reads the source of the type it names */
    for (size_t i = 0; i < model->type_count; i++)
        if (!check_fields(&c, &model->types[i]))
            return false;
    unsigned char *state = alloc_calloc(model->type_count + 1, 1);
    bool ok = true;
    for (size_t i = 0; ok && i < model->type_count; i++)
        ok = check_cycle(&c, &model->types[i], state);
    free(state);
    return ok;
}
