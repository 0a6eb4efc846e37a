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
    size_t cascade_count;
    cascade_edge *edges;          /* source/target point into queries' strings below */
    char **sources, **targets, **queries;
    char ***watches;              /* per edge: NULL-terminated keys it watches; NULL = every key */
} registry;

/* The one query that reads the registry; its result goes to registry_from_result. */
extern const char *const REGISTRY_QUERY;

/* Fills *out from REGISTRY_QUERY's result. Returns false (logged) on an
 * unexpected shape; *out is then empty. The caller frees with registry_free. */
bool registry_from_result(const PGresult *result, registry *out);

bool registry_has_entity(const registry *value, const char *entity);

/* Whether a row reached through a cascade, whose document changed in
 * changed_keys (NULL-terminated; NULL = created or deleted: every key), must
 * follow edge: true unless the edge watches keys and none of them changed. */
bool registry_edge_watches(const registry *value, size_t edge, const char *const *changed_keys);

/* A PostgreSQL text[] literal ({a,"b c"}) as a NULL-terminated vector the
 * caller frees with registry_keys_free (NULL is fine there). */
char **registry_keys_parse(const char *text);
void registry_keys_free(char **keys);

/* The index of entity in value->entities, value->entity_count when absent. */
size_t registry_index(const registry *value, const char *entity);

void registry_free(registry *value);

#endif
