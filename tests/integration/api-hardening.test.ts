/**
 * The operator API under misuse: change budgets shared by web replicas,
 * lockout after failed authentication, every body validated, a port that
 * cannot be bound, a reset that clears the reason, an audit file that
 * cannot be written, one volatility refresh at a time, and metrics whose
 * series exist before their first event.
 */
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readControl } from '../../services/core/control/read.ts';
import { startRiskHarmoniser } from '../../services/risk-harmoniser/service.ts';
import { startStrategist } from '../../services/strategist/service.ts';
import { ROOT, type TestEnv, createTestEnv, eventually, startTestWeb, waitForExit } from '../support/system.ts';

let env: TestEnv;
const webs: string[] = [];
const TOKEN = 'shared-token-0123456789';

async function web(name: string, settings: Record<string, string>): Promise<string> {
  const base = (await startTestWeb(env, name, { settings: { REQUIRED_SERVICES: 'none', ...settings } })).base;
  return base;
}

beforeAll(async () => {
  env = createTestEnv(inject('redisUrl'), 'api-hard');
});
afterAll(async () => {
  await env.close();
});

describe('rate limits', () => {
  it('caps changes per operator per minute across web replicas, and says so in /health', async () => {
    const limit = { WEB_RATE_LIMIT_PER_MINUTE: '10' };
    webs.push(await web('web-a', limit), await web('web-b', limit));
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) statuses.push((await fetch(`${webs[i % 2]}/api/router/pause`, { method: 'POST' })).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.slice(10)).toEqual([429, 429, 429, 429]);
    const refused = await fetch(`${webs[0]}/api/router/resume`, { method: 'POST' });
    expect(await refused.json()).toMatchObject({ error: expect.stringContaining('rate limit') as unknown });
    // Reads are not limited.
    expect((await fetch(`${webs[1]}/api/status`)).status).toBe(200);
    const health = (await (await fetch(`${webs[0]}/health`)).json()) as { components: Record<string, { limits?: Record<string, { refused_this_minute: number }> }> };
    expect(health.components['rate_limiters']?.limits?.['mutations']?.refused_this_minute).toBeGreaterThanOrEqual(5);
  });

  it('locks an address out after repeated failed authentication, even with the right token afterwards', async () => {
    const base = await web('web-auth', { WEB_HOST: '0.0.0.0', WEB_TOKEN: TOKEN, WEB_AUTH_FAILURES_PER_WINDOW: '5' });
    const attempt = (token: string) => fetch(`${base}/api/router/pause`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    const wrong: number[] = [];
    for (let i = 0; i < 7; i++) wrong.push((await attempt(`guess-${i}`)).status);
    expect(wrong).toEqual([401, 401, 401, 401, 401, 429, 429]);
    expect((await attempt(TOKEN)).status).toBe(429);
    expect((await fetch(`${base}/api/status`)).status).toBe(200);
  });
});

