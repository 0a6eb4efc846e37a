/* slot_inspect: status, peek and rebuild for an existing slot; each reads
 * PostgreSQL's own views and functions, nothing is consumed or changed. */
#include "slot/slot_inspect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/alloc.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "common/pgoutput.h"
#include "common/wal2json.h"
#include "slot/slot_common.h"

/* Status columns, in the order of STATUS_SQL. */
enum {
    STATUS_SLOT,
    STATUS_PLUGIN,
    STATUS_SLOT_TYPE,
    STATUS_ACTIVE,
    STATUS_ACTIVE_PID,
    STATUS_RESTART_LSN,
    STATUS_CONFIRMED_FLUSH_LSN,
    STATUS_WAL_STATUS,
    STATUS_SAFE_WAL_SIZE,
    STATUS_RETAINED_BYTES,
    STATUS_LAG_BYTES,
    STATUS_CURRENT_LSN,
    STATUS_ORIGIN_EXISTS,
    STATUS_FAILOVER,
};

/* On a standby there is no current insert position; the replay position is
 * what the slot's WAL is measured against there. */
static const char STATUS_SQL[] =
    "SELECT s.slot_name, s.plugin, s.slot_type, s.active, s.active_pid, s.restart_lsn, "
    "s.confirmed_flush_lsn, s.wal_status, s.safe_wal_size, "
    "pg_wal_lsn_diff(w.lsn, s.restart_lsn)::bigint, "
    "pg_wal_lsn_diff(w.lsn, s.confirmed_flush_lsn)::bigint, "
    "w.lsn, "
    "EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = $1), "
    /* NULL before PostgreSQL 17, which has no failover column */
    "(to_jsonb(s) ->> 'failover')::boolean "
    "FROM pg_replication_slots s, "
    "LATERAL (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    "ELSE pg_current_wal_lsn() END AS lsn) w "
    "WHERE s.slot_name = $1";

static void report_missing_slot(const char *name)
{
    log_error("replication slot \"%s\" does not exist: run tvsync-slot create", name);
}

static cJSON *json_text_or_null(const PGresult *result, int column)
{
    return alloc_check(PQgetisnull(result, 0, column) ? cJSON_CreateNull()
                                                      : cJSON_CreateString(PQgetvalue(result, 0, column)));
}

static cJSON *json_number_or_null(const PGresult *result, int column)
{
    return alloc_check(PQgetisnull(result, 0, column) ? cJSON_CreateNull()
                                                      : cJSON_CreateNumber(strtod(PQgetvalue(result, 0, column), NULL)));
}

static void status_print_json(const PGresult *result, const char *origin_name, const char *origin_progress)
{
    cJSON *root = alloc_check(cJSON_CreateObject());
    cJSON_AddItemToObject(root, "slot", json_text_or_null(result, STATUS_SLOT));
    cJSON_AddItemToObject(root, "plugin", json_text_or_null(result, STATUS_PLUGIN));
    cJSON_AddItemToObject(root, "slot_type", json_text_or_null(result, STATUS_SLOT_TYPE));
    if (!PQgetisnull(result, 0, STATUS_FAILOVER))
        cJSON_AddBoolToObject(root, "failover", strcmp(PQgetvalue(result, 0, STATUS_FAILOVER), "t") == 0);
    cJSON_AddBoolToObject(root, "active", strcmp(PQgetvalue(result, 0, STATUS_ACTIVE), "t") == 0);
    cJSON_AddItemToObject(root, "active_pid", json_number_or_null(result, STATUS_ACTIVE_PID));
    cJSON_AddItemToObject(root, "restart_lsn", json_text_or_null(result, STATUS_RESTART_LSN));
    cJSON_AddItemToObject(root, "confirmed_flush_lsn", json_text_or_null(result, STATUS_CONFIRMED_FLUSH_LSN));
    cJSON_AddItemToObject(root, "wal_status", json_text_or_null(result, STATUS_WAL_STATUS));
    cJSON_AddItemToObject(root, "safe_wal_size", json_number_or_null(result, STATUS_SAFE_WAL_SIZE));
    cJSON_AddItemToObject(root, "retained_wal_bytes", json_number_or_null(result, STATUS_RETAINED_BYTES));
    cJSON_AddItemToObject(root, "lag_bytes", json_number_or_null(result, STATUS_LAG_BYTES));
    cJSON_AddItemToObject(root, "current_wal_lsn", json_text_or_null(result, STATUS_CURRENT_LSN));
    cJSON_AddItemToObject(root, "origin",
                          alloc_check(origin_name ? cJSON_CreateString(origin_name) : cJSON_CreateNull()));
    cJSON_AddItemToObject(root, "origin_progress",
                          alloc_check(origin_progress ? cJSON_CreateString(origin_progress) : cJSON_CreateNull()));
    char *text = alloc_check(cJSON_PrintUnformatted(root));
    printf("%s\n", text);
    free(text);
    cJSON_Delete(root);
}

