/**
 * The control plane as data: the state every instance shares (trading
 * state, kill switch, breaker, router, Kelly override, scoped kills and
 * stops), one transition table per machine, the one order gate every caller
 * uses, and the one wording of every change.
 *
 * Commands are imperative (`stop`, `engage`), events past tense
 * (`TradingStopped`, `KillSwitchEngaged`). A transition is
 * `(state, command) → moved to a state | no move (already there) | refused`;
 * the writer (core/control/write.ts) applies a move atomically and emits the
 * event; nothing else changes control state. The breaker's table is in
 * breaker.ts (its moves are Lua scripts that check the state they leave).
 */
import type { BreakerState } from './breaker.ts';
import { controlFor, type ScopedControl, type ScopedControls } from './scopes.ts';

export type { BreakerState };
export type TradingState = 'ACTIVE' | 'REDUCING' | 'HALTED';
export type ExecutionMode = 'DRY_RUN' | 'PAPER' | 'LIVE';

export interface ControlSnapshot {
  known: boolean;
  readAt: number;
  trading: { state: TradingState; reason: string; by: string; at: number; mode: ExecutionMode; trigger: string };
  killSwitch: { engaged: boolean; reason: string; by: string; at: number; trigger: string };
  /** `seq` counts transitions: a newer one wins over an older read. */
  breaker: { state: BreakerState; cause: string; at: number; halfOpenOrders: number; seq: number };
  router: { paused: boolean; by: string; at: number; reason: string };
  kellyOverride: { kellyFraction: number; reason: string; by: string; at: number } | null;
  /** Kills and stops scoped to one symbol or model (scopes.ts). */
  scoped: ScopedControls;
}

/** What an instance assumes when it cannot read the control state: closed. */
export const UNKNOWN_CONTROL: ControlSnapshot = Object.freeze({
  known: false,
  readAt: 0,
  trading: { state: 'HALTED', reason: 'control state unknown', by: 'system', at: 0, mode: 'PAPER', trigger: 'control_unknown' },
  killSwitch: { engaged: false, reason: '', by: '', at: 0, trigger: '' },
  breaker: { state: 'OPEN', cause: 'control state unknown', at: 0, halfOpenOrders: 0, seq: 0 },
  router: { paused: false, by: '', at: 0, reason: '' },
  kellyOverride: null,
  scoped: {},
}) as ControlSnapshot;

export type Transition<S> = { kind: 'move'; to: S } | { kind: 'stay'; why: string } | { kind: 'refused'; reason: string };

// ---------------------------------------------------------------------------
// Trading state (system-wide)
// ---------------------------------------------------------------------------

export type TradingCommand =
  /** An operator stops trading (HALTED: no new orders, resting ones cancelled) or limits it (REDUCING). */
  | { kind: 'stop'; state: 'HALTED' | 'REDUCING' }
  | { kind: 'start' }
  /** The safety monitor, past reduce_first_ratio of a loss limit: only from ACTIVE. */
  | { kind: 'reduce_first' };

const TRADING_TABLE: Record<TradingState, Record<TradingCommand['kind'], (c: TradingCommand) => Transition<TradingState>>> = {
  ACTIVE: {
    stop: (c) => ({ kind: 'move', to: (c as { state: TradingState }).state }),
    start: () => ({ kind: 'stay', why: 'trading is already ACTIVE' }),
    reduce_first: () => ({ kind: 'move', to: 'REDUCING' }),
  },
  REDUCING: {
    stop: (c) => ((c as { state: TradingState }).state === 'REDUCING' ? { kind: 'stay', why: 'trading is already REDUCING' } : { kind: 'move', to: 'HALTED' }),
    start: () => ({ kind: 'move', to: 'ACTIVE' }),
    reduce_first: () => ({ kind: 'stay', why: 'trading is already REDUCING' }),
  },
  HALTED: {
    stop: (c) => ((c as { state: TradingState }).state === 'HALTED' ? { kind: 'stay', why: 'trading is already HALTED' } : { kind: 'move', to: 'REDUCING' }),
    start: () => ({ kind: 'move', to: 'ACTIVE' }),
    reduce_first: () => ({ kind: 'stay', why: 'trading is HALTED' }),
  },
};

export function tradingTransition(state: TradingState, command: TradingCommand): Transition<TradingState> {
  return TRADING_TABLE[state][command.kind](command);
}

// ---------------------------------------------------------------------------
// Kill switch (system-wide) and scoped controls (one symbol or model)
// ---------------------------------------------------------------------------

export type KillSwitchState = 'DISENGAGED' | 'ENGAGED';
export type KillCommand = { kind: 'engage' } | { kind: 'reset' };

