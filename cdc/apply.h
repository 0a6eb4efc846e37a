/* apply: runs one batch as one local transaction on the apply connection
 * (non-blocking, driven by the loop): cascade queries, tvsync.apply per entity,
 * dead letters, rebuild requests, sync_log rows, the replication origin's
 * progress and NOTIFY tvsync_applied, then COMMIT. Retries a failing batch,
 * then bisects it so only failing ids go to tvsync.dead_letter. The engine also
 * runs full-rebuild chunks between batches (apply_chunk.h). */
#ifndef TVSYNC_CDC_APPLY_H
#define TVSYNC_CDC_APPLY_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "cdc/batch.h"
#include "common/pg_pipeline.h"
#include "cdc/registry.h"
#include "common/lsn.h"

typedef struct apply_outcome {
    bool ok;                    /* committed (possibly after bisecting) */
    bool connection_lost;       /* the apply connection broke: reconnect */
    double duration_seconds;
    int attempts;               /* 1 when the first try committed */
    bool bisected;
    size_t dead_letters;        /* written by this batch (malformed + failing ids) */
    int visibility_waits;       /* transactions begun again after a wait for sources not
                                   yet visible to their snapshot (not failures) */
    char error[512];            /* the last error, when there was one */
} apply_outcome;

typedef void (*apply_done_cb)(void *arg, const apply_outcome *outcome);

typedef struct apply_engine apply_engine;

/* conn must have run pg_replication_origin_session_setup already; the engine
 * borrows it. max_retries: how many times a failed batch is retried whole. */
apply_engine *apply_engine_new(struct event_base *base, pg_pipeline *conn, int max_retries);
void apply_engine_free(apply_engine *engine);
void apply_engine_set_max_retries(apply_engine *engine, int max_retries);
/* Along an edge with a patch function, the documents stored in fewer bytes are
 * built whole (cdc.patch_min_bytes; 0: every one is patched). */
void apply_engine_set_patch_min_bytes(apply_engine *engine, long long patch_min_bytes);
/* The apply connection has pg_temp.tvsync_built (APPLY_BUILT_TABLE_SQL): a diff
 * keeps the documents it built there and the apply takes them instead of
 * building them again. The applies delete what they take, and the dead rows
 * stay until the table is truncated (apply.c, APPLY_BUILT_TRUNCATE_*): the
 * index keeps those deletes from scanning them. Documents up to 8 kB are
 * stored uncompressed: they are read back once, in the same transaction. Ids
 * are text (the key type's output form), so one table serves every key type. */
void apply_engine_set_built_table(apply_engine *engine, bool available);
#define APPLY_BUILT_TABLE_SQL \
    "CREATE TEMP TABLE IF NOT EXISTS tvsync_built (entity int NOT NULL, id text NOT NULL, data jsonb NOT NULL) " \
    "WITH (toast_tuple_target = 8160); " \
    "CREATE INDEX IF NOT EXISTS tvsync_built_entity_id ON pg_temp.tvsync_built (entity, id)"

/* Starts applying work (which the engine borrows until done is called; the
 * registry likewise): the statements go out from the loop. False when the
 * engine is busy; done is called exactly once otherwise (a failed send reports
 * a lost connection). */
bool apply_engine_start(apply_engine *engine, batch *work, const registry *reg,
                        apply_done_cb done, void *arg);

bool apply_engine_busy(const apply_engine *engine);

#endif
