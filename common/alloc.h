/* alloc: allocation that cannot fail for the common library. Out of memory
 * is the one error tvsync does not recover from: these print and abort. */
#ifndef TVSYNC_COMMON_ALLOC_H
#define TVSYNC_COMMON_ALLOC_H

#include <stddef.h>

/* Each returns memory the caller frees with free(); never NULL. */
void *alloc_calloc(size_t count, size_t size);
void *alloc_realloc(void *pointer, size_t size);
char *alloc_strdup(const char *text);

#endif
