/* pump: reading tvsync-cdc's replication stream (part of the daemon,
 * daemon_internal.h): decoded records (wal2json or pgoutput) into the filling
 * batch, with exactly-once skipping below the origin's progress and bounded
 * reads while the batch is full; the status updates (feedback) that advance the slot; and the stop
 * sequence (final status, CopyDone, drain). */
#ifndef TVSYNC_CDC_PUMP_H
#define TVSYNC_CDC_PUMP_H

#include "cdc/daemon_internal.h"

/* Event callbacks: the replication socket readable (d->stream_read) or
 * writable again (d->stream_write), the pump's own turn (d->work_event), and
 * the periodic status update (d->status_timer). A broken stream goes to
 * session_fail. */
void pump_read_cb(evutil_socket_t fd, short events, void *arg);
void pump_write_cb(evutil_socket_t fd, short events, void *arg);
void pump_work_cb(evutil_socket_t fd, short events, void *arg);
void pump_status_timer_cb(evutil_socket_t fd, short events, void *arg);
/* Nothing pending and the server's end of WAL (its last keepalive) not yet confirmed: confirm
 * it now, not at the next status tick. tvsync-server's read-your-writes waits end on the
 * slot's confirmed position when WAL other than source transactions (this daemon's own
 * applies, say) follows a mutation's commit. Called on each keepalive and after each apply. */
void pump_confirm_idle(cdc_daemon *d);
/* Sends a status update that asks the server to answer at once (a keepalive): a probe
 * that the database still answers. */
void pump_request_reply(cdc_daemon *d);

/* When stopping and nothing is being applied any more: sends the final status
 * update and CopyDone, then drains the stream (d->drain_timer bounds it); the
 * loop ends when the server has ended the stream. Does nothing otherwise. */
void pump_finish_stop(cdc_daemon *d);

#endif
