/* migration_ledger: reads and writes tvsync.schema_migrations for tvsync-migrate, and
 * upgrades a ledger from before migration sets (one global version key) in place. */
#include "config.h"

#include "migrations/migration_ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/pg.h"

int migration_ledger_exists(PGconn *conn)
{
    PGresult *result = pg_query_logged(conn, "SELECT to_regclass('tvsync.schema_migrations') IS NOT NULL", 0, NULL,
                                    "cannot look for tvsync.schema_migrations");
    if (!result)
        return -1;
    int exists = strcmp(PQgetvalue(result, 0, 0), "t") == 0;
    PQclear(result);
    return exists;
}

bool migration_ledger_create(PGconn *conn)
{
    /* The columns in the order an upgraded ledger has them, so both read the same. */
    return pg_exec_ok(conn,
                      "CREATE SCHEMA IF NOT EXISTS tvsync;"
                      "CREATE TABLE IF NOT EXISTS tvsync.schema_migrations ("
                      " version text NOT NULL,"
                      " filename text NOT NULL,"
                      " sha256 text NOT NULL,"
                      " applied_at timestamptz NOT NULL DEFAULT now(),"
                      " set_name text NOT NULL,"
                      " PRIMARY KEY (set_name, version))",
                      "cannot create tvsync.schema_migrations");
}

bool migration_ledger_checksums(PGconn *conn, migration_set *sets, size_t set_count)
{
    for (size_t s = 0; s < set_count; s++)
        for (size_t i = 0; i < sets[s].count; i++) {
            migration_file *file = &sets[s].files[i];
            const char *values[1] = {file->text};
            int lengths[1] = {(int) file->length};
            int formats[1] = {1};
            PGresult *result = PQexecParams(conn, "SELECT encode(sha256($1::bytea), 'hex')", 1, NULL, values,
                                            lengths, formats, 0);
            if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) != 1) {
                char line[1024];
                log_error("cannot compute the checksum of %s: %s", file->path,
                          pg_error_line(conn, result, line, sizeof line));
                PQclear(result);
                return false;
            }
            snprintf(file->sha256, sizeof file->sha256, "%s", PQgetvalue(result, 0, 0));
            PQclear(result);
        }
    return true;
}

/* Ledgers written before sets existed: add set_name (every old row unassigned) and
 * key the table by (set_name, version). The default goes again so that an older
 * tvsync-migrate fails on this ledger instead of writing rows without a set. */
static const char upgrade_shape_sql[] =
    "DO $upgrade$\n"
    "DECLARE\n"
    "    old_key name;\n"
    "BEGIN\n"
    "    SELECT conname INTO old_key FROM pg_constraint\n"
    "     WHERE conrelid = 'tvsync.schema_migrations'::regclass AND contype = 'p';\n"
    "    ALTER TABLE tvsync.schema_migrations ADD COLUMN set_name text NOT NULL DEFAULT '';\n"
    "    ALTER TABLE tvsync.schema_migrations ALTER COLUMN set_name DROP DEFAULT;\n"
    "    IF old_key IS NOT NULL THEN\n"
    "        EXECUTE format('ALTER TABLE tvsync.schema_migrations DROP CONSTRAINT %I', old_key);\n"
    "    END IF;\n"
    "    ALTER TABLE tvsync.schema_migrations ADD PRIMARY KEY (set_name, version);\n"
    "    COMMENT ON COLUMN tvsync.schema_migrations.set_name IS\n"
    "        'migration set (tvsync: the engine; else the folder''s name); empty: recorded before sets'\n"
    "        ' existed and not yet matched to a set by tvsync-migrate';\n"
    "END\n"
    "$upgrade$";

/* The set (engine first) holding a file with this version and checksum, or NULL. */
static const char *matching_set(const migration_set *sets, size_t set_count, const char *version, const char *sha256)
{
    for (size_t s = 0; s < set_count; s++) {
        const migration_file *file = migration_set_find(&sets[s], version);
        if (file && strcmp(file->sha256, sha256) == 0)
            return sets[s].name;
    }
    return NULL;
}

/* No row lock: every tvsync-migrate holds the migration lock here, and a role that may
 * only read the ledger can still run status when there is nothing to assign. */
