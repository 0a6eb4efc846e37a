/* gql_arena: bump allocator for the engine's trees (documents, schemas, plans).
 * Everything allocated from an arena is freed at once with gql_arena_free. */
#ifndef TVSYNC_GQL_ARENA_H
#define TVSYNC_GQL_ARENA_H

#include <stddef.h>

typedef struct gql_arena_chunk gql_arena_chunk;

typedef struct gql_arena {
    gql_arena_chunk *head;
    size_t used_total;
} gql_arena;

void gql_arena_init(gql_arena *arena);
/* Frees every chunk; the arena can be used again afterwards. */
void gql_arena_free(gql_arena *arena);
/* Zeroed, 16-byte aligned memory; aborts on out-of-memory. */
void *gql_arena_alloc(gql_arena *arena, size_t size);
/* NUL-terminated copy of `length` bytes. */
char *gql_arena_strndup(gql_arena *arena, const char *text, size_t length);
char *gql_arena_strdup(gql_arena *arena, const char *text);

/* Aborting allocators used by the whole engine (out-of-memory is fatal in tvsync). */
void *gql_xmalloc(size_t size);
void *gql_xcalloc(size_t count, size_t size);
void *gql_xrealloc(void *pointer, size_t size);
char *gql_xstrdup(const char *text);

/* A growable array of pointers, backed by malloc (freed with gql_vec_free) */
typedef struct gql_vec {
    void **items;
    size_t count;
    size_t cap;
} gql_vec;

void gql_vec_push(gql_vec *vec, void *item);
void gql_vec_free(gql_vec *vec);
/* Copies the items into the arena and frees the vector; returns NULL when empty. */
void **gql_vec_to_arena(gql_vec *vec, gql_arena *arena);

#endif
