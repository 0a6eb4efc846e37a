/* tvsync-migrate: applies the ordered SQL migrations (up), lists them (status), checks
 * every tv_* table against a full rebuild (verify) and loads the example data (seed). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libpq-fe.h>

#include "common/alloc.h"
#include "common/cli.h"
#include "common/config.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "common/pg.h"
#include "migrations/migration_set.h"
#include "migrations/sql_script.h"

#define PROGRAM "tvsync-migrate"
#define DEFAULT_DIR TVSYNC_PKGDATADIR "/migrations"
#define SEED_FILE "blog_seed.sql"

/* Every tvsync-migrate of every database of the cluster serializes on this key:
 * "tvsync" in ASCII. A second run waits, then finds nothing left to do. */
#define MIGRATE_LOCK_KEY "128052092300899"

static const cli_option migrate_options[] = {
    {"dir", "DIR", NULL, "migrations directory (default " DEFAULT_DIR ")"},
    {NULL, NULL, NULL, NULL},
};

static const cli_program migrate_program = {
    .name = PROGRAM,
    .synopsis = "[OPTION]... up|status|verify|seed",
    .description =
        "Applies tvsync's SQL migrations (NNN_name.sql, in name order, each in its own\n"
        "transaction, under an advisory lock), and checks the read models. A migration\n"
        "must not contain BEGIN/COMMIT or commands that cannot run in a transaction.",
    .commands_help =
        "Commands:\n"
        "  up      apply the pending migrations; refuses when an applied file changed (exit 1);\n"
        "          a failing migration is rolled back whole and named with its line (exit 4)\n"
        "  status  list applied and pending migrations (exit 1 when an applied file changed)\n"
        "  verify  build every entity in full (in one snapshot) and compare with its tv_* table;\n"
        "          prints 'ENTITY ID: missing|extra|different' per differing row (exit 1 if any)\n"
        "  seed    load the blog example data (DIR/seed/" SEED_FILE " or DIR/../seed/" SEED_FILE ");\n"
        "          rows that exist are kept (exit 1 when the migrations are not applied)\n",
    .options = migrate_options,
    .log_section = NULL,
};

typedef enum migrate_command {
    COMMAND_UP,
    COMMAND_STATUS,
    COMMAND_VERIFY,
    COMMAND_SEED,
} migrate_command;

/* Migration state recorded in the database. */
typedef struct applied_migration {
    char *version, *filename, *sha256, *applied_at;
} applied_migration;

typedef struct applied_list {
    applied_migration *items;
    size_t count;
} applied_list;

static void applied_list_free(applied_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].version);
        free(list->items[i].filename);
        free(list->items[i].sha256);
        free(list->items[i].applied_at);
    }
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

static char *xstrdup(const char *text)
{
    char *copy = alloc_strdup(text ? text : "");
    return copy;
}

static const applied_migration *applied_find(const applied_list *list, const char *version)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i].version, version) == 0)
            return &list->items[i];
    return NULL;
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

/* Runs a query expected to return rows (or nothing); logs `what` on failure. */
static PGresult *query(PGconn *conn, const char *sql, int parameter_count, const char *const *values,
                       const char *what)
{
    PGresult *result = PQexecParams(conn, sql, parameter_count, NULL, values, NULL, NULL, 0);
    ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        char line[1024];
        log_error("%s: %s", what, pg_error_line(conn, result, line, sizeof line));
        PQclear(result);
        return NULL;
    }
    return result;
}

/* The hex sha256 of a file, computed by the server (sha256(bytea)) so the recorded
 * value is the one anybody can recompute in SQL. */
static bool file_sha256(PGconn *conn, const migration_file *file, char *out, size_t out_size)
{
    const char *values[1] = {file->text};
    int lengths[1] = {(int) file->length};
    int formats[1] = {1};
    PGresult *result = PQexecParams(conn, "SELECT encode(sha256($1::bytea), 'hex')", 1, NULL, values,
                                    lengths, formats, 0);
    if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) != 1) {
        char line[1024];
        log_error("cannot compute the checksum of %s: %s", file->filename,
                  pg_error_line(conn, result, line, sizeof line));
        PQclear(result);
        return false;
    }
    snprintf(out, out_size, "%s", PQgetvalue(result, 0, 0));
    PQclear(result);
    return true;
}

