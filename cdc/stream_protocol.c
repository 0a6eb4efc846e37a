/* stream_protocol: encodes and decodes the replication CopyData messages
 * ('w', 'k', 'r'); every integer on the wire is big-endian. */
#include "config.h"

#include "cdc/stream_protocol.h"

#include <time.h>

static uint64_t read_uint64(const unsigned char *p)
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value = (value << 8) | p[i];
    return value;
}

static void write_uint64(unsigned char *p, uint64_t value)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char) (value & 0xff);
        value >>= 8;
    }
}

bool stream_message_parse(const char *buffer, size_t length, stream_message *out)
{
    const unsigned char *p = (const unsigned char *) buffer;
    if (!buffer || length < 1)
        return false;
    switch (p[0]) {
    case 'w':
        if (length < STREAM_XLOG_DATA_HEADER_SIZE)
            return false;
        out->kind = STREAM_MESSAGE_XLOG_DATA;
        out->data_start = read_uint64(p + 1);
        out->wal_end = read_uint64(p + 9);
        out->send_time = (int64_t) read_uint64(p + 17);
        out->reply_requested = false;
        out->payload = buffer + STREAM_XLOG_DATA_HEADER_SIZE;
        out->payload_length = length - STREAM_XLOG_DATA_HEADER_SIZE;
        return true;
    case 'k':
        if (length < STREAM_KEEPALIVE_SIZE)
            return false;
        out->kind = STREAM_MESSAGE_KEEPALIVE;
        out->data_start = LSN_INVALID;
        out->wal_end = read_uint64(p + 1);
        out->send_time = (int64_t) read_uint64(p + 9);
        out->reply_requested = p[17] != 0;
        out->payload = NULL;
        out->payload_length = 0;
        return true;
    default:
        return false;
    }
}

void stream_status_update_build(lsn_t write, lsn_t flush, lsn_t apply, int64_t client_time,
                                bool reply_requested, unsigned char out[STREAM_STATUS_UPDATE_SIZE])
{
    out[0] = 'r';
    write_uint64(out + 1, write);
    write_uint64(out + 9, flush);
    write_uint64(out + 17, apply);
    write_uint64(out + 25, (uint64_t) client_time);
    out[33] = reply_requested ? 1 : 0;
}

int64_t stream_time_from_unix_us(int64_t unix_us)
{
    return unix_us - STREAM_POSTGRES_EPOCH_OFFSET_US;
}

int64_t stream_time_to_unix_us(int64_t postgres_us)
{
    return postgres_us + STREAM_POSTGRES_EPOCH_OFFSET_US;
}

int64_t stream_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return stream_time_from_unix_us((int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000);
}
