/**
 * The order management system's store: every order in Redis under its
 * client order id (hash `exec:order:<id>`), indexed by state, symbol and
 * model (sorted sets: listed without scanning the keyspace), every
 * transition appended to `order_events`, what the venue did to it to
 * `exec_reports`.
 *
 * `apply` is the one way an order moves: it reads the order, the position
 * and the symbol's working quantity, decides with the lifecycle table
 * (domain/order-lifecycle.ts), and commits the order, its indexes, the
 * position and the day's figures (a fill), the working quantity and the
 * event log together with lua/order-apply-n.lua, only if none of them
 * changed since it read them and the fill's trade id is new; else it reads
 * again. So a duplicate or out-of-order report changes nothing (it is
 * counted), and each fill is in the position exactly once, whichever
 * replica, retry or reconciliation delivers it.
 */
import type { Clock } from '../core/clock.ts';
import type { ExecReport } from '../core/messages.ts';
import { encodeExecReport } from '../core/messages.ts';
import { TxRecorder, type TxWriter } from '../core/redis/batch-commit.ts';
import { workingCodec } from '../core/redis/codecs.ts';
import type { RedisClient } from '../core/redis/connect.ts';
import type { RedisKeys } from '../core/redis/keys.ts';
import { luaScript, runLua } from '../core/redis/lua-scripts.ts';
import { tradingDay } from './domain/daily-pnl.ts';
import { applyFill, type PositionState } from './domain/decide-order.ts';
import {
  applyOrderEvent,
  OPEN,
  ORDER_STATES,
  orderFromFields,
  orderToFields,
  TERMINAL,
  workingQty,
  type Ignored,
  type Order,
  type OrderEvent,
  type OrderState,
} from './domain/order-lifecycle.ts';
import { readPosition } from './position.ts';

const ORDER_APPLY = luaScript('order-apply-n.lua');
const MAX_ATTEMPTS = 20;
const DAILY_STATS_TTL_S = 30 * 86_400;
/** The order events stream and the exec reports stream are capped by count. */
export const EVENTS_MAXLEN = 200_000;

export type ApplyOutcome =
  | { kind: 'applied'; order: Order; from: OrderState; fill?: { qty: number; price: number; feeUsd: number }; position: PositionState }
  | { kind: 'ignored'; why: Ignored; detail: string; order: Order }
  | { kind: 'missing' }
  /** The order was not at the version the caller expected (it was amended meanwhile): nothing applied. */
  | { kind: 'changed'; order: Order }
  | { kind: 'unreadable'; reason: string };

export interface StoreDeps {
  redis: RedisClient;
  keys: RedisKeys;
  clock: Clock;
}

type Working = Record<string, number>;

/** A symbol's working hash (client order id → signed quantity left); entries that are not numbers are dropped. */
export function parseWorking(raw: Readonly<Record<string, string>> | undefined): Working {
  const d = workingCodec.safeParse(raw ?? {});
  if (d.success) return d.data;
  return Object.fromEntries(Object.entries(raw ?? {}).flatMap(([k, v]) => (Number.isFinite(Number(v)) ? [[k, Number(v)]] : [])));
}

/** Signed quantity still working for a symbol: the sum of its open orders' remainders. */
export function workingTotal(w: Working): number {
  let sum = 0;
  for (const v of Object.values(w)) sum += v;
  return Math.abs(sum) < 1e-12 ? 0 : sum;
}

/** Append one transition to `order_events` (capped), in the caller's commit: the order, the event, from and to, then `fields`. */
function appendOrderEvent(tx: TxWriter, keys: RedisKeys, clientOrderId: string, event: string, from: string, to: string, fields: readonly (string | number)[]): void {
  tx.xadd(keys.orderEvents, 'MAXLEN', '~', EVENTS_MAXLEN, '*', 'client_order_id', clientOrderId, 'event', event, 'from', from, 'to', to, ...fields);
}

/** The commands that record a new order (NEW): the hash, its indexes, its first event. The caller sets the working quantity. */
export function recordNewOrder(tx: TxWriter, keys: RedisKeys, o: Order): void {
  tx.hset(keys.order(o.clientOrderId), ...Object.entries(orderToFields(o)).flat());
  tx.zadd(keys.orderIndex, o.createdAt, o.clientOrderId);
  tx.zadd(keys.ordersByState(o.state), o.updatedAt, o.clientOrderId);
  tx.zadd(keys.ordersBySymbol(o.symbol), o.createdAt, o.clientOrderId);
  tx.zadd(keys.ordersByModel(o.model || 'none'), o.createdAt, o.clientOrderId);
  appendOrderEvent(tx, keys, o.clientOrderId, o.adopted ? 'OrderAdopted' : 'OrderCreated', '', o.state, [
    'symbol',
    o.symbol,
    'side',
    o.side,
    'qty',
    o.qty,
    'reason',
    o.reason,
    'at',
    o.createdAt,
  ]);
}

