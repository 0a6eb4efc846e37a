/* apply_sql: per-entity statements built in growable buffers, since the names
 * they embed come from the registry and have no length a fixed array could
 * hold safely. The texts key the connection's prepared statements, so the same
 * entity always gets the same text. */
#include "config.h"

#include "cdc/apply_sql.h"

/* The old document as d holds it: read (and decompressed) once, here. A
 * toasted value stays a pointer in d, and each use of it below (the
 * comparison, the key lists, each key's value, the nested paths) would fetch
 * and decompress the whole document again. #> '{}' returns its argument (every
 * kind of JSON value) detoasted. d's comparison runs over the subquery's
 * output (OFFSET 0 keeps the planner from pushing it down into the join,
 * where it would read the stored value again). */
#define OLD_DETOASTED "t.data #> '{}'"

/* What every diff statement ends with, after its CTE d (id, new, old: the ids
 * whose build differs from the tv_* row): the documents that would change kept
 * for the apply (one build per document) when keep_built, and the changed ids
 * with the keys that changed, then the nested paths that did (plus the query's
 * ids, flagged, along a query). */
static void append_diff_tail(strbuf *sql, size_t entity_index, bool keep_built, bool query_ids,
                             const char *nested_changed)
{
    if (keep_built)
        strbuf_appendf(sql,
                       ", kept AS (INSERT INTO pg_temp.tvsync_built (entity, id, data) "
                       "SELECT %zu, d.id::text, d.new FROM d WHERE d.new IS NOT NULL)", entity_index);
    /* The keys of each side, not of d.new || d.old: concatenating two documents
     * takes every nested value apart and builds it again, which for a document
     * with a list of thousands costs more than the rest of the diff. */
    strbuf_append(sql,
                  " SELECT d.id, CASE WHEN jsonb_typeof(d.new) = 'object' AND jsonb_typeof(d.old) = 'object' THEN "
                  "ARRAY(SELECT k FROM (SELECT jsonb_object_keys(d.new) UNION SELECT jsonb_object_keys(d.old)) AS x(k) "
                  "WHERE d.new -> k IS DISTINCT FROM d.old -> k)");
    if (nested_changed)
        strbuf_appendf(sql, " || %s", nested_changed);
    strbuf_appendf(sql, " END%s FROM d%s", query_ids ? ", false" : "",
                   query_ids ? " UNION ALL SELECT x, NULL, true FROM q, unnest(q.ids) AS x" : "");
}

const char *apply_sql_diff(strbuf *sql, const char *build_function, const char *tv_table, const char *key_type,
                           size_t entity_index, bool keep_built, const char *nested_changed)
{
    strbuf_reset(sql);
    strbuf_appendf(sql,
                   "WITH d AS MATERIALIZED (SELECT d.id, d.new, d.old FROM (SELECT coalesce(b.id, t.id) AS id, "
                   "b.data AS new, " OLD_DETOASTED " AS old "
                   "FROM %1$s($1::%3$s[]) AS b "
                   "FULL JOIN (SELECT id, data FROM %2$s WHERE id = ANY ($1::%3$s[])) AS t ON t.id = b.id "
                   "OFFSET 0) AS d WHERE d.new IS DISTINCT FROM d.old)",
                   build_function, tv_table, key_type);
    append_diff_tail(sql, entity_index, keep_built, false, nested_changed);
    return strbuf_text(sql);
}

