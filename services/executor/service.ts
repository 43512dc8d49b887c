/**
 * The executor: consumes order_intents in the `executor` group, turns
 * targets into orders on the venue (paper by default) through the shared
 * circuit breaker, keeps orders and positions in Redis, writes exec_reports.
 */
import { instrumentsReloadTarget, loadInstrumentsAtStart, universeOf } from '../core/config/instruments.ts';
import { loadRiskParams } from '../core/config/load.ts';
import { ConfigHolder, startReloader } from '../core/config/reloader.ts';
import { riskReloadTarget } from '../core/config/risk-reload.ts';
import type { RiskHarmoniserConfig } from '../core/config/schemas.ts';
import { ConfigurationError } from '../core/errors.ts';
import { systemHalted, UNKNOWN_CONTROL, type BreakerState, type ControlSnapshot } from '../core/domain/control-state.ts';
import { probationPassed } from '../core/domain/breaker.ts';
import { parseScope } from '../core/domain/scopes.ts';
import { LatencyWindow } from '../core/latency-window.ts';
import { decodeWith, targetSchema } from '../core/messages.ts';
import { releaseProbe, reserveProbe } from '../core/redis/breaker-scripts.ts';
import { StreamConsumer } from '../core/redis/streams.ts';
import type { RunningService, ServiceContext } from '../core/service.ts';
import { Counter } from '../core/metrics.ts';
import { createExecutorMetrics } from './metrics.ts';
import { createTargetHandler } from './on-targets.ts';
import { startSafetyMonitor } from './safety-monitor.ts';
import { VenueBreaker } from './venue-breaker.ts';
import { PaperVenue } from './venue/paper-venue.ts';
import type { CancelFilter, Venue } from './venue/venue.ts';

const BREAKER_GAUGE: Record<BreakerState, number> = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 };

export interface ExecutorOptions {
  /** The execution venue (the plug-in point for a real one); the paper venue by default. */
  venue?: Venue;
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
  const venue = options.venue ?? new PaperVenue(ctx.settings.paper.failRate, ctx.settings.paper.latencyMs);
  const breaker = new VenueBreaker(venue, () => config.current, trip);

  const onControl = (next: ControlSnapshot, prev: ControlSnapshot): void => {
    metrics.breakerState.set(BREAKER_GAUGE[next.breaker.state]);
    const cancel = (filter: CancelFilter, why: string): void => {
      venue
        .cancel(filter)
        .then((n) => ctx.log.warn({ event: 'orders.cancelled', count: n, ...filter, why }, `${why}: ${n} resting orders cancelled`))
        .catch((err: unknown) => ctx.log.error({ event: 'orders.cancel_failed', ...filter, err: String(err) }, 'cancel failed'));
    };
    if (systemHalted(next) && !systemHalted(prev)) cancel({}, next.killSwitch.engaged ? 'kill switch engaged' : 'trading halted');
    if (next.known) {
      for (const [scope, c] of Object.entries(next.scoped)) {
        if (c.state !== 'HALTED' || prev.scoped[scope]?.state === 'HALTED') continue;
        const parsed = parseScope(scope);
        if (!parsed.ok || parsed.scope.kind === 'system') continue;
        cancel(parsed.scope.kind === 'symbol' ? { symbol: parsed.scope.symbol } : { model: parsed.scope.model }, `${scope} halted (${c.kind})`);
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

  const mode = (): 'DRY_RUN' | 'PAPER' | 'LIVE' => control.snapshot.trading.mode;
  const consumer = new StreamConsumer({
    redis: ctx.connection('consumer'),
    stream: ctx.keys.orderIntents,
    group: 'executor',
    consumer: ctx.instance,
    deadLetter: ctx.keys.deadLetter,
    decode: (raw) => {
      const d = decodeWith(targetSchema, raw);
      // Defense in depth: the harmoniser already drops symbols outside the universe.
      return d.ok && !universe.has(d.value.symbol) ? { ok: false, reason: `unknown_symbol: ${d.value.symbol} is not in the tradable universe`, check: 'unknown_symbol' } : d;
    },
    deadLetterChecks: ['unknown_symbol', 'unreadable_state'],
    handler: createTargetHandler({
      keys: ctx.keys,
      clock: ctx.clock,
      redis: ctx.redis,
      config,
      control,
      submit: (order, quote) => breaker.fire(order, quote),
      probe: {
        reserve: (owner, enteredAt) => {
          const c = config.current.circuit_breaker;
          // Longer than opossum's timeout (latency_threshold_ms × 10), so a live probe keeps its lease.
          return reserveProbe(ctx.redis, ctx.keys, { enteredAt, maxOrders: c.half_open_max_orders, owner, ttlMs: Math.max(2_000, c.latency_threshold_ms * 20) });
        },
        release: (owner) => void releaseProbe(ctx.redis, ctx.keys, owner).catch(() => undefined),
        failed: (cause, enteredAt) => void control.moveBreaker({ kind: 'probe_failed', cause }, enteredAt),
      },
      mode,
      metrics,
      reportsMaxLen: 200_000,
      log: ctx.log,
      onOrderLatency: (ms) => {
        latencies.add(ms);
        const c = config.current.circuit_breaker;
        if (latencies.size >= c.latency_window && latencies.mean() > c.latency_threshold_ms) {
          trip(`order_latency: mean ${latencies.mean().toFixed(1)} ms over ${c.latency_window} orders > ${c.latency_threshold_ms} ms`);
          latencies.clear();
        }
      },
    }),
    log: ctx.log,
    registry: ctx.registry,
    batchSize: ctx.settings.batchSize ?? 200,
    claimIdleMs: ctx.settings.claimIdleMs,
    clock: ctx.clock,
  });

  const reloader = await startReloader(ctx, [riskReloadTarget(ctx, config), instrumentsReloadTarget(ctx, instruments)]);
  const safety = startSafetyMonitor(ctx, config, control);

  await consumer.start();
  return {
    status: () => ({ venue: venue.name, mode: mode(), breaker: control.snapshot.breaker.state, config_version: { risk_harmoniser: config.version } }),
    stop: async () => {
      clearInterval(probation);
      await safety.stop();
      await consumer.stop();
      await reloader.stop();
      breaker.shutdown();
    },
  };
}
