/* apply_cascade: the cascade step runs inside the batch's transaction, one
 * pipeline per source entity, so every document a diff builds shows the same
 * snapshot as the applies that follow. */
#include "config.h"

#include "cdc/apply_cascade.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/apply_internal.h"
#include "cdc/apply_sql.h"
#include "cdc/array_literal.h"
#include "common/alloc.h"
#include "common/log.h"

/* ---- id states ---------------------------------------------------------- */

int apply_cascade_id_state(const apply_engine *engine, size_t e, size_t i)
{
    return e < engine->current_entities && i < engine->current_capacity[e] ? engine->current[e][i] & ID_STATE_MASK
                                                                            : ID_BUILD;
}

static bool is_patched(const apply_engine *engine, size_t e, size_t i)
{
    return e < engine->current_entities && i < engine->current_capacity[e] && (engine->current[e][i] & ID_PATCHED);
}

/* Sets id i's state (value), or its ID_PATCHED flag (value ID_PATCHED): each
 * keeps the other. */
static void set_state(apply_engine *engine, size_t e, size_t i, unsigned char value)
{
    if (e >= engine->current_entities) {
        engine->current = alloc_array(engine->current, e + 1, sizeof *engine->current);
        engine->current_capacity = alloc_array(engine->current_capacity, e + 1, sizeof *engine->current_capacity);
        for (size_t k = engine->current_entities; k <= e; k++) {
            engine->current[k] = NULL;
            engine->current_capacity[k] = 0;
        }
        engine->current_entities = e + 1;
    }
    if (i >= engine->current_capacity[e]) {
        size_t capacity = engine->current_capacity[e] ? engine->current_capacity[e] : 64;
        while (capacity <= i)
            capacity *= 2;
        engine->current[e] = alloc_array(engine->current[e], capacity, 1);
        memset(engine->current[e] + engine->current_capacity[e], 0, capacity - engine->current_capacity[e]);
        engine->current_capacity[e] = capacity;
    }
    if (value == ID_PATCHED) {
        if (engine->current[e][i] & ID_PATCHED)
            return;
        if (e >= engine->patched_capacity) {
            size_t capacity = engine->current_entities;
            engine->patched = alloc_array(engine->patched, capacity, sizeof *engine->patched);
            memset(engine->patched + engine->patched_capacity, 0,
                   (capacity - engine->patched_capacity) * sizeof *engine->patched);
            engine->patched_capacity = capacity;
        }
        engine->patched[e]++;
        engine->current[e][i] |= ID_PATCHED;
        return;
    }
    engine->current[e][i] = (unsigned char) ((engine->current[e][i] & ID_PATCHED) | value);
}

void apply_cascade_reset_states(apply_engine *engine)
{
    for (size_t e = 0; e < engine->current_entities; e++)
        if (engine->current[e])
            memset(engine->current[e], ID_BUILD, engine->current_capacity[e]);
    if (engine->patched)
        memset(engine->patched, 0, engine->patched_capacity * sizeof *engine->patched);
}

void apply_cascade_forget_built(apply_engine *engine)
{
    for (size_t e = 0; e < engine->current_entities; e++)
        for (size_t i = 0; i < engine->current_capacity[e]; i++)
            if ((engine->current[e][i] & ID_STATE_MASK) == ID_BUILT)
                engine->current[e][i] = ID_BUILD;
}

/* ---- diffs ---------------------------------------------------------------- */

void apply_cascade_clear_ahead(apply_engine *engine)
{
    for (size_t i = 0; i < engine->ahead_count; i++)
        PQclear(engine->ahead[i].result);
    engine->ahead_count = engine->ahead_done = 0;
}

static void ahead_push(apply_engine *engine, size_t entity, size_t from, size_t to, PGresult *result)
{
    if (engine->ahead_count == engine->ahead_capacity) {
        engine->ahead_capacity = engine->ahead_capacity ? 2 * engine->ahead_capacity : 8;
        engine->ahead = alloc_array(engine->ahead, engine->ahead_capacity, sizeof *engine->ahead);
    }
    engine->ahead[engine->ahead_count++] = (ahead_diff){entity, from, to, result};
}

