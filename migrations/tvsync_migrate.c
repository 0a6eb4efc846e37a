/* tvsync-migrate: applies the migration sets (the engine's, then the user's) in order (up), lists
 * them (status), checks tv_* against a full rebuild (verify), loads SQL (seed), generates SQL (generate). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "common/alloc.h"
#include "common/cli.h"
#include "common/config.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "common/pg.h"
#include "common/strbuf.h"
#include "migrations/generate.h"
#include "migrations/migration_ledger.h"
#include "migrations/migration_set.h"
#include "migrations/sql_script.h"

#define PROGRAM "tvsync-migrate"
#define INSTALLED_ENGINE_DIR TVSYNC_PKGDATADIR "/migrations"
/* The file that marks a folder as the engine's set. */
#define ENGINE_MARKER "001_tvsync_engine.sql"
#define EXAMPLE_SEED TVSYNC_PKGDATADIR "/examples/blog/seed.sql"

/* Every tvsync-migrate of every database of the cluster serializes on this key:
 * "tvsync" in ASCII. A second run waits, then finds nothing left to do. */
#define MIGRATE_LOCK_KEY "128052092300899"

static const cli_option migrate_options[] = {
    {"dir", "DIR", NULL, "a migration set of yours (repeatable; replaces [migrate] dirs)"},
    {"schema", "FILE", NULL, "generate: the SDL file whose declarations to generate from"},
    {NULL, NULL, NULL, NULL},
};

static const cli_program migrate_program = {
    .name = PROGRAM,
    .synopsis = "[OPTION]... up|status|verify|seed FILE|generate --schema FILE --dir DIR",
    .description =
        "Applies migration sets: the engine's (named tvsync, found beside this program or in\n"
        INSTALLED_ENGINE_DIR "; [migrate] engine_dir overrides), always first, then each\n"
        "--dir (or [migrate] dirs) in the order given, each named after its folder. A set's\n"
        "files are NNN_name.sql, applied in name order, each in its own transaction, under an\n"
        "advisory lock; versions are unique within a set. A migration must not contain\n"
        "BEGIN/COMMIT or commands that cannot run in a transaction.",
    .commands_help =
        "Commands:\n"
        "  up      apply the pending migrations of every set; refuses when an applied file changed\n"
        "          (exit 1); a failing migration is rolled back whole and named with its line (exit 4)\n"
        "  status  list each set's applied, pending and changed migrations; sets applied but not\n"
        "          given get one summary line (exit 1 when an applied file changed)\n"
        "  verify  build every entity in full (in one snapshot) and compare with its tv_* table;\n"
        "          prints 'ENTITY ID: missing|extra|different' per differing row (exit 1 if any)\n"
        "  seed FILE\n"
        "          load the SQL file in one transaction (exit 1 when the migrations are not\n"
        "          applied); the blog example's: " EXAMPLE_SEED "\n"
        "  generate --schema FILE --dir DIR\n"
        "          write DIR's next migration (NNN_generated.sql) from the read models FILE declares:\n"
        "          the objects new or changed since DIR's earlier generated files, or print\n"
        "          'nothing changed' and write nothing; the tables it reads must exist (exit 1 with\n"
        "          FILE:LINE: on a declaration error)\n",
    .options = migrate_options,
    .log_section = NULL,
};

typedef enum migrate_command {
    COMMAND_UP,
    COMMAND_STATUS,
    COMMAND_VERIFY,
    COMMAND_SEED,
    COMMAND_GENERATE,
} migrate_command;

/* The sets of one run: sets[0] is the engine's, the user's follow in the order given. */
typedef struct set_list {
    migration_set *sets;
    size_t count;
} set_list;

static void set_list_free(set_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        migration_set_free(&list->sets[i]);
    free(list->sets);
    list->sets = NULL;
    list->count = 0;
}

