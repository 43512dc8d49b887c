/**
 * One prom-client registry per process, with default Node metrics and the
 * `service` label. Metric names follow Prometheus conventions; the runbook's
 * names (model_switch_total, var_pct, redis_latency_p99, ...) are verbatim.
 */
import { Registry, collectDefaultMetrics, Counter, Gauge, Histogram } from 'prom-client';

export { Counter, Gauge, Histogram, Registry };

export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
