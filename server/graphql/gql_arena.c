/* gql_arena: bump allocator for the engine's trees (documents, schemas, plans).
 * Chunks grow geometrically so a big document costs few mallocs. */
#include "config.h"

#include "server/graphql/gql_arena.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

struct gql_arena_chunk {
    gql_arena_chunk *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
};

/* The engine's allocation follows tvsync's one out-of-memory policy (common/alloc). */
void *gql_xmalloc(size_t size)
{
    return alloc_malloc(size);
}

void *gql_xcalloc(size_t count, size_t size)
{
    return alloc_calloc(count, size);
}

void *gql_xrealloc(void *pointer, size_t size)
{
    return alloc_realloc(pointer, size);
}

char *gql_xstrdup(const char *text)
{
    return alloc_strdup(text);
}

void gql_arena_init(gql_arena *arena)
{
    arena->head = NULL;
    arena->used_total = 0;
}

void gql_arena_free(gql_arena *arena)
{
    gql_arena_chunk *c = arena->head;
    while (c) {
        gql_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    arena->head = NULL;
    arena->used_total = 0;
}

void *gql_arena_alloc(gql_arena *arena, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    gql_arena_chunk *c = arena->head;
    if (!c || c->size - c->used < size) {
        size_t want = c ? c->size * 2 : 4096;
        if (want > 1u << 20)
            want = 1u << 20;
        if (want < size)
            want = size;
        c = gql_xmalloc(sizeof(*c) + want);
        c->size = want;
        c->used = 0;
        c->next = arena->head;
        arena->head = c;
    }
    void *p = c->data + c->used;
    c->used += size;
    arena->used_total += size;
    memset(p, 0, size);
    return p;
}

char *gql_arena_strndup(gql_arena *arena, const char *text, size_t length)
{
    char *p = gql_arena_alloc(arena, length + 1);
    memcpy(p, text, length);
    p[length] = '\0';
    return p;
}

char *gql_arena_strdup(gql_arena *arena, const char *text)
{
    return gql_arena_strndup(arena, text, strlen(text));
}

void gql_vec_push(gql_vec *vec, void *item)
{
    if (vec->count == vec->cap) {
        vec->cap = vec->cap ? vec->cap * 2 : 8;
        vec->items = gql_xrealloc(vec->items, vec->cap * sizeof(void *));
    }
    vec->items[vec->count++] = item;
}

void gql_vec_free(gql_vec *vec)
{
    free(vec->items);
    vec->items = NULL;
    vec->count = vec->cap = 0;
}

void **gql_vec_to_arena(gql_vec *vec, gql_arena *arena)
{
    void **out = NULL;
    if (vec->count) {
        out = gql_arena_alloc(arena, vec->count * sizeof(void *));
        memcpy(out, vec->items, vec->count * sizeof(void *));
    }
    free(vec->items);
    vec->items = NULL;
    vec->cap = 0;
    return out;
}
