/* gql_prepare: prepared documents (parse, validate, operation selection, the variables'
 * static plan) and their thread-deferred reference counting. */
#include "config.h"

#include "server/graphql/gql_exec_internal.h"
#include "server/graphql/gql_validate.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ helpers */

/* Binary search in the line table, then UTF-16 columns from the nearest column mark on the
 * same line (graphql-js counting): plans record a location per field, so this must not
 * rescan the document, nor a long line. */
gql_location gql_exec_location(const gql_prepared *p, uint32_t pos)
{
    const char *source = p->document->source;
    size_t length = p->document->source_length;
    if (!p->line_starts)
        return gql_source_location(source, length, pos);
    if (pos > length)
        pos = (uint32_t)length;
    size_t lo = 0, hi = p->line_count;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (p->line_starts[mid] <= pos)
            lo = mid;
        else
            hi = mid;
    }
    uint32_t start = p->line_starts[lo];
    unsigned column_before = 0;
    size_t block = pos / GQL_COLUMN_MARK_BYTES;
    const gql_column_mark *mark = &p->column_marks[block];
    if (mark->offset > pos && block > 0)
        mark--;
    if (mark->offset <= pos && mark->offset >= start) {
        column_before = mark->column - 1;
        start = mark->offset;
    }
    gql_location loc = gql_source_location(source + start, length - start, pos - start);
    loc.line = (unsigned)lo + 1;
    loc.column += column_before;
    return loc;
}

static void build_line_table(gql_prepared *p)
{
    const char *s = p->document->source;
    size_t n = p->document->source_length, lines = 1;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' || (s[i] == '\r' && (i + 1 >= n || s[i + 1] != '\n')))
            lines++;
    p->line_starts = gql_arena_alloc(&p->arena, lines * sizeof(uint32_t));
    p->line_count = 0;
    p->line_starts[p->line_count++] = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' || (s[i] == '\r' && (i + 1 >= n || s[i + 1] != '\n')))
            p->line_starts[p->line_count++] = (uint32_t)(i + 1);
    p->column_marks = gql_arena_alloc(&p->arena, gql_column_mark_count(n) * sizeof(gql_column_mark));
    gql_column_marks(s, n, p->column_marks);
}

cJSON *gql_exec_error_at(cJSON *errors, const char *message, const gql_prepared *p,
                         uint32_t pos)
{
    cJSON *e = gql_error_append(errors, message);
    gql_error_add_location(e, gql_exec_location(p, pos));
    return e;
}

/* ------------------------------------------------------------------ prepare */

_Thread_local deferred_releases gql_exec_thread;
static pthread_key_t deferred_key;
static pthread_once_t deferred_key_once = PTHREAD_ONCE_INIT;

static void prepared_free(gql_prepared *p)
{
    for (size_t i = 0; i < p->variable_count; i++)
        cJSON_Delete(p->variables[i].default_value);
    gql_map_free(&p->fragments);
    gql_arena_free(&p->arena);
    free(p->source);
    free(p);
}

static void deferred_apply(deferred_releases *d)
{
    gql_prepared *p = d->prepared;
    int pending = d->pending;
    d->prepared = NULL;
    d->pending = 0;
    if (p && pending > 0 && atomic_fetch_sub(&p->refs, pending) == pending)
        prepared_free(p);
}

static void deferred_thread_exit(void *releases)
{
    deferred_releases *d = releases;
    deferred_apply(d);
    free(d->spare_request);
    d->spare_request = NULL;
}

static void deferred_key_create(void)
{
    if (pthread_key_create(&deferred_key, deferred_thread_exit) != 0)
        abort(); /* only when the process has no keys left: as fatal as out of memory */
}

void gql_exec_thread_register_slow(deferred_releases *d)
{
    pthread_once(&deferred_key_once, deferred_key_create);
    pthread_setspecific(deferred_key, d);
    d->registered = true;
}