/* Server NOTICEs (CREATE ... IF NOT EXISTS chatter) go to debug, WARNINGs stay visible. */
static void notice_receiver(void *argument, const PGresult *result)
{
    (void) argument;
    const char *severity = PQresultErrorField(result, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *message = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    if (!message)
        return;
    if (severity && strcmp(severity, "WARNING") == 0)
        log_warning("server: %s", message);
    else
        log_debug("server: %s", message);
}

/* Runs every statement of a script on conn (inside the caller's transaction). On
 * failure logs "NAME:LINE: message (SQLSTATE)" and returns false. */
static bool run_script(PGconn *conn, const char *name, const char *text, size_t length)
{
    sql_statement *statements;
    size_t count;
    sql_script_split(text, length, &statements, &count);
    bool ok = true;
    for (size_t i = 0; i < count && ok; i++) {
        const sql_statement *statement = &statements[i];
        if (statement->transaction_control) {
            log_error("%s:%d: transaction control (BEGIN, COMMIT, ROLLBACK, ...) is not allowed here: "
                      "tvsync-migrate runs each file in its own transaction",
                      name, statement->line);
            ok = false;
            break;
        }
        char *sql = alloc_malloc(statement->length + 1);
        memcpy(sql, text + statement->offset, statement->length);
        sql[statement->length] = '\0';
        PGresult *result = PQexec(conn, sql);
        ExecStatusType status = PQresultStatus(result);
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
            const char *position = PQresultErrorField(result, PG_DIAG_STATEMENT_POSITION);
            int line = sql_script_line_at(text, statement, position ? strtol(position, NULL, 10) : 0);
            const char *context = PQresultErrorField(result, PG_DIAG_CONTEXT);
            /* An error raised inside this statement's own DO block (directly or in a
             * function it called; the block is the outermost frame): point at its line. */
            const char *frame = context ? strstr(context, "inline_code_block line ") : NULL;
            int body_line;
            if (!position && frame && sscanf(frame, "inline_code_block line %d", &body_line) == 1 &&
                body_line > 0)
                line = sql_script_body_line(text, statement) + body_line - 1;
            char message[1024];
            pg_error_line(conn, result, message, sizeof message);
            if (context) {
                /* Errors raised inside a function or DO block carry where in it. */
                char first[256];
                size_t n = strcspn(context, "\n");
                snprintf(first, sizeof first, "%.*s", (int) (n < sizeof first - 1 ? n : sizeof first - 1),
                         context);
                log_error("%s:%d: %s [%s]", name, line, message, first);
            } else {
                log_error("%s:%d: %s", name, line, message);
            }
            ok = false;
        }
        PQclear(result);
        free(sql);
    }
    free(statements);
    return ok;
}

static bool is_file(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0 && S_ISREG(info.st_mode);
}

/* The engine's folder: the configured one, else this program's own folder when it holds
 * the engine's first migration (the build tree), else the installed one. The caller
 * frees it; NULL (logged) when there is none. */
static char *engine_dir_find(const char *configured)
{
    if (configured && *configured)
        return alloc_strdup(configured);
    char program[PATH_MAX];
    ssize_t length = readlink("/proc/self/exe", program, sizeof program - 1);
    char *slash = NULL;
    if (length > 0 && (size_t) length < sizeof program - 1) {
        program[length] = '\0';
        slash = strrchr(program, '/');
    }
    if (slash && slash > program) {
        *slash = '\0';
        strbuf marker = STRBUF_INIT;
        strbuf_appendf(&marker, "%s/" ENGINE_MARKER, program);
        bool beside = is_file(strbuf_text(&marker));
        strbuf_free(&marker);
        if (beside)
            return alloc_strdup(program);
    }
    if (is_file(INSTALLED_ENGINE_DIR "/" ENGINE_MARKER))
        return alloc_strdup(INSTALLED_ENGINE_DIR);
    log_error("cannot find the engine's migrations (" ENGINE_MARKER ") beside " PROGRAM " nor in " INSTALLED_ENGINE_DIR
              ": set [migrate] engine_dir to their folder");
    return NULL;
}

/* Reads the set in dir, named name, onto the end of the list; false (logged) when it
 * cannot be read or another set already has its name. */
static bool set_list_add(set_list *list, const char *dir, const char *name)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->sets[i].name, name) == 0) {
            log_error("two migration sets are named %s (%s and %s): a set is named after its folder, rename one",
                      name, list->sets[i].dir, dir);
            return false;
        }
    char error[1024];
    list->sets = alloc_array(list->sets, list->count + 1, sizeof *list->sets);
    if (!migration_set_load(dir, name, &list->sets[list->count], error, sizeof error)) {
        log_error("%s", error);
        return false;
    }
    list->count++;
    return true;
}

