/* gql_validate: graphql-js 16's specified validation rules. One walk over the document
 * calls each rule's hooks in graphql-js's rule order, so errors come out in its order too. */
#include "config.h"

#include "server/graphql/gql_validate.h"
#include "server/graphql/gql_arena.h"
#include "server/graphql/gql_errors.h"
#include "server/graphql/gql_map.h"
#include "server/graphql/gql_schema.h"
#include "server/graphql/gql_values.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ERRORS 100
#define MAX_CONFLICT_DETAIL_LENGTH 1000
#define MAX_CONFLICT_NODES 20
#define MAX_COMPLEXITY_BUDGET 500000
#define MAX_FRAGMENT_WORK 50000

typedef struct usage {
    const ast_value *node;
    const gql_type *type;        /* input type at the position, NULL when unknown */
    bool has_location_default;   /* the position has a default value */
    const gql_type *parent_type; /* parent input type */
} usage;

typedef struct usage_list {
    usage *items;
    size_t count;
    size_t cap;
} usage_list;

typedef enum parent_kind { PARENT_OTHER, PARENT_INLINE_FRAGMENT } parent_kind;

typedef struct vctx {
    const gql_schema *schema;
    const ast_document *doc;
    cJSON *errors;
    size_t error_count;
    jmp_buf abort;
    /* NoUnusedFragments' lists live here, not on the stack, so that an
     * error-limit longjmp out of that rule cannot leak them. */
    gql_vec unused_ops, unused_used;
    gql_arena arena;
    bool collecting;        /* pre-pass: only record variable usages */
    usage_list *collect_into;
    gql_map usages_by_def;  /* "%p" of definition -> usage_list* */
    gql_map fragments;      /* name -> last fragment definition (graphql-js getFragment) */
    gql_map defined_types;  /* type names defined in the document */
    long fragment_work;
    long complexity;
    /* rule state */
    gql_map known_operation_names;
    gql_map known_fragment_names;
    size_t operation_count;
    gql_map cycle_visited;
    gql_vec spread_path;
    gql_map spread_path_index;
    /* per operation */
    gql_map var_defined;
    gql_vec var_defs;
    gql_map var_def_map;
    /* OverlappingFieldsCanBeMerged */
    gql_map collect_cache;
    gql_map compared_fragment_pairs;
    gql_vec owned; /* heap blocks to free at the end */
    gql_map doc_directives;     /* directive definitions in the document */
    gql_map seen_by_type;       /* UniqueDirectivesPerLocation across a type's definitions */
    gql_map seen_schema;
} vctx;

/* ------------------------------------------------------------------ errors */

static gql_location loc_of(vctx *c, uint32_t pos)
{
    return gql_source_location(c->doc->source, c->doc->source_length, pos);
}

static void report(vctx *c, const char *message, const uint32_t *positions, size_t count)
{
    if (c->collecting)
        return;
    if (c->error_count >= MAX_ERRORS) {
        gql_error_append(c->errors,
                         "Too many validation errors, error limit reached. Validation aborted.");
        longjmp(c->abort, 1);
    }
    cJSON *e = gql_error_append(c->errors, message);
    for (size_t i = 0; i < count; i++)
        gql_error_add_location(e, loc_of(c, positions[i]));
    c->error_count++;
}

static void report1(vctx *c, const char *message, uint32_t pos)
{
    report(c, message, &pos, 1);
}

static void report2(vctx *c, const char *message, uint32_t a, uint32_t b)
{
    uint32_t p[2] = {a, b};
    report(c, message, p, 2);
}

static const char *fmt(vctx *c, const char *format, ...) __attribute__((format(printf, 2, 3)));

static const char *fmt(vctx *c, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    char small[512];
    int n = vsnprintf(small, sizeof(small), format, ap);
    va_end(ap);
    char *out = gql_arena_alloc(&c->arena, (size_t)n + 1);
    if ((size_t)n < sizeof(small)) {
        memcpy(out, small, (size_t)n + 1);
    } else {
        va_start(ap, format);
        vsnprintf(out, (size_t)n + 1, format, ap);
        va_end(ap);
    }
    return out;
}

static const char *type_str(vctx *c, const gql_type *t)
{
    return gql_type_string(&c->arena, t);
}

static void spend_fragment_work(vctx *c, long cost)
{
    c->fragment_work -= cost;
    if (c->fragment_work < 0 && !c->collecting) {
        gql_error_append(c->errors, "Validation aborted.");
        longjmp(c->abort, 1);
    }
}

static void spend_complexity(vctx *c, long cost)
{
    c->complexity -= cost;
    if (c->complexity < 0) {
        gql_error_append(c->errors, "Validation aborted.");
        longjmp(c->abort, 1);
    }
}

static const char *did_you_mean(vctx *c, const char *sub, const char *input,
                                const char *const *options, size_t count)
{
    const char **sugg = gql_arena_alloc(&c->arena, (count + 1) * sizeof(char *));
    size_t n = gql_suggestion_list(input, options, count, sugg);
    gql_buf b;
    gql_buf_init(&b);
    gql_buf_puts(&b, "");
    gql_did_you_mean(&b, sub, sugg, n);
    const char *s = gql_arena_strdup(&c->arena, b.data);
    gql_buf_free(&b);
    return s;
}

/* ------------------------------------------------------------------ document helpers */

static const ast_definition *get_fragment(vctx *c, const char *name)
{
    return gql_map_get(&c->fragments, name);
}

/* getFragmentSpreads: spreads of a selection set, in graphql-js's (stack) order. */
static void fragment_spreads(vctx *c, const ast_selection_set *set, gql_vec *out)
{
    gql_vec stack = {0};
    gql_vec_push(&stack, (void *)set);
    while (stack.count) {
        const ast_selection_set *s = stack.items[--stack.count];
        for (size_t i = 0; i < s->count; i++) {
            const ast_selection *sel = s->items[i];
            if (sel->kind == AST_SELECTION_FRAGMENT_SPREAD)
                gql_vec_push(out, (void *)sel);
            else if (sel->selection_set)
                gql_vec_push(&stack, sel->selection_set);
        }
    }
    gql_vec_free(&stack);
}

/* getRecursivelyReferencedFragmentsForOperations */
static void referenced_fragments(vctx *c, const ast_definition *const *ops, size_t op_count,
                                 gql_vec *out)
{
    gql_vec names = {0};
    gql_map seen = {0};
    for (size_t i = 0; i < op_count; i++) {
        gql_vec spreads = {0};
        fragment_spreads(c, ops[i]->selection_set, &spreads);
        for (size_t k = 0; k < spreads.count; k++) {
            const ast_selection *s = spreads.items[k];
            if (!gql_map_get(&seen, s->name)) {
                gql_map_put(&seen, s->name, (void *)1);
                gql_vec_push(&names, (void *)s->name);
            }
        }
        gql_vec_free(&spreads);
    }
    spend_fragment_work(c, (long)names.count);
    for (size_t i = 0; i < names.count; i++) {
        const ast_definition *f = get_fragment(c, names.items[i]);
        if (!f)
            continue;
        gql_vec_push(out, (void *)f);
        gql_vec spreads = {0};
        fragment_spreads(c, f->selection_set, &spreads);
        spend_fragment_work(c, (long)spreads.count);
        for (size_t k = 0; k < spreads.count; k++) {
            const ast_selection *s = spreads.items[k];
            if (!gql_map_get(&seen, s->name)) {
                gql_map_put(&seen, s->name, (void *)1);
                gql_vec_push(&names, (void *)s->name);
            }
        }
        gql_vec_free(&spreads);
    }
    gql_vec_free(&names);
    gql_map_free(&seen);
}

static const char *ptr_key(vctx *c, const void *a, const void *b)
{
    return fmt(c, "%p:%p", a, b);
}

static const gql_type *type_from_ast(vctx *c, const ast_type *t)
{
    return gql_type_from_ast(c->schema, &c->arena, t);
}

static const gql_type *named_type(vctx *c, const char *name)
{
    return gql_schema_type(c->schema, name);
}

static const gql_type *nullable(const gql_type *t)
{
    return t && t->kind == GQL_KIND_NON_NULL ? t->of_type : t;
}

/* ------------------------------------------------------------------ OverlappingFieldsCanBeMerged */

typedef struct ofield {
    const gql_type *parent_type;
    const ast_selection *node;
    const gql_field *def;
    bool simple_leaf;
} ofield;

typedef struct ogroup {
    const char *name;
    gql_vec fields; /* ofield* */
} ogroup;

typedef struct ocollect {
    gql_vec groups; /* ogroup* in insertion order */
    gql_map by_name;
    gql_vec fragment_names;
    gql_map fragment_seen;
    gql_map compared_fragments; /* name -> 1 (false) or 2 (true) */
} ocollect;

typedef struct conflict {
    const char *response_name;
    const char *reason;
    gql_vec fields1; /* ast_selection* */
    gql_vec fields2;
} conflict;

/* A vector that lives in the context: for one a rule holds while it may report or spend
 * complexity (both longjmp out once a limit is reached, which would leak a local vector).
 * Freeing it early with gql_vec_free is fine. */
static gql_vec *scratch_vec(vctx *c)
{
    gql_vec *v = gql_arena_alloc(&c->arena, sizeof(*v));
    gql_vec_push(&c->owned, v);
    return v;
}

static void own(vctx *c, gql_vec *v)
{
    /* vectors whose storage must be freed at the end */
    gql_vec *copy = gql_arena_alloc(&c->arena, sizeof(*copy));
    *copy = *v;
    gql_vec_push(&c->owned, copy);
}

static void collect_fields_impl(vctx *c, const gql_type *parent, const ast_selection_set *set,
                                ocollect *r)
{
    for (size_t i = 0; i < set->count; i++) {
        const ast_selection *s = set->items[i];
        if (s->kind == AST_SELECTION_FIELD) {
            const gql_field *def = NULL;
            if (parent && (parent->kind == GQL_KIND_OBJECT || parent->kind == GQL_KIND_INTERFACE))
                def = gql_type_field(parent, s->name);
            const char *key = s->alias ? s->alias : s->name;
            ogroup *g = gql_map_get(&r->by_name, key);
            if (!g) {
                g = gql_arena_alloc(&c->arena, sizeof(*g));
                g->name = key;
                gql_map_put(&r->by_name, key, g);
                gql_vec_push(&r->groups, g);
            }
            ofield *f = gql_arena_alloc(&c->arena, sizeof(*f));
            f->parent_type = parent;
            f->node = s;
            f->def = def;
            f->simple_leaf = s->argument_count == 0 && !s->selection_set;
            gql_vec_push(&g->fields, f);
        } else if (s->kind == AST_SELECTION_FRAGMENT_SPREAD) {
            if (!gql_map_get(&r->fragment_seen, s->name)) {
                gql_map_put(&r->fragment_seen, s->name, (void *)1);
                gql_vec_push(&r->fragment_names, (void *)s->name);
            }
        } else {
            const gql_type *t = parent;
            if (s->type_condition)
                t = named_type(c, s->type_condition);
            collect_fields_impl(c, t, s->selection_set, r);
        }
    }
}

