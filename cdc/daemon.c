/* daemon: one libevent loop holds the replication socket, the apply and the
 * misc (heartbeat, slot statistics, registry) connections, timers and signals. */
#include "config.h"

#include "cdc/daemon.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "common/alloc.h"
#include "cdc/apply.h"
#include "cdc/batch.h"
#include "cdc/intent.h"
#include "cdc/metrics.h"
#include "common/pg_pipeline.h"
#include "cdc/registry.h"
#include "cdc/stream_protocol.h"
#include "cdc/wal2json.h"
#include "common/exit_codes.h"
#include "common/http_endpoint.h"
#include "common/log.h"
#include "common/lsn.h"
#include "common/notify.h"
#include "common/pg.h"

#define SLOT_STATS_INTERVAL_MS 2000
#define DRAIN_TIMEOUT_MS 5000
/* Records handled per callback before other events get a turn. */
#define PUMP_BUDGET 2000

typedef enum daemon_state {
    STATE_DISCONNECTED,
    STATE_STREAMING,
    STATE_STOPPING,   /* SIGTERM: finishing the batch */
    STATE_DRAINING,   /* CopyDone sent, reading what is left */
} daemon_state;

typedef enum session_result {
    SESSION_OK,
    SESSION_RETRY,
    SESSION_FATAL_SLOT,
    SESSION_FATAL,
} session_result;

/* A session setup: the blocking libpq calls (connects, checks, START_REPLICATION) run
 * on a thread of their own, so the loop keeps answering /metrics, /health and signals
 * meanwhile; the thread works only on this struct and wakes the loop through a pipe. */
typedef struct session_setup {
    char *url, *slot;          /* copies: a reload may change the configuration meanwhile */
    int connect_timeout_ms;
    bool generic_plans;
    bool built_table;          /* the apply connection has pg_temp.tvsync_built */
    int wake_fd;
    session_result outcome;
    char error[512];
    PGconn *apply, *misc, *stream;
    lsn_t progress;
    registry reg;
    bool have_reg;
    PGresult *rebuilds;        /* tvsync.cdc_rebuild rows */
} session_setup;

typedef struct pending_rebuild {
    char entity[INTENT_ENTITY_MAX + 1];
    char after[INTENT_UUID_TEXT_SIZE];   /* "" = from the start */
} pending_rebuild;

typedef struct cdc_daemon {
    const cli_state *cli;
    tvsync_config *config;
    struct event_base *base;
    cdc_metrics metrics;
    http_endpoint *http;
    int exit_code;
    daemon_state state;
    bool ready_sent;
    bool stop_requested;

    struct event *signal_term, *signal_int, *signal_hup;
    struct event *status_timer, *batch_timer, *heartbeat_timer, *stats_timer;
    struct event *reconnect_timer, *watchdog_timer, *drain_timer, *work_event;

    PGconn *stream;
    struct event *stream_read, *stream_write;
    bool reading_paused;       /* batch full: let the socket, not libpq's buffer, hold the rest */
    pg_pipeline *apply_conn;
    apply_engine *engine;
    pg_pipeline *misc;
    pg_backoff backoff;
    session_setup *setup;      /* running on setup_thread, or NULL */
    pthread_t setup_thread;
    int setup_pipe[2];
    struct event *setup_event;

    registry reg;
    registry next_reg;
    bool next_reg_ready;

    batch batches[2];
    batch *filling, *applying;
    bool batch_in_flight;

    lsn_t origin_progress;     /* durably applied: end LSN of the last applied source transaction */
    lsn_t idle_lsn;            /* end of the last source transaction that needed no apply */
    lsn_t keepalive_wal_end;
    lsn_t received_lsn;

    bool in_transaction;
    bool transaction_skip;     /* end LSN <= origin progress: applied before */
    bool transaction_had_work;
    lsn_t transaction_end;
    char transaction_time[WAL2JSON_TIMESTAMP_SIZE];
    int64_t transaction_commit_us;
    uint32_t transaction_xid;

    bool held_active;          /* an ids intent not yet all in the batch (batch full) */
    intent held;
    size_t held_offset;

    pending_rebuild *rebuilds;
    size_t rebuild_count;
    bool rebuild_turn;         /* a chunk runs before the next live batch */

    double heartbeat_rtt_seconds;
    bool have_heartbeat;
    long long lag_bytes;
} cdc_daemon;

static void stream_pump(cdc_daemon *d);
static void maybe_apply(cdc_daemon *d, bool drained);
static void session_fail(cdc_daemon *d, const char *reason);
static void finish_stop(cdc_daemon *d);

static int64_t now_unix_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

static struct timeval ms_to_timeval(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

static void schedule_work(cdc_daemon *d)
{
    event_active(d->work_event, 0, 0);
}

/* ---- lag -------------------------------------------------------------- */

/* Age of the oldest committed source transaction not applied yet; when none is
 * pending, the last heartbeat's round trip. */
static double lag_seconds(const cdc_daemon *d)
{
    int64_t oldest = 0;
    if (d->batch_in_flight && d->applying->oldest_commit_unix_us)
        oldest = d->applying->oldest_commit_unix_us;
    else if (d->filling->oldest_commit_unix_us)
        oldest = d->filling->oldest_commit_unix_us;
    if (oldest) {
        double lag = (double) (now_unix_us() - oldest) / 1e6;
        return lag > 0 ? lag : 0;
    }
    return d->have_heartbeat ? d->heartbeat_rtt_seconds : 0;
}

/* ---- feedback --------------------------------------------------------- */

static bool stream_idle(const cdc_daemon *d)
{
    return !d->in_transaction && !d->held_active && !d->batch_in_flight && !batch_has_work(d->filling);
}

static void send_status(cdc_daemon *d, bool reply_requested)
{
    if (!d->stream)
        return;
    lsn_t flush = d->origin_progress;
    if (stream_idle(d)) {
        /* Nothing pending: everything the server sent is done with. */
        if (d->idle_lsn > flush)
            flush = d->idle_lsn;
        if (d->keepalive_wal_end > flush)
            flush = d->keepalive_wal_end;
    }
    lsn_t write = d->received_lsn > flush ? d->received_lsn : flush;
    unsigned char message[STREAM_STATUS_UPDATE_SIZE];
    stream_status_update_build(write, flush, flush, stream_now(), reply_requested, message);
    if (PQputCopyData(d->stream, (const char *) message, sizeof message) <= 0) {
        session_fail(d, PQerrorMessage(d->stream));
        return;
    }
    int flushed = PQflush(d->stream);
    if (flushed == 1)
        event_add(d->stream_write, NULL);
    else if (flushed < 0)
        session_fail(d, PQerrorMessage(d->stream));
}

static void status_timer_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    if (d->state == STATE_STREAMING || d->state == STATE_STOPPING)
        send_status(d, false);
}

