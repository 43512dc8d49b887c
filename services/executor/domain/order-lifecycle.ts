/**
 * An order's life, as data: one transition table from the state an order
 * is in and the event that happened to it to the state it moves to.
 *
 *   NEW ──Submitted──▶ SUBMITTED ──Accepted──▶ ACCEPTED
 *    │                   │  │                    │
 *    │                   │  └──Filled (part)──▶ PARTIALLY_FILLED ──Filled (rest)──▶ FILLED
 *    │                   └─────Filled (all)───────────────────────────────────────▶ FILLED
 *    └──Rejected / Cancelled / Expired (from any open state) ──▶ REJECTED / CANCELLED / EXPIRED
 *
 * Terminal states (FILLED, CANCELLED, REJECTED, EXPIRED) never move again.
 * A fill carries the venue's trade id: one already applied is a duplicate
 * and changes nothing; a fill never takes the filled quantity past the
 * order's quantity. A report that arrives out of order (an Accepted after a
 * fill) changes nothing either. Every "changes nothing" says why, so it can
 * be counted. Pure: an order and an event in, the next order or a refusal out.
 */
import type { Side } from '../../core/messages.ts';

export type OrderState = 'NEW' | 'SUBMITTED' | 'ACCEPTED' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELLED' | 'REJECTED' | 'EXPIRED';
export const ORDER_STATES: readonly OrderState[] = ['NEW', 'SUBMITTED', 'ACCEPTED', 'PARTIALLY_FILLED', 'FILLED', 'CANCELLED', 'REJECTED', 'EXPIRED'];
export const TERMINAL: ReadonlySet<OrderState> = new Set(['FILLED', 'CANCELLED', 'REJECTED', 'EXPIRED']);
export const OPEN: ReadonlySet<OrderState> = new Set(['NEW', 'SUBMITTED', 'ACCEPTED', 'PARTIALLY_FILLED']);

export type OrderType = 'market' | 'limit';

export interface Order {
  clientOrderId: string;
  symbol: string;
  side: Side;
  type: OrderType;
  qty: number;
  /** Limit price (limit orders). */
  limitPrice: number | null;
  state: OrderState;
  filledQty: number;
  avgFillPrice: number;
  feesUsd: number;
  venueOrderId: string;
  /** The target (order_intents id) and model it serves. */
  targetId: string;
  model: string;
  /** Only reduces a position (OPEN breaker, REDUCING): the worker re-checks before sending. */
  reduceOnly: boolean;
  /** A HALF_OPEN test order. */
  probe: boolean;
  reason: string;
  createdAt: number;
  updatedAt: number;
  submittedAt: number;
  acceptedAt: number;
  filledAt: number;
  /** Adopted from the venue by reconciliation (the OMS did not know it). */
  adopted: boolean;
  /** Bumped on every transition: the compare-and-set version. */
  version: number;
}

export type OrderEvent =
  | { type: 'OrderSubmitted'; at: number }
  /** A newer target decided the order again before it was sent (NEW only): what it is to be now. */
  | ({ type: 'OrderAmended'; at: number; orderType: OrderType } & Pick<Order, 'side' | 'qty' | 'limitPrice' | 'targetId' | 'model' | 'reduceOnly' | 'probe' | 'reason'>)
  /** `qty`: the quantity the venue took, when it rounded the order's (to its lot size): the venue's is the order's from then on. */
  | { type: 'OrderAccepted'; venueOrderId: string; at: number; qty?: number }
  | { type: 'OrderFilled'; tradeId: string; qty: number; price: number; feeUsd: number; at: number }
  | { type: 'OrderCancelled'; reason: string; at: number }
  | { type: 'OrderRejected'; reason: string; at: number }
  | { type: 'OrderExpired'; reason: string; at: number };

export type Ignored = 'after_terminal' | 'duplicate_fill' | 'out_of_order' | 'overfill';
export type Applied =
  { kind: 'applied'; order: Order; from: OrderState; fill?: { qty: number; price: number; feeUsd: number } } | { kind: 'ignored'; why: Ignored; detail: string };

type EventType = OrderEvent['type'];
const FILL_TO: readonly OrderState[] = ['PARTIALLY_FILLED', 'FILLED'];
const ENDS = { OrderCancelled: ['CANCELLED'], OrderRejected: ['REJECTED'], OrderExpired: ['EXPIRED'] } as const;