static ocollect *collect_fields_cached(vctx *c, const gql_type *parent,
                                       const ast_selection_set *set)
{
    const char *key = ptr_key(c, parent, set);
    ocollect *r = gql_map_get(&c->collect_cache, key);
    if (r)
        return r;
    r = gql_arena_alloc(&c->arena, sizeof(*r));
    collect_fields_impl(c, parent, set, r);
    gql_map_put(&c->collect_cache, key, r);
    return r;
}

static ocollect *collect_fragment_fields(vctx *c, const ast_definition *fragment)
{
    return collect_fields_cached(c, named_type(c, fragment->type_condition),
                                 fragment->selection_set);
}

static void stringify_value(const ast_value *v, gql_buf *out);

static int compare_fields_by_name(const void *a, const void *b)
{
    const ast_object_field *fa = *(const ast_object_field *const *)a;
    const ast_object_field *fb = *(const ast_object_field *const *)b;
    return strcmp(fa->name, fb->name);
}

/* A canonical form equal exactly when graphql-js's stringifyValue results are equal. */
static void stringify_value(const ast_value *v, gql_buf *out)
{
    switch (v->kind) {
    case AST_VALUE_VARIABLE:
        gql_buf_printf(out, "V(%s)", v->text);
        break;
    case AST_VALUE_OBJECT: {
        const ast_object_field **sorted = gql_xmalloc((v->count + 1) * sizeof(*sorted));
        for (size_t i = 0; i < v->count; i++)
            sorted[i] = &v->fields[i];
        /* stable by name (graphql-js's sort is stable) */
        for (size_t i = 1; i < v->count; i++) {
            const ast_object_field *x = sorted[i];
            size_t j = i;
            while (j > 0 && compare_fields_by_name(&sorted[j - 1], &x) > 0) {
                sorted[j] = sorted[j - 1];
                j--;
            }
            sorted[j] = x;
        }
        gql_buf_puts(out, "O{");
        for (size_t i = 0; i < v->count; i++) {
            gql_buf_json_string(out, sorted[i]->name, strlen(sorted[i]->name));
            gql_buf_puts(out, ":");
            stringify_value(sorted[i]->value, out);
            gql_buf_puts(out, ",");
        }
        gql_buf_puts(out, "}");
        free(sorted);
        break;
    }
    case AST_VALUE_LIST:
        gql_buf_puts(out, "L[");
        for (size_t i = 0; i < v->count; i++) {
            stringify_value(v->items[i], out);
            gql_buf_puts(out, ",");
        }
        gql_buf_puts(out, "]");
        break;
    case AST_VALUE_STRING:
        gql_buf_puts(out, v->block ? "B" : "S");
        gql_buf_json_string(out, v->text, v->text_length);
        break;
    case AST_VALUE_INT:
        gql_buf_printf(out, "I(%s)", v->text);
        break;
    case AST_VALUE_FLOAT:
        gql_buf_printf(out, "F(%s)", v->text);
        break;
    case AST_VALUE_ENUM:
        gql_buf_printf(out, "E(%s)", v->text);
        break;
    case AST_VALUE_BOOLEAN:
        gql_buf_puts(out, v->boolean ? "T" : "f");
        break;
    case AST_VALUE_NULL:
        gql_buf_puts(out, "N");
        break;
    }
}

static bool same_value(const ast_value *a, const ast_value *b)
{
    gql_buf x, y;
    gql_buf_init(&x);
    gql_buf_init(&y);
    gql_buf_puts(&x, "");
    gql_buf_puts(&y, "");
    stringify_value(a, &x);
    stringify_value(b, &y);
    bool same = x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
    gql_buf_free(&x);
    gql_buf_free(&y);
    return same;
}

static bool same_arguments(vctx *c, const ast_selection *n1, const ast_selection *n2)
{
    if (n1->argument_count == 0)
        return n2->argument_count == 0;
    if (n1->argument_count != n2->argument_count)
        return false;
    for (size_t i = 0; i < n1->argument_count; i++) {
        spend_complexity(c, 1);
        const ast_value *v2 = NULL;
        for (size_t k = 0; k < n2->argument_count; k++)
            if (!strcmp(n2->arguments[k].name, n1->arguments[i].name))
                v2 = n2->arguments[k].value; /* Map.set: the last one wins */
        if (!v2 || !same_value(n1->arguments[i].value, v2))
            return false;
    }
    return true;
}

static bool types_conflict(vctx *c, const gql_type *t1, const gql_type *t2)
{
    if (t1 == t2)
        return false;
    spend_complexity(c, 1);
    if (t1->kind == GQL_KIND_LIST)
        return t2->kind == GQL_KIND_LIST ? types_conflict(c, t1->of_type, t2->of_type) : true;
    if (t2->kind == GQL_KIND_LIST)
        return true;
    if (t1->kind == GQL_KIND_NON_NULL)
        return t2->kind == GQL_KIND_NON_NULL ? types_conflict(c, t1->of_type, t2->of_type)
                                             : true;
    if (t2->kind == GQL_KIND_NON_NULL)
        return true;
    if (gql_type_is_leaf(t1) || gql_type_is_leaf(t2))
        return t1 != t2;
    return false;
}

static const char *maybe_abbreviate(vctx *c, const char *text)
{
    size_t n = strlen(text);
    if (n <= MAX_CONFLICT_DETAIL_LENGTH)
        return text;
    return fmt(c, "%.*s...", MAX_CONFLICT_DETAIL_LENGTH, text);
}

static conflict *new_conflict(vctx *c, const char *response_name, const char *reason,
                              const ast_selection *n1, const ast_selection *n2)
{
    conflict *k = gql_arena_alloc(&c->arena, sizeof(*k));
    k->response_name = response_name;
    k->reason = reason;
    gql_vec_push(&k->fields1, (void *)n1);
    gql_vec_push(&k->fields2, (void *)n2);
    own(c, &k->fields1);
    own(c, &k->fields2);
    return k;
}

static void collect_conflicts_between(vctx *c, gql_vec *conflicts, bool exclusive,
                                      ocollect *r1, ocollect *r2);
static void conflicts_between_fields_and_fragment(vctx *c, gql_vec *conflicts, bool exclusive,
                                                  ocollect *r, const char *fragment_name);
static void conflicts_between_fragments(vctx *c, gql_vec *conflicts, bool exclusive,
                                        const char *f1, const char *f2);

static void conflicts_between_sub_selection_sets(vctx *c, gql_vec *conflicts, bool exclusive,
                                                 const gql_type *p1,
                                                 const ast_selection_set *s1,
                                                 const gql_type *p2,
                                                 const ast_selection_set *s2)
{
    ocollect *r1 = collect_fields_cached(c, p1, s1);
    ocollect *r2 = collect_fields_cached(c, p2, s2);
    collect_conflicts_between(c, conflicts, exclusive, r1, r2);
    for (size_t i = 0; i < r2->fragment_names.count; i++)
        conflicts_between_fields_and_fragment(c, conflicts, exclusive, r1,
                                              r2->fragment_names.items[i]);
    for (size_t i = 0; i < r1->fragment_names.count; i++)
        conflicts_between_fields_and_fragment(c, conflicts, exclusive, r2,
                                              r1->fragment_names.items[i]);
    for (size_t i = 0; i < r1->fragment_names.count; i++)
        for (size_t k = 0; k < r2->fragment_names.count; k++)
            conflicts_between_fragments(c, conflicts, exclusive, r1->fragment_names.items[i],
                                        r2->fragment_names.items[k]);
}

static conflict *find_conflict(vctx *c, bool parents_exclusive, const char *response_name,
                               const ofield *f1, const ofield *f2)
{
    bool exclusive = parents_exclusive ||
                     (f1->parent_type != f2->parent_type && f1->parent_type &&
                      f2->parent_type && f1->parent_type->kind == GQL_KIND_OBJECT &&
                      f2->parent_type->kind == GQL_KIND_OBJECT);
    spend_complexity(c, 2);
    const gql_type *t1 = f1->def ? f1->def->type : NULL;
    const gql_type *t2 = f2->def ? f2->def->type : NULL;
    if (f1->simple_leaf && f2->simple_leaf && t1 == t2 && !strcmp(f1->node->name, f2->node->name))
        return NULL;
    if (!exclusive) {
        const char *reason = NULL;
        if (strcmp(f1->node->name, f2->node->name))
            reason = fmt(c, "\"%s\" and \"%s\" are different fields",
                         maybe_abbreviate(c, f1->node->name), maybe_abbreviate(c, f2->node->name));
        else if (!same_arguments(c, f1->node, f2->node))
            reason = "they have differing arguments";
        if (reason)
            return new_conflict(c, response_name, reason, f1->node, f2->node);
    }
    if (t1 && t2 && types_conflict(c, t1, t2))
        return new_conflict(c, response_name,
                            fmt(c, "they return conflicting types \"%s\" and \"%s\"",
                                type_str(c, t1), type_str(c, t2)),
                            f1->node, f2->node);
    if (f1->node->selection_set && f2->node->selection_set) {
        gql_vec *subs = scratch_vec(c);
        conflicts_between_sub_selection_sets(c, subs, exclusive, gql_type_named(t1),
                                             f1->node->selection_set, gql_type_named(t2),
                                             f2->node->selection_set);
        conflict *result = NULL;
        if (subs->count) {
            gql_buf msg;
            gql_buf_init(&msg);
            gql_buf_puts(&msg, "");
            for (size_t i = 0; i < subs->count; i++) {
                conflict *k = subs->items[i];
                gql_buf_printf(&msg, "%ssubfields \"%s\" conflict because %s",
                               msg.len ? " and " : "", maybe_abbreviate(c, k->response_name),
                               k->reason);
                if (msg.len > MAX_CONFLICT_DETAIL_LENGTH)
                    break;
            }
            result = gql_arena_alloc(&c->arena, sizeof(*result));
            result->response_name = response_name;
            result->reason = maybe_abbreviate(c, gql_arena_strdup(&c->arena, msg.data));
            gql_buf_free(&msg);
            for (int side = 0; side < 2; side++) {
                gql_vec *nodes = side ? &result->fields2 : &result->fields1;
                gql_vec_push(nodes, (void *)(side ? f2->node : f1->node));
                for (size_t i = 0; i < subs->count; i++) {
                    conflict *k = subs->items[i];
                    gql_vec *from = side ? &k->fields2 : &k->fields1;
                    size_t remaining = MAX_CONFLICT_NODES - nodes->count;
                    size_t start = from->count > remaining ? from->count - remaining : 0;
                    for (size_t j = start; j < from->count; j++)
                        gql_vec_push(nodes, from->items[j]);
                    if (nodes->count == MAX_CONFLICT_NODES)
                        break;
                }
                own(c, nodes);
            }
        }
        gql_vec_free(subs);
        return result;
    }
    return NULL;
}