static void stream_write_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    if (!d->stream)
        return;
    int flushed = PQflush(d->stream);
    if (flushed == 1)
        event_add(d->stream_write, NULL);
    else if (flushed < 0)
        session_fail(d, PQerrorMessage(d->stream));
}

/* ---- rebuilds --------------------------------------------------------- */

static void rebuild_add(cdc_daemon *d, const char *entity, const char *after)
{
    for (size_t i = 0; i < d->rebuild_count; i++) {
        if (strcmp(d->rebuilds[i].entity, entity) == 0) {
            snprintf(d->rebuilds[i].after, sizeof d->rebuilds[i].after, "%s", after ? after : "");
            return;
        }
    }
    d->rebuilds = alloc_array(d->rebuilds, d->rebuild_count + 1, sizeof *d->rebuilds);
    pending_rebuild *r = &d->rebuilds[d->rebuild_count++];
    snprintf(r->entity, sizeof r->entity, "%s", entity);
    snprintf(r->after, sizeof r->after, "%s", after ? after : "");
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
        memmove(d->rebuilds, d->rebuilds + 1, (d->rebuild_count - 1) * sizeof *d->rebuilds);
        d->rebuild_count--;
    } else {
        prom_counter_add(d->metrics.rebuild_chunks_total, labels, 1);
        prom_counter_add(d->metrics.rows_upserted_total, labels, (double) upserted);
        prom_counter_add(d->metrics.rows_deleted_total, labels, (double) deleted);
        if (finished) {
            log_info("rebuild of %s finished", r->entity);
            memmove(d->rebuilds, d->rebuilds + 1, (d->rebuild_count - 1) * sizeof *d->rebuilds);
            d->rebuild_count--;
        } else {
            snprintf(r->after, sizeof r->after, "%s", last_id);
        }
    }
    if (d->state == STATE_STOPPING) {
        finish_stop(d);
        return;
    }
    schedule_work(d);
}

static void maybe_rebuild(cdc_daemon *d)
{
    if (d->rebuild_count == 0 || !d->engine || apply_engine_busy(d->engine) || d->state != STATE_STREAMING)
        return;
    pending_rebuild *r = &d->rebuilds[0];
    if (!apply_engine_rebuild_chunk(d->engine, r->entity, r->after[0] ? r->after : NULL,
                                    d->config->cdc.rebuild_chunk_rows, rebuild_chunk_cb, d))
        session_fail(d, "cannot send a rebuild chunk");
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
                rebuild_add(d, done->notes[i].entity, NULL);
            }
    }
    batch_reset(done);
    d->rebuild_turn = d->rebuild_count > 0;
    if (d->next_reg_ready) {
        registry_free(&d->reg);
        d->reg = d->next_reg;
        d->next_reg_ready = false;
        memset(&d->next_reg, 0, sizeof d->next_reg);
    }
    if (d->state == STATE_STOPPING) {
        if (d->filling->has_progress)
            maybe_apply(d, true);
        else
            finish_stop(d);
        return;
    }
    schedule_work(d);
}

/* The filling batch reached a configured bound: read no more until it is applied. */
static bool batch_full(const cdc_daemon *d)
{
    return d->filling->transactions >= (size_t) d->config->cdc.batch_max_transactions ||
           d->filling->id_count >= (size_t) d->config->cdc.batch_max_ids;
}

static bool batch_ready(const cdc_daemon *d, bool drained)
{
    const batch *f = d->filling;
    if ((d->held_active || batch_full(d)) && f->id_count > 0)
        return true;   /* full, possibly in the middle of a source transaction */
    if (!f->has_progress)
        return false;
    if (drained || d->state == STATE_STOPPING)
        return true;
    if (f->transactions >= (size_t) d->config->cdc.batch_max_transactions ||
        f->id_count >= (size_t) d->config->cdc.batch_max_ids)
        return true;
    return now_unix_us() - f->oldest_commit_unix_us >= (int64_t) d->config->cdc.batch_max_delay_ms * 1000;
}

static void maybe_apply(cdc_daemon *d, bool drained)
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
            struct timeval delay = ms_to_timeval(d->config->cdc.batch_max_delay_ms);
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
    if (!apply_engine_start(d->engine, d->applying, &d->reg, batch_applied_cb, d)) {
        d->batch_in_flight = false;
        session_fail(d, "cannot start an apply transaction");
    }
}

static void batch_timer_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    maybe_apply(d, false);
}

/* ---- reading the stream ----------------------------------------------- */

/* The batch that gets work from the current source transaction must wait until
 * that transaction is visible: its commit record can reach us before the
 * committing backend has left the proc array. */
static void note_transaction_xid(cdc_daemon *d)
{
    batch *f = d->filling;
    if (f->xid_count == 0 || f->xids[f->xid_count - 1] != d->transaction_xid)
        batch_add_xid(f, d->transaction_xid);
}

/* Moves the held intent's ids into the batch; false when the batch is full. */
static bool held_consume(cdc_daemon *d)
{
    size_t remaining = d->held.id_count - d->held_offset;
    size_t taken = batch_add_ids(d->filling, d->held.entity, d->held.ids + d->held_offset, remaining,
                                 (size_t) d->config->cdc.batch_max_ids);
    if (taken > 0)
        note_transaction_xid(d);
    d->held_offset += taken;
    if (d->held_offset < d->held.id_count)
        return false;
    intent_free(&d->held);
    d->held_active = false;
    return true;
}

