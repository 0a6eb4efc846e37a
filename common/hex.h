/* hex: the value of one hexadecimal digit, for the parsers that read them (uuids,
 * LSNs, HTTP chunk sizes), and bytes written as hexadecimal (digests, nonces). */
#ifndef TVSYNC_COMMON_HEX_H
#define TVSYNC_COMMON_HEX_H

#include <stddef.h>

/* 0-15, or -1 when c is not a hexadecimal digit (either case). */
static inline int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Writes the length bytes as 2 * length lowercase hexadecimal digits and a NUL into out
 * (2 * length + 1 chars). */
static inline void hex_encode(char *out, const unsigned char *bytes, size_t length)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < length; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * length] = '\0';
}

#endif
