/* pgoutput: reads pgoutput's big-endian binary messages with a bounds-checked cursor,
 * so a truncated or malformed message is an error with a reason, never a read past its end. */
#include "config.h"

#include "common/pgoutput.h"

#include "common/alloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* µs between the Unix epoch and PostgreSQL's (2000-01-01 UTC). */
#define PGOUTPUT_EPOCH_OFFSET_US INT64_C(946684800000000)

typedef struct relation {
    uint32_t oid;
    char *schema, *table;
    char **columns;
    size_t column_count;
} relation;

struct pgoutput_decoder {
    relation *relations;
    size_t relation_count, relation_capacity;
    char *skip_origin;
    bool skipping;          /* inside a transaction of skip_origin */
};

typedef struct cursor {
    const unsigned char *p, *end;
    char *error;
    size_t error_size;
    bool failed;
} cursor;

static bool fail(cursor *c, const char *what)
{
    if (!c->failed)
        snprintf(c->error, c->error_size, "%s", what);
    c->failed = true;
    return false;
}

static bool need(cursor *c, size_t bytes, const char *what)
{
    if (c->failed)
        return false;
    if ((size_t) (c->end - c->p) < bytes) {
        char message[160];
        snprintf(message, sizeof message, "truncated message: %s needs %zu bytes, %zu left", what, bytes,
                 (size_t) (c->end - c->p));
        return fail(c, message);
    }
    return true;
}

static uint64_t read_uint(cursor *c, int bytes, const char *what)
{
    if (!need(c, (size_t) bytes, what))
        return 0;
    uint64_t value = 0;
    for (int i = 0; i < bytes; i++)
        value = (value << 8) | c->p[i];
    c->p += bytes;
    return value;
}

/* A NUL-terminated String; points into the message. */
static const char *read_string(cursor *c, const char *what)
{
    if (c->failed)
        return NULL;
    const unsigned char *nul = memchr(c->p, '\0', (size_t) (c->end - c->p));
    if (!nul) {
        char message[160];
        snprintf(message, sizeof message, "truncated message: %s has no terminating NUL", what);
        fail(c, message);
        return NULL;
    }
    const char *text = (const char *) c->p;
    c->p = nul + 1;
    return text;
}

/* Bytes of a length given on the wire; points into the message. */
static const unsigned char *read_bytes(cursor *c, uint32_t length, const char *what)
{
    if (!need(c, length, what))
        return NULL;
    const unsigned char *bytes = c->p;
    c->p += length;
    return bytes;
}

static char *copy_bytes(const unsigned char *bytes, size_t length)
{
    char *copy = alloc_malloc(length + 1);
    memcpy(copy, bytes, length);
    copy[length] = '\0';
    return copy;
}

/* Days since 1970-01-01 to a proleptic Gregorian date (days-to-civil). */
static void civil_from_days(int64_t days, int *year, int *month, int *day)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t day_of_era = days - era * 146097;
    int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t mp = (5 * day_of_year + 2) / 153;
    *day = (int) (day_of_year - (153 * mp + 2) / 5 + 1);
    *month = (int) (mp < 10 ? mp + 3 : mp - 9);
    *year = (int) (year_of_era + era * 400 + (*month <= 2));
}

/* A commit timestamp (µs since 2000-01-01 UTC) as the record carries it: µs since the
 * Unix epoch and the timestamptz literal wal2json would print. */
static void set_timestamp(wal2json_record *out, int64_t postgres_us)
{
    if (postgres_us > INT64_MAX - PGOUTPUT_EPOCH_OFFSET_US)
        return;   /* past any literal (a garbled commit time): no timestamp, not an overflow */
    int64_t unix_us = postgres_us + PGOUTPUT_EPOCH_OFFSET_US;
    int64_t seconds = unix_us / 1000000, fraction = unix_us % 1000000;
    if (fraction < 0) {
        fraction += 1000000;
        seconds--;
    }
    int64_t days = seconds / 86400, in_day = seconds % 86400;
    if (in_day < 0) {
        in_day += 86400;
        days--;
    }
    int year, month, day;
    civil_from_days(days, &year, &month, &day);
    if (year < 0 || year > 9999)
        return;   /* no literal for it: the record has no timestamp, like a wal2json one without */
    snprintf(out->timestamp, sizeof out->timestamp, "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", year, month, day,
             (int) (in_day / 3600), (int) (in_day / 60 % 60), (int) (in_day % 60), (int) fraction);
    out->timestamp_unix_us = unix_us;
    out->has_timestamp = true;
}

static relation *relation_find(pgoutput_decoder *decoder, uint32_t oid)
{
    for (size_t i = 0; i < decoder->relation_count; i++)
        if (decoder->relations[i].oid == oid)
            return &decoder->relations[i];
    return NULL;
}

static void relation_clear(relation *rel)
{
    for (size_t i = 0; i < rel->column_count; i++)
        free(rel->columns[i]);
    free(rel->columns);
    free(rel->schema);
    free(rel->table);
    memset(rel, 0, sizeof *rel);
}