/* The user's folders: every --dir in order when there is one, else [migrate] dirs. */
static size_t user_dirs(const cli_state *state, const tvsync_config *config, char ***dirs)
{
    size_t count = 0;
    *dirs = NULL;
    for (int i = 0; i < state->set_count; i++)
        if (strcmp(state->settings[i].long_name, "dir") == 0) {
            *dirs = alloc_array(*dirs, count + 1, sizeof **dirs);
            (*dirs)[count++] = alloc_strdup(state->settings[i].value);
        }
    return count > 0 ? count : migration_set_dir_list_parse(config->migrate.dirs, dirs);
}

/* Reads the engine's set and the user's into *list. Returns -1 on success, else the
 * exit status (the error logged). */
static int set_list_load(const cli_state *state, const tvsync_config *config, set_list *list)
{
    char *engine = engine_dir_find(config->migrate.engine_dir);
    if (!engine)
        return TVSYNC_EXIT_CONFIG;
    char *engine_real = realpath(engine, NULL);
    bool ok = set_list_add(list, engine, MIGRATION_SET_ENGINE);
    char **dirs;
    size_t dir_count = user_dirs(state, config, &dirs);
    for (size_t i = 0; i < dir_count && ok; i++) {
        char error[1024];
        char *name = migration_set_name_of(dirs[i], error, sizeof error);
        char *real = name ? realpath(dirs[i], NULL) : NULL;
        if (!name) {
            log_error("%s", error);
            ok = false;
        } else if (real && engine_real && strcmp(real, engine_real) == 0) {
            log_error("%s is the engine's migration set, which " PROGRAM " always applies first by itself: "
                      "leave it out of --dir and [migrate] dirs",
                      dirs[i]);
            ok = false;
        } else if (strcmp(name, MIGRATION_SET_ENGINE) == 0) {
            log_error("%s: the set name " MIGRATION_SET_ENGINE " is the engine's; rename the folder", dirs[i]);
            ok = false;
        } else {
            ok = set_list_add(list, dirs[i], name);
        }
        free(real);
        free(name);
    }
    migration_set_dir_list_free(dirs, dir_count);
    free(engine_real);
    free(engine);
    return ok ? -1 : TVSYNC_EXIT_CONFIG;
}

static bool take_migration_lock(PGconn *conn)
{
    PGresult *locked = pg_query_logged(conn, "SELECT pg_try_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL,
                             "cannot take the migration lock");
    if (!locked)
        return false;
    bool have_lock = strcmp(PQgetvalue(locked, 0, 0), "t") == 0;
    PQclear(locked);
    if (have_lock)
        return true;
    log_info("another tvsync-migrate holds the migration lock; waiting for it");
    return pg_exec_ok(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "cannot take the migration lock");
}

/* Computes the files' checksums, then under the migration lock (held until the session
 * ends) creates the ledger when create is set, upgrades it to sets and reads it into
 * *ledger. Without create, a database that has no ledger gives an empty one and is not
 * changed. Returns -1 on success, else the exit status. */
static int ledger_prepare(PGconn *conn, set_list *list, bool create, migration_ledger *ledger)
{
    ledger->rows = NULL;
    ledger->count = 0;
    if (!migration_ledger_checksums(conn, list->sets, list->count))
        return TVSYNC_EXIT_DATABASE;
    int exists = migration_ledger_exists(conn);
    if (exists < 0)
        return TVSYNC_EXIT_DATABASE;
    if (!exists && !create)
        return -1;
    if (!take_migration_lock(conn))
        return TVSYNC_EXIT_DATABASE;
    /* Created under the lock: concurrent CREATE ... IF NOT EXISTS can still collide. */
    if (create && !migration_ledger_create(conn))
        return TVSYNC_EXIT_DATABASE;
    if (!migration_ledger_upgrade(conn, list->sets, list->count) || !migration_ledger_load(conn, ledger))
        return TVSYNC_EXIT_DATABASE;
    return -1;
}

/* The ledger's row for a file of set: the set's own, else a row recorded before sets
 * under the same file name (its checksum differs, or the upgrade would have given it
 * its set). NULL when the file is not applied. */
