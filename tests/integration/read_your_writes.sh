#!/bin/bash
# read_your_writes.sh: a mutation's answer reflects its own write even when another
# transaction commits between the mutation's intent message and its commit. tvsync-cdc
# applies transactions in commit order, so the other transaction is applied first; its
# progress passes the mutation's message LSN while the mutation is not applied yet. The
# server must wait for a position at or past the mutation's commit, not its message.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"

SHOP="$TVSYNC_SRCDIR/examples/shop"
SERVER_SCHEMA="$SHOP/schema.graphql"
pgcluster_start || { echo "starting PostgreSQL failed"; exit 1; }
pgcluster_on_exit server_lib_cleanup
pgcluster_on_exit '[ -n "${CDC_PID:-}" ] && kill "$CDC_PID" 2>/dev/null && wait "$CDC_PID" 2>/dev/null; rm -f "${CDC_LOG:-}"'
migrate() {
    "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$TVSYNC_DATABASE_URL" "$@"
}
migrate --dir "$SHOP" up >/dev/null || { echo "migrate up failed"; exit 1; }
migrate seed "$SHOP/seed.sql" >/dev/null || { echo "seed failed"; exit 1; }
"$TVSYNC_BUILDDIR/slot/tvsync-slot" --database "$TVSYNC_DATABASE_URL" create >/dev/null 2>&1 || { echo "slot create failed"; exit 1; }

# An order whose note is "slow" holds its commit for a second after its intent was
# published (a deferred constraint trigger runs at COMMIT, after the mutation function).
pgcluster_psql -c "CREATE FUNCTION shop.slow_commit() RETURNS trigger LANGUAGE plpgsql AS \$\$
                   BEGIN IF NEW.note = 'slow' THEN PERFORM pg_sleep(1.5); END IF; RETURN NULL; END \$\$;
                   CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON shop.tb_order
                   DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION shop.slow_commit()" >/dev/null

CDC_LOG=$(mktemp /tmp/tvsync-cdc-log.XXXXXX)
"$TVSYNC_BUILDDIR/cdc/tvsync-cdc" --database "$TVSYNC_DATABASE_URL" --metrics-listen 127.0.0.1:0 >"$CDC_LOG" 2>&1 &
CDC_PID=$!
server_start --set server.sync_wait_timeout_ms=4000 || { echo "server did not start"; exit 1; }

gql_query 'mutation { createOrder(customerId: "C-1001", note: "slow", lines: [{productId: "1", quantity: 1}]) { id note lineCount } }' \
    >"$PGCLUSTER_DIR/slow.out" &
SLOW=$!
# While the slow order waits for its commit, another transaction publishes and commits.
sleep 0.5
pgcluster_psql -c "SELECT tvsync.publish('customer', ARRAY['C-1002'])" >/dev/null
wait "$SLOW"
out=$(cat "$PGCLUSTER_DIR/slow.out")
assert_contains "$out" '"note":"slow","lineCount":1' \
    "the slow order's answer shows the order, though a later-started transaction committed and was applied first"
assert_not_contains "$out" '"createOrder":null' "the answer is not null"

# Other WAL flushed with a mutation's commit (here: a busy table without intents) puts the
# position the server waits for past the last source transaction; tvsync-cdc then confirms
# the end of WAL to the slot once it has nothing pending, and the wait ends through it.
pgcluster_psql -c "CREATE TABLE public.busy (n int)" >/dev/null
( end=$((SECONDS + 6)); while [ $SECONDS -lt $end ]; do
      pgcluster_psql -c "INSERT INTO public.busy SELECT generate_series(1, 200)" >/dev/null
  done ) &
BUSY=$!
sleep 0.3
answers=""
for i in 1 2 3 4 5 6; do
    answers+="$(gql_query "mutation { setOrderLine(orderId: \"9007199254740993\", productId: \"3\", quantity: $i) { lines { quantity } } }")
"
done
wait "$BUSY"
assert_eq 6 "$(grep -c '"quantity":6\|"quantity":[1-5]' <<<"$answers")" "six mutations answered with their writes while other WAL was written"
assert_not_contains "$answers" "SYNC_TIMEOUT" "no wait timed out"

test_summary
