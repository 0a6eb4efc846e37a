/* decl_model: reads @entity/@embedded types and their field directives from a parsed SDL
 * document into the plain model the catalog checks and the SQL generator read. */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "declare/decl_model.h"

const char decl_directives_sdl[] =
    "\"A read model: one JSON document per row of source (\\\"table\\\" or \\\"schema.table\\\"), "
    "kept in <schema>.tv_<name> by tvsync-cdc; crud: true also generates the create/update/delete "
    "mutations.\"\n"
    "directive @entity(source: String!, name: String, crud: Boolean = false) on OBJECT\n"
    "\"A projection of source's rows used inside documents; it includes the key as id.\"\n"
    "directive @embedded(source: String!) on OBJECT\n"
    "\"The field reads this column of the type's source (default: the field name in snake_case).\"\n"
    "directive @column(name: String!) on FIELD_DEFINITION\n"
    "\"The one row of the field type's source that the foreign key column via of this source names.\"\n"
    "directive @ref(via: String!) on FIELD_DEFINITION\n"
    "\"The rows of the field type's source whose foreign key via points at this row, ordered by orderBy "
    "(SQL, default the key); with through, the rows an association table links: via is its foreign key "
    "to this source, target its foreign key to the field type's source; first/last: only the first/last that many "
    "rows in that order (bounded embedding).\"\n"
    "directive @many(via: String!, orderBy: String, through: String, target: String, first: Int, last: Int) "
    "on FIELD_DEFINITION\n"
    "\"How many rows of from point at this row through the foreign key via (where: a SQL predicate over them).\"\n"
    "directive @count(from: String!, via: String!, where: String) on FIELD_DEFINITION\n"
    "\"The sum of column over the rows of from that point at this row through via.\"\n"
    "directive @sum(from: String!, via: String!, column: String!, where: String) on FIELD_DEFINITION\n"
    "\"The least column over the rows of from that point at this row through via.\"\n"
    "directive @min(from: String!, via: String!, column: String!, where: String) on FIELD_DEFINITION\n"
    "\"The greatest column over the rows of from that point at this row through via.\"\n"
    "directive @max(from: String!, via: String!, column: String!, where: String) on FIELD_DEFINITION\n"
    "\"A SQL expression over this row's own columns (it must not read other rows).\"\n"
    "directive @expr(sql: String!) on FIELD_DEFINITION\n";

typedef struct reader {
    gql_arena *arena;
    const ast_document *doc;
    const char *path;
    char *error;
    size_t error_size;
} reader;

static uint32_t line_of(const reader *r, uint32_t pos)
{
    return gql_source_location(r->doc->source, r->doc->source_length, pos).line;
}

__attribute__((format(printf, 3, 4)))
static void fail(const reader *r, uint32_t pos, const char *format, ...)
{
    int n = snprintf(r->error, r->error_size, "%s:%u: ", r->path, line_of(r, pos));
    if (n < 0 || (size_t) n >= r->error_size)
        return;
    va_list args;
    va_start(args, format);
    vsnprintf(r->error + n, r->error_size - (size_t) n, format, args);
    va_end(args);
}

void decl_snake_case(const char *name, char *out, size_t out_size)
{
    size_t n = 0;
    if (out_size == 0)
        return;
    for (size_t i = 0; name[i] && n + 2 < out_size; i++) {
        unsigned char c = (unsigned char) name[i];
        if (isupper(c)) {
            unsigned char prev = i > 0 ? (unsigned char) name[i - 1] : 0;
            unsigned char next = (unsigned char) name[i + 1];
            if (i > 0 && (islower(prev) || isdigit(prev) || (isupper(prev) && islower(next))))
                out[n++] = '_';
            out[n++] = (char) tolower(c);
        } else {
            out[n++] = (char) c;
        }
    }
    out[n] = '\0';
}

/* A string argument: *out NULL when absent; false (error written) when not a string or
 * when required and absent. */
