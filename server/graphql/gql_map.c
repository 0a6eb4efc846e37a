/* gql_map: a small string-keyed hash map (open addressing, linear probing, FNV-1a).
 * Never shrinks; maps live as long as the document or schema that owns them. */
#include "config.h"

#include "server/graphql/gql_map.h"
#include "server/graphql/gql_arena.h"

#include <stdlib.h>
#include <string.h>

/* Eight bytes per step (multiply-xorshift): the plan cache hashes whole documents on every
 * request, so a byte-at-a-time hash would dominate a cache hit. */
uint32_t gql_hash(const char *text, size_t length)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)length;
    size_t i = 0;
    for (; i + 8 <= length; i += 8) {
        uint64_t w;
        memcpy(&w, text + i, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
    }
    uint64_t tail = 0;
    memcpy(&tail, text + i, length - i);
    h = (h ^ tail) * 0x94D049BB133111EBull;
    h ^= h >> 29;
    return (uint32_t)(h ^ (h >> 32));
}

void gql_map_init(gql_map *map)
{
    map->entries = NULL;
    map->count = 0;
    map->cap = 0;
}

void gql_map_free(gql_map *map)
{
    free(map->entries);
    gql_map_init(map);
}

static gql_map_entry *gql_map_slot(gql_map_entry *entries, size_t cap, const char *key,
                                   uint32_t hash)
{
    size_t i = hash & (cap - 1);
    for (;;) {
        gql_map_entry *e = &entries[i];
        if (!e->key || (e->hash == hash && strcmp(e->key, key) == 0))
            return e;
        i = (i + 1) & (cap - 1);
    }
}

void *gql_map_get(const gql_map *map, const char *key)
{
    if (!map->cap)
        return NULL;
    gql_map_entry *e = gql_map_slot(map->entries, map->cap, key, gql_hash(key, strlen(key)));
    return e->key ? e->value : NULL;
}

void *gql_map_put(gql_map *map, const char *key, void *value)
{
    if ((map->count + 1) * 4 > map->cap * 3) {
        size_t cap = map->cap ? map->cap * 2 : 16;
        gql_map_entry *entries = gql_xcalloc(cap, sizeof(*entries));
        for (size_t i = 0; i < map->cap; i++)
            if (map->entries[i].key)
                *gql_map_slot(entries, cap, map->entries[i].key, map->entries[i].hash) =
                    map->entries[i];
        free(map->entries);
        map->entries = entries;
        map->cap = cap;
    }
    uint32_t hash = gql_hash(key, strlen(key));
    gql_map_entry *e = gql_map_slot(map->entries, map->cap, key, hash);
    void *previous = NULL;
    if (e->key)
        previous = e->value;
    else
        map->count++;
    e->key = key;
    e->hash = hash;
    e->value = value;
    return previous;
}
