/* decl_sql: the read models' SQL a checked model needs (tv_* tables, indexes, build functions,
 * registry rows, grants), as named objects; the cascades are decl_cascade's part of it. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "declare/decl_sql.h"
#include "declare/decl_cascade.h"
#include "declare/decl_patch.h"

void decl_objects_add(decl_objects *objects, const char *key, const char *sql, const char *rebuild)
{
    if (objects->count == objects->capacity) {
        objects->capacity = objects->capacity ? objects->capacity * 2 : 16;
        objects->items = alloc_array(objects->items, objects->capacity, sizeof *objects->items);
    }
    decl_object *object = &objects->items[objects->count++];
    object->key = alloc_strdup(key);
    object->sql = alloc_strdup(sql);
    object->rebuild = rebuild ? alloc_strdup(rebuild) : NULL;
}

void decl_objects_free(decl_objects *objects)
{
    for (size_t i = 0; i < objects->count; i++) {
        free(objects->items[i].key);
        free(objects->items[i].sql);
        free(objects->items[i].rebuild);
    }
    free(objects->items);
    memset(objects, 0, sizeof *objects);
}

/* Two types reading the same foreign key need its index once. */
static bool has_key(const decl_objects *objects, const char *key)
{
    for (size_t i = 0; i < objects->count; i++)
        if (strcmp(objects->items[i].key, key) == 0)
            return true;
    return false;
}

void decl_sql_add_once(decl_objects *objects, const char *key, const char *sql)
{
    if (!has_key(objects, key))
        decl_objects_add(objects, key, sql, NULL);
}

const decl_table *decl_sql_table(const decl_catalog *catalog, const char *qualified)
{
    const char *dot = strchr(qualified, '.');
    if (!dot)
        return decl_catalog_table(catalog, "public", qualified);
    char *schema = alloc_check(strndup(qualified, (size_t) (dot - qualified)));
    const decl_table *table = decl_catalog_table(catalog, schema, dot + 1);
    free(schema);
    return table;
}

const decl_table *decl_sql_source(const decl_catalog *catalog, const decl_type *type)
{
    return decl_catalog_table(catalog, type->source_schema, type->source_table);
}

void decl_sql_index_named(decl_objects *out, const char *schema, const char *name, const char *sql)
{
    strbuf key = STRBUF_INIT;
    strbuf_appendf(&key, "index %s.%s", schema, name);
    decl_sql_add_once(out, key.data, sql);
    strbuf_free(&key);
}

void decl_sql_index(decl_objects *out, const decl_table *table, const char *column)
{
    if (table->key && strcmp(column, table->key) == 0)
        return;
    strbuf name = STRBUF_INIT, sql = STRBUF_INIT;
    strbuf_appendf(&name, "%s_%s", table->name, column);
    /* PostgreSQL cuts names at 63 bytes; the name only has to be the same every run */
    if (name.length > 59)
        strbuf_set_length(&name, 59);
    strbuf_append(&name, "_idx");
    /* an index the table already has on the column (first) serves the lookups: a second one
     * would only slow the writes */
    strbuf_appendf(&sql,
                   "DO $tvsync$\n"
                   "BEGIN\n"
                   "    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i\n"
                   "                   JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]\n"
                   "                   WHERE i.indrelid = '%s.%s'::regclass AND a.attname = '%s') THEN\n"
                   "        CREATE INDEX IF NOT EXISTS %s ON %s.%s (%s);\n"
                   "    END IF;\n"
                   "END\n"
                   "$tvsync$;\n",
                   table->schema, table->name, column, name.data, table->schema, table->name, column);
    decl_sql_index_named(out, table->schema, name.data, sql.data);
    strbuf_free(&name);
    strbuf_free(&sql);
}

/* An index on table (columns...), unless one already starts with those columns in that order:
 * a window's rows (@many first/last) read in order through it, LIMIT stopping at K. */
