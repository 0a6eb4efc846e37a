/* failover_guard: the arithmetic that keeps a failover slot's confirmed flush behind
 * what the standbys have of tvsync-cdc's own apply commits (see failover_guard.h). */
#include "config.h"

#include "cdc/failover_guard.h"

void failover_guard_reset(failover_guard *guard, bool active)
{
    guard->active = active;
    guard->safe = LSN_INVALID;
    guard->waiting = false;
    guard->waiting_flush = guard->waiting_wal = LSN_INVALID;
}

lsn_t failover_guard_cap(const failover_guard *guard, lsn_t flush)
{
    if (!guard->active || flush <= guard->safe)
        return flush;
    return guard->safe;
}

static bool advance(failover_guard *guard, lsn_t flush)
{
    if (flush <= guard->safe)
        return false;
    guard->safe = flush;
    return true;
}

bool failover_guard_sampled(failover_guard *guard, lsn_t noted_flush, lsn_t wal, bool standbys_listed,
                            lsn_t standby_flush)
{
    if (!guard->active)
        return false;
    bool advanced = false;
    if (!standbys_listed) {
        /* Nobody to wait for: no standby is kept in step with the slot either. */
        guard->waiting = false;
        return advance(guard, noted_flush);
    }
    if (guard->waiting && standby_flush != LSN_INVALID && guard->waiting_wal <= standby_flush) {
        advanced = advance(guard, guard->waiting_flush);
        guard->waiting = false;
    }
    if (standby_flush != LSN_INVALID && wal <= standby_flush) {
        /* the standbys are level with the primary already */
        advanced = advance(guard, noted_flush) || advanced;
        guard->waiting = false;
    } else if (!guard->waiting && noted_flush > guard->safe) {
        guard->waiting = true;
        guard->waiting_flush = noted_flush;
        guard->waiting_wal = wal;
    }
    return advanced;
}
