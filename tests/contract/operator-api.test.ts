/**
 * The operator touch points of ../shared/CONTRACT.md, exercised as the
 * runbook does: plain curl-style requests (a JSON body sent without a JSON
 * content type), redis-cli PUBLISH param.reload, and the control state every
 * service shares.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readControl } from '../../services/core/control/read.ts';
import { setBreakerState } from '../support/control.ts';
import { fieldsFromArray } from '../../services/core/messages.ts';
import { startRiskHarmoniser } from '../../services/risk-harmoniser/service.ts';
import { startStrategist } from '../../services/strategist/service.ts';
import { startWeb } from '../../services/web/service.ts';
import { type TestEnv, createTestEnv, eventually, startTestWeb } from '../support/system.ts';
import { makeProjectDir } from '../support/project-dir.ts';

let env: TestEnv;
let base = '';
let projectDir = '';
let stateDir = '';

/** What `curl -X POST url -d '<json>'` sends: form content type, JSON text. */
const curlPost = (path: string, body?: string, method = 'POST', headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    ...(body === undefined ? {} : { body }),
  });

beforeAll(async () => {
  // A private copy of the config folder, so reload tests can edit files.
  projectDir = makeProjectDir('project');
  stateDir = join(projectDir, 'state');
  env = createTestEnv(inject('redisUrl'), 'contract', { TP_ROOT: projectDir, STATE_DIR: stateDir });
  await env.start('risk-harmoniser', startRiskHarmoniser, 'risk-1');
  await env.start('strategist', startStrategist, 'strat-1');
  let port = 0;
  await env.start(
    'web',
    async (ctx) => {
      const web = await startWeb(ctx);
      port = web.port;
      return web;
    },
    'web-1',
    { settings: { REQUIRED_SERVICES: 'strategist,risk-harmoniser,web' } },
  );
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await env.close();
});

