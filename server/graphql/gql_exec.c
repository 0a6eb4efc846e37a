/* gql_exec: prepared documents, operation selection, variable coercion, field collection into
 * plans, and execution of plans over JSON sources and the schema itself (introspection). */
#include "config.h"

#include "server/graphql/graphql.h"
#include "server/graphql/gql_arena.h"
#include "server/graphql/gql_errors.h"
#include "server/graphql/gql_map.h"
#include "server/graphql/gql_parser.h"
#include "server/graphql/gql_schema.h"
#include "server/graphql/gql_validate.h"
#include "server/graphql/gql_values.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* A plan hostile documents cannot blow up: abstract types multiply plan nodes. */
#define PLAN_MAX_FIELDS 200000

typedef struct gql_plan {
    gql_plan_selection root;
    const ast_selection **nodes; /* first field node, by gql_plan_field.index */
    size_t field_total;
} gql_plan;

/* How a request coerces one variable without the general (allocating) coerceInputValue: the
 * common case of a few scalar variables costs no malloc per variable. */
typedef enum var_fast_kind {
    VAR_GENERAL,   /* lists, input objects, bad types: gql_coerce_input_value */
    VAR_ID,
    VAR_STRING,
    VAR_INT,
    VAR_FLOAT,
    VAR_BOOLEAN,
    VAR_ENUM,
    VAR_CUSTOM,    /* a custom scalar: any JSON value, copied */
} var_fast_kind;

typedef struct var_plan {
    const char *name;
    const gql_type *type;       /* with wrappers; NULL when unknown */
    const gql_type *named;      /* without the non-null wrapper */
    var_fast_kind kind;
    bool non_null;
    bool has_default;           /* a default that coerces (graphql-js valueFromAST) */
    cJSON *default_value;       /* coerced once at prepare time, owned by the prepared */
} var_plan;

struct gql_prepared {
    atomic_int refs;
    gql_arena arena;
    char *source;
    const gql_schema *schema;
    ast_document *document;
    const ast_definition *operation;
    const gql_type *root_type;
    gql_map fragments;
    bool variable_directives; /* @skip/@include with variables: plan per request */
    gql_plan *static_plan;
    const gql_type **variable_types; /* resolved once, by variable definition index */
    var_plan *variables;             /* by variable definition index */
    size_t variable_count;
    bool variables_general;          /* some variable needs the general coercion path */
    uint32_t *line_starts;           /* byte offsets where lines start, for locations */
    size_t line_count;
};

/* Variables a request coerces without the general path (more take the general path). */
#define REQUEST_FAST_VARIABLES 32

/* One allocation: this struct, then the fast path's variable nodes, the owned values, the
 * argument slots of a cached plan and the variables' strings. */
struct gql_request {
    gql_prepared *prepared;
    gql_arena arena;           /* only for per-request plans and the general path */
    cJSON *variables;          /* coerced; &nodes[0] on the fast path */
    bool variables_owned;      /* a cJSON tree of the general path (cJSON_Delete it) */
    bool arguments_made;       /* some arguments[] were computed */
    const gql_plan *plan;
    cJSON **arguments;         /* by field index, lazily */
    cJSON *nodes;              /* fast path: the object, then one node per variable */
    cJSON **owned;             /* fast path: values made by the general coercion, by variable */
    char *strings;             /* fast path: copies of the string values */
    size_t block_size;         /* bytes in the block that starts with this struct */
};

/* ------------------------------------------------------------------ helpers */

/* Binary search in the line table, then UTF-16 columns from the line start (graphql-js
 * counting): plans record a location per field, so this must not rescan the document. */
static gql_location location_of(const gql_prepared *p, uint32_t pos)
{
    if (!p->line_starts)
        return gql_source_location(p->document->source, p->document->source_length, pos);
    size_t lo = 0, hi = p->line_count;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (p->line_starts[mid] <= pos)
            lo = mid;
        else
            hi = mid;
    }
    uint32_t start = p->line_starts[lo];
    gql_location loc = gql_source_location(p->document->source + start,
                                           p->document->source_length - start, pos - start);
    loc.line = (unsigned)lo + 1;
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
}

static cJSON *error_at(cJSON *errors, const char *message, const gql_prepared *p, uint32_t pos)
{
    cJSON *e = gql_error_append(errors, message);
    gql_error_add_location(e, location_of(p, pos));
    return e;
}

/* ------------------------------------------------------------------ prepare */

/* Reference counting with deferred decrements. A request costs four reference operations
 * on its document (the cache's hit, the request's own, and the two releases) and each atomic
 * read-modify-write costs as much as the rest of a cached request's coercion; on a server,
 * every worker thread also fights over the hot document's counter. So a thread does not
 * apply its releases of the document it used last at once: it counts them in `deferred`,
 * and a later reference taken by the same thread cancels one of them, with no atomic
 * operation at all in the steady state (the same document, request after request). The
 * shared counter therefore never falls below the true count; the pending releases are
 * applied (and the document freed when that brings it to zero) when the thread releases
 * another document, or exits. At most one released document per thread outlives its last
 * release that way. */
typedef struct deferred_releases {
    gql_prepared *prepared; /* whose releases are pending; NULL when none */
    int pending;            /* releases not applied to prepared->refs yet */
    bool registered;        /* the exit destructor knows this thread */
    /* The block of the thread's last freed request, kept for its next request (a request is
     * one block; a worker thread makes them one after the other): NULL when none. */
    void *spare_request;
    size_t spare_request_size;
} deferred_releases;

/* Request blocks up to this size are kept as the thread's spare. */
#define SPARE_REQUEST_MAX 4096

static _Thread_local deferred_releases deferred;
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

static void thread_state_register(deferred_releases *d)
{
    if (!d->registered) {
        pthread_once(&deferred_key_once, deferred_key_create);
        pthread_setspecific(deferred_key, d);
        d->registered = true;
    }
}