static void index_on_columns(decl_objects *out, const decl_table *table, const char *const *columns, size_t count)
{
    strbuf name = STRBUF_INIT, list = STRBUF_INIT, match = STRBUF_INIT, sql = STRBUF_INIT;
    strbuf_append(&name, table->name);
    for (size_t i = 0; i < count; i++) {
        strbuf_appendf(&name, "_%s", columns[i]);
        strbuf_appendf(&list, "%s%s", i ? ", " : "", columns[i]);
        strbuf_appendf(&match,
                       "\n                     AND i.indkey[%zu] = (SELECT a.attnum FROM pg_catalog.pg_attribute a\n"
                       "                                         WHERE a.attrelid = i.indrelid AND a.attname = '%s')",
                       i, columns[i]);
    }
    if (name.length > 59)
        strbuf_set_length(&name, 59);
    strbuf_append(&name, "_idx");
    strbuf_appendf(&sql,
                   "DO $tvsync$\n"
                   "BEGIN\n"
                   "    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i\n"
                   "                   WHERE i.indrelid = '%s.%s'::regclass AND i.indnkeyatts >= %zu%s) THEN\n"
                   "        CREATE INDEX IF NOT EXISTS %s ON %s.%s (%s);\n"
                   "    END IF;\n"
                   "END\n"
                   "$tvsync$;\n",
                   table->schema, table->name, count, match.data, name.data, table->schema, table->name, list.data);
    decl_sql_index_named(out, table->schema, name.data, sql.data);
    strbuf_free(&name);
    strbuf_free(&list);
    strbuf_free(&match);
    strbuf_free(&sql);
}

/* The index a window of f's rows (of target, through f->via) is read in order through: via,
 * then orderBy's columns; none when orderBy is an expression (first: only). */
static void window_index(decl_objects *out, const decl_field *f, const decl_table *target)
{
    char names[8][DECL_MAX_ORDER_COLUMN];
    const char *columns[9] = {f->via};
    size_t count = 1;
    for (const char *item = f->order_by; item && *item;) {
        size_t length = strcspn(item, ",");
        bool desc, nulls_first;
        if (count == 9 || !decl_model_order_item(item, length, names[count - 1], &desc, &nulls_first))
            return;
        columns[count] = names[count - 1];
        count++;
        item += length;
        if (*item == ',')
            item++;
    }
    if (!f->order_by) {
        columns[count++] = target->key;
    }
    index_on_columns(out, target, columns, count);
}

/* ------------------------------------------------------------------ build functions */

typedef struct builder {
    const decl_catalog *catalog;
    decl_objects *out;
    int alias;                   /* next table alias number */
    int depth;                   /* of the object being written, for its indentation */
    const decl_table *read[64];  /* the tables the function reads, for tvsync_cdc's grants */
    size_t read_count;
    /* root fields read from a shared LATERAL subquery: field, its alias number, its column */
    struct shared_field {
        const decl_field *field;
        int alias, column;
    } shared[64];
    size_t shared_count;
    /* a patch function's: the table whose rows changed ($2), whose top-level lists are
     * patched from the old document (alias old) rather than built; else NULL */
    const decl_table *patch_rows;
} builder;

static void note_read(builder *b, const decl_table *table)
{
    for (size_t i = 0; i < b->read_count; i++)
        if (b->read[i] == table)
            return;
    if (b->read_count < sizeof b->read / sizeof b->read[0])
        b->read[b->read_count++] = table;
}

static void append_object(builder *b, strbuf *sql, const decl_type *type, const decl_table *table, int alias);
static void append_field(builder *b, strbuf *sql, const decl_field *f, const decl_table *table, int alias);

static void append_column(strbuf *sql, const decl_field *f, const decl_table *table, int alias)
{
    const char *name = f->column ? f->column : table->key;
    const decl_column *column = decl_table_column(table, name);
    const char *type = column ? column->type : "";
    if (strcmp(type, "timestamp with time zone") == 0)
        strbuf_appendf(sql, "tvsync.iso_time(t%d.%s)", alias, name);
    else if (strcmp(f->graphql_type, "ID") == 0 && strcmp(type, "text") != 0 && strcmp(type, "uuid") != 0)
        /* an ID is a string; a bigint above 2^53 keeps every digit */
        strbuf_appendf(sql, "t%d.%s::text", alias, name);
    else
        strbuf_appendf(sql, "t%d.%s", alias, name);
}

