#!/bin/sh
# cdc_registry: changes to the registry reach a running tvsync-cdc through the log, in
# order, with no signal: an entity a migration registers is applied (its intents and its
# rebuild request) from the migration's own transaction on; an intent committed before the
# registration still meets the old registry, one after it the new; a cascade added later
# applies from its position only; tvsync-slot rebuild of an unknown entity exits 1; an
# unreadable registry row is a dead letter and changes nothing.
. "$TVSYNC_SRCDIR/tests/integration/cdc_lib.sh"
set -u

cdc_setup
cdc_kill_on_exit
cdc_start || exit 1
SLOT="$TVSYNC_BUILDDIR/slot/tvsync-slot"
POST1=20000000-0000-4000-8000-000000000201
POST2=20000000-0000-4000-8000-000000000202

dead_letters() {
    pgcluster_psql -c "SELECT count(*) FROM tvsync.dead_letter"
}

# 1. A migration-like transaction creates a source table, a read model and a build
#    function, registers the entity and a cascade into it, then writes rows with their
#    intents and asks for a rebuild: all of it is applied, nothing dead-letters.
lsn=$(pgcluster_psql <<SQL | tail -n1
BEGIN;
CREATE TABLE tb_tag (id uuid PRIMARY KEY, post_id uuid NOT NULL REFERENCES tb_post (id), name text NOT NULL);
CREATE TABLE tv_tag (id uuid PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION fn_build_tag(ids uuid[]) RETURNS TABLE (id uuid, data jsonb) LANGUAGE sql STABLE AS \$\$
    SELECT t.id, jsonb_build_object('id', t.id, 'name', t.name, 'postTitle', p.title)
    FROM public.tb_tag t JOIN public.tb_post p ON p.id = t.post_id
    WHERE ids IS NULL OR t.id = ANY (ids)
\$\$;
GRANT SELECT ON tb_tag TO tvsync_cdc;
GRANT SELECT, INSERT, UPDATE, DELETE ON tv_tag TO tvsync_cdc;
INSERT INTO tvsync.entity (name, tv_table, source_table, build_function)
VALUES ('tag', 'tv_tag', 'tb_tag', 'fn_build_tag(uuid[])');
INSERT INTO tvsync.cascade (source_entity, target_entity, query)
VALUES ('post', 'tag', 'SELECT t.id FROM public.tb_tag t WHERE t.post_id = ANY (\$1)');
INSERT INTO tb_tag VALUES ('40000000-0000-4000-8000-000000000001', '$POST1', 'first'),
                          ('40000000-0000-4000-8000-000000000002', '$POST2', 'second');
SELECT tvsync.publish('tag', ARRAY['40000000-0000-4000-8000-000000000001'::uuid]);
SELECT tvsync.request_rebuild('tag');
COMMIT;
SQL
)
cdc_wait_lsn "$lsn"
rebuild_done() {
    [ "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.cdc_rebuild")" = 0 ]
}
wait_for 30 rebuild_done
assert_eq "0" "$(dead_letters)" "an entity registered by a running migration: no dead letter"
assert_eq "first,second" "$(pgcluster_psql -c "SELECT string_agg(data->>'name', ',' ORDER BY data->>'name') FROM tv_tag")" \
    "its intent and its rebuild request (same transaction) are applied, with no SIGHUP"
assert_contains "$(cat "$CDC_LOG")" "registry changed at " "the daemon logs the registry change it read from the log"
assert_not_contains "$(cat "$CDC_LOG")" "registry re-read" "... and did not re-read the table"

lsn=$(pgcluster_psql -c "UPDATE tb_post SET title = 'renamed once' WHERE id = '$POST1'" \
    -c "SELECT tvsync.publish('post', ARRAY['$POST1'::uuid])" | tail -n1)
cdc_wait_lsn "$lsn"
assert_eq "renamed once" "$(pgcluster_psql -c "SELECT data->>'postTitle' FROM tv_tag WHERE id = '40000000-0000-4000-8000-000000000001'")" \
    "the cascade registered with it applies to a later post intent"

# 2. In order within one stream: while the daemon is stopped (SIGSTOP, so it reads the
#    three transactions together when it goes on), an intent for "badge" committed before
#    badge is registered, the registration, and an intent after it. Each transaction also
#    writes a post, so the registry change arrives while the batch being filled holds ids.
pgcluster_psql <<'SQL' >/dev/null
CREATE TABLE tb_badge (id uuid PRIMARY KEY, post_id uuid NOT NULL, label text NOT NULL);
CREATE TABLE tv_badge (id uuid PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION fn_build_badge(ids uuid[]) RETURNS TABLE (id uuid, data jsonb) LANGUAGE sql STABLE AS $$
    SELECT b.id, jsonb_build_object('id', b.id, 'label', b.label, 'postTitle', p.title)
    FROM public.tb_badge b JOIN public.tb_post p ON p.id = b.post_id
    WHERE ids IS NULL OR b.id = ANY (ids)
$$;
INSERT INTO tb_badge VALUES ('50000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000203', 'one'),
                            ('50000000-0000-4000-8000-000000000002', '20000000-0000-4000-8000-000000000204', 'two');
SQL
kill -STOP "$CDC_PID"
before_lsn=$(pgcluster_psql <<SQL | tail -n1
BEGIN;
UPDATE tb_post SET title = 'before badge' WHERE id = '$POST2';
SELECT tvsync.publish('post', ARRAY['$POST2'::uuid]);
SELECT pg_logical_emit_message(true, 'tvsync', '{"entity":"badge","ids":["50000000-0000-4000-8000-000000000001"]}');
COMMIT;
SQL
)
pgcluster_psql <<'SQL' >/dev/null
INSERT INTO tvsync.entity (name, tv_table, source_table, build_function)
VALUES ('badge', 'tv_badge', 'tb_badge', 'fn_build_badge(uuid[])');
SQL
lsn=$(pgcluster_psql <<SQL | tail -n1
BEGIN;
UPDATE tb_post SET title = 'after badge' WHERE id = '$POST1';
SELECT tvsync.publish('post', ARRAY['$POST1'::uuid]);
SELECT tvsync.publish('badge', ARRAY['50000000-0000-4000-8000-000000000002'::uuid]);
COMMIT;
SQL
)
kill -CONT "$CDC_PID"
cdc_wait_lsn "$lsn"
assert_eq "1" "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.dead_letter WHERE reason = 'unknown entity \"badge\"' AND lsn = '$before_lsn'")" \
    "an intent committed before its entity was registered meets the old registry (dead letter)"
assert_eq "1" "$(dead_letters)" "... and nothing else dead-letters"
assert_eq "two" "$(pgcluster_psql -c "SELECT string_agg(data->>'label', ',') FROM tv_badge")" \
    "an intent committed after the registration, read in the same stream, is applied with the new registry"
assert_eq "before badge|after badge" \
    "$(pgcluster_psql -c "SELECT (SELECT data->>'title' FROM tv_post WHERE id = '$POST2') || '|' || (SELECT data->>'title' FROM tv_post WHERE id = '$POST1')")" \
    "the post intents on both sides of the change are applied"

# 3. A cascade added later applies from its position: a post renamed before the
#    cascade post -> badge is added does not reach its badge, one renamed after does.
lsn=$(pgcluster_psql -c "SELECT tvsync.publish('badge', ARRAY['50000000-0000-4000-8000-000000000001'::uuid,
                                                           '50000000-0000-4000-8000-000000000002'::uuid])")