static const char *text_or(const PGresult *result, int column, const char *absent)
{
    return PQgetisnull(result, 0, column) ? absent : PQgetvalue(result, 0, column);
}

static void status_print_text(const PGresult *result, const char *origin_name, const char *origin_progress,
                              bool progress_known)
{
    bool active = strcmp(PQgetvalue(result, 0, STATUS_ACTIVE), "t") == 0;
    printf("%-20s %s\n", "slot", PQgetvalue(result, 0, STATUS_SLOT));
    printf("%-20s %s\n", "plugin", text_or(result, STATUS_PLUGIN, "-"));
    printf("%-20s %s\n", "slot_type", text_or(result, STATUS_SLOT_TYPE, "-"));
    if (!PQgetisnull(result, 0, STATUS_FAILOVER))
        printf("%-20s %s\n", "failover", strcmp(PQgetvalue(result, 0, STATUS_FAILOVER), "t") == 0 ? "yes" : "no");
    printf("%-20s %s\n", "active", active ? "yes" : "no");
    printf("%-20s %s\n", "active_pid", text_or(result, STATUS_ACTIVE_PID, "-"));
    printf("%-20s %s\n", "restart_lsn", text_or(result, STATUS_RESTART_LSN, "-"));
    printf("%-20s %s\n", "confirmed_flush_lsn", text_or(result, STATUS_CONFIRMED_FLUSH_LSN, "-"));
    printf("%-20s %s\n", "wal_status", text_or(result, STATUS_WAL_STATUS, "-"));
    /* NULL means max_slot_wal_keep_size = -1: nothing limits the retained WAL. */
    printf("%-20s %s\n", "safe_wal_size", text_or(result, STATUS_SAFE_WAL_SIZE, "unlimited"));
    printf("%-20s %s\n", "retained_wal_bytes", text_or(result, STATUS_RETAINED_BYTES, "-"));
    printf("%-20s %s\n", "lag_bytes", text_or(result, STATUS_LAG_BYTES, "-"));
    printf("%-20s %s\n", "current_wal_lsn", text_or(result, STATUS_CURRENT_LSN, "-"));
    printf("%-20s %s\n", "origin", origin_name ? origin_name : "missing (run tvsync-slot drop, then create)");
    printf("%-20s %s\n", "origin_progress",
           origin_progress ? origin_progress : progress_known ? "-" : "unknown (see the error above)");
}