bool decl_sql_reverse_order(const char *order_by, const char *key, strbuf *out)
{
    strbuf sql = STRBUF_INIT;
    for (const char *item = order_by; item && *item;) {
        size_t length = strcspn(item, ",");
        char column[DECL_MAX_ORDER_COLUMN];
        bool desc, nulls_first;
        if (!decl_model_order_item(item, length, column, &desc, &nulls_first)) {
            strbuf_free(&sql);
            return false;
        }
        strbuf_appendf(&sql, "%s %s NULLS %s, ", column, desc ? "ASC" : "DESC", nulls_first ? "LAST" : "FIRST");
        item += length;
        if (*item == ',')
            item++;
    }
    strbuf_appendf(&sql, "%s DESC", key);
    strbuf_append(out, sql.data);
    strbuf_free(&sql);
    return true;
}

static void append_order(strbuf *sql, const decl_field *f, const decl_table *target, int alias)
{
    strbuf_append(sql, " ORDER BY ");
    if (f->order_by)
        strbuf_appendf(sql, "%s, ", f->order_by);
    strbuf_appendf(sql, "t%d.%s", alias, target->key);
}

/* The condition on tN (target's rows) that a @many field's rows meet: they point at the row
 * of table aliased t<alias>, directly or through the association table. */
static void append_many_rows(builder *b, strbuf *sql, const decl_field *f, const decl_table *table, int alias,
                             const decl_table *target, int n)
{
    if (!f->through) {
        const decl_foreign_key *fk = decl_table_foreign_key(target, f->via, table->schema, table->name);
        decl_sql_index(b->out, target, f->via);
        strbuf_appendf(sql, "t%d.%s = t%d.%s", n, f->via, alias, fk->ref_column);
    } else {
        const decl_table *through = decl_sql_table(b->catalog, f->through);
        const decl_foreign_key *via = decl_table_foreign_key(through, f->via, table->schema, table->name);
        const decl_foreign_key *to = decl_table_foreign_key(through, f->target, target->schema, target->name);
        int x = b->alias++;
        note_read(b, through);
        decl_sql_index(b->out, through, f->via);
        decl_sql_index(b->out, through, f->target);
        strbuf_appendf(sql, "t%d.%s IN (SELECT t%d.%s FROM %s.%s t%d WHERE t%d.%s = t%d.%s)", n,
                       to->ref_column, x, f->target, through->schema, through->name, x, x, f->via, alias,
                       via->ref_column);
    }
}

/* A top-level list of the changed rows' table in a patch function: the old document's list
 * patched with the changed rows that belong here now, built as the build builds them; the
 * whole list as the build has it when the old document has none. */
static void append_patched_list(builder *b, strbuf *sql, const decl_field *f, const decl_table *table,
                                const decl_table *target)
{
    strbuf order_spec = STRBUF_INIT, key_field = STRBUF_INIT, why = STRBUF_INIT;
    /* add_patch writes a patch function only when every such list passed this */
    decl_patch_list(b->catalog, f, target, &order_spec, &key_field, &why);
    int n = b->alias++;
    note_read(b, target);
    strbuf_appendf(sql, "coalesce(tvsync.patch_list(old.data -> '%s', $2::text[],\n%*s(SELECT coalesce(jsonb_agg(",
                   f->name, 15 + 4 * b->depth, "");
    append_object(b, sql, f->target_type, target, n);
    strbuf_appendf(sql, "), '[]'::jsonb) FROM %s.%s t%d WHERE t%d.%s = ANY ($2) AND ", target->schema, target->name, n,
                   n, target->key);
    append_many_rows(b, sql, f, table, 0, target, n);
    strbuf_appendf(sql, "),\n%*s'%s', '%s'::jsonb),\n%*s", 15 + 4 * b->depth, "", key_field.data,
                   order_spec.data, 15 + 4 * b->depth, "");
    const decl_table *rows = b->patch_rows;
    b->patch_rows = NULL;
    append_field(b, sql, f, table, 0);
    b->patch_rows = rows;
    strbuf_append(sql, ")");
    strbuf_free(&order_spec);
    strbuf_free(&key_field);
    strbuf_free(&why);
}

