/* slot_common: connection, query and error-message helpers shared by the
 * tvsync-slot commands; every failure becomes one line saying what to do. */
#include "slot/slot_common.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/exit_codes.h"
#include "common/log.h"

bool slot_name_valid(const char *name)
{
    size_t length = name ? strlen(name) : 0;
    if (length == 0 || length > 63)
        return false;
    for (const char *c = name; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return false;
    }
    return true;
}

static bool contains(const char *haystack, const char *needle)
{
    return haystack && strstr(haystack, needle) != NULL;
}

static bool sqlstate_is(const char *sqlstate, const char *expected)
{
    return sqlstate && strcmp(sqlstate, expected) == 0;
}

const char *slot_error_fix(const char *sqlstate, const char *message, const char *role, char *buffer,
                           size_t buffer_size)
{
    const char *role_text = role && *role ? role : "<role>";

    /* Debian's PostgreSQL (15.19 and later) only lets whitelisted output plugins
     * decode; wal2json must be added by the administrator. */
    if (contains(message, "may not be used as an output plugin"))
        return "add wal2json to output_plugin_libraries in postgresql.conf "
               "(output_plugin_libraries = 'pgoutput, test_decoding, wal2json') and reload PostgreSQL";
    if (contains(message, "could not access file \"wal2json\""))
        return "install the wal2json output plugin on the database server "
               "(apt-get install postgresql-15-wal2json, for PostgreSQL 15)";
    if (contains(message, "must be superuser or replication role")) {
        /* The attribute is not inherited through membership in tvsync_cdc. */
        snprintf(buffer, buffer_size,
                 "give the role the REPLICATION attribute as a superuser: ALTER ROLE \"%s\" REPLICATION",
                 role_text);
        return buffer;
    }
    if (contains(message, "requires wal_level >= logical"))
        return "set wal_level = logical in postgresql.conf and restart PostgreSQL";
    if (contains(message, "all replication slots are in use"))
        return "raise max_replication_slots in postgresql.conf and restart PostgreSQL, or drop an unused slot";
    if (contains(message, "exceeds max_wal_senders"))
        return "raise max_wal_senders in postgresql.conf and restart PostgreSQL";
    if (sqlstate_is(sqlstate, "55006") && contains(message, "replication slot"))
        return "a process is streaming from the slot (tvsync-cdc?): stop it first";
    if (sqlstate_is(sqlstate, "55006") && contains(message, "replication origin"))
        return "a process is using the replication origin (tvsync-cdc?): stop it first";
    if (contains(message, "can no longer get changes from replication slot"))
        return "its WAL was removed (wal_status lost): run tvsync-slot drop, then tvsync-slot create";
    if (sqlstate_is(sqlstate, "42704") && contains(message, "replication slot"))
        return "run tvsync-slot create";
    if (sqlstate_is(sqlstate, "42710") && contains(message, "replication slot"))
        return "use --if-not-exists, or run tvsync-slot drop first";
    if (contains(message, "\"tvsync") &&
        (sqlstate_is(sqlstate, "3F000") || sqlstate_is(sqlstate, "42P01") || sqlstate_is(sqlstate, "42883")))
        return "apply the migrations: tvsync-migrate up";
    if (sqlstate_is(sqlstate, "42501") && contains(message, "pg_replication_origin")) {
        snprintf(buffer, buffer_size,
                 "run as a superuser, or GRANT EXECUTE on the pg_replication_origin_* functions to \"%s\"",
                 role_text);
        return buffer;
    }
    if (sqlstate_is(sqlstate, "42501") && contains(message, "may not request a full rebuild")) {
        snprintf(buffer, buffer_size, "run it as a role granted tvsync_admin: GRANT tvsync_admin TO \"%s\"",
                 role_text);
        return buffer;
    }
    if (sqlstate_is(sqlstate, "42501")) {
        snprintf(buffer, buffer_size, "grant the role tvsync's privileges: GRANT tvsync_cdc TO \"%s\"",
                 role_text);
        return buffer;
    }
    if (contains(message, "Connection refused") || contains(message, "could not translate host name") ||
        contains(message, "timeout expired"))
        return "is PostgreSQL running there? check --database or TVSYNC_DATABASE_URL";
    if (contains(message, "invalid URI") || contains(message, "in URI") || contains(message, "invalid connection option") ||
        contains(message, "missing \"=\"") || contains(message, "invalid integer value") ||
        contains(message, "invalid port number"))
        return "fix --database or TVSYNC_DATABASE_URL (a postgresql:// URI or a conninfo string)";
    if (contains(message, "authentication failed") || contains(message, "no pg_hba.conf entry") ||
        (contains(message, "database") && contains(message, "does not exist")) ||
        (contains(message, "role") && contains(message, "does not exist")))
        return "check the user, password and database in --database or TVSYNC_DATABASE_URL";
    return NULL;
}