static bool string_argument(const reader *r, const ast_directive *d, const char *name, bool required,
                            const char **out)
{
    const ast_argument *a = gql_ast_argument(d, name);
    *out = NULL;
    if (!a || a->value->kind == AST_VALUE_NULL) {
        if (required) {
            fail(r, d->pos, "@%s needs %s (a string: @%s(%s: \"...\"))", d->name, name, d->name, name);
            return false;
        }
        return true;
    }
    if (a->value->kind != AST_VALUE_STRING || strlen(a->value->text) != a->value->text_length
        || a->value->text_length == 0) {
        fail(r, a->pos, "@%s(%s:) must be a non-empty string (write %s: \"...\")", d->name, name, name);
        return false;
    }
    *out = a->value->text;
    return true;
}

static bool order_is_columns(const char *order_by);

/* @many's first: K or last: K (at most one): field->window and window_last. */
static bool window_argument(const reader *r, const ast_directive *d, const decl_type *type,
                            const ast_field_def *def, decl_field *field)
{
    const ast_argument *first = gql_ast_argument(d, "first"), *last = gql_ast_argument(d, "last");
    if (first && first->value->kind == AST_VALUE_NULL)
        first = NULL;
    if (last && last->value->kind == AST_VALUE_NULL)
        last = NULL;
    if (first && last) {
        fail(r, last->pos, "@many on %s.%s has both first and last (keep one: first keeps the first rows in "
                           "orderBy's order, last the last ones)", type->name, def->name);
        return false;
    }
    const ast_argument *a = first ? first : last;
    if (!a)
        return true;
    char digits[16];
    size_t n = a->value->text_length;
    unsigned long k = 0;
    if (a->value->kind == AST_VALUE_INT && n < sizeof digits && a->value->text[0] != '-') {
        memcpy(digits, a->value->text, n);
        digits[n] = '\0';
        k = strtoul(digits, NULL, 10);
    }
    if (k < 1 || k > DECL_MAX_WINDOW) {
        fail(r, a->pos, "@many(%s:) on %s.%s must be an integer from 1 to %d (how many rows the document keeps)",
             a->name, type->name, def->name, DECL_MAX_WINDOW);
        return false;
    }
    field->window = (uint32_t) k;
    field->window_last = a == last;
    bool ok = !field->window_last || order_is_columns(field->order_by);
    if (!ok)
        fail(r, d->pos, "@many(last:) on %s.%s needs orderBy to be columns, each with optional ASC/DESC and NULLS "
                        "FIRST/LAST (the last rows are found by reading that order backwards); use first: with the "
                        "opposite orderBy", type->name, def->name);
    return ok;
}

bool decl_model_order_item(const char *item, size_t length, char column[DECL_MAX_ORDER_COLUMN], bool *desc,
                           bool *nulls_first)
{
    char words[4][DECL_MAX_ORDER_COLUMN];
    size_t count = 0;
    for (size_t i = 0; i < length;) {
        while (i < length && isspace((unsigned char) item[i]))
            i++;
        size_t start = i;
        while (i < length && !isspace((unsigned char) item[i]))
            i++;
        if (i == start)
            continue;
        if (count == 4 || i - start >= sizeof words[0])
            return false;
        memcpy(words[count], item + start, i - start);
        words[count++][i - start] = '\0';
    }
    if (count == 0)
        return false;
    for (const char *p = words[0]; *p; p++)
        if (!(islower((unsigned char) *p) || *p == '_' || (p > words[0] && isdigit((unsigned char) *p))))
            return false;
    size_t next = 1;
    *desc = false;
    if (next < count && (strcasecmp(words[next], "asc") == 0 || strcasecmp(words[next], "desc") == 0))
        *desc = strcasecmp(words[next++], "desc") == 0;
    *nulls_first = *desc;
    if (next + 1 < count && strcasecmp(words[next], "nulls") == 0) {
        if (strcasecmp(words[next + 1], "first") != 0 && strcasecmp(words[next + 1], "last") != 0)
            return false;
        *nulls_first = strcasecmp(words[next + 1], "first") == 0;
        next += 2;
    }
    if (next != count)
        return false;
    strcpy(column, words[0]);
    return true;
}

