/* gql_errors: builds GraphQL errors in graphql-js's JSON shape
 * ({"message", "locations", "path"}) inside a cJSON array. */
#ifndef TVSYNC_GQL_ERRORS_H
#define TVSYNC_GQL_ERRORS_H

#include <cjson/cJSON.h>

#include "server/graphql/graphql.h"

/* Appends {"message": message} to `errors` and returns it (owned by the array). */
cJSON *gql_error_append(cJSON *errors, const char *message);
/* Adds a {"line","column"} entry to the error's "locations". */
void gql_error_add_location(cJSON *error, gql_location location);
/* Sets the error's "path" to a copy of `path` (a JSON array). */
void gql_error_set_path(cJSON *error, const cJSON *path);
/* Sets the error's "extensions": {"code": code}, the machine-readable reason. */
void gql_error_set_code(cJSON *error, const char *code);

#endif
