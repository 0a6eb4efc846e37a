/* intent: validates and decodes intent message content; every rejection comes
 * with the reason that goes to tvsync.dead_letter. */
#include "config.h"

#include "cdc/intent.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/alloc.h"
#include "common/wal2json.h"

static bool entity_name_valid(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || length > INTENT_ENTITY_MAX)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
              (p != name && *p >= '0' && *p <= '9')))
            return false;
    return true;
}

bool intent_parse(const char *content, size_t length, intent *out, char *reason, size_t reason_size)
{
    memset(out, 0, sizeof *out);
    cJSON *root = cJSON_ParseWithLength(content, length);
    bool ok = false;
    if (!root || !cJSON_IsObject(root)) {
        snprintf(reason, reason_size, "content is not a JSON object");
        goto done;
    }
    const cJSON *heartbeat = cJSON_GetObjectItemCaseSensitive(root, "heartbeat");
    if (heartbeat) {
        if (!cJSON_IsString(heartbeat) ||
            !wal2json_parse_timestamp(heartbeat->valuestring, &out->heartbeat_unix_us)) {
            snprintf(reason, reason_size, "\"heartbeat\" is not an ISO 8601 time");
            goto done;
        }
        out->kind = INTENT_HEARTBEAT;
        ok = true;
        goto done;
    }
    const cJSON *entity = cJSON_GetObjectItemCaseSensitive(root, "entity");
    if (!cJSON_IsString(entity) || !entity_name_valid(entity->valuestring)) {
        snprintf(reason, reason_size, "\"entity\" is missing or not an entity name");
        goto done;
    }
    strcpy(out->entity, entity->valuestring);
    const cJSON *rebuild = cJSON_GetObjectItemCaseSensitive(root, "rebuild");
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(root, "ids");
    if (rebuild) {
        if (!cJSON_IsTrue(rebuild) || ids) {
            snprintf(reason, reason_size, "\"rebuild\" must be true and come without \"ids\"");
            goto done;
        }
        out->kind = INTENT_REBUILD;
        ok = true;
        goto done;
    }
    if (!cJSON_IsArray(ids)) {
        snprintf(reason, reason_size, "\"ids\" is missing or not an array");
        goto done;
    }
    out->kind = INTENT_IDS;
    /* One text for all the ids (and one array of their places): an intent can
     * carry thousands, and a string each would be a malloc each. */
    size_t text_size = 0, count = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, ids) {
        if (!cJSON_IsString(item)) {
            snprintf(reason, reason_size, "id %zu is not a JSON string (ids are the key's text form)", count);
            goto done;
        }
        text_size += strlen(item->valuestring) + 1;
        count++;
    }
    if (text_size > UINT32_MAX) {
        snprintf(reason, reason_size, "\"ids\" are too long");
        goto done;
    }
    out->ids = alloc_malloc((count > 0 ? count : 1) * sizeof *out->ids);
    out->id_text = alloc_malloc(text_size > 0 ? text_size : 1);
    size_t offset = 0;
    cJSON_ArrayForEach(item, ids) {
        size_t id_length = strlen(item->valuestring);
        memcpy(out->id_text + offset, item->valuestring, id_length + 1);
        out->ids[out->id_count++] = (intent_id){(uint32_t) offset, (uint32_t) id_length};
        offset += id_length + 1;
    }
    ok = true;
done:
    cJSON_Delete(root);
    if (!ok)
        intent_free(out);
    return ok;
}

void intent_free(intent *value)
{
    free(value->ids);
    free(value->id_text);
    value->ids = NULL;
    value->id_text = NULL;
    value->id_count = 0;
}