static void collect_conflicts_within(vctx *c, gql_vec *conflicts, ocollect *r)
{
    for (size_t g = 0; g < r->groups.count; g++) {
        ogroup *group = r->groups.items[g];
        for (size_t i = 0; i < group->fields.count; i++)
            for (size_t j = i + 1; j < group->fields.count; j++) {
                conflict *k = find_conflict(c, false, group->name, group->fields.items[i],
                                            group->fields.items[j]);
                if (k)
                    gql_vec_push(conflicts, k);
            }
    }
}

static void collect_conflicts_between(vctx *c, gql_vec *conflicts, bool exclusive,
                                      ocollect *r1, ocollect *r2)
{
    if (!r1->groups.count || !r2->groups.count)
        return;
    for (size_t g = 0; g < r1->groups.count; g++) {
        ogroup *g1 = r1->groups.items[g];
        spend_complexity(c, 1);
        ogroup *g2 = gql_map_get(&r2->by_name, g1->name);
        if (!g2)
            continue;
        for (size_t i = 0; i < g1->fields.count; i++)
            for (size_t j = 0; j < g2->fields.count; j++) {
                conflict *k = find_conflict(c, exclusive, g1->name, g1->fields.items[i],
                                            g2->fields.items[j]);
                if (k)
                    gql_vec_push(conflicts, k);
            }
    }
}

static void conflicts_between_fields_and_fragment(vctx *c, gql_vec *conflicts, bool exclusive,
                                                  ocollect *r, const char *fragment_name)
{
    spend_complexity(c, 1);
    if (!r->groups.count)
        return;
    uintptr_t compared = (uintptr_t)gql_map_get(&r->compared_fragments, fragment_name);
    if (compared == 1 || (exclusive && compared == 2))
        return;
    gql_map_put(&r->compared_fragments, fragment_name, (void *)(uintptr_t)(exclusive ? 2 : 1));
    const ast_definition *fragment = get_fragment(c, fragment_name);
    if (!fragment)
        return;
    ocollect *r2 = collect_fragment_fields(c, fragment);
    if (r == r2)
        return;
    collect_conflicts_between(c, conflicts, exclusive, r, r2);
    for (size_t i = 0; i < r2->fragment_names.count; i++)
        conflicts_between_fields_and_fragment(c, conflicts, exclusive, r,
                                              r2->fragment_names.items[i]);
}

static bool pair_has(vctx *c, const char *a, const char *b, bool exclusive)
{
    for (int pass = 0; pass < 2; pass++) {
        const char *key = fmt(c, "%s\x01%s", pass ? b : a, pass ? a : b);
        uintptr_t v = (uintptr_t)gql_map_get(&c->compared_fragment_pairs, key);
        if (v && (exclusive || v == 1))
            return true;
    }
    return false;
}

static void pair_add(vctx *c, const char *a, const char *b, bool exclusive)
{
    gql_map_put(&c->compared_fragment_pairs, fmt(c, "%s\x01%s", a, b),
                (void *)(uintptr_t)(exclusive ? 2 : 1));
}

static void conflicts_between_fragments(vctx *c, gql_vec *conflicts, bool exclusive,
                                        const char *f1, const char *f2)
{
    spend_complexity(c, 2);
    if (!strcmp(f1, f2))
        return;
    if (pair_has(c, f1, f2, exclusive))
        return;
    pair_add(c, f1, f2, exclusive);
    const ast_definition *d1 = get_fragment(c, f1);
    const ast_definition *d2 = get_fragment(c, f2);
    if (!d1 || !d2)
        return;
    ocollect *r1 = collect_fragment_fields(c, d1);
    ocollect *r2 = collect_fragment_fields(c, d2);
    collect_conflicts_between(c, conflicts, exclusive, r1, r2);
    for (size_t i = 0; i < r2->fragment_names.count; i++)
        conflicts_between_fragments(c, conflicts, exclusive, f1, r2->fragment_names.items[i]);
    for (size_t i = 0; i < r1->fragment_names.count; i++)
        conflicts_between_fragments(c, conflicts, exclusive, r1->fragment_names.items[i], f2);
}

static void overlapping_fields(vctx *c, const gql_type *parent, const ast_selection_set *set)
{
    gql_vec *conflicts = scratch_vec(c);
    ocollect *r = collect_fields_cached(c, parent, set);
    collect_conflicts_within(c, conflicts, r);
    if (r->fragment_names.count && (r->groups.count || r->fragment_names.count > 1)) {
        for (size_t i = 0; i < r->fragment_names.count; i++) {
            conflicts_between_fields_and_fragment(c, conflicts, false, r,
                                                  r->fragment_names.items[i]);
            for (size_t j = i + 1; j < r->fragment_names.count; j++)
                conflicts_between_fragments(c, conflicts, false, r->fragment_names.items[i],
                                            r->fragment_names.items[j]);
        }
    }
    for (size_t i = 0; i < conflicts->count; i++) {
        conflict *k = conflicts->items[i];
        const char *msg = fmt(c,
                              "Fields \"%s\" conflict because %s. Use different aliases on the "
                              "fields to fetch both if this was intentional.",
                              maybe_abbreviate(c, k->response_name), k->reason);
        size_t n = k->fields1.count + k->fields2.count;
        uint32_t *pos = gql_arena_alloc(&c->arena, n * sizeof(uint32_t));
        for (size_t j = 0; j < k->fields1.count; j++)
            pos[j] = ((const ast_selection *)k->fields1.items[j])->pos;
        for (size_t j = 0; j < k->fields2.count; j++)
            pos[k->fields1.count + j] = ((const ast_selection *)k->fields2.items[j])->pos;
        report(c, msg, pos, n);
    }
    gql_vec_free(conflicts);
}

/* ------------------------------------------------------------------ the walk */

static void walk_selection_set(vctx *c, const ast_selection_set *set, const gql_type *type,
                               parent_kind parent);
static void walk_value(vctx *c, const ast_value *v, const gql_type *type,
                       const gql_type *parent_type, bool has_default, bool check);

static void known_type_name(vctx *c, const char *name, uint32_t pos, bool sdl)
{
    if (c->collecting || named_type(c, name) || gql_map_get(&c->defined_types, name))
        return;
    static const char *const standard[] = {
        "String", "Int", "Float", "Boolean", "ID", "__Schema", "__Type", "__TypeKind",
        "__Field", "__InputValue", "__EnumValue", "__Directive", "__DirectiveLocation"};
    size_t nstd = sizeof(standard) / sizeof(*standard);
    if (sdl)
        for (size_t i = 0; i < nstd; i++)
            if (!strcmp(standard[i], name))
                return;
    size_t count = gql_schema_type_count(c->schema);
    gql_vec options = {0};
    if (sdl)
        for (size_t i = 0; i < nstd; i++)
            gql_vec_push(&options, (void *)standard[i]);
    for (size_t i = 0; i < count; i++)
        gql_vec_push(&options, (void *)gql_schema_type_at(c->schema, i)->name);
    for (size_t i = 0; i < c->doc->count; i++) {
        const ast_definition *d = c->doc->definitions[i];
        if (d->kind != AST_DEF_OPERATION && d->kind != AST_DEF_FRAGMENT &&
            d->kind != AST_DEF_SCHEMA && d->kind != AST_DEF_DIRECTIVE && !d->extension)
            gql_vec_push(&options, (void *)d->name);
    }
    const char *dym = did_you_mean(c, NULL, name, (const char *const *)options.items,
                                   options.count);
    gql_vec_free(&options);
    report1(c, fmt(c, "Unknown type \"%s\".%s", name, dym), pos);
}

static void walk_type_ref(vctx *c, const ast_type *t, bool sdl)
{
    while (t->kind != AST_TYPE_NAMED)
        t = t->inner;
    known_type_name(c, t->name, t->pos, sdl);
}

static const gql_directive_def *directive_def(vctx *c, const char *name)
{
    return gql_schema_directive(c->schema, name);
}

static bool directive_is_unique(vctx *c, const char *name)
{
    const ast_definition *dd = gql_map_get(&c->doc_directives, name);
    if (dd)
        return !dd->repeatable;
    const gql_directive_def *d = gql_schema_directive(c->schema, name);
    return d && !d->repeatable;
}

/* UniqueDirectivesPerLocation for one node's directives; `seen` is shared by every
 * definition and extension of one type (or of the schema), else NULL. */
static void unique_directives_in(vctx *c, const ast_directive *dirs, size_t count, gql_map *seen)
{
    if (c->collecting)
        return;
    gql_map local = {0};
    if (!seen)
        seen = &local;
    for (size_t i = 0; i < count; i++) {
        if (!directive_is_unique(c, dirs[i].name))
            continue;
        uintptr_t first = (uintptr_t)gql_map_get(seen, dirs[i].name);
        if (first)
            report2(c,
                    fmt(c, "The directive \"@%s\" can only be used once at this location.",
                        dirs[i].name),
                    (uint32_t)(first - 1), dirs[i].pos);
        else
            gql_map_put(seen, dirs[i].name, (void *)(uintptr_t)(dirs[i].pos + 1));
    }
    gql_map_free(&local);
}

static void unique_directives(vctx *c, const ast_directive *dirs, size_t count)
{
    unique_directives_in(c, dirs, count, NULL);
}

