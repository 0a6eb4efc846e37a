/* apply_chunk: full-rebuild chunks share the apply connection and the engine's
 * busy flag, so a chunk and a batch never overlap and a rebuild takes turns
 * with live batches. */
#include "config.h"

#include "cdc/apply_chunk.h"

#include <stdio.h>
#include <stdlib.h>

#include "cdc/apply_internal.h"
#include "common/alloc.h"

static void chunk_finish(apply_engine *engine, bool ok, bool lost, const char *error)
{
    engine->busy = false;
    apply_chunk_cb done = engine->chunk_done;
    engine->chunk_done = NULL;
    done(engine->chunk_arg, ok, lost, engine->chunk_finished, engine->chunk_last_id,
         engine->chunk_upserted, engine->chunk_deleted, error);
}

static void chunk_close_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    apply_engine *engine = arg;
    chunk_finish(engine, outcome->ok, outcome->connection_lost, outcome->error);
}

static void chunk_cb(void *arg, const pg_pipeline_outcome *outcome)
{
    apply_engine *engine = arg;
    if (!outcome->ok) {
        chunk_finish(engine, false, outcome->connection_lost, outcome->error);
        return;
    }
    engine->chunk_finished = PQgetisnull(outcome->result, 0, 0);
    free(engine->chunk_last_id);
    engine->chunk_last_id = alloc_strdup(engine->chunk_finished ? "" : PQgetvalue(outcome->result, 0, 0));
    engine->chunk_upserted = atol(PQgetvalue(outcome->result, 0, 1));
    engine->chunk_deleted = atol(PQgetvalue(outcome->result, 0, 2));
    if (!engine->chunk_finished) {
        chunk_finish(engine, true, false, NULL);
        return;
    }
    const char *values[1] = {engine->chunk_entity};
    if (!pg_pipeline_send(engine->conn,
                       "WITH done AS (DELETE FROM tvsync.cdc_rebuild WHERE entity = $1 RETURNING *) "
                       "INSERT INTO tvsync.sync_log (entity, intents, rows_upserted, rows_deleted, success, source_lsn) "
                       "SELECT entity, 0, rows_upserted, rows_deleted, true, requested_lsn FROM done",
                       1, values, chunk_close_cb, engine))
        chunk_finish(engine, false, true, "cannot send to the apply connection");
}

bool apply_chunk_start(apply_engine *engine, const char *entity, const char *after, int chunk_rows,
                       apply_chunk_cb done, void *arg)
{
    if (engine->busy)
        return false;
    char rows[16];
    snprintf(rows, sizeof rows, "%d", chunk_rows);
    snprintf(engine->chunk_entity, sizeof engine->chunk_entity, "%s", entity);
    engine->chunk_done = done;
    engine->chunk_arg = arg;
    engine->chunk_finished = false;
    const char *values[3] = {entity, after, rows};
    /* The chunk and its bookkeeping commit together, so a crash resumes at the right chunk. */
    if (!pg_pipeline_send(engine->conn,
                       "WITH chunk AS (SELECT * FROM tvsync.rebuild_chunk($1, $2::text, $3::int)), "
                       "kept AS (UPDATE tvsync.cdc_rebuild r SET after_id = chunk.last_id, "
                       "rows_upserted = r.rows_upserted + chunk.upserted, rows_deleted = r.rows_deleted + chunk.deleted "
                       "FROM chunk WHERE r.entity = $1 RETURNING 1) "
                       "SELECT last_id, upserted, deleted, (SELECT count(*) FROM kept) FROM chunk",
                       3, values, chunk_cb, engine))
        return false;
    engine->busy = true;
    return true;
}
