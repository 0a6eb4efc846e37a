/* gql_validate_overlap: the OverlappingFieldsCanBeMerged rule (graphql-js's algorithm, with
 * its caches of collected fields and compared fragment pairs). */
#include "config.h"

#include "server/graphql/gql_validate_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- OverlappingFieldsCanBeMerged */

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

/* Whether every field of the group is the same leaf without arguments (`id id id`): no two
 * of them conflict, which a linear check tells without comparing every pair. */
static bool group_is_one_simple_leaf(const ogroup *group)
{
    const ofield *f0 = group->fields.items[0];
    for (size_t i = 0; i < group->fields.count; i++) {
        const ofield *f = group->fields.items[i];
        if (!f->simple_leaf || f->def != f0->def || strcmp(f->node->name, f0->node->name))
            return false;
    }
    return true;
}

static void collect_conflicts_within(vctx *c, gql_vec *conflicts, ocollect *r)
{
    for (size_t g = 0; g < r->groups.count; g++) {
        ogroup *group = r->groups.items[g];
        if (group->fields.count > 2 && group_is_one_simple_leaf(group))
            continue;
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

void gql_validate_overlapping_fields(vctx *c, const gql_type *parent, const ast_selection_set *set)
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
        gql_validate_report(c, msg, pos, n);
    }
    gql_vec_free(conflicts);
}

void gql_validate_overlap_free(vctx *c)
{
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
}
