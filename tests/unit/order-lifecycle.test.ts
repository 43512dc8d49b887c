import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UNKNOWN_CONTROL, controlsChangedAt, type ControlSnapshot } from '../../services/core/domain/control-state.ts';
import { roundToLot } from '../../services/executor/domain/decide-order.ts';
import {
  ORDER_STATES,
  ORDER_TRANSITIONS,
  TERMINAL,
  applyOrderEvent,
  newOrder,
  orderFromFields,
  orderToFields,
  workingQty,
  type Order,
  type OrderEvent,
} from '../../services/executor/domain/order-lifecycle.ts';
import { decideResting, decideSubmit, seededUnit, type PaperParams } from '../../services/executor/domain/paper-fills.ts';
import { sendBackoff } from '../../services/executor/venue-worker.ts';
import { VenueError } from '../../services/executor/venue/venue.ts';

const order = (patch: Partial<Order> = {}): Order => ({
  ...newOrder({
    clientOrderId: 'T1-0',
    symbol: 'BTC-USD',
    side: 'BUY',
    type: 'market',
    qty: 1,
    limitPrice: null,
    targetId: '1-0',
    model: 'obi',
    reduceOnly: false,
    probe: false,
    at: 1_000,
    reason: '',
  }),
  ...patch,
});
const none = (): boolean => false;
const fill = (tradeId: string, qty: number, price = 100, at = 2_000): OrderEvent => ({ type: 'OrderFilled', tradeId, qty, price, feeUsd: qty * price * 0.0004, at });

describe('the order lifecycle table', () => {
  it('moves NEW → SUBMITTED → ACCEPTED → PARTIALLY_FILLED → FILLED, stamping each step', () => {
    let o = order();
    const step = (e: OrderEvent): Order => {
      const r = applyOrderEvent(o, e, none);
      if (r.kind !== 'applied') throw new Error(r.detail);
      return r.order;
    };
    o = step({ type: 'OrderSubmitted', at: 1_100 });
    expect(o).toMatchObject({ state: 'SUBMITTED', submittedAt: 1_100, version: 2 });
    o = step({ type: 'OrderAccepted', venueOrderId: 'V1', at: 1_200 });
    expect(o).toMatchObject({ state: 'ACCEPTED', venueOrderId: 'V1', acceptedAt: 1_200 });
    o = step(fill('a', 0.25, 100, 1_300));
    expect(o).toMatchObject({ state: 'PARTIALLY_FILLED', filledQty: 0.25, avgFillPrice: 100 });
    o = step(fill('b', 0.75, 104, 1_400));
    expect(o).toMatchObject({ state: 'FILLED', filledQty: 1, avgFillPrice: 103, filledAt: 1_400, version: 5 });
    expect(o.feesUsd).toBeCloseTo(0.25 * 100 * 0.0004 + 0.75 * 104 * 0.0004, 12);
  });

  it('lists no event for a terminal state, and every open state can end every way', () => {
    for (const s of TERMINAL) expect(ORDER_TRANSITIONS[s]).toEqual({});
    for (const s of ['NEW', 'SUBMITTED', 'ACCEPTED', 'PARTIALLY_FILLED'] as const) {
      expect(ORDER_TRANSITIONS[s]).toMatchObject({
        OrderCancelled: ['CANCELLED'],
        OrderRejected: ['REJECTED'],
        OrderExpired: ['EXPIRED'],
        OrderFilled: ['PARTIALLY_FILLED', 'FILLED'],
      });
    }
    expect(ORDER_TRANSITIONS.SUBMITTED.OrderSubmitted).toBeUndefined();
  });

  it('never moves a terminal order, and says why', () => {
    for (const state of TERMINAL) {
      const r = applyOrderEvent(order({ state }), fill('x', 0.1), none);
      expect(r).toMatchObject({ kind: 'ignored', why: 'after_terminal' });
    }
  });

  it('drops a duplicate fill, an overfill and an out-of-order report', () => {
    expect(applyOrderEvent(order({ state: 'ACCEPTED' }), fill('a', 0.5), (t) => t === 'a')).toMatchObject({ kind: 'ignored', why: 'duplicate_fill' });
    expect(applyOrderEvent(order({ state: 'PARTIALLY_FILLED', filledQty: 0.8 }), fill('b', 0.5), none)).toMatchObject({ kind: 'ignored', why: 'overfill' });
    expect(applyOrderEvent(order({ state: 'SUBMITTED' }), { type: 'OrderSubmitted', at: 5 }, none)).toMatchObject({ kind: 'ignored', why: 'out_of_order' });
    expect(applyOrderEvent(order({ state: 'ACCEPTED', venueOrderId: 'V1' }), { type: 'OrderAccepted', venueOrderId: 'V1', at: 5 }, none)).toMatchObject({
      kind: 'ignored',
      why: 'out_of_order',
    });
  });

  it("takes the venue's rounded quantity on acceptance, never below what is filled", () => {
    const r = applyOrderEvent(order({ state: 'SUBMITTED', qty: 0.123456 }), { type: 'OrderAccepted', venueOrderId: 'V', at: 3, qty: 0.12345 }, none);
    expect(r).toMatchObject({ kind: 'applied', order: { qty: 0.12345, state: 'ACCEPTED' } });
    const late = applyOrderEvent(
      order({ state: 'PARTIALLY_FILLED', qty: 1, filledQty: 0.7, venueOrderId: 'V' }),
      { type: 'OrderAccepted', venueOrderId: 'V', at: 3, qty: 0.5 },
      none,
    );
    expect(late).toMatchObject({ kind: 'applied', order: { qty: 0.7 } });
  });

  it('a newer target amends an order not yet sent, and only then', () => {
    const amend: OrderEvent = {
      type: 'OrderAmended',
      at: 1_500,
      side: 'SELL',
      orderType: 'limit',
      qty: 2,
      limitPrice: 99,
      targetId: '2-0',
      model: 'momentum',
      reduceOnly: true,
      probe: false,
      reason: 'trading REDUCING',
    };
    const r = applyOrderEvent(order(), amend, none);
    expect(r).toMatchObject({
      kind: 'applied',
      order: { state: 'NEW', side: 'SELL', type: 'limit', qty: 2, limitPrice: 99, targetId: '2-0', model: 'momentum', updatedAt: 1_500, createdAt: 1_000, version: 2 },
    });
    expect(applyOrderEvent(order({ state: 'SUBMITTED' }), amend, none)).toMatchObject({ kind: 'ignored', why: 'out_of_order' });
  });

  it('reads back what it stores', () => {
    const o = order({ state: 'PARTIALLY_FILLED', filledQty: 0.3, avgFillPrice: 99.5, feesUsd: 0.01, venueOrderId: 'V9', limitPrice: 98, type: 'limit', probe: true });
    expect(orderFromFields(orderToFields(o))).toEqual(o);
    expect(workingQty(o)).toBeCloseTo(0.7, 12);
    expect(workingQty({ ...o, side: 'SELL' })).toBeCloseTo(-0.7, 12);
    expect(workingQty({ ...o, state: 'CANCELLED' })).toBe(0);
  });
});