/**
 * The transition table: for each state, the events that move it and the
 * states they can lead to (a fill leads to PARTIALLY_FILLED or FILLED by
 * quantity; a repeated acknowledgement stays where it is). An event not
 * listed for a state changes nothing (counted as out of order, or after a
 * terminal state).
 */
export const ORDER_TRANSITIONS: Readonly<Record<OrderState, Readonly<Partial<Record<EventType, readonly OrderState[]>>>>> = {
  NEW: { OrderAmended: ['NEW'], OrderSubmitted: ['SUBMITTED'], OrderAccepted: ['ACCEPTED'], OrderFilled: FILL_TO, ...ENDS },
  SUBMITTED: { OrderAccepted: ['ACCEPTED'], OrderFilled: FILL_TO, ...ENDS },
  ACCEPTED: { OrderAccepted: ['ACCEPTED'], OrderFilled: FILL_TO, ...ENDS },
  PARTIALLY_FILLED: { OrderAccepted: ['PARTIALLY_FILLED'], OrderFilled: FILL_TO, ...ENDS },
  FILLED: {},
  CANCELLED: {},
  REJECTED: {},
  EXPIRED: {},
};

/** Quantities equal to this relative tolerance are equal (float noise from venues). */
const EPS = 1e-9;

function moved(order: Order, to: OrderState, at: number, patch: Partial<Order> = {}): Order {
  return { ...order, ...patch, state: to, updatedAt: Math.max(order.updatedAt, at), version: order.version + 1 };
}

/**
 * Apply one event. `knownFill(tradeId)` says whether that trade was already
 * applied to this order (the store keeps the set).
 */
export function applyOrderEvent(order: Order, e: OrderEvent, knownFill: (tradeId: string) => boolean): Applied {
  const from = order.state;
  if (TERMINAL.has(from)) return { kind: 'ignored', why: 'after_terminal', detail: `${e.type} after ${from}` };
  if (!ORDER_TRANSITIONS[from][e.type]) return { kind: 'ignored', why: 'out_of_order', detail: `${e.type} while ${from}` };
  switch (e.type) {
    case 'OrderAmended': {
      const { type: _event, at, orderType, ...fields } = e;
      return { kind: 'applied', order: { ...order, ...fields, type: orderType, updatedAt: Math.max(order.updatedAt, at), version: order.version + 1 }, from };
    }
    case 'OrderSubmitted':
      return { kind: 'applied', order: moved(order, 'SUBMITTED', e.at, { submittedAt: e.at }), from };
    case 'OrderAccepted': {
      // The venue may take less than was asked (rounded to its lot size), never less than is filled.
      const qty = e.qty !== undefined && e.qty > 0 && e.qty < order.qty * (1 - EPS) ? Math.max(e.qty, order.filledQty) : order.qty;
      if (from === 'ACCEPTED' || from === 'PARTIALLY_FILLED') {
        // A late or repeated acknowledgement: keep the state, learn the venue id (or its quantity) if it was missing.
        const learns = (order.venueOrderId === '' && e.venueOrderId !== '') || qty !== order.qty;
        return learns
          ? { kind: 'applied', order: { ...order, qty, venueOrderId: order.venueOrderId || e.venueOrderId, version: order.version + 1 }, from }
          : { kind: 'ignored', why: 'out_of_order', detail: `accepted while ${from}` };
      }
      return {
        kind: 'applied',
        order: moved(order, 'ACCEPTED', e.at, { qty, venueOrderId: e.venueOrderId || order.venueOrderId, acceptedAt: e.at, submittedAt: order.submittedAt || e.at }),
        from,
      };
    }
    case 'OrderFilled': {
      if (knownFill(e.tradeId)) return { kind: 'ignored', why: 'duplicate_fill', detail: `trade ${e.tradeId} already applied` };
      if (!(e.qty > 0) || !(e.price > 0) || !Number.isFinite(e.qty) || !Number.isFinite(e.price))
        return { kind: 'ignored', why: 'out_of_order', detail: `fill ${e.tradeId} without a quantity or price` };
      const room = order.qty - order.filledQty;
      if (e.qty > room * (1 + EPS) + EPS) return { kind: 'ignored', why: 'overfill', detail: `fill of ${e.qty} with ${room} left on ${order.qty}` };
      const qty = Math.min(e.qty, room);
      const filledQty = order.filledQty + qty;
      const avgFillPrice = (order.avgFillPrice * order.filledQty + e.price * qty) / filledQty;
      const done = filledQty >= order.qty * (1 - EPS);
      const next = moved(order, done ? 'FILLED' : 'PARTIALLY_FILLED', e.at, {
        filledQty: done ? order.qty : filledQty,
        avgFillPrice,
        feesUsd: order.feesUsd + e.feeUsd,
        submittedAt: order.submittedAt || e.at,
        ...(done ? { filledAt: e.at } : {}),
      });
      return { kind: 'applied', order: next, from, fill: { qty, price: e.price, feeUsd: e.feeUsd } };
    }
    case 'OrderCancelled':
      return { kind: 'applied', order: moved(order, 'CANCELLED', e.at, { reason: e.reason }), from };
    case 'OrderRejected':
      return { kind: 'applied', order: moved(order, 'REJECTED', e.at, { reason: e.reason }), from };
    case 'OrderExpired':
      return { kind: 'applied', order: moved(order, 'EXPIRED', e.at, { reason: e.reason }), from };
  }
}

