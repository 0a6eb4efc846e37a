/* apply: the per-batch local transaction as a chain of non-blocking queries,
 * with bounded retries and bisection so one bad row never stalls the slot. */
#include "config.h"

#include "cdc/apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "cdc/cascade.h"
#include "common/log.h"

/* What tvsync.cdc_check_visible (migration 039) raises when the transaction's
 * snapshot does not see a source transaction yet. */
#define APPLY_NOT_VISIBLE_SQLSTATE "TVS02"

typedef enum apply_step {
    STEP_BEGIN,
    STEP_CASCADE,
    STEP_APPLY,      /* the tail: applies, notes, progress and COMMIT, pipelined */
    STEP_ROLLBACK,
} apply_step;

/* What a pipelined statement of the transaction's tail is, so its result can be
 * read when it arrives (results come back in the order they were sent). */
typedef enum tail_kind {
    TAIL_APPLY,
    TAIL_NOTE,
    TAIL_FINAL,
    TAIL_COMMIT,
} tail_kind;

typedef struct tail_tag {
    tail_kind kind;
    size_t index;             /* TAIL_APPLY: entity; TAIL_NOTE: note */
} tail_tag;

/* A cascade query of the group in flight: the ids it added to its target (the
 * range [from, to) of the target's ids), whether the target had no other
 * cascade-added ids waiting (so the iteration will diff exactly that range
 * next), and whether the query went inside a diff of its targets (along). */
typedef struct group_slot {
    size_t entity, from, to;
    bool alone;
    bool along;
} group_slot;

/* A range of the batch's (entity, id) pairs, numbered entity by entity. */
typedef struct pair_range {
    size_t from, to;
} pair_range;

struct apply_engine {
    struct event_base *base;
    pg_pipeline *conn;
    int max_retries;
    struct event *retry_timer;

    bool busy;
    batch *work;
    const registry *reg;
    apply_done_cb done;
    void *done_arg;
    apply_outcome outcome;
    struct timespec started;

    apply_step step;
    bool bisecting;           /* applying ranges without progress, then the final transaction */
    bool final_only;          /* the final transaction: notes + progress, no apply */
    pair_range range;         /* pairs applied by this transaction */
    pair_range *stack;        /* bisection: ranges still to try */
    size_t stack_count, stack_capacity;

    /* cascade iteration: the ids of intents are expanded unconditionally; ids that
     * cascades added only when their document would change (a build compared
     * with the tv_* row). That stops post -> author -> all the author's posts
     * walks when nothing they embed changed, and still reaches rows rebuilt from
     * a newer state than their own intent's (whose old references that intent's
     * cascade could no longer find). Rounds repeat until no entity has ids left
     * unexpanded. */
    const char **order;
    size_t order_count;
    size_t order_index;
    size_t edge_index;
    int round;
    bool diffed;              /* later rounds: the changed ids of the current entity are known */
    bool in_entity;           /* the current entity's range is fixed */
    bool range_diffless;      /* the current range is intent ids: no diff */
    size_t range_from, range_to;
    intent_uuid *changed;
    char ***changed_keys;     /* per changed id: the document keys that changed; NULL = all */
    size_t changed_count, changed_capacity;
    intent_uuid *edge_ids;    /* the changed ids one edge watches */
    /* Per batch entity, per id: what the apply does with it (ID_BUILD, ID_CURRENT:
     * a diff found the build equal to the tv_* document, nothing to do; ID_BUILT:
     * take the document a diff kept). */
    unsigned char **current;
    size_t *current_capacity;
    size_t current_entities;
    char diff_sql[1280];
    char diff_tail[640];
    size_t diff_from;         /* the diff in flight covers [diff_from, range_to) */
    bool diff_append;         /* ... after a diff sent ahead covered the rest */
    /* Diffs of ranges the iteration has not reached yet: sent ahead with the
     * current one, for the later entities of the order whose cascade-added ids are
     * already known, or the diff a cascade query that added the ids ran inside. Taken when
     * the iteration reaches the range (it may have grown since: the rest is diffed
     * then). */
    struct ahead_diff *ahead;
    size_t ahead_count, ahead_capacity, ahead_done;
    bool built_table;         /* the session has pg_temp.tvsync_built */
    unsigned long built_transactions;   /* since the last TRUNCATE of it */
    unsigned long built_rows;           /* rows diffs kept in it since then (at most) */
    bool tail_piped;          /* progress and COMMIT went out behind the applies */
    double begin_sent_ms;     /* since started, when the last BEGIN was sent */
    char apply_sql[2048];
    char *along_sql;          /* a diff along a cascade query (its text included) */
    size_t along_sql_capacity;
    /* apply iteration */
    size_t entity_index;

    /* The tail (applies, notes, progress, COMMIT) is sent as one pipeline: the
     * tags of the statements in flight, and the first error among them. */
    tail_tag *tail;
    size_t tail_head, tail_count, tail_capacity;
    char tail_error[512];
    /* The cascade queries in flight (one source entity's edges), in order. */
    size_t *group_edges;
    size_t group_count, group_done;
    /* Per query of the group: the target entity's ids it added, and whether it
     * ran inside a diff of its targets. */
    struct group_slot *group_slots;
    long tail_dead_letters;
    struct event *kick;       /* sends BEGIN and the first step from the loop */
    /* The visibility check (the transaction's first statement) found a source
     * transaction its snapshot does not see: roll back, then wait_first. */
    bool not_visible;
    bool wait_first;          /* the next BEGIN goes behind tvsync.cdc_wait_visible */
    /* BEGIN is pipelined with the statements after it: its error, if any. */
    char begin_error[512];

    char *text;               /* the current array parameter */
    size_t text_capacity;

    /* rebuild chunk */
    apply_chunk_cb chunk_done;
    void *chunk_arg;
    char chunk_entity[INTENT_ENTITY_MAX + 1];
    bool chunk_finished;
    long chunk_upserted, chunk_deleted;
    char chunk_last_id[INTENT_UUID_TEXT_SIZE];
};

static void run_step(apply_engine *engine);
static bool step_send(apply_engine *engine);
static void step_done_cb(void *arg, const pg_pipeline_outcome *outcome);
static void tail_cb(void *arg, const pg_pipeline_outcome *outcome);
static void cascade_cb(void *arg, const pg_pipeline_outcome *outcome);
static void along_query_cb(void *arg, const pg_pipeline_outcome *outcome);
static void transaction_failed(apply_engine *engine, const char *error);
static void bisect_next(apply_engine *engine);
static void ahead_clear(apply_engine *engine);

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double) (now.tv_sec - start->tv_sec) + (double) (now.tv_nsec - start->tv_nsec) / 1e9;
}

static void text_reserve(apply_engine *engine, size_t needed)
{
    if (needed <= engine->text_capacity)
        return;
    size_t capacity = engine->text_capacity ? engine->text_capacity : 4096;
    while (capacity < needed)
        capacity *= 2;
    engine->text = alloc_array(engine->text, capacity, 1);
    engine->text_capacity = capacity;
}

/* pg_temp.tvsync_built is truncated before a batch once this many transactions,
 * or this many documents kept by diffs, went through it since the last time: the
 * applies delete the rows they take, and the dead rows of a temporary table are
 * never vacuumed. Its statements find rows through its index (the apply
 * connection plans no sequential scan where an index serves), but dead rows
 * still slow them; a truncation costs 0.7 ms and a new plan for each statement
 * that uses the table. (At 1,000 intents/s of the tvsync-cdc benchmark, 8,192
 * rows gave an apply p50 of 1.7-1.8 ms, 1,024 rows 1.3 ms.) */
#define APPLY_BUILT_TRUNCATE_EVERY 1000
#define APPLY_BUILT_TRUNCATE_ROWS 1024

/* What the apply does with an id: build it, nothing (a diff found its document
 * current), or take the document its diff built (kept in pg_temp.tvsync_built). */
enum { ID_BUILD = 0, ID_CURRENT = 1, ID_BUILT = 2 };