gql_prepared *gql_prepared_ref(gql_prepared *prepared)
{
    deferred_releases *d = &deferred;
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
    deferred_releases *d = &deferred;
    if (d->prepared != p) {
        deferred_apply(d);
        thread_state_register(d);
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

static gql_plan *build_plan(gql_prepared *p, gql_arena *arena, const cJSON *variables,
                            cJSON *errors);

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
        p->static_plan = build_plan(p, &p->arena, NULL, errors);
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

/* ------------------------------------------------------------------ variables */

typedef struct var_error_ctx {
    cJSON *errors;
    const gql_prepared *prepared;
    const ast_variable_definition *definition;
} var_error_ctx;

static void variable_coerce_error(void *context, const cJSON *path, const cJSON *invalid,
                                  const char *message)
{
    var_error_ctx *c = context;
    gql_buf msg;
    gql_buf_init(&msg);
    gql_buf_printf(&msg, "Variable \"$%s\" got invalid value ", c->definition->name);
    gql_inspect(invalid, &msg);
    if (cJSON_GetArraySize(path) > 0) {
        gql_buf_printf(&msg, " at \"%s", c->definition->name);
        gql_print_path_array(path, &msg);
        gql_buf_puts(&msg, "\"");
    }
    gql_buf_puts(&msg, "; ");
    gql_buf_puts(&msg, message);
    error_at(c->errors, msg.data, c->prepared, c->definition->pos);
    gql_buf_free(&msg);
}

/* The fast path only needs to know that coercion failed: the general path then reports. */
static void variable_fast_error(void *context, const cJSON *path, const cJSON *invalid,
                                const char *message)
{
    (void)path;
    (void)invalid;
    (void)message;
    *(bool *)context = true;
}

/* coerceVariableValues; returns NULL (errors appended) on failure. */
static cJSON *coerce_variables(const gql_prepared *p, gql_arena *arena, const cJSON *inputs,
                               cJSON *errors)
{
    cJSON *coerced = cJSON_CreateObject();
    int before = cJSON_GetArraySize(errors);
    const ast_definition *op = p->operation;
    for (size_t i = 0; i < op->variable_count; i++) {
        const ast_variable_definition *vd = &op->variables[i];
        gql_buf msg;
        gql_buf_init(&msg);
        const gql_type *type = p->variable_types[i];
        if (!type || !gql_type_is_input(type)) {
            /* validation rejects this; kept for completeness */
            gql_buf_printf(&msg, "Variable \"$%s\" expected value of type \"", vd->name);
            gql_buf_puts(&msg, "\" which cannot be used as an input type.");
            error_at(errors, msg.data, p, vd->type->pos);
            gql_buf_free(&msg);
            continue;
        }
        const cJSON *value = inputs ? cJSON_GetObjectItemCaseSensitive(inputs, vd->name) : NULL;
        if (!value) {
            if (vd->default_value) {
                cJSON *v = NULL;
                if (gql_value_from_ast(vd->default_value, type, NULL, &v))
                    cJSON_AddItemToObject(coerced, vd->name, v);
            } else if (type->kind == GQL_KIND_NON_NULL) {
                gql_buf_printf(&msg, "Variable \"$%s\" of required type \"", vd->name);
                gql_type_print(type, &msg);
                gql_buf_puts(&msg, "\" was not provided.");
                error_at(errors, msg.data, p, vd->pos);
            }
            gql_buf_free(&msg);
            continue;
        }
        if (cJSON_IsNull(value) && type->kind == GQL_KIND_NON_NULL) {
            gql_buf_printf(&msg, "Variable \"$%s\" of non-null type \"", vd->name);
            gql_type_print(type, &msg);
            gql_buf_puts(&msg, "\" must not be null.");
            error_at(errors, msg.data, p, vd->pos);
            gql_buf_free(&msg);
            continue;
        }
        gql_buf_free(&msg);
        var_error_ctx ctx = {errors, p, vd};
        cJSON *v = gql_coerce_input_value(value, type, variable_coerce_error, &ctx);
        if (v)
            cJSON_AddItemToObject(coerced, vd->name, v);
    }
    if (cJSON_GetArraySize(errors) != before) {
        cJSON_Delete(coerced);
        return NULL;
    }
    return coerced;
}

/* ------------------------------------------------------------------ field collection */

typedef struct plan_builder {
    gql_prepared *prepared;
    gql_arena *arena;
    const cJSON *variables;
    gql_vec nodes; /* by field index */
    size_t total;
    bool too_big;
} plan_builder;

/* shouldIncludeNode: @skip(if: true) excludes, @include(if: false) excludes. */
static bool should_include(plan_builder *b, const ast_directive *dirs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        bool skip = strcmp(dirs[i].name, "skip") == 0;
        bool include = strcmp(dirs[i].name, "include") == 0;
        if (!skip && !include)
            continue;
        for (size_t a = 0; a < dirs[i].argument_count; a++) {
            if (strcmp(dirs[i].arguments[a].name, "if"))
                continue;
            const ast_value *v = dirs[i].arguments[a].value;
            bool value = false;
            if (v->kind == AST_VALUE_BOOLEAN) {
                value = v->boolean;
            } else if (v->kind == AST_VALUE_VARIABLE && b->variables) {
                const cJSON *vv = cJSON_GetObjectItemCaseSensitive(b->variables, v->text);
                value = cJSON_IsTrue(vv);
            }
            if (skip && value)
                return false;
            if (include && !value)
                return false;
        }
    }
    return true;
}

static bool fragment_condition_matches(plan_builder *b, const char *condition,
                                       const gql_type *type)
{
    if (!condition)
        return true;
    const gql_type *ct = gql_schema_type(b->prepared->schema, condition);
    if (!ct)
        return false;
    if (ct == type)
        return true;
    if (gql_type_is_abstract(ct))
        return gql_schema_is_sub_type(ct, type);
    return false;
}

/* An ordered multimap response key -> field nodes. */
typedef struct field_group {
    const char *key;
    gql_vec nodes;
} field_group;

typedef struct field_groups {
    gql_vec groups; /* field_group* */
    gql_map by_key;
} field_groups;

static void collect_fields(plan_builder *b, const gql_type *type, const ast_selection_set *set,
                           field_groups *out, gql_map *visited_fragments, unsigned depth)
{
    if (!set || depth > 10000)
        return;
    for (size_t i = 0; i < set->count; i++) {
        const ast_selection *s = set->items[i];
        if (!should_include(b, s->directives, s->directive_count))
            continue;
        if (s->kind == AST_SELECTION_FIELD) {
            const char *key = s->alias ? s->alias : s->name;
            field_group *g = gql_map_get(&out->by_key, key);
            if (!g) {
                g = gql_arena_alloc(b->arena, sizeof(*g));
                g->key = key;
                gql_map_put(&out->by_key, key, g);
                gql_vec_push(&out->groups, g);
            }
            gql_vec_push(&g->nodes, (void *)s);
        } else if (s->kind == AST_SELECTION_INLINE_FRAGMENT) {
            if (!fragment_condition_matches(b, s->type_condition, type))
                continue;
            collect_fields(b, type, s->selection_set, out, visited_fragments, depth + 1);
        } else {
            if (gql_map_get(visited_fragments, s->name))
                continue;
            gql_map_put(visited_fragments, s->name, (void *)1);
            const ast_definition *f = gql_map_get(&b->prepared->fragments, s->name);
            if (!f || !fragment_condition_matches(b, f->type_condition, type))
                continue;
            collect_fields(b, type, f->selection_set, out, visited_fragments, depth + 1);
        }
    }
}

static void free_groups(field_groups *g)
{
    for (size_t i = 0; i < g->groups.count; i++)
        gql_vec_free(&((field_group *)g->groups.items[i])->nodes);
    gql_vec_free(&g->groups);
    gql_map_free(&g->by_key);
}

static void plan_selection(plan_builder *b, const gql_type *object_type, const gql_vec *sets,
                           gql_plan_selection *out, unsigned depth);

static void plan_fields(plan_builder *b, const gql_type *object_type, field_groups *groups,
                        gql_plan_selection *out, unsigned depth)
{
    const gql_schema *schema = b->prepared->schema;
    gql_plan_field *fields = groups->groups.count
                                 ? gql_arena_alloc(b->arena, groups->groups.count *
                                                                 sizeof(gql_plan_field))
                                 : NULL;
    size_t n = 0;
    for (size_t i = 0; i < groups->groups.count; i++) {
        field_group *g = groups->groups.items[i];
        const ast_selection *first = g->nodes.items[0];
        const gql_field *def = gql_schema_field_def(schema, object_type, first->name);
        if (!def)
            continue; /* graphql-js skips unknown fields (validation rejects them anyway) */
        gql_plan_field *f = &fields[n++];
        f->response_key = g->key;
        f->name = first->name;
        f->definition = def;
        f->kind = def == &schema->typename_field ? GQL_FIELD_TYPENAME
                  : def == &schema->schema_field ? GQL_FIELD_SCHEMA
                  : def == &schema->type_field   ? GQL_FIELD_TYPE
                                                 : GQL_FIELD_NORMAL;
        if (f->kind == GQL_FIELD_TYPENAME)
            f->definition = NULL;
        f->parent_type = object_type;
        f->return_type = def->type;
        f->location = location_of(b->prepared, first->pos);
        f->index = b->total++;
        gql_vec_push(&b->nodes, (void *)first);
        if (b->total > PLAN_MAX_FIELDS) {
            b->too_big = true;
            return;
        }
        const gql_type *named = gql_type_named(def->type);
        if (!gql_type_is_composite(named))
            continue;
        gql_vec sets = {0};
        for (size_t k = 0; k < g->nodes.count; k++) {
            const ast_selection *node = g->nodes.items[k];
            if (node->selection_set)
                gql_vec_push(&sets, node->selection_set);
        }
        size_t possible = named->kind == GQL_KIND_OBJECT ? 1 : named->possible_type_count;
        gql_plan_selection *sels =
            possible ? gql_arena_alloc(b->arena, possible * sizeof(gql_plan_selection)) : NULL;
        for (size_t k = 0; k < possible && !b->too_big; k++) {
            const gql_type *concrete =
                named->kind == GQL_KIND_OBJECT ? named : named->possible_types[k];
            plan_selection(b, concrete, &sets, &sels[k], depth + 1);
        }
        gql_vec_free(&sets);
        f->selections = sels;
        f->selection_count = possible;
        if (b->too_big)
            return;
    }
    out->object_type = object_type;
    out->fields = fields;
    out->field_count = n;
}

static void plan_selection(plan_builder *b, const gql_type *object_type, const gql_vec *sets,
                           gql_plan_selection *out, unsigned depth)
{
    field_groups groups = {0};
    gql_map visited = {0};
    out->object_type = object_type;
    if (depth <= 10000)
        for (size_t i = 0; i < sets->count; i++)
            collect_fields(b, object_type, sets->items[i], &groups, &visited, 0);
    plan_fields(b, object_type, &groups, out, depth);
    free_groups(&groups);
    gql_map_free(&visited);
}

static gql_plan *build_plan(gql_prepared *p, gql_arena *arena, const cJSON *variables,
                            cJSON *errors)
{
    plan_builder b = {0};
    b.prepared = p;
    b.arena = arena;
    b.variables = variables;
    gql_plan *plan = gql_arena_alloc(arena, sizeof(*plan));
    gql_vec sets = {0};
    gql_vec_push(&sets, p->operation->selection_set);
    plan_selection(&b, p->root_type, &sets, &plan->root, 0);
    gql_vec_free(&sets);
    if (b.too_big) {
        gql_buf msg;
        gql_buf_init(&msg);
        gql_buf_printf(&msg, "The operation selects more than %d fields once fragments on "
                             "abstract types are expanded.", PLAN_MAX_FIELDS);
        error_at(errors, msg.data, p, p->operation->pos);
        gql_buf_free(&msg);
        gql_vec_free(&b.nodes);
        return NULL;
    }
    plan->field_total = b.total;
    plan->nodes = (const ast_selection **)gql_vec_to_arena(&b.nodes, arena);
    return plan;
}

/* ------------------------------------------------------------------ requests */

/* cJSON's type of a value (cJSON_Invalid for NULL), without a call into the library. */
static inline int json_type(const cJSON *item)
{
    return item ? item->type & 0xFF : cJSON_Invalid;
}

/* Variable names are short: a byte loop beats a call to strcmp here. */
static inline bool names_equal(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* Fast coercion of the variables straight into the request's own block: one leaf node per
 * variable, strings copied into the block. Returns false, with nothing to undo but the general
 * values already attached (freed by gql_request_free), whenever the value is anything but
 * plainly valid: the general path then redoes the whole coercion and words the errors. */
static bool coerce_variables_fast(gql_request *r, const cJSON **values, const size_t *lengths)
{
    const gql_prepared *p = r->prepared;
    cJSON *root = &r->nodes[0];
    memset(root, 0, sizeof(*root));
    root->type = cJSON_Object;
    cJSON *last = NULL;
    char *strings = r->strings;
    for (size_t i = 0; i < p->variable_count; i++) {
        const var_plan *v = &p->variables[i];
        const cJSON *input = values[i];
        cJSON *node = &r->nodes[i + 1];
        if (!input) {
            if (!v->has_default) {
                if (v->non_null)
                    return false; /* "was not provided" */
                continue;
            }
            /* shares the prepared's default (read-only, outlives the request) */
            *node = *v->default_value;
            node->next = node->prev = NULL;
        } else if (json_type(input) == cJSON_NULL) {
            if (v->non_null)
                return false; /* "must not be null" */
            *node = (cJSON){.type = cJSON_NULL};
        } else {
            *node = (cJSON){0};
            int type = json_type(input);
            bool is_string = type == cJSON_String, is_number = type == cJSON_Number;
            bool is_bool = type == cJSON_True || type == cJSON_False;
            double d = input->valuedouble;
            switch (v->kind) {
            case VAR_ID:
            case VAR_STRING:
                if (!is_string)
                    return false; /* an ID from an integer, or an error: general path */
                node->type = cJSON_String;
                break;
            case VAR_ENUM:
                if (!is_string)
                    return false;
                {
                    bool known = false;
                    for (size_t e = 0; e < v->named->enum_value_count && !known; e++)
                        known = strcmp(v->named->enum_values[e].name, input->valuestring) == 0;
                    if (!known)
                        return false;
                }
                node->type = cJSON_String;
                break;
            case VAR_INT:
                /* in range (NaN is not) and integral: what GraphQLInt's parseValue accepts */
                if (!is_number || !(d >= -2147483648.0 && d <= 2147483647.0) ||
                    (double)(int32_t)d != d)
                    return false;
                node->type = cJSON_Number;
                node->valuedouble = d;
                node->valueint = (int)d;
                break;
            case VAR_FLOAT:
                if (!is_number || !isfinite(d))
                    return false;
                node->type = cJSON_Number;
                node->valuedouble = d;
                node->valueint = d >= 2147483647.0 ? 2147483647 : d <= -2147483648.0 ? (-2147483647 - 1) : (int)d;
                break;
            case VAR_BOOLEAN:
                if (!is_bool)
                    return false;
                node->type = type;
                break;
            case VAR_CUSTOM:
                if (is_string) {
                    node->type = cJSON_String;
                } else if (is_number || is_bool) {
                    node->type = type;
                    node->valuedouble = input->valuedouble;
                    node->valueint = input->valueint;
                } else {
                    node = NULL; /* objects and lists: copied by the general coercion */
                }
                break;
            case VAR_GENERAL:
                node = NULL;
                break;
            }
            if (node == NULL) {
                bool failed = false;
                node = gql_coerce_input_value(input, v->type, variable_fast_error, &failed);
                if (node == NULL)
                    return false;
                if (node->string && !(node->type & cJSON_StringIsConst))
                    cJSON_free(node->string); /* a copy of the input's key: named below */
                node->string = NULL;
                r->owned[i] = node;
            } else if (node->type == cJSON_String) {
                size_t length = lengths[i];
                memcpy(strings, input->valuestring, length);
                node->valuestring = strings;
                strings += length;
            }
        }
        node->string = (char *)v->name;
        node->type |= cJSON_StringIsConst;
        node->prev = last ? NULL : node; /* cJSON keeps the last child in child->prev */
        if (last) {
            last->next = node;
            node->prev = last;
            root->child->prev = node;
        } else {
            root->child = node;
        }
        last = node;
    }
    r->variables = root;
    return true;
}

/* Frees the values the general coercion attached to the fast variables object. */
static void release_owned_variables(gql_request *r)
{
    if (!r->owned)
        return;
    for (size_t i = 0; i < r->prepared->variable_count; i++)
        if (r->owned[i]) {
            r->owned[i]->next = r->owned[i]->prev = NULL;
            r->owned[i]->type &= ~cJSON_StringIsConst;
            r->owned[i]->string = NULL;
            cJSON_Delete(r->owned[i]);
            r->owned[i] = NULL;
        }
}

/* True when no earlier member of `object` has `member`'s name (JSON objects may repeat keys). */
static bool first_with_name(const cJSON *object, const cJSON *member)
{
    for (const cJSON *item = object->child; item != member; item = item->next)
        if (item->string && names_equal(item->string, member->string))
            return false;
    return true;
}

/* The request and everything a request with a cached plan needs come in one allocation:
 * the variables' nodes, their strings and the argument slots. `values[i]` is the input value
 * of variable i (NULL when absent). */
static gql_request *request_alloc(gql_prepared *p, const cJSON *inputs, const cJSON **values,
                                  size_t *lengths, bool *fast)
{
    size_t variables = p->variable_count, string_bytes = 0;
    *fast = !p->variables_general && variables <= REQUEST_FAST_VARIABLES;
    if (*fast) {
        /* Clients send the variables in declaration order: try the next input first. The
         * first match wins, as with cJSON_GetObjectItemCaseSensitive. */
        const cJSON *next = json_type(inputs) == cJSON_Object ? inputs->child : NULL;
        for (size_t i = 0; i < variables; i++) {
            const char *name = p->variables[i].name;
            const cJSON *found = NULL;
            if (next && next->string && names_equal(next->string, name) &&
                first_with_name(inputs, next))
                found = next;
            else if (inputs)
                found = cJSON_GetObjectItemCaseSensitive(inputs, name);
            values[i] = found;
            next = found ? found->next : NULL;
            if (json_type(found) == cJSON_String) {
                lengths[i] = strlen(found->valuestring) + 1;
                string_bytes += lengths[i];
            }
        }
    }
    size_t fields = p->static_plan ? p->static_plan->field_total + 1 : 0;
    size_t node_count = *fast ? variables + 1 : 0;
    size_t size = sizeof(gql_request) + node_count * sizeof(cJSON) +
                  (*fast ? variables : 0) * sizeof(cJSON *) + fields * sizeof(cJSON *) +
                  string_bytes;
    deferred_releases *d = &deferred;
    gql_request *r;
    if (d->spare_request && d->spare_request_size >= size) {
        r = d->spare_request;
        size = d->spare_request_size;
        d->spare_request = NULL;
    } else {
        r = gql_xmalloc(size);
    }
    /* field by field: a memset of the struct compiles to a slow `rep stos` */
    r->prepared = gql_prepared_ref(p);
    r->variables = NULL;
    r->variables_owned = false;
    r->arguments_made = false;
    r->plan = NULL;
    r->arguments = NULL;
    r->owned = NULL;
    r->block_size = size;
    unsigned char *block = (unsigned char *)(r + 1);
    r->nodes = (cJSON *)block;
    block += node_count * sizeof(cJSON);
    if (*fast) {
        r->owned = (cJSON **)block;
        memset(r->owned, 0, variables * sizeof(cJSON *));
        block += variables * sizeof(cJSON *);
    }
    if (fields) {
        r->arguments = (cJSON **)block;
        memset(r->arguments, 0, fields * sizeof(cJSON *));
        block += fields * sizeof(cJSON *);
    }
    r->strings = (char *)block;
    gql_arena_init(&r->arena);
    return r;
}

gql_request *gql_request_new(gql_prepared *prepared, const cJSON *variables, cJSON **errors)
{
    if (errors)
        *errors = NULL;
    const cJSON *values[REQUEST_FAST_VARIABLES + 1];
    size_t lengths[REQUEST_FAST_VARIABLES + 1];
    bool fast;
    gql_request *r = request_alloc(prepared, variables, values, lengths, &fast);
    cJSON *errs = NULL;
    if (!fast || !coerce_variables_fast(r, values, lengths)) {
        /* the general path: every error, worded as graphql-js words it */
        release_owned_variables(r);
        r->owned = NULL;
        errs = cJSON_CreateArray();
        r->variables = coerce_variables(prepared, &r->arena, variables, errs);
        r->variables_owned = true;
        if (!r->variables)
            goto fail;
    }
    if (!prepared->root_type) {
        const char *op = prepared->operation->operation == GQL_OPERATION_MUTATION
                             ? "mutation" : "subscription";
        gql_buf msg;
        gql_buf_init(&msg);
        gql_buf_printf(&msg, "Schema is not configured to execute %s operation.", op);
        if (!errs)
            errs = cJSON_CreateArray();
        error_at(errs, msg.data, prepared, prepared->operation->pos);
        gql_buf_free(&msg);
        goto fail;
    }
    if (prepared->operation->operation == GQL_OPERATION_SUBSCRIPTION) {
        if (!errs)
            errs = cJSON_CreateArray();
        error_at(errs, "Subscription operations are not supported by this server.", prepared,
                 prepared->operation->pos);
        goto fail;
    }
    if (prepared->static_plan) {
        r->plan = prepared->static_plan;
    } else {
        if (!errs)
            errs = cJSON_CreateArray();
        r->plan = build_plan(prepared, &r->arena, r->variables, errs);
        if (!r->plan)
            goto fail;
        r->arguments = gql_arena_alloc(&r->arena, (r->plan->field_total + 1) * sizeof(cJSON *));
    }
    cJSON_Delete(errs);
    return r;
fail:
    if (errors)
        *errors = errs;
    else
        cJSON_Delete(errs);
    gql_request_free(r);
    return NULL;
}

gql_request *gql_request_new_json(gql_prepared *prepared, const char *variables_json,
                                  cJSON **errors)
{
    cJSON *vars = NULL;
    if (variables_json && *variables_json) {
        vars = cJSON_Parse(variables_json);
        if (!vars || (!cJSON_IsObject(vars) && !cJSON_IsNull(vars))) {
            cJSON_Delete(vars);
            if (errors) {
                *errors = cJSON_CreateArray();
                gql_error_append(*errors, "Variables are invalid JSON.");
            }
            return NULL;
        }
    }
    gql_request *r = gql_request_new(prepared, cJSON_IsObject(vars) ? vars : NULL, errors);
    cJSON_Delete(vars);
    return r;
}

void gql_request_free(gql_request *r)
{
    if (!r)
        return;
    if (r->arguments && r->plan && r->arguments_made)
        for (size_t i = 0; i < r->plan->field_total; i++)
            cJSON_Delete(r->arguments[i]);
    if (r->variables_owned)
        cJSON_Delete(r->variables);
    else
        release_owned_variables(r);
    gql_arena_free(&r->arena);
    gql_prepared_release(r->prepared);
    deferred_releases *d = &deferred;
    if (!d->spare_request && r->block_size <= SPARE_REQUEST_MAX) {
        thread_state_register(d);
        d->spare_request = r;
        d->spare_request_size = r->block_size;
    } else {
        free(r);
    }
}

gql_operation_type gql_request_operation_type(const gql_request *r)
{
    return r->prepared->operation->operation;
}

const gql_type *gql_request_root_type(const gql_request *r)
{
    return r->prepared->root_type;
}

const gql_plan_field *gql_request_fields(const gql_request *r, size_t *count)
{
    *count = r->plan->root.field_count;
    return r->plan->root.fields;
}

const cJSON *gql_request_variables(const gql_request *r)
{
    return r->variables;
}

static const ast_argument *argument_node(const ast_selection *node, const char *name)
{
    for (size_t i = 0; i < node->argument_count; i++)
        if (strcmp(node->arguments[i].name, name) == 0)
            return &node->arguments[i];
    return NULL;
}

/* getArgumentValues; on failure *error_pos is where graphql-js locates the error (the field
 * for a missing argument, else the argument's value). */
static const cJSON *arguments_of(gql_request *r, const gql_plan_field *field, char **error,
                                 uint32_t *error_pos)
{
    if (error)
        *error = NULL;
    if (r->arguments[field->index])
        return r->arguments[field->index];
    cJSON *args = cJSON_CreateObject();
    const ast_selection *node = r->plan->nodes[field->index];
    const gql_field *def = field->definition;
    gql_buf msg;
    gql_buf_init(&msg);
    *error_pos = node->pos;
    for (size_t i = 0; def && i < def->argument_count; i++) {
        const gql_input_value *ad = &def->arguments[i];
        const ast_argument *an = argument_node(node, ad->name);
        if (!an) {
            *error_pos = node->pos;
            if (ad->default_value)
                cJSON_AddItemToObject(args, ad->name, cJSON_Duplicate(ad->default_value, true));
            else if (ad->type->kind == GQL_KIND_NON_NULL) {
                gql_buf_printf(&msg, "Argument \"%s\" of required type \"", ad->name);
                gql_type_print(ad->type, &msg);
                gql_buf_puts(&msg, "\" was not provided.");
                goto fail;
            }
            continue;
        }
        *error_pos = an->value->pos;
        bool is_null = an->value->kind == AST_VALUE_NULL;
        if (an->value->kind == AST_VALUE_VARIABLE) {
            const cJSON *vv = cJSON_GetObjectItemCaseSensitive(r->variables, an->value->text);
            if (!vv) {
                if (ad->default_value)
                    cJSON_AddItemToObject(args, ad->name,
                                          cJSON_Duplicate(ad->default_value, true));
                else if (ad->type->kind == GQL_KIND_NON_NULL) {
                    gql_buf_printf(&msg, "Argument \"%s\" of required type \"", ad->name);
                    gql_type_print(ad->type, &msg);
                    gql_buf_printf(&msg, "\" was provided the variable \"$%s\" which was not "
                                         "provided a runtime value.", an->value->text);
                    goto fail;
                }
                continue;
            }
            is_null = cJSON_IsNull(vv);
        }
        if (is_null && ad->type->kind == GQL_KIND_NON_NULL) {
            gql_buf_printf(&msg, "Argument \"%s\" of non-null type \"", ad->name);
            gql_type_print(ad->type, &msg);
            gql_buf_puts(&msg, "\" must not be null.");
            goto fail;
        }
        cJSON *v = NULL;
        if (!gql_value_from_ast(an->value, ad->type, r->variables, &v)) {
            gql_buf_printf(&msg, "Argument \"%s\" has invalid value ", ad->name);
            gql_print_value(an->value, &msg);
            gql_buf_puts(&msg, ".");
            goto fail;
        }
        cJSON_AddItemToObject(args, ad->name, v);
    }
    gql_buf_free(&msg);
    r->arguments[field->index] = args;
    r->arguments_made = true;
    return args;
fail:
    if (error)
        *error = gql_xstrdup(msg.data);
    gql_buf_free(&msg);
    cJSON_Delete(args);
    return NULL;
}

const cJSON *gql_request_arguments(gql_request *r, const gql_plan_field *field, char **error)
{
    uint32_t pos;
    return arguments_of(r, field, error, &pos);
}

/* ------------------------------------------------------------------ values being completed */

typedef enum intro_kind {
    INTRO_SCHEMA,
    INTRO_TYPE,
    INTRO_FIELD,
    INTRO_INPUT_VALUE,
    INTRO_ENUM_VALUE,
    INTRO_DIRECTIVE,
} intro_kind;

typedef enum xvalue_kind { XV_NULL, XV_JSON, XV_INTRO, XV_LIST } xvalue_kind;

typedef struct xvalue {
    xvalue_kind kind;
    const cJSON *json;
    intro_kind intro;
    const void *ptr;
    struct xvalue *items;
    size_t count;
} xvalue;

typedef enum completion { COMPLETED, NULLED, FAILED } completion;

typedef struct exec_ctx {
    gql_request *request;
    gql_buf *out;
    cJSON *errors;
    cJSON *path;
    cJSON *trash; /* temporary JSON leaves made by introspection */
    gql_arena scratch;
} exec_ctx;

static void path_push_key(exec_ctx *c, const char *key)
{
    cJSON_AddItemToArray(c->path, cJSON_CreateString(key));
}

static void path_push_index(exec_ctx *c, size_t index)
{
    cJSON_AddItemToArray(c->path, cJSON_CreateNumber((double)index));
}

static void path_pop(exec_ctx *c)
{
    cJSON_DeleteItemFromArray(c->path, cJSON_GetArraySize(c->path) - 1);
}

static void field_error(exec_ctx *c, const gql_plan_field *f, const char *message)
{
    cJSON *e = gql_error_append(c->errors, message);
    gql_error_add_location(e, f->location);
    gql_error_set_path(e, c->path);
}

static void truncate_to(exec_ctx *c, size_t mark)
{
    c->out->len = mark;
    if (c->out->data)
        c->out->data[mark] = 0;
}

static const cJSON *keep(exec_ctx *c, cJSON *leaf)
{
    cJSON_AddItemToArray(c->trash, leaf);
    return leaf;
}

static xvalue xv_json(const cJSON *json)
{
    xvalue v = {0};
    v.kind = json && !cJSON_IsNull(json) ? XV_JSON : XV_NULL;
    v.json = json;
    return v;
}

static xvalue xv_intro(intro_kind kind, const void *ptr)
{
    xvalue v = {0};
    v.kind = ptr ? XV_INTRO : XV_NULL;
    v.intro = kind;
    v.ptr = ptr;
    return v;
}

static xvalue xv_string(exec_ctx *c, const char *s)
{
    return s ? xv_json(keep(c, cJSON_CreateString(s))) : xv_json(NULL);
}

static xvalue xv_bool(exec_ctx *c, bool b)
{
    return xv_json(keep(c, cJSON_CreateBool(b)));
}

static xvalue xv_list(exec_ctx *c, size_t count)
{
    xvalue v = {0};
    v.kind = XV_LIST;
    v.count = count;
    v.items = count ? gql_arena_alloc(&c->scratch, count * sizeof(xvalue)) : NULL;
    return v;
}

/* ------------------------------------------------------------------ introspection */

static const char *const type_kind_names[] = {"SCALAR", "OBJECT",       "INTERFACE", "UNION",
                                              "ENUM",   "INPUT_OBJECT", "LIST",      "NON_NULL"};

static bool include_deprecated(exec_ctx *c, const gql_plan_field *f)
{
    const cJSON *args = gql_request_arguments(c->request, f, NULL);
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(args, "includeDeprecated"));
}

static xvalue input_value_list(exec_ctx *c, const gql_input_value *values, size_t count,
                               bool with_deprecated)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        if (with_deprecated || !values[i].deprecation_reason)
            n++;
    xvalue list = xv_list(c, n);
    n = 0;
    for (size_t i = 0; i < count; i++)
        if (with_deprecated || !values[i].deprecation_reason)
            list.items[n++] = xv_intro(INTRO_INPUT_VALUE, &values[i]);
    return list;
}

