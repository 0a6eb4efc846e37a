/* slot_common: what every tvsync-slot command shares: connecting with a
 * one-line error, slot-name rules, queries that log their failure with a fix. */
#ifndef TVSYNC_SLOT_COMMON_H
#define TVSYNC_SLOT_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "common/config.h"
#include "common/pg.h"

#define SLOT_APPLICATION_NAME "tvsync-slot"

/* The first server_version_num with failover slots (synchronized to standbys). */
#define SLOT_FAILOVER_MIN_VERSION 170000

/* The refusal of [slot] failover = on by an older server, one printf format
 * taking the server's version text; create logs it, check prints it as FAIL. */
#define SLOT_FAILOVER_UNSUPPORTED                                                                       \
    "[slot] failover is on, but the server is PostgreSQL %s and failover slots need PostgreSQL 17 or " \
    "later: set failover = off under [slot] (or upgrade the server)"

/* PostgreSQL's rule for replication slot names: 1 to 63 characters, each
 * a lower-case letter, a digit or an underscore. The same name is used for
 * the replication origin. */
bool slot_name_valid(const char *name);

/* The fix for a PostgreSQL error that users meet while setting tvsync up
 * ("set wal_level = logical in postgresql.conf and restart PostgreSQL"), or
 * NULL when there is none to suggest. sqlstate may be NULL (connection
 * errors have none); message is the primary error text; role (may be NULL)
 * fills the fixes that name it. The returned text is static or written into
 * buffer. */
const char *slot_error_fix(const char *sqlstate, const char *message, const char *role, char *buffer,
                           size_t buffer_size);

/* Connects to config->database.url. On failure logs one line (what failed,
 * where, and the fix when one is known), sets *exit_status to
 * TVSYNC_EXIT_DATABASE and returns NULL. The caller owns the connection. */
PGconn *slot_connect(const tvsync_config *config, pg_connect_mode mode, int *exit_status);

/* Runs sql with text parameters (params may be NULL when param_count is 0;
 * then the simple query protocol is used, as walsender commands need).
 * Returns the result when it succeeded (the caller PQclear()s it). On failure
 * logs "WHAT: error (SQLSTATE x): fix" as one line and returns NULL; when
 * failed_result is not NULL the failed result is handed over there instead of
 * being cleared (the caller PQclear()s it), so the caller can look at the
 * SQLSTATE. */
PGresult *slot_query(PGconn *conn, const char *what, const char *sql, int param_count,
                     const char *const *params, PGresult **failed_result);

/* The SQLSTATE of a failed result, or "" when it has none. */
const char *slot_sqlstate(const PGresult *result);

/* Exit status for a failed query: TVSYNC_EXIT_SLOT when the slot or origin
 * does not exist (SQLSTATE 42704) or the slot's WAL was removed,
 * TVSYNC_EXIT_DATABASE otherwise. */
int slot_query_exit_status(const PGresult *failed_result);

/* What PostgreSQL warns of while a statement decodes a slot. Decoding from a failover slot
 * (PostgreSQL 17 and later) waits without end for the standbys synchronized_standby_slots
 * lists, saying so in a WARNING every few seconds: while armed on conn, the first such warning
 * cancels the running statement and keeps the standby's slot name, so that the caller says
 * what it waited for rather than hanging. PostgreSQL 18 decodes a change from before its
 * publication existed by skipping the publication, with a warning: publication_skipped. The
 * notices go on to libpq's default receiver. */
typedef struct slot_standby_wait {
    PGconn *conn;
    PQnoticeReceiver previous;
    bool cancelled;
    char standby[128];  /* the physical slot waited for */
    bool publication_skipped;
} slot_standby_wait;

void slot_standby_wait_arm(slot_standby_wait *wait, PGconn *conn);
void slot_standby_wait_disarm(slot_standby_wait *wait);

#endif
