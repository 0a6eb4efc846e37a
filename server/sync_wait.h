/* sync_wait: read-your-writes for one worker. One LISTEN tvsync_applied connection per
 * process follows tvsync-cdc's applied LSN, on the first worker (the leader); the other
 * workers (followers) learn it through a sync_hub. Mutations wait (without blocking) until
 * it passes their intents. */
#ifndef TVSYNC_SERVER_SYNC_WAIT_H
#define TVSYNC_SERVER_SYNC_WAIT_H

#include <stdbool.h>

#include <event2/event.h>

#include "common/lsn.h"

typedef struct sync_wait sync_wait;
typedef struct sync_hub sync_hub;

/* What the workers of a process share. Freed after every sync_wait of it. */
sync_hub *sync_hub_new(void);
void sync_hub_free(sync_hub *hub);

/* applied: true when the applied LSN reached the target, false on timeout. */
typedef void (*sync_wait_fn)(void *arg, bool applied);

/* The first sync_wait of a hub is its leader: it starts listening (connects without
 * blocking, reconnects when the connection drops). slot_name is tvsync-cdc's slot;
 * its confirmed flush position is read on each (re)connect, and
 * polled while anyone waits, so a notification missed while disconnected is not waited
 * for. The others follow it: the leader wakes a follower's loop when the applied LSN
 * moves and that follower has waiters. Each sync_wait is used from its own loop's thread. */
sync_wait *sync_wait_new(struct event_base *base, sync_hub *hub, const char *url, const char *slot_name,
                         int connect_timeout_ms);
/* Waiters still pending are told false. */
void sync_wait_free(sync_wait *wait);

/* A follower's loop runs (on), or has stopped for good (off): the leader's listening must
 * outlast the followers' waits. Called from the thread that starts or runs the loop. */
void sync_wait_follower_running(sync_wait *wait, bool running);
/* Leader: fn runs on its loop each time the number of running followers drops to 0. */
void sync_wait_on_followers_stopped(sync_wait *wait, void (*fn)(void *arg), void *arg);
/* Leader: whether no follower's loop runs; followers: true. */
bool sync_wait_followers_stopped(const sync_wait *wait);

/* Calls fn once the mutation is applied, or after timeout_ms with false: once tvsync-cdc
 * names message (the last intent message of the mutation's transaction) among the
 * transactions it applied, or once the applied position reaches bound (a position at or
 * past the mutation's commit: the WAL flushed after it). The message is the fast, exact
 * way; the bound ends the wait when a notification was lost or named too many messages.
 * fn runs exactly once, possibly before this returns (already applied). */
void sync_wait_until(sync_wait *wait, lsn_t message, lsn_t bound, int timeout_ms, sync_wait_fn fn, void *arg);

lsn_t sync_wait_applied(const sync_wait *wait);
/* For a mutation whose sync_wait_until(message, bound) said applied: the consistency token,
 * a position a replica's replayed origin progress reaches only once it replayed that apply.
 * The origin progress tvsync-cdc notified with the apply (exact); when the wait ended through
 * the slot's confirmed position instead (a lost notification), that position (never too low;
 * a replica may reach it only with tvsync-cdc's next apply). */
lsn_t sync_wait_token(const sync_wait *wait, lsn_t message, lsn_t bound);
bool sync_wait_listening(const sync_wait *wait);
int sync_wait_pending(const sync_wait *wait);

#endif