static PGconn *connect_url(const tvsync_config *config, const char *url, pg_connect_mode mode, int *exit_status)
{
    char error[1024];
    char fix_buffer[256];
    pg_error_kind kind = PG_ERROR_NONE;
    PGconn *conn = pg_connect(url, SLOT_APPLICATION_NAME, mode,
                              config->database.connect_timeout_ms, &kind, error, sizeof error);
    if (conn)
        return conn;
    if (url != config->database.url)
        log_error("cannot connect to [cdc] decode_url (the standby holding the slot):");
    /* The role is only known from the URL here; libpq's defaults apply when absent. */
    const char *fix = slot_error_fix(NULL, error, NULL, fix_buffer, sizeof fix_buffer);
    if (contains(error, "must be superuser or replication role")) {
        PQconninfoOption *options = PQconninfoParse(config->database.url ? config->database.url : "", NULL);
        const char *user = NULL;
        for (PQconninfoOption *option = options; option && option->keyword; option++) {
            if (strcmp(option->keyword, "user") == 0 && option->val)
                user = option->val;
        }
        if (!user)
            user = getenv("PGUSER");
        fix = slot_error_fix(NULL, error, user, fix_buffer, sizeof fix_buffer);
        log_error("%s connection: %s: %s", mode == PG_CONNECT_REPLICATION ? "replication" : "database",
                  error, fix);
        PQconninfoFree(options);
    } else if (fix) {
        log_error("%s: %s", error, fix);
    } else {
        log_error("%s", error);
    }
    *exit_status = TVSYNC_EXIT_DATABASE;
    return NULL;
}

PGconn *slot_connect(const tvsync_config *config, pg_connect_mode mode, int *exit_status)
{
    return connect_url(config, config->database.url, mode, exit_status);
}

bool slot_on_standby(const tvsync_config *config)
{
    return config->cdc.decode_url && config->cdc.decode_url[0];
}

PGconn *slot_connect_slot_server(const tvsync_config *config, pg_connect_mode mode, int *exit_status)
{
    return connect_url(config, slot_on_standby(config) ? config->cdc.decode_url : config->database.url, mode,
                       exit_status);
}

int slot_standby_verify(PGconn *primary, PGconn *standby, char *problem, size_t problem_size)
{
    static const char sql[] =
        "SELECT current_setting('server_version_num')::int, current_setting('server_version'), pg_is_in_recovery(), "
        "CASE WHEN has_function_privilege('pg_control_system()', 'EXECUTE') "
        "THEN (SELECT system_identifier::text FROM pg_control_system()) END";
    problem[0] = '\0';
    PGresult *on_standby = slot_query(standby, "checking the standby of [cdc] decode_url", sql, 0, NULL, NULL);
    if (!on_standby)
        return -1;
    PGresult *on_primary = slot_query(primary, "reading the primary's system identifier", sql, 0, NULL, NULL);
    if (!on_primary) {
        PQclear(on_standby);
        return -1;
    }
    int verdict = 1;
    if (atoi(PQgetvalue(on_standby, 0, 0)) < SLOT_STANDBY_DECODE_MIN_VERSION)
        snprintf(problem, problem_size, "[cdc] decode_url is a PostgreSQL %s server, and a slot on a standby needs "
                 "PostgreSQL 16 or later: point decode_url at a standby of version 16 or later, or leave it empty "
                 "to keep the slot on database.url", PQgetvalue(on_standby, 0, 1));
    else if (strcmp(PQgetvalue(on_standby, 0, 2), "t") != 0)
        snprintf(problem, problem_size, "[cdc] decode_url is not a hot standby (that server is not in recovery): "
                 "point decode_url at a standby of database.url, or leave it empty to keep the slot on "
                 "database.url");
    else if (!PQgetisnull(on_standby, 0, 3) && !PQgetisnull(on_primary, 0, 3) &&
             strcmp(PQgetvalue(on_standby, 0, 3), PQgetvalue(on_primary, 0, 3)) != 0)
        snprintf(problem, problem_size, "[cdc] decode_url is not a standby of database.url: its system identifier "
                 "is %s, the primary's %s; point decode_url at a hot standby that replicates from database.url",
                 PQgetvalue(on_standby, 0, 3), PQgetvalue(on_primary, 0, 3));
    else if (PQgetisnull(on_standby, 0, 3) || PQgetisnull(on_primary, 0, 3))
        verdict = 2;
    else
        verdict = 0;
    if (problem[0])
        verdict = 1;
    PQclear(on_standby);
    PQclear(on_primary);
    return verdict;
}

