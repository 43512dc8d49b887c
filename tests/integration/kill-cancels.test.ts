/**
 * "Engaged means: every executor cancels resting orders." Limit orders
 * placed 50 bps away from the touch rest at the paper venue; two executor
 * replicas share that venue (its book is in Redis) and the OMS. A kill or a
 * HALTED stop cancels exactly what it names at the venue: one symbol's, one
 * model's, then all of them; a REDUCING stop cancels nothing. The kill also
 * pauses the send queue.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startExecutor } from '../../services/executor/service.ts';
import { orders, sendTarget, handled, setQuotes } from '../support/orders.ts';
import { makeProjectDir } from '../support/project-dir.ts';
import { type TestEnv, createTestEnv, eventually, everyInstanceSees, startTestWeb } from '../support/system.ts';

let env: TestEnv;
let base = '';
const call = async (method: string, path: string, body: unknown): Promise<number> => (await fetch(`${base}${path}`, { method, body: JSON.stringify(body) })).status;
const MIDS = { 'BTC-USD': 65_000, 'ETH-USD': 3_000, AAPL: 190 } as const;

beforeAll(async () => {
  const root = makeProjectDir('kill-cancels', { risk: (t) => t.replace('order_type: market', 'order_type: limit').replace('limit_offset_bps: 0', 'limit_offset_bps: -50') });
  env = createTestEnv(inject('redisUrl'), 'kill-cancels', { TP_ROOT: root });
  await setQuotes(env, MIDS);
  await env.start('executor', startExecutor, 'exec-a');
  await env.start('executor', startExecutor, 'exec-b');
  base = (await startTestWeb(env, undefined, { settings: { REQUIRED_SERVICES: 'none' } })).base;
  // Five resting buys: targets are absolute, so each symbol's second one adds a second order.
  const rest: [symbol: keyof typeof MIDS, model: string, units: number][] = [
    ['BTC-USD', 'obi', 1],
    ['BTC-USD', 'momentum', 2],
    ['ETH-USD', 'obi', 10],
    ['ETH-USD', 'momentum', 20],
    ['AAPL', 'mean_reversion', 100],
  ];
  // Each resting before the next target (a target that finds its symbol's order unsent amends it instead).
  for (const [i, [symbol, model, units]] of rest.entries()) {
    await handled(env, await sendTarget(env, { symbol, model, target_usd: units * MIDS[symbol], price: MIDS[symbol] }));
    await eventually(async () => (await resting()).length === i + 1, 10_000, `${i + 1} orders resting at the venue`);
  }
});

afterAll(async () => {
  await env.close();
});

/** "symbol/model" of every order resting at the venue (ACCEPTED), as the OMS records it. */
async function resting(): Promise<string[]> {
  return (await orders(env))
    .filter((o) => o.state === 'ACCEPTED')
    .map((o) => `${o.symbol}/${o.model}`)
    .sort();
}
async function venueOpen(): Promise<number> {
  let n = 0;
  for (const s of Object.keys(MIDS)) n += await env.redis.zcard(env.keys.paperOpen(s));
  return n;
}

describe('a kill or a stop cancels the resting orders it names, at the venue', () => {
  it("a kill scoped to one symbol cancels that symbol's orders only", async () => {
    expect(await call('POST', '/admin/kill-switch', { reason: 'bad prints', operator: 'alice', scope: 'symbol:BTC-USD' })).toBe(200);
    await eventually(async () => (await resting()).length === 3, 5_000, 'BTC-USD cancelled');
    expect(await resting()).toEqual(['AAPL/mean_reversion', 'ETH-USD/momentum', 'ETH-USD/obi']);
    expect(await venueOpen()).toBe(3);
    const cancelled = (await orders(env, 'BTC-USD')).map((o) => [o.state, o.reason]);
    expect(cancelled).toEqual([
      ['CANCELLED', 'symbol:BTC-USD halted (kill): bad prints'],
      ['CANCELLED', 'symbol:BTC-USD halted (kill): bad prints'],
    ]);
  });

  it("a REDUCING stop of a model cancels nothing; a HALTED one cancels that model's orders", async () => {
    expect(await call('POST', '/api/stop-trading', { scope: 'model:obi', state: 'REDUCING', reason: 'review', operator: 'bob' })).toBe(200);
    // Every executor has taken the stop in (its control listener, which issues cancels, has run): nothing was cancelled.
    await everyInstanceSees(env.handles, (s) => s.scoped['model:obi']?.state === 'REDUCING', 'model:obi REDUCING');
    expect(await resting()).toHaveLength(3);
    expect(await call('POST', '/api/stop-trading', { scope: 'model:momentum', reason: 'broken', operator: 'bob' })).toBe(200);
    await eventually(async () => (await resting()).length === 2, 5_000, 'momentum cancelled');
    expect(await resting()).toEqual(['AAPL/mean_reversion', 'ETH-USD/obi']);
  });

  it('the system kill switch cancels everything and pauses the send queue', async () => {
    expect(await call('POST', '/admin/kill-switch', { reason: 'drill', operator: 'carol' })).toBe(200);
    await eventually(async () => (await resting()).length === 0 && (await venueOpen()) === 0, 5_000, 'all cancelled');
    const executor = env.handles.find((h) => h.ctx.service === 'executor')!;
    const { Queue } = await import('bullmq');
    const q = new Queue('orders-paper', { connection: executor.ctx.connection('test-queue'), prefix: env.keys.queuePrefix });
    await eventually(() => q.isPaused(), 5_000, 'queue paused');
    await q.close();
    // Each order was cancelled once, whichever executor asked first.
    const events = ((await env.redis.xrange(env.keys.orderEvents, '-', '+')) as [string, string[]][]).map(([, f]) => f);
    const cancels = events.filter((f) => f[f.indexOf('event') + 1] === 'OrderCancelled').map((f) => f[f.indexOf('client_order_id') + 1]);
    expect(cancels).toHaveLength(5);
    expect(new Set(cancels).size).toBe(5);
  });
});
