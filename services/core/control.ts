/**
 * The control plane shared by every instance through Redis: trading state,
 * kill switch, circuit breaker, router pause and the operator Kelly override.
 *
 * Writers change the hash and PUBLISH on `control.events` in one
 * transaction; every instance keeps a snapshot, refreshed on each event and
 * re-read every second so a missed message cannot leave it behind. A
 * snapshot that could not be read is `known: false`, and order paths treat
 * that as closed (fail safe).
 */
import type { RedisClient } from './redis/connect.ts';
import { z } from 'zod';
import { breakerTrigger, transitionFor, type BreakerMove, type BreakerState, type BreakerTransition } from './domain/breaker.ts';
import { parseScopedControls, type ScopedControls } from './domain/scopes.ts';
import { Counter, type Registry } from './metrics.ts';
import { applyBreakerTransition, type TransitionOutcome } from './redis/breaker-scripts.ts';
import type { RedisKeys } from './redis/keys.ts';
import type { BaseContext } from './service.ts';

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
  /** Kills and stops scoped to one symbol or model (core/domain/scopes.ts). */
  scoped: ScopedControls;
}

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

const num = (v: string | undefined, d = 0): number => (v !== undefined && Number.isFinite(Number(v)) ? Number(v) : d);

export function tradingStateOf(v: string | undefined): TradingState {
  return v === 'REDUCING' || v === 'HALTED' ? v : 'ACTIVE';
}
export function breakerStateOf(v: string | undefined): BreakerState {
  return v === 'OPEN' || v === 'HALF_OPEN' ? v : 'CLOSED';
}
export function executionModeOf(v: string | undefined): ExecutionMode {
  return v === 'DRY_RUN' || v === 'LIVE' ? v : 'PAPER';
}

/** `defaultMode`: the execution mode when none is stored (settings.executionMode). */
export async function readControl(redis: RedisClient, keys: RedisKeys, now: number, defaultMode: ExecutionMode = 'PAPER'): Promise<ControlSnapshot> {
  const res = await redis
    .pipeline()
    .hgetall(keys.tradingState)
    .hgetall(keys.killSwitch)
    .hgetall(keys.breaker)
    .hgetall(keys.routerControl)
    .hgetall(keys.kellyOverride)
    .get(keys.breakerHalfOpenOrders)
    .hgetall(keys.scopedControls)
    .exec();
  if (!res || res.some(([err]) => err)) throw new Error('control state read failed');
  const halfOpenOrders = num((res[5]?.[1] as string | null) ?? undefined);
  const [t, k, b, r, o] = res.slice(0, 5).map(([, v]) => v as Record<string, string>) as [
    Record<string, string>,
    Record<string, string>,
    Record<string, string>,
    Record<string, string>,
    Record<string, string>,
  ];
  return {
    known: true,
    readAt: now,
    trading: { state: tradingStateOf(t['state']), reason: t['reason'] ?? '', by: t['by'] ?? '', at: num(t['at']), mode: executionModeOf(t['mode'] ?? defaultMode), trigger: t['trigger'] ?? '' },
    killSwitch: { engaged: k['engaged'] === '1', reason: k['reason'] ?? '', by: k['by'] ?? '', at: num(k['at']), trigger: k['trigger'] ?? '' },
    breaker: { state: breakerStateOf(b['state']), cause: b['cause'] ?? '', at: num(b['at']), halfOpenOrders, seq: num(b['seq']) },
    router: { paused: r['paused'] === '1', by: r['by'] ?? '', at: num(r['at']), reason: r['reason'] ?? '' },
    kellyOverride: o['kelly_fraction'] !== undefined ? { kellyFraction: num(o['kelly_fraction']), reason: o['reason'] ?? '', by: o['by'] ?? '', at: num(o['at']) } : null,
    scoped: parseScopedControls((res[6]?.[1] as Record<string, string> | undefined) ?? {}),
  };
}

/**
 * Change a control hash and notify every instance, atomically. Returns false
 * when a WATCH the caller set on this connection aborted the transaction.
 */
export async function writeControl(
  redis: RedisClient,
  keys: RedisKeys,
  key: string,
  fields: Record<string, string | number>,
  event: string,
  extra?: (tx: ReturnType<RedisClient['multi']>) => void,
): Promise<boolean> {
  const tx = redis.multi().hset(key, fields);
  extra?.(tx);
  tx.publish(keys.controlEvents, JSON.stringify({ event, key, at: Date.now() }));
  const res = await tx.exec();
  if (res === null) return false;
  if (res.some(([err]) => err)) throw new Error(`control write to ${key} failed`);
  return true;
}

/** Keeps an up-to-date ControlSnapshot in memory. */
/** The breaker part of a transition's control.events message (core/redis/breaker-scripts.ts). */
const breakerEventSchema = z.object({
  breaker: z.object({ state: z.string(), cause: z.string(), at: z.union([z.string(), z.number()]), seq: z.number().int().positive() }),
});

export class ControlWatcher {
  private current: ControlSnapshot = UNKNOWN_CONTROL;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: ((s: ControlSnapshot, prev: ControlSnapshot) => void)[] = [];
  private refreshing: Promise<void> | undefined;
  private pending = false;
  /** Breaker transitions applied from messages, to spot a read that raced one. */
  private breakerEvents = 0;

  /**
   * refreshMs: the periodic re-read (CONTROL_REFRESH_MS, default 1 s); maxAgeMs: a snapshot not
   * refreshed for this long reads as unknown (CONTROL_MAX_AGE_MS, default 5 s; keep it above refreshMs).
   */
  private readonly maxAgeMs: number;
  private readonly refreshMs: number;
  constructor(private readonly ctx: BaseContext) {
    this.maxAgeMs = ctx.settings.controlMaxAgeMs;
    this.refreshMs = ctx.settings.controlRefreshMs;
  }

