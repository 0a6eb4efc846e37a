/* gql_values: GraphQL input values: literal printing, coercion of literals (valueFromAST) and
 * of JSON inputs (coerceInputValue), inspect(), suggestions — all with graphql-js's wording. */
#ifndef TVSYNC_GQL_VALUES_H
#define TVSYNC_GQL_VALUES_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "server/graphql/graphql.h"
#include "server/graphql/gql_parser.h"

/* graphql-js print() of a value literal. */
void gql_print_value(const ast_value *value, gql_buf *out);
/* printString / printBlockString of GraphQL's printer. */
void gql_print_string(const char *text, size_t length, gql_buf *out);
void gql_print_block_string(const char *text, size_t length, gql_buf *out);
/* graphql-js inspect() of a JSON value. */
void gql_inspect(const cJSON *value, gql_buf *out);

/* valueFromAST(node, type, variables): false when the literal is invalid for the type
 * (graphql-js returns undefined); on success *out (may be NULL to only check) is a new value. */
bool gql_value_from_ast(const ast_value *node, const gql_type *type, const cJSON *variables,
                        cJSON **out);
/* valueFromASTUntyped; NULL when a variable is missing. */
cJSON *gql_value_from_ast_untyped(const ast_value *node, const cJSON *variables);
/* Whether gql_accept_graphql_js_values(true) was called. */
bool gql_values_graphql_js(void);
/* Whether t is the DateTime scalar (a custom scalar of that name): its values must be RFC 3339
 * date-times, as its @specifiedBy says, not any text compared as text. */
bool gql_scalar_is_date_time(const gql_type *t);

/* Calls a scalar's or enum's parseLiteral (variables NULL). Returns false and writes the
 * GraphQLError message to *message (may be empty when graphql-js gives no message). */
bool gql_leaf_parse_literal(const gql_type *type, const ast_value *node, gql_buf *message);

/* onError of coerceInputValue: path is a JSON array of keys and indexes. */
typedef void (*gql_coerce_error_fn)(void *context, const cJSON *path, const cJSON *invalid,
                                    const char *message);
/* coerceInputValue; returns the coerced value (NULL only when an error was reported). */
cJSON *gql_coerce_input_value(const cJSON *input, const gql_type *type,
                              gql_coerce_error_fn on_error, void *context);
/* printPathArray: ".a[0].b" */
void gql_print_path_array(const cJSON *path, gql_buf *out);

/* astFromValue then print; false when graphql-js gets no AST (defaultValue null). */
bool gql_print_input_value(const cJSON *value, const gql_type *type, gql_buf *out);

/* suggestionList(input, options) into `out` (capacity count); returns how many. */
size_t gql_suggestion_list(const char *input, const char *const *options, size_t count,
                           const char **out);
/* didYouMean([sub_message,] suggestions) appended to out. */
void gql_did_you_mean(gql_buf *out, const char *sub_message, const char *const *suggestions,
                      size_t count);

#endif