static void append_field(builder *b, strbuf *sql, const decl_field *f, const decl_table *table, int alias)
{
    for (size_t i = 0; alias == 0 && i < b->shared_count; i++) {
        const struct shared_field *s = &b->shared[i];
        if (s->field != f)
            continue;
        if (f->kind == DECL_FIELD_MANY)
            strbuf_appendf(sql, "coalesce(l%d.v%d, '[]'::jsonb)", s->alias, s->column);
        else if (f->aggregate == DECL_SUM && f->non_null)
            strbuf_appendf(sql, "coalesce(l%d.v%d, 0)", s->alias, s->column);
        else
            strbuf_appendf(sql, "l%d.v%d", s->alias, s->column);
        return;
    }
    switch (f->kind) {
    case DECL_FIELD_COLUMN:
        append_column(sql, f, table, alias);
        return;
    case DECL_FIELD_EXPR:
        strbuf_appendf(sql, "(%s)", f->sql);
        return;
    case DECL_FIELD_REF: {
        const decl_table *target = decl_sql_source(b->catalog, f->target_type);
        const decl_foreign_key *fk = decl_table_foreign_key(table, f->via, target->schema, target->name);
        int n = b->alias++;
        decl_sql_index(b->out, table, f->via);
        note_read(b, target);
        strbuf_append(sql, "(SELECT ");
        append_object(b, sql, f->target_type, target, n);
        strbuf_appendf(sql, " FROM %s.%s t%d WHERE t%d.%s = t%d.%s)", target->schema, target->name, n, n,
                       fk->ref_column, alias, f->via);
        return;
    }
    case DECL_FIELD_MANY: {
        const decl_table *target = decl_sql_source(b->catalog, f->target_type);
        if (alias == 0 && target == b->patch_rows) {
            append_patched_list(b, sql, f, table, target);
            return;
        }
        int n = b->alias++;
        note_read(b, target);
        strbuf_append(sql, "coalesce((SELECT jsonb_agg(");
        append_object(b, sql, f->target_type, target, n);
        append_order(sql, f, target, n);
        if (!f->window) {
            strbuf_appendf(sql, ") FROM %s.%s t%d WHERE ", target->schema, target->name, n);
            append_many_rows(b, sql, f, table, alias, target, n);
        } else {
            /* the window's rows first (an index on via and the order reads only them), then
             * listed in order like any list */
            strbuf_appendf(sql, ") FROM (SELECT t%d.* FROM %s.%s t%d WHERE ", n, target->schema, target->name, n);
            append_many_rows(b, sql, f, table, alias, target, n);
            if (!f->through)
                window_index(b->out, f, target);
            if (f->window_last) {
                strbuf key = STRBUF_INIT;
                strbuf_appendf(&key, "t%d.%s", n, target->key);
                strbuf_append(sql, " ORDER BY ");
                decl_sql_reverse_order(f->order_by, key.data, sql); /* decl_model checked the form */
                strbuf_free(&key);
            } else {
                append_order(sql, f, target, n);
            }
            strbuf_appendf(sql, " LIMIT %u) t%d", f->window, n);
        }
        strbuf_append(sql, "), '[]'::jsonb)");
        return;
    }
    case DECL_FIELD_AGGREGATE: {
        const decl_table *from = decl_sql_table(b->catalog, f->from);
        const decl_foreign_key *fk = decl_table_foreign_key(from, f->via, table->schema, table->name);
        int n = b->alias++;
        note_read(b, from);
        decl_sql_index(b->out, from, f->via);
        static const char *const functions[] = {"count", "sum", "min", "max"};
        bool zero = f->aggregate == DECL_SUM && f->non_null;
        strbuf_append(sql, "(SELECT ");
        if (zero)
            strbuf_append(sql, "coalesce(");
        if (f->aggregate == DECL_COUNT)
            strbuf_append(sql, "count(*)");
        else
            strbuf_appendf(sql, "%s(t%d.%s)", functions[f->aggregate], n, f->column);
        if (zero)
            strbuf_append(sql, ", 0)");
        strbuf_appendf(sql, " FROM %s.%s t%d WHERE t%d.%s = t%d.%s", from->schema, from->name, n, n, f->via, alias,
                       fk->ref_column);
        if (f->where)
            strbuf_appendf(sql, " AND (%s)", f->where);
        strbuf_append(sql, ")");
        return;
    }
    }
}

