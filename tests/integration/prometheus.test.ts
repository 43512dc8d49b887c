/**
 * A real Prometheus (Debian package) scrapes the running services: every
 * target is up and the alert rules are loaded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startExecutor } from '../../services/executor/service.ts';
import { startFeed } from '../../services/feed/service.ts';
import { startRiskHarmoniser } from '../../services/risk-harmoniser/service.ts';
import { startService } from '../../services/core/service.ts';
import { startStrategist } from '../../services/strategist/service.ts';
import { freePort } from '../support/redis-server.ts';
import { ROOT, type TestEnv, createTestEnv, eventually, startTestWeb } from '../support/system.ts';

describe('Prometheus against the running services', () => {
  let env: TestEnv;
  let prom: ChildProcess | undefined;
  afterAll(async () => {
    prom?.kill('SIGTERM');
    await env.close();
  });

  it('shows every target up and the alert rules loaded', async () => {
    env = createTestEnv(inject('redisUrl'), 'prom');
    const targets: Record<string, number> = {};
    const withMetrics = async (name: Parameters<typeof startService>[0], fn: Parameters<typeof startService>[1]) => {
      const h = await startService(name, fn, { redisUrl: env.url, namespace: env.ns, metricsPort: 0, instance: `${name}-prom` });
      env.handles.push(h);
      targets[name] = h.metricsPort;
    };
    await withMetrics('risk-harmoniser', startRiskHarmoniser);
    await withMetrics('executor', startExecutor);
    await withMetrics('strategist', startStrategist);
    await withMetrics('feed', (ctx) => startFeed(ctx, { rate: 100, seed: 1, maxTicks: 500, streamMaxLen: 10_000 }));
    const webPort = (await startTestWeb(env, undefined, { settings: { REQUIRED_SERVICES: 'none' } })).port;
    targets['web'] = webPort;

    const dir = mkdtempSync(join(tmpdir(), 'tp-prom-'));
    copyFileSync(join(ROOT, 'prometheus/alerts.yml'), join(dir, 'alerts.yml'));
    const config = {
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: ['alerts.yml'],
      scrape_configs: Object.entries(targets).map(([job, port]) => ({ job_name: job, static_configs: [{ targets: [`127.0.0.1:${port}`] }] })),
    };
    writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config));
    const port = await freePort();
    prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
      stdio: 'ignore',
    });
    const api = `http://127.0.0.1:${port}/api/v1`;

    const active = await eventually(
      async () => {
        const r = (await (await fetch(`${api}/targets`)).json()) as { data: { activeTargets: { labels: { job: string }; health: string; lastError: string }[] } };
        const t = r.data.activeTargets;
        return t.length === 5 && t.every((x) => x.health === 'up') ? t : undefined;
      },
      45_000,
      'all five targets up',
    );
    expect(active.map((t) => t.labels.job).sort()).toEqual(['executor', 'feed', 'risk-harmoniser', 'strategist', 'web']);

    const rules = (await (await fetch(`${api}/rules`)).json()) as { data: { groups: { name: string; rules: { name: string; health: string }[] }[] } };
    const names = rules.data.groups.flatMap((g) => g.rules.map((r) => r.name));
    expect(names).toEqual(
      expect.arrayContaining([
        'ExcessiveModelSwitching',
        'VaRBreach',
        'RedisLatencyHigh',
        'CircuitBreakerOpen',
        'KillSwitchEngaged',
        'ServiceHeartbeatMissing',
        'MarketDataStale',
        'OrderLatencyHigh',
        'OrderRejectionsHigh',
      ]),
    );

    // The runbook's metrics are queryable through Prometheus.
    const q = await eventually(
      async () => {
        const r = (await (await fetch(`${api}/query?query=${encodeURIComponent('redis_latency_p99')}`)).json()) as { data: { result: unknown[] } };
        return r.data.result.length >= 5 ? r.data.result : undefined;
      },
      20_000,
      'redis_latency_p99 from every service',
    );
    expect(q.length).toBeGreaterThanOrEqual(5);
  });
});
