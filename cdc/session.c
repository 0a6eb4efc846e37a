/* session: the blocking half of a session (connects, checks, START_REPLICATION)
 * runs on a thread, the loop's half takes the connections over; retryable
 * errors reconnect with backoff, a missing or lost slot ends the daemon. */
#include "config.h"

#include "cdc/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdc/batcher.h"
#include "cdc/pump.h"
#include "common/alloc.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "common/notify.h"
#include "common/strbuf.h"

/* The first server_version_num that decodes on a standby. */
#define SESSION_DECODE_MIN_VERSION 160000

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
    char *decode_url;          /* [cdc] decode_url: the standby holding the slot, else NULL */
    output_plugin plugin;
    char *publication;         /* pgoutput's ([slot] plugin), else NULL */
    int connect_timeout_ms;
    bool generic_plans;
    const char *toast_compression;
    bool built_table;          /* the apply connection has pg_temp.tvsync_built */
    int wake_fd;
    session_result outcome;
    char error[512];
    PGconn *apply, *misc, *stream, *decode;
    lsn_t progress;
    registry *reg;             /* the registry at start (tvsync.registry_json), owned until the loop takes it */
    PGresult *rebuilds;        /* tvsync.cdc_rebuild rows */
    bool failover_slot;        /* the slot has failover on (PostgreSQL 17+) */
    char server_address[128];  /* "host:port" the three connections reached */
    char server_timeline[16];  /* IDENTIFY_SYSTEM's timeline */
} session_setup;

/* ---- sessions --------------------------------------------------------- */

void session_close(cdc_daemon *d)
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
    pgoutput_decoder_free(d->pgoutput);
    d->pgoutput = NULL;
    apply_engine_free(d->engine);
    d->engine = NULL;
    pg_pipeline_free(d->apply_conn);
    d->apply_conn = NULL;
    pg_pipeline_free(d->misc);
    d->misc = NULL;
    pg_pipeline_free(d->decode_misc);
    d->decode_misc = NULL;
    /* Whatever was not applied comes again from the origin's progress. */
    batch_free(&d->batches[0]);
    batch_free(&d->batches[1]);
    d->filling = &d->batches[0];
    d->applying = &d->batches[1];
    d->batch_in_flight = false;
    batcher_registries_release(d);
    if (d->held_active)
        intent_free(&d->held);
    d->held_active = false;
    d->in_transaction = false;
    for (size_t i = 0; i < d->rebuild_count; i++)
        free(d->rebuilds[i].after);
    free(d->rebuilds);
    d->rebuilds = NULL;
    d->rebuild_count = 0;
    d->keepalive_wal_end = d->idle_lsn = d->received_lsn = d->reported_flush = LSN_INVALID;
    failover_guard_reset(&d->guard, false);
    d->guard_sample_pending = false;
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

void session_slot_lost_message(const char *slot)
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

/* The slot where it lives: on the standby of [cdc] decode_url, which must be one
 * that can decode (PostgreSQL 16 or later, in recovery, a standby of the primary
 * whose system identifier is primary_system, "" when unknown), else on the primary. */