static int id_state(const apply_engine *engine, size_t e, size_t i)
{
    return e < engine->current_entities && i < engine->current_capacity[e] ? engine->current[e][i] : ID_BUILD;
}

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
    engine->current[e][i] = value;
}

static void current_clear(apply_engine *engine)
{
    for (size_t e = 0; e < engine->current_entities; e++)
        if (engine->current[e])
            memset(engine->current[e], ID_BUILD, engine->current_capacity[e]);
}

/* The documents the diffs built went with the rolled-back transaction. */
static void built_forget(apply_engine *engine)
{
    for (size_t e = 0; e < engine->current_entities; e++)
        for (size_t i = 0; i < engine->current_capacity[e]; i++)
            if (engine->current[e][i] == ID_BUILT)
                engine->current[e][i] = ID_BUILD;
}

/* "{uuid,...}" of the entity's ids [from, to) in the given state; *count gets
 * how many. */
static const char *ids_array(apply_engine *engine, size_t e, size_t from, size_t to, int state, size_t *count)
{
    const batch_entity *entity = &engine->work->entities[e];
    text_reserve(engine, 3 + (to - from) * INTENT_UUID_TEXT_SIZE);
    char *p = engine->text;
    *p++ = '{';
    *count = 0;
    for (size_t i = from; i < to; i++) {
        if (id_state(engine, e, i) != state)
            continue;
        if ((*count)++ > 0)
            *p++ = ',';
        intent_uuid_format(&entity->ids[i], p);
        p += INTENT_UUID_TEXT_SIZE - 1;
    }
    *p++ = '}';
    *p = '\0';
    return engine->text;
}

/* "{xid,xid,...}" of the batch's source transactions. */
static const char *xids_array(apply_engine *engine, const batch *work)
{
    text_reserve(engine, 3 + work->xid_count * 11);
    char *p = engine->text;
    *p++ = '{';
    for (size_t i = 0; i < work->xid_count; i++)
        p += sprintf(p, "%s%u", i ? "," : "", (unsigned) work->xids[i]);
    *p++ = '}';
    *p = '\0';
    return engine->text;
}

/* A PostgreSQL array literal element, quoted; NULL for a NULL element. */
static void append_element(char **buffer, size_t *length, size_t *capacity, const char *value)
{
    size_t needed = *length + (value ? 2 * strlen(value) : 4) + 4;
    if (needed > *capacity) {
        while (*capacity < needed)
            *capacity = *capacity ? *capacity * 2 : 256;
        *buffer = alloc_array(*buffer, *capacity, 1);
    }
    char *p = *buffer + *length;
    if (*length > 1)
        *p++ = ',';
    if (!value) {
        memcpy(p, "NULL", 4);
        p += 4;
    } else {
        *p++ = '"';
        for (const char *s = value; *s; s++) {
            if (*s == '"' || *s == '\\')
                *p++ = '\\';
            *p++ = *s;
        }
        *p++ = '"';
    }
    *p = '\0';
    *length = (size_t) (p - *buffer);
}

typedef struct text_array {
    char *text;
    size_t length, capacity;
} text_array;

static void array_open(text_array *array)
{
    array->capacity = 256;
    array->text = alloc_malloc(array->capacity);
    array->text[0] = '{';
    array->text[1] = '\0';
    array->length = 1;
}

static void array_add(text_array *array, const char *value)
{
    append_element(&array->text, &array->length, &array->capacity, value);
}

static const char *array_close(text_array *array)
{
    if (array->length + 2 > array->capacity) {
        array->capacity = array->length + 2;
        array->text = alloc_array(array->text, array->capacity, 1);
    }
    array->text[array->length++] = '}';
    array->text[array->length] = '\0';
    return array->text;
}

/* Pairs numbered entity by entity: position of entity index e's first pair. */
static size_t entity_first_pair(const batch *work, size_t e)
{
    size_t first = 0;
    for (size_t i = 0; i < e; i++)
        first += work->entities[i].id_count;
    return first;
}

static bool send_query_to(apply_engine *engine, const char *sql, int count, const char *const *values,
                          pg_pipeline_cb callback)
{
    if (log_get_level() >= LOG_LEVEL_DEBUG)
        log_debug("apply: step %d: %.60s [%s%s]", (int) engine->step, sql, count > 0 ? values[0] : "",
                  count > 1 ? ", ..." : "");
    /* Statements with parameters are the ones the apply loop runs again and
     * again: prepared once per connection, so they are not planned per batch. */
    bool sent = count > 0 ? pg_pipeline_send_prepared(engine->conn, sql, count, values, callback, engine)
                          : pg_pipeline_send(engine->conn, sql, count, values, callback, engine);
    if (sent)
        return true;
    /* The send failed: the connection is unusable. */
    engine->outcome.connection_lost = true;
    snprintf(engine->outcome.error, sizeof engine->outcome.error, "cannot send to the apply connection");
    return false;
}

static bool send_query(apply_engine *engine, const char *sql, int count, const char *const *values)
{
    return send_query_to(engine, sql, count, values, step_done_cb);
}

/* The statements a step sends go out together with one sync point: they all
 * run inside the transaction block, where an error aborts the block anyway,
 * and the server then answers them in one write instead of one per statement. */
static void group_open(apply_engine *engine)
{
    pg_pipeline_defer_sync(engine->conn);
}

/* Closes the group; sent is whether its statements went out. false when they
 * did not, or the sync point could not be sent: the connection is unusable. */
static bool group_send(apply_engine *engine, bool sent)
{
    if (pg_pipeline_sync(engine->conn))
        return sent;
    engine->outcome.connection_lost = true;
    snprintf(engine->outcome.error, sizeof engine->outcome.error, "cannot send to the apply connection");
    return false;
}

static void finish(apply_engine *engine)
{
    engine->busy = false;
    engine->outcome.duration_seconds = seconds_since(&engine->started);
    free(engine->order);
    engine->order = NULL;
    ahead_clear(engine);
    engine->stack_count = 0;
    apply_done_cb done = engine->done;
    void *arg = engine->done_arg;
    engine->done = NULL;
    done(arg, &engine->outcome);
}

/* The apply connection is gone: pg_pipeline called back only the oldest query of
 * the pipeline, so nothing else is in flight. */
static void connection_lost(apply_engine *engine, const char *error)
{
    engine->tail_count = engine->tail_head = 0;
    engine->group_count = engine->group_done = 0;
    engine->outcome.connection_lost = true;
    snprintf(engine->outcome.error, sizeof engine->outcome.error, "%s", error);
    finish(engine);
}

static void begin_done_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    apply_engine *engine = arg;
    if (outcome->connection_lost) {
        connection_lost(engine, outcome->error);
        return;
    }
    if (!outcome->ok)
        snprintf(engine->begin_error, sizeof engine->begin_error, "%s", outcome->error);
}

/* The batch's source transactions must be visible to the transaction's
 * snapshot (a transaction can reach the slot a moment before it leaves the
 * proc array). */
static bool needs_visibility(const apply_engine *engine)
{
    return engine->work->xid_count > 0 && !engine->final_only;
}

/* The visibility wait, before the transaction, in its own: it returns once
 * the sources are visible, and the backend runs what is pipelined behind it
 * only then. Sent only after the check failed (wait_first). false when a send
 * failed. */
static bool send_visibility_wait(apply_engine *engine)
{
    return send_query_to(engine, "SELECT tvsync.cdc_wait_visible($1::bigint[])", 1,
                         (const char *const[]){xids_array(engine, engine->work)}, begin_done_cb);
}

static void check_done_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    apply_engine *engine = arg;
    if (!outcome->connection_lost && !outcome->ok && strcmp(outcome->sqlstate, APPLY_NOT_VISIBLE_SQLSTATE) == 0)
        engine->not_visible = true;
    begin_done_cb(arg, outcome);
}

/* The visibility check, the first statement after BEGIN: it raises (and so
 * aborts the transaction) when the snapshot does not see a source. false when
 * a send failed. */
