#!/bin/bash
# systemd_notify: the daemons speak the sd_notify protocol to a real NOTIFY_SOCKET: READY=1
# only once streaming (tvsync-cdc) or listening (tvsync-server), WATCHDOG=1 at half of
# WATCHDOG_USEC, RELOADING=1 with MONOTONIC_USEC then READY=1 on SIGHUP, STOPPING=1 on SIGTERM,
# and tvsync-server's STATUS= figures (periodic, and at once when the database goes or returns).
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

. "$TVSYNC_SRCDIR/tests/integration/programs.sh"

# Empty when this source tree does not build the program at all (a daemon
# still being written elsewhere is reported, not faked).
CDC=$(program_path tvsync-cdc)
SERVER=$(program_path tvsync-server)
SLOT=$(program_path tvsync-slot)
MIGRATE=$(program_path tvsync-migrate)
LISTENER="$TVSYNC_SRCDIR/tests/integration/notify_listener.py"
# 1 s: the daemons must ping every 0.5 s.
WATCHDOG_TEST_USEC=1000000

# Debian's python3 starts at once; a pyenv shim earlier in PATH can take seconds.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tvsync-notify-test.XXXXXX")
LISTENER_PID=
DAEMON_PID=
cleanup_processes() {
    [ -n "$DAEMON_PID" ] && kill -KILL "$DAEMON_PID" 2>/dev/null
    [ -n "$LISTENER_PID" ] && kill "$LISTENER_PID" 2>/dev/null
    # Wait for these two only: a bare `wait` would also wait for the cluster
    # reaper, which waits for this shell to exit.
    for pid in $DAEMON_PID $LISTENER_PID; do wait "$pid" 2>/dev/null; done
}

in_tree() { [ -n "$1" ]; }

# listener_start NAME [PROBE]: a fresh socket and log for one daemon run.
listener_start() {
    SOCKET="$WORK/$1.sock"
    LOG="$WORK/$1.log"
    : >"$LOG"
    "$PYTHON" "$LISTENER" "$SOCKET" "$LOG" "${2:-}" &
    LISTENER_PID=$!
    wait_for 30 grep -q LISTENING "$LOG" || { echo "notify listener did not start"; return 1; }
}

listener_stop() {
    kill "$LISTENER_PID" 2>/dev/null
    wait "$LISTENER_PID" 2>/dev/null
    LISTENER_PID=
}

# Messages (the text after the timestamp) logged after line number $1.
messages_after() {
    tail -n +"$(($1 + 1))" "$LOG" | cut -f2-
}

# The message sequence must contain $2 somewhere after $1 (both exact lines).
line_of() { # PATTERN [FROM_LINE]: line number of the first full match after FROM_LINE, or empty
    awk -F'\t' -v from="${2:-0}" -v pattern="$1" 'NR > from && $2 ~ pattern { print NR; exit }' "$LOG"
}

count_lines() { # PATTERN [FROM_LINE]
    awk -F'\t' -v from="${2:-0}" -v pattern="$1" 'NR > from && $2 ~ pattern { n++ } END { print n + 0 }' "$LOG"
}

has_lines() { # PATTERN COUNT [FROM_LINE]
    [ "$(count_lines "$1" "${3:-0}")" -ge "$2" ]
}

# Median gap in microseconds between consecutive WATCHDOG=1 messages.
watchdog_median_gap() {
    awk -F'\t' '$2 ~ /(^|\|)WATCHDOG=1($|\|)/ { if (last) print $1 - last; last = $1 }' "$LOG" |
        sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print 0 }'
}

