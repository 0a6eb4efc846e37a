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
 * cJSON_CreateObject, ...): returns pointer unchanged; aborts as above when it is NULL.
 * The caller frees it the library's way. */
void *alloc_check(void *pointer);
/* For a size no memory can hold (an overflowing length): prints and aborts as above. */
_Noreturn void alloc_out_of_memory(void);

#endif
