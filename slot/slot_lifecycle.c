/* slot_lifecycle: creating the slot together with the initial build inside
 * its exported snapshot, and dropping slot and origin. */
#include "slot/slot_lifecycle.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "common/pgoutput.h"
#include "common/strbuf.h"
#include "slot/slot_common.h"

/* SIGINT/SIGTERM during create: the handler cancels the statement running on
 * the connection registered here, so the failure path drops the slot instead
 * of the process dying with a slot that has no build behind it. */
static volatile sig_atomic_t create_interrupted;
static PGcancel *volatile create_cancel;

static void create_signal_handler(int signal_number)
{
    (void) signal_number;
    create_interrupted = 1;
    PGcancel *cancel = create_cancel;
    if (cancel) {
        char error[256];
        /* PQcancel is documented as safe to call from a signal handler. */
        PQcancel(cancel, error, sizeof error);
    }
}

/* Points the handler at conn's running statements (NULL: none). Signals are
 * blocked while the handle is swapped so the handler never sees a freed one. */
static void create_watch(PGconn *conn)
{
    sigset_t block, previous;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &previous);
    PGcancel *old = create_cancel;
    create_cancel = conn ? PQgetCancel(conn) : NULL;
    sigprocmask(SIG_SETMASK, &previous, NULL);
    if (old)
        PQfreeCancel(old);
}

static void create_install_signals(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = create_signal_handler;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}

/* How long create waits for the standby to replay the publication, and for the
 * primary's snapshot to cover the standby's. */
#define CREATE_STANDBY_SNAPSHOT_WAIT_S 30

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double) (now.tv_sec - start->tv_sec) + (double) (now.tv_nsec - start->tv_nsec) / 1e9;
}

typedef struct create_state {
    const tvsync_config *config;
    const char *name;
    PGconn *sql;               /* normal session: the build, the origin */
    PGconn *slot_sql;          /* normal session where the slot lives: sql, or the standby of [cdc] decode_url */
    bool on_standby;           /* the slot is on the standby of [cdc] decode_url */
    bool nudge_refused;        /* pg_log_standby_snapshot() failed once: not called again */
    PGconn *replication;       /* replication=database session holding the exported snapshot */
    bool slot_created;
    bool in_transaction;
    bool origin_existed;
    char *publication;         /* pgoutput's, else NULL */
    bool publication_existed;
    bool publication_created;  /* by this run: dropped again if the create fails */
    char consistent_point[64];
    char snapshot_name[128];
    int failure_status;        /* exit status when the create fails */
    bool standby_slots_empty;  /* failover on and the primary's synchronized_standby_slots = '' */
} create_state;

/* pgoutput's publication, committed before the slot exists: pgoutput reads publications
 * as the catalog was at each decoded change, so one made after the slot's consistent point
 * would fail the decoding of every row change before it. It holds the one table whose rows
 * tvsync-cdc reads (the registry's changes), inserts only; messages need no publication. */
static bool create_publication(create_state *state)
{
    if (state->publication_existed) {
        printf("publication \"%s\" already exists: kept\n", state->publication);
        return true;
    }
    strbuf command = STRBUF_INIT;
    strbuf_appendf(&command, "CREATE PUBLICATION \"%s\" FOR TABLE tvsync.registry_log WITH (publish = 'insert')",
                   state->publication);
    char what[160];
    snprintf(what, sizeof what, "creating publication \"%s\"", state->publication);
    PGresult *result = slot_query(state->sql, what, strbuf_text(&command), 0, NULL, NULL);
    strbuf_free(&command);
    if (!result)
        return false;
    PQclear(result);
    state->publication_created = true;
    printf("created publication \"%s\" (tvsync.registry_log, inserts)\n", state->publication);
    fflush(stdout);
    return true;
}

/* A publication made for an existing slot: pgoutput looks it up as the catalog was at each
 * decoded row change, so the slot's pending changes from before it existed cannot be decoded
 * at all. Decoding them once (peek, nothing consumed) tells; on failure the publication goes
 * again and the slot must be made anew. */