gql_prepared *gql_prepared_ref(gql_prepared *prepared)
{
    deferred_releases *d = &gql_exec_thread;
    if (d->prepared == prepared && d->pending > 0) {
        d->pending--; /* takes back a release this thread has not applied yet */
        return prepared;
    }
    atomic_fetch_add(&prepared->refs, 1);
    return prepared;
}

void gql_prepared_release(gql_prepared *p)
{
    if (!p)
        return;
    deferred_releases *d = &gql_exec_thread;
    if (d->prepared != p) {
        deferred_apply(d);
        gql_exec_thread_register(d);
        d->prepared = p;
    }
    d->pending++;
}

gql_operation_type gql_prepared_operation_type(const gql_prepared *p)
{
    return p->operation->operation;
}

const char *gql_prepared_operation_name(const gql_prepared *p)
{
    return p->operation->name;
}

const gql_schema *gql_prepared_schema(const gql_prepared *p)
{
    return p->schema;
}

static bool directives_use_variables(const ast_directive *dirs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(dirs[i].name, "skip") && strcmp(dirs[i].name, "include"))
            continue;
        for (size_t a = 0; a < dirs[i].argument_count; a++)
            if (dirs[i].arguments[a].value->kind == AST_VALUE_VARIABLE)
                return true;
    }
    return false;
}

static bool selection_set_uses_variable_directives(const ast_selection_set *set)
{
    if (!set)
        return false;
    for (size_t i = 0; i < set->count; i++) {
        const ast_selection *s = set->items[i];
        if (directives_use_variables(s->directives, s->directive_count))
            return true;
        if (selection_set_uses_variable_directives(s->selection_set))
            return true;
    }
    return false;
}

static bool is_builtin(const gql_type *type, const char *name)
{
    return type->builtin && strcmp(type->name, name) == 0;
}

/* Everything about the variables that does not depend on their values, once per document:
 * the coercion kind of each and its default value, coerced (graphql-js coerces the default
 * literal on every request; the result is the same every time). */
static void plan_variables(gql_prepared *p)
{
    const ast_definition *op = p->operation;
    p->variable_count = op->variable_count;
    p->variables = gql_arena_alloc(&p->arena, (op->variable_count + 1) * sizeof(var_plan));
    for (size_t i = 0; i < op->variable_count; i++) {
        const ast_variable_definition *vd = &op->variables[i];
        var_plan *v = &p->variables[i];
        v->name = vd->name;
        v->type = p->variable_types[i];
        v->kind = VAR_GENERAL;
        if (!v->type || !gql_type_is_input(v->type)) {
            p->variables_general = true; /* validation rejects this; the general path reports it */
            continue;
        }
        v->non_null = v->type->kind == GQL_KIND_NON_NULL;
        v->named = v->non_null ? v->type->of_type : v->type;
        if (vd->default_value)
            v->has_default = gql_value_from_ast(vd->default_value, v->type, NULL,
                                                &v->default_value);
        const gql_type *t = v->named;
        if (t->kind == GQL_KIND_ENUM)
            v->kind = VAR_ENUM;
        else if (t->kind != GQL_KIND_SCALAR)
            v->kind = VAR_GENERAL;
        else if (is_builtin(t, "ID"))
            v->kind = VAR_ID;
        else if (is_builtin(t, "String"))
            v->kind = VAR_STRING;
        else if (is_builtin(t, "Int"))
            v->kind = VAR_INT;
        else if (is_builtin(t, "Float"))
            v->kind = VAR_FLOAT;
        else if (is_builtin(t, "Boolean"))
            v->kind = VAR_BOOLEAN;
        else if (!t->builtin)
            v->kind = VAR_CUSTOM;
        v->date_time = gql_scalar_is_date_time(t);
    }
}

