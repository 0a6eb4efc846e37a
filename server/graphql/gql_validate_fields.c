/* gql_validate_fields: the rules on fields, selection sets, fragment spreads and fragment
 * definitions (including the introspection depth limit and fragment cycles). */
#include "config.h"

#include "server/graphql/gql_validate_internal.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ the walk: fields,
 * selection sets, fragments */

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
                suggestion =
                    gql_validate_did_you_mean(c, NULL, s->name, names, parent->field_count);
            }
            report1(c, fmt(c, "Cannot query field \"%s\" on type \"%s\".%s", s->name,
                           parent->name, suggestion),
                    s->pos);
        }
        gql_validate_unique_directives(c, s->directives, s->directive_count);
        gql_validate_unique_arguments(c, s->arguments, s->argument_count);
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
            def ? gql_validate_find_input_value(def->arguments, def->argument_count, arg->name)
                : NULL;
        if (!c->collecting && !ad && def && parent) {
            const char **names =
                gql_arena_alloc(&c->arena, (def->argument_count + 1) * sizeof(char *));
            for (size_t k = 0; k < def->argument_count; k++)
                names[k] = def->arguments[k].name;
            report1(c,
                    fmt(c, "Unknown argument \"%s\" on field \"%s.%s\".%s", arg->name,
                        parent->name, def->name,
                        gql_validate_did_you_mean(c, NULL, arg->name, names, def->argument_count)),
                    arg->pos);
        }
        gql_vec_push(&c->value_path, (void *)arg->name);
        gql_validate_walk_value(c, arg->value, ad ? ad->type : NULL, NULL, ad && ad->default_value,
                                true);
        c->value_path.count--;
    }
    gql_validate_walk_directives(c, s->directives, s->directive_count, GQL_DL_FIELD);
    if (s->selection_set) {
        const gql_type *named = gql_type_named(type);
        gql_validate_walk_selection_set(c, s->selection_set,
                                        gql_type_is_composite(named) ? named : NULL, PARENT_OTHER);
    }
    /* ProvidedRequiredArguments, on leave */
    if (!c->collecting && def)
        gql_validate_required_arguments(c, "Field", "", def->name, def->arguments, def->argument_count,
                                        s->arguments, s->argument_count, s->pos);
}

static const gql_type *fragment_type(vctx *c, const char *name)
{
    const ast_definition *f = get_fragment(c, name);
    if (!f)
        return NULL;
    const gql_type *t = named_type(c, f->type_condition);
    return gql_type_is_composite(t) ? t : NULL;
}

void gql_validate_walk_selection_set(vctx *c, const ast_selection_set *set, const gql_type *parent,
                               parent_kind pk)
{
    /* OverlappingFieldsCanBeMerged */
    if (!c->collecting && pk != PARENT_INLINE_FRAGMENT &&
        (set->count > 1 || (set->count == 1 && set->items[0]->kind ==
                                                   AST_SELECTION_INLINE_FRAGMENT)))
        gql_validate_overlapping_fields(c, parent, set);
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
                gql_validate_unique_directives(c, s->directives, s->directive_count);
            }
            gql_validate_walk_directives(c, s->directives, s->directive_count,
                                         GQL_DL_FRAGMENT_SPREAD);
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
                gql_validate_unique_directives(c, s->directives, s->directive_count);
                if (s->type_condition)
                    gql_validate_known_type_name(c, s->type_condition, s->type_condition_pos,
                                                 false);
            }
            gql_validate_walk_directives(c, s->directives, s->directive_count,
                                         GQL_DL_INLINE_FRAGMENT);
            gql_validate_walk_selection_set(
                c, s->selection_set, gql_type_is_composite(t) ? t : NULL, PARENT_INLINE_FRAGMENT);
        }
    }
}

usage_list *gql_validate_usages_of(vctx *c, const ast_definition *d)
{
    return gql_map_get(&c->usages_by_def, ptr_key(c, d, NULL));
}

static void detect_cycles(vctx *c, const ast_definition *fragment)
{
    if (gql_map_get(&c->cycle_visited, fragment->name))
        return;
    gql_map_put(&c->cycle_visited, fragment->name, (void *)1);
    gql_vec spreads = {0};
    gql_validate_fragment_spreads(c, fragment->selection_set, &spreads);
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
            gql_validate_report(c, msg, pos, n);
        }
        c->spread_path.count--;
    }
    gql_map_put(&c->spread_path_index, fragment->name, NULL);
    gql_vec_free(&spreads);
}

void gql_validate_walk_fragment_definition(vctx *c, const ast_definition *d)
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
        gql_validate_unique_directives(c, d->directives, d->directive_count);
        gql_validate_known_type_name(c, d->type_condition, d->type_condition_pos, false);
    }
    gql_validate_walk_directives(c, d->directives, d->directive_count, GQL_DL_FRAGMENT_DEFINITION);
    gql_validate_walk_selection_set(c, d->selection_set, gql_type_is_composite(t) ? t : NULL,
                                    PARENT_OTHER);
}
