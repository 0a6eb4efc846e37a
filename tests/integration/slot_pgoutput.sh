#!/bin/bash
# slot_pgoutput.sh: [slot] plugin = pgoutput against a throwaway PostgreSQL 15: check before
# and after create, create makes the publication before the slot, peek decodes pgoutput,
# a slot/plugin mismatch refused by check and tvsync-cdc, drop removes the publication.
set -u
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

SLOT="$TVSYNC_BUILDDIR/slot/tvsync-slot"
CDC="$TVSYNC_BUILDDIR/cdc/tvsync-cdc"
sql() { pgcluster_psql -c "$1"; }

pgcluster_start || exit 1
pgcluster_migrate >/dev/null || { echo "not ok - tvsync-migrate up failed"; exit 1; }
"$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --dir "$TVSYNC_SRCDIR/examples/blog" seed "$TVSYNC_SRCDIR/examples/blog/seed.sql" \
    >/dev/null || { echo "not ok - tvsync-migrate seed failed"; exit 1; }

# ---- a value that is no plugin is refused at start, naming the key and the choices
assert_exit 3 "an unknown plugin is a configuration error" -- env TVSYNC_SLOT_PLUGIN=test_decoding "$SLOT" check
assert_contains "$ASSERT_OUTPUT" 'slot.plugin = "test_decoding" is not an output plugin tvsync reads (wal2json, pgoutput)' \
    "the error names the key and the accepted values"
assert_exit 3 "tvsync-cdc refuses it too" -- "$CDC" --set slot.plugin=decoderbufs --metrics-listen 127.0.0.1:0
assert_contains "$ASSERT_OUTPUT" "slot.plugin" "tvsync-cdc's error names the key"

export TVSYNC_SLOT_PLUGIN=pgoutput

# ---- check before create: pgoutput decodes, create can make the publication
assert_exit 0 "check passes before create" -- "$SLOT" check
assert_contains "$ASSERT_OUTPUT" "ok    pgoutput decodes (a temporary slot was created and dropped)" "check probes pgoutput"
assert_contains "$ASSERT_OUTPUT" 'ok    publication "tvsync_pub" does not exist yet: tvsync-slot create makes it' \
    "check says create will make the publication"
sql "CREATE ROLE plain LOGIN" >/dev/null
assert_exit 1 "check fails for a role that could not create the publication" -- \
    "$SLOT" --database "${TVSYNC_DATABASE_URL/postgres@/plain@}" check
assert_contains "$ASSERT_OUTPUT" 'role "plain" cannot create it: tvsync-slot create needs CREATE on the database and ownership of tvsync.registry_log' \
    "check names what the role lacks"

# ---- create: the publication first, then the slot with pgoutput
assert_exit 0 "create with pgoutput" -- "$SLOT" create
assert_contains "$ASSERT_OUTPUT" 'created publication "tvsync_pub" (tvsync.registry_log, inserts)' "create makes the publication"
assert_contains "$ASSERT_OUTPUT" 'created replication slot "tvsync" (pgoutput) at consistent point' "create makes a pgoutput slot"
assert_eq "pgoutput|logical" "$(sql "SELECT plugin, slot_type FROM pg_replication_slots WHERE slot_name = 'tvsync'")" \
    "the slot uses pgoutput"
assert_eq "tvsync.registry_log|t|f|f|f" \
    "$(sql "SELECT string_agg(schemaname || '.' || tablename, ','), bool_and(pubinsert), bool_and(pubupdate),
                   bool_and(pubdelete), bool_and(pubtruncate)
            FROM pg_publication p JOIN pg_publication_tables t USING (pubname) WHERE pubname = 'tvsync_pub'")" \
    "the publication holds tvsync.registry_log and publishes inserts only"
assert_exit 0 "create --if-not-exists on the made slot" -- "$SLOT" create --if-not-exists
assert_contains "$ASSERT_OUTPUT" 'already exists (pgoutput): nothing done' "nothing more to make"

# ---- check after create
assert_exit 0 "check passes with the slot and its publication" -- "$SLOT" check
assert_contains "$ASSERT_OUTPUT" 'ok    replication slot "tvsync" exists (pgoutput, ' "check names the slot's plugin"
assert_contains "$ASSERT_OUTPUT" 'ok    publication "tvsync_pub" exists and publishes inserts into tvsync.registry_log' \
    "check finds the publication"

sql "ALTER PUBLICATION tvsync_pub DROP TABLE tvsync.registry_log" >/dev/null
assert_exit 1 "check fails when the publication lacks tvsync.registry_log" -- "$SLOT" check
assert_contains "$ASSERT_OUTPUT" 'ALTER PUBLICATION "tvsync_pub" ADD TABLE tvsync.registry_log' "check says how to add it"
sql "ALTER PUBLICATION tvsync_pub ADD TABLE tvsync.registry_log" >/dev/null