static void handle_message(cdc_daemon *d, const wal2json_record *record)
{
    if (!record->transactional || !d->in_transaction || d->transaction_skip)
        return;  /* non-transactional messages even survive rollbacks: never intents */
    if (strcmp(record->prefix, "tvsync") != 0)
        return;
    intent value;
    char reason[256];
    if (!intent_parse(record->content, record->content_length, &value, reason, sizeof reason)) {
        char lsn_text[LSN_FORMAT_SIZE];
        log_warning("malformed intent at %s goes to tvsync.dead_letter: %s", lsn_format(record->lsn, lsn_text), reason);
        batch_add_dead_letter(d->filling, record->lsn, record->content, record->content_length, reason);
        d->transaction_had_work = true;
        return;
    }
    if (value.kind == INTENT_HEARTBEAT) {
        d->heartbeat_rtt_seconds = (double) (now_unix_us() - value.heartbeat_unix_us) / 1e6;
        if (d->heartbeat_rtt_seconds < 0)
            d->heartbeat_rtt_seconds = 0;
        d->have_heartbeat = true;
        prom_set(d->metrics.heartbeat_round_trip_seconds, d->heartbeat_rtt_seconds);
        intent_free(&value);
        return;
    }
    if (!registry_has_entity(&d->reg, value.entity)) {
        char message[128 + INTENT_ENTITY_MAX];
        snprintf(message, sizeof message, "unknown entity \"%s\"", value.entity);
        log_warning("intent for an unknown entity \"%s\" goes to tvsync.dead_letter", value.entity);
        batch_add_dead_letter(d->filling, record->lsn, record->content, record->content_length, message);
        d->transaction_had_work = true;
        intent_free(&value);
        return;
    }
    d->transaction_had_work = true;
    note_transaction_xid(d);
    if (value.kind == INTENT_REBUILD) {
        batch_add_rebuild(d->filling, record->lsn, value.entity);
        intent_free(&value);
        return;
    }
    d->held = value;
    d->held_offset = 0;
    d->held_active = true;
    held_consume(d);
}

static void handle_record(cdc_daemon *d, const char *payload, size_t length, lsn_t data_start)
{
    wal2json_record record;
    char error[256];
    if (!wal2json_parse(payload, length, &record, error, sizeof error)) {
        char lsn_text[LSN_FORMAT_SIZE];
        log_warning("unreadable wal2json output at %s: %s", lsn_format(data_start, lsn_text), error);
        if (d->in_transaction && !d->transaction_skip) {
            batch_add_dead_letter(d->filling, data_start, payload, length, error);
            d->transaction_had_work = true;
        }
        return;
    }
    switch (record.action) {
    case WAL2JSON_BEGIN:
        d->in_transaction = true;
        d->transaction_end = record.next_lsn;
        /* Exactly once: a transaction at or before the origin's progress was applied. */
        d->transaction_skip = record.next_lsn <= d->origin_progress;
        d->transaction_had_work = false;
        d->transaction_xid = record.xid;
        snprintf(d->transaction_time, sizeof d->transaction_time, "%s", record.has_timestamp ? record.timestamp : "");
        d->transaction_commit_us = record.has_timestamp ? record.timestamp_unix_us : now_unix_us();
        break;
    case WAL2JSON_MESSAGE:
        handle_message(d, &record);
        break;
    case WAL2JSON_COMMIT:
        if (!d->in_transaction)
            break;
        d->in_transaction = false;
        if (d->transaction_skip || (!d->transaction_had_work && !batch_has_work(d->filling))) {
            if (record.next_lsn > d->idle_lsn)
                d->idle_lsn = record.next_lsn;
            break;
        }
        batch_commit_transaction(d->filling, record.next_lsn, d->transaction_time,
                                 d->transaction_commit_us, d->transaction_had_work);

        break;
    case WAL2JSON_OTHER:
        break;
    }
    wal2json_record_free(&record);
}

static void handle_copy_data(cdc_daemon *d, const char *buffer, int length)
{
    stream_message message;
    if (!stream_message_parse(buffer, (size_t) length, &message)) {
        log_warning("ignoring an unknown replication message (type %d, %d bytes)", buffer[0], length);
        return;
    }
    if (message.kind == STREAM_MESSAGE_KEEPALIVE) {
        if (message.wal_end > d->keepalive_wal_end)
            d->keepalive_wal_end = message.wal_end;
        if (message.reply_requested)
            send_status(d, false);
        return;
    }
    if (message.data_start > d->received_lsn)
        d->received_lsn = message.data_start;
    handle_record(d, message.payload, message.payload_length, message.data_start);
}

/* While the batch is full, PQconsumeInput would pull the rest of a huge
 * transaction into libpq's buffer: stop watching the socket until there is room. */
static void pause_reading(cdc_daemon *d)
{
    if (!d->reading_paused && d->stream_read) {
        event_del(d->stream_read);
        d->reading_paused = true;
    }
}

static void resume_reading(cdc_daemon *d)
{
    if (d->reading_paused && d->stream_read) {
        event_add(d->stream_read, NULL);
        d->reading_paused = false;
    }
}

static void stream_pump(cdc_daemon *d)
{
    for (int budget = PUMP_BUDGET; budget > 0; budget--) {
        if (d->state != STATE_STREAMING)
            return;
        if (d->held_active && !held_consume(d)) {
            pause_reading(d);
            maybe_apply(d, true);   /* full: apply, then go on */
            return;
        }
        if (batch_full(d)) {
            maybe_apply(d, false);
            if (batch_full(d)) {    /* the previous batch is still being applied */
                pause_reading(d);
                return;
            }
        }
        resume_reading(d);
        char *buffer = NULL;
        int length = PQgetCopyData(d->stream, &buffer, 1);
        if (length == 0) {
            maybe_apply(d, true);
            return;
        }
        if (length == -1) {
            session_fail(d, "the server ended the replication stream");
            return;
        }
        if (length < 0) {
            session_fail(d, PQerrorMessage(d->stream));
            return;
        }
        handle_copy_data(d, buffer, length);
        PQfreemem(buffer);
    }
    maybe_apply(d, false);
    schedule_work(d);  /* more may be buffered: continue after other events */
}

