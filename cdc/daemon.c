/* daemon: one libevent loop holds the replication socket, the apply and the
 * misc (heartbeat, slot statistics) connections, timers and signals. */
#include "config.h"

#include "cdc/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdc/batcher.h"
#include "cdc/daemon_internal.h"
#include "cdc/pump.h"
#include "cdc/session.h"
#include "common/alloc.h"
#include "common/exit_codes.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/lsn.h"
#include "common/notify.h"
#include "common/random.h"

#define SLOT_STATS_INTERVAL_MS 2000
/* A silent replication stream is asked for a keepalive this often, and /health reports
 * the database as not answering once it stayed silent for HEALTH_SILENCE_MS. */
#define PROBE_INTERVAL_MS 500
#define HEALTH_SILENCE_MS 2000

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
        double lag = (double) (daemon_now_unix_us() - oldest) / 1e6;
        return lag > 0 ? lag : 0;
    }
    return d->have_heartbeat ? d->heartbeat_rtt_seconds : 0;
}

/* ---- misc connection: heartbeat, slot statistics ---------------------- */

/* Any role may emit a message with the prefix tvsync where the emit function is
 * still open to PUBLIC, and a forged heartbeat's time would become the lag
 * /health judges. The nonce is random and known only to this process and to
 * readers of the slot, who can see every intent anyway. */
static bool heartbeat_nonce_init(cdc_daemon *d)
{
    unsigned char bytes[(DAEMON_NONCE_SIZE - 1) / 2];
    if (!random_bytes(bytes, sizeof bytes)) {
        log_error("cannot read random bytes for the heartbeat nonce: %s", strerror(errno));
        return false;
    }
    hex_encode(d->heartbeat_nonce, bytes, sizeof bytes);
    return true;
}

bool daemon_heartbeat_is_own(cdc_daemon *d, const char *nonce, lsn_t lsn)
{
    if (strcmp(nonce, d->heartbeat_nonce) == 0)
        return true;
    prom_inc(d->metrics.heartbeats_ignored_total);
    if (d->heartbeats_ignored++ % 1000 == 0) {
        char lsn_text[LSN_FORMAT_SIZE];
        log_warning("ignoring a heartbeat at %s that this tvsync-cdc did not send (%llu so far): a role "
                    "that may run pg_logical_emit_message forged it, or it predates a restart; "
                    "tvsync-slot check tells whether the function is still open to PUBLIC",
                    lsn_format(lsn, lsn_text), d->heartbeats_ignored);
    }
    return false;
}

static void heartbeat_done_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    if (!outcome->ok && !outcome->connection_lost)
        log_warning("heartbeat failed: %s%s", outcome->error,
                    strstr(outcome->error, "SQLSTATE 42883") ? " (apply the engine's migrations: tvsync-migrate up)" : "");
}

static void heartbeat_timer_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    const char *values[1] = {d->heartbeat_nonce};
    if (d->state == STATE_STREAMING && d->misc && !pg_pipeline_busy(d->misc))
        pg_pipeline_send(d->misc, "SELECT tvsync.heartbeat($1)", 1, values, heartbeat_done_cb, d);
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
        session_slot_lost_message(d->config->slot.name);
        daemon_fatal_exit(d, TVSYNC_EXIT_SLOT);
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
    /* The slot's row is where the slot is: on the standby of [cdc] decode_url, whose
     * WAL ends where it has replayed to. */
    pg_pipeline *conn = d->decode_misc ? d->decode_misc : d->misc;
    if (d->state != STATE_STREAMING || !conn || pg_pipeline_busy(conn))
        return;
    const char *values[1] = {d->config->slot.name};
    if (d->decode_misc)
        pg_pipeline_send(conn,
                      "SELECT pg_wal_lsn_diff(w.lsn, confirmed_flush_lsn)::bigint, "
                      "pg_wal_lsn_diff(w.lsn, restart_lsn)::bigint, wal_status, safe_wal_size "
                      "FROM pg_replication_slots, (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
                      "ELSE pg_current_wal_lsn() END AS lsn) AS w WHERE slot_name = $1",
                      1, values, slot_stats_cb, d);
    else
        pg_pipeline_send(conn,
                      "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint, "
                      "pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint, wal_status, safe_wal_size "
                      "FROM pg_replication_slots WHERE slot_name = $1",
                      1, values, slot_stats_cb, d);
}

/* ---- is the database answering? ---------------------------------------- */

/* How long the replication connection has been silent, in ms; 0 when we are not waiting
 * for it (not streaming, or not reading because the batch is full). */