int slot_status(const tvsync_config *config, bool json)
{
    int status = TVSYNC_EXIT_OK;
    const char *name = config->slot.name;
    PGconn *conn = slot_connect_slot_server(config, PG_CONNECT_NORMAL, &status);
    if (!conn)
        return status;
    const char *params[] = {name};
    PGresult *result = slot_query(conn, "reading pg_replication_slots", STATUS_SQL, 1, params, NULL);
    if (!result) {
        PQfinish(conn);
        return TVSYNC_EXIT_DATABASE;
    }
    if (PQntuples(result) == 0) {
        report_missing_slot(name);
        PQclear(result);
        PQfinish(conn);
        return TVSYNC_EXIT_SLOT;
    }

    const char *origin_name = NULL;
    char *origin_progress = NULL;
    bool progress_known = true;
    if (strcmp(PQgetvalue(result, 0, STATUS_ORIGIN_EXISTS), "t") == 0) {
        origin_name = name;
        /* On the primary, where tvsync-cdc applies: a standby's is as far as it replayed. */
        PGconn *primary = slot_on_standby(config) ? slot_connect(config, PG_CONNECT_NORMAL, &status) : conn;
        /* false: the progress as last recorded, without forcing a flush. */
        PGresult *progress = primary ? slot_query(primary, "reading the replication origin's progress",
                                                  "SELECT pg_replication_origin_progress($1, false)", 1, params, NULL)
                                     : NULL;
        if (primary && primary != conn)
            PQfinish(primary);
        status = TVSYNC_EXIT_OK;
        progress_known = progress != NULL;
        if (progress && !PQgetisnull(progress, 0, 0)) {
            origin_progress = alloc_strdup(PQgetvalue(progress, 0, 0));
        }
        PQclear(progress);
    } else {
        log_warning("replication origin \"%s\" does not exist: tvsync-cdc cannot resume; run tvsync-slot drop, "
                    "then create",
                    name);
    }
    const char *wanted = output_plugin_name(config->slot.plugin);
    if (!PQgetisnull(result, 0, STATUS_PLUGIN) && strcmp(PQgetvalue(result, 0, STATUS_PLUGIN), wanted) != 0)
        log_warning("replication slot \"%s\" uses plugin %s, not %s ([slot] plugin): tvsync-cdc cannot stream "
                    "from it until they agree", name, PQgetvalue(result, 0, STATUS_PLUGIN), wanted);

    if (!PQgetisnull(result, 0, STATUS_FAILOVER) &&
        (strcmp(PQgetvalue(result, 0, STATUS_FAILOVER), "t") == 0) != config->slot.failover)
        log_warning("replication slot \"%s\" has failover %s but [slot] failover is %s: stop tvsync-cdc and run "
                    "tvsync-slot create --if-not-exists to make them agree", name,
                    config->slot.failover ? "off" : "on", config->slot.failover ? "on" : "off");

    /* 'unreserved' still works but is about to lose WAL; 'lost' cannot resume. */
    const char *wal_status = text_or(result, STATUS_WAL_STATUS, "");
    bool wal_lost = strcmp(wal_status, "lost") == 0;
    if (wal_lost)
        log_error("replication slot \"%s\" lost WAL it still needed (wal_status lost): tvsync-cdc cannot resume; "
                  "stop it, run tvsync-slot drop, then tvsync-slot create (it rebuilds every tv_* table)",
                  name);
    else if (strcmp(wal_status, "unreserved") == 0)
        log_warning("replication slot \"%s\" is past max_slot_wal_keep_size (wal_status unreserved): its WAL "
                    "goes at the next checkpoint unless tvsync-cdc catches up",
                    name);

    if (json)
        status_print_json(result, origin_name, origin_progress);
    else
        status_print_text(result, origin_name, origin_progress, progress_known);
    free(origin_progress);
    PQclear(result);
    PQfinish(conn);
    /* A slot without its origin, or without its WAL, is as unusable to
     * tvsync-cdc as no slot. */
    return origin_name && !wal_lost ? TVSYNC_EXIT_OK : TVSYNC_EXIT_SLOT;
}

/* The tvsync messages among pgoutput's peeked changes (bytea, in hex form), one a line. */
static int peek_print_pgoutput(PGresult *result, int rows)
{
    pgoutput_decoder *decoder = pgoutput_decoder_new(NULL);
    int printed = 0;
    for (int row = 0; row < rows; row++) {
        size_t length = 0;
        unsigned char *data = PQunescapeBytea((const unsigned char *) PQgetvalue(result, row, 1), &length);
        wal2json_record record;
        char error[256];
        if (!data)
            continue;
        if (!pgoutput_decode(decoder, (const char *) data, length, &record, error, sizeof error)) {
            log_warning("unreadable pgoutput change at %s: %s", PQgetvalue(result, row, 0), error);
        } else if (record.action == WAL2JSON_MESSAGE && strcmp(record.prefix, "tvsync") == 0) {
            printf("%s\t%s\n", PQgetvalue(result, row, 0), record.content);
            printed++;
        }
        wal2json_record_free(&record);
        PQfreemem(data);
    }
    pgoutput_decoder_free(decoder);
    if (printed == 0)
        log_info("no intent is pending among the %d changes read", rows);
    return TVSYNC_EXIT_OK;
}

