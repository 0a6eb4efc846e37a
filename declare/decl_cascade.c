/* decl_cascade: from a checked model, the cascades tvsync-cdc follows when an entity's rows
 * change: both halves of every edge, the watch paths, and the indexes the old halves use. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/strbuf.h"
#include "declare/decl_cascade.h"

/* A document nests at most as deep as the model has types (no type embeds itself). */
#define MAX_DEPTH 64

/* One hop down a document: from a row of parent to the rows of child that a field reads. */
typedef struct step {
    const decl_field *field;
    const decl_table *parent, *child, *through;
    /* REF: parent.via -> child; MANY: child.via (or through.via) -> parent; AGGREGATE: child.via -> parent */
    const decl_foreign_key *fk;
    const decl_foreign_key *fk_target; /* MANY through: through.target -> child */
    /* AGGREGATE over an association table: its column pointing at S's source, which S's
     * changed ids are matched against instead of the child's key; else NULL */
    const char *match_column;
} step;

typedef struct edge {
    const decl_model *model;
    const decl_catalog *catalog;
    decl_objects *out;
    const decl_type *s, *t;
    const decl_table *s_table, *t_table;
    strbuf query;
    size_t parts;
    char **watches;
    size_t watch_count;
    bool watch_all;
} edge;

/* ------------------------------------------------------------------ watch */

/* The path of type's document holding column's value (of type's source table), or NULL when
 * the document has none. */
static char *exposure_in(const decl_type *type, const decl_table *table, const char *column)
{
    for (size_t i = 0; i < type->field_count; i++) {
        const decl_field *f = &type->fields[i];
        if (f->kind == DECL_FIELD_COLUMN && strcmp(f->column ? f->column : table->key, column) == 0)
            return alloc_strdup(f->name);
        if (f->kind == DECL_FIELD_REF && strcmp(f->via, column) == 0) {
            strbuf path = STRBUF_INIT;
            strbuf_appendf(&path, "%s.id", f->name);
            return path.data;
        }
    }
    return NULL;
}

static char *exposure(const edge *e, const char *column)
{
    return exposure_in(e->s, e->s_table, column);
}

/* "data->>'postId'" or "data->'author'->>'id'" for an exposure path. */
static void append_path(strbuf *sql, const char *path)
{
    const char *dot = strchr(path, '.');
    if (dot)
        strbuf_appendf(sql, "data->'%.*s'->>'id'", (int) (dot - path), path);
    else
        strbuf_appendf(sql, "data->>'%s'", path);
}

static void watch_column(edge *e, const char *column)
{
    if (strcmp(column, e->s_table->key) == 0)
        return; /* a key does not change: a new key is a created document */
    char *path = exposure(e, column);
    if (!path) {
        e->watch_all = true;
        return;
    }
    for (size_t i = 0; i < e->watch_count; i++)
        if (strcmp(e->watches[i], path) == 0) {
            free(path);
            return;
        }
    e->watches = alloc_array(e->watches, e->watch_count + 1, sizeof *e->watches);
    e->watches[e->watch_count++] = path;
}

/* A path of S's document itself (not a column's exposure). */
static void watch_column_path(edge *e, const char *path)
{
    for (size_t i = 0; i < e->watch_count; i++)
        if (strcmp(e->watches[i], path) == 0)
            return;
    e->watches = alloc_array(e->watches, e->watch_count + 1, sizeof *e->watches);
    e->watches[e->watch_count++] = alloc_strdup(path);
}

/* orderBy and an aggregate's where are SQL: every word in them naming a column of S's table
 * counts (a column S's document does not expose watches every key). */
static void watch_words(edge *e, const char *sql)
{
    for (const char *p = sql; *p;) {
        if (isalpha((unsigned char) *p) || *p == '_') {
            const char *start = p;
            while (isalnum((unsigned char) *p) || *p == '_')
                p++;
            char *word = alloc_check(strndup(start, (size_t) (p - start)));
            if (decl_table_column(e->s_table, word))
                watch_column(e, word);
            free(word);
        } else {
            p++;
        }
    }
}

