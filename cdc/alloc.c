/* alloc: malloc and friends that abort with one log line on out-of-memory, so
 * callers need no failure path for it. */
#include "config.h"

#include "cdc/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(size_t size)
{
    fprintf(stderr, "tvsync-cdc: error: out of memory (asked for %zu bytes)\n", size);
    abort();
}

void *alloc_bytes(size_t size)
{
    void *pointer = malloc(size ? size : 1);
    if (!pointer)
        out_of_memory(size);
    return pointer;
}

void *alloc_zeroed(size_t count, size_t size)
{
    void *pointer = calloc(count ? count : 1, size ? size : 1);
    if (!pointer)
        out_of_memory(count * size);
    return pointer;
}

void *alloc_resize(void *pointer, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        out_of_memory(SIZE_MAX);
    void *resized = realloc(pointer, (count * size) != 0 ? count * size : 1);
    if (!resized)
        out_of_memory(count * size);
    return resized;
}

char *alloc_string(const char *text)
{
    size_t length = strlen(text);
    char *copy = alloc_bytes(length + 1);
    memcpy(copy, text, length + 1);
    return copy;
}
