/* alloc: calloc/realloc/strdup that abort with a message on out-of-memory,
 * shared by the common modules instead of a private copy in each. */
#include <config.h>

#include "common/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *checked(void *pointer)
{
    if (!pointer) {
        fputs("tvsync: out of memory\n", stderr);
        abort();
    }
    return pointer;
}

void *alloc_malloc(size_t size)
{
    return checked(malloc(size ? size : 1));
}

void *alloc_calloc(size_t count, size_t size)
{
    return checked(calloc(count ? count : 1, size ? size : 1));
}

void *alloc_realloc(void *pointer, size_t size)
{
    return checked(realloc(pointer, size ? size : 1));
}

void *alloc_array(void *pointer, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) {
        fputs("tvsync: out of memory\n", stderr);
        abort();
    }
    return alloc_realloc(pointer, count * size);
}

char *alloc_strdup(const char *text)
{
    return checked(strdup(text));
}
