#!/bin/sh
# monitoring_rules: the alert rules and scrape config pass promtool, the alerts'
# unit tests pass, the dashboard's queries parse, and every metric they use exists in the daemons.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

# Debian's python3 starts at once; a pyenv shim earlier in PATH can take seconds.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
if ! command -v promtool >/dev/null 2>&1; then
    echo "promtool is missing: installing Debian's prometheus package"
    if [ "$(id -u)" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
              DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null 2>&1; }
    fi
fi
command -v promtool >/dev/null 2>&1 || { echo "FAIL: promtool unavailable (apt-get install prometheus)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
cp "$TVSYNC_SRCDIR"/monitoring/*.yml "$TVSYNC_SRCDIR"/monitoring/*.json "$work/"
cd "$work" || exit 1

output=$(promtool check rules tvsync-alerts.yml 2>&1); status=$?
printf '%s\n' "$output"
assert_eq 0 "$status" "promtool check rules tvsync-alerts.yml"
for alert in TvsyncCdcDown TvsyncServerDown TvsyncLagSeconds TvsyncLagBytes TvsyncSlotWalNotReserved \
             TvsyncSlotLost TvsyncDeadLetters TvsyncForeignHeartbeats; do
    assert_contains "$(cat tvsync-alerts.yml)" "alert: $alert" "rule $alert exists"
done

output=$(promtool check config prometheus.yml 2>&1); status=$?
printf '%s\n' "$output"
assert_eq 0 "$status" "promtool check config prometheus.yml"

output=$(promtool test rules tvsync-alerts.test.yml 2>&1); status=$?
printf '%s\n' "$output"
assert_eq 0 "$status" "promtool test rules tvsync-alerts.test.yml"

# The dashboard's queries, with its template variables filled in, parsed by
# promtool as recording rules.
"$PYTHON" - grafana-dashboard.json >dashboard-rules.yml <<'PY'
import json, sys
dashboard = json.load(open(sys.argv[1]))
print("groups:\n  - name: dashboard\n    rules:")
count = 0
for panel in dashboard["panels"]:
    for target in panel.get("targets", []):
        expr = target["expr"].replace("$instance", ".*")
        count += 1
        print("      - record: dashboard:query%d" % count)
        print("        expr: %s" % json.dumps(expr))
PY
assert_eq 0 "$?" "grafana-dashboard.json is valid JSON"
query_count=$(grep -c 'record:' dashboard-rules.yml)
echo "dashboard queries: $query_count"
assert_eq yes "$([ "$query_count" -ge 15 ] && echo yes || echo no)" "the dashboard has its panels' queries"
output=$(promtool check rules dashboard-rules.yml 2>&1); status=$?
[ $status -eq 0 ] || printf '%s\n' "$output"
assert_eq 0 "$status" "every dashboard query is valid PromQL"

# Every tvsync_ metric the kit uses must be declared by the daemon that exports
# it (a renamed metric would silently empty a panel or disable an alert).
grep -ohE 'tvsync_(cdc|server)_[a-z_]+' tvsync-alerts.yml grafana-dashboard.json |
    sed -E 's/_(bucket|sum|count)$//' | sort -u >used-metrics
for daemon in cdc server; do
    sources=$(find "$TVSYNC_SRCDIR/$daemon" -name '*.c' 2>/dev/null)
    if [ -z "$sources" ] || ! grep -q 'prom_\(counter\|gauge\|histogram\)' $sources; then
        echo "note: $daemon/ declares no metric in this tree yet; its names are not checked"
        continue
    fi
    for metric in $(grep "^tvsync_${daemon}_" used-metrics); do
        assert_eq yes "$(grep -q "\"$metric\"" $sources && echo yes || echo no)" \
            "$metric is declared in $daemon/"
    done
done

test_summary
