/* generate: tvsync-migrate generate, which writes the next migration of a set from an SDL
 * file's declarations: the objects that changed since the set's earlier generated files. */
#ifndef TVSYNC_MIGRATIONS_GENERATE_H
#define TVSYNC_MIGRATIONS_GENERATE_H

#include <libpq-fe.h>

/* Reads schema_path's declarations, checks them against the tables conn shows (the set's
 * earlier migrations applied), and writes DIR/<next version>_generated.sql with every object
 * that is new or changed since the markers (-- tvsync:object KEY SHA256) of dir's earlier
 * generated files, a rebuild request per entity whose build function changed, and what the
 * SDL no longer declares (cascades deleted, other objects named in comments). Prints the
 * file written, or "nothing changed" and writes nothing. Returns the exit status: 0, 1 for a
 * declaration error (one line FILE:LINE: ... on stderr) or a file that cannot be read or
 * written, 4 when a statement fails. */
int generate_run(PGconn *conn, const char *schema_path, const char *dir);

#endif