/* Whether every item of order_by (NULL: none) is a column with optional direction and NULLs. */
static bool order_is_columns(const char *order_by)
{
    for (const char *item = order_by; item && *item;) {
        size_t length = strcspn(item, ",");
        char column[DECL_MAX_ORDER_COLUMN];
        bool desc, nulls_first;
        if (!decl_model_order_item(item, length, column, &desc, &nulls_first))
            return false;
        item += length;
        if (*item == ',')
            item++;
    }
    return true;
}

static bool no_other_arguments(const reader *r, const ast_directive *d, const char *const *allowed)
{
    for (size_t i = 0; i < d->argument_count; i++) {
        bool known = false;
        for (size_t k = 0; allowed[k]; k++)
            known = known || strcmp(d->arguments[i].name, allowed[k]) == 0;
        if (!known) {
            fail(r, d->arguments[i].pos, "@%s has no argument %s (remove it)", d->name, d->arguments[i].name);
            return false;
        }
    }
    return true;
}

static const char *const field_directive_names[] = {"column", "ref", "many", "count", "sum", "min", "max", "expr"};
#define FIELD_DIRECTIVE_COUNT (sizeof field_directive_names / sizeof field_directive_names[0])

static bool is_field_directive(const char *name)
{
    for (size_t i = 0; i < FIELD_DIRECTIVE_COUNT; i++)
        if (strcmp(name, field_directive_names[i]) == 0)
            return true;
    return false;
}

static bool read_type_header(const reader *r, const ast_definition *def, decl_type *type)
{
    const ast_directive *entity = gql_ast_directive(def->directives, def->directive_count, "entity");
    const ast_directive *embedded = gql_ast_directive(def->directives, def->directive_count, "embedded");
    if (entity && embedded) {
        fail(r, def->pos, "type %s has both @entity and @embedded (keep one)", def->name);
        return false;
    }
    const ast_directive *d = entity ? entity : embedded;
    static const char *const entity_args[] = {"source", "name", "crud", NULL};
    static const char *const embedded_args[] = {"source", NULL};
    if (!no_other_arguments(r, d, entity ? entity_args : embedded_args))
        return false;
    const char *source;
    if (!string_argument(r, d, "source", true, &source))
        return false;
    type->name = def->name;
    type->line = line_of(r, def->pos);
    type->entity = entity != NULL;
    const char *dot = strchr(source, '.');
    if (dot) {
        type->source_schema = gql_arena_strndup(r->arena, source, (size_t) (dot - source));
        type->source_table = dot + 1;
    } else {
        type->source_schema = "public";
        type->source_table = source;
    }
    if (!*type->source_schema || !*type->source_table || strchr(type->source_table, '.')) {
        fail(r, d->pos, "@%s(source: \"%s\") is not \"table\" or \"schema.table\" (fix source)", d->name, source);
        return false;
    }
    if (entity) {
        const char *name;
        if (!string_argument(r, d, "name", false, &name))
            return false;
        if (name) {
            type->entity_name = name;
        } else {
            char buffer[256];
            decl_snake_case(def->name, buffer, sizeof buffer);
            type->entity_name = gql_arena_strdup(r->arena, buffer);
        }
        const ast_argument *crud = gql_ast_argument(d, "crud");
        if (crud && crud->value->kind != AST_VALUE_BOOLEAN && crud->value->kind != AST_VALUE_NULL) {
            fail(r, crud->pos, "@entity(crud:) must be true or false");
            return false;
        }
        type->crud = crud && crud->value->kind == AST_VALUE_BOOLEAN && crud->value->boolean;
    }
    return true;
}

