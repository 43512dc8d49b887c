/** The control plane's transition tables, its one order gate, and the one wording of every change. */
import { describe, expect, it } from 'vitest';
import {
  controlLogLine,
  effectiveTrading,
  killSwitchTransition,
  orderGate,
  resetAllowed,
  scopeTransition,
  systemHalted,
  tradingTransition,
  UNKNOWN_CONTROL,
  type ControlEvent,
  type TradingState,
} from '../../services/core/domain/control-state.ts';
import { ALL_CLEAR } from '../support/control-fixture.ts';

const allClear = () => ALL_CLEAR;

describe('trading state table', () => {
  const S: TradingState[] = ['ACTIVE', 'REDUCING', 'HALTED'];
  it.each([
    // state, command, outcome
    ['ACTIVE', { kind: 'stop', state: 'HALTED' }, 'HALTED'],
    ['ACTIVE', { kind: 'stop', state: 'REDUCING' }, 'REDUCING'],
    ['ACTIVE', { kind: 'reduce_first' }, 'REDUCING'],
    ['ACTIVE', { kind: 'start' }, 'stay'],
    ['REDUCING', { kind: 'stop', state: 'HALTED' }, 'HALTED'],
    ['REDUCING', { kind: 'stop', state: 'REDUCING' }, 'stay'],
    ['REDUCING', { kind: 'start' }, 'ACTIVE'],
    ['REDUCING', { kind: 'reduce_first' }, 'stay'],
    ['HALTED', { kind: 'stop', state: 'REDUCING' }, 'REDUCING'],
    ['HALTED', { kind: 'stop', state: 'HALTED' }, 'stay'],
    ['HALTED', { kind: 'start' }, 'ACTIVE'],
    ['HALTED', { kind: 'reduce_first' }, 'stay'],
  ] as const)('%s + %j → %s', (state, command, to) => {
    const t = tradingTransition(state, command);
    expect(t.kind === 'move' ? t.to : t.kind).toBe(to);
  });
  it('the safety monitor never overrides an operator stop', () => {
    for (const s of S.filter((x) => x !== 'ACTIVE')) expect(tradingTransition(s, { kind: 'reduce_first' }).kind).toBe('stay');
  });
});

describe('kill switch and scope tables', () => {
  it('engages once, resets only what is engaged', () => {
    expect(killSwitchTransition('DISENGAGED', { kind: 'engage' })).toEqual({ kind: 'move', to: 'ENGAGED' });
    expect(killSwitchTransition('ENGAGED', { kind: 'engage' }).kind).toBe('stay');
    expect(killSwitchTransition('ENGAGED', { kind: 'reset' })).toEqual({ kind: 'move', to: 'DISENGAGED' });
    expect(killSwitchTransition('DISENGAGED', { kind: 'reset' })).toEqual({ kind: 'refused', reason: 'kill switch is not engaged' });
  });

  it('a killed scope cannot be stopped or started, only reset', () => {
    const killed = { kind: 'killed' } as const;
    expect(scopeTransition('symbol:X', killed, { kind: 'stop', state: 'REDUCING' }).kind).toBe('refused');
    expect(scopeTransition('symbol:X', killed, { kind: 'start' })).toMatchObject({ kind: 'refused', reason: expect.stringContaining('DELETE /admin/kill-switch') as unknown });
    expect(scopeTransition('symbol:X', killed, { kind: 'kill' }).kind).toBe('stay');
    expect(scopeTransition('symbol:X', killed, { kind: 'reset' })).toEqual({ kind: 'move', to: { kind: 'none' } });
    expect(scopeTransition('symbol:X', { kind: 'stopped', state: 'REDUCING' }, { kind: 'kill' })).toEqual({ kind: 'move', to: { kind: 'killed' } });
    expect(scopeTransition('symbol:X', { kind: 'stopped', state: 'REDUCING' }, { kind: 'stop', state: 'HALTED' })).toEqual({
      kind: 'move',
      to: { kind: 'stopped', state: 'HALTED' },
    });
    expect(scopeTransition('symbol:X', { kind: 'none' }, { kind: 'start' }).kind).toBe('stay');
    expect(scopeTransition('symbol:X', { kind: 'none' }, { kind: 'reset' }).kind).toBe('refused');
  });

  it('the second-operator rule', () => {
    expect(resetAllowed('alice', 'alice', true)).toEqual({ ok: false, reason: 'reset needs a second operator: alice engaged it' });
    expect(resetAllowed('alice', 'bob', true)).toEqual({ ok: true });
    expect(resetAllowed('alice', 'alice', false)).toEqual({ ok: true });
  });
});

