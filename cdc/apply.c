/* apply: the per-batch local transaction as a chain of non-blocking queries,
 * with bounded retries and bisection so one bad row never stalls the slot. */
#include "config.h"

#include "cdc/apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cdc/apply_cascade.h"
#include "cdc/apply_internal.h"
#include "cdc/apply_sql.h"
#include "cdc/array_literal.h"
#include "common/alloc.h"
#include "common/log.h"

static bool step_send(apply_engine *engine);
static void step_done_cb(void *arg, const pg_pipeline_outcome *outcome);
static void tail_cb(void *arg, const pg_pipeline_outcome *outcome);
static void bisect_next(apply_engine *engine);

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double) (now.tv_sec - start->tv_sec) + (double) (now.tv_nsec - start->tv_nsec) / 1e9;
}

/* pg_temp.tvsync_built is truncated before a batch once this many transactions,
 * or this many documents kept by diffs, went through it since the last time: the
 * applies delete the rows they take, and the dead rows of a temporary table are
 * never vacuumed. Its statements find rows through its index (the apply
 * connection plans no sequential scan where an index serves), but dead rows
 * still slow them; a truncation costs a new plan for each statement that uses
 * the table, so it is not done every batch. */
#define APPLY_BUILT_TRUNCATE_EVERY 1000
#define APPLY_BUILT_TRUNCATE_ROWS 1024

/* "{"id",...}" into buffer of the entity's ids [from, to) in the given state;
 * *count gets how many. */
static const char *ids_array(apply_engine *engine, strbuf *buffer, size_t e, size_t from, size_t to, int state,
                             size_t *count)
{
    const batch_entity *entity = &engine->work->entities[e];
    array_literal_open(buffer);
    *count = 0;
    for (size_t i = from; i < to; i++) {
        if (apply_cascade_id_state(engine, e, i) != state)
            continue;
        array_literal_add_text(buffer, batch_entity_id(entity, i), entity->ids[i].length);
        (*count)++;
    }
    return array_literal_close(buffer);
}

/* Pairs numbered entity by entity: position of entity index e's first pair. */
static size_t entity_first_pair(const batch *work, size_t e)
{
    size_t first = 0;
    for (size_t i = 0; i < e; i++)
        first += work->entities[i].id_count;
    return first;
}

bool apply_send(apply_engine *engine, const char *sql, int count, const char *const *values, pg_pipeline_cb callback)
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

bool apply_send_step(apply_engine *engine, const char *sql, int count, const char *const *values)
{
    return apply_send(engine, sql, count, values, step_done_cb);
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
    apply_cascade_clear_ahead(engine);
    engine->stack_count = 0;
    apply_done_cb done = engine->done;
    void *arg = engine->done_arg;
    engine->done = NULL;
    done(arg, &engine->outcome);
}

/* pg_pipeline called back only the oldest query of the pipeline, so nothing else
 * is in flight. */
void apply_connection_lost(apply_engine *engine, const char *error)
{
    engine->tail_count = engine->tail_head = 0;
    engine->group_count = engine->group_done = 0;
    engine->outcome.connection_lost = true;
    snprintf(engine->outcome.error, sizeof engine->outcome.error, "%s", error);
    finish(engine);
}

/* ---- begin and the visibility check ------------------------------------ */

