/* cascade: Kahn's topological sort over the part of the cascade graph a batch
 * reaches (cycles broken in discovery order so every entity is expanded once),
 * and the round-by-round iteration over it that the apply transaction follows. */
#include "config.h"

#include "cdc/cascade.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/array_literal.h"
#include "common/alloc.h"
#include "common/log.h"

static size_t find_name(const char **names, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return count;
}

size_t cascade_order(const char *const *start, size_t start_count,
                     const cascade_edge *edges, size_t edge_count, const char **order)
{
    size_t capacity = start_count + edge_count;
    if (capacity == 0)
        return 0;
    /* Discover the reachable nodes, breadth first, in a stable order. */
    const char **nodes = alloc_malloc(capacity * sizeof *nodes);
    size_t node_count = 0;
    for (size_t i = 0; i < start_count; i++)
        if (find_name(nodes, node_count, start[i]) == node_count)
            nodes[node_count++] = start[i];
    for (size_t next = 0; next < node_count; next++)
        for (size_t e = 0; e < edge_count; e++)
            if (strcmp(edges[e].source, nodes[next]) == 0 &&
                find_name(nodes, node_count, edges[e].target) == node_count)
                nodes[node_count++] = edges[e].target;

    /* In-degrees within the reachable subgraph (self-loops ignored). */
    size_t *in_degree = alloc_calloc(node_count, sizeof *in_degree);
    bool *done = alloc_calloc(node_count, sizeof *done);
    for (size_t e = 0; e < edge_count; e++) {
        size_t s = find_name(nodes, node_count, edges[e].source);
        size_t t = find_name(nodes, node_count, edges[e].target);
        if (s < node_count && t < node_count && s != t)
            in_degree[t]++;
    }
    size_t written = 0;
    while (written < node_count) {
        size_t pick = node_count;
        for (size_t i = 0; i < node_count && pick == node_count; i++)
            if (!done[i] && in_degree[i] == 0)
                pick = i;
        if (pick == node_count)  /* only cycles left: break at the first discovered */
            for (size_t i = 0; i < node_count && pick == node_count; i++)
                if (!done[i])
                    pick = i;
        done[pick] = true;
        order[written++] = nodes[pick];
        for (size_t e = 0; e < edge_count; e++) {
            if (strcmp(edges[e].source, nodes[pick]) != 0)
                continue;
            size_t t = find_name(nodes, node_count, edges[e].target);
            if (t < node_count && t != pick && !done[t] && in_degree[t] > 0)
                in_degree[t]--;
        }
    }
    free(nodes);
    free(in_degree);
    free(done);
    return written;
}

bool cascade_edge_watches(const cascade_edge *edge, const char *const *changed_keys)
{
    const char *const *watch = edge->watches;
    if (!watch || !changed_keys)
        return true;
    for (; *watch; watch++)
        for (const char *const *key = changed_keys; *key; key++)
            if (strcmp(*watch, *key) == 0)
                return true;
    return false;
}

/* Whether an entity has edges out of it. */
static bool cascade_plan_has_edges(const cascade_plan *plan, const char *entity)
{
    for (size_t e = 0; e < plan->edge_count; e++)
        if (strcmp(plan->edges[e].source, entity) == 0)
            return true;
    return false;
}

void cascade_plan_clear_changed(cascade_plan *plan)
{
    for (size_t i = 0; i < plan->changed_count; i++)
        array_literal_strings_free(plan->changed_keys[i]);
    plan->changed_count = 0;
    plan->changed_text_length = 0;
}

void cascade_plan_add_changed(cascade_plan *plan, const char *id, size_t length, char **keys)
{
    /* The ids' text in one buffer kept across batches: a diff finds thousands. */
    if (plan->changed_text_length + length + 1 > plan->changed_text_capacity) {
        size_t capacity = plan->changed_text_capacity ? plan->changed_text_capacity : 64 * 40;
        while (capacity < plan->changed_text_length + length + 1)
            capacity *= 2;
        if (capacity > UINT32_MAX)
            alloc_check(NULL);   /* offsets are 32 bits */
        plan->changed_text = alloc_realloc(plan->changed_text, capacity);
        plan->changed_text_capacity = capacity;
    }
    if (plan->changed_count == plan->changed_capacity) {
        plan->changed_capacity = plan->changed_capacity ? 2 * plan->changed_capacity : 64;
        plan->changed = alloc_array(plan->changed, plan->changed_capacity, sizeof *plan->changed);
        plan->changed_keys = alloc_array(plan->changed_keys, plan->changed_capacity, sizeof *plan->changed_keys);
        plan->edge_ids = alloc_array(plan->edge_ids, plan->changed_capacity, sizeof *plan->edge_ids);
    }
    memcpy(plan->changed_text + plan->changed_text_length, id, length);
    plan->changed_text[plan->changed_text_length + length] = '\0';
    plan->changed[plan->changed_count] = (intent_id){(uint32_t) plan->changed_text_length, (uint32_t) length};
    plan->changed_text_length += length + 1;
    plan->changed_keys[plan->changed_count++] = keys;
}

void cascade_plan_set_diffed(cascade_plan *plan, bool diffed)
{
    plan->diffed = diffed;
}

