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

const TRANSITION_LUA = `
local cur = redis.call('HGET', KEYS[1], 'state')
if cur ~= 'OPEN' and cur ~= 'HALF_OPEN' then cur = 'CLOSED' end
if not string.find(',' .. ARGV[1] .. ',', ',' .. cur .. ',', 1, true) then return {0, cur} end
if ARGV[2] ~= '' and (redis.call('HGET', KEYS[1], 'at') or '') ~= ARGV[2] then return {0, cur} end
redis.call('HSET', KEYS[1], 'state', ARGV[3], 'cause', ARGV[4], 'by', ARGV[5], 'at', ARGV[6])
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('SET', KEYS[2], '0')
redis.call('DEL', KEYS[4])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', '10000', '*', 'state', ARGV[3], 'from', cur, 'cause', ARGV[4], 'by', ARGV[5], 'at', ARGV[6])
redis.call('PUBLISH', ARGV[7], cjson.encode({event = ARGV[8], key = KEYS[1], at = ARGV[6],
  breaker = {state = ARGV[3], cause = ARGV[4], by = ARGV[5], at = ARGV[6], seq = seq}}))
return {1, cur}`;

const RESERVE_LUA = `
if redis.call('HGET', KEYS[1], 'state') ~= 'HALF_OPEN' or (redis.call('HGET', KEYS[1], 'at') or '') ~= ARGV[1] then return {0, 'not_half_open'} end
local holder = redis.call('GET', KEYS[3])
if holder == ARGV[3] then return {1, tonumber(redis.call('GET', KEYS[2]) or '0')} end
if holder then return {0, 'busy'} end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[2]) then return {0, 'cap'} end
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
return {1, redis.call('INCR', KEYS[2])}`;

const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

type Script = (...args: (string | number)[]) => Promise<unknown>;
interface BreakerCommands {
  tpBreakerTransition: Script;
  tpBreakerReserve: Script;
  tpBreakerRelease: Script;
}

const defined = new WeakSet<RedisClient>();
function commands(redis: RedisClient): BreakerCommands {
  if (!defined.has(redis)) {
    redis.defineCommand('tpBreakerTransition', { numberOfKeys: 4, lua: TRANSITION_LUA });
    redis.defineCommand('tpBreakerReserve', { numberOfKeys: 3, lua: RESERVE_LUA });
    redis.defineCommand('tpBreakerRelease', { numberOfKeys: 1, lua: RELEASE_LUA });
    defined.add(redis);
  }
  return redis as unknown as BreakerCommands;
}

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
  const res = (await commands(redis).tpBreakerTransition(
    keys.breaker, keys.breakerHalfOpenOrders, keys.breakerEvents, keys.breakerProbe,
    transition.from.join(','), transition.episode ? String(enteredAt) : '', transition.to, transition.cause, by, String(now),
    keys.controlEvents, event,
  )) as [number, string];
  return { moved: res[0] === 1, previous: stateOf(res[1]) };
}

export type ProbeReservation = { ok: true; orders: number } | { ok: false; why: 'not_half_open' | 'busy' | 'cap' };

/** Take the HALF_OPEN probe lease for `owner` (idempotent for the same owner) and count the order. */
export async function reserveProbe(redis: RedisClient, keys: RedisKeys, o: { enteredAt: number; maxOrders: number; owner: string; ttlMs: number }): Promise<ProbeReservation> {
  const res = (await commands(redis).tpBreakerReserve(keys.breaker, keys.breakerHalfOpenOrders, keys.breakerProbe, String(o.enteredAt), o.maxOrders, o.owner, Math.max(1, Math.round(o.ttlMs)))) as [number, string | number];
  if (res[0] === 1) return { ok: true, orders: Number(res[1]) };
  const why = res[1];
  return { ok: false, why: why === 'busy' || why === 'cap' ? why : 'not_half_open' };
}

/** Give the lease back if `owner` still holds it. */
export async function releaseProbe(redis: RedisClient, keys: RedisKeys, owner: string): Promise<void> {
  await commands(redis).tpBreakerRelease(keys.breakerProbe, owner);
}