/**
 * The working and unsent entries of a new order (the caller's commit): its
 * quantity is working, it is not sent yet, and the symbol's sequence moves.
 */
export function recordWorking(tx: TxWriter, keys: RedisKeys, o: Order, unsent: boolean): void {
  const left = workingQty(o);
  if (left !== 0) tx.hset(keys.working(o.symbol), o.clientOrderId, left);
  if (unsent) tx.hset(keys.unsent(o.symbol), o.clientOrderId, 1);
  tx.incr(keys.orderSeq(o.symbol));
}

/**
 * Cancel, in the caller's commit, a symbol's orders that were recorded and
 * not yet sent (NEW), because a newer target replaces them: targets are
 * absolute, so the newest one alone decides what to send. The caller has
 * read the unsent list under compare-and-set (it watches the key, which
 * every order leaving NEW changes), so each of them is still NEW when this
 * commits; bumping their version makes a worker's concurrent move fail and
 * read again. Returns the working map without them.
 */
export function supersedeUnsent(
  tx: TxWriter,
  keys: RedisKeys,
  symbol: string,
  ids: readonly string[],
  working: Readonly<Record<string, number>>,
  reason: string,
  at: number,
): Record<string, number> {
  const rest = { ...working };
  for (const id of ids) {
    const signed = rest[id] ?? 0;
    delete rest[id];
    tx.hset(keys.order(id), 'state', 'CANCELLED', 'reason', reason, 'updated_at', at);
    tx.hincrby(keys.order(id), 'version', 1);
    tx.zrem(keys.ordersByState('NEW'), id);
    tx.zadd(keys.ordersByState('CANCELLED'), at, id);
    appendOrderEvent(tx, keys, id, 'OrderCancelled', 'NEW', 'CANCELLED', ['filled_qty', 0, 'qty', Math.abs(signed), 'reason', reason, 'at', at]);
    tx.call('HDEL', keys.working(symbol), id);
    tx.call('HDEL', keys.unsent(symbol), id);
  }
  if (ids.length > 0) tx.incr(keys.orderSeq(symbol));
  return rest;
}

/**
 * Amend, in the caller's commit, an order recorded and not yet sent (NEW)
 * to what a newer target decided (the lifecycle's OrderAmended; under the
 * same compare-and-set as supersedeUnsent). Its job stays queued: the worker
 * sends the order as it is when it takes it.
 */
export function amendUnsent(
  tx: TxWriter,
  keys: RedisKeys,
  symbol: string,
  id: string,
  f: Pick<Order, 'side' | 'type' | 'qty' | 'limitPrice' | 'targetId' | 'model' | 'reduceOnly' | 'probe' | 'reason'>,
  at: number,
): void {
  tx.hset(
    keys.order(id),
    'side',
    f.side,
    'type',
    f.type,
    'qty',
    f.qty,
    'limit_price',
    f.limitPrice ?? '',
    'target_id',
    f.targetId,
    'model',
    f.model,
    'reduce_only',
    f.reduceOnly ? '1' : '0',
    'probe',
    f.probe ? '1' : '0',
    'reason',
    f.reason,
    'updated_at',
    at,
  );
  tx.hincrby(keys.order(id), 'version', 1);
  tx.zadd(keys.ordersByState('NEW'), at, id);
  tx.hset(keys.working(symbol), id, f.side === 'BUY' ? f.qty : -f.qty);
  tx.incr(keys.orderSeq(symbol));
  appendOrderEvent(tx, keys, id, 'OrderAmended', 'NEW', 'NEW', ['side', f.side, 'qty', f.qty, 'target_id', f.targetId, 'reason', f.reason, 'at', at]);
}

export class OrderStore {
  constructor(private readonly d: StoreDeps) {}

  /** How many replicas hold every write this store's connection has made, waiting at most `ms` for `replicas` of them (WAIT). */
  async replicated(replicas: number, ms: number): Promise<number> {
    return Number(await this.d.redis.call('WAIT', replicas, ms));
  }

  async get(clientOrderId: string): Promise<Order | undefined> {
    return orderFromFields(await this.d.redis.hgetall(this.d.keys.order(clientOrderId)));
  }