static bool read_field(const reader *r, const decl_model *model, const decl_type *type,
                       const ast_field_def *def, decl_field *field)
{
    field->name = def->name;
    field->line = line_of(r, def->pos);
    const ast_type *t = def->type;
    if (t->kind == AST_TYPE_NON_NULL) {
        field->non_null = true;
        t = t->inner;
    }
    if (t->kind == AST_TYPE_LIST) {
        field->list = true;
        t = t->inner;
        if (t->kind == AST_TYPE_NON_NULL)
            t = t->inner;
    }
    if (t->kind != AST_TYPE_NAMED) {
        fail(r, def->pos, "field %s.%s: nested lists are not read models (use one list level)", type->name, def->name);
        return false;
    }
    field->graphql_type = t->name;

    const ast_directive *d = NULL;
    for (size_t i = 0; i < def->directive_count; i++) {
        if (!is_field_directive(def->directives[i].name))
            continue;
        if (d) {
            fail(r, def->directives[i].pos, "field %s.%s has both @%s and @%s (keep one)", type->name, def->name,
                 d->name, def->directives[i].name);
            return false;
        }
        d = &def->directives[i];
    }
    const decl_type *named = decl_model_type(model, field->graphql_type);

    if (strcmp(def->name, "id") == 0 && (!d || strcmp(d->name, "column") == 0)) {
        if (field->list || !field->non_null || strcmp(field->graphql_type, "ID") != 0) {
            fail(r, def->pos, "%s.id must be ID! (the source's key)", type->name);
            return false;
        }
    }
    if (!d) {
        if (named) {
            fail(r, def->pos, "field %s.%s of read model type %s needs @ref or @many (say how rows are found)",
                 type->name, def->name, named->name);
            return false;
        }
        field->kind = DECL_FIELD_COLUMN;
        if (strcmp(def->name, "id") != 0) {
            char buffer[256];
            decl_snake_case(def->name, buffer, sizeof buffer);
            field->column = gql_arena_strdup(r->arena, buffer);
        }
        return true;
    }
    const char *name = d->name;
    if (strcmp(name, "column") == 0) {
        static const char *const args[] = {"name", NULL};
        field->kind = DECL_FIELD_COLUMN;
        return no_other_arguments(r, d, args) && string_argument(r, d, "name", true, &field->column);
    }
    if (strcmp(name, "expr") == 0) {
        static const char *const args[] = {"sql", NULL};
        field->kind = DECL_FIELD_EXPR;
        return no_other_arguments(r, d, args) && string_argument(r, d, "sql", true, &field->sql);
    }
    if (strcmp(name, "ref") == 0 || strcmp(name, "many") == 0) {
        bool many = name[0] == 'm';
        field->kind = many ? DECL_FIELD_MANY : DECL_FIELD_REF;
        if (!named) {
            fail(r, def->pos, "@%s on %s.%s: type %s is not an @entity or @embedded type (declare it so)", name,
                 type->name, def->name, field->graphql_type);
            return false;
        }
        field->target_type = named;
        if (many != field->list) {
            fail(r, def->pos, many ? "@many on %s.%s needs a list type (write [%s!]!)"
                                   : "@ref on %s.%s needs a single type, not a list (use @many for %s lists)",
                 type->name, def->name, field->graphql_type);
            return false;
        }
        static const char *const ref_args[] = {"via", NULL};
        static const char *const many_args[] = {"via", "orderBy", "through", "target", "first", "last", NULL};
        if (!no_other_arguments(r, d, many ? many_args : ref_args) || !string_argument(r, d, "via", true, &field->via))
            return false;
        if (!many)
            return true;
        if (!string_argument(r, d, "orderBy", false, &field->order_by)
            || !string_argument(r, d, "through", false, &field->through)
            || !string_argument(r, d, "target", false, &field->target))
            return false;
        if ((field->through == NULL) != (field->target == NULL)) {
            fail(r, d->pos, "@many on %s.%s: through and target go together (give both or neither)", type->name,
                 def->name);
            return false;
        }
        return window_argument(r, d, type, def, field);
    }
    /* the aggregates */
    field->kind = DECL_FIELD_AGGREGATE;
    field->aggregate = name[0] == 'c' ? DECL_COUNT : name[0] == 's' ? DECL_SUM : name[1] == 'i' ? DECL_MIN : DECL_MAX;
    static const char *const count_args[] = {"from", "via", "where", NULL};
    static const char *const value_args[] = {"from", "via", "column", "where", NULL};
    bool count = field->aggregate == DECL_COUNT;
    if (field->list || named) {
        fail(r, def->pos, "@%s on %s.%s needs a scalar type (Int, Float, String, ...)", name, type->name, def->name);
        return false;
    }
    return no_other_arguments(r, d, count ? count_args : value_args)
           && string_argument(r, d, "from", true, &field->from) && string_argument(r, d, "via", true, &field->via)
           && string_argument(r, d, "column", !count, &field->column)
           && string_argument(r, d, "where", false, &field->where);
}

