/* slot_check: `tvsync-slot check`, the preflight run before creating the slot:
 * server version, settings, free slots and senders, wal2json, privileges, migrations. */
#ifndef TVSYNC_SLOT_CHECK_H
#define TVSYNC_SLOT_CHECK_H

#include "common/config.h"

/* Runs every check against config->database.url and prints one line per
 * check on stdout: "ok    WHAT" or "FAIL  WHAT: FIX". A check that cannot run
 * because an earlier one failed prints "skip  WHAT: why"; "note  ..." lines
 * are advice that does not fail the check. Nothing is left
 * behind on the server (the wal2json probe uses a temporary slot).
 * Returns TVSYNC_EXIT_OK when all pass, TVSYNC_EXIT_FAILURE when any fails,
 * TVSYNC_EXIT_DATABASE when the server cannot be reached (one line on stderr). */
int slot_check_run(const tvsync_config *config);

#endif