  /** Client order ids in a state (oldest update first), up to `limit`. */
  async idsInState(state: OrderState, limit = 1_000, olderThan = Infinity): Promise<string[]> {
    return this.d.redis.zrangebyscore(this.d.keys.ordersByState(state), '-inf', Number.isFinite(olderThan) ? `(${olderThan}` : '+inf', 'LIMIT', 0, limit);
  }

  /** The open orders (NEW, SUBMITTED, ACCEPTED, PARTIALLY_FILLED), optionally of one symbol. */
  async open(symbol?: string): Promise<Order[]> {
    const ids = (await Promise.all([...OPEN].map((s) => this.idsInState(s, 10_000)))).flat();
    const orders = (await Promise.all(ids.map((id) => this.get(id)))).filter((o): o is Order => o !== undefined && OPEN.has(o.state));
    return symbol ? orders.filter((o) => o.symbol === symbol) : orders;
  }

  /** Record an order the OMS did not know (reconciliation), in the state the venue reports. */
  async adopt(o: Order): Promise<boolean> {
    const { keys } = this.d;
    const tx = new TxRecorder();
    recordNewOrder(tx, keys, { ...o, adopted: true });
    recordWorking(tx, keys, o, false);
    const res = await this.run([], [], keys.order(o.clientOrderId), keys.orderFills(o.clientOrderId), '', '', tx.commands);
    return res[0] === 1;
  }

  /**
   * Apply one event to an order. `report` carries what the exec report needs
   * that the order does not (the tick the target came from).
   */
  async apply(clientOrderId: string, event: OrderEvent, report: { tickTs?: number; expectVersion?: number } = {}): Promise<ApplyOutcome> {
    if (event.type !== 'OrderFilled') return this.applyNow(clientOrderId, event, report);
    // Fills rewrite their symbol's position (compare-and-set): one at a time per symbol in this process,
    // so concurrent sends do not keep invalidating each other (other replicas' fills still just retry).
    const symbol = (await this.d.redis.hget(this.d.keys.order(clientOrderId), 'symbol')) ?? '';
    const before = this.fillQueues.get(symbol) ?? Promise.resolve();
    const mine = before.then(() => this.applyNow(clientOrderId, event, report));
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.fillQueues.set(symbol, settled);
    void settled.then(() => {
      if (this.fillQueues.get(symbol) === settled) this.fillQueues.delete(symbol);
    });
    return mine;
  }

  private readonly fillQueues = new Map<string, Promise<void>>();

