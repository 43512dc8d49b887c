/**
 * The strategist (signal mux + model router): consumes market_events in the
 * `strategist` consumer group, so replicas share the ticks; decodes each tick
 * strictly against the tradable universe (conf/instruments.yml) and the
 * market-data checks (core/domain/market-data.ts), dead-lettering what fails;
 * hot-reloads model_router_rules.yml and the universe; `kill -HUP` pauses the
 * router for every replica.
 */
import { instrumentsReloadTarget, loadInstrumentsAtStart, universeOf } from '../core/config/instruments.ts';
import { ConfigHolder, startReloader, type ReloadTarget } from '../core/config/reloader.ts';
import { decodeTick, streamIdMs, TICK_CHECKS, type Tick } from '../core/domain/market-data.ts';
import { ConfigurationError } from '../core/errors.ts';
import type { Decoded } from '../core/messages.ts';
import { StreamConsumer } from '../core/redis/streams.ts';
import type { RunningService, ServiceContext } from '../core/service.ts';
import { createStrategistMetrics } from './metrics.ts';
import { createTickHandler } from './on-ticks.ts';
import { loadStrategistBundle, OnnxSessionCache, type StrategistBundle } from './model-runtime.ts';

export async function startStrategist(ctx: ServiceContext): Promise<RunningService> {
  const path = ctx.settings.configPaths.model_router;
  const sessions = new OnnxSessionCache();
  const loaded = await loadStrategistBundle(path, ctx.root, sessions);
  if (!loaded.ok) throw new ConfigurationError(`cannot start: ${loaded.reason}`);
  const rules = new ConfigHolder<StrategistBundle>(loaded.config, loaded.version, path, ctx.clock.now());
  const instruments = await loadInstrumentsAtStart(ctx);
  const universe = universeOf(instruments);

  const control = ctx.control;
  const metrics = createStrategistMetrics(ctx.registry, Object.keys(instruments.current.symbols));

  const decode = (raw: readonly string[], id: string): Decoded<Tick> => {
    const r = decodeTick(raw, streamIdMs(id), universe, instruments.current.market_data);
    return r.ok ? { ok: true, value: r.tick } : { ok: false, reason: `${r.check}: ${r.reason}`, check: r.check };
  };
  const consumer = new StreamConsumer({
    redis: ctx.connection('consumer'),
    stream: ctx.keys.marketEvents,
    group: 'strategist',
    consumer: ctx.instance,
    deadLetter: ctx.keys.deadLetter,
    decode,
    deadLetterChecks: TICK_CHECKS,
    handler: createTickHandler({ keys: ctx.keys, clock: ctx.clock, rules, instruments, control, metrics, signalsMaxLen: 200_000, log: ctx.log }),
    log: ctx.log,
    registry: ctx.registry,
    batchSize: ctx.settings.batchSize ?? 500,
    claimIdleMs: ctx.settings.claimIdleMs,
    clock: ctx.clock,
  });

  const target: ReloadTarget<StrategistBundle> = {
    component: 'model_router',
    holder: rules,
    load: async (p) => {
      const next = await loadStrategistBundle(p, ctx.root, sessions);
      // A rejected load may have opened sessions for files it then refused.
      if (!next.ok) sessions.retainOnly(rules.current.modelKeys);
      return next;
    },
    afterApply: (next) => sessions.retainOnly(next.modelKeys),
  };
  const reloader = await startReloader(ctx, [target, instrumentsReloadTarget(ctx, instruments)], 'model_router_reload_duration_ms');

  const onHup = (): void => {
    ctx.log.info({ event: 'router.pause_requested', signal: 'SIGHUP' }, 'SIGHUP: pausing the model router');
    ctx.writer
      .router(true, { by: `SIGHUP:${ctx.instance}`, reason: 'SIGHUP' })
      .catch((err: unknown) => ctx.log.error({ event: 'router.pause_failed', err: String(err) }, 'pause failed'));
  };
  process.on('SIGHUP', onHup);

  await consumer.start();
  return {
    status: () => ({ config_version: { model_router: rules.version, instruments: instruments.version }, router_paused: control.snapshot.router.paused }),
    stop: async () => {
      process.off('SIGHUP', onHup);
      await consumer.stop();
      await reloader.stop();
      await sessions.close();
    },
  };
}
