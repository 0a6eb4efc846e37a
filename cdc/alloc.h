/* alloc: allocation for tvsync-cdc that never returns NULL: out of memory is
 * the one condition below main() that ends the process (logged, then abort). */
#ifndef TVSYNC_CDC_ALLOC_H
#define TVSYNC_CDC_ALLOC_H

#include <stddef.h>

void *alloc_bytes(size_t size);
void *alloc_zeroed(size_t count, size_t size);
void *alloc_resize(void *pointer, size_t count, size_t size);
char *alloc_string(const char *text);

#endif