async function outcomes(): Promise<Record<string, string>[]> {
  return ((await env.redis.xrange(env.keys.reloadOutcomes, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
}

describe('bad HTTP bodies', () => {
  it.each([
    ['/api/risk/emergency-reduce', '{"kelly_fraction": 2, "reason": "x"}', 'kelly_fraction'],
    ['/api/risk/emergency-reduce', '{"reason": "VaR breach"}', 'kelly_fraction'],
    ['/api/risk/emergency-reduce', '{"kelly_fraction": 0.1}', 'reason'],
    ['/api/risk/emergency-reduce', '{"kelly_fraction": 0.1, "reason": "x", "kelly": 1}', 'kelly'],
    ['/api/risk/emergency-reduce', 'not json', 'not valid JSON'],
    ['/admin/kill-switch', '{}', 'reason'],
    ['/api/stop-trading', '{"reason": 5}', 'reason'],
  ])('POST %s %s → 400 naming %s, and nothing changes', async (path, body, field) => {
    const before = await readControl(env.redis, env.keys, Date.now());
    const r = await curlPost(path, body);
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toContain(field);
    const after = await readControl(env.redis, env.keys, Date.now());
    expect({ ...after, readAt: 0 }).toEqual({ ...before, readAt: 0 });
  });
});

describe('runbook commands', () => {
  it('emergency-reduce lowers the Kelly fraction on every instance, with its reason, until reload', async () => {
    const r = await curlPost('/api/risk/emergency-reduce', '{"kelly_fraction": 0.1, "reason": "VaR breach"}');
    expect(r.status).toBe(200);
    const control = await readControl(env.redis, env.keys, Date.now());
    expect(control.kellyOverride).toMatchObject({ kellyFraction: 0.1, reason: 'VaR breach' });
    const status = (await (await fetch(`${base}/api/status`)).json()) as { kelly_override: unknown };
    expect(status.kelly_override).toMatchObject({ kellyFraction: 0.1, reason: 'VaR breach' });
  });

  it('PUBLISH param.reload applies a valid file, records the version per instance and clears the override', async () => {
    const before = await outcomes();
    const file = join(projectDir, 'conf/risk_params.yml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('kelly_fraction: 0.25', 'kelly_fraction: 0.2'));
    await env.redis.publish(env.keys.paramReload, '{"component": "risk_harmoniser", "config_path": "conf/risk_params.yml"}');
    const rows = await eventually(async () => {
      const all = (await outcomes()).slice(before.length);
      return all.length >= 2 ? all : undefined; // risk-harmoniser and web both read this file
    });
    expect(rows.every((o) => o['status'] === 'applied')).toBe(true);
    const applied = await env.redis.hgetall(env.keys.configApplied('risk_harmoniser'));
    const versions = Object.values(applied).map((v) => (JSON.parse(v) as { version: string }).version);
    expect(new Set(versions).size).toBe(1);
    expect(versions[0]).toBe(rows[0]!['version']);
    await eventually(async () => (await readControl(env.redis, env.keys, Date.now())).kellyOverride === null, 5_000, 'override cleared');
  });

  it('a reload of an invalid file changes nothing and keeps the reason as the outcome', async () => {
    const before = await outcomes();
    const versionBefore = await env.redis.hgetall(env.keys.configApplied('model_router'));
    const file = join(projectDir, 'model_router_rules.yml');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.replace('model: mean_reversion', 'model: no_such_model'));
    await env.redis.publish(env.keys.paramReload, '{"component": "model_router", "config_path": "model_router_rules.yml"}');
    const row = await eventually(async () => (await outcomes()).slice(before.length).find((o) => o['component'] === 'model_router'));
    expect(row['status']).toBe('rejected');
    expect(row['reason']).toMatch(/model_router_rules\.yml:\d+: model_router\.rules\.2\.model: unknown model "no_such_model"/);
    expect(await env.redis.hgetall(env.keys.configApplied('model_router'))).toEqual(versionBefore);
    writeFileSync(file, good);
  });

  it('rejects malformed payloads and paths outside the config folders', async () => {
    const before = await outcomes();
    await env.redis.publish(env.keys.paramReload, '{"component": "risk_harmoniser", "config_path": "../../etc/passwd.yml"}');
    await env.redis.publish(env.keys.paramReload, 'not json');
    const rows = await eventually(async () => {
      const r = (await outcomes()).slice(before.length);
      // Both subscribers (risk-1, strat-1) handled the last message, so no outcome of this test lands in the next one.
      const notJson = new Set(r.filter((o) => o['reason']?.includes('not JSON')).map((o) => o['instance']));
      return r.some((o) => o['reason']?.includes('outside')) && notJson.has('risk-1') && notJson.has('strat-1') ? r : undefined;
    });
    expect(rows.every((o) => o['status'] === 'rejected')).toBe(true);
  });

  it('refuses a risk reload while portfolio VaR is above 1.5 % unless forced', async () => {
    await env.redis.hset(env.keys.riskPortfolio, 'var_pct', '1.7');
    const before = await outcomes();
    await env.redis.publish(env.keys.paramReload, '{"component": "risk_harmoniser"}');
    const refused = await eventually(async () => (await outcomes()).slice(before.length).find((o) => o['instance'] === 'risk-1'));
    expect(refused['status']).toBe('rejected');
    expect(refused['reason']).toContain('above 1.5%');
    const mid = await outcomes();
    await env.redis.publish(env.keys.paramReload, '{"component": "risk_harmoniser", "force": true}');
    const forced = await eventually(async () => (await outcomes()).slice(mid.length).find((o) => o['instance'] === 'risk-1'));
    expect(forced['status']).not.toBe('rejected');
    await env.redis.hset(env.keys.riskPortfolio, 'var_pct', '0');
  });

  it('router pause and resume are shared state shown by /api/status', async () => {
    expect((await curlPost('/api/router/pause')).status).toBe(200);
    expect(((await (await fetch(`${base}/api/status`)).json()) as { router: { paused: boolean } }).router.paused).toBe(true);
    expect((await curlPost('/api/router/resume')).status).toBe(200);
    expect((await readControl(env.redis, env.keys, Date.now())).router.paused).toBe(false);
  });

  it('stop-trading halts and start-trading resumes', async () => {
    expect((await curlPost('/api/stop-trading')).status).toBe(200);
    expect((await readControl(env.redis, env.keys, Date.now())).trading.state).toBe('HALTED');
    expect((await curlPost('/api/start-trading')).status).toBe(200);
    expect((await readControl(env.redis, env.keys, Date.now())).trading.state).toBe('ACTIVE');
  });

  it('circuit-breaker reset moves OPEN to HALF_OPEN and refuses otherwise', async () => {
    expect((await curlPost('/api/circuit-breaker/reset')).status).toBe(409);
    await setBreakerState(env.redis, env.keys, 'OPEN', 'var_breach: test', 'test', Date.now());
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { failing: string[] }).failing).toContain('circuit_breaker');
    const r = await curlPost('/api/circuit-breaker/reset');
    expect(r.status).toBe(200);
    expect((await readControl(env.redis, env.keys, Date.now())).breaker.state).toBe('HALF_OPEN');
    const events = ((await env.redis.xrange(env.keys.breakerEvents, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f)['state']);
    expect(events.slice(-2)).toEqual(['OPEN', 'HALF_OPEN']);
    await setBreakerState(env.redis, env.keys, 'CLOSED', 'test', 'test', Date.now());
  });

  it('the kill switch engages, shows who and why, and each engage and reset is audited in Redis and JSONL', async () => {
    const engage = await curlPost('/admin/kill-switch', '{"reason": "max_dd_exceeded", "operator": "alice"}');
    expect(engage.status).toBe(200);
    const state = (await (await fetch(`${base}/admin/kill-switch`)).json()) as Record<string, unknown>;
    expect(state).toMatchObject({ engaged: true, reason: 'max_dd_exceeded', by: 'alice' });
    const health = (await (await fetch(`${base}/health`)).json()) as { components: Record<string, { status: string; detail: string }> };
    expect(health.components['risk_manager']?.status).toBe('failed');
    expect(health.components['risk_manager']?.detail).toContain('max_dd_exceeded');
    expect(((await (await fetch(`${base}/api/status`)).json()) as { trading: { state: string } }).trading.state).toBe('HALTED');
    // Every instance reports it, from its own view of the control plane, with its next heartbeat.
    const reported = async (engaged: boolean) =>
      eventually(
        async () => {
          const s = (await (await fetch(`${base}/api/status`)).json()) as {
            services: Record<string, { instance: string; control?: { kill_switch?: boolean; trading?: string } }[]>;
          };
          const all = Object.values(s.services).flat();
          return all.length >= 3 && all.every((i) => i.control?.kill_switch === engaged && i.control.trading === (engaged ? 'HALTED' : 'ACTIVE'))
            ? all.map((i) => i.instance).sort()
            : undefined;
        },
        5_000,
        `every instance reports kill_switch ${engaged}`,
      );
    expect(await reported(true)).toEqual(['risk-1', 'strat-1', 'web-1']);

    expect((await curlPost('/admin/kill-switch', undefined, 'DELETE')).status).toBe(400);
    const reset = await curlPost('/admin/kill-switch', '{"reason": "drawdown reviewed", "operator": "bob"}', 'DELETE');
    expect(reset.status).toBe(200);
    expect(((await (await fetch(`${base}/admin/kill-switch`)).json()) as { engaged: boolean }).engaged).toBe(false);
    await reported(false);

    const audit = ((await env.redis.xrange(env.keys.killSwitchAudit, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
    expect(audit.map((a) => [a['action'], a['by']])).toEqual([
      ['engage', 'alice'],
      ['reset', 'bob'],
    ]);
    const lines = readFileSync(join(stateDir, 'kill_events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l['action'])).toEqual(['engage', 'reset']);
  });

  it('refresh-volatility reaches the risk harmoniser', async () => {
    const r = await curlPost('/api/risk/refresh-volatility');
    expect(r.status).toBe(202);
    expect(((await r.json()) as { receivers: number }).receivers).toBeGreaterThanOrEqual(1);
  });
});

describe('authentication off loopback', () => {
  it('refuses to start on a non-loopback address without a token, and demands it with one', async () => {
    const env2 = createTestEnv(inject('redisUrl'), 'auth');
    try {
      await expect(env2.start('web', (ctx) => startWeb(ctx), undefined, { settings: { REQUIRED_SERVICES: 'none', WEB_HOST: '0.0.0.0' } })).rejects.toThrow(/WEB_TOKEN/);
      let port = 0;
      port = (await startTestWeb(env2, undefined, { settings: { REQUIRED_SERVICES: 'none', WEB_HOST: '0.0.0.0', WEB_TOKEN: 's3cret-token-0123456789' } })).port;
      const url = `http://127.0.0.1:${port}/api/stop-trading`;
      expect((await fetch(url, { method: 'POST' })).status).toBe(401);
      expect((await readControl(env2.redis, env2.keys, Date.now())).trading.state).toBe('ACTIVE');
      expect((await fetch(url, { method: 'POST', headers: { authorization: 'Bearer s3cret-token-0123456789' } })).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    } finally {
      await env2.close();
    }
  });
});
