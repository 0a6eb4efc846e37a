/* daemon: tvsync-cdc's event loop: the replication stream, batching, the apply
 * connection, heartbeats, slot statistics, feedback, signals, metrics, sd_notify. */
#ifndef TVSYNC_CDC_DAEMON_H
#define TVSYNC_CDC_DAEMON_H

#include "common/cli.h"
#include "common/config.h"

/* Runs until SIGTERM/SIGINT (exit 0) or a condition retrying cannot fix
 * (TVSYNC_EXIT_SLOT for a missing slot/origin or a slot whose WAL was removed,
 * TVSYNC_EXIT_DATABASE for a fatal database error, TVSYNC_EXIT_CONFIG when the
 * metrics address cannot be bound). config and cli stay the caller's; SIGHUP
 * replaces *config through cli_reload. Returns the exit status. */
int cdc_daemon_run(const cli_state *cli, tvsync_config *config);

#endif
