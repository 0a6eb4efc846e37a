/* batcher: tvsync-cdc's two batches (part of the daemon, daemon_internal.h):
 * one fills from the stream while the other is applied; when the filling one
 * is full, old enough or the stream is drained, they swap; full rebuilds take
 * turns with live batches, one chunk at a time. */
#ifndef TVSYNC_CDC_BATCHER_H
#define TVSYNC_CDC_BATCHER_H

#include "cdc/daemon_internal.h"

/* Starts applying the filling batch when it is ready (drained: nothing more
 * is buffered to read) and nothing is being applied, or a rebuild chunk when
 * it is the rebuilds' turn; otherwise arms the batch timer. */
void batcher_maybe_apply(cdc_daemon *d, bool drained);

/* The filling batch reached a configured bound: read no more until it is applied. */
bool batcher_full(const cdc_daemon *d);

/* Queues (or moves) a full rebuild of entity, resuming after `after` (NULL:
 * from the start). */
void batcher_rebuild_add(cdc_daemon *d, const char *entity, const char *after);

/* The batch timer (d->batch_timer): a batch's oldest transaction is old enough. */
void batcher_timer_cb(evutil_socket_t fd, short events, void *arg);

#endif
