#!/usr/bin/env bash
# Checks deploy/prometheus offline (ctest deploy.prometheus_rules): the rules parse
# (`promtool check rules`), the example scrape configuration with them (`promtool check config`),
# and the alerts fire, and stay quiet, as alerts_test.yml says (`promtool test rules`).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="$here/../../deploy/prometheus"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v promtool >/dev/null || fail "promtool not found: apt-get install prometheus"
cd "$dir"
promtool check rules alerts.yml || fail "promtool check rules alerts.yml"
promtool check config prometheus.yml || fail "promtool check config prometheus.yml"
promtool test rules alerts_test.yml || fail "promtool test rules alerts_test.yml"
# Every alert has a test that makes it fire.
for alert in $(sed -n 's/^ *- alert: *//p' alerts.yml); do
  grep -q "alertname: $alert$" alerts_test.yml || fail "alerts_test.yml never tests $alert"
done
echo "ok   $(grep -c '^ *- alert:' alerts.yml) alerts checked and unit-tested"
