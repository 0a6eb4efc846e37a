/* decimal: whether a run of decimal digits is within a magnitude, for the checks
 * that accept integer keys as text without converting them (bigint ids stay exact). */
#ifndef TVSYNC_COMMON_DECIMAL_H
#define TVSYNC_COMMON_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Whether the length decimal digits at digits (no sign; length > 0) are at most the
 * magnitude limit (digits too, without leading zeros); leading zeros do not count. */
static inline bool decimal_digits_within(const char *digits, size_t length, const char *limit)
{
    while (length > 1 && *digits == '0') {
        digits++;
        length--;
    }
    size_t limit_length = strlen(limit);
    return length < limit_length || (length == limit_length && memcmp(digits, limit, length) <= 0);
}

#endif