# ---- peek decodes pgoutput's messages
sql "SELECT pg_logical_emit_message(true, 'tvsync', '{\"peeked\": 1}')" >/dev/null
assert_exit 0 "peek with pgoutput" -- "$SLOT" peek
assert_contains "$ASSERT_OUTPUT" '{"peeked": 1}' "peek shows the message's content"

# ---- the configured plugin and the slot's disagree
assert_exit 1 "check with wal2json configured fails on a pgoutput slot" -- env TVSYNC_SLOT_PLUGIN=wal2json "$SLOT" check
assert_contains "$ASSERT_OUTPUT" 'replication slot "tvsync" uses plugin pgoutput but [slot] plugin is wal2json: set plugin = pgoutput under [slot]' \
    "check says both plugins and what to do"
assert_exit 5 "tvsync-cdc with wal2json configured refuses a pgoutput slot" -- \
    env TVSYNC_SLOT_PLUGIN=wal2json timeout 60 "$CDC" --database "$TVSYNC_DATABASE_URL" --metrics-listen 127.0.0.1:0
assert_contains "$ASSERT_OUTPUT" 'uses the output plugin pgoutput but [slot] plugin is wal2json: set plugin = pgoutput' \
    "tvsync-cdc says both plugins and what to do"

# ---- tvsync-cdc without the publication: refused at start, not at the first row change
sql "DROP PUBLICATION tvsync_pub" >/dev/null
assert_exit 1 "check fails when the slot's publication is missing" -- "$SLOT" check
assert_contains "$ASSERT_OUTPUT" 'FAIL  publication "tvsync_pub" does not exist; pgoutput needs it: run tvsync-slot create (with --if-not-exists when the slot exists)' \
    "check says the publication is missing and how to make it"
assert_exit 5 "tvsync-cdc refuses to stream without the publication" -- \
    timeout 60 "$CDC" --database "$TVSYNC_DATABASE_URL" --metrics-listen 127.0.0.1:0
assert_contains "$ASSERT_OUTPUT" 'publication "tvsync_pub" does not exist' "tvsync-cdc names the missing publication"
assert_exit 0 "create --if-not-exists makes the missing publication" -- "$SLOT" create --if-not-exists
assert_contains "$ASSERT_OUTPUT" 'created publication "tvsync_pub"' "the publication is back"
assert_exit 0 "peek decodes with the publication made again" -- "$SLOT" peek

# ---- ... unless a row change came while it was missing: pgoutput cannot decode that
sql "DROP PUBLICATION tvsync_pub" >/dev/null
sql "CREATE TABLE public.test_note (x int); INSERT INTO public.test_note VALUES (1)" >/dev/null
assert_exit 5 "create --if-not-exists refuses a publication the slot's changes cannot use" -- "$SLOT" create --if-not-exists
assert_contains "$ASSERT_OUTPUT" 'holds changes from before publication "tvsync_pub" existed, which pgoutput cannot decode' \
    "create says why"
assert_contains "$ASSERT_OUTPUT" 'run tvsync-slot drop, then tvsync-slot create' "create says what to do"
assert_eq "0" "$(sql "SELECT count(*) FROM pg_publication")" "the publication that cannot work is not left"
sql "CREATE PUBLICATION tvsync_pub FOR TABLE tvsync.registry_log WITH (publish = 'insert')" >/dev/null

# ---- drop removes slot, origin and publication
assert_exit 0 "drop" -- "$SLOT" drop
assert_contains "$ASSERT_OUTPUT" 'dropped publication "tvsync_pub"' "drop says it dropped the publication"
assert_eq "0|0|0" "$(sql "SELECT (SELECT count(*) FROM pg_replication_slots), (SELECT count(*) FROM pg_replication_origin),
                                 (SELECT count(*) FROM pg_publication)")" \
    "no slot, origin or publication is left"

# ---- a create that fails after making the publication (the build) takes it back
sql "ALTER TABLE tv_post ADD CONSTRAINT test_no_build CHECK (false) NOT VALID" >/dev/null
assert_exit 4 "create fails when the build fails" -- "$SLOT" create
assert_contains "$ASSERT_OUTPUT" 'test_no_build' "create says why"
sql "ALTER TABLE tv_post DROP CONSTRAINT test_no_build" >/dev/null
assert_eq "0|0" "$(sql "SELECT (SELECT count(*) FROM pg_replication_slots), (SELECT count(*) FROM pg_publication)")" \
    "a failed create leaves no slot and no publication"

test_summary
