/* strbuf: growable text buffers; capacity doubles, so building a text of n bytes
 * costs O(n) however it is appended, and a reset buffer reuses its memory. */
#include "config.h"

#include "common/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

void strbuf_reserve(strbuf *buffer, size_t extra)
{
    size_t needed = buffer->length + extra + 1;
    if (needed < buffer->length)   /* size_t overflow: no such memory exists */
        alloc_out_of_memory();
    if (needed <= buffer->capacity)
        return;
    size_t capacity = buffer->capacity ? buffer->capacity : 256;
    while (capacity < needed)
        capacity = capacity * 2 > capacity ? capacity * 2 : needed;
    buffer->data = alloc_realloc(buffer->data, capacity);
    if (buffer->capacity == 0)
        buffer->data[0] = '\0';
    buffer->capacity = capacity;
}

void strbuf_set_length(strbuf *buffer, size_t length)
{
    buffer->length = length;
    buffer->data[length] = '\0';
}

void strbuf_append_length(strbuf *buffer, const char *text, size_t length)
{
    strbuf_reserve(buffer, length);
    memcpy(buffer->data + buffer->length, text, length);
    strbuf_set_length(buffer, buffer->length + length);
}

void strbuf_append(strbuf *buffer, const char *text)
{
    strbuf_append_length(buffer, text, strlen(text));
}

void strbuf_append_char(strbuf *buffer, char c)
{
    strbuf_append_length(buffer, &c, 1);
}

void strbuf_appendf(strbuf *buffer, const char *format, ...)
{
    /* One vsnprintf when the text fits what is left, a second after growing. */
    strbuf_reserve(buffer, 0);
    va_list args;
    va_start(args, format);
    size_t room = buffer->capacity - buffer->length;
    int written = vsnprintf(buffer->data + buffer->length, room, format, args);
    va_end(args);
    if (written < 0) {
        /* only an invalid format or a wide character that cannot be converted:
         * a programming error, not data */
        fputs("tvsync: strbuf_appendf: invalid format\n", stderr);
        abort();
    }
    if ((size_t) written >= room) {
        strbuf_reserve(buffer, (size_t) written);
        va_start(args, format);
        vsnprintf(buffer->data + buffer->length, (size_t) written + 1, format, args);
        va_end(args);
    }
    buffer->length += (size_t) written;
}

void strbuf_reset(strbuf *buffer)
{
    buffer->length = 0;
    if (buffer->data)
        buffer->data[0] = '\0';
}

const char *strbuf_text(const strbuf *buffer)
{
    return buffer->data ? buffer->data : "";
}

void strbuf_free(strbuf *buffer)
{
    free(buffer->data);
    buffer->data = NULL;
    buffer->length = buffer->capacity = 0;
}