const decl_type *decl_model_type(const decl_model *model, const char *name)
{
    for (size_t i = 0; i < model->type_count; i++)
        if (strcmp(model->types[i].name, name) == 0)
            return &model->types[i];
    return NULL;
}

static bool is_declared(const ast_definition *def)
{
    return def->kind == AST_DEF_OBJECT && !def->extension
           && (gql_ast_directive(def->directives, def->directive_count, "entity")
               || gql_ast_directive(def->directives, def->directive_count, "embedded"));
}

/* Field directives on types that are not read models would silently do nothing. */
static bool no_stray_field_directives(const reader *r, const ast_definition *def)
{
    if (def->kind != AST_DEF_OBJECT && def->kind != AST_DEF_INTERFACE)
        return true;
    for (size_t f = 0; f < def->field_count; f++)
        for (size_t i = 0; i < def->fields[f].directive_count; i++)
            if (is_field_directive(def->fields[f].directives[i].name)) {
                fail(r, def->fields[f].directives[i].pos,
                     "@%s on %s.%s: %s has no @entity or @embedded (add one, or remove the directive)",
                     def->fields[f].directives[i].name, def->name ? def->name : "?", def->fields[f].name,
                     def->name ? def->name : "the type");
                return false;
            }
    return true;
}

decl_model *decl_model_read(gql_arena *arena, const ast_document *doc, const char *path, char *error,
                            size_t error_size)
{
    reader r = {arena, doc, path, error, error_size};
    decl_model *model = gql_arena_alloc(arena, sizeof *model);
    model->path = gql_arena_strdup(arena, path);
    size_t count = 0;
    for (size_t i = 0; i < doc->count; i++) {
        const ast_definition *def = doc->definitions[i];
        if (is_declared(def))
            count++;
        else if (!no_stray_field_directives(&r, def))
            return NULL;
    }
    model->types = count ? gql_arena_alloc(arena, count * sizeof *model->types) : NULL;
    for (size_t i = 0; i < doc->count; i++) {
        const ast_definition *def = doc->definitions[i];
        if (!is_declared(def))
            continue;
        decl_type *type = &model->types[model->type_count];
        if (!read_type_header(&r, def, type))
            return NULL;
        if (decl_model_type(model, type->name)) {
            fail(&r, def->pos, "type %s is declared twice (keep one)", type->name);
            return NULL;
        }
        model->type_count++;
    }
    size_t index = 0;
    for (size_t i = 0; i < doc->count; i++) {
        const ast_definition *def = doc->definitions[i];
        if (!is_declared(def))
            continue;
        decl_type *type = &model->types[index++];
        type->fields = def->field_count ? gql_arena_alloc(arena, def->field_count * sizeof *type->fields) : NULL;
        bool has_id = false;
        for (size_t f = 0; f < def->field_count; f++) {
            decl_field *field = &type->fields[type->field_count];
            if (!read_field(&r, model, type, &def->fields[f], field))
                return NULL;
            has_id = has_id || (strcmp(field->name, "id") == 0 && field->kind == DECL_FIELD_COLUMN);
            type->field_count++;
        }
        if (!has_id) {
            fail(&r, def->pos, "type %s has no id field (add `id: ID!`, the source's key)", type->name);
            return NULL;
        }
    }
    return model;
}
