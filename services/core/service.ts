/**
 * runService: the one way a service process starts and stops.
 *
 * Gives the service its settings, logger, metrics registry, Redis
 * connections and key names; writes a heartbeat to Redis (and removes the
 * heartbeats of instances dead for longer than HEARTBEAT_EXPIRY_MS, which a
 * SIGKILL leaves behind); serves /metrics; exports Redis' own command
 * latency (redis_latency_p99, µs, from LATENCY HISTOGRAM); and on
 * SIGTERM/SIGINT stops intake, lets in-flight work finish (bounded by
 * SHUTDOWN_TIMEOUT_MS), removes the heartbeat and closes connections.
 * A configuration error exits with 78 (EX_CONFIG): the supervisor stops
 * everything instead of restarting the service.
 */
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { systemClock, type Clock } from './clock.ts';
import type { BaseContext, RunningService, ServiceContext } from './context.ts';
import { controlStatus } from './control/status.ts';
import { ControlWatcher } from './control/watch.ts';
import { ControlWriter } from './control/write.ts';
import { EXIT_CONFIG, isConfigurationError } from './errors.ts';
import { pino } from 'pino';
import { createLogger, type DestinationStream } from './log.ts';
import { AggregatorRegistry, createRegistry, Gauge } from './metrics.ts';
import { connectRedis, shardsFor, type RedisAuth, type RedisClient } from './redis/connect.ts';
import { CONFIG_COMPONENTS, type ServiceName, type Shards } from './redis/keys.ts';
import { join } from 'node:path';
import { heartbeatMember } from './heartbeats.ts';
import { claimShardCount } from './redis/deployment.ts';
import { LatencyWindow } from './latency-window.ts';
import { luaScript, runLua } from './redis/lua-scripts.ts';
import { RedisLatencySampler } from './redis/redis-latency.ts';
import { settingsFrom, settingsFromEnvironment, type Settings } from './settings.ts';

const PRUNE_HEARTBEATS = luaScript('prune-heartbeats-n.lua');
/** A heartbeat not renewed for this long belongs to a dead instance and is removed. */
export const HEARTBEAT_EXPIRY_MS = 30_000;

export type { BaseContext, RunningService, ServiceContext };

export interface ServiceHandle {
  /** The context of the first (or only) shard served. */
  readonly ctx: ServiceContext;
  /** One context per shard served (one element without write shards). */
  readonly contexts: readonly ServiceContext[];
  stop(): Promise<void>;
  /** Port /metrics is served on (0 when disabled). */
  readonly metricsPort: number;
}

export interface StartOptions {
  /** Default: the built-in defaults (settingsFrom({})); runService passes the environment's. */
  settings?: Settings;
  /** Overrides of settings.redisUrl / namespace / metricsPort / instanceId (tests). */
  redisUrl?: string;
  /** The ACL user to connect as, instead of settings.redisAuth (tests). */
  redisAuth?: RedisAuth;
  namespace?: string;
  /** Overrides settings.shards (TP_SHARDS). */
  shards?: number;
  /** 0 → an ephemeral port; -1 → no metrics server. */
  metricsPort?: number;
  clock?: Clock;
  instance?: string;
  /** Where log lines go (stdout by default; tests capture them). */
  logDestination?: DestinationStream;
}

export function instanceId(service: string, settings?: Settings): string {
  return settings?.instanceId ?? `${service}-${hostname()}-${process.pid}`;
}

/** The services whose work is split by write shard: one unit per shard served (decision 0012). */
const SHARDED: ReadonlySet<ServiceName> = new Set(['strategist', 'risk-harmoniser', 'executor']);

/**
 * Start a service in this process (tests call this directly; main.ts goes
 * through runService). With write shards (TP_SHARDS > 1) a strategist, risk
 * harmoniser or executor runs one unit per shard it serves (TP_SHARD, else
 * all): each as it would run alone on that shard's keys, instance
 * `<instance>.s<shard>`, and one /metrics for all of them with a `shard` label.
 */