/* A copy of a diff's result that outlives its callback. */
static PGresult *keep_result(const PGresult *result)
{
    return alloc_check(PQcopyResult(result, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES));
}

static ahead_diff *ahead_find(apply_engine *engine, size_t entity, size_t from)
{
    for (size_t i = 0; i < engine->ahead_count; i++)
        if (engine->ahead[i].entity == entity && engine->ahead[i].from == from)
            return &engine->ahead[i];
    return NULL;
}

/* A range's diff: keeps the ids whose document would change (and the keys that
 * did), appended to those an earlier part of the range found when append; the
 * rest of [from, to) is current: no edge to follow, nothing to apply. */
static void take_diff(apply_engine *engine, size_t e, const PGresult *result, size_t from, size_t to, bool append)
{
    cascade_plan *plan = &engine->plan;
    int rows = PQntuples(result);
    if (!append)
        cascade_plan_clear_changed(plan);
    /* A diff along a cascade query also lists the query's ids (third column true). */
    bool flagged = PQnfields(result) > 2;
    for (int row = 0; row < rows; row++)
        if (!(flagged && strcmp(PQgetvalue(result, row, 2), "t") == 0) && !PQgetisnull(result, row, 0))
            cascade_plan_add_changed(plan, PQgetvalue(result, row, 0), (size_t) PQgetlength(result, row, 0),
                                     PQgetisnull(result, row, 1) ? NULL : array_literal_parse(PQgetvalue(result, row, 1)));
    cascade_plan_set_diffed(plan, true);
    batch_entity *source = &engine->work->entities[e];
    for (size_t i = from; i < to; i++)
        set_state(engine, e, i, ID_CURRENT);
    /* A diff only ever covers ids that cascades added, which the database
     * printed in the key's own form, as it prints the diff's: equal ids are
     * equal text. */
    for (size_t c = 0; c < plan->changed_count; c++) {
        size_t position = batch_entity_position(source, cascade_plan_changed_id(plan, c), plan->changed[c].length);
        if (position != SIZE_MAX)
            set_state(engine, e, position, engine->built_table ? ID_BUILT : ID_BUILD);
    }
    log_debug("apply: cascade round %d: %zu of %zu new ids would change", plan->round, plan->changed_count,
              plan->range_to - plan->range_from);
}

static void ahead_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    apply_engine *engine = arg;
    ahead_diff *ahead = &engine->ahead[engine->ahead_done++];
    if (outcome->connection_lost) {
        apply_connection_lost(engine, outcome->error);
        return;
    }
    if (!outcome->ok) {
        /* The transaction is aborted: the diff behind this one fails too and rolls
         * back; this is the error to report. */
        if (!engine->begin_error[0])
            snprintf(engine->begin_error, sizeof engine->begin_error, "%s", outcome->error);
        return;
    }
    engine->built_rows += (unsigned long) PQntuples(outcome->result);
    ahead->result = keep_result(outcome->result);
}

/* "{"id",...}" of entity's ids [from, to), in buffer. */
static const char *ids_literal_into(strbuf *buffer, const batch_entity *entity, size_t from, size_t to)
{
    array_literal_open(buffer);
    for (size_t i = from; i < to; i++)
        array_literal_add_text(buffer, batch_entity_id(entity, i), entity->ids[i].length);
    return array_literal_close(buffer);
}

/* The same in the engine's ids buffer. */
static const char *ids_literal(apply_engine *engine, const batch_entity *entity, size_t from, size_t to)
{
    return ids_literal_into(&engine->ids, entity, from, to);
}

/* The diff statement of registry entity r over the ids $1. */
static const char *diff_statement(apply_engine *engine, size_t r)
{
    return apply_sql_diff(&engine->sql, engine->reg->build_functions[r], engine->reg->tv_tables[r],
                          engine->reg->key_types[r], r, engine->built_table, engine->reg->nested_changed[r]);
}

/* Sends the diffs of the entities after the current one in the order whose next
 * range holds cascade-added ids only, unless one is out already; false when a
 * send failed. */
