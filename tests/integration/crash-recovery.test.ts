/**
 * Crash-only processes: SIGKILL a strategist and an executor mid-stream,
 * start new ones, and show that the pending entries are claimed and
 * processed once: no tick lost, no tick counted twice, no duplicate order.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { fieldsFromArray } from '../../services/core/messages.ts';
import { startFeed } from '../../services/feed/service.ts';
import { activeBookRoot } from '../support/project-dir.ts';
import { createTestEnv, eventually, ordersAndKills, waitForExit, type TestEnv } from '../support/system.ts';

const TICKS = 6_000;

async function groupInfo(env: TestEnv, stream: string): Promise<Record<string, string>[]> {
  const groups = (await env.redis.xinfo('GROUPS', stream)) as unknown[][];
  return groups.map((g) => fieldsFromArray(g.map(String)));
}

describe('SIGKILL mid-stream', () => {
  let env: TestEnv;
  afterAll(async () => {
    await env.close();
  });

  it('loses no tick and makes no duplicate order after services are killed and restarted', async () => {
    env = createTestEnv(inject('redisUrl'), 'crash', { TP_ROOT: activeBookRoot() });
    const common = { CLAIM_IDLE_MS: '300', BATCH_SIZE: '50', HEARTBEAT_INTERVAL_MS: '200' };
    env.spawn('risk-harmoniser', common);
    const executor1 = env.spawn('executor', common);
    const strategist1 = env.spawn('strategist', common);
    await eventually(async () => (await env.redis.zcard(env.keys.heartbeats)) >= 3, 30_000, 'three services up');
    await env.start('feed', (ctx) => startFeed(ctx, { rate: 2_000, seed: 5, maxTicks: TICKS, streamMaxLen: 100_000 }));

    // Kill both while ticks are flowing and entries are in flight.
    await eventually(async () => (await env.redis.xlen(env.keys.marketEvents)) > TICKS / 4, 20_000, 'ticks flowing');
    strategist1.kill('SIGKILL');
    await eventually(async () => (await env.redis.xlen(env.keys.execReports)) > 0, 20_000, 'first order');
    executor1.kill('SIGKILL');
    await Promise.all([waitForExit(strategist1), waitForExit(executor1)]);
    const pendingAtKill = (await groupInfo(env, env.keys.marketEvents))[0]!['pending'];

    env.spawn('strategist', common);
    env.spawn('executor', common);

    for (const stream of [env.keys.marketEvents, env.keys.strategySignals, env.keys.orderIntents]) {
      await eventually(
        async () => {
          const g = (await groupInfo(env, stream))[0];
          return g && g['pending'] === '0' && g['lag'] === '0' && (stream !== env.keys.marketEvents || (await env.redis.xlen(stream)) === TICKS);
        },
        60_000,
        `${stream} drained`,
      );
    }

    // Every tick folded into the features exactly once.
    let ticks = 0;
    for (const s of ['BTC-USD', 'ETH-USD', 'AAPL']) ticks += (JSON.parse((await env.redis.get(env.keys.strategistState(s))) ?? '{"ticks":0}') as { ticks: number }).ticks;
    expect(ticks).toBe(TICKS);
    expect(await env.redis.xlen(env.keys.deadLetter)).toBe(0);

    // No duplicate order: each created once; every venue fill in the positions exactly once (ordersAndKills checks).
    const { orderIds, filled } = await ordersAndKills(env);
    expect(filled).toBeGreaterThan(0);
    expect(new Set(orderIds).size).toBe(orderIds.length);
    expect(await env.redis.zcard(env.keys.orderIndex)).toBe(orderIds.length);
    console.info(`crash test: ${pendingAtKill} market_events entries were pending when the strategist was killed`);
  });
});