static bool send_visibility_check(apply_engine *engine)
{
    return send_query_to(engine, "SELECT tvsync.cdc_check_visible($1::bigint[])", 1,
                         (const char *const[]){xids_array(engine, engine->work)}, check_done_cb);
}

/* BEGIN and at once the transaction's first statements behind it, sharing its
 * sync point (their callbacks learn whether BEGIN failed). false when a send
 * failed. */
static bool send_begin_group(apply_engine *engine, bool check)
{
    /* One snapshot for the whole batch: every document it builds, in a diff or
     * in an apply, shows the same state. (With a snapshot per statement a row
     * diffed early could miss a delete that a later statement of the batch saw
     * and acted on, and nothing later would reach it again.) */
    engine->tail_piped = false;
    engine->begin_sent_ms = seconds_since(&engine->started) * 1000.0;
    group_open(engine);
    bool sent = send_query_to(engine, "BEGIN ISOLATION LEVEL REPEATABLE READ", 0, NULL, begin_done_cb);
    /* The applies delete the documents they take; the dead rows of a temporary
     * table are not vacuumed: now and then the table starts afresh. */
    if (sent && engine->built_table &&
        (++engine->built_transactions >= APPLY_BUILT_TRUNCATE_EVERY || engine->built_rows >= APPLY_BUILT_TRUNCATE_ROWS)) {
        engine->built_transactions = engine->built_rows = 0;
        sent = send_query_to(engine, "TRUNCATE pg_temp.tvsync_built", 0, NULL, begin_done_cb);
    }
    if (sent && check)
        sent = send_visibility_check(engine);
    if (sent) {
        engine->step = STEP_BEGIN;
        sent = step_send(engine);
    }
    return group_send(engine, sent);
}

static bool send_begin(apply_engine *engine)
{
    engine->begin_error[0] = '\0';
    engine->tail_count = engine->tail_head = 0;
    engine->tail_error[0] = '\0';
    engine->not_visible = false;
    if (engine->wait_first && needs_visibility(engine)) {
        engine->wait_first = false;
        return send_visibility_wait(engine) && send_begin_group(engine, false);
    }
    return send_begin_group(engine, needs_visibility(engine));
}

static void begin_transaction(apply_engine *engine)
{
    if (!engine->bisecting && !engine->final_only)
        current_clear(engine);   /* the diffs run again */
    else
        built_forget(engine);
    ahead_clear(engine);
    engine->step = STEP_BEGIN;
    engine->order_index = engine->edge_index = 0;
    engine->in_entity = false;
    engine->round = 0;
    for (size_t i = 0; i < engine->work->entity_count; i++)
        engine->work->entities[i].expanded = 0;
    engine->entity_index = 0;
    if (!send_begin(engine))
        finish(engine);
}

#define CASCADE_MAX_ROUNDS 16

/* What the cascade iteration wants next. */
typedef enum cascade_action {
    CASCADE_DONE,
    CASCADE_QUERY,    /* run edge with the entity's ids (round 0) or changed ids */
    CASCADE_DIFF,     /* later round: find which new ids would change */
} cascade_action;

static bool entity_has_edges(const registry *reg, const char *name)
{
    for (size_t e = 0; e < reg->cascade_count; e++)
        if (strcmp(reg->edges[e].source, name) == 0)
            return true;
    return false;
}

static void changed_clear(apply_engine *engine)
{
    for (size_t i = 0; i < engine->changed_count; i++)
        registry_keys_free(engine->changed_keys[i]);
    engine->changed_count = 0;
}

/* Fills engine->edge_ids with the changed ids whose change the edge watches;
 * returns how many. */
static size_t edge_ids(apply_engine *engine, size_t edge)
{
    size_t count = 0;
    for (size_t i = 0; i < engine->changed_count; i++)
        if (registry_edge_watches(engine->reg, edge, (const char *const *) engine->changed_keys[i]))
            engine->edge_ids[count++] = engine->changed[i];
    return count;
}

/* The next edge of source, from engine->edge_index on, that the current range
 * follows (as next_cascade would pick it); false when none is left. */
static bool next_edge_of(apply_engine *engine, const batch_entity *source, size_t *edge)
{
    const registry *reg = engine->reg;
    for (size_t e = engine->edge_index; e < reg->cascade_count; e++)
        if (strcmp(reg->edges[e].source, source->name) == 0 &&
            (engine->range_diffless || edge_ids(engine, e) > 0)) {
            *edge = e;
            return true;
        }
    return false;
}

/* Advances the cascade iteration. */
static cascade_action next_cascade(apply_engine *engine, batch_entity **source, size_t *edge)
{
    const registry *reg = engine->reg;
    for (;;) {
        for (; engine->order_index < engine->order_count; engine->order_index++) {
            batch_entity *entity = batch_find_entity(engine->work, engine->order[engine->order_index]);
            if (!entity || !entity_has_edges(reg, entity->name)) {
                if (entity)
                    entity->expanded = entity->id_count;
                continue;
            }
            if (!engine->in_entity) {
                /* Entering this entity: fix the range of ids to expand. */
                if (entity->expanded >= entity->id_count)
                    continue;
                engine->in_entity = true;
                engine->range_from = entity->expanded;
                /* intent ids first, unconditionally; cascade-added ones through the diff */
                engine->diffed = entity->expanded < entity->intent_ids;
                engine->range_diffless = engine->diffed;
                engine->range_to = engine->diffed ? entity->intent_ids : entity->id_count;
                engine->edge_index = 0;
            }
            if (!engine->diffed) {
                *source = entity;
                return CASCADE_DIFF;
            }
            for (; engine->edge_index < reg->cascade_count; engine->edge_index++) {
                if (strcmp(reg->edges[engine->edge_index].source, entity->name) == 0 &&
                    (engine->range_diffless || edge_ids(engine, engine->edge_index) > 0)) {
                    *source = entity;
                    *edge = engine->edge_index++;
                    return CASCADE_QUERY;
                }
            }
            entity->expanded = engine->range_to;
            engine->edge_index = 0;
            engine->in_entity = false;
        }
        /* End of a round: another one when some entity got ids after its turn. */
        bool late = false;
        for (size_t i = 0; i < engine->work->entity_count; i++)
            if (engine->work->entities[i].expanded < engine->work->entities[i].id_count &&
                entity_has_edges(reg, engine->work->entities[i].name))
                late = true;
        if (!late)
            return CASCADE_DONE;
        if (++engine->round >= CASCADE_MAX_ROUNDS) {
            log_warning("apply: cascades still growing after %d rounds; applying what was found", CASCADE_MAX_ROUNDS);
            return CASCADE_DONE;
        }
        engine->order_index = 0;
        engine->edge_index = 0;
        engine->in_entity = false;
    }
}

/* "{uuid,...}" of an array of ids. */
static const char *uuid_list(apply_engine *engine, const intent_uuid *ids, size_t count)
{
    text_reserve(engine, 3 + count * INTENT_UUID_TEXT_SIZE);
    char *p = engine->text;
    *p++ = '{';
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            *p++ = ',';
        intent_uuid_format(&ids[i], p);
        p += INTENT_UUID_TEXT_SIZE - 1;
    }
    *p++ = '}';
    *p = '\0';
    return engine->text;
}

/* Next entity with pairs inside engine->range; false when done. */
static bool next_apply(apply_engine *engine, size_t *entity_index, size_t *from, size_t *to)
{
    batch *work = engine->work;
    for (; engine->entity_index < work->entity_count; engine->entity_index++) {
        const batch_entity *entity = &work->entities[engine->entity_index];
        size_t first = entity_first_pair(work, engine->entity_index);
        size_t lo = engine->range.from > first ? engine->range.from - first : 0;
        size_t hi = engine->range.to - first < entity->id_count ? engine->range.to - first : entity->id_count;
        if (engine->range.to <= first || lo >= hi)
            continue;
        *entity_index = engine->entity_index++;
        *from = lo;
        *to = hi;
        return true;
    }
    return false;
}