describe('bodies, methods and errors', () => {
  it('validates the body of every mutating route: DELETE emergency-reduce with "{" changes nothing', async () => {
    const base = await web('web-body', {});
    expect((await fetch(`${base}/api/risk/emergency-reduce`, { method: 'POST', body: '{"kelly_fraction": 0.1, "reason": "VaR breach"}' })).status).toBe(200);
    const r = await fetch(`${base}/api/risk/emergency-reduce`, { method: 'DELETE', body: '{' });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: 'body is not valid JSON', detail: null });
    expect((await readControl(env.redis, env.keys, Date.now())).kellyOverride).toMatchObject({ kellyFraction: 0.1 });
    expect((await fetch(`${base}/api/risk/emergency-reduce`, { method: 'DELETE', body: '{"surprise": 1}' })).status).toBe(400);
    expect((await fetch(`${base}/api/risk/emergency-reduce`, { method: 'DELETE' })).status).toBe(200);
    expect((await readControl(env.redis, env.keys, Date.now())).kellyOverride).toBeNull();
  });

  it('answers 405 with the allowed methods for a known path, 404 otherwise, with one error shape', async () => {
    const base = webs[0]!;
    const wrong = await fetch(`${base}/api/stop-trading`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(await wrong.json()).toEqual({ error: 'GET is not allowed on /api/stop-trading', detail: { allow: ['POST'] } });
    const none = await fetch(`${base}/nope`);
    expect(none.status).toBe(404);
    expect(await none.json()).toEqual({ error: 'not found', detail: { path: '/nope' } });
    expect(none.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('the kill switch', () => {
  it('shows no reason once reset; the audit keeps it', async () => {
    const base = await web('web-kill', {});
    await fetch(`${base}/admin/kill-switch`, { method: 'POST', body: '{"reason": "drill", "operator": "carol"}' });
    await fetch(`${base}/admin/kill-switch`, { method: 'DELETE', body: '{"reason": "drill over", "operator": "dave"}' });
    const status = (await (await fetch(`${base}/api/status`)).json()) as { kill_switch: Record<string, unknown> };
    expect(status.kill_switch).toMatchObject({ engaged: false, reason: '', by: '', trigger: '', last_reset: { by: 'dave', reason: 'drill over' } });
    expect(await (await fetch(`${base}/admin/kill-switch`)).json()).toMatchObject({ engaged: false, reason: null, by: null });
    const audit = (await env.redis.xrange(env.keys.killSwitchAudit, '-', '+')) as [string, string[]][];
    expect(audit.map(([, f]) => f[f.indexOf('reason') + 1])).toEqual(['drill', 'drill over']);
  });

  it('engages even when the audit file cannot be written, and says so', async () => {
    const notADir = join(mkdtempSync(join(tmpdir(), 'tp-audit-')), 'file');
    writeFileSync(notADir, 'x');
    const base = await web('web-audit', { STATE_DIR: notADir });
    const r = await fetch(`${base}/admin/kill-switch`, { method: 'POST', body: '{"reason": "audit drill"}' });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ engaged: true, audit_file_error: expect.stringMatching(/kill_events\.jsonl: (ENOTDIR|EEXIST)/) as unknown });
    expect((await readControl(env.redis, env.keys, Date.now())).killSwitch).toMatchObject({ engaged: true, reason: 'audit drill' });
    await fetch(`${base}/admin/kill-switch`, { method: 'DELETE', body: '{"reason": "done"}' });
  });
});

describe('start-up failures', () => {
  it('a web that cannot bind its port fails with the reason and exit code 78', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((r) => blocker.listen(0, '127.0.0.1', () => r((blocker.address() as { port: number }).port)));
    try {
      await expect(web('web-busy', { WEB_PORT: String(port) })).rejects.toThrow(/EADDRINUSE/);
      const child = env.spawn('web', { WEB_PORT: String(port), LOG_LEVEL: 'fatal', TP_ROOT: ROOT });
      await waitForExit(child);
      expect(child.exitCode).toBe(78);
    } finally {
      blocker.close();
    }
  });
});

describe('volatility refresh', () => {
  it('runs one refresh at a time: a second request while one runs gets 409 with who asked', async () => {
    const e2 = createTestEnv(inject('redisUrl'), 'vol-once');
    try {
      await e2.start('risk-harmoniser', startRiskHarmoniser);
      const base = (await startTestWeb(e2, undefined, { settings: { REQUIRED_SERVICES: 'none' } })).base;
      // A refresh held by another instance (its lock taken), as while a long one runs.
      await e2.redis.set(e2.keys.volRefresh, JSON.stringify({ id: 'held', by: 'erin', requested_at: 1 }), 'PX', 5_000);
      const second = await fetch(`${base}/api/risk/refresh-volatility`, { method: 'POST' });
      expect(second.status).toBe(409);
      expect(await second.json()).toMatchObject({ error: expect.stringContaining('already running') as unknown, detail: { id: 'held', by: 'erin' } });
      await e2.redis.del(e2.keys.volRefresh);
      const first = await fetch(`${base}/api/risk/refresh-volatility`, { method: 'POST' });
      expect(first.status).toBe(202);
      const { id } = (await first.json()) as { id: string };
      const last = await eventually(
        async () => {
          const h = await e2.redis.hgetall(e2.keys.volRefreshLast);
          return h['id'] === id ? h : undefined;
        },
        10_000,
        'the refresh outcome',
      );
      expect(last).toMatchObject({ symbols: '0' });
      expect(await e2.redis.exists(e2.keys.volRefresh)).toBe(0);
    } finally {
      await e2.close();
    }
  });
});

describe('metrics', () => {
  it('have their known label sets from the start, so dashboards show zeros and increase() sees the first event', async () => {
    const e3 = createTestEnv(inject('redisUrl'), 'metrics-init');
    try {
      const s = await e3.start('strategist', startStrategist);
      const text = await s.ctx.registry.metrics();
      expect(text).toMatch(/model_router_fallbacks_total\{symbol="BTC-USD",why="error"[^}]*\} 0/);
      expect(text).toMatch(/model_router_reload_duration_ms_count\{[^}]*component="model_router"[^}]*\} 0/);
      expect(text).toMatch(/model_router_reload_duration_ms_count\{[^}]*component="instruments"[^}]*\} 0/);
      expect(text).toMatch(/stream_entries_dead_lettered_total\{[^}]*check="price_band"[^}]*\} 0/);
      expect(text).toMatch(/# TYPE redis_latency_p99 gauge/);
      expect(text).toMatch(/# TYPE redis_roundtrip_p99_microseconds gauge/);
    } finally {
      await e3.close();
    }
  });
});

describe('heartbeats', () => {
  it('a heartbeat left by an instance dead for longer than the expiry is removed with what it left', async () => {
    const e4 = createTestEnv(inject('redisUrl'), 'prune');
    try {
      const old = Date.now() - 60_000;
      await e4.redis.zadd(e4.keys.heartbeats, old, 'strategist|killed-9');
      await e4.redis.hset(e4.keys.heartbeatDetail, 'strategist|killed-9', '{}');
      await e4.redis.hset(e4.keys.configApplied('model_router'), 'killed-9', '{}');
      await e4.start('strategist', startStrategist, 'strat-live', { settings: { HEARTBEAT_INTERVAL_MS: '100' } });
      await eventually(async () => (await e4.redis.zscore(e4.keys.heartbeats, 'strategist|killed-9')) === null, 5_000, 'the dead heartbeat removed');
      expect(await e4.redis.hexists(e4.keys.heartbeatDetail, 'strategist|killed-9')).toBe(0);
      expect(await e4.redis.hexists(e4.keys.configApplied('model_router'), 'killed-9')).toBe(0);
      expect(await e4.redis.zscore(e4.keys.heartbeats, 'strategist|strat-live')).not.toBeNull();
      expect(await e4.redis.hexists(e4.keys.configApplied('model_router'), 'strat-live')).toBe(1);
    } finally {
      await e4.close();
    }
  });
});
