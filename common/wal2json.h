/* wal2json: the one reader of wal2json's format-version 2 objects as tvsync asks for them
 * (B begin, M logical message, C commit, and I for the few tables tvsync-cdc decodes rows
 * of), for tvsync-cdc's stream and tvsync-slot's peek. Pure: no I/O. */
#ifndef TVSYNC_COMMON_WAL2JSON_H
#define TVSYNC_COMMON_WAL2JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/lsn.h"

typedef enum wal2json_action {
    WAL2JSON_BEGIN,    /* "B": lsn = commit LSN, next_lsn = end LSN of the transaction */
    WAL2JSON_MESSAGE,  /* "M": transactional, prefix, content */
    WAL2JSON_COMMIT,   /* "C": lsn = commit LSN, next_lsn = end LSN of the transaction */
    WAL2JSON_INSERT,   /* "I": schema, table and the new row's columns */
    WAL2JSON_OTHER,    /* U/D/T: a row change (tvsync asks for none; callers ignore it) */
} wal2json_action;

/* WAL2JSON_TIMESTAMP_SIZE holds "2026-11-24 01:15:35.507741+00:00" with room to spare. */
#define WAL2JSON_TIMESTAMP_SIZE 48

/* A column of an inserted row: its value as text (a string as it is, a number or a
 * boolean as wal2json printed it), NULL for SQL NULL. */
typedef struct wal2json_column {
    char *name;
    char *value;
} wal2json_column;

typedef struct wal2json_record {
    wal2json_action action;
    uint32_t xid;                /* with include-xids; 0 when absent or null */
    lsn_t lsn;                   /* LSN_INVALID when absent */
    lsn_t next_lsn;              /* B and C; LSN_INVALID when absent */
    bool has_timestamp;
    int64_t timestamp_unix_us;   /* commit time, µs since the Unix epoch */
    char timestamp[WAL2JSON_TIMESTAMP_SIZE]; /* as wal2json printed it (a timestamptz literal) */
    bool transactional;          /* M only */
    char *prefix;                /* M only; owned by the record */
    char *content;               /* M only; owned by the record, NUL-terminated */
    size_t content_length;
    char *schema, *table;        /* I only; owned by the record */
    wal2json_column *columns;    /* I only; owned by the record */
    size_t column_count;
} wal2json_record;

/* Parses one JSON object of length bytes (need not be NUL-terminated).
 * On success fills *out (free with wal2json_record_free) and returns true.
 * On anything that is not a well-formed B/M/C/I object (not JSON, no "action",
 * a B or C without "nextlsn", an M without prefix/content, an I without schema,
 * table or well-formed columns, a bad LSN or timestamp) returns false, writes the reason into error[] and leaves nothing
 * to free. */
bool wal2json_parse(const char *text, size_t length, wal2json_record *out,
                    char *error, size_t error_size);

/* The value of an I record's column named name: NULL when the column is absent or SQL NULL
 * (the record's; valid until it is freed). */
const char *wal2json_column_value(const wal2json_record *record, const char *name);

/* Frees what the record owns; safe on a zeroed record, and twice. */
void wal2json_record_free(wal2json_record *record);

/* The content of a logical message object (action "M" with transactional, prefix and
 * content, as wal2json_parse requires), as a NUL-terminated copy the caller frees; NULL for
 * anything else (another action, not JSON, a malformed message). */
char *wal2json_message_content(const char *text, size_t length);

/* Parses a timestamptz as wal2json prints it ("2026-11-24 01:15:35.507741+00",
 * offsets "+05:30" and "-08" too) into µs since the Unix epoch. */
bool wal2json_parse_timestamp(const char *text, int64_t *unix_us);

#endif