const char *slot_sqlstate(const PGresult *result)
{
    const char *sqlstate = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
    return sqlstate ? sqlstate : "";
}

int slot_query_exit_status(const PGresult *failed_result)
{
    const char *primary = failed_result ? PQresultErrorField(failed_result, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (strcmp(slot_sqlstate(failed_result), "42704") == 0 ||
        contains(primary, "can no longer get changes from replication slot"))
        return TVSYNC_EXIT_SLOT;
    return TVSYNC_EXIT_DATABASE;
}

static PGresult *query_outcome(PGconn *conn, const char *what, PGresult *result, PGresult **failed_result);

PGresult *slot_query(PGconn *conn, const char *what, const char *sql, int param_count,
                     const char *const *params, PGresult **failed_result)
{
    /* Walsender sessions speak only the simple query protocol. */
    PGresult *result = param_count == 0 ? PQexec(conn, sql)
                                        : PQexecParams(conn, sql, param_count, NULL, params, NULL, NULL, 0);
    return query_outcome(conn, what, result, failed_result);
}

PGresult *slot_query_nudged(PGconn *conn, const char *what, const char *sql, void (*nudge)(void *arg), void *arg,
                            PGresult **failed_result)
{
    if (!PQsendQuery(conn, sql))
        return query_outcome(conn, what, NULL, failed_result);
    while (PQisBusy(conn)) {
        struct pollfd ready = {.fd = PQsocket(conn), .events = POLLIN};
        int count = poll(&ready, 1, SLOT_NUDGE_INTERVAL_MS);
        if (count < 0 && errno != EINTR)
            break;
        if (count > 0 && !PQconsumeInput(conn))
            break;
        if (count == 0)
            nudge(arg);
    }
    /* The last result is the one that tells; a broken connection gives NULL. */
    PGresult *result = NULL, *next;
    while ((next = PQgetResult(conn)) != NULL) {
        PQclear(result);
        result = next;
    }
    return query_outcome(conn, what, result, failed_result);
}

static PGresult *query_outcome(PGconn *conn, const char *what, PGresult *result, PGresult **failed_result)
{
    ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)
        return result;

    char line[1024];
    char fix_buffer[256];
    pg_error_line(conn, result, line, sizeof line);
    const char *primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *fix = slot_error_fix(result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL,
                                     primary ? primary : line, PQuser(conn),
                                     fix_buffer, sizeof fix_buffer);
    if (fix)
        log_error("%s: %s: %s", what, line, fix);
    else
        log_error("%s: %s", what, line);
    if (failed_result)
        *failed_result = result;
    else
        PQclear(result);
    return NULL;
}

static void standby_wait_notice(void *arg, const PGresult *notice)
{
    slot_standby_wait *wait = arg;
    if (wait->previous)
        wait->previous(NULL, notice);
    const char *message = PQresultErrorField(notice, PG_DIAG_MESSAGE_PRIMARY);
    if (message && strstr(message, "skipped loading publication"))
        wait->publication_skipped = true;
    const char *detail = PQresultErrorField(notice, PG_DIAG_MESSAGE_DETAIL);
    static const char waiting[] = "waiting on the standby associated with replication slot \"";
    const char *at = detail ? strstr(detail, waiting) : NULL;
    if (!at || wait->cancelled)
        return;
    at += sizeof waiting - 1;
    size_t length = strcspn(at, "\"");
    if (length >= sizeof wait->standby)
        length = sizeof wait->standby - 1;
    memcpy(wait->standby, at, length);
    wait->standby[length] = '\0';
    wait->cancelled = true;
    PGcancel *cancel = PQgetCancel(wait->conn);
    char error[256];
    if (cancel) {
        PQcancel(cancel, error, sizeof error);
        PQfreeCancel(cancel);
    }
}

void slot_standby_wait_arm(slot_standby_wait *wait, PGconn *conn)
{
    memset(wait, 0, sizeof *wait);
    wait->conn = conn;
    wait->previous = PQsetNoticeReceiver(conn, standby_wait_notice, wait);
}

void slot_standby_wait_disarm(slot_standby_wait *wait)
{
    PQsetNoticeReceiver(wait->conn, wait->previous, NULL);
}