/* UniqueArgumentNames for a field or directive. */
static void unique_arguments(vctx *c, const ast_argument *args, size_t count)
{
    if (c->collecting)
        return;
    for (size_t i = 0; i < count; i++) {
        bool first = true;
        for (size_t k = 0; k < i; k++)
            if (!strcmp(args[k].name, args[i].name))
                first = false;
        if (!first)
            continue;
        size_t n = 0;
        for (size_t k = i; k < count; k++)
            if (!strcmp(args[k].name, args[i].name))
                n++;
        if (n < 2)
            continue;
        uint32_t *pos = gql_arena_alloc(&c->arena, n * sizeof(uint32_t));
        n = 0;
        for (size_t k = i; k < count; k++)
            if (!strcmp(args[k].name, args[i].name))
                pos[n++] = args[k].pos;
        report(c, fmt(c, "There can be only one argument named \"%s\".", args[i].name), pos, n);
    }
}

static const gql_input_value *find_input_value(const gql_input_value *values, size_t count,
                                               const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (!strcmp(values[i].name, name))
            return &values[i];
    return NULL;
}

static void print_ast_type(const ast_type *t, gql_buf *out)
{
    if (t->kind == AST_TYPE_NAMED) {
        gql_buf_puts(out, t->name);
    } else if (t->kind == AST_TYPE_LIST) {
        gql_buf_puts(out, "[");
        print_ast_type(t->inner, out);
        gql_buf_puts(out, "]");
    } else {
        print_ast_type(t->inner, out);
        gql_buf_puts(out, "!");
    }
}

static void walk_directives(vctx *c, const ast_directive *dirs, size_t count,
                            unsigned location)
{
    for (size_t i = 0; i < count; i++) {
        const ast_directive *d = &dirs[i];
        const gql_directive_def *def = directive_def(c, d->name);
        const ast_definition *doc_def = gql_map_get(&c->doc_directives, d->name);
        if (doc_def)
            def = NULL; /* the document's definition wins, as in graphql-js's maps */
        if (!c->collecting && doc_def) {
            if (location && !(doc_def->locations & location))
                report1(c, fmt(c, "Directive \"@%s\" may not be used on %s.", d->name,
                               gql_directive_location_name(location)),
                        d->pos);
            for (size_t a = 0; a < d->argument_count; a++) {
                bool known = false;
                for (size_t k = 0; k < doc_def->input_value_count; k++)
                    if (!strcmp(doc_def->input_values[k].name, d->arguments[a].name))
                        known = true;
                if (known)
                    continue;
                const char **names =
                    gql_arena_alloc(&c->arena, (doc_def->input_value_count + 1) * sizeof(char *));
                for (size_t k = 0; k < doc_def->input_value_count; k++)
                    names[k] = doc_def->input_values[k].name;
                report1(c,
                        fmt(c, "Unknown argument \"%s\" on directive \"@%s\".%s",
                            d->arguments[a].name, d->name,
                            did_you_mean(c, NULL, d->arguments[a].name, names,
                                         doc_def->input_value_count)),
                        d->arguments[a].pos);
            }
            unique_arguments(c, d->arguments, d->argument_count);
        }
        if (!c->collecting && !doc_def) {
            /* KnownDirectives */
            if (!def)
                report1(c, fmt(c, "Unknown directive \"@%s\".", d->name), d->pos);
            else if (location && !(def->locations & location))
                report1(c, fmt(c, "Directive \"@%s\" may not be used on %s.", d->name,
                               gql_directive_location_name(location)),
                        d->pos);
            /* KnownArgumentNamesOnDirectives */
            if (def) {
                for (size_t a = 0; a < d->argument_count; a++) {
                    if (find_input_value(def->arguments, def->argument_count,
                                         d->arguments[a].name))
                        continue;
                    const char **names =
                        gql_arena_alloc(&c->arena, (def->argument_count + 1) * sizeof(char *));
                    for (size_t k = 0; k < def->argument_count; k++)
                        names[k] = def->arguments[k].name;
                    report1(c,
                            fmt(c, "Unknown argument \"%s\" on directive \"@%s\".%s",
                                d->arguments[a].name, d->name,
                                did_you_mean(c, NULL, d->arguments[a].name, names,
                                             def->argument_count)),
                            d->arguments[a].pos);
                }
            }
            unique_arguments(c, d->arguments, d->argument_count);
        }
        /* arguments: values typed by the directive's argument definitions */
        for (size_t a = 0; a < d->argument_count; a++) {
            const gql_input_value *ad =
                def ? find_input_value(def->arguments, def->argument_count, d->arguments[a].name)
                    : NULL;
            walk_value(c, d->arguments[a].value, ad ? ad->type : NULL, NULL,
                       ad && ad->default_value, true);
        }
        /* ProvidedRequiredArguments (directives), on leave */
        if (!c->collecting && doc_def) {
            for (size_t k = 0; k < doc_def->input_value_count; k++) {
                const ast_input_value_def *ad = &doc_def->input_values[k];
                if (ad->type->kind != AST_TYPE_NON_NULL || ad->default_value)
                    continue;
                bool provided = false;
                for (size_t a = 0; a < d->argument_count; a++)
                    if (!strcmp(d->arguments[a].name, ad->name))
                        provided = true;
                if (!provided) {
                    gql_buf t;
                    gql_buf_init(&t);
                    print_ast_type(ad->type, &t);
                    /* into the arena before reporting: a report may longjmp (error limit) */
                    const char *message = fmt(c,
                                              "Directive \"@%s\" argument \"%s\" of type \"%s\" is required, "
                                              "but it was not provided.",
                                              d->name, ad->name, t.data);
                    gql_buf_free(&t);
                    report1(c, message, d->pos);
                }
            }
        }
        if (!c->collecting && def) {
            for (size_t k = 0; k < def->argument_count; k++) {
                const gql_input_value *ad = &def->arguments[k];
                if (ad->type->kind != GQL_KIND_NON_NULL || ad->default_value)
                    continue;
                bool provided = false;
                for (size_t a = 0; a < d->argument_count; a++)
                    if (!strcmp(d->arguments[a].name, ad->name))
                        provided = true;
                if (!provided)
                    report1(c,
                            fmt(c,
                                "Directive \"@%s\" argument \"%s\" of type \"%s\" is required, "
                                "but it was not provided.",
                                d->name, ad->name, type_str(c, ad->type)),
                            d->pos);
            }
        }
    }
}

/* isValidValueNode of ValuesOfCorrectType. The texts move to the arena before any
 * report: a report may longjmp out (error limit), which would leak a heap buffer. */
static void check_leaf_value(vctx *c, const ast_value *v, const gql_type *location_type)
{
    if (c->collecting || !location_type)
        return;
    const gql_type *named = gql_type_named(location_type);
    gql_buf printed;
    gql_buf_init(&printed);
    gql_print_value(v, &printed);
    const char *printed_text = gql_arena_strdup(&c->arena, printed.data ? printed.data : "");
    gql_buf_free(&printed);
    if (!gql_type_is_leaf(named)) {
        report1(c, fmt(c, "Expected value of type \"%s\", found %s.", type_str(c, location_type), printed_text),
                v->pos);
        return;
    }
    gql_buf msg;
    gql_buf_init(&msg);
    bool valid = gql_leaf_parse_literal(named, v, &msg);
    const char *msg_text = msg.len ? gql_arena_strdup(&c->arena, msg.data) : NULL;
    gql_buf_free(&msg);
    if (!valid)
        report1(c, msg_text ? msg_text
                            : fmt(c, "Expected value of type \"%s\", found %s.", type_str(c, location_type),
                                  printed_text),
                v->pos);
}

static void record_usage(vctx *c, const ast_value *v, const gql_type *type,
                         const gql_type *parent_type, bool has_default)
{
    usage_list *l = c->collect_into;
    if (!c->collecting || !l)
        return;
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->items = gql_xrealloc(l->items, l->cap * sizeof(usage));
    }
    l->items[l->count].node = v;
    l->items[l->count].type = type;
    l->items[l->count].has_location_default = has_default;
    l->items[l->count].parent_type = parent_type;
    l->count++;
}

/* `type` is TypeInfo's getInputType() at the node (for lists: before the item push),
 * `parent_type` its getParentInputType(); `check` is false inside values that
 * ValuesOfCorrectType stopped descending into. */
