/**
 * The operator CLI (`npm run ctl`, bin tpctl) as an operator runs it, as a
 * separate process against a running web and Redis: human tables and
 * --json, changes through the API, reload waiting for every replica's
 * outcome, and exit codes that mean something (0 done, 1 refused, 2 usage,
 * 3 unreachable).
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startRiskHarmoniser } from '../../services/risk-harmoniser/service.ts';
import { makeProjectDir } from '../support/project-dir.ts';
import { ROOT, type TestEnv, createTestEnv, startTestWeb } from '../support/system.ts';

let env: TestEnv;
let base = '';
let root = '';

beforeAll(async () => {
  root = makeProjectDir('ctl');
  env = createTestEnv(inject('redisUrl'), 'ctl', { TP_ROOT: root });
  await env.start('risk-harmoniser', startRiskHarmoniser, 'risk-ctl');
  base = (await startTestWeb(env, 'web-ctl')).base;
}, 60_000);
afterAll(async () => {
  await env.close();
});

// The CLI lives in the project; the test's project copy holds its config files only.
const BIN = `${ROOT}/bin/tpctl.mjs`;

describe('npm run ctl', () => {
  it('status: a human summary by default, the API body with --json', async () => {
    const human = await ctlAt(['status']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^trading\s+ACTIVE/m);
    expect(human.stdout).toMatch(/^breaker\s+CLOSED/m);
    const json = await ctlAt(['--json', 'status']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ trading: { state: 'ACTIVE' }, circuit_breaker: { state: 'CLOSED' } });
  });

  it('stop --reducing on a symbol and start again, through the API (recorded in Redis)', async () => {
    const stop = await ctlAt(['stop', '--scope', 'symbol:BTC-USD', '--reducing', '--reason', 'cli drill', '--operator', 'carol']);
    expect(stop).toMatchObject({ code: 0 });
    expect(stop.stdout).toContain('trading REDUCING on symbol:BTC-USD (by carol)');
    expect(JSON.parse((await env.redis.hget(env.keys.scopedControls, 'symbol:BTC-USD'))!)).toMatchObject({ state: 'REDUCING', kind: 'stop', by: 'carol' });
    expect((await ctlAt(['start', '--scope', 'symbol:BTC-USD'])).code).toBe(0);
    expect(await env.redis.hget(env.keys.scopedControls, 'symbol:BTC-USD')).toBeNull();
  });

  it('kill and reset; a refusal is exit 1 with the reason; usage errors are exit 2', async () => {
    expect((await ctlAt(['kill', '--reason', 'cli kill'])).code).toBe(0);
    expect(await env.redis.hget(env.keys.killSwitch, 'engaged')).toBe('1');
    // Starting the system while killed is taken, and the CLI says nothing trades until the reset.
    const start = await ctlAt(['start']);
    expect(start.code).toBe(0);
    expect(start.stdout).toContain('the kill switch is still ENGAGED');
    // A killed scope is refused by the API: exit 1 with its reason.
    expect((await ctlAt(['kill', '--scope', 'symbol:ETH-USD', '--reason', 'bad prints'])).code).toBe(0);
    const refused = await ctlAt(['start', '--scope', 'symbol:ETH-USD']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('409');
    expect((await ctlAt(['reset', '--scope', 'symbol:ETH-USD', '--reason', 'prints fixed'])).code).toBe(0);
    expect((await ctlAt(['reset', '--reason', 'drill over'])).code).toBe(0);
    expect(await env.redis.hget(env.keys.killSwitch, 'engaged')).toBe('0');
    expect((await ctlAt(['kill'])).code).toBe(2); // --reason is required
    expect((await ctlAt(['breaker', 'open'])).code).toBe(2);
    expect((await ctlAt(['no-such-command'])).code).toBe(2);
  });

  it('reload waits for every live replica of the component and shows each outcome; a bad file is exit 1', async () => {
    const ok = await ctlAt(['--json', 'reload', 'risk_harmoniser', 'conf/risk_params.yml']);
    expect(ok.code).toBe(0);
    const body = JSON.parse(ok.stdout) as { outcomes: { instance: string; status: string }[]; missing: string[] };
    expect(body.outcomes.map((o) => o.instance).sort()).toEqual(['risk-ctl', 'web-ctl']);
    expect(body.missing).toEqual([]);
    const bad = await ctlAt(['reload', 'risk_harmoniser', 'conf/missing.yml']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('rejected');
    expect(bad.stderr).toContain('2 of 2 replicas rejected the reload');
    expect((await ctlAt(['reload', 'nonsense', 'x.yml'])).code).toBe(2);
  });

  it('positions, orders and switch-log print tables; a bad filter is the API 400 (exit 1)', async () => {
    await env.redis.xadd(
      env.keys.modelSwitchLog,
      '*',
      'timestamp',
      '2026-12-01T00:00:00.000Z',
      'symbol',
      'ETH-USD',
      'old_model',
      'obi',
      'new_model',
      'momentum',
      'reason',
      'rule:1',
      'confidence',
      '0.9',
    );
    const log = await ctlAt(['switch-log', '--count', '5']);
    expect(log.code).toBe(0);
    expect(log.stdout).toMatch(/ETH-USD\s+obi\s+momentum\s+rule:1/);
    expect((await ctlAt(['positions'])).stdout).toMatch(/^symbol\s+qty/m);
    expect((await ctlAt(['orders'])).stdout).toContain('(none)');
    const bad = await ctlAt(['orders', '--state', 'DONE']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('400 query state');
  });

  it('replay waits for the smoke replay and writes its report where asked', async () => {
    const r = await ctlAt(['replay', '--minutes', '1', '--speed', '50', '--out', 'reports/live/smoke.json']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/replay r\d+: completed/);
    expect(r.stdout).toContain('verdict   within tolerance');
    const { readFileSync } = await import('node:fs');
    expect(JSON.parse(readFileSync(`${root}/reports/live/smoke.json`, 'utf8'))).toMatchObject({ state: 'completed', result: { withinTolerance: true } });
  });

  it('web or Redis unreachable: exit 3 with what to do', async () => {
    const web = await ctlAt(['status'], { TP_WEB_URL: 'http://127.0.0.1:9' });
    expect(web.code).toBe(3);
    expect(web.stderr).toContain('web unreachable at http://127.0.0.1:9');
    const redis = await ctlAt(['reload', 'instruments', 'conf/instruments.yml'], { REDIS_URL: 'redis://127.0.0.1:9' });
    expect(redis.code).toBe(3);
    expect(redis.stderr).toContain('Redis unreachable');
  });

  it("shards prints each write shard's namespace, slot and symbols; one shard is the contract's names", async () => {
    const one = await ctlAt(['--json', 'shards'], { TP_NAMESPACE: '' });
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toEqual([expect.objectContaining({ shard: 0, namespace: '', market_events: 'market_events', symbols: 'AAPL,BTC-USD,ETH-USD' })]);
    const three = await ctlAt(['--json', 'shards'], { TP_SHARDS: '3', TP_NAMESPACE: '', REDIS_URL: 'redis-cluster://127.0.0.1:7000' });
    const rows = JSON.parse(three.stdout) as { shard: number; namespace: string; slot: number; symbols: string }[];
    expect(rows.map((r) => r.symbols)).toEqual(['BTC-USD,ETH-USD', '', 'AAPL']);
    expect(rows.every((r, i) => r.namespace.startsWith(`{tp.s${i}`) && r.slot >= (i * 16_384) / 3 && r.slot < ((i + 1) * 16_384) / 3)).toBe(true);
    expect((await ctlAt(['shards'], { TP_SHARDS: '0' })).code).toBe(2);
    // Against a running deployment, its own count (control:shards, recorded by its first service) over TP_SHARDS here.
    expect(await env.redis.get(env.keys.deploymentShards)).toBe('1');
    const running = await ctlAt(['--json', 'shards'], { TP_SHARDS: '2' });
    expect((JSON.parse(running.stdout) as unknown[]).length).toBe(1);
  });

  it('validate-rules, route-preview and risk-preview run the same tools with their exit codes', async () => {
    const valid = await ctlAt(['validate-rules', 'model_router_rules.yml', '--root', ROOT]);
    expect(valid.code).toBe(0);
    expect(valid.stdout).toContain('model_router_rules.yml: OK');
    const route = await ctlAt(['route-preview', 'BTC-USD', '30000']);
    expect(route.code).toBe(0);
    expect(JSON.parse(route.stdout)).toMatchObject({ symbol: 'BTC-USD', model: 'obi' });
    expect((await ctlAt(['risk-preview', '--price', '100'])).code).toBe(2);
  });
});

/** tpctl run from the test's project copy (its conf/, its rules), as an operator in that folder would. */
function ctlAt(args: string[], extra: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: root,
      env: { ...process.env, TP_WEB_URL: base, REDIS_URL: env.url, TP_NAMESPACE: env.ns, LOG_LEVEL: 'error', ...extra },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
