/**
 * The one writer of the control plane. Every change (HTTP, CLI, safety
 * monitor, SIGHUP, reload) goes through a method here, which:
 *
 *   1. reads the current state of what it changes,
 *   2. decides with the transition table (core/domain/control-state.ts):
 *      move, stay (already there: nothing written) or refused (the reason),
 *   3. applies a move atomically with lua/control-write-n.lua: the hash
 *      changes only if the field it was decided on still holds (else it
 *      re-reads and decides again), the kill switch's audit entry is
 *      appended in the same call, and `control.events` is published,
 *   4. logs the event's one line (controlLogLine) and returns the event.
 *
 * Kill-switch events also go to <STATE_DIR>/kill_events.jsonl (fsynced)
 * after Redis; a file that cannot be written never stops an engage: the
 * outcome carries the error for the caller to report, and it is logged.
 * Breaker moves use their own scripts (redis/breaker-scripts.ts) and are
 * logged and counted here too.
 */
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Clock } from '../clock.ts';
import { breakerTrigger, transitionFor, type BreakerMove, type BreakerTransition } from '../domain/breaker.ts';
import {
  controlLogLine,
  killSwitchTransition,
  resetAllowed,
  scopeStateOf,
  scopeTransition,
  tradingTransition,
  type ControlEvent,
  type ExecutionMode,
  type ScopeCommand,
  type TradingCommand,
} from '../domain/control-state.ts';
import { parseScopedControls, type ScopedControl } from '../domain/scopes.ts';
import type { Logger } from '../log.ts';
import { Counter, type Registry } from '../metrics.ts';
import { applyBreakerTransition, type TransitionOutcome } from '../redis/breaker-scripts.ts';
import type { RedisClient } from '../redis/connect.ts';
import type { RedisKeys } from '../redis/keys.ts';
import { luaScript, runLua } from '../redis/lua-scripts.ts';
import { tradingStateOf } from './read.ts';

const CONTROL_WRITE = luaScript('control-write-n.lua');
const MAX_ATTEMPTS = 10;

export type WriteOutcome = { kind: 'moved'; event: ControlEvent; auditFileError?: string } | { kind: 'stayed'; why: string } | { kind: 'refused'; reason: string };

export interface WriterDeps {
  redis: RedisClient;
  keys: RedisKeys;
  log: Logger;
  clock: Clock;
  /** The kill-switch audit file (kill_events.jsonl). */
  auditFile: string;
  /** Where breaker transitions are counted (circuit_breaker_transitions_total); none for tools. */
  registry?: Registry;
}

interface Change {
  key: string;
  field: string;
  expected: string | null;
  set: Record<string, string | number>;
  del?: string[];
  audit?: Record<string, string | number>;
  event: ControlEvent;
}

type Decision = Change | { kind: 'stay'; why: string } | { kind: 'refused'; reason: string };

export interface Who {
  reason: string;
  by: string;
}

export class ControlWriter {
  private readonly transitions: Counter<'from' | 'to' | 'trigger'> | undefined;

  constructor(private readonly d: WriterDeps) {
    this.transitions = d.registry ? breakerTransitionCounter(d.registry) : undefined;
  }

  /** System-wide trading state: stop (HALTED/REDUCING), start, or the safety monitor's reduce-first. */
  async trading(command: TradingCommand, who: Who & { trigger?: string }): Promise<WriteOutcome> {
    const { keys } = this.d;
    return this.apply(async (): Promise<Decision> => {
      const raw = await this.d.redis.hget(keys.tradingState, 'state');
      const t = tradingTransition(tradingStateOf(raw ?? undefined), command);
      if (t.kind !== 'move') return t;
      const at = this.d.clock.now();
      const trigger = command.kind === 'start' ? '' : (who.trigger ?? 'stop-trading');
      const event: ControlEvent =
        command.kind === 'start'
          ? { type: 'TradingStarted', scope: 'system', reason: who.reason, by: who.by }
          : command.kind === 'reduce_first'
            ? { type: 'TradingReduced', reason: who.reason, by: who.by, trigger }
            : { type: 'TradingStopped', scope: 'system', state: command.state, reason: who.reason, by: who.by, trigger };
      return { key: keys.tradingState, field: 'state', expected: raw, set: { state: t.to, reason: who.reason, by: who.by, trigger, at }, event };
    });
  }

  /** The execution mode (DRY_RUN / PAPER) every executor obeys. */
  async executionMode(mode: ExecutionMode, who: Who): Promise<WriteOutcome> {
    const { keys } = this.d;
    return this.apply(async (): Promise<Decision> => {
      const raw = await this.d.redis.hget(keys.tradingState, 'mode');
      if (raw === mode) return { kind: 'stay', why: `execution mode is already ${mode}` };
      return {
        key: keys.tradingState,
        field: 'mode',
        expected: raw,
        set: { mode, mode_by: who.by, mode_at: this.d.clock.now() },
        event: { type: 'ExecutionModeChanged', mode, by: who.by },
      };
    });
  }