static void append_object(builder *b, strbuf *sql, const decl_type *type, const decl_table *table, int alias)
{
    note_read(b, table);
    strbuf_append(sql, "jsonb_build_object(");
    b->depth++;
    for (size_t i = 0; i < type->field_count; i++) {
        strbuf_appendf(sql, "%s\n%*s'%s', ", i ? "," : "", 11 + 4 * b->depth, "", type->fields[i].name);
        append_field(b, sql, &type->fields[i], table, alias);
    }
    b->depth--;
    strbuf_append(sql, ")");
}

/* A list and the aggregates of the same rows (a post's comments and their count) read them
 * once, in one LATERAL subquery of the root row, rather than once each. */
static bool shareable(const decl_field *f)
{
    /* a window's rows are not all the rows its siblings count */
    return (f->kind == DECL_FIELD_MANY && !f->through && !f->window) || (f->kind == DECL_FIELD_AGGREGATE && !f->where);
}

static const decl_table *rows_table(const builder *b, const decl_field *f)
{
    return f->kind == DECL_FIELD_MANY ? decl_sql_source(b->catalog, f->target_type) : decl_sql_table(b->catalog, f->from);
}

static void append_laterals(builder *b, strbuf *sql, const decl_type *type, const decl_table *source)
{
    for (size_t i = 0; i < type->field_count; i++) {
        const decl_field *f = &type->fields[i];
        bool taken = false;
        for (size_t k = 0; k < b->shared_count; k++)
            taken = taken || b->shared[k].field == f;
        if (!shareable(f) || taken)
            continue;
        const decl_table *rows = rows_table(b, f);
        size_t members = 0;
        for (size_t j = i; j < type->field_count; j++)
            members += shareable(&type->fields[j]) && rows_table(b, &type->fields[j]) == rows
                       && strcmp(type->fields[j].via, f->via) == 0;
        if (members < 2 || b->shared_count + members > sizeof b->shared / sizeof b->shared[0])
            continue;
        int n = b->alias++, column = 0;
        note_read(b, rows);
        decl_sql_index(b->out, rows, f->via);
        strbuf_append(sql, "    LEFT JOIN LATERAL (\n        SELECT ");
        for (size_t j = i; j < type->field_count; j++) {
            const decl_field *g = &type->fields[j];
            if (!shareable(g) || rows_table(b, g) != rows || strcmp(g->via, f->via) != 0)
                continue;
            b->shared[b->shared_count++] = (struct shared_field){g, n, column};
            strbuf_append(sql, column ? ",\n               " : "");
            if (g->kind == DECL_FIELD_MANY) {
                strbuf_append(sql, "jsonb_agg(");
                b->depth++;
                append_object(b, sql, g->target_type, rows, n);
                b->depth--;
                append_order(sql, g, rows, n);
                strbuf_append(sql, ")");
            } else if (g->aggregate == DECL_COUNT) {
                strbuf_append(sql, "count(*)");
            } else {
                static const char *const functions[] = {"count", "sum", "min", "max"};
                strbuf_appendf(sql, "%s(t%d.%s)", functions[g->aggregate], n, g->column);
            }
            strbuf_appendf(sql, " AS v%d", column++);
        }
        const decl_foreign_key *fk = decl_table_foreign_key(rows, f->via, source->schema, source->name);
        strbuf_appendf(sql, "\n        FROM %s.%s t%d WHERE t%d.%s = t0.%s\n    ) AS l%d ON true\n", rows->schema,
                       rows->name, n, n, f->via, fk->ref_column, n);
    }
}