/* Whether tvsync.schema_migrations exists; -1 on error. */
static int migrations_table_exists(PGconn *conn)
{
    PGresult *result = query(conn, "SELECT to_regclass('tvsync.schema_migrations') IS NOT NULL", 0, NULL,
                             "cannot look for tvsync.schema_migrations");
    if (!result)
        return -1;
    int exists = strcmp(PQgetvalue(result, 0, 0), "t") == 0;
    PQclear(result);
    return exists;
}

static bool load_applied(PGconn *conn, applied_list *list)
{
    list->items = NULL;
    list->count = 0;
    int exists = migrations_table_exists(conn);
    if (exists < 0)
        return false;
    if (!exists)
        return true;
    PGresult *result = query(conn,
                             "SELECT version, filename, sha256,"
                             " to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC'"
                             " FROM tvsync.schema_migrations ORDER BY filename",
                             0, NULL, "cannot read tvsync.schema_migrations");
    if (!result)
        return false;
    int rows = PQntuples(result);
    list->items = alloc_calloc((size_t) rows + 1, sizeof *list->items);
    for (int row = 0; row < rows; row++) {
        applied_migration *item = &list->items[list->count++];
        item->version = xstrdup(PQgetvalue(result, row, 0));
        item->filename = xstrdup(PQgetvalue(result, row, 1));
        item->sha256 = xstrdup(PQgetvalue(result, row, 2));
        item->applied_at = xstrdup(PQgetvalue(result, row, 3));
    }
    PQclear(result);
    return true;
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

static bool bootstrap_migrations_table(PGconn *conn)
{
    return pg_exec_ok(conn,
                      "CREATE SCHEMA IF NOT EXISTS tvsync;"
                      "CREATE TABLE IF NOT EXISTS tvsync.schema_migrations ("
                      " version text PRIMARY KEY,"
                      " filename text NOT NULL,"
                      " sha256 text NOT NULL,"
                      " applied_at timestamptz NOT NULL DEFAULT now())",
                      "cannot create tvsync.schema_migrations");
}

/* Refuses when an applied migration's file changed; names every such file. */
static bool check_applied_unchanged(const migration_set *set, const applied_list *applied, char (*sums)[65])
{
    bool ok = true;
    for (size_t i = 0; i < set->count; i++) {
        const applied_migration *done = applied_find(applied, set->files[i].version);
        if (done && strcmp(done->sha256, sums[i]) != 0) {
            log_error("%s was changed after it was applied on %s (sha256 %.12s... recorded, %.12s... now); "
                      "restore it and put the change in a new migration",
                      set->files[i].filename, done->applied_at, done->sha256, sums[i]);
            ok = false;
        }
    }
    return ok;
}

static int command_up(PGconn *conn, const migration_set *set)
{
    PGresult *locked = query(conn, "SELECT pg_try_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL,
                             "cannot take the migration lock");
    if (!locked)
        return TVSYNC_EXIT_DATABASE;
    bool have_lock = strcmp(PQgetvalue(locked, 0, 0), "t") == 0;
    PQclear(locked);
    if (!have_lock) {
        log_info("another tvsync-migrate holds the migration lock; waiting for it");
        if (!pg_exec_ok(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "cannot take the migration lock"))
            return TVSYNC_EXIT_DATABASE;
    }
    /* Created under the lock: concurrent CREATE ... IF NOT EXISTS can still collide. */
    if (!bootstrap_migrations_table(conn))
        return TVSYNC_EXIT_DATABASE;

    applied_list applied;
    if (!load_applied(conn, &applied))
        return TVSYNC_EXIT_DATABASE;
    char (*sums)[65] = alloc_calloc(set->count + 1, sizeof *sums);
    int status = TVSYNC_EXIT_OK;
    for (size_t i = 0; i < set->count && status == TVSYNC_EXIT_OK; i++)
        if (!file_sha256(conn, &set->files[i], sums[i], sizeof sums[i]))
            status = TVSYNC_EXIT_DATABASE;
    if (status == TVSYNC_EXIT_OK && !check_applied_unchanged(set, &applied, sums))
        status = TVSYNC_EXIT_FAILURE;
    for (size_t i = 0; i < applied.count && status == TVSYNC_EXIT_OK; i++)
        if (!migration_set_find(set, applied.items[i].version))
            log_warning("%s is applied but not in the migrations directory", applied.items[i].filename);

    size_t applied_now = 0;
    for (size_t i = 0; i < set->count && status == TVSYNC_EXIT_OK; i++) {
        const migration_file *file = &set->files[i];
        if (applied_find(&applied, file->version))
            continue;
        if (!pg_exec_ok(conn, "BEGIN", "cannot start a transaction")) {
            status = TVSYNC_EXIT_DATABASE;
            break;
        }
        bool ok = run_script(conn, file->filename, file->text, file->length);
        if (ok) {
            const char *values[3] = {file->version, file->filename, sums[i]};
            PGresult *result = query(conn,
                                     "INSERT INTO tvsync.schema_migrations (version, filename, sha256)"
                                     " VALUES ($1, $2, $3)",
                                     3, values, "cannot record the migration");
            ok = result != NULL;
            PQclear(result);
        }
        if (ok)
            ok = pg_exec_ok(conn, "COMMIT", "cannot commit the migration");
        if (!ok) {
            PGresult *rollback = PQexec(conn, "ROLLBACK");
            PQclear(rollback);
            log_error("%s was rolled back; nothing of it is applied", file->filename);
            status = TVSYNC_EXIT_DATABASE;
            break;
        }
        log_info("applied %s", file->filename);
        applied_now++;
    }
    if (status == TVSYNC_EXIT_OK) {
        if (applied_now == 0)
            log_info("nothing to do: all %zu migrations are applied", set->count);
        else
            log_info("%zu migration(s) applied", applied_now);
    }
    free(sums);
    applied_list_free(&applied);
    /* The advisory lock goes with the session. */
    return status;
}

static int command_status(PGconn *conn, const migration_set *set)
{
    applied_list applied;
    if (!load_applied(conn, &applied))
        return TVSYNC_EXIT_DATABASE;
    int status = TVSYNC_EXIT_OK;
    size_t applied_count = 0, pending_count = 0;
    for (size_t i = 0; i < set->count; i++) {
        const migration_file *file = &set->files[i];
        const applied_migration *done = applied_find(&applied, file->version);
        if (!done) {
            printf("pending  %s\n", file->filename);
            pending_count++;
            continue;
        }
        char sum[65];
        if (!file_sha256(conn, file, sum, sizeof sum)) {
            status = TVSYNC_EXIT_DATABASE;
            break;
        }
        applied_count++;
        if (strcmp(sum, done->sha256) != 0) {
            printf("changed  %s  applied %s, file changed since\n", file->filename, done->applied_at);
            status = TVSYNC_EXIT_FAILURE;
        } else {
            printf("applied  %s  %s\n", file->filename, done->applied_at);
        }
    }
    for (size_t i = 0; i < applied.count; i++)
        if (!migration_set_find(set, applied.items[i].version)) {
            printf("missing  %s  applied %s, not in the directory\n", applied.items[i].filename,
                   applied.items[i].applied_at);
            applied_count++;
        }
    if (status != TVSYNC_EXIT_DATABASE)
        printf("%zu applied, %zu pending\n", applied_count, pending_count);
    applied_list_free(&applied);
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
    PGresult *result = query(conn, "SELECT to_regclass('tvsync.entity') IS NOT NULL", 0, NULL,
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
    result = query(conn, "SELECT e.name, e.tv_table::text, tvsync.build_function_name(e)"
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

/* DIR/seed/blog_seed.sql (the source tree), else DIR/../seed/blog_seed.sql (installed). */
static char *find_seed_file(const char *dir)
{
    static const char *const candidates[] = {"%s/seed/" SEED_FILE, "%s/../seed/" SEED_FILE};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        size_t size = strlen(dir) + sizeof SEED_FILE + 16;
        char *path = alloc_malloc(size);
        snprintf(path, size, candidates[i], dir);
        struct stat info;
        if (stat(path, &info) == 0 && S_ISREG(info.st_mode))
            return path;
        free(path);
    }
    return NULL;
}

static int command_seed(PGconn *conn, const char *dir)
{
    char *path = find_seed_file(dir);
    if (!path) {
        log_error("no seed file: neither %s/seed/" SEED_FILE " nor %s/../seed/" SEED_FILE " exists", dir, dir);
        return TVSYNC_EXIT_CONFIG;
    }
    char error[1024];
    char *text;
    size_t length;
    if (!migration_set_read_file(path, &text, &length, error, sizeof error)) {
        log_error("%s", error);
        free(path);
        return TVSYNC_EXIT_CONFIG;
    }
    int status = TVSYNC_EXIT_OK;
    PGresult *result = query(conn, "SELECT to_regclass('tvsync.entity') IS NOT NULL", 0, NULL,
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
        const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        if (run_script(conn, name, text, length) && pg_exec_ok(conn, "COMMIT", "cannot commit the seed")) {
            log_info("loaded %s", path);
        } else {
            PGresult *rollback = PQexec(conn, "ROLLBACK");
            PQclear(rollback);
            log_error("%s was rolled back; nothing of it is loaded", path);
            status = TVSYNC_EXIT_DATABASE;
        }
    }
    free(text);
    free(path);
    return status;
}

static bool parse_command(const char *word, migrate_command *command)
{
    static const struct {
        const char *name;
        migrate_command command;
    } commands[] = {
        {"up", COMMAND_UP}, {"status", COMMAND_STATUS}, {"verify", COMMAND_VERIFY}, {"seed", COMMAND_SEED},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(word, commands[i].name) == 0) {
            *command = commands[i].command;
            return true;
        }
    return false;
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
    if (state.operand_count != 1) {
        status = state.operand_count == 0 ? cli_usage_error(&state, "missing command (up, status, verify or seed)")
                                          : cli_usage_error(&state, "one command expected, got %d",
                                                            state.operand_count);
    } else if (!parse_command(state.operands[0], &command)) {
        status = cli_usage_error(&state, "unknown command '%s' (expected up, status, verify or seed)",
                                 state.operands[0]);
    }
    const char *dir = cli_option_value(&state, "dir");
    if (!dir)
        dir = DEFAULT_DIR;
    char error[1024];
    struct stat info;
    if (status < 0 && stat(dir, &info) != 0) {
        log_error("migrations directory %s: %s", dir, strerror(errno));
        status = TVSYNC_EXIT_CONFIG;
    } else if (status < 0 && !S_ISDIR(info.st_mode)) {
        log_error("migrations directory %s: not a directory", dir);
        status = TVSYNC_EXIT_CONFIG;
    }
    if (status < 0 && !database_url_parses(config.database.url, error, sizeof error)) {
        log_error("%s", error);
        status = TVSYNC_EXIT_CONFIG;
    }

    migration_set set = {0};
    if (status < 0 && command != COMMAND_VERIFY && command != COMMAND_SEED &&
        !migration_set_load(dir, &set, error, sizeof error)) {
        log_error("%s", error);
        status = TVSYNC_EXIT_CONFIG;
    }

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
            status = command_up(conn, &set);
            break;
        case COMMAND_STATUS:
            status = command_status(conn, &set);
            break;
        case COMMAND_VERIFY:
            status = command_verify(conn);
            break;
        case COMMAND_SEED:
            status = command_seed(conn, dir);
            break;
        }
    }
    fflush(stdout);
    if (conn)
        PQfinish(conn);
    migration_set_free(&set);
    cli_state_free(&state);
    config_free(&config);
    return status;
}