static void watch_chain(edge *e, const step *last)
{
    const decl_field *f = last->field;
    if (f->kind == DECL_FIELD_AGGREGATE) {
        if (f->where)
            watch_words(e, f->where);
        watch_column(e, f->via);
        if (f->column)
            watch_column(e, f->column);
        return;
    }
    const decl_type *copied = f->target_type;
    for (size_t i = 0; i < copied->field_count; i++) {
        const decl_field *g = &copied->fields[i];
        switch (g->kind) {
        case DECL_FIELD_COLUMN:
            watch_column(e, g->column ? g->column : e->s_table->key);
            break;
        case DECL_FIELD_REF:
            watch_column(e, g->via);
            break;
        case DECL_FIELD_MANY: {
            const decl_table *t = g->through ? decl_sql_table(e->catalog, g->through)
                                             : decl_sql_source(e->catalog, g->target_type);
            watch_column(e, decl_table_foreign_key(t, g->via, e->s_table->schema, e->s_table->name)->ref_column);
            break;
        }
        case DECL_FIELD_AGGREGATE: {
            const decl_table *t = decl_sql_table(e->catalog, g->from);
            watch_column(e, decl_table_foreign_key(t, g->via, e->s_table->schema, e->s_table->name)->ref_column);
            break;
        }
        case DECL_FIELD_EXPR:
            e->watch_all = true;
            break;
        }
    }
    /* what links the row to the document that copies it */
    if (f->kind == DECL_FIELD_REF)
        watch_column(e, last->fk->ref_column);
    else if (f->through)
        watch_column(e, last->fk_target->ref_column);
    else
        watch_column(e, f->via);
    if (f->kind == DECL_FIELD_MANY && f->order_by)
        watch_words(e, f->order_by);
}

/* ------------------------------------------------------------------ new state */

static void append_cond(strbuf *sql, const char *alias, int n, const char *column, const strbuf *cur,
                        const char *key_type)
{
    if (cur->length == 0)
        strbuf_appendf(sql, "%s%d.%s = ANY ($1::%s[])", alias, n, column, key_type);
    else
        strbuf_appendf(sql, "%s%d.%s IN (%s)", alias, n, column, cur->data);
}

/* From S's changed ids up the steps to T's ids, over tb_* as they are now. */
static void new_state(const edge *e, const step *steps, size_t k, strbuf *cur)
{
    strbuf next = STRBUF_INIT, inner = STRBUF_INIT;
    /* cur is "SELECT pN.key FROM rows_of pN WHERE rows_where": a list of those rows' children
     * reads them with the same condition rather than joining the table to itself */
    const decl_table *rows_of = NULL;
    strbuf rows_where = STRBUF_INIT;
    int rows_alias = 0;
    for (size_t i = k; i-- > 0;) {
        const step *st = &steps[i];
        const char *kp = st->parent->key, *kc = st->child->key;
        int n = (int) i;
        const decl_table *flat = rows_of;
        rows_of = NULL;
        strbuf_reset(&next);
        strbuf_reset(&inner);
        if (st->field->kind == DECL_FIELD_REF) {
            strbuf_appendf(&next, "SELECT p%d.%s FROM %s.%s p%d WHERE ", n, kp, st->parent->schema, st->parent->name, n);
            if (strcmp(st->fk->ref_column, kc) == 0) {
                strbuf_reset(&rows_where);
                append_cond(&rows_where, "p", n, st->field->via, cur, e->s_table->key_type);
                strbuf_append(&next, rows_where.data);
                rows_of = st->parent;
                rows_alias = n;
            } else {
                strbuf_appendf(&next, "p%d.%s IN (SELECT c%d.%s FROM %s.%s c%d WHERE ", n, st->field->via, n,
                               st->fk->ref_column, st->child->schema, st->child->name, n);
                append_cond(&next, "c", n, kc, cur, e->s_table->key_type);
                strbuf_append(&next, ")");
            }
        } else {
            if (st->through) {
                strbuf_appendf(&inner, "SELECT x%d.%s FROM %s.%s x%d WHERE ", n, st->field->via, st->through->schema,
                               st->through->name, n);
                if (strcmp(st->fk_target->ref_column, kc) == 0) {
                    append_cond(&inner, "x", n, st->field->target, cur, e->s_table->key_type);
                } else {
                    strbuf_appendf(&inner, "x%d.%s IN (SELECT c%d.%s FROM %s.%s c%d WHERE ", n, st->field->target, n,
                                   st->fk_target->ref_column, st->child->schema, st->child->name, n);
                    append_cond(&inner, "c", n, kc, cur, e->s_table->key_type);
                    strbuf_append(&inner, ")");
                }
            } else if (flat == st->child) {
                strbuf_appendf(&inner, "SELECT p%d.%s FROM %s.%s p%d WHERE %s", rows_alias, st->field->via,
                               st->child->schema, st->child->name, rows_alias, rows_where.data);
            } else {
                strbuf_appendf(&inner, "SELECT c%d.%s FROM %s.%s c%d WHERE ", n, st->field->via, st->child->schema,
                               st->child->name, n);
                append_cond(&inner, "c", n, st->match_column ? st->match_column : kc, cur, e->s_table->key_type);
            }
            if (strcmp(st->fk->ref_column, kp) == 0)
                strbuf_append(&next, inner.data);
            else
                strbuf_appendf(&next, "SELECT p%d.%s FROM %s.%s p%d WHERE p%d.%s IN (%s)", n, kp, st->parent->schema,
                               st->parent->name, n, n, st->fk->ref_column, inner.data);
        }
        strbuf_reset(cur);
        strbuf_append(cur, next.data);
    }
    strbuf_free(&next);
    strbuf_free(&inner);
    strbuf_free(&rows_where);
}