export function newOrder(
  o: Pick<Order, 'clientOrderId' | 'symbol' | 'side' | 'type' | 'qty' | 'limitPrice' | 'targetId' | 'model' | 'reduceOnly' | 'probe'> & { at: number; reason?: string },
): Order {
  const { at, reason, ...fields } = o;
  return {
    ...fields,
    state: 'NEW',
    filledQty: 0,
    avgFillPrice: 0,
    feesUsd: 0,
    venueOrderId: '',
    reason: reason ?? '',
    createdAt: at,
    updatedAt: at,
    submittedAt: 0,
    acceptedAt: 0,
    filledAt: 0,
    adopted: false,
    version: 1,
  };
}

/** Signed quantity still working at the venue (buy positive). */
export function workingQty(o: Order): number {
  if (!OPEN.has(o.state)) return 0;
  const left = Math.max(0, o.qty - o.filledQty);
  return o.side === 'BUY' ? left : -left;
}

/** The order as hash fields, and back (the store's encoding: flat, readable with redis-cli HGETALL). */
export function orderToFields(o: Order): Record<string, string> {
  return {
    client_order_id: o.clientOrderId,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    qty: String(o.qty),
    limit_price: o.limitPrice === null ? '' : String(o.limitPrice),
    state: o.state,
    filled_qty: String(o.filledQty),
    avg_fill_price: String(o.avgFillPrice),
    fees_usd: String(o.feesUsd),
    venue_order_id: o.venueOrderId,
    target_id: o.targetId,
    model: o.model,
    reduce_only: o.reduceOnly ? '1' : '0',
    probe: o.probe ? '1' : '0',
    reason: o.reason,
    created_at: String(o.createdAt),
    updated_at: String(o.updatedAt),
    submitted_at: String(o.submittedAt),
    accepted_at: String(o.acceptedAt),
    filled_at: String(o.filledAt),
    adopted: o.adopted ? '1' : '0',
    version: String(o.version),
  };
}

export function orderFromFields(h: Readonly<Record<string, string>>): Order | undefined {
  const n = (k: string): number => Number(h[k] ?? 0);
  const state = h['state'] as OrderState | undefined;
  if (!h['client_order_id'] || !state || !ORDER_STATES.includes(state) || (h['side'] !== 'BUY' && h['side'] !== 'SELL')) return undefined;
  const qty = n('qty');
  if (!(qty > 0)) return undefined;
  return {
    clientOrderId: h['client_order_id'],
    symbol: h['symbol'] ?? '',
    side: h['side'],
    type: h['type'] === 'limit' ? 'limit' : 'market',
    qty,
    limitPrice: h['limit_price'] ? Number(h['limit_price']) : null,
    state,
    filledQty: n('filled_qty'),
    avgFillPrice: n('avg_fill_price'),
    feesUsd: n('fees_usd'),
    venueOrderId: h['venue_order_id'] ?? '',
    targetId: h['target_id'] ?? '',
    model: h['model'] ?? '',
    reduceOnly: h['reduce_only'] === '1',
    probe: h['probe'] === '1',
    reason: h['reason'] ?? '',
    createdAt: n('created_at'),
    updatedAt: n('updated_at'),
    submittedAt: n('submitted_at'),
    acceptedAt: n('accepted_at'),
    filledAt: n('filled_at'),
    adopted: h['adopted'] === '1',
    version: n('version'),
  };
}
