# cdc_lib.sh: shared steps of the tvsync-cdc integration tests (sourced, not a test):
# a migrated cluster with the blog seed, the slot and origin, starting and stopping
# the daemon, waiting for the origin's progress, comparing tv_* with the oracle.
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

# TVSYNC_TEST_PLUGIN=pgoutput runs the same tests with the pgoutput output plugin: every
# tvsync program reads [slot] plugin from TVSYNC_SLOT_PLUGIN.
if [ "${TVSYNC_TEST_PLUGIN:-wal2json}" != wal2json ]; then
    export TVSYNC_SLOT_PLUGIN="$TVSYNC_TEST_PLUGIN"
fi

CDC_BIN="$TVSYNC_BUILDDIR/cdc/tvsync-cdc"
CDC_PID=
CDC_LOG=
CDC_PORT=
CDC_RUNS=0

# Migrations: tvsync-migrate when it is built, else with psql the files of each set in
# order, the engine's set first, then the blog's.
cdc_migrate() {
    if [ -x "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" ]; then
        pgcluster_migrate >/dev/null 2>&1 || return 1
    else
        local f
        for f in "$TVSYNC_SRCDIR"/migrations/[0-9]*.sql "$TVSYNC_SRCDIR"/examples/blog/[0-9]*.sql; do
            pgcluster_psql -1 -f "$f" >/dev/null || return 1
        done
    fi
    pgcluster_psql -f "$TVSYNC_SRCDIR/examples/blog/seed.sql" >/dev/null
}

# After cdc_migrate: the blog as before 007 (every comment listed in its post, comment -> post
# patched by fn_patch_post_from_comment), generated from a copy whose Post.comments has no bound.
cdc_unbounded_blog() {
    # The copy's folder is named blog, so it is the same set: 001-007 are applied already (same
    # files, same checksums) and generate, reading their markers, writes only 008 (the unbounded
    # build, the patch function 007 dropped, its registration), which up applies.
    local tmp copy migrate="$TVSYNC_BUILDDIR/migrations/tvsync-migrate"
    tmp=$(mktemp -d /tmp/tvsync-unbounded-blog.XXXXXX) || return 1
    pgcluster_on_exit "rm -rf '$tmp'"
    copy="$tmp/blog"
    cp -r "$TVSYNC_SRCDIR/examples/blog" "$copy" || return 1
    sed -i 's/, last: 50)/)/' "$copy/schema.graphql"
    if grep -q 'last: 50' "$copy/schema.graphql" || ! grep -q '@many(via: "post_id", orderBy: "created_at")' "$copy/schema.graphql"; then
        echo "cdc_unbounded_blog: examples/blog/schema.graphql no longer declares Post.comments with last: 50" >&2
        return 1
    fi
    "$migrate" --database "$TVSYNC_DATABASE_URL" generate --schema "$copy/schema.graphql" --dir "$copy" >"$tmp/generate.log" 2>&1 &&
        "$migrate" --database "$TVSYNC_DATABASE_URL" --dir "$copy" up >"$tmp/up.log" 2>&1 || {
        echo "cdc_unbounded_blog: generating or applying the unbounded blog failed:" >&2
        cat "$tmp/generate.log" "$tmp/up.log" >&2 2>/dev/null
        return 1
    }
    if [ "$(pgcluster_psql -c "SELECT patch_function FROM tvsync.cascade
                                WHERE source_entity = 'comment' AND target_entity = 'post'")" != \
         "fn_patch_post_from_comment(uuid[],uuid[])" ]; then
        echo "cdc_unbounded_blog: comment -> post has no fn_patch_post_from_comment after $(ls "$copy" | grep -c _generated) generated files:" >&2
        cat "$tmp/generate.log" "$tmp/up.log" >&2
        return 1
    fi
}

# The oracle: rows of tv_* that differ from a full build (both directions), summed.
cdc_install_oracle() {
    pgcluster_psql <<'SQL'
CREATE FUNCTION public.test_oracle_diff() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    e tvsync.entity;
    n bigint;
    total bigint := 0;
BEGIN
    FOR e IN SELECT * FROM tvsync.entity LOOP
        EXECUTE format('SELECT count(*) FROM ((SELECT id, data FROM %1$s EXCEPT SELECT id, data FROM %2$s(NULL))
                        UNION ALL (SELECT id, data FROM %2$s(NULL) EXCEPT SELECT id, data FROM %1$s)) d',
                       e.tv_table, tvsync.build_function_name(e)) INTO n;
        total := total + n;
    END LOOP;
    RETURN total;
END
$$;
-- Intents the tests committed, counted in the same transaction as the publish.
CREATE TABLE public.test_published (entity text, n int);
SQL
}

