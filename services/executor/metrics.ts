import { Counter, Gauge, Histogram, type Registry } from '../core/metrics.ts';

export interface ExecutorMetrics {
  orders: Counter<'symbol' | 'status'>;
  orderLatency: Histogram;
  breakerState: Gauge;
}

export function createExecutorMetrics(registry: Registry): ExecutorMetrics {
  return {
    orders: new Counter({ name: 'orders_total', help: 'Order decisions by outcome (filled, rejected, denied, dry_run)', labelNames: ['symbol', 'status'], registers: [registry] }),
    orderLatency: new Histogram({
      name: 'order_latency_seconds',
      help: 'Venue round trip of one order',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.12, 0.25, 1],
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: 'executor_circuit_breaker_state',
      help: 'Shared circuit breaker as this executor sees it: 0 CLOSED, 1 HALF_OPEN, 2 OPEN',
      registers: [registry],
    }),
  };
}