static xvalue type_list(exec_ctx *c, const gql_type *const *types, size_t count)
{
    xvalue list = xv_list(c, count);
    for (size_t i = 0; i < count; i++)
        list.items[i] = xv_intro(INTRO_TYPE, types[i]);
    return list;
}

static xvalue intro_resolve(exec_ctx *c, const xvalue *src, const gql_plan_field *f)
{
    const gql_schema *s = c->request->prepared->schema;
    const char *name = f->name;
    switch (src->intro) {
    case INTRO_SCHEMA:
        if (!strcmp(name, "description"))
            return xv_string(c, s->description);
        if (!strcmp(name, "types"))
            return type_list(c, (const gql_type *const *)s->types, s->type_count);
        if (!strcmp(name, "queryType"))
            return xv_intro(INTRO_TYPE, s->query);
        if (!strcmp(name, "mutationType"))
            return xv_intro(INTRO_TYPE, s->mutation);
        if (!strcmp(name, "subscriptionType"))
            return xv_intro(INTRO_TYPE, s->subscription);
        if (!strcmp(name, "directives")) {
            xvalue list = xv_list(c, s->directive_count);
            for (size_t i = 0; i < s->directive_count; i++)
                list.items[i] = xv_intro(INTRO_DIRECTIVE, s->directives[i]);
            return list;
        }
        break;
    case INTRO_TYPE: {
        const gql_type *t = src->ptr;
        bool object_like = t->kind == GQL_KIND_OBJECT || t->kind == GQL_KIND_INTERFACE;
        if (!strcmp(name, "kind"))
            return xv_string(c, type_kind_names[t->kind]);
        if (!strcmp(name, "name"))
            return xv_string(c, t->name);
        if (!strcmp(name, "description"))
            return xv_string(c, t->name ? t->description : NULL);
        if (!strcmp(name, "specifiedByURL"))
            return xv_string(c, t->kind == GQL_KIND_SCALAR ? t->specified_by_url : NULL);
        if (!strcmp(name, "fields")) {
            if (!object_like)
                return xv_json(NULL);
            bool all = include_deprecated(c, f);
            size_t n = 0;
            for (size_t i = 0; i < t->field_count; i++)
                if (all || !t->fields[i].deprecation_reason)
                    n++;
            xvalue list = xv_list(c, n);
            n = 0;
            for (size_t i = 0; i < t->field_count; i++)
                if (all || !t->fields[i].deprecation_reason)
                    list.items[n++] = xv_intro(INTRO_FIELD, &t->fields[i]);
            return list;
        }
        if (!strcmp(name, "interfaces"))
            return object_like ? type_list(c, t->interfaces, t->interface_count) : xv_json(NULL);
        if (!strcmp(name, "possibleTypes"))
            return gql_type_is_abstract(t)
                       ? type_list(c, t->possible_types, t->possible_type_count)
                       : xv_json(NULL);
        if (!strcmp(name, "enumValues")) {
            if (t->kind != GQL_KIND_ENUM)
                return xv_json(NULL);
            bool all = include_deprecated(c, f);
            size_t n = 0;
            for (size_t i = 0; i < t->enum_value_count; i++)
                if (all || !t->enum_values[i].deprecation_reason)
                    n++;
            xvalue list = xv_list(c, n);
            n = 0;
            for (size_t i = 0; i < t->enum_value_count; i++)
                if (all || !t->enum_values[i].deprecation_reason)
                    list.items[n++] = xv_intro(INTRO_ENUM_VALUE, &t->enum_values[i]);
            return list;
        }
        if (!strcmp(name, "inputFields"))
            return t->kind == GQL_KIND_INPUT_OBJECT
                       ? input_value_list(c, t->input_fields, t->input_field_count,
                                          include_deprecated(c, f))
                       : xv_json(NULL);
        if (!strcmp(name, "ofType"))
            return xv_intro(INTRO_TYPE, t->of_type);
        if (!strcmp(name, "isOneOf"))
            return t->kind == GQL_KIND_INPUT_OBJECT
                       ? xv_bool(c, gql_directive_find(t->directives, t->directive_count,
                                                       "oneOf") != NULL)
                       : xv_json(NULL);
        break;
    }
    case INTRO_FIELD: {
        const gql_field *fd = src->ptr;
        if (!strcmp(name, "name"))
            return xv_string(c, fd->name);
        if (!strcmp(name, "description"))
            return xv_string(c, fd->description);
        if (!strcmp(name, "args"))
            return input_value_list(c, fd->arguments, fd->argument_count,
                                    include_deprecated(c, f));
        if (!strcmp(name, "type"))
            return xv_intro(INTRO_TYPE, fd->type);
        if (!strcmp(name, "isDeprecated"))
            return xv_bool(c, fd->deprecation_reason != NULL);
        if (!strcmp(name, "deprecationReason"))
            return xv_string(c, fd->deprecation_reason);
        break;
    }
    case INTRO_INPUT_VALUE: {
        const gql_input_value *iv = src->ptr;
        if (!strcmp(name, "name"))
            return xv_string(c, iv->name);
        if (!strcmp(name, "description"))
            return xv_string(c, iv->description);
        if (!strcmp(name, "type"))
            return xv_intro(INTRO_TYPE, iv->type);
        if (!strcmp(name, "defaultValue")) {
            if (!iv->default_value)
                return xv_json(NULL);
            gql_buf b;
            gql_buf_init(&b);
            xvalue v = xv_json(NULL);
            if (gql_print_input_value(iv->default_value, iv->type, &b))
                v = xv_string(c, b.data);
            gql_buf_free(&b);
            return v;
        }
        if (!strcmp(name, "isDeprecated"))
            return xv_bool(c, iv->deprecation_reason != NULL);
        if (!strcmp(name, "deprecationReason"))
            return xv_string(c, iv->deprecation_reason);
        break;
    }
    case INTRO_ENUM_VALUE: {
        const gql_enum_value *ev = src->ptr;
        if (!strcmp(name, "name"))
            return xv_string(c, ev->name);
        if (!strcmp(name, "description"))
            return xv_string(c, ev->description);
        if (!strcmp(name, "isDeprecated"))
            return xv_bool(c, ev->deprecation_reason != NULL);
        if (!strcmp(name, "deprecationReason"))
            return xv_string(c, ev->deprecation_reason);
        break;
    }
    case INTRO_DIRECTIVE: {
        const gql_directive_def *d = src->ptr;
        if (!strcmp(name, "name"))
            return xv_string(c, d->name);
        if (!strcmp(name, "description"))
            return xv_string(c, d->description);
        if (!strcmp(name, "isRepeatable"))
            return xv_bool(c, d->repeatable);
        if (!strcmp(name, "locations")) {
            xvalue list = xv_list(c, d->location_count);
            for (size_t i = 0; i < d->location_count; i++)
                list.items[i] = xv_string(c, gql_directive_location_name(d->location_order[i]));
            return list;
        }
        if (!strcmp(name, "args"))
            return input_value_list(c, d->arguments, d->argument_count,
                                    include_deprecated(c, f));
        if (!strcmp(name, "isDeprecated"))
            return xv_bool(c, false);
        if (!strcmp(name, "deprecationReason"))
            return xv_json(NULL);
        break;
    }
    }
    return xv_json(NULL);
}

