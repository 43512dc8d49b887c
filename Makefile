# The runbook's targets (003 §6 Testing Commands, §5 Release Cut Steps).
DURATION ?= 60s
RATE ?= 100rps

.PHONY: start test test-all test-unit test-integration test-performance test-smoke test-load lint-check security-scan dashboards

start:
	npm start

test test-all:
	npm test

test-unit:
	npx vitest run --project unit

test-integration:
	npx vitest run --project integration

test-performance:
	npm run bench

test-smoke:
	bash scripts/smoke.sh

test-load:
	npx tsx scripts/load.ts --duration $(DURATION) --rate $(RATE)

lint-check:
	npx tsc --noEmit -p .
	npx eslint .
	promtool check rules prometheus/alerts.yml

security-scan:
	bash scripts/security-scan.sh

dashboards:
	npm run dashboards
