/* notify: systemd service notifications (sd_notify). Built without libsystemd
 * every function is a no-op, so call sites carry no #ifdef. */
#ifndef TVSYNC_COMMON_NOTIFY_H
#define TVSYNC_COMMON_NOTIFY_H

#include <stdint.h>

void notify_ready(void);
/* RELOADING=1 with MONOTONIC_USEC, as Type=notify-reload expects. */
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *format, ...) __attribute__((format(printf, 1, 2)));
void notify_watchdog(void);
/* The watchdog interval systemd asked for in microseconds, 0 when none
 * (or when built without systemd). Ping at half of it. */
uint64_t notify_watchdog_usec(void);

#endif