  private async applyNow(clientOrderId: string, event: OrderEvent, report: { tickTs?: number; expectVersion?: number }): Promise<ApplyOutcome> {
    const { redis, keys } = this.d;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const h = await redis.hgetall(keys.order(clientOrderId));
      const order = orderFromFields(h);
      if (!order) return { kind: 'missing' };
      if (report.expectVersion !== undefined && order.version !== report.expectVersion) return { kind: 'changed', order };
      const tradeId = event.type === 'OrderFilled' ? event.tradeId : '';
      const positionKey = keys.position(order.symbol);
      const [known, rawPosition] = await Promise.all([tradeId ? redis.sismember(keys.orderFills(clientOrderId), tradeId) : Promise.resolve(0), redis.get(positionKey)]);
      const decided = applyOrderEvent(order, event, () => known === 1);
      if (decided.kind === 'ignored') return { ...decided, order };
      const stored = readPosition(rawPosition, positionKey);
      if (!stored.ok) return { kind: 'unreadable', reason: stored.reason };
      const next = decided.order;
      const tx = new TxRecorder();
      tx.hset(keys.order(clientOrderId), ...Object.entries(orderToFields(next)).flat());
      if (next.state !== order.state) {
        tx.zrem(keys.ordersByState(order.state), clientOrderId);
        tx.zadd(keys.ordersByState(next.state), next.updatedAt, clientOrderId);
      }
      appendOrderEvent(tx, keys, clientOrderId, event.type, order.state, next.state, [
        'filled_qty',
        next.filledQty,
        ...(decided.fill ? ['fill_qty', decided.fill.qty, 'fill_price', decided.fill.price, 'fee_usd', decided.fill.feeUsd, 'trade_id', tradeId] : []),
        'reason',
        'reason' in event ? event.reason : '',
        'at',
        event.at,
      ]);
      // Working quantity: what is left of this order while it is open (its own field; no other order's is touched).
      const before = workingQty(order);
      const left = workingQty(next);
      if (left !== before) {
        if (left === 0) tx.call('HDEL', keys.working(order.symbol), clientOrderId);
        else tx.hset(keys.working(order.symbol), clientOrderId, left);
      }
      // Leaving NEW: no longer one a newer target may amend.
      const leavesNew = order.state === 'NEW' && next.state !== 'NEW';
      if (leavesNew) tx.call('HDEL', keys.unsent(order.symbol), clientOrderId);
      if (left !== before || leavesNew) tx.incr(keys.orderSeq(order.symbol));
      let position = stored.position;
      if (decided.fill) {
        const f = decided.fill;
        const after = applyFill(position, order.side, f.qty, f.price);
        const realized = after.realizedPnl - position.realizedPnl;
        position = { ...after, realizedPnl: after.realizedPnl - f.feeUsd, feesUsd: (position.feesUsd ?? 0) + f.feeUsd };
        tx.set(
          positionKey,
          JSON.stringify({
            symbol: order.symbol,
            qty: position.qty,
            avg_price: position.avgPrice,
            realized_pnl: position.realizedPnl,
            fees_usd: position.feesUsd,
            updated_at: event.at,
          }),
        );
        tx.sadd(keys.orderFills(clientOrderId), tradeId);
        const daily = keys.dailyStats(tradingDay(event.at));
        tx.hincrby(daily, 'trades', 1);
        tx.hincrbyfloat(daily, 'realized_pnl', realized - f.feeUsd);
        tx.hincrbyfloat(daily, 'fees_usd', f.feeUsd);
        if (realized !== 0) tx.hincrby(daily, realized > 0 ? 'winning_trades' : 'losing_trades', 1);
        tx.expire(daily, DAILY_STATS_TTL_S);
      }
      if (TERMINAL.has(next.state)) tx.expire(keys.orderFills(clientOrderId), 7 * 86_400);
      const status = reportStatus(event, next);
      if (status) {
        const r: ExecReport = {
          client_order_id: clientOrderId,
          symbol: order.symbol,
          side: order.side,
          qty: decided.fill ? decided.fill.qty : next.qty - next.filledQty,
          price: decided.fill ? decided.fill.price : (order.limitPrice ?? next.avgFillPrice),
          status,
          reason: 'reason' in event ? event.reason : '',
          position_qty: position.qty,
          latency_ms: Math.max(0, event.at - order.createdAt),
          tick_ts: report.tickTs ?? order.createdAt,
          ts: event.at,
        };
        tx.xadd(keys.execReports, 'MAXLEN', '~', EVENTS_MAXLEN, '*', ...encodeExecReport(r));
      }
      // Only a fill reads and rewrites the position: only then is the position compared.
      const res = await this.run(
        decided.fill ? [positionKey] : [],
        decided.fill ? [rawPosition] : [],
        keys.order(clientOrderId),
        keys.orderFills(clientOrderId),
        String(order.version),
        tradeId,
        tx.commands,
      );
      if (res[0] === 1) return { kind: 'applied', order: next, from: order.state, ...(decided.fill ? { fill: decided.fill } : {}), position };
      if (res[0] === 4) return { kind: 'ignored', why: 'duplicate_fill', detail: `trade ${tradeId} already applied`, order };
      // Something moved since the read (another report, a fill on the same symbol): decide again.
    }
    throw new Error(`order ${clientOrderId}: kept conflicting after ${MAX_ATTEMPTS} attempts`);
  }

  private async run(
    stateKeys: string[],
    expected: (string | null)[],
    orderKey: string,
    fillsKey: string,
    version: string,
    tradeId: string,
    commands: readonly string[][],
  ): Promise<unknown[]> {
    const args: string[] = [expected.map((v) => (v === null ? '0' : '1')).join(''), ...expected.map((v) => v ?? ''), version, tradeId, String(commands.length)];
    for (const c of commands) args.push(String(c.length), ...c);
    return (await runLua(this.d.redis, ORDER_APPLY, [...stateKeys, orderKey, fillsKey], args)) as unknown[];
  }
}

function reportStatus(e: OrderEvent, next: Order): ExecReport['status'] | undefined {
  switch (e.type) {
    case 'OrderSubmitted':
      return undefined;
    case 'OrderAccepted':
      return next.state === 'ACCEPTED' ? 'ACCEPTED' : undefined;
    case 'OrderFilled':
      return next.state === 'FILLED' ? 'FILLED' : 'PARTIALLY_FILLED';
    case 'OrderCancelled':
      return 'CANCELLED';
    case 'OrderRejected':
      return 'REJECTED';
    case 'OrderExpired':
      return 'EXPIRED';
  }
}

export { ORDER_STATES };
