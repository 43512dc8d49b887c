/**
 * onTicks: market_events → price band → features → route → predictions →
 * strategy_signals. Load (per-symbol state, checked at commit) → decide
 * (pure domain) → persist (state, signal, switch log, dead letters for
 * quarantined ticks) → ack, in one commit.
 */
import type { ConfigHolder } from '../core/config/reloader.ts';
import type { InstrumentsConfig } from '../core/config/schemas.ts';
import { instrumentSpec } from '../core/config/instruments.ts';
import { EMPTY_BAND, screenPrice, type BandState } from '../core/domain/price-band.ts';
import type { Tick } from '../core/domain/market-data.ts';
import type { ControlView } from '../core/context.ts';
import { matchRoute } from '../core/domain/route-rules.ts';
import { encodeSignal, type Prediction } from '../core/messages.ts';
import { decodeStored, strategistStateCodec } from '../core/redis/codecs.ts';
import { StateMemo } from '../core/state-memo.ts';
import type { RedisKeys } from '../core/redis/keys.ts';
import type { BatchContext, StreamEntry, StreamHandler } from '../core/redis/streams.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import { inMarketHours } from '../core/domain/market-hours.ts';
import type { AlphaOutput } from './domain/alpha-models.ts';
import { horizonFor, initialFeatures, updateFeatures, type FeatureState } from './domain/features.ts';
import { healthOf, newModelStats, recordModelCall, type ModelStats } from './domain/model-health.ts';
import { decideSwitch, type RoutingState } from './domain/switching.ts';
import type { StrategistBundle } from './model-runtime.ts';
import type { StrategistMetrics } from './metrics.ts';

export interface SymbolState {
  features: FeatureState;
  routing: RoutingState;
  ticks: number;
  lastTickId: string;
  horizonMs: number;
  assetClass: string;
  explanation: string;
  /** The price sanity band (core/domain/price-band.ts). */
  band: BandState;
}

export interface TickHandlerDeps {
  keys: RedisKeys;
  clock: Clock;
  rules: ConfigHolder<StrategistBundle>;
  control: ControlView;
  instruments: ConfigHolder<InstrumentsConfig>;
  metrics: StrategistMetrics;
  signalsMaxLen: number;
  log?: Logger;
}

const DAY_MS = 86_400_000;

/** Decode the stored state; one that does not decode is rebuilt from scratch, and said so with its key. */
export function parseSymbolState(raw: string | null | undefined, key = '', onBad?: (key: string, reason: string) => void): SymbolState {
  if (raw) {
    const d = decodeStored(strategistStateCodec, key, raw);
    if (d.ok) {
      const st = d.value;
      // A state written before the band existed starts it at the last mid seen.
      return { ...st, band: st.band ?? { ref: st.features.mid > 0 ? st.features.mid : null, candidate: null, count: 0 } };
    }
    onBad?.(key, d.reason);
  }
  return {
    features: initialFeatures(),
    routing: { active: null, since: 0, reason: '', ruleIndex: -1 },
    ticks: 0,
    lastTickId: '',
    horizonMs: 0,
    assetClass: '',
    explanation: '',
    band: { ...EMPTY_BAND },
  };
}