static const char *const intro_type_names[] = {"__Schema",     "__Type",      "__Field",
                                               "__InputValue", "__EnumValue", "__Directive"};

/* ------------------------------------------------------------------ completion */

static completion complete_value(exec_ctx *c, const gql_plan_field *f, const gql_type *type,
                                 const xvalue *v);

static bool execute_selection(exec_ctx *c, const gql_plan_selection *sel, const xvalue *src);

/* JavaScript's Number(string) for the scalar serializers. */
static bool js_number_from_string(const char *s, double *out)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v')
        s++;
    if (!*s) {
        *out = 0;
        return true;
    }
    char *end;
    double d;
    if ((s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ) {
        d = (double)strtoull(s + 2, &end, 16);
    } else if (!strncmp(s, "Infinity", 8) || !strncmp(s, "+Infinity", 9) ||
               !strncmp(s, "-Infinity", 9)) {
        d = s[0] == '-' ? -INFINITY : INFINITY;
        end = (char *)s + (s[0] == 'I' ? 8 : 9);
    } else {
        if (!((*s >= '0' && *s <= '9') || *s == '-' || *s == '+' || *s == '.'))
            return false;
        d = strtod(s, &end);
    }
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
    if (*end)
        return false;
    *out = d;
    return true;
}

static bool is_js_integer(double d)
{
    return isfinite(d) && floor(d) == d;
}