export async function startService(service: ServiceName, start: (ctx: ServiceContext) => Promise<RunningService>, options: StartOptions = {}): Promise<ServiceHandle> {
  const settings = options.settings ?? settingsFrom({});
  const url = options.redisUrl ?? settings.redisUrl;
  const shards = shardsFor(url, options.namespace ?? settings.namespace, options.shards ?? settings.shards);
  const served = SHARDED.has(service) && shards.count > 1 ? (settings.shard !== undefined ? [settings.shard] : shards.keys.map((_, i) => i)) : [0];
  const instance = options.instance ?? instanceId(service, settings);
  const units: Unit[] = [];
  try {
    for (const shard of served) {
      const unitInstance = shards.count > 1 && SHARDED.has(service) ? `${instance}.s${shard}` : instance;
      // The deployment's shard count is one control key: the process's first unit records or checks it.
      units.push(await startUnit(service, start, options, settings, shards, shard, unitInstance, units.length === 0));
    }
  } catch (err) {
    for (const u of units.reverse()) await u.stop();
    throw err;
  }
  const log = units[0]!.ctx.log;
  let server: Server | undefined;
  let metricsPort = 0;
  const wantPort = options.metricsPort ?? settings.metricsPort;
  if (wantPort >= 0) {
    const registries = units.map((u) => u.ctx.registry);
    const exposition = async (): Promise<{ body: string; contentType: string }> => {
      if (registries.length === 1) return { body: await registries[0]!.metrics(), contentType: registries[0]!.contentType };
      // One exposition for every shard's registry: the same metric names, told apart by the `shard` label.
      const merged = AggregatorRegistry.aggregate(await Promise.all(registries.map((r) => r.getMetricsAsJSON())));
      return { body: await merged.metrics(), contentType: merged.contentType };
    };
    server = createServer((req, res) => {
      if (req.url === '/metrics') {
        exposition()
          .then(({ body, contentType }) => {
            res.writeHead(200, { 'content-type': contentType });
            res.end(body);
          })
          .catch(() => {
            res.writeHead(500);
            res.end();
          });
      } else if (req.url === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'healthy', service, instance, ...(units.length > 1 ? { shards: served } : {}) }));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    const srv = server;
    try {
      await new Promise<void>((resolve, reject) => {
        srv.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`cannot serve /metrics on ${settings.metricsHost}:${wantPort}: ${err.code ?? err.message}`)));
        srv.listen(wantPort, settings.metricsHost, resolve);
      });
    } catch (err) {
      for (const u of units.reverse()) await u.stop();
      throw err;
    }
    const addr = server.address();
    metricsPort = typeof addr === 'object' && addr ? addr.port : 0;
    for (const u of units) u.setMetricsPort(metricsPort);
  }
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const u of [...units].reverse()) await u.stop();
      server?.closeAllConnections();
      await withTimeout(new Promise<void>((r) => (server ? server.close(() => r()) : r())), 1_000);
      log.info({ event: 'service.stopped' }, `${service} stopped`);
    })();
    return stopping;
  };
  return { ctx: units[0]!.ctx, contexts: units.map((u) => u.ctx), stop, metricsPort };
}

interface Unit {
  readonly ctx: ServiceContext;
  stop(): Promise<void>;
  setMetricsPort(port: number): void;
}