static const migration_ledger_row *row_for(const migration_ledger *ledger, const migration_set *set,
                                           const migration_file *file)
{
    const migration_ledger_row *row = migration_ledger_find(ledger, set->name, file->version);
    if (!row) {
        row = migration_ledger_find(ledger, MIGRATION_LEDGER_UNASSIGNED, file->version);
        if (row && strcmp(row->filename, file->filename) != 0)
            row = NULL;
    }
    return row;
}

static const migration_set *set_named(const set_list *list, const char *name)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->sets[i].name, name) == 0)
            return &list->sets[i];
    return NULL;
}

/* Refuses when an applied migration's file changed; names every such file. */
static bool check_applied_unchanged(const set_list *list, const migration_ledger *ledger)
{
    bool ok = true;
    for (size_t s = 0; s < list->count; s++)
        for (size_t i = 0; i < list->sets[s].count; i++) {
            const migration_file *file = &list->sets[s].files[i];
            const migration_ledger_row *done = row_for(ledger, &list->sets[s], file);
            if (done && strcmp(done->sha256, file->sha256) != 0) {
                log_error("%s was changed after it was applied on %s (sha256 %.12s... recorded, %.12s... now); "
                          "restore it and put the change in a new migration",
                          file->path, done->applied_at, done->sha256, file->sha256);
                ok = false;
            }
        }
    return ok;
}

/* Runs one file and records it, in one transaction; rolled back whole on failure. */
static bool apply_file(PGconn *conn, const migration_set *set, const migration_file *file)
{
    if (!pg_exec_ok(conn, "BEGIN", "cannot start a transaction"))
        return false;
    bool ok = run_script(conn, file->path, file->text, file->length) &&
              migration_ledger_record(conn, set->name, file) &&
              pg_exec_ok(conn, "COMMIT", "cannot commit the migration");
    if (!ok) {
        PGresult *rollback = PQexec(conn, "ROLLBACK");
        PQclear(rollback);
        log_error("%s was rolled back; nothing of it is applied", file->path);
    }
    return ok;
}

/* Migration 045 closes pg_logical_emit_message to PUBLIC when its runner may; a later
 * up by a superuser (or after a restore) closes it again. A runner that may not gets
 * the function's WARNING with the statements a superuser must run. */
static void restrict_emit_message(PGconn *conn)
{
    PGresult *result = PQexec(conn, "SELECT tvsync.restrict_emit_message() "
                                    "WHERE to_regprocedure('tvsync.restrict_emit_message()') IS NOT NULL");
    if (PQresultStatus(result) != PGRES_TUPLES_OK)
        log_warning("cannot check who may run pg_logical_emit_message: %s",
                    PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY)
                                                                         : PQerrorMessage(conn));
    PQclear(result);
}

static int command_up(PGconn *conn, set_list *list)
{
    migration_ledger ledger;
    int status = ledger_prepare(conn, list, true, &ledger);
    if (status >= 0) {
        migration_ledger_free(&ledger);
        return status;
    }
    status = check_applied_unchanged(list, &ledger) ? TVSYNC_EXIT_OK : TVSYNC_EXIT_FAILURE;
    for (size_t i = 0; i < ledger.count && status == TVSYNC_EXIT_OK; i++) {
        const migration_set *set = set_named(list, ledger.rows[i].set_name);
        if (set && !migration_set_find(set, ledger.rows[i].version))
            log_warning("%s is applied in set %s but not in %s", ledger.rows[i].filename, set->name, set->dir);
    }

    size_t applied_now = 0, engine_applied_now = 0, total = 0;
    for (size_t s = 0; s < list->count && status == TVSYNC_EXIT_OK; s++) {
        const migration_set *set = &list->sets[s];
        total += set->count;
        for (size_t i = 0; i < set->count && status == TVSYNC_EXIT_OK; i++) {
            const migration_file *file = &set->files[i];
            if (row_for(&ledger, set, file))
                continue;
            if (!apply_file(conn, set, file)) {
                status = TVSYNC_EXIT_DATABASE;
                break;
            }
            log_info("applied %s (set %s)", file->filename, set->name);
            applied_now++;
            engine_applied_now += s == 0;
        }
    }
    if (status == TVSYNC_EXIT_OK && engine_applied_now == 0)
        restrict_emit_message(conn);
    if (status == TVSYNC_EXIT_OK) {
        if (applied_now == 0)
            log_info("nothing to do: all %zu migrations of %zu set(s) are applied", total, list->count);
        else
            log_info("%zu migration(s) applied", applied_now);
    }
    migration_ledger_free(&ledger);
    /* The advisory lock goes with the session. */
    return status;
}