static session_result check_slot(session_setup *su, PGconn *conn, const char *primary_system, char *error,
                                 size_t error_size)
{
    const char *slot = su->slot;
    const char *params[1] = {slot};
    PGresult *result = setup_query(conn,
                                   "SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1), "
                                   "(SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1), "
                                   "(SELECT plugin FROM pg_replication_slots WHERE slot_name = $1), "
                                   "current_setting('server_version_num')::int, current_setting('server_version'), "
                                   "pg_is_in_recovery(), "
                                   "CASE WHEN has_function_privilege('pg_control_system()', 'EXECUTE') "
                                   "THEN (SELECT system_identifier::text FROM pg_control_system()) END, "
                                   /* the column exists on PostgreSQL 17 and later only */
                                   "(SELECT to_jsonb(s)->>'failover' FROM pg_replication_slots s WHERE slot_name = $1)",
                                   1, params, PGRES_TUPLES_OK, error, error_size);
    session_result outcome = SESSION_FATAL_SLOT;
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        outcome = classify(conn, result);
        goto done;
    }
    if (su->decode_url && atoi(PQgetvalue(result, 0, 3)) < SESSION_DECODE_MIN_VERSION) {
        snprintf(error, error_size, "[cdc] decode_url is a PostgreSQL %s server, and decoding on a standby needs "
                 "PostgreSQL 16 or later: point decode_url at a standby of version 16 or later, or leave it empty "
                 "to decode on database.url", PQgetvalue(result, 0, 4));
        outcome = SESSION_FATAL;
        goto done;
    }
    if (su->decode_url && strcmp(PQgetvalue(result, 0, 5), "t") != 0) {
        snprintf(error, error_size, "[cdc] decode_url is not a hot standby (that server is not in recovery; a "
                 "promoted standby is a primary of its own): point decode_url at a standby of database.url, or "
                 "leave it empty to decode on database.url");
        outcome = SESSION_FATAL;
        goto done;
    }
    /* Not compared when the role may not call pg_control_system(): then recovery is
     * all that tells a standby. */
    const char *system = PQgetvalue(result, 0, 6);
    if (su->decode_url && *system && *primary_system && strcmp(system, primary_system) != 0) {
        snprintf(error, error_size, "[cdc] decode_url is not a standby of database.url: its system identifier is "
                 "%s, the primary's %s; point decode_url at a hot standby that replicates from database.url",
                 system, primary_system);
        outcome = SESSION_FATAL;
        goto done;
    }
    if (strcmp(PQgetvalue(result, 0, 0), "0") == 0) {
        slot_missing_message(slot);
        snprintf(error, error_size, "replication slot \"%s\" does not exist%s", slot,
                 su->decode_url ? " on the standby of [cdc] decode_url" : "");
        goto done;
    }
    if (strcmp(PQgetvalue(result, 0, 1), "lost") == 0) {
        session_slot_lost_message(slot);
        snprintf(error, error_size, "replication slot \"%s\" lost its WAL", slot);
        goto done;
    }
    const char *wanted = output_plugin_name(su->plugin), *actual = PQgetvalue(result, 0, 2);
    if (strcmp(actual, wanted) != 0) {
        log_error("replication slot \"%s\" uses the output plugin %s but [slot] plugin is %s: set plugin = %s "
                  "under [slot], or recreate the slot with %s (tvsync-slot drop, then tvsync-slot create; "
                  "the new slot starts at the current end of WAL)", slot, actual, wanted, actual, wanted);
        snprintf(error, error_size, "replication slot \"%s\" uses %s, not %s", slot, actual, wanted);
        goto done;
    }
    su->failover_slot = strcmp(PQgetvalue(result, 0, 7), "true") == 0;
    outcome = SESSION_OK;
