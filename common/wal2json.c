/* wal2json: turns wal2json format-version 2 objects into records with cJSON,
 * rejecting anything malformed with a reason instead of crashing. */
#include "config.h"

#include "common/wal2json.h"

#include "common/alloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

static bool read_digits(const char **cursor, int count, int *out)
{
    int value = 0;
    for (int i = 0; i < count; i++) {
        if (!isdigit((unsigned char) (*cursor)[i]))
            return false;
        value = value * 10 + ((*cursor)[i] - '0');
    }
    *cursor += count;
    *out = value;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (civil-from-days inverse). */
static int64_t days_from_civil(int year, int month, int day)
{
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

bool wal2json_parse_timestamp(const char *text, int64_t *unix_us)
{
    int year, month, day, hour, minute, second, offset_hours = 0, offset_minutes = 0;
    int64_t fraction_us = 0;
    const char *p = text;
    if (!text || !read_digits(&p, 4, &year) || *p++ != '-' || !read_digits(&p, 2, &month) ||
        *p++ != '-' || !read_digits(&p, 2, &day) || (*p != ' ' && *p != 'T'))
        return false;
    p++;
    if (!read_digits(&p, 2, &hour) || *p++ != ':' || !read_digits(&p, 2, &minute) ||
        *p++ != ':' || !read_digits(&p, 2, &second))
        return false;
    if (*p == '.') {
        int digits = 0;
        p++;
        while (isdigit((unsigned char) *p)) {
            if (digits < 6) {
                fraction_us = fraction_us * 10 + (*p - '0');
                digits++;
            }
            p++;
        }
        if (digits == 0)
            return false;
        for (; digits < 6; digits++)
            fraction_us *= 10;
    }
    int sign = 0;
    if (*p == '+')
        sign = 1;
    else if (*p == '-')
        sign = -1;
    else if (*p == 'Z' && p[1] == '\0')
        p++;
    else
        return false;
    if (sign != 0) {
        p++;
        if (!read_digits(&p, 2, &offset_hours))
            return false;
        if (*p == ':')
            p++;
        if (*p != '\0' && !read_digits(&p, 2, &offset_minutes))
            return false;
    }
    if (*p != '\0' || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
        minute > 59 || second > 60 || offset_hours > 15 || offset_minutes > 59)
        return false;
    int64_t seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
    seconds -= sign * (offset_hours * 3600 + offset_minutes * 60);
    *unix_us = seconds * 1000000 + fraction_us;
    return true;
}

static bool read_lsn(const cJSON *object, const char *name, bool required, lsn_t *out,
                     char *error, size_t error_size)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    *out = LSN_INVALID;
    if (!item || cJSON_IsNull(item)) {
        if (required)
            snprintf(error, error_size, "\"%s\" is missing", name);
        return !required;
    }
    if (!cJSON_IsString(item) || !lsn_parse(item->valuestring, out)) {
        snprintf(error, error_size, "\"%s\" is not an LSN", name);
        return false;
    }
    return true;
}

static bool read_timestamp(const cJSON *object, wal2json_record *out, char *error, size_t error_size)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, "timestamp");
    out->has_timestamp = false;
    if (!item || cJSON_IsNull(item))
        return true;
    if (!cJSON_IsString(item) || strlen(item->valuestring) >= sizeof out->timestamp ||
        !wal2json_parse_timestamp(item->valuestring, &out->timestamp_unix_us)) {
        snprintf(error, error_size, "\"timestamp\" is not a timestamp");
        return false;
    }
    strcpy(out->timestamp, item->valuestring);
    out->has_timestamp = true;
    return true;
}

/* The schema, table and columns of an I object. */
static bool read_insert(const cJSON *object, wal2json_record *out, char *error, size_t error_size)
{
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(object, "schema");
    const cJSON *table = cJSON_GetObjectItemCaseSensitive(object, "table");
    const cJSON *columns = cJSON_GetObjectItemCaseSensitive(object, "columns");
    if (!cJSON_IsString(schema) || !cJSON_IsString(table) || !cJSON_IsArray(columns)) {
        snprintf(error, error_size, "an insert needs \"schema\", \"table\" and \"columns\"");
        return false;
    }
    out->schema = alloc_strdup(schema->valuestring);
    out->table = alloc_strdup(table->valuestring);
    int count = cJSON_GetArraySize(columns);
    out->columns = alloc_calloc((size_t) (count > 0 ? count : 1), sizeof *out->columns);
    const cJSON *column;
    cJSON_ArrayForEach(column, columns) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(column, "name");
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(column, "value");
        if (!cJSON_IsString(name) || !value) {
            snprintf(error, error_size, "column %zu of an insert has no \"name\" or \"value\"", out->column_count);
            return false;
        }
        wal2json_column *target = &out->columns[out->column_count++];
        target->name = alloc_strdup(name->valuestring);
        if (cJSON_IsString(value))
            target->value = alloc_strdup(value->valuestring);
        else if (!cJSON_IsNull(value)) {
            char *printed = alloc_check(cJSON_PrintUnformatted(value));
            target->value = alloc_strdup(printed);
            cJSON_free(printed);
        }
    }
    return true;
}

