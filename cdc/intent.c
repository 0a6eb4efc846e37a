/* intent: validates and decodes intent message content; every rejection comes
 * with the reason that goes to tvsync.dead_letter. */
#include "config.h"

#include "cdc/intent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/alloc.h"
#include "common/wal2json.h"
#include "common/hex.h"

bool intent_uuid_parse(const char *text, intent_uuid *out)
{
    intent_uuid value;
    int byte = 0;
    if (!text)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-')
                return false;
            continue;
        }
        int high = hex_value(text[i]);
        int low = high < 0 ? -1 : hex_value(text[i + 1]);
        if (low < 0)
            return false;
        value.bytes[byte++] = (unsigned char) (high << 4 | low);
        i++;
    }
    if (text[36] != '\0')
        return false;
    *out = value;
    return true;
}

char *intent_uuid_format(const intent_uuid *uuid, char buffer[INTENT_UUID_TEXT_SIZE])
{
    static const char digits[] = "0123456789abcdef";
    char *p = buffer;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = digits[uuid->bytes[i] >> 4];
        *p++ = digits[uuid->bytes[i] & 0xf];
    }
    *p = '\0';
    return buffer;
}

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
    int count = cJSON_GetArraySize(ids);
    out->ids = alloc_malloc((size_t) (count > 0 ? count : 1) * sizeof *out->ids);
    const cJSON *item;
    cJSON_ArrayForEach(item, ids) {
        if (!cJSON_IsString(item) || !intent_uuid_parse(item->valuestring, &out->ids[out->id_count])) {
            snprintf(reason, reason_size, "id %zu is not a uuid", out->id_count);
            goto done;
        }
        out->id_count++;
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
    value->ids = NULL;
    value->id_count = 0;
}