# check_reload_and_stop NAME: SIGHUP then SIGTERM against $DAEMON_PID.
check_reload_and_stop() {
    local name=$1 mark reloading ready line monotonic arrival
    mark=$(wc -l <"$LOG")
    kill -HUP "$DAEMON_PID"
    wait_for 15 test -n "$(line_of '(^|\|)READY=1($|\|)' "$(line_of '(^|\|)RELOADING=1($|\|)' "$mark")")"
    reloading=$(line_of '(^|\|)RELOADING=1($|\|)' "$mark")
    assert_eq yes "$([ -n "$reloading" ] && echo yes || echo no)" "$name: SIGHUP sends RELOADING=1"
    ready=$(line_of '(^|\|)READY=1($|\|)' "${reloading:-999999}")
    assert_eq yes "$([ -n "$ready" ] && echo yes || echo no)" "$name: READY=1 follows RELOADING=1 after the reload"
    if [ -n "$reloading" ]; then
        line=$(sed -n "${reloading}p" "$LOG")
        arrival=${line%%$'\t'*}
        monotonic=$(printf '%s\n' "$line" | sed -n 's/.*MONOTONIC_USEC=\([0-9]*\).*/\1/p')
        assert_eq yes "$([ -n "$monotonic" ] && echo yes || echo no)" \
            "$name: RELOADING=1 carries MONOTONIC_USEC ($line)"
        # Same clock (CLOCK_MONOTONIC) on both sides: the stamp is when the
        # reload started, just before the message arrived.
        assert_eq yes "$(awk -v m="${monotonic:-0}" -v a="$arrival" 'BEGIN { d = a - m; print (d >= 0 && d < 2000000) ? "yes" : "no" }')" \
            "$name: MONOTONIC_USEC ($monotonic) is CLOCK_MONOTONIC at the reload (arrived at $arrival)"
    fi
    assert_eq 0 "$(kill -0 "$DAEMON_PID" 2>/dev/null; echo $?)" "$name: still running after SIGHUP"

    mark=$(wc -l <"$LOG")
    kill -TERM "$DAEMON_PID"
    local status=timeout deadline=$(( $(date +%s) + 30 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
            wait "$DAEMON_PID"; status=$?
            break
        fi
        sleep 0.1
    done
    assert_eq 0 "$status" "$name: exits 0 on SIGTERM"
    # The daemon sent it before exiting; the listener may not have logged it yet.
    wait_for 5 has_lines '(^|\|)STOPPING=1($|\|)' 1 "$mark"
    assert_eq yes "$(has_lines '(^|\|)STOPPING=1($|\|)' 1 "$mark" && echo yes || echo no)" \
        "$name: SIGTERM sends STOPPING=1"
    DAEMON_PID=
}

# --- the listener itself, with systemd's own client ------------------------------------
listener_start self || exit 1
NOTIFY_SOCKET="$SOCKET" systemd-notify --ready --status="listener self-test" 2>/dev/null
wait_for 10 grep -q 'READY=1' "$LOG"
assert_contains "$(messages_after 0)" "READY=1" "the test listener receives systemd-notify's READY=1"
listener_stop

tested=0
if in_tree "$CDC" || in_tree "$SERVER"; then
    pgcluster_start || exit 1
    pgcluster_on_exit cleanup_processes
    pgcluster_on_exit 'rm -rf "$WORK"'
    pgcluster_migrate >/dev/null || { echo "migrations failed"; exit 1; }
    "$MIGRATE" seed "$TVSYNC_SRCDIR/examples/blog/seed.sql" >/dev/null 2>&1
else
    trap 'rm -rf "$WORK"' EXIT
fi

# --- tvsync-cdc ----------------------------------------------------------------------------
if in_tree "$CDC"; then
    tested=$((tested + 1))
    assert_eq yes "$([ -x "$CDC" ] && echo yes || echo no)" "tvsync-cdc is built"

    # No slot yet: the daemon must not claim readiness, and must exit 5.
    listener_start cdc-noslot || exit 1
    NOTIFY_SOCKET="$SOCKET" "$CDC" --metrics-listen 127.0.0.1:0 --slot tvsync_missing >"$WORK/cdc-noslot.out" 2>&1 &
    DAEMON_PID=$!
    status=timeout
    for _ in $(seq 300); do
        if ! kill -0 "$DAEMON_PID" 2>/dev/null; then wait "$DAEMON_PID"; status=$?; break; fi
        sleep 0.1
    done
    [ "$status" = timeout ] && kill -KILL "$DAEMON_PID" 2>/dev/null
    DAEMON_PID=
    assert_eq 5 "$status" "tvsync-cdc without its slot exits 5"
    assert_eq 0 "$(count_lines '(^|\|)READY=1($|\|)')" "tvsync-cdc without its slot never sends READY=1"
    listener_stop

    "$SLOT" create >"$WORK/slot.out" 2>&1 || { cat "$WORK/slot.out"; echo "tvsync-slot create failed"; }

    # The probe runs when READY=1 arrives: the slot must be active (streaming) then.
    listener_start cdc "psql -X -qAt -c \"SELECT active FROM pg_replication_slots WHERE slot_name = 'tvsync'\" | grep -qx t"
    NOTIFY_SOCKET="$SOCKET" WATCHDOG_USEC=$WATCHDOG_TEST_USEC "$CDC" --metrics-listen 127.0.0.1:0 \
        >"$WORK/cdc.out" 2>&1 &
    DAEMON_PID=$!
    wait_for 30 grep -q 'PROBE=' "$LOG"
    ready=$(line_of '(^|\|)READY=1($|\|)')
    assert_eq yes "$([ -n "$ready" ] && echo yes || echo no)" "tvsync-cdc sends READY=1"
    assert_eq "PROBE=0" "$(sed -n "$((${ready:-0} + 1))p" "$LOG" | cut -f2)" \
        "tvsync-cdc's slot is active (streaming) when READY=1 arrives"
    assert_eq 1 "$(count_lines '(^|\|)READY=1($|\|)')" "tvsync-cdc sends READY=1 once at start"

    wait_for 15 has_lines '(^|\|)WATCHDOG=1($|\|)' 8
    gap=$(watchdog_median_gap)
    echo "tvsync-cdc: median WATCHDOG=1 gap ${gap} us for WATCHDOG_USEC=$WATCHDOG_TEST_USEC"
    assert_eq yes "$(awk -v g="$gap" -v w="$WATCHDOG_TEST_USEC" 'BEGIN { print (g >= w * 0.35 && g <= w * 0.65) ? "yes" : "no" }')" \
        "tvsync-cdc pings WATCHDOG=1 at half of WATCHDOG_USEC"
    check_reload_and_stop tvsync-cdc
    listener_stop
    [ "$status" = 0 ] || tail -20 "$WORK/cdc.out"
else
    echo "note: tvsync-cdc is not part of this tree yet; its notify protocol is not tested"
fi

# --- tvsync-server -------------------------------------------------------------------------
if in_tree "$SERVER"; then
    tested=$((tested + 1))
    assert_eq yes "$([ -x "$SERVER" ] && echo yes || echo no)" "tvsync-server is built"
    schema="$TVSYNC_SRCDIR/examples/blog/schema.graphql"
    port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    listener_start server "$PYTHON -c 'import socket; socket.create_connection((\"127.0.0.1\", $port), 1)'"
    NOTIFY_SOCKET="$SOCKET" WATCHDOG_USEC=$WATCHDOG_TEST_USEC "$SERVER" --listen "127.0.0.1:$port" \
        --schema "$schema" --set server.threads=2 >"$WORK/server.out" 2>&1 &
    DAEMON_PID=$!
    wait_for 30 grep -q 'PROBE=' "$LOG"
    ready=$(line_of '(^|\|)READY=1($|\|)')
    assert_eq yes "$([ -n "$ready" ] && echo yes || echo no)" "tvsync-server sends READY=1"
    assert_eq "PROBE=0" "$(sed -n "$((${ready:-0} + 1))p" "$LOG" | cut -f2)" \
        "tvsync-server accepts connections when READY=1 arrives"
    assert_eq 1 "$(count_lines '(^|\|)READY=1($|\|)')" "tvsync-server sends READY=1 once at start"
    wait_for 15 has_lines '(^|\|)WATCHDOG=1($|\|)' 8
    gap=$(watchdog_median_gap)
    echo "tvsync-server: median WATCHDOG=1 gap ${gap} us for WATCHDOG_USEC=$WATCHDOG_TEST_USEC"
    assert_eq yes "$(awk -v g="$gap" -v w="$WATCHDOG_TEST_USEC" 'BEGIN { print (g >= w * 0.35 && g <= w * 0.65) ? "yes" : "no" }')" \
        "tvsync-server pings WATCHDOG=1 at half of WATCHDOG_USEC"

    # STATUS=: periodic lines with the figures, and an immediate one on each state change.
    mark=$(wc -l <"$LOG")
    for _ in $(seq 20); do
        curl -s -o /dev/null -H 'Content-Type: application/json' \
            --data '{"query":"{ users { username } }"}' "http://127.0.0.1:$port/graphql"
    done
    wait_for 15 has_lines '(^|\|)STATUS=serving on ' 2 "$mark"
    assert_eq yes "$(has_lines '(^|\|)STATUS=serving on ' 2 "$mark" && echo yes || echo no)" \
        "tvsync-server sends STATUS= periodically (two lines within 15 s)"
    status_line=$(awk -F'\t' -v from="$mark" 'NR > from && $2 ~ /STATUS=serving on / { line = $2 } END { print line }' "$LOG")
    echo "tvsync-server: $status_line"
    for figure in "serving on 127.0.0.1:$port" "database up" " req/s" " in flight" " busy, " " connected" \
                  " sync waits pending"; do
        assert_contains "$status_line" "$figure" "tvsync-server's STATUS= reports '$figure'"
    done
    assert_eq yes "$(has_lines 'STATUS=serving on .*; ([1-9][0-9]*\.[0-9]|0\.[1-9]) req/s;' 1 "$mark" && echo yes || echo no)" \
        "tvsync-server's STATUS= counts the requests just sent (a non-zero req/s)"
    assert_eq yes "$(has_lines 'STATUS=serving on .*; pool 0 busy, [1-9][0-9]*/[1-9][0-9]* connected;' 1 "$mark" && echo yes || echo no)" \
        "tvsync-server's STATUS= shows the pool's connections"

    # The database goes away (connections refused, the server's sessions ended): a
    # "database down" line comes at once, and "database up" when it is back.
    mark=$(wc -l <"$LOG")
    pgcluster_psql -d postgres -c "ALTER DATABASE $PGDATABASE ALLOW_CONNECTIONS false"
    pgcluster_psql -d postgres -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                                   WHERE application_name LIKE 'tvsync-server%'" >/dev/null
    wait_for 15 has_lines '(^|\|)STATUS=serving on .*; database down;' 1 "$mark"
    assert_eq yes "$(has_lines '(^|\|)STATUS=serving on .*; database down;' 1 "$mark" && echo yes || echo no)" \
        "tvsync-server's STATUS= says 'database down' when it loses the database"
    assert_contains "$(cat "$WORK/server.out")" "status: serving on 127.0.0.1:$port; database down;" \
        "tvsync-server announces the loss as a state change (logged), not only at the next interval"
    mark=$(wc -l <"$LOG")
    pgcluster_psql -d postgres -c "ALTER DATABASE $PGDATABASE ALLOW_CONNECTIONS true"
    wait_for 30 has_lines '(^|\|)STATUS=serving on .*; database up;' 1 "$mark"
    assert_eq yes "$(has_lines '(^|\|)STATUS=serving on .*; database up;' 1 "$mark" && echo yes || echo no)" \
        "tvsync-server's STATUS= says 'database up' again once the database is back"

    mark=$(wc -l <"$LOG")
    check_reload_and_stop tvsync-server
    assert_eq yes "$(has_lines '(^|\|)STATUS=draining, was serving on ' 1 "$mark" && echo yes || echo no)" \
        "tvsync-server's STATUS= says it is draining on SIGTERM"
    listener_stop
else
    echo "note: tvsync-server is not part of this tree yet; its notify protocol is not tested"
fi

echo "daemons tested: $tested"
test_summary
