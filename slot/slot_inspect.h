/* slot_inspect: the tvsync-slot commands that look at a created slot or
 * write only to the log: status, peek and rebuild requests. */
#ifndef TVSYNC_SLOT_INSPECT_H
#define TVSYNC_SLOT_INSPECT_H

#include <stdbool.h>

#include "common/config.h"

/* Prints the slot's state (plugin, failover on PostgreSQL 17+, active pid, restart and confirmed-flush
 * LSNs, wal_status, safe_wal_size, retained WAL and lag in bytes, the
 * origin's progress) as "key value" lines, or as one JSON object when json is
 * set. Returns TVSYNC_EXIT_SLOT with one line ("replication slot "x" does not
 * exist: run tvsync-slot create") when the slot is missing, and also (after
 * printing, with one line saying what to do) when the slot's replication
 * origin is missing or its WAL was removed (wal_status lost);
 * TVSYNC_EXIT_DATABASE on a database error. */
int slot_status(const tvsync_config *config, bool json);

/* Prints up to limit pending intents ("LSN<TAB>content" per line) without
 * consuming them. Refused with TVSYNC_EXIT_FAILURE while a process streams
 * from the slot (PostgreSQL cannot peek an active slot); TVSYNC_EXIT_SLOT
 * when the slot is missing. */
int slot_peek(const tvsync_config *config, int limit);

/* Publishes a rebuild request (tvsync.request_rebuild) for entity, or for
 * every registered entity when entity is NULL, in one transaction, and prints
 * each request's LSN. An unknown entity is refused (TVSYNC_EXIT_USAGE) with
 * the list of known ones; a missing slot is refused (TVSYNC_EXIT_SLOT) since
 * nobody would read the request. */
int slot_rebuild(const tvsync_config *config, const char *entity);

#endif
