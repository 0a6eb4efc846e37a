/* schema_derive: turns a schema file that declares read models (issue 15: @entity, @embedded
 * and their field directives) into the SDL tvsync-server builds its schema from. */
#ifndef TVSYNC_SERVER_SCHEMA_DERIVE_H
#define TVSYNC_SERVER_SCHEMA_DERIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "server/graphql/graphql.h"

/* Derives from the SDL source (length bytes, read from path) the SDL the server serves:
 * - the definitions of the directives the file uses without defining them (the
 *   declaration directives of declare/decl_model.h and the server's @table, @lookup,
 *   @list, @sql, @whenTrue);
 * - @table(name: "<schema>.tv_<entity>") on every @entity type that has no @table;
 * - for every Query field with @list and no arguments: where: <T>Where, orderBy:
 *   [<T>OrderBy!], limit: Int, offset: Int, with <T>Where (a filter per non-list scalar
 *   field, a nested <R>Where per non-list object field, AND/OR/NOT), <T>OrderField,
 *   <T>OrderBy and the standard filter inputs and OrderDirection the file lacks; a @list
 *   field with arguments keeps them, and gets <T>Where and <T>OrderBy derived when its
 *   arguments name them and the file does not define them;
 * - for every @entity(crud: true) type, the Mutation fields of declare/decl_sql.h's
 *   contract, each mapped with @sql to its function, and <T>CreateInput and <T>Patch.
 * A type, argument list or Mutation field the file writes itself is kept as written and
 * nothing is derived in its place.
 * The file's text keeps its lines: derived text goes inside a line or after the last
 * one, so messages about the schema name the file's lines (a derived Mutation field that
 * of its @entity type).
 * On success returns true with the SDL in out (initialised by the caller, who frees it).
 * A document that does not parse is copied unchanged: the schema build reports the
 * syntax error as for any file. On a declaration error found without a database returns
 * false with ONE line "<path>:<line>: <what is wrong> (<what to do>)" in error[]. */
bool schema_derive(const char *source, size_t length, const char *path, gql_buf *out, char *error,
                   size_t error_size);

#endif
