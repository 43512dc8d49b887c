/**
 * Reading the control plane: its hashes decoded into a ControlSnapshot
 * (core/domain/control-state.ts). Values that cannot be read decode to the
 * safe side (an unreadable scoped control counts as HALTED, an unknown
 * breaker state as CLOSED only when the hash has none).
 */
import type { BreakerState } from '../domain/breaker.ts';
import type { ControlSnapshot, ExecutionMode, TradingState } from '../domain/control-state.ts';
import { parseScopedControls } from '../domain/scopes.ts';
import type { RedisClient } from '../redis/connect.ts';
import type { RedisKeys } from '../redis/keys.ts';

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

export interface ControlHashes {
  trading: Record<string, string>;
  killSwitch: Record<string, string>;
  breaker: Record<string, string>;
  router: Record<string, string>;
  kellyOverride: Record<string, string>;
  halfOpenOrders: string | null;
  scoped: Record<string, string>;
}

/** Pure: the hashes as Redis returns them → a snapshot. */
export function decodeControl(h: ControlHashes, now: number, defaultMode: ExecutionMode): ControlSnapshot {
  const { trading: t, killSwitch: k, breaker: b, router: r, kellyOverride: o } = h;
  return {
    known: true,
    readAt: now,
    trading: {
      state: tradingStateOf(t['state']),
      reason: t['reason'] ?? '',
      by: t['by'] ?? '',
      at: num(t['at']),
      mode: executionModeOf(t['mode'] ?? defaultMode),
      trigger: t['trigger'] ?? '',
    },
    killSwitch: { engaged: k['engaged'] === '1', reason: k['reason'] ?? '', by: k['by'] ?? '', at: num(k['at']), trigger: k['trigger'] ?? '' },
    breaker: { state: breakerStateOf(b['state']), cause: b['cause'] ?? '', at: num(b['at']), halfOpenOrders: num(h.halfOpenOrders ?? undefined), seq: num(b['seq']) },
    router: { paused: r['paused'] === '1', by: r['by'] ?? '', at: num(r['at']), reason: r['reason'] ?? '' },
    kellyOverride: o['kelly_fraction'] !== undefined ? { kellyFraction: num(o['kelly_fraction']), reason: o['reason'] ?? '', by: o['by'] ?? '', at: num(o['at']) } : null,
    scoped: parseScopedControls(h.scoped),
  };
}

/** `defaultMode`: the execution mode when none is stored (settings.executionMode). */
export async function readControl(redis: RedisClient, keys: RedisKeys, now: number, defaultMode: ExecutionMode = 'PAPER'): Promise<ControlSnapshot> {
  const [trading, killSwitch, breaker, router, kellyOverride, halfOpenOrders, scoped] = await Promise.all([
    redis.hgetall(keys.tradingState),
    redis.hgetall(keys.killSwitch),
    redis.hgetall(keys.breaker),
    redis.hgetall(keys.routerControl),
    redis.hgetall(keys.kellyOverride),
    redis.get(keys.breakerHalfOpenOrders),
    redis.hgetall(keys.scopedControls),
  ]);
  return decodeControl({ trading, killSwitch, breaker, router, kellyOverride, halfOpenOrders, scoped }, now, defaultMode);
}
