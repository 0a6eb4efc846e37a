/* pump: the replication stream's records go into the filling batch as they are
 * read, so memory is bounded by the batch limits, not by a transaction's size. */
#include "config.h"

#include "cdc/pump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/batcher.h"
#include "cdc/session.h"
#include "cdc/stream_protocol.h"
#include "common/alloc.h"
#include "common/hex.h"
#include "common/log.h"

/* Records handled per callback before other events get a turn. */
#define PUMP_BUDGET 2000

/* ---- feedback --------------------------------------------------------- */

static bool stream_idle(const cdc_daemon *d)
{
    return !d->in_transaction && !d->held_active && !d->batch_in_flight && !batch_has_work(d->filling);
}

/* Sends what libpq holds for the stream; the rest goes when the socket takes it. */
static void stream_flush(cdc_daemon *d)
{
    int flushed = PQflush(d->stream);
    if (flushed == 1)
        event_add(d->stream_write, NULL);
    else if (flushed < 0)
        session_fail(d, PQerrorMessage(d->stream));
}

/* What send_status would confirm without the failover guard. */
static lsn_t flush_unguarded(const cdc_daemon *d)
{
    lsn_t flush = d->origin_progress;
    if (stream_idle(d)) {
        /* Nothing pending: everything the server sent is done with. */
        if (d->idle_lsn > flush)
            flush = d->idle_lsn;
        if (d->keepalive_wal_end > flush)
            flush = d->keepalive_wal_end;
    }
    return flush;
}

static void send_status(cdc_daemon *d, bool reply_requested)
{
    if (!d->stream)
        return;
    lsn_t done = flush_unguarded(d), flush = failover_guard_cap(&d->guard, done);
    /* before a session's first sample nothing is known either way */
    prom_set(d->metrics.failover_held_bytes, flush == LSN_INVALID ? 0 : (double) (done - flush));
    lsn_t write = d->received_lsn > flush ? d->received_lsn : flush;
    d->reported_flush = flush;
    unsigned char message[STREAM_STATUS_UPDATE_SIZE];
    stream_status_update_build(write, flush, flush, stream_now(), reply_requested, message);
    if (PQputCopyData(d->stream, (const char *) message, sizeof message) <= 0) {
        session_fail(d, PQerrorMessage(d->stream));
        return;
    }
    stream_flush(d);
}

/* The standbys named in synchronized_standby_slots, by their physical slots: whether any
 * is named, and the smallest flush position among them (NULL when one is unknown). */
#define GUARD_SAMPLE_SQL \
    "SELECT pg_current_wal_insert_lsn(), count(*) > 0, " \
    "CASE WHEN count(*) = count(s.restart_lsn) THEN min(s.restart_lsn) END " \
    "FROM unnest(string_to_array(current_setting('synchronized_standby_slots', true), ',')) AS listed(name) " \
    "LEFT JOIN pg_replication_slots s ON s.slot_name = btrim(listed.name, ' \"') AND s.slot_type = 'physical' " \
    "WHERE btrim(listed.name, ' \"') <> ''"

static void guard_sample_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    cdc_daemon *d = arg;
    if (!d->guard_sample_pending)
        return;   /* sent in a session that is gone */
    d->guard_sample_pending = false;
    if (!outcome->ok) {
        if (!outcome->connection_lost)
            log_warning("sampling the standbys' position for failover slot \"%s\" failed: %s; "
                        "the slot's confirmed position waits", d->config->slot.name, outcome->error);
        return;
    }
    PGresult *r = outcome->result;
    lsn_t wal = LSN_INVALID, standby = LSN_INVALID;
    if (PQntuples(r) != 1 || !lsn_parse(PQgetvalue(r, 0, 0), &wal))
        return;
    bool listed = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    if (!PQgetisnull(r, 0, 2) && !lsn_parse(PQgetvalue(r, 0, 2), &standby))
        standby = LSN_INVALID;
    if (listed && standby == LSN_INVALID && !d->guard_warned) {
        log_warning("failover slot \"%s\": synchronized_standby_slots names a slot that is no physical slot "
                    "here or whose standby never connected, so its position is unknown and tvsync-cdc confirms "
                    "nothing more until it is known (decoding waits for that standby too): connect the standby, or "
                    "remove the name from synchronized_standby_slots and reload (tvsync-slot check says which)",
                    d->config->slot.name);
        d->guard_warned = true;
    }
    if (failover_guard_sampled(&d->guard, d->guard_sample_flush, wal, listed, standby))
        send_status(d, false);
}

/* On a failover slot: notes the flush to confirm and asks the primary where its WAL and
 * its standbys are (failover_guard.h); one sample at a time, on the misc connection, at
 * the status interval: the slot's confirmed position trails by one or two intervals. */