static void begin_done_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    apply_engine *engine = arg;
    if (outcome->connection_lost) {
        apply_connection_lost(engine, outcome->error);
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
    const batch *work = engine->work;
    const char *values[1] = {array_literal_xids(&engine->ids, work->xids, work->xid_count)};
    return apply_send(engine, "SELECT tvsync.cdc_wait_visible($1::bigint[])", 1, values, begin_done_cb);
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
    const batch *work = engine->work;
    const char *values[1] = {array_literal_xids(&engine->ids, work->xids, work->xid_count)};
    return apply_send(engine, "SELECT tvsync.cdc_check_visible($1::bigint[])", 1, values, check_done_cb);
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
    bool sent = apply_send(engine, "BEGIN ISOLATION LEVEL REPEATABLE READ", 0, NULL, begin_done_cb);
    /* The applies delete the documents they take; the dead rows of a temporary
     * table are not vacuumed: now and then the table starts afresh. */
    if (sent && engine->built_table &&
        (++engine->built_transactions >= APPLY_BUILT_TRUNCATE_EVERY || engine->built_rows >= APPLY_BUILT_TRUNCATE_ROWS)) {
        engine->built_transactions = engine->built_rows = 0;
        sent = apply_send(engine, "TRUNCATE pg_temp.tvsync_built", 0, NULL, begin_done_cb);
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
        apply_cascade_reset_states(engine);   /* the diffs run again */
    else
        apply_cascade_forget_built(engine);
    apply_cascade_clear_ahead(engine);
    engine->step = STEP_BEGIN;
    cascade_plan_restart(&engine->plan);
    engine->entity_index = 0;
    if (!send_begin(engine))
        finish(engine);
}

/* ---- the tail: applies, notes, progress, COMMIT ------------------------ */

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
    strbuf *names = &engine->progress_arrays[0], *intents = &engine->progress_arrays[1],
           *upserted = &engine->progress_arrays[2], *deleted = &engine->progress_arrays[3],
           *success = &engine->progress_arrays[4], *errors = &engine->progress_arrays[5];
    for (size_t i = 0; i < 6; i++)
        array_literal_open(&engine->progress_arrays[i]);
    for (size_t i = 0; i < work->entity_count; i++) {
        const batch_entity *entity = &work->entities[i];
        if (entity->intents == 0 && entity->id_count == 0)
            continue;
        array_literal_add(names, entity->name);
        array_literal_add_long(intents, entity->intents);
        /* Piped behind the applies, before their counts are back ($3 is then
         * the registry index: each apply leaves its counts in the setting
         * tvsync.count_<registry index>, and $4 is not read). */
        array_literal_add_long(upserted, engine->tail_piped ? (long) registry_index(engine->reg, entity->name)
                                                            : entity->upserted);
        array_literal_add_long(deleted, entity->deleted);
        array_literal_add(success, entity->failed ? "f" : "t");
        array_literal_add(errors, entity->error);
    }
    char lsn_text[LSN_FORMAT_SIZE], duration[32];
    lsn_format(work->progress_lsn, lsn_text);
    /* Piped, the duration is the time until BEGIN was sent plus the transaction's own. */
    snprintf(duration, sizeof duration, "%.3f",
             engine->tail_piped ? engine->begin_sent_ms : seconds_since(&engine->started) * 1000.0);
    /* The notification names each applied transaction's last intent message, which
     * tvsync-server's waiters know exactly, as far as NOTIFY's payload limit allows (the
     * waiters of the others end at the position). */
    char messages[APPLY_NOTIFY_MESSAGES_MAX];
    size_t used = 0;
    messages[0] = '\0';
    for (size_t i = 0; i < work->message_end_count; i++) {
        char text[LSN_FORMAT_SIZE];
        size_t length = strlen(lsn_format(work->message_ends[i], text));
        if (used + 1 + length + 1 > sizeof messages)
            break;
        messages[used++] = ' ';
        memcpy(messages + used, text, length + 1);
        used += length;
    }
    const char *values[10] = {
        array_literal_close(names), array_literal_close(intents), array_literal_close(upserted),
        array_literal_close(deleted), duration, lsn_text, array_literal_close(success), array_literal_close(errors),
        work->progress_time[0] ? work->progress_time : NULL, messages,
    };
    return apply_send(engine, apply_sql_progress(engine->tail_piped), 10, values, tail_cb);
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
    const registry *reg = engine->reg;
    size_t r = registry_index(reg, work->entities[e].name);
    size_t count, built_count;
    const char *ids = ids_array(engine, &engine->ids, e, from, to, ID_BUILD, &count);
    const char *built = ids_array(engine, &engine->built_ids, e, from, to, ID_BUILT, &built_count);
    if (count + built_count == 0)
        return true;   /* every one of them is current */
    tail_push(engine, TAIL_APPLY, e);
    if (r == reg->entity_count) {
        /* not in the registry the batch was read with (the daemon never lets
         * that happen: batcher.c): tvsync.apply says so, and the batch fails
         * like any build error */
        const char *values[2] = {work->entities[e].name, ids};
        return apply_send(engine, "SELECT upserted, deleted FROM tvsync.apply($1, $2::text[])", 2, values, tail_cb);
    }
    /* The ids to build, and the ids whose diff built their document (or found
     * it gone) in this transaction, which it takes from pg_temp.tvsync_built.
     * Each apply leaves its counts in a transaction-local setting, so that the
     * progress statement can go out behind it (tail_piped). */
    bool build = count > 0, take = built_count > 0;
    const char *values[2] = {build ? ids : built, built};
    return apply_send(engine,
                      apply_sql_apply(&engine->sql, reg->build_functions[r], reg->tv_tables[r], reg->key_types[r], r,
                                      build, take),
                      build && take ? 2 : 1, values, tail_cb);
}