/* 'R': remembered (replacing an older description of the same relation) once whole. */
static bool read_relation(pgoutput_decoder *decoder, cursor *c)
{
    uint32_t oid = (uint32_t) read_uint(c, 4, "a relation's id");
    const char *schema = read_string(c, "a relation's namespace");
    const char *table = read_string(c, "a relation's name");
    read_uint(c, 1, "a relation's replica identity");
    uint16_t count = (uint16_t) read_uint(c, 2, "a relation's column count");
    if (c->failed)
        return false;
    relation fresh = {.oid = oid, .column_count = 0};
    fresh.columns = alloc_calloc(count > 0 ? count : 1, sizeof *fresh.columns);
    for (uint16_t i = 0; i < count; i++) {
        read_uint(c, 1, "a column's flags");
        const char *name = read_string(c, "a column's name");
        read_uint(c, 8, "a column's type and modifier");
        if (c->failed) {
            relation_clear(&fresh);
            return false;
        }
        fresh.columns[fresh.column_count++] = alloc_strdup(name);
    }
    /* pgoutput names pg_catalog with an empty namespace */
    fresh.schema = alloc_strdup(schema[0] ? schema : "pg_catalog");
    fresh.table = alloc_strdup(table);
    relation *old = relation_find(decoder, oid);
    if (old) {
        relation_clear(old);
        *old = fresh;
        return true;
    }
    if (decoder->relation_count == decoder->relation_capacity) {
        decoder->relation_capacity = decoder->relation_capacity ? decoder->relation_capacity * 2 : 4;
        decoder->relations = alloc_realloc(decoder->relations, decoder->relation_capacity * sizeof *decoder->relations);
    }
    decoder->relations[decoder->relation_count++] = fresh;
    return true;
}

/* TupleData; with out, the values go into out's columns (named by rel). */
static bool read_tuple(cursor *c, const relation *rel, wal2json_record *out)
{
    uint16_t count = (uint16_t) read_uint(c, 2, "a tuple's column count");
    if (c->failed)
        return false;
    if (out) {
        if (count != rel->column_count)
            return fail(c, "an insert's column count differs from its relation's");
        out->columns = alloc_calloc(count > 0 ? count : 1, sizeof *out->columns);
    }
    for (uint16_t i = 0; i < count; i++) {
        char kind = (char) read_uint(c, 1, "a column's kind");
        char *value = NULL;
        if (c->failed)
            return false;
        if (kind == 't' || kind == 'b') {
            uint32_t length = (uint32_t) read_uint(c, 4, "a column value's length");
            const unsigned char *bytes = read_bytes(c, length, "a column value");
            if (!bytes)
                return false;
            if (kind == 'b' && out)
                return fail(c, "a column value is in binary form (tvsync asks for text)");
            if (out)
                value = copy_bytes(bytes, length);
        } else if (kind != 'n' && kind != 'u') {
            return fail(c, "a column's kind is none of n, u, t, b");
        }
        if (out) {
            out->columns[out->column_count].name = alloc_strdup(rel->columns[i]);
            out->columns[out->column_count++].value = value;
        }
    }
    return true;
}

static bool read_insert(pgoutput_decoder *decoder, cursor *c, wal2json_record *out)
{
    uint32_t oid = (uint32_t) read_uint(c, 4, "an insert's relation id");
    char marker = (char) read_uint(c, 1, "an insert's N");
    if (c->failed)
        return false;
    if (marker != 'N')
        return fail(c, "an insert's tuple does not start with N");
    const relation *rel = relation_find(decoder, oid);
    if (!rel) {
        char message[128];
        snprintf(message, sizeof message, "an insert into relation %" PRIu32 " that no Relation message described", oid);
        return fail(c, message);
    }
    if (decoder->skipping) {
        out->action = WAL2JSON_OTHER;
        return read_tuple(c, rel, NULL);
    }
    out->action = WAL2JSON_INSERT;
    out->schema = alloc_strdup(rel->schema);
    out->table = alloc_strdup(rel->table);
    return read_tuple(c, rel, out);
}

/* 'U' and 'D': an optional old tuple (K or O) and, for U, the new one (N). */
static bool skip_row_change(cursor *c, bool update)
{
    read_uint(c, 4, "a row change's relation id");
    char marker = (char) read_uint(c, 1, "a row change's tuple marker");
    if (c->failed)
        return false;
    if (marker == 'K' || marker == 'O') {
        if (!read_tuple(c, NULL, NULL))
            return false;
        if (!update)
            return true;
        marker = (char) read_uint(c, 1, "an update's N");
        if (c->failed)
            return false;
    } else if (!update) {
        return fail(c, "a delete's tuple does not start with K or O");
    }
    if (marker != 'N')
        return fail(c, "an update's new tuple does not start with N");
    return read_tuple(c, NULL, NULL);
}

