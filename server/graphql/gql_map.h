/* gql_map: a small string-keyed hash map (open addressing) used for name lookups in schemas,
 * documents and validation. Keys are not copied: they must outlive the map. */
#ifndef TVSYNC_GQL_MAP_H
#define TVSYNC_GQL_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct gql_map_entry {
    const char *key;
    void *value;
    uint32_t hash;
} gql_map_entry;

typedef struct gql_map {
    gql_map_entry *entries;
    size_t count;
    size_t cap; /* power of two, or 0 */
} gql_map;

void gql_map_init(gql_map *map);
void gql_map_free(gql_map *map);
/* Returns the value stored under key, or NULL. */
void *gql_map_get(const gql_map *map, const char *key);
/* Stores value under key (replacing); returns the previous value or NULL. */
void *gql_map_put(gql_map *map, const char *key, void *value);

#endif