static int publication_decodes(create_state *state)
{
    const char *params[] = {state->name, state->publication};
    /* PostgreSQL 18 decodes such changes after all, skipping the publication with a warning:
     * their rows (registry changes) would be lost as silently, so that warning fails the same. */
    slot_standby_wait notices;
    slot_standby_wait_arm(&notices, state->slot_sql);
    PGresult *result = PQexecParams(state->slot_sql,
                                    "SELECT count(*) FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL, "
                                    "'proto_version', '1', 'publication_names', quote_ident($2), 'messages', 'true')",
                                    2, NULL, params, NULL, NULL, 0);
    slot_standby_wait_disarm(&notices);
    bool skipped = notices.publication_skipped;
    int status = TVSYNC_EXIT_OK;
    if (notices.cancelled) {
        /* a failover slot waiting for a standby: whether its changes decode is not known */
        log_error("whether replication slot \"%s\"'s pending changes decode with publication \"%s\" could not be "
                  "checked: decoding waited for the standby of physical slot \"%s\" (the slot is a failover slot), "
                  "so the publication is dropped again; start that standby, or remove \"%s\" from "
                  "synchronized_standby_slots on the primary and reload, then run tvsync-slot create "
                  "--if-not-exists again", state->name, state->publication, notices.standby, notices.standby);
        PQclear(result);
        strbuf command = STRBUF_INIT;
        strbuf_appendf(&command, "DROP PUBLICATION IF EXISTS \"%s\"", state->publication);
        pg_exec_ok(state->sql, strbuf_text(&command), "dropping the new publication again");
        strbuf_free(&command);
        return TVSYNC_EXIT_FAILURE;
    }
    if (PQresultStatus(result) != PGRES_TUPLES_OK || skipped) {
        const char *sqlstate = slot_sqlstate(result);
        if (strcmp(sqlstate, "55006") == 0) {
            /* in use: tvsync-cdc streams, so it will tell */
            log_warning("replication slot \"%s\" is in use, so whether its pending changes decode with the new "
                        "publication was not checked", state->name);
        } else {
            const char *why = skipped ? "PostgreSQL skips the publication for them, so their registry changes "
                                        "would be lost"
                              : PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY)
                                  ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY)
                                  : PQerrorMessage(state->slot_sql);
            log_error("replication slot \"%s\" holds changes from before publication \"%s\" existed, which "
                      "pgoutput cannot decode (%s): stop tvsync-cdc, run tvsync-slot drop, then tvsync-slot create "
                      "(it rebuilds every tv_* table)", state->name, state->publication, why);
            strbuf command = STRBUF_INIT;
            strbuf_appendf(&command, "DROP PUBLICATION IF EXISTS \"%s\"", state->publication);
            pg_exec_ok(state->sql, strbuf_text(&command), "dropping the new publication again");
            strbuf_free(&command);
            status = TVSYNC_EXIT_SLOT;
        }
    }
    PQclear(result);
    return status;
}

/* Sets an existing slot's failover flag to [slot] failover. Only the walsender command
 * can change it (PostgreSQL 17 has no SQL function for it), and only while no process
 * streams from the slot. */
static int create_alter_failover(create_state *state, const char *active_pid)
{
    const char *wanted = state->config->slot.failover ? "on" : "off";
    const char *has = state->config->slot.failover ? "off" : "on";
    char command[160];
    snprintf(command, sizeof command, "ALTER_REPLICATION_SLOT \"%s\" (FAILOVER %s)", state->name,
             state->config->slot.failover ? "true" : "false");
    if (active_pid) {
        log_error("replication slot \"%s\" has failover %s but [slot] failover is %s, and PID %s (tvsync-cdc?) "
                  "streams from it: stop it, then run tvsync-slot create --if-not-exists again",
                  state->name, has, wanted, active_pid);
        return TVSYNC_EXIT_FAILURE;
    }
    printf("replication slot \"%s\" has failover %s but [slot] failover is %s: turning it %s\n", state->name, has,
           wanted, wanted);
    fflush(stdout);
    int status = TVSYNC_EXIT_OK;
    PGconn *replication = slot_connect(state->config, PG_CONNECT_REPLICATION, &status);
    if (!replication)
        return status;
    char what[160];
    snprintf(what, sizeof what, "turning failover %s for replication slot \"%s\"", wanted, state->name);
    PGresult *result = slot_query(replication, what, command, 0, NULL, NULL);
    PQfinish(replication);
    if (!result) {
        log_error("to do it by hand, stop tvsync-cdc and run on a replication connection "
                  "(psql \"dbname=... replication=database\"): %s", command);
        return TVSYNC_EXIT_DATABASE;
    }
    PQclear(result);
    printf("replication slot \"%s\": failover is now %s\n", state->name, wanted);
    return TVSYNC_EXIT_OK;
}

