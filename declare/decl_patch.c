/* decl_patch: which declared lists tvsync.patch_list can patch along a cascade edge, and the
 * order spec that makes its order the same as the build function's ORDER BY. */
#include "config.h"

#include <string.h>

#include "declare/decl_cascade.h"
#include "declare/decl_patch.h"

/* A document nests at most as deep as the model has types (no type embeds itself). */
#define MAX_DEPTH 64

/* The element field holding column's value as the build writes it, or NULL. */
static const decl_field *field_of_column(const decl_type *element, const decl_table *rows, const char *column)
{
    for (size_t i = 0; i < element->field_count; i++) {
        const decl_field *f = &element->fields[i];
        if (f->kind == DECL_FIELD_COLUMN && strcmp(f->column ? f->column : rows->key, column) == 0)
            return f;
    }
    return NULL;
}

/* The type name patch_compare casts the field's JSON value to, when that cast gives back the
 * column's value, or at least its order; NULL otherwise. Mirrors decl_sql.c's append_column:
 * timestamptz through tvsync.iso_time, a non-text ID as ::text, anything else as to_jsonb. */
static const char *order_type(const decl_column *column, const decl_field *field)
{
    const char *type = column->type;
    bool as_text = strcmp(field->graphql_type, "ID") == 0 && strcmp(type, "text") != 0 && strcmp(type, "uuid") != 0;
    static const char *const numbers[] = {"smallint", "integer", "bigint"};
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++)
        if (strcmp(type, numbers[i]) == 0)
            return numbers[i];
    if (strncmp(type, "numeric", 7) == 0)
        return "numeric";
    if (as_text)
        return NULL;
    /* iso_time writes microseconds; to_jsonb writes the other timestamptz(n) in ISO 8601 */
    if (strncmp(type, "timestamp", 9) == 0 && strstr(type, " with time zone"))
        return "timestamptz";
    if (strncmp(type, "timestamp", 9) == 0 && strstr(type, " without time zone"))
        return "timestamp";
    if (strncmp(type, "character varying", 17) == 0)
        return "character varying";
    static const char *const same[] = {"uuid", "text", "boolean", "date", "real", "double precision"};
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        if (strcmp(type, same[i]) == 0)
            return same[i];
    return NULL;
}

/* Appends one {"field","type","desc","nulls_first"} of the order spec for column, or says why not. */
static bool order_field(const decl_field *list, const decl_table *rows, const char *column, bool desc,
                        bool nulls_first, strbuf *order_spec, strbuf *why)
{
    const decl_type *element = list->target_type;
    const decl_column *c = decl_table_column(rows, column);
    if (!c) {
        strbuf_appendf(why, "its orderBy names \"%s\", not a column of %s.%s", column, rows->schema, rows->name);
        return false;
    }
    const decl_field *f = field_of_column(element, rows, column);
    if (!f) {
        strbuf_appendf(why, "%s has no field holding the column %s it is ordered by", element->name, column);
        return false;
    }
    const char *type = order_type(c, f);
    if (type && c->other_collation) {
        strbuf_appendf(why, "its orderBy column %s has its own collation (tvsync.patch_list compares text in the "
                            "database's default one)", column);
        return false;
    }
    if (!type) {
        strbuf_appendf(why, "%s.%s holds %s (%s) in a form whose order is not the column's", element->name, f->name,
                       column, c->type);
        return false;
    }
    strbuf_appendf(order_spec, "%s{\"field\": \"%s\", \"type\": \"%s\", \"desc\": %s, \"nulls_first\": %s}",
                   order_spec->length > 1 ? ", " : "", f->name, type, desc ? "true" : "false",
                   nulls_first ? "true" : "false");
    return true;
}

/* One item of orderBy (decl_model_order_item's form) into order_spec. */
static bool order_item(const decl_field *list, const decl_table *rows, const char *item, size_t length,
                       strbuf *order_spec, strbuf *why)
{
    char column[DECL_MAX_ORDER_COLUMN];
    bool desc, nulls_first;
    if (!decl_model_order_item(item, length, column, &desc, &nulls_first)) {
        strbuf_appendf(why, "its orderBy \"%s\" is not a list of columns (each with optional ASC/DESC, NULLS FIRST/LAST)",
                       list->order_by);
        return false;
    }
    return order_field(list, rows, column, desc, nulls_first, order_spec, why);
}

/* Whether type's document, at any depth, reads table (embeds, lists or aggregates its rows). */
static const decl_field *reads_table(const decl_catalog *catalog, const decl_type *type, const decl_table *table,
                                     int depth)
{
    if (depth >= MAX_DEPTH)
        return NULL;
    for (size_t i = 0; i < type->field_count; i++) {
        const decl_field *f = &type->fields[i];
        if (f->kind == DECL_FIELD_AGGREGATE && decl_sql_table(catalog, f->from) == table)
            return f;
        if (f->kind == DECL_FIELD_MANY && f->through && decl_sql_table(catalog, f->through) == table)
            return f;
        if ((f->kind == DECL_FIELD_REF || f->kind == DECL_FIELD_MANY)
            && (decl_sql_source(catalog, f->target_type) == table
                || reads_table(catalog, f->target_type, table, depth + 1)))
            return f;
    }
    return NULL;
}

bool decl_patch_list(const decl_catalog *catalog, const decl_field *list, const decl_table *rows, strbuf *order_spec,
                     strbuf *key_field, strbuf *why)
{
    const decl_type *element = list->target_type;
    const decl_field *again = reads_table(catalog, element, rows, 0);
    if (again) {
        strbuf_appendf(why, "%s.%s reads %s.%s again (a change to one row would change other elements)",
                       element->name, again->name, rows->schema, rows->name);
        return false;
    }
    const decl_field *key = field_of_column(element, rows, rows->key);
    if (!key) {
        strbuf_appendf(why, "%s has no field holding the key %s", element->name, rows->key);
        return false;
    }
    strbuf spec = STRBUF_INIT;
    strbuf_append(&spec, "[");
    bool ok = true;
    for (const char *item = list->order_by; ok && item && *item;) {
        size_t length = strcspn(item, ",");
        ok = order_item(list, rows, item, length, &spec, why);
        item += length;
        if (*item == ',')
            item++;
    }
    /* the build orders by the key last (decl_sql.c's append_order) */
    ok = ok && order_field(list, rows, rows->key, false, false, &spec, why);
    if (ok) {
        strbuf_append(&spec, "]");
        strbuf_append(order_spec, spec.data);
        strbuf_append(key_field, key->name);
    }
    strbuf_free(&spec);
    return ok;
}
