/* gql_validate: graphql-js 16's specified validation rules. One walk over the document
 * calls each rule's hooks in graphql-js's rule order, so errors come out in its order too. */
#include "config.h"

#include "server/graphql/gql_validate_internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ the walk: operations,
 * type-system definitions and the entry point */

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
    usage_list *own_usages = gql_validate_usages_of(c, op);
    gql_vec frags = {0};
    gql_validate_referenced_fragments(c, &op, 1, &frags);
    size_t total = own_usages ? own_usages->count : 0;
    for (size_t i = 0; i < frags.count; i++) {
        usage_list *l = gql_validate_usages_of(c, frags.items[i]);
        total += l ? l->count : 0;
    }
    out->items = gql_arena_alloc(&c->arena, (total + 1) * sizeof(usage));
    out->count = 0;
    if (own_usages)
        for (size_t i = 0; i < own_usages->count; i++)
            out->items[out->count++] = own_usages->items[i];
    for (size_t i = 0; i < frags.count; i++) {
        usage_list *l = gql_validate_usages_of(c, frags.items[i]);
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
        gql_validate_report(c,
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
        gql_validate_report(c,
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
        /* UniqueVariableNames: each duplicated name once, at its first definition, with
         * every position; the error limit bounds the scans for positions. */
        const uint32_t *first = gql_validate_first_same_name(
            c, op->variables, op->variable_count, sizeof(*op->variables),
            offsetof(ast_variable_definition, name));
        uint32_t *counts = gql_arena_alloc(&c->arena, (op->variable_count + 1) * sizeof(uint32_t));
        for (size_t i = 0; i < op->variable_count; i++)
            counts[first[i]]++;
        for (size_t i = 0; i < op->variable_count; i++) {
            if (first[i] != i || counts[i] < 2)
                continue;
            uint32_t *pos = gql_arena_alloc(&c->arena, counts[i] * sizeof(uint32_t));
            size_t n = 0;
            for (size_t k = i; k < op->variable_count; k++)
                if (first[k] == i)
                    pos[n++] = op->variables[k].name_pos;
            gql_validate_report(
                c, fmt(c, "There can be only one variable named \"$%s\".", op->variables[i].name),
                pos, n);
        }
        gql_map_free(&c->var_defined);
        gql_vec_free(&c->var_defs);
        gql_map_free(&c->var_def_map);
        gql_validate_unique_directives(c, op->directives, op->directive_count);
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
        gql_validate_unique_directives(c, vd->directives, vd->directive_count);
        gql_map_put(&c->var_def_map, vd->name, (void *)vd);
        gql_validate_walk_type_ref(c, vd->type, false);
        if (vd->default_value)
            gql_validate_walk_value(c, vd->default_value, t && gql_type_is_input(t) ? t : NULL,
                                    NULL, false, true);
        gql_validate_walk_directives(c, vd->directives, vd->directive_count,
                                     GQL_DL_VARIABLE_DEFINITION);
    }
    unsigned location = op->operation == GQL_OPERATION_QUERY      ? GQL_DL_QUERY
                        : op->operation == GQL_OPERATION_MUTATION ? GQL_DL_MUTATION
                                                                  : GQL_DL_SUBSCRIPTION;
    gql_validate_walk_directives(c, op->directives, op->directive_count, location);
    gql_validate_walk_selection_set(c, op->selection_set,
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
    /* NoUnusedVariables: the uses marked through a map of definitions (freed before any
     * report, which may longjmp) */
    {
        bool *used = gql_arena_alloc(&c->arena, c->var_defs.count + 1);
        gql_map index = {0};
        for (size_t i = 0; i < c->var_defs.count; i++) {
            const ast_variable_definition *vd = c->var_defs.items[i];
            if (!gql_map_get(&index, vd->name))
                gql_map_put(&index, vd->name, (void *)(uintptr_t)(i + 1));
        }
        for (size_t k = 0; k < all.count; k++) {
            uintptr_t i = (uintptr_t)gql_map_get(&index, all.items[k].node->text);
            if (i)
                used[i - 1] = true;
        }
        for (size_t i = 0; i < c->var_defs.count; i++) {
            const ast_variable_definition *vd = c->var_defs.items[i];
            used[i] = used[(uintptr_t)gql_map_get(&index, vd->name) - 1];
        }
        gql_map_free(&index);
        for (size_t i = 0; i < c->var_defs.count; i++) {
            const ast_variable_definition *vd = c->var_defs.items[i];
            if (!used[i])
                report1(c,
                        op->name ? fmt(c, "Variable \"$%s\" is never used in operation \"%s\".",
                                       vd->name, op->name)
                                 : fmt(c, "Variable \"$%s\" is never used.", vd->name),
                        vd->pos);
        }
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
        gql_validate_unique_directives_in(c, values[i].directives, values[i].directive_count, NULL);
        gql_validate_walk_type_ref(c, values[i].type, true);
        gql_validate_walk_directives(c, values[i].directives, values[i].directive_count, location);
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
        gql_validate_unique_directives_in(c, d->directives, d->directive_count, seen);
    switch (d->kind) {
    case AST_DEF_SCHEMA:
        gql_validate_walk_directives(c, d->directives, d->directive_count, GQL_DL_SCHEMA);
        for (size_t i = 0; i < d->type_count; i++)
            gql_validate_known_type_name(c, d->types[i].name, d->types[i].pos, true);
        break;
    case AST_DEF_SCALAR:
        gql_validate_walk_directives(c, d->directives, d->directive_count, GQL_DL_SCALAR);
        break;
    case AST_DEF_OBJECT:
    case AST_DEF_INTERFACE:
        for (size_t i = 0; i < d->type_count; i++)
            gql_validate_known_type_name(c, d->types[i].name, d->types[i].pos, true);
        gql_validate_walk_directives(c, d->directives, d->directive_count,
                        d->kind == AST_DEF_OBJECT ? GQL_DL_OBJECT : GQL_DL_INTERFACE);
        for (size_t i = 0; i < d->field_count; i++) {
            const ast_field_def *f = &d->fields[i];
            gql_validate_unique_directives_in(c, f->directives, f->directive_count, NULL);
            sdl_input_values(c, f->arguments, f->argument_count, GQL_DL_ARGUMENT_DEFINITION);
            gql_validate_walk_type_ref(c, f->type, true);
            gql_validate_walk_directives(c, f->directives, f->directive_count,
                                         GQL_DL_FIELD_DEFINITION);
        }
        break;
    case AST_DEF_UNION:
        gql_validate_walk_directives(c, d->directives, d->directive_count, GQL_DL_UNION);
        for (size_t i = 0; i < d->type_count; i++)
            gql_validate_known_type_name(c, d->types[i].name, d->types[i].pos, true);
        break;
    case AST_DEF_ENUM:
        gql_validate_walk_directives(c, d->directives, d->directive_count, GQL_DL_ENUM);
        for (size_t i = 0; i < d->enum_value_count; i++) {
            gql_validate_unique_directives_in(c, d->enum_values[i].directives,
                                 d->enum_values[i].directive_count, NULL);
            gql_validate_walk_directives(c, d->enum_values[i].directives,
                                         d->enum_values[i].directive_count, GQL_DL_ENUM_VALUE);
        }
        break;
    case AST_DEF_INPUT_OBJECT:
        gql_validate_walk_directives(c, d->directives, d->directive_count, GQL_DL_INPUT_OBJECT);
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
            gql_validate_walk_fragment_definition(c, d);
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
            gql_validate_walk_fragment_definition(c, d);
        else
            walk_type_system_definition(c, d);
    }
    /* NoUnusedFragments */
    {
        gql_vec *ops = &c->unused_ops, *used_list = &c->unused_used;
        for (size_t i = 0; i < doc->count; i++)
            if (doc->definitions[i]->kind == AST_DEF_OPERATION)
                gql_vec_push(ops, doc->definitions[i]);
        gql_validate_referenced_fragments(c, (const ast_definition *const *)ops->items, ops->count,
                                          used_list);
        /* marked through a map freed before any report (a report may longjmp) */
        gql_map used = {0};
        for (size_t k = 0; k < used_list->count; k++)
            gql_map_put(&used, ((const ast_definition *)used_list->items[k])->name, (void *)1);
        bool *is_used = gql_arena_alloc(&c->arena, doc->count + 1);
        for (size_t i = 0; i < doc->count; i++)
            if (doc->definitions[i]->kind == AST_DEF_FRAGMENT)
                is_used[i] = gql_map_get(&used, doc->definitions[i]->name) != NULL;
        gql_map_free(&used);
        for (size_t i = 0; i < doc->count; i++) {
            const ast_definition *d = doc->definitions[i];
            if (d->kind == AST_DEF_FRAGMENT && !is_used[i])
                report1(c, fmt(c, "Fragment \"%s\" is never used.", d->name), d->pos);
        }
    }
done:;
    gql_vec_free(&c->unused_ops);
    gql_vec_free(&c->unused_used);
    bool valid = cJSON_GetArraySize(errors) == before;
    /* free everything */
    for (size_t i = 0; i < doc->count; i++) {
        usage_list *l = gql_validate_usages_of(c, doc->definitions[i]);
        if (l)
            free(l->items);
    }
    gql_validate_overlap_free(c);
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
    gql_vec_free(&c->value_path);
    gql_arena_free(&c->arena);
    free(c);
    return valid;
}
