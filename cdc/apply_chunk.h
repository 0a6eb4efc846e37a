/* apply_chunk: one chunk of a full rebuild (tvsync.request_rebuild) on the apply
 * engine's connection, between batches: tvsync.rebuild_chunk and its
 * bookkeeping row in tvsync.cdc_rebuild commit together. */
#ifndef TVSYNC_CDC_APPLY_CHUNK_H
#define TVSYNC_CDC_APPLY_CHUNK_H

#include <stdbool.h>

#include "cdc/apply.h"

/* The chunk's outcome. finished: it was the entity's last chunk (its
 * tvsync.cdc_rebuild row is deleted and its sync_log row written); last_id:
 * where the next chunk starts (the engine's, valid during the call). */
typedef void (*apply_chunk_cb)(void *arg, bool ok, bool connection_lost, bool finished,
                               const char *last_id, long upserted, long deleted, const char *error);

/* Rebuilds up to chunk_rows rows of entity after `after` (NULL: from the
 * start), in autocommit statements with no origin progress (the request's
 * progress was recorded with the batch that saw it; tvsync.cdc_rebuild carries
 * it). False when the engine is busy or the send failed (nothing is called
 * back then); done is called exactly once otherwise. */
bool apply_chunk_start(apply_engine *engine, const char *entity, const char *after, int chunk_rows,
                       apply_chunk_cb done, void *arg);

#endif
