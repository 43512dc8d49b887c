/**
 * "Engaged means: every executor cancels resting orders." The paper venue
 * fills at once, so nothing rests there; this venue keeps orders resting, and
 * two executor replicas must each cancel exactly what a kill or a HALTED stop
 * names: one symbol's, one model's, then all of them. A REDUCING stop cancels
 * nothing.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { encodeTick } from '../../services/core/domain/market-data.ts';
import { startExecutor } from '../../services/executor/service.ts';
import type { CancelFilter, MarketQuote, Venue, VenueOrder, VenueResult } from '../../services/executor/venue/venue.ts';
import { type TestEnv, createTestEnv, eventually, everyInstanceSees, startTestWeb } from '../support/system.ts';

/** A venue whose orders rest until cancelled. */
class RestingVenue implements Venue {
  readonly name = 'resting';
  readonly resting = new Map<string, VenueOrder>();
  readonly cancels: CancelFilter[] = [];
  async submit(order: VenueOrder, _quote: MarketQuote | undefined): Promise<VenueResult> {
    this.resting.set(order.clientOrderId, order);
    return { status: 'REJECTED', reason: 'resting (test venue)' };
  }
  async cancel(filter: CancelFilter): Promise<number> {
    this.cancels.push(filter);
    let n = 0;
    for (const [id, o] of this.resting) {
      if ((filter.symbol === undefined || o.symbol === filter.symbol) && (filter.model === undefined || o.model === filter.model)) {
        this.resting.delete(id);
        n++;
      }
    }
    return n;
  }
  rest(...orders: [symbol: string, model: string][]): void {
    for (const [symbol, model] of orders) {
      const id = `${symbol}-${model}-${this.resting.size}`;
      this.resting.set(id, { clientOrderId: id, symbol, side: 'BUY', qty: 1, model });
    }
  }
  left(): string[] {
    return [...this.resting.values()].map((o) => `${o.symbol}/${o.model}`).sort();
  }
}

let env: TestEnv;
let base = '';
const venues = [new RestingVenue(), new RestingVenue()];
const call = async (method: string, path: string, body: unknown): Promise<number> => (await fetch(`${base}${path}`, { method, body: JSON.stringify(body) })).status;

beforeAll(async () => {
  env = createTestEnv(inject('redisUrl'), 'kill-cancels');
  // Scopes name symbols the system has seen.
  const now = Date.now();
  for (const [s, mid] of [
    ['BTC-USD', 65_000],
    ['ETH-USD', 3_000],
    ['AAPL', 190],
  ] as const) {
    await env.redis.hset(env.keys.lastTick(s), ...encodeTick({ symbol: s, ts: now, bid: mid - 0.5, ask: mid + 0.5, bid_size: 1, ask_size: 1, last: mid, volume: 1 }));
    await env.redis.hset(env.keys.marketDataSeen, s, String(now));
  }
  await env.start('executor', (ctx) => startExecutor(ctx, { venue: venues[0] }), 'exec-a');
  await env.start('executor', (ctx) => startExecutor(ctx, { venue: venues[1] }), 'exec-b');
  base = (await startTestWeb(env, undefined, { settings: { REQUIRED_SERVICES: 'none' } })).base;
  for (const v of venues) v.rest(['BTC-USD', 'obi'], ['BTC-USD', 'momentum'], ['ETH-USD', 'obi'], ['ETH-USD', 'momentum'], ['AAPL', 'mean_reversion']);
});

afterAll(async () => {
  await env.close();
});

const everyVenue = (what: string, check: (v: RestingVenue) => boolean): Promise<boolean> => eventually(() => venues.every(check), 5_000, what);

describe('a kill or a stop cancels the resting orders it names, on every executor', () => {
  it("a kill scoped to one symbol cancels that symbol's orders only", async () => {
    expect(await call('POST', '/admin/kill-switch', { reason: 'bad prints', operator: 'alice', scope: 'symbol:BTC-USD' })).toBe(200);
    await everyVenue('BTC-USD cancelled', (v) => v.cancels.some((c) => c.symbol === 'BTC-USD'));
    for (const v of venues) expect(v.left()).toEqual(['AAPL/mean_reversion', 'ETH-USD/momentum', 'ETH-USD/obi']);
  });

  it("a REDUCING stop of a model cancels nothing; a HALTED one cancels that model's orders", async () => {
    expect(await call('POST', '/api/stop-trading', { scope: 'model:obi', state: 'REDUCING', reason: 'review', operator: 'bob' })).toBe(200);
    // Every executor has taken the stop in (its control listener, which issues cancels, has run): nothing was cancelled.
    await everyInstanceSees(env.handles, (s) => s.scoped['model:obi']?.state === 'REDUCING', 'model:obi REDUCING');
    for (const v of venues) expect(v.left()).toHaveLength(3);
    expect(await call('POST', '/api/stop-trading', { scope: 'model:momentum', reason: 'broken', operator: 'bob' })).toBe(200);
    await everyVenue('momentum cancelled', (v) => v.cancels.some((c) => c.model === 'momentum'));
    for (const v of venues) expect(v.left()).toEqual(['AAPL/mean_reversion', 'ETH-USD/obi']);
  });

  it('the system kill switch cancels everything, once per executor', async () => {
    expect(await call('POST', '/admin/kill-switch', { reason: 'drill', operator: 'carol' })).toBe(200);
    await everyVenue('all cancelled', (v) => v.left().length === 0);
    for (const v of venues) expect(v.cancels.filter((c) => c.symbol === undefined && c.model === undefined)).toHaveLength(1);
  });
});
