/* slot_check: the preflight checks of `tvsync-slot check`; each prints one
 * line, a failing one with the change that fixes it. */
#include "slot/slot_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "common/pgoutput.h"
#include "common/strbuf.h"
#include "slot/slot_common.h"

/* Long enough for a quiet server, short enough that a check never hangs
 * behind a long-running transaction (creating a slot waits for those). */
#define CHECK_PROBE_TIMEOUT "30s"

typedef struct check_run {
    PGconn *conn;               /* where the check at hand looks: the primary, or where the slot lives */
    PGconn *primary;            /* database.url */
    PGconn *slot_server;        /* the standby of [cdc] decode_url, else the primary */
    const tvsync_config *config;
    int passed;
    int failed;
    int skipped;
    /* Facts later checks depend on. */
    bool wal_level_logical;
    bool slot_exists;
    bool slot_free;
    bool can_replicate;
    bool plugin_allowed;
    bool is_superuser;
    int server_version_num;     /* 0 when unknown */
    char *server_version;       /* owned; NULL when unknown */
} check_run;

static void check_ok(check_run *run, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void check_fail(check_run *run, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void check_skip(check_run *run, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void check_warn(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void check_note(const char *format, ...) __attribute__((format(printf, 1, 2)));

static void check_line(const char *tag, const char *format, va_list arguments)
{
    printf("%-6s", tag);
    vprintf(format, arguments);
    putchar('\n');
    fflush(stdout);
}

static void check_ok(check_run *run, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    check_line("ok", format, arguments);
    va_end(arguments);
    run->passed++;
}

static void check_fail(check_run *run, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    check_line("FAIL", format, arguments);
    va_end(arguments);
    run->failed++;
}

static void check_skip(check_run *run, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    check_line("skip", format, arguments);
    va_end(arguments);
    run->skipped++;
}

/* Warnings and notes count neither as passed nor as failed. */
static void check_warn(const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    check_line("warn", format, arguments);
    va_end(arguments);
}

static void check_note(const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    check_line("note", format, arguments);
    va_end(arguments);
}

/* A query a check needs; a failure becomes a FAIL line naming what was
 * checked (the error itself goes to stderr through slot_query). */
static PGresult *check_query(check_run *run, const char *what, const char *sql, int param_count,
                             const char *const *params)
{
    PGresult *result = slot_query(run->conn, what, sql, param_count, params, NULL);
    if (!result)
        check_fail(run, "%s: the query failed (see the error above)", what);
    return result;
}

static void check_server_version(check_run *run)
{
    PGresult *result = check_query(run, "server version",
                                   "SELECT current_setting('server_version_num')::int, "
                                   "current_setting('server_version')", 0, NULL);
    if (!result)
        return;
    int version = atoi(PQgetvalue(result, 0, 0));
    run->server_version_num = version;
    run->server_version = alloc_strdup(PQgetvalue(result, 0, 1));
    if (version >= 150000)
        check_ok(run, "server is PostgreSQL %s", PQgetvalue(result, 0, 1));
    else
        check_fail(run, "server is PostgreSQL %s: tvsync needs PostgreSQL 15 or later; upgrade the server",
                   PQgetvalue(result, 0, 1));
    PQclear(result);
}

static void check_wal_level(check_run *run)
{
    PGresult *result = check_query(run, "wal_level", "SELECT current_setting('wal_level')", 0, NULL);
    if (!result)
        return;
    const char *level = PQgetvalue(result, 0, 0);
    run->wal_level_logical = strcmp(level, "logical") == 0;
    if (run->wal_level_logical)
        check_ok(run, "wal_level is logical");
    else
        check_fail(run, "wal_level is %s: set wal_level = logical in postgresql.conf and restart PostgreSQL",
                   level);
    PQclear(result);
}

static void check_replication_slots(check_run *run)
{
    const char *params[] = {run->config->slot.name};
    PGresult *result = check_query(run, "replication slots",
                                   "SELECT current_setting('max_replication_slots')::int, "
                                   "(SELECT count(*) FROM pg_replication_slots), "
                                   "s.plugin, s.slot_type, s.active "
                                   "FROM (SELECT 1) AS one "
                                   "LEFT JOIN pg_replication_slots s ON s.slot_name = $1",
                                   1, params);
    if (!result)
        return;
    int max_slots = atoi(PQgetvalue(result, 0, 0));
    int used = atoi(PQgetvalue(result, 0, 1));
    run->slot_exists = !PQgetisnull(result, 0, 3);
    run->slot_free = used < max_slots;
    const char *wanted = output_plugin_name(run->config->slot.plugin);
    if (run->slot_exists) {
        const char *plugin = PQgetisnull(result, 0, 2) ? "" : PQgetvalue(result, 0, 2);
        output_plugin known;
        if (strcmp(PQgetvalue(result, 0, 3), "logical") == 0 && strcmp(plugin, wanted) != 0 &&
            output_plugin_parse(plugin, &known))
            check_fail(run,
                       "replication slot \"%s\" uses plugin %s but [slot] plugin is %s: set plugin = %s under "
                       "[slot], or drop the slot (tvsync-slot drop) and create it again with %s",
                       run->config->slot.name, plugin, wanted, plugin, wanted);
        else if (strcmp(PQgetvalue(result, 0, 3), "logical") != 0 || strcmp(plugin, wanted) != 0)
            check_fail(run,
                       "replication slot \"%s\" exists but is a %s slot with plugin \"%s\": "
                       "drop it (tvsync-slot drop) or choose another name with --slot",
                       run->config->slot.name, PQgetvalue(result, 0, 3), plugin);
        else
            check_ok(run, "replication slot \"%s\" exists (%s, %s)", run->config->slot.name, wanted,
                     strcmp(PQgetvalue(result, 0, 4), "t") == 0 ? "active" : "inactive");
    } else if (run->slot_free) {
        check_ok(run, "replication slots: %d of max_replication_slots = %d in use", used, max_slots);
    } else {
        check_fail(run,
                   "replication slots: all %d of max_replication_slots = %d are in use: raise "
                   "max_replication_slots in postgresql.conf and restart PostgreSQL, or drop an unused slot",
                   used, max_slots);
    }
    PQclear(result);
}

/* What a failover slot needs on the primary; the standbys cannot be seen from here, so
 * what they need is said as notes. Decoding of a failover slot waits until every
 * physical slot in synchronized_standby_slots has received the WAL, so a name there that
 * is no physical slot stalls tvsync-cdc, and an empty list lets it get ahead of a standby
 * that may then be promoted. */
static void check_failover_primary(check_run *run)
{
    PGresult *result = check_query(run, "synchronized_standby_slots",
                                   "SELECT current_setting('synchronized_standby_slots'), "
                                   "coalesce(string_agg(quote_literal(n), ', ') FILTER (WHERE s.slot_type IS NULL "
                                   "OR s.slot_type <> 'physical'), ''), "
                                   "coalesce(string_agg(quote_literal(n), ', ') FILTER (WHERE s.slot_type = "
                                   "'physical' AND NOT s.active), '') "
                                   "FROM (SELECT btrim(n, ' \"') AS n FROM unnest(string_to_array("
                                   "current_setting('synchronized_standby_slots'), ',')) AS n) AS names "
                                   "LEFT JOIN pg_replication_slots s ON s.slot_name = names.n",
                                   0, NULL);
    if (!result)
        return;
    const char *setting = PQgetvalue(result, 0, 0);
    if (*setting == '\0')
        check_warn("synchronized_standby_slots is empty: tvsync-cdc may receive changes a standby has not yet "
                   "received, and the failover slot on that standby, once promoted, is then behind it; list the "
                   "standbys' physical slots in postgresql.conf on the primary (synchronized_standby_slots = "
                   "'<standby's slot>[, ...]') and reload PostgreSQL");
    else if (*PQgetvalue(result, 0, 1) != '\0')
        check_fail(run,
                   "synchronized_standby_slots = '%s' names %s, which is no physical replication slot here: "
                   "decoding from a failover slot waits for it, so tvsync-cdc stalls; create it "
                   "(SELECT pg_create_physical_replication_slot('<name>')) for the standby, or remove it from "
                   "synchronized_standby_slots and reload PostgreSQL",
                   setting, PQgetvalue(result, 0, 1));
    else
        check_ok(run, "synchronized_standby_slots = '%s': decoding waits for those physical slots' standbys",
                 setting);
    if (*setting != '\0' && *PQgetvalue(result, 0, 2) != '\0')
        check_warn("physical slot %s is not in use: until its standby connects, tvsync-cdc receives no changes "
                   "from a failover slot",
                   PQgetvalue(result, 0, 2));
    PQclear(result);

    check_note("the standbys cannot be seen from here: each standby that may be promoted needs, in its "
               "postgresql.conf, then a reload:");
    check_note("  sync_replication_slots = on (copies failover slots from the primary)");
    check_note("  hot_standby_feedback = on");
    check_note("  primary_slot_name = '<its physical slot on the primary, listed in synchronized_standby_slots>'");
    check_note("  primary_conninfo with dbname=%s (slot synchronization connects to a database)", PQdb(run->conn));
    check_note("  wal_level = logical (a restart)");
    check_note("on a standby, SELECT synced FROM pg_replication_slots WHERE slot_name = '%s' says t once "
               "the slot is copied",
               run->config->slot.name);
    /* pg_basebackup copies postgresql.auto.conf, and with it this primary's list. */
    check_note("after a promotion, the new primary's synchronized_standby_slots must name only physical slots "
               "it has, or tvsync-cdc stalls: run tvsync-slot check against it");
}

/* [slot] failover against the server and the slot. Nothing is said when the key is off
 * on a server without failover slots: nothing can differ. */
static void check_failover(check_run *run)
{
    bool wanted = run->config->slot.failover;
    if (run->server_version_num == 0)
        return;
    if (run->server_version_num < SLOT_FAILOVER_MIN_VERSION) {
        if (wanted)
            check_fail(run, SLOT_FAILOVER_UNSUPPORTED, run->server_version);
        return;
    }
    const char *params[] = {run->config->slot.name};
    PGresult *result = check_query(run, "failover",
                                   "SELECT failover FROM pg_replication_slots WHERE slot_name = $1 "
                                   "AND slot_type = 'logical'",
                                   1, params);
    if (!result)
        return;
    const char *name = run->config->slot.name;
    if (PQntuples(result) == 0) {
        if (wanted)
            check_ok(run, "failover: tvsync-slot create makes replication slot \"%s\" a failover slot", name);
    } else {
        bool has = strcmp(PQgetvalue(result, 0, 0), "t") == 0;
        if (has == wanted)
            check_ok(run, "replication slot \"%s\" has failover %s, as [slot] failover says", name,
                     has ? "on" : "off");
        else if (wanted)
            check_fail(run,
                       "replication slot \"%s\" has failover off but [slot] failover is on, so no standby gets "
                       "it: stop tvsync-cdc and run tvsync-slot create --if-not-exists (it turns failover on), or "
                       "set failover = off under [slot]",
                       name);
        else
            check_warn("replication slot \"%s\" has failover on but [slot] failover is off: set failover = on "
                       "under [slot], or stop tvsync-cdc and run tvsync-slot create --if-not-exists (it turns "
                       "failover off)",
                       name);
    }
    PQclear(result);
    if (wanted)
        check_failover_primary(run);
}

/* pg_stat_get_wal_senders() rather than pg_stat_activity: the latter hides
 * other roles' backend_type from unprivileged roles. */
static void check_wal_senders(check_run *run)
{
    const char *params[] = {run->config->slot.name};
    PGresult *result = check_query(run, "wal senders",
                                   "SELECT current_setting('max_wal_senders')::int, "
                                   "(SELECT count(*) FROM pg_stat_get_wal_senders()), "
                                   "(SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1 AND active)",
                                   1, params);
    if (!result)
        return;
    int max_senders = atoi(PQgetvalue(result, 0, 0));
    int used = atoi(PQgetvalue(result, 0, 1));
    if (!PQgetisnull(result, 0, 2))
        check_ok(run, "wal senders: the slot is already streaming to PID %s", PQgetvalue(result, 0, 2));
    else if (used < max_senders)
        check_ok(run, "wal senders: %d of max_wal_senders = %d in use", used, max_senders);
    else
        check_fail(run,
                   "wal senders: all %d of max_wal_senders = %d are in use: raise max_wal_senders "
                   "in postgresql.conf and restart PostgreSQL",
                   used, max_senders);
    PQclear(result);
}

/* Not a failure either way, but worth knowing before the daemon is ever
 * stopped for long: with no limit a stopped tvsync-cdc makes PostgreSQL keep
 * WAL until the disk fills; with one the slot can be lost. */
static void check_wal_keep_size(check_run *run)
{
    PGresult *result = check_query(run, "max_slot_wal_keep_size",
                                   "SELECT current_setting('max_slot_wal_keep_size'), setting::bigint < 0 "
                                   "FROM pg_settings WHERE name = 'max_slot_wal_keep_size'",
                                   0, NULL);
    if (!result)
        return;
    if (strcmp(PQgetvalue(result, 0, 1), "t") == 0)
        printf("%-6smax_slot_wal_keep_size = -1: WAL is kept for the slot without limit while tvsync-cdc is "
               "stopped; watch the disk (tvsync-slot status shows retained_wal_bytes)\n", "note");
    else
        printf("%-6smax_slot_wal_keep_size = %s: if tvsync-cdc stops for longer than that much WAL, the slot is "
               "lost and must be dropped and created again\n", "note", PQgetvalue(result, 0, 0));
    PQclear(result);
}

static void check_role(check_run *run)
{
    PGresult *result = check_query(run, "replication privilege",
                                   "SELECT current_user, rolreplication, rolsuper FROM pg_roles "
                                   "WHERE rolname = current_user",
                                   0, NULL);
    if (!result)
        return;
    if (PQntuples(result) != 1) {
        check_fail(run, "replication privilege: the current role is not in pg_roles");
        PQclear(result);
        return;
    }
    const char *role = PQgetvalue(result, 0, 0);
    run->is_superuser = strcmp(PQgetvalue(result, 0, 2), "t") == 0;
    run->can_replicate = run->is_superuser || strcmp(PQgetvalue(result, 0, 1), "t") == 0;
    if (run->can_replicate)
        check_ok(run, "role \"%s\" can replicate (%s)", role, run->is_superuser ? "superuser" : "REPLICATION");
    else
        /* The attribute is not inherited through membership in tvsync_cdc. */
        check_fail(run,
                   "role \"%s\" cannot replicate: give it the REPLICATION attribute as a superuser: "
                   "ALTER ROLE \"%s\" REPLICATION",
                   role, role);
    PQclear(result);

    result = check_query(run, "replication origin privileges",
                         "SELECT has_function_privilege('pg_replication_origin_create(text)', 'EXECUTE') "
                         "AND has_function_privilege('pg_replication_origin_advance(text,pg_lsn)', 'EXECUTE') "
                         "AND has_function_privilege('pg_replication_origin_drop(text)', 'EXECUTE') "
                         "AND has_function_privilege('pg_replication_origin_progress(text,boolean)', 'EXECUTE')",
                         0, NULL);
    if (!result)
        return;
    if (strcmp(PQgetvalue(result, 0, 0), "t") == 0)
        check_ok(run, "role \"%s\" can manage replication origins", PQuser(run->conn));
    else
        check_fail(run,
                   "role \"%s\" may not execute the pg_replication_origin_* functions: run as a "
                   "superuser, or GRANT EXECUTE on them to the role",
                   PQuser(run->conn));
    PQclear(result);
}

/* Debian's PostgreSQL 15.19 and later decode only with the plugins listed in
 * output_plugin_libraries; older servers do not have the setting. */
static void check_plugin_allowed(check_run *run)
{
    PGresult *result = check_query(run, "output_plugin_libraries",
                                   "SELECT setting FROM pg_settings WHERE name = 'output_plugin_libraries'",
                                   0, NULL);
    if (!result)
        return;
    if (PQntuples(result) == 0) {
        run->plugin_allowed = true;
        PQclear(result);
        return;
    }
    const char *setting = PQgetvalue(result, 0, 0);
    const char *plugin = output_plugin_name(run->config->slot.plugin);
    run->plugin_allowed = false;
    char *copy = alloc_strdup(setting);
    char *saveptr = NULL;
    for (char *item = strtok_r(copy, ", \t\"", &saveptr); item; item = strtok_r(NULL, ", \t\"", &saveptr)) {
        if (strcmp(item, plugin) == 0)
            run->plugin_allowed = true;
    }
    free(copy);
    if (run->plugin_allowed)
        check_ok(run, "output_plugin_libraries allows %s", plugin);
    else
        check_fail(run,
                   "output_plugin_libraries is '%s': add %s in postgresql.conf "
                   "(output_plugin_libraries = '%s%s%s') and reload PostgreSQL",
                   setting, plugin, setting, *setting ? ", " : "", plugin);
    PQclear(result);
}

static void check_nudge_primary(void *arg)
{
    check_run *run = arg;
    PGresult *result = PQexec(run->primary, "SELECT pg_log_standby_snapshot()");
    PQclear(result);
}

/* The only sure test that the server can load the output plugin is to decode with
 * it: a temporary slot, dropped at once. */
static void check_output_plugin(check_run *run)
{
    const char *plugin = output_plugin_name(run->config->slot.plugin);
    if (run->wal_level_logical && run->can_replicate && run->plugin_allowed && !run->slot_free &&
        run->slot_exists) {
        /* No slot to probe with, but ours was made with wal2json and the
         * settings that decoding needs are in place. */
        check_ok(run, "%s: used by replication slot \"%s\" (no free slot to probe with)", plugin,
                 run->config->slot.name);
        return;
    }
    if (!run->wal_level_logical || !run->can_replicate || !run->plugin_allowed || !run->slot_free) {
        if (!run->is_superuser) {
            check_skip(run, "%s: not tested (fix the problems above first)", plugin);
            return;
        }
        /* A superuser can at least load the library. */
        if (run->config->slot.plugin == OUTPUT_PLUGIN_PGOUTPUT) {
            check_skip(run, "pgoutput: built into PostgreSQL; decoding not tested until the problems above are fixed");
            return;
        }
        PGresult *loaded = PQexec(run->conn, "LOAD 'wal2json'");
        if (PQresultStatus(loaded) == PGRES_COMMAND_OK)
            check_ok(run, "wal2json is installed (loaded; decoding not tested until the problems above are fixed)");
        else
            check_fail(run, "wal2json cannot be loaded: install postgresql-15-wal2json on the database server");
        PQclear(loaded);
        return;
    }

    char probe_name[64];
    snprintf(probe_name, sizeof probe_name, "tvsync_check_%ld", (long) getpid());
    const char *params[] = {probe_name, plugin};
    if (!pg_exec_ok(run->conn, "SET statement_timeout = '" CHECK_PROBE_TIMEOUT "'", "setting statement_timeout")) {
        check_fail(run, "%s: could not set statement_timeout", plugin);
        return;
    }
    PGresult *result;
    if (run->conn != run->primary) {
        /* On a standby the probe waits for a running-xacts record of the primary: asked for. */
        strbuf probe = STRBUF_INIT;
        strbuf_appendf(&probe, "SELECT pg_drop_replication_slot(slot_name) "
                               "FROM pg_create_logical_replication_slot('%s', '%s', true)", probe_name, plugin);
        PGresult *failed = NULL;
        result = slot_query_nudged(run->conn, "probing the output plugin on the standby", strbuf_text(&probe),
                                   check_nudge_primary, run, &failed);
        strbuf_free(&probe);
        if (!result)
            result = failed;
    } else {
        result = PQexecParams(run->conn,
                              "SELECT pg_drop_replication_slot(slot_name) "
                              "FROM pg_create_logical_replication_slot($1, $2, true)",
                              2, NULL, params, NULL, NULL, 0);
    }
    if (PQresultStatus(result) == PGRES_TUPLES_OK) {
        check_ok(run, "%s decodes (a temporary slot was created and dropped)", plugin);
    } else {
        const char *sqlstate = slot_sqlstate(result);
        const char *primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
        char fix_buffer[256];
        const char *fix = slot_error_fix(sqlstate, primary, PQuser(run->conn),
                                         fix_buffer, sizeof fix_buffer);
        if (strcmp(sqlstate, "57014") == 0)
            check_fail(run,
                       "%s: creating a temporary slot waited more than " CHECK_PROBE_TIMEOUT
                       " for running transactions: run check again when they have finished", plugin);
        else
            check_fail(run, "%s: %s: %s", plugin, primary ? primary : "the probe failed",
                       fix ? fix : "see the PostgreSQL server log");
    }
    PQclear(result);
    pg_exec_ok(run->conn, "RESET statement_timeout", "resetting statement_timeout");
}

/* pgoutput decodes only with its publication, which must hold the table whose inserts
 * tvsync-cdc reads (the registry's changes) and publish inserts. */
static void check_publication(check_run *run)
{
    if (run->config->slot.plugin != OUTPUT_PLUGIN_PGOUTPUT)
        return;
    char *publication = pgoutput_publication_name(run->config->slot.name);
    const char *params[] = {publication};
    PGresult *result = check_query(run, "publication",
                                   "SELECT EXISTS (SELECT FROM pg_publication WHERE pubname = $1), "
                                   "EXISTS (SELECT FROM pg_publication_tables WHERE pubname = $1 "
                                   "AND schemaname = 'tvsync' AND tablename = 'registry_log'), "
                                   "coalesce((SELECT pubinsert FROM pg_publication WHERE pubname = $1), false), "
                                   "has_database_privilege(current_database(), 'CREATE'), "
                                   /* not to_regclass: a role without USAGE on the schema gets an error */
                                   "coalesce((SELECT pg_has_role(c.relowner, 'USAGE') FROM pg_class c "
                                   "JOIN pg_namespace n ON n.oid = c.relnamespace "
                                   "WHERE n.nspname = 'tvsync' AND c.relname = 'registry_log'), false)",
                                   1, params);
    if (!result) {
        free(publication);
        return;
    }
    bool can_create = strcmp(PQgetvalue(result, 0, 3), "t") == 0 && strcmp(PQgetvalue(result, 0, 4), "t") == 0;
    if (strcmp(PQgetvalue(result, 0, 0), "t") != 0 && !run->slot_exists && can_create)
        check_ok(run, "publication \"%s\" does not exist yet: tvsync-slot create makes it", publication);
    else if (strcmp(PQgetvalue(result, 0, 0), "t") != 0 && !run->slot_exists)
        check_fail(run,
                   "publication \"%s\" does not exist and role \"%s\" cannot create it: tvsync-slot create "
                   "needs CREATE on the database and ownership of tvsync.registry_log (or run it as a superuser)",
                   publication, PQuser(run->conn));
    else if (strcmp(PQgetvalue(result, 0, 0), "t") != 0)
        check_fail(run,
                   "publication \"%s\" does not exist; pgoutput needs it: run tvsync-slot create (with "
                   "--if-not-exists when the slot exists), or CREATE PUBLICATION \"%s\" FOR TABLE "
                   "tvsync.registry_log WITH (publish = 'insert')",
                   publication, publication);
    else if (strcmp(PQgetvalue(result, 0, 1), "t") != 0)
        check_fail(run,
                   "publication \"%s\" does not hold tvsync.registry_log, so tvsync-cdc would miss the "
                   "registry's changes: ALTER PUBLICATION \"%s\" ADD TABLE tvsync.registry_log",
                   publication, publication);
    else if (strcmp(PQgetvalue(result, 0, 2), "t") != 0)
        check_fail(run,
                   "publication \"%s\" does not publish inserts: ALTER PUBLICATION \"%s\" SET (publish = 'insert')",
                   publication, publication);
    else
        check_ok(run, "publication \"%s\" exists and publishes inserts into tvsync.registry_log", publication);
    PQclear(result);
    free(publication);
}

static void check_migrations(check_run *run)
{
    PGresult *result = check_query(run, "migrations",
                                   "SELECT to_regclass('tvsync.schema_migrations') IS NOT NULL, "
                                   "to_regclass('tvsync.entity') IS NOT NULL",
                                   0, NULL);
    if (!result)
        return;
    bool have_migrations = strcmp(PQgetvalue(result, 0, 0), "t") == 0;
    bool have_registry = strcmp(PQgetvalue(result, 0, 1), "t") == 0;
    PQclear(result);
    if (!have_migrations || !have_registry) {
        check_fail(run, "migrations: the tvsync schema is missing: apply the migrations with tvsync-migrate up");
        return;
    }
    result = check_query(run, "migrations",
                         "SELECT (SELECT count(*) FROM tvsync.schema_migrations), "
                         "(SELECT count(*) FROM tvsync.entity), "
                         "(SELECT coalesce(string_agg(name, ', ' ORDER BY name), '') FROM tvsync.entity)",
                         0, NULL);
    if (!result)
        return;
    long applied = atol(PQgetvalue(result, 0, 0));
    long entities = atol(PQgetvalue(result, 0, 1));
    if (applied == 0)
        check_fail(run, "migrations: none applied: apply them with tvsync-migrate up");
    else if (entities == 0)
        check_fail(run, "migrations: %ld applied but no entity is registered in tvsync.entity: "
                        "apply the migrations that declare them with tvsync-migrate up", applied);
    else
        check_ok(run, "migrations: %ld applied; entities: %s", applied, PQgetvalue(result, 0, 2));
    PQclear(result);
}

/* A warning, not a failure: tvsync works either way, but while PUBLIC may run
 * pg_logical_emit_message any role can forge intents (a rebuild of every
 * entity, a million ids); tvsync-cdc ignores only forged heartbeats. */
static void check_emit_message(check_run *run)
{
    PGresult *result = check_query(run, "pg_logical_emit_message",
                                   "SELECT coalesce(string_agg('pg_catalog.' || p.oid::regprocedure::text, ', ' "
                                   "ORDER BY p.oid::regprocedure::text), ''), "
                                   "to_regprocedure('tvsync.restrict_emit_message()') IS NOT NULL "
                                   "FROM pg_proc p WHERE p.proname = 'pg_logical_emit_message' "
                                   "AND p.pronamespace = 'pg_catalog'::regnamespace "
                                   "AND has_function_privilege('public', p.oid, 'EXECUTE')",
                                   0, NULL);
    if (!result)
        return;
    const char *open = PQgetvalue(result, 0, 0);
    if (*open == '\0')
        check_ok(run, "pg_logical_emit_message is not executable by PUBLIC");
    else if (strcmp(PQgetvalue(result, 0, 1), "t") == 0)
        printf("%-6spg_logical_emit_message is executable by PUBLIC: any role that can connect can forge "
               "tvsync intents; as a superuser run: SELECT tvsync.restrict_emit_message(); "
               "(it revokes %s from PUBLIC and grants it to the owner of tvsync's publishing functions)\n",
               "warn", open);
    else
        /* Not a bare REVOKE: before migration 045 the publishing functions run as
         * their caller, and tvsync_app would lose the right to publish. */
        printf("%-6spg_logical_emit_message (%s) is executable by PUBLIC: any role that can connect can "
               "forge tvsync intents; apply the engine's migrations as a superuser (tvsync-migrate up)\n",
               "warn", open);
    fflush(stdout);
    PQclear(result);
}

/* [cdc] decode_url: a hot standby of database.url that can hold the slot, and what a
 * slot there needs (the primary's wal_level is checked with the primary's settings). */
static void check_standby(check_run *run)
{
    char problem[512];
    int verdict = slot_standby_verify(run->primary, run->slot_server, problem, sizeof problem);
    if (verdict < 0) {
        check_fail(run, "[cdc] decode_url: the checks failed (see the error above)");
        return;
    }
    if (verdict == 1) {
        check_fail(run, "%s", problem);
        return;
    }
    if (verdict == 2)
        check_warn("whether [cdc] decode_url is a standby of database.url was not checked: the role may not call "
                   "pg_control_system() (GRANT EXECUTE ON FUNCTION pg_control_system() TO it, or check as a "
                   "superuser)");
    else
        check_ok(run, "[cdc] decode_url is a hot standby of database.url: the slot is made and decoded there, "
                 "the publication and the replication origin are on database.url");
    run->conn = run->slot_server;
    PGresult *result = check_query(run, "the standby's settings",
                                   "SELECT current_setting('hot_standby_feedback'), current_setting('wal_level'), "
                                   "current_setting('primary_slot_name')",
                                   0, NULL);
    run->conn = run->primary;
    if (!result)
        return;
    if (strcmp(PQgetvalue(result, 0, 0), "on") == 0)
        check_ok(run, "hot_standby_feedback is on on the standby");
    else
        check_fail(run, "hot_standby_feedback is off on the standby of [cdc] decode_url: the primary may then "
                   "remove catalog rows the slot still needs, and PostgreSQL invalidates the slot; set "
                   "hot_standby_feedback = on in the standby's postgresql.conf and reload it");
    if (strcmp(PQgetvalue(result, 0, 1), "logical") == 0) {
        check_ok(run, "wal_level is logical on the standby");
    } else {
        check_fail(run, "wal_level is %s on the standby of [cdc] decode_url: decoding there needs wal_level = "
                   "logical on the standby as on the primary; set it in the standby's postgresql.conf and "
                   "restart it", PQgetvalue(result, 0, 1));
        run->wal_level_logical = false;
    }
    if (*PQgetvalue(result, 0, 2) == '\0')
        check_warn("primary_slot_name is empty on the standby of [cdc] decode_url: without a physical slot on the "
                   "primary, the primary forgets hot_standby_feedback while the standby is disconnected, and may "
                   "remove rows or WAL the standby still needs; create one on the primary "
                   "(SELECT pg_create_physical_replication_slot('<name>')) and set primary_slot_name = '<name>' "
                   "in the standby's postgresql.conf");
    else
        check_ok(run, "primary_slot_name is '%s' on the standby", PQgetvalue(result, 0, 2));
    PQclear(result);
    if (run->config->slot.failover)
        check_fail(run, "[slot] failover is on, but with [cdc] decode_url the slot is on a standby, where "
                   "PostgreSQL makes no failover slot: set failover = off under [slot], or leave decode_url empty");
}

int slot_check_run(const tvsync_config *config)
{
    int exit_status = TVSYNC_EXIT_OK;
    check_run run = {.config = config};
    run.conn = slot_connect(config, PG_CONNECT_NORMAL, &exit_status);
    if (!run.conn)
        return exit_status;
    run.primary = run.slot_server = run.conn;
    if (slot_on_standby(config)) {
        run.slot_server = slot_connect_slot_server(config, PG_CONNECT_NORMAL, &exit_status);
        if (!run.slot_server) {
            PQfinish(run.primary);
            return exit_status;
        }
    }

    check_server_version(&run);
    check_wal_level(&run);
    if (run.slot_server != run.primary)
        check_standby(&run);
    /* The slot's checks where it lives; the role, the engine and the publication on the primary. */
    run.conn = run.slot_server;
    check_replication_slots(&run);
    if (run.slot_server == run.primary)
        check_failover(&run);
    check_wal_senders(&run);
    check_wal_keep_size(&run);
    run.conn = run.primary;
    check_role(&run);
    run.conn = run.slot_server;
    check_plugin_allowed(&run);
    check_output_plugin(&run);
    run.conn = run.primary;
    check_migrations(&run);
    check_publication(&run);
    check_emit_message(&run);
    if (run.slot_server != run.primary)
        PQfinish(run.slot_server);
    PQfinish(run.primary);
    free(run.server_version);

    if (run.failed > 0 || run.skipped > 0) {
        printf("%d check%s failed, %d skipped, %d passed\n", run.failed, run.failed == 1 ? "" : "s",
               run.skipped, run.passed);
        return TVSYNC_EXIT_FAILURE;
    }
    printf("all %d checks passed\n", run.passed);
    return TVSYNC_EXIT_OK;
}
