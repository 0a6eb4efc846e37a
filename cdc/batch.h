/* batch: the work tvsync-cdc applies in one local transaction: distinct
 * (entity, id) pairs (duplicates coalesced), per-entity intent counts, dead
 * letters and rebuild requests, and the progress (end LSN and commit time of the
 * last complete source transaction) that the transaction records. Pure. */
#ifndef TVSYNC_CDC_BATCH_H
#define TVSYNC_CDC_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdc/intent.h"
#include "common/lsn.h"

/* An id of a batch entity: length bytes at offset of the entity's text (a NUL
 * follows them), and their hash (kept, so growing the index hashes nothing). */
typedef struct batch_id {
    uint32_t offset, length, hash;
} batch_id;

/* One entity's ids: a dense array in first-seen order, their text in one
 * growing buffer (no allocation per id), and a hash index. */
typedef struct batch_entity {
    char name[INTENT_ENTITY_MAX + 1];
    batch_id *ids;
    size_t id_count;
    size_t id_capacity;
    char *text;               /* the ids' text, each NUL-terminated */
    size_t text_length, text_capacity;
    uint32_t *index;          /* open addressing: 0 = empty, else position + 1 */
    size_t index_capacity;    /* a power of two, at least twice id_count */
    long intents;             /* intents of complete source transactions (for sync_log) */
    long open_intents;        /* intents of the source transaction still being read */
    long upserted, deleted;   /* filled by apply */
    size_t expanded;          /* apply: ids[0..expanded) had their cascades expanded */
    size_t intent_ids;        /* apply: ids[0..intent_ids) came from intents, the rest from cascades */
    bool failed;              /* apply: some ids of it went to dead_letter */
    char *error;              /* apply: the first build error, owned */
} batch_entity;

typedef enum batch_note_kind {
    BATCH_NOTE_DEAD_LETTER,   /* a malformed intent: goes to tvsync.dead_letter */
    BATCH_NOTE_REBUILD,       /* a full rebuild request for entity */
} batch_note_kind;

typedef struct batch_note {
    batch_note_kind kind;
    bool open;                /* from the source transaction still being read */
    lsn_t lsn;
    char entity[INTENT_ENTITY_MAX + 1];
    char *content;            /* dead letter: the message content (truncated), owned */
    char *reason;             /* dead letter: why, owned */
} batch_note;

typedef struct batch {
    batch_entity *entities;
    size_t entity_count;
    size_t id_count;          /* distinct (entity, id) pairs over all entities */
    batch_note *notes;
    size_t note_count;
    size_t note_capacity;
    size_t transactions;      /* complete source transactions that carried work */
    bool has_progress;        /* at least one complete source transaction (with work or not) */
    lsn_t progress_lsn;       /* end LSN of the last complete source transaction */
    char progress_time[48];   /* its commit time, as wal2json printed it */
    int64_t oldest_commit_unix_us; /* commit time of the first complete transaction, 0 if none */
    long open_intents_total;
    uint32_t *xids;           /* source transactions with work: apply waits until they are visible */
    size_t xid_count, xid_capacity;
    lsn_t *message_ends;      /* per complete source transaction, its last tvsync message's end */
    size_t message_end_count, message_end_capacity;
} batch;

/* Records the first apply error of an entity. */
void batch_entity_set_error(batch_entity *entity, const char *error);

/* Dead-letter content longer than this is cut (the LSN finds the original). */
#define BATCH_DEAD_LETTER_CONTENT_MAX 8192

/* A zeroed batch ({0}) is empty and owns nothing. */

/* Frees everything; the batch is then zeroed and may be used again. */
void batch_free(batch *value);

/* Adds ids of entity (as intents of the open source transaction) until the
 * batch holds max_ids distinct pairs. Returns how many of ids were consumed:
 * less than count means the batch is full and the rest must wait for the next
 * batch. Duplicates are coalesced (consumed without growing the batch). */
size_t batch_add_ids(batch *value, const char *entity, const char *text, const intent_id *ids, size_t count,
                     size_t max_ids);

/* Adds an id (length bytes of id) produced by a cascade: not an intent, not
 * bounded by max_ids. */
void batch_add_cascaded_id(batch *value, const char *entity, const char *id, size_t length);

/* The entity's entry, NULL when the batch has none. */
batch_entity *batch_find_entity(batch *value, const char *entity);

/* The position of the id (length bytes of id) in entity->ids, SIZE_MAX when absent. */
size_t batch_entity_position(const batch_entity *entity, const char *id, size_t length);

/* The text of entity's id i (NUL-terminated; valid until ids are added). */
static inline const char *batch_entity_id(const batch_entity *entity, size_t i)
{
    return entity->text + entity->ids[i].offset;
}

/* Notes a malformed intent or a rebuild request of the open transaction (a
 * rebuild request counts as one intent of its entity). */
void batch_add_dead_letter(batch *value, lsn_t lsn, const char *content, size_t content_length,
                           const char *reason);
void batch_add_rebuild(batch *value, lsn_t lsn, const char *entity);

/* Closes the open source transaction: its intents, dead letters and rebuild
 * requests become part of the batch, and progress moves to end_lsn/commit_time.
 * had_work says whether it counts against batch_max_transactions. */
void batch_commit_transaction(batch *value, lsn_t end_lsn, const char *commit_time,
                              int64_t commit_unix_us, bool had_work);

/* Remembers the end LSN of a complete source transaction's last tvsync message (the apply's
 * notification names it, for tvsync-server's read-your-writes). */
void batch_add_message_end(batch *value, lsn_t end);

/* Remembers the xid of a complete source transaction with work. */
void batch_add_xid(batch *value, uint32_t xid);

/* Moves the open transaction's intent counts and notes from `from` to `to`, so
 * `from` can be applied while the transaction goes on filling `to`. */
void batch_move_open(batch *from, batch *to);

/* True when the batch has anything for a local transaction to do. */
bool batch_has_work(const batch *value);

/* Empties the batch of everything but the open transaction's counts and notes. */
void batch_reset(batch *value);

#endif