const char *apply_sql_diff_along(strbuf *sql, const char *cascade_query, const char *build_function,
                                 const char *tv_table, const char *key_type, size_t entity_index, bool keep_built,
                                 const char *nested_changed, const char *patch_function,
                                 const char *source_key_type, long long patch_min_bytes)
{
    strbuf_reset(sql);
    /* The cast: a query that answers another integer type than the target's
     * key (or text in its form) still feeds the build. */
    if (patch_function) {
        /* Each id once, through one of the two: ARRAY() is never NULL (a NULL
         * would ask the build for every row). The arrays are q's columns, not the
         * functions' arguments: PostgreSQL inlines a SQL function only when its
         * arguments hold no subquery, and one it does not inline plans its body
         * again on every call. A document stored in fewer than patch_min_bytes
         * is built: below some size the patch function's fixed cost (its list
         * helper's calls) is more than building the document; and a document
         * with no row has nothing to patch. pg_column_size reads the stored
         * size without reading the document. */
        strbuf_appendf(sql,
                       "WITH q AS MATERIALIZED (SELECT i.ids, "
                       "ARRAY(SELECT x FROM unnest(i.ids) AS x WHERE x <> ALL ($2::%s[])",
                       key_type);
        if (patch_min_bytes > 0)
            strbuf_appendf(sql, " AND EXISTS (SELECT FROM %s AS o WHERE o.id = x AND pg_column_size(o.data) >= %lld)",
                           tv_table, patch_min_bytes);
        strbuf_appendf(sql, ") AS patch_ids, ARRAY(SELECT x FROM unnest(i.ids) AS x WHERE x = ANY ($2::%s[])", key_type);
        if (patch_min_bytes > 0)
            strbuf_appendf(sql,
                           " OR NOT EXISTS (SELECT FROM %s AS o WHERE o.id = x AND pg_column_size(o.data) >= %lld)",
                           tv_table, patch_min_bytes);
        strbuf_appendf(sql,
                       ") AS build_ids "
                       "FROM (SELECT coalesce(array_agg(DISTINCT q0.x::%2$s) FILTER (WHERE q0.x IS NOT NULL), "
                       "'{}'::%2$s[]) AS ids FROM (%1$s) AS q0(x)) AS i), "
                       "d AS MATERIALIZED (SELECT d.id, d.new, d.old FROM (SELECT coalesce(b.id, t.id) AS id, "
                       "b.data AS new, " OLD_DETOASTED " AS old FROM "
                       "(SELECT b.id, b.data FROM q CROSS JOIN LATERAL %3$s(q.patch_ids, $1::%5$s[]) AS b "
                       "UNION ALL SELECT b.id, b.data FROM q CROSS JOIN LATERAL %4$s(q.build_ids) AS b) AS b ",
                       cascade_query, key_type, patch_function, build_function, source_key_type);
    } else
        strbuf_appendf(sql,
                       "WITH q AS MATERIALIZED (SELECT coalesce(array_agg(DISTINCT q0.x::%2$s) FILTER (WHERE q0.x IS NOT NULL), "
                       "'{}'::%2$s[]) AS ids FROM (%1$s) AS q0(x)), "
                       "d AS MATERIALIZED (SELECT d.id, d.new, d.old FROM (SELECT coalesce(b.id, t.id) AS id, "
                       "b.data AS new, " OLD_DETOASTED " AS old FROM "
                       "(SELECT b.id, b.data FROM q CROSS JOIN LATERAL %3$s(q.ids) AS b) AS b ",
                       cascade_query, key_type, build_function);
    strbuf_appendf(sql,
                   "FULL JOIN (SELECT t.id, t.data FROM q, %s AS t WHERE t.id = ANY (q.ids)) AS t ON t.id = b.id "
                   "OFFSET 0) AS d WHERE d.new IS DISTINCT FROM d.old)",
                   tv_table);
    append_diff_tail(sql, entity_index, keep_built, true, nested_changed);
    return strbuf_text(sql);
}

const char *apply_sql_cascade_query(strbuf *sql, const char *cascade_query, const char *key_type)
{
    strbuf_reset(sql);
    strbuf_appendf(sql, "SELECT q0.x::%s FROM (%s) AS q0(x)", key_type, cascade_query);
    return strbuf_text(sql);
}