static bool send_ahead(apply_engine *engine)
{
    const cascade_plan *plan = &engine->plan;
    for (size_t k = plan->order_index + 1; k < plan->order_count; k++) {
        batch_entity *later = cascade_plan_diffable(plan, k);
        if (!later)
            continue;
        size_t e = (size_t) (later - engine->work->entities);
        size_t r = registry_index(engine->reg, later->name);
        if (r == engine->reg->entity_count || ahead_find(engine, e, later->expanded))
            continue;
        ahead_push(engine, e, later->expanded, later->id_count, NULL);
        const char *values[1] = {ids_literal(engine, later, later->expanded, later->id_count)};
        if (!apply_send(engine, diff_statement(engine, r), 1, values, ahead_cb))
            return false;
    }
    return true;
}

void apply_cascade_diff_done(apply_engine *engine, const PGresult *result)
{
    cascade_plan *plan = &engine->plan;
    if (plan->diffed)
        return;
    batch_entity *source = batch_find_entity(engine->work, plan->order[plan->order_index]);
    engine->built_rows += (unsigned long) PQntuples(result);
    if (source)
        take_diff(engine, (size_t) (source - engine->work->entities), result, engine->diff_from, plan->range_to,
                  engine->diff_append);
}

/* ---- cascade queries ---------------------------------------------------- */

/* After the group's last result: an error aborts the transaction, else the
 * iteration goes on. */
static void group_result_done(apply_engine *engine)
{
    if (engine->group_done < engine->group_count)
        return;
    if (engine->begin_error[0] || engine->tail_error[0]) {
        engine->patch_conflict = false;   /* a failure: retried as one */
        apply_transaction_failed(engine, engine->begin_error[0] ? engine->begin_error : engine->tail_error);
        return;
    }
    if (engine->patch_conflict) {
        /* Its patched document may miss what the other query's rows changed, and
         * the edges it was followed along with the patch's changed keys; so the
         * batch starts again with full builds. */
        log_debug("apply: a cascade reached a document patched along another; beginning again without patches");
        engine->patch_off = true;
        apply_transaction_failed(engine, "a cascade reached a document patched along another cascade");
        return;
    }
    apply_run_step(engine);
}

/* A cascade query's ids join the batch: every row's first column, or with
 * flag_column >= 0 the rows whose flag_column is true. */
static void take_cascade_ids(apply_engine *engine, size_t slot, const pg_pipeline_outcome *outcome, int flag_column)
{
    size_t edge = engine->group_edges[slot];
    if (!outcome->ok && !engine->tail_error[0])
        snprintf(engine->tail_error, sizeof engine->tail_error, "%s", outcome->error);
    group_slot *range = &engine->group_slots[slot];
    range->entity = SIZE_MAX;   /* until the query's ids are in */
    range->alone = false;
    range->from = range->to = 0;
    if (!outcome->ok || engine->begin_error[0])
        return;
    const char *target = engine->reg->edges[edge].target;
    batch_entity *entity = batch_find_entity(engine->work, target);
    size_t before = entity ? entity->id_count : 0;
    /* Nothing else waits to be diffed in the target: the iteration's next range
     * of it starts where these ids do. */
    range->alone = cascade_plan_nothing_waiting(entity);
    /* Ids of the target patched earlier in the transaction must not be reached again. */
    size_t e = entity ? (size_t) (entity - engine->work->entities) : SIZE_MAX;
    bool check = entity && e < engine->patched_capacity && engine->patched[e] > 0;
    int rows = PQntuples(outcome->result), added = 0;
    for (int row = 0; row < rows; row++) {
        if (flag_column >= 0 && strcmp(PQgetvalue(outcome->result, row, flag_column), "t") != 0)
            continue;
        added++;
        if (PQgetisnull(outcome->result, row, 0))
            continue;
        const char *id = PQgetvalue(outcome->result, row, 0);
        size_t length = (size_t) PQgetlength(outcome->result, row, 0);
        if (check) {
            size_t position = batch_entity_position(entity, id, length);
            if (position != SIZE_MAX && position < before && is_patched(engine, e, position))
                engine->patch_conflict = true;
        }
        batch_add_cascaded_id(engine->work, target, id, length);
    }
    log_debug("apply: cascade to %s: %d ids", target, added);
    entity = batch_find_entity(engine->work, target);
    if (entity) {
        range->entity = (size_t) (entity - engine->work->entities);
        range->from = before;
        range->to = entity->id_count;
    }
}

