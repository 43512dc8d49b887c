/**
 * POST /api/risk/refresh-volatility ends here: recompute each symbol's EWMA
 * volatility from the ticks still in market_events and store it.
 */
import type { RedisClient } from '../core/redis/connect.ts';
import type { RiskHarmoniserConfig } from '../core/config/schemas.ts';
import { dailyVolOf, volFromPrices } from '../core/domain/volatility.ts';
import { fieldsFromArray } from '../core/messages.ts';
import type { ServiceContext } from '../core/service.ts';
import { parseRiskState } from './on-signals.ts';

export async function refreshVolatility(ctx: ServiceContext, conn: RedisClient, cfg: RiskHarmoniserConfig, maxTicks = 20_000): Promise<number> {
  const raw = (await ctx.redis.xrevrange(ctx.keys.marketEvents, '+', '-', 'COUNT', maxTicks)) as [string, string[]][];
  const bySymbol = new Map<string, { price: number; ts: number }[]>();
  for (let i = raw.length - 1; i >= 0; i--) {
    const f = fieldsFromArray(raw[i]![1]);
    const bid = Number(f['bid']);
    const ask = Number(f['ask']);
    const ts = Number(f['ts']);
    const symbol = f['symbol'];
    if (!symbol || !(bid > 0) || !(ask > 0) || !Number.isFinite(ts)) continue;
    let list = bySymbol.get(symbol);
    if (!list) bySymbol.set(symbol, (list = []));
    list.push({ price: (bid + ask) / 2, ts });
  }
  for (const [symbol, prices] of bySymbol) {
    const vol = volFromPrices(prices, cfg.volatility.ewma_lambda, cfg.volatility.initial_daily_vol_pct, cfg.volatility.seconds_per_day);
    const key = ctx.keys.riskState(symbol);
    for (let attempt = 0; attempt < 10; attempt++) {
      await conn.watch(key);
      const st = parseRiskState(await conn.get(key), cfg);
      st.vol = vol;
      const res = await conn
        .multi()
        .set(key, JSON.stringify(st))
        .hset(ctx.keys.volatilityEstimates, symbol, (dailyVolOf(vol, cfg.volatility.seconds_per_day) * 100).toFixed(6))
        .exec();
      if (res !== null) break;
    }
  }
  return bySymbol.size;
}
