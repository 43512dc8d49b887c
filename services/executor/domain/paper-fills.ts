/**
 * The paper venue's market model, as plain functions:
 *
 * - a market order crosses the spread (buys at the ask, sells at the bid)
 *   and pays an impact on top, `impact_bps_per_100k_usd` per 100,000 USD of
 *   notional, and the taker fee;
 * - a share of market orders (`partial_fill_ratio`) fill in two parts: 30-70 %
 *   now, the rest at the next quote;
 * - a limit order that is marketable fills at once as a taker (at its limit
 *   or better); otherwise it rests and fills at its limit, as a maker, when
 *   the market crosses it (the ask at or below a buy limit, the bid at or
 *   above a sell limit).
 *
 * Randomness is seeded by the client order id, so a test is exact and a
 * resubmission decides the same way.
 */
import type { Side } from '../../core/messages.ts';
import type { OrderType } from './order-lifecycle.ts';

export interface PaperParams {
  takerBps: number;
  makerBps: number;
  impactBpsPer100k: number;
  partialFillRatio: number;
  seed: number;
}

export interface Quote {
  bid: number;
  ask: number;
}

export interface PaperFill {
  qty: number;
  price: number;
  feeUsd: number;
  liquidity: 'taker' | 'maker';
}

/** A number in [0, 1) from a seed and a text (FNV-1a, then mulberry32): the same inputs, the same number. */
export function seededUnit(seed: number, text: string, salt = 0): number {
  let h = (2166136261 ^ seed ^ salt) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619) >>> 0;
  }
  let t = (h + 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
}

function takerFill(side: Side, qty: number, q: Quote, p: PaperParams): PaperFill {
  const touch = side === 'BUY' ? q.ask : q.bid;
  const impactBps = (p.impactBpsPer100k * qty * touch) / 100_000;
  const price = side === 'BUY' ? touch * (1 + impactBps / 10_000) : touch * (1 - impactBps / 10_000);
  return { qty, price, feeUsd: (qty * price * p.takerBps) / 10_000, liquidity: 'taker' };
}

function makerFill(qty: number, price: number, p: PaperParams): PaperFill {
  return { qty, price, feeUsd: (qty * price * p.makerBps) / 10_000, liquidity: 'maker' };
}

function crosses(side: Side, limit: number, q: Quote): boolean {
  return side === 'BUY' ? q.ask <= limit : q.bid >= limit;
}

export interface SubmitDecision {
  fills: PaperFill[];
  /** Quantity left resting at the venue. */
  resting: number;
}

/** What happens to a new order against the current quote. */
export function decideSubmit(o: { clientOrderId: string; side: Side; type: OrderType; qty: number; limitPrice: number | null }, q: Quote, p: PaperParams): SubmitDecision {
  if (o.type === 'limit') {
    const limit = o.limitPrice ?? 0;
    if (!crosses(o.side, limit, q)) return { fills: [], resting: o.qty };
    const f = takerFill(o.side, o.qty, q, p);
    // A marketable limit never pays past its limit.
    const price = o.side === 'BUY' ? Math.min(f.price, limit) : Math.max(f.price, limit);
    return { fills: [{ ...f, price, feeUsd: (o.qty * price * p.takerBps) / 10_000 }], resting: 0 };
  }
  if (seededUnit(p.seed, o.clientOrderId) < p.partialFillRatio) {
    const share = 0.3 + 0.4 * seededUnit(p.seed, o.clientOrderId, 1);
    const first = o.qty * share;
    return { fills: [takerFill(o.side, first, q, p)], resting: o.qty - first };
  }
  return { fills: [takerFill(o.side, o.qty, q, p)], resting: 0 };
}

/** What happens to a resting order (a limit, or a market order's remainder) at a new quote: a fill, or nothing. */
export function decideResting(o: { side: Side; type: OrderType; limitPrice: number | null; remaining: number }, q: Quote, p: PaperParams): PaperFill | undefined {
  if (!(o.remaining > 0) || !(q.bid > 0) || !(q.ask > 0)) return undefined;
  if (o.type === 'market') return takerFill(o.side, o.remaining, q, p);
  const limit = o.limitPrice ?? 0;
  return crosses(o.side, limit, q) ? makerFill(o.remaining, limit, p) : undefined;
}