static completion leaf_error(exec_ctx *c, const gql_plan_field *f, const char *prefix,
                             const cJSON *value)
{
    gql_buf msg;
    gql_buf_init(&msg);
    gql_buf_puts(&msg, prefix);
    gql_inspect(value, &msg);
    field_error(c, f, msg.data);
    gql_buf_free(&msg);
    return FAILED;
}

static completion serialize_leaf(exec_ctx *c, const gql_plan_field *f, const gql_type *type,
                                 const cJSON *v)
{
    gql_buf *out = c->out;
    const char *n = type->name;
    if (type->kind == GQL_KIND_ENUM) {
        if (cJSON_IsString(v))
            for (size_t i = 0; i < type->enum_value_count; i++)
                if (!strcmp(type->enum_values[i].name, v->valuestring)) {
                    gql_buf_json_string(out, v->valuestring, strlen(v->valuestring));
                    return COMPLETED;
                }
        gql_buf msg;
        gql_buf_init(&msg);
        gql_buf_printf(&msg, "Enum \"%s\" cannot represent value: ", n);
        completion r = leaf_error(c, f, msg.data, v);
        gql_buf_free(&msg);
        return r;
    }
    if (!type->builtin) {
        gql_buf_json_value(out, v);
        return COMPLETED;
    }
    if (!strcmp(n, "Int") || !strcmp(n, "Float")) {
        bool is_int = n[0] == 'I';
        double num = 0;
        bool numeric = false;
        if (cJSON_IsBool(v)) {
            num = cJSON_IsTrue(v) ? 1 : 0;
            numeric = true;
        } else if (cJSON_IsNumber(v)) {
            num = v->valuedouble;
            numeric = true;
        } else if (cJSON_IsString(v) && v->valuestring[0]) {
            numeric = js_number_from_string(v->valuestring, &num);
            if (!numeric)
                num = NAN, numeric = true;
        }
        if (is_int) {
            if (!numeric || !is_js_integer(num))
                return leaf_error(c, f, "Int cannot represent non-integer value: ", v);
            if (num > 2147483647.0 || num < -2147483648.0)
                return leaf_error(c, f, "Int cannot represent non 32-bit signed integer value: ",
                                  v);
        } else if (!numeric || !isfinite(num)) {
            return leaf_error(c, f, "Float cannot represent non numeric value: ", v);
        }
        gql_buf_json_number(out, num);
        return COMPLETED;
    }
    if (!strcmp(n, "String")) {
        if (cJSON_IsString(v))
            gql_buf_json_string(out, v->valuestring, strlen(v->valuestring));
        else if (cJSON_IsBool(v))
            gql_buf_puts(out, cJSON_IsTrue(v) ? "\"true\"" : "\"false\"");
        else if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
            gql_buf_puts(out, "\"");
            gql_buf_json_number(out, v->valuedouble);
            gql_buf_puts(out, "\"");
        } else
            return leaf_error(c, f, "String cannot represent value: ", v);
        return COMPLETED;
    }
    if (!strcmp(n, "Boolean")) {
        if (cJSON_IsBool(v))
            gql_buf_puts(out, cJSON_IsTrue(v) ? "true" : "false");
        else if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
            gql_buf_puts(out, v->valuedouble != 0 ? "true" : "false");
        else
            return leaf_error(c, f, "Boolean cannot represent a non boolean value: ", v);
        return COMPLETED;
    }
    if (!strcmp(n, "ID")) {
        if (cJSON_IsString(v))
            gql_buf_json_string(out, v->valuestring, strlen(v->valuestring));
        else if (cJSON_IsNumber(v) && is_js_integer(v->valuedouble)) {
            gql_buf_puts(out, "\"");
            gql_buf_json_number(out, v->valuedouble);
            gql_buf_puts(out, "\"");
        } else
            return leaf_error(c, f, "ID cannot represent value: ", v);
        return COMPLETED;
    }
    gql_buf_json_value(out, v);
    return COMPLETED;
}

