/**
 * Redis unreachable means no orders. The executor's control snapshot expires
 * (CONTROL_MAX_AGE_MS) when it cannot be re-read, and every order is decided
 * on a fresh look at it: Redis frozen (SIGSTOP) while a batch is at a slow
 * venue → the next order in that batch is refused as "control state
 * unknown", and nothing reaches the venue until Redis answers again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTarget, fieldsFromArray } from '../../services/core/messages.ts';
import { encodeTick } from '../../services/core/domain/market-data.ts';
import { startExecutor } from '../../services/executor/service.ts';
import { PaperVenue } from '../../services/executor/venue/paper-venue.ts';
import type { MarketQuote, VenueOrder, VenueResult } from '../../services/executor/venue/venue.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { type TestEnv, createTestEnv, eventually, testTarget } from '../support/system.ts';

let redis: TestRedis;
let env: TestEnv;
/** The paper venue, answering after 800 ms, that says when an order reaches it. */
class WatchedVenue extends PaperVenue {
  readonly arrived: string[] = [];
  readonly answered: string[] = [];
  override async submit(order: VenueOrder, quote: MarketQuote | undefined): Promise<VenueResult> {
    this.arrived.push(order.symbol);
    const r = await super.submit(order, quote);
    this.answered.push(order.symbol);
    return r;
  }
}
const venue = new WatchedVenue(0, 800);

beforeAll(async () => {
  redis = await startRedis({ appendonly: false });
  // Re-read every 100 ms, expire after 300 ms: a healthy snapshot never expires, a frozen one soon does.
  // Slow venue (below the breaker's 1 s call timeout), so the batch's second order is decided mid-freeze.
  env = createTestEnv(redis.url, 'fail-closed', { CONTROL_REFRESH_MS: '100', CONTROL_MAX_AGE_MS: '300' });
  await env.start('executor', (ctx) => startExecutor(ctx, { venue }), 'exec-a');
});

afterAll(async () => {
  if (redis.process.exitCode === null) redis.process.kill('SIGCONT');
  await env.close();
  await redis.stop();
});

describe('Redis unreachable', () => {
  it('refuses the orders it can no longer check against the control state', async () => {
    const now = Date.now();
    for (const [s, mid] of [
      ['BTC-USD', 65_000],
      ['ETH-USD', 3_000],
    ] as const) {
      await env.redis.hset(env.keys.lastTick(s), ...encodeTick({ symbol: s, ts: now, bid: mid - 0.5, ask: mid + 0.5, bid_size: 1, ask_size: 1, last: mid, volume: 1 }));
    }
    const target = (symbol: string, usd: number, price: number, id: string): string[] => encodeTarget(testTarget({ symbol, target_usd: usd, price, signal_id: id, ts: now }));
    // Both targets in one transaction, so the executor reads them as one batch.
    await env.redis
      .multi()
      .xadd(env.keys.orderIntents, '*', ...target('BTC-USD', 65_000, 65_000, '1-0'))
      .xadd(env.keys.orderIntents, '*', ...target('ETH-USD', 30_000, 3_000, '2-0'))
      .exec();
    // Once the first order is at the venue (0.8 s), freeze Redis for longer than the control snapshot may age (0.3 s).
    await eventually(() => venue.arrived.length === 1, 5_000, 'the first order at the venue');
    redis.process.kill('SIGSTOP');
    // Frozen until the executor's snapshot has aged out and the first order has its answer: the second is decided blind.
    const executor = env.handles.find((h) => h.ctx.service === 'executor')!;
    await eventually(() => !executor.ctx.control.snapshot.known && venue.answered.length === 1, 5_000, 'the snapshot aged out and the first order answered');
    redis.process.kill('SIGCONT');

    const reports = await eventually(
      async () => {
        const r = ((await env.redis.xrange(env.keys.execReports, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
        return r.length >= 2 ? r : undefined;
      },
      15_000,
      'two reports',
    );
    const bySymbol = new Map(reports.map((r) => [r['symbol'] ?? '', r]));
    expect(bySymbol.get('BTC-USD')).toMatchObject({ status: 'FILLED' }); // decided while Redis answered
    expect(bySymbol.get('ETH-USD')).toMatchObject({ status: 'REJECTED', reason: 'control state unknown (fail closed)', latency_ms: '0' });
    expect(JSON.parse((await env.redis.get(env.keys.position('ETH-USD'))) ?? '{"qty":0}')).toMatchObject({ qty: 0 });
  });
});
