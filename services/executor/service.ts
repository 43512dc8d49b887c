/**
 * The executor: an order management system in front of one venue.
 *
 *   order_intents ──(group executor)──▶ on-targets.ts: decide, record NEW + XACK in one commit
 *        └─▶ the send queue (BullMQ, venue-worker.ts): throttle, retries, at most one send per order
 *              └─▶ the venue (paper by default; ccxt for LIVE) ──▶ the order's events (oms.ts, order-store.ts)
 *   venue_reports:<venue> ──(group oms)──▶ later fills and cancels of resting orders
 *   reconcile.ts: at start and on an interval, the venue authoritative
 *   safety-monitor.ts: the automatic kill-switch triggers
 *
 * A kill or a halt pauses the send queue (for every executor: it is the
 * queue's state in Redis), cancels what was not sent and cancels at the
 * venue what rests there; a scoped one cancels what it names.
 */
import { instrumentsReloadTarget, loadInstrumentsAtStart, universeOf } from '../core/config/instruments.ts';
import { loadRiskParams } from '../core/config/load.ts';
import { ConfigHolder, startReloader } from '../core/config/reloader.ts';
import { riskReloadTarget } from '../core/config/risk-reload.ts';
import type { RiskHarmoniserConfig } from '../core/config/schemas.ts';
import { probationPassed } from '../core/domain/breaker.ts';
import { orderGate, systemHalted, UNKNOWN_CONTROL, type BreakerState, type ControlSnapshot } from '../core/domain/control-state.ts';
import { parseScope } from '../core/domain/scopes.ts';
import { ConfigurationError } from '../core/errors.ts';
import { LatencyWindow } from '../core/latency-window.ts';
import { decodeTarget, fieldsFromArray, type Decoded } from '../core/messages.ts';
import { Counter } from '../core/metrics.ts';
import { StreamConsumer } from '../core/redis/streams.ts';
import type { RunningService, ServiceContext } from '../core/service.ts';
import type { Order } from './domain/order-lifecycle.ts';
import { createExecutorMetrics } from './metrics.ts';
import { Oms } from './oms.ts';
import { createTargetHandler } from './on-targets.ts';
import { OrderStore } from './order-store.ts';
import { Reconciler } from './reconcile.ts';
import { startSafetyMonitor } from './safety-monitor.ts';
import { VenueBreaker } from './venue-breaker.ts';
import { startVenueWorker } from './venue-worker.ts';
import { createVenue } from './venue/create-venue.ts';
import type { Venue, VenueTrade } from './venue/venue.ts';

const BREAKER_GAUGE: Record<BreakerState, number> = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 };

export interface ExecutorOptions {
  /** The execution venue; default from the settings (VENUE: the paper venue unless configured). */
  venue?: Venue;
  /** The send queue's throttle off (tests, the bench). */
  limiterOff?: boolean;
}