/* ------------------------------------------------------------------ old state */

/* T's documents holding, at the path the first n steps lead to, an object whose id is in
 * the set: $1 (set NULL) or the text values the query set returns. */
static void match_documents(edge *e, const step *steps, size_t n, const char *set, strbuf *sql)
{
    const char *schema = e->t_table->schema, *name = e->t->entity_name;
    bool list = false;
    for (size_t i = 0; i < n; i++)
        list = list || steps[i].field->list;
    strbuf index = STRBUF_INIT, statement = STRBUF_INIT;
    strbuf_appendf(sql, "SELECT t.id FROM %s.tv_%s t WHERE ", schema, name);
    if (!list) {
        strbuf path = STRBUF_INIT;
        strbuf_append(&path, "data");
        strbuf_appendf(&index, "tv_%s", name);
        for (size_t i = 0; i < n; i++) {
            strbuf_appendf(&path, "->'%s'", steps[i].field->name);
            strbuf_appendf(&index, "_%s", steps[i].field->name);
        }
        strbuf_append(&path, "->>'id'");
        if (index.length > 56)
            strbuf_set_length(&index, 56);
        strbuf_append(&index, "_id_idx");
        strbuf_appendf(&statement, "CREATE INDEX IF NOT EXISTS %s ON %s.tv_%s ((%s));\n", index.data, schema, name,
                       path.data);
        if (set)
            strbuf_appendf(sql, "t.%s IN (%s)", path.data, set);
        else
            strbuf_appendf(sql, "t.%s = ANY ($1::text[])", path.data);
        strbuf_free(&path);
    } else {
        /* lists: containment, which a jsonb_path_ops GIN index answers per id */
        strbuf_appendf(&index, "tv_%.50s_data_idx", name);
        strbuf_appendf(&statement, "CREATE INDEX IF NOT EXISTS %s ON %s.tv_%s USING gin (data jsonb_path_ops);\n",
                       index.data, schema, name);
        strbuf_append(sql, "t.data @> ANY (ARRAY(SELECT ");
        for (size_t i = 0; i < n; i++)
            strbuf_appendf(sql, "jsonb_build_object('%s', %s", steps[i].field->name,
                           steps[i].field->list ? "jsonb_build_array(" : "");
        strbuf_append(sql, "jsonb_build_object('id', v.x)");
        for (size_t i = n; i-- > 0;)
            strbuf_append(sql, steps[i].field->list ? "))" : ")");
        if (set)
            strbuf_appendf(sql, " FROM (%s) AS v(x)))", set);
        else
            strbuf_append(sql, " FROM unnest($1::text[]) AS v(x)))");
    }
    decl_sql_index_named(e->out, schema, index.data, statement.data);
    strbuf_free(&index);
    strbuf_free(&statement);
}

