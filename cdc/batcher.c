/* batcher: applying one batch while the next fills keeps the stream read during
 * an apply; a batch's progress is the end of its last complete source
 * transaction, so each local transaction records exactly one prefix of the log. */
#include "config.h"

#include "cdc/batcher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/apply_chunk.h"
#include "cdc/pump.h"
#include "cdc/session.h"
#include "common/alloc.h"
#include "common/log.h"

/* ---- rebuilds --------------------------------------------------------- */

void batcher_rebuild_add(cdc_daemon *d, const char *entity, const char *after)
{
    for (size_t i = 0; i < d->rebuild_count; i++) {
        if (strcmp(d->rebuilds[i].entity, entity) == 0) {
            free(d->rebuilds[i].after);
            d->rebuilds[i].after = after ? alloc_strdup(after) : NULL;
            return;
        }
    }
    d->rebuilds = alloc_array(d->rebuilds, d->rebuild_count + 1, sizeof *d->rebuilds);
    pending_rebuild *r = &d->rebuilds[d->rebuild_count++];
    snprintf(r->entity, sizeof r->entity, "%s", entity);
    r->after = after ? alloc_strdup(after) : NULL;
}

static void rebuild_chunk_cb(void *arg, bool ok, bool connection_lost, bool finished,
                             const char *last_id, long upserted, long deleted, const char *error)
{
    cdc_daemon *d = arg;
    if (connection_lost) {
        session_fail(d, error ? error : "apply connection lost");
        return;
    }
    pending_rebuild *r = &d->rebuilds[0];
    const char *labels[1] = {r->entity};
    if (!ok) {
        /* It stays in tvsync.cdc_rebuild and resumes with the next session. */
        log_error("rebuild of %s failed, will resume after a reconnect: %s", r->entity, error);
        prom_counter_add(d->metrics.failures_total, labels, 1);
        free(r->after);
        memmove(d->rebuilds, d->rebuilds + 1, (d->rebuild_count - 1) * sizeof *d->rebuilds);
        d->rebuild_count--;
    } else {
        prom_counter_add(d->metrics.rebuild_chunks_total, labels, 1);
        prom_counter_add(d->metrics.rows_upserted_total, labels, (double) upserted);
        prom_counter_add(d->metrics.rows_deleted_total, labels, (double) deleted);
        if (finished) {
            log_info("rebuild of %s finished", r->entity);
            free(r->after);
            memmove(d->rebuilds, d->rebuilds + 1, (d->rebuild_count - 1) * sizeof *d->rebuilds);
            d->rebuild_count--;
        } else {
            free(r->after);
            r->after = alloc_strdup(last_id);
        }
    }
    if (d->state == STATE_STOPPING) {
        pump_finish_stop(d);
        return;
    }
    daemon_schedule_work(d);
}

static void maybe_rebuild(cdc_daemon *d)
{
    if (d->rebuild_count == 0 || !d->engine || apply_engine_busy(d->engine) || d->state != STATE_STREAMING)
        return;
    pending_rebuild *r = &d->rebuilds[0];
    if (!apply_chunk_start(d->engine, r->entity, r->after, d->config->cdc.rebuild_chunk_rows,
                           rebuild_chunk_cb, d))
        session_fail(d, "cannot send a rebuild chunk");
}

/* ---- registries -------------------------------------------------------- */

void batcher_registry_destroy(registry *value)
{
    if (!value)
        return;
    registry_free(value);
    free(value);
}

static void registry_install(cdc_daemon *d, registry *fresh)
{
    /* The batch in flight may still use the old one: it is freed when that batch is done. */
    if (d->reg != d->applying_reg)
        batcher_registry_destroy(d->reg);
    d->reg = fresh;
}

bool batcher_registry_change(cdc_daemon *d, registry *fresh)
{
    /* The stream is not read while one is pending, so there is never a second. */
    batcher_registry_destroy(d->pending_reg);
    d->pending_reg = NULL;
    if (d->filling->id_count == 0) {
        registry_install(d, fresh);
        return true;
    }
    d->pending_reg = fresh;
    return false;
}

bool batcher_registry_take_pending(cdc_daemon *d)
{
    if (!d->pending_reg)
        return true;
    if (d->filling->id_count > 0)
        return false;
    registry_install(d, d->pending_reg);
    d->pending_reg = NULL;
    return true;
}

void batcher_registries_release(cdc_daemon *d)
{
    batcher_registry_destroy(d->pending_reg);
    d->pending_reg = NULL;
    if (d->applying_reg != d->reg)
        batcher_registry_destroy(d->applying_reg);
    d->applying_reg = NULL;
}

/* ---- applying batches ------------------------------------------------- */

