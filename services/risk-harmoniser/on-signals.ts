/**
 * onSignals: strategy_signals → blend, size, VaR → risk.edge_blended.<symbol>,
 * metrics (hash + time series), volatility_estimates, order_intents.
 * Load (per-symbol risk state, WATCHed) → decide (pure) → persist → ack.
 */
import type { ConfigHolder } from '../core/config/reloader.ts';
import type { RiskHarmoniserConfig } from '../core/config/schemas.ts';
import type { ControlWatcher } from '../core/control.ts';
import { portfolioVarPct } from '../core/domain/size-position.ts';
import { encodeTarget, type Signal } from '../core/messages.ts';
import type { Gauge, Histogram, Counter } from '../core/metrics.ts';
import { METRIC_NAMES, type MetricName, type RedisKeys } from '../core/redis/keys.ts';
import type { BatchContext, StreamEntry, StreamHandler } from '../core/redis/streams.ts';
import type { TimeSeriesWriter } from '../core/redis/timeseries.ts';
import type { Clock } from '../core/clock.ts';
import { assessSymbol, initialRiskState, kellyInEffect, type RiskSymbolState } from './domain/assess-symbol.ts';

export interface RiskMetrics {
  edge: Gauge<'symbol'>;
  position: Gauge<'symbol'>;
  varPct: Gauge<'symbol'>;
  portfolioVar: Gauge;
  kelly: Gauge;
  tickToTarget: Histogram;
  varGuard: Counter;
}

export interface SignalHandlerDeps {
  keys: RedisKeys;
  clock: Clock;
  config: ConfigHolder<RiskHarmoniserConfig>;
  control: ControlWatcher;
  timeseries: TimeSeriesWriter;
  metrics: RiskMetrics;
  intentsMaxLen: number;
  /** Called after commit when portfolio VaR is above the breaker threshold. */
  onVarBreach(portfolioVar: number): void;
}

const EDGE_TTL_S = 300;

export function parseRiskState(raw: string | null | undefined, cfg: RiskHarmoniserConfig): RiskSymbolState {
  if (raw) {
    try {
      return JSON.parse(raw) as RiskSymbolState;
    } catch {
      // rebuilt below
    }
  }
  return initialRiskState(cfg);
}