static void drain(cdc_daemon *d)
{
    for (;;) {
        char *buffer = NULL;
        int length = PQgetCopyData(d->stream, &buffer, 1);
        if (length > 0) {
            PQfreemem(buffer);
            continue;
        }
        if (length == 0)
            return;  /* wait for more */
        break;
    }
    PGresult *result;
    while ((result = PQgetResult(d->stream)) != NULL)
        PQclear(result);
    log_info("replication stream closed; applied up to the origin's progress");
    event_base_loopbreak(d->base);
}

static void stream_read_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    if (!d->stream)
        return;
    if (!PQconsumeInput(d->stream)) {
        if (d->state == STATE_DRAINING) {
            event_base_loopbreak(d->base);
            return;
        }
        session_fail(d, PQerrorMessage(d->stream));
        return;
    }
    if (d->state == STATE_DRAINING)
        drain(d);
    else
        stream_pump(d);
}

static void work_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    if (d->state == STATE_STREAMING && d->stream)
        stream_pump(d);
}

/* ---- sessions --------------------------------------------------------- */

static void session_close(cdc_daemon *d)
{
    if (d->stream_read) {
        event_free(d->stream_read);
        d->stream_read = NULL;
    }
    if (d->stream_write) {
        event_free(d->stream_write);
        d->stream_write = NULL;
    }
    if (d->stream) {
        PQfinish(d->stream);
        d->stream = NULL;
    }
    apply_engine_free(d->engine);
    d->engine = NULL;
    pg_pipeline_free(d->apply_conn);
    d->apply_conn = NULL;
    pg_pipeline_free(d->misc);
    d->misc = NULL;
    /* Whatever was not applied comes again from the origin's progress. */
    batch_free(&d->batches[0]);
    batch_free(&d->batches[1]);
    d->filling = &d->batches[0];
    d->applying = &d->batches[1];
    d->batch_in_flight = false;
    if (d->held_active)
        intent_free(&d->held);
    d->held_active = false;
    d->in_transaction = false;
    free(d->rebuilds);
    d->rebuilds = NULL;
    d->rebuild_count = 0;
    d->keepalive_wal_end = d->idle_lsn = d->received_lsn = LSN_INVALID;
    evtimer_del(d->batch_timer);
    prom_set(d->metrics.streaming, 0);
}

static bool sqlstate_is(const PGresult *result, const char *code)
{
    const char *state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
    return state && strcmp(state, code) == 0;
}

static void slot_missing_message(const char *slot)
{
    log_error("replication slot \"%s\" does not exist: run tvsync-slot create", slot);
}

static void slot_lost_message(const char *slot)
{
    log_error("replication slot \"%s\" lost its WAL (wal_status lost): the server removed WAL it had not "
              "decoded, so changes were missed; recover with: tvsync-slot drop && tvsync-slot create "
              "(create rebuilds every tv_* table)", slot);
}

/* Runs one blocking statement during session setup; false with error[] set. */
static PGresult *setup_query(PGconn *conn, const char *sql, int count, const char *const *values,
                             ExecStatusType expected, char *error, size_t error_size)
{
    /* Walsender connections speak the simple protocol only. */
    PGresult *result = count == 0 ? PQexec(conn, sql) : PQexecParams(conn, sql, count, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(result) != expected) {
        pg_error_line(conn, result, error, error_size);
        return result;
    }
    return result;
}

static session_result classify(PGconn *conn, PGresult *result)
{
    if (sqlstate_is(result, "55006"))   /* object in use: the previous session is still going away */
        return SESSION_RETRY;
    return pg_error_classify(conn, result) == PG_ERROR_RETRYABLE ? SESSION_RETRY : SESSION_FATAL;
}

/* Sets up the three connections and starts streaming. Blocking, with the
 * connect timeout: it runs at start and between reconnect attempts, when
 * nothing else on the loop has work that could wait on it. */