/* The grants a function reading b's tables needs for tvsync_cdc. */
static void append_read_grants(strbuf *sql, const builder *b)
{
    for (size_t i = 0; i < b->read_count; i++) {
        bool granted = false;
        for (size_t j = 0; j < i; j++)
            granted = granted || strcmp(b->read[j]->schema, b->read[i]->schema) == 0;
        if (!granted)
            strbuf_appendf(sql, "GRANT USAGE ON SCHEMA %s TO tvsync_cdc;\n", b->read[i]->schema);
    }
    strbuf_append(sql, "GRANT SELECT ON ");
    for (size_t i = 0; i < b->read_count; i++)
        strbuf_appendf(sql, "%s%s.%s", i ? ", " : "", b->read[i]->schema, b->read[i]->name);
    strbuf_append(sql, " TO tvsync_cdc;\n");
}

static void add_entity(const decl_catalog *catalog, const decl_type *type, decl_objects *out)
{
    const decl_table *source = decl_sql_source(catalog, type);
    const char *schema = source->schema, *name = type->entity_name, *k = source->key_type;
    strbuf key = STRBUF_INIT, sql = STRBUF_INIT;

    strbuf_appendf(&key, "table %s.tv_%s", schema, name);
    strbuf_appendf(&sql,
                   "CREATE TABLE IF NOT EXISTS %s.tv_%s (\n"
                   "    id          %s PRIMARY KEY,\n"
                   "    data        jsonb NOT NULL,\n"
                   "    updated_at  timestamptz NOT NULL DEFAULT now()\n"
                   ");\n"
                   "GRANT USAGE ON SCHEMA %s TO tvsync_app, tvsync_cdc, tvsync_reader;\n"
                   "GRANT SELECT, INSERT, UPDATE, DELETE ON %s.tv_%s TO tvsync_cdc;\n"
                   "GRANT SELECT ON %s.tv_%s TO tvsync_app, tvsync_reader;\n",
                   schema, name, k, schema, schema, name, schema, name);
    decl_objects_add(out, key.data, sql.data, NULL);

    builder b = {.catalog = catalog, .out = out, .alias = 1};
    strbuf body = STRBUF_INIT;
    strbuf laterals = STRBUF_INIT;
    append_laterals(&b, &laterals, type, source);
    strbuf_appendf(&body, "    SELECT t0.%s,\n           ", source->key);
    append_object(&b, &body, type, source, 0);
    strbuf_appendf(&body, "\n    FROM %s.%s t0\n%s"
                          "    WHERE t0.%s = ANY (coalesce($1, ARRAY(SELECT every.%s FROM %s.%s every)))\n",
                   schema, source->name, laterals.data ? laterals.data : "", source->key, source->key, schema,
                   source->name);
    strbuf_free(&laterals);
    strbuf_reset(&key);
    strbuf_reset(&sql);
    strbuf_appendf(&key, "function %s.fn_build_%s", schema, name);
    strbuf_appendf(&sql,
                   "-- one document per %s.%s row; ids NULL: every row. A subquery per embedded value and per\n"
                   "-- set of listed or counted rows keeps the generic plan an index lookup whatever the tables' sizes.\n"
                   "CREATE OR REPLACE FUNCTION %s.fn_build_%s(ids %s[]) RETURNS TABLE (id %s, data jsonb)\n"
                   "LANGUAGE sql STABLE\n"
                   "AS $tvsync$\n%s$tvsync$;\n"
                   "REVOKE ALL ON FUNCTION %s.fn_build_%s(%s[]) FROM PUBLIC;\n"
                   "GRANT EXECUTE ON FUNCTION %s.fn_build_%s(%s[]) TO tvsync_cdc;\n",
                   schema, source->name, schema, name, k, k, body.data, schema, name, k, schema, name, k);
    append_read_grants(&sql, &b);
    decl_objects_add(out, key.data, sql.data, name);
    strbuf_free(&body);

    strbuf_reset(&key);
    strbuf_reset(&sql);
    strbuf_appendf(&key, "entity %s", name);
    strbuf_appendf(&sql,
                   "INSERT INTO tvsync.entity (name, tv_table, source_table, build_function)\n"
                   "VALUES ('%s', '%s.tv_%s', '%s.%s', '%s.fn_build_%s(%s[])')\n"
                   "ON CONFLICT (name) DO UPDATE SET tv_table = excluded.tv_table, source_table = excluded.source_table,\n"
                   "    build_function = excluded.build_function\n"
                   "WHERE (tvsync.entity.tv_table, tvsync.entity.source_table, tvsync.entity.build_function)\n"
                   "      IS DISTINCT FROM (excluded.tv_table, excluded.source_table, excluded.build_function);\n",
                   name, schema, name, schema, source->name, schema, name, k);
    decl_objects_add(out, key.data, sql.data, NULL);
    strbuf_free(&key);
    strbuf_free(&sql);
}