/* What is already there, and whether the rest can work, before anything is made. */
static int create_preflight(create_state *state, bool if_not_exists, bool *done)
{
    const char *params[] = {state->name, state->publication ? state->publication : ""};
    const char *plugin = output_plugin_name(state->config->slot.plugin);
    PGresult *result = slot_query(state->sql, "checking the server",
                                  "SELECT current_setting('wal_level'), "
                                  "(SELECT rolsuper OR rolreplication FROM pg_roles WHERE rolname = current_user), "
                                  "current_user, "
                                  "to_regclass('tvsync.entity') IS NOT NULL, "
                                  "(SELECT plugin FROM pg_replication_slots WHERE slot_name = $1), "
                                  "EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1), "
                                  "EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = $1), "
                                  "EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $2), "
                                  "current_setting('server_version_num')::int, current_setting('server_version'), "
                                  /* through jsonb: the column is new in 17 */
                                  "(SELECT to_jsonb(s) ->> 'failover' FROM pg_replication_slots s "
                                  "WHERE s.slot_name = $1), "
                                  "(SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1 AND active), "
                                  "current_setting('synchronized_standby_slots', true) = ''",
                                  2, params, NULL);
    if (!result)
        return TVSYNC_EXIT_DATABASE;
    /* The slot's own columns: from the standby when it holds the slot. */
    PGresult *slot_row = result;
    int plugin_column = 4, exists_column = 5, failover_column = 10, active_column = 11;
    if (state->on_standby) {
        slot_row = slot_query(state->slot_sql, "looking the slot up on the standby of [cdc] decode_url",
                              "SELECT (SELECT plugin FROM pg_replication_slots WHERE slot_name = $1), "
                              "EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1), "
                              "(SELECT to_jsonb(s) ->> 'failover' FROM pg_replication_slots s WHERE s.slot_name = $1), "
                              "(SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1 AND active)",
                              1, params, NULL);
        if (!slot_row) {
            PQclear(result);
            return TVSYNC_EXIT_DATABASE;
        }
        plugin_column = 0, exists_column = 1, failover_column = 2, active_column = 3;
    }
    int status = TVSYNC_EXIT_OK;
    bool failover = state->config->slot.failover;
    if (failover && atoi(PQgetvalue(result, 0, 8)) < SLOT_FAILOVER_MIN_VERSION) {
        log_error(SLOT_FAILOVER_UNSUPPORTED, PQgetvalue(result, 0, 9));
        PQclear(result);
        if (slot_row != result)
            PQclear(slot_row);
        return TVSYNC_EXIT_FAILURE;
    }
    state->standby_slots_empty = failover && strcmp(PQgetvalue(result, 0, 12), "t") == 0;
    /* NULL before 17, where every slot is without failover, as the key then is. */
    bool failover_differs = !PQgetisnull(slot_row, 0, failover_column) &&
                            (strcmp(PQgetvalue(slot_row, 0, failover_column), "true") == 0) != failover;
    state->publication_existed = strcmp(PQgetvalue(result, 0, 7), "t") == 0;
    bool slot_exists = strcmp(PQgetvalue(slot_row, 0, exists_column), "t") == 0;
    state->origin_existed = strcmp(PQgetvalue(result, 0, 6), "t") == 0;
    if (slot_exists) {
        if (!state->origin_existed) {
            log_error("replication slot \"%s\" exists but replication origin \"%s\" does not, so it was not "
                      "made by tvsync-slot create or not completely: run tvsync-slot drop, then create",
                      state->name, state->name);
            status = TVSYNC_EXIT_SLOT;
        } else if (PQgetisnull(slot_row, 0, plugin_column) || strcmp(PQgetvalue(slot_row, 0, plugin_column), plugin) != 0) {
            log_error("replication slot \"%s\" exists with plugin %s, but [slot] plugin is %s: run "
                      "tvsync-slot drop, then create, or set plugin = %s under [slot], or choose another name "
                      "with --slot",
                      state->name,
                      PQgetisnull(slot_row, 0, plugin_column) ? "none (a physical slot)"
                                                              : PQgetvalue(slot_row, 0, plugin_column),
                      plugin, PQgetisnull(slot_row, 0, plugin_column) ? plugin : PQgetvalue(slot_row, 0, plugin_column));
            status = TVSYNC_EXIT_FAILURE;
        } else if (if_not_exists) {
            *done = true;
            bool publication_missing = state->publication && !state->publication_existed;
            if (publication_missing)
                status = create_publication(state) ? publication_decodes(state) : TVSYNC_EXIT_DATABASE;
            if (status == TVSYNC_EXIT_OK && failover_differs)
                status = create_alter_failover(state, PQgetisnull(slot_row, 0, active_column)
                                                          ? NULL : PQgetvalue(slot_row, 0, active_column));
            else if (!publication_missing && !failover_differs)
                printf("replication slot \"%s\" already exists (%s): nothing done\n", state->name, plugin);
        } else {
            log_error("replication slot \"%s\" already exists: use --if-not-exists, or run tvsync-slot drop first",
                      state->name);
            status = TVSYNC_EXIT_FAILURE;
        }
    } else if (strcmp(PQgetvalue(result, 0, 0), "logical") != 0) {
        log_error("wal_level is %s: set wal_level = logical in postgresql.conf and restart PostgreSQL",
                  PQgetvalue(result, 0, 0));
        status = TVSYNC_EXIT_FAILURE;
    } else if (strcmp(PQgetvalue(result, 0, 1), "t") != 0) {
        log_error("role \"%s\" cannot replicate: give it the REPLICATION attribute as a superuser: "
                  "ALTER ROLE \"%s\" REPLICATION",
                  PQgetvalue(result, 0, 2), PQgetvalue(result, 0, 2));
        status = TVSYNC_EXIT_DATABASE;
    } else if (strcmp(PQgetvalue(result, 0, 3), "t") != 0) {
        log_error("the tvsync schema is missing: apply the migrations with tvsync-migrate up");
        status = TVSYNC_EXIT_DATABASE;
    }
    if (slot_row != result)
        PQclear(slot_row);
    PQclear(result);
    return status;
}

