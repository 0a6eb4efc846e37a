/* registry: reads the declared entities and cascades (invariant 5: adding an
 * entity needs no C change), at start and from the log when they change. */
#include "config.h"

#include "cdc/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cdc/array_literal.h"
#include "cdc/intent.h"
#include "cdc/watch_path.h"
#include "common/alloc.h"

const char *const REGISTRY_QUERY = "SELECT tvsync.registry_json()";

/* A member that must be a string; NULL (with error set) otherwise. */
static const char *string_member(const cJSON *object, const char *name, const char *what, size_t index,
                                 char *error, size_t error_size)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    if (cJSON_IsString(item))
        return item->valuestring;
    snprintf(error, error_size, "%s %zu: \"%s\" is missing or not a string", what, index, name);
    return NULL;
}

/* Entity names go into fixed-size batch entries (INTENT_ENTITY_MAX). */
static bool entity_name_fits(const char *name)
{
    size_t length = strlen(name);
    return length > 0 && length <= INTENT_ENTITY_MAX;
}

static bool read_entities(const cJSON *entities, registry *out, char *error, size_t error_size)
{
    const cJSON *entity;
    cJSON_ArrayForEach(entity, entities) {
        size_t i = out->entity_count;
        const char *name = string_member(entity, "name", "entity", i, error, error_size);
        const char *tv_table = name ? string_member(entity, "tv_table", "entity", i, error, error_size) : NULL;
        const char *build = tv_table ? string_member(entity, "build_function", "entity", i, error, error_size) : NULL;
        const char *key_type = build ? string_member(entity, "key_type", "entity", i, error, error_size) : NULL;
        if (!key_type)
            return false;
        if (!entity_name_fits(name)) {
            snprintf(error, error_size, "entity %zu: the name is empty or longer than %d bytes", i, INTENT_ENTITY_MAX);
            return false;
        }
        /* Sorted (registry_json orders by name in collation "C", strcmp's order):
         * lookups can halve, and a repeated name is its neighbour. */
        if (i > 0 && strcmp(out->entities[i - 1], name) >= 0) {
            snprintf(error, error_size, "entity \"%s\" is not after \"%s\" (repeated or out of order)", name,
                     out->entities[i - 1]);
            return false;
        }
        out->entities[i] = alloc_strdup(name);
        out->tv_tables[i] = alloc_strdup(tv_table);
        out->build_functions[i] = alloc_strdup(build);
        out->key_types[i] = alloc_strdup(key_type);
        out->entity_count++;
    }
    return true;
}

/* The nested watch paths read so far, each with its edge's source entity. */
typedef struct nested_paths {
    const char **paths;   /* borrowed from the registry's watches */
    size_t *entities;
    size_t count, capacity;
} nested_paths;

/* NULL when the edge watches every key; a NULL-terminated vector of the
 * watch paths' match keys otherwise (array_literal_strings_free frees it). */
static bool read_watch(const cJSON *watch, size_t index, size_t source, char ***out, nested_paths *nested,
                       char *error, size_t error_size)
{
    *out = NULL;
    if (!watch || cJSON_IsNull(watch))
        return true;
    if (!cJSON_IsArray(watch)) {
        snprintf(error, error_size, "cascade %zu: \"watch\" is neither null nor an array", index);
        return false;
    }
    char **keys = alloc_calloc((size_t) cJSON_GetArraySize(watch) + 1, sizeof *keys);
    size_t count = 0;
    const cJSON *key;
    cJSON_ArrayForEach(key, watch) {
        if (!cJSON_IsString(key)) {
            array_literal_strings_free(keys);
            snprintf(error, error_size, "cascade %zu: a watched key is not a string", index);
            return false;
        }
        bool is_nested;
        keys[count] = watch_path_match_key(key->valuestring, &is_nested);
        if (is_nested) {
            if (nested->count == nested->capacity) {
                nested->capacity = nested->capacity ? 2 * nested->capacity : 8;
                nested->paths = alloc_array(nested->paths, nested->capacity, sizeof *nested->paths);
                nested->entities = alloc_array(nested->entities, nested->capacity, sizeof *nested->entities);
            }
            nested->paths[nested->count] = keys[count];
            nested->entities[nested->count++] = source;
        }
        count++;
    }
    *out = keys;
    return true;
}