export function createTickHandler(deps: TickHandlerDeps): StreamHandler<Tick> {
  const stats = new Map<string, ModelStats>();
  /** Each symbol's state as this handler last committed it: not parsed and validated again while Redis holds that string. */
  const memo = new StateMemo<SymbolState>();

  const runModel = async (model: string, features: FeatureState, bundle: StrategistBundle, now: number): Promise<AlphaOutput | undefined> => {
    const runner = bundle.runners.get(model);
    if (!runner) return undefined;
    let s = stats.get(model);
    if (!s) stats.set(model, (s = newModelStats(now)));
    const t0 = performance.now();
    try {
      const pending = runner.run(features);
      const out = pending instanceof Promise ? await pending : pending;
      const ms = performance.now() - t0;
      recordModelCall(s, ms, true, now);
      deps.metrics.modelLatency.observe({ model, kind: runner.kind }, ms / 1_000);
      return out;
    } catch (err) {
      recordModelCall(s, performance.now() - t0, false, now);
      deps.metrics.modelErrors.inc({ model });
      if (s.consecutiveErrors === 1) deps.log?.warn({ event: 'model.error', model, kind: runner.kind, err: String(err) }, 'model failed; falls back after 3 consecutive errors');
      return undefined;
    }
  };

  return {
    watchKeys(entries: readonly StreamEntry<Tick>[]): string[] {
      const symbols = new Set<string>();
      for (const e of entries) symbols.add(e.value.symbol);
      return [...symbols].map((s) => deps.keys.strategistState(s));
    },

    async handle(entries: readonly StreamEntry<Tick>[], { state, tx, afterCommit, deadLetter }: BatchContext): Promise<void> {
      const bundle = deps.rules.current;
      const cfg = bundle.config;
      const universe = deps.instruments.current;
      const band = { bandPct: universe.market_data.price_band_pct, confirmTicks: universe.market_data.confirm_ticks };
      const control = deps.control.snapshot;
      const now = deps.clock.now();
      const bySymbol = new Map<string, StreamEntry<Tick>[]>();
      for (const e of entries) {
        let list = bySymbol.get(e.value.symbol);
        if (!list) bySymbol.set(e.value.symbol, (list = []));
        list.push(e);
      }

      for (const [symbol, all] of bySymbol) {
        const spec = instrumentSpec(universe, symbol);
        const stateKey = deps.keys.strategistState(symbol);
        const st = memo.take(stateKey, state.get(stateKey), (raw) =>
          parseSymbolState(raw, stateKey, (key, reason) => deps.log?.error({ event: 'state.unreadable', key, reason }, `${reason}: rebuilt from scratch`)),
        );
        // Quarantine prints outside the sanity band; only accepted ticks move the features.
        const list: StreamEntry<Tick>[] = [];
        for (const e of all) {
          const d = screenPrice(st.band, (e.value.bid + e.value.ask) / 2, band);
          st.band = d.next;
          if (d.accept) {
            list.push(e);
            if (d.confirmed)
              afterCommit(() =>
                deps.log?.warn(
                  { event: 'market_data.level_confirmed', symbol, mid: d.next.ref, ticks: band.confirmTicks },
                  `${symbol}: new price level ${d.next.ref} confirmed by ${band.confirmTicks} ticks`,
                ),
              );
          } else {
            deadLetter(e.id, d.reason, 'price_band');
          }
        }
        st.lastTickId = all[all.length - 1]!.id;
        if (list.length === 0 || !spec) {
          memo.write({ tx, afterCommit }, stateKey, st);
          continue;
        }
        for (const e of list) updateFeatures(st.features, e.value);
        const last = list[list.length - 1]!;
        st.ticks += list.length;

        const info = { assetClass: spec.asset_class, marketHours: spec.market_hours };
        const horizonMs = horizonFor(st.features, cfg.defaults.horizon_ms);
        const t0 = process.hrtime.bigint();
        const route = matchRoute(bundle.compiled, info.assetClass, horizonMs);
        const routeMicros = Number(process.hrtime.bigint() - t0) / 1_000;

        const outputs = new Map<string, AlphaOutput>();
        const needed = new Set<string>([route.model, ...route.ensemble, route.fallback]);
        if (st.routing.active) needed.add(st.routing.active);
        for (const m of needed) {
          const out = await runModel(m, st.features, bundle, now);
          if (out) outputs.set(m, out);
        }
        const confidence = (m: string): number => outputs.get(m)?.confidence ?? 0;
        const decision = decideSwitch(st.routing, {
          preferred: route.model,
          ruleIndex: route.ruleIndex,
          defaultModel: route.fallback,
          confidence,
          health: (m) => healthOf(stats.get(m), cfg.models[m]?.max_latency_ms ?? 5, cfg.switching.prediction_expiry_ms, now),
          minConfidence: cfg.confidence_thresholds.min_confidence,
          hysteresis: cfg.confidence_thresholds.switch_hysteresis,
          minDwellMs: cfg.switching.min_dwell_ms,
          paused: control.router.paused,
          marketOpen: inMarketHours(info.marketHours, now),
          marketHoursOnly: cfg.switching.market_hours_only,
          now,
        });
        if (decision.kind === 'switch') {
          const latencyMs = stats.get(decision.to)?.latencyMsEwma ?? 0;
          st.routing = { active: decision.to, since: now, reason: decision.reason, ruleIndex: route.ruleIndex };
          tx.xadd(
            deps.keys.modelSwitchLog,
            'MINID',
            '~',
            String(now - DAY_MS),
            '*',
            'timestamp',
            new Date(now).toISOString(),
            'symbol',
            symbol,
            'old_model',
            decision.from ?? 'none',
            'new_model',
            decision.to,
            'latency_ms',
            latencyMs.toFixed(3),
            'reason',
            decision.reason,
            'confidence',
            decision.confidence.toFixed(4),
          );
          afterCommit(() => {
            deps.metrics.switches.inc({ symbol, from: decision.from ?? 'none', to: decision.to });
            if (decision.reason.startsWith('fallback:')) deps.metrics.fallbacks.inc({ symbol, why: decision.reason.slice(9) });
          });
        }
        const active = st.routing.active ?? route.model;
        st.horizonMs = horizonMs;
        st.assetClass = info.assetClass;
        st.explanation = route.rule ? `rule ${route.ruleIndex}: ${route.rule.description || route.rule.assetClass.source}` : 'default_model';

        const predictions: Prediction[] = [];
        for (const m of [active, ...route.ensemble]) {
          if (predictions.some((p) => p.model === m)) continue;
          const out = outputs.get(m);
          if (!out || out.confidence < cfg.confidence_thresholds.min_confidence) continue;
          predictions.push({ model: m, edge_bps: out.edgeBps, confidence: out.confidence, horizon_ms: horizonMs, ts: now });
        }
        tx.xadd(
          deps.keys.strategySignals,
          'MAXLEN',
          '~',
          String(deps.signalsMaxLen),
          '*',
          ...encodeSignal({
            symbol,
            asset_class: info.assetClass,
            tick_ts: last.value.ts,
            first_tick_ts: list[0]!.value.ts,
            tick_id: last.id,
            price: st.features.mid,
            spread_bps: st.features.spreadBps,
            active_model: active,
            active_since: st.routing.since,
            ticks: list.length,
            predictions,
          }),
        );
        memo.write({ tx, afterCommit }, stateKey, st);
        const ruleIndex = String(route.ruleIndex);
        afterCommit(() => {
          deps.metrics.ticks.inc({ symbol }, list.length);
          deps.metrics.routeLatency.observe(routeMicros);
          deps.metrics.ruleMatches.inc({ rule_index: ruleIndex, model: route.model });
          deps.metrics.setActive(symbol, active);
        });
      }
    },
  };
}
