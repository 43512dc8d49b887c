/**
 * onSignals: strategy_signals → blend, size, VaR → risk.edge_blended.<symbol>,
 * metrics (hash + time series), volatility_estimates, order_intents.
 * Load (per-symbol risk state, WATCHed) → decide (pure) → persist → ack.
 */
import type { ConfigHolder } from '../core/config/reloader.ts';
import type { RiskHarmoniserConfig } from '../core/config/schemas.ts';
import type { ControlView } from '../core/context.ts';
import { correlationOf, initialCorrelation, updateCorrelation, type CorrelationState } from '../core/domain/correlation.ts';
import { breakdownOf } from '../core/domain/blend-edges.ts';
import { portfolioVarPct, portfolioVarRoomPct } from '../core/domain/size-position.ts';
import { encodeTarget, type Signal } from '../core/messages.ts';
import type { Gauge, Histogram, Counter } from '../core/metrics.ts';
import { correlationCodec, decodeStored, riskStateCodec } from '../core/redis/codecs.ts';
import { StateMemo } from '../core/state-memo.ts';
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
  /** Written into each output, so operators see which replica computed it. */
  instance: string;
  clock: Clock;
  config: ConfigHolder<RiskHarmoniserConfig>;
  control: ControlView;
  timeseries: TimeSeriesWriter;
  metrics: RiskMetrics;
  intentsMaxLen: number;
  /** Called after commit when portfolio VaR is above the breaker threshold. */
  onVarBreach(portfolioVar: number): void;
  /** Called after commit when the VaR guard starts lowering the Kelly fraction. */
  onVarGuard(kellyFraction: number, reason: string): void;
  /** A stored state that did not decode and was rebuilt. */
  onBadState: OnBadState;
  /** With write shards: the rest of the book, the other shards' VaR contributions and prices as last read (book-view.ts). */
  otherShards?: () => BookOutside;
}

/** What the other write shards hold of the book: symbol → signed VaR contribution, symbol → price. */
export interface BookOutside {
  readonly contributions: Readonly<Record<string, string>>;
  readonly prices: Readonly<Record<string, string>>;
}

const EDGE_TTL_S = 300;

/** Unreadable derived state is rebuilt, and said so with its key (never thrown out of the handler). */
export type OnBadState = (key: string, reason: string) => void;

export function parseCorrelation(raw: string | null | undefined, key: string, onBad?: OnBadState): CorrelationState {
  if (raw) {
    const d = decodeStored(correlationCodec, key, raw);
    if (d.ok) return d.value;
    onBad?.(key, d.reason);
  }
  return initialCorrelation();
}

export function parseRiskState(raw: string | null | undefined, cfg: RiskHarmoniserConfig, key: string, onBad?: OnBadState): RiskSymbolState {
  if (raw) {
    const d = decodeStored(riskStateCodec, key, raw);
    if (d.ok) return d.value;
    onBad?.(key, d.reason);
  }
  return initialRiskState(cfg);
}

