/* gql_validate: graphql-js 16's specified validation rules over a parsed executable document,
 * with graphql-js's messages, locations and error order. */
#ifndef TVSYNC_GQL_VALIDATE_H
#define TVSYNC_GQL_VALIDATE_H

#include <cjson/cJSON.h>

#include "server/graphql/graphql.h"
#include "server/graphql/gql_parser.h"

/* Appends every validation error to `errors` (at most 100, then graphql-js's "Too many
 * validation errors" error); also refuses documents whose nesting through fragment spreads
 * exceeds limits->max_depth (NULL = defaults). Returns true when the document is valid. */
bool gql_validate(const gql_schema *schema, const ast_document *document,
                  const gql_limits *limits, cJSON *errors);

#endif
