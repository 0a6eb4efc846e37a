/* registry: the entities and cascades declared in tvsync.entity and
 * tvsync.cascade, as tvsync-cdc needs them (names, cascade edges and queries). */
#ifndef TVSYNC_CDC_REGISTRY_H
#define TVSYNC_CDC_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "cdc/cascade.h"

typedef struct registry {
    size_t entity_count;
    char **entities;              /* sorted names */
    char **tv_tables;             /* per entity: its read model, quoted (regclass text) */
    char **build_functions;       /* per entity: its build function, quoted, without arguments */
    char **key_types;             /* per entity: its key's type (regtype text: uuid, bigint, integer,
                                     text), which SQL casts the ids' text to */
    size_t cascade_count;
    cascade_edge *edges;          /* source/target/watches point into the arrays below */
    /* queries: per edge, the cascade query. Its $1 is the source's changed ids,
     * an array of the source's key type (sent as an untyped array literal of the
     * ids' text: the query gives $1 its type, as "o.id = ANY ($1)" with o.id the
     * key column or "$1::bigint[]" do). It returns one column, the target's ids
     * of the target's key type (tvsync-cdc casts the column to that type, so
     * another integer type or text in the key's form also works, and reads it as
     * text). It reads the new state (tb_*) and the old (tv_*), so deletes and
     * moved references reach their old targets. */
    char **sources, **targets, **queries;
    char ***watches;              /* per edge: NULL-terminated keys it watches (array_literal_parse); NULL = every key */
} registry;

/* The one query that reads the registry; its result goes to registry_from_result. */
extern const char *const REGISTRY_QUERY;

/* Fills *out from REGISTRY_QUERY's result. Returns false (logged) on an
 * unexpected shape; *out is then empty. The caller frees with registry_free. */
bool registry_from_result(const PGresult *result, registry *out);

bool registry_has_entity(const registry *value, const char *entity);

/* The index of entity in value->entities, value->entity_count when absent. */
size_t registry_index(const registry *value, const char *entity);

void registry_free(registry *value);

#endif
