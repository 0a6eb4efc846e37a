/* decl_patch: whether a list a document declares can be patched in place along a cascade
 * edge (tvsync.patch_list, migration 046) rather than built again, and its order spec. */
#ifndef TVSYNC_DECLARE_DECL_PATCH_H
#define TVSYNC_DECLARE_DECL_PATCH_H

#include <stdbool.h>

#include "common/strbuf.h"
#include "declare/decl_catalog.h"
#include "declare/decl_model.h"

/* Whether list, a top-level @many of an entity whose rows are rows's table, can be patched
 * with tvsync.patch_list when rows's rows change: its elements expose rows's key, and every
 * column of its orderBy, as fields whose JSON value casts back to the column's type with
 * the same order (timestamptz through tvsync.iso_time, numbers, uuid, text, varchar, date,
 * timestamp, boolean; text in the database's default collation); orderBy is columns separated by commas, each with optional ASC/DESC
 * and NULLS FIRST/LAST; nothing in the elements, at any depth, reads rows's table again
 * (a change to one row would change other elements). On true, appends the order spec
 * tvsync.patch_list takes (a JSON array, the key last) to order_spec and the key's field
 * name to key_field. On false, appends to why one phrase saying what stops it ("its
 * orderBy \"lower(title)\" is not a list of columns"). The model must have passed
 * decl_catalog_check. */
bool decl_patch_list(const decl_catalog *catalog, const decl_field *list, const decl_table *rows, strbuf *order_spec,
                     strbuf *key_field, strbuf *why);

#endif
