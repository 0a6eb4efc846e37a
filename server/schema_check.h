/* schema_check: compares a schema's mapping with the database it will be served from, at
 * start and at SIGHUP, so that a wrong table or function name is found at load, not per request. */
#ifndef TVSYNC_SERVER_SCHEMA_CHECK_H
#define TVSYNC_SERVER_SCHEMA_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "server/schema_map.h"

/* Checks map against the database on conn, whose role must be the one the server's pool
 * uses (privileges are checked for the connected role unless check_privileges is false:
 * with authentication requests run as their tokens' roles, whose grants and policies
 * decide per request, and the connected role is an authenticator without rights of its own):
 * - every @table exists (table, view or materialized view), has an `id` column of type
 *   uuid, bigint, integer or text and a `data` column of type jsonb or json, and both are
 *   readable (SELECT);
 * - every @sql function exists as function(jsonb), returns one value of jsonb or json
 *   (Query fields) or tvsync.mutation_result (Mutation fields), and may be executed;
 *   mutations also need tvsync.finish_mutation.
 * Records each table's key type in map (schema_map_set_key).
 * Returns true when everything matches. Otherwise false with ONE line in error[]:
 * "<path>:<line>: <what is wrong> (<what to do>)", path being the SDL file as given and
 * line that of the directive in question; a failing statement (the connection lost) gives
 * "<path>: checking the schema against the database failed: <error>".
 * Blocking: for the load path, never for a worker's loop. */
bool schema_check(schema_map *map, PGconn *conn, const char *path, bool check_privileges, char *error,
                  size_t error_size);

#endif
