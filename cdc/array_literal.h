/* array_literal: PostgreSQL array literals ({a,"b c",NULL}) as tvsync-cdc sends
 * them as text parameters (uuid[], bigint[], text[]) and reads them back (the
 * keys a diff or a cascade's watch lists). Pure. */
#ifndef TVSYNC_CDC_ARRAY_LITERAL_H
#define TVSYNC_CDC_ARRAY_LITERAL_H

#include <stddef.h>
#include <stdint.h>

#include "cdc/intent.h"
#include "common/strbuf.h"

/* Building: open (empties the buffer and writes '{'), add elements, close.
 * The buffer keeps its memory across literals; these never fail. */
void array_literal_open(strbuf *buffer);
/* A text element, always quoted and escaped; NULL writes a NULL element. */
void array_literal_add(strbuf *buffer, const char *value);
void array_literal_add_long(strbuf *buffer, long value);
void array_literal_add_uuid(strbuf *buffer, const intent_uuid *uuid);
/* Closes the literal; returns its text (the buffer's, valid until its next change). */
const char *array_literal_close(strbuf *buffer);

/* Whole literals of uuids and of transaction ids, into buffer (emptied
 * first); return the text as array_literal_close does. */
const char *array_literal_uuids(strbuf *buffer, const intent_uuid *ids, size_t count);
const char *array_literal_xids(strbuf *buffer, const uint32_t *xids, size_t count);

/* Reads a one-dimensional text[] literal ({a,b,"c d"}) into a NULL-terminated
 * vector of strings, which the caller frees with array_literal_strings_free
 * (NULL is fine there). Never NULL. */
char **array_literal_parse(const char *text);
void array_literal_strings_free(char **strings);

#endif
