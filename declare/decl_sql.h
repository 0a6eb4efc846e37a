/* decl_sql: the SQL a model's read models need, as named objects: the generator writes the
 * objects that changed since the set's last generated migration. */
#ifndef TVSYNC_DECLARE_DECL_SQL_H
#define TVSYNC_DECLARE_DECL_SQL_H

#include <stddef.h>

#include "common/strbuf.h"
#include "declare/decl_catalog.h"
#include "declare/decl_model.h"

/* One object of the generated SQL: key names it across generations ("table shop.tv_order",
 * "function shop.fn_build_order", "cascade customer order", "crud shop.create_order", ...);
 * sql is one or more statements that can run twice (CREATE ... IF NOT EXISTS, CREATE OR
 * REPLACE, INSERT ... ON CONFLICT DO UPDATE). rebuild names the entity whose documents
 * change shape when this object changes (a build function), else NULL. */
typedef struct decl_object {
    char *key;
    char *sql;
    char *rebuild;
} decl_object;

typedef struct decl_objects {
    decl_object *items;
    size_t count, capacity;
} decl_objects;

/* Appends a copy of key/sql/rebuild (rebuild may be NULL). */
void decl_objects_add(decl_objects *objects, const char *key, const char *sql, const char *rebuild);
void decl_objects_free(decl_objects *objects);

/* The read models: per entity its tv_* table, the indexes its build and the cascades' new
 * halves need, its build function (set-based; ids NULL = every row), its registry row and
 * grants; per pair of entities where one embeds or aggregates rows of the other's source,
 * the cascade (new state over tb_*, old state over the tv_* documents) with its watch
 * paths. The model must have passed decl_catalog_check. */
void decl_sql_read_models(const decl_model *model, const decl_catalog *catalog, decl_objects *out);

/* The CRUD functions of the @entity(crud: true) types. The contract tvsync-server serves
 * them by (server/schema_derive adds the Mutation fields and input types), for
 * `type Post @entity(source: "tb_post", crud: true)` in schema s, entity post:
 *   createPost(input: PostCreateInput!): Post     s.create_post(args jsonb)  {"input": {...}}
 *   updatePost(id: ID!, patch: PostPatch!): Post  s.update_post(args jsonb)  {"id": .., "patch": {...}}
 *   deletePost(id: ID!): ID                       s.delete_post(args jsonb)  {"id": ..}
 * and per @many(through:) field, tags say:
 *   linkPostTags(id: ID!, targetId: ID!): Post    s.link_post_tags(args)    {"id": .., "targetId": ..}
 *   unlinkPostTags(id: ID!, targetId: ID!): Post  s.unlink_post_tags(args)
 * PostCreateInput: `id: ID` (used when given: keys without a default need it) and, nullable,
 * every other COLUMN field with its GraphQL type and every @ref field as `<field>Id: ID`.
 * PostPatch: the same without id; a key left out keeps the column, null sets NULL.
 * Each function returns tvsync.mutation_result: ok with the entity's id and its intent
 * (link/unlink, and create/update/delete, also the intents of every entity whose documents
 * embed or count the written association row); validation_failed for a bad key or value,
 * a missing required value (NOT NULL without default), a reference to a missing row
 * (FOREIGN KEY), a failed CHECK (naming the constraint); conflict for a UNIQUE violation
 * and for a delete that other rows still reference; not_found for an id with no row.
 * Messages name the GraphQL field ("input.title is required"). */
void decl_sql_crud(const decl_model *model, const decl_catalog *catalog, decl_objects *out);

#endif