/* Whether a row recorded before sets is listed under a given set (as changed). */
static bool shown_in_a_set(const set_list *list, const migration_ledger *ledger, const migration_ledger_row *row)
{
    for (size_t s = 0; s < list->count; s++) {
        const migration_file *file = migration_set_find(&list->sets[s], row->version);
        if (file && row_for(ledger, &list->sets[s], file) == row)
            return true;
    }
    return false;
}

/* One line per file of each given set; one summary line per set the ledger has but the
 * command line does not; the rows from before sets that match no given set. */
static int command_status(PGconn *conn, set_list *list)
{
    migration_ledger ledger;
    int status = ledger_prepare(conn, list, false, &ledger);
    if (status >= 0) {
        migration_ledger_free(&ledger);
        return status;
    }
    status = TVSYNC_EXIT_OK;
    size_t applied_count = 0, pending_count = 0;
    for (size_t s = 0; s < list->count; s++) {
        const migration_set *set = &list->sets[s];
        printf("set %s: %s\n", set->name, set->dir);
        for (size_t i = 0; i < set->count; i++) {
            const migration_file *file = &set->files[i];
            const migration_ledger_row *done = row_for(&ledger, set, file);
            if (!done) {
                printf("  pending  %s\n", file->filename);
                pending_count++;
            } else if (strcmp(file->sha256, done->sha256) != 0) {
                printf("  changed  %s  applied %s, file changed since\n", file->filename, done->applied_at);
                applied_count++;
                status = TVSYNC_EXIT_FAILURE;
            } else {
                printf("  applied  %s  %s\n", file->filename, done->applied_at);
                applied_count++;
            }
        }
        for (size_t i = 0; i < ledger.count; i++)
            if (strcmp(ledger.rows[i].set_name, set->name) == 0 && !migration_set_find(set, ledger.rows[i].version)) {
                printf("  missing  %s  applied %s, not in the directory\n", ledger.rows[i].filename,
                       ledger.rows[i].applied_at);
                applied_count++;
            }
    }
    /* The ledger is ordered by set name: each absent set's rows are consecutive. */
    for (size_t i = 0; i < ledger.count;) {
        const char *name = ledger.rows[i].set_name;
        size_t end = i;
        while (end < ledger.count && strcmp(ledger.rows[end].set_name, name) == 0)
            end++;
        if (*name && !set_named(list, name))
            printf("set %s: %zu migration(s) applied, not given (name its folder with --dir to list them)\n", name,
                   end - i);
        i = end;
    }
    bool header = false;
    for (size_t i = 0; i < ledger.count; i++) {
        const migration_ledger_row *row = &ledger.rows[i];
        if (strcmp(row->set_name, MIGRATION_LEDGER_UNASSIGNED) != 0 || shown_in_a_set(list, &ledger, row))
            continue;
        if (!header)
            printf("recorded before migration sets, in none of the sets given:\n");
        header = true;
        printf("  unassigned  %s  applied %s\n", row->filename, row->applied_at);
    }
    printf("%zu applied, %zu pending\n", applied_count, pending_count);
    migration_ledger_free(&ledger);
    return status;
}

/* Compares one entity's full build with its tv table and prints the differing ids.
 * Rows stream in single-row mode, so a table that differs everywhere does not have to
 * fit in memory. Returns the number of differing rows, -1 on error. */