static session_result setup_blocking(session_setup *su)
{
    char *error = su->error;
    size_t error_size = sizeof su->error;
    const char *slot = su->slot;
    const char *slot_param[1] = {slot};
    pg_error_kind kind;
    session_result outcome = SESSION_FATAL;
    PGresult *result = NULL;
    PGconn *apply = NULL, *misc = NULL, *stream = NULL;

    apply = pg_connect(su->url, "tvsync-cdc", PG_CONNECT_NORMAL, su->connect_timeout_ms,
                       &kind, error, error_size);
    if (!apply)
        return kind == PG_ERROR_RETRYABLE ? SESSION_RETRY : SESSION_FATAL;

    result = setup_query(apply,
                         "SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1), "
                         "(SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1), "
                         "pg_replication_origin_oid($1) IS NOT NULL, pg_replication_origin_oid($1)",
                         1, slot_param, PGRES_TUPLES_OK, error, error_size);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        outcome = classify(apply, result);
        goto fail;
    }
    if (strcmp(PQgetvalue(result, 0, 0), "0") == 0) {
        slot_missing_message(slot);
        snprintf(error, error_size, "replication slot \"%s\" does not exist", slot);
        outcome = SESSION_FATAL_SLOT;
        goto fail;
    }
    if (strcmp(PQgetvalue(result, 0, 1), "lost") == 0) {
        slot_lost_message(slot);
        snprintf(error, error_size, "replication slot \"%s\" lost its WAL", slot);
        outcome = SESSION_FATAL_SLOT;
        goto fail;
    }
    if (strcmp(PQgetvalue(result, 0, 2), "t") != 0) {
        log_error("replication origin \"%s\" does not exist: run tvsync-slot create", slot);
        snprintf(error, error_size, "replication origin \"%s\" does not exist", slot);
        outcome = SESSION_FATAL_SLOT;
        goto fail;
    }
    /* Our own apply transactions carry this origin: wal2json leaves them out of the
     * stream (filter-origins takes origin ids), so applying never feeds the stream. */
    char origin_id[16];
    snprintf(origin_id, sizeof origin_id, "%ld", strtol(PQgetvalue(result, 0, 3), NULL, 10));
    PQclear(result);

    /* No JIT compilation in the apply loop: a batch of a few thousand ids can pass
     * jit_above_cost, and compiling costs more than the statement runs. Generic plans
     * (cdc.generic_plans): each prepared apply statement is planned once per
     * connection; a custom plan per batch costs 0.5-0.8 ms a statement, more than
     * most statements run. A generic plan is made once, with the sizes of that
     * moment, and kept: no sequential scan where an index serves (every apply
     * statement looks rows up by id), or a plan made while a table was small (as
     * pg_temp.tvsync_built is just after its TRUNCATE) would read the table whole
     * however large it grows. */
    const char *plan_mode[2] = {su->generic_plans ? "force_generic_plan" : "auto", su->generic_plans ? "off" : "on"};
    result = setup_query(apply,
                         "SELECT set_config('jit', 'off', false), set_config('plan_cache_mode', $1, false), "
                         "set_config('enable_seqscan', $2, false)",
                         2, plan_mode, PGRES_TUPLES_OK, error, error_size);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        outcome = classify(apply, result);
        goto fail;
    }
    PQclear(result);
    /* Where a diff keeps the documents it built for the apply. Without the right to
     * create temporary tables the apply builds them again; slower, not wrong. */
    char temp_error[256];
    result = setup_query(apply, APPLY_BUILT_TABLE_SQL, 0, NULL, PGRES_COMMAND_OK, temp_error, sizeof temp_error);
    su->built_table = PQresultStatus(result) == PGRES_COMMAND_OK;
    if (!su->built_table)
        log_warning("cannot create the temporary table tvsync_built (%s); each batch builds its changed "
                    "documents twice: GRANT TEMPORARY ON DATABASE to the role tvsync-cdc connects as", temp_error);
    PQclear(result);
    result = setup_query(apply, "SELECT pg_replication_origin_session_setup($1)", 1, slot_param,
                         PGRES_TUPLES_OK, error, error_size);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        outcome = classify(apply, result);
        goto fail;
    }
    PQclear(result);
    result = setup_query(apply, "SELECT pg_replication_origin_progress($1, true)", 1, slot_param,
                         PGRES_TUPLES_OK, error, error_size);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        outcome = classify(apply, result);
        goto fail;
    }
    lsn_t progress = LSN_INVALID;
    if (!PQgetisnull(result, 0, 0) && !lsn_parse(PQgetvalue(result, 0, 0), &progress)) {
        snprintf(error, error_size, "unexpected origin progress \"%s\"", PQgetvalue(result, 0, 0));
        goto fail;
    }
    PQclear(result);

    result = setup_query(apply, REGISTRY_QUERY, 0, NULL, PGRES_TUPLES_OK, error, error_size);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        outcome = classify(apply, result);
        goto fail;
    }
    if (!registry_from_result(result, &su->reg)) {
        snprintf(error, error_size, "cannot read the entity registry");
        goto fail;
    }
    su->have_reg = true;
    PQclear(result);

    result = setup_query(apply, "SELECT entity, after_id FROM tvsync.cdc_rebuild ORDER BY requested_lsn", 0, NULL,
                         PGRES_TUPLES_OK, error, error_size);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        outcome = classify(apply, result);
        goto fail;
    }
    su->rebuilds = result;   /* the loop adds them (rebuild_add) */
    result = NULL;

    misc = pg_connect(su->url, "tvsync-cdc misc", PG_CONNECT_NORMAL, su->connect_timeout_ms,
                      &kind, error, error_size);
    if (!misc) {
        outcome = kind == PG_ERROR_RETRYABLE ? SESSION_RETRY : SESSION_FATAL;
        goto fail;
    }
    stream = pg_connect(su->url, "tvsync-cdc", PG_CONNECT_REPLICATION, su->connect_timeout_ms,
                        &kind, error, error_size);
    if (!stream) {
        outcome = kind == PG_ERROR_RETRYABLE ? SESSION_RETRY : SESSION_FATAL;
        goto fail;
    }
    result = setup_query(stream, "IDENTIFY_SYSTEM", 0, NULL, PGRES_TUPLES_OK, error, error_size);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        outcome = classify(stream, result);
        goto fail;
    }
    PQclear(result);
    char *quoted = pg_quote_identifier(stream, slot);
    if (!quoted) {
        snprintf(error, error_size, "cannot quote the slot name");
        goto fail;
    }
    char command[512], lsn_text[LSN_FORMAT_SIZE];
    snprintf(command, sizeof command,
             "START_REPLICATION SLOT %s LOGICAL %s (\"format-version\" '2', \"include-transaction\" 'true', "
             "\"include-xids\" 'true', "
             "\"include-lsn\" 'true', \"include-timestamp\" 'true', \"actions\" '', \"add-msg-prefixes\" 'tvsync', "
             "\"filter-origins\" '%s')",
             quoted, lsn_format(progress, lsn_text), origin_id);
    PQfreemem(quoted);
    result = PQexec(stream, command);
    if (PQresultStatus(result) != PGRES_COPY_BOTH) {
        pg_error_line(stream, result, error, error_size);
        if (sqlstate_is(result, "42704")) {
            slot_missing_message(slot);
            outcome = SESSION_FATAL_SLOT;
        } else if (strstr(error, "can no longer get changes") || strstr(error, "invalidated")) {
            slot_lost_message(slot);
            outcome = SESSION_FATAL_SLOT;
        } else {
            outcome = classify(stream, result);
        }
        goto fail;
    }
    PQclear(result);
    result = NULL;
    if (PQsetnonblocking(stream, 1) != 0) {
        snprintf(error, error_size, "cannot make the replication connection non-blocking");
        outcome = SESSION_RETRY;
        goto fail;
    }

    su->apply = apply;
    su->misc = misc;
    su->stream = stream;
    su->progress = progress;
    return SESSION_OK;

fail:
    PQclear(result);
    if (apply)
        PQfinish(apply);
    if (misc)
        PQfinish(misc);
    if (stream)
        PQfinish(stream);
    return outcome;
}

/* The loop's half of a session: the connections the setup thread made go onto
 * the loop, with the registry and the pending rebuilds it read. */
