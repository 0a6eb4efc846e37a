/* lsn: PostgreSQL LSNs as uint64 and their "X/Y" text form
 * (high 32 bits / low 32 bits, hexadecimal, as pg_lsn prints them). */
#include <config.h>

#include "common/lsn.h"
#include "common/hex.h"

#include <stdio.h>

/* Reads 1..8 hex digits from *cursor; advances it. */
static bool parse_half(const char **cursor, uint32_t *out)
{
    uint32_t value = 0;
    int digits = 0;
    const char *p = *cursor;
    for (int v; (v = hex_value(*p)) >= 0; p++) {
        if (++digits > 8)
            return false;
        value = (value << 4) | (uint32_t) v;
    }
    if (digits == 0)
        return false;
    *cursor = p;
    *out = value;
    return true;
}

bool lsn_parse(const char *text, lsn_t *out)
{
    uint32_t high, low;
    const char *p = text;
    if (!text || !parse_half(&p, &high) || *p++ != '/' || !parse_half(&p, &low) || *p != '\0')
        return false;
    *out = ((lsn_t) high << 32) | low;
    return true;
}

char *lsn_format(lsn_t lsn, char buffer[LSN_FORMAT_SIZE])
{
    snprintf(buffer, LSN_FORMAT_SIZE, "%X/%X", (unsigned) (lsn >> 32), (unsigned) (lsn & 0xffffffffu));
    return buffer;
}