export function killSwitchTransition(state: KillSwitchState, command: KillCommand): Transition<KillSwitchState> {
  if (command.kind === 'engage') return state === 'ENGAGED' ? { kind: 'stay', why: 'the kill switch is already engaged' } : { kind: 'move', to: 'ENGAGED' };
  return state === 'ENGAGED' ? { kind: 'move', to: 'DISENGAGED' } : { kind: 'refused', reason: 'kill switch is not engaged' };
}

/** A scope's state: nothing on it, stopped (HALTED or REDUCING, by stop-trading), or killed (by the kill switch). */
export type ScopeState = { kind: 'none' } | { kind: 'stopped'; state: 'HALTED' | 'REDUCING' } | { kind: 'killed' };
export type ScopeCommand = { kind: 'stop'; state: 'HALTED' | 'REDUCING' } | { kind: 'start' } | { kind: 'kill' } | { kind: 'reset' };

export function scopeStateOf(entry: ScopedControl | undefined): ScopeState {
  if (!entry) return { kind: 'none' };
  return entry.kind === 'kill' ? { kind: 'killed' } : { kind: 'stopped', state: entry.state };
}

export function scopeTransition(scope: string, state: ScopeState, command: ScopeCommand): Transition<ScopeState> {
  const killed = `${scope} is killed; reset it with DELETE /admin/kill-switch {"scope": "${scope}", ...}`;
  switch (command.kind) {
    case 'stop':
      if (state.kind === 'killed') return { kind: 'refused', reason: killed };
      if (state.kind === 'stopped' && state.state === command.state) return { kind: 'stay', why: `${scope} is already ${command.state}` };
      return { kind: 'move', to: { kind: 'stopped', state: command.state } };
    case 'start':
      if (state.kind === 'killed') return { kind: 'refused', reason: killed };
      return state.kind === 'none' ? { kind: 'stay', why: `${scope} has no stop` } : { kind: 'move', to: { kind: 'none' } };
    case 'kill':
      return state.kind === 'killed' ? { kind: 'stay', why: `${scope} is already killed` } : { kind: 'move', to: { kind: 'killed' } };
    case 'reset':
      return state.kind === 'killed' ? { kind: 'move', to: { kind: 'none' } } : { kind: 'refused', reason: `kill switch is not engaged for ${scope}` };
  }
}

/** The second-operator rule: who may reset a kill engaged by `engagedBy`. */
export function resetAllowed(engagedBy: string, by: string, requireSecondOperator: boolean): { ok: true } | { ok: false; reason: string } {
  return requireSecondOperator && engagedBy === by ? { ok: false, reason: `reset needs a second operator: ${by} engaged it` } : { ok: true };
}

// ---------------------------------------------------------------------------
// The effective state, and the order gate
// ---------------------------------------------------------------------------

export interface EffectiveTrading {
  state: TradingState;
  reason: string;
  /** What set it: the kill switch's trigger, the trading state's, or 'control_unknown'. */
  trigger: string;
  source: 'kill_switch' | 'trading' | 'unknown';
}

/** The system-wide trading state as it binds: unknown control reads as HALTED, the kill switch overrides the stored state. */
export function effectiveTrading(c: ControlSnapshot): EffectiveTrading {
  if (!c.known) return { state: 'HALTED', reason: 'control state unknown', trigger: 'control_unknown', source: 'unknown' };
  if (c.killSwitch.engaged) return { state: 'HALTED', reason: `kill switch: ${c.killSwitch.reason}`, trigger: c.killSwitch.trigger, source: 'kill_switch' };
  return { state: c.trading.state, reason: c.trading.reason, trigger: c.trading.state === 'ACTIVE' ? '' : c.trading.trigger || 'manual', source: 'trading' };
}

export interface GateSubject {
  symbol: string;
  model: string;
}

export type Gate = { kind: 'allowed' } | { kind: 'reduce-only'; reason: string } | { kind: 'denied'; reason: string };

/**
 * May an order for `subject` go, given the control state? The one answer
 * every caller uses (the executor's decisions, cancels on a halt, status):
 * - unknown control (Redis unreadable) → denied (fail closed)
 * - kill switch engaged or trading HALTED → denied
 * - a scoped kill or HALTED stop on the symbol or model → denied
 * - trading REDUCING, breaker OPEN, or a scoped REDUCING stop → reduce-only
 * HALF_OPEN's test-order limits are the executor's (they need the probe lease).
 */
