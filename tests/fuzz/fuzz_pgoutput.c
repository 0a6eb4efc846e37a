/* fuzz_pgoutput: libFuzzer target for tvsync-cdc's pgoutput decoder (common/pgoutput.c): the
 * input is a stream of messages, each a 2-byte big-endian length and its bytes, fed to one
 * decoder (so Relation messages name later Inserts); never a crash, a leak or a read past a message. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/pgoutput.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pgoutput_decoder *decoder = pgoutput_decoder_new("tvsync");
    size_t at = 0;
    while (at + 2 <= size) {
        size_t length = ((size_t) data[at] << 8) | data[at + 1];
        at += 2;
        if (length > size - at)
            length = size - at;
        /* a copy of exactly the message's length, so ASan sees any read past its end */
        char *message = malloc(length ? length : 1);
        if (!message)
            break;
        memcpy(message, data + at, length);
        at += length;
        wal2json_record record;
        char error[256];
        if (pgoutput_decode(decoder, message, length, &record, error, sizeof error)) {
            if (record.action == WAL2JSON_MESSAGE && strlen(record.content) > record.content_length)
                __builtin_trap();   /* the content's length is its bytes' */
            if (record.action == WAL2JSON_INSERT)
                for (size_t i = 0; i < record.column_count; i++)
                    (void) wal2json_column_value(&record, record.columns[i].name);
            wal2json_record_free(&record);
        } else if (error[0] == '\0') {
            __builtin_trap();   /* a refusal always says why */
        }
        free(message);
    }
    pgoutput_decoder_free(decoder);
    return 0;
}