static bool send_final(apply_engine *engine)
{
    batch *work = engine->work;
    text_array names, intents, upserted, deleted, success, errors;
    array_open(&names);
    array_open(&intents);
    array_open(&upserted);
    array_open(&deleted);
    array_open(&success);
    array_open(&errors);
    for (size_t i = 0; i < work->entity_count; i++) {
        const batch_entity *entity = &work->entities[i];
        if (entity->intents == 0 && entity->id_count == 0)
            continue;
        char number[32];
        array_add(&names, entity->name);
        snprintf(number, sizeof number, "%ld", entity->intents);
        array_add(&intents, number);
        /* Piped behind the applies, before their counts are back ($3 is then
         * the registry index: each apply leaves its counts in the setting
         * tvsync.count_<registry index>, and $4 is not read). */
        if (engine->tail_piped)
            snprintf(number, sizeof number, "%zu", registry_index(engine->reg, entity->name));
        else
            snprintf(number, sizeof number, "%ld", entity->upserted);
        array_add(&upserted, number);
        snprintf(number, sizeof number, "%ld", entity->deleted);
        array_add(&deleted, number);
        array_add(&success, entity->failed ? "f" : "t");
        array_add(&errors, entity->error);
    }
    char lsn_text[LSN_FORMAT_SIZE], duration[32];
    lsn_format(work->progress_lsn, lsn_text);
    /* Piped, the duration is the time until BEGIN was sent plus the transaction's own. */
    snprintf(duration, sizeof duration, "%.3f",
             engine->tail_piped ? engine->begin_sent_ms : seconds_since(&engine->started) * 1000.0);
    const char *values[9] = {
        array_close(&names), array_close(&intents), array_close(&upserted), array_close(&deleted),
        duration, lsn_text, array_close(&success), array_close(&errors),
        work->progress_time[0] ? work->progress_time : NULL,
    };
    static const char sql[] =
        "WITH logged AS (INSERT INTO tvsync.sync_log "
        "(entity, intents, rows_upserted, rows_deleted, duration_ms, success, error, source_lsn) "
        "SELECT e, i, u, d, $5::float8, ok, err, $6::pg_lsn "
        "FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $7::bool[], $8::text[]) AS t(e, i, u, d, ok, err) "
        "RETURNING 1) "
        "SELECT pg_replication_origin_xact_setup($6::pg_lsn, coalesce($9::timestamptz, now())), "
        "pg_notify('tvsync_applied', $6::text), (SELECT count(*) FROM logged)";
    static const char piped_sql[] =
        "WITH logged AS (INSERT INTO tvsync.sync_log "
        "(entity, intents, rows_upserted, rows_deleted, duration_ms, success, error, source_lsn) "
        "SELECT t.e, t.i, coalesce(split_part(c.v, ' ', 1)::bigint, 0), coalesce(split_part(c.v, ' ', 2)::bigint, 0), "
        "$5::float8 + 1000 * extract(epoch FROM clock_timestamp() - transaction_timestamp()), t.ok, t.err, $6::pg_lsn "
        "FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $7::bool[], $8::text[]) AS t(e, i, r, z, ok, err) "
        "CROSS JOIN LATERAL (SELECT nullif(current_setting('tvsync.count_' || t.r, true), '') AS v) AS c "
        "RETURNING 1) "
        "SELECT pg_replication_origin_xact_setup($6::pg_lsn, coalesce($9::timestamptz, now())), "
        "pg_notify('tvsync_applied', $6::text), (SELECT count(*) FROM logged)";
    bool sent = send_query_to(engine, engine->tail_piped ? piped_sql : sql, 9, values, tail_cb);
    free(names.text);
    free(intents.text);
    free(upserted.text);
    free(deleted.text);
    free(success.text);
    free(errors.text);
    return sent;
}

static void tail_push(apply_engine *engine, tail_kind kind, size_t index)
{
    if (engine->tail_count == engine->tail_capacity) {
        size_t capacity = engine->tail_capacity ? 2 * engine->tail_capacity : 16;
        tail_tag *tail = alloc_calloc(capacity, sizeof *tail);
        for (size_t i = 0; i < engine->tail_count; i++)
            tail[i] = engine->tail[(engine->tail_head + i) % engine->tail_capacity];
        free(engine->tail);
        engine->tail = tail;
        engine->tail_head = 0;
        engine->tail_capacity = capacity;
    }
    engine->tail[(engine->tail_head + engine->tail_count++) % engine->tail_capacity] = (tail_tag){kind, index};
}

/* One apply statement: the entity's build over ids, upserting the changed
 * documents and deleting the rows of ids it no longer returns. */
static bool send_apply(apply_engine *engine, size_t e, size_t from, size_t to)
{
    batch *work = engine->work;
    size_t r = registry_index(engine->reg, work->entities[e].name);
    size_t count, built_count;
    char *ids = alloc_strdup(ids_array(engine, e, from, to, ID_BUILD, &count));
    const char *built = ids_array(engine, e, from, to, ID_BUILT, &built_count);
    bool sent = true;
    if (count + built_count == 0) {
        /* every one of them is current */
    } else if (r == engine->reg->entity_count) {
        /* gone from the registry since the intent was read (a reload):
         * tvsync.apply says so, and the batch fails like any build error */
        tail_push(engine, TAIL_APPLY, e);
        const char *values[2] = {work->entities[e].name, ids};
        sent = send_query_to(engine, "SELECT upserted, deleted FROM tvsync.apply($1, $2::uuid[])", 2, values, tail_cb);
    } else {
        /* tvsync.apply(entity, ids) inlined, so that it is planned once per
         * connection (tvsync.apply's EXECUTE plans on every call); keep the two
         * in step. The ids to build, and the ids whose diff built their document
         * (or found it gone) in this transaction, which it takes from
         * pg_temp.tvsync_built. A statement has only the parts it needs: each
         * relation in its plan is locked and opened on every execution, and the
         * build's relations are most of them. */
        tail_push(engine, TAIL_APPLY, e);
        bool build = count > 0, take = built_count > 0;
        /* Each apply leaves its counts in a transaction-local setting, so that the
         * progress statement can go out behind it (tail_piped). */
        char taken[256] = "", source[512], every[64];
        if (take)
            snprintf(taken, sizeof taken,
                     "taken AS (DELETE FROM pg_temp.tvsync_built AS k WHERE k.entity = %zu "
                     "AND k.id = ANY ($%d::uuid[]) RETURNING k.id, k.data), ", r, build ? 2 : 1);
        if (build && take)
            snprintf(source, sizeof source,
                     "SELECT b.id, b.data FROM %s($1::uuid[]) AS b "
                     "UNION ALL SELECT DISTINCT ON (taken.id) taken.id, taken.data FROM taken",
                     engine->reg->build_functions[r]);
        else if (build)
            snprintf(source, sizeof source, "SELECT b.id, b.data FROM %s($1::uuid[]) AS b",
                     engine->reg->build_functions[r]);
        else
            snprintf(source, sizeof source, "SELECT DISTINCT ON (taken.id) taken.id, taken.data FROM taken");
        snprintf(every, sizeof every, "%s", build && take ? "$1::uuid[] || $2::uuid[]" : "$1::uuid[]");
        snprintf(engine->apply_sql, sizeof engine->apply_sql,
                 "WITH %1$sbuilt AS MATERIALIZED (%2$s), "
                 "up AS (INSERT INTO %3$s AS t (id, data, updated_at) SELECT id, data, now() FROM built "
                 "ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at "
                 "WHERE t.data IS DISTINCT FROM excluded.data RETURNING 1), "
                 "gone AS (DELETE FROM %3$s AS t WHERE t.id = ANY (%4$s) "
                 "AND NOT EXISTS (SELECT 1 FROM built WHERE built.id = t.id) RETURNING 1) "
                 "SELECT c.u, c.d, set_config('tvsync.count_%5$zu', c.u || ' ' || c.d, true) "
                 "FROM (SELECT (SELECT count(*) FROM up) AS u, (SELECT count(*) FROM gone) AS d) AS c",
                 taken, source, engine->reg->tv_tables[r], every, r);
        const char *values[2] = {build ? ids : built, built};
        sent = send_query_to(engine, engine->apply_sql, build && take ? 2 : 1, values, tail_cb);
    }
    free(ids);
    return sent;
}