int slot_peek(const tvsync_config *config, int limit)
{
    int status = TVSYNC_EXIT_OK;
    const char *name = config->slot.name;
    PGconn *conn = slot_connect_slot_server(config, PG_CONNECT_NORMAL, &status);
    if (!conn)
        return status;
    const char *params[] = {name};
    PGresult *result = slot_query(conn, "reading pg_replication_slots",
                                  "SELECT plugin, active_pid FROM pg_replication_slots WHERE slot_name = $1", 1,
                                  params, NULL);
    if (!result) {
        PQfinish(conn);
        return TVSYNC_EXIT_DATABASE;
    }
    if (PQntuples(result) == 0) {
        report_missing_slot(name);
        status = TVSYNC_EXIT_SLOT;
    } else if (!PQgetisnull(result, 0, 1)) {
        log_error("replication slot \"%s\" is in use by PID %s (tvsync-cdc?) and PostgreSQL cannot peek a slot "
                  "that is streaming: stop the daemon to peek, or see tvsync-slot status for its progress",
                  name, PQgetvalue(result, 0, 1));
        status = TVSYNC_EXIT_FAILURE;
    } else if (PQgetisnull(result, 0, 0) || strcmp(PQgetvalue(result, 0, 0), output_plugin_name(config->slot.plugin)) != 0) {
        log_error("replication slot \"%s\" does not use %s ([slot] plugin): set plugin to the slot's, or it was "
                  "not made by tvsync-slot create", name, output_plugin_name(config->slot.plugin));
        status = TVSYNC_EXIT_FAILURE;
    }
    PQclear(result);
    if (status != TVSYNC_EXIT_OK) {
        PQfinish(conn);
        return status;
    }

    /* One more than asked, to tell the user when more are pending. PostgreSQL
     * stops decoding only at a transaction's end, so it may return more. */
    char fetch[32];
    snprintf(fetch, sizeof fetch, "%d", limit < 2147483646 ? limit + 1 : limit);
    char *publication = pgoutput_publication_name(name);
    const char *peek_params[] = {name, fetch, publication};
    PGresult *failed = NULL;
    char what[160];
    snprintf(what, sizeof what, "peeking at replication slot \"%s\"", name);
    bool pgoutput = config->slot.plugin == OUTPUT_PLUGIN_PGOUTPUT;
    slot_standby_wait wait;
    slot_standby_wait_arm(&wait, conn);
    if (pgoutput)
        /* pgoutput's changes are every message (begin, commit, ...): the intents are among them */
        result = slot_query(conn, what,
                            "SELECT lsn, data FROM pg_logical_slot_peek_binary_changes($1, NULL, $2::int, "
                            "'proto_version', '1', 'publication_names', quote_ident($3), 'messages', 'true')",
                            3, peek_params, &failed);
    else
        result = slot_query(conn, what,
                            "SELECT lsn, data FROM pg_logical_slot_peek_changes($1, NULL, $2::int, "
                            "'format-version', '2', 'include-transaction', 'false', 'actions', '', "
                            "'add-msg-prefixes', 'tvsync')",
                            2, peek_params, &failed);
    free(publication);
    slot_standby_wait_disarm(&wait);
    if (!result && wait.cancelled) {
        log_error("peeking at replication slot \"%s\" waited for the standby of physical slot \"%s\": the slot is a "
                  "failover slot, whose changes PostgreSQL hands out only once every standby that "
                  "synchronized_standby_slots lists has them; start that standby, or remove \"%s\" from "
                  "synchronized_standby_slots on the primary and reload (tvsync-slot check lists what it needs)",
                  name, wait.standby, wait.standby);
        PQclear(failed);
        PQfinish(conn);
        return TVSYNC_EXIT_FAILURE;
    }
    if (!result) {
        status = slot_query_exit_status(failed);
        if (strcmp(slot_sqlstate(failed), "55006") == 0)
            status = TVSYNC_EXIT_FAILURE;
        PQclear(failed);
        PQfinish(conn);
        return status;
    }
    int rows = PQntuples(result);
    int shown = rows < limit ? rows : limit;
    if (pgoutput) {
        status = peek_print_pgoutput(result, shown);
        PQclear(result);
        PQfinish(conn);
        return status;
    }
    for (int row = 0; row < shown; row++) {
        char *content = wal2json_message_content(PQgetvalue(result, row, 1), (size_t) PQgetlength(result, row, 1));
        printf("%s\t%s\n", PQgetvalue(result, row, 0), content ? content : PQgetvalue(result, row, 1));
        free(content);
    }
    if (rows == 0)
        log_info("no intent is pending in replication slot \"%s\"", name);
    else if (rows > limit)
        log_info("more intents are pending than the %d shown: raise --limit to see them", limit);
    PQclear(result);
    PQfinish(conn);
    return TVSYNC_EXIT_OK;
}