static session_result setup_finish(cdc_daemon *d, session_setup *su, char *error, size_t error_size)
{
    const tvsync_config *c = d->config;
    const char *slot = su->slot;
    char lsn_text[LSN_FORMAT_SIZE];
    lsn_t progress = su->progress;
    session_result outcome = SESSION_RETRY;
    registry_free(&d->reg);
    d->reg = su->reg;
    su->have_reg = false;
    for (int row = 0; su->rebuilds && row < PQntuples(su->rebuilds); row++)
        rebuild_add(d, PQgetvalue(su->rebuilds, row, 0),
                    PQgetisnull(su->rebuilds, row, 1) ? NULL : PQgetvalue(su->rebuilds, row, 1));
    PGconn *apply = su->apply, *misc = su->misc, *stream = su->stream;
    su->apply = su->misc = su->stream = NULL;
    d->apply_conn = pg_pipeline_new(d->base, apply, "apply connection");
    apply = NULL;
    d->misc = pg_pipeline_new(d->base, misc, "misc connection");
    misc = NULL;
    if (!d->apply_conn || !d->misc) {
        snprintf(error, error_size, "cannot register the connections on the event loop");
        outcome = SESSION_RETRY;
        goto fail;
    }
    d->engine = apply_engine_new(d->base, d->apply_conn, c->cdc.max_retries);
    apply_engine_set_built_table(d->engine, su->built_table);
    d->stream = stream;
    stream = NULL;
    d->stream_read = event_new(d->base, PQsocket(d->stream), EV_READ | EV_PERSIST, stream_read_cb, d);
    d->reading_paused = false;
    d->stream_write = event_new(d->base, PQsocket(d->stream), EV_WRITE, stream_write_cb, d);
    event_add(d->stream_read, NULL);
    d->origin_progress = progress;
    d->state = STATE_STREAMING;
    prom_set(d->metrics.streaming, 1);
    prom_set(d->metrics.last_applied_lsn, (double) progress);
    log_info("streaming slot \"%s\" from %s (origin progress)", slot, lsn_format(progress, lsn_text));
    return SESSION_OK;

fail:
    if (apply)
        PQfinish(apply);
    if (misc)
        PQfinish(misc);
    if (stream)
        PQfinish(stream);
    session_close(d);
    return outcome;
}

static void schedule_reconnect(cdc_daemon *d, const char *reason)
{
    int delay = pg_backoff_next_ms(&d->backoff);
    log_warning("reconnecting in %d ms (attempt %d): %s", delay, d->backoff.attempt, reason);
    struct timeval tv = ms_to_timeval(delay);
    evtimer_add(d->reconnect_timer, &tv);
}

static void fatal_exit(cdc_daemon *d, int code)
{
    d->exit_code = code;
    event_base_loopbreak(d->base);
}

static void setup_free(session_setup *su)
{
    if (!su)
        return;
    if (su->apply)
        PQfinish(su->apply);
    if (su->misc)
        PQfinish(su->misc);
    if (su->stream)
        PQfinish(su->stream);
    if (su->have_reg)
        registry_free(&su->reg);
    PQclear(su->rebuilds);
    free(su->url);
    free(su->slot);
    free(su);
}

static void *setup_thread_main(void *arg)
{
    session_setup *su = arg;
    su->outcome = setup_blocking(su);
    char done = 1;
    while (write(su->wake_fd, &done, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

/* What a finished setup leads to: streaming, another attempt later, or exit. */
static void session_opened(cdc_daemon *d, session_result outcome, const char *error)
{
    switch (outcome) {
    case SESSION_OK:
        pg_backoff_reset(&d->backoff);
        if (!d->ready_sent) {
            notify_ready();
            d->ready_sent = true;
        }
        schedule_work(d);
        break;
    case SESSION_RETRY:
        schedule_reconnect(d, error);
        break;
    case SESSION_FATAL_SLOT:
        fatal_exit(d, TVSYNC_EXIT_SLOT);
        break;
    case SESSION_FATAL:
        if (d->ready_sent) {
            /* It worked before: a server coming back can refuse for a while in ways
             * that look permanent (recovery, a restarted pooler); keep trying. */
            schedule_reconnect(d, error);
            break;
        }
        log_error("cannot stream: %s", error);
        fatal_exit(d, TVSYNC_EXIT_DATABASE);
        break;
    }
}

/* A setup that ended: its connections onto the loop, then what follows. */
static void setup_complete(cdc_daemon *d, session_setup *su)
{
    char error[512];
    snprintf(error, sizeof error, "%s", su->error);
    session_result outcome = su->outcome == SESSION_OK ? setup_finish(d, su, error, sizeof error) : su->outcome;
    setup_free(su);
    session_opened(d, outcome, error);
}

/* The setup thread ended: join it and take its connections onto the loop. */
static void setup_done_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    char byte;
    while (read(fd, &byte, 1) < 0 && errno == EINTR)
        ;
    if (!d->setup)
        return;
    pthread_join(d->setup_thread, NULL);
    session_setup *su = d->setup;
    d->setup = NULL;
    if (d->stop_requested) {
        setup_free(su);
        event_base_loopbreak(d->base);
        return;
    }
    setup_complete(d, su);
}

static void connect_now(cdc_daemon *d)
{
    if (d->setup)
        return;   /* one setup at a time */
    session_setup *su = alloc_calloc(1, sizeof *su);
    su->url = alloc_strdup(d->config->database.url);
    su->slot = alloc_strdup(d->config->slot.name);
    su->generic_plans = d->config->cdc.generic_plans != 0;
    su->connect_timeout_ms = d->config->database.connect_timeout_ms;
    su->wake_fd = d->setup_pipe[1];
    su->outcome = SESSION_FATAL;
    d->setup = su;
    if (pthread_create(&d->setup_thread, NULL, setup_thread_main, su) != 0) {
        /* no thread: the same work on the loop, blocking it for once */
        log_warning("cannot start the session setup thread; setting up on the event loop");
        d->setup = NULL;
        su->outcome = setup_blocking(su);
        setup_complete(d, su);
    }
}

static void reconnect_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    if (d->stop_requested) {
        event_base_loopbreak(d->base);
        return;
    }
    prom_inc(d->metrics.reconnects_total);
    connect_now(d);
}

static void session_fail(cdc_daemon *d, const char *reason)
{
    char copy[512];
    snprintf(copy, sizeof copy, "%s", reason && *reason ? reason : "connection lost");
    /* libpq messages end with a newline. */
    size_t length = strlen(copy);
    while (length > 0 && (copy[length - 1] == '\n' || copy[length - 1] == ' '))
        copy[--length] = '\0';
    bool stopping = d->state == STATE_STOPPING || d->state == STATE_DRAINING;
    session_close(d);
    d->state = STATE_DISCONNECTED;
    if (stopping || d->stop_requested) {
        log_warning("connection lost while stopping: %s", copy);
        event_base_loopbreak(d->base);
        return;
    }
    schedule_reconnect(d, copy);
}

/* ---- misc connection: heartbeat, slot statistics, registry reload ---- */

static void heartbeat_done_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    if (!outcome->ok && !outcome->connection_lost)
        log_warning("heartbeat failed: %s", outcome->error);
}