  /** The latest snapshot; if it is older than maxAgeMs (Redis unreachable), the unknown (closed) one. */
  get snapshot(): ControlSnapshot {
    if (!this.current.known || this.ctx.clock.now() - this.current.readAt > this.maxAgeMs) return { ...UNKNOWN_CONTROL, readAt: this.current.readAt };
    return this.current;
  }

  /** Call `listener` after every refresh; returns the unsubscribe function. */
  onChange(listener: (s: ControlSnapshot, prev: ControlSnapshot) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  async start(): Promise<void> {
    const sub = this.ctx.connection('control-subscriber');
    sub.on('message', (_channel: string, message: string) => {
      this.applyBreakerEvent(message);
      void this.refresh();
    });
    await sub.subscribe(this.ctx.keys.controlEvents);
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Move the shared breaker from this instance, if the move still applies
   * (core/domain/breaker.ts: a trip from CLOSED or HALF_OPEN, a probation or
   * probe failure only within the HALF_OPEN episode that began at
   * `enteredAt`), then refresh the local snapshot at once. Returns whether it
   * moved. A failed write is logged; the snapshot keeps the old state, and
   * an unreadable control plane fails closed anyway.
   */
  async moveBreaker(move: BreakerMove, enteredAt?: number): Promise<boolean> {
    const transition = transitionFor(move);
    try {
      const outcome = await applyBreakerTransition(this.ctx.redis, this.ctx.keys, transition, this.ctx.instance, this.ctx.clock.now(), enteredAt);
      if (outcome.moved) recordBreakerTransition(this.ctx, transition, outcome, this.ctx.instance);
      await this.refresh();
      return outcome.moved;
    } catch (err) {
      this.ctx.log.error({ event: 'breaker.write_failed', state: transition.to, cause: transition.cause, err: String(err) }, `could not move the breaker to ${transition.to}`);
      return false;
    }
  }

  /**
   * A breaker transition's message carries the new state and its `seq`:
   * apply it at once, before the re-read confirms it (one hop instead of two).
   */
  private applyBreakerEvent(message: string): void {
    if (!this.current.known || !message.includes('"breaker"')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    const event = breakerEventSchema.safeParse(parsed);
    if (!event.success) return;
    const b = event.data.breaker;
    const seq = b.seq;
    if (seq <= this.current.breaker.seq) return;
    const prev = this.current;
    this.breakerEvents++;
    this.current = { ...prev, breaker: { state: breakerStateOf(b.state), cause: b.cause, at: num(String(b.at)), halfOpenOrders: 0, seq } };
    for (const l of this.listeners) l(this.current, prev);
  }

  /** Re-read now; concurrent calls coalesce into at most one extra read. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.pending = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.pending = false;
        try {
          const applied = this.breakerEvents;
          let next = await readControl(this.ctx.redis, this.ctx.keys, this.ctx.clock.now(), this.ctx.settings.executionMode);
          const prev = this.current;
          // A read sent before a transition's message arrived must not undo it (the
          // message also queued another read, which will be current).
          if (applied !== this.breakerEvents && prev.known && next.breaker.seq < prev.breaker.seq) next = { ...next, breaker: prev.breaker };
          this.current = next;
          for (const l of this.listeners) l(next, prev);
        } catch (err) {
          this.ctx.log.warn({ event: 'control.read_failed', err: String(err) }, 'control state read failed; treating as closed');
        }
      } while (this.pending);
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }
}

/** Set the shared breaker to a state whatever it is now (drills, tests, benchmarks), recorded in the transitions stream. */
export async function setBreakerState(redis: RedisClient, keys: RedisKeys, state: BreakerState, cause: string, by: string, now: number): Promise<void> {
  await applyBreakerTransition(redis, keys, transitionFor({ kind: 'force', to: state, cause }), by, now);
}

const transitionCounters = new WeakMap<Registry, Counter<'from' | 'to' | 'trigger'>>();

/** Log (`breaker.transition`) and count (`circuit_breaker_transitions_total`) a transition this instance made. */
export function recordBreakerTransition(ctx: BaseContext, transition: BreakerTransition, outcome: TransitionOutcome, by: string): void {
  let counter = transitionCounters.get(ctx.registry);
  if (!counter) {
    counter = new Counter({ name: 'circuit_breaker_transitions_total', help: 'Shared circuit breaker transitions made by this instance', labelNames: ['from', 'to', 'trigger'], registers: [ctx.registry] });
    transitionCounters.set(ctx.registry, counter);
  }
  const trigger = breakerTrigger(transition.cause);
  counter.inc({ from: outcome.previous, to: transition.to, trigger });
  const line = { event: 'breaker.transition', from: outcome.previous, to: transition.to, trigger, cause: transition.cause, by };
  const msg = `circuit breaker ${outcome.previous} -> ${transition.to}: ${transition.cause}`;
  if (transition.to === 'OPEN') ctx.log.error(line, msg);
  else ctx.log.warn(line, msg);
}

/** What an instance reports with its heartbeat: the control state as it sees it. */
export function controlStatus(s: ControlSnapshot): Record<string, unknown> {
  if (!s.known) return { known: false };
  const scoped = Object.keys(s.scoped);
  return {
    known: true,
    trading: s.killSwitch.engaged ? 'HALTED' : s.trading.state,
    kill_switch: s.killSwitch.engaged,
    breaker: s.breaker.state,
    mode: s.trading.mode,
    ...(scoped.length > 0 ? { scoped } : {}),
    ...(s.router.paused ? { router_paused: true } : {}),
  };
}