export function orderGate(c: ControlSnapshot, subject: GateSubject): Gate {
  if (!c.known) return { kind: 'denied', reason: 'control state unknown (fail closed)' };
  if (c.killSwitch.engaged) return { kind: 'denied', reason: `kill switch engaged: ${c.killSwitch.reason}` };
  if (c.trading.state === 'HALTED') return { kind: 'denied', reason: `trading halted: ${c.trading.reason}` };
  const scoped = controlFor(c.scoped, subject.symbol, subject.model);
  if (scoped?.control.state === 'HALTED') return { kind: 'denied', reason: `${scoped.scope} halted (${scoped.control.kind}): ${scoped.control.reason}` };
  if (c.breaker.state === 'OPEN') return { kind: 'reduce-only', reason: 'circuit breaker OPEN' };
  if (c.trading.state === 'REDUCING') return { kind: 'reduce-only', reason: 'trading REDUCING' };
  if (scoped) return { kind: 'reduce-only', reason: `${scoped.scope} REDUCING` };
  return { kind: 'allowed' };
}

/**
 * When the controls that apply to an order last changed (kill switch,
 * trading state, a scope on its symbol or model), and which: an order
 * decided before that is decided again, not sent (a kill and its reset
 * while a send waited to be retried must not let the old order out).
 * The breaker is not among them: orderGate reads it as it is at send time.
 */
export function controlsChangedAt(c: ControlSnapshot, subject: GateSubject): { at: number; what: string } {
  let best = { at: c.killSwitch.at, what: 'kill switch' };
  if (c.trading.at > best.at) best = { at: c.trading.at, what: `trading ${c.trading.state}` };
  const scoped = controlFor(c.scoped, subject.symbol, subject.model);
  if (scoped && scoped.control.at > best.at) best = { at: scoped.control.at, what: `${scoped.scope} ${scoped.control.state}` };
  return best;
}

/** Is the whole system halted (no order at all, resting ones to cancel)? */
export function systemHalted(c: ControlSnapshot): boolean {
  return c.known && effectiveTrading(c).state === 'HALTED';
}

// ---------------------------------------------------------------------------
// Events and their one wording
// ---------------------------------------------------------------------------

export type ControlEvent =
  | { type: 'TradingStopped'; scope: string; state: 'HALTED' | 'REDUCING'; reason: string; by: string; trigger: string }
  | { type: 'TradingStarted'; scope: string; reason: string; by: string }
  | { type: 'TradingReduced'; reason: string; by: string; trigger: string }
  | { type: 'KillSwitchEngaged'; scope: string; reason: string; by: string; trigger: string }
  | { type: 'KillSwitchReset'; scope: string; reason: string; by: string }
  | { type: 'RouterPaused'; reason: string; by: string }
  | { type: 'RouterResumed'; reason: string; by: string }
  | { type: 'KellyOverridden'; kellyFraction: number; reason: string; by: string }
  | { type: 'KellyOverrideCleared'; reason: string; by: string }
  | { type: 'ExecutionModeChanged'; mode: ExecutionMode; by: string };

export interface LogLine {
  level: 'error' | 'warn' | 'info';
  /** The stable dotted name operators grep for (docs/operations.md, "Log events"). */
  event: string;
  msg: string;
}

/** The one log line of each control event, whichever path wrote it (API, CLI, safety monitor, SIGHUP). */
export function controlLogLine(e: ControlEvent): LogLine {
  const where = (scope: string): string => (scope === 'system' ? '' : ` [${scope}]`);
  switch (e.type) {
    case 'TradingStopped':
      return e.state === 'HALTED'
        ? { level: 'warn', event: 'trading.stopped', msg: `Trading stopped for ${e.scope}: no new orders, resting orders cancelled (${e.reason})` }
        : { level: 'warn', event: 'trading.stopped', msg: `Trading REDUCING for ${e.scope}: only position-reducing orders (${e.reason})` };
    case 'TradingStarted':
      return { level: 'info', event: 'trading.started', msg: `Trading started for ${e.scope} (${e.reason})` };
    case 'TradingReduced':
      return { level: 'error', event: 'trading.reducing', msg: `Trading REDUCING: ${e.trigger} (${e.reason})` };
    case 'KillSwitchEngaged':
      return { level: 'error', event: 'kill_switch.engaged', msg: `Kill-switch activated: ${e.trigger} (${e.reason})${where(e.scope)}` };
    case 'KillSwitchReset':
      return { level: 'warn', event: 'kill_switch.reset', msg: `Kill-switch reset: ${e.scope} (${e.reason})` };
    case 'RouterPaused':
      return { level: 'info', event: 'router.paused', msg: `Model router paused (${e.reason})` };
    case 'RouterResumed':
      return { level: 'info', event: 'router.resumed', msg: `Model router resumed (${e.reason})` };
    case 'KellyOverridden':
      return { level: 'warn', event: 'risk.emergency_reduce', msg: `Kelly fraction lowered to ${e.kellyFraction}: ${e.reason}` };
    case 'KellyOverrideCleared':
      return { level: 'info', event: 'risk.kelly_override_cleared', msg: `Kelly override cleared (${e.reason})` };
    case 'ExecutionModeChanged':
      return { level: 'warn', event: 'execution.mode_changed', msg: `Execution mode ${e.mode}` };
  }
}