static bool send_note(apply_engine *engine, size_t n)
{
    const batch_note *note = &engine->work->notes[n];
    char lsn_text[LSN_FORMAT_SIZE];
    lsn_format(note->lsn, lsn_text);
    tail_push(engine, TAIL_NOTE, n);
    if (note->kind == BATCH_NOTE_DEAD_LETTER) {
        const char *values[3] = {lsn_text, note->content, note->reason};
        return send_query_to(engine, "INSERT INTO tvsync.dead_letter (lsn, content, reason) VALUES ($1::pg_lsn, $2, $3)",
                             3, values, tail_cb);
    }
    const char *values[2] = {note->entity, lsn_text};
    return send_query_to(engine,
                         "INSERT INTO tvsync.cdc_rebuild (entity, after_id, requested_lsn) VALUES ($1, NULL, $2::pg_lsn) "
                         "ON CONFLICT (entity) DO UPDATE SET after_id = NULL, requested_lsn = excluded.requested_lsn, "
                         "rows_upserted = 0, rows_deleted = 0, requested_at = now()",
                         2, values, tail_cb);
}

/* The end of the transaction: the progress (with the counts the applies
 * returned, so after their results) and COMMIT, in one pipeline. */
static bool send_commit(apply_engine *engine)
{
    if (!engine->bisecting && engine->work->has_progress) {
        tail_push(engine, TAIL_FINAL, 0);
        if (!send_final(engine))
            return false;
    }
    tail_push(engine, TAIL_COMMIT, 0);
    return send_query_to(engine, "COMMIT", 0, NULL, tail_cb);
}

/* The transaction's tail, as nothing in it depends on an earlier result: the
 * applies of the range and (unless bisecting) the notes in one pipeline, then
 * send_commit once their results are in. A failure anywhere aborts the
 * transaction: the statements after it fail, and the last callback takes the
 * failure path with the first error. */
static bool send_tail(apply_engine *engine)
{
    batch *work = engine->work;
    engine->tail_error[0] = '\0';
    if (!engine->final_only) {
        size_t e, from, to;
        while (next_apply(engine, &e, &from, &to))
            if (!send_apply(engine, e, from, to))
                return false;
    }
    if (!engine->bisecting)
        for (size_t n = 0; n < work->note_count; n++)
            if (!work->notes[n].open && !send_note(engine, n))
                return false;
    /* Nothing after the applies waits for their results (they leave their
     * counts in settings): progress and COMMIT go out in the same pipeline (a
     * failed apply aborts the transaction and the COMMIT then rolls back). */
    engine->tail_piped = !engine->final_only && engine->tail_count > 0;
    if (engine->tail_count == 0 || engine->tail_piped)
        return send_commit(engine);
    return true;
}

static void tail_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    apply_engine *engine = arg;
    batch *work = engine->work;
    tail_tag tag = engine->tail[engine->tail_head];
    engine->tail_head = (engine->tail_head + 1) % engine->tail_capacity;
    engine->tail_count--;
    if (outcome->connection_lost) {
        connection_lost(engine, outcome->error);
        return;
    }
    if (!outcome->ok) {
        if (!engine->tail_error[0])
            snprintf(engine->tail_error, sizeof engine->tail_error, "%s", outcome->error);
    } else if (tag.kind == TAIL_APPLY && PQntuples(outcome->result) == 1) {
        batch_entity *entity = &work->entities[tag.index];
        entity->upserted += atol(PQgetvalue(outcome->result, 0, 0));
        entity->deleted += atol(PQgetvalue(outcome->result, 0, 1));
    } else if (tag.kind == TAIL_NOTE && work->notes[tag.index].kind == BATCH_NOTE_DEAD_LETTER) {
        engine->tail_dead_letters++;   /* counted once the COMMIT succeeds */
    }
    if (engine->begin_error[0] && !engine->tail_error[0])
        snprintf(engine->tail_error, sizeof engine->tail_error, "%s", engine->begin_error);
    if ((tag.kind == TAIL_APPLY || tag.kind == TAIL_NOTE) && engine->tail_count == 0 && !engine->tail_piped) {
        /* the last apply or note: end the transaction */
        if (engine->tail_error[0]) {
            engine->tail_dead_letters = 0;
            transaction_failed(engine, engine->tail_error);
        } else {
            group_open(engine);
            if (!group_send(engine, send_commit(engine)))
                finish(engine);
        }
        return;
    }
    if (tag.kind != TAIL_COMMIT)
        return;
    if (engine->begin_error[0] && !engine->tail_error[0])
        snprintf(engine->tail_error, sizeof engine->tail_error, "%s", engine->begin_error);
    if (engine->tail_error[0]) {
        /* COMMIT of an aborted transaction rolled back; ROLLBACK is then a no-op
         * that leads to the usual retry, bisection or report */
        engine->tail_dead_letters = 0;
        transaction_failed(engine, engine->tail_error);
        return;
    }
    engine->outcome.dead_letters += engine->tail_dead_letters;
    engine->tail_dead_letters = 0;
    if (engine->bisecting) {
        bisect_next(engine);
        return;
    }
    engine->outcome.ok = true;
    finish(engine);
}

typedef struct ahead_diff {
    size_t entity, from, to;
    PGresult *result;         /* NULL until it is back */
} ahead_diff;

static void ahead_clear(apply_engine *engine)
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
    PGresult *copy = PQcopyResult(result, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);
    if (copy == NULL) {
        fprintf(stderr, "tvsync-cdc: out of memory\n");
        abort();
    }
    return copy;
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
    int rows = PQntuples(result);
    if (!append)
        changed_clear(engine);
    if (engine->changed_count + (size_t) rows > engine->changed_capacity) {
        engine->changed_capacity = engine->changed_count + (size_t) rows;
        engine->changed = alloc_array(engine->changed, engine->changed_capacity, sizeof *engine->changed);
        engine->changed_keys = alloc_array(engine->changed_keys, engine->changed_capacity,
                                            sizeof *engine->changed_keys);
        engine->edge_ids = alloc_array(engine->edge_ids, engine->changed_capacity, sizeof *engine->edge_ids);
    }
    /* A diff along a cascade query also lists the query's ids (third column true). */
    bool flagged = PQnfields(result) > 2;
    for (int row = 0; row < rows; row++)
        if (!(flagged && strcmp(PQgetvalue(result, row, 2), "t") == 0) && !PQgetisnull(result, row, 0) &&
            intent_uuid_parse(PQgetvalue(result, row, 0), &engine->changed[engine->changed_count])) {
            engine->changed_keys[engine->changed_count++] =
                PQgetisnull(result, row, 1) ? NULL : registry_keys_parse(PQgetvalue(result, row, 1));
        }
    engine->diffed = true;
    batch_entity *source = &engine->work->entities[e];
    for (size_t i = from; i < to; i++)
        set_state(engine, e, i, ID_CURRENT);
    for (size_t c = 0; c < engine->changed_count; c++) {
        size_t position = batch_entity_position(source, &engine->changed[c]);
        if (position != SIZE_MAX)
            set_state(engine, e, position, engine->built_table ? ID_BUILT : ID_BUILD);
    }
    log_debug("apply: cascade round %d: %zu of %zu new ids would change", engine->round, engine->changed_count,
              engine->range_to - engine->range_from);
}