/* Iterates a JSON array, or a string by code points (JavaScript strings are iterable). */
static completion complete_list(exec_ctx *c, const gql_plan_field *f, const gql_type *type,
                                const xvalue *v)
{
    const gql_type *item_type = type->of_type;
    gql_buf_puts(c->out, "[");
    size_t index = 0;
    if (v->kind == XV_LIST) {
        for (size_t i = 0; i < v->count; i++, index++) {
            if (i)
                gql_buf_puts(c->out, ",");
            path_push_index(c, index);
            completion r = complete_value(c, f, item_type, &v->items[i]);
            path_pop(c);
            if (r == FAILED)
                return FAILED;
        }
    } else if (cJSON_IsArray(v->json)) {
        for (const cJSON *item = v->json->child; item; item = item->next, index++) {
            if (index)
                gql_buf_puts(c->out, ",");
            xvalue iv = xv_json(item);
            path_push_index(c, index);
            completion r = complete_value(c, f, item_type, &iv);
            path_pop(c);
            if (r == FAILED)
                return FAILED;
        }
    } else if (cJSON_IsString(v->json)) {
        const char *s = v->json->valuestring;
        size_t len = strlen(s);
        for (size_t i = 0; i < len; index++) {
            size_t n = 1;
            unsigned char ch = (unsigned char)s[i];
            if (ch >= 0xF0)
                n = 4;
            else if (ch >= 0xE0)
                n = 3;
            else if (ch >= 0xC0)
                n = 2;
            if (i + n > len)
                n = len - i;
            if (index)
                gql_buf_puts(c->out, ",");
            char *piece = gql_arena_strndup(&c->scratch, s + i, n);
            xvalue iv = xv_json(keep(c, cJSON_CreateString(piece)));
            path_push_index(c, index);
            completion r = complete_value(c, f, item_type, &iv);
            path_pop(c);
            if (r == FAILED)
                return FAILED;
            i += n;
        }
    } else {
        gql_buf msg;
        gql_buf_init(&msg);
        gql_buf_printf(&msg,
                       "Expected Iterable, but did not find one for field \"%s.%s\".",
                       f->parent_type->name, f->name);
        field_error(c, f, msg.data);
        gql_buf_free(&msg);
        return FAILED;
    }
    gql_buf_puts(c->out, "]");
    return COMPLETED;
}

