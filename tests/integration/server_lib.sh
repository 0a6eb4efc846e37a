# server_lib.sh: helpers for the tvsync-server integration tests: start the server on a
# free port, send GraphQL over HTTP with curl, and (when tvsync-cdc is not wanted) a small
# SQL applier that plays tvsync-cdc's part: apply intents, then NOTIFY tvsync_applied.

# TVSYNC_TEST_PLUGIN=pgoutput: the tests that run the real tvsync-slot and tvsync-cdc
# (server_cdc.sh) use the pgoutput output plugin; they read [slot] plugin from here.
if [ "${TVSYNC_TEST_PLUGIN:-wal2json}" != wal2json ]; then
    export TVSYNC_SLOT_PLUGIN="$TVSYNC_TEST_PLUGIN"
fi

SERVER_BIN="$TVSYNC_BUILDDIR/server/tvsync-server"
SERVER_SCHEMA="$TVSYNC_SRCDIR/examples/blog/schema.graphql"
SERVER_PID=
SERVER_LOG=
SERVER_URL=

# server_database_start: a throwaway cluster (stopped, with the server, on exit) with the
# migrations, the blog seed and read models built from it; exits the test when it fails.
server_database_start() {
    pgcluster_start || { echo "starting PostgreSQL failed"; exit 1; }
    pgcluster_on_exit server_lib_cleanup
    pgcluster_migrate >/dev/null 2>&1 || { echo "migrate failed"; exit 1; }
    "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$TVSYNC_DATABASE_URL" \
        seed "$TVSYNC_SRCDIR/examples/blog/seed.sql" >/dev/null 2>&1 || { echo "seed failed"; exit 1; }
    pgcluster_psql -c "SELECT tvsync.apply(name, NULL) FROM tvsync.entity" >/dev/null
}

# server_start [tvsync-server options...]: starts it on a free port, waits until it listens.
server_start() {
    SERVER_LOG=$(mktemp /tmp/tvsync-server-log.XXXXXX)
    "$SERVER_BIN" --database "$TVSYNC_DATABASE_URL" --listen 127.0.0.1:0 --schema "$SERVER_SCHEMA" \
        --log-level debug "$@" >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    if ! wait_for 20 grep -q "listening on http://" "$SERVER_LOG"; then
        cat "$SERVER_LOG" >&2
        return 1
    fi
    SERVER_URL=$(sed -n 's|.*listening on \(http://[^ ]*/graphql\).*|\1|p' "$SERVER_LOG" | head -1)
    SERVER_BASE=${SERVER_URL%/graphql}
    wait_for 20 server_healthy
}

server_healthy() {
    curl -sf "$SERVER_BASE/health" >/dev/null
}

server_stop() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null
    fi
    SERVER_PID=
}

# gql BODY_JSON [curl options...]: POSTs the body, prints the response body.
gql() {
    local body=$1
    shift
    # Bounded: a request that hangs fails its assertion instead of stalling the suite.
    curl -s --max-time 60 -H 'Content-Type: application/json' "$@" --data-binary "$body" "$SERVER_URL"
}

# without_token: a response (stdin) without the consistency token a mutation answers with
# (extensions.tvsync.lsn, the last key the server writes there), and without extensions when
# nothing else is left in them. Text, not jq: jq would round numbers past 2^53.
without_token() {
    sed -E -e 's/,"extensions":\{"tvsync":\{"lsn":"[0-9A-F]+\/[0-9A-F]+"\}\}\}$/}/' \
        -e 's/,"lsn":"[0-9A-F]+\/[0-9A-F]+"\}/}/'
}

# gql_query QUERY [VARIABLES_JSON]: wraps a document into a request body.
gql_query() {
    local variables=${2:-null}
    gql "$(jq -cn --arg q "$1" --argjson v "$variables" '{query: $q, variables: $v}')"
}