static void heartbeat_timer_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    if (d->state == STATE_STREAMING && d->misc && !pg_pipeline_busy(d->misc))
        pg_pipeline_send(d->misc, "SELECT tvsync.heartbeat()", 0, NULL, heartbeat_done_cb, d);
}

static void slot_stats_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    cdc_daemon *d = arg;
    if (!outcome->ok) {
        if (!outcome->connection_lost)
            log_warning("reading slot statistics failed: %s", outcome->error);
        return;
    }
    PGresult *r = outcome->result;
    if (PQntuples(r) != 1)
        return;
    if (!PQgetisnull(r, 0, 0)) {
        d->lag_bytes = atoll(PQgetvalue(r, 0, 0));
        prom_set(d->metrics.lag_bytes, (double) d->lag_bytes);
    }
    if (!PQgetisnull(r, 0, 1))
        prom_set(d->metrics.retained_wal_bytes, atof(PQgetvalue(r, 0, 1)));
    static const char *const statuses[] = {"reserved", "extended", "unreserved", "lost"};
    const char *status = PQgetisnull(r, 0, 2) ? "" : PQgetvalue(r, 0, 2);
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        const char *labels[1] = {statuses[i]};
        prom_gauge_set(d->metrics.wal_status, labels, strcmp(status, statuses[i]) == 0 ? 1 : 0);
    }
    prom_set(d->metrics.safe_wal_size_bytes, PQgetisnull(r, 0, 3) ? -1 : atof(PQgetvalue(r, 0, 3)));
    if (strcmp(status, "lost") == 0) {
        slot_lost_message(d->config->slot.name);
        fatal_exit(d, TVSYNC_EXIT_SLOT);
    }
}

static void stats_timer_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    if (d->state == STATE_STREAMING) {
        double lag = lag_seconds(d);
        prom_set(d->metrics.lag_seconds, lag);
        notify_status("streaming; lag %.3f s, %lld bytes", lag, d->lag_bytes);
    }
    if (d->state != STATE_STREAMING || !d->misc || pg_pipeline_busy(d->misc))
        return;
    const char *values[1] = {d->config->slot.name};
    pg_pipeline_send(d->misc,
                  "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint, "
                  "pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint, wal_status, safe_wal_size "
                  "FROM pg_replication_slots WHERE slot_name = $1",
                  1, values, slot_stats_cb, d);
}

static void registry_reload_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    cdc_daemon *d = arg;
    if (!outcome->ok) {
        log_warning("re-reading the registry failed, keeping the old one: %s", outcome->error);
    } else {
        registry fresh;
        if (registry_from_result(outcome->result, &fresh)) {
            if (d->next_reg_ready)
                registry_free(&d->next_reg);
            d->next_reg = fresh;
            d->next_reg_ready = true;
            if (!d->batch_in_flight) {
                registry_free(&d->reg);
                d->reg = d->next_reg;
                d->next_reg_ready = false;
                memset(&d->next_reg, 0, sizeof d->next_reg);
            }
            log_info("registry re-read: %zu entities, %zu cascades",
                     d->next_reg_ready ? d->next_reg.entity_count : d->reg.entity_count,
                     d->next_reg_ready ? d->next_reg.cascade_count : d->reg.cascade_count);
        }
    }
    notify_ready();
}

/* ---- timers and signals ---------------------------------------------- */

static void arm_timers(cdc_daemon *d)
{
    const tvsync_config *c = d->config;
    struct timeval status = ms_to_timeval(c->cdc.status_interval_ms);
    struct timeval heartbeat = ms_to_timeval(c->cdc.heartbeat_interval_ms);
    struct timeval stats = ms_to_timeval(SLOT_STATS_INTERVAL_MS);
    event_del(d->status_timer);
    event_del(d->heartbeat_timer);
    event_del(d->stats_timer);
    event_add(d->status_timer, &status);
    event_add(d->heartbeat_timer, &heartbeat);
    event_add(d->stats_timer, &stats);
    pg_backoff_init(&d->backoff, 100, c->cdc.reconnect_max_delay_ms);
    if (d->engine)
        apply_engine_set_max_retries(d->engine, c->cdc.max_retries);
}

static void watchdog_cb(evutil_socket_t fd, short events, void *arg)
{
    notify_watchdog();
}

static void finish_stop(cdc_daemon *d)
{
    if (d->state != STATE_STOPPING)
        return;
    if (d->batch_in_flight || (d->engine && apply_engine_busy(d->engine)))
        return;  /* the callback comes back here */
    if (!d->stream) {
        event_base_loopbreak(d->base);
        return;
    }
    send_status(d, false);
    if (!d->stream)
        return;
    if (PQputCopyEnd(d->stream, NULL) <= 0) {
        event_base_loopbreak(d->base);
        return;
    }
    PQflush(d->stream);
    event_add(d->stream_write, NULL);
    resume_reading(d);
    d->state = STATE_DRAINING;
    struct timeval timeout = ms_to_timeval(DRAIN_TIMEOUT_MS);
    evtimer_add(d->drain_timer, &timeout);
    drain(d);
}

static void drain_timeout_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    log_warning("the server did not end the stream within %d ms; closing", DRAIN_TIMEOUT_MS);
    event_base_loopbreak(d->base);
}