/* A logical slot on a standby is consistent only once a running-xacts record of the
 * primary has been replayed there; an idle primary writes one rarely, so it is asked for
 * one (PostgreSQL 16 and later) while the standby waits. */
static void create_nudge_primary(void *arg)
{
    create_state *state = arg;
    if (state->nudge_refused)
        return;
    PGresult *result = PQexec(state->sql, "SELECT pg_log_standby_snapshot()");
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        char line[512];
        pg_error_line(state->sql, result, line, sizeof line);
        log_warning("cannot ask the primary for a standby snapshot (%s): the slot on the standby is ready once the "
                    "primary logs one by itself (at its next checkpoint, or within 15 s while it is busy); to make "
                    "it at once, GRANT EXECUTE ON FUNCTION pg_log_standby_snapshot() to the role of database.url",
                    line);
        state->nudge_refused = true;
    }
    PQclear(result);
}

static bool create_slot(create_state *state)
{
    /* Slot names are checked against [a-z0-9_]{1,63} before we get here, so
     * the double quotes are all the quoting the walsender grammar needs. */
    char command[256];
    snprintf(command, sizeof command, "CREATE_REPLICATION_SLOT \"%s\" LOGICAL %s (SNAPSHOT 'export'%s)",
             state->name, output_plugin_name(state->config->slot.plugin),
             state->config->slot.failover ? ", FAILOVER" : "");
    char what[128];
    snprintf(what, sizeof what, "creating replication slot \"%s\"", state->name);
    create_watch(state->replication);
    PGresult *failed = NULL;
    PGresult *result = state->on_standby
                           ? slot_query_nudged(state->replication, what, command, create_nudge_primary, state, &failed)
                           : slot_query(state->replication, what, command, 0, NULL, &failed);
    create_watch(NULL);
    if (!result) {
        /* Another create won the race for the name. */
        if (strcmp(slot_sqlstate(failed), "42710") == 0)
            state->failure_status = TVSYNC_EXIT_FAILURE;
        PQclear(failed);
        return false;
    }
    if (PQntuples(result) != 1 || PQnfields(result) < 3) {
        log_error("%s: unexpected reply (%d rows, %d columns)", what, PQntuples(result), PQnfields(result));
        PQclear(result);
        return false;
    }
    state->slot_created = true;
    snprintf(state->consistent_point, sizeof state->consistent_point, "%s", PQgetvalue(result, 0, 1));
    snprintf(state->snapshot_name, sizeof state->snapshot_name, "%s", PQgetvalue(result, 0, 2));
    PQclear(result);
    printf("created replication slot \"%s\" (%s%s) at consistent point %s\n", state->name,
           output_plugin_name(state->config->slot.plugin), state->config->slot.failover ? ", failover" : "",
           state->consistent_point);
    if (state->standby_slots_empty)
        printf("note: synchronized_standby_slots is empty, so decoding may get ahead of the standbys: "
               "tvsync-slot check says what the primary and the standbys need\n");
    fflush(stdout);
    return true;
}

/* Rebuilds one entity chunk by chunk in id order; every chunk runs in the
 * exported snapshot, so the build is exactly the state at the consistent point. */