export function createSignalHandler(deps: SignalHandlerDeps): StreamHandler<Signal> {
  let guardActive = false;
  /** When each symbol's series and metric hashes were last written (after a commit): they are sampled (metrics.sample_ms). */
  const lastSampled = new Map<string, number>();
  /** The states and the correlation as this handler last committed them: not parsed and validated again while Redis holds those strings. */
  const states = new StateMemo<RiskSymbolState>();
  const correlations = new StateMemo<CorrelationState>(1);
  return {
    watchKeys(entries) {
      return [...[...new Set(entries.map((e) => e.value.symbol))].map((s) => deps.keys.riskState(s)), deps.keys.riskCorrelation];
    },
    trackedHashes: () => [deps.keys.varContributions, deps.keys.riskPrices],

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
      // The whole book: this shard's contributions as committed (WATCHed), the other shards' as last read.
      const outside = deps.otherShards?.();
      const contributions = { ...outside?.contributions, ...hashes.get(deps.keys.varContributions) };
      const varBySymbol = new Map<string, number>(Object.entries(contributions).map(([k, v]) => [k, Number(v) || 0]));
      const correlationRaw = state.get(deps.keys.riskCorrelation);
      const correlation = correlations.take(deps.keys.riskCorrelation, correlationRaw, (raw) => parseCorrelation(raw, deps.keys.riskCorrelation, deps.onBadState));
      const minSamples = cfg.volatility.correlation_min_samples;
      const portfolioVar = (): number => {
        const symbols = [...varBySymbol.keys()];
        return portfolioVarPct(
          symbols.map((s) => varBySymbol.get(s)!),
          (i, j) => correlationOf(correlation, symbols[i]!, symbols[j]!, minSamples),
        );
      };
      // Room under the portfolio VaR limit for one symbol, the rest of the book as it stands.
      const varRoom = (symbol: string): { long: number; short: number } => {
        const others = [...varBySymbol.keys()].filter((s) => s !== symbol);
        const vars = others.map((s) => varBySymbol.get(s)!);
        const rhoWith = (j: number): number => correlationOf(correlation, symbol, others[j]!, minSamples);
        const rhoAmong = (i: number, j: number): number => correlationOf(correlation, others[i]!, others[j]!, minSamples);
        const limit = cfg.risk_limits.var_budget_pct;
        return { long: portfolioVarRoomPct(1, vars, rhoWith, rhoAmong, limit), short: portfolioVarRoomPct(-1, vars, rhoWith, rhoAmong, limit) };
      };
      const prevPortfolioVar = portfolioVar();
      const kelly = kellyInEffect(cfg, control.kellyOverride, prevPortfolioVar);
      const excludedModels = new Set(Object.keys(control.scoped).flatMap((k) => (k.startsWith('model:') ? [k.slice(6)] : [])));

      for (const symbol of bySymbol.keys()) await Promise.all(METRIC_NAMES.map((m) => deps.timeseries.ensure(m, symbol)));

      const outputs: { symbol: string; edge: number; position: number; varPct: number; tickTs: number }[] = [];
      const sampled: string[] = [];
      for (const [symbol, list] of bySymbol) {
        const stateKey = deps.keys.riskState(symbol);
        const st = states.take(stateKey, state.get(stateKey), (raw) => parseRiskState(raw, cfg, stateKey, deps.onBadState));
        const signals = list.map((e) => e.value);
        const latest = signals[signals.length - 1]!;
        const a = assessSymbol(st, signals, cfg, kelly, now, { excludedModels, varRoomPct: varRoom(symbol) });
        st.lastSignalId = list[list.length - 1]!.id;
        varBySymbol.set(symbol, a.varPct * Math.sign(a.sizing.targetUsd || 1));

        const output = {
          symbol,
          timestamp: new Date(now).toISOString(),
          ts: now,
          blended_edge_bps: a.blend.edgeBps,
          raw_edge_bps: a.blend.rawEdgeBps,
          breakdown: breakdownOf(a.blend.components),
          kelly_fraction: a.sizing.kellyFraction,
          kelly_source: kelly.source,
          action: a.action,
          cost_bps: a.costBps,
          target_position_usd: a.sizing.targetUsd,
          target_qty: a.sizing.targetQty,
          uncapped_position_usd: a.sizing.uncappedUsd,
          caps: a.sizing.caps,
          var_pct: a.varPct,
          portfolio_var_pct: portfolioVar(),
          volatility_daily_pct: a.dailyVol * 100,
          volatility_stale: a.volStale,
          active_model: latest.active_model,
          horizon_ms: a.horizonMs,
          price: latest.price,
          tick_ts: latest.tick_ts,
          reasons: a.reasons,
          instance: deps.instance,
        };
        tx.set(deps.keys.edgeBlended(symbol), JSON.stringify(output), 'EX', EDGE_TTL_S);
        const values: Record<MetricName, number> = { edge_blended_bps: a.blend.edgeBps, position_size_usd: a.sizing.targetUsd, var_pct: a.varPct };
        // The series and hashes are samples (dashboards, the runbook's HGETALL): at most one per sample_ms per symbol.
        const sample = now - (lastSampled.get(symbol) ?? -Infinity) >= cfg.metrics.sample_ms;
        if (sample) sampled.push(symbol);
        for (const metric of sample ? METRIC_NAMES : []) {
          tx.hset(
            deps.keys.metricsHash(metric, symbol),
            'value',
            String(values[metric]),
            'timestamp',
            String(now),
            'metric',
            metric,
            'symbol',
            symbol,
            'labels',
            JSON.stringify({ metric, symbol }),
          );
          deps.timeseries.add(tx, metric, symbol, now, values[metric]);
        }
        tx.hset(deps.keys.volatilityEstimates, symbol, (a.dailyVol * 100).toFixed(6));
        tx.hset(deps.keys.varContributions, symbol, String(varBySymbol.get(symbol)));
        tx.xadd(
          deps.keys.orderIntents,
          'MAXLEN',
          '~',
          String(deps.intentsMaxLen),
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
            action: a.action,
            cost_bps: a.costBps,
          }),
        );
        states.write({ tx, afterCommit }, stateKey, st);
        outputs.push({ symbol, edge: a.blend.edgeBps, position: a.sizing.targetUsd, varPct: a.varPct, tickTs: latest.tick_ts });
      }
      const prices: Record<string, number> = {};
      for (const [sym, p] of Object.entries({ ...outside?.prices, ...hashes.get(deps.keys.riskPrices) })) prices[sym] = Number(p);
      for (const [sym, list] of bySymbol) prices[sym] = list[list.length - 1]!.value.price;
      // Written when a sample is due; otherwise left untouched (and as it was read).
      let correlationJson = correlationRaw;
      if (updateCorrelation(correlation, prices, now, cfg.volatility.correlation_lambda, cfg.volatility.correlation_sample_ms)) {
        correlationJson = JSON.stringify(correlation);
        tx.set(deps.keys.riskCorrelation, correlationJson);
      }
      afterCommit(() => correlations.keep(deps.keys.riskCorrelation, correlationJson, correlation));
      for (const [sym, list] of bySymbol) tx.hset(deps.keys.riskPrices, sym, String(list[list.length - 1]!.value.price));
      const finalVar = portfolioVar();
      tx.hset(deps.keys.riskPortfolio, 'var_pct', String(finalVar), 'kelly_fraction', String(kelly.fraction), 'kelly_source', kelly.source, 'at', String(now));

      afterCommit(() => {
        for (const symbol of sampled) lastSampled.set(symbol, now);
        const done = deps.clock.now();
        for (const o of outputs) {
          deps.metrics.edge.set({ symbol: o.symbol }, o.edge);
          deps.metrics.position.set({ symbol: o.symbol }, o.position);
          deps.metrics.varPct.set({ symbol: o.symbol }, o.varPct);
          deps.metrics.tickToTarget.observe((done - o.tickTs) / 1000);
        }
        deps.metrics.portfolioVar.set(finalVar);
        deps.metrics.kelly.set(kelly.fraction);
        const guard = kelly.source === 'var_guard';
        if (guard && !guardActive) {
          deps.metrics.varGuard.inc();
          deps.onVarGuard(kelly.fraction, kelly.reason);
        }
        guardActive = guard;
        if (finalVar > cfg.circuit_breaker.var_threshold_pct) deps.onVarBreach(finalVar);
      });
    },
  };
}
