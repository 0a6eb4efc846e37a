/* apply_sql: the text of the apply transaction's statements that are built per
 * entity (diffs, diffs along a cascade query, applies) from the registry's
 * names, and its fixed progress statements. Pure: no database. */
#ifndef TVSYNC_CDC_APPLY_SQL_H
#define TVSYNC_CDC_APPLY_SQL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

/* Every builder below empties sql, writes the whole statement (names of any
 * length: the buffer grows) and returns its text (valid until sql changes).
 * build_function is the entity's quoted, schema-qualified build function
 * without arguments; tv_table its quoted read model; key_type its key's type
 * (regtype text); entity_index its index in the registry (it names the
 * entity's rows in pg_temp.tvsync_built and its counts' setting). keep_built:
 * the session has pg_temp.tvsync_built, and the diff keeps there the
 * documents it built, for the apply to take. Ids go in as text array literals
 * ($1, $2) that the statements cast to key_type[]: an id the key type rejects
 * fails the statement (22P02) like a build error. Ids come back as text in the
 * key type's own form. */

/* nested_changed: the entity's registry nested_changed (NULL: its edges watch
 * top-level keys only, and the diff compares nothing else). */

/* A diff over the ids $1: rows (id, changed keys or NULL = all) of the ids
 * whose build differs from the tv_* row. The changed keys are the document's
 * top-level keys that changed, then the nested watch paths that did. */
const char *apply_sql_diff(strbuf *sql, const char *build_function, const char *tv_table, const char *key_type,
                           size_t entity_index, bool keep_built, const char *nested_changed);

/* A diff over the ids cascade_query returns for the source ids $1: the query
 * runs inside it, so the diff goes out with the query instead of one round
 * trip after it. The query's one column is cast to the target's key_type.
 * Rows: the diff's (id, changed keys, false), then each id the query found
 * (id, NULL, true). */
/* patch_function (NULL: none): the edge's patch function (registry patches),
 * which computes the documents of the query's ids from their tv_* rows and
 * the source ids $1 instead of the build; the ids in $2 (a text array
 * literal of target ids, "{}" for none) are built whole all the same: the
 * patch is right only for documents nothing but $1's rows changed.
 * source_key_type: the source's key type, which $1 is cast to for it.
 * patch_min_bytes (> 0): the query's ids whose tv_* row is stored in fewer
 * bytes (pg_column_size of its document), or that have none, are built whole
 * too; 0 patches them all. */
const char *apply_sql_diff_along(strbuf *sql, const char *cascade_query, const char *build_function,
                                 const char *tv_table, const char *key_type, size_t entity_index, bool keep_built,
                                 const char *nested_changed, const char *patch_function,
                                 const char *source_key_type, long long patch_min_bytes);

/* A cascade query alone: its one column cast to the target's key_type, so its
 * ids come back in the key's own form whatever type the query answers. */
const char *apply_sql_cascade_query(strbuf *sql, const char *cascade_query, const char *key_type);

/* An apply (tvsync.apply(entity, ids) inlined, so that it is planned once per
 * connection; keep the two in step): upserts the documents that changed and
 * deletes the rows of ids the build no longer returns. build: $1 holds ids to
 * build; take: the ids whose document a diff kept in pg_temp.tvsync_built are
 * $2 (with build) or $1 (without). At least one of the two. The statement
 * returns (upserted, deleted) and leaves them in the transaction-local setting
 * tvsync.count_<entity_index>. */
const char *apply_sql_apply(strbuf *sql, const char *build_function, const char *tv_table, const char *key_type,
                            size_t entity_index, bool build, bool take);

/* The progress statement: sync_log rows from the arrays $1-$4, $7, $8
 * (entity, intents, upserted, deleted, success, error), duration $5, the
 * source's end LSN $6 and commit time $9; the replication origin's progress;
 * NOTIFY tvsync_applied with $6 and then $10 (" <lsn> <lsn> ...": each applied source
 * transaction's last intent message, or ""). piped: sent behind the applies before their results
 * are back, $3 holds registry indexes and the counts come from the applies'
 * settings ($4 is not read); the duration adds the transaction's own time. */
/* The room for the applied transactions' last intent messages in the tvsync_applied
 * payload ($10, appended to the position $6): NOTIFY takes under 8000 bytes. */
#define APPLY_NOTIFY_MESSAGES_MAX 7900
const char *apply_sql_progress(bool piped);

#endif