static void ahead_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    apply_engine *engine = arg;
    ahead_diff *ahead = &engine->ahead[engine->ahead_done++];
    if (outcome->connection_lost) {
        connection_lost(engine, outcome->error);
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

/* What every diff statement ends with, after its CTE d (id, new, old: the ids
 * whose build differs from the tv_* row): the documents that would change kept
 * for the apply (one build per document) when the session has
 * pg_temp.tvsync_built, and the changed ids with the keys that changed. */
static const char *diff_tail(apply_engine *engine, size_t r, bool query_ids)
{
    char keep[200] = "";
    if (engine->built_table)
        snprintf(keep, sizeof keep,
                 ", kept AS (INSERT INTO pg_temp.tvsync_built (entity, id, data) "
                 "SELECT %zu, d.id, d.new FROM d WHERE d.new IS NOT NULL)", r);
    snprintf(engine->diff_tail, sizeof engine->diff_tail,
             "%s SELECT d.id, CASE WHEN jsonb_typeof(d.new) = 'object' AND jsonb_typeof(d.old) = 'object' THEN "
             "ARRAY(SELECT k FROM jsonb_object_keys(d.new || d.old) AS k "
             "WHERE d.new -> k IS DISTINCT FROM d.old -> k) END%s FROM d%s", keep,
             query_ids ? ", false" : "", query_ids ? " UNION ALL SELECT x, NULL, true FROM q, unnest(q.ids) AS x" : "");
    return engine->diff_tail;
}

/* The diff statement of registry entity r over the ids $1 (see the CASCADE_DIFF
 * step). */
static const char *diff_statement(apply_engine *engine, size_t r)
{
    snprintf(engine->diff_sql, sizeof engine->diff_sql,
             "WITH d AS MATERIALIZED (SELECT coalesce(b.id, t.id) AS id, b.data AS new, t.data AS old "
             "FROM %s($1::uuid[]) AS b "
             "FULL JOIN (SELECT id, data FROM %s WHERE id = ANY ($1::uuid[])) AS t ON t.id = b.id "
             "WHERE b.data IS DISTINCT FROM t.data)%s",
             engine->reg->build_functions[r], engine->reg->tv_tables[r], diff_tail(engine, r, false));
    return engine->diff_sql;
}

/* Sends the diffs of the entities after the current one in the order whose next
 * range holds cascade-added ids only, unless one is out already; false when a
 * send failed. */
static bool send_ahead(apply_engine *engine)
{
    for (size_t k = engine->order_index + 1; k < engine->order_count; k++) {
        batch_entity *later = batch_find_entity(engine->work, engine->order[k]);
        if (!later || !entity_has_edges(engine->reg, later->name) || later->expanded < later->intent_ids ||
            later->expanded >= later->id_count)
            continue;
        size_t e = (size_t) (later - engine->work->entities);
        size_t r = registry_index(engine->reg, later->name);
        if (r == engine->reg->entity_count || ahead_find(engine, e, later->expanded))
            continue;
        ahead_push(engine, e, later->expanded, later->id_count, NULL);
        const char *values[1] = {uuid_list(engine, later->ids + later->expanded, later->id_count - later->expanded)};
        if (!send_query_to(engine, diff_statement(engine, r), 1, values, ahead_cb))
            return false;
    }
    return true;
}

/* The ids a cascade query of source runs with: the range's ids (intent ids),
 * or the changed ids whose change the edge watches. */
static const char *edge_values(apply_engine *engine, const batch_entity *source, size_t edge)
{
    return engine->range_diffless
        ? uuid_list(engine, source->ids + engine->range_from, engine->range_to - engine->range_from)
        : uuid_list(engine, engine->edge_ids, edge_ids(engine, edge));
}

/* The diff statement of registry entity r over the targets of edge: the edge's
 * query runs inside it (the source ids are $1), so the diff goes out with the
 * query instead of one round trip after it. Its rows: the diff's (id, changed
 * keys, false), then each id the query found (id, NULL, true). */
static const char *along_statement(apply_engine *engine, size_t edge, size_t r)
{
    size_t size = strlen(engine->reg->queries[edge]) + sizeof engine->diff_sql;
    if (size > engine->along_sql_capacity) {
        engine->along_sql = alloc_array(engine->along_sql, size, 1);
        engine->along_sql_capacity = size;
    }
    snprintf(engine->along_sql, engine->along_sql_capacity,
             "WITH q AS MATERIALIZED (SELECT coalesce(array_agg(DISTINCT q0.x) FILTER (WHERE q0.x IS NOT NULL), "
             "'{}'::uuid[]) AS ids FROM (%s) AS q0(x)), "
             "d AS MATERIALIZED (SELECT coalesce(b.id, t.id) AS id, b.data AS new, t.data AS old "
             "FROM (SELECT b.id, b.data FROM q CROSS JOIN LATERAL %s(q.ids) AS b) AS b "
             "FULL JOIN (SELECT t.id, t.data FROM q, %s AS t WHERE t.id = ANY (q.ids)) AS t ON t.id = b.id "
             "WHERE b.data IS DISTINCT FROM t.data)%s",
             engine->reg->queries[edge], engine->reg->build_functions[r], engine->reg->tv_tables[r],
             diff_tail(engine, r, true));
    return engine->along_sql;
}

/* Whether entity has no cascade-added ids waiting to be diffed: the ids a
 * cascade adds now are then the next range the iteration diffs. */
static bool nothing_waiting(const batch_entity *entity)
{
    if (!entity)
        return true;
    size_t settled = entity->expanded > entity->intent_ids ? entity->expanded : entity->intent_ids;
    return entity->id_count == settled;
}

/* A cascade query of source along edge, in a group: inside a diff of its
 * targets when the target has nothing else waiting to be diffed (the ids a
 * cascade adds are always diffed next, and this way the diff is back with
 * them: along_query_cb), else alone (cascade_cb); a target with other ids
 * waiting would have them diffed twice. false when the send failed. */
static bool send_cascade_query(apply_engine *engine, const batch_entity *source, size_t edge)
{
    size_t slot = engine->group_count++;
    engine->group_edges[slot] = edge;
    const char *target = engine->reg->edges[edge].target;
    size_t r = registry_index(engine->reg, target);
    const char *values[1] = {edge_values(engine, source, edge)};
    engine->group_slots[slot].along = r < engine->reg->entity_count &&
                                      nothing_waiting(batch_find_entity(engine->work, target));
    if (engine->group_slots[slot].along)
        return send_query_to(engine, along_statement(engine, edge, r), 1, values, along_query_cb);
    return send_query_to(engine, engine->reg->queries[edge], 1, values, cascade_cb);
}

/* Sends the next statements of the transaction; on the way picks the next
 * step. false when a send failed. */
static bool step_send(apply_engine *engine)
{
    batch *work = engine->work;
    bool sent = false;
    switch (engine->step) {
    case STEP_BEGIN:
        engine->step = STEP_CASCADE;
        /* fall through */
    case STEP_CASCADE:
        if (!engine->bisecting && !engine->final_only) {
            batch_entity *source = NULL;
            size_t edge = 0;
            cascade_action action = next_cascade(engine, &source, &edge);
            while (action == CASCADE_DIFF) {
                /* A diff sent ahead covers the range, or its start. */
                size_t e = (size_t) (source - work->entities);
                ahead_diff *ahead = ahead_find(engine, e, engine->range_from);
                engine->diff_from = engine->range_from;
                engine->diff_append = false;
                if (!ahead || !ahead->result)
                    break;
                size_t to = ahead->to < engine->range_to ? ahead->to : engine->range_to;
                take_diff(engine, e, ahead->result, engine->range_from, to, false);
                PQclear(ahead->result);
                ahead->result = NULL;
                ahead->from = SIZE_MAX;   /* taken */
                if (to == engine->range_to) {
                    action = next_cascade(engine, &source, &edge);
                    continue;
                }
                engine->diffed = false;   /* the rest of the range still */
                engine->diff_from = to;
                engine->diff_append = true;
                break;
            }
            if (action == CASCADE_DIFF) {
                size_t r = registry_index(engine->reg, source->name);
                if (r == engine->reg->entity_count) {
                    const char *values[1] = {source->name};
                    sent = send_query(engine, "SELECT NULL::uuid FROM tvsync.entity_row($1)", 1, values);
                    break;
                }
                if (!send_ahead(engine))
                    break;
                const char *values[1] = {uuid_list(engine, source->ids + engine->diff_from,
                                                   engine->range_to - engine->diff_from)};
                sent = send_query(engine, diff_statement(engine, r), 1, values);
                break;
            }
            if (action == CASCADE_QUERY) {
                /* This edge and the entity's other edges that apply: their
                 * queries do not depend on each other, so one pipeline. */
                engine->group_count = engine->group_done = 0;
                for (;;) {
                    sent = send_cascade_query(engine, source, edge);
                    if (!sent || !next_edge_of(engine, source, &edge))
                        break;
                    engine->edge_index = edge + 1;
                }
                break;
            }
            /* Cascades may have added ids: the range is every pair. */
            engine->range.from = 0;
            engine->range.to = work->id_count;
        }
        engine->step = STEP_APPLY;
        /* fall through */
    case STEP_APPLY:
        sent = send_tail(engine);
        break;
    case STEP_ROLLBACK:
        sent = send_query(engine, "ROLLBACK", 0, NULL);
        break;
    }
    return sent;
}

/* Sends the next statements, in one group; ends the batch when that failed. */
static void run_step(apply_engine *engine)
{
    group_open(engine);
    if (!group_send(engine, step_send(engine)))
        finish(engine);
}

static void push_range(apply_engine *engine, size_t from, size_t to)
{
    if (engine->stack_count == engine->stack_capacity) {
        engine->stack_capacity = engine->stack_capacity ? engine->stack_capacity * 2 : 16;
        engine->stack = alloc_array(engine->stack, engine->stack_capacity, sizeof *engine->stack);
    }
    engine->stack[engine->stack_count].from = from;
    engine->stack[engine->stack_count].to = to;
    engine->stack_count++;
}

/* Bisection: the next range to try, or the final transaction when none is left. */
static void bisect_next(apply_engine *engine)
{
    if (engine->stack_count == 0) {
        engine->bisecting = false;
        engine->final_only = true;
        begin_transaction(engine);
        return;
    }
    engine->range = engine->stack[--engine->stack_count];
    begin_transaction(engine);
}

/* The pair that failed alone goes to dead_letter with the error. */
static void dead_letter_pair(apply_engine *engine, size_t pair, const char *error)
{
    batch *work = engine->work;
    size_t first = 0;
    for (size_t e = 0; e < work->entity_count; e++) {
        batch_entity *entity = &work->entities[e];
        if (pair < first + entity->id_count) {
            char id[INTENT_UUID_TEXT_SIZE], content[160];
            intent_uuid_format(&entity->ids[pair - first], id);
            snprintf(content, sizeof content, "{\"entity\":\"%s\",\"ids\":[\"%s\"]}", entity->name, id);
            batch_add_dead_letter(work, work->progress_lsn, content, strlen(content), error);
            work->notes[work->note_count - 1].open = false;
            batch_entity_set_error(entity, error);
            log_warning("apply: %s %s fails alone and goes to tvsync.dead_letter: %s", entity->name, id, error);
            return;
        }
        first += entity->id_count;
    }
}

static void retry_cb(evutil_socket_t fd, short events, void *arg)
{
    apply_engine *engine = arg;
    for (size_t i = 0; i < engine->work->entity_count; i++)
        engine->work->entities[i].upserted = engine->work->entities[i].deleted = 0;
    begin_transaction(engine);
}

/* A statement failed inside the transaction: roll back, then decide. */
static void transaction_failed(apply_engine *engine, const char *error)
{
    snprintf(engine->outcome.error, sizeof engine->outcome.error, "%s", error);
    engine->step = STEP_ROLLBACK;
    run_step(engine);
}

static void after_rollback(apply_engine *engine)
{
    batch *work = engine->work;
    if (engine->not_visible) {
        /* Not a failure: the same transaction again, once the sources are visible. */
        log_debug("apply: a source transaction is not visible yet; waiting for it");
        engine->outcome.error[0] = '\0';
        engine->outcome.visibility_waits++;
        engine->wait_first = true;
        for (size_t i = 0; i < work->entity_count; i++)
            work->entities[i].upserted = work->entities[i].deleted = 0;
        begin_transaction(engine);
        return;
    }
    if (engine->bisecting) {
        pair_range failed = engine->range;
        if (failed.to - failed.from <= 1) {
            dead_letter_pair(engine, failed.from, engine->outcome.error);
        } else {
            size_t middle = failed.from + (failed.to - failed.from) / 2;
            push_range(engine, middle, failed.to);
            push_range(engine, failed.from, middle);
        }
        bisect_next(engine);
        return;
    }
    if (engine->final_only) {
        /* Notes and progress alone failed: nothing to bisect; report. */
        log_error("apply: recording progress failed: %s", engine->outcome.error);
        finish(engine);
        return;
    }
    if (engine->outcome.attempts <= engine->max_retries) {
        engine->outcome.attempts++;
        log_warning("apply: batch failed (attempt %d of %d): %s", engine->outcome.attempts - 1,
                    engine->max_retries + 1, engine->outcome.error);
        struct timeval delay = {0, 50000 * (engine->outcome.attempts - 1)};
        event_add(engine->retry_timer, &delay);
        return;
    }
    log_warning("apply: batch failed %d times, bisecting %zu ids to find the failing ones: %s",
                engine->outcome.attempts, work->id_count, engine->outcome.error);
    engine->outcome.bisected = true;
    engine->bisecting = true;
    for (size_t i = 0; i < work->entity_count; i++)
        work->entities[i].upserted = work->entities[i].deleted = 0;
    push_range(engine, 0, work->id_count);
    bisect_next(engine);
}

static void step_done_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    apply_engine *engine = arg;
    if (outcome->connection_lost) {
        connection_lost(engine, outcome->error);
        return;
    }
    if (engine->step == STEP_ROLLBACK) {
        if (!outcome->ok) {
            engine->outcome.connection_lost = true;
            finish(engine);
            return;
        }
        after_rollback(engine);
        return;
    }
    if (engine->begin_error[0]) {
        transaction_failed(engine, engine->begin_error);
        return;
    }
    if (!outcome->ok) {
        transaction_failed(engine, outcome->error);
        return;
    }
    switch (engine->step) {
    case STEP_CASCADE:
        if (!engine->diffed) {
            batch_entity *source = batch_find_entity(engine->work, engine->order[engine->order_index]);
            engine->built_rows += (unsigned long) PQntuples(outcome->result);
            if (source)
                take_diff(engine, (size_t) (source - engine->work->entities), outcome->result, engine->diff_from,
                          engine->range_to, engine->diff_append);
        }
        break;
    default:
        break;
    }
    run_step(engine);
}