static void guard_sample(cdc_daemon *d)
{
    if (!d->guard.active || d->guard_sample_pending || !d->misc)
        return;
    d->guard_sample_flush = flush_unguarded(d);
    /* behind a heartbeat or the slot statistics if need be: the pipeline keeps the order */
    if (pg_pipeline_send_prepared(d->misc, GUARD_SAMPLE_SQL, 0, NULL, guard_sample_cb, d))
        d->guard_sample_pending = true;
}

void pump_request_reply(cdc_daemon *d)
{
    if (d->state == STATE_STREAMING)
        send_status(d, true);
}

void pump_confirm_idle(cdc_daemon *d)
{
    if (d->stream && stream_idle(d) && d->keepalive_wal_end > d->reported_flush)
        send_status(d, false);
}

void pump_status_timer_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    if (d->state == STATE_STREAMING || d->state == STATE_STOPPING) {
        send_status(d, false);
        guard_sample(d);
    }
}

void pump_write_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    if (d->stream)
        stream_flush(d);
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
    size_t taken = batch_add_ids(d->filling, d->held.entity, d->held.id_text, d->held.ids + d->held_offset,
                                 remaining, (size_t) d->config->cdc.batch_max_ids);
    if (taken > 0)
        note_transaction_xid(d);
    d->held_offset += taken;
    if (d->held_offset < d->held.id_count)
        return false;
    intent_free(&d->held);
    d->held_active = false;
    return true;
}

/* Ids no value of the entity's key type can have go to tvsync.dead_letter one
 * by one, each with its reason, and leave the intent: in a statement they
 * would fail the whole batch. The others take the key type's output form. */
static void check_ids(cdc_daemon *d, const wal2json_record *record, intent *value)
{
    const char *key_type = d->reg->key_types[registry_index(d->reg, value->entity)];
    intent_key key = intent_key_of(key_type);
    if (key == INTENT_KEY_TEXT)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < value->id_count; i++) {
        char *id = value->id_text + value->ids[i].offset;
        if (intent_id_fits(key, id, value->ids[i].length)) {
            intent_id_normalize(key, id, &value->ids[i].length);
            value->ids[kept++] = value->ids[i];
            continue;
        }
        char reason[128], lsn_text[LSN_FORMAT_SIZE];
        snprintf(reason, sizeof reason, "id %zu is not a %s (ids are the key's text form)", i, key_type);
        const char *misfit = id;
        char *content = intent_ids_json(value->entity, &misfit, 1);
        log_warning("an id of %s at %s goes to tvsync.dead_letter: %s: %s", value->entity,
                    lsn_format(record->lsn, lsn_text), reason, content);
        batch_add_dead_letter(d->filling, record->lsn, content, strlen(content), reason);
        free(content);
    }
    value->id_count = kept;
}

static void handle_message(cdc_daemon *d, const wal2json_record *record)
{
    if (!record->transactional || !d->in_transaction || d->transaction_skip)
        return;  /* non-transactional messages even survive rollbacks: never intents */
    if (strcmp(record->prefix, "tvsync") != 0)
        return;
    /* A message's lsn (wal2json's and pgoutput's) is its end, what pg_logical_emit_message returned to
     * the writer: tvsync-server waits for the transaction of its last one. */
    if (record->lsn != LSN_INVALID && record->lsn > d->transaction_last_message)
        d->transaction_last_message = record->lsn;
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
        if (!daemon_heartbeat_is_own(d, value.heartbeat_nonce, record->lsn)) {
            intent_free(&value);
            return;
        }
        d->heartbeat_rtt_seconds = (double) (daemon_now_unix_us() - value.heartbeat_unix_us) / 1e6;
        if (d->heartbeat_rtt_seconds < 0)
            d->heartbeat_rtt_seconds = 0;
        d->have_heartbeat = true;
        prom_set(d->metrics.heartbeat_round_trip_seconds, d->heartbeat_rtt_seconds);
        intent_free(&value);
        return;
    }
    if (!registry_has_entity(d->reg, value.entity)) {
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
    check_ids(d, record, &value);
    d->held = value;
    d->held_offset = 0;
    d->held_active = true;
    held_consume(d);
}

/* A change to the registry, at its position in the log (an insert into
 * tvsync.registry_log, migration 040): what was read before it is applied with
 * the registry before it, what follows with the new one. */
