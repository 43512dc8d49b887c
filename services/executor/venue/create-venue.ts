/**
 * The venue an executor trades on, from its settings: the paper venue
 * (default), or a live exchange through ccxt when VENUE names one (the
 * settings module has already refused a live venue without credentials and
 * LIVE_TRADING_CONFIRM). ccxt is loaded only for a live venue: it is most of
 * an executor's memory (RSS 286 MB with it, measured idle; see
 * docs/benchmarks.md), and the paper venue does not need it.
 */
import type { ConfigHolder } from '../../core/config/reloader.ts';
import type { InstrumentsConfig, RiskHarmoniserConfig } from '../../core/config/schemas.ts';
import type { ServiceContext } from '../../core/context.ts';
import { PaperVenue } from './paper-venue.ts';
import type { Venue } from './venue.ts';

export async function createVenue(ctx: ServiceContext, config: ConfigHolder<RiskHarmoniserConfig>, instruments: ConfigHolder<InstrumentsConfig>): Promise<Venue> {
  const v = ctx.settings.venue;
  if (v.name !== 'paper') {
    const { CcxtVenue } = await import('./ccxt-venue.ts');
    return new CcxtVenue({
      exchange: v.name,
      apiKey: v.apiKey ?? '',
      secret: v.secret ?? '',
      url: v.url,
      timeoutMs: v.timeoutMs,
      symbols: () => Object.fromEntries(Object.entries(instruments.current.symbols).flatMap(([s, spec]) => (spec.venue_symbol ? [[s, spec.venue_symbol]] : []))),
    });
  }
  return new PaperVenue({
    redis: ctx.redis,
    keys: ctx.keys,
    clock: ctx.clock,
    params: () => {
      const e = config.current.execution;
      return {
        takerBps: e.fees.taker_bps,
        makerBps: e.fees.maker_bps,
        impactBpsPer100k: e.paper.impact_bps_per_100k_usd,
        partialFillRatio: e.paper.partial_fill_ratio,
        seed: e.paper.seed,
        latencyMs: e.paper.latency_ms,
      };
    },
    symbols: () => Object.keys(instruments.current.symbols),
    failRate: ctx.settings.paper.failRate,
    extraLatencyMs: ctx.settings.paper.latencyMs,
    log: ctx.log,
  });
}
