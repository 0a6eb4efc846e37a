/* daemon_internal: the state of tvsync-cdc's daemon, shared by the files that
 * make it up (daemon.c: the loop; session.c: setup and reconnect; pump.c: the
 * stream and feedback; batcher.c: the two batches). Not for other modules. */
#ifndef TVSYNC_CDC_DAEMON_INTERNAL_H
#define TVSYNC_CDC_DAEMON_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "cdc/apply.h"
#include "cdc/batch.h"
#include "cdc/failover_guard.h"
#include "cdc/http_endpoint.h"
#include "cdc/intent.h"
#include "cdc/metrics.h"
#include "common/pg_pipeline.h"
#include "cdc/registry.h"
#include "common/pgoutput.h"
#include "common/wal2json.h"
#include "common/cli.h"
#include "common/config.h"
#include "common/lsn.h"
#include "common/pg.h"

#define DRAIN_TIMEOUT_MS 5000

typedef enum daemon_state {
    STATE_DISCONNECTED,
    STATE_STREAMING,
    STATE_STOPPING,   /* SIGTERM: finishing the batch */
    STATE_DRAINING,   /* CopyDone sent, reading what is left */
} daemon_state;

typedef struct pending_rebuild {
    char entity[INTENT_ENTITY_MAX + 1];
    char *after;              /* owned: the last id rebuilt, any key's text form; NULL = from the start */
} pending_rebuild;

/* 32 hex digits and a NUL. */
#define DAEMON_NONCE_SIZE 33

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
    pgoutput_decoder *pgoutput;    /* streaming with [slot] plugin = pgoutput, else NULL */
    struct event *stream_read, *stream_write;
    bool reading_paused;       /* batch full: let the socket, not libpq's buffer, hold the rest */
    pg_pipeline *apply_conn;
    apply_engine *engine;
    pg_pipeline *misc;
    pg_pipeline *decode_misc;      /* [cdc] decode_url: the slot's statistics on the standby, else NULL */
    pg_backoff backoff;
    struct session_setup *setup;   /* running on setup_thread, or NULL (session.c) */
    pthread_t setup_thread;
    int setup_pipe[2];
    struct event *setup_event;

    /* Registries (batcher.c): reg is in force at the stream's read position, so
     * the filling batch is read and will be applied with it; applying_reg is the
     * one the batch in flight was started with: reg itself, or an older one kept
     * until that batch is done; pending_reg came from the log while the filling
     * batch held ids read with reg, and takes over once that batch is on its way. */
    registry *reg;
    registry *applying_reg;
    registry *pending_reg;

    batch batches[2];
    batch *filling, *applying;
    bool batch_in_flight;

    lsn_t origin_progress;     /* durably applied: end LSN of the last applied source transaction */
    lsn_t idle_lsn;            /* end of the last source transaction that needed no apply */
    lsn_t keepalive_wal_end;
    lsn_t reported_flush;      /* the flush position of the last status update sent */
    lsn_t received_lsn;

    /* A failover slot's confirmed flush waits for the standbys (failover_guard.h): the
     * flush noted when the sample on the misc connection was sent. */
    failover_guard guard;
    bool guard_sample_pending;
    lsn_t guard_sample_flush;
    bool guard_warned;
    /* The server the last session streamed from ("host:port", timeline): a reconnect
     * that lands elsewhere (a promoted standby) says so. */
    char server_address[128];
    char server_timeline[16];

    bool in_transaction;
    bool transaction_skip;     /* end LSN <= origin progress: applied before */
    bool transaction_had_work;
    lsn_t transaction_last_message; /* end of the open transaction's last tvsync message */
    char transaction_time[WAL2JSON_TIMESTAMP_SIZE];
    int64_t transaction_commit_us;
    uint32_t transaction_xid;

    bool held_active;          /* an ids intent not yet all in the batch (batch full) */
    intent held;
    size_t held_offset;

    pending_rebuild *rebuilds;
    size_t rebuild_count;
    bool rebuild_turn;         /* a chunk runs before the next live batch */

    /* When the replication connection last brought anything (data or keepalive): the
     * database answers there even when idle, since daemon.c asks it to (probe_timer). */
    struct timeval stream_heard_at;
    struct event *probe_timer;

    double heartbeat_rtt_seconds;
    bool have_heartbeat;
    /* Random at start and sent with each heartbeat: a message with the prefix
     * tvsync that lacks it was not emitted by this process (daemon.c). */
    char heartbeat_nonce[DAEMON_NONCE_SIZE];
    unsigned long long heartbeats_ignored;
    long long lag_bytes;
} cdc_daemon;

static inline int64_t daemon_now_unix_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

static inline struct timeval daemon_ms_to_timeval(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

/* Whether a heartbeat read from the log carries this process's nonce; one that
 * does not is counted and logged (the first, then every 1000th) (daemon.c). */
bool daemon_heartbeat_is_own(cdc_daemon *d, const char *nonce, lsn_t lsn);

/* The pump runs again from the loop, after other events. */
static inline void daemon_schedule_work(cdc_daemon *d)
{
    event_active(d->work_event, 0, 0);
}

/* Ends the loop with an exit status. */
static inline void daemon_fatal_exit(cdc_daemon *d, int code)
{
    d->exit_code = code;
    event_base_loopbreak(d->base);
}

#endif
