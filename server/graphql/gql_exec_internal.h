/* gql_exec_internal: what the engine's execution modules share (gql_prepare, gql_plan,
 * gql_request, gql_introspection, gql_exec), private to those files: nothing else includes it. */
#ifndef TVSYNC_GQL_EXEC_INTERNAL_H
#define TVSYNC_GQL_EXEC_INTERNAL_H

#include "server/graphql/graphql.h"
#include "server/graphql/gql_arena.h"
#include "server/graphql/gql_errors.h"
#include "server/graphql/gql_map.h"
#include "server/graphql/gql_parser.h"
#include "server/graphql/gql_schema.h"
#include "server/graphql/gql_values.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
    bool date_time;             /* VAR_CUSTOM of DateTime: a string checked as RFC 3339 */
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
    gql_column_mark *column_marks;   /* gql_column_mark_count(source length) of them */
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

/* Reference counting with deferred decrements. A request costs four reference operations
 * on its document (the cache's hit, the request's own, and the two releases) and each atomic
 * read-modify-write costs as much as the rest of a cached request's coercion; on a server,
 * every worker thread also fights over the hot document's counter. So a thread does not
 * apply its releases of the document it used last at once: it counts them in
 * `gql_exec_thread`, and a later reference taken by the same thread cancels one of them,
 * with no atomic operation at all in the steady state (the same document, request after
 * request). The shared counter therefore never falls below the true count; the pending
 * releases are applied (and the document freed when that brings it to zero) when the thread
 * releases another document, or exits. At most one released document per thread outlives
 * its last release that way. */
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

/* The calling thread's pending releases and spare request block (owned by gql_prepare.c;
 * gql_request.c takes and leaves the spare block). */
extern _Thread_local deferred_releases gql_exec_thread;

/* Makes sure the thread's exit frees what gql_exec_thread holds (first call per thread). */
void gql_exec_thread_register_slow(deferred_releases *d);
static inline void gql_exec_thread_register(deferred_releases *d)
{
    if (!d->registered)
        gql_exec_thread_register_slow(d);
}

/* ------------------------------------------------------------------ gql_prepare.c */

/* The line and UTF-16 column of byte offset pos in p's document (graphql-js counting). */
gql_location gql_exec_location(const gql_prepared *p, uint32_t pos);
/* Appends an error with message and the location of pos to errors; returns the error (owned
 * by errors). */
cJSON *gql_exec_error_at(cJSON *errors, const char *message, const gql_prepared *p,
                         uint32_t pos);

/* ------------------------------------------------------------------ gql_plan.c */

/* CollectFields over p's operation into a plan allocated from arena, with @skip/@include
 * evaluated against variables (NULL: the document has no such directive on variables).
 * Returns NULL, with an error appended to errors, when the plan would exceed
 * PLAN_MAX_FIELDS. */
gql_plan *gql_plan_build(gql_prepared *p, gql_arena *arena, const cJSON *variables,
                         cJSON *errors);

/* ------------------------------------------------------------------ gql_request.c */

/* getArgumentValues of field, computed once per request and owned by it. On failure returns
 * NULL, sets *error (malloc'd, the caller frees it; when error is not NULL) and *error_pos
 * (where graphql-js locates the error). */
const cJSON *gql_request_arguments_at(gql_request *r, const gql_plan_field *field,
                                      char **error, uint32_t *error_pos);

/* ------------------------------------------------------------------ values being completed
 * (shared by gql_introspection.c and gql_exec.c; small and on the hot path, so inline) */

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

static inline void path_push_key(exec_ctx *c, const char *key)
{
    cJSON_AddItemToArray(c->path, cJSON_CreateString(key));
}

static inline void path_push_index(exec_ctx *c, size_t index)
{
    cJSON_AddItemToArray(c->path, cJSON_CreateNumber((double)index));
}

static inline void path_pop(exec_ctx *c)
{
    cJSON_DeleteItemFromArray(c->path, cJSON_GetArraySize(c->path) - 1);
}

static inline void field_error(exec_ctx *c, const gql_plan_field *f, const char *message)
{
    cJSON *e = gql_error_append(c->errors, message);
    gql_error_add_location(e, f->location);
    gql_error_set_path(e, c->path);
}

static inline void truncate_to(exec_ctx *c, size_t mark)
{
    c->out->len = mark;
    if (c->out->data)
        c->out->data[mark] = 0;
}

static inline const cJSON *keep(exec_ctx *c, cJSON *leaf)
{
    cJSON_AddItemToArray(c->trash, leaf);
    return leaf;
}

static inline xvalue xv_json(const cJSON *json)
{
    xvalue v = {0};
    v.kind = json && !cJSON_IsNull(json) ? XV_JSON : XV_NULL;
    v.json = json;
    return v;
}

static inline xvalue xv_intro(intro_kind kind, const void *ptr)
{
    xvalue v = {0};
    v.kind = ptr ? XV_INTRO : XV_NULL;
    v.intro = kind;
    v.ptr = ptr;
    return v;
}

static inline xvalue xv_string(exec_ctx *c, const char *s)
{
    return s ? xv_json(keep(c, cJSON_CreateString(s))) : xv_json(NULL);
}

static inline xvalue xv_bool(exec_ctx *c, bool b)
{
    return xv_json(keep(c, cJSON_CreateBool(b)));
}

static inline xvalue xv_list(exec_ctx *c, size_t count)
{
    xvalue v = {0};
    v.kind = XV_LIST;
    v.count = count;
    v.items = count ? gql_arena_alloc(&c->scratch, count * sizeof(xvalue)) : NULL;
    return v;
}

/* ------------------------------------------------------------------ gql_introspection.c */

/* Resolves field f on src, an introspection value (src->kind == XV_INTRO); temporary JSON
 * leaves go to c->trash, lists to c->scratch. */
xvalue gql_introspection_resolve(exec_ctx *c, const xvalue *src, const gql_plan_field *f);

#endif
