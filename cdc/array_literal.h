/* array_literal: PostgreSQL array literals ({a,"b c",NULL}) as tvsync-cdc sends
 * them as text parameters (ids for uuid[], bigint[], integer[] or text[], counts)
 * and reads them back (the keys a diff or a cascade's watch lists). Pure. */
#ifndef TVSYNC_CDC_ARRAY_LITERAL_H
#define TVSYNC_CDC_ARRAY_LITERAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

/* Building: open (empties the buffer and writes '{'), add elements, close.
 * The buffer keeps its memory across literals; these never fail. */
void array_literal_open(strbuf *buffer);
/* A text element, always quoted and escaped; NULL writes a NULL element. */
void array_literal_add(strbuf *buffer, const char *value);
/* length bytes of text (an id: any key's text form), quoted and escaped. */
void array_literal_add_text(strbuf *buffer, const char *text, size_t length);
void array_literal_add_long(strbuf *buffer, long value);
/* Closes the literal; returns its text (the buffer's, valid until its next change). */
const char *array_literal_close(strbuf *buffer);

/* A whole literal of transaction ids, into buffer (emptied first); returns
 * the text as array_literal_close does. */
const char *array_literal_xids(strbuf *buffer, const uint32_t *xids, size_t count);

/* Reads a one-dimensional text[] literal ({a,b,"c d"}) into a NULL-terminated
 * vector of strings, which the caller frees with array_literal_strings_free
 * (NULL is fine there). Never NULL. */
char **array_literal_parse(const char *text);
void array_literal_strings_free(char **strings);

#endif
