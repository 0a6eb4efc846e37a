/* gql_cost: what a planned request may cost, checked before anything runs: an upper bound of
 * the values its answer can hold and the statements it issues, and the introspection switch. */
#ifndef TVSYNC_GQL_COST_H
#define TVSYNC_GQL_COST_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "server/graphql/graphql.h"

/* The unit is one value the answer may hold: every selected field counts once per object it
 * is selected on. A list of objects holds as many objects as its `limit` argument says (at
 * most max_list_limit), or default_list_limit when the field has no such argument or it is
 * null; lists nested in lists multiply. A list of scalars or enums counts as one value (it
 * is part of a stored document, bounded by it). __schema and __type count the values of
 * what they would print, walked over the schema itself. */
typedef struct gql_cost_rules {
    uint64_t max_cost;             /* a request costing more is refused */
    uint64_t query_root_cost;      /* added per root field of a query that is not introspection */
    uint64_t mutation_root_cost;   /* added per root field of a mutation */
    long default_list_limit;
    long max_list_limit;
    bool introspection;            /* false: __schema and __type are refused (not __typename) */
} gql_cost_rules;

/* The cost of request under rules. Counting stops soon after the total passes stop_above
 * (introspection walks the schema, and a nested selection of it can be exponentially large),
 * so a result above stop_above is a lower bound; *exact (may be NULL) tells which. Takes the
 * coerced arguments of fields that have a `limit` argument from the request (the executor
 * reuses them); allocates nothing else. */
uint64_t gql_cost_of(gql_request *request, const gql_cost_rules *rules, uint64_t stop_above, bool *exact);

/* True when request may run under rules. Otherwise false with *errors set to a new array
 * (the caller owns it) of one error whose extensions.code is INTROSPECTION_DISABLED or
 * QUERY_TOO_EXPENSIVE, and whose message says what was wrong and what to change. */
bool gql_cost_check(gql_request *request, const gql_cost_rules *rules, cJSON **errors);

#endif