static long stream_silence_ms(cdc_daemon *d)
{
    if (d->state != STATE_STREAMING || d->reading_paused)
        return 0;
    struct timeval now, age;
    event_base_gettimeofday_cached(d->base, &now);
    evutil_timersub(&now, &d->stream_heard_at, &age);
    long ms = (long) age.tv_sec * 1000 + age.tv_usec / 1000;
    return ms > 0 ? ms : 0;
}

/* The walsender answers a status update that requests a reply at once, so silence past
 * a couple of probes means the database (or the network to it) stopped, not that the
 * source database is idle. */
static void probe_timer_cb(evutil_socket_t fd, short events, void *arg)
{
    cdc_daemon *d = arg;
    if (stream_silence_ms(d) >= PROBE_INTERVAL_MS)
        pump_request_reply(d);
}

/* ---- timers and signals ---------------------------------------------- */

static void arm_timers(cdc_daemon *d)
{
    const tvsync_config *c = d->config;
    struct timeval status = daemon_ms_to_timeval(c->cdc.status_interval_ms);
    struct timeval heartbeat = daemon_ms_to_timeval(c->cdc.heartbeat_interval_ms);
    struct timeval stats = daemon_ms_to_timeval(SLOT_STATS_INTERVAL_MS);
    event_del(d->status_timer);
    event_del(d->heartbeat_timer);
    event_del(d->stats_timer);
    event_add(d->status_timer, &status);
    event_add(d->heartbeat_timer, &heartbeat);
    event_add(d->stats_timer, &stats);
    pg_backoff_init(&d->backoff, 100, c->cdc.reconnect_max_delay_ms);
    if (d->engine) {
        apply_engine_set_max_retries(d->engine, c->cdc.max_retries);
        apply_engine_set_patch_min_bytes(d->engine, c->cdc.patch_min_bytes);
    }
}

static void watchdog_cb(evutil_socket_t fd, short events, void *arg)
{
    notify_watchdog();
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
        batcher_maybe_apply(d, true);
    pump_finish_stop(d);
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
    /* The registry is not read again: its changes come through the log, in order. */
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
    long silence_ms = stream_silence_ms(d);
    if (silence_ms >= HEALTH_SILENCE_MS) {
        snprintf(reason, reason_size, "{\"status\":\"database not answering\",\"silent_seconds\":%.1f,"
                 "\"lag_seconds\":%.3f}", silence_ms / 1000.0, lag);
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
    if (!heartbeat_nonce_init(d)) {
        d->exit_code = TVSYNC_EXIT_SOFTWARE;
        goto done;
    }
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
    d->status_timer = event_new(d->base, -1, EV_PERSIST, pump_status_timer_cb, d);
    d->heartbeat_timer = event_new(d->base, -1, EV_PERSIST, heartbeat_timer_cb, d);
    d->stats_timer = event_new(d->base, -1, EV_PERSIST, stats_timer_cb, d);
    d->batch_timer = evtimer_new(d->base, batcher_timer_cb, d);
    d->reconnect_timer = evtimer_new(d->base, session_reconnect_cb, d);
    d->drain_timer = evtimer_new(d->base, drain_timeout_cb, d);
    d->work_event = event_new(d->base, -1, 0, pump_work_cb, d);
    d->watchdog_timer = event_new(d->base, -1, EV_PERSIST, watchdog_cb, d);
    d->probe_timer = event_new(d->base, -1, EV_PERSIST, probe_timer_cb, d);
    struct timeval probe = daemon_ms_to_timeval(PROBE_INTERVAL_MS);
    event_add(d->probe_timer, &probe);
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
    d->setup_event = event_new(d->base, d->setup_pipe[0], EV_READ | EV_PERSIST, session_setup_done_cb, d);
    event_add(d->setup_event, NULL);

    session_connect(d);
    if (d->exit_code == TVSYNC_EXIT_OK)
        event_base_dispatch(d->base);

done:
    session_abandon_setup(d);   /* a stop while connecting */
    if (d->setup_event) {
        event_free(d->setup_event);
        close(d->setup_pipe[0]);
        close(d->setup_pipe[1]);
    }
    session_close(d);
    batcher_registries_release(d);
    batcher_registry_destroy(d->reg);
    if (d->http)
        http_endpoint_free(d->http);
    struct event **events[] = {&d->signal_term, &d->signal_int, &d->signal_hup, &d->status_timer,
                               &d->heartbeat_timer, &d->stats_timer, &d->batch_timer, &d->reconnect_timer,
                               &d->drain_timer, &d->work_event, &d->watchdog_timer, &d->probe_timer};
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
        if (*events[i])
            event_free(*events[i]);
    cdc_metrics_free(&d->metrics);
    event_base_free(d->base);
    int code = d->exit_code;
    free(d);
    return code;
}

