/* strbuf: a growable, always NUL-terminated string buffer for building SQL and
 * other text whose length is not known in advance (as PostgreSQL's PQExpBuffer). */
#ifndef TVSYNC_COMMON_STRBUF_H
#define TVSYNC_COMMON_STRBUF_H

#include <stddef.h>

/* A zeroed strbuf ({0} or STRBUF_INIT) is an empty buffer that owns no memory;
 * strbuf_text is then "". The buffer owns data; strbuf_free releases it. */
typedef struct strbuf {
    char *data;
    size_t length;      /* bytes before the terminating NUL */
    size_t capacity;    /* bytes allocated for data (0 while nothing is) */
} strbuf;

#define STRBUF_INIT {NULL, 0, 0}

/* Appends text. Out of memory aborts (common/alloc): these never fail. */
void strbuf_append(strbuf *buffer, const char *text);
void strbuf_append_length(strbuf *buffer, const char *text, size_t length);
void strbuf_append_char(strbuf *buffer, char c);

/* Appends printf-formatted text, whatever its length (no truncation). */
void strbuf_appendf(strbuf *buffer, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Makes room for at least extra more bytes (plus the NUL), so that a caller can
 * write into data + length directly and then set length (strbuf_set_length). */
void strbuf_reserve(strbuf *buffer, size_t extra);
/* Sets the length after writing into the reserved space, and terminates. */
void strbuf_set_length(strbuf *buffer, size_t length);

/* Empties the buffer and keeps its memory for the next text. */
void strbuf_reset(strbuf *buffer);

/* The text: valid until the next change; "" for a buffer that owns no memory. */
const char *strbuf_text(const strbuf *buffer);

/* Releases the memory; the buffer is then empty and may be used again. */
void strbuf_free(strbuf *buffer);

#endif
