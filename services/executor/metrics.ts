/** The executor's metrics: decisions, the order lifecycle, the queue, reconciliation. Label sets known in advance start at 0. */
import { Counter, Gauge, Histogram, type Registry } from '../core/metrics.ts';

/** Why an order was refused or ended without a fill, as a bounded label. */
export const REJECTION_KINDS = ['venue_rejected', 'circuit_breaker', 'kill_switch', 'halted', 'probe_busy', 'send_failed', 'not_found', 'stuck', 'no_quote', 'other'] as const;
export type RejectionKind = (typeof REJECTION_KINDS)[number];

export interface ExecutorMetrics {
  orders: Counter<'symbol' | 'status'>;
  orderLatency: Histogram;
  breakerState: Gauge;
  intentToAccepted: Histogram;
  acceptedToFilled: Histogram;
  fees: Counter<'symbol'>;
  rejections: Counter<'reason'>;
  ignoredReports: Counter<'why'>;
  queueDepth: Gauge<'state'>;
  queueWait: Histogram;
  retries: Counter;
  workerRestarts: Counter;
  superseded: Counter;
  staleTargets: Counter;
  amended: Counter;
  reconciliations: Counter<'outcome'>;
  adopted: Counter;
  orphansCancelled: Counter;
  unknownAtVenue: Counter;
  stuck: Counter;
  drift: Gauge<'symbol'>;
}

const SECONDS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createExecutorMetrics(registry: Registry): ExecutorMetrics {
  const r = [registry];
  const m: ExecutorMetrics = {
    orders: new Counter({
      name: 'orders_total',
      help: 'Order decisions and outcomes (created, filled, rejected, denied, dry_run, cancelled, expired)',
      labelNames: ['symbol', 'status'],
      registers: r,
    }),
    orderLatency: new Histogram({
      name: 'order_latency_seconds',
      help: 'Venue round trip of one order submission',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.12, 0.25, 1],
      registers: r,
    }),
    breakerState: new Gauge({ name: 'executor_circuit_breaker_state', help: 'Shared circuit breaker as this executor sees it: 0 CLOSED, 1 HALF_OPEN, 2 OPEN', registers: r }),
    intentToAccepted: new Histogram({
      name: 'order_intent_to_accepted_seconds',
      help: 'From the order being recorded (its target decided) to the venue accepting it',
      buckets: SECONDS,
      registers: r,
    }),
    acceptedToFilled: new Histogram({ name: 'order_accepted_to_filled_seconds', help: 'From the venue accepting an order to its last fill', buckets: SECONDS, registers: r }),
    fees: new Counter({ name: 'order_fees_usd_total', help: 'Fees paid on fills, USD', labelNames: ['symbol'], registers: r }),
    rejections: new Counter({ name: 'order_rejections_total', help: 'Orders refused or ended without a fill, by reason', labelNames: ['reason'], registers: r }),
    ignoredReports: new Counter({
      name: 'order_reports_ignored_total',
      help: 'Venue reports that changed nothing: duplicate fills, reports after a terminal state, out of order, overfills',
      labelNames: ['why'],
      registers: r,
    }),
    queueDepth: new Gauge({
      name: 'order_queue_depth',
      help: 'Orders in the send queue, by state (waiting, delayed for a retry, active, paused)',
      labelNames: ['state'],
      registers: r,
    }),
    queueWait: new Histogram({ name: 'order_queue_wait_seconds', help: 'From an order entering the send queue to a worker taking it', buckets: SECONDS, registers: r }),
    retries: new Counter({ name: 'order_send_retries_total', help: 'Order sends retried after a transient venue error (backoff 1, 2, 4, 8 s)', registers: r }),
    amended: new Counter({ name: 'orders_amended_total', help: 'Orders recorded but not yet sent that a newer target amended (one queued order per symbol)', registers: r }),
    superseded: new Counter({ name: 'orders_superseded_total', help: 'Orders recorded but not yet sent that a newer target made unnecessary (cancelled unsent)', registers: r }),
    staleTargets: new Counter({ name: 'targets_stale_total', help: 'Targets older than one a replica already acted on for their symbol: skipped', registers: r }),
    workerRestarts: new Counter({
      name: 'order_worker_restarts_total',
      help: 'Order workers replaced because they took no job while jobs waited (a wedged blocking connection)',
      registers: r,
    }),
    reconciliations: new Counter({ name: 'reconciliations_total', help: 'Reconciliations with the venue, by outcome', labelNames: ['outcome'], registers: r }),
    orphansCancelled: new Counter({
      name: 'orders_orphans_cancelled_total',
      help: 'Orders open at the venue that the OMS had finished, cancelled there by reconciliation',
      registers: r,
    }),
    adopted: new Counter({ name: 'orders_adopted_total', help: 'Orders the venue had that the OMS did not know, adopted by reconciliation', registers: r }),
    unknownAtVenue: new Counter({ name: 'orders_unknown_at_venue_total', help: 'Open OMS orders the venue does not know, marked EXPIRED by reconciliation', registers: r }),
    stuck: new Counter({ name: 'orders_stuck_total', help: 'Open orders with no update for stuck_order_ms, cancelled', registers: r }),
    drift: new Gauge({ name: 'position_drift_pct', help: 'Difference between the OMS position and the venue holding, percent of notional', labelNames: ['symbol'], registers: r }),
  };
  for (const reason of REJECTION_KINDS) m.rejections.inc({ reason }, 0);
  for (const why of ['after_terminal', 'duplicate_fill', 'out_of_order', 'overfill']) m.ignoredReports.inc({ why }, 0);
  for (const outcome of ['ok', 'failed']) m.reconciliations.inc({ outcome }, 0);
  return m;
}

/** The bounded kind of a rejection reason. */
export function rejectionKind(reason: string): RejectionKind {
  if (reason.startsWith('kill switch') || reason.includes('(kill)')) return 'kill_switch';
  if (reason.includes('halted') || reason.startsWith('trading')) return 'halted';
  if (reason.startsWith('circuit breaker HALF_OPEN: another') || reason.includes('test orders used')) return 'probe_busy';
  if (reason.startsWith('circuit breaker')) return 'circuit_breaker';
  if (reason.startsWith('venue rejected')) return 'venue_rejected';
  if (reason.startsWith('send failed')) return 'send_failed';
  if (reason.startsWith('not found at venue')) return 'not_found';
  if (reason.startsWith('stuck')) return 'stuck';
  if (reason.startsWith('no quote')) return 'no_quote';
  return 'other';
}