/** One service on one shard: its context, connections, control view, heartbeat and stop. */
async function startUnit(
  service: ServiceName,
  start: (ctx: ServiceContext) => Promise<RunningService>,
  options: StartOptions,
  settings: Settings,
  shards: Shards,
  shard: number,
  instance: string,
  claimShards: boolean,
): Promise<Unit> {
  const log = createLogger(service, instance, settings.logLevel, options.logDestination, settings.logBudget);
  const registry = createRegistry(service, shards.count > 1 && SHARDED.has(service) ? { shard } : undefined);
  const url = options.redisUrl ?? settings.redisUrl;
  const auth = options.redisAuth ?? settings.redisAuth;
  const keys = shards.keys[shard]!;
  const connections: RedisClient[] = [];
  const connection = (purpose: string, options: { blocking?: boolean } = {}): RedisClient => {
    const c = connectRedis({ ...(url ? { url } : {}), auth, name: `${service}:${purpose}`, log, ...(options.blocking ? { maxRetriesPerRequest: null } : {}) });
    connections.push(c);
    return c;
  };
  const redis = connection('main');
  if (claimShards) {
    try {
      await claimShardCount(redis, keys, shards.count);
    } catch (err) {
      redis.disconnect();
      throw err;
    }
  }
  const base: BaseContext = {
    service,
    instance,
    settings,
    log,
    registry,
    keys,
    shards,
    shard,
    clock: options.clock ?? systemClock,
    root: settings.root,
    redisUrl: url,
    redisAuth: auth,
    redis,
    connection,
  };
  const writer = new ControlWriter({ redis, keys, log, clock: base.clock, registry, auditFile: join(settings.stateDir, 'kill_events.jsonl') });
  const control = new ControlWatcher(base, writer);
  await control.start();
  const ctx: ServiceContext = { ...base, control, writer };

  const roundTrips = new LatencyWindow(512);
  const roundTripP99 = new Gauge({
    name: 'redis_roundtrip_p99_microseconds',
    help: "p99 of PING round trips from this process over the last 512 beats, microseconds (includes this process's event-loop delay; see nodejs_eventloop_lag_p99_seconds)",
    registers: [registry],
  });
  const serverLatency = new RedisLatencySampler(redis, registry, log, settings.redisLatencyWindowMs);
  const up = new Gauge({ name: 'service_up', help: '1 while the service runs', registers: [registry] });
  up.set(1);

  const running = await start(ctx);
  log.info({ event: 'service.started' }, `${service} started`);

  let metricsPort = 0;

  const member = heartbeatMember(service, instance);
  const startedAt = ctx.clock.now();
  let beats = 0;
  const beat = async (): Promise<void> => {
    const t0 = process.hrtime.bigint();
    await redis.ping();
    roundTrips.add(Number(process.hrtime.bigint() - t0) / 1_000);
    roundTripP99.set(roundTrips.quantile(0.99));
    const now = ctx.clock.now();
    if (beats++ % 5 === 0) {
      await serverLatency.sample(now);
      await runLua(
        redis,
        PRUNE_HEARTBEATS,
        [ctx.keys.heartbeats, ctx.keys.heartbeatDetail, ...CONFIG_COMPONENTS.map((c) => ctx.keys.configApplied(c))],
        [now - HEARTBEAT_EXPIRY_MS],
      );
    }
    const detail = {
      service,
      instance,
      pid: process.pid,
      host: hostname(),
      started_at: startedAt,
      ts: now,
      ...(metricsPort > 0 ? { metrics_port: metricsPort } : {}),
      ...(serverLatency.lastP99 !== undefined ? { redis_latency_p99_us: serverLatency.lastP99 } : {}),
      control: controlStatus(control.snapshot),
      ...(running.status?.() ?? {}),
    };
    await redis.multi().zadd(ctx.keys.heartbeats, now, member).hset(ctx.keys.heartbeatDetail, member, JSON.stringify(detail)).exec();
  };
  const heartbeatTimer = setInterval(() => {
    beat().catch((err: unknown) => log.warn({ event: 'heartbeat.failed', err: String(err) }, 'heartbeat failed'));
  }, settings.heartbeatIntervalMs);
  heartbeatTimer.unref();
  await beat().catch(() => undefined);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(heartbeatTimer);
      const timeoutMs = settings.shutdownTimeoutMs;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((r) => {
        timer = setTimeout(() => r('timeout'), timeoutMs);
        timer.unref();
      });
      const result = await Promise.race([running.stop().then(() => 'ok' as const), timedOut]);
      clearTimeout(timer);
      control.stop();
      if (result === 'timeout') log.warn({ event: 'service.stop_timeout', timeout_ms: timeoutMs }, 'in-flight work did not finish in time');
      // Each step below is bounded: with Redis gone, shutdown must still finish.
      await withTimeout(redis.multi().zrem(ctx.keys.heartbeats, member).hdel(ctx.keys.heartbeatDetail, member).exec(), 1_000);
      await Promise.all(connections.map((c) => withTimeout(c.quit(), 1_000).then((done) => done === undefined && c.disconnect())));
    })();
    return stopping;
  };
  return {
    ctx,
    stop,
    setMetricsPort: (port) => {
      metricsPort = port;
    },
  };
}