static long verify_entity(PGconn *conn, const char *entity, const char *tv_table, const char *build_function)
{
    size_t size = strlen(tv_table) + strlen(build_function) + 512;
    char *sql = alloc_malloc(size);
    /* Both names come from the server already quoted (regclass output, format %I). */
    snprintf(sql, size,
             "WITH built AS MATERIALIZED (SELECT b.id, b.data FROM %s(NULL) AS b)"
             " SELECT coalesce(b.id, t.id),"
             "  CASE WHEN t.id IS NULL THEN 'missing' WHEN b.id IS NULL THEN 'extra' ELSE 'different' END"
             " FROM built b FULL JOIN %s t ON t.id = b.id"
             " WHERE t.id IS NULL OR b.id IS NULL OR t.data IS DISTINCT FROM b.data"
             " ORDER BY 1",
             build_function, tv_table);
    long differing = 0;
    bool ok = PQsendQuery(conn, sql) && PQsetSingleRowMode(conn);
    free(sql);
    if (!ok) {
        log_error("verify %s: %s", entity, PQerrorMessage(conn));
        return -1;
    }
    PGresult *result;
    while ((result = PQgetResult(conn)) != NULL) {
        ExecStatusType status = PQresultStatus(result);
        if (status == PGRES_SINGLE_TUPLE) {
            printf("%s %s: %s\n", entity, PQgetvalue(result, 0, 0), PQgetvalue(result, 0, 1));
            differing++;
        } else if (status != PGRES_TUPLES_OK) {
            char line[1024];
            log_error("verify %s: %s", entity, pg_error_line(conn, result, line, sizeof line));
            ok = false;
        }
        PQclear(result);
    }
    return ok ? differing : -1;
}

static int command_verify(PGconn *conn)
{
    PGresult *result = pg_query_logged(conn, "SELECT to_regclass('tvsync.entity') IS NOT NULL", 0, NULL,
                             "cannot look for tvsync.entity");
    if (!result)
        return TVSYNC_EXIT_DATABASE;
    bool registry = strcmp(PQgetvalue(result, 0, 0), "t") == 0;
    PQclear(result);
    if (!registry) {
        log_error("tvsync.entity does not exist: run '" PROGRAM " up' first");
        return TVSYNC_EXIT_FAILURE;
    }
    /* One snapshot for every entity, so they are compared at the same instant. */
    if (!pg_exec_ok(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "cannot start a transaction"))
        return TVSYNC_EXIT_DATABASE;
    result = pg_query_logged(conn, "SELECT e.name, e.tv_table::text, tvsync.build_function_name(e)"
                         " FROM tvsync.entity e ORDER BY e.name",
                   0, NULL, "cannot read tvsync.entity");
    if (!result)
        return TVSYNC_EXIT_DATABASE;
    int status = TVSYNC_EXIT_OK;
    long total = 0;
    int entities = PQntuples(result);
    for (int row = 0; row < entities; row++) {
        const char *entity = PQgetvalue(result, row, 0);
        long differing = verify_entity(conn, entity, PQgetvalue(result, row, 1), PQgetvalue(result, row, 2));
        if (differing < 0) {
            status = TVSYNC_EXIT_DATABASE;
            break;
        }
        if (differing > 0)
            log_info("%s: %ld row(s) differ from a full rebuild", entity, differing);
        total += differing;
    }
    PQclear(result);
    pg_exec_ok(conn, "ROLLBACK", "cannot end the transaction");
    if (status != TVSYNC_EXIT_OK)
        return status;
    if (total > 0)
        return TVSYNC_EXIT_FAILURE;
    log_info("all %d entities equal a full rebuild", entities);
    return TVSYNC_EXIT_OK;
}

static int command_seed(PGconn *conn, const char *path)
{
    char error[1024];
    char *text;
    size_t length;
    if (!migration_set_read_file(path, &text, &length, error, sizeof error)) {
        log_error("%s", error);
        return TVSYNC_EXIT_CONFIG;
    }
    int status = TVSYNC_EXIT_OK;
    PGresult *result = pg_query_logged(conn, "SELECT to_regclass('tvsync.entity') IS NOT NULL", 0, NULL,
                             "cannot look for tvsync.entity");
    if (!result) {
        status = TVSYNC_EXIT_DATABASE;
    } else {
        if (strcmp(PQgetvalue(result, 0, 0), "t") != 0) {
            log_error("the schema is not there: run '" PROGRAM " up' before '" PROGRAM " seed'");
            status = TVSYNC_EXIT_FAILURE;
        }
        PQclear(result);
    }
    if (status == TVSYNC_EXIT_OK && !pg_exec_ok(conn, "BEGIN", "cannot start a transaction"))
        status = TVSYNC_EXIT_DATABASE;
    if (status == TVSYNC_EXIT_OK) {
        if (run_script(conn, path, text, length) && pg_exec_ok(conn, "COMMIT", "cannot commit the seed")) {
            log_info("loaded %s", path);
        } else {
            PGresult *rollback = PQexec(conn, "ROLLBACK");
            PQclear(rollback);
            log_error("%s was rolled back; nothing of it is loaded", path);
            status = TVSYNC_EXIT_DATABASE;
        }
    }
    free(text);
    return status;
}

