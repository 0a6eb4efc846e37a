/* status: the text tvsync-server sends as sd_notify STATUS= (what `systemctl status` shows):
 * database state, requests/s, in-flight requests, pool use and pending sync waits. */
#ifndef TVSYNC_SERVER_STATUS_H
#define TVSYNC_SERVER_STATUS_H

#include <stdbool.h>
#include <stddef.h>

/* Figures summed over the worker threads at one moment. */
typedef struct server_status {
    int workers;
    int workers_connected;          /* workers whose pool has a connection and whose database answers */
    int workers_not_answered;       /* workers whose database does not answer in time (/health 503) */
    bool ever_connected;            /* some pool has connected since the start */
    unsigned long long requests;    /* HTTP requests answered since the start */
    int in_flight;
    int pool_size;
    int pool_connected;
    int pool_busy;
    int sync_pending;               /* mutations waiting for tvsync-cdc to apply their intents */
    long long slot_lag_bytes;       /* -1 when unknown */
    bool draining;
} server_status;

typedef enum server_status_database {
    SERVER_STATUS_DATABASE_CONNECTING, /* no pool has connected yet */
    SERVER_STATUS_DATABASE_UP,         /* every worker has a connection */
    SERVER_STATUS_DATABASE_PARTIAL,    /* some workers have one */
    SERVER_STATUS_DATABASE_DOWN,       /* connected once, none now */
    SERVER_STATUS_DATABASE_NOT_ANSWERING, /* no worker has a database that answers; some wait for one */
} server_status_database;

server_status_database server_status_database_state(const server_status *status);

/* True when a change must be announced now rather than at the next periodic update:
 * the database state changed or draining started. */
bool server_status_changed(const server_status *before, const server_status *now);

/* Writes the one-line STATUS text into out (always NUL-terminated, truncated to size).
 * listen is the "host:port" served; before is the previous snapshot (NULL at the start)
 * and seconds the time since it, from which requests/s is computed. */
void server_status_format(const server_status *now, const server_status *before, double seconds,
                          const char *listen, char *out, size_t size);

#endif
