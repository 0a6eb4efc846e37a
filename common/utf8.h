/* utf8: the one check that text received from a client is well-formed UTF-8, so that bytes
 * PostgreSQL would refuse (or store wrongly) are turned away where the request is read. */
#ifndef TVSYNC_UTF8_H
#define TVSYNC_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the `length` bytes at text are well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF; NUL bytes are well-formed). Linear, no allocation. On
 * false, *bad_offset (when not NULL) is the offset of the first byte of the bad sequence. */
bool utf8_valid(const char *text, size_t length, size_t *bad_offset);

#endif
