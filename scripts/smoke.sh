#!/usr/bin/env bash
# make test-smoke: start the embedded system (unless one is running), check the
# runbook's health commands and that a tick became a target and a paper fill,
# then stop what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${WEB_PORT:-8080}
started=""
if ! curl -sf "http://127.0.0.1:${port}/api/ready" >/dev/null 2>&1; then
  START_QUIET=1 node scripts/start.mjs > .data/smoke-start.log 2>&1 &
  started=$!
  trap '[ -n "$started" ] && kill -INT $started && wait $started' EXIT
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:${port}/api/ready" >/dev/null 2>&1 && break; sleep 0.5; done
fi
redis_url=$(node -e 'try{console.log(JSON.parse(require("fs").readFileSync(".data/run.lock","utf8")).redisUrl)}catch{console.log(process.env.REDIS_URL||"redis://127.0.0.1:6379/0")}')
rc() { redis-cli -u "$redis_url" "$@"; }
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; exit 1; }

status=$(curl -s "http://127.0.0.1:${port}/health" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const h=JSON.parse(s);console.log(h.status+(h.failing?.length?` (failing: ${h.failing.join(", ")}; a breaker or kill switch left from an earlier run stays until reset: see docs/operations.md)`:""))})')
[ "$status" = healthy ] && ok "/health is healthy" || bad "/health says $status"
[ "$(rc ping)" = PONG ] && ok "redis-cli ping" || bad "redis ping"
for _ in $(seq 1 60); do ttl=$(rc TTL risk.edge_blended.BTC-USD); [ "$ttl" -gt 0 ] && break; sleep 0.5; done
[ "$ttl" -gt 0 ] && [ "$ttl" -le 300 ] && ok "risk.edge_blended.BTC-USD TTL $ttl s" || bad "risk.edge_blended.BTC-USD TTL $ttl"
for _ in $(seq 1 60); do fills=$(rc XLEN exec_reports); [ "$fills" -gt 0 ] && break; sleep 0.5; done
[ "$fills" -gt 0 ] && ok "exec_reports has $fills reports" || bad "no exec report"
[ -n "$(rc HGET metrics:edge_blended_bps:BTC-USD value)" ] && ok "HGETALL metrics:edge_blended_bps:BTC-USD" || bad "metrics hash"
[ "$(rc XLEN model.switch.log)" -gt 0 ] && ok "model.switch.log has entries" || bad "model.switch.log empty"
curl -sf "http://127.0.0.1:${port}/metrics" | grep -q '^redis_latency_p99' && ok "/metrics serves redis_latency_p99" || bad "/metrics"
echo "smoke: passed"