static bool create_build_entity(create_state *state, const char *entity)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    char chunk_rows[32];
    snprintf(chunk_rows, sizeof chunk_rows, "%d", state->config->cdc.rebuild_chunk_rows);
    char what[160];
    snprintf(what, sizeof what, "building entity \"%s\"", entity);

    long long upserted = 0, deleted = 0, chunks = 0;
    char *after = NULL;
    bool ok = true;
    for (;;) {
        if (create_interrupted) {
            ok = false;
            break;
        }
        const char *params[] = {entity, after, chunk_rows};
        PGresult *result = slot_query(state->sql, what,
                                      "SELECT last_id, upserted, deleted "
                                      "FROM tvsync.rebuild_chunk($1, $2::text, $3::int)",
                                      3, params, NULL);
        if (!result) {
            ok = false;
            break;
        }
        chunks++;
        upserted += atoll(PQgetvalue(result, 0, 1));
        deleted += atoll(PQgetvalue(result, 0, 2));
        bool finished = PQgetisnull(result, 0, 0);
        log_debug("building %s: chunk %lld up to %s: %s upserted, %s deleted", entity, chunks,
                  finished ? "the end" : PQgetvalue(result, 0, 0), PQgetvalue(result, 0, 1), PQgetvalue(result, 0, 2));
        free(after);
        after = finished ? NULL : alloc_strdup(PQgetvalue(result, 0, 0));
        PQclear(result);
        if (finished)
            break;
    }
    free(after);
    if (ok) {
        printf("built %s: %lld rows upserted, %lld deleted, %lld chunk%s, %.3f s\n", entity, upserted, deleted,
               chunks, chunks == 1 ? "" : "s", seconds_since(&start));
        fflush(stdout);
    }
    return ok;
}

