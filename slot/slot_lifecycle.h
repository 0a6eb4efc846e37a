/* slot_lifecycle: `tvsync-slot create` and `drop`: the replication slot, its
 * replication origin and the initial build of every tv_* table, all or nothing. */
#ifndef TVSYNC_SLOT_LIFECYCLE_H
#define TVSYNC_SLOT_LIFECYCLE_H

#include <stdbool.h>

#include "common/config.h"

/* Creates the logical slot config->slot.name with wal2json over the
 * replication protocol, exporting its snapshot; inside that snapshot rebuilds
 * every registered entity (tvsync.rebuild_chunk, config->cdc.rebuild_chunk_rows
 * at a time), creates the replication origin of the same name and sets its
 * progress to the slot's consistent point, and commits; only then lets the
 * replication connection go. Streaming from the origin's progress thus starts
 * exactly where the build ended.
 * On any failure (and on SIGINT/SIGTERM, which cancel the running statement)
 * the slot is dropped again and the build rolled back; the reason is logged as
 * one line. Progress lines go to stdout.
 * With config->slot.failover the slot is made with FAILOVER (synchronized to
 * standbys); a server older than 17 is refused (TVSYNC_EXIT_FAILURE) before
 * anything is made. With if_not_exists, an existing slot whose failover flag
 * differs from the key is altered to match, unless a process streams from it
 * (TVSYNC_EXIT_FAILURE, saying to stop it).
 * Returns TVSYNC_EXIT_OK; TVSYNC_EXIT_OK too when the slot exists and
 * if_not_exists is set (saying so); TVSYNC_EXIT_FAILURE when it exists and
 * if_not_exists is not set, when a check fails or when interrupted;
 * TVSYNC_EXIT_SLOT when the slot exists without its origin (half made by
 * something else); TVSYNC_EXIT_DATABASE on a database error. */
int slot_create(const tvsync_config *config, bool if_not_exists);

/* Drops the slot and the origin named config->slot.name, each if present,
 * saying on stdout what was dropped. Refuses (TVSYNC_EXIT_FAILURE) while a
 * process streams from the slot. Returns TVSYNC_EXIT_SLOT when neither
 * existed, TVSYNC_EXIT_DATABASE on a database error. */
int slot_drop(const tvsync_config *config);

#endif