  /** The system kill switch. A reset obeys the second-operator rule. */
  async killSwitch(command: 'engage' | 'reset', who: Who & { trigger: string; requireSecondOperator?: boolean }): Promise<WriteOutcome> {
    const { keys } = this.d;
    return this.apply(async (): Promise<Decision> => {
      const h = await this.d.redis.hmget(keys.killSwitch, 'engaged', 'by');
      const raw = h[0] ?? null;
      const t = killSwitchTransition(raw === '1' ? 'ENGAGED' : 'DISENGAGED', { kind: command });
      if (t.kind !== 'move') return t;
      const at = this.d.clock.now();
      const audit = { action: command, reason: who.reason, by: who.by, trigger: who.trigger, scope: 'system', at };
      if (command === 'engage') {
        return {
          key: keys.killSwitch,
          field: 'engaged',
          expected: raw,
          set: { engaged: '1', reason: who.reason, by: who.by, trigger: who.trigger, scope: 'system', at },
          audit,
          event: { type: 'KillSwitchEngaged', scope: 'system', reason: who.reason, by: who.by, trigger: who.trigger },
        };
      }
      const allowed = resetAllowed(h[1] ?? '', who.by, who.requireSecondOperator ?? false);
      if (!allowed.ok) return { kind: 'refused', reason: allowed.reason };
      return {
        key: keys.killSwitch,
        field: 'engaged',
        expected: raw,
        set: { engaged: '0', reset_reason: who.reason, reset_by: who.by, reset_at: at },
        del: ['reason', 'by', 'trigger', 'at'],
        audit,
        event: { type: 'KillSwitchReset', scope: 'system', reason: who.reason, by: who.by },
      };
    });
  }

  /** A kill or stop scoped to one symbol or model (`scope` = "symbol:X" / "model:Y"). */
  async scope(scope: string, command: ScopeCommand, who: Who & { trigger?: string; requireSecondOperator?: boolean }): Promise<WriteOutcome> {
    const { keys } = this.d;
    return this.apply(async (): Promise<Decision> => {
      const raw = await this.d.redis.hget(keys.scopedControls, scope);
      const entry = raw === null ? undefined : parseScopedControls({ [scope]: raw })[scope];
      const t = scopeTransition(scope, scopeStateOf(entry), command);
      if (t.kind !== 'move') return t;
      if (command.kind === 'reset') {
        const allowed = resetAllowed(entry?.by ?? '', who.by, who.requireSecondOperator ?? false);
        if (!allowed.ok) return { kind: 'refused', reason: allowed.reason };
      }
      const at = this.d.clock.now();
      const kill = command.kind === 'kill' || command.kind === 'reset';
      const trigger = who.trigger ?? (kill ? 'manual' : 'stop-trading');
      const next = t.to;
      const value: ScopedControl | undefined =
        next.kind === 'none'
          ? undefined
          : { state: next.kind === 'killed' ? 'HALTED' : next.state, kind: next.kind === 'killed' ? 'kill' : 'stop', reason: who.reason, by: who.by, at, trigger };
      const event: ControlEvent =
        command.kind === 'kill'
          ? { type: 'KillSwitchEngaged', scope, reason: who.reason, by: who.by, trigger }
          : command.kind === 'reset'
            ? { type: 'KillSwitchReset', scope, reason: who.reason, by: who.by }
            : command.kind === 'stop'
              ? { type: 'TradingStopped', scope, state: command.state, reason: who.reason, by: who.by, trigger }
              : { type: 'TradingStarted', scope, reason: who.reason, by: who.by };
      return {
        key: keys.scopedControls,
        field: scope,
        expected: raw,
        set: value ? { [scope]: JSON.stringify(value) } : {},
        ...(value ? {} : { del: [scope] }),
        ...(kill ? { audit: { action: command.kind === 'kill' ? 'engage' : 'reset', reason: who.reason, by: who.by, trigger, scope, at } } : {}),
        event,
      };
    });
  }

  /** Freeze or resume model switching everywhere. */
  async router(paused: boolean, who: Who): Promise<WriteOutcome> {
    const { keys } = this.d;
    return this.apply(async (): Promise<Decision> => {
      const raw = await this.d.redis.hget(keys.routerControl, 'paused');
      if ((raw === '1') === paused) return { kind: 'stay', why: paused ? 'the router is already paused' : 'the router is not paused' };
      return {
        key: keys.routerControl,
        field: 'paused',
        expected: raw,
        set: { paused: paused ? '1' : '0', by: who.by, reason: who.reason, at: this.d.clock.now() },
        event: paused ? { type: 'RouterPaused', reason: who.reason, by: who.by } : { type: 'RouterResumed', reason: who.reason, by: who.by },
      };
    });
  }