static bool decode(pgoutput_decoder *decoder, cursor *c, wal2json_record *out)
{
    char type = (char) read_uint(c, 1, "the message type");
    if (c->failed)
        return false;
    out->action = WAL2JSON_OTHER;
    switch (type) {
    case 'B': {
        out->action = WAL2JSON_BEGIN;
        out->lsn = read_uint(c, 8, "a begin's final LSN");
        int64_t time = (int64_t) read_uint(c, 8, "a begin's commit time");
        out->xid = (uint32_t) read_uint(c, 4, "a begin's xid");
        out->next_lsn = LSN_INVALID;
        if (!c->failed)
            set_timestamp(out, time);
        decoder->skipping = false;
        break;
    }
    case 'C': {
        out->action = WAL2JSON_COMMIT;
        read_uint(c, 1, "a commit's flags");
        out->lsn = read_uint(c, 8, "a commit's LSN");
        out->next_lsn = read_uint(c, 8, "a commit's end LSN");
        int64_t time = (int64_t) read_uint(c, 8, "a commit's time");
        if (!c->failed)
            set_timestamp(out, time);
        decoder->skipping = false;
        break;
    }
    case 'M': {
        uint8_t flags = (uint8_t) read_uint(c, 1, "a message's flags");
        lsn_t lsn = read_uint(c, 8, "a message's LSN");
        const char *prefix = read_string(c, "a message's prefix");
        uint32_t length = (uint32_t) read_uint(c, 4, "a message's content length");
        const unsigned char *content = read_bytes(c, length, "a message's content");
        if (!content)
            return false;
        if (decoder->skipping)
            break;
        out->action = WAL2JSON_MESSAGE;
        out->lsn = lsn;
        out->transactional = (flags & 1) != 0;
        out->prefix = alloc_strdup(prefix);
        out->content = copy_bytes(content, length);
        out->content_length = length;
        break;
    }
    case 'I':
        return read_insert(decoder, c, out) && (c->p == c->end || fail(c, "bytes after an insert"));
    case 'R':
        read_relation(decoder, c);
        break;
    case 'O': {
        read_uint(c, 8, "an origin's LSN");
        const char *name = read_string(c, "an origin's name");
        if (name && decoder->skip_origin && strcmp(name, decoder->skip_origin) == 0)
            decoder->skipping = true;
        break;
    }
    case 'Y':
        read_uint(c, 4, "a type's id");
        read_string(c, "a type's namespace");
        read_string(c, "a type's name");
        break;
    case 'U':
    case 'D':
        skip_row_change(c, type == 'U');
        break;
    case 'T': {
        uint32_t count = (uint32_t) read_uint(c, 4, "a truncate's relation count");
        read_uint(c, 1, "a truncate's options");
        if (!c->failed && (size_t) (c->end - c->p) / 4 < count)
            return fail(c, "truncated message: a truncate's relation ids");
        c->p += (size_t) count * 4;
        break;
    }
    default: {
        char message[96];
        if (type >= 0x20 && type < 0x7f)
            snprintf(message, sizeof message, "unknown pgoutput message type '%c'", type);
        else
            snprintf(message, sizeof message, "unknown pgoutput message type 0x%02x", (unsigned char) type);
        return fail(c, message);
    }
    }
    if (c->failed)
        return false;
    if (c->p != c->end)
        return fail(c, "bytes after the end of the message");
    return true;
}

bool pgoutput_decode(pgoutput_decoder *decoder, const char *data, size_t length, wal2json_record *out,
                     char *error, size_t error_size)
{
    memset(out, 0, sizeof *out);
    cursor c = {.p = (const unsigned char *) data, .end = (const unsigned char *) data + length,
                .error = error, .error_size = error_size};
    if (!data) {
        snprintf(error, error_size, "an empty message");
        return false;
    }
    if (decode(decoder, &c, out))
        return true;
    wal2json_record_free(out);
    return false;
}

/* NAMEDATALEN - 1 of a stock PostgreSQL */
#define PGOUTPUT_NAME_MAX 63

char *pgoutput_publication_name(const char *slot)
{
    size_t length = strlen(slot);
    char *name = alloc_malloc(length + sizeof "_pub");
    memcpy(name, slot, length);
    memcpy(name + length, "_pub", sizeof "_pub");
    if (length + 4 > PGOUTPUT_NAME_MAX)
        name[PGOUTPUT_NAME_MAX] = '\0';   /* slot names are ASCII: no character is cut in half */
    return name;
}

pgoutput_decoder *pgoutput_decoder_new(const char *skip_origin)
{
    pgoutput_decoder *decoder = alloc_calloc(1, sizeof *decoder);
    decoder->skip_origin = skip_origin ? alloc_strdup(skip_origin) : NULL;
    return decoder;
}

void pgoutput_decoder_free(pgoutput_decoder *decoder)
{
    if (!decoder)
        return;
    for (size_t i = 0; i < decoder->relation_count; i++)
        relation_clear(&decoder->relations[i]);
    free(decoder->relations);
    free(decoder->skip_origin);
    free(decoder);
}
