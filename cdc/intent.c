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
#include "common/decimal.h"
#include "common/hex.h"
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

/* Whether only JSON whitespace lies in [from, to): text after the object is
 * not ignored, or "{...}garbage" would be applied as if it were "{...}". */
static bool only_blanks(const char *from, const char *to)
{
    for (; from < to; from++)
        if (*from != ' ' && *from != '\t' && *from != '\n' && *from != '\r')
            return false;
    return true;
}

bool intent_parse(const char *content, size_t length, intent *out, char *reason, size_t reason_size)
{
    memset(out, 0, sizeof *out);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(content, length, &end, false);
    bool ok = false;
    if (!root || !cJSON_IsObject(root)) {
        snprintf(reason, reason_size, "content is not a JSON object");
        goto done;
    }
    if (!only_blanks(end, content + length)) {
        snprintf(reason, reason_size, "text follows the JSON object (at byte %zu)", (size_t) (end - content));
        goto done;
    }
    const cJSON *heartbeat = cJSON_GetObjectItemCaseSensitive(root, "heartbeat");
    if (heartbeat) {
        if (!cJSON_IsString(heartbeat) ||
            !wal2json_parse_timestamp(heartbeat->valuestring, &out->heartbeat_unix_us)) {
            snprintf(reason, reason_size, "\"heartbeat\" is not an ISO 8601 time");
            goto done;
        }
        const cJSON *nonce = cJSON_GetObjectItemCaseSensitive(root, "nonce");
        if (nonce && (!cJSON_IsString(nonce) || strlen(nonce->valuestring) > INTENT_NONCE_MAX)) {
            snprintf(reason, reason_size, "\"nonce\" is not a string of at most %d characters", INTENT_NONCE_MAX);
            goto done;
        }
        if (nonce)
            strcpy(out->heartbeat_nonce, nonce->valuestring);
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

intent_key intent_key_of(const char *key_type)
{
    if (strcmp(key_type, "uuid") == 0)
        return INTENT_KEY_UUID;
    if (strcmp(key_type, "bigint") == 0)
        return INTENT_KEY_BIGINT;
    if (strcmp(key_type, "integer") == 0)
        return INTENT_KEY_INTEGER;
    if (strcmp(key_type, "smallint") == 0)
        return INTENT_KEY_SMALLINT;
    return INTENT_KEY_TEXT;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool uuid_fits(const char *id, size_t length)
{
    size_t i = 0, digits = 0;
    bool braces = length > 0 && id[0] == '{';
    if (braces) {
        if (id[length - 1] != '}')
            return false;
        i = 1;
        length--;
    }
    for (; i < length; i++) {
        if (hex_value(id[i]) >= 0)
            digits++;
        else if (!(id[i] == '-' && digits % 4 == 0 && digits > 0 && digits < 32 && id[i - 1] != '-'))
            return false;
    }
    return digits == 32;
}

static bool integer_fits(const char *id, size_t length, const char *positive_limit, const char *negative_limit)
{
    size_t i = 0;
    while (i < length && is_blank(id[i]))
        i++;
    bool negative = i < length && id[i] == '-';
    if (i < length && (id[i] == '+' || id[i] == '-'))
        i++;
    if (i >= length || !is_digit(id[i]))
        return false;
    size_t digits_from = i;
    bool decimal = true;
    /* Digits, and the letters and '_' of 0x1F, 0o17, 0b11 and 1_000 (newer servers). */
    while (i < length && (is_digit(id[i]) || id[i] == '_' || (id[i] >= 'a' && id[i] <= 'z') ||
                          (id[i] >= 'A' && id[i] <= 'Z'))) {
        decimal = decimal && is_digit(id[i]);
        i++;
    }
    size_t digits_to = i;
    while (i < length && is_blank(id[i]))
        i++;
    if (i != length)
        return false;
    return !decimal ||
           decimal_digits_within(id + digits_from, digits_to - digits_from, negative ? negative_limit : positive_limit);
}

bool intent_id_fits(intent_key key, const char *id, size_t length)
{
    switch (key) {
    case INTENT_KEY_UUID:
        return uuid_fits(id, length);
    case INTENT_KEY_BIGINT:
        return integer_fits(id, length, "9223372036854775807", "9223372036854775808");
    case INTENT_KEY_INTEGER:
        return integer_fits(id, length, "2147483647", "2147483648");
    case INTENT_KEY_SMALLINT:
        return integer_fits(id, length, "32767", "32768");
    case INTENT_KEY_TEXT:
        break;
    }
    return true;
}

static void uuid_normalize(char *id, uint32_t *length)
{
    static const char digits[] = "0123456789abcdef";
    char hex[32];
    size_t count = 0;
    for (uint32_t i = 0; i < *length && count < 32; i++)
        if (hex_value(id[i]) >= 0)
            hex[count++] = digits[hex_value(id[i])];
    if (count != 32 || *length < 36)
        return;   /* 32 digits with fewer than four hyphens: the output form is longer */
    char *p = id;
    for (size_t i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20)
            *p++ = '-';
        *p++ = hex[i];
    }
    *p = '\0';
    *length = 36;
}

static void integer_normalize(char *id, uint32_t *length)
{
    uint32_t i = 0, end = *length;
    while (i < end && is_blank(id[i]))
        i++;
    while (end > i && is_blank(id[end - 1]))
        end--;
    bool negative = id[i] == '-';
    if (id[i] == '+' || id[i] == '-')
        i++;
    for (uint32_t k = i; k < end; k++)
        if (!is_digit(id[k]))
            return;   /* 0x1F, 1_000: the database's forms to read */
    while (i + 1 < end && id[i] == '0')
        i++;
    negative = negative && !(end - i == 1 && id[i] == '0');
    uint32_t out = 0;
    if (negative)
        id[out++] = '-';
    memmove(id + out, id + i, end - i);
    out += end - i;
    id[out] = '\0';
    *length = out;
}

void intent_id_normalize(intent_key key, char *id, uint32_t *length)
{
    switch (key) {
    case INTENT_KEY_UUID:
        uuid_normalize(id, length);
        break;
    case INTENT_KEY_BIGINT:
    case INTENT_KEY_INTEGER:
    case INTENT_KEY_SMALLINT:
        integer_normalize(id, length);
        break;
    case INTENT_KEY_TEXT:
        break;
    }
}

char *intent_ids_json(const char *entity, const char *const *ids, size_t count)
{
    cJSON *content = alloc_check(cJSON_CreateObject());
    alloc_check(cJSON_AddStringToObject(content, "entity", entity));
    cJSON_AddItemToObject(content, "ids", alloc_check(cJSON_CreateStringArray(ids, (int) count)));
    char *text = alloc_check(cJSON_PrintUnformatted(content));
    cJSON_Delete(content);
    return text;
}

void intent_free(intent *value)
{
    free(value->ids);
    free(value->id_text);
    value->ids = NULL;
    value->id_text = NULL;
    value->id_count = 0;
}