/* Begins a transaction on conn in the slot's exported snapshot. */
static bool create_begin_in_snapshot(create_state *state, PGconn *conn)
{
    if (!pg_exec_ok(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ", "starting the build transaction"))
        return false;
    if (conn == state->sql)
        state->in_transaction = true;

    char *snapshot = PQescapeLiteral(conn, state->snapshot_name, strlen(state->snapshot_name));
    if (!snapshot) {
        log_error("quoting snapshot name: %s", PQerrorMessage(conn));
        return false;
    }
    char command[256];
    snprintf(command, sizeof command, "SET TRANSACTION SNAPSHOT %s", snapshot);
    PQfreemem(snapshot);
    PGresult *imported = slot_query(conn, "importing the slot's snapshot", command, 0, NULL, NULL);
    if (!imported)
        return false;
    PQclear(imported);
    return true;
}

/* A standby's snapshot cannot be imported on the primary, where the build writes: the
 * build runs in a primary snapshot that sees every transaction the slot's does, and maybe
 * later ones, whose intents come again from the slot (an apply rebuilds from the current
 * rows, so that is harmless). A transaction the standby saw commit can still be in the
 * primary's proc array (a synchronous commit waits there for its standbys): then the
 * snapshot is taken again. */
static bool create_begin_after_standby(create_state *state)
{
    if (!create_begin_in_snapshot(state, state->slot_sql))
        return false;
    PGresult *seen = slot_query(state->slot_sql, "reading the slot's snapshot on the standby",
                                "SELECT pg_current_snapshot()::text", 0, NULL, NULL);
    if (!seen)
        return false;
    char *standby_snapshot = alloc_strdup(PQgetvalue(seen, 0, 0));
    PQclear(seen);
    bool ok = pg_exec_ok(state->slot_sql, "COMMIT", "ending the snapshot's transaction on the standby");
    const char *params[] = {standby_snapshot};
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (ok) {
        ok = pg_exec_ok(state->sql, "BEGIN ISOLATION LEVEL REPEATABLE READ", "starting the build transaction");
        if (!ok)
            break;
        state->in_transaction = true;
        PGresult *covered = slot_query(state->sql, "comparing the primary's snapshot with the slot's",
                                       "SELECT pg_snapshot_xmax(p) >= pg_snapshot_xmax(s) AND NOT EXISTS "
                                       "(SELECT FROM pg_snapshot_xip(p) AS x WHERE x < pg_snapshot_xmax(s) "
                                       "AND x NOT IN (SELECT pg_snapshot_xip(s))) "
                                       "FROM (SELECT pg_current_snapshot() AS p, $1::pg_snapshot AS s) AS q",
                                       1, params, NULL);
        ok = covered != NULL;
        bool done = ok && strcmp(PQgetvalue(covered, 0, 0), "t") == 0;
        PQclear(covered);
        if (!ok || done)
            break;
        ok = pg_exec_ok(state->sql, "ROLLBACK", "starting the build transaction again");
        state->in_transaction = false;
        if (seconds_since(&start) > CREATE_STANDBY_SNAPSHOT_WAIT_S) {
            log_error("the primary still runs transactions that the slot's snapshot on the standby saw committed, "
                      "after %d s: is database.url the primary that decode_url replicates from?",
                      CREATE_STANDBY_SNAPSHOT_WAIT_S);
            ok = false;
        }
        if (create_interrupted)
            ok = false;
        if (ok)
            nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    free(standby_snapshot);
    return ok;
}

static bool create_build_and_record(create_state *state)
{
    if (!(state->on_standby ? create_begin_after_standby(state) : create_begin_in_snapshot(state, state->sql)))
        return false;

    /* The registry is read inside the snapshot too, so build and log agree on
     * which entities exist. */
    PGresult *entities = slot_query(state->sql, "listing the registered entities",
                                    "SELECT name FROM tvsync.entity ORDER BY name", 0, NULL, NULL);
    if (!entities)
        return false;
    if (PQntuples(entities) == 0) {
        log_error("no entity is registered in tvsync.entity: apply the migrations that declare them "
                  "(tvsync-migrate up)");
        PQclear(entities);
        return false;
    }
    create_watch(state->sql);
    bool ok = true;
    for (int row = 0; ok && row < PQntuples(entities); row++)
        ok = create_build_entity(state, PQgetvalue(entities, row, 0));
    PQclear(entities);
    if (!ok)
        return false;

    /* The origin is created in the build transaction (so a failure rolls it
     * back) and advanced last: pg_replication_origin_advance takes effect at
     * once, not at commit. */
    const char *origin_params[] = {state->name, state->consistent_point};
    char what[160];
    snprintf(what, sizeof what, "creating replication origin \"%s\"", state->name);
    if (!state->origin_existed) {
        PGresult *result = slot_query(state->sql, what, "SELECT pg_replication_origin_create($1)", 1,
                                      origin_params, NULL);
        if (!result)
            return false;
        PQclear(result);
    }
    if (create_interrupted)
        return false;
    snprintf(what, sizeof what, "setting the progress of replication origin \"%s\"", state->name);
    PGresult *result = slot_query(state->sql, what,
                                  "SELECT pg_replication_origin_advance($1, $2::pg_lsn)", 2, origin_params, NULL);
    if (!result)
        return false;
    PQclear(result);

    /* Past the advance there is nothing left worth undoing for a signal:
     * finish. */
    create_watch(NULL);
    if (!pg_exec_ok(state->sql, "COMMIT", "committing the build"))
        return false;
    state->in_transaction = false;
    printf("replication origin \"%s\" %s at %s\n", state->name,
           state->origin_existed ? "(it existed) moved to" : "created with progress", state->consistent_point);
    return true;
}

/* Undoes a partial create: the build is rolled back, the slot dropped, an
 * origin this run created removed. */
static void create_undo(create_state *state)
{
    create_watch(NULL);
    if (state->in_transaction && PQstatus(state->sql) == CONNECTION_OK) {
        PGresult *result = PQexec(state->sql, "ROLLBACK");
        PQclear(result);
        state->in_transaction = false;
    }
    if (state->publication_created && PQstatus(state->sql) == CONNECTION_OK) {
        strbuf command = STRBUF_INIT;
        strbuf_appendf(&command, "DROP PUBLICATION IF EXISTS \"%s\"", state->publication);
        PGresult *result = PQexec(state->sql, strbuf_text(&command));
        strbuf_free(&command);
        if (PQresultStatus(result) == PGRES_COMMAND_OK)
            state->publication_created = false;
        else
            log_error("publication \"%s\" could not be dropped again: DROP PUBLICATION \"%s\"",
                      state->publication, state->publication);
        PQclear(result);
    }
    if (!state->slot_created)
        return;

    bool dropped = false;
    if (state->replication && PQstatus(state->replication) == CONNECTION_OK) {
        char command[256];
        snprintf(command, sizeof command, "DROP_REPLICATION_SLOT \"%s\"", state->name);
        PGresult *result = slot_query(state->replication, "dropping the new replication slot",
                                      command, 0, NULL, NULL);
        dropped = result != NULL;
        PQclear(result);
    }
    if (!dropped && PQstatus(state->slot_sql) == CONNECTION_OK) {
        const char *params[] = {state->name};
        PGresult *result = slot_query(state->slot_sql, "dropping the new replication slot",
                                      "SELECT pg_drop_replication_slot($1)", 1, params, NULL);
        dropped = result != NULL;
        PQclear(result);
    }
    if (!state->origin_existed && PQstatus(state->sql) == CONNECTION_OK) {
        /* Only reached if COMMIT itself failed after the origin was made. */
        const char *params[] = {state->name};
        PGresult *result = PQexecParams(state->sql,
                                        "SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin "
                                        "WHERE roname = $1",
                                        1, NULL, params, NULL, NULL, 0);
        PQclear(result);
    }
    if (dropped)
        log_error("replication slot \"%s\" was dropped again; nothing was created", state->name);
    else
        log_error("replication slot \"%s\" could not be dropped again: drop it with tvsync-slot drop", state->name);
}

/* A slot on a standby decodes from where the standby has replayed to: the publication
 * must be there before, or pgoutput could not decode the changes between them. */
static bool create_wait_replay(create_state *state)
{
    PGresult *result = slot_query(state->sql, "reading the primary's WAL position",
                                  "SELECT pg_current_wal_flush_lsn()::text", 0, NULL, NULL);
    if (!result)
        return false;
    char *position = alloc_strdup(PQgetvalue(result, 0, 0));
    PQclear(result);
    const char *params[] = {position};
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    bool ok = false;
    while (!create_interrupted) {
        result = slot_query(state->slot_sql, "reading the standby's replay position",
                            "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", 1, params, NULL);
        if (!result)
            break;
        ok = strcmp(PQgetvalue(result, 0, 0), "t") == 0;
        PQclear(result);
        if (ok)
            break;
        if (seconds_since(&start) > CREATE_STANDBY_SNAPSHOT_WAIT_S) {
            log_error("the standby of [cdc] decode_url has not replayed the primary's WAL up to %s after %d s: "
                      "is it streaming from database.url? (SELECT * FROM pg_stat_wal_receiver on the standby)",
                      position, CREATE_STANDBY_SNAPSHOT_WAIT_S);
            break;
        }
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    free(position);
    return ok;
}

/* The standby of [cdc] decode_url: one that can hold the slot, for a slot it can make. */
static int create_standby_preflight(create_state *state)
{
    char problem[512];
    int verdict = slot_standby_verify(state->sql, state->slot_sql, problem, sizeof problem);
    if (verdict < 0)
        return TVSYNC_EXIT_DATABASE;
    if (verdict == 1) {
        log_error("%s", problem);
        return TVSYNC_EXIT_FAILURE;
    }
    if (verdict == 2)
        log_warning("whether [cdc] decode_url is a standby of database.url was not checked: the role may not call "
                    "pg_control_system() (GRANT EXECUTE ON FUNCTION pg_control_system() TO it, or use a superuser)");
    if (state->config->slot.failover) {
        log_error("[slot] failover is on, but with [cdc] decode_url the slot is on a standby, where PostgreSQL "
                  "makes no failover slot: set failover = off under [slot], or leave decode_url empty");
        return TVSYNC_EXIT_FAILURE;
    }
    return TVSYNC_EXIT_OK;
}

static void create_finish(create_state *state)
{
    if (state->slot_sql && state->slot_sql != state->sql)
        PQfinish(state->slot_sql);
    PQfinish(state->sql);
    free(state->publication);
}

int slot_create(const tvsync_config *config, bool if_not_exists)
{
    int status = TVSYNC_EXIT_OK;
    create_state state = {.config = config, .name = config->slot.name, .failure_status = TVSYNC_EXIT_DATABASE};
    state.sql = slot_connect(config, PG_CONNECT_NORMAL, &status);
    if (!state.sql)
        return status;
    state.slot_sql = state.sql;
    state.on_standby = slot_on_standby(config);
    if (state.on_standby) {
        state.slot_sql = slot_connect_slot_server(config, PG_CONNECT_NORMAL, &status);
        status = state.slot_sql ? create_standby_preflight(&state) : status;
        if (status != TVSYNC_EXIT_OK) {
            create_finish(&state);
            return status;
        }
    }
    if (config->slot.plugin == OUTPUT_PLUGIN_PGOUTPUT)
        state.publication = pgoutput_publication_name(state.name);
    bool done = false;
    status = create_preflight(&state, if_not_exists, &done);
    if (status != TVSYNC_EXIT_OK || done) {
        create_finish(&state);
        return status;
    }
    state.replication = slot_connect_slot_server(config, PG_CONNECT_REPLICATION, &status);
    if (!state.replication) {
        create_finish(&state);
        return status;
    }

    create_interrupted = 0;
    create_install_signals();
    bool ok = (!state.publication || create_publication(&state)) && !create_interrupted &&
              (!state.on_standby || create_wait_replay(&state)) && create_slot(&state) &&
              !create_interrupted && create_build_and_record(&state);
    if (!ok) {
        if (create_interrupted)
            log_error("interrupted while creating replication slot \"%s\"", state.name);
        create_undo(&state);
        status = create_interrupted ? TVSYNC_EXIT_FAILURE : state.failure_status;
    } else {
        printf("replication slot \"%s\" is ready: tvsync-cdc streams from %s\n", state.name,
               state.consistent_point);
    }
    /* Only now may the replication session end: the exported snapshot lives as
     * long as it does. */
    PQfinish(state.replication);
    create_finish(&state);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    return status;
}

static void drop_finish(PGconn *conn, PGconn *slot_conn)
{
    if (slot_conn && slot_conn != conn)
        PQfinish(slot_conn);
    if (conn)
        PQfinish(conn);
}

int slot_drop(const tvsync_config *config)
{
    int status = TVSYNC_EXIT_OK;
    const char *name = config->slot.name;
    PGconn *conn = slot_connect(config, PG_CONNECT_NORMAL, &status);
    if (!conn)
        return status;
    /* The slot where it lives (the standby of [cdc] decode_url), the origin and the
     * publication on the primary. */
    PGconn *slot_conn = slot_on_standby(config) ? slot_connect_slot_server(config, PG_CONNECT_NORMAL, &status) : conn;
    if (!slot_conn) {
        PQfinish(conn);
        return status;
    }
    char *publication = pgoutput_publication_name(name);
    const char *params[] = {name, publication};
    PGresult *slot_row = slot_query(slot_conn, "looking up the slot",
                                    "SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1), "
                                    "(SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1 AND active), "
                                    "EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 "
                                    "AND plugin = 'pgoutput')",
                                    1, params, NULL);
    PGresult *result = slot_row ? slot_query(conn, "looking up the origin and the publication",
                                             "SELECT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = $1), "
                                             "EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $2)",
                                             2, params, NULL)
                                : NULL;
    if (!result) {
        PQclear(slot_row);
        free(publication);
        drop_finish(conn, slot_conn);
        return TVSYNC_EXIT_DATABASE;
    }
    bool slot_exists = strcmp(PQgetvalue(slot_row, 0, 0), "t") == 0;
    bool origin_exists = strcmp(PQgetvalue(result, 0, 0), "t") == 0;
    /* A publication of that name is ours when pgoutput is, or was, the slot's plugin. */
    bool publication_exists = strcmp(PQgetvalue(result, 0, 1), "t") == 0 &&
                              (config->slot.plugin == OUTPUT_PLUGIN_PGOUTPUT || strcmp(PQgetvalue(slot_row, 0, 2), "t") == 0);
    PQclear(result);
    if (!PQgetisnull(slot_row, 0, 1)) {
        log_error("replication slot \"%s\" is in use by PID %s (tvsync-cdc?): stop it first", name,
                  PQgetvalue(slot_row, 0, 1));
        PQclear(slot_row);
        drop_finish(conn, slot_conn);
        free(publication);
        return TVSYNC_EXIT_FAILURE;
    }
    PQclear(slot_row);

    if (slot_exists) {
        char what[160];
        snprintf(what, sizeof what, "dropping replication slot \"%s\"", name);
        result = slot_query(slot_conn, what, "SELECT pg_drop_replication_slot($1)", 1, params, NULL);
        if (slot_conn != conn)
            PQfinish(slot_conn);
        slot_conn = conn;
        if (!result) {
            free(publication);
            PQfinish(conn);
            return TVSYNC_EXIT_DATABASE;
        }
        PQclear(result);
        printf("dropped replication slot \"%s\"%s\n", name, slot_on_standby(config) ? " on the standby" : "");
    }
    drop_finish(NULL, slot_conn != conn ? slot_conn : NULL);
    if (origin_exists) {
        char what[160];
        snprintf(what, sizeof what, "dropping replication origin \"%s\"", name);
        result = slot_query(conn, what, "SELECT pg_replication_origin_drop($1)", 1, params, NULL);
        if (!result) {
            free(publication);
            PQfinish(conn);
            return TVSYNC_EXIT_DATABASE;
        }
        PQclear(result);
        printf("dropped replication origin \"%s\"\n", name);
    }
    if (publication_exists) {
        strbuf command = STRBUF_INIT;
        strbuf_appendf(&command, "DROP PUBLICATION IF EXISTS \"%s\"", publication);
        char what[160];
        snprintf(what, sizeof what, "dropping publication \"%s\"", publication);
        result = slot_query(conn, what, strbuf_text(&command), 0, NULL, NULL);
        strbuf_free(&command);
        if (!result) {
            free(publication);
            PQfinish(conn);
            return TVSYNC_EXIT_DATABASE;
        }
        PQclear(result);
        printf("dropped publication \"%s\"\n", publication);
    }
    free(publication);
    PQfinish(conn);
    if (!slot_exists && !origin_exists && !publication_exists) {
        log_error("neither a replication slot nor a replication origin named \"%s\" exists: nothing to drop", name);
        return TVSYNC_EXIT_SLOT;
    }
    return TVSYNC_EXIT_OK;
}