static void walk_value(vctx *c, const ast_value *v, const gql_type *type,
                       const gql_type *parent_type, bool has_default, bool check)
{
    switch (v->kind) {
    case AST_VALUE_VARIABLE:
        record_usage(c, v, type, parent_type, has_default);
        return;
    case AST_VALUE_LIST: {
        const gql_type *list_type = nullable(type);
        const gql_type *item = list_type && list_type->kind == GQL_KIND_LIST ? list_type->of_type
                                                                             : list_type;
        if (item && !gql_type_is_input(item))
            item = NULL;
        bool descend = check;
        if (check && !(list_type && list_type->kind == GQL_KIND_LIST)) {
            check_leaf_value(c, v, item);
            descend = false;
        }
        for (size_t i = 0; i < v->count; i++)
            walk_value(c, v->items[i], item, type, false, descend);
        return;
    }
    case AST_VALUE_OBJECT: {
        const gql_type *named = gql_type_named(type);
        bool descend = check;
        if (check) {
            if (!named || named->kind != GQL_KIND_INPUT_OBJECT) {
                check_leaf_value(c, v, type);
                descend = false;
            } else if (!c->collecting) {
                for (size_t i = 0; i < named->input_field_count; i++) {
                    const gql_input_value *fd = &named->input_fields[i];
                    bool provided = false;
                    for (size_t k = 0; k < v->count; k++)
                        if (!strcmp(v->fields[k].name, fd->name))
                            provided = true;
                    if (!provided && fd->type->kind == GQL_KIND_NON_NULL && !fd->default_value)
                        report1(c,
                                fmt(c, "Field \"%s.%s\" of required type \"%s\" was not provided.",
                                    named->name, fd->name, type_str(c, fd->type)),
                                v->pos);
                }
                if (gql_directive_find(named->directives, named->directive_count, "oneOf")) {
                    size_t distinct = 0;
                    const ast_object_field *last = NULL;
                    for (size_t k = 0; k < v->count; k++) {
                        bool dup = false;
                        for (size_t j = 0; j < k; j++)
                            if (!strcmp(v->fields[j].name, v->fields[k].name))
                                dup = true;
                        if (!dup)
                            distinct++;
                    }
                    for (size_t k = 0; k < v->count; k++)
                        if (v->count && !strcmp(v->fields[k].name, v->fields[0].name))
                            last = &v->fields[k];
                    if (distinct != 1)
                        report1(c,
                                fmt(c, "OneOf Input Object \"%s\" must specify exactly one key.",
                                    named->name),
                                v->pos);
                    else if (!last || last->value->kind == AST_VALUE_NULL)
                        report1(c, fmt(c, "Field \"%s.%s\" must be non-null.", named->name,
                                       v->fields[0].name),
                                v->pos);
                }
            }
        }
        for (size_t i = 0; i < v->count; i++) {
            const ast_object_field *f = &v->fields[i];
            const gql_type *ft = NULL;
            const gql_input_value *fd = NULL;
            if (named && named->kind == GQL_KIND_INPUT_OBJECT) {
                fd = find_input_value(named->input_fields, named->input_field_count, f->name);
                ft = fd ? fd->type : NULL;
            }
            if (descend && !c->collecting && !ft && named &&
                named->kind == GQL_KIND_INPUT_OBJECT) {
                const char **names =
                    gql_arena_alloc(&c->arena, (named->input_field_count + 1) * sizeof(char *));
                for (size_t k = 0; k < named->input_field_count; k++)
                    names[k] = named->input_fields[k].name;
                report1(c,
                        fmt(c, "Field \"%s\" is not defined by type \"%s\".%s", f->name,
                            named->name,
                            did_you_mean(c, NULL, f->name, names, named->input_field_count)),
                        f->pos);
            }
            /* UniqueInputFieldNames */
            if (!c->collecting)
                for (size_t k = 0; k < i; k++)
                    if (!strcmp(v->fields[k].name, f->name)) {
                        report2(c,
                                fmt(c, "There can be only one input field named \"%s\".",
                                    f->name),
                                v->fields[k].pos, f->pos);
                        break;
                    }
            walk_value(c, f->value, ft, type, fd && fd->default_value, descend);
        }
        return;
    }
    case AST_VALUE_NULL:
        if (check && !c->collecting && type && type->kind == GQL_KIND_NON_NULL)
            report1(c, fmt(c, "Expected value of type \"%s\", found null.", type_str(c, type)),
                    v->pos);
        return;
    default:
        if (check)
            check_leaf_value(c, v, type);
        return;
    }
}

/* MaxIntrospectionDepthRule */
typedef struct depth_state {
    gql_map checked;  /* name -> depth + 1 */
    gql_map exceeded; /* name -> depth + 1 */
} depth_state;

static bool introspection_too_deep(vctx *c, depth_state *st, const ast_selection *node,
                                   const ast_selection_set *set, gql_map *visited, int depth);

static bool introspection_depth_selection(vctx *c, depth_state *st, const ast_selection *node,
                                          gql_map *visited, int depth)
{
    if (node->kind == AST_SELECTION_FRAGMENT_SPREAD) {
        uintptr_t ex = (uintptr_t)gql_map_get(&st->exceeded, node->name);
        if (ex && (int)ex - 1 <= depth)
            return true;
        uintptr_t vis = (uintptr_t)gql_map_get(visited, node->name);
        uintptr_t chk = (uintptr_t)gql_map_get(&st->checked, node->name);
        if ((vis && (int)vis - 1 >= depth) || (chk && (int)chk - 1 >= depth))
            return false;
        const ast_definition *f = get_fragment(c, node->name);
        if (!f)
            return false;
        gql_map_put(visited, node->name, (void *)(uintptr_t)(depth + 1));
        if (introspection_too_deep(c, st, NULL, f->selection_set, visited, depth)) {
            gql_map_put(&st->exceeded, node->name, (void *)(uintptr_t)(depth + 1));
            return true;
        }
        gql_map_put(&st->checked, node->name, (void *)(uintptr_t)(depth + 1));
        return false;
    }
    return introspection_too_deep(c, st, node, node->selection_set, visited, depth);
}

static bool introspection_too_deep(vctx *c, depth_state *st, const ast_selection *node,
                                   const ast_selection_set *set, gql_map *visited, int depth)
{
    if (node && node->kind == AST_SELECTION_FIELD &&
        (!strcmp(node->name, "fields") || !strcmp(node->name, "interfaces") ||
         !strcmp(node->name, "possibleTypes") || !strcmp(node->name, "inputFields"))) {
        depth++;
        if (depth >= 3)
            return true;
    }
    if (set)
        for (size_t i = 0; i < set->count; i++)
            if (introspection_depth_selection(c, st, set->items[i], visited, depth))
                return true;
    return false;
}

static void walk_field(vctx *c, const ast_selection *s, const gql_type *parent)
{
    const gql_field *def = parent ? gql_schema_field_def(c->schema, parent, s->name) : NULL;
    const gql_type *type = def ? def->type : NULL;
    if (!c->collecting) {
        /* ScalarLeafs */
        if (type) {
            const gql_type *named = gql_type_named(type);
            if (gql_type_is_leaf(named)) {
                if (s->selection_set)
                    report1(c,
                            fmt(c,
                                "Field \"%s\" must not have a selection since type \"%s\" has "
                                "no subfields.",
                                s->name, type_str(c, type)),
                            s->selection_set->pos);
            } else if (!s->selection_set) {
                report1(c,
                        fmt(c,
                            "Field \"%s\" of type \"%s\" must have a selection of subfields. Did "
                            "you mean \"%s { ... }\"?",
                            s->name, type_str(c, type), s->name),
                        s->pos);
            }
        }
        /* FieldsOnCorrectType */
        if (parent && !def) {
            const char *suggestion = "";
            if (gql_type_is_abstract(parent)) {
                /* getSuggestedTypeNames */
                gql_vec types = {0};
                gql_map usage_count = {0};
                for (size_t i = 0; i < parent->possible_type_count; i++) {
                    const gql_type *pt = parent->possible_types[i];
                    if (!gql_type_field(pt, s->name))
                        continue;
                    if (!gql_map_get(&usage_count, pt->name))
                        gql_vec_push(&types, (void *)pt);
                    gql_map_put(&usage_count, pt->name, (void *)1);
                    for (size_t k = 0; k < pt->interface_count; k++) {
                        const gql_type *it = pt->interfaces[k];
                        if (!gql_type_field(it, s->name))
                            continue;
                        uintptr_t n = (uintptr_t)gql_map_get(&usage_count, it->name);
                        if (!n)
                            gql_vec_push(&types, (void *)it);
                        gql_map_put(&usage_count, it->name, (void *)(n + 1));
                    }
                }
                /* stable insertion sort with graphql-js's comparator */
                for (size_t i = 1; i < types.count; i++) {
                    const gql_type *x = types.items[i];
                    size_t j = i;
                    while (j > 0) {
                        const gql_type *a = types.items[j - 1], *b = x;
                        long diff = (long)(uintptr_t)gql_map_get(&usage_count, b->name) -
                                    (long)(uintptr_t)gql_map_get(&usage_count, a->name);
                        int cmp;
                        if (diff)
                            cmp = diff > 0 ? 1 : -1;
                        else if (a->kind == GQL_KIND_INTERFACE && gql_schema_is_sub_type(a, b))
                            cmp = -1;
                        else if (b->kind == GQL_KIND_INTERFACE && gql_schema_is_sub_type(b, a))
                            cmp = 1;
                        else
                            cmp = strcmp(a->name, b->name);
                        if (cmp <= 0)
                            break;
                        types.items[j] = types.items[j - 1];
                        j--;
                    }
                    types.items[j] = (void *)x;
                }
                const char **names = gql_arena_alloc(&c->arena, (types.count + 1) * sizeof(char *));
                for (size_t i = 0; i < types.count; i++)
                    names[i] = ((const gql_type *)types.items[i])->name;
                gql_buf b;
                gql_buf_init(&b);
                gql_buf_puts(&b, "");
                gql_did_you_mean(&b, "to use an inline fragment on", names, types.count);
                suggestion = gql_arena_strdup(&c->arena, b.data);
                gql_buf_free(&b);
                gql_vec_free(&types);
                gql_map_free(&usage_count);
            }
            if (!*suggestion &&
                (parent->kind == GQL_KIND_OBJECT || parent->kind == GQL_KIND_INTERFACE)) {
                const char **names =
                    gql_arena_alloc(&c->arena, (parent->field_count + 1) * sizeof(char *));
                for (size_t i = 0; i < parent->field_count; i++)
                    names[i] = parent->fields[i].name;
                suggestion = did_you_mean(c, NULL, s->name, names, parent->field_count);
            }
            report1(c, fmt(c, "Cannot query field \"%s\" on type \"%s\".%s", s->name,
                           parent->name, suggestion),
                    s->pos);
        }
        unique_directives(c, s->directives, s->directive_count);
        unique_arguments(c, s->arguments, s->argument_count);
        /* MaxIntrospectionDepth */
        if (!strcmp(s->name, "__schema") || !strcmp(s->name, "__type")) {
            depth_state st = {0};
            gql_map visited = {0};
            if (introspection_too_deep(c, &st, s, s->selection_set, &visited, 0))
                report1(c, "Maximum introspection depth exceeded", s->pos);
            gql_map_free(&st.checked);
            gql_map_free(&st.exceeded);
            gql_map_free(&visited);
        }
    }
    /* arguments */
    for (size_t a = 0; a < s->argument_count; a++) {
        const ast_argument *arg = &s->arguments[a];
        const gql_input_value *ad =
            def ? find_input_value(def->arguments, def->argument_count, arg->name) : NULL;
        if (!c->collecting && !ad && def && parent) {
            const char **names =
                gql_arena_alloc(&c->arena, (def->argument_count + 1) * sizeof(char *));
            for (size_t k = 0; k < def->argument_count; k++)
                names[k] = def->arguments[k].name;
            report1(c,
                    fmt(c, "Unknown argument \"%s\" on field \"%s.%s\".%s", arg->name,
                        parent->name, def->name,
                        did_you_mean(c, NULL, arg->name, names, def->argument_count)),
                    arg->pos);
        }
        walk_value(c, arg->value, ad ? ad->type : NULL, NULL, ad && ad->default_value, true);
    }
    walk_directives(c, s->directives, s->directive_count, GQL_DL_FIELD);
    if (s->selection_set) {
        const gql_type *named = gql_type_named(type);
        walk_selection_set(c, s->selection_set, gql_type_is_composite(named) ? named : NULL,
                           PARENT_OTHER);
    }
    /* ProvidedRequiredArguments, on leave */
    if (!c->collecting && def) {
        for (size_t k = 0; k < def->argument_count; k++) {
            const gql_input_value *ad = &def->arguments[k];
            if (ad->type->kind != GQL_KIND_NON_NULL || ad->default_value)
                continue;
            bool provided = false;
            for (size_t a = 0; a < s->argument_count; a++)
                if (!strcmp(s->arguments[a].name, ad->name))
                    provided = true;
            if (!provided)
                report1(c,
                        fmt(c,
                            "Field \"%s\" argument \"%s\" of type \"%s\" is required, but it was "
                            "not provided.",
                            def->name, ad->name, type_str(c, ad->type)),
                        s->pos);
        }
    }
}

