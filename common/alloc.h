/* alloc: allocation that cannot fail for every tvsync module. Out of memory
 * is the one error tvsync does not recover from: these print and abort. */
#ifndef TVSYNC_COMMON_ALLOC_H
#define TVSYNC_COMMON_ALLOC_H

#include <stddef.h>

/* Each returns memory the caller frees with free(); never NULL. */
void *alloc_malloc(size_t size);
void *alloc_calloc(size_t count, size_t size);
/* Resizes pointer to count elements of size bytes (count * size checked for overflow). */
void *alloc_array(void *pointer, size_t count, size_t size);
void *alloc_realloc(void *pointer, size_t size);
char *alloc_strdup(const char *text);

#endif