static bool send_note(apply_engine *engine, size_t n)
{
    const batch_note *note = &engine->work->notes[n];
    char lsn_text[LSN_FORMAT_SIZE];
    lsn_format(note->lsn, lsn_text);
    tail_push(engine, TAIL_NOTE, n);
    if (note->kind == BATCH_NOTE_DEAD_LETTER) {
        const char *values[3] = {lsn_text, note->content, note->reason};
        return apply_send(engine, "INSERT INTO tvsync.dead_letter (lsn, content, reason) VALUES ($1::pg_lsn, $2, $3)",
                          3, values, tail_cb);
    }
    const char *values[2] = {note->entity, lsn_text};
    return apply_send(engine,
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
    return apply_send(engine, "COMMIT", 0, NULL, tail_cb);
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
        apply_connection_lost(engine, outcome->error);
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
            apply_transaction_failed(engine, engine->tail_error);
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
        apply_transaction_failed(engine, engine->tail_error);
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

/* ---- steps ---------------------------------------------------------------- */

/* Sends the next statements of the transaction; on the way picks the next
 * step. false when a send failed. */
static bool step_send(apply_engine *engine)
{
    bool sent = false;
    switch (engine->step) {
    case STEP_BEGIN:
        engine->step = STEP_CASCADE;
        /* fall through */
    case STEP_CASCADE:
        if (!engine->bisecting && !engine->final_only) {
            if (apply_cascade_send(engine, &sent))
                break;
            /* Cascades may have added ids: the range is every pair. */
            engine->range.from = 0;
            engine->range.to = engine->work->id_count;
        }
        engine->step = STEP_APPLY;
        /* fall through */
    case STEP_APPLY:
        sent = send_tail(engine);
        break;
    case STEP_ROLLBACK:
        sent = apply_send_step(engine, "ROLLBACK", 0, NULL);
        break;
    }
    return sent;
}

void apply_run_step(apply_engine *engine)
{
    group_open(engine);
    if (!group_send(engine, step_send(engine)))
        finish(engine);
}

/* ---- retry and bisection ---------------------------------------------- */

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
            /* The content is an intent that would rebuild the id, once it can be. */
            const char *id = batch_entity_id(entity, pair - first);
            char *text = intent_ids_json(entity->name, &id, 1);
            batch_add_dead_letter(work, work->progress_lsn, text, strlen(text), error);
            work->notes[work->note_count - 1].open = false;
            batch_entity_set_error(entity, error);
            log_warning("apply: %s %s fails alone and goes to tvsync.dead_letter: %s", entity->name, text, error);
            free(text);
            return;
        }
        first += entity->id_count;
    }
}

