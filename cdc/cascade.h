/* cascade: the order in which a batch expands cascades (a user change
 * rebuilds that user's posts and comments), from the registry's edges. Pure
 * graph logic; the cascade queries themselves run in apply. */
#ifndef TVSYNC_CDC_CASCADE_H
#define TVSYNC_CDC_CASCADE_H

#include <stddef.h>

typedef struct cascade_edge {
    const char *source;   /* entity whose changed ids are the query's $1 */
    const char *target;   /* entity the query returns ids of */
} cascade_edge;

/* Writes into order[] every entity reachable from start[] through edges, each
 * once, so that an entity comes after every reachable entity with an edge to
 * it (a topological order); on a cycle, the entity first discovered goes first
 * and the cycle's last edge is not followed again (each entity is expanded
 * once per batch). order must hold start_count + edge_count names; the names
 * point to the callers' strings. Returns how many were written. */
size_t cascade_order(const char *const *start, size_t start_count,
                     const cascade_edge *edges, size_t edge_count, const char **order);

#endif