/* A @ref in a list (a post's comments' authors): when an entity's documents are the listed
 * rows and hold both the @ref's column and the list's foreign key, they name the rows that
 * referenced S's ids and their old parents by an index lookup (a comment's author.id and
 * postId), as hand-written cascades do, instead of searching T's documents. */
static bool old_state_through_entity(edge *e, const step *steps, size_t k, strbuf *sql)
{
    const step *last = &steps[k - 1], *up = k >= 2 ? &steps[k - 2] : NULL;
    if (last->field->kind != DECL_FIELD_REF || !up || up->field->kind != DECL_FIELD_MANY || up->through
        || strcmp(up->fk->ref_column, up->parent->key) != 0 || strcmp(last->fk->ref_column, last->child->key) != 0)
        return false;
    const decl_type *listed = NULL;
    char *ref_path = NULL, *up_path = NULL;
    for (size_t i = 0; i < e->model->type_count && !(ref_path && up_path); i++) {
        const decl_type *type = &e->model->types[i];
        if (!type->entity || decl_sql_source(e->catalog, type) != last->parent)
            continue;
        free(ref_path);
        free(up_path);
        listed = type;
        ref_path = exposure_in(type, last->parent, last->field->via);
        up_path = exposure_in(type, last->parent, up->field->via);
    }
    bool found = ref_path && up_path;
    if (found) {
        const char *schema = last->parent->schema;
        strbuf expression = STRBUF_INIT, index = STRBUF_INIT, statement = STRBUF_INIT, set = STRBUF_INIT;
        append_path(&expression, ref_path);
        strbuf_appendf(&index, "tv_%s_%s", listed->entity_name, ref_path);
        for (char *p = index.data; *p; p++)
            if (*p == '.')
                *p = '_';
        if (index.length > 59)
            strbuf_set_length(&index, 59);
        strbuf_append(&index, "_idx");
        strbuf_appendf(&statement, "CREATE INDEX IF NOT EXISTS %s ON %s.tv_%s ((%s));\n", index.data, schema,
                       listed->entity_name, expression.data);
        decl_sql_index_named(e->out, schema, index.data, statement.data);
        strbuf_append(&set, "SELECT l.");
        append_path(&set, up_path);
        strbuf_appendf(&set, " FROM %s.tv_%s l WHERE l.%s = ANY ($1::text[])", schema, listed->entity_name,
                       expression.data);
        if (k == 2)
            strbuf_appendf(sql, "SELECT o.x::%s FROM (%s) AS o(x)", e->t_table->key_type, set.data);
        else
            match_documents(e, steps, k - 2, set.data, sql);
        strbuf_free(&expression);
        strbuf_free(&index);
        strbuf_free(&statement);
        strbuf_free(&set);
    }
    free(ref_path);
    free(up_path);
    return found;
}

/* The old half: where S's rows were before the change. Rows that point at their parent
 * (listed or aggregated) name it in S's own document when it holds the foreign key: a key
 * lookup. Otherwise rows a document embeds are found in T's documents by their id;
 * aggregated rows are not in T's document, so then there is no old half. */
static bool old_state(edge *e, const step *steps, size_t k, strbuf *sql)
{
    const step *last = &steps[k - 1];
    bool points_up = last->field->kind == DECL_FIELD_AGGREGATE || (last->field->kind == DECL_FIELD_MANY
                                                                   && !last->through);
    char *path = points_up ? exposure(e, last->field->via) : NULL;
    if (path && strcmp(last->fk->ref_column, last->parent->key) != 0) {
        free(path);
        path = NULL;
    }
    if (!path) {
        if (last->field->kind == DECL_FIELD_AGGREGATE)
            return false;
        if (!old_state_through_entity(e, steps, k, sql))
            match_documents(e, steps, k, NULL, sql);
        return true;
    }
    strbuf set = STRBUF_INIT;
    strbuf_append(&set, "SELECT s.");
    append_path(&set, path);
    strbuf_appendf(&set, " FROM %s.tv_%s s WHERE s.id = ANY ($1::%s[])", e->s_table->schema, e->s->entity_name,
                   e->s_table->key_type);
    if (k == 1) {
        strbuf_appendf(sql, "SELECT o.x::%s FROM (%s) AS o(x)", e->t_table->key_type, set.data);
    } else {
        match_documents(e, steps, k - 1, set.data, sql);
    }
    strbuf_free(&set);
    free(path);
    return true;
}

