/* gql_map: a small string-keyed hash map (open addressing, linear probing, FNV-1a).
 * Never shrinks; maps live as long as the document or schema that owns them. */
#include "config.h"

#include "server/graphql/gql_map.h"
#include "server/graphql/gql_arena.h"

#include <stdlib.h>
#include <string.h>

/* Four independent 64-bit lanes, 32 bytes per step (multiply-xorshift), for names. */
static uint32_t map_hash(const char *text, size_t length)
{
    const uint64_t k1 = 0xBF58476D1CE4E5B9ull, k2 = 0x94D049BB133111EBull;
    uint64_t h0 = 0x9E3779B97F4A7C15ull ^ (uint64_t)length, h1 = k1, h2 = k2, h3 = ~k1;
    size_t i = 0;
    for (; i + 32 <= length; i += 32) {
        uint64_t w[4];
        memcpy(w, text + i, 32);
        h0 = (h0 ^ w[0]) * k1;
        h1 = (h1 ^ w[1]) * k1;
        h2 = (h2 ^ w[2]) * k1;
        h3 = (h3 ^ w[3]) * k1;
        h0 ^= h0 >> 29;
        h1 ^= h1 >> 29;
        h2 ^= h2 >> 29;
        h3 ^= h3 >> 29;
    }
    uint64_t h = h0 ^ (h1 * k2) ^ (h2 * k1) ^ (h3 * 0xD6E8FEB86659FD93ull);
    for (; i + 8 <= length; i += 8) {
        uint64_t w;
        memcpy(&w, text + i, 8);
        h = (h ^ w) * k1;
        h ^= h >> 31;
    }
    uint64_t tail = 0;
    memcpy(&tail, text + i, length - i);
    h = (h ^ tail) * k2;
    h ^= h >> 29;
    h *= k1;
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
    gql_map_entry *e = gql_map_slot(map->entries, map->cap, key, map_hash(key, strlen(key)));
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
    uint32_t hash = map_hash(key, strlen(key));
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