/** Resolve with the promise's value, or with undefined after `ms` (the promise is left to settle on its own). */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Entry point for a service process: settings from the environment, start, then stop cleanly on SIGTERM/SIGINT. */
export function runService(service: ServiceName, start: (ctx: ServiceContext) => Promise<RunningService>): void {
  runServices([{ service, start }]);
}

/**
 * Run services in this process, each as it would run alone (its own
 * context, connections, consumer group, heartbeat and /metrics), started in
 * the order given and stopped in the reverse order on SIGTERM or SIGINT, or
 * when the supervisor's IPC channel closes. Each reads its settings from the
 * environment, where `<SERVICE>__<NAME>` overrides `<NAME>` for it alone.
 * A configuration error in any of them stops the process with EXIT_CONFIG.
 * The single-process layout (services/pipeline/main.ts) runs several; every
 * main.ts one.
 */
export function runServices(units: readonly { service: ServiceName; start: (ctx: ServiceContext) => Promise<RunningService> }[]): void {
  const parsed = units.map((u) => {
    const r = settingsFromEnvironment(u.service);
    if (r.ok) return { ...u, settings: r.settings };
    createLogger(u.service, `${u.service}-${process.pid}`, 'info').fatal(
      { event: 'service.start_failed', config_error: true, errors: r.errors },
      `${u.service} cannot start: ${r.errors.join('; ')}`,
    );
    return process.exit(EXIT_CONFIG);
  });
  // One destination for every service of the process: their lines never interleave mid-line.
  const destination = units.length > 1 ? sharedStdout() : undefined;
  const handles: ServiceHandle[] = [];
  const shutdown = (signal: string): void => {
    for (const h of handles) h.ctx.log.info({ event: 'service.stopping', signal }, `${h.ctx.service} stopping on ${signal}`);
    (async () => {
      for (const h of [...handles].reverse()) await h.stop();
    })().then(
      () => process.exit(0),
      (err: unknown) => {
        handles[0]?.ctx.log.error({ event: 'service.stop_failed', err: String(err) }, 'stop failed');
        process.exit(1);
      },
    );
  };
  (async () => {
    for (const p of parsed) {
      const settings = p.settings;
      try {
        handles.push(await startService(p.service, p.start, { settings, ...(destination ? { logDestination: destination } : {}) }));
      } catch (err) {
        const config = isConfigurationError(err);
        const message = err instanceof Error ? err.message : String(err);
        createLogger(p.service, instanceId(p.service, settings), settings.logLevel, destination).fatal(
          { event: 'service.start_failed', config_error: config, err: config ? message : err instanceof Error ? err.stack : message },
          `${p.service} ${config ? 'cannot start' : 'failed to start'}: ${message}`,
        );
        process.exit(config ? EXIT_CONFIG : 1);
      }
    }
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    // Started by a supervisor with an IPC channel (npm start): stop when it dies, whatever killed it.
    if (process.channel) {
      process.channel.unref();
      process.once('disconnect', () => shutdown('supervisor gone'));
    }
  })().catch((err: unknown) => {
    process.stderr.write(`failed to start: ${String(err)}\n`);
    process.exit(1);
  });
}

/** Standard output as one pino destination, shared by the services of a process. */
function sharedStdout(): DestinationStream {
  return pino.destination({ dest: 1, sync: false, minLength: 0 });
}