/* After the group's last result: an error aborts the transaction, else the
 * iteration goes on. */
static void group_result_done(apply_engine *engine)
{
    if (engine->group_done < engine->group_count)
        return;
    if (engine->begin_error[0] || engine->tail_error[0]) {
        transaction_failed(engine, engine->begin_error[0] ? engine->begin_error : engine->tail_error);
        return;
    }
    run_step(engine);
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
    range->alone = nothing_waiting(entity);
    int rows = PQntuples(outcome->result), added = 0;
    for (int row = 0; row < rows; row++) {
        intent_uuid id;
        if (flag_column >= 0 && strcmp(PQgetvalue(outcome->result, row, flag_column), "t") != 0)
            continue;
        added++;
        if (!PQgetisnull(outcome->result, row, 0) && intent_uuid_parse(PQgetvalue(outcome->result, row, 0), &id))
            batch_add_cascaded_ids(engine->work, target, &id, 1);
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
        connection_lost(engine, outcome->error);
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
        connection_lost(engine, outcome->error);
        return;
    }
    size_t slot = engine->group_done++;
    take_cascade_ids(engine, slot, outcome, 2);
    const group_slot *range = &engine->group_slots[slot];
    if (outcome->ok && range->entity != SIZE_MAX && !engine->begin_error[0] && !engine->tail_error[0]) {
        batch_entity *target = &engine->work->entities[range->entity];
        int rows = PQntuples(outcome->result);
        for (int row = 0; row < rows; row++) {
            intent_uuid id;
            if (strcmp(PQgetvalue(outcome->result, row, 2), "t") == 0)
                continue;
            engine->built_rows++;
            if (PQgetisnull(outcome->result, row, 0) || !intent_uuid_parse(PQgetvalue(outcome->result, row, 0), &id))
                continue;
            size_t position = batch_entity_position(target, &id);
            if (position != SIZE_MAX && engine->built_table)
                set_state(engine, range->entity, position, ID_BUILT);
        }
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

static void kick_cb(evutil_socket_t fd, short events, void *arg)
{
    apply_engine *engine = arg;
    if (engine->busy && engine->step == STEP_BEGIN && !send_begin(engine))
        finish(engine);
}

apply_engine *apply_engine_new(struct event_base *base, pg_pipeline *conn, int max_retries)
{
    apply_engine *engine = alloc_calloc(1, sizeof *engine);
    engine->base = base;
    engine->conn = conn;
    engine->max_retries = max_retries;
    engine->retry_timer = evtimer_new(base, retry_cb, engine);
    engine->kick = evtimer_new(base, kick_cb, engine);
    return engine;
}

void apply_engine_set_built_table(apply_engine *engine, bool available)
{
    engine->built_table = available;
}

void apply_engine_free(apply_engine *engine)
{
    if (!engine)
        return;
    event_free(engine->retry_timer);
    event_free(engine->kick);
    free(engine->order);
    free(engine->stack);
    free(engine->text);
    changed_clear(engine);
    ahead_clear(engine);
    free(engine->ahead);
    free(engine->changed);
    free(engine->changed_keys);
    free(engine->edge_ids);
    free(engine->group_edges);
    free(engine->group_slots);
    free(engine->along_sql);
    for (size_t e = 0; e < engine->current_entities; e++)
        free(engine->current[e]);
    free(engine->current);
    free(engine->current_capacity);
    free(engine->tail);
    free(engine);
}

void apply_engine_set_max_retries(apply_engine *engine, int max_retries)
{
    engine->max_retries = max_retries;
}

bool apply_engine_busy(const apply_engine *engine)
{
    return engine->busy;
}

bool apply_engine_start(apply_engine *engine, batch *work, const registry *reg,
                        apply_done_cb done, void *arg)
{
    if (engine->busy)
        return false;
    engine->busy = true;
    engine->work = work;
    engine->reg = reg;
    engine->done = done;
    engine->done_arg = arg;
    memset(&engine->outcome, 0, sizeof engine->outcome);
    engine->outcome.attempts = 1;
    engine->bisecting = false;
    engine->final_only = false;
    engine->stack_count = 0;
    engine->range.from = 0;
    engine->range.to = work->id_count;
    clock_gettime(CLOCK_MONOTONIC, &engine->started);

    /* Cascade order over the entities that have ids now. */
    const char **start = alloc_malloc((work->entity_count + 1) * sizeof *start);
    size_t start_count = 0;
    /* Names from the registry: cascades grow work->entities, which moves its names. */
    for (size_t i = 0; i < work->entity_count; i++)
        for (size_t r = 0; r < reg->entity_count; r++)
            if (work->entities[i].id_count > 0 && strcmp(reg->entities[r], work->entities[i].name) == 0)
                start[start_count++] = reg->entities[r];
    engine->order = alloc_malloc((start_count + reg->cascade_count + 1) * sizeof *engine->order);
    engine->order_count = cascade_order(start, start_count, reg->edges, reg->cascade_count, engine->order);
    free(start);
    engine->group_edges = alloc_array(engine->group_edges, reg->cascade_count + 1, sizeof *engine->group_edges);
    engine->group_slots = alloc_array(engine->group_slots, reg->cascade_count + 1, sizeof *engine->group_slots);

    engine->step = STEP_BEGIN;
    engine->order_index = engine->edge_index = engine->entity_index = 0;
    engine->in_entity = false;
    engine->round = 0;
    for (size_t i = 0; i < work->entity_count; i++) {
        work->entities[i].expanded = 0;
        work->entities[i].intent_ids = work->entities[i].id_count;
    }
    engine->begin_error[0] = '\0';
    engine->tail_error[0] = '\0';
    engine->tail_count = engine->tail_head = 0;
    current_clear(engine);
    engine->wait_first = false;
    /* BEGIN and the statements after it go out from the loop at once (not from
     * here: a failed send would call the caller back before this returns). */
    event_active(engine->kick, EV_TIMEOUT, 0);
    return true;
}

/* Rebuild chunks: two autocommit statements, no origin progress (the request's
 * progress was recorded with the batch that saw it; tvsync.cdc_rebuild carries it). */
static void chunk_finish(apply_engine *engine, bool ok, bool lost, const char *error)
{
    engine->busy = false;
    apply_chunk_cb done = engine->chunk_done;
    engine->chunk_done = NULL;
    done(engine->chunk_arg, ok, lost, engine->chunk_finished, engine->chunk_last_id,
         engine->chunk_upserted, engine->chunk_deleted, error);
}

static void chunk_close_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    apply_engine *engine = arg;
    chunk_finish(engine, outcome->ok, outcome->connection_lost, outcome->error);
}

static void chunk_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    apply_engine *engine = arg;
    if (!outcome->ok) {
        chunk_finish(engine, false, outcome->connection_lost, outcome->error);
        return;
    }
    engine->chunk_finished = PQgetisnull(outcome->result, 0, 0);
    snprintf(engine->chunk_last_id, sizeof engine->chunk_last_id, "%s",
             engine->chunk_finished ? "" : PQgetvalue(outcome->result, 0, 0));
    engine->chunk_upserted = atol(PQgetvalue(outcome->result, 0, 1));
    engine->chunk_deleted = atol(PQgetvalue(outcome->result, 0, 2));
    if (!engine->chunk_finished) {
        chunk_finish(engine, true, false, NULL);
        return;
    }
    const char *values[1] = {engine->chunk_entity};
    if (!pg_pipeline_send(engine->conn,
                       "WITH done AS (DELETE FROM tvsync.cdc_rebuild WHERE entity = $1 RETURNING *) "
                       "INSERT INTO tvsync.sync_log (entity, intents, rows_upserted, rows_deleted, success, source_lsn) "
                       "SELECT entity, 0, rows_upserted, rows_deleted, true, requested_lsn FROM done",
                       1, values, chunk_close_cb, engine))
        chunk_finish(engine, false, true, "cannot send to the apply connection");
}

