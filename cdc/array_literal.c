/* array_literal: the text form of PostgreSQL arrays, written straight into a
 * reusable buffer so that building a batch's parameters allocates nothing once
 * the buffers have grown. */
#include "config.h"

#include "cdc/array_literal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

void array_literal_open(strbuf *buffer)
{
    strbuf_reset(buffer);
    strbuf_append_char(buffer, '{');
}

static void separate(strbuf *buffer)
{
    if (buffer->length > 1)
        strbuf_append_char(buffer, ',');
}

void array_literal_add(strbuf *buffer, const char *value)
{
    if (!value) {
        separate(buffer);
        strbuf_append_length(buffer, "NULL", 4);
        return;
    }
    array_literal_add_text(buffer, value, strlen(value));
}

void array_literal_add_text(strbuf *buffer, const char *text, size_t length)
{
    /* Quoted always: an element could otherwise read as NULL or hold a comma
     * or a brace (a text key can be anything). One reserve for the worst case:
     * batches hold thousands of ids. */
    strbuf_reserve(buffer, 2 * length + 3);
    char *p = buffer->data + buffer->length;
    if (buffer->length > 1)
        *p++ = ',';
    *p++ = '"';
    for (size_t i = 0; i < length; i++) {
        if (text[i] == '"' || text[i] == '\\')
            *p++ = '\\';
        *p++ = text[i];
    }
    *p++ = '"';
    strbuf_set_length(buffer, (size_t) (p - buffer->data));
}

void array_literal_add_long(strbuf *buffer, long value)
{
    /* Quoted like every text element, as the elements' type is the statement's to say. */
    char number[32];
    snprintf(number, sizeof number, "%ld", value);
    array_literal_add(buffer, number);
}

const char *array_literal_close(strbuf *buffer)
{
    strbuf_append_char(buffer, '}');
    return strbuf_text(buffer);
}

const char *array_literal_xids(strbuf *buffer, const uint32_t *xids, size_t count)
{
    array_literal_open(buffer);
    strbuf_reserve(buffer, count * 11 + 1);
    for (size_t i = 0; i < count; i++) {
        char *p = buffer->data + buffer->length;
        int written = sprintf(p, "%s%u", i ? "," : "", (unsigned) xids[i]);
        strbuf_set_length(buffer, buffer->length + (size_t) written);
    }
    return array_literal_close(buffer);
}

char **array_literal_parse(const char *text)
{
    size_t capacity = 4, count = 0;
    char **strings = alloc_calloc(capacity, sizeof *strings);
    const char *p = text + (text[0] == '{');
    char *element = alloc_malloc(strlen(text) + 1);
    while (*p && *p != '}') {
        size_t length = 0;
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1])
                    p++;
                element[length++] = *p;
            }
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ',' && *p != '}')
                element[length++] = *p++;
        }
        element[length] = '\0';
        if (count + 1 >= capacity) {
            capacity *= 2;
            strings = alloc_array(strings, capacity, sizeof *strings);
        }
        strings[count++] = alloc_strdup(element);
        strings[count] = NULL;
        if (*p == ',')
            p++;
    }
    free(element);
    return strings;
}

void array_literal_strings_free(char **strings)
{
    if (!strings)
        return;
    for (char **s = strings; *s; s++)
        free(*s);
    free(strings);
}
