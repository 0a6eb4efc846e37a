/* cascade: Kahn's topological sort over the part of the cascade graph a batch
 * reaches, with cycles broken in discovery order so every entity is expanded once. */
#include "config.h"

#include "cdc/cascade.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

static size_t find_name(const char **names, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return count;
}

size_t cascade_order(const char *const *start, size_t start_count,
                     const cascade_edge *edges, size_t edge_count, const char **order)
{
    size_t capacity = start_count + edge_count;
    if (capacity == 0)
        return 0;
    /* Discover the reachable nodes, breadth first, in a stable order. */
    const char **nodes = alloc_malloc(capacity * sizeof *nodes);
    size_t node_count = 0;
    for (size_t i = 0; i < start_count; i++)
        if (find_name(nodes, node_count, start[i]) == node_count)
            nodes[node_count++] = start[i];
    for (size_t next = 0; next < node_count; next++)
        for (size_t e = 0; e < edge_count; e++)
            if (strcmp(edges[e].source, nodes[next]) == 0 &&
                find_name(nodes, node_count, edges[e].target) == node_count)
                nodes[node_count++] = edges[e].target;

    /* In-degrees within the reachable subgraph (self-loops ignored). */
    size_t *in_degree = alloc_calloc(node_count, sizeof *in_degree);
    bool *done = alloc_calloc(node_count, sizeof *done);
    for (size_t e = 0; e < edge_count; e++) {
        size_t s = find_name(nodes, node_count, edges[e].source);
        size_t t = find_name(nodes, node_count, edges[e].target);
        if (s < node_count && t < node_count && s != t)
            in_degree[t]++;
    }
    size_t written = 0;
    while (written < node_count) {
        size_t pick = node_count;
        for (size_t i = 0; i < node_count && pick == node_count; i++)
            if (!done[i] && in_degree[i] == 0)
                pick = i;
        if (pick == node_count)  /* only cycles left: break at the first discovered */
            for (size_t i = 0; i < node_count && pick == node_count; i++)
                if (!done[i])
                    pick = i;
        done[pick] = true;
        order[written++] = nodes[pick];
        for (size_t e = 0; e < edge_count; e++) {
            if (strcmp(edges[e].source, nodes[pick]) != 0)
                continue;
            size_t t = find_name(nodes, node_count, edges[e].target);
            if (t < node_count && t != pick && !done[t] && in_degree[t] > 0)
                in_degree[t]--;
        }
    }
    free(nodes);
    free(in_degree);
    free(done);
    return written;
}
