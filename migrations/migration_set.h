/* migration_set: one migration set, the migration files of a directory (NNN_name.sql)
 * read and sorted, named after its folder, so tvsync-migrate can compare them with the ledger. */
#ifndef TVSYNC_MIGRATIONS_MIGRATION_SET_H
#define TVSYNC_MIGRATIONS_MIGRATION_SET_H

#include <stdbool.h>
#include <stddef.h>

typedef struct migration_file {
    char *version;   /* the leading digits: "001" */
    char *filename;  /* "001_tvsync_engine.sql" */
    char *path;      /* DIR "/" filename */
    char *text;      /* the whole file, NUL-terminated */
    size_t length;   /* bytes in text */
    char sha256[65]; /* hex checksum; "" until the caller computes it (migration_ledger) */
} migration_file;

/* The engine's set: its name is reserved, its folder is found by tvsync-migrate. */
#define MIGRATION_SET_ENGINE "tvsync"

typedef struct migration_set {
    char *name;             /* "tvsync" for the engine, else the folder's name */
    char *dir;              /* the directory as given */
    migration_file *files;  /* sorted by filename, which orders them */
    size_t count;
} migration_set;

/* True when name looks like a migration: digits, '_', at least one more character,
 * ".sql". Other names in the directory (README, seed/) are ignored. */
bool migration_set_is_migration_name(const char *name);

/* The name of the set a directory holds: the last component of its real path
 * ("/srv/app/db/migrations/" and "db/migrations" give "migrations"). Returns a string
 * the caller frees, or NULL with a message naming dir in error[] when it cannot be
 * resolved (missing, not a directory). */
char *migration_set_name_of(const char *dir, char *error, size_t error_size);

/* Splits a [migrate] dirs value: comma-separated directories, blanks around each
 * trimmed, empty items skipped. Returns how many; *dirs (and each string) is the
 * caller's to free (migration_set_dir_list_free); NULL when there are none. */
size_t migration_set_dir_list_parse(const char *text, char ***dirs);
void migration_set_dir_list_free(char **dirs, size_t count);

/* Reads every migration file of dir into *set, named name. Fails with a one-line
 * message in error[] (naming the directory or file) when the directory cannot be
 * opened, a file cannot be read or holds a NUL byte, or two files share a version;
 * *set is then empty. The caller frees *set with migration_set_free. */
bool migration_set_load(const char *dir, const char *name, migration_set *set, char *error, size_t error_size);

/* Reads one whole file (NUL-terminated) into *text and its size into *length; the
 * caller frees *text. On failure a message naming the file is in error[]. */
bool migration_set_read_file(const char *path, char **text, size_t *length, char *error, size_t error_size);

/* The file with this version, NULL when there is none. */
const migration_file *migration_set_find(const migration_set *set, const char *version);

void migration_set_free(migration_set *set);

#endif
