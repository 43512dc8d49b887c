/**
 * What the book looks like, read from Redis for the read endpoints and the
 * dashboard's live stream: positions marked to the current quote (PnL),
 * orders from their indexes (by symbol, model or state, newest first, with
 * a cursor), the latest blend per symbol, the day's statistics, the switch
 * log. Plain reads; nothing here writes.
 */
import { orderFromFields, type Order, type OrderState } from '../executor/domain/order-lifecycle.ts';
import { readPosition } from '../executor/position.ts';
import { compareStreamIds } from '../core/domain/consumer-lag.ts';
import { fieldsFromArray } from '../core/messages.ts';
import type { RedisClient } from '../core/redis/connect.ts';
import type { RedisKeys, Shards } from '../core/redis/keys.ts';

export interface PositionView {
  symbol: string;
  qty: number;
  avg_price: number;
  mark: number | null;
  notional_usd: number;
  unrealized_pnl: number;
  realized_pnl: number;
  fees_usd: number;
  /** Still to fill on open orders (signed). */
  working_qty: number;
}

export async function readPositions(
  redis: RedisClient,
  shards: Shards,
  symbols: readonly string[],
): Promise<{ positions: PositionView[]; totals: { unrealized_pnl: number; realized_pnl: number; fees_usd: number; gross_usd: number } }> {
  const positions = await Promise.all(
    symbols.map(async (symbol): Promise<PositionView> => {
      const keys = shards.keysOf(symbol);
      const [raw, quote, working] = await Promise.all([redis.get(keys.position(symbol)), redis.hmget(keys.lastTick(symbol), 'bid', 'ask'), redis.hvals(keys.working(symbol))]);
      const p = readPosition(raw, keys.position(symbol));
      const pos = p.ok ? p.position : { qty: 0, avgPrice: 0, realizedPnl: 0, feesUsd: 0 };
      const [bid, ask] = quote.map(Number);
      const mark = bid! > 0 && ask! > 0 ? (bid! + ask!) / 2 : null;
      return {
        symbol,
        qty: pos.qty,
        avg_price: pos.avgPrice,
        mark,
        notional_usd: mark === null ? 0 : pos.qty * mark,
        unrealized_pnl: mark === null || pos.qty === 0 ? 0 : pos.qty * (mark - pos.avgPrice),
        realized_pnl: pos.realizedPnl,
        fees_usd: pos.feesUsd ?? 0,
        working_qty: working.reduce((s, v) => s + (Number(v) || 0), 0),
      };
    }),
  );
  const totals = { unrealized_pnl: 0, realized_pnl: 0, fees_usd: 0, gross_usd: 0 };
  for (const p of positions) {
    totals.unrealized_pnl += p.unrealized_pnl;
    totals.realized_pnl += p.realized_pnl;
    totals.fees_usd += p.fees_usd;
    totals.gross_usd += Math.abs(p.notional_usd);
  }
  return { positions, totals };
}

export interface OrderQuery {
  symbol?: string | undefined;
  model?: string | undefined;
  state?: OrderState | undefined;
  limit: number;
  /** The previous page's `next`: `<score>_<client order id>` of its last order. */
  before?: string | undefined;
}

/** The order as the API shows it (snake_case, as stored). */
export function orderView(o: Order): Record<string, unknown> {
  return {
    client_order_id: o.clientOrderId,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    qty: o.qty,
    limit_price: o.limitPrice,
    state: o.state,
    filled_qty: o.filledQty,
    avg_fill_price: o.avgFillPrice,
    fees_usd: o.feesUsd,
    venue_order_id: o.venueOrderId,
    target_id: o.targetId,
    model: o.model,
    reduce_only: o.reduceOnly,
    probe: o.probe,
    adopted: o.adopted,
    reason: o.reason,
    created_at: o.createdAt,
    updated_at: o.updatedAt,
    submitted_at: o.submittedAt || null,
    accepted_at: o.acceptedAt || null,
    filled_at: o.filledAt || null,
  };
}

/**
 * Orders newest first from the narrowest index the query names (state, then
 * symbol, then model, else all), the other filters applied to what it lists;
 * `next` is the cursor of the following page (null at the end). The cursor
 * carries the last order's score and id, so orders created in the same
 * millisecond are neither skipped nor repeated across pages.
 */
export async function listOrders(redis: RedisClient, shards: Shards, q: OrderQuery): Promise<{ orders: Record<string, unknown>[]; next: string | null }> {
  // With write shards: a symbol's own shard, else every shard's newest merged by the index's score (the cursor is the same score and id in each).
  const lists = await Promise.all((q.symbol ? [shards.keysOf(q.symbol)] : shards.keys).map((keys) => listShardOrders(redis, keys, q)));
  const merged = lists
    .flat()
    .sort((a, b) => b.score - a.score || (b.order.clientOrderId < a.order.clientOrderId ? -1 : b.order.clientOrderId > a.order.clientOrderId ? 1 : 0))
    .slice(0, q.limit);
  const last = merged.at(-1);
  const more = merged.length >= q.limit && last !== undefined;
  return { orders: merged.map((o) => orderView(o.order)), next: more ? `${last.score}_${last.order.clientOrderId}` : null };
}