/* Parse + validate + select; with `errors_out` collecting everything (tool) when `collect`. */
static gql_prepared *prepare(const gql_schema *schema, const char *document, size_t length,
                             const char *operation_name, const gql_limits *limits,
                             cJSON *errors)
{
    gql_prepared *p = gql_xcalloc(1, sizeof(*p));
    atomic_init(&p->refs, 1);
    gql_arena_init(&p->arena);
    gql_map_init(&p->fragments);
    p->schema = schema;
    p->source = gql_xmalloc(length + 1);
    memcpy(p->source, document, length);
    p->source[length] = '\0';
    gql_parse_error perr;
    p->document = gql_parse(&p->arena, p->source, length, limits, &perr);
    if (!p->document) {
        cJSON *e = gql_error_append(errors, perr.message);
        if (perr.has_pos)
            gql_error_add_location(e, gql_source_location(p->source, length, perr.pos));
        goto fail;
    }
    build_line_table(p);
    if (!gql_validate(schema, p->document, limits, errors))
        goto fail;
    /* operation selection (graphql-js buildExecutionContext) */
    const ast_definition *operation = NULL;
    for (size_t i = 0; i < p->document->count; i++) {
        const ast_definition *d = p->document->definitions[i];
        if (d->kind == AST_DEF_FRAGMENT) {
            gql_map_put(&p->fragments, d->name, (void *)d);
        } else if (d->kind == AST_DEF_OPERATION) {
            if (!operation_name || !*operation_name) {
                if (operation) {
                    gql_error_append(errors, "Must provide operation name if query contains "
                                             "multiple operations.");
                    goto fail;
                }
                operation = d;
            } else if (d->name && strcmp(d->name, operation_name) == 0) {
                operation = d;
            }
        }
    }
    if (!operation) {
        if (operation_name && *operation_name) {
            gql_buf msg;
            gql_buf_init(&msg);
            gql_buf_printf(&msg, "Unknown operation named \"%s\".", operation_name);
            gql_error_append(errors, msg.data);
            gql_buf_free(&msg);
        } else {
            gql_error_append(errors, "Must provide an operation.");
        }
        goto fail;
    }
    p->operation = operation;
    p->variable_types = gql_arena_alloc(&p->arena, (operation->variable_count + 1) *
                                                       sizeof(gql_type *));
    for (size_t i = 0; i < operation->variable_count; i++)
        p->variable_types[i] = gql_type_from_ast(schema, &p->arena, operation->variables[i].type);
    plan_variables(p);
    p->root_type = operation->operation == GQL_OPERATION_QUERY      ? schema->query
                   : operation->operation == GQL_OPERATION_MUTATION ? schema->mutation
                                                                   : schema->subscription;
    p->variable_directives = selection_set_uses_variable_directives(operation->selection_set);
    for (size_t i = 0; i < p->document->count && !p->variable_directives; i++) {
        const ast_definition *d = p->document->definitions[i];
        if (d->kind == AST_DEF_FRAGMENT &&
            (selection_set_uses_variable_directives(d->selection_set) ||
             directives_use_variables(d->directives, d->directive_count)))
            p->variable_directives = true;
    }
    if (p->root_type && operation->operation != GQL_OPERATION_SUBSCRIPTION &&
        !p->variable_directives) {
        p->static_plan = gql_plan_build(p, &p->arena, NULL, errors);
        if (!p->static_plan)
            goto fail;
    }
    return p;
fail:
    gql_prepared_release(p);
    return NULL;
}

gql_prepared *gql_prepare(const gql_schema *schema, const char *document, size_t length,
                          const char *operation_name, const gql_limits *limits, cJSON **errors)
{
    cJSON *errs = cJSON_CreateArray();
    gql_prepared *p = prepare(schema, document, length, operation_name, limits, errs);
    if (p) {
        cJSON_Delete(errs);
        if (errors)
            *errors = NULL;
        return p;
    }
    if (errors)
        *errors = errs;
    else
        cJSON_Delete(errs);
    return NULL;
}

/* ------------------------------------------------------------------ tool support */

cJSON *gql_validate_document(const gql_schema *schema, const char *document, size_t length,
                             const char *operation_name, const gql_limits *limits)
{
    cJSON *errors = cJSON_CreateArray();
    gql_prepared *p = prepare(schema, document, length, operation_name, limits, errors);
    gql_prepared_release(p);
    return errors;
}
