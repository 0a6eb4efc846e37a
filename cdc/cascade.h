/* cascade: the pure planning of a batch's cascades (a user change rebuilds that
 * user's posts and comments): the order in which entities are expanded, and the
 * iteration that says, step by step, which diff or cascade query the apply
 * transaction runs next. No database here; the apply sends what this plans. */
#ifndef TVSYNC_CDC_CASCADE_H
#define TVSYNC_CDC_CASCADE_H

#include <stdbool.h>
#include <stddef.h>

#include "cdc/batch.h"
#include "cdc/intent.h"

typedef struct cascade_edge {
    const char *source;   /* entity whose changed ids are the query's $1 */
    const char *target;   /* entity the query returns ids of */
    const char *const *watches;   /* NULL-terminated match keys of the watch paths of
                                     source (cdc/watch_path) whose change the edge
                                     follows; NULL = every key */
} cascade_edge;

/* Writes into order[] every entity reachable from start[] through edges, each
 * once, so that an entity comes after every reachable entity with an edge to
 * it (a topological order); on a cycle, the entity first discovered goes first
 * and the cycle's last edge is not followed again (each entity is expanded
 * once per batch). order must hold start_count + edge_count names; the names
 * point to the callers' strings. Returns how many were written. */
size_t cascade_order(const char *const *start, size_t start_count,
                     const cascade_edge *edges, size_t edge_count, const char **order);

/* Whether a row whose document changed in changed_keys (NULL-terminated: the
 * changed top-level keys, then the changed nested paths its diff compares;
 * NULL = created or deleted: every key) must follow edge: true unless the edge
 * watches paths and none of them changed. */
bool cascade_edge_watches(const cascade_edge *edge, const char *const *changed_keys);

/* The rounds after which a batch whose cascades still add ids is applied with
 * what was found (logged). */
#define CASCADE_MAX_ROUNDS 16

/* What the iteration wants next. */
typedef enum cascade_action {
    CASCADE_DONE,
    CASCADE_QUERY,    /* run the edge's query with the range's ids (intent ids) or changed ids */
    CASCADE_DIFF,     /* diff the range (cascade-added ids): which documents would change */
} cascade_action;

/* The iteration over a batch: the ids of intents are expanded unconditionally;
 * ids that cascades added only when their document would change (a diff
 * compares the build with the tv_* row). That stops post -> author -> all the
 * author's posts walks when nothing they embed changed, and still reaches rows
 * rebuilt from a newer state than their own intent's (whose old references that
 * intent's cascade could no longer find). Rounds repeat until no entity has ids
 * left unexpanded. The fields are read by the apply; only these functions
 * change them. */
typedef struct cascade_plan {
    batch *work;                  /* borrowed; cascades add ids to it */
    const cascade_edge *edges;    /* borrowed */
    size_t edge_count;
    const char **order;           /* owned array of borrowed names */
    size_t order_count;
    size_t order_index;           /* the entity being expanded */
    size_t edge_index;            /* its next edge to look at */
    int round;
    bool diffed;                  /* the changed ids of the current range are known */
    bool in_entity;               /* the current entity's range is fixed */
    bool range_diffless;          /* the range is intent ids: no diff, every edge */
    size_t range_from, range_to;  /* the current range of the entity's ids */
    intent_id *changed;           /* the range's ids whose document would change (in changed_text) ... */
    char ***changed_keys;         /* ... and per id the keys and nested paths that did (owned; NULL = all) */
    size_t changed_count, changed_capacity;
    char *changed_text;           /* the changed ids' text, each NUL-terminated, owned */
    size_t changed_text_length, changed_text_capacity;
    size_t *edge_ids;             /* cascade_plan_edge_ids' result: indexes into changed */
} cascade_plan;

/* A zeroed cascade_plan is ready for cascade_plan_start. */

/* Plans work's cascades: the order over the entities that have ids now, names
 * taken from names[] (the registry's: cascades grow work->entities, which
 * moves the batch's own names). Every id in work counts as an intent id.
 * Starts the first round. The plan borrows work, edges and names until the
 * next start or cascade_plan_free. */
void cascade_plan_start(cascade_plan *plan, batch *work, const cascade_edge *edges, size_t edge_count,
                        const char *const *names, size_t name_count);

/* Starts again from the first round (a transaction begun again): no entity has
 * had its cascades expanded. */
void cascade_plan_restart(cascade_plan *plan);

/* Advances the iteration. CASCADE_DIFF: diff *source's ids
 * [range_from, range_to), then report with cascade_plan_add_changed and
 * cascade_plan_set_diffed. CASCADE_QUERY: run *edge with the range's ids when
 * range_diffless, else with cascade_plan_edge_ids. */
cascade_action cascade_plan_next(cascade_plan *plan, batch_entity **source, size_t *edge);

/* The next edge of source after the last one returned that the current range
 * follows (its queries can go out together); false when none is left. */
bool cascade_plan_next_edge(cascade_plan *plan, const batch_entity *source, size_t *edge);

/* Fills plan->edge_ids with the indexes of the changed ids whose change edge
 * watches; returns how many. */
size_t cascade_plan_edge_ids(cascade_plan *plan, size_t edge);

/* The entity at order position k (after the current one) when its next range
 * is cascade-added ids only, which can be diffed ahead of its turn; NULL
 * otherwise. */
batch_entity *cascade_plan_diffable(const cascade_plan *plan, size_t k);

/* Whether entity (NULL: none yet) has no cascade-added ids waiting to be
 * diffed: the ids a cascade adds to it now are then its next range. */
bool cascade_plan_nothing_waiting(const batch_entity *entity);

/* The diff's findings for the current range: forget earlier ones (unless
 * appending to a diff of the range's start), add an id with the keys that
 * changed (keys owned by the plan from now on; NULL = every key), and say
 * whether the whole range is diffed. */
void cascade_plan_clear_changed(cascade_plan *plan);
void cascade_plan_add_changed(cascade_plan *plan, const char *id, size_t length, char **keys);
/* The text of changed id i (NUL-terminated; valid until the next add or clear). */
static inline const char *cascade_plan_changed_id(const cascade_plan *plan, size_t i)
{
    return plan->changed_text + plan->changed[i].offset;
}
void cascade_plan_set_diffed(cascade_plan *plan, bool diffed);

/* Releases what the plan owns; it is zeroed and may be started again. */
void cascade_plan_free(cascade_plan *plan);

#endif
