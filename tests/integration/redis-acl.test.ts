/**
 * Least-privilege Redis users (services/core/redis/acl.ts): the whole
 * pipeline runs with one ACL user per service and Redis refuses none of its
 * commands, while each role is refused a write outside its patterns, and a
 * refusal is logged with the user and the key.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { aclUserName } from '../../services/core/redis/acl-setup.ts';
import type { AclRole } from '../../services/core/redis/acl.ts';
import { fieldsFromArray } from '../../services/core/messages.ts';
import { startStrategist } from '../../services/strategist/service.ts';
import { activeBookRoot } from '../support/project-dir.ts';
import { aclRefusals, captureLog, createTestEnv, drainedExactlyOnce, eventually, ordersAndKills, startAllServices, useAclUsers, type TestEnv } from '../support/system.ts';

describe('one Redis user per service', () => {
  let env: TestEnv;
  let base = '';
  let users: Awaited<ReturnType<typeof useAclUsers>>;
  const as = new Map<AclRole, Redis>();
  const client = (role: AclRole): Redis => {
    let c = as.get(role);
    if (!c) {
      const name = aclUserName(role, users.prefix);
      c = new Redis(env.url, { username: name, password: users.passwords.get(role) ?? '', maxRetriesPerRequest: 0 });
      as.set(role, c);
    }
    return c;
  };
  const names = (): string[] => users.users.map((u) => u.name);

  beforeAll(async () => {
    env = createTestEnv(inject('redisUrl'), 'acl', { TP_ROOT: activeBookRoot() });
    users = await useAclUsers(env);
    await env.redis.call('ACL', 'LOG', 'RESET');
    ({ base } = await startAllServices(env, { rate: 1_000, seed: 31, maxTicks: 3_000, streamMaxLen: 100_000 }));
  }, 60_000);

  afterAll(async () => {
    for (const c of as.values()) c.disconnect();
    await env?.close();
  });

  it('runs the pipeline end to end, operator commands included, and Redis refuses none of its commands', async () => {
    await eventually(async () => (await env.redis.xlen(env.keys.marketEvents)) === 3_000, 30_000, 'the feed done');
    expect(await drainedExactlyOnce(env, 60_000)).toBe(3_000);
    const book = await ordersAndKills(env);
    expect(book.filled).toBeGreaterThan(0);
    expect(new Set(book.orderIds).size).toBe(book.orderIds.length);

    // The operator's paths through the web's user: kill switch, router, emergency reduce, breaker reset, volatility refresh.
    const post = async (path: string, body: object, method = 'POST'): Promise<number> =>
      (await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).status;
    expect(await post('/admin/kill-switch', { reason: 'acl test', operator: 'a' })).toBe(200);
    expect(await post('/admin/kill-switch', { reason: 'acl test done', operator: 'b' }, 'DELETE')).toBe(200);
    expect(await post('/api/router/pause', {})).toBe(200);
    expect(await post('/api/router/resume', {})).toBe(200);
    expect(await post('/api/risk/emergency-reduce', { kelly_fraction: 0.1, reason: 'acl test' })).toBe(200);
    expect(await post('/api/risk/refresh-volatility', {})).toBe(202);
    // A reload, as the runbook's redis-cli (the runbook role) publishes it; every service applies it under its own user.
    expect(await client('runbook').publish(env.keys.paramReload, JSON.stringify({ component: 'risk_harmoniser' }))).toBeGreaterThan(0);
    await eventually(async () => (await env.redis.xlen(env.keys.reloadOutcomes)) >= 3, 10_000, 'the reload applied');
    const outcomes = ((await env.redis.xrange(env.keys.reloadOutcomes, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
    expect(outcomes.filter((o) => o['status'] === 'rejected')).toEqual([]);
    await eventually(async () => (await env.redis.hget(env.keys.volRefreshLast, 'id')) !== null, 10_000, 'the volatility refresh done');

    // Each service's own control moves: the strategist pauses the router (SIGHUP), the risk harmoniser trips
    // the breaker (VaR), the executor engages the kill switch (a safety trigger); the web undoes each.
    const handle = (service: string) => env.handles.find((h) => h.ctx.service === service)!;
    expect((await handle('strategist').ctx.writer.router(true, { by: 'SIGHUP:test', reason: 'SIGHUP' })).kind).toBe('moved');
    expect(await post('/api/router/resume', {})).toBe(200);
    expect(await handle('risk-harmoniser').ctx.control.moveBreaker({ kind: 'trip', cause: 'var_breach: test' })).toBe(true);
    expect(await post('/api/circuit-breaker/reset', { reason: 'acl test' })).toBe(200);
    const engaged = await handle('executor').ctx.writer.killSwitch('engage', { reason: 'stale data (test)', by: 'auto:test', trigger: 'stale_market_data' });
    expect(engaged.kind).toBe('moved');
    expect(await post('/admin/kill-switch', { reason: 'acl test done', operator: 'c' }, 'DELETE')).toBe(200);

    // A smoke replay: the web runs a strategist, a risk harmoniser and an executor on a namespace of its own.
    const replay = await fetch(`${base}/api/replay`, { method: 'POST', body: JSON.stringify({ minutes: 1, speed: 50, reason: 'acl', operator: 'q' }) });
    expect(replay.status).toBe(202);
    const id = ((await replay.json()) as { id: string }).id;
    await eventually(async () => ((await (await fetch(`${base}/api/replay/${id}`)).json()) as { state: string }).state === 'completed', 60_000, 'the replay completed');

    expect(await aclRefusals([env.redis], names())).toEqual([]);
  }, 90_000);

  it('refuses each role a write outside its patterns', async () => {
    const k = env.keys;
    const refused = async (role: AclRole, command: () => Promise<unknown>): Promise<void> => {
      await expect(command(), `${role}`).rejects.toThrow(/NOPERM/);
    };
    // The strategist: no control-plane key but the router's, no position, no order intent.
    await refused('strategist', () => client('strategist').hset(k.killSwitch, 'engaged', '0'));
    await refused('strategist', () => client('strategist').set(k.position('BTC-USD'), '{"qty":1}'));
    await refused('strategist', () => client('strategist').xadd(k.orderIntents, '*', 'symbol', 'BTC-USD'));
    await refused('strategist', () => client('strategist').hset(k.breaker, 'state', 'CLOSED'));
    // The feed: market data only.
    await refused('feed', () => client('feed').hset(k.tradingState, 'state', 'ACTIVE'));
    await refused('feed', () => client('feed').xadd(k.strategySignals, '*', 'a', 'b'));
    // The risk harmoniser: may trip the breaker, not reset the kill switch or move positions.
    await refused('risk-harmoniser', () => client('risk-harmoniser').del(k.killSwitch));
    await refused('risk-harmoniser', () => client('risk-harmoniser').set(k.position('AAPL'), '{}'));
    await refused('risk-harmoniser', () => client('risk-harmoniser').hset(k.routerControl, 'paused', '0'));
    // The executor: orders and its safety triggers, not the router, the Kelly override or the models' output.
    await refused('executor', () => client('executor').hset(k.routerControl, 'paused', '1'));
    await refused('executor', () => client('executor').hset(k.kellyOverride, 'kelly_fraction', '1'));
    await refused('executor', () => client('executor').xadd(k.modelSwitchLog, '*', 'a', 'b'));
    // The web: the control plane, never the book.
    await refused('web', () => client('web').set(k.position('BTC-USD'), '{}'));
    await refused('web', () => client('web').xadd(k.marketEvents, '*', 'a', 'b'));
    // The operator's tools: the control plane only.
    await refused('operator', () => client('operator').xadd(k.execReports, '*', 'a', 'b'));
    // The runbook's plain redis-cli: reads and PUBLISH param.reload, nothing else.
    await refused('runbook', () => client('runbook').hset(k.killSwitch, 'engaged', '1'));
    await refused('runbook', () => client('runbook').publish(k.controlEvents, '{}'));
    await refused('runbook', () => client('runbook').flushdb());
    await refused('runbook', () => client('runbook').xgroup('CREATE', k.marketEvents, 'evil', '$'));
    expect(await client('runbook').hgetall(k.killSwitch)).toBeTypeOf('object');
    expect(await client('runbook').xrevrange(k.modelSwitchLog, '+', '-', 'COUNT', 20)).toBeInstanceOf(Array);
    // No service may run admin commands.
    for (const role of ['feed', 'strategist', 'risk-harmoniser', 'executor', 'web', 'operator'] as const) {
      await refused(role, () => client(role).flushall());
      await refused(role, () => client(role).call('CONFIG', 'SET', 'appendonly', 'no'));
      await refused(role, () => client(role).call('ACL', 'SETUSER', 'x', 'on'));
    }
    // Still ACTIVE, kill switch as the web left it.
    expect(await env.redis.hget(k.killSwitch, 'engaged')).not.toBe('1');
  });

  it('a strategist cannot engage the kill switch, and the refusal is logged with the user and the key', async () => {
    const log = captureLog();
    const h = await env.start('strategist', startStrategist, 'strategist-acl', { logDestination: log.destination, settings: { LOG_LEVEL: 'info' } });
    await expect(h.ctx.writer.killSwitch('engage', { reason: 'compromised', by: 'strategist', trigger: 'manual' })).rejects.toThrow(/NOPERM/);
    expect(await env.redis.hget(env.keys.killSwitch, 'engaged')).not.toBe('1');
    const line = await eventually(() => log.lines.find((l) => l['event'] === 'redis.refused'), 5_000, 'a redis.refused line');
    expect(line).toMatchObject({ user: aclUserName('strategist', users.prefix), keys: [env.keys.killSwitch, env.keys.killSwitchAudit] });
    // Redis' own record names the user and the key too (ACL LOG, for an admin).
    const entry = (await aclRefusals([env.redis], [aclUserName('strategist', users.prefix)])).find((e) => e['object'] === env.keys.killSwitch);
    expect(entry).toMatchObject({ reason: 'key' });
  });
});
