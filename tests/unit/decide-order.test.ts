import { describe, expect, it } from 'vitest';
import { UNKNOWN_CONTROL, type ControlSnapshot } from '../../services/core/domain/control-state.ts';
import type { ScopedControl } from '../../services/core/domain/scopes.ts';
import { ALL_CLEAR } from '../support/control-fixture.ts';
import { applyFill, decideOrder } from '../../services/executor/domain/decide-order.ts';

const OPEN_ALL = ALL_CLEAR;
const G = { minNotionalUsd: 50, halfOpenMaxOrders: 2, halfOpenMaxNotionalUsd: 1_000 };
const S = { symbol: 'BTC-USD', model: 'obi' };
const with_ = (patch: Partial<ControlSnapshot>): ControlSnapshot => ({ ...OPEN_ALL, ...patch });

describe('order decision', () => {
  it('orders the difference between target and position', () => {
    expect(decideOrder(10_000, 100, 40, OPEN_ALL, G, S)).toMatchObject({ kind: 'order', side: 'BUY', qty: 60, reduceOnly: false });
    expect(decideOrder(-1_000, 100, 0, OPEN_ALL, G, S)).toMatchObject({ kind: 'order', side: 'SELL', qty: 10 });
  });

  it('skips orders under the minimum notional', () => {
    expect(decideOrder(10_040, 100, 100, OPEN_ALL, G, S)).toEqual({ kind: 'none', reason: 'below min order notional' });
  });

  it('fails closed when the control state is unknown', () => {
    expect(decideOrder(10_000, 100, 0, UNKNOWN_CONTROL, G, S).kind).toBe('denied');
    expect(decideOrder(0, 100, 50, UNKNOWN_CONTROL, G, S).kind).toBe('denied');
  });

  it('refuses everything while the kill switch is engaged or trading is HALTED', () => {
    const killed = with_({ killSwitch: { engaged: true, reason: 'max_dd', by: 'x', at: 1, trigger: 'drawdown' } });
    expect(decideOrder(0, 100, 50, killed, G, S)).toMatchObject({ kind: 'denied', reason: 'kill switch engaged: max_dd' });
    expect(decideOrder(0, 100, 50, with_({ trading: { ...OPEN_ALL.trading, state: 'HALTED', reason: 'stop-trading' } }), G, S).kind).toBe('denied');
  });

  it('lets only position-reducing orders through while the breaker is OPEN, clipped to flat', () => {
    const open = with_({ breaker: { state: 'OPEN', cause: 'var', at: 1, halfOpenOrders: 0, seq: 0 } });
    expect(decideOrder(20_000, 100, 50, open, G, S)).toMatchObject({ kind: 'denied' });
    expect(decideOrder(0, 100, 50, open, G, S)).toMatchObject({ kind: 'order', side: 'SELL', qty: 50, reduceOnly: true });
    expect(decideOrder(-10_000, 100, 50, open, G, S)).toMatchObject({ kind: 'order', side: 'SELL', qty: 50, reduceOnly: true });
    expect(decideOrder(-1_000, 100, 0, open, G, S).kind).toBe('denied');
  });

  it('REDUCING behaves like OPEN for new risk', () => {
    const reducing = with_({ trading: { ...OPEN_ALL.trading, state: 'REDUCING' } });
    expect(decideOrder(20_000, 100, 50, reducing, G, S).kind).toBe('denied');
    expect(decideOrder(2_000, 100, 50, reducing, G, S)).toMatchObject({ kind: 'order', side: 'SELL', qty: 30 });
  });

  it('obeys a kill or stop scoped to the symbol or the model, and only that scope', () => {
    const scoped = (entries: Record<string, Partial<ScopedControl>>): ControlSnapshot =>
      with_({
        scoped: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, { state: 'HALTED', kind: 'kill', reason: 'ops', by: 'alice', at: 1, trigger: 'manual', ...v }])),
      });
    const symbolKilled = scoped({ 'symbol:BTC-USD': {} });
    expect(decideOrder(0, 100, 50, symbolKilled, G, S)).toMatchObject({ kind: 'denied', reason: 'symbol:BTC-USD halted (kill): ops' });
    expect(decideOrder(10_000, 100, 0, symbolKilled, G, { symbol: 'ETH-USD', model: 'obi' }).kind).toBe('order');
    const modelStopped = scoped({ 'model:obi': { kind: 'stop', reason: 'review' } });
    expect(decideOrder(10_000, 100, 0, modelStopped, G, S)).toMatchObject({ kind: 'denied', reason: 'model:obi halted (stop): review' });
    expect(decideOrder(10_000, 100, 0, modelStopped, G, { symbol: 'BTC-USD', model: 'momentum' }).kind).toBe('order');
    // REDUCING on a scope: only reducing orders there; HALTED on the other matching scope wins.
    const reducing = scoped({ 'symbol:BTC-USD': { state: 'REDUCING' } });
    expect(decideOrder(20_000, 100, 50, reducing, G, S)).toMatchObject({ kind: 'denied', reason: 'symbol:BTC-USD REDUCING: only position-reducing orders' });
    expect(decideOrder(0, 100, 50, reducing, G, S)).toMatchObject({ kind: 'order', side: 'SELL', qty: 50, reduceOnly: true });
    expect(decideOrder(0, 100, 50, scoped({ 'symbol:BTC-USD': { state: 'REDUCING' }, 'model:obi': {} }), G, S).kind).toBe('denied');
  });

  it('limits HALF_OPEN to a few small test orders', () => {
    const half = (n: number) => with_({ breaker: { state: 'HALF_OPEN', cause: 'reset', at: 1, halfOpenOrders: n, seq: 1 } });
    expect(decideOrder(100_000, 100, 0, half(0), G, S)).toMatchObject({ kind: 'order', qty: 10 });
    expect(decideOrder(100_000, 100, 0, half(2), G, S).kind).toBe('denied');
  });
});

describe('fills and positions', () => {
  it('averages the price on increases and realises PnL on reductions', () => {
    let p = applyFill({ qty: 0, avgPrice: 0, realizedPnl: 0 }, 'BUY', 10, 100);
    p = applyFill(p, 'BUY', 10, 110);
    expect(p).toEqual({ qty: 20, avgPrice: 105, realizedPnl: 0 });
    p = applyFill(p, 'SELL', 5, 115);
    expect(p).toEqual({ qty: 15, avgPrice: 105, realizedPnl: 50 });
    p = applyFill(p, 'SELL', 20, 100);
    expect(p.qty).toBe(-5);
    expect(p.avgPrice).toBe(100);
    expect(p.realizedPnl).toBeCloseTo(50 - 75, 9);
  });
});
