/* slot_watch: `tvsync-slot status --watch`, the slot's lag redrawn every
 * second with a sparkline of the last minutes, until Ctrl-C. */
#ifndef TVSYNC_SLOT_WATCH_H
#define TVSYNC_SLOT_WATCH_H

#include <stddef.h>

#include "common/config.h"

/* Samples the slot once a second. On a terminal it redraws a small screen
 * (activity, wal_status, lag and retained WAL with sparklines); otherwise it
 * prints one "key=value" line per second, for logs and scripts. A lost
 * connection is shown and retried each second. SIGINT/SIGTERM end it.
 * Returns TVSYNC_EXIT_OK when stopped by a signal, TVSYNC_EXIT_SLOT when
 * the slot is or goes missing, TVSYNC_EXIT_DATABASE when the first
 * connection fails. */
int slot_watch_run(const tvsync_config *config);

/* Writes a sparkline of values (oldest first) into out: one of the eight
 * block characters U+2581..U+2588 per value (3 bytes of UTF-8 each), scaled
 * from 0 to the largest value; negative values count as 0. Only the newest
 * values that fit are drawn. out is always NUL-terminated (out_size >= 1). */
void slot_sparkline(const double *values, size_t count, char *out, size_t out_size);

/* "0 B", "512 B", "12.3 kB", "4.0 MB", "1.2 GB" (powers of 1024). */
void slot_format_bytes(double bytes, char *out, size_t out_size);

#endif
