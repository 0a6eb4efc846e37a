/* session: tvsync-cdc's database session (part of the daemon,
 * daemon_internal.h): the apply, misc and replication connections, set up on a
 * thread of their own so the loop keeps serving, then handed to the loop; and
 * the reconnect with backoff when any of them breaks. */
#ifndef TVSYNC_CDC_SESSION_H
#define TVSYNC_CDC_SESSION_H

#include "cdc/daemon_internal.h"

/* Starts a session setup (one at a time; without a thread, on the loop). Its
 * end is reported through d->setup_pipe to session_setup_done_cb: streaming,
 * a reconnect later, or the loop's end with TVSYNC_EXIT_SLOT or
 * TVSYNC_EXIT_DATABASE (daemon_fatal_exit). */
void session_connect(cdc_daemon *d);

/* Event callbacks: the setup thread's wake-up (d->setup_event on
 * d->setup_pipe[0]) and the reconnect timer (d->reconnect_timer). */
void session_setup_done_cb(evutil_socket_t fd, short events, void *arg);
void session_reconnect_cb(evutil_socket_t fd, short events, void *arg);

/* A connection broke (reason: what libpq or the apply said): closes the
 * session and reconnects after a backoff, or ends the loop when stopping. */
void session_fail(cdc_daemon *d, const char *reason);

/* Closes the connections and drops the batches, the held intent and the
 * pending rebuilds: whatever was not applied comes again from the origin's
 * progress. Safe on a closed session. */
void session_close(cdc_daemon *d);

/* Logs what an operator must do about a slot whose WAL is gone. */
void session_slot_lost_message(const char *slot);

/* Waits for a setup still running (its calls end within the connect timeout)
 * and frees it. */
void session_abandon_setup(cdc_daemon *d);

#endif
