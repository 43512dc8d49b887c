/**
 * Redis unreachable means no orders. Every send is preceded by its order's
 * SUBMITTED mark, written to Redis after the controls were checked, and the
 * executor's control snapshot expires (CONTROL_MAX_AGE_MS) when it cannot be
 * re-read: with three orders queued behind a throttle of one per second,
 * Redis frozen (SIGSTOP) for three seconds after the first reached the venue
 * → nothing else reaches it while frozen, and the rest go, once each, when
 * Redis answers again.
 *
 * And an order is sent only once a replica holds its records when replicas
 * are asked for (REDIS_WAIT_REPLICAS; Sentinel's default): on a master with
 * no replica, it is retried, then cancelled unsent, never sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTick } from '../../services/core/domain/market-data.ts';
import { startExecutor } from '../../services/executor/service.ts';
import { handled, sendTarget, settledOrder, testPaperVenue, WatchedVenue } from '../support/orders.ts';
import { makeProjectDir } from '../support/project-dir.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { type TestEnv, createTestEnv, eventually } from '../support/system.ts';

let redis: TestRedis;
let env: TestEnv;
let venue: WatchedVenue | undefined;

beforeAll(async () => {
  redis = await startRedis({ appendonly: false });
  const root = makeProjectDir('fail-closed', { risk: (t) => t.replace('orders_per_second: 20', 'orders_per_second: 1') });
  // Re-read every 100 ms, expire after 300 ms: a healthy snapshot never expires, a frozen one soon does.
  env = createTestEnv(redis.url, 'fail-closed', { TP_ROOT: root, CONTROL_REFRESH_MS: '100', CONTROL_MAX_AGE_MS: '300' });
  await env.start(
    'executor',
    (ctx) => {
      venue = new WatchedVenue(testPaperVenue(ctx));
      return startExecutor(ctx, { venue });
    },
    'exec-a',
  );
});

afterAll(async () => {
  if (redis.process.exitCode === null) redis.process.kill('SIGCONT');
  await env.close();
  await redis.stop();
});

describe('Redis unreachable', () => {
  it('sends nothing while Redis does not answer, and each order once after', async () => {
    const now = Date.now();
    const mids = { 'BTC-USD': 65_000, 'ETH-USD': 3_000, AAPL: 190 } as const;
    for (const [s, mid] of Object.entries(mids)) {
      await env.redis.hset(env.keys.lastTick(s), ...encodeTick({ symbol: s, ts: now, bid: mid - 0.5, ask: mid + 0.5, bid_size: 1, ask_size: 1, last: mid, volume: 1 }));
    }
    const ids: string[] = [];
    for (const [s, mid] of Object.entries(mids)) ids.push(await sendTarget(env, { symbol: s, target_usd: 10 * mid, price: mid }));
    for (const id of ids) await handled(env, id);

    await eventually(() => venue!.answered.length >= 1, 5_000, 'the first order answered');
    redis.process.kill('SIGSTOP');
    const executor = env.handles.find((h) => h.ctx.service === 'executor')!;
    await eventually(() => !executor.ctx.control.snapshot.known, 5_000, 'the snapshot aged out');
    const atFreeze = venue!.arrived.length;
    // Three throttle periods with Redis frozen: nothing more reaches the venue.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(venue!.arrived.length).toBe(atFreeze);
    redis.process.kill('SIGCONT');

    for (const id of ids) expect(await settledOrder(env, id, 20_000)).toMatchObject({ state: 'FILLED' });
    // Each order reached the venue exactly once.
    expect([...venue!.arrived].sort()).toEqual(ids.map((id) => `T${id}`).sort());
  }, 40_000);
});

describe('an order no replica holds', () => {
  it('is retried, then cancelled unsent: the venue never hears of it', async () => {
    const root = makeProjectDir('fail-closed-wait');
    const waitEnv = createTestEnv(redis.url, 'fail-closed-wait', { TP_ROOT: root, REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_MS: '50' });
    let watched: WatchedVenue | undefined;
    try {
      await waitEnv.start('executor', (ctx) => {
        watched = new WatchedVenue(testPaperVenue(ctx));
        return startExecutor(ctx, { venue: watched });
      });
      const mid = 65_000;
      await waitEnv.redis.hset(
        waitEnv.keys.lastTick('BTC-USD'),
        ...encodeTick({ symbol: 'BTC-USD', ts: Date.now(), bid: mid - 0.5, ask: mid + 0.5, bid_size: 1, ask_size: 1, last: mid, volume: 1 }),
      );
      const id = await sendTarget(waitEnv, { symbol: 'BTC-USD', target_usd: 10 * mid, price: mid });
      const o = await settledOrder(waitEnv, id, 30_000);
      expect(o).toMatchObject({ state: 'CANCELLED' });
      expect(o?.reason).toMatch(/^not sent: 0 of 1 replica\(s\) held its records after 50 ms .*\(fail closed\)$/);
      expect(watched!.arrived).toEqual([]);
    } finally {
      await waitEnv.close();
    }
  }, 45_000);
});
