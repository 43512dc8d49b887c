/**
 * The risk harmoniser: consumes strategy_signals in the `risk-harmoniser`
 * group; hot-reloads conf/risk_params.yml (refused above the runbook's VaR
 * limit unless forced); answers "refresh volatility" commands.
 */
import { loadRiskParams } from '../core/config/load.ts';
import { ConfigHolder, startReloader } from '../core/config/reloader.ts';
import { riskReloadTarget } from '../core/config/risk-reload.ts';
import { DEFAULT_CONFIG_PATHS, type RiskHarmoniserConfig } from '../core/config/schemas.ts';
import { decodeWith, signalSchema } from '../core/messages.ts';
import { Counter, Gauge, Histogram } from '../core/metrics.ts';
import { StreamConsumer } from '../core/redis/streams.ts';
import { TimeSeriesWriter } from '../core/redis/timeseries.ts';
import type { RunningService, ServiceContext } from '../core/service.ts';
import { createSignalHandler, type RiskMetrics } from './on-signals.ts';
import { refreshVolatility } from './refresh-volatility.ts';

export async function startRiskHarmoniser(ctx: ServiceContext): Promise<RunningService> {
  const path = process.env['RISK_PARAMS'] ?? DEFAULT_CONFIG_PATHS.risk_harmoniser;
  const loaded = await loadRiskParams(path, ctx.root);
  if (!loaded.ok) throw new Error(`cannot start: ${loaded.reason}`);
  const config = new ConfigHolder<RiskHarmoniserConfig>(loaded.config, loaded.version, path, ctx.clock.now());
  const control = ctx.control;
  const timeseries = await TimeSeriesWriter.create(ctx.redis, ctx.keys, ctx.log);

  const r = ctx.registry;
  const metrics: RiskMetrics = {
    edge: new Gauge({ name: 'edge_blended_bps', help: 'Blended edge per symbol, basis points', labelNames: ['symbol'], registers: [r] }),
    position: new Gauge({ name: 'position_size_usd', help: 'Target position per symbol, USD (signed)', labelNames: ['symbol'], registers: [r] }),
    varPct: new Gauge({ name: 'var_pct', help: '1-day 95% VaR of the target position, percent of portfolio', labelNames: ['symbol'], registers: [r] }),
    portfolioVar: new Gauge({ name: 'portfolio_var_pct', help: '1-day 95% portfolio VaR, percent', registers: [r] }),
    kelly: new Gauge({ name: 'kelly_fraction_in_effect', help: 'Kelly fraction used for sizing', registers: [r] }),
    tickToTarget: new Histogram({ name: 'tick_to_target_seconds', help: 'From tick timestamp to committed target', buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5], registers: [r] }),
    varGuard: new Counter({ name: 'var_guard_activations_total', help: 'Times the VaR guard lowered the Kelly fraction', registers: [r] }),
  };

  let lastTrip = 0;
  const consumer = new StreamConsumer({
    redis: ctx.connection('consumer'),
    stream: ctx.keys.strategySignals,
    group: 'risk-harmoniser',
    consumer: ctx.instance,
    deadLetter: ctx.keys.deadLetter,
    decode: (raw) => decodeWith(signalSchema, raw),
    handler: createSignalHandler({
      keys: ctx.keys,
      instance: ctx.instance,
      clock: ctx.clock,
      config,
      control,
      timeseries,
      metrics,
      intentsMaxLen: 200_000,
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
    batchSize: Number(process.env['BATCH_SIZE'] ?? 200),
    claimIdleMs: Number(process.env['CLAIM_IDLE_MS'] ?? 5_000),
  });

  // An operator Kelly override lasts "until reset or reload".
  const target = riskReloadTarget(ctx, config, async () => {
    await ctx.redis.del(ctx.keys.kellyOverride);
    await control.refresh();
  });
  const reloader = await startReloader(ctx, [target]);

  const volConn = ctx.connection('vol-refresh');
  const commands = ctx.connection('commands');
  commands.on('message', (_ch: string, message: string) => {
    if (message !== 'refresh-volatility') return;
    refreshVolatility(ctx, volConn, config.current)
      .then((n) => ctx.log.info({ event: 'risk.volatility_refreshed', symbols: n }, `volatility refreshed for ${n} symbols`))
      .catch((err: unknown) => ctx.log.error({ event: 'risk.volatility_refresh_failed', err: String(err) }, 'volatility refresh failed'));
  });
  await commands.subscribe(ctx.keys.controlCommands);

  await consumer.start();
  return {
    status: () => ({ config_version: { risk_harmoniser: config.version }, timeseries: timeseries.mode }),
    stop: async () => {
      await commands.unsubscribe().catch(() => undefined);
      await consumer.stop();
      await reloader.stop();
    },
  };
}