static completion complete_composite(exec_ctx *c, const gql_plan_field *f, const gql_type *type,
                                     const xvalue *v)
{
    const gql_type *runtime = type;
    if (v->kind == XV_INTRO) {
        runtime = gql_schema_type(c->request->prepared->schema, intro_type_names[v->intro]);
    } else if (gql_type_is_abstract(type)) {
        const cJSON *tn = cJSON_IsObject(v->json) || cJSON_IsArray(v->json)
                              ? cJSON_GetObjectItemCaseSensitive(v->json, "__typename")
                              : NULL;
        gql_buf msg;
        gql_buf_init(&msg);
        if (!cJSON_IsString(tn)) {
            gql_buf_printf(&msg,
                           "Abstract type \"%s\" must resolve to an Object type at runtime for "
                           "field \"%s.%s\". Either the \"%s\" type should provide a "
                           "\"resolveType\" function or each possible type should provide an "
                           "\"isTypeOf\" function.",
                           type->name, f->parent_type->name, f->name, type->name);
        } else {
            runtime = gql_schema_type(c->request->prepared->schema, tn->valuestring);
            if (!runtime)
                gql_buf_printf(&msg,
                               "Abstract type \"%s\" was resolved to a type \"%s\" that does not "
                               "exist inside the schema.",
                               type->name, tn->valuestring);
            else if (runtime->kind != GQL_KIND_OBJECT)
                gql_buf_printf(&msg,
                               "Abstract type \"%s\" was resolved to a non-object type \"%s\".",
                               type->name, tn->valuestring);
            else if (!gql_type_is_possible(type, runtime))
                gql_buf_printf(&msg, "Runtime Object type \"%s\" is not a possible type for \"%s\".",
                               runtime->name, type->name);
        }
        if (msg.len) {
            field_error(c, f, msg.data);
            gql_buf_free(&msg);
            return FAILED;
        }
        gql_buf_free(&msg);
    }
    for (size_t i = 0; i < f->selection_count; i++)
        if (f->selections[i].object_type == runtime)
            return execute_selection(c, &f->selections[i], v) ? COMPLETED : FAILED;
    gql_buf_puts(c->out, "{}");
    return COMPLETED;
}

/* Writes the completed value; NULLED means null was written for a nullable position after an
 * error or a null value; FAILED means the parent must become null (error already recorded). */
static completion complete_value(exec_ctx *c, const gql_plan_field *f, const gql_type *type,
                                 const xvalue *v)
{
    bool non_null = type->kind == GQL_KIND_NON_NULL;
    const gql_type *inner = non_null ? type->of_type : type;
    size_t mark = c->out->len;
    completion r;
    if (v->kind == XV_NULL) {
        if (non_null) {
            gql_buf msg;
            gql_buf_init(&msg);
            gql_buf_printf(&msg, "Cannot return null for non-nullable field %s.%s.",
                           f->parent_type->name, f->name);
            field_error(c, f, msg.data);
            gql_buf_free(&msg);
            return FAILED;
        }
        gql_buf_puts(c->out, "null");
        return NULLED;
    }
    if (inner->kind == GQL_KIND_LIST)
        r = complete_list(c, f, inner, v);
    else if (gql_type_is_leaf(inner))
        r = serialize_leaf(c, f, inner, v->json);
    else
        r = complete_composite(c, f, inner, v);
    if (r != FAILED)
        return r;
    truncate_to(c, mark);
    if (non_null)
        return FAILED;
    gql_buf_puts(c->out, "null");
    return NULLED;
}

static xvalue resolve_field(exec_ctx *c, const gql_plan_selection *sel, const gql_plan_field *f,
                            const xvalue *src)
{
    if (f->kind == GQL_FIELD_TYPENAME)
        return xv_string(c, sel->object_type->name);
    if (f->kind == GQL_FIELD_SCHEMA)
        return xv_intro(INTRO_SCHEMA, c->request->prepared->schema);
    if (f->kind == GQL_FIELD_TYPE) {
        const cJSON *args = gql_request_arguments(c->request, f, NULL);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(args, "name");
        return xv_intro(INTRO_TYPE, cJSON_IsString(name)
                                        ? gql_schema_type(c->request->prepared->schema,
                                                          name->valuestring)
                                        : NULL);
    }
    if (src->kind == XV_INTRO)
        return intro_resolve(c, src, f);
    if (src->kind == XV_JSON && (cJSON_IsObject(src->json)))
        return xv_json(cJSON_GetObjectItemCaseSensitive(src->json, f->name));
    if (src->kind == XV_JSON && cJSON_IsString(src->json) && !strcmp(f->name, "length")) {
        /* "abc".length, as JavaScript's property access gives */
        size_t units = 0;
        for (const unsigned char *p = (const unsigned char *)src->json->valuestring; *p; p++)
            if ((*p & 0xC0) != 0x80)
                units += *p >= 0xF0 ? 2 : 1;
        return xv_json(keep(c, cJSON_CreateNumber((double)units)));
    }
    if (src->kind == XV_JSON && cJSON_IsArray(src->json) && !strcmp(f->name, "length"))
        return xv_json(keep(c, cJSON_CreateNumber(cJSON_GetArraySize(src->json))));
    return xv_json(NULL);
}

/* graphql-js computes every field's arguments before resolving it, so a runtime value that
 * breaks an argument's type is a field error even where the default resolver ignores them. */
static bool field_arguments_ok(exec_ctx *c, const gql_plan_field *f)
{
    if (!f->definition || f->definition->argument_count == 0)
        return true;
    char *message = NULL;
    uint32_t pos;
    if (arguments_of(c->request, f, &message, &pos))
        return true;
    cJSON *e = gql_error_append(c->errors, message);
    gql_error_add_location(e, location_of(c->request->prepared, pos));
    gql_error_set_path(e, c->path);
    free(message);
    return false;
}