const char *apply_sql_apply(strbuf *sql, const char *build_function, const char *tv_table, const char *key_type,
                            size_t entity_index, bool build, bool take)
{
    /* A statement has only the parts it needs: each relation in its plan is
     * locked and opened on every execution, and the build's relations are most
     * of them. */
    strbuf_reset(sql);
    strbuf_append(sql, "WITH ");
    if (take)
        strbuf_appendf(sql,
                       "taken AS (DELETE FROM pg_temp.tvsync_built AS k WHERE k.entity = %zu "
                       "AND k.id = ANY ($%d::text[]) RETURNING k.id::%s AS id, k.data), ",
                       entity_index, build ? 2 : 1, key_type);
    strbuf_append(sql, "built AS MATERIALIZED (");
    if (build && take)
        strbuf_appendf(sql,
                       "SELECT b.id, b.data FROM %s($1::%s[]) AS b "
                       "UNION ALL SELECT DISTINCT ON (taken.id) taken.id, taken.data FROM taken",
                       build_function, key_type);
    else if (build)
        strbuf_appendf(sql, "SELECT b.id, b.data FROM %s($1::%s[]) AS b", build_function, key_type);
    else
        strbuf_append(sql, "SELECT DISTINCT ON (taken.id) taken.id, taken.data FROM taken");
    strbuf_appendf(sql,
                   "), "
                   "up AS (INSERT INTO %s AS t (id, data, updated_at) SELECT id, data, now() FROM built "
                   "ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at ",
                   tv_table);
    /* A kept document is one its diff found different from this row, earlier in
     * the same transaction, where nothing else writes the row: comparing them
     * again would read both whole (and the old one decompressed) for nothing. */
    if (build)
        strbuf_append(sql, "WHERE t.data IS DISTINCT FROM excluded.data ");
    strbuf_appendf(sql, "RETURNING 1), gone AS (DELETE FROM %1$s AS t WHERE t.id = ANY ($1::%2$s[]",
                   tv_table, key_type);
    if (build && take)
        strbuf_appendf(sql, " || $2::%s[]", key_type);
    strbuf_appendf(sql,
                   ") AND NOT EXISTS (SELECT 1 FROM built WHERE built.id = t.id) RETURNING 1) "
                   "SELECT c.u, c.d, set_config('tvsync.count_%zu', c.u || ' ' || c.d, true) "
                   "FROM (SELECT (SELECT count(*) FROM up) AS u, (SELECT count(*) FROM gone) AS d) AS c",
                   entity_index);
    return strbuf_text(sql);
}

const char *apply_sql_progress(bool piped)
{
    static const char sql[] =
        "WITH logged AS (INSERT INTO tvsync.sync_log "
        "(entity, intents, rows_upserted, rows_deleted, duration_ms, success, error, source_lsn) "
        "SELECT e, i, u, d, $5::float8, ok, err, $6::pg_lsn "
        "FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $7::bool[], $8::text[]) AS t(e, i, u, d, ok, err) "
        "RETURNING 1) "
        "SELECT pg_replication_origin_xact_setup($6::pg_lsn, coalesce($9::timestamptz, now())), "
        "pg_notify('tvsync_applied', $6::text || $10::text), (SELECT count(*) FROM logged)";
    static const char piped_sql[] =
        "WITH logged AS (INSERT INTO tvsync.sync_log "
        "(entity, intents, rows_upserted, rows_deleted, duration_ms, success, error, source_lsn) "
        "SELECT t.e, t.i, coalesce(split_part(c.v, ' ', 1)::bigint, 0), coalesce(split_part(c.v, ' ', 2)::bigint, 0), "
        "$5::float8 + 1000 * extract(epoch FROM clock_timestamp() - transaction_timestamp()), t.ok, t.err, $6::pg_lsn "
        "FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $7::bool[], $8::text[]) AS t(e, i, r, z, ok, err) "
        "CROSS JOIN LATERAL (SELECT nullif(current_setting('tvsync.count_' || t.r, true), '') AS v) AS c "
        "RETURNING 1) "
        "SELECT pg_replication_origin_xact_setup($6::pg_lsn, coalesce($9::timestamptz, now())), "
        "pg_notify('tvsync_applied', $6::text || $10::text), (SELECT count(*) FROM logged)";
    return piped ? piped_sql : sql;
}