# A SQL stand-in for tvsync-cdc: consumes the intents from its own slot, rebuilds the
# listed rows and their cascades with tvsync.apply, then notifies the applied LSN.
# wal2json when the server has it, else test_decoding (the npm builds of PostgreSQL 16-18).
applier_install() {
    local plugin=test_decoding
    if pgcluster_has_plugin wal2json; then
        plugin=wal2json
    fi
    pgcluster_psql -v plugin="$plugin" >/dev/null <<'SQL'
SELECT pg_create_logical_replication_slot('server_test_applier', :'plugin');
CREATE FUNCTION public.server_test_apply() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    m record;
    contents text[];
    intent jsonb;
    ids text[];
    c record;
    targets text[];
    pending jsonb;
    applied int := 0;
BEGIN
    IF (SELECT plugin FROM pg_replication_slots WHERE slot_name = 'server_test_applier') = 'wal2json' THEN
        contents := ARRAY(SELECT data::jsonb ->> 'content' FROM pg_logical_slot_get_changes('server_test_applier',
            NULL, NULL, 'format-version', '2', 'actions', '', 'add-msg-prefixes', 'tvsync'));
    ELSE
        contents := ARRAY(SELECT substring(data FROM '^message: transactional: [01] prefix: tvsync, sz: [0-9]+ content:(.*)$')
            FROM pg_logical_slot_get_changes('server_test_applier', NULL, NULL) WHERE data LIKE 'message: %');
    END IF;
    FOR m IN SELECT content FROM unnest(contents) AS u(content) LOOP
        intent := m.content::jsonb;
        CONTINUE WHEN intent IS NULL OR NOT intent ? 'ids';
        ids := ARRAY(SELECT jsonb_array_elements_text(intent -> 'ids'));
        -- Cascade targets first: the queries also read the old documents.
        pending := '[]';
        FOR c IN SELECT target_entity, query FROM tvsync.cascade WHERE source_entity = intent ->> 'entity' LOOP
            -- The query takes an array of the source's key type; the ids are text.
            EXECUTE 'SELECT array_agg(t::text) FROM (' || replace(c.query, '$1', format('$1::%s[]',
                    (SELECT key_type FROM tvsync.entity WHERE name = intent ->> 'entity'))) || ') AS q(t)'
                INTO targets USING ids;
            IF targets IS NOT NULL THEN
                pending := pending || jsonb_build_array(jsonb_build_object('entity', c.target_entity, 'ids', to_jsonb(targets)));
            END IF;
        END LOOP;
        PERFORM tvsync.apply(intent ->> 'entity', ids);
        FOR c IN SELECT value AS target FROM jsonb_array_elements(pending) LOOP
            PERFORM tvsync.apply(c.target ->> 'entity', ARRAY(SELECT jsonb_array_elements_text(c.target -> 'ids')));
        END LOOP;
        applied := applied + 1;
    END LOOP;
    IF applied > 0 THEN
        PERFORM pg_notify('tvsync_applied', pg_current_wal_lsn()::text);
    END IF;
    RETURN applied;
END
$$;
SQL
}

APPLIER_PID=
applier_start() {
    APPLIER_STOP=$(mktemp -u "${TMPDIR:-/tmp}/tvsync-applier-stop.XXXXXX")
    (
        # Stops between two applies, never in the middle of one: a killed loop
        # could leave a psql behind that applies a later intent.
        while [ ! -e "$APPLIER_STOP" ]; do
            pgcluster_psql -c "SELECT public.server_test_apply()" >/dev/null 2>&1
            sleep 0.05
        done
    ) &
    APPLIER_PID=$!
}

applier_stop() {
    if [ -n "$APPLIER_PID" ]; then
        touch "$APPLIER_STOP"
        wait "$APPLIER_PID" 2>/dev/null
        rm -f "$APPLIER_STOP"
    fi
    APPLIER_PID=
}

server_lib_cleanup() {
    applier_stop
    server_stop
    [ -n "$SERVER_LOG" ] && rm -f "$SERVER_LOG"
}