static void reset_counts(batch *work)
{
    for (size_t i = 0; i < work->entity_count; i++)
        work->entities[i].upserted = work->entities[i].deleted = 0;
}

static void retry_cb(evutil_socket_t fd, short events, void *arg)
{
    apply_engine *engine = arg;
    reset_counts(engine->work);
    begin_transaction(engine);
}

void apply_transaction_failed(apply_engine *engine, const char *error)
{
    snprintf(engine->outcome.error, sizeof engine->outcome.error, "%s", error);
    engine->step = STEP_ROLLBACK;
    apply_run_step(engine);
}

static void after_rollback(apply_engine *engine)
{
    batch *work = engine->work;
    if (engine->patch_conflict) {
        /* Not a failure either: again, with full builds (patch_off). */
        engine->patch_conflict = false;
        engine->outcome.error[0] = '\0';
        reset_counts(work);
        begin_transaction(engine);
        return;
    }
    if (engine->not_visible) {
        /* Not a failure: the same transaction again, once the sources are visible. */
        log_debug("apply: a source transaction is not visible yet; waiting for it");
        engine->outcome.error[0] = '\0';
        engine->outcome.visibility_waits++;
        engine->wait_first = true;
        reset_counts(work);
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
    reset_counts(work);
    push_range(engine, 0, work->id_count);
    bisect_next(engine);
}

static void step_done_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    apply_engine *engine = arg;
    if (outcome->connection_lost) {
        apply_connection_lost(engine, outcome->error);
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
        apply_transaction_failed(engine, engine->begin_error);
        return;
    }
    if (!outcome->ok) {
        apply_transaction_failed(engine, outcome->error);
        return;
    }
    if (engine->step == STEP_CASCADE)
        apply_cascade_diff_done(engine, outcome->result);
    apply_run_step(engine);
}

/* ---- the engine ----------------------------------------------------------- */

static void kick_cb(evutil_socket_t fd, short events, void *arg)
{
    apply_engine *engine = arg;
    if (engine->busy && engine->step == STEP_BEGIN && !send_begin(engine))
        finish(engine);
}

apply_engine *apply_engine_new(struct event_base *base, pg_pipeline *conn, int max_retries)
{
    apply_engine *engine = alloc_calloc(1, sizeof *engine);
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
    free(engine->stack);
    apply_cascade_free(engine);
    strbuf_free(&engine->sql);
    strbuf_free(&engine->ids);
    strbuf_free(&engine->built_ids);
    for (size_t i = 0; i < 6; i++)
        strbuf_free(&engine->progress_arrays[i]);
    free(engine->tail);
    free(engine->chunk_last_id);
    free(engine);
}

void apply_engine_set_max_retries(apply_engine *engine, int max_retries)
{
    engine->max_retries = max_retries;
}

void apply_engine_set_patch_min_bytes(apply_engine *engine, long long patch_min_bytes)
{
    engine->patch_min_bytes = patch_min_bytes;
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

    cascade_plan_start(&engine->plan, work, reg->edges, reg->cascade_count, (const char *const *) reg->entities,
                       reg->entity_count);
    engine->group_edges = alloc_array(engine->group_edges, reg->cascade_count + 1, sizeof *engine->group_edges);
    engine->group_slots = alloc_array(engine->group_slots, reg->cascade_count + 1, sizeof *engine->group_slots);

    engine->step = STEP_BEGIN;
    engine->entity_index = 0;
    engine->begin_error[0] = '\0';
    engine->tail_error[0] = '\0';
    engine->tail_count = engine->tail_head = 0;
    apply_cascade_reset_states(engine);
    engine->patch_conflict = engine->patch_off = false;
    engine->wait_first = false;
    /* BEGIN and the statements after it go out from the loop at once (not from
     * here: a failed send would call the caller back before this returns). */
    event_active(engine->kick, EV_TIMEOUT, 0);
    return true;
}