done:
    PQclear(result);
    return outcome;
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
    const char *slot_params[2] = {slot, su->publication ? su->publication : ""};
    pg_error_kind kind;
    session_result outcome = SESSION_FATAL;
    PGresult *result = NULL;
    PGconn *apply = NULL, *misc = NULL, *stream = NULL, *decode = NULL;

    apply = pg_connect(su->url, "tvsync-cdc", PG_CONNECT_NORMAL, su->connect_timeout_ms,
                       &kind, error, error_size);
    if (!apply)
        return kind == PG_ERROR_RETRYABLE ? SESSION_RETRY : SESSION_FATAL;
    /* The slot lives where it is decoded; the origin, the publication and the apply on
     * the primary. */
    PGconn *slot_conn = apply;
    if (su->decode_url) {
        decode = pg_connect(su->decode_url, "tvsync-cdc decode", PG_CONNECT_NORMAL, su->connect_timeout_ms,
                            &kind, error, error_size);
        if (!decode) {
            outcome = kind == PG_ERROR_RETRYABLE ? SESSION_RETRY : SESSION_FATAL;
            goto fail;
        }
        slot_conn = decode;
    }

    result = setup_query(apply,
                         "SELECT CASE WHEN NOT pg_is_in_recovery() THEN pg_replication_origin_oid($1) IS NOT NULL END, "
                         /* the origin functions fail during recovery: a standby is told apart first */
                         "CASE WHEN NOT pg_is_in_recovery() THEN pg_replication_origin_oid($1) END, "
                         "EXISTS (SELECT FROM pg_publication WHERE pubname = $2), "
                         "CASE WHEN has_function_privilege('pg_control_system()', 'EXECUTE') "
                         "THEN (SELECT system_identifier::text FROM pg_control_system()) END, pg_is_in_recovery()",
                         2, slot_params, PGRES_TUPLES_OK, error, error_size);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        outcome = classify(apply, result);
        goto fail;
    }
    /* A multi-host URL without target_session_attrs=read-write may land on a standby, as
     * may a single host that is being promoted: either way, later is the answer. */
    if (strcmp(PQgetvalue(result, 0, 4), "t") == 0) {
        snprintf(error, error_size, "the server at %s:%s is a standby (in recovery); tvsync-cdc applies on the "
                 "primary: with several hosts in database.url add target_session_attrs=read-write",
                 PQhost(apply), PQport(apply));
        outcome = SESSION_RETRY;
        goto fail;
    }
    snprintf(su->server_address, sizeof su->server_address, "%s:%s", PQhost(apply), PQport(apply));
    outcome = check_slot(su, slot_conn, PQgetvalue(result, 0, 3), error, error_size);
    if (outcome != SESSION_OK)
        goto fail;
    outcome = SESSION_FATAL;
    if (strcmp(PQgetvalue(result, 0, 0), "t") != 0) {
        log_error("replication origin \"%s\" does not exist: run tvsync-slot create", slot);
        snprintf(error, error_size, "replication origin \"%s\" does not exist", slot);
        outcome = SESSION_FATAL_SLOT;
        goto fail;
    }
    /* Without its publication pgoutput fails only at the first row change, mid-stream. */
    if (su->publication && strcmp(PQgetvalue(result, 0, 2), "t") != 0) {
        log_error("publication \"%s\" does not exist; pgoutput needs it: run tvsync-slot create "
                  "--if-not-exists (it creates the publication of an existing slot)", su->publication);
        snprintf(error, error_size, "publication \"%s\" does not exist", su->publication);
        outcome = SESSION_FATAL_SLOT;
        goto fail;
    }
    /* Our own apply transactions carry this origin: wal2json leaves them out of the
     * stream (filter-origins takes origin ids), so applying never feeds the stream. */
    char origin_id[16];
    snprintf(origin_id, sizeof origin_id, "%ld", strtol(PQgetvalue(result, 0, 1), NULL, 10));
    PQclear(result);

    /* No JIT compilation in the apply loop: a batch of a few thousand ids can pass
     * jit_above_cost, and compiling costs more than the statement runs. Generic plans
     * (cdc.generic_plans): each prepared apply statement is planned once per
     * connection, as planning a custom plan per batch can cost more than most
     * statements take to run. A generic plan is made once, with the sizes of that
     * moment, and kept: no sequential scan where an index serves (every apply
     * statement looks rows up by id), or a plan made while a table was small (as
     * pg_temp.tvsync_built is just after its TRUNCATE) would read the table whole
     * however large it grows. lz4 (cdc.toast_compression) for the documents it writes:
     * a large document is compressed on every write and decompressed on every read of
     * the apply, and lz4 does both several times faster than pglz. */
    const char *session_params[3] = {su->generic_plans ? "force_generic_plan" : "auto",
                                     su->generic_plans ? "off" : "on", su->toast_compression};
    result = setup_query(apply,
                         "SELECT set_config('jit', 'off', false), set_config('plan_cache_mode', $1, false), "
                         "set_config('enable_seqscan', $2, false), "
                         "set_config('default_toast_compression', CASE WHEN $3 = '' "
                         "THEN current_setting('default_toast_compression') WHEN $3 = 'lz4' AND NOT EXISTS "
                         "(SELECT FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) "
                         "THEN 'pglz' ELSE $3 END, false)",
                         3, session_params, PGRES_TUPLES_OK, error, error_size);
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
        if (sqlstate_is(result, "42883"))   /* undefined_function: an engine older than this daemon */
            snprintf(error, error_size, "tvsync.registry_json() does not exist: apply the engine's migrations "
                     "(tvsync-migrate up) before starting this tvsync-cdc");
        goto fail;
    }
    /* Changes from here on come through the log; on a stream that starts earlier
     * than now, what precedes the first change there is read with this registry. */
    char registry_error[256];
    su->reg = alloc_malloc(sizeof *su->reg);
    if (PQntuples(result) != 1 || PQnfields(result) != 1 || PQgetisnull(result, 0, 0) ||
        !registry_from_json(PQgetvalue(result, 0, 0), (size_t) PQgetlength(result, 0, 0), su->reg, registry_error,
                            sizeof registry_error)) {
        free(su->reg);
        su->reg = NULL;
        snprintf(error, error_size, "cannot read the entity registry (tvsync.registry_json): %s",
                 PQntuples(result) == 1 ? registry_error : "not one row");
        goto fail;
    }
    PQclear(result);

    result = setup_query(apply, "SELECT entity, after_id FROM tvsync.cdc_rebuild ORDER BY requested_lsn", 0, NULL,
                         PGRES_TUPLES_OK, error, error_size);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        outcome = classify(apply, result);
        goto fail;
    }
    su->rebuilds = result;   /* the loop adds them (batcher_rebuild_add) */
    result = NULL;

    misc = pg_connect(su->url, "tvsync-cdc misc", PG_CONNECT_NORMAL, su->connect_timeout_ms,
                      &kind, error, error_size);
    if (!misc) {
        outcome = kind == PG_ERROR_RETRYABLE ? SESSION_RETRY : SESSION_FATAL;
        goto fail;
    }
    stream = pg_connect(su->decode_url ? su->decode_url : su->url, "tvsync-cdc", PG_CONNECT_REPLICATION, su->connect_timeout_ms,
                        &kind, error, error_size);
    if (!stream) {
        outcome = kind == PG_ERROR_RETRYABLE ? SESSION_RETRY : SESSION_FATAL;
        goto fail;
    }
    /* Each connection resolves a multi-host URL on its own: during a promotion they may
     * reach different servers, and the origin's progress must be the stream's server's.
     * With [cdc] decode_url the stream is on the standby, by design. */
    PGconn *others[2] = {misc, stream};
    for (size_t i = 0; i < (su->decode_url ? 1u : 2u); i++) {
        char address[sizeof su->server_address];
        snprintf(address, sizeof address, "%s:%s", PQhost(others[i]), PQport(others[i]));
        if (strcmp(address, su->server_address) != 0) {
            snprintf(error, error_size, "the connections reached different servers (%s and %s), as during a "
                     "failover; trying again", su->server_address, address);
            outcome = SESSION_RETRY;
            goto fail;
        }
    }
    result = setup_query(stream, "IDENTIFY_SYSTEM", 0, NULL, PGRES_TUPLES_OK, error, error_size);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        outcome = classify(stream, result);
        goto fail;
    }
    snprintf(su->server_timeline, sizeof su->server_timeline, "%s", PQnfields(result) > 1 ? PQgetvalue(result, 0, 1) : "");
    PQclear(result);
    char *quoted = pg_quote_identifier(stream, slot);
    if (!quoted) {
        snprintf(error, error_size, "cannot quote the slot name");
        goto fail;
    }
    char lsn_text[LSN_FORMAT_SIZE];
    strbuf command = STRBUF_INIT;
    if (su->publication) {
        /* protocol 1 sends no row of a transaction before its commit, as wal2json does; the
         * origin's transactions are left out by the decoder (common/pgoutput.h) */
        strbuf_appendf(&command,
                       "START_REPLICATION SLOT %s LOGICAL %s (\"proto_version\" '1', "
                       "\"publication_names\" '\"%s\"', \"messages\" 'true')",
                       quoted, lsn_format(progress, lsn_text), su->publication);
    } else {
        strbuf_appendf(&command,
                       "START_REPLICATION SLOT %s LOGICAL %s (\"format-version\" '2', \"include-transaction\" 'true', "
                       "\"include-xids\" 'true', "
                       "\"include-lsn\" 'true', \"include-timestamp\" 'true', \"add-msg-prefixes\" 'tvsync', "
                       /* the one table whose rows tvsync-cdc reads: the registry's changes (registry.h) */
                       "\"actions\" 'insert', \"add-tables\" '" REGISTRY_LOG_SCHEMA "." REGISTRY_LOG_TABLE "', "
                       "\"filter-origins\" '%s')",
                       quoted, lsn_format(progress, lsn_text), origin_id);
    }
    PQfreemem(quoted);
    result = PQexec(stream, strbuf_text(&command));
    strbuf_free(&command);
    if (PQresultStatus(result) != PGRES_COPY_BOTH) {
        pg_error_line(stream, result, error, error_size);
        if (sqlstate_is(result, "42704")) {
            slot_missing_message(slot);
            outcome = SESSION_FATAL_SLOT;
        } else if (strstr(error, "can no longer get changes") || strstr(error, "invalidated")) {
            session_slot_lost_message(slot);
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
    su->decode = decode;
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
    if (decode)
        PQfinish(decode);
    return outcome;
}

/* The loop's half of a session: the connections the setup thread made go onto
 * the loop, with the registry and the pending rebuilds it read. */
static void misc_lost_cb(void *arg, const char *error)
{
    session_fail(arg, error);
}

static session_result setup_finish(cdc_daemon *d, session_setup *su, char *error, size_t error_size)
{
    const tvsync_config *c = d->config;
    const char *slot = su->slot;
    char lsn_text[LSN_FORMAT_SIZE];
    lsn_t progress = su->progress;
    session_result outcome = SESSION_RETRY;
    batcher_registry_destroy(d->reg);
    d->reg = su->reg;
    su->reg = NULL;
    for (int row = 0; su->rebuilds && row < PQntuples(su->rebuilds); row++)
        batcher_rebuild_add(d, PQgetvalue(su->rebuilds, row, 0),
                    PQgetisnull(su->rebuilds, row, 1) ? NULL : PQgetvalue(su->rebuilds, row, 1));
    PGconn *apply = su->apply, *misc = su->misc, *stream = su->stream, *decode = su->decode;
    su->apply = su->misc = su->stream = su->decode = NULL;
    d->apply_conn = pg_pipeline_new(d->base, apply, "apply connection");
    apply = NULL;
    d->misc = pg_pipeline_new(d->base, misc, "misc connection");
    misc = NULL;
    if (decode) {
        d->decode_misc = pg_pipeline_new(d->base, decode, "decode connection");
        decode = NULL;
        if (d->decode_misc)
            pg_pipeline_set_lost(d->decode_misc, misc_lost_cb, d);
    }
    if (!d->apply_conn || !d->misc || (su->decode_url && !d->decode_misc)) {
        snprintf(error, error_size, "cannot register the connections on the event loop");
        outcome = SESSION_RETRY;
        goto fail;
    }
    /* The misc connection is idle between heartbeats: without this its loss would go
     * unnoticed until the next send, and then only be logged. The apply connection's
     * loss reaches the daemon through the apply engine's outcomes. */
    pg_pipeline_set_lost(d->misc, misc_lost_cb, d);
    d->engine = apply_engine_new(d->base, d->apply_conn, c->cdc.max_retries);
    apply_engine_set_built_table(d->engine, su->built_table);
    apply_engine_set_patch_min_bytes(d->engine, c->cdc.patch_min_bytes);
    d->stream = stream;
    stream = NULL;
    d->stream_read = event_new(d->base, PQsocket(d->stream), EV_READ | EV_PERSIST, pump_read_cb, d);
    d->reading_paused = false;
    d->stream_write = event_new(d->base, PQsocket(d->stream), EV_WRITE, pump_write_cb, d);
    event_add(d->stream_read, NULL);
    pgoutput_decoder_free(d->pgoutput);
    /* relations are described again in each session */
    d->pgoutput = su->plugin == OUTPUT_PLUGIN_PGOUTPUT ? pgoutput_decoder_new(slot) : NULL;
    d->origin_progress = progress;
    failover_guard_reset(&d->guard, su->failover_slot);
    d->guard_warned = false;
    if (d->server_address[0] && (strcmp(d->server_address, su->server_address) != 0 ||
                                 strcmp(d->server_timeline, su->server_timeline) != 0))
        log_warning("connected to a different server: %s on timeline %s (was %s on timeline %s), as after a "
                    "failover; slot \"%s\" resumes there from the origin's progress %s", su->server_address,
                    su->server_timeline, d->server_address, d->server_timeline, slot, lsn_format(progress, lsn_text));
    snprintf(d->server_address, sizeof d->server_address, "%s", su->server_address);
    snprintf(d->server_timeline, sizeof d->server_timeline, "%s", su->server_timeline);
    d->state = STATE_STREAMING;
    event_base_gettimeofday_cached(d->base, &d->stream_heard_at);
    prom_set(d->metrics.streaming, 1);
    prom_set(d->metrics.last_applied_lsn, (double) progress);
    log_info("streaming slot \"%s\"%s from %s (origin progress) on %s%s", slot,
             su->decode_url ? " on the standby of [cdc] decode_url" : "", lsn_format(progress, lsn_text),
             su->server_address, su->failover_slot ? "; a failover slot: its confirmed position waits for the "
             "standbys in synchronized_standby_slots" : "");
    return SESSION_OK;

fail:
    if (apply)
        PQfinish(apply);
    if (misc)
        PQfinish(misc);
    if (stream)
        PQfinish(stream);
    if (decode)
        PQfinish(decode);
    session_close(d);
    return outcome;
}

static void schedule_reconnect(cdc_daemon *d, const char *reason)
{
    int delay = pg_backoff_next_ms(&d->backoff);
    log_warning("reconnecting in %d ms (attempt %d): %s", delay, d->backoff.attempt, reason);
    struct timeval tv = daemon_ms_to_timeval(delay);
    evtimer_add(d->reconnect_timer, &tv);
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
    if (su->decode)
        PQfinish(su->decode);
    batcher_registry_destroy(su->reg);
    PQclear(su->rebuilds);
    free(su->url);
    free(su->decode_url);
    free(su->slot);
    free(su->publication);
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
        daemon_schedule_work(d);
        break;
    case SESSION_RETRY:
        schedule_reconnect(d, error);
        break;
    case SESSION_FATAL_SLOT:
        daemon_fatal_exit(d, TVSYNC_EXIT_SLOT);
        break;
    case SESSION_FATAL:
        if (d->ready_sent) {
            /* It worked before: a server coming back can refuse for a while in ways
             * that look permanent (recovery, a restarted pooler); keep trying. */
            schedule_reconnect(d, error);
            break;
        }
        log_error("cannot stream: %s", error);
        daemon_fatal_exit(d, TVSYNC_EXIT_DATABASE);
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
void session_setup_done_cb(evutil_socket_t fd, short events, void *arg)
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

void session_connect(cdc_daemon *d)
{
    if (d->setup)
        return;   /* one setup at a time */
    session_setup *su = alloc_calloc(1, sizeof *su);
    su->url = alloc_strdup(d->config->database.url);
    const char *decode_url = d->config->cdc.decode_url;
    su->decode_url = decode_url && *decode_url ? alloc_strdup(decode_url) : NULL;
    su->slot = alloc_strdup(d->config->slot.name);
    su->plugin = d->config->slot.plugin;
    if (su->plugin == OUTPUT_PLUGIN_PGOUTPUT)
        su->publication = pgoutput_publication_name(su->slot);
    su->generic_plans = d->config->cdc.generic_plans != 0;
    su->toast_compression = d->config->cdc.toast_compression;
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

void session_reconnect_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    if (d->stop_requested) {
        event_base_loopbreak(d->base);
        return;
    }
    prom_inc(d->metrics.reconnects_total);
    session_connect(d);
}

void session_fail(cdc_daemon *d, const char *reason)
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


void session_abandon_setup(cdc_daemon *d)
{
    if (!d->setup)
        return;
    pthread_join(d->setup_thread, NULL);
    setup_free(d->setup);
    d->setup = NULL;
}
