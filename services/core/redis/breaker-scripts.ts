/**
 * The shared breaker's writes, each one atomic Lua script, so a check and the
 * write it allows cannot be split by another instance:
 *
 * - `applyBreakerTransition`: move the breaker only if it is still in one of
 *   the transition's `from` states (and in the same HALF_OPEN episode when
 *   the move belongs to one); bump its `seq`, reset the HALF_OPEN order
 *   count and the probe lease, append the transition to the events stream
 *   and PUBLISH it with the new state, so instances apply it without a read.
 * - `reserveProbe` / `releaseProbe`: one HALF_OPEN test order at a time in
 *   the whole deployment. The lease (owner = client order id, with a TTL so a
 *   dead instance cannot hold it) and the order count are taken together, so
 *   the count cap holds across replicas before any order reaches the venue.
 */
import type { RedisClient } from './connect.ts';
import type { BreakerState, BreakerTransition } from '../domain/breaker.ts';
import type { RedisKeys } from './keys.ts';
import { luaScript, runLua } from './lua-scripts.ts';

const TRANSITION = luaScript('breaker-transition-4.lua');
const RESERVE = luaScript('breaker-reserve-3.lua');
const RELEASE = luaScript('breaker-release-1.lua');

const stateOf = (v: unknown): BreakerState => (v === 'OPEN' || v === 'HALF_OPEN' ? v : 'CLOSED');

export interface TransitionOutcome {
  moved: boolean;
  /** The state before (the current one when not moved). */
  previous: BreakerState;
}

/**
 * Apply a transition. `enteredAt` is the breaker's `at` of the HALF_OPEN
 * episode a move belongs to (required when `transition.episode`).
 */
export async function applyBreakerTransition(
  redis: RedisClient,
  keys: RedisKeys,
  transition: BreakerTransition,
  by: string,
  now: number,
  enteredAt?: number,
): Promise<TransitionOutcome> {
  if (transition.episode && enteredAt === undefined) throw new Error(`breaker move to ${transition.to} needs the episode it belongs to`);
  const event = `breaker.${transition.to.toLowerCase()}`;
  const res = (await runLua(
    redis,
    TRANSITION,
    [keys.breaker, keys.breakerHalfOpenOrders, keys.breakerEvents, keys.breakerProbe],
    [transition.from.join(','), transition.episode ? String(enteredAt) : '', transition.to, transition.cause, by, String(now), keys.controlEvents, event],
  )) as [number, string];
  return { moved: res[0] === 1, previous: stateOf(res[1]) };
}

export type ProbeReservation = { ok: true; orders: number } | { ok: false; why: 'not_half_open' | 'busy' | 'cap' };

/** Take the HALF_OPEN probe lease for `owner` (idempotent for the same owner) and count the order. */
export async function reserveProbe(redis: RedisClient, keys: RedisKeys, o: { enteredAt: number; maxOrders: number; owner: string; ttlMs: number }): Promise<ProbeReservation> {
  const res = (await runLua(
    redis,
    RESERVE,
    [keys.breaker, keys.breakerHalfOpenOrders, keys.breakerProbe],
    [String(o.enteredAt), o.maxOrders, o.owner, Math.max(1, Math.round(o.ttlMs))],
  )) as [number, string | number];
  if (res[0] === 1) return { ok: true, orders: Number(res[1]) };
  const why = res[1];
  return { ok: false, why: why === 'busy' || why === 'cap' ? why : 'not_half_open' };
}

/** Give the lease back if `owner` still holds it. */
export async function releaseProbe(redis: RedisClient, keys: RedisKeys, owner: string): Promise<void> {
  await runLua(redis, RELEASE, [keys.breakerProbe], [owner]);
}