/* A cascade query's result: its ids join the batch. */
static void cascade_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    apply_engine *engine = arg;
    if (outcome->connection_lost) {
        apply_connection_lost(engine, outcome->error);
        return;
    }
    take_cascade_ids(engine, engine->group_done++, outcome, -1);
    group_result_done(engine);
}

/* A cascade query that ran inside a diff of its targets: its ids join the
 * batch; every id the diff found changed will take its document from
 * pg_temp.tvsync_built (so none of the rows it kept is left there), and when
 * the query's ids are exactly the target's next range, the iteration takes
 * the diff as that range's instead of sending one. */
static void along_query_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    apply_engine *engine = arg;
    if (outcome->connection_lost) {
        apply_connection_lost(engine, outcome->error);
        return;
    }
    size_t slot = engine->group_done++;
    take_cascade_ids(engine, slot, outcome, 2);
    const group_slot *range = &engine->group_slots[slot];
    if (outcome->ok && range->entity != SIZE_MAX && !engine->begin_error[0] && !engine->tail_error[0]) {
        batch_entity *target = &engine->work->entities[range->entity];
        int rows = PQntuples(outcome->result);
        for (int row = 0; row < rows; row++) {
            if (strcmp(PQgetvalue(outcome->result, row, 2), "t") == 0)
                continue;
            engine->built_rows++;
            if (PQgetisnull(outcome->result, row, 0))
                continue;
            size_t position = batch_entity_position(target, PQgetvalue(outcome->result, row, 0),
                                                    (size_t) PQgetlength(outcome->result, row, 0));
            if (position != SIZE_MAX && engine->built_table)
                set_state(engine, range->entity, position, ID_BUILT);
        }
        /* The query's new ids are those its diff patched (every id the batch
         * had was in $2, built whole). */
        if (range->patched)
            for (size_t i = range->from; i < range->to; i++)
                set_state(engine, range->entity, i, ID_PATCHED);
        if (range->alone && range->to > range->from && !ahead_find(engine, range->entity, range->from)) {
            ahead_push(engine, range->entity, range->from, range->to, keep_result(outcome->result));
            engine->ahead_done = engine->ahead_count;   /* arrived with it: nothing in flight */
            log_debug("apply: the diff along the cascade to %s is the diff of its next %zu ids", target->name,
                      range->to - range->from);
        } else if (range->to > range->from) {
            log_debug("apply: the diff along the cascade to %s is not its next range's; that is diffed later",
                      target->name);
        }
    }
    group_result_done(engine);
}

/* The ids a cascade query of source runs with: the range's ids (intent ids),
 * or the changed ids whose change the edge watches. */
static const char *edge_values(apply_engine *engine, const batch_entity *source, size_t edge)
{
    cascade_plan *plan = &engine->plan;
    if (plan->range_diffless)
        return ids_literal(engine, source, plan->range_from, plan->range_to);
    size_t count = cascade_plan_edge_ids(plan, edge);
    array_literal_open(&engine->ids);
    for (size_t i = 0; i < count; i++)
        array_literal_add_text(&engine->ids, cascade_plan_changed_id(plan, plan->edge_ids[i]),
                               plan->changed[plan->edge_ids[i]].length);
    return array_literal_close(&engine->ids);
}

/* A cascade query of source along edge, in a group: inside a diff of its
 * targets when the target has nothing else waiting to be diffed (the ids a
 * cascade adds are always diffed next, and this way the diff is back with
 * them: along_query_cb), else alone (cascade_cb); a target with other ids
 * waiting would have them diffed twice. false when the send failed. */
