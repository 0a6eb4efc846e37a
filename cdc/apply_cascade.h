/* apply_cascade: the apply transaction's cascade step (part of the apply
 * engine, apply_internal.h): sends the diffs and cascade queries the plan
 * (cascade.h) asks for, diffs of later ranges ahead of their turn, and cascade
 * queries inside a diff of their targets; takes their results into the batch
 * and into each id's state (build it, nothing to do, or take the document its
 * diff kept). */
#ifndef TVSYNC_CDC_APPLY_CASCADE_H
#define TVSYNC_CDC_APPLY_CASCADE_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "cdc/apply.h"

/* Sends the cascade step's next statements. True when it sent some (*sent:
 * whether that worked; false means the connection is unusable), false when
 * the cascades are done and the transaction goes on to its applies. */
bool apply_cascade_send(apply_engine *engine, bool *sent);

/* The result of a diff the step sent alone (the step's statement). */
void apply_cascade_diff_done(apply_engine *engine, const PGresult *result);

/* What the apply does with id i of batch entity e: ID_BUILD, ID_CURRENT or ID_BUILT. */
int apply_cascade_id_state(const apply_engine *engine, size_t e, size_t i);

/* A transaction begins again: every id is built again (the diffs run again),
 * or, when the cascades are not run again (bisection, the final transaction),
 * the documents the diffs kept went with the rollback: build those. */
void apply_cascade_reset_states(apply_engine *engine);
void apply_cascade_forget_built(apply_engine *engine);

/* Drops the diffs sent ahead (and their results). */
void apply_cascade_clear_ahead(apply_engine *engine);

/* Frees what the cascade step keeps in the engine. */
void apply_cascade_free(apply_engine *engine);

#endif
