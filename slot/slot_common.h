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

/* Whether [cdc] decode_url names a standby that holds the slot. */
bool slot_on_standby(const tvsync_config *config);

/* Connects, as slot_connect does, to the server the slot lives on: [cdc]
 * decode_url when set, else database.url. */
PGconn *slot_connect_slot_server(const tvsync_config *config, pg_connect_mode mode, int *exit_status);

/* The first server_version_num with logical decoding on a standby. */
#define SLOT_STANDBY_DECODE_MIN_VERSION 160000

/* Whether standby (of [cdc] decode_url) can hold the slot for primary (database.url):
 * PostgreSQL 16 or later, in recovery, with the primary's system identifier. Returns 0
 * when it can, 1 when it cannot (problem[] says why and what to do), 2 when the system
 * identifiers could not be compared (pg_control_system() not granted), -1 when a query
 * failed (logged). */
int slot_standby_verify(PGconn *primary, PGconn *standby, char *problem, size_t problem_size);

/* Runs sql with text parameters (params may be NULL when param_count is 0;
 * then the simple query protocol is used, as walsender commands need).
 * Returns the result when it succeeded (the caller PQclear()s it). On failure
 * logs "WHAT: error (SQLSTATE x): fix" as one line and returns NULL; when
 * failed_result is not NULL the failed result is handed over there instead of
 * being cleared (the caller PQclear()s it), so the caller can look at the
 * SQLSTATE. */
PGresult *slot_query(PGconn *conn, const char *what, const char *sql, int param_count,
                     const char *const *params, PGresult **failed_result);

/* slot_query for a command without parameters that may wait long (the simple query
 * protocol): while no answer has come, nudge(arg) runs every SLOT_NUDGE_INTERVAL_MS. */
#define SLOT_NUDGE_INTERVAL_MS 200
PGresult *slot_query_nudged(PGconn *conn, const char *what, const char *sql, void (*nudge)(void *arg), void *arg,
                            PGresult **failed_result);

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