static bool read_cascades(const cJSON *cascades, registry *out, nested_paths *nested, char *error,
                          size_t error_size)
{
    const cJSON *edge;
    cJSON_ArrayForEach(edge, cascades) {
        size_t i = out->cascade_count;
        const char *source = string_member(edge, "source", "cascade", i, error, error_size);
        const char *target = source ? string_member(edge, "target", "cascade", i, error, error_size) : NULL;
        const char *query = target ? string_member(edge, "query", "cascade", i, error, error_size) : NULL;
        if (!query)
            return false;
        if (!registry_has_entity(out, source) || !registry_has_entity(out, target)) {
            snprintf(error, error_size, "cascade %zu (%s -> %s) names an entity the registry does not have", i,
                     source, target);
            return false;
        }
        const cJSON *patch = cJSON_GetObjectItemCaseSensitive(edge, "patch");
        if (patch && !cJSON_IsNull(patch) && !(cJSON_IsString(patch) && patch->valuestring[0])) {
            snprintf(error, error_size, "cascade %zu (%s -> %s): \"patch\" is neither null nor a function name", i,
                     source, target);
            return false;
        }
        char **watches;
        if (!read_watch(cJSON_GetObjectItemCaseSensitive(edge, "watch"), i, registry_index(out, source), &watches,
                        nested, error, error_size))
            return false;
        out->sources[i] = alloc_strdup(source);
        out->targets[i] = alloc_strdup(target);
        out->queries[i] = alloc_strdup(query);
        out->patches[i] = cJSON_IsString(patch) ? alloc_strdup(patch->valuestring) : NULL;
        out->watches[i] = watches;
        out->edges[i].source = out->sources[i];
        out->edges[i].target = out->targets[i];
        out->edges[i].watches = (const char *const *) watches;
        out->cascade_count++;
    }
    return true;
}

/* Per entity, the SQL of the nested paths its out-edges watch (each spelling
 * once), so that its diff statements compare those and no other entity's. */
static void build_nested_changed(registry *out, const nested_paths *nested)
{
    const char **paths = alloc_calloc(nested->count + 1, sizeof *paths);
    for (size_t r = 0; r < out->entity_count; r++) {
        size_t count = 0;
        for (size_t i = 0; i < nested->count; i++) {
            if (nested->entities[i] != r)
                continue;
            size_t seen = 0;
            while (seen < count && strcmp(paths[seen], nested->paths[i]) != 0)
                seen++;
            if (seen == count)
                paths[count++] = nested->paths[i];
        }
        if (count == 0)
            continue;
        strbuf sql = STRBUF_INIT;
        watch_path_append_changed(&sql, paths, count, "d.new", "d.old");
        out->nested_changed[r] = alloc_strdup(strbuf_text(&sql));
        strbuf_free(&sql);
    }
    free(paths);
}

bool registry_from_json(const char *text, size_t length, registry *out, char *error, size_t error_size)
{
    memset(out, 0, sizeof *out);
    cJSON *root = cJSON_ParseWithLength(text, length);
    const cJSON *entities = cJSON_GetObjectItemCaseSensitive(root, "entities");
    const cJSON *cascades = cJSON_GetObjectItemCaseSensitive(root, "cascades");
    bool ok = false;
    if (!cJSON_IsObject(root) || !cJSON_IsArray(entities) || !cJSON_IsArray(cascades)) {
        snprintf(error, error_size, "not an object with the arrays \"entities\" and \"cascades\"");
        goto done;
    }
    size_t entity_count = (size_t) cJSON_GetArraySize(entities);
    size_t cascade_count = (size_t) cJSON_GetArraySize(cascades);
    out->entities = alloc_calloc(entity_count + 1, sizeof *out->entities);
    out->tv_tables = alloc_calloc(entity_count + 1, sizeof *out->tv_tables);
    out->build_functions = alloc_calloc(entity_count + 1, sizeof *out->build_functions);
    out->key_types = alloc_calloc(entity_count + 1, sizeof *out->key_types);
    out->nested_changed = alloc_calloc(entity_count + 1, sizeof *out->nested_changed);
    out->edges = alloc_calloc(cascade_count + 1, sizeof *out->edges);
    out->sources = alloc_calloc(cascade_count + 1, sizeof *out->sources);
    out->targets = alloc_calloc(cascade_count + 1, sizeof *out->targets);
    out->queries = alloc_calloc(cascade_count + 1, sizeof *out->queries);
    out->patches = alloc_calloc(cascade_count + 1, sizeof *out->patches);
    out->watches = alloc_calloc(cascade_count + 1, sizeof *out->watches);
    nested_paths nested = {0};
    ok = read_entities(entities, out, error, error_size) && read_cascades(cascades, out, &nested, error, error_size);
    if (ok)
        build_nested_changed(out, &nested);
    free(nested.paths);
    free(nested.entities);
done:
    cJSON_Delete(root);
    if (!ok)
        registry_free(out);
    return ok;
}

size_t registry_index(const registry *value, const char *entity)
{
    size_t low = 0, high = value->entity_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = strcmp(value->entities[middle], entity);
        if (order == 0)
            return middle;
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return value->entity_count;
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
        if (value->nested_changed)
            free(value->nested_changed[i]);
    }
    free(value->nested_changed);
    free(value->tv_tables);
    free(value->build_functions);
    free(value->key_types);
    for (size_t i = 0; i < value->cascade_count; i++) {
        free(value->sources[i]);
        free(value->targets[i]);
        free(value->queries[i]);
        if (value->patches)
            free(value->patches[i]);
        if (value->watches)
            array_literal_strings_free(value->watches[i]);
    }
    free(value->watches);
    free(value->entities);
    free(value->edges);
    free(value->sources);
    free(value->targets);
    free(value->queries);
    free(value->patches);
    memset(value, 0, sizeof *value);
}