describe('the order gate and the effective state', () => {
  const subject = { symbol: 'BTC-USD', model: 'obi' };
  it('fails closed, then kill, halt, scoped halt, then reduce-only causes in order', () => {
    const c = allClear();
    expect(orderGate(UNKNOWN_CONTROL, subject)).toEqual({ kind: 'denied', reason: 'control state unknown (fail closed)' });
    expect(orderGate(c, subject)).toEqual({ kind: 'allowed' });
    expect(orderGate({ ...c, killSwitch: { ...c.killSwitch, engaged: true, reason: 'dd' } }, subject)).toEqual({ kind: 'denied', reason: 'kill switch engaged: dd' });
    expect(orderGate({ ...c, trading: { ...c.trading, state: 'HALTED', reason: 'ops' } }, subject)).toEqual({ kind: 'denied', reason: 'trading halted: ops' });
    const scoped = { 'model:obi': { state: 'HALTED', kind: 'kill', reason: 'bad', by: 'a', at: 1, trigger: 'manual' } } as const;
    expect(orderGate({ ...c, scoped }, subject)).toEqual({ kind: 'denied', reason: 'model:obi halted (kill): bad' });
    expect(orderGate({ ...c, scoped }, { symbol: 'BTC-USD', model: 'momentum' })).toEqual({ kind: 'allowed' });
    expect(orderGate({ ...c, breaker: { ...c.breaker, state: 'OPEN' }, trading: { ...c.trading, state: 'REDUCING' } }, subject)).toEqual({
      kind: 'reduce-only',
      reason: 'circuit breaker OPEN',
    });
    expect(orderGate({ ...c, trading: { ...c.trading, state: 'REDUCING' } }, subject)).toEqual({ kind: 'reduce-only', reason: 'trading REDUCING' });
    expect(orderGate({ ...c, scoped: { 'symbol:BTC-USD': { state: 'REDUCING', kind: 'stop', reason: 'r', by: 'a', at: 1, trigger: 'stop-trading' } } }, subject)).toEqual({
      kind: 'reduce-only',
      reason: 'symbol:BTC-USD REDUCING',
    });
  });

  it('the kill switch overrides the stored trading state; unknown reads HALTED', () => {
    const c = allClear();
    expect(effectiveTrading(c)).toEqual({ state: 'ACTIVE', reason: '', trigger: '', source: 'trading' });
    expect(effectiveTrading({ ...c, killSwitch: { ...c.killSwitch, engaged: true, reason: 'x', trigger: 'pnl_floor' } })).toEqual({
      state: 'HALTED',
      reason: 'kill switch: x',
      trigger: 'pnl_floor',
      source: 'kill_switch',
    });
    expect(effectiveTrading(UNKNOWN_CONTROL).state).toBe('HALTED');
    expect(systemHalted(UNKNOWN_CONTROL)).toBe(false); // unknown is not a halt to cancel on: nothing is known
    expect(systemHalted({ ...c, trading: { ...c.trading, state: 'HALTED' } })).toBe(true);
  });
});

describe('one wording per event', () => {
  const by = 'ops';
  it.each<[ControlEvent, string, string]>([
    [{ type: 'KillSwitchEngaged', scope: 'system', reason: 'VaR breach', by, trigger: 'manual' }, 'kill_switch.engaged', 'Kill-switch activated: manual (VaR breach)'],
    [{ type: 'KillSwitchReset', scope: 'model:obi', reason: 'fixed', by }, 'kill_switch.reset', 'Kill-switch reset: model:obi (fixed)'],
    [
      { type: 'TradingStopped', scope: 'system', state: 'HALTED', reason: 'maintenance', by, trigger: 'stop-trading' },
      'trading.stopped',
      'Trading stopped for system: no new orders, resting orders cancelled (maintenance)',
    ],
    [{ type: 'TradingReduced', reason: 'dd 17%', by, trigger: 'drawdown_reduce_first' }, 'trading.reducing', 'Trading REDUCING: drawdown_reduce_first (dd 17%)'],
    [{ type: 'RouterPaused', reason: 'SIGHUP', by }, 'router.paused', 'Model router paused (SIGHUP)'],
    [{ type: 'KellyOverridden', kellyFraction: 0.1, reason: 'VaR breach', by }, 'risk.emergency_reduce', 'Kelly fraction lowered to 0.1: VaR breach'],
  ])('%j', (e, event, msg) => {
    expect(controlLogLine(e)).toMatchObject({ event, msg });
  });
});
