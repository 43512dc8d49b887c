/**
 * Two executor replicas under the shared controls: OPEN stops new positions on
 * both while reduce-only orders pass; HALF_OPEN admits limited test orders;
 * DRY_RUN decides without sending.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { setBreakerState, testWriter } from '../support/control.ts';
import { startExecutor } from '../../services/executor/service.ts';
import { type TestEnv, createTestEnv, everyInstanceSees } from '../support/system.ts';
import { execReports, positionQty, sendTarget, settledOrder, setQuotes } from '../support/orders.ts';

let env: TestEnv;
afterEach(async () => {
  await env.close();
});

async function setup(label: string): Promise<void> {
  env = createTestEnv(inject('redisUrl'), label);
  await env.start('executor', startExecutor, 'exec-a');
  await env.start('executor', startExecutor, 'exec-b');
  await setQuotes(env, { 'BTC-USD': 65_000, 'ETH-USD': 3_000, AAPL: 190 });
}

const position = (s: string): Promise<number> => positionQty(env, s);

describe('executor replicas under the shared controls', () => {
  it('OPEN on one replica stops new positions on both; reduce-only orders still fill', async () => {
    await setup('exec-open');
    expect(await settledOrder(env, await sendTarget(env, { symbol: 'ETH-USD', target_usd: 30_000, price: 3_000 }))).toMatchObject({ state: 'FILLED', qty: 10 });
    expect(await position('ETH-USD')).toBeCloseTo(10, 9);
    await setBreakerState(env.redis, env.keys, 'OPEN', 'order_latency: test', 'exec-a', Date.now());
    await everyInstanceSees(env.handles, (s) => s.breaker.state === 'OPEN', 'OPEN');
    // One at a time: targets are absolute, so several for one symbol in a batch coalesce.
    for (let i = 0; i < 6; i++) {
      expect(await settledOrder(env, await sendTarget(env, { symbol: i % 2 ? 'BTC-USD' : 'AAPL', target_usd: 20_000 * (i + 1), price: i % 2 ? 65_000 : 190 }))).toBeUndefined();
    }
    expect(await settledOrder(env, await sendTarget(env, { symbol: 'ETH-USD', target_usd: 60_000, price: 3_000 }))).toBeUndefined(); // increase: denied
    expect(await settledOrder(env, await sendTarget(env, { symbol: 'ETH-USD', target_usd: 15_000, price: 3_000 }))).toMatchObject({ state: 'FILLED', side: 'SELL', qty: 5 }); // reduce to 5 ETH: passes
    expect(await position('ETH-USD')).toBeCloseTo(5, 9);
    expect(await position('BTC-USD')).toBe(0);
    // Each denied symbol was reported once (one report per symbol per reason: no flood).
    const rejected = (await execReports(env)).filter((x) => x['status'] === 'REJECTED');
    expect(rejected.map((x) => x['symbol']).sort()).toEqual(['AAPL', 'BTC-USD', 'ETH-USD']);
    expect(rejected.every((x) => x['reason']!.includes('circuit breaker OPEN'))).toBe(true);
  });

  it('HALF_OPEN admits a limited number of capped test orders across both replicas', async () => {
    await setup('exec-half');
    await setBreakerState(env.redis, env.keys, 'HALF_OPEN', 'operator reset', 'test', Date.now());
    await everyInstanceSees(env.handles, (s) => s.breaker.state === 'HALF_OPEN', 'HALF_OPEN');
    const made = [];
    for (let i = 0; i < 7; i++) made.push(await settledOrder(env, await sendTarget(env, { symbol: 'AAPL', target_usd: 100_000 * (i + 1), price: 190 })));
    const filled = made.filter((o) => o?.state === 'FILLED');
    expect(filled).toHaveLength(5); // half_open_max_orders
    for (const f of filled) expect(f!.qty * 190.5).toBeLessThanOrEqual(10_000 * 1.01); // half_open_max_notional_usd
    expect(filled.every((o) => o!.probe)).toBe(true);
    // The rest were refused: as targets (the count seen) or as test orders (the lease's cap).
    for (const o of made.slice(5)) expect(o === undefined || (o.state === 'REJECTED' && o.reason.includes('HALF_OPEN'))).toBe(true);
  });

  it('DRY_RUN decides and reports orders but sends none', async () => {
    await setup('exec-dry');
    await testWriter(env.redis, env.keys).executionMode('DRY_RUN', { reason: 'test', by: 'test' });
    await everyInstanceSees(env.handles, (s) => s.trading.mode === 'DRY_RUN', 'DRY_RUN');
    expect(await settledOrder(env, await sendTarget(env, { symbol: 'BTC-USD', target_usd: 65_000, price: 65_000 }))).toBeUndefined();
    expect((await execReports(env))[0]).toMatchObject({ status: 'DRY_RUN', symbol: 'BTC-USD', side: 'BUY' });
    expect(await position('BTC-USD')).toBe(0);
  });
});