bool apply_engine_rebuild_chunk(apply_engine *engine, const char *entity, const char *after,
                                int chunk_rows, apply_chunk_cb done, void *arg)
{
    if (engine->busy)
        return false;
    char rows[16];
    snprintf(rows, sizeof rows, "%d", chunk_rows);
    snprintf(engine->chunk_entity, sizeof engine->chunk_entity, "%s", entity);
    engine->chunk_done = done;
    engine->chunk_arg = arg;
    engine->chunk_finished = false;
    const char *values[3] = {entity, after, rows};
    /* The chunk and its bookkeeping commit together, so a crash resumes at the right chunk. */
    if (!pg_pipeline_send(engine->conn,
                       "WITH chunk AS (SELECT * FROM tvsync.rebuild_chunk($1, $2::uuid, $3::int)), "
                       "kept AS (UPDATE tvsync.cdc_rebuild r SET after_id = chunk.last_id, "
                       "rows_upserted = r.rows_upserted + chunk.upserted, rows_deleted = r.rows_deleted + chunk.deleted "
                       "FROM chunk WHERE r.entity = $1 RETURNING 1) "
                       "SELECT last_id, upserted, deleted, (SELECT count(*) FROM kept) FROM chunk",
                       3, values, chunk_cb, engine))
        return false;
    engine->busy = true;
    return true;
}
