/**
 * Dashboards and alerts only query metrics the services really export, the
 * PromQL is valid (promtool), the dashboard JSON is current and well formed,
 * and docker-compose.yml validates with the runbook's service names.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DASHBOARDS, promExpressions, type Dashboard, type Panel } from '../../grafana/dashboards.ts';
import { startExecutor } from '../../services/executor/service.ts';
import { startFeed } from '../../services/feed/service.ts';
import { startRiskHarmoniser } from '../../services/risk-harmoniser/service.ts';
import { startStrategist } from '../../services/strategist/service.ts';
import { startWeb } from '../../services/web/service.ts';
import { createTestEnv, eventually, ROOT, type TestEnv } from '../support/system.ts';

const PROMQL_WORDS = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'rate',
  'increase',
  'irate',
  'by',
  'without',
  'histogram_quantile',
  'and',
  'or',
  'unless',
  'on',
  'ignoring',
  'bool',
  'offset',
  'le',
  'e',
  'Inf',
]);

/** Metric names in a PromQL expression: identifiers that are not functions, keywords, labels or durations. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/"[^"]*"/g, '');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const isCall = /^\s*\(/.test(stripped.slice((m.index ?? 0) + m[0].length));
    const isNumber = /[\d.]$/.test(stripped.slice(0, m.index ?? 0));
    if (!isCall && !isNumber && !PROMQL_WORDS.has(m[0])) names.add(m[0]);
  }
  return [...names];
}

const alertExprs = (): string[] => {
  const doc = load(readFileSync(join(ROOT, 'prometheus/alerts.yml'), 'utf8')) as { groups: { rules: { expr: string }[] }[] };
  return doc.groups.flatMap((g) => g.rules.map((r) => r.expr));
};

describe('observability', () => {
  let env: TestEnv;
  const exported = new Set<string>();

  beforeAll(async () => {
    env = createTestEnv(inject('redisUrl'), 'observability');
    const handles = [
      await env.start('risk-harmoniser', startRiskHarmoniser),
      await env.start('executor', startExecutor),
      await env.start('strategist', startStrategist),
      await env.start('web', (ctx) => startWeb(ctx), undefined, { settings: { REQUIRED_SERVICES: 'web' } }),
      await env.start('feed', (ctx) => startFeed(ctx, { rate: 1_000, seed: 3, maxTicks: 1_000, streamMaxLen: 10_000 })),
    ];
    await eventually(() => env.redis.get(env.keys.edgeBlended('AAPL')), 20_000, 'pipeline running');
    for (const h of handles) {
      for (const m of await h.ctx.registry.getMetricsAsJSON()) {
        exported.add(m.name);
        // prom-client's types say enum; at run time the type is the string 'histogram'.
        if (String(m.type) === 'histogram') for (const s of ['_bucket', '_count', '_sum']) exported.add(`${m.name}${s}`);
      }
    }
  });

  afterAll(async () => {
    await env.close();
  });

  it('every dashboard and alert query names a metric the services export', () => {
    const exprs = [...Object.values(DASHBOARDS).flatMap((build) => promExpressions(build())), ...alertExprs()];
    expect(exprs.length).toBeGreaterThan(20);
    const missing = exprs.flatMap((e) =>
      metricNames(e)
        .filter((n) => n !== 'ALERTS' && !exported.has(n))
        .map((n) => `${n} in ${e}`),
    );
    expect(missing).toEqual([]);
  });

  it('exports the contract metric names verbatim', () => {
    for (const name of [
      'model_switch_total',
      'edge_blended_bps',
      'position_size_usd',
      'var_pct',
      'redis_latency_p99',
      'circuit_breaker_state',
      'model_router_latency_microseconds',
      'model_router_reload_duration_ms',
      'model_router_rule_matches_total',
      'stream_consumer_group_lag',
    ]) {
      expect(exported.has(name), name).toBe(true);
    }
  });

  it('every dashboard query is valid PromQL (promtool)', () => {
    const exprs = Object.values(DASHBOARDS).flatMap((build) => promExpressions(build()));
    const rules = { groups: [{ name: 'dashboard-queries', rules: exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }] };
    const dir = mkdtempSync(join(tmpdir(), 'tp-promql-'));
    writeFileSync(join(dir, 'rules.yml'), JSON.stringify(rules));
    const out = execFileSync('promtool', ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8' });
    expect(out).toContain(`SUCCESS: ${exprs.length} rules found`);
  });

  it('the committed dashboard JSON is what grafana/dashboards.ts generates (npm run dashboards)', () => {
    for (const [file, build] of Object.entries(DASHBOARDS)) {
      expect(JSON.parse(readFileSync(join(ROOT, 'grafana/dashboards', file), 'utf8'))).toEqual(build());
    }
  });

  it('the edge-risk dashboard has uid edge-risk and the seed layout, with valid grid positions', () => {
    const d = JSON.parse(readFileSync(join(ROOT, 'grafana/dashboards/edge-risk.json'), 'utf8')) as Dashboard;
    expect(d.uid).toBe('edge-risk');
    expect(d.panels.filter((p) => p.type === 'row').map((p) => p.title)).toEqual(['Quick stats', 'Time series per symbol', 'Model switch log', 'Alert summary']);
    const ids = new Set<number>();
    const check = (p: Panel): void => {
      expect(ids.has(p.id)).toBe(false);
      ids.add(p.id);
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      if (p.type !== 'row') expect(p.targets?.length).toBeGreaterThan(0);
    };
    d.panels.forEach(check);
    const titles = d.panels.map((p) => p.title);
    expect(titles).toEqual(expect.arrayContaining(['Active model', 'Blended edge (bps)', 'Position size (USD)', 'VaR (%)', 'model.switch.log (latest 20)', 'Kill switch']));
  });

  it('the image and the compose file run the compiled services, which the build makes', () => {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { encoding: 'utf8' });
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/exec node \.build\/services\/\$\{SERVICE\}\/main\.js/);
    for (const s of ['feed', 'strategist', 'risk-harmoniser', 'executor', 'web', 'pipeline']) expect(existsSync(join(ROOT, '.build', 'services', s, 'main.js'))).toBe(true);
    // What the compiled code reads next to itself.
    expect(readdirSync(join(ROOT, '.build', 'services', 'core', 'redis', 'lua')).sort()).toEqual(readdirSync(join(ROOT, 'services', 'core', 'redis', 'lua')).sort());
    expect(existsSync(join(ROOT, '.build', 'services', 'web', 'public', 'dashboard.css'))).toBe(true);
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    expect(compose).toContain('command: ["node", ".build/services/strategist/main.js", "model_router"]');
  });

  it('docker-compose.yml validates and uses the runbook service names', () => {
    execFileSync('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'], { encoding: 'utf8' });
    const services = execFileSync('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config', '--services'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .sort();
    expect(services).toEqual(['executor', 'feed', 'grafana', 'prometheus', 'redis', 'redis-users', 'risk-harmoniser', 'strategist', 'web']);
    const doc = load(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { command?: string[]; environment?: Record<string, string>; volumes?: string[]; depends_on?: Record<string, { condition: string }> }>;
    };
    // Redis keeps its AOF on the named volume: the directory Redis writes to is the one the volume is mounted at.
    const redis = doc.services['redis']!;
    const args = redis.environment?.['REDIS_ARGS'] ?? '';
    expect(args).toMatch(/--appendonly yes/);
    const dir = /--dir (\S+)/.exec(args)?.[1];
    expect(dir).toBe(redis.environment?.['REDIS_DATA_DIR']);
    expect(redis.volumes).toContain(`redis-data:${dir}`);
    expect(redis.command).toBeUndefined(); // the image's entrypoint (REDIS_DATA_DIR, REDIS_ARGS) starts it
    expect(doc.services['strategist']!.depends_on?.['risk-harmoniser']?.condition).toBe('service_healthy');
    expect(doc.services['web']!.depends_on?.['strategist']?.condition).toBe('service_healthy');

    // One ACL user per service: redis-users writes the ACL file and the passwords into the redis-acl volume before
    // Redis starts with that file; each service connects as its own user with its own password file. Read from
    // `docker-compose config`, which resolves the YAML merges the way Compose does.
    const resolved = load(execFileSync('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config'], { encoding: 'utf8' })) as typeof doc;
    const users = resolved.services['redis-users']!;
    const aclDir = users.command?.[users.command.indexOf('--dir') + 1];
    expect(users.command).toContain('scripts/redis-users.ts');
    expect(users.volumes?.map(String).some((v) => v.startsWith(`redis-acl:${aclDir}`))).toBe(true);
    expect(redis.depends_on?.['redis-users']?.condition).toBe('service_completed_successfully');
    const aclFile = /--aclfile (\S+)/.exec(args)?.[1] ?? '';
    const mount = (redis.volumes ?? []).find((v) => v.startsWith('redis-acl:'))?.split(':')[1];
    expect(aclFile).toBe(`${mount}/users.acl`);
    for (const name of ['feed', 'strategist', 'risk-harmoniser', 'executor', 'web']) {
      const svc = resolved.services[name]!;
      expect(svc.environment).toMatchObject({ REDIS_USERNAME: name, REDIS_PASSWORD_FILE: `${aclDir}/${name}.password` });
      expect(svc.volumes?.map(String)).toContain(`redis-acl:${aclDir}:ro`);
    }
  });
});