  /** An operator Kelly fraction (emergency reduce), or none (cleared). */
  async kellyOverride(kellyFraction: number | null, who: Who): Promise<WriteOutcome> {
    const { keys } = this.d;
    return this.apply(async (): Promise<Decision> => {
      const raw = await this.d.redis.hget(keys.kellyOverride, 'kelly_fraction');
      if (kellyFraction === null) {
        if (raw === null) return { kind: 'stay', why: 'no Kelly override is set' };
        return {
          key: keys.kellyOverride,
          field: 'kelly_fraction',
          expected: raw,
          set: {},
          del: ['kelly_fraction', 'reason', 'by', 'at'],
          event: { type: 'KellyOverrideCleared', reason: who.reason, by: who.by },
        };
      }
      return {
        key: keys.kellyOverride,
        field: 'kelly_fraction',
        expected: raw,
        set: { kelly_fraction: kellyFraction, reason: who.reason, by: who.by, at: this.d.clock.now() },
        event: { type: 'KellyOverridden', kellyFraction, reason: who.reason, by: who.by },
      };
    });
  }

  /**
   * Move the shared breaker if the move still applies (breaker.ts: a trip
   * from CLOSED or HALF_OPEN, a probation or probe failure only within the
   * HALF_OPEN episode that began at `enteredAt`), logged (`breaker.transition`)
   * and counted (`circuit_breaker_transitions_total`) when it moved.
   */
  async moveBreaker(move: BreakerMove, by: string, enteredAt?: number): Promise<TransitionOutcome & { transition: BreakerTransition }> {
    const transition = transitionFor(move);
    const outcome = await applyBreakerTransition(this.d.redis, this.d.keys, transition, by, this.d.clock.now(), enteredAt);
    if (outcome.moved) {
      const trigger = breakerTrigger(transition.cause);
      this.transitions?.inc({ from: outcome.previous, to: transition.to, trigger });
      const line = { event: 'breaker.transition', from: outcome.previous, to: transition.to, trigger, cause: transition.cause, by };
      const msg = `circuit breaker ${outcome.previous} -> ${transition.to}: ${transition.cause}`;
      if (transition.to === 'OPEN') this.d.log.error(line, msg);
      else this.d.log.warn(line, msg);
    }
    return { ...outcome, transition };
  }

  private async apply(decide: () => Promise<Decision>): Promise<WriteOutcome> {
    const { redis, keys } = this.d;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const c = await decide();
      if ('kind' in c) return c.kind === 'stay' ? { kind: 'stayed', why: c.why } : { kind: 'refused', reason: c.reason };
      const flat = (r: Record<string, string | number>): string[] => Object.entries(r).flatMap(([k, v]) => [k, String(v)]);
      const set = flat(c.set);
      const del = c.del ?? [];
      const audit = c.audit ? flat(c.audit) : [];
      const message = JSON.stringify({ event: c.event.type, key: c.key, at: this.d.clock.now(), ...c.event });
      const args = [
        c.field,
        c.expected === null ? '0' : '1',
        c.expected ?? '',
        set.length / 2,
        ...set,
        del.length,
        ...del,
        audit.length / 2,
        ...audit,
        keys.controlEvents,
        message,
      ];
      // The audit stream is named only when it is written: a role without rights on it (the strategist) can still pause the router.
      const res = (await runLua(redis, CONTROL_WRITE, c.audit ? [c.key, keys.killSwitchAudit] : [c.key], args)) as [number, string | null];
      if (res[0] !== 1) continue; // changed since it was read: decide again on the new state
      const line = controlLogLine(c.event);
      const fields = { event: line.event, ...c.event };
      this.d.log[line.level](fields, line.msg);
      let auditFileError: string | undefined;
      if (c.audit) {
        try {
          await appendJsonl(this.d.auditFile, { ...c.audit, timestamp: new Date(Number(c.audit['at'])).toISOString() });
        } catch (err) {
          auditFileError = `${this.d.auditFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
          this.d.log.error(
            { event: 'kill_switch.audit_file_failed', scope: c.audit['scope'], err: auditFileError },
            `kill-switch audit file not written (${auditFileError}); the event is in Redis (control:kill_switch:audit)`,
          );
        }
      }
      return { kind: 'moved', event: c.event, ...(auditFileError ? { auditFileError } : {}) };
    }
    throw new Error(`control write kept conflicting after ${MAX_ATTEMPTS} attempts`);
  }
}

export async function appendJsonl(file: string, record: object): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const fh = await open(file, 'a');
  try {
    await fh.write(`${JSON.stringify(record)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const counters = new WeakMap<Registry, Counter<'from' | 'to' | 'trigger'>>();
function breakerTransitionCounter(registry: Registry): Counter<'from' | 'to' | 'trigger'> {
  let c = counters.get(registry);
  if (!c) {
    c = new Counter({
      name: 'circuit_breaker_transitions_total',
      help: 'Shared circuit breaker transitions made by this instance',
      labelNames: ['from', 'to', 'trigger'],
      registers: [registry],
    });
    counters.set(registry, c);
  }
  return c;
}
