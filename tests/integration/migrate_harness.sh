#!/bin/bash
# migrate_harness.sh: the test harness itself (tests/lib/pgcluster.sh): every test relies on
# it starting a usable cluster and always removing it, on success, failure, signal or SIGKILL.
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tvsync-harness-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# A child test script: starts a cluster with the given settings, records where, then
# does what it is told ($1: exit-0, exit-1, wait).
cat >"$WORK/child.sh" <<'EOF'
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
action=$1
shift
pgcluster_start "$@" || exit 99
echo "$(dirname "$(pgcluster_datadir)") $PGPORT $TVSYNC_DATABASE_URL" >"$CHILD_INFO.tmp"
pgcluster_psql -c "SHOW wal_level" >>"$CHILD_INFO.tmp"
pgcluster_psql -c "SELECT count(*) FROM pg_settings WHERE name = 'max_replication_slots' AND setting = '10'" >>"$CHILD_INFO.tmp"
mv "$CHILD_INFO.tmp" "$CHILD_INFO"
case $action in
    exit-0) exit 0 ;;
    exit-1) exit 1 ;;
    wait) while :; do sleep 1; done ;;
esac
EOF

child_dir() { cut -d' ' -f1 "$1" | head -1; }
gone() { [ ! -e "$1" ]; }

# --- a passing test: usable cluster, removed at exit ----------------------------------------
CHILD_INFO=$WORK/ok.info bash "$WORK/child.sh" exit-0 >"$WORK/ok.out" 2>&1
assert_eq "0" "$?" "a test that passes exits 0"
read -r dir port url <"$WORK/ok.info"
assert_eq "postgresql://postgres@127.0.0.1:$port/tvsync_test" "$url" "TVSYNC_DATABASE_URL names the test database"
assert_eq "logical" "$(sed -n 2p "$WORK/ok.info")" "the cluster has wal_level = logical"
assert_eq "1" "$(sed -n 3p "$WORK/ok.info")" "the cluster has max_replication_slots = 10"
assert_eq "" "$(ls -d "$dir" 2>/dev/null)" "the cluster is removed after a passing test"

# --- a failing test: removed too, and the server log is shown --------------------------------
CHILD_INFO=$WORK/fail.info bash "$WORK/child.sh" exit-1 >"$WORK/fail.out" 2>&1
assert_eq "1" "$?" "a failing test keeps its exit status"
assert_contains "$(cat "$WORK/fail.out")" "database system is ready to accept connections" \
    "a failing test prints the tail of the server log"
assert_eq "" "$(ls -d "$(child_dir "$WORK/fail.info")" 2>/dev/null)" "the cluster is removed after a failing test"

# --- extra settings win over the defaults -----------------------------------------------------
CHILD_INFO=$WORK/replica.info bash "$WORK/child.sh" exit-0 "wal_level = replica" >/dev/null 2>&1
assert_eq "replica" "$(sed -n 2p "$WORK/replica.info")" "an extra postgresql.conf line overrides the default"

# --- interrupted and killed tests --------------------------------------------------------------
for signal in TERM INT KILL; do
    info=$WORK/$signal.info
    # In its own process group, as under make; perl restores SIGINT, which a shell
    # ignores in the commands it starts in the background.
    CHILD_INFO=$info setsid perl -e '$SIG{INT} = "DEFAULT"; exec @ARGV' bash "$WORK/child.sh" wait \
        >"$WORK/$signal.out" 2>&1 &
    child=$!
    if wait_for 60 test -s "$info"; then
        dir=$(child_dir "$info")
        kill -"$signal" -- -"$child" 2>/dev/null
        wait "$child" 2>/dev/null
        if wait_for 20 gone "$dir"; then
            assert_pass "the cluster is removed after SIG$signal"
        else
            assert_fail "the cluster is removed after SIG$signal" "$dir is still there"
        fi
        assert_eq "" "$(pgrep -f -- "-D $dir/data" || true)" "no server is left running after SIG$signal"
    else
        assert_fail "the child started a cluster before SIG$signal" "$(cat "$WORK/$signal.out")"
        kill -KILL -- -"$child" 2>/dev/null
    fi
done

# --- two clusters at once get their own ports --------------------------------------------------
CHILD_INFO=$WORK/a.info setsid bash "$WORK/child.sh" wait >/dev/null 2>&1 &
a=$!
CHILD_INFO=$WORK/b.info setsid bash "$WORK/child.sh" wait >/dev/null 2>&1 &
b=$!
if wait_for 60 test -s "$WORK/a.info" && wait_for 60 test -s "$WORK/b.info"; then
    port_a=$(cut -d' ' -f2 "$WORK/a.info" | head -1)
    port_b=$(cut -d' ' -f2 "$WORK/b.info" | head -1)
    if [ "$port_a" != "$port_b" ]; then
        assert_pass "two clusters at once listen on different ports"
    else
        assert_fail "two clusters at once listen on different ports" "both on $port_a"
    fi
else
    assert_fail "two clusters start at once"
fi
kill -TERM -- -"$a" -"$b" 2>/dev/null
wait "$a" "$b" 2>/dev/null
wait_for 20 gone "$(child_dir "$WORK/a.info")" && wait_for 20 gone "$(child_dir "$WORK/b.info")"
assert_eq "0" "$?" "both clusters are removed"

# --- restart keeps the data; an immediate restart recovers ------------------------------------
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
pgcluster_start || exit 1
pgcluster_on_exit 'rm -rf "$WORK"'
pgcluster_psql -c "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)"
pgcluster_restart -m immediate
assert_eq "42" "$(pgcluster_psql -c "SELECT x FROM kept")" "data survives an immediate restart"
pgcluster_stop
assert_exit 2 "pg_isready fails once the cluster is stopped" -- "$PGCLUSTER_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PGPORT"
pgcluster_restart
assert_eq "42" "$(pgcluster_psql -c "SELECT x FROM kept")" "restart starts a stopped cluster"

test_summary
