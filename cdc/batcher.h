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

/* A registry read from the log at the stream's position (the daemon takes
 * ownership of fresh). Returns true when it is in force at once: the filling
 * batch holds no ids read with the old one. Otherwise it waits in
 * d->pending_reg and the stream must not be read further until
 * batcher_registry_take_pending returns true. */
bool batcher_registry_change(cdc_daemon *d, registry *fresh);

/* Puts d->pending_reg in force once the filling batch holds no ids (the one
 * that held them went to be applied with the old registry). True when no
 * registry is pending any more. */
bool batcher_registry_take_pending(cdc_daemon *d);

/* Frees a registry the daemon owns (NULL is fine). */
void batcher_registry_destroy(registry *value);

/* Lets go of the registries of the session that ended: the pending one and,
 * when it is not reg, the one the batch in flight used. reg stays. */
void batcher_registries_release(cdc_daemon *d);

/* The batch timer (d->batch_timer): a batch's oldest transaction is old enough. */
void batcher_timer_cb(evutil_socket_t fd, short events, void *arg);

#endif
