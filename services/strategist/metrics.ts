import { Counter, Gauge, Histogram, type Registry } from '../core/metrics.ts';

export interface StrategistMetrics {
  switches: Counter<'symbol' | 'from' | 'to'>;
  ticks: Counter<'symbol'>;
  routeLatency: Histogram;
  ruleMatches: Counter<'rule_index' | 'model'>;
  modelErrors: Counter<'model'>;
  modelLatency: Histogram<'model' | 'kind'>;
  /** By symbol and why (error, latency, expired); the model it left is in the switch log. */
  fallbacks: Counter<'symbol' | 'why'>;
  setActive(symbol: string, model: string): void;
}

export const FALLBACK_WHYS = ['error', 'latency', 'expired'] as const;

/** `symbols`: the universe at start, whose fallback series are created at 0. */
export function createStrategistMetrics(registry: Registry, symbols: readonly string[] = []): StrategistMetrics {
  const active = new Gauge({ name: 'model_router_active_model', help: '1 for the active model of each symbol', labelNames: ['symbol', 'model'], registers: [registry] });
  const current = new Map<string, string>();
  return {
    switches: new Counter({ name: 'model_switch_total', help: 'Model switches', labelNames: ['symbol', 'from', 'to'], registers: [registry] }),
    ticks: new Counter({ name: 'strategist_ticks_total', help: 'Ticks folded into features', labelNames: ['symbol'], registers: [registry] }),
    routeLatency: new Histogram({
      name: 'model_router_latency_microseconds',
      help: 'Time of one routing decision, microseconds',
      buckets: [0.25, 0.5, 1, 2, 5, 10, 50, 100],
      registers: [registry],
    }),
    ruleMatches: new Counter({
      name: 'model_router_rule_matches_total',
      help: 'Routing decisions by rule (-1 = default model)',
      labelNames: ['rule_index', 'model'],
      registers: [registry],
    }),
    fallbacks: initialised(
      new Counter({
        name: 'model_router_fallbacks_total',
        help: 'Fallbacks from an unhealthy model, by symbol and why (error, latency, expired)',
        labelNames: ['symbol', 'why'],
        registers: [registry],
      }),
      symbols,
    ),
    modelErrors: new Counter({ name: 'model_errors_total', help: 'Model inference errors', labelNames: ['model'], registers: [registry] }),
    modelLatency: new Histogram({
      name: 'model_inference_duration_seconds',
      help: 'Time of one model inference (built-in function or ONNX session run)',
      labelNames: ['model', 'kind'],
      buckets: [1e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 2e-2],
      registers: [registry],
    }),
    setActive(symbol, model) {
      const prev = current.get(symbol);
      if (prev === model) return;
      if (prev) active.set({ symbol, model: prev }, 0);
      active.set({ symbol, model }, 1);
      current.set(symbol, model);
    },
  };
}

function initialised(counter: Counter<'symbol' | 'why'>, symbols: readonly string[]): Counter<'symbol' | 'why'> {
  for (const symbol of symbols) for (const why of FALLBACK_WHYS) counter.inc({ symbol, why }, 0);
  return counter;
}
