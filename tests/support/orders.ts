/** Orders as the tests see them: send a target, wait until the executors handled it, read what it made. */
import { compareStreamIds } from '../../services/core/domain/consumer-lag.ts';
import { encodeTick } from '../../services/core/domain/market-data.ts';
import { encodeTarget, fieldsFromArray, type Target } from '../../services/core/messages.ts';
import { orderFromFields, type Order } from '../../services/executor/domain/order-lifecycle.ts';
import type { ServiceContext } from '../../services/core/context.ts';
import type { PaperParams } from '../../services/executor/domain/paper-fills.ts';
import { PaperVenue } from '../../services/executor/venue/paper-venue.ts';
import type { MarketQuote, Venue, VenueOrderRequest, VenueOrderStatus, VenueTrade } from '../../services/executor/venue/venue.ts';
import { eventually, testTarget, type TestEnv } from './system.ts';

/** Add a target (test defaults) to order_intents; its stream id. */
export async function sendTarget(env: TestEnv, t: Pick<Target, 'symbol' | 'target_usd' | 'price'> & Partial<Target>): Promise<string> {
  return (await env.redis.xadd(env.keys.orderIntents, '*', ...encodeTarget(testTarget(t))))!;
}

/** Wait until the executor group has delivered and acknowledged the target `id`. */
export async function handled(env: TestEnv, id: string, timeoutMs = 10_000): Promise<void> {
  await eventually(
    async () => {
      const g = ((await env.redis.xinfo('GROUPS', env.keys.orderIntents)) as unknown[][]).map((x) => fieldsFromArray(x.map(String))).find((x) => x['name'] === 'executor');
      return g !== undefined && g['pending'] === '0' && compareStreamIds(g['last-delivered-id'] ?? '0-0', id) >= 0;
    },
    timeoutMs,
    `target ${id} handled`,
  );
}

export async function order(env: TestEnv, clientOrderId: string): Promise<Order | undefined> {
  return orderFromFields(await env.redis.hgetall(env.keys.order(clientOrderId)));
}

/** Every order of a symbol (or all), oldest first. */
export async function orders(env: TestEnv, symbol?: string): Promise<Order[]> {
  const ids = await env.redis.zrange(symbol ? env.keys.ordersBySymbol(symbol) : env.keys.orderIndex, '0', '-1');
  return (await Promise.all(ids.map((id) => order(env, id)))).filter((o): o is Order => o !== undefined);
}

/** The order a target made, once it reached a terminal state (or `undefined` when the target made none). */
export async function settledOrder(env: TestEnv, targetId: string, timeoutMs = 10_000): Promise<Order | undefined> {
  await handled(env, targetId, timeoutMs);
  const id = `T${targetId}`;
  if (!(await env.redis.exists(env.keys.order(id)))) return undefined;
  return eventually(
    async () => {
      const o = await order(env, id);
      return o && ['FILLED', 'CANCELLED', 'REJECTED', 'EXPIRED'].includes(o.state) ? o : undefined;
    },
    timeoutMs,
    `order ${id} settled`,
  );
}

/** exec_reports entries, parsed. */
export async function execReports(env: TestEnv): Promise<Record<string, string>[]> {
  return ((await env.redis.xrange(env.keys.execReports, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
}

export const positionQty = async (env: TestEnv, s: string): Promise<number> => (JSON.parse((await env.redis.get(env.keys.position(s))) ?? '{"qty":0}') as { qty: number }).qty;

/** A paper venue on the test's Redis with the default simulation (no partial fills unless asked). */
export function testPaperVenue(ctx: ServiceContext, o: Partial<PaperParams & { latencyMs: number }> & { symbols?: readonly string[] } = {}): PaperVenue {
  const params = { takerBps: 4, makerBps: 1, impactBpsPer100k: 0.5, partialFillRatio: 0, seed: 7, latencyMs: 0, ...o };
  return new PaperVenue({ redis: ctx.redis, keys: ctx.keys, clock: ctx.clock, params: () => params, symbols: () => o.symbols ?? ['BTC-USD', 'ETH-USD', 'AAPL'], log: ctx.log });
}

/** A venue that records what reaches it (client order ids, in order), optionally before a hook runs. */
export class WatchedVenue implements Venue {
  readonly arrived: string[] = [];
  readonly answered: string[] = [];
  readonly name: string;
  readonly kind: Venue['kind'];
  constructor(
    readonly inner: Venue,
    private readonly onArrival?: (req: VenueOrderRequest) => Promise<void>,
  ) {
    this.name = inner.name;
    this.kind = inner.kind;
  }
  async submit(req: VenueOrderRequest, quote: MarketQuote | undefined): Promise<VenueOrderStatus> {
    this.arrived.push(req.clientOrderId);
    await this.onArrival?.(req);
    const r = await this.inner.submit(req, quote);
    this.answered.push(req.clientOrderId);
    return r;
  }
  cancel(id: string, symbol: string): Promise<VenueOrderStatus | undefined> {
    return this.inner.cancel(id, symbol);
  }
  fetchOrder(id: string, symbol: string): Promise<VenueOrderStatus | undefined> {
    return this.inner.fetchOrder(id, symbol);
  }
  fetchOpenOrders(symbols: readonly string[]): Promise<VenueOrderStatus[]> {
    return this.inner.fetchOpenOrders(symbols);
  }
  fetchTrades(symbols: readonly string[], since: number): Promise<VenueTrade[]> {
    return this.inner.fetchTrades(symbols, since);
  }
  fetchPositions(symbols: readonly string[]): Promise<Record<string, number>> {
    return this.inner.fetchPositions(symbols);
  }
  async start(): Promise<void> {
    await this.inner.start?.();
  }
  async stop(): Promise<void> {
    await this.inner.stop?.();
  }
}

/** The quote each symbol trades at (bid mid − 0.5, ask mid + 0.5, stamped now), as the feed leaves it for the executor. */
export async function setQuotes(env: TestEnv, mids: Readonly<Record<string, number>>): Promise<void> {
  const now = Date.now();
  for (const [s, mid] of Object.entries(mids)) {
    await env.redis.hset(env.keys.lastTick(s), ...encodeTick({ symbol: s, ts: now, bid: mid - 0.5, ask: mid + 0.5, bid_size: 1, ask_size: 1, last: mid, volume: 1 }));
    await env.redis.hset(env.keys.marketDataSeen, s, String(now));
  }
}
