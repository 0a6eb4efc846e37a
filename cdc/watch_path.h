/* watch_path: the syntax of a cascade's watch element (a dotted path of document
 * keys, "author.username") and the SQL by which a diff says which nested paths changed. Pure. */
#ifndef TVSYNC_CDC_WATCH_PATH_H
#define TVSYNC_CDC_WATCH_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

/* A watch path is one or more keys separated by '.'. A key is written bare (at
 * least one character, neither '.' nor '"') or in double quotes, where "" stands
 * for one '"' ("a.b" is the one key a.b; "" the empty key). A key whose value is
 * an array of objects is followed into every element: comments.author.username
 * is every comment's author's username. Migration 044 checks the same grammar. */

/* How a watch path is matched against what a diff reports: the key itself for
 * a top-level key (the diff lists the changed keys of the document), the path as
 * written for a nested one (the diff lists the nested paths that changed under
 * that spelling). A malformed path (written before migration 044 checked them)
 * is taken as one top-level key, as written: what it meant before nested paths.
 * The diff's list does not tell the two kinds apart, so a top-level key a.b and
 * the nested path a.b follow each other's changes too: an extra cascade, never
 * a missed one. Returns a string the caller frees; never NULL. *nested says
 * which kind. */
char *watch_path_match_key(const char *path, bool *nested);

/* Whether path is well formed. Linear in its length. */
bool watch_path_valid(const char *path);

/* Appends to sql the expression (text[]) of the nested paths[0..count) that
 * differ between the jsonb objects new_document and old_document (SQL
 * expressions): each path's written text when the values it reaches differ
 * (jsonb_path_query_array in lax mode, so arrays are followed) or its top-level
 * key appeared or disappeared. One comparison per path per document, skipped
 * when its top-level key is unchanged. The paths must be well formed and nested. */
void watch_path_append_changed(strbuf *sql, const char *const *paths, size_t count, const char *new_document,
                               const char *old_document);

#endif