# The slot and its origin: tvsync-slot create when it is built; else the same
# steps in SQL: slot first (its consistent point), the full build, then the
# origin at the slot's position.
cdc_create_slot() {
    if [ -x "$TVSYNC_BUILDDIR/slot/tvsync-slot" ]; then
        "$TVSYNC_BUILDDIR/slot/tvsync-slot" --database "$TVSYNC_DATABASE_URL" create >/dev/null
        return
    fi
    if [ "${TVSYNC_TEST_PLUGIN:-wal2json}" = pgoutput ]; then
        pgcluster_psql -c "CREATE PUBLICATION tvsync_pub FOR TABLE tvsync.registry_log WITH (publish = 'insert')" \
            >/dev/null || return 1
    fi
    pgcluster_psql <<SQL >/dev/null
SELECT pg_create_logical_replication_slot('tvsync', '${TVSYNC_TEST_PLUGIN:-wal2json}');
SELECT tvsync.apply(name, NULL) FROM tvsync.entity ORDER BY name;
SELECT pg_replication_origin_create('tvsync');
SELECT pg_replication_origin_advance('tvsync', confirmed_flush_lsn)
FROM pg_replication_slots WHERE slot_name = 'tvsync';
SQL
}

# Cluster + schema + seed + oracle + slot.
cdc_setup() {
    pgcluster_start "$@" || exit 1
    cdc_migrate || { echo "migrations failed" >&2; exit 1; }
    cdc_install_oracle >/dev/null || exit 1
    cdc_seed_more || exit 1
    cdc_create_slot || exit 1
}

cdc_streaming() {
    grep -q "streaming slot" "$CDC_LOG" 2>/dev/null
}

# Starts tvsync-cdc in the background (extra arguments are passed on) and waits
# until it streams. CDC_LOG accumulates every run's output.
cdc_start() {
    CDC_RUNS=$((CDC_RUNS + 1))
    CDC_LOG="${CDC_LOG_DIR:-$PGCLUSTER_DIR}/cdc.$CDC_RUNS.log"
    "$CDC_BIN" --database "$TVSYNC_DATABASE_URL" --metrics-listen 127.0.0.1:0 \
        --set cdc.status_interval=500ms --set cdc.heartbeat_interval=1s "$@" >"$CDC_LOG" 2>&1 &
    CDC_PID=$!
    if ! wait_for 30 cdc_streaming; then
        echo "tvsync-cdc did not start streaming:" >&2
        cat "$CDC_LOG" >&2
        return 1
    fi
    CDC_PORT=$(sed -n 's/.*metrics on .*(port \([0-9]*\)).*/\1/p' "$CDC_LOG" | head -n1)
}

cdc_kill_on_exit() {
    pgcluster_on_exit 'if [ -n "$CDC_PID" ]; then kill -9 "$CDC_PID" 2>/dev/null; wait "$CDC_PID" 2>/dev/null; fi'
}

# SIGTERM and wait; the exit status is left in CDC_STATUS.
cdc_stop() {
    kill -TERM "$CDC_PID"
    wait "$CDC_PID"
    CDC_STATUS=$?
    CDC_PID=
}

cdc_progress() {
    pgcluster_psql -c "SELECT coalesce(pg_replication_origin_progress('tvsync', true), '0/0')"
}

cdc__progress_reached() {
    [ "$(pgcluster_psql -c "SELECT coalesce(pg_replication_origin_progress('tvsync', true), '0/0') >= '$1'::pg_lsn")" = t ]
}

# Waits until the origin's progress passes LSN (a source transaction that
# emitted a message at LSN is applied once progress is beyond it).
cdc_wait_lsn() {
    wait_for "${2:-30}" cdc__progress_reached "$1"
}

# Commits a marker transaction (an intent for alice, counted in test_published)
# and waits until it is applied.
cdc_sync() {
    local lsn
    lsn=$(pgcluster_psql -c "INSERT INTO test_published VALUES ('user', 1)" \
        -c "SELECT tvsync.publish('user', ARRAY['10000000-0000-4000-8000-000000000001'::uuid])" | tail -n1)
    cdc_wait_lsn "$lsn" "${1:-30}"
}

# Adds users, posts and comments with ids derived from numbers, for write loads:
# users 10000000-0000-4000-8000-0000000001NN (NN < 50), posts 2...-0000000002NN,
# comments 3...-000000003NNN.
cdc_seed_more() {
    pgcluster_psql <<'SQL' >/dev/null
INSERT INTO tb_user (id, username, email)
SELECT ('10000000-0000-4000-8000-' || lpad((100 + n)::text, 12, '0'))::uuid, 'user' || n, 'user' || n || '@example.com'
FROM generate_series(0, 49) n;
INSERT INTO tb_post (id, author_id, title, content, published)
SELECT ('20000000-0000-4000-8000-' || lpad((200 + n)::text, 12, '0'))::uuid,
       ('10000000-0000-4000-8000-' || lpad((100 + n % 50)::text, 12, '0'))::uuid, 'post ' || n, 'text', n % 3 > 0
FROM generate_series(0, 99) n;
INSERT INTO tb_comment (id, post_id, author_id, content)
SELECT ('30000000-0000-4000-8000-' || lpad((3000 + n)::text, 12, '0'))::uuid,
       ('20000000-0000-4000-8000-' || lpad((200 + n % 100)::text, 12, '0'))::uuid,
       ('10000000-0000-4000-8000-' || lpad((100 + n % 47)::text, 12, '0'))::uuid, 'comment ' || n
FROM generate_series(0, 399) n;
SQL
}