/* Executes the fields of one object. Returns false when a non-null field failed: the object
 * becomes null (the caller truncates the output). */
static bool execute_selection(exec_ctx *c, const gql_plan_selection *sel, const xvalue *src)
{
    gql_buf_puts(c->out, "{");
    for (size_t i = 0; i < sel->field_count; i++) {
        const gql_plan_field *f = &sel->fields[i];
        if (i)
            gql_buf_puts(c->out, ",");
        gql_buf_json_string(c->out, f->response_key, strlen(f->response_key));
        gql_buf_puts(c->out, ":");
        path_push_key(c, f->response_key);
        completion r;
        if (!field_arguments_ok(c, f)) {
            r = f->return_type->kind == GQL_KIND_NON_NULL ? FAILED : NULLED;
            if (r == NULLED)
                gql_buf_puts(c->out, "null");
        } else {
            xvalue v = resolve_field(c, sel, f, src);
            r = complete_value(c, f, f->return_type, &v);
        }
        path_pop(c);
        if (r == FAILED)
            return false;
    }
    gql_buf_puts(c->out, "}");
    return true;
}

/* ------------------------------------------------------------------ responses */

typedef struct root_result {
    bool set;
    bool failed; /* non-null root field failed: data is null */
    gql_buf output;
    cJSON *errors;
} root_result;

struct gql_response {
    gql_request *request;
    root_result *roots;
    size_t root_count;
    cJSON *extensions; /* response-level, NULL when none */
    cJSON *trash;
    gql_arena scratch;
};

gql_response *gql_response_new(gql_request *request)
{
    gql_response *r = gql_xcalloc(1, sizeof(*r));
    r->request = request;
    r->root_count = request->plan->root.field_count;
    r->roots = gql_xcalloc(r->root_count + 1, sizeof(root_result));
    r->trash = cJSON_CreateArray();
    gql_arena_init(&r->scratch);
    return r;
}

void gql_response_free(gql_response *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->root_count; i++) {
        gql_buf_free(&r->roots[i].output);
        cJSON_Delete(r->roots[i].errors);
    }
    free(r->roots);
    cJSON_Delete(r->extensions);
    cJSON_Delete(r->trash);
    gql_arena_free(&r->scratch);
    free(r);
}

static void run_root(gql_response *resp, size_t index, const cJSON *value, const char *error,
                     const cJSON *error_extensions)
{
    if (index >= resp->root_count)
        return;
    root_result *rr = &resp->roots[index];
    if (rr->set) {
        gql_buf_free(&rr->output);
        cJSON_Delete(rr->errors);
        memset(rr, 0, sizeof(*rr));
    }
    rr->set = true;
    rr->errors = cJSON_CreateArray();
    gql_buf_init(&rr->output);
    const gql_plan_field *f = &resp->request->plan->root.fields[index];
    exec_ctx c = {0};
    c.request = resp->request;
    c.out = &rr->output;
    c.errors = rr->errors;
    c.path = cJSON_CreateArray();
    c.trash = resp->trash;
    c.scratch = resp->scratch;
    path_push_key(&c, f->response_key);
    completion r;
    if (error) {
        field_error(&c, f, error);
        if (error_extensions)
            cJSON_AddItemToObject(cJSON_GetArrayItem(c.errors, cJSON_GetArraySize(c.errors) - 1),
                                  "extensions", cJSON_Duplicate(error_extensions, true));
        r = f->return_type->kind == GQL_KIND_NON_NULL ? FAILED : NULLED;
        if (r == NULLED)
            gql_buf_puts(c.out, "null");
    } else {
        xvalue src = xv_json(NULL);
        xvalue v = f->kind == GQL_FIELD_NORMAL ? xv_json(value)
                                               : resolve_field(&c, &resp->request->plan->root,
                                                               f, &src);
        if (!field_arguments_ok(&c, f)) {
            r = f->return_type->kind == GQL_KIND_NON_NULL ? FAILED : NULLED;
            if (r == NULLED)
                gql_buf_puts(c.out, "null");
        } else {
            r = complete_value(&c, f, f->return_type, &v);
        }
    }
    resp->scratch = c.scratch;
    rr->failed = r == FAILED;
    cJSON_Delete(c.path);
}

void gql_response_set_root(gql_response *response, size_t index, const cJSON *value)
{
    run_root(response, index, value, NULL, NULL);
}

void gql_response_set_root_error(gql_response *response, size_t index, const char *message)
{
    run_root(response, index, NULL, message, NULL);
}

void gql_response_set_root_error_extensions(gql_response *response, size_t index,
                                            const char *message, const cJSON *extensions)
{
    run_root(response, index, NULL, message, cJSON_IsObject(extensions) ? extensions : NULL);
}

void gql_response_set_root_error_code(gql_response *response, size_t index,
                                      const char *message, const char *code)
{
    if (!code) {
        run_root(response, index, NULL, message, NULL);
        return;
    }
    cJSON *extensions = cJSON_CreateObject();
    cJSON_AddItemToObject(extensions, "code", cJSON_CreateString(code));
    run_root(response, index, NULL, message, extensions);
    cJSON_Delete(extensions);
}

void gql_response_set_extensions(gql_response *response, const cJSON *extensions)
{
    cJSON_Delete(response->extensions);
    response->extensions = cJSON_IsObject(extensions) ? cJSON_Duplicate(extensions, true) : NULL;
}

bool gql_response_failed(const gql_response *resp)
{
    for (size_t i = 0; i < resp->root_count; i++)
        if (resp->roots[i].failed)
            return true;
    return false;
}

void gql_response_finish(gql_response *resp, gql_buf *out)
{
    bool data_null = false;
    for (size_t i = 0; i < resp->root_count && !data_null; i++) {
        /* unset roots complete as null (an error when the field is non-null) */
        if (!resp->roots[i].set)
            run_root(resp, i, NULL, NULL, NULL);
        if (resp->roots[i].failed)
            data_null = true;
    }
    cJSON *errors = cJSON_CreateArray();
    /* graphql-js stops executing root fields at the first non-null failure: later fields'
     * errors never happen */
    for (size_t i = 0; i < resp->root_count; i++) {
        if (resp->roots[i].errors)
            for (cJSON *e = resp->roots[i].errors->child; e; e = e->next)
                cJSON_AddItemToArray(errors, cJSON_Duplicate(e, true));
        if (resp->roots[i].failed)
            break;
    }
    /* graphql-js's buildResponse: { errors, data } when there are errors, else { data } */
    gql_buf_puts(out, "{");
    if (cJSON_GetArraySize(errors) > 0) {
        gql_buf_puts(out, "\"errors\":");
        gql_buf_json_value(out, errors);
        gql_buf_puts(out, ",");
    }
    gql_buf_puts(out, "\"data\":");
    if (data_null) {
        gql_buf_puts(out, "null");
    } else {
        gql_buf_puts(out, "{");
        for (size_t i = 0; i < resp->root_count; i++) {
            const gql_plan_field *f = &resp->request->plan->root.fields[i];
            if (i)
                gql_buf_puts(out, ",");
            gql_buf_json_string(out, f->response_key, strlen(f->response_key));
            gql_buf_puts(out, ":");
            if (resp->roots[i].set)
                gql_buf_append(out, resp->roots[i].output.data, resp->roots[i].output.len);
            else
                gql_buf_puts(out, "null");
        }
        gql_buf_puts(out, "}");
    }
    if (resp->extensions) {
        gql_buf_puts(out, ",\"extensions\":");
        gql_buf_json_value(out, resp->extensions);
    }
    gql_buf_puts(out, "}");
    cJSON_Delete(errors);
}

void gql_execute_json(gql_request *request, const cJSON *root_value, gql_buf *out)
{
    gql_response *resp = gql_response_new(request);
    size_t count;
    const gql_plan_field *fields = gql_request_fields(request, &count);
    for (size_t i = 0; i < count; i++) {
        const cJSON *v = NULL;
        if (fields[i].kind == GQL_FIELD_NORMAL && cJSON_IsObject(root_value))
            v = cJSON_GetObjectItemCaseSensitive(root_value, fields[i].name);
        gql_response_set_root(resp, i, v);
    }
    gql_response_finish(resp, out);
    gql_response_free(resp);
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