int slot_rebuild(const tvsync_config *config, const char *entity)
{
    int status = TVSYNC_EXIT_OK;
    const char *name = config->slot.name;
    PGconn *conn = slot_connect(config, PG_CONNECT_NORMAL, &status);
    if (!conn)
        return status;
    const char *params[] = {name};
    PGconn *slot_conn = slot_on_standby(config) ? slot_connect_slot_server(config, PG_CONNECT_NORMAL, &status) : conn;
    PGresult *slot = slot_conn ? slot_query(slot_conn, "reading pg_replication_slots",
                                            "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", 1, params, NULL)
                               : NULL;
    if (slot_conn && slot_conn != conn)
        PQfinish(slot_conn);
    if (!slot) {
        PQfinish(conn);
        return slot_conn ? TVSYNC_EXIT_DATABASE : status;
    }
    bool slot_exists = PQntuples(slot) == 1;
    PQclear(slot);
    if (!slot_exists) {
        /* Without a slot the request would be decoded by nobody. */
        log_error("replication slot \"%s\" does not exist, so nothing would read a rebuild request: "
                  "run tvsync-slot create (it builds every entity)",
                  name);
        PQfinish(conn);
        return TVSYNC_EXIT_SLOT;
    }

    PGresult *entities = slot_query(conn, "listing the registered entities",
                                    "SELECT name, string_agg(name, ', ') OVER (ORDER BY name ROWS BETWEEN UNBOUNDED "
                                    "PRECEDING AND UNBOUNDED FOLLOWING) FROM tvsync.entity ORDER BY name",
                                    0, NULL, NULL);
    if (!entities) {
        PQfinish(conn);
        return TVSYNC_EXIT_DATABASE;
    }
    int count = PQntuples(entities);
    if (count == 0) {
        log_error("no entity is registered in tvsync.entity: apply the migrations (tvsync-migrate up)");
        PQclear(entities);
        PQfinish(conn);
        return TVSYNC_EXIT_FAILURE;
    }
    if (entity) {
        bool known = false;
        for (int row = 0; row < count; row++)
            known = known || strcmp(PQgetvalue(entities, row, 0), entity) == 0;
        if (!known) {
            /* The command line is well-formed: the database says no (issue 14). */
            log_error("unknown entity \"%s\": the registered entities are %s", entity, PQgetvalue(entities, 0, 1));
            PQclear(entities);
            PQfinish(conn);
            return TVSYNC_EXIT_FAILURE;
        }
    }

    /* All requests or none: one transaction; the LSNs are printed once it
     * has committed. */
    char *report = NULL;
    size_t report_size = 0;
    FILE *report_stream = alloc_check(open_memstream(&report, &report_size));
    bool ok = pg_exec_ok(conn, "BEGIN", "starting the rebuild requests");
    for (int row = 0; ok && row < count; row++) {
        const char *current = PQgetvalue(entities, row, 0);
        if (entity && strcmp(current, entity) != 0)
            continue;
        const char *rebuild_params[] = {current};
        char what[160];
        snprintf(what, sizeof what, "requesting a rebuild of \"%s\"", current);
        PGresult *result = slot_query(conn, what, "SELECT tvsync.request_rebuild($1)", 1, rebuild_params,
                                      NULL);
        if (!result) {
            ok = false;
            break;
        }
        fprintf(report_stream, "rebuild of %s requested at %s\n", current, PQgetvalue(result, 0, 0));
        PQclear(result);
    }
    ok = ok && pg_exec_ok(conn, "COMMIT", "committing the rebuild requests");
    fclose(report_stream);
    if (ok)
        fputs(report, stdout);
    free(report);
    PQclear(entities);
    PQfinish(conn);
    return ok ? TVSYNC_EXIT_OK : TVSYNC_EXIT_DATABASE;
}