/* ------------------------------------------------------------------ edges */

static void add_part(edge *e, const char *sql)
{
    /* aggregates of the same rows share their halves */
    for (const char *at = e->query.data; at && (at = strstr(at, sql)) != NULL; at++)
        if (at[strlen(sql)] == '\n' && (at == e->query.data || at[-1] == ' '))
            return;
    strbuf_appendf(&e->query, "    %s%s\n", e->parts ? "UNION " : "", sql);
    e->parts++;
}

static void chain(edge *e, const step *steps, size_t k)
{
    strbuf sql = STRBUF_INIT;
    new_state(e, steps, k, &sql);
    add_part(e, sql.data);
    strbuf_reset(&sql);
    if (old_state(e, steps, k, &sql))
        add_part(e, sql.data);
    else
        strbuf_appendf(&e->query, "    -- no old state for %s.%s: %s's document does not hold %s\n", e->t->name,
                       steps[k - 1].field->name, e->s->name, steps[k - 1].field->via);
    strbuf_free(&sql);
    watch_chain(e, &steps[k - 1]);
}

/* Whether table is an entity's source (its rows change with that entity's intents). */
static bool is_entity_source(const edge *e, const decl_table *table)
{
    for (size_t i = 0; i < e->model->type_count; i++)
        if (e->model->types[i].entity && decl_sql_source(e->catalog, &e->model->types[i]) == table)
            return true;
    return false;
}

/* An aggregate over an association table (a tag's count of tb_book_tag rows) changes when
 * S's rows go or come with their association rows (a book deleted, its links with it), which
 * no intent names. New state: the association rows that point at S's ids now. Old state:
 * S's own document, when it lists the associated rows (a book's tags through the same
 * table), names where they pointed. */
static void chain_association(edge *e, step *steps, size_t k, const decl_foreign_key *to_s)
{
    step *last = &steps[k - 1];
    last->match_column = to_s->column;
    strbuf sql = STRBUF_INIT;
    new_state(e, steps, k, &sql);
    add_part(e, sql.data);
    last->match_column = NULL;
    const decl_field *listing = NULL;
    for (size_t i = 0; i < e->s->field_count && !listing; i++) {
        const decl_field *g = &e->s->fields[i];
        if (g->kind == DECL_FIELD_MANY && g->through && decl_sql_table(e->catalog, g->through) == last->child
            && strcmp(g->via, to_s->column) == 0 && strcmp(g->target, last->field->via) == 0)
            listing = g;
    }
    const decl_foreign_key *target_fk = listing ? decl_table_foreign_key(last->child, listing->target,
                                                                         last->parent->schema, last->parent->name)
                                                : NULL;
    if (listing && target_fk && strcmp(target_fk->ref_column, last->parent->key) == 0) {
        strbuf set = STRBUF_INIT;
        strbuf_appendf(&set, "SELECT l.v->>'id' FROM %s.tv_%s s CROSS JOIN LATERAL jsonb_array_elements(s.data->'%s') AS l(v) "
                             "WHERE s.id = ANY ($1::%s[])",
                       e->s_table->schema, e->s->entity_name, listing->name, e->s_table->key_type);
        strbuf_reset(&sql);
        if (k == 1)
            strbuf_appendf(&sql, "SELECT o.x::%s FROM (%s) AS o(x)", e->t_table->key_type, set.data);
        else
            match_documents(e, steps, k - 1, set.data, &sql);
        add_part(e, sql.data);
        strbuf_free(&set);
        watch_column_path(e, listing->name);
    } else {
        strbuf_appendf(&e->query, "    -- no old state for %s.%s: %s's document does not list the %s.%s rows\n",
                       e->t->name, last->field->name, e->s->name, last->child->schema, last->child->name);
        e->watch_all = true;
    }
    strbuf_free(&sql);
}