# pgbench scripts of a mixed write load; every transaction counts what it
# publishes in test_published, in the same transaction.
cdc_write_scripts() {
    local dir=$1
    cat > "$dir/w_post.sql" <<'SQL'
\set n random(0, 99)
BEGIN;
UPDATE tb_post SET content = md5(random()::text) WHERE id = ('20000000-0000-4000-8000-' || lpad((200 + :n)::text, 12, '0'))::uuid;
SELECT tvsync.publish('post', ARRAY[('20000000-0000-4000-8000-' || lpad((200 + :n)::text, 12, '0'))::uuid]);
INSERT INTO test_published VALUES ('post', 1);
END;
SQL
    cat > "$dir/w_user.sql" <<'SQL'
\set n random(0, 49)
BEGIN;
UPDATE tb_user SET full_name = 'Name ' || md5(random()::text) WHERE id = ('10000000-0000-4000-8000-' || lpad((100 + :n)::text, 12, '0'))::uuid;
SELECT tvsync.publish('user', ARRAY[('10000000-0000-4000-8000-' || lpad((100 + :n)::text, 12, '0'))::uuid]);
INSERT INTO test_published VALUES ('user', 1);
END;
SQL
    cat > "$dir/w_comment.sql" <<'SQL'
\set p random(0, 99)
\set u random(0, 49)
BEGIN;
WITH c AS (INSERT INTO tb_comment (post_id, author_id, content)
           VALUES (('20000000-0000-4000-8000-' || lpad((200 + :p)::text, 12, '0'))::uuid,
                   ('10000000-0000-4000-8000-' || lpad((100 + :u)::text, 12, '0'))::uuid, 'new comment')
           RETURNING id)
SELECT tvsync.publish('comment', array(SELECT id FROM c));
INSERT INTO test_published VALUES ('comment', 1);
END;
SQL
    cat > "$dir/w_delete.sql" <<'SQL'
BEGIN;
CREATE TEMP TABLE IF NOT EXISTS gone (id uuid) ON COMMIT DELETE ROWS;
WITH d AS (DELETE FROM tb_comment WHERE id = (SELECT id FROM tb_comment ORDER BY random() LIMIT 1) RETURNING id)
INSERT INTO gone SELECT id FROM d;
SELECT tvsync.publish('comment', array(SELECT id FROM gone));
INSERT INTO test_published SELECT 'comment', count(*) FROM gone HAVING count(*) > 0;
END;
SQL
    cat > "$dir/w_many.sql" <<'SQL'
BEGIN;
CREATE TEMP TABLE IF NOT EXISTS many (id uuid) ON COMMIT DELETE ROWS;
INSERT INTO many SELECT id FROM tb_comment ORDER BY random() LIMIT 150;
UPDATE tb_comment SET content = 'bulk ' || md5(random()::text) WHERE id IN (SELECT id FROM many);
SELECT tvsync.publish('comment', array(SELECT id FROM many));
INSERT INTO test_published SELECT 'comment', count(*) FROM many;
END;
SQL
}

# Per entity: committed intents (test_published) minus intents in sync_log; empty when equal.
cdc_count_mismatch() {
    pgcluster_psql -c "
        SELECT string_agg(entity || ': published ' || p || ', logged ' || l, '; ')
        FROM (SELECT coalesce(p.entity, l.entity) AS entity, coalesce(p.n, 0) AS p, coalesce(l.n, 0) AS l
              FROM (SELECT entity, sum(n) AS n FROM test_published GROUP BY entity) p
              FULL JOIN (SELECT entity, sum(intents) AS n FROM tvsync.sync_log GROUP BY entity) l USING (entity)) x
        WHERE p <> l"
}

# tvsync-migrate verify (exit 0: every tv_* equals a full rebuild), else the SQL oracle.
cdc_verify() {
    if [ -x "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" ]; then
        "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$TVSYNC_DATABASE_URL" verify
    else
        [ "$(pgcluster_psql -c "SELECT test_oracle_diff()")" = 0 ]
    fi
}

cdc_metrics() {
    curl -s "http://127.0.0.1:$CDC_PORT/metrics"
}
