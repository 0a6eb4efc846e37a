/* registry: reads the declared entities and cascades (invariant 5: adding an
 * entity needs no C change), loaded at start and again on SIGHUP. */
#include "config.h"

#include "cdc/registry.h"

#include <stdlib.h>
#include <string.h>

#include "cdc/array_literal.h"
#include "common/alloc.h"
#include "common/log.h"

const char *const REGISTRY_QUERY =
    "SELECT 'e', e.name, e.tv_table::text, tvsync.build_function_name(e), NULL::text[], e.key_type::text "
    "FROM tvsync.entity e "
    "UNION ALL SELECT 'c', source_entity, target_entity, query, watch, NULL FROM tvsync.cascade "
    "ORDER BY 1 DESC, 2, 3";

bool registry_from_result(const PGresult *result, registry *out)
{
    memset(out, 0, sizeof *out);
    if (PQnfields(result) != 6) {
        log_error("registry: unexpected result shape");
        return false;
    }
    int rows = PQntuples(result);
    out->entities = alloc_calloc((size_t) rows + 1, sizeof *out->entities);
    out->tv_tables = alloc_calloc((size_t) rows + 1, sizeof *out->tv_tables);
    out->build_functions = alloc_calloc((size_t) rows + 1, sizeof *out->build_functions);
    out->key_types = alloc_calloc((size_t) rows + 1, sizeof *out->key_types);
    out->edges = alloc_calloc((size_t) rows + 1, sizeof *out->edges);
    out->sources = alloc_calloc((size_t) rows + 1, sizeof *out->sources);
    out->targets = alloc_calloc((size_t) rows + 1, sizeof *out->targets);
    out->queries = alloc_calloc((size_t) rows + 1, sizeof *out->queries);
    out->watches = alloc_calloc((size_t) rows + 1, sizeof *out->watches);
    for (int row = 0; row < rows; row++) {
        const char *kind = PQgetvalue(result, row, 0);
        if (kind[0] == 'e') {
            out->tv_tables[out->entity_count] = alloc_strdup(PQgetvalue(result, row, 2));
            out->build_functions[out->entity_count] = alloc_strdup(PQgetvalue(result, row, 3));
            out->key_types[out->entity_count] = alloc_strdup(PQgetvalue(result, row, 5));
            out->entities[out->entity_count++] = alloc_strdup(PQgetvalue(result, row, 1));
        } else {
            size_t i = out->cascade_count++;
            out->sources[i] = alloc_strdup(PQgetvalue(result, row, 1));
            out->targets[i] = alloc_strdup(PQgetvalue(result, row, 2));
            out->queries[i] = alloc_strdup(PQgetvalue(result, row, 3));
            if (!PQgetisnull(result, row, 4))
                out->watches[i] = array_literal_parse(PQgetvalue(result, row, 4));
            out->edges[i].source = out->sources[i];
            out->edges[i].target = out->targets[i];
            out->edges[i].watches = (const char *const *) out->watches[i];
        }
    }
    return true;
}

size_t registry_index(const registry *value, const char *entity)
{
    size_t i = 0;
    while (i < value->entity_count && strcmp(value->entities[i], entity) != 0)
        i++;
    return i;
}

bool registry_has_entity(const registry *value, const char *entity)
{
    return registry_index(value, entity) < value->entity_count;
}

void registry_free(registry *value)
{
    for (size_t i = 0; i < value->entity_count; i++) {
        free(value->entities[i]);
        free(value->tv_tables[i]);
        free(value->build_functions[i]);
        free(value->key_types[i]);
    }
    free(value->tv_tables);
    free(value->build_functions);
    free(value->key_types);
    for (size_t i = 0; i < value->cascade_count; i++) {
        free(value->sources[i]);
        free(value->targets[i]);
        free(value->queries[i]);
        if (value->watches)
            array_literal_strings_free(value->watches[i]);
    }
    free(value->watches);
    free(value->entities);
    free(value->edges);
    free(value->sources);
    free(value->targets);
    free(value->queries);
    memset(value, 0, sizeof *value);
}
