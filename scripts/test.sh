#!/usr/bin/env bash
# npm test: type check, lint, format check, unit + integration tests (vitest, real
# redis-server started by the test setup), Prometheus rule checks when
# promtool is installed. Ends with one line: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
mkdir -p .data
passed=0
failed=0
step() { # name, command...
  local name=$1; shift
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); echo "-- $name: ok"; else failed=$((failed + 1)); echo "-- $name: FAILED"; fi
}

[ -d node_modules ] || ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
# What the tests need from Debian: redis-server (tests run against a real one), promtool (alert rules),
# Chromium (the dashboard's browser tests, driven by playwright-core). Installed when missing and root.
need=()
command -v redis-server >/dev/null || need+=(redis-server redis-tools)
command -v promtool >/dev/null || need+=(prometheus)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing ${need[*]} (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "missing: ${need[*]}. Run: sudo apt-get install -y ${need[*]}"
  fi
fi
command -v redis-server >/dev/null || { echo "redis-server is missing: apt-get install -y redis-server redis-tools"; exit 1; }

step "type check" npx tsc --noEmit -p .
# npm start runs the services compiled to .build/: built here, so its tests find it fresh.
step "build (scripts/build.mjs)" node scripts/build.mjs
step "lint" npx eslint .
step "format (prettier --check)" npx prettier --check .
if [ -f prometheus/alerts.yml ]; then
  if command -v promtool >/dev/null; then
    step "promtool check rules" promtool check rules prometheus/alerts.yml
    step "promtool test rules" promtool test rules prometheus/alerts.test.yml
  else
    echo "promtool not installed (apt-get install prometheus): alert rule checks skipped"
    failed=$((failed + 1))
  fi
fi

report=.data/vitest-report.json
rm -f "$report"
npx vitest run --reporter=default --reporter=json --outputFile="$report"
vitest_rc=$?
if [ -f "$report" ]; then
  read -r vp vf < <(node -e 'const r=require(process.argv[1]);console.log(r.numPassedTests, r.numFailedTests + (r.numTotalTestSuites>0 && r.success===false && r.numFailedTests===0 ? 1 : 0))' "$(pwd)/$report")
else
  vp=0; vf=1
fi
[ "$vitest_rc" -ne 0 ] && [ "$vf" -eq 0 ] && vf=1
passed=$((passed + vp))
failed=$((failed + vf))
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