const char *wal2json_column_value(const wal2json_record *record, const char *name)
{
    for (size_t i = 0; i < record->column_count; i++)
        if (strcmp(record->columns[i].name, name) == 0)
            return record->columns[i].value;
    return NULL;
}

bool wal2json_parse(const char *text, size_t length, wal2json_record *out,
                    char *error, size_t error_size)
{
    memset(out, 0, sizeof *out);
    cJSON *root = cJSON_ParseWithLength(text, length);
    if (!root || !cJSON_IsObject(root)) {
        snprintf(error, error_size, "not a JSON object");
        cJSON_Delete(root);
        return false;
    }
    bool ok = false;
    const cJSON *xid = cJSON_GetObjectItemCaseSensitive(root, "xid");
    if (cJSON_IsNumber(xid) && xid->valuedouble >= 0 && xid->valuedouble <= 4294967295.0)
        out->xid = (uint32_t) xid->valuedouble;
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(root, "action");
    if (!cJSON_IsString(action) || strlen(action->valuestring) != 1) {
        snprintf(error, error_size, "\"action\" is missing or not one letter");
        goto done;
    }
    switch (action->valuestring[0]) {
    case 'B':
    case 'C':
        out->action = action->valuestring[0] == 'B' ? WAL2JSON_BEGIN : WAL2JSON_COMMIT;
        ok = read_lsn(root, "lsn", false, &out->lsn, error, error_size) &&
             read_lsn(root, "nextlsn", true, &out->next_lsn, error, error_size) &&
             read_timestamp(root, out, error, error_size);
        break;
    case 'M': {
        out->action = WAL2JSON_MESSAGE;
        const cJSON *transactional = cJSON_GetObjectItemCaseSensitive(root, "transactional");
        const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(root, "prefix");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(root, "content");
        if (!cJSON_IsBool(transactional) || !cJSON_IsString(prefix) || !cJSON_IsString(content)) {
            snprintf(error, error_size, "a message needs \"transactional\", \"prefix\" and \"content\"");
            break;
        }
        if (!read_lsn(root, "lsn", false, &out->lsn, error, error_size) ||
            !read_timestamp(root, out, error, error_size))
            break;
        out->transactional = cJSON_IsTrue(transactional);
        out->prefix = alloc_strdup(prefix->valuestring);
        out->content_length = strlen(content->valuestring);
        out->content = alloc_strdup(content->valuestring);
        ok = true;
        break;
    }
    case 'I':
        out->action = WAL2JSON_INSERT;
        ok = read_lsn(root, "lsn", false, &out->lsn, error, error_size) && read_insert(root, out, error, error_size);
        break;
    case 'U':
    case 'D':
    case 'T':
        out->action = WAL2JSON_OTHER;
        ok = true;
        break;
    default:
        snprintf(error, error_size, "unknown action \"%s\"", action->valuestring);
        break;
    }
done:
    cJSON_Delete(root);
    if (!ok)
        wal2json_record_free(out);
    return ok;
}

char *wal2json_message_content(const char *text, size_t length)
{
    wal2json_record record;
    char error[128];
    if (!wal2json_parse(text, length, &record, error, sizeof error))
        return NULL;
    char *content = NULL;
    if (record.action == WAL2JSON_MESSAGE) {
        content = record.content;
        record.content = NULL;
    }
    wal2json_record_free(&record);
    return content;
}

void wal2json_record_free(wal2json_record *record)
{
    free(record->prefix);
    free(record->content);
    record->prefix = NULL;
    record->content = NULL;
    record->content_length = 0;
    for (size_t i = 0; i < record->column_count; i++) {
        free(record->columns[i].name);
        free(record->columns[i].value);
    }
    free(record->columns);
    free(record->schema);
    free(record->table);
    record->columns = NULL;
    record->column_count = 0;
    record->schema = record->table = NULL;
}