static void walk(edge *e, const decl_type *type, const decl_table *table, step *steps, size_t depth)
{
    if (depth >= MAX_DEPTH)
        return;
    for (size_t i = 0; i < type->field_count; i++) {
        const decl_field *f = &type->fields[i];
        step *st = &steps[depth];
        memset(st, 0, sizeof *st);
        st->field = f;
        st->parent = table;
        switch (f->kind) {
        case DECL_FIELD_REF:
            st->child = decl_sql_source(e->catalog, f->target_type);
            st->fk = decl_table_foreign_key(table, f->via, st->child->schema, st->child->name);
            break;
        case DECL_FIELD_MANY:
            st->child = decl_sql_source(e->catalog, f->target_type);
            if (f->through) {
                st->through = decl_sql_table(e->catalog, f->through);
                st->fk = decl_table_foreign_key(st->through, f->via, table->schema, table->name);
                st->fk_target = decl_table_foreign_key(st->through, f->target, st->child->schema, st->child->name);
            } else {
                st->fk = decl_table_foreign_key(st->child, f->via, table->schema, table->name);
            }
            break;
        case DECL_FIELD_AGGREGATE:
            st->child = decl_sql_table(e->catalog, f->from);
            st->fk = decl_table_foreign_key(st->child, f->via, table->schema, table->name);
            break;
        default:
            continue;
        }
        if (st->child == e->s_table) {
            chain(e, steps, depth + 1);
        } else if (f->kind == DECL_FIELD_AGGREGATE && !is_entity_source(e, st->child)) {
            for (size_t c = 0; c < st->child->foreign_key_count; c++) {
                const decl_foreign_key *fk = &st->child->foreign_keys[c];
                if (strcmp(fk->column, f->via) != 0 && strcmp(fk->ref_schema, e->s_table->schema) == 0
                    && strcmp(fk->ref_table, e->s_table->name) == 0 && strcmp(fk->ref_column, e->s_table->key) == 0)
                    chain_association(e, steps, depth + 1, fk);
            }
        }
        if (f->target_type)
            walk(e, f->target_type, st->child, steps, depth + 1);
    }
}

static void add_edge(const decl_model *model, const decl_catalog *catalog, const decl_type *s, const decl_type *t,
                     decl_objects *out)
{
    edge e = {.model = model, .catalog = catalog, .out = out, .s = s, .t = t};
    e.s_table = decl_sql_source(catalog, s);
    e.t_table = decl_sql_source(catalog, t);
    step steps[MAX_DEPTH];
    walk(&e, t, e.t_table, steps, 0);
    if (e.parts > 0) {
        strbuf key = STRBUF_INIT, sql = STRBUF_INIT;
        strbuf_appendf(&key, "cascade %s %s", s->entity_name, t->entity_name);
        strbuf_appendf(&sql,
                       "-- %s's documents copy rows of %s.%s: its changed ids ($1) reach the %s documents that\n"
                       "-- hold them now (tb_*) and that held them before (tv_*)\n"
                       "INSERT INTO tvsync.cascade (source_entity, target_entity, query, watch)\n"
                       "VALUES ('%s', '%s', $tvsync$\n%s$tvsync$, ",
                       t->entity_name, e.s_table->schema, e.s_table->name, t->entity_name, s->entity_name,
                       t->entity_name, e.query.data);
        if (e.watch_all) {
            strbuf_append(&sql, "NULL");
        } else {
            strbuf_append(&sql, "ARRAY[");
            for (size_t i = 0; i < e.watch_count; i++)
                strbuf_appendf(&sql, "%s'%s'", i ? ", " : "", e.watches[i]);
            strbuf_append(&sql, "]::text[]");
        }
        strbuf_append(&sql, ")\nON CONFLICT (source_entity, target_entity) DO UPDATE SET query = excluded.query, "
                            "watch = excluded.watch\n"
                            "WHERE (tvsync.cascade.query, tvsync.cascade.watch) IS DISTINCT FROM "
                            "(excluded.query, excluded.watch);\n");
        decl_objects_add(out, key.data, sql.data, NULL);
        strbuf_free(&key);
        strbuf_free(&sql);
    }
    for (size_t i = 0; i < e.watch_count; i++)
        free(e.watches[i]);
    free(e.watches);
    strbuf_free(&e.query);
}

void decl_cascades(const decl_model *model, const decl_catalog *catalog, decl_objects *out)
{
    for (size_t i = 0; i < model->type_count; i++)
        for (size_t j = 0; j < model->type_count; j++)
            if (model->types[i].entity && model->types[j].entity)
                add_edge(model, catalog, &model->types[i], &model->types[j], out);
}
