/* sync_wait: read-your-writes for one worker. One LISTEN tvsync_applied connection follows
 * tvsync-cdc's applied LSN; mutations wait (without blocking) until it passes their intents. */
#ifndef TVSYNC_SERVER_SYNC_WAIT_H
#define TVSYNC_SERVER_SYNC_WAIT_H

#include <stdbool.h>

#include <event2/event.h>

#include "common/lsn.h"

typedef struct sync_wait sync_wait;
typedef struct sync_waiter sync_waiter;

/* applied: true when the applied LSN reached the target, false on timeout. */
typedef void (*sync_wait_fn)(void *arg, bool applied);

/* Starts listening (connects without blocking, reconnects when the connection drops).
 * origin_name is tvsync-cdc's replication origin (the slot name); its progress is read
 * on each (re)connect so a notification missed while disconnected is not waited for. */
sync_wait *sync_wait_new(struct event_base *base, const char *url, const char *origin_name,
                         int connect_timeout_ms);
/* Waiters still pending are told false. */
void sync_wait_free(sync_wait *wait);

/* Calls fn once the applied LSN is >= target, or after timeout_ms with false. fn may run
 * before this returns (target already applied), in which case NULL is returned. The
 * returned handle is valid until fn runs. */
sync_waiter *sync_wait_until(sync_wait *wait, lsn_t target, int timeout_ms, sync_wait_fn fn, void *arg);
/* Forgets a waiter without calling it. */
void sync_wait_cancel(sync_waiter *waiter);

lsn_t sync_wait_applied(const sync_wait *wait);
bool sync_wait_listening(const sync_wait *wait);
int sync_wait_pending(const sync_wait *wait);

#endif
