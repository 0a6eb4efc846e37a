# assert.sh: assertions for the shell integration tests, with a closing summary.
# Each assertion prints "ok - MSG" or "not ok - MSG" and counts; test_summary exits non-zero on any failure.
#
#   assert_eq EXPECTED ACTUAL MSG
#   assert_contains HAYSTACK NEEDLE MSG
#   assert_not_contains HAYSTACK NEEDLE MSG
#   assert_exit CODE MSG -- COMMAND [ARG]...   runs COMMAND; its stdout+stderr are left in $ASSERT_OUTPUT
#   assert_pass MSG / assert_fail MSG [DETAIL]... record an outcome decided by the test itself
#   wait_for TIMEOUT_SECONDS COMMAND [ARG]...   polls COMMAND every 0.1 s until it succeeds; 1 on timeout
#                                               (TIMEOUT may have decimals: 0.5)
#   test_summary                                prints "N passed, N failed" and exits 0 only when none failed

ASSERT_PASSED=0
ASSERT_FAILED=0
ASSERT_OUTPUT=

assert__pass() {
    ASSERT_PASSED=$((ASSERT_PASSED + 1))
    echo "ok - $1"
}

assert__fail() {
    ASSERT_FAILED=$((ASSERT_FAILED + 1))
    echo "not ok - $1"
    shift
    local detail
    for detail in "$@"; do
        printf '    %s\n' "$detail"
    done
}

assert_pass() {
    assert__pass "$@"
}

assert_fail() {
    assert__fail "$@"
}

assert_eq() {
    if [ "$1" = "$2" ]; then
        assert__pass "$3"
    else
        assert__fail "$3" "expected: $1" "actual:   $2"
    fi
}

assert_contains() {
    case "$1" in
        *"$2"*) assert__pass "$3" ;;
        *) assert__fail "$3" "expected to contain: $2" "actual: $1" ;;
    esac
}

assert_not_contains() {
    case "$1" in
        *"$2"*) assert__fail "$3" "expected not to contain: $2" "actual: $1" ;;
        *) assert__pass "$3" ;;
    esac
}

assert_exit() {
    local expected=$1 message=$2 status
    shift 2
    if [ "${1:-}" = "--" ]; then
        shift
    fi
    ASSERT_OUTPUT=$("$@" 2>&1)
    status=$?
    if [ "$status" = "$expected" ]; then
        assert__pass "$message"
    else
        assert__fail "$message" "command: $*" "expected exit $expected, got $status" "output: $ASSERT_OUTPUT"
    fi
}

wait_for() {
    local timeout=$1 deadline
    shift
    # %.0f, not %d: Debian's mawk caps %d at 2^31, about two seconds of nanoseconds.
    deadline=$(( $(date +%s%N) + $(awk -v t="$timeout" 'BEGIN { printf "%.0f", t * 1000000000 }') ))
    while :; do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if [ "$(date +%s%N)" -ge "$deadline" ]; then
            echo "wait_for: timed out after ${timeout}s: $*" >&2
            return 1
        fi
        sleep 0.1
    done
}

test_summary() {
    echo "$ASSERT_PASSED passed, $ASSERT_FAILED failed"
    if [ "$ASSERT_FAILED" -ne 0 ] || [ "$ASSERT_PASSED" -eq 0 ]; then
        exit 1
    fi
    exit 0
}