static void count_batch_metrics(cdc_daemon *d, const batch *done, const apply_outcome *outcome)
{
    prom_inc(d->metrics.batches_total);
    prom_histogram_observe(d->metrics.apply_duration_seconds, NULL, outcome->duration_seconds);
    for (size_t i = 0; i < done->entity_count; i++) {
        const batch_entity *e = &done->entities[i];
        const char *labels[1] = {e->name};
        if (e->intents)
            prom_counter_add(d->metrics.intents_total, labels, (double) e->intents);
        if (e->upserted)
            prom_counter_add(d->metrics.rows_upserted_total, labels, (double) e->upserted);
        if (e->deleted)
            prom_counter_add(d->metrics.rows_deleted_total, labels, (double) e->deleted);
        if (e->failed || (outcome->attempts > 1 && e->id_count))
            prom_counter_add(d->metrics.failures_total, labels, 1);
    }
    if (outcome->dead_letters)
        prom_counter_add(d->metrics.dead_letters_total, NULL, (double) outcome->dead_letters);
    if (outcome->visibility_waits)
        prom_counter_add(d->metrics.visibility_waits_total, NULL, (double) outcome->visibility_waits);
}

static void batch_applied_cb(void *arg, const apply_outcome *outcome)
{
    cdc_daemon *d = arg;
    d->batch_in_flight = false;
    if (d->applying_reg != d->reg)
        batcher_registry_destroy(d->applying_reg);
    d->applying_reg = NULL;
    if (outcome->connection_lost || !outcome->ok) {
        session_fail(d, outcome->error[0] ? outcome->error : "apply connection lost");
        return;
    }
    batch *done = d->applying;
    count_batch_metrics(d, done, outcome);
    if (done->has_progress) {
        d->origin_progress = done->progress_lsn;
        prom_set(d->metrics.last_applied_lsn, (double) done->progress_lsn);
        for (size_t i = 0; i < done->note_count; i++)
            if (done->notes[i].kind == BATCH_NOTE_REBUILD && !done->notes[i].open) {
                log_info("full rebuild of %s requested at the log's position", done->notes[i].entity);
                batcher_rebuild_add(d, done->notes[i].entity, NULL);
            }
    }
    batch_reset(done);
    /* A keepalive that came while this batch was applied was not confirmed then. */
    pump_confirm_idle(d);
    d->rebuild_turn = d->rebuild_count > 0;
    if (d->state == STATE_STOPPING) {
        if (d->filling->has_progress)
            batcher_maybe_apply(d, true);
        else
            pump_finish_stop(d);
        return;
    }
    daemon_schedule_work(d);
}

/* The filling batch reached a configured bound: read no more until it is applied. */
bool batcher_full(const cdc_daemon *d)
{
    return d->filling->transactions >= (size_t) d->config->cdc.batch_max_transactions ||
           d->filling->id_count >= (size_t) d->config->cdc.batch_max_ids;
}

static bool batch_ready(const cdc_daemon *d, bool drained)
{
    const batch *f = d->filling;
    if ((d->held_active || d->pending_reg || batcher_full(d)) && f->id_count > 0)
        return true;   /* full or at a registry change, possibly in the middle of a source transaction */
    if (!f->has_progress)
        return false;
    if (drained || d->state == STATE_STOPPING)
        return true;
    if (batcher_full(d))
        return true;
    return daemon_now_unix_us() - f->oldest_commit_unix_us >= (int64_t) d->config->cdc.batch_max_delay_ms * 1000;
}

void batcher_maybe_apply(cdc_daemon *d, bool drained)
{
    if (!d->engine || d->batch_in_flight || apply_engine_busy(d->engine))
        return;
    if (d->rebuild_turn && d->rebuild_count > 0 && d->state == STATE_STREAMING) {
        /* Live batches and rebuild chunks take turns: a full rebuild neither
         * starves under load nor holds live intents for more than one chunk. */
        d->rebuild_turn = false;
        maybe_rebuild(d);
        return;
    }
    if (!batch_ready(d, drained)) {
        if (d->filling->has_progress && !evtimer_pending(d->batch_timer, NULL)) {
            struct timeval delay = daemon_ms_to_timeval(d->config->cdc.batch_max_delay_ms);
            evtimer_add(d->batch_timer, &delay);
        }
        if (!batch_has_work(d->filling))
            maybe_rebuild(d);
        return;
    }
    batch *next = d->applying;
    d->applying = d->filling;
    d->filling = next;
    batch_move_open(d->applying, d->filling);
    d->batch_in_flight = true;
    d->applying_reg = d->reg;
    if (!apply_engine_start(d->engine, d->applying, d->applying_reg, batch_applied_cb, d)) {
        d->batch_in_flight = false;
        d->applying_reg = NULL;
        session_fail(d, "cannot start an apply transaction");
    }
}

void batcher_timer_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    batcher_maybe_apply(d, false);
}

