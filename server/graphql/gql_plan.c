/* gql_plan: field collection (graphql-js CollectFields, fragments and @skip/@include
 * applied) into the flat plans requests execute. */
#include "config.h"

#include "server/graphql/gql_exec_internal.h"

#include <stdlib.h>
#include <string.h>

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
        f->location = gql_exec_location(b->prepared, first->pos);
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

gql_plan *gql_plan_build(gql_prepared *p, gql_arena *arena, const cJSON *variables,
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
        gql_exec_error_at(errors, msg.data, p, p->operation->pos);
        gql_buf_free(&msg);
        gql_vec_free(&b.nodes);
        return NULL;
    }
    plan->field_total = b.total;
    plan->nodes = (const ast_selection **)gql_vec_to_arena(&b.nodes, arena);
    return plan;
}

