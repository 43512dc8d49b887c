/**
 * One prom-client registry per process, with default Node metrics and the
 * `service` label. Metric names follow Prometheus conventions; the runbook's
 * names (model_switch_total, var_pct, redis_latency_p99, ...) are verbatim.
 */
import { AggregatorRegistry, Registry, collectDefaultMetrics, Counter, Gauge, Histogram } from 'prom-client';

export { AggregatorRegistry, Counter, Gauge, Histogram, Registry };

/** `shard`: one of several write shards a process serves (decision 0012): a `shard` label, and the process's own metrics from shard 0's registry only. */
export function createRegistry(service: string, options?: { shard: number }): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(options ? { service, shard: String(options.shard) } : { service });
  if ((options?.shard ?? 0) === 0) collectDefaultMetrics({ register: registry });
  return registry;
}
