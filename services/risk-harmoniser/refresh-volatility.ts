/**
 * POST /api/risk/refresh-volatility ends here: recompute each symbol's EWMA
 * volatility from recent market_events and store it, without starving
 * anything else:
 *
 * - one refresh at a time in the whole deployment: web takes the request
 *   lock (keys.volRefresh, PX), one risk-harmoniser claims the work
 *   (keys.volRefreshWorker, SET NX PX) and the others ignore the message;
 * - a bounded window (volatility.refresh_window_ms, refresh_max_ticks), read
 *   newest first in chunks of CHUNK entries, yielding to the event loop
 *   between chunks, so heartbeats and batches go on and Redis never serves
 *   one huge read;
 * - the same decoding and checks as the pipeline (domain/estimate-volatility.ts).
 *
 * The outcome (symbols, ticks used and refused, duration) is kept in
 * keys.volRefreshLast and logged.
 */
import type { ConfigHolder } from '../core/config/reloader.ts';
import type { InstrumentsConfig, RiskHarmoniserConfig } from '../core/config/schemas.ts';
import { universeOf } from '../core/config/instruments.ts';
import { dailyVolOf } from '../core/domain/volatility.ts';
import type { RedisClient } from '../core/redis/connect.ts';
import type { ServiceContext } from '../core/service.ts';
import { estimateVolatility, type Estimate } from './domain/estimate-volatility.ts';
import { parseRiskState } from './on-signals.ts';

export const CHUNK = 1_000;
export const WORKER_LOCK_MS = 120_000;

export interface RefreshOutcome {
  id: string;
  symbols: number;
  ticks_used: number;
  ticks_refused: Estimate['refused'];
  duration_ms: number;
}

/** Handle one request message; undefined when another replica took it or it is stale. */
export async function refreshVolatility(
  ctx: ServiceContext,
  conn: RedisClient,
  risk: ConfigHolder<RiskHarmoniserConfig>,
  instruments: ConfigHolder<InstrumentsConfig>,
  id: string,
): Promise<RefreshOutcome | undefined> {
  const { keys } = ctx;
  if (requestIdOf(await ctx.redis.get(keys.volRefresh)) !== id) return undefined;
  if ((await ctx.redis.set(keys.volRefreshWorker, ctx.instance, 'PX', WORKER_LOCK_MS, 'NX')) === null) return undefined;
  const started = performance.now();
  try {
    const cfg = risk.current;
    const now = ctx.clock.now();
    const minId = `${Math.max(0, now - cfg.volatility.refresh_window_ms)}-0`;
    const entries: [string, string[]][] = [];
    let end = '+';
    while (entries.length < cfg.volatility.refresh_max_ticks) {
      const count = Math.min(CHUNK, cfg.volatility.refresh_max_ticks - entries.length);
      const chunk = (await ctx.redis.xrevrange(keys.marketEvents, end, minId, 'COUNT', count)) as [string, string[]][];
      if (chunk.length === 0) break;
      entries.push(...chunk);
      end = `(${chunk[chunk.length - 1]![0]}`;
      await new Promise<void>((r) => setImmediate(r));
    }
    const lastPrices: Record<string, number> = {};
    for (const [s, p] of Object.entries(await ctx.redis.hgetall(keys.riskPrices))) lastPrices[s] = Number(p);
    const estimate = estimateVolatility(entries, universeOf(instruments), instruments.current.market_data, lastPrices, {
      lambda: cfg.volatility.ewma_lambda,
      initialDailyVolPct: cfg.volatility.initial_daily_vol_pct,
      secondsPerDay: cfg.volatility.seconds_per_day,
    });
    for (const [symbol, vol] of estimate.vols) {
      const key = keys.riskState(symbol);
      for (let attempt = 0; attempt < 10; attempt++) {
        await conn.watch(key);
        const st = parseRiskState(await conn.get(key), cfg, key, (k, reason) => ctx.log.error({ event: 'state.unreadable', key: k, reason }, `${reason}: rebuilt`));
        st.vol = vol;
        const res = await conn
          .multi()
          .set(key, JSON.stringify(st))
          .hset(keys.volatilityEstimates, symbol, (dailyVolOf(vol, cfg.volatility.seconds_per_day) * 100).toFixed(6))
          .exec();
        if (res !== null) break;
      }
      await new Promise<void>((r) => setImmediate(r));
    }
    const outcome: RefreshOutcome = {
      id,
      symbols: estimate.vols.size,
      ticks_used: estimate.accepted,
      ticks_refused: estimate.refused,
      duration_ms: Math.round(performance.now() - started),
    };
    await ctx.redis
      .multi()
      .hset(keys.volRefreshLast, { ...outcome, ticks_refused: JSON.stringify(outcome.ticks_refused), by: ctx.instance, at: ctx.clock.now() })
      .del(keys.volRefresh)
      .exec();
    return outcome;
  } catch (err) {
    // A failed refresh must not block the next request for the lock's lifetime.
    if (requestIdOf(await ctx.redis.get(keys.volRefresh).catch(() => null)) === id) await ctx.redis.del(keys.volRefresh).catch(() => undefined);
    throw err;
  } finally {
    await ctx.redis.del(keys.volRefreshWorker).catch(() => undefined);
  }
}

function requestIdOf(raw: string | null): string | undefined {
  if (raw === null) return undefined;
  try {
    const v = JSON.parse(raw) as { id?: unknown };
    return typeof v.id === 'string' ? v.id : undefined;
  } catch {
    return undefined;
  }
}
