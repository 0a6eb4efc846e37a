/* registry: the entities and cascades declared in tvsync.entity and
 * tvsync.cascade, as tvsync-cdc needs them (names, cascade edges and queries). */
#ifndef TVSYNC_CDC_REGISTRY_H
#define TVSYNC_CDC_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "cdc/cascade.h"

typedef struct registry {
    size_t entity_count;
    char **entities;              /* names in strcmp order, each once */
    char **tv_tables;             /* per entity: its read model, schema-qualified and quoted */
    char **build_functions;       /* per entity: its build function, quoted, without arguments */
    char **key_types;             /* per entity: its key's type (regtype text: uuid, bigint, integer,
                                     text), which SQL casts the ids' text to */
    /* per entity: the text[] expression (cdc/watch_path) of the nested paths its
     * out-edges watch that changed between d.new and d.old, for its diff
     * statements; NULL when they watch top-level keys only */
    char **nested_changed;
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
    /* patches: per edge, its patch function (quoted, without arguments:
     * f(target ids, changed source ids) returns (id, data), the target's
     * documents with the lists the source feeds patched), or NULL when the
     * edge has none and its targets are built whole */
    char **patches;
    char ***watches;              /* per edge: NULL-terminated match keys of its watch paths
                                     (watch_path_match_key); NULL = every key */
} registry;

/* The query that reads the registry at start: one row, one column, whose text
 * goes to registry_from_json. */
extern const char *const REGISTRY_QUERY;

/* Where a change to the registry reaches tvsync-cdc in the log: an insert into
 * this table, whose REGISTRY_LOG_COLUMN holds the registry as REGISTRY_QUERY
 * gives it (migration 040). */
#define REGISTRY_LOG_SCHEMA "tvsync"
#define REGISTRY_LOG_TABLE "registry_log"
#define REGISTRY_LOG_COLUMN "registry"

/* Fills *out from the JSON of tvsync.registry_json() (length bytes, need not
 * be NUL-terminated). The one reader of the registry, at start and from the
 * log. Returns false with a short reason in error[] on anything else (not
 * JSON, a missing or mistyped member, an empty or too long entity name,
 * entities not in strcmp order or repeated, a cascade naming an entity the
 * registry does not have, a cascade's "patch" neither a string nor null;
 * absent is null, as from an engine before migration 046); *out is then empty
 * and owns nothing. On success the caller frees *out with registry_free. */
bool registry_from_json(const char *text, size_t length, registry *out, char *error, size_t error_size);

bool registry_has_entity(const registry *value, const char *entity);

/* The index of entity in value->entities, value->entity_count when absent
 * (a binary search: entities are sorted). */
size_t registry_index(const registry *value, const char *entity);

/* Frees what *value owns and zeroes it; safe on a zeroed registry. */
void registry_free(registry *value);

#endif
