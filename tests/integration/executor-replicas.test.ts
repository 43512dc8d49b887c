/**
 * Two executor replicas under the shared controls: OPEN stops new positions on
 * both while reduce-only orders pass; HALF_OPEN admits limited test orders;
 * DRY_RUN decides without sending.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { setBreakerState, testWriter } from '../support/control.ts';
import { encodeTarget, fieldsFromArray } from '../../services/core/messages.ts';
import { encodeTick } from '../../services/core/domain/market-data.ts';
import { startExecutor } from '../../services/executor/service.ts';
import { type TestEnv, createTestEnv, eventually, everyInstanceSees, testTarget } from '../support/system.ts';

let env: TestEnv;
afterEach(async () => {
  await env.close();
});

async function setup(label: string): Promise<void> {
  env = createTestEnv(inject('redisUrl'), label);
  await env.start('executor', startExecutor, 'exec-a');
  await env.start('executor', startExecutor, 'exec-b');
  const now = Date.now();
  for (const [s, mid] of [
    ['BTC-USD', 65_000],
    ['ETH-USD', 3_000],
    ['AAPL', 190],
  ] as const) {
    await env.redis.hset(env.keys.lastTick(s), ...encodeTick({ symbol: s, ts: now, bid: mid - 0.5, ask: mid + 0.5, bid_size: 1, ask_size: 1, last: mid, volume: 1 }));
    await env.redis.hset(env.keys.marketDataSeen, s, String(now));
  }
}

let seq = 0;
async function target(symbol: string, usd: number, price: number): Promise<void> {
  const now = Date.now();
  await env.redis.xadd(env.keys.orderIntents, '*', ...encodeTarget(testTarget({ symbol, target_usd: usd, price, signal_id: `${++seq}-0`, ts: now })));
}

async function reports(n: number): Promise<Record<string, string>[]> {
  return eventually(
    async () => {
      const r = ((await env.redis.xrange(env.keys.execReports, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
      return r.length >= n ? r : undefined;
    },
    10_000,
    `${n} exec reports`,
  );
}

const position = async (s: string) => (JSON.parse((await env.redis.get(env.keys.position(s))) ?? '{"qty":0}') as { qty: number }).qty;

describe('executor replicas under the shared controls', () => {
  it('OPEN on one replica stops new positions on both; reduce-only orders still fill', async () => {
    await setup('exec-open');
    await target('ETH-USD', 30_000, 3_000); // +10 ETH
    await reports(1);
    expect(await position('ETH-USD')).toBeCloseTo(10, 9);
    await setBreakerState(env.redis, env.keys, 'OPEN', 'order_latency: test', 'exec-a', Date.now());
    await everyInstanceSees(env.handles, (s) => s.breaker.state === 'OPEN', 'OPEN');
    // One at a time: targets are absolute, so several for one symbol in a batch coalesce.
    let n = 1;
    for (let i = 0; i < 6; i++) {
      await target(i % 2 ? 'BTC-USD' : 'AAPL', 20_000 * (i + 1), i % 2 ? 65_000 : 190);
      await reports(++n);
    }
    await target('ETH-USD', 60_000, 3_000); // increase: denied
    await reports(++n);
    await target('ETH-USD', 15_000, 3_000); // reduce to 5 ETH: passes
    const r = await reports(n + 1);
    const after = r.slice(1);
    expect(after.filter((x) => x['status'] === 'FILLED').map((x) => [x['symbol'], x['side'], Number(x['qty'])])).toEqual([['ETH-USD', 'SELL', 5]]);
    expect(after.filter((x) => x['status'] === 'REJECTED').every((x) => x['reason']!.includes('circuit breaker OPEN'))).toBe(true);
    expect(await position('ETH-USD')).toBeCloseTo(5, 9);
    expect(await position('BTC-USD')).toBe(0);
  });

  it('HALF_OPEN admits a limited number of capped test orders across both replicas', async () => {
    await setup('exec-half');
    await setBreakerState(env.redis, env.keys, 'HALF_OPEN', 'operator reset', 'test', Date.now());
    await everyInstanceSees(env.handles, (s) => s.breaker.state === 'HALF_OPEN', 'HALF_OPEN');
    for (let i = 0; i < 7; i++) {
      await target('AAPL', 100_000 * (i + 1), 190);
      await reports(i + 1);
    }
    const r = await reports(7);
    const filled = r.filter((x) => x['status'] === 'FILLED');
    expect(filled).toHaveLength(5); // half_open_max_orders
    for (const f of filled) expect(Number(f['qty']) * 190.5).toBeLessThanOrEqual(10_000 * 1.01); // half_open_max_notional_usd
    expect(r.slice(5).every((x) => x['status'] === 'REJECTED' && x['reason']!.includes('HALF_OPEN'))).toBe(true);
  });

  it('DRY_RUN decides and reports orders but sends none', async () => {
    await setup('exec-dry');
    await testWriter(env.redis, env.keys).executionMode('DRY_RUN', { reason: 'test', by: 'test' });
    await everyInstanceSees(env.handles, (s) => s.trading.mode === 'DRY_RUN', 'DRY_RUN');
    await target('BTC-USD', 65_000, 65_000);
    const [r] = await reports(1);
    expect(r).toMatchObject({ status: 'DRY_RUN', symbol: 'BTC-USD', side: 'BUY' });
    expect(await position('BTC-USD')).toBe(0);
  });
});