static bool send_cascade_query(apply_engine *engine, const batch_entity *source, size_t edge)
{
    const registry *reg = engine->reg;
    size_t slot = engine->group_count++;
    engine->group_edges[slot] = edge;
    const char *target = reg->edges[edge].target;
    size_t r = registry_index(reg, target);
    const batch_entity *target_entity = batch_find_entity(engine->work, target);
    const char *values[2] = {edge_values(engine, source, edge), NULL};
    group_slot *range = &engine->group_slots[slot];
    range->along = r < reg->entity_count && cascade_plan_nothing_waiting(target_entity);
    /* Along an edge with a patch function, the target's ids the batch has
     * already (its intent ids, ids other queries reached) are built whole: their
     * documents may have changed in more than the query's source rows. The
     * query's other ids are patched; another query reaching one of them later
     * begins the transaction again (take_cascade_ids). */
    const char *patch = range->along && !engine->patch_off ? reg->patches[edge] : NULL;
    range->patched = patch != NULL;
    if (patch)
        values[1] = target_entity ? ids_literal_into(&engine->built_ids, target_entity, 0, target_entity->id_count)
                                  : "{}";
    if (range->along)
        return apply_send(engine,
                          apply_sql_diff_along(&engine->sql, reg->queries[edge], reg->build_functions[r],
                                               reg->tv_tables[r], reg->key_types[r], r, engine->built_table,
                                               reg->nested_changed[r], patch,
                                               reg->key_types[registry_index(reg, source->name)],
                                               engine->patch_min_bytes),
                          patch ? 2 : 1, values, along_query_cb);
    if (r < reg->entity_count)
        return apply_send(engine, apply_sql_cascade_query(&engine->sql, reg->queries[edge], reg->key_types[r]), 1,
                          values, cascade_cb);
    return apply_send(engine, reg->queries[edge], 1, values, cascade_cb);
}

/* ---- the step ----------------------------------------------------------- */

bool apply_cascade_send(apply_engine *engine, bool *sent)
{
    cascade_plan *plan = &engine->plan;
    batch *work = engine->work;
    batch_entity *source = NULL;
    size_t edge = 0;
    *sent = false;
    cascade_action action = cascade_plan_next(plan, &source, &edge);
    while (action == CASCADE_DIFF) {
        /* A diff sent ahead covers the range, or its start. */
        size_t e = (size_t) (source - work->entities);
        ahead_diff *ahead = ahead_find(engine, e, plan->range_from);
        engine->diff_from = plan->range_from;
        engine->diff_append = false;
        if (!ahead || !ahead->result)
            break;
        size_t to = ahead->to < plan->range_to ? ahead->to : plan->range_to;
        take_diff(engine, e, ahead->result, plan->range_from, to, false);
        PQclear(ahead->result);
        ahead->result = NULL;
        ahead->from = SIZE_MAX;   /* taken */
        if (to == plan->range_to) {
            action = cascade_plan_next(plan, &source, &edge);
            continue;
        }
        cascade_plan_set_diffed(plan, false);   /* the rest of the range still */
        engine->diff_from = to;
        engine->diff_append = true;
        break;
    }
    if (action == CASCADE_DIFF) {
        size_t r = registry_index(engine->reg, source->name);
        if (r == engine->reg->entity_count) {
            /* not in the batch's registry (never, as the daemon reads and applies a
             * batch with one registry): tvsync.entity_row says so */
            const char *values[1] = {source->name};
            *sent = apply_send_step(engine, "SELECT NULL::text FROM tvsync.entity_row($1)", 1, values);
            return true;
        }
        if (!send_ahead(engine))
            return true;
        const char *values[1] = {ids_literal(engine, source, engine->diff_from, plan->range_to)};
        *sent = apply_send_step(engine, diff_statement(engine, r), 1, values);
        return true;
    }
    if (action == CASCADE_QUERY) {
        /* This edge and the entity's other edges that apply: their queries do
         * not depend on each other, so one pipeline. */
        engine->group_count = engine->group_done = 0;
        do
            *sent = send_cascade_query(engine, source, edge);
        while (*sent && cascade_plan_next_edge(plan, source, &edge));
        return true;
    }
    return false;
}

void apply_cascade_free(apply_engine *engine)
{
    cascade_plan_free(&engine->plan);
    apply_cascade_clear_ahead(engine);
    free(engine->ahead);
    free(engine->group_edges);
    free(engine->group_slots);
    for (size_t e = 0; e < engine->current_entities; e++)
        free(engine->current[e]);
    free(engine->current);
    free(engine->current_capacity);
    free(engine->patched);
}
