/* pgoutput: the one reader of PostgreSQL's built-in pgoutput plugin's binary messages
 * (protocol version 1, with messages 'true'), turned into the records tvsync-cdc reads
 * from wal2json, so both plugins feed the same pipeline. Pure: no I/O. */
#ifndef TVSYNC_COMMON_PGOUTPUT_H
#define TVSYNC_COMMON_PGOUTPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/wal2json.h"

/* A decoding session's state: the relations the server described (pgoutput sends a
 * Relation message before a table's first row change of a session and again when the
 * table changes) and whether the current transaction is one to leave out. */
typedef struct pgoutput_decoder pgoutput_decoder;

/* A decoder for one replication session. skip_origin: the replication origin whose
 * transactions are left out (their Begin and Commit are still returned, their messages and
 * rows are not, as wal2json's filter-origins does); NULL for none. The caller frees it with
 * pgoutput_decoder_free. Aborts on out-of-memory like every allocation (common/alloc). */
pgoutput_decoder *pgoutput_decoder_new(const char *skip_origin);

/* Frees the decoder; NULL is fine. */
void pgoutput_decoder_free(pgoutput_decoder *decoder);

/* Decodes one pgoutput message of length bytes into *out (free with wal2json_record_free):
 *  'B' Begin   -> WAL2JSON_BEGIN: xid, lsn = the commit's LSN, next_lsn = LSN_INVALID (the
 *                 transaction's end is not known before its Commit), commit timestamp;
 *  'M' Message -> WAL2JSON_MESSAGE: lsn = the message's end (as pg_logical_emit_message
 *                 returned it), transactional, prefix, content;
 *  'C' Commit  -> WAL2JSON_COMMIT: lsn = the commit's LSN, next_lsn = the transaction's end;
 *  'I' Insert  -> WAL2JSON_INSERT: schema, table and the columns named by the relation's
 *                 last Relation message, values in text form (NULL for SQL NULL or an
 *                 unchanged TOAST value);
 *  'R' Relation (remembered), 'Y' Type, 'O' Origin, 'U' Update, 'D' Delete, 'T' Truncate ->
 *                 WAL2JSON_OTHER, after checking they are well formed.
 * Messages of a transaction of skip_origin are WAL2JSON_OTHER too.
 * Returns false, with the reason in error[] and nothing to free, on a truncated or malformed
 * message, an unknown message type, or an Insert into a relation never described. */
bool pgoutput_decode(pgoutput_decoder *decoder, const char *data, size_t length, wal2json_record *out,
                     char *error, size_t error_size);

/* The publication a slot streamed with pgoutput uses: "<slot>_pub", cut to PostgreSQL's
 * 63-byte names as the server would cut it. The caller frees it. */
char *pgoutput_publication_name(const char *slot);

#endif
