/* alloc: the one out-of-memory policy of every tvsync binary: allocation that aborts with
 * a message instead of returning NULL, so no caller handles NULL itself. */
#include <config.h>

#include "common/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void alloc_out_of_memory(void)
{
    fputs("tvsync: out of memory\n", stderr);
    abort();
}

static void *checked(void *pointer)
{
    if (!pointer)
        alloc_out_of_memory();
    return pointer;
}

void *alloc_check(void *pointer)
{
    return checked(pointer);
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
    if (size && count > SIZE_MAX / size)
        alloc_out_of_memory();
    return alloc_realloc(pointer, count * size);
}

char *alloc_strdup(const char *text)
{
    return checked(strdup(text));
}
