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
import type { Redis } from 'ioredis';
import { parseScopedControls, type ScopedControls } from './domain/scopes.ts';
import type { RedisKeys } from './redis/keys.ts';
import type { ServiceContext } from './service.ts';

export type TradingState = 'ACTIVE' | 'REDUCING' | 'HALTED';
export type BreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';
export type ExecutionMode = 'DRY_RUN' | 'PAPER' | 'LIVE';

export interface ControlSnapshot {
  known: boolean;
  readAt: number;
  trading: { state: TradingState; reason: string; by: string; at: number; mode: ExecutionMode; trigger: string };
  killSwitch: { engaged: boolean; reason: string; by: string; at: number; trigger: string };
  breaker: { state: BreakerState; cause: string; at: number; halfOpenOrders: number };
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
  breaker: { state: 'OPEN', cause: 'control state unknown', at: 0, halfOpenOrders: 0 },
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

export async function readControl(redis: Redis, keys: RedisKeys, now: number): Promise<ControlSnapshot> {
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
    trading: { state: tradingStateOf(t['state']), reason: t['reason'] ?? '', by: t['by'] ?? '', at: num(t['at']), mode: executionModeOf(t['mode'] ?? process.env['EXECUTION_MODE']), trigger: t['trigger'] ?? '' },
    killSwitch: { engaged: k['engaged'] === '1', reason: k['reason'] ?? '', by: k['by'] ?? '', at: num(k['at']), trigger: k['trigger'] ?? '' },
    breaker: { state: breakerStateOf(b['state']), cause: b['cause'] ?? '', at: num(b['at']), halfOpenOrders },
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
  redis: Redis,
  keys: RedisKeys,
  key: string,
  fields: Record<string, string | number>,
  event: string,
  extra?: (tx: ReturnType<Redis['multi']>) => void,
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
export class ControlWatcher {
  private current: ControlSnapshot = UNKNOWN_CONTROL;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: ((s: ControlSnapshot, prev: ControlSnapshot) => void)[] = [];
  private refreshing: Promise<void> | undefined;
  private pending = false;

  /**
   * refreshMs: the periodic re-read (CONTROL_REFRESH_MS, default 1 s); maxAgeMs: a snapshot not
   * refreshed for this long reads as unknown (CONTROL_MAX_AGE_MS, default 5 s; keep it above refreshMs).
   */
  constructor(
    private readonly ctx: ServiceContext,
    private readonly maxAgeMs = Number(process.env['CONTROL_MAX_AGE_MS'] ?? 5_000),
    private readonly refreshMs = Number(process.env['CONTROL_REFRESH_MS'] ?? 1_000),
  ) {}

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
    sub.on('message', () => void this.refresh());
    await sub.subscribe(this.ctx.keys.controlEvents);
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Move the shared breaker, written by this instance, then refresh the local
   * snapshot at once; a failed write is logged (the snapshot keeps the old
   * state, and an unreadable control plane fails closed anyway).
   */
  moveBreaker(state: BreakerState, cause: string): Promise<void> {
    return setBreakerState(this.ctx.redis, this.ctx.keys, state, cause, this.ctx.instance, this.ctx.clock.now())
      .then(() => this.refresh())
      .catch((err: unknown) => this.ctx.log.error({ event: 'breaker.write_failed', state, err: String(err) }, `could not move the breaker to ${state}`));
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
          const next = await readControl(this.ctx.redis, this.ctx.keys, this.ctx.clock.now());
          const prev = this.current;
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

/** Move the shared breaker to a state, with its cause, recorded in the transitions stream. */
export async function setBreakerState(redis: Redis, keys: RedisKeys, state: BreakerState, cause: string, by: string, now: number): Promise<void> {
  await writeControl(redis, keys, keys.breaker, { state, cause, by, at: now }, `breaker.${state.toLowerCase()}`, (tx) => {
    tx.set(keys.breakerHalfOpenOrders, '0');
    tx.xadd(keys.breakerEvents, 'MAXLEN', '~', 10_000, '*', 'state', state, 'cause', cause, 'by', by, 'at', String(now));
  });
}
