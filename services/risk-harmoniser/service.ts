/**
 * The risk harmoniser: consumes strategy_signals in the `risk-harmoniser`
 * group; hot-reloads conf/risk_params.yml (refused above the runbook's VaR
 * limit unless forced); answers "refresh volatility" commands.
 */
import { instrumentsReloadTarget, loadInstrumentsAtStart, universeOf } from '../core/config/instruments.ts';
import { loadRiskParams } from '../core/config/load.ts';
import { ConfigHolder, startReloader } from '../core/config/reloader.ts';
import { riskReloadTarget } from '../core/config/risk-reload.ts';
import type { RiskHarmoniserConfig } from '../core/config/schemas.ts';
import { ConfigurationError } from '../core/errors.ts';
import { decodeSignal } from '../core/messages.ts';
import { Counter, Gauge, Histogram } from '../core/metrics.ts';
import { StreamConsumer } from '../core/redis/streams.ts';
import { TimeSeriesWriter } from '../core/redis/timeseries.ts';
import type { RunningService, ServiceContext } from '../core/service.ts';
import { createSignalHandler, type RiskMetrics } from './on-signals.ts';
import { refreshVolatility } from './refresh-volatility.ts';
import { startBookView } from './book-view.ts';

/** How often a shard re-reads the other shards' VaR contributions and prices (the staleness bound of its whole-book VaR). */
export const BOOK_REFRESH_MS = 100;

export async function startRiskHarmoniser(ctx: ServiceContext): Promise<RunningService> {
  const path = ctx.settings.configPaths.risk_harmoniser;
  const loaded = await loadRiskParams(path, ctx.root);
  if (!loaded.ok) throw new ConfigurationError(`cannot start: ${loaded.reason}`);
  const config = new ConfigHolder<RiskHarmoniserConfig>(loaded.config, loaded.version, path, ctx.clock.now());
  const instruments = await loadInstrumentsAtStart(ctx);
  const universe = universeOf(instruments);
  const control = ctx.control;
  const timeseries = await TimeSeriesWriter.create(ctx.redis, ctx.keys, ctx.log);

  const r = ctx.registry;
  const metrics: RiskMetrics = {
    edge: new Gauge({ name: 'edge_blended_bps', help: 'Blended edge per symbol, basis points', labelNames: ['symbol'], registers: [r] }),
    position: new Gauge({ name: 'position_size_usd', help: 'Target position per symbol, USD (signed)', labelNames: ['symbol'], registers: [r] }),
    varPct: new Gauge({ name: 'var_pct', help: '1-day 95% VaR of the target position, percent of portfolio', labelNames: ['symbol'], registers: [r] }),
    portfolioVar: new Gauge({ name: 'portfolio_var_pct', help: '1-day 95% portfolio VaR, percent', registers: [r] }),
    kelly: new Gauge({ name: 'kelly_fraction_in_effect', help: 'Kelly fraction used for sizing', registers: [r] }),
    tickToTarget: new Histogram({
      name: 'tick_to_target_seconds',
      help: 'From tick timestamp to committed target',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5],
      registers: [r],
    }),
    varGuard: new Counter({ name: 'var_guard_activations_total', help: 'Times the VaR guard lowered the Kelly fraction', registers: [r] }),
  };

  // With write shards, the rest of the book from the other shards (book-view.ts).
  const book = ctx.shards.count > 1 ? await startBookView(ctx.redis, ctx.shards, ctx.shard, BOOK_REFRESH_MS, ctx.log, () => ctx.clock.now()) : undefined;
  let lastTrip = 0;
  const consumer = new StreamConsumer({
    redis: ctx.connection('consumer'),
    stream: ctx.keys.strategySignals,
    group: 'risk-harmoniser',
    consumer: ctx.instance,
    deadLetter: ctx.keys.deadLetter,
    decode: (raw) => {
      const d = decodeSignal(raw);
      // Defense in depth: the strategist already dead-letters ticks outside the universe.
      return d.ok && !universe.has(d.value.symbol) ? { ok: false, reason: `unknown_symbol: ${d.value.symbol} is not in the tradable universe`, check: 'unknown_symbol' } : d;
    },
    deadLetterChecks: ['unknown_symbol'],
    handler: createSignalHandler({
      keys: ctx.keys,
      instance: ctx.instance,
      clock: ctx.clock,
      config,
      control,
      timeseries,
      metrics,
      intentsMaxLen: 200_000,
      ...(book ? { otherShards: () => book.current() } : {}),
      onBadState: (key, reason) => ctx.log.error({ event: 'state.unreadable', key, reason }, `${reason}: rebuilt from scratch`),
      onVarGuard: (kellyFraction, reason) => {
        ctx.log.warn({ event: 'risk.var_guard', kelly_fraction: kellyFraction, reason }, `VaR guard: Kelly fraction lowered to ${kellyFraction} (${reason})`);
      },
      onVarBreach: (portfolioVar) => {
        const now = ctx.clock.now();
        if (control.snapshot.breaker.state === 'OPEN' || now - lastTrip < 1_000) return;
        lastTrip = now;
        ctx.log.error({ event: 'risk.var_breach', portfolio_var_pct: portfolioVar }, `portfolio VaR ${portfolioVar.toFixed(3)}% above breaker threshold: opening circuit breaker`);
        void control.moveBreaker({ kind: 'trip', cause: `var_breach: portfolio VaR ${portfolioVar.toFixed(3)}%` });
      },
    }),
    log: ctx.log,
    registry: ctx.registry,
    batchSize: ctx.settings.batchSize ?? 200,
    claimIdleMs: ctx.settings.claimIdleMs,
    clock: ctx.clock,
  });

  // An operator Kelly override lasts "until reset or reload".
  const target = riskReloadTarget(ctx, config, async () => {
    await ctx.writer.kellyOverride(null, { reason: 'configuration reloaded', by: ctx.instance });
    await control.refresh();
  });
  const reloader = await startReloader(ctx, [target, instrumentsReloadTarget(ctx, instruments)]);

  const volConn = ctx.connection('vol-refresh');
  const commands = ctx.connection('commands');
  let refreshing: Promise<unknown> = Promise.resolve();
  commands.on('message', (_ch: string, message: string) => {
    const m = /^refresh-volatility:([\w-]{1,64})$/.exec(message);
    if (!m) return;
    refreshing = refreshVolatility(ctx, volConn, config, instruments, m[1]!)
      .then((o) => {
        if (o) ctx.log.info({ event: 'risk.volatility_refreshed', ...o }, `volatility refreshed for ${o.symbols} symbols from ${o.ticks_used} ticks in ${o.duration_ms} ms`);
      })
      .catch((err: unknown) => ctx.log.error({ event: 'risk.volatility_refresh_failed', err: String(err) }, 'volatility refresh failed'));
  });
  await commands.subscribe(ctx.keys.controlCommands);

  await consumer.start();
  return {
    status: () => ({
      config_version: { risk_harmoniser: config.version, instruments: instruments.version },
      timeseries: timeseries.mode,
      ...(book ? { shard: ctx.shard, book_read_age_ms: ctx.clock.now() - book.readAt } : {}),
    }),
    stop: async () => {
      book?.stop();
      await commands.unsubscribe().catch(() => undefined);
      await refreshing;
      await consumer.stop();
      await reloader.stop();
    },
  };
}