cdc_wait_lsn "$lsn"
assert_eq "post 3|post 4" "$(pgcluster_psql -c "SELECT string_agg(data->>'postTitle', '|' ORDER BY id) FROM tv_badge")" \
    "both badges have their documents"
kill -STOP "$CDC_PID"
pgcluster_psql -c "UPDATE tb_post SET title = 'renamed before the cascade' WHERE id = '20000000-0000-4000-8000-000000000203'" \
    -c "SELECT tvsync.publish('post', ARRAY['20000000-0000-4000-8000-000000000203'::uuid])" >/dev/null
pgcluster_psql -c "INSERT INTO tvsync.cascade (source_entity, target_entity, query)
    VALUES ('post', 'badge', 'SELECT b.id FROM public.tb_badge b WHERE b.post_id = ANY (\$1)')" >/dev/null
lsn=$(pgcluster_psql -c "UPDATE tb_post SET title = 'renamed after the cascade' WHERE id = '20000000-0000-4000-8000-000000000204'" \
    -c "SELECT tvsync.publish('post', ARRAY['20000000-0000-4000-8000-000000000204'::uuid])" | tail -n1)
kill -CONT "$CDC_PID"
cdc_wait_lsn "$lsn"
assert_eq "post 3" "$(pgcluster_psql -c "SELECT data->>'postTitle' FROM tv_badge WHERE id = '50000000-0000-4000-8000-000000000001'")" \
    "a post intent before the cascade was added, read in the same stream, does not reach its badge"