static void stop_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    if (d->stop_requested)
        return;
    d->stop_requested = true;
    notify_stopping();
    log_info("stopping: finishing the batch");
    if (d->state != STATE_STREAMING) {
        event_base_loopbreak(d->base);
        return;
    }
    d->state = STATE_STOPPING;
    /* The committed part of the batch is applied; an unfinished source transaction comes again. */
    if (!d->batch_in_flight && d->filling->has_progress)
        maybe_apply(d, true);
    finish_stop(d);
}

static void reload_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    char error[512];
    notify_reloading();
    if (!cli_reload(d->cli, d->config, error, sizeof error))
        log_error("reload: keeping the old configuration: %s", error);
    else
        log_info("configuration reloaded");
    arm_timers(d);
    if (d->state == STATE_STREAMING && d->misc && !pg_pipeline_busy(d->misc) &&
        pg_pipeline_send(d->misc, REGISTRY_QUERY, 0, NULL, registry_reload_cb, d))
        return;  /* READY=1 once the registry is read */
    notify_ready();
}

/* ---- /health and /metrics -------------------------------------------- */

static bool health_cb(void *arg, char *reason, size_t reason_size)
{
    cdc_daemon *d = arg;
    double lag = lag_seconds(d);
    if (d->state != STATE_STREAMING) {
        snprintf(reason, reason_size, "{\"status\":\"not streaming\",\"lag_seconds\":%.3f}", lag);
        return false;
    }
    if (lag > d->config->cdc.health_max_lag_seconds) {
        snprintf(reason, reason_size, "{\"status\":\"lagging\",\"lag_seconds\":%.3f,\"max_lag_seconds\":%d}",
                 lag, d->config->cdc.health_max_lag_seconds);
        return false;
    }
    snprintf(reason, reason_size, "{\"status\":\"streaming\",\"lag_seconds\":%.3f}", lag);
    return true;
}

static void metrics_refresh_cb(void *arg)
{
    cdc_daemon *d = arg;
    prom_set(d->metrics.lag_seconds, lag_seconds(d));
}

/* ---- run -------------------------------------------------------------- */

int cdc_daemon_run(const cli_state *cli, tvsync_config *config)
{
    cdc_daemon *d = alloc_calloc(1, sizeof *d);
    d->cli = cli;
    d->config = config;
    d->exit_code = TVSYNC_EXIT_OK;
    d->filling = &d->batches[0];
    d->applying = &d->batches[1];
    signal(SIGPIPE, SIG_IGN);

    /* Order: loop, metrics, listener (a bad address fails before any connection),
     * signals and timers, then the first session. */
    d->base = event_base_new();
    if (!d->base) {
        log_error("cannot create the event loop");
        free(d);
        return TVSYNC_EXIT_SOFTWARE;
    }
    cdc_metrics_init(&d->metrics);
    d->http = http_endpoint_start(d->base, config->cdc.metrics_listen, d->metrics.registry,
                                  metrics_refresh_cb, health_cb, d);
    if (!d->http) {
        d->exit_code = TVSYNC_EXIT_CONFIG;
        goto done;
    }
    log_info("metrics on http://%s/metrics (port %d)", config->cdc.metrics_listen, http_endpoint_port(d->http));

    d->signal_term = evsignal_new(d->base, SIGTERM, stop_cb, d);
    d->signal_int = evsignal_new(d->base, SIGINT, stop_cb, d);
    d->signal_hup = evsignal_new(d->base, SIGHUP, reload_cb, d);
    event_add(d->signal_term, NULL);
    event_add(d->signal_int, NULL);
    event_add(d->signal_hup, NULL);
    d->status_timer = event_new(d->base, -1, EV_PERSIST, status_timer_cb, d);
    d->heartbeat_timer = event_new(d->base, -1, EV_PERSIST, heartbeat_timer_cb, d);
    d->stats_timer = event_new(d->base, -1, EV_PERSIST, stats_timer_cb, d);
    d->batch_timer = evtimer_new(d->base, batch_timer_cb, d);
    d->reconnect_timer = evtimer_new(d->base, reconnect_cb, d);
    d->drain_timer = evtimer_new(d->base, drain_timeout_cb, d);
    d->work_event = event_new(d->base, -1, 0, work_cb, d);
    d->watchdog_timer = event_new(d->base, -1, EV_PERSIST, watchdog_cb, d);
    uint64_t watchdog_usec = notify_watchdog_usec();
    if (watchdog_usec > 0) {
        struct timeval half = {(time_t) (watchdog_usec / 2 / 1000000), (suseconds_t) (watchdog_usec / 2 % 1000000)};
        event_add(d->watchdog_timer, &half);
    }
    arm_timers(d);
    if (pipe(d->setup_pipe) != 0) {
        log_error("cannot create a pipe: %s", strerror(errno));
        d->exit_code = TVSYNC_EXIT_SOFTWARE;
        goto done;
    }
    d->setup_event = event_new(d->base, d->setup_pipe[0], EV_READ | EV_PERSIST, setup_done_cb, d);
    event_add(d->setup_event, NULL);

    connect_now(d);
    if (d->exit_code == TVSYNC_EXIT_OK)
        event_base_dispatch(d->base);

done:
    if (d->setup) {
        /* a setup still running (a stop while connecting): its calls end within the
         * connect timeout */
        pthread_join(d->setup_thread, NULL);
        setup_free(d->setup);
        d->setup = NULL;
    }
    if (d->setup_event) {
        event_free(d->setup_event);
        close(d->setup_pipe[0]);
        close(d->setup_pipe[1]);
    }
    session_close(d);
    registry_free(&d->reg);
    if (d->next_reg_ready)
        registry_free(&d->next_reg);
    if (d->http)
        http_endpoint_free(d->http);
    struct event **events[] = {&d->signal_term, &d->signal_int, &d->signal_hup, &d->status_timer,
                               &d->heartbeat_timer, &d->stats_timer, &d->batch_timer, &d->reconnect_timer,
                               &d->drain_timer, &d->work_event, &d->watchdog_timer};
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
        if (*events[i])
            event_free(*events[i]);
    cdc_metrics_free(&d->metrics);
    event_base_free(d->base);
    int code = d->exit_code;
    free(d);
    return code;
}