static void handle_registry_change(cdc_daemon *d, const wal2json_record *record)
{
    if (!d->in_transaction || d->transaction_skip || strcmp(record->schema, REGISTRY_LOG_SCHEMA) != 0 ||
        strcmp(record->table, REGISTRY_LOG_TABLE) != 0)
        return;   /* a skipped one is older than the registry read at start */
    char lsn_text[LSN_FORMAT_SIZE];
    lsn_format(record->lsn, lsn_text);
    /* Its transaction's progress is recorded like any other's. */
    d->transaction_had_work = true;
    const char *text = wal2json_column_value(record, REGISTRY_LOG_COLUMN);
    registry *fresh = alloc_malloc(sizeof *fresh);
    char error[256];
    if (!text) {
        snprintf(error, sizeof error, "the row has no \"%s\" value", REGISTRY_LOG_COLUMN);
    } else if (registry_from_json(text, strlen(text), fresh, error, sizeof error)) {
        log_info("registry changed at %s: %zu entities, %zu cascades", lsn_text, fresh->entity_count,
                 fresh->cascade_count);
        if (batcher_registry_change(d, fresh))
            note_transaction_xid(d);   /* what comes next may use what that transaction created */
        return;
    }
    free(fresh);
    char reason[320];
    snprintf(reason, sizeof reason, "unreadable registry change: %s", error);
    log_error("%s at %s goes to tvsync.dead_letter; the registry before it stays in force", reason, lsn_text);
    batch_add_dead_letter(d->filling, record->lsn, text ? text : "", text ? strlen(text) : 0, reason);
}

/* An undecodable output goes to tvsync.dead_letter as it came; pgoutput's binary one as
 * hexadecimal, since the content column holds text. */
static void dead_letter_output(cdc_daemon *d, const char *payload, size_t length, lsn_t data_start,
                               const char *error)
{
    char lsn_text[LSN_FORMAT_SIZE];
    log_warning("unreadable %s output at %s: %s", d->pgoutput ? "pgoutput" : "wal2json",
                lsn_format(data_start, lsn_text), error);
    if (!d->in_transaction || d->transaction_skip)
        return;
    d->transaction_had_work = true;
    if (!d->pgoutput) {
        batch_add_dead_letter(d->filling, data_start, payload, length, error);
        return;
    }
    char *hex = alloc_malloc(2 * length + 1);
    hex_encode(hex, (const unsigned char *) payload, length);
    batch_add_dead_letter(d->filling, data_start, hex, 2 * length, error);
    free(hex);
}

static void handle_record(cdc_daemon *d, const char *payload, size_t length, lsn_t data_start)
{
    wal2json_record record;
    char error[256];
    bool decoded = d->pgoutput ? pgoutput_decode(d->pgoutput, payload, length, &record, error, sizeof error)
                               : wal2json_parse(payload, length, &record, error, sizeof error);
    if (!decoded) {
        dead_letter_output(d, payload, length, data_start, error);
        return;
    }
    switch (record.action) {
    case WAL2JSON_BEGIN:
        d->in_transaction = true;
        /* Exactly once: a transaction that ends at or before the origin's progress was
         * applied. pgoutput's Begin has only the commit's LSN: it lies before its own
         * transaction's end and at or after the end of every earlier transaction. */
        d->transaction_skip = record.next_lsn != LSN_INVALID ? record.next_lsn <= d->origin_progress
                                                             : record.lsn < d->origin_progress;
        d->transaction_had_work = false;
        d->transaction_last_message = LSN_INVALID;
        d->transaction_xid = record.xid;
        snprintf(d->transaction_time, sizeof d->transaction_time, "%s", record.has_timestamp ? record.timestamp : "");
        d->transaction_commit_us = record.has_timestamp ? record.timestamp_unix_us : daemon_now_unix_us();
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
        if (d->transaction_last_message != LSN_INVALID)
            batch_add_message_end(d->filling, d->transaction_last_message);

        break;
    case WAL2JSON_INSERT:
        handle_registry_change(d, &record);
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
        else
            pump_confirm_idle(d);
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
            batcher_maybe_apply(d, true);   /* full: apply, then go on */
            return;
        }
        if (d->pending_reg) {
            batcher_maybe_apply(d, true);   /* the ids read with the old registry go first */
            if (!batcher_registry_take_pending(d)) {
                pause_reading(d);
                return;   /* the batch in flight's callback brings the pump back */
            }
            note_transaction_xid(d);
        }
        if (batcher_full(d)) {
            batcher_maybe_apply(d, false);
            if (batcher_full(d)) {    /* the previous batch is still being applied */
                pause_reading(d);
                return;
            }
        }
        resume_reading(d);
        char *buffer = NULL;
        int length = PQgetCopyData(d->stream, &buffer, 1);
        if (length == 0) {
            batcher_maybe_apply(d, true);
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
    batcher_maybe_apply(d, false);
    daemon_schedule_work(d);  /* more may be buffered: continue after other events */
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

void pump_read_cb(evutil_socket_t fd, short events, void *arg)
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
    event_base_gettimeofday_cached(d->base, &d->stream_heard_at);
    if (d->state == STATE_DRAINING)
        drain(d);
    else
        stream_pump(d);
}

void pump_work_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    if (d->state == STATE_STREAMING && d->stream)
        stream_pump(d);
}

void pump_finish_stop(cdc_daemon *d)
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
    struct timeval timeout = daemon_ms_to_timeval(DRAIN_TIMEOUT_MS);
    evtimer_add(d->drain_timer, &timeout);
    drain(d);
}