assert_eq "renamed after the cascade" "$(pgcluster_psql -c "SELECT data->>'postTitle' FROM tv_badge WHERE id = '50000000-0000-4000-8000-000000000002'")" \
    "a post intent after the cascade was added rebuilds its badge"

# 4. A rebuild request for an entity registered while the daemon runs; one for an
#    entity the registry does not have is refused.
assert_exit 0 "tvsync-slot rebuild of the new entity" -- "$SLOT" rebuild badge
wait_for 30 rebuild_done
assert_exit 0 "after the rebuild every tv_* equals a full rebuild (verify)" -- cdc_verify
assert_exit 1 "tvsync-slot rebuild of an unknown entity exits 1" -- "$SLOT" rebuild nosuch
assert_contains "$ASSERT_OUTPUT" 'unknown entity "nosuch"' "... naming the entity"
assert_contains "$ASSERT_OUTPUT" "badge" "... and listing the registered ones"

# 5. Removing an entity: its later intents dead-letter, the others go on.
lsn=$(pgcluster_psql -c "DELETE FROM tvsync.entity WHERE name = 'badge'" \
    -c "SELECT pg_logical_emit_message(true, 'tvsync', '{\"entity\":\"badge\",\"ids\":[\"50000000-0000-4000-8000-000000000002\"]}')" | tail -n1)
cdc_wait_lsn "$lsn"
assert_eq "2" "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.dead_letter WHERE reason = 'unknown entity \"badge\"'")" \
    "after an entity is removed, its intents dead-letter"
cdc_sync || assert_fail "the daemon applies after an entity is removed"

# 6. A registry row the daemon cannot read (written by hand): a dead letter that says
#    so, and the registry before it stays in force.
lsn=$(pgcluster_psql -c "INSERT INTO tvsync.registry_log (registry) VALUES ('{\"entities\": 1}')" \
    -c "SELECT tvsync.publish('tag', ARRAY['40000000-0000-4000-8000-000000000002'::uuid])" | tail -n1)
cdc_wait_lsn "$lsn"
assert_eq "1" "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.dead_letter WHERE reason LIKE 'unreadable registry change: %'")" \
    "an unreadable registry row goes to tvsync.dead_letter"
assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.dead_letter WHERE content LIKE '%40000000-0000-4000-8000-000000000002%'")" \
    "... and the registry before it stays in force (the tag intent after it is applied)"

cdc_stop
assert_eq "0" "$CDC_STATUS" "SIGTERM exits 0"

# 7. An engine without migration 040 (the daemon is newer than the database): exit 4 and
#    what to do.
pgcluster_psql -c "ALTER FUNCTION tvsync.registry_json() RENAME TO registry_json_hidden" >/dev/null
assert_exit 4 "an engine without tvsync.registry_json() exits 4" -- \
    "$CDC_BIN" --database "$TVSYNC_DATABASE_URL" --metrics-listen 127.0.0.1:0
assert_contains "$ASSERT_OUTPUT" "apply the engine's migrations (tvsync-migrate up)" "... saying to apply the migrations"
pgcluster_psql -c "ALTER FUNCTION tvsync.registry_json_hidden() RENAME TO registry_json" >/dev/null
test_summary
