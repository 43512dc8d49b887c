/**
 * The runbook's restart sequence (003 §2) on the embedded runner:
 *   stop-trading; stop web, strategist, risk-harmoniser; restart Redis;
 *   wait for PONG; start risk-harmoniser, strategist, web; start-trading.
 * No state is lost (positions, breaker and kill state, config versions,
 * consumer-group offsets) and ticks flow again.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setBreakerState } from '../support/control.ts';
import { fieldsFromArray } from '../../services/core/messages.ts';
import { freePort, startRedis, type TestRedis } from '../support/redis-server.ts';
import { activeBookRoot } from '../support/project-dir.ts';
import { createTestEnv, eventually, waitForExit, type TestEnv } from '../support/system.ts';

describe('the runbook restart sequence', () => {
  let redis: TestRedis | undefined;
  let env: TestEnv | undefined;
  afterAll(async () => {
    await env?.close();
    await redis?.stop();
  });

  it('loses no state and ticks flow again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-restart-'));
    const port = await freePort();
    redis = await startRedis({ port, dir, appendonly: true });
    env = createTestEnv(redis.url, 'restart', { TP_ROOT: activeBookRoot() });
    const e = env;
    const webPort = await freePort();
    const common = { HEARTBEAT_INTERVAL_MS: '250', CLAIM_IDLE_MS: '1000' };
    const web = (): ReturnType<TestEnv['spawn']> => e.spawn('web', { ...common, WEB_PORT: String(webPort), REQUIRED_SERVICES: 'feed,strategist,risk-harmoniser,executor,web' });
    const api = `http://127.0.0.1:${webPort}`;

    const risk = e.spawn('risk-harmoniser', common);
    e.spawn('executor', common);
    const strategist = e.spawn('strategist', common);
    e.spawn('feed', { ...common, FEED_RATE: '300' });
    const webProc = web();
    await eventually(async () => (await fetch(`${api}/api/ready`).catch(() => undefined))?.status === 200, 60_000, 'ready');
    await eventually(async () => (await e.redis.xlen(e.keys.execReports)) > 0, 30_000, 'first fills');

    // Runbook step 1, plus state that must survive: an OPEN breaker, an engaged kill switch.
    expect((await fetch(`${api}/api/stop-trading`, { method: 'POST' })).status).toBe(200);
    await setBreakerState(e.redis, e.keys, 'OPEN', 'var_breach: before restart', 'test', Date.now());
    expect((await fetch(`${api}/admin/kill-switch`, { method: 'POST', body: '{"reason": "restart drill", "operator": "ops"}' })).status).toBe(200);

    const snapshot = async () => {
      const positions: Record<string, string | null> = {};
      for (const s of ['BTC-USD', 'ETH-USD', 'AAPL']) positions[s] = await e.redis.get(e.keys.position(s));
      const groups: Record<string, Record<string, string>> = {};
      for (const stream of [e.keys.marketEvents, e.keys.strategySignals, e.keys.orderIntents]) {
        for (const g of (await e.redis.xinfo('GROUPS', stream)) as unknown[][]) {
          const f = fieldsFromArray(g.map(String));
          groups[`${stream}/${f['name']}`] = f;
        }
      }
      return {
        positions,
        breaker: await e.redis.hgetall(e.keys.breaker),
        kill: await e.redis.hgetall(e.keys.killSwitch),
        trading: await e.redis.hgetall(e.keys.tradingState),
        risk: await e.redis.hgetall(e.keys.configApplied('risk_harmoniser')),
        router: await e.redis.hgetall(e.keys.configApplied('model_router')),
        groups,
        orders: await e.redis.zcard(e.keys.orderIndex),
      };
    };

    // Step 2: stop web, strategist, risk-harmoniser (the executor and feed keep running).
    for (const p of [webProc, strategist, risk]) {
      p.kill('SIGTERM');
      await waitForExit(p);
      expect(p.exitCode).toBe(0);
    }
    // The executor drains what was in flight: nothing pending or unread in its group.
    await eventually(
      async () => {
        const g = ((await e.redis.xinfo('GROUPS', e.keys.orderIntents)) as unknown[][]).map((x) => fieldsFromArray(x.map(String))).find((x) => x['name'] === 'executor');
        return g?.['pending'] === '0' && g['last-delivered-id'] === ((await e.redis.xrevrange(e.keys.orderIntents, '+', '-', 'COUNT', 1)) as [string, string[]][])[0]?.[0];
      },
      10_000,
      'the executor drained',
    );
    const before = await snapshot();
    expect(Object.values(before.positions).some((p) => p !== null)).toBe(true);

    // Step 3-4: restart Redis, wait for PONG.
    e.redis.disconnect();
    await redis.stop();
    redis = await startRedis({ port, dir, appendonly: true });
    e.redis.connect().catch(() => undefined);
    await eventually(async () => (await e.redis.ping()) === 'PONG', 20_000, 'PONG');

    const after = await snapshot();
    expect(after.positions).toEqual(before.positions);
    expect(after.breaker).toEqual(before.breaker);
    expect(after.kill).toEqual(before.kill);
    expect(after.trading).toEqual(before.trading);
    expect(after.risk).toEqual(before.risk);
    expect(after.router).toEqual(before.router);
    expect(after.orders).toBe(before.orders);
    for (const [k, g] of Object.entries(before.groups)) {
      expect(after.groups[k]?.['last-delivered-id'], k).toBe(g['last-delivered-id']);
    }

    // Step 5: risk-harmoniser, strategist, web, in order.
    e.spawn('risk-harmoniser', common);
    await eventually(async () => (await e.redis.zrange(e.keys.heartbeats, '0', '-1')).some((m) => m.startsWith('risk-harmoniser|')), 30_000, 'risk-harmoniser up');
    e.spawn('strategist', common);
    await eventually(async () => (await e.redis.zrange(e.keys.heartbeats, '0', '-1')).some((m) => m.startsWith('strategist|')), 30_000, 'strategist up');
    web();
    await eventually(async () => (await fetch(`${api}/api/ready`).catch(() => undefined))?.status === 200, 60_000, 'ready again');

    // Ticks flow again: the strategist consumes new ticks and the risk outputs are fresh.
    const groupRead = async () => Number(fieldsFromArray(((await e.redis.xinfo('GROUPS', e.keys.marketEvents)) as unknown[][])[0]!.map(String))['entries-read']);
    const readBefore = await groupRead();
    await eventually(async () => (await groupRead()) > readBefore + 50, 30_000, 'ticks consumed after restart');
    const restartedAt = Date.now();
    await eventually(async () => (JSON.parse((await e.redis.get(e.keys.edgeBlended('BTC-USD'))) ?? '{}') as { ts?: number }).ts! > restartedAt, 20_000, 'fresh risk output');

    // The kill switch and breaker held through the restart; step 6 resumes once they are cleared.
    const status = (await (await fetch(`${api}/api/status`)).json()) as { kill_switch: { engaged: boolean }; circuit_breaker: { state: string } };
    expect(status.kill_switch.engaged).toBe(true);
    expect(status.circuit_breaker.state).toBe('OPEN');
    expect((await fetch(`${api}/admin/kill-switch`, { method: 'DELETE', body: '{"reason": "drill over", "operator": "ops2"}' })).status).toBe(200);
    expect((await fetch(`${api}/api/circuit-breaker/reset`, { method: 'POST' })).status).toBe(200);
    expect((await fetch(`${api}/api/start-trading`, { method: 'POST' })).status).toBe(200);
    const reports = await e.redis.xlen(e.keys.execReports);
    await eventually(
      async () => {
        const last = ((await e.redis.xrevrange(e.keys.execReports, '+', '-', 'COUNT', 20)) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
        return (await e.redis.xlen(e.keys.execReports)) > reports && last.some((r) => r['status'] === 'FILLED') ? true : undefined;
      },
      30_000,
      'fills after start-trading',
    );
  });
});
