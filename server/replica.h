/* replica: tvsync-server's hot standbys ([server] replica_urls). One prober per process
 * measures each one's state, lag and replayed origin progress; workers route reads by it. */
#ifndef TVSYNC_SERVER_REPLICA_H
#define TVSYNC_SERVER_REPLICA_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

#include "common/config.h"
#include "common/lsn.h"

typedef struct replica_set replica_set;

typedef enum replica_state {
    REPLICA_DOWN,     /* not probed yet, unreachable, not a standby, or not answering */
    REPLICA_UP,       /* answers, and lags at most server.replica_max_lag */
    REPLICA_LAGGING,  /* answers, but lags more: only reads whose token it reached go there */
} replica_state;

/* What /health and /metrics show of one replica. */
typedef struct replica_view {
    replica_state state;
    double lag_seconds;       /* -1 when never measured */
    lsn_t replayed_progress;  /* the origin progress replayed there (0: unknown) */
} replica_view;

/* Reads config's server.replica_urls: URIs (postgresql:// or postgres://, one host each)
 * separated by whitespace. NULL with one line in error[] (naming the bad entry and what to
 * write instead) when the value cannot be used; otherwise a set, possibly of no replica.
 * The caller frees it with replica_set_free after every worker and the prober stopped. */
replica_set *replica_set_new(const tvsync_config *config, char *error, size_t error_size);
void replica_set_free(replica_set *set);

int replica_set_count(const replica_set *set);
/* The URI of replica index (0-based), owned by the set. */
const char *replica_set_url(const replica_set *set, int index);
/* "primary" or "replica<N>" (N = index + 1): the label /metrics, /health and the
 * X-Tvsync-Node header use. index -1 is the primary. Static storage. */
const char *replica_set_label(const replica_set *set, int index);

/* Starts probing every replica from base's loop (one loop per process: the caller's thread
 * runs it); each probe is one statement on one connection per replica, every 100 ms (a
 * millisecond while a read waits for a token), with backoff while a replica is down. */
void replica_set_start_prober(replica_set *set, struct event_base *base);
/* Stops probing and closes its connections; on the loop's thread, before base is freed. */
void replica_set_stop_prober(replica_set *set);

/* Lock-free reads, from any thread. cursor is the caller's round-robin position.
 * replica_set_pick: a replica that is up (-1: none). replica_set_pick_reached: a replica
 * that is not down and whose replayed progress is at least min_lsn (-1: none); a read
 * sent after this returned sees every apply up to min_lsn. */
int replica_set_pick(const replica_set *set, unsigned *cursor);
int replica_set_pick_reached(const replica_set *set, lsn_t min_lsn, unsigned *cursor);
/* Whether some replica is not down (a token may still be reached by waiting). */
bool replica_set_any_alive(const replica_set *set);
/* A read starts (true) or stops (false) waiting for a token: the prober probes faster while
 * any waits. */
void replica_set_waiting(replica_set *set, bool waiting);

void replica_set_view(const replica_set *set, int index, replica_view *view);
const char *replica_state_name(replica_state state);

#endif
