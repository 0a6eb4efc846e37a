/* lsn: PostgreSQL log sequence numbers (pg_lsn) as 64-bit integers,
 * parsed from and formatted to the "X/Y" text form PostgreSQL uses. */
#ifndef TVSYNC_COMMON_LSN_H
#define TVSYNC_COMMON_LSN_H

#include <stdbool.h>
#include <stdint.h>

typedef uint64_t lsn_t;

#define LSN_INVALID ((lsn_t) 0)
/* "FFFFFFFF/FFFFFFFF" plus the NUL. */
#define LSN_FORMAT_SIZE 18

/* Parses "16/B374D848" (hex, 1-8 digits each side, nothing else).
 * Returns false and leaves *out untouched when the text is not an LSN. */
bool lsn_parse(const char *text, lsn_t *out);

/* Writes the "X/Y" form of lsn into buffer (LSN_FORMAT_SIZE bytes); returns buffer. */
char *lsn_format(lsn_t lsn, char buffer[LSN_FORMAT_SIZE]);

#endif
