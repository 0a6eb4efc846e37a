#!/bin/sh
# cdc_long_names: entities whose read models and build functions have the longest
# names PostgreSQL allows (63-byte identifiers of double quotes, doubled when
# quoted) apply like any other: the statements tvsync-cdc builds from the
# registry's names keep them whole, including a cascade query run inside a diff
# of its targets, so nothing goes to tvsync.dead_letter.
. "$TVSYNC_SRCDIR/tests/integration/cdc_lib.sh"
set -u

cdc_setup
cdc_kill_on_exit

# A quoted identifier of 62 double quotes and one letter: 63 bytes.
long_identifier() {
    printf '"'
    i=0
    while [ $i -lt 62 ]; do
        printf '""'
        i=$((i + 1))
    done
    printf '%s"' "$1"
}
S=$(long_identifier s)
TV_PARENT="$S.$(long_identifier p)"
TV_CHILD="$S.$(long_identifier c)"
BUILD_PARENT="$S.$(long_identifier P)"
BUILD_CHILD="$S.$(long_identifier C)"

pgcluster_psql <<SQL >/dev/null || exit 1
CREATE SCHEMA $S;
CREATE TABLE public.tb_long_parent (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE public.tb_long_child (id uuid PRIMARY KEY, parent_id uuid NOT NULL, body text NOT NULL);
CREATE TABLE $TV_PARENT (id uuid PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE $TV_CHILD (id uuid PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION $BUILD_PARENT(ids uuid[]) RETURNS TABLE (id uuid, data jsonb) LANGUAGE sql STABLE AS \$\$
    SELECT p.id, jsonb_build_object('id', p.id, 'name', p.name)
    FROM public.tb_long_parent p WHERE ids IS NULL OR p.id = ANY (ids)
\$\$;
CREATE FUNCTION $BUILD_CHILD(ids uuid[]) RETURNS TABLE (id uuid, data jsonb) LANGUAGE sql STABLE AS \$\$
    SELECT c.id, jsonb_build_object('id', c.id, 'body', c.body, 'parentName', p.name)
    FROM public.tb_long_child c JOIN public.tb_long_parent p ON p.id = c.parent_id
    WHERE ids IS NULL OR c.id = ANY (ids)
\$\$;
INSERT INTO tvsync.entity (name, tv_table, source_table, build_function) VALUES
    ('long_parent', '$TV_PARENT', 'public.tb_long_parent', '$BUILD_PARENT(uuid[])'),
    ('long_child', '$TV_CHILD', 'public.tb_long_child', '$BUILD_CHILD(uuid[])');
INSERT INTO tvsync.cascade (source_entity, target_entity, query) VALUES
    ('long_parent', 'long_child', 'SELECT c.id FROM public.tb_long_child c WHERE c.parent_id = ANY (\$1)');
SQL
assert_eq "255" "$(pgcluster_psql -c "SELECT length(tvsync.build_function_name(e)) FROM tvsync.entity e WHERE name = 'long_child'")" \
    "the build function's quoted name is 255 bytes"

cdc_start --set cdc.max_retries=0 || exit 1

PARENT=50000000-0000-4000-8000-000000000001
CHILD=50000000-0000-4000-8000-000000000002

# Both rows, with their intents: each entity's apply statement holds its names.
lsn=$(pgcluster_psql <<SQL | tail -n1
BEGIN;
INSERT INTO tb_long_parent VALUES ('$PARENT', 'first');
INSERT INTO tb_long_child VALUES ('$CHILD', '$PARENT', 'hello');
SELECT tvsync.publish('long_parent', ARRAY['$PARENT'::uuid]);
SELECT tvsync.publish('long_child', ARRAY['$CHILD'::uuid]);
COMMIT;
SQL
)
cdc_wait_lsn "$lsn"
assert_eq "first" "$(pgcluster_psql -c "SELECT data->>'parentName' FROM $TV_CHILD WHERE id = '$CHILD'")" \
    "a child is built into its long-named read model"

# The parent alone: its cascade reaches the child through a query run inside a
# diff of the child's read model (the longest statement tvsync-cdc builds).
lsn=$(pgcluster_psql <<SQL | tail -n1
BEGIN;
UPDATE tb_long_parent SET name = 'renamed' WHERE id = '$PARENT';
SELECT tvsync.publish('long_parent', ARRAY['$PARENT'::uuid]);
COMMIT;
SQL
)
cdc_wait_lsn "$lsn"
assert_eq "renamed" "$(pgcluster_psql -c "SELECT data->>'name' FROM $TV_PARENT WHERE id = '$PARENT'")" \
    "the parent's document is rebuilt"
assert_eq "renamed" "$(pgcluster_psql -c "SELECT data->>'parentName' FROM $TV_CHILD WHERE id = '$CHILD'")" \
    "the cascade rebuilds the child with the parent's new name"
assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.dead_letter")" \
    "nothing goes to tvsync.dead_letter"
assert_eq "0" "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.sync_log WHERE NOT success")" \
    "every batch succeeds"
assert_exit 0 "every tv_* equals a full rebuild (verify)" -- cdc_verify

cdc_stop
assert_eq "0" "$CDC_STATUS" "SIGTERM exits 0"
test_summary
