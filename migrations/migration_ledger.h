/* migration_ledger: tvsync.schema_migrations, the record of what each migration set has
 * applied (keyed by set and version): its shape, its upgrade from before sets, its rows. */
#ifndef TVSYNC_MIGRATIONS_MIGRATION_LEDGER_H
#define TVSYNC_MIGRATIONS_MIGRATION_LEDGER_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "migrations/migration_set.h"

/* set_name of a row recorded before migration sets existed that matches no file of
 * the sets given so far (tvsync-migrate status lists it as such). */
#define MIGRATION_LEDGER_UNASSIGNED ""

typedef struct migration_ledger_row {
    char *set_name, *version, *filename, *sha256;
    char *applied_at; /* "YYYY-MM-DD HH:MM:SS UTC" */
} migration_ledger_row;

typedef struct migration_ledger {
    migration_ledger_row *rows; /* ordered by set_name, then filename */
    size_t count;
} migration_ledger;

/* Every function below logs its error (with what it was doing) and returns false
 * (-1 for migration_ledger_exists); the caller picks the exit status. */

/* 1 when tvsync.schema_migrations exists, 0 when not, -1 on error. */
int migration_ledger_exists(PGconn *conn);

/* Creates schema tvsync and the table in its current shape when they are missing.
 * Call under the migration lock: concurrent CREATE ... IF NOT EXISTS can collide. */
bool migration_ledger_create(PGconn *conn);

/* Fills file->sha256 of every file of the sets, computed by the server (sha256 of the
 * bytes), so the recorded value is one anybody can recompute in SQL. */
bool migration_ledger_checksums(PGconn *conn, migration_set *sets, size_t set_count);

/* Brings a ledger written before sets existed (version as its key) to the current
 * shape (column set_name, key (set_name, version)), then gives every row without a set
 * the set that has a file with its version and checksum: the engine's (sets[0]) first,
 * then the others in order; a row that matches none stays MIGRATION_LEDGER_UNASSIGNED.
 * One transaction; running it again changes nothing. The table must exist, the
 * checksums must be computed; call under the migration lock. */
bool migration_ledger_upgrade(PGconn *conn, const migration_set *sets, size_t set_count);

/* Reads every row into *ledger (the caller frees it with migration_ledger_free). */
bool migration_ledger_load(PGconn *conn, migration_ledger *ledger);

/* The row of set_name with this version; NULL when there is none. */
const migration_ledger_row *migration_ledger_find(const migration_ledger *ledger, const char *set_name,
                                                  const char *version);

/* Records file (its checksum computed) as applied in set_name, inside the caller's
 * transaction. */
bool migration_ledger_record(PGconn *conn, const char *set_name, const migration_file *file);

void migration_ledger_free(migration_ledger *ledger);

#endif