static bool parse_command(const char *word, migrate_command *command)
{
    static const struct {
        const char *name;
        migrate_command command;
    } commands[] = {
        {"up", COMMAND_UP}, {"status", COMMAND_STATUS}, {"verify", COMMAND_VERIFY}, {"seed", COMMAND_SEED},
        {"generate", COMMAND_GENERATE},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(word, commands[i].name) == 0) {
            *command = commands[i].command;
            return true;
        }
    return false;
}

/* The command and its operands; -1 when they are right, else the usage error's status. */
static int parse_operands(const cli_state *state, migrate_command *command)
{
    if (state->operand_count == 0)
        return cli_usage_error(state, "missing command (up, status, verify, seed FILE or generate)");
    if (!parse_command(state->operands[0], command))
        return cli_usage_error(state, "unknown command '%s' (expected up, status, verify, seed FILE or generate)",
                               state->operands[0]);
    if (*command == COMMAND_SEED && state->operand_count == 1)
        return cli_usage_error(state, "seed needs the SQL file to load: " PROGRAM " seed FILE (the blog example's: "
                                      EXAMPLE_SEED ")");
    if (*command == COMMAND_GENERATE && (!cli_option_value(state, "schema") || !cli_option_value(state, "dir")))
        return cli_usage_error(state, "generate needs --schema FILE (the SDL) and --dir DIR (the set to write to)");
    int expected = *command == COMMAND_SEED ? 2 : 1;
    if (state->operand_count != expected)
        return cli_usage_error(state, "%s takes %s, got %d operands", state->operands[0],
                               expected == 2 ? "one FILE" : "no operand", state->operand_count - 1);
    return -1;
}

/* A malformed URL is a configuration error, found before any connection attempt. */
static bool database_url_parses(const char *url, char *error, size_t error_size)
{
    if (!url || !*url)
        return true;
    char *message = NULL;
    PQconninfoOption *options = PQconninfoParse(url, &message);
    if (!options) {
        char *redacted = pg_redact_url(url);
        size_t n = message ? strcspn(message, "\n") : 0;
        snprintf(error, error_size, "invalid database URL %s: %.*s", redacted, (int) n,
                 message ? message : "out of memory");
        free(redacted);
        PQfreemem(message);
        return false;
    }
    PQconninfoFree(options);
    return true;
}

int main(int argc, char **argv)
{
    cli_state state;
    tvsync_config config;
    int status = cli_load(&migrate_program, argc, argv, &state, &config);
    if (status >= 0)
        return status;

    migrate_command command = COMMAND_UP;
    status = parse_operands(&state, &command);
    char error[1024];
    if (status < 0 && !database_url_parses(config.database.url, error, sizeof error)) {
        log_error("%s", error);
        status = TVSYNC_EXIT_CONFIG;
    }
    set_list sets = {0};
    if (status < 0 && (command == COMMAND_UP || command == COMMAND_STATUS))
        status = set_list_load(&state, &config, &sets);

    PGconn *conn = NULL;
    if (status < 0) {
        pg_error_kind kind;
        conn = pg_connect(config.database.url, PROGRAM, PG_CONNECT_NORMAL, config.database.connect_timeout_ms,
                          &kind, error, sizeof error);
        if (!conn) {
            log_error("%s", error);
            status = TVSYNC_EXIT_DATABASE;
        }
    }
    if (status < 0) {
        PQsetNoticeReceiver(conn, notice_receiver, NULL);
        switch (command) {
        case COMMAND_UP:
            status = command_up(conn, &sets);
            break;
        case COMMAND_STATUS:
            status = command_status(conn, &sets);
            break;
        case COMMAND_VERIFY:
            status = command_verify(conn);
            break;
        case COMMAND_SEED:
            status = command_seed(conn, state.operands[1]);
            break;
        case COMMAND_GENERATE:
            status = generate_run(conn, cli_option_value(&state, "schema"), cli_option_value(&state, "dir"));
            break;
        }
    }
    fflush(stdout);
    if (conn)
        PQfinish(conn);
    set_list_free(&sets);
    cli_state_free(&state);
    config_free(&config);
    return status;
}