export async function startExecutor(ctx: ServiceContext, options: ExecutorOptions = {}): Promise<RunningService> {
  const path = ctx.settings.configPaths.risk_harmoniser;
  const loaded = await loadRiskParams(path, ctx.root);
  if (!loaded.ok) throw new ConfigurationError(`cannot start: ${loaded.reason}`);
  const config = new ConfigHolder<RiskHarmoniserConfig>(loaded.config, loaded.version, path, ctx.clock.now());
  const instruments = await loadInstrumentsAtStart(ctx);
  const universe = universeOf(instruments);
  const control = ctx.control;
  const metrics = createExecutorMetrics(ctx.registry);
  const latencies = new LatencyWindow(config.current.circuit_breaker.latency_window);

  const trip = (cause: string): void => {
    if (control.snapshot.breaker.state === 'OPEN') return;
    void control.moveBreaker({ kind: 'trip', cause });
  };
  const venue = options.venue ?? (await createVenue(ctx, config, instruments));
  const breaker = new VenueBreaker(venue, () => config.current, trip);
  // The OMS writes on a connection of its own: a send WAITs on it for replicas (venue-worker.ts) without holding up the rest.
  const store = new OrderStore({ redis: ctx.connection('orders'), keys: ctx.keys, clock: ctx.clock });
  // The send queue starts after the OMS (it sends through it); the OMS asks it whether a send is in flight.
  const sendQueue: { worker?: { inFlight(id: string): Promise<boolean> } } = {};
  const oms = new Oms({ store, venue, clock: ctx.clock, metrics, log: ctx.log, sendInFlight: (id) => sendQueue.worker?.inFlight(id) ?? Promise.resolve(false) });
  const reconciler = new Reconciler({ ctx, oms, config, instruments, metrics });

  const worker = await startVenueWorker({
    ctx,
    venue,
    breaker,
    oms,
    config,
    metrics,
    ...(options.limiterOff ? { limiterOff: true } : {}),
    onOrderLatency: (ms) => {
      latencies.add(ms);
      const c = config.current.circuit_breaker;
      if (latencies.size >= c.latency_window && latencies.mean() > c.latency_threshold_ms) {
        trip(`order_latency: mean ${latencies.mean().toFixed(1)} ms over ${c.latency_window} orders > ${c.latency_threshold_ms} ms`);
        latencies.clear();
      }
    },
  });

  sendQueue.worker = worker;

  // Kills, halts and stops: pause the queue, cancel what they name.
  let cancelling: Promise<unknown> = Promise.resolve();
  // Orders a cancel left to a send in flight, and why they are cancelled. A live worker cancels its send on
  // arrival; one that died mid-send does not, and under a kill its job, once stalled, waits on the paused
  // queue: the housekeeping asks again until the send is no longer in flight (then it is cancelled here).
  const leftToSends = new Map<string, string>();
  const cancel = (pick: (o: Order) => boolean, why: string): void => {
    cancelling = cancelling
      .then(() => oms.cancel(pick, why))
      .then(({ cancelled, leftInFlight }) => {
        for (const id of leftInFlight) leftToSends.set(id, why);
        if (cancelled > 0) ctx.log.warn({ event: 'orders.cancelled', count: cancelled, why }, `${why}: ${cancelled} open orders cancelled`);
      })
      .catch((err: unknown) => ctx.log.error({ event: 'orders.cancel_failed', why, err: String(err) }, `cancel failed (${why})`));
  };
  // Only while the controls still stop them: after a reset, a send that arrives stands, and a dead sender's job,
  // run again on the resumed queue, finds the controls changed since its order was decided and cancels it unsent.
  const cancelLeftToSends = (): void => {
    if (!control.snapshot.known) return; // asked again once the controls read again
    const byWhy = new Map<string, Set<string>>();
    for (const [id, why] of leftToSends) byWhy.set(why, (byWhy.get(why) ?? new Set()).add(id));
    leftToSends.clear();
    for (const [why, ids] of byWhy) {
      cancel((o) => ids.has(o.clientOrderId) && orderGate(control.snapshot, { symbol: o.symbol, model: o.model }).kind === 'denied', why);
    }
  };
  const onControl = (next: ControlSnapshot, prev: ControlSnapshot): void => {
    metrics.breakerState.set(BREAKER_GAUGE[next.breaker.state]);
    if (systemHalted(next) && !systemHalted(prev)) {
      const why = next.killSwitch.engaged ? `kill switch engaged: ${next.killSwitch.reason}` : `trading halted: ${next.trading.reason}`;
      void worker.pause().catch((err: unknown) => ctx.log.error({ event: 'orders.queue_pause_failed', err: String(err) }, 'send queue pause failed'));
      cancel(() => true, why);
    } else if (next.known && !systemHalted(next) && (systemHalted(prev) || !prev.known)) {
      void worker.resume().catch((err: unknown) => ctx.log.error({ event: 'orders.queue_resume_failed', err: String(err) }, 'send queue resume failed'));
    }
    if (next.known) {
      for (const [scope, c] of Object.entries(next.scoped)) {
        if (c.state !== 'HALTED' || prev.scoped[scope]?.state === 'HALTED') continue;
        const parsed = parseScope(scope);
        if (!parsed.ok || parsed.scope.kind === 'system') continue;
        const s = parsed.scope;
        cancel((o) => (s.kind === 'symbol' ? o.symbol === s.symbol : o.model === s.model), `${scope} halted (${c.kind}): ${c.reason}`);
      }
    }
    if (prev.known && prev.breaker.state === 'OPEN' && next.breaker.state !== 'OPEN') {
      breaker.reset();
      latencies.clear();
    }
  };
  control.onChange(onControl);
  // The watcher started with the service: act on the state found at start (e.g. cancel when starting HALTED).
  onControl(control.snapshot, UNKNOWN_CONTROL);

  // HALF_OPEN probation: CLOSED once probation_ms passed with no failure. Every
  // executor checks; the move applies once, and only to the episode it saw.
  const probationChecks = new Counter({ name: 'breaker_probation_checks_total', help: 'HALF_OPEN probation checks run by this executor', registers: [ctx.registry] });
  const probation = setInterval(
    () => {
      probationChecks.inc();
      const s = control.snapshot;
      if (s.known && probationPassed(s.breaker.state, s.breaker.at, ctx.clock.now(), config.current.circuit_breaker.probation_ms)) {
        void control.moveBreaker({ kind: 'probation_passed' }, s.breaker.at);
      }
    },
    Math.min(500, Math.max(50, config.current.circuit_breaker.probation_ms / 4)),
  );
  probation.unref();

  const mode = (): 'DRY_RUN' | 'PAPER' | 'LIVE' => {
    const m = control.snapshot.trading.mode;
    // DRY_RUN is the operator's to choose; otherwise the mode is the venue's kind.
    return m === 'DRY_RUN' ? 'DRY_RUN' : venue.kind === 'live' ? 'LIVE' : 'PAPER';
  };
  const consumer = new StreamConsumer({
    redis: ctx.connection('consumer'),
    stream: ctx.keys.orderIntents,
    group: 'executor',
    consumer: ctx.instance,
    deadLetter: ctx.keys.deadLetter,
    decode: (raw) => {
      const d = decodeTarget(raw);
      // Defense in depth: the harmoniser already drops symbols outside the universe.
      return d.ok && !universe.has(d.value.symbol) ? { ok: false, reason: `unknown_symbol: ${d.value.symbol} is not in the tradable universe`, check: 'unknown_symbol' } : d;
    },
    deadLetterChecks: ['unknown_symbol', 'unreadable_state'],
    handler: createTargetHandler({
      keys: ctx.keys,
      shard: ctx.shards.count > 1 ? ctx.shard : undefined,
      clock: ctx.clock,
      config,
      control,
      mode,
      reconciled: () => reconciler.reconciled,
      lotSize: (s) => instruments.current.symbols[s]?.lot_size ?? 0,
      enqueue: (orders) =>
        void worker
          .enqueue(orders)
          .catch((err: unknown) => ctx.log.warn({ event: 'orders.enqueue_failed', count: orders.length, err: String(err) }, 'enqueue failed; the outbox sweep will retry')),
      unqueue: (ids) => void worker.unqueue(ids).catch(() => undefined),
      metrics,
      reportsMaxLen: 200_000,
      log: ctx.log,
    }),
    log: ctx.log,
    registry: ctx.registry,
    batchSize: ctx.settings.batchSize ?? 200,
    claimIdleMs: ctx.settings.claimIdleMs,
    clock: ctx.clock,
  });

  // Reports of fills and cancels that come after the submit's answer (resting orders).
  const reports = new StreamConsumer<VenueTrade & { state: string }>({
    redis: ctx.connection('reports'),
    stream: ctx.keys.venueReports(venue.name),
    group: 'oms',
    consumer: ctx.instance,
    deadLetter: ctx.keys.deadLetter,
    decode: (raw): Decoded<VenueTrade & { state: string }> => {
      const f = fieldsFromArray(raw);
      const qty = Number(f['qty']);
      const price = Number(f['price']);
      if (!f['client_order_id'] || !f['trade_id'] || !(qty > 0) || !(price > 0)) return { ok: false, reason: 'malformed venue report', check: 'malformed' };
      return {
        ok: true,
        value: {
          clientOrderId: f['client_order_id'],
          venueOrderId: f['venue_order_id'] ?? '',
          symbol: f['symbol'] ?? '',
          side: f['side'] === 'SELL' ? 'SELL' : 'BUY',
          tradeId: f['trade_id'],
          qty,
          price,
          feeUsd: Number(f['fee_usd'] ?? 0),
          at: Number(f['at'] ?? ctx.clock.now()),
          state: f['state'] ?? '',
        },
      };
    },
    handler: {
      watchKeys: () => [],
      // Applied here, each once (the store drops a trade it has): a redelivered report changes nothing.
      handle: async (entries) => {
        for (const e of entries) await oms.applyFill(e.value.clientOrderId, e.value);
      },
    },
    log: ctx.log,
    registry: ctx.registry,
    claimIdleMs: ctx.settings.claimIdleMs,
    clock: ctx.clock,
  });

  const reloader = await startReloader(ctx, [riskReloadTarget(ctx, config), instrumentsReloadTarget(ctx, instruments)]);
  // The safety monitor reads the whole book (every shard): the executors serving the first shard run it.
  const safety = ctx.shard === 0 ? startSafetyMonitor(ctx, config, control) : undefined;

  await venue.start?.();
  await reports.start();
  // Reconcile before the first target, then on the interval; the outbox sweep finds lost enqueues.
  await reconciler.run();
  const housekeeping = setInterval(() => {
    cancelLeftToSends();
    void worker.sweep(2_000).catch((err: unknown) => ctx.log.warn({ event: 'orders.sweep_failed', err: String(err) }, 'outbox sweep failed'));
  }, 2_000);
  housekeeping.unref();
  let lastReconcile = ctx.clock.now();
  const reconcileTimer = setInterval(() => {
    if (ctx.clock.now() - lastReconcile < config.current.execution.reconcile_interval_ms && reconciler.reconciled) return;
    lastReconcile = ctx.clock.now();
    void reconciler.run();
  }, 1_000);
  reconcileTimer.unref();
  await consumer.start();

  return {
    status: () => ({
      venue: venue.name,
      venue_kind: venue.kind,
      mode: mode(),
      reconciled: reconciler.reconciled,
      breaker: control.snapshot.breaker.state,
      config_version: { risk_harmoniser: config.version, instruments: instruments.version },
    }),
    stop: async () => {
      clearInterval(probation);
      clearInterval(housekeeping);
      clearInterval(reconcileTimer);
      await safety?.stop();
      await consumer.stop();
      await reports.stop();
      await worker.stop();
      await cancelling;
      await venue.stop?.();
      await reloader.stop();
      breaker.shutdown();
    },
  };
}