describe('the lifecycle under random venue reports (property)', () => {
  const event = fc.oneof(
    fc.constant<OrderEvent>({ type: 'OrderSubmitted', at: 1 }),
    fc
      .record({
        type: fc.constant('OrderAccepted' as const),
        venueOrderId: fc.constantFrom('', 'V1', 'V2'),
        at: fc.nat(10_000),
        qty: fc.option(fc.double({ min: 0.01, max: 2, noNaN: true }), { nil: undefined }),
      })
      .map((e): OrderEvent => {
        const { qty, ...rest } = e;
        return qty === undefined ? rest : { ...rest, qty };
      }),
    fc.record({
      type: fc.constant('OrderFilled' as const),
      tradeId: fc.constantFrom('t1', 't2', 't3', 't4', 't5'),
      qty: fc.double({ min: -1, max: 1.5, noNaN: true }),
      price: fc.double({ min: 1, max: 200, noNaN: true }),
      feeUsd: fc.double({ min: 0, max: 1, noNaN: true }),
      at: fc.nat(10_000),
    }),
    fc.record({ type: fc.constantFrom('OrderCancelled' as const, 'OrderRejected' as const, 'OrderExpired' as const), reason: fc.constant('venue'), at: fc.nat(10_000) }),
  );

  it('never moves a terminal order, never fills past the quantity, applies each trade once, and only moves along the table', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), fc.double({ min: 0.1, max: 2, noNaN: true }), (events, qty) => {
        let o = order({ qty });
        const applied = new Set<string>();
        for (const e of events) {
          const before = o;
          const r = applyOrderEvent(o, e, (t) => applied.has(t));
          if (TERMINAL.has(before.state)) expect(r.kind).toBe('ignored');
          if (r.kind !== 'applied') continue;
          expect(ORDER_TRANSITIONS[before.state][e.type]).toContain(r.order.state === before.state && e.type === 'OrderAccepted' ? before.state : r.order.state);
          if (e.type === 'OrderFilled') {
            expect(applied.has(e.tradeId)).toBe(false);
            applied.add(e.tradeId);
          }
          o = r.order;
          expect(o.filledQty).toBeLessThanOrEqual(o.qty * (1 + 1e-9));
          expect(o.filledQty).toBeGreaterThanOrEqual(0);
          expect(o.version).toBeGreaterThan(before.version);
          expect(ORDER_STATES).toContain(o.state);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('the paper venue market model', () => {
  const p: PaperParams = { takerBps: 4, makerBps: 1, impactBpsPer100k: 0.5, partialFillRatio: 0, seed: 7 };
  const q = { bid: 99.9, ask: 100.1 };

  it('fills a market buy at the ask plus impact, paying the taker fee', () => {
    const d = decideSubmit({ clientOrderId: 'T1', side: 'BUY', type: 'market', qty: 1_000, limitPrice: null }, q, p);
    const impactBps = (0.5 * 1_000 * 100.1) / 100_000;
    expect(d.resting).toBe(0);
    expect(d.fills[0]!.price).toBeCloseTo(100.1 * (1 + impactBps / 10_000), 10);
    expect(d.fills[0]!.feeUsd).toBeCloseTo((1_000 * d.fills[0]!.price * 4) / 10_000, 10);
  });

  it('rests a limit order away from the touch and fills it as a maker once the market crosses it', () => {
    const limit = { clientOrderId: 'T2', side: 'BUY' as const, type: 'limit' as const, qty: 2, limitPrice: 99.5 };
    expect(decideSubmit(limit, q, p)).toEqual({ fills: [], resting: 2 });
    expect(decideResting({ side: 'BUY', type: 'limit', limitPrice: 99.5, remaining: 2 }, q, p)).toBeUndefined();
    const f = decideResting({ side: 'BUY', type: 'limit', limitPrice: 99.5, remaining: 2 }, { bid: 99.3, ask: 99.5 }, p);
    expect(f).toMatchObject({ qty: 2, price: 99.5, liquidity: 'maker' });
    expect(f!.feeUsd).toBeCloseTo((2 * 99.5 * 1) / 10_000, 12);
  });

  it('a marketable limit never pays past its limit', () => {
    const d = decideSubmit({ clientOrderId: 'T3', side: 'BUY', type: 'limit', qty: 100_000, limitPrice: 100.1 }, q, p);
    expect(d.fills[0]!.price).toBe(100.1);
  });

  it('splits a share of market orders in two, the same way for the same client order id (seeded)', () => {
    const partial = { ...p, partialFillRatio: 0.5 };
    let split = 0;
    for (let i = 0; i < 1_000; i++) {
      const d = decideSubmit({ clientOrderId: `T${i}`, side: 'SELL', type: 'market', qty: 1, limitPrice: null }, q, partial);
      if (d.resting > 0) {
        split++;
        expect(d.fills[0]!.qty + d.resting).toBeCloseTo(1, 12);
        expect(d.fills[0]!.qty).toBeGreaterThanOrEqual(0.3);
        expect(d.fills[0]!.qty).toBeLessThanOrEqual(0.7);
      }
    }
    expect(split).toBeGreaterThan(430);
    expect(split).toBeLessThan(570);
    expect(seededUnit(7, 'T5')).toBe(seededUnit(7, 'T5'));
    expect(decideSubmit({ clientOrderId: 'T5', side: 'SELL', type: 'market', qty: 1, limitPrice: null }, q, partial)).toEqual(
      decideSubmit({ clientOrderId: 'T5', side: 'SELL', type: 'market', qty: 1, limitPrice: null }, q, partial),
    );
  });
});

describe('sending', () => {
  it('backs off 1, 2, 4, 8 s, or as long as a 429 asked when that is longer', () => {
    expect([1, 2, 3, 4].map((n) => sendBackoff(n))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(sendBackoff(1, 'custom', new VenueError('rate_limited', '429', 5_000))).toBe(5_000);
    expect(sendBackoff(4, 'custom', new VenueError('rate_limited', '429', 5_000))).toBe(8_000);
  });

  it('tells transient venue errors from answers', () => {
    expect(['timeout', 'network', 'rate_limited', 'server_error'].map((c) => new VenueError(c as 'timeout', '').transient)).toEqual([true, true, true, true]);
    expect(['rejected', 'not_found', 'auth', 'unknown'].map((c) => new VenueError(c as 'rejected', '').transient)).toEqual([false, false, false, false]);
  });

  it('orders whole lots only', () => {
    expect(roundToLot(0.123456, 0.0001)).toBe(0.1234);
    expect(roundToLot(0.3, 0.1)).toBe(0.3);
    expect(roundToLot(7.9, 1)).toBe(7);
    expect(roundToLot(0.00009, 0.0001)).toBe(0);
  });

  it('an order decided before the controls last changed is decided again (the breaker excepted)', () => {
    const c: ControlSnapshot = {
      ...UNKNOWN_CONTROL,
      known: true,
      trading: { ...UNKNOWN_CONTROL.trading, state: 'ACTIVE', at: 100 },
      killSwitch: { engaged: false, reason: '', by: 'x', at: 200, trigger: '' },
      breaker: { state: 'CLOSED', cause: '', at: 900, halfOpenOrders: 0, seq: 3 },
      scoped: { 'model:obi': { state: 'REDUCING', kind: 'stop', reason: 'r', by: 'b', at: 300, trigger: 'stop-trading' } },
    };
    expect(controlsChangedAt(c, { symbol: 'BTC-USD', model: 'momentum' })).toEqual({ at: 200, what: 'kill switch' });
    expect(controlsChangedAt(c, { symbol: 'BTC-USD', model: 'obi' })).toEqual({ at: 300, what: 'model:obi REDUCING' });
  });
});
