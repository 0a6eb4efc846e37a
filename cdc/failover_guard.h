/* failover_guard: which flush position tvsync-cdc may confirm on a failover slot, so that
 * a standby promoted in its place never holds a slot past apply commits it lacks. */
#ifndef TVSYNC_CDC_FAILOVER_GUARD_H
#define TVSYNC_CDC_FAILOVER_GUARD_H

#include <stdbool.h>

#include "common/lsn.h"

/* Why: a standby's slot synchronization copies the primary slot's confirmed_flush once the
 * standby has flushed WAL up to it, but tvsync-cdc confirms a source transaction after its
 * apply transaction commits, later in the WAL. Promoted between the two, the standby's slot
 * would start decoding past intents whose rebuild it never received.
 *
 * How: now and then (the status interval) the daemon notes the flush it would confirm and
 * asks the primary, in one statement, for its current WAL insert position and for the
 * flush position of the standbys named in synchronized_standby_slots (their physical
 * slots' restart_lsn). A flush noted before a WAL position the standbys have flushed is
 * safe: every apply commit it depends on was acknowledged before that position. One
 * sample waits for the standbys at a time (the oldest), so a standby that always lags a
 * little still lets the flush advance. All plain arithmetic: no I/O, no allocation. */
typedef struct failover_guard {
    bool active;            /* the slot is a failover slot: flushes are capped */
    lsn_t safe;             /* the largest flush known safe; LSN_INVALID: none yet */
    bool waiting;           /* a noted flush waits for the standbys */
    lsn_t waiting_flush;
    lsn_t waiting_wal;      /* the primary's WAL position when it was noted */
} failover_guard;

/* Starts a session's guard: nothing is known safe yet. */
void failover_guard_reset(failover_guard *guard, bool active);

/* The flush to confirm: flush itself when the guard is inactive, else at most the safe
 * position (LSN_INVALID, which the server ignores, until one is known). */
lsn_t failover_guard_cap(const failover_guard *guard, lsn_t flush);

/* A sample's answer. noted_flush: the flush the daemon would have confirmed when it sent
 * the sample; wal: the primary's WAL insert position then; standbys_listed: whether
 * synchronized_standby_slots names any slot (when it names none, nothing waits for a
 * standby and the noted flush is safe at once); standby_flush: the smallest flush
 * position of the named standbys, LSN_INVALID when one of them is unknown (no such
 * physical slot, or never connected). Returns true when the safe position advanced. */
bool failover_guard_sampled(failover_guard *guard, lsn_t noted_flush, lsn_t wal, bool standbys_listed,
                            lsn_t standby_flush);

#endif
