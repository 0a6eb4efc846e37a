/* watch_path: reads watch paths key by key (one pass, bare or quoted keys) and
 * writes the per-entity SQL that compares a changed document's nested paths. */
#include "config.h"

#include "cdc/watch_path.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"

/* Reads the key at *cursor into key (emptied first) and moves *cursor past it
 * and past the '.' that follows, if any; *last says no '.' followed. False when
 * the text there is not a key. */
static bool read_key(const char **cursor, strbuf *key, bool *last)
{
    const char *p = *cursor;
    strbuf_reset(key);
    if (*p == '"') {
        for (p++;; p++) {
            if (*p == '\0')
                return false;
            if (*p == '"') {
                if (p[1] != '"')
                    break;
                p++;
            }
            strbuf_append_char(key, *p);
        }
        p++;   /* the closing quote */
    } else {
        const char *start = p;
        while (*p && *p != '.' && *p != '"')
            p++;
        if (p == start)
            return false;
        strbuf_append_length(key, start, (size_t) (p - start));
    }
    if (*p == '\0') {
        *last = true;
    } else if (*p == '.') {
        *last = false;
        p++;
    } else {
        return false;   /* a quote inside a bare key, or text after a quoted one */
    }
    *cursor = p;
    return true;
}

/* The number of keys in path (0: malformed); the first key into first when not NULL. */
static size_t count_keys(const char *path, strbuf *first)
{
    strbuf key = STRBUF_INIT;
    size_t count = 0;
    bool last = false;
    while (!last) {
        if (!read_key(&path, &key, &last)) {
            count = 0;
            break;
        }
        if (count++ == 0 && first)
            strbuf_append(first, strbuf_text(&key));
    }
    strbuf_free(&key);
    return count;
}

bool watch_path_valid(const char *path)
{
    return count_keys(path, NULL) > 0;
}

char *watch_path_match_key(const char *path, bool *nested)
{
    strbuf first = STRBUF_INIT;
    size_t count = count_keys(path, &first);
    *nested = count > 1;
    char *key = alloc_strdup(count == 1 ? strbuf_text(&first) : path);
    strbuf_free(&first);
    return key;
}

/* text as an SQL string constant whatever standard_conforming_strings says. */
static void append_literal(strbuf *sql, const char *text)
{
    strbuf_append(sql, "E'");
    for (const char *p = text; *p; p++) {
        if (*p == '\'' || *p == '\\')
            strbuf_append_char(sql, *p);
        strbuf_append_char(sql, *p);
    }
    strbuf_append_char(sql, '\'');
}

/* The jsonpath $."k1"."k2"... of a well-formed path, as text (not yet an SQL constant). */
static void append_jsonpath(strbuf *out, const char *path)
{
    strbuf key = STRBUF_INIT;
    bool last = false;
    strbuf_append_char(out, '$');
    while (!last && read_key(&path, &key, &last)) {
        strbuf_append(out, ".\"");
        for (const unsigned char *p = (const unsigned char *) strbuf_text(&key); *p; p++) {
            if (*p == '"' || *p == '\\') {
                strbuf_append_char(out, '\\');
                strbuf_append_char(out, (char) *p);
            } else if (*p < 0x20) {
                strbuf_appendf(out, "\\u%04x", *p);
            } else {
                strbuf_append_char(out, (char) *p);
            }
        }
        strbuf_append_char(out, '"');
    }
    strbuf_free(&key);
}

void watch_path_append_changed(strbuf *sql, const char *const *paths, size_t count, const char *new_document,
                               const char *old_document)
{
    strbuf first = STRBUF_INIT, jsonpath = STRBUF_INIT;
    strbuf_append(sql, "array_remove(ARRAY[");
    for (size_t i = 0; i < count; i++) {
        strbuf_reset(&first);
        strbuf_reset(&jsonpath);
        count_keys(paths[i], &first);
        append_jsonpath(&jsonpath, paths[i]);
        /* The top-level key's values first: a document whose key did not change
         * has none of the paths under it changed, and needs no path query. */
        strbuf_append(sql, i ? ", CASE WHEN " : "CASE WHEN ");
        strbuf_appendf(sql, "%s -> ", new_document);
        append_literal(sql, strbuf_text(&first));
        strbuf_appendf(sql, " IS DISTINCT FROM %s -> ", old_document);
        append_literal(sql, strbuf_text(&first));
        strbuf_appendf(sql, " AND (%s -> ", new_document);
        append_literal(sql, strbuf_text(&first));
        strbuf_appendf(sql, " IS NULL OR %s -> ", old_document);
        append_literal(sql, strbuf_text(&first));
        strbuf_appendf(sql, " IS NULL OR jsonb_path_query_array(%s, ", new_document);
        append_literal(sql, strbuf_text(&jsonpath));
        strbuf_appendf(sql, "::jsonpath) IS DISTINCT FROM jsonb_path_query_array(%s, ", old_document);
        append_literal(sql, strbuf_text(&jsonpath));
        strbuf_append(sql, "::jsonpath)) THEN ");
        append_literal(sql, paths[i]);
        strbuf_append(sql, " END");
    }
    strbuf_append(sql, "]::text[], NULL)");
    strbuf_free(&first);
    strbuf_free(&jsonpath);
}