async function listShardOrders(redis: RedisClient, keys: RedisKeys, q: OrderQuery): Promise<{ order: Order; score: number }[]> {
  const index = q.state ? keys.ordersByState(q.state) : q.symbol ? keys.ordersBySymbol(q.symbol) : q.model ? keys.ordersByModel(q.model) : keys.orderIndex;
  let cursor = q.before === undefined ? undefined : parseCursor(q.before);
  const out: { order: Order; score: number }[] = [];
  const page = Math.max(50, q.limit);
  let exhausted = false;
  // Read in pages until `limit` orders pass the filters (bounded: 20 pages).
  for (let n = 0; n < 20 && out.length < q.limit && !exhausted; n++) {
    const raw = await redis.zrevrangebyscore(index, cursor === undefined ? '+inf' : cursor.score, '-inf', 'WITHSCORES', 'LIMIT', 0, page + 1);
    const pairs: { id: string; score: number }[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) pairs.push({ id: raw[i]!, score: Number(raw[i + 1]) });
    // Same score: members come in reverse lexical order; the cursor's id and those before it were on the last page.
    const fresh = cursor === undefined ? pairs : pairs.filter((p) => p.score < cursor!.score || p.id < cursor!.id);
    exhausted = pairs.length <= page;
    if (fresh.length === 0) break;
    const orders = await Promise.all(fresh.map(async (p) => ({ order: orderFromFields(await redis.hgetall(keys.order(p.id))), score: p.score, id: p.id })));
    for (const o of orders) {
      cursor = { score: o.score, id: o.id };
      if (!o.order) continue;
      if ((q.symbol && o.order.symbol !== q.symbol) || (q.model && o.order.model !== q.model) || (q.state && o.order.state !== q.state)) continue;
      out.push({ order: o.order, score: o.score });
      if (out.length >= q.limit) break;
    }
  }
  return out;
}

function parseCursor(s: string): { score: number; id: string } | undefined {
  const at = s.indexOf('_');
  if (at <= 0) return undefined;
  const score = Number(s.slice(0, at));
  return Number.isFinite(score) ? { score, id: s.slice(at + 1) } : undefined;
}

/** One order and its transitions (from order_events, newest 1,000 scanned). */
export async function readOrder(redis: RedisClient, shards: Shards, id: string): Promise<{ order: Record<string, unknown>; events: Record<string, string>[] } | undefined> {
  for (const keys of shards.keys) {
    const o = orderFromFields(await redis.hgetall(keys.order(id)));
    if (o) return { order: orderView(o), events: await orderEventsOf(redis, keys, id) };
  }
  return undefined;
}

async function orderEventsOf(redis: RedisClient, keys: RedisKeys, id: string): Promise<Record<string, string>[]> {
  const recent = (await redis.xrevrange(keys.orderEvents, '+', '-', 'COUNT', 1_000)) as [string, string[]][];
  return recent
    .map(([eid, f]): Record<string, string> => ({ id: eid, ...fieldsFromArray(f) }))
    .filter((e) => e['client_order_id'] === id)
    .reverse();
}

export async function readBlend(redis: RedisClient, shards: Shards, symbol: string): Promise<unknown> {
  const raw = await redis.get(shards.keysOf(symbol).edgeBlended(symbol));
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** Fields each shard's fills add to (summed across write shards); the book's marks (equity, drawdown) are the first shard's. */
const SUMMED_DAILY = ['trades', 'winning_trades', 'losing_trades', 'realized_pnl'];

export async function readDailyStats(redis: RedisClient, shards: Shards, day: string): Promise<Record<string, string | number>> {
  const [first, ...rest] = await Promise.all(shards.keys.map((k) => redis.hgetall(k.dailyStats(day))));
  const h: Record<string, string> = { ...first };
  for (const other of rest) for (const f of SUMMED_DAILY) if (other[f] !== undefined) h[f] = String(Number(h[f] ?? 0) + Number(other[f]));
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Number.isFinite(Number(v)) && v.trim() !== '' ? Number(v) : v]));
}

export async function readSwitchLog(redis: RedisClient, shards: Shards, count: number): Promise<Record<string, string>[]> {
  const perShard = await Promise.all(shards.keys.map((k) => redis.xrevrange(k.modelSwitchLog, '+', '-', 'COUNT', count) as Promise<[string, string[]][]>));
  const rows =
    perShard.length === 1
      ? perShard[0]!
      : perShard
          .flat()
          .sort(([a], [b]) => compareStreamIds(b, a))
          .slice(0, count);
  return rows.map(([id, f]) => ({ id, ...fieldsFromArray(f) }));
}