size_t cascade_plan_edge_ids(cascade_plan *plan, size_t edge)
{
    size_t count = 0;
    for (size_t i = 0; i < plan->changed_count; i++)
        if (cascade_edge_watches(&plan->edges[edge], (const char *const *) plan->changed_keys[i]))
            plan->edge_ids[count++] = i;
    return count;
}

/* Whether the current range follows edge out of source. */
static bool range_follows(cascade_plan *plan, const char *source, size_t edge)
{
    return strcmp(plan->edges[edge].source, source) == 0 &&
           (plan->range_diffless || cascade_plan_edge_ids(plan, edge) > 0);
}

bool cascade_plan_next_edge(cascade_plan *plan, const batch_entity *source, size_t *edge)
{
    for (size_t e = plan->edge_index; e < plan->edge_count; e++)
        if (range_follows(plan, source->name, e)) {
            *edge = e;
            plan->edge_index = e + 1;
            return true;
        }
    return false;
}

void cascade_plan_restart(cascade_plan *plan)
{
    plan->order_index = plan->edge_index = 0;
    plan->in_entity = false;
    plan->round = 0;
    for (size_t i = 0; i < plan->work->entity_count; i++)
        plan->work->entities[i].expanded = 0;
}

void cascade_plan_start(cascade_plan *plan, batch *work, const cascade_edge *edges, size_t edge_count,
                        const char *const *names, size_t name_count)
{
    plan->work = work;
    plan->edges = edges;
    plan->edge_count = edge_count;
    const char **start = alloc_malloc((work->entity_count + 1) * sizeof *start);
    size_t start_count = 0;
    for (size_t i = 0; i < work->entity_count; i++)
        for (size_t r = 0; r < name_count; r++)
            if (work->entities[i].id_count > 0 && strcmp(names[r], work->entities[i].name) == 0)
                start[start_count++] = names[r];
    free(plan->order);
    plan->order = alloc_malloc((start_count + edge_count + 1) * sizeof *plan->order);
    plan->order_count = cascade_order(start, start_count, edges, edge_count, plan->order);
    free(start);
    for (size_t i = 0; i < work->entity_count; i++)
        work->entities[i].intent_ids = work->entities[i].id_count;
    cascade_plan_restart(plan);
}

cascade_action cascade_plan_next(cascade_plan *plan, batch_entity **source, size_t *edge)
{
    batch *work = plan->work;
    for (;;) {
        for (; plan->order_index < plan->order_count; plan->order_index++) {
            batch_entity *entity = batch_find_entity(work, plan->order[plan->order_index]);
            if (!entity || !cascade_plan_has_edges(plan, entity->name)) {
                if (entity)
                    entity->expanded = entity->id_count;
                continue;
            }
            if (!plan->in_entity) {
                /* Entering this entity: fix the range of ids to expand. */
                if (entity->expanded >= entity->id_count)
                    continue;
                plan->in_entity = true;
                plan->range_from = entity->expanded;
                /* intent ids first, unconditionally; cascade-added ones through the diff */
                plan->diffed = entity->expanded < entity->intent_ids;
                plan->range_diffless = plan->diffed;
                plan->range_to = plan->diffed ? entity->intent_ids : entity->id_count;
                plan->edge_index = 0;
            }
            if (!plan->diffed) {
                *source = entity;
                return CASCADE_DIFF;
            }
            for (; plan->edge_index < plan->edge_count; plan->edge_index++) {
                if (range_follows(plan, entity->name, plan->edge_index)) {
                    *source = entity;
                    *edge = plan->edge_index++;
                    return CASCADE_QUERY;
                }
            }
            entity->expanded = plan->range_to;
            plan->edge_index = 0;
            plan->in_entity = false;
        }
        /* End of a round: another one when some entity got ids after its turn. */
        bool late = false;
        for (size_t i = 0; i < work->entity_count; i++)
            if (work->entities[i].expanded < work->entities[i].id_count &&
                cascade_plan_has_edges(plan, work->entities[i].name))
                late = true;
        if (!late)
            return CASCADE_DONE;
        if (++plan->round >= CASCADE_MAX_ROUNDS) {
            log_warning("apply: cascades still growing after %d rounds; applying what was found", CASCADE_MAX_ROUNDS);
            return CASCADE_DONE;
        }
        plan->order_index = 0;
        plan->edge_index = 0;
        plan->in_entity = false;
    }
}

batch_entity *cascade_plan_diffable(const cascade_plan *plan, size_t k)
{
    batch_entity *later = batch_find_entity(plan->work, plan->order[k]);
    if (!later || !cascade_plan_has_edges(plan, later->name) || later->expanded < later->intent_ids ||
        later->expanded >= later->id_count)
        return NULL;
    return later;
}

bool cascade_plan_nothing_waiting(const batch_entity *entity)
{
    if (!entity)
        return true;
    size_t settled = entity->expanded > entity->intent_ids ? entity->expanded : entity->intent_ids;
    return entity->id_count == settled;
}

void cascade_plan_free(cascade_plan *plan)
{
    cascade_plan_clear_changed(plan);
    free(plan->order);
    free(plan->changed);
    free(plan->changed_text);
    free(plan->changed_keys);
    free(plan->edge_ids);
    memset(plan, 0, sizeof *plan);
}