static const gql_type *fragment_type(vctx *c, const char *name)
{
    const ast_definition *f = get_fragment(c, name);
    if (!f)
        return NULL;
    const gql_type *t = named_type(c, f->type_condition);
    return gql_type_is_composite(t) ? t : NULL;
}

static void walk_selection_set(vctx *c, const ast_selection_set *set, const gql_type *parent,
                               parent_kind pk)
{
    /* OverlappingFieldsCanBeMerged */
    if (!c->collecting && pk != PARENT_INLINE_FRAGMENT &&
        (set->count > 1 || (set->count == 1 && set->items[0]->kind ==
                                                   AST_SELECTION_INLINE_FRAGMENT)))
        overlapping_fields(c, parent, set);
    for (size_t i = 0; i < set->count; i++) {
        const ast_selection *s = set->items[i];
        if (s->kind == AST_SELECTION_FIELD) {
            walk_field(c, s, parent);
        } else if (s->kind == AST_SELECTION_FRAGMENT_SPREAD) {
            if (!c->collecting) {
                if (!get_fragment(c, s->name))
                    report1(c, fmt(c, "Unknown fragment \"%s\".", s->name), s->name_pos);
                const gql_type *ft = fragment_type(c, s->name);
                if (ft && parent && !gql_types_overlap(ft, parent))
                    report1(c,
                            fmt(c,
                                "Fragment \"%s\" cannot be spread here as objects of type "
                                "\"%s\" can never be of type \"%s\".",
                                s->name, parent->name, ft->name),
                            s->pos);
                unique_directives(c, s->directives, s->directive_count);
            }
            walk_directives(c, s->directives, s->directive_count, GQL_DL_FRAGMENT_SPREAD);
        } else {
            const gql_type *t = s->type_condition ? named_type(c, s->type_condition) : parent;
            if (!c->collecting) {
                if (s->type_condition && t && !gql_type_is_composite(t))
                    report1(c,
                            fmt(c, "Fragment cannot condition on non composite type \"%s\".",
                                s->type_condition),
                            s->type_condition_pos);
                if (gql_type_is_composite(t) && parent && !gql_types_overlap(t, parent))
                    report1(c,
                            fmt(c,
                                "Fragment cannot be spread here as objects of type \"%s\" can "
                                "never be of type \"%s\".",
                                parent->name, t->name),
                            s->pos);
                unique_directives(c, s->directives, s->directive_count);
                if (s->type_condition)
                    known_type_name(c, s->type_condition, s->type_condition_pos, false);
            }
            walk_directives(c, s->directives, s->directive_count, GQL_DL_INLINE_FRAGMENT);
            walk_selection_set(c, s->selection_set, gql_type_is_composite(t) ? t : NULL,
                               PARENT_INLINE_FRAGMENT);
        }
    }
}

static usage_list *usages_of(vctx *c, const ast_definition *d)
{
    return gql_map_get(&c->usages_by_def, ptr_key(c, d, NULL));
}

static void detect_cycles(vctx *c, const ast_definition *fragment)
{
    if (gql_map_get(&c->cycle_visited, fragment->name))
        return;
    gql_map_put(&c->cycle_visited, fragment->name, (void *)1);
    gql_vec spreads = {0};
    fragment_spreads(c, fragment->selection_set, &spreads);
    if (!spreads.count) {
        gql_vec_free(&spreads);
        return;
    }
    gql_map_put(&c->spread_path_index, fragment->name,
                (void *)(uintptr_t)(c->spread_path.count + 1));
    for (size_t i = 0; i < spreads.count; i++) {
        const ast_selection *spread = spreads.items[i];
        uintptr_t cycle_index = (uintptr_t)gql_map_get(&c->spread_path_index, spread->name);
        gql_vec_push(&c->spread_path, (void *)spread);
        if (!cycle_index) {
            const ast_definition *target = get_fragment(c, spread->name);
            if (target)
                detect_cycles(c, target);
        } else {
            size_t from = cycle_index - 1;
            gql_buf via;
            gql_buf_init(&via);
            gql_buf_puts(&via, "");
            for (size_t k = from; k + 1 < c->spread_path.count; k++)
                gql_buf_printf(&via, "%s\"%s\"", k == from ? "" : ", ",
                               ((const ast_selection *)c->spread_path.items[k])->name);
            size_t n = c->spread_path.count - from;
            uint32_t *pos = gql_arena_alloc(&c->arena, n * sizeof(uint32_t));
            for (size_t k = 0; k < n; k++)
                pos[k] = ((const ast_selection *)c->spread_path.items[from + k])->pos;
            const char *msg =
                via.len ? fmt(c, "Cannot spread fragment \"%s\" within itself via %s.",
                              spread->name, via.data)
                        : fmt(c, "Cannot spread fragment \"%s\" within itself.", spread->name);
            gql_buf_free(&via);
            report(c, msg, pos, n);
        }
        c->spread_path.count--;
    }
    gql_map_put(&c->spread_path_index, fragment->name, NULL);
    gql_vec_free(&spreads);
}

static void walk_fragment_definition(vctx *c, const ast_definition *d)
{
    const gql_type *t = named_type(c, d->type_condition);
    if (!c->collecting) {
        if (t && !gql_type_is_composite(t))
            report1(c, fmt(c, "Fragment \"%s\" cannot condition on non composite type \"%s\".",
                           d->name, d->type_condition),
                    d->type_condition_pos);
        const uintptr_t known = (uintptr_t)gql_map_get(&c->known_fragment_names, d->name);
        if (known)
            report2(c, fmt(c, "There can be only one fragment named \"%s\".", d->name),
                    (uint32_t)(known - 1), d->name_pos);
        else
            gql_map_put(&c->known_fragment_names, d->name, (void *)(uintptr_t)(d->name_pos + 1));
        detect_cycles(c, d);
        unique_directives(c, d->directives, d->directive_count);
        known_type_name(c, d->type_condition, d->type_condition_pos, false);
    }
    walk_directives(c, d->directives, d->directive_count, GQL_DL_FRAGMENT_DEFINITION);
    walk_selection_set(c, d->selection_set, gql_type_is_composite(t) ? t : NULL, PARENT_OTHER);
}

static bool allowed_variable_usage(const gql_type *var_type, const ast_value *var_default,
                                   const gql_type *location_type, bool location_default)
{
    if (location_type->kind == GQL_KIND_NON_NULL && var_type->kind != GQL_KIND_NON_NULL) {
        bool non_null_default = var_default && var_default->kind != AST_VALUE_NULL;
        if (!non_null_default && !location_default)
            return false;
        return gql_type_is_sub_type_of(var_type, location_type->of_type);
    }
    return gql_type_is_sub_type_of(var_type, location_type);
}

static void operation_usages(vctx *c, const ast_definition *op, usage_list *out)
{
    usage_list *own_usages = usages_of(c, op);
    gql_vec frags = {0};
    referenced_fragments(c, &op, 1, &frags);
    size_t total = own_usages ? own_usages->count : 0;
    for (size_t i = 0; i < frags.count; i++) {
        usage_list *l = usages_of(c, frags.items[i]);
        total += l ? l->count : 0;
    }
    out->items = gql_arena_alloc(&c->arena, (total + 1) * sizeof(usage));
    out->count = 0;
    if (own_usages)
        for (size_t i = 0; i < own_usages->count; i++)
            out->items[out->count++] = own_usages->items[i];
    for (size_t i = 0; i < frags.count; i++) {
        usage_list *l = usages_of(c, frags.items[i]);
        for (size_t k = 0; l && k < l->count; k++)
            out->items[out->count++] = l->items[k];
    }
    gql_vec_free(&frags);
}

