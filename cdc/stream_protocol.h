/* stream_protocol: the CopyData messages of PostgreSQL's streaming replication
 * protocol that tvsync-cdc reads ('w', 'k') and writes ('r'). Pure: no I/O. */
#ifndef TVSYNC_CDC_STREAM_PROTOCOL_H
#define TVSYNC_CDC_STREAM_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/lsn.h"

/* 'w' + dataStart + walEnd + sendTime. */
#define STREAM_XLOG_DATA_HEADER_SIZE 25
/* 'k' + walEnd + sendTime + replyRequested. */
#define STREAM_KEEPALIVE_SIZE 18
/* 'r' + write + flush + apply + clientTime + replyRequested. */
#define STREAM_STATUS_UPDATE_SIZE 34

/* Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 UTC). */
#define STREAM_POSTGRES_EPOCH_OFFSET_US INT64_C(946684800000000)

typedef enum stream_message_kind {
    STREAM_MESSAGE_XLOG_DATA,  /* 'w': one piece of decoded output */
    STREAM_MESSAGE_KEEPALIVE,  /* 'k': primary keepalive */
} stream_message_kind;

typedef struct stream_message {
    stream_message_kind kind;
    lsn_t data_start;          /* 'w' only */
    lsn_t wal_end;
    int64_t send_time;         /* µs since 2000-01-01 UTC */
    bool reply_requested;      /* 'k' only */
    const char *payload;       /* 'w' only: points into the parsed buffer, not NUL-terminated */
    size_t payload_length;
} stream_message;

/* Parses one CopyData message. *out points into buffer (which must outlive
 * it). Returns false on an unknown type or a truncated message; *out is then
 * unspecified. */
bool stream_message_parse(const char *buffer, size_t length, stream_message *out);

/* Writes the 34-byte standby status update ('r') into out. */
void stream_status_update_build(lsn_t write, lsn_t flush, lsn_t apply, int64_t client_time,
                                bool reply_requested, unsigned char out[STREAM_STATUS_UPDATE_SIZE]);

/* Now as µs since 2000-01-01 UTC (CLOCK_REALTIME). */
int64_t stream_now(void);

/* Converts between Unix µs and PostgreSQL µs. */
int64_t stream_time_from_unix_us(int64_t unix_us);
int64_t stream_time_to_unix_us(int64_t postgres_us);

#endif
