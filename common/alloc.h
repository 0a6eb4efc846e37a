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
/* For what a library allocates and reports only as NULL (event_new, cJSON_Print,
 * prom_render, ...): returns pointer unchanged, aborts as above when it is NULL. The caller
 * frees it the library's way. */
void *alloc_check(void *pointer);

#endif