static void single_field_subscription(vctx *c, const ast_definition *op)
{
    const gql_type *sub = gql_schema_subscription_type(c->schema);
    if (op->operation != GQL_OPERATION_SUBSCRIPTION || !sub)
        return;
    /* top-level response keys, fragments expanded (no variables: @skip/@include literal) */
    gql_vec keys = {0}, first_nodes = {0}, all_nodes = {0};
    gql_map visited = {0};
    /* depth-first in order: process sets recursively with an explicit order */
    struct frame {
        const ast_selection_set *set;
        size_t index;
    };
    struct frame frames[64];
    size_t depth = 0;
    frames[depth].set = op->selection_set;
    frames[depth].index = 0;
    depth = 1;
    while (depth) {
        struct frame *f = &frames[depth - 1];
        if (f->index >= f->set->count) {
            depth--;
            continue;
        }
        const ast_selection *s = f->set->items[f->index++];
        bool skipped = false;
        for (size_t i = 0; i < s->directive_count; i++)
            for (size_t a = 0; a < s->directives[i].argument_count; a++) {
                const ast_value *v = s->directives[i].arguments[a].value;
                if (v->kind != AST_VALUE_BOOLEAN)
                    continue;
                if (!strcmp(s->directives[i].name, "skip") && v->boolean)
                    skipped = true;
                if (!strcmp(s->directives[i].name, "include") && !v->boolean)
                    skipped = true;
            }
        if (skipped)
            continue;
        const ast_selection_set *next = NULL;
        if (s->kind == AST_SELECTION_FIELD) {
            const char *key = s->alias ? s->alias : s->name;
            size_t k;
            for (k = 0; k < keys.count; k++)
                if (!strcmp(keys.items[k], key))
                    break;
            if (k == keys.count) {
                gql_vec_push(&keys, (void *)key);
                gql_vec_push(&first_nodes, (void *)s);
            }
            gql_vec_push(&all_nodes, (void *)s);
        } else if (s->kind == AST_SELECTION_INLINE_FRAGMENT) {
            const gql_type *t = s->type_condition ? named_type(c, s->type_condition) : sub;
            if (t == sub || (gql_type_is_abstract(t) && gql_schema_is_sub_type(t, sub)))
                next = s->selection_set;
        } else if (!gql_map_get(&visited, s->name)) {
            gql_map_put(&visited, s->name, (void *)1);
            const ast_definition *fd = get_fragment(c, s->name);
            const gql_type *t = fd ? named_type(c, fd->type_condition) : NULL;
            if (fd && (t == sub || (gql_type_is_abstract(t) && gql_schema_is_sub_type(t, sub))))
                next = fd->selection_set;
        }
        if (next && depth < 64) {
            frames[depth].set = next;
            frames[depth].index = 0;
            depth++;
        }
    }
    /* the reports below may longjmp out (error limit): the context frees what they need */
    gql_map_free(&visited);
    own(c, &keys);
    own(c, &first_nodes);
    own(c, &all_nodes);
    if (keys.count > 1) {
        gql_vec *extra_nodes = scratch_vec(c);
        gql_vec extra = {0};
        for (size_t i = 0; i < all_nodes.count; i++) {
            const ast_selection *s = all_nodes.items[i];
            const char *key = s->alias ? s->alias : s->name;
            if (strcmp(key, keys.items[0]))
                gql_vec_push(&extra, (void *)s);
        }
        /* grouped by key in key order */
        uint32_t *pos = gql_arena_alloc(&c->arena, (extra.count + 1) * sizeof(uint32_t));
        size_t n = 0;
        for (size_t k = 1; k < keys.count; k++)
            for (size_t i = 0; i < extra.count; i++) {
                const ast_selection *s = extra.items[i];
                if (!strcmp(s->alias ? s->alias : s->name, keys.items[k]))
                    pos[n++] = s->pos;
            }
        *extra_nodes = extra; /* owned by the context from here */
        report(c,
               op->name ? fmt(c, "Subscription \"%s\" must select only one top level field.",
                              op->name)
                        : "Anonymous Subscription must select only one top level field.",
               pos, n);
    }
    for (size_t k = 0; k < keys.count; k++) {
        const ast_selection *s = first_nodes.items[k];
        if (strncmp(s->name, "__", 2))
            continue;
        uint32_t *pos = gql_arena_alloc(&c->arena, (all_nodes.count + 1) * sizeof(uint32_t));
        size_t n = 0;
        for (size_t i = 0; i < all_nodes.count; i++) {
            const ast_selection *x = all_nodes.items[i];
            if (!strcmp(x->alias ? x->alias : x->name, keys.items[k]))
                pos[n++] = x->pos;
        }
        report(c,
               op->name ? fmt(c,
                              "Subscription \"%s\" must not select an introspection top level "
                              "field.",
                              op->name)
                        : "Anonymous Subscription must not select an introspection top level "
                          "field.",
               pos, n);
    }
}

static void walk_operation(vctx *c, const ast_definition *op)
{
    const gql_type *root = op->operation == GQL_OPERATION_QUERY ? gql_schema_query_type(c->schema)
                           : op->operation == GQL_OPERATION_MUTATION
                               ? gql_schema_mutation_type(c->schema)
                               : gql_schema_subscription_type(c->schema);
    if (!c->collecting) {
        /* UniqueOperationNames */
        if (op->name) {
            uintptr_t known = (uintptr_t)gql_map_get(&c->known_operation_names, op->name);
            if (known)
                report2(c, fmt(c, "There can be only one operation named \"%s\".", op->name),
                        (uint32_t)(known - 1), op->name_pos);
            else
                gql_map_put(&c->known_operation_names, op->name,
                            (void *)(uintptr_t)(op->name_pos + 1));
        }
        /* LoneAnonymousOperation */
        if (!op->name && c->operation_count > 1)
            report1(c, "This anonymous operation must be the only defined operation.", op->pos);
        single_field_subscription(c, op);
        /* UniqueVariableNames */
        for (size_t i = 0; i < op->variable_count; i++) {
            bool first = true;
            for (size_t k = 0; k < i; k++)
                if (!strcmp(op->variables[k].name, op->variables[i].name))
                    first = false;
            if (!first)
                continue;
            size_t n = 0;
            for (size_t k = i; k < op->variable_count; k++)
                if (!strcmp(op->variables[k].name, op->variables[i].name))
                    n++;
            if (n < 2)
                continue;
            uint32_t *pos = gql_arena_alloc(&c->arena, n * sizeof(uint32_t));
            n = 0;
            for (size_t k = i; k < op->variable_count; k++)
                if (!strcmp(op->variables[k].name, op->variables[i].name))
                    pos[n++] = op->variables[k].name_pos;
            report(c, fmt(c, "There can be only one variable named \"$%s\".", op->variables[i].name),
                   pos, n);
        }
        gql_map_free(&c->var_defined);
        gql_vec_free(&c->var_defs);
        gql_map_free(&c->var_def_map);
        unique_directives(c, op->directives, op->directive_count);
    }
    for (size_t i = 0; i < op->variable_count && !c->collecting; i++) {
        const ast_variable_definition *vd = &op->variables[i];
        const gql_type *t = type_from_ast(c, vd->type);
        if (t && !gql_type_is_input(t)) {
            gql_buf printed;
            gql_buf_init(&printed);
            gql_type_print(t, &printed);
            const char *message = fmt(c, "Variable \"$%s\" cannot be non-input type \"%s\".", vd->name,
                                      printed.data);
            gql_buf_free(&printed);
            report1(c, message, vd->type->pos);
        }
        gql_map_put(&c->var_defined, vd->name, (void *)1);
        gql_vec_push(&c->var_defs, (void *)vd);
        unique_directives(c, vd->directives, vd->directive_count);
        gql_map_put(&c->var_def_map, vd->name, (void *)vd);
        walk_type_ref(c, vd->type, false);
        if (vd->default_value)
            walk_value(c, vd->default_value, t && gql_type_is_input(t) ? t : NULL, NULL, false,
                       true);
        walk_directives(c, vd->directives, vd->directive_count, GQL_DL_VARIABLE_DEFINITION);
    }
    unsigned location = op->operation == GQL_OPERATION_QUERY      ? GQL_DL_QUERY
                        : op->operation == GQL_OPERATION_MUTATION ? GQL_DL_MUTATION
                                                                  : GQL_DL_SUBSCRIPTION;
    walk_directives(c, op->directives, op->directive_count, location);
    walk_selection_set(c, op->selection_set,
                       root && root->kind == GQL_KIND_OBJECT ? root : NULL, PARENT_OTHER);
    if (c->collecting)
        return;
    usage_list all;
    operation_usages(c, op, &all);
    /* NoUndefinedVariables */
    for (size_t i = 0; i < all.count; i++) {
        const ast_value *node = all.items[i].node;
        if (!gql_map_get(&c->var_defined, node->text))
            report2(c,
                    op->name ? fmt(c, "Variable \"$%s\" is not defined by operation \"%s\".",
                                   node->text, op->name)
                             : fmt(c, "Variable \"$%s\" is not defined.", node->text),
                    node->pos, op->pos);
    }
    /* NoUnusedVariables */
    for (size_t i = 0; i < c->var_defs.count; i++) {
        const ast_variable_definition *vd = c->var_defs.items[i];
        bool used = false;
        for (size_t k = 0; k < all.count && !used; k++)
            used = !strcmp(all.items[k].node->text, vd->name);
        if (!used)
            report1(c,
                    op->name ? fmt(c, "Variable \"$%s\" is never used in operation \"%s\".",
                                   vd->name, op->name)
                             : fmt(c, "Variable \"$%s\" is never used.", vd->name),
                    vd->pos);
    }
    /* VariablesInAllowedPosition */
    for (size_t i = 0; i < all.count; i++) {
        const usage *u = &all.items[i];
        const ast_variable_definition *vd = gql_map_get(&c->var_def_map, u->node->text);
        if (!vd || !u->type)
            continue;
        const gql_type *vt = type_from_ast(c, vd->type);
        if (!vt)
            continue;
        if (!allowed_variable_usage(vt, vd->default_value, u->type, u->has_location_default))
            report2(c,
                    fmt(c, "Variable \"$%s\" of type \"%s\" used in position expecting type \"%s\".",
                        u->node->text, type_str(c, vt), type_str(c, u->type)),
                    vd->pos, u->node->pos);
        if (u->parent_type && u->parent_type->kind == GQL_KIND_INPUT_OBJECT &&
            gql_directive_find(u->parent_type->directives, u->parent_type->directive_count,
                               "oneOf") &&
            vt->kind != GQL_KIND_NON_NULL)
            report2(c,
                    fmt(c,
                        "Variable \"$%s\" is of type \"%s\" but must be non-nullable to be used "
                        "for OneOf Input Object \"%s\".",
                        u->node->text, type_str(c, vt), u->parent_type->name),
                    vd->pos, u->node->pos);
    }
}

/* Type-system definitions in an executable document: graphql-js's rules still visit them
 * (KnownTypeNames, KnownDirectives, UniqueDirectivesPerLocation, directive arguments). */
static gql_map *seen_for_type(vctx *c, const char *name)
{
    gql_map *m = gql_map_get(&c->seen_by_type, name);
    if (!m) {
        m = gql_arena_alloc(&c->arena, sizeof(*m));
        gql_map_put(&c->seen_by_type, name, m);
    }
    return m;
}

static void sdl_input_values(vctx *c, const ast_input_value_def *values, size_t count,
                             unsigned location)
{
    for (size_t i = 0; i < count; i++) {
        unique_directives_in(c, values[i].directives, values[i].directive_count, NULL);
        walk_type_ref(c, values[i].type, true);
        walk_directives(c, values[i].directives, values[i].directive_count, location);
    }
}

/* In graphql-js's visiting order: UniqueDirectivesPerLocation when a node is entered, then
 * its children (named types, directives, fields) in AST key order. */