/* Along the edge s -> t, when t's documents list rows of s's source at their top level: the
 * patch function fn_patch_<t>_from_<s> and the object "patch s t" registering it on the
 * edge, or, when a list cannot be patched, "patch s t" saying why and clearing it. */
static void add_patch(const decl_catalog *catalog, const decl_type *s, const decl_type *t, decl_objects *out)
{
    const decl_table *rows = decl_sql_source(catalog, s), *source = decl_sql_source(catalog, t);
    strbuf key = STRBUF_INIT, sql = STRBUF_INIT, why = STRBUF_INIT, scratch = STRBUF_INIT;
    size_t lists = 0;
    for (size_t i = 0; i < t->field_count; i++) {
        const decl_field *f = &t->fields[i];
        if (f->kind != DECL_FIELD_MANY || decl_sql_source(catalog, f->target_type) != rows)
            continue;
        lists++;
        strbuf_reset(&scratch);
        if (why.length == 0 && f->window) {
            strbuf_appendf(&why, "%s.%s keeps at most %u rows (%s: %u): building them costs no more than patching",
                           t->name, f->name, f->window, f->window_last ? "last" : "first", f->window);
        } else if (why.length == 0 && !decl_patch_list(catalog, f, rows, &scratch, &scratch, &why)) {
            strbuf_reset(&scratch);
            strbuf_appendf(&scratch, "%s.%s: %s", t->name, f->name, why.data);
            strbuf_reset(&why);
            strbuf_append(&why, scratch.data);
        }
    }
    strbuf_appendf(&key, "cascade %s %s", s->entity_name, t->entity_name);
    if (lists == 0 || !has_key(out, key.data)) {
        strbuf_free(&key);
        strbuf_free(&why);
        strbuf_free(&scratch);
        return;
    }
    const char *schema = source->schema, *k = source->key_type;
    strbuf function = STRBUF_INIT;
    strbuf_appendf(&function, "%s.fn_patch_%s_from_%s(%s[], %s[])", schema, t->entity_name, s->entity_name, k,
                   rows->key_type);
    if (why.length == 0) {
        builder b = {.catalog = catalog, .out = out, .alias = 1, .patch_rows = rows};
        strbuf body = STRBUF_INIT;
        strbuf_appendf(&body, "    SELECT t0.%s,\n           ", source->key);
        append_object(&b, &body, t, source, 0);
        strbuf_appendf(&body, "\n    FROM %s.%s t0\n    LEFT JOIN %s.tv_%s old ON old.id = t0.%s\n"
                              "    WHERE t0.%s = ANY ($1)\n",
                       schema, source->name, schema, t->entity_name, source->key, source->key);
        strbuf_reset(&key);
        strbuf_appendf(&key, "function %s.fn_patch_%s_from_%s", schema, t->entity_name, s->entity_name);
        strbuf_appendf(&sql,
                       "-- %s's documents when only rows of %s.%s changed (changed: their ids): each list of them\n"
                       "-- is the old document's with the changed rows' elements removed and their current ones put\n"
                       "-- in its order (tvsync.patch_list); the other fields are computed as fn_build_%s does.\n"
                       "CREATE OR REPLACE FUNCTION %s.fn_patch_%s_from_%s(ids %s[], changed %s[])\n"
                       "RETURNS TABLE (id %s, data jsonb)\n"
                       "LANGUAGE sql STABLE\n"
                       "AS $tvsync$\n%s$tvsync$;\n"
                       "REVOKE ALL ON FUNCTION %s FROM PUBLIC;\n"
                       "GRANT EXECUTE ON FUNCTION %s TO tvsync_cdc;\n",
                       t->entity_name, rows->schema, rows->name, t->entity_name, schema, t->entity_name,
                       s->entity_name, k, rows->key_type, k, body.data, function.data, function.data);
        append_read_grants(&sql, &b);
        decl_objects_add(out, key.data, sql.data, NULL);
        strbuf_free(&body);
        strbuf_reset(&sql);
        strbuf_appendf(&sql,
                       "-- tvsync-cdc patches %s's documents reached along %s -> %s rather than building them\n"
                       "UPDATE tvsync.cascade SET patch_function = '%s'\n"
                       "WHERE source_entity = '%s' AND target_entity = '%s'\n"
                       "  AND patch_function IS DISTINCT FROM '%s'::regprocedure;\n",
                       t->entity_name, s->entity_name, t->entity_name, function.data, s->entity_name,
                       t->entity_name, function.data);
    } else {
        strbuf_appendf(&sql,
                       "-- no patch function along %s -> %s: %s; tvsync-cdc builds the %s documents\n"
                       "-- that changes of %s reach again\n"
                       "UPDATE tvsync.cascade SET patch_function = NULL\n"
                       "WHERE source_entity = '%s' AND target_entity = '%s' AND patch_function IS NOT NULL;\n",
                       s->entity_name, t->entity_name, why.data, t->entity_name, s->entity_name, s->entity_name,
                       t->entity_name);
    }
    strbuf_reset(&key);
    strbuf_appendf(&key, "patch %s %s", s->entity_name, t->entity_name);
    decl_objects_add(out, key.data, sql.data, NULL);
    strbuf_free(&function);
    strbuf_free(&key);
    strbuf_free(&sql);
    strbuf_free(&why);
    strbuf_free(&scratch);
}

void decl_sql_read_models(const decl_model *model, const decl_catalog *catalog, decl_objects *out)
{
    /* tables, indexes and functions first: a registry row names its function, a cascade its entities */
    decl_objects entities = {0};
    for (size_t i = 0; i < model->type_count; i++)
        if (model->types[i].entity)
            add_entity(catalog, &model->types[i], &entities);
    static const char *const order[] = {"table ", "index ", "function ", "entity "};
    for (size_t o = 0; o < 4; o++)
        for (size_t i = 0; i < entities.count; i++)
            if (strncmp(entities.items[i].key, order[o], strlen(order[o])) == 0)
                decl_objects_add(out, entities.items[i].key, entities.items[i].sql, entities.items[i].rebuild);
    decl_objects_free(&entities);
    decl_cascades(model, catalog, out);
    /* after the cascades: each registers its function on an edge */
    for (size_t i = 0; i < model->type_count; i++)
        for (size_t j = 0; j < model->type_count; j++)
            if (model->types[i].entity && model->types[j].entity)
                add_patch(catalog, &model->types[i], &model->types[j], out);
}
