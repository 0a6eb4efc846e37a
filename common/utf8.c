/* utf8: well-formedness of client text (RFC 3629), checked with the table of Unicode's
 * "Well-Formed UTF-8 Byte Sequences" (the second byte's range depends on the first). */
#include <config.h>

#include "common/utf8.h"

bool utf8_valid(const char *text, size_t length, size_t *bad_offset)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < length) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned char low = 0x80, high = 0xBF; /* allowed range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                low = 0xA0; /* overlong */
            else if (c == 0xED)
                high = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                low = 0x90; /* overlong */
            else if (c == 0xF4)
                high = 0x8F; /* above U+10FFFF */
        } else {
            goto bad;
        }
        if (length - i <= need || s[i + 1] < low || s[i + 1] > high)
            goto bad;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                goto bad;
        i += need + 1;
    }
    return true;
bad:
    if (bad_offset)
        *bad_offset = i;
    return false;
}
