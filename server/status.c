/* status: sd_notify STATUS text of tvsync-server, kept free of I/O so that the wording
 * operators read in `systemctl status` is unit-tested. */
#include <config.h>

#include "server/status.h"

#include <stdio.h>

server_status_database server_status_database_state(const server_status *status)
{
    if (status->workers_connected == 0 && status->workers_not_answered > 0)
        return SERVER_STATUS_DATABASE_NOT_ANSWERING;
    if (status->workers_connected >= status->workers && status->workers > 0)
        return SERVER_STATUS_DATABASE_UP;
    if (status->workers_connected > 0)
        return SERVER_STATUS_DATABASE_PARTIAL;
    return status->ever_connected ? SERVER_STATUS_DATABASE_DOWN : SERVER_STATUS_DATABASE_CONNECTING;
}

bool server_status_changed(const server_status *before, const server_status *now)
{
    return server_status_database_state(before) != server_status_database_state(now) ||
           before->draining != now->draining;
}

void server_status_format(const server_status *now, const server_status *before, double seconds,
                          const char *listen, char *out, size_t size)
{
    char database[64];
    switch (server_status_database_state(now)) {
    case SERVER_STATUS_DATABASE_UP:
        snprintf(database, sizeof database, "database up");
        break;
    case SERVER_STATUS_DATABASE_PARTIAL:
        snprintf(database, sizeof database, "database up on %d of %d workers", now->workers_connected,
                 now->workers);
        break;
    case SERVER_STATUS_DATABASE_NOT_ANSWERING:
        snprintf(database, sizeof database, "database not answering");
        break;
    case SERVER_STATUS_DATABASE_DOWN:
        snprintf(database, sizeof database, "database down");
        break;
    case SERVER_STATUS_DATABASE_CONNECTING:
        snprintf(database, sizeof database, "database connecting");
        break;
    }
    /* No rate without an interval: the first line reports 0 rather than a made-up figure. */
    double rate = 0;
    if (before != NULL && seconds > 0 && now->requests >= before->requests)
        rate = (double) (now->requests - before->requests) / seconds;
    char lag[48] = "";
    if (now->slot_lag_bytes >= 0)
        snprintf(lag, sizeof lag, "; slot lag %lld bytes", now->slot_lag_bytes);
    snprintf(out, size,
             "%s %s; %s; %.1f req/s; %d in flight; pool %d busy, %d/%d connected; %d sync waits pending%s",
             now->draining ? "draining, was serving on" : "serving on", listen, database, rate, now->in_flight,
             now->pool_busy, now->pool_connected, now->pool_size, now->sync_pending, lag);
}
