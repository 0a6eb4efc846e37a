/* decl_cascade: the cascades of a checked model (which entities to rebuild when another
 * entity's rows change, both halves, with watch paths) and the indexes they look up by. */
#ifndef TVSYNC_DECLARE_DECL_CASCADE_H
#define TVSYNC_DECLARE_DECL_CASCADE_H

#include "declare/decl_catalog.h"
#include "declare/decl_model.h"
#include "declare/decl_sql.h"

/* Appends, per pair (S, T) of entities where T's document embeds, lists or aggregates rows
 * of S's source at any depth, the object "cascade S T": an INSERT INTO tvsync.cascade ... ON
 * CONFLICT DO UPDATE whose query takes $1 (S's changed ids) and returns T's ids from the new
 * state (tb_*) and the old one (T's or S's tv_* documents), with the paths of S's document T
 * depends on as its watch (NULL: every key). Before them, the indexes the old halves read
 * T's documents by. The model must have passed decl_catalog_check. */
void decl_cascades(const decl_model *model, const decl_catalog *catalog, decl_objects *out);

/* Shared with decl_sql.c, which defines them. */
/* Adds the object unless one with that key is there. */
void decl_sql_add_once(decl_objects *objects, const char *key, const char *sql);
/* The table "table" / "schema.table" of the catalog, or NULL. */
const decl_table *decl_sql_table(const decl_catalog *catalog, const char *qualified);
const decl_table *decl_sql_source(const decl_catalog *catalog, const decl_type *type);
/* "index SCHEMA.NAME" for a btree index on table's column (nothing for its key). */
void decl_sql_index(decl_objects *out, const decl_table *table, const char *column);
/* "index SCHEMA.NAME" with the given statement. */
void decl_sql_index_named(decl_objects *out, const char *schema, const char *name, const char *sql);

#endif