static bool assign_rows(PGconn *conn, const migration_set *sets, size_t set_count)
{
    const char *unassigned[1] = {MIGRATION_LEDGER_UNASSIGNED};
    PGresult *rows = pg_query_logged(conn,
                                  "SELECT version, sha256, filename FROM tvsync.schema_migrations"
                                  " WHERE set_name = $1 ORDER BY filename",
                                  1, unassigned, "cannot read tvsync.schema_migrations");
    if (!rows)
        return false;
    bool ok = true;
    int assigned = 0;
    for (int row = 0; row < PQntuples(rows) && ok; row++) {
        const char *set_name = matching_set(sets, set_count, PQgetvalue(rows, row, 0), PQgetvalue(rows, row, 1));
        if (!set_name)
            continue;
        /* A set that already has the version keeps its row; this one stays unassigned. */
        const char *values[3] = {set_name, PQgetvalue(rows, row, 0), MIGRATION_LEDGER_UNASSIGNED};
        PGresult *result = pg_query_logged(conn,
                                        "UPDATE tvsync.schema_migrations SET set_name = $1"
                                        " WHERE set_name = $3 AND version = $2 AND NOT EXISTS"
                                        " (SELECT 1 FROM tvsync.schema_migrations WHERE set_name = $1 AND version = $2)",
                                        3, values, "cannot assign a migration to its set");
        ok = result != NULL;
        if (ok && strcmp(PQcmdTuples(result), "1") == 0) {
            log_info("ledger: %s (applied before migration sets) belongs to set %s", PQgetvalue(rows, row, 2),
                     set_name);
            assigned++;
        }
        PQclear(result);
    }
    PQclear(rows);
    if (ok && assigned > 0)
        log_info("ledger: %d migration(s) assigned to their sets", assigned);
    return ok;
}

/* Whether the ledger has its set_name column (the current shape); -1 on error. */
static int has_set_column(PGconn *conn)
{
    PGresult *result = pg_query_logged(conn,
                                    "SELECT EXISTS (SELECT 1 FROM pg_attribute"
                                    " WHERE attrelid = 'tvsync.schema_migrations'::regclass"
                                    " AND attname = 'set_name' AND NOT attisdropped)",
                                    0, NULL, "cannot read the shape of tvsync.schema_migrations");
    if (!result)
        return -1;
    int has = strcmp(PQgetvalue(result, 0, 0), "t") == 0;
    PQclear(result);
    return has;
}

bool migration_ledger_upgrade(PGconn *conn, const migration_set *sets, size_t set_count)
{
    if (!pg_exec_ok(conn, "BEGIN", "cannot start a transaction"))
        return false;
    int current = has_set_column(conn);
    bool ok = current >= 0;
    if (ok && !current) {
        ok = pg_exec_ok(conn, upgrade_shape_sql, "cannot upgrade tvsync.schema_migrations");
        if (ok)
            log_info("ledger: tvsync.schema_migrations is now keyed by (set_name, version)");
    }
    ok = ok && assign_rows(conn, sets, set_count) &&
         pg_exec_ok(conn, "COMMIT", "cannot commit the upgrade of tvsync.schema_migrations");
    if (!ok) {
        PGresult *rollback = PQexec(conn, "ROLLBACK");
        PQclear(rollback);
    }
    return ok;
}

bool migration_ledger_load(PGconn *conn, migration_ledger *ledger)
{
    ledger->rows = NULL;
    ledger->count = 0;
    PGresult *result = pg_query_logged(conn,
                                    "SELECT set_name, version, filename, sha256,"
                                    " to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC'"
                                    " FROM tvsync.schema_migrations ORDER BY set_name, filename",
                                    0, NULL, "cannot read tvsync.schema_migrations");
    if (!result)
        return false;
    int rows = PQntuples(result);
    ledger->rows = alloc_calloc((size_t) rows + 1, sizeof *ledger->rows);
    for (int row = 0; row < rows; row++) {
        migration_ledger_row *item = &ledger->rows[ledger->count++];
        item->set_name = alloc_strdup(PQgetvalue(result, row, 0));
        item->version = alloc_strdup(PQgetvalue(result, row, 1));
        item->filename = alloc_strdup(PQgetvalue(result, row, 2));
        item->sha256 = alloc_strdup(PQgetvalue(result, row, 3));
        item->applied_at = alloc_strdup(PQgetvalue(result, row, 4));
    }
    PQclear(result);
    return true;
}

const migration_ledger_row *migration_ledger_find(const migration_ledger *ledger, const char *set_name,
                                                  const char *version)
{
    for (size_t i = 0; i < ledger->count; i++)
        if (strcmp(ledger->rows[i].set_name, set_name) == 0 && strcmp(ledger->rows[i].version, version) == 0)
            return &ledger->rows[i];
    return NULL;
}

bool migration_ledger_record(PGconn *conn, const char *set_name, const migration_file *file)
{
    const char *values[4] = {set_name, file->version, file->filename, file->sha256};
    PGresult *result = pg_query_logged(conn,
                                    "INSERT INTO tvsync.schema_migrations (set_name, version, filename, sha256)"
                                    " VALUES ($1, $2, $3, $4)",
                                    4, values, "cannot record the migration");
    bool ok = result != NULL;
    PQclear(result);
    return ok;
}

void migration_ledger_free(migration_ledger *ledger)
{
    for (size_t i = 0; i < ledger->count; i++) {
        free(ledger->rows[i].set_name);
        free(ledger->rows[i].version);
        free(ledger->rows[i].filename);
        free(ledger->rows[i].sha256);
        free(ledger->rows[i].applied_at);
    }
    free(ledger->rows);
    ledger->rows = NULL;
    ledger->count = 0;
}