export function createSignalHandler(deps: SignalHandlerDeps): StreamHandler<Signal> {
  let guardActive = false;
  return {
    watchKeys(entries) {
      return [...new Set(entries.map((e) => e.value.symbol))].map((s) => deps.keys.riskState(s));
    },
    readHashes: () => [deps.keys.varContributions],

    async handle(entries: readonly StreamEntry<Signal>[], { state, hashes, tx, afterCommit }: BatchContext): Promise<void> {
      const cfg = deps.config.current;
      const control = deps.control.snapshot;
      const now = deps.clock.now();
      const bySymbol = new Map<string, StreamEntry<Signal>[]>();
      for (const e of entries) {
        let list = bySymbol.get(e.value.symbol);
        if (!list) bySymbol.set(e.value.symbol, (list = []));
        list.push(e);
      }
      const contributions = hashes.get(deps.keys.varContributions) ?? {};
      const varBySymbol = new Map<string, number>(Object.entries(contributions).map(([k, v]) => [k, Number(v) || 0]));
      const prevPortfolioVar = portfolioVarPct([...varBySymbol.values()].map(Math.abs), () => 1);
      const kelly = kellyInEffect(cfg, control.kellyOverride, prevPortfolioVar);

      for (const symbol of bySymbol.keys()) await Promise.all(METRIC_NAMES.map((m) => deps.timeseries.ensure(m, symbol)));

      const outputs: { symbol: string; edge: number; position: number; varPct: number; tickTs: number }[] = [];
      for (const [symbol, list] of bySymbol) {
        const st = parseRiskState(state.get(deps.keys.riskState(symbol)), cfg);
        const signals = list.map((e) => e.value);
        const latest = signals[signals.length - 1]!;
        const a = assessSymbol(st, signals, cfg, kelly, now);
        st.lastSignalId = list[list.length - 1]!.id;
        varBySymbol.set(symbol, a.varPct * Math.sign(a.sizing.targetUsd || 1));
        const portfolioVar = portfolioVarPct([...varBySymbol.values()].map(Math.abs), () => 1);

        const output = {
          symbol,
          timestamp: new Date(now).toISOString(),
          ts: now,
          blended_edge_bps: a.blend.edgeBps,
          raw_edge_bps: a.blend.rawEdgeBps,
          breakdown: a.blend.components.map((c) => ({ model: c.model, edge_bps: c.edgeBps, confidence: c.confidence, decay_weight: c.decayWeight, weight: c.finalWeight, penalised: c.penalised, excluded: c.excluded })),
          kelly_fraction: a.sizing.kellyFraction,
          kelly_source: kelly.source,
          target_position_usd: a.sizing.targetUsd,
          target_qty: a.sizing.targetQty,
          uncapped_position_usd: a.sizing.uncappedUsd,
          caps: a.sizing.caps,
          var_pct: a.varPct,
          portfolio_var_pct: portfolioVar,
          volatility_daily_pct: a.dailyVol * 100,
          volatility_stale: a.volStale,
          active_model: latest.active_model,
          horizon_ms: a.horizonMs,
          price: latest.price,
          tick_ts: latest.tick_ts,
          reasons: a.reasons,
        };
        tx.set(deps.keys.edgeBlended(symbol), JSON.stringify(output), 'EX', EDGE_TTL_S);
        const values: Record<MetricName, number> = { edge_blended_bps: a.blend.edgeBps, position_size_usd: a.sizing.targetUsd, var_pct: a.varPct };
        for (const metric of METRIC_NAMES) {
          tx.hset(deps.keys.metricsHash(metric, symbol), 'value', String(values[metric]), 'timestamp', String(now), 'metric', metric, 'symbol', symbol, 'labels', JSON.stringify({ metric, symbol }));
          deps.timeseries.add(tx, metric, symbol, now, values[metric]);
        }
        tx.hset(deps.keys.volatilityEstimates, symbol, (a.dailyVol * 100).toFixed(6));
        tx.hset(deps.keys.varContributions, symbol, String(varBySymbol.get(symbol)));
        tx.xadd(
          deps.keys.orderIntents,
          'MAXLEN', '~', String(deps.intentsMaxLen),
          '*',
          ...encodeTarget({
            symbol,
            asset_class: latest.asset_class,
            target_usd: a.sizing.targetUsd,
            price: latest.price,
            tick_ts: latest.tick_ts,
            first_tick_ts: Math.min(...signals.map((x) => x.first_tick_ts)),
            edge_bps: a.blend.edgeBps,
            var_pct: a.varPct,
            model: latest.active_model,
            signal_id: list[list.length - 1]!.id,
            ts: now,
          }),
        );
        tx.set(deps.keys.riskState(symbol), JSON.stringify(st));
        outputs.push({ symbol, edge: a.blend.edgeBps, position: a.sizing.targetUsd, varPct: a.varPct, tickTs: latest.tick_ts });
      }
      const portfolioVar = portfolioVarPct([...varBySymbol.values()].map(Math.abs), () => 1);
      tx.hset(deps.keys.riskPortfolio, 'var_pct', String(portfolioVar), 'kelly_fraction', String(kelly.fraction), 'kelly_source', kelly.source, 'at', String(now));

      afterCommit(() => {
        const done = deps.clock.now();
        for (const o of outputs) {
          deps.metrics.edge.set({ symbol: o.symbol }, o.edge);
          deps.metrics.position.set({ symbol: o.symbol }, o.position);
          deps.metrics.varPct.set({ symbol: o.symbol }, o.varPct);
          deps.metrics.tickToTarget.observe((done - o.tickTs) / 1000);
        }
        deps.metrics.portfolioVar.set(portfolioVar);
        deps.metrics.kelly.set(kelly.fraction);
        const guard = kelly.source === 'var_guard';
        if (guard && !guardActive) deps.metrics.varGuard.inc();
        guardActive = guard;
        if (portfolioVar > cfg.circuit_breaker.var_threshold_pct) deps.onVarBreach(portfolioVar);
      });
    },
  };
}
