/* registry: reads the declared entities and cascades (invariant 5: adding an
 * entity needs no C change), loaded at start and again on SIGHUP. */
#include "config.h"

#include "cdc/registry.h"

#include <stdlib.h>
#include <string.h>

#include "cdc/alloc.h"
#include "common/log.h"

const char *const REGISTRY_QUERY =
    "SELECT 'e', e.name, e.tv_table::text, tvsync.build_function_name(e) FROM tvsync.entity e "
    "UNION ALL SELECT 'c', source_entity, target_entity, query FROM tvsync.cascade "
    "ORDER BY 1 DESC, 2, 3";

bool registry_from_result(const PGresult *result, registry *out)
{
    memset(out, 0, sizeof *out);
    if (PQnfields(result) != 4) {
        log_error("registry: unexpected result shape");
        return false;
    }
    int rows = PQntuples(result);
    out->entities = alloc_zeroed((size_t) rows + 1, sizeof *out->entities);
    out->tv_tables = alloc_zeroed((size_t) rows + 1, sizeof *out->tv_tables);
    out->build_functions = alloc_zeroed((size_t) rows + 1, sizeof *out->build_functions);
    out->edges = alloc_zeroed((size_t) rows + 1, sizeof *out->edges);
    out->sources = alloc_zeroed((size_t) rows + 1, sizeof *out->sources);
    out->targets = alloc_zeroed((size_t) rows + 1, sizeof *out->targets);
    out->queries = alloc_zeroed((size_t) rows + 1, sizeof *out->queries);
    for (int row = 0; row < rows; row++) {
        const char *kind = PQgetvalue(result, row, 0);
        if (kind[0] == 'e') {
            out->tv_tables[out->entity_count] = alloc_string(PQgetvalue(result, row, 2));
            out->build_functions[out->entity_count] = alloc_string(PQgetvalue(result, row, 3));
            out->entities[out->entity_count++] = alloc_string(PQgetvalue(result, row, 1));
        } else {
            size_t i = out->cascade_count++;
            out->sources[i] = alloc_string(PQgetvalue(result, row, 1));
            out->targets[i] = alloc_string(PQgetvalue(result, row, 2));
            out->queries[i] = alloc_string(PQgetvalue(result, row, 3));
            out->edges[i].source = out->sources[i];
            out->edges[i].target = out->targets[i];
        }
    }
    return true;
}

bool registry_has_entity(const registry *value, const char *entity)
{
    for (size_t i = 0; i < value->entity_count; i++)
        if (strcmp(value->entities[i], entity) == 0)
            return true;
    return false;
}

void registry_free(registry *value)
{
    for (size_t i = 0; i < value->entity_count; i++) {
        free(value->entities[i]);
        free(value->tv_tables[i]);
        free(value->build_functions[i]);
    }
    free(value->tv_tables);
    free(value->build_functions);
    for (size_t i = 0; i < value->cascade_count; i++) {
        free(value->sources[i]);
        free(value->targets[i]);
        free(value->queries[i]);
    }
    free(value->entities);
    free(value->edges);
    free(value->sources);
    free(value->targets);
    free(value->queries);
    memset(value, 0, sizeof *value);
}