static void walk_type_system_definition(vctx *c, const ast_definition *d)
{
    gql_map *seen = d->kind == AST_DEF_SCHEMA       ? &c->seen_schema
                    : d->kind == AST_DEF_DIRECTIVE ? NULL
                                                   : seen_for_type(c, d->name);
    if (d->kind != AST_DEF_DIRECTIVE)
        unique_directives_in(c, d->directives, d->directive_count, seen);
    switch (d->kind) {
    case AST_DEF_SCHEMA:
        walk_directives(c, d->directives, d->directive_count, GQL_DL_SCHEMA);
        for (size_t i = 0; i < d->type_count; i++)
            known_type_name(c, d->types[i].name, d->types[i].pos, true);
        break;
    case AST_DEF_SCALAR:
        walk_directives(c, d->directives, d->directive_count, GQL_DL_SCALAR);
        break;
    case AST_DEF_OBJECT:
    case AST_DEF_INTERFACE:
        for (size_t i = 0; i < d->type_count; i++)
            known_type_name(c, d->types[i].name, d->types[i].pos, true);
        walk_directives(c, d->directives, d->directive_count,
                        d->kind == AST_DEF_OBJECT ? GQL_DL_OBJECT : GQL_DL_INTERFACE);
        for (size_t i = 0; i < d->field_count; i++) {
            const ast_field_def *f = &d->fields[i];
            unique_directives_in(c, f->directives, f->directive_count, NULL);
            sdl_input_values(c, f->arguments, f->argument_count, GQL_DL_ARGUMENT_DEFINITION);
            walk_type_ref(c, f->type, true);
            walk_directives(c, f->directives, f->directive_count, GQL_DL_FIELD_DEFINITION);
        }
        break;
    case AST_DEF_UNION:
        walk_directives(c, d->directives, d->directive_count, GQL_DL_UNION);
        for (size_t i = 0; i < d->type_count; i++)
            known_type_name(c, d->types[i].name, d->types[i].pos, true);
        break;
    case AST_DEF_ENUM:
        walk_directives(c, d->directives, d->directive_count, GQL_DL_ENUM);
        for (size_t i = 0; i < d->enum_value_count; i++) {
            unique_directives_in(c, d->enum_values[i].directives,
                                 d->enum_values[i].directive_count, NULL);
            walk_directives(c, d->enum_values[i].directives, d->enum_values[i].directive_count,
                            GQL_DL_ENUM_VALUE);
        }
        break;
    case AST_DEF_INPUT_OBJECT:
        walk_directives(c, d->directives, d->directive_count, GQL_DL_INPUT_OBJECT);
        sdl_input_values(c, d->input_values, d->input_value_count,
                         GQL_DL_INPUT_FIELD_DEFINITION);
        break;
    case AST_DEF_DIRECTIVE:
        sdl_input_values(c, d->input_values, d->input_value_count, GQL_DL_ARGUMENT_DEFINITION);
        break;
    default:
        break;
    }
}

/* Nesting through fragment spreads, checked before any rule recurses (no stack overflow). */
static unsigned selection_depth(vctx *c, const ast_selection_set *set, gql_map *memo,
                                unsigned level, unsigned limit)
{
    if (level > limit)
        return level;
    unsigned best = level;
    for (size_t i = 0; i < set->count && best <= limit; i++) {
        const ast_selection *s = set->items[i];
        unsigned d = level;
        if (s->selection_set) {
            d = selection_depth(c, s->selection_set, memo, level + 1, limit);
        } else if (s->kind == AST_SELECTION_FRAGMENT_SPREAD) {
            const ast_definition *f = get_fragment(c, s->name);
            if (!f)
                continue;
            uintptr_t m = (uintptr_t)gql_map_get(memo, s->name);
            if (m == 1)
                continue; /* on the stack: a cycle, reported by NoFragmentCycles */
            unsigned inner;
            if (m) {
                inner = (unsigned)(m - 2);
            } else {
                gql_map_put(memo, s->name, (void *)1);
                inner = selection_depth(c, f->selection_set, memo, 1, limit);
                gql_map_put(memo, s->name, (void *)(uintptr_t)(inner + 2));
            }
            d = level + inner;
        }
        if (d > best)
            best = d;
    }
    return best;
}

bool gql_validate(const gql_schema *schema, const ast_document *doc, const gql_limits *limits,
                  cJSON *errors)
{
    vctx *c = gql_xcalloc(1, sizeof(*c));
    c->schema = schema;
    c->doc = doc;
    c->errors = errors;
    c->fragment_work = MAX_FRAGMENT_WORK;
    c->complexity = MAX_COMPLEXITY_BUDGET;
    gql_arena_init(&c->arena);
    unsigned max_depth = limits && limits->max_depth ? limits->max_depth : GQL_DEFAULT_MAX_DEPTH;
    int before = cJSON_GetArraySize(errors);
    for (size_t i = 0; i < doc->count; i++) {
        const ast_definition *d = doc->definitions[i];
        if (d->kind == AST_DEF_FRAGMENT)
            gql_map_put(&c->fragments, d->name, (void *)d);
        else if (d->kind == AST_DEF_OPERATION)
            c->operation_count++;
        else if (d->kind == AST_DEF_DIRECTIVE)
            gql_map_put(&c->doc_directives, d->name, (void *)d);
        else if (d->kind != AST_DEF_SCHEMA && !d->extension)
            gql_map_put(&c->defined_types, d->name, (void *)1);
    }
    if (setjmp(c->abort))
        goto done;
    /* depth through fragments */
    {
        gql_map memo = {0};
        unsigned deepest = 0;
        for (size_t i = 0; i < doc->count && deepest <= max_depth; i++) {
            const ast_definition *d = doc->definitions[i];
            if (d->kind == AST_DEF_OPERATION || d->kind == AST_DEF_FRAGMENT) {
                unsigned depth = selection_depth(c, d->selection_set, &memo, 1, max_depth);
                if (depth > deepest)
                    deepest = depth;
            }
        }
        gql_map_free(&memo);
        if (deepest > max_depth) {
            report1(c,
                    fmt(c, "Document exceeds the maximum nesting depth of %u (fragment spreads "
                           "included).",
                        max_depth),
                    0);
            goto done;
        }
    }
    /* pre-pass: variable usages of every operation and fragment, with their types */
    c->collecting = true;
    for (size_t i = 0; i < doc->count; i++) {
        const ast_definition *d = doc->definitions[i];
        if (d->kind != AST_DEF_OPERATION && d->kind != AST_DEF_FRAGMENT)
            continue;
        usage_list *l = gql_arena_alloc(&c->arena, sizeof(*l));
        c->collect_into = l;
        if (d->kind == AST_DEF_OPERATION)
            walk_operation(c, d);
        else
            walk_fragment_definition(c, d);
        gql_map_put(&c->usages_by_def, ptr_key(c, d, NULL), l);
    }
    c->collecting = false;
    c->collect_into = NULL;
    /* ExecutableDefinitions */
    for (size_t i = 0; i < doc->count; i++) {
        const ast_definition *d = doc->definitions[i];
        if (d->kind == AST_DEF_OPERATION || d->kind == AST_DEF_FRAGMENT)
            continue;
        if (d->kind == AST_DEF_SCHEMA)
            report1(c, "The schema definition is not executable.", d->pos);
        else
            report1(c, fmt(c, "The \"%s\" definition is not executable.", d->name), d->pos);
    }
    for (size_t i = 0; i < doc->count; i++) {
        const ast_definition *d = doc->definitions[i];
        if (d->kind == AST_DEF_OPERATION)
            walk_operation(c, d);
        else if (d->kind == AST_DEF_FRAGMENT)
            walk_fragment_definition(c, d);
        else
            walk_type_system_definition(c, d);
    }
    /* NoUnusedFragments */
    {
        gql_vec *ops = &c->unused_ops, *used_list = &c->unused_used;
        for (size_t i = 0; i < doc->count; i++)
            if (doc->definitions[i]->kind == AST_DEF_OPERATION)
                gql_vec_push(ops, doc->definitions[i]);
        referenced_fragments(c, (const ast_definition *const *)ops->items, ops->count, used_list);
        gql_vec used = *used_list;
        for (size_t i = 0; i < doc->count; i++) {
            const ast_definition *d = doc->definitions[i];
            if (d->kind != AST_DEF_FRAGMENT)
                continue;
            bool is_used = false;
            for (size_t k = 0; k < used.count && !is_used; k++)
                is_used = !strcmp(((const ast_definition *)used.items[k])->name, d->name);
            if (!is_used)
                report1(c, fmt(c, "Fragment \"%s\" is never used.", d->name), d->pos);
        }
    }
done:;
    gql_vec_free(&c->unused_ops);
    gql_vec_free(&c->unused_used);
    bool valid = cJSON_GetArraySize(errors) == before;
    /* free everything */
    for (size_t i = 0; i < doc->count; i++) {
        usage_list *l = usages_of(c, doc->definitions[i]);
        if (l)
            free(l->items);
    }
    for (size_t i = 0; i < c->collect_cache.cap; i++) {
        ocollect *r = c->collect_cache.entries[i].key ? c->collect_cache.entries[i].value : NULL;
        if (!r)
            continue;
        for (size_t g = 0; g < r->groups.count; g++)
            gql_vec_free(&((ogroup *)r->groups.items[g])->fields);
        gql_vec_free(&r->groups);
        gql_map_free(&r->by_name);
        gql_vec_free(&r->fragment_names);
        gql_map_free(&r->fragment_seen);
        gql_map_free(&r->compared_fragments);
    }
    for (size_t i = 0; i < c->owned.count; i++)
        gql_vec_free(c->owned.items[i]);
    gql_vec_free(&c->owned);
    for (size_t i = 0; i < c->seen_by_type.cap; i++)
        if (c->seen_by_type.entries[i].key)
            gql_map_free(c->seen_by_type.entries[i].value);
    gql_map_free(&c->seen_by_type);
    gql_map_free(&c->seen_schema);
    gql_map_free(&c->doc_directives);
    gql_map_free(&c->collect_cache);
    gql_map_free(&c->compared_fragment_pairs);
    gql_map_free(&c->usages_by_def);
    gql_map_free(&c->fragments);
    gql_map_free(&c->defined_types);
    gql_map_free(&c->known_operation_names);
    gql_map_free(&c->known_fragment_names);
    gql_map_free(&c->cycle_visited);
    gql_vec_free(&c->spread_path);
    gql_map_free(&c->spread_path_index);
    gql_map_free(&c->var_defined);
    gql_vec_free(&c->var_defs);
    gql_map_free(&c->var_def_map);
    gql_arena_free(&c->arena);
    free(c);
    return valid;
}
