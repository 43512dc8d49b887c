/**
 * From a target position to an order decision, under the trading controls
 * (the gate is core/domain/control-state.ts's orderGate, the one every caller uses).
 *
 *   delta = target_usd / price − position_qty     (in units)
 *
 * No order when |delta|·price < min_order_notional_usd. An order "reduces"
 * when it moves the position toward zero without crossing it. Gates:
 * - control state unknown (Redis unreadable) → denied (fail closed)
 * - kill switch engaged or trading HALTED → denied: only cancels
 * - a scoped kill/stop on the target's symbol or model (core/domain/scopes.ts):
 *   HALTED → denied; REDUCING → only reducing orders
 * - trading REDUCING or breaker OPEN → only reducing orders (an increasing
 *   order is clipped to flatten nothing: denied; a crossing order is clipped
 *   to flat)
 * - breaker HALF_OPEN → at most half_open_max_orders orders and
 *   half_open_max_notional_usd per order
 */
import { orderGate, type ControlSnapshot } from '../../core/domain/control-state.ts';
import type { Side } from '../../core/messages.ts';

export interface OrderGates {
  minNotionalUsd: number;
  halfOpenMaxOrders: number;
  halfOpenMaxNotionalUsd: number;
}

export type OrderDecision =
  { kind: 'none'; reason: string } | { kind: 'denied'; reason: string; side: Side; qty: number } | { kind: 'order'; side: Side; qty: number; reduceOnly: boolean; note: string };

/** What the order is for: the scoped controls match on these. */
export interface OrderSubject {
  symbol: string;
  model: string;
}

export function decideOrder(targetUsd: number, price: number, positionQty: number, control: ControlSnapshot, gates: OrderGates, subject: OrderSubject): OrderDecision {
  if (!Number.isFinite(targetUsd) || !(price > 0) || !Number.isFinite(positionQty)) return { kind: 'none', reason: 'invalid target, price or position' };
  const delta = targetUsd / price - positionQty;
  if (Math.abs(delta) * price < gates.minNotionalUsd) return { kind: 'none', reason: 'below min order notional' };
  const side: Side = delta > 0 ? 'BUY' : 'SELL';
  let qty = Math.abs(delta);
  const reduces = positionQty !== 0 && Math.sign(delta) !== Math.sign(positionQty);
  const gate = orderGate(control, subject);
  if (gate.kind === 'denied') return { kind: 'denied', reason: gate.reason, side, qty };
  if (gate.kind === 'reduce-only') {
    if (!reduces) return { kind: 'denied', reason: `${gate.reason}: only position-reducing orders`, side, qty };
    qty = Math.min(qty, Math.abs(positionQty));
    if (qty * price < gates.minNotionalUsd) return { kind: 'none', reason: 'below min order notional' };
    return { kind: 'order', side, qty, reduceOnly: true, note: gate.reason };
  }
  if (control.breaker.state === 'HALF_OPEN') {
    if (control.breaker.halfOpenOrders >= gates.halfOpenMaxOrders)
      return { kind: 'denied', reason: `circuit breaker HALF_OPEN: ${gates.halfOpenMaxOrders} test orders used`, side, qty };
    if (qty * price > gates.halfOpenMaxNotionalUsd) qty = gates.halfOpenMaxNotionalUsd / price;
    return { kind: 'order', side, qty, reduceOnly: reduces, note: 'circuit breaker HALF_OPEN: limited test order' };
  }
  return { kind: 'order', side, qty, reduceOnly: reduces, note: '' };
}

export interface PositionState {
  qty: number;
  avgPrice: number;
  /** Net of fees. */
  realizedPnl: number;
  /** Fees paid on this position's fills. */
  feesUsd?: number;
}

/** Apply a fill to a position: average price on increases, realised PnL on reductions. */
export function applyFill(p: PositionState, side: Side, qty: number, price: number): PositionState {
  const signed = side === 'BUY' ? qty : -qty;
  const next = p.qty + signed;
  if (p.qty === 0 || Math.sign(p.qty) === Math.sign(signed)) {
    const avg = (Math.abs(p.qty) * p.avgPrice + qty * price) / (Math.abs(p.qty) + qty);
    return { ...p, qty: next, avgPrice: avg, realizedPnl: p.realizedPnl };
  }
  const closed = Math.min(Math.abs(signed), Math.abs(p.qty));
  const pnl = closed * (price - p.avgPrice) * Math.sign(p.qty);
  const crossed = Math.abs(signed) > Math.abs(p.qty);
  return { ...p, qty: Math.abs(next) < 1e-12 ? 0 : next, avgPrice: crossed ? price : next === 0 ? 0 : p.avgPrice, realizedPnl: p.realizedPnl + pnl };
}

/** A quantity rounded down to a whole number of lots (a venue takes no less than a lot); 0 when less than one. */
export function roundToLot(qty: number, lot: number): number {
  if (!(lot > 0)) return qty;
  const decimals = Math.max(0, Math.min(12, Math.ceil(-Math.log10(lot)) + 1));
  const lots = Math.floor(qty / lot + 1e-9);
  return lots > 0 ? Number((lots * lot).toFixed(decimals)) : 0;
}
