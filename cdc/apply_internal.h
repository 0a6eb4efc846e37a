/* apply_internal: the state of an apply engine, shared by the files that make
 * up the engine (apply.c: the transaction; apply_cascade.c: its cascade step;
 * apply_chunk.c: rebuild chunks). Not for other modules: they use apply.h. */
#ifndef TVSYNC_CDC_APPLY_INTERNAL_H
#define TVSYNC_CDC_APPLY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <event2/event.h>

#include "cdc/apply.h"
#include "cdc/apply_chunk.h"
#include "cdc/cascade.h"
#include "common/strbuf.h"

/* What tvsync.cdc_check_visible (migration 039) raises when the transaction's
 * snapshot does not see a source transaction yet. */
#define APPLY_NOT_VISIBLE_SQLSTATE "TVS02"

typedef enum apply_step {
    STEP_BEGIN,
    STEP_CASCADE,
    STEP_APPLY,      /* the tail: applies, notes, progress and COMMIT, pipelined */
    STEP_ROLLBACK,
} apply_step;

/* What a pipelined statement of the transaction's tail is, so its result can be
 * read when it arrives (results come back in the order they were sent). */
typedef enum tail_kind {
    TAIL_APPLY,
    TAIL_NOTE,
    TAIL_FINAL,
    TAIL_COMMIT,
} tail_kind;

typedef struct tail_tag {
    tail_kind kind;
    size_t index;             /* TAIL_APPLY: entity; TAIL_NOTE: note */
} tail_tag;

/* A cascade query of the group in flight: the ids it added to its target (the
 * range [from, to) of the target's ids), whether the target had no other
 * cascade-added ids waiting (so the iteration will diff exactly that range
 * next), and whether the query went inside a diff of its targets (along). */
typedef struct group_slot {
    size_t entity, from, to;
    bool alone;
    bool along;
    bool patched;             /* ... with the edge's patch function */
} group_slot;

/* A diff of a range the iteration has not reached yet. */
typedef struct ahead_diff {
    size_t entity, from, to;
    PGresult *result;         /* NULL until it is back */
} ahead_diff;

/* A range of the batch's (entity, id) pairs, numbered entity by entity. */
typedef struct pair_range {
    size_t from, to;
} pair_range;

/* What the apply does with an id: build it, nothing (a diff found its document
 * current), or take the document its diff built (kept in pg_temp.tvsync_built). */
enum { ID_BUILD = 0, ID_CURRENT = 1, ID_BUILT = 2 };
/* A flag beside the state: a diff along a cascade edge computed the id's
 * document with the edge's patch function (right only when nothing but that
 * query's source rows changed it), so no other query may reach it in this
 * transaction. */
#define ID_PATCHED 4
#define ID_STATE_MASK 3

struct apply_engine {
    pg_pipeline *conn;
    int max_retries;
    struct event *retry_timer;
    struct event *kick;       /* sends BEGIN and the first step from the loop */

    bool busy;
    batch *work;
    const registry *reg;
    apply_done_cb done;
    void *done_arg;
    apply_outcome outcome;
    struct timespec started;

    apply_step step;
    bool bisecting;           /* applying ranges without progress, then the final transaction */
    bool final_only;          /* the final transaction: notes + progress, no apply */
    pair_range range;         /* pairs applied by this transaction */
    pair_range *stack;        /* bisection: ranges still to try */
    size_t stack_count, stack_capacity;

    cascade_plan plan;        /* which diff or cascade query comes next */
    /* Per batch entity, per id: ID_BUILD, ID_CURRENT or ID_BUILT. */
    unsigned char **current;
    size_t *current_capacity;
    size_t current_entities;
    size_t diff_from;         /* the diff in flight covers [diff_from, range_to) */
    bool diff_append;         /* ... after a diff sent ahead covered the rest */
    /* Diffs of ranges the iteration has not reached yet: sent ahead with the
     * current one, for the later entities of the order whose cascade-added ids are
     * already known, or the diff a cascade query that added the ids ran inside. Taken when
     * the iteration reaches the range (it may have grown since: the rest is diffed
     * then). */
    ahead_diff *ahead;
    size_t ahead_count, ahead_capacity, ahead_done;
    bool built_table;         /* the session has pg_temp.tvsync_built */
    /* Per batch entity: how many of its ids carry ID_PATCHED in this transaction. */
    size_t *patched;
    size_t patched_capacity;
    /* A cascade query reached an id patched along another query: the transaction
     * is begun again (patch_conflict), without patches for the rest of the batch
     * (patch_off), where every id gets the full build. */
    bool patch_conflict;
    bool patch_off;
    long long patch_min_bytes;   /* smaller stored documents are built, not patched */
    unsigned long built_transactions;   /* since the last TRUNCATE of it */
    unsigned long built_rows;           /* rows diffs kept in it since then (at most) */
    bool tail_piped;          /* progress and COMMIT went out behind the applies */
    double begin_sent_ms;     /* since started, when the last BEGIN was sent */
    size_t entity_index;      /* apply iteration */

    /* The tail (applies, notes, progress, COMMIT) is sent as one pipeline: the
     * tags of the statements in flight, and the first error among them. */
    tail_tag *tail;
    size_t tail_head, tail_count, tail_capacity;
    char tail_error[512];
    /* The cascade queries in flight (one source entity's edges), in order, and
     * per query what it added. */
    size_t *group_edges;
    size_t group_count, group_done;
    group_slot *group_slots;
    long tail_dead_letters;
    /* The visibility check (the transaction's first statement) found a source
     * transaction its snapshot does not see: roll back, then wait_first. */
    bool not_visible;
    bool wait_first;          /* the next BEGIN goes behind tvsync.cdc_wait_visible */
    /* BEGIN is pipelined with the statements after it: its error, if any. */
    char begin_error[512];

    /* Text built per statement, owned, emptied and reused (never freed
     * between batches): a statement's text, its array parameters, and the
     * progress statement's arrays. */
    strbuf sql;
    strbuf ids;
    strbuf built_ids;         /* also, in the cascade step, a patch diff's ids to build whole */
    strbuf progress_arrays[6];

    /* rebuild chunk */
    apply_chunk_cb chunk_done;
    void *chunk_arg;
    char chunk_entity[INTENT_ENTITY_MAX + 1];
    bool chunk_finished;
    long chunk_upserted, chunk_deleted;
    char *chunk_last_id;      /* owned; any key's text form, so any length */
};

/* apply.c: the transaction, for the cascade step's callbacks. */

/* Sends one statement of the transaction (prepared when it has parameters);
 * false when the send failed (outcome says the connection is lost). */
bool apply_send(apply_engine *engine, const char *sql, int count, const char *const *values, pg_pipeline_cb callback);
/* Sends the current step's statement, whose result comes back to the
 * transaction (a diff's to apply_cascade_diff_done); false as apply_send. */
bool apply_send_step(apply_engine *engine, const char *sql, int count, const char *const *values);
/* The apply connection is gone: reports the batch. */
void apply_connection_lost(apply_engine *engine, const char *error);
/* A statement failed inside the transaction: roll back, then retry, bisect or report. */
void apply_transaction_failed(apply_engine *engine, const char *error);
/* Sends the next statements of the transaction, in one group. */
void apply_run_step(apply_engine *engine);

#endif
