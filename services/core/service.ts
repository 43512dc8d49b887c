/**
 * runService: the one way a service process starts and stops.
 *
 * Gives the service its logger, metrics registry, Redis connections and key
 * names; writes a heartbeat to Redis; serves /metrics; measures Redis round
 * trips (redis_latency_p99, µs); and on SIGTERM/SIGINT stops intake, lets
 * in-flight work finish (bounded by SHUTDOWN_TIMEOUT_MS), removes the
 * heartbeat and closes connections.
 */
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { systemClock, type Clock } from './clock.ts';
import { ControlWatcher, controlStatus } from './control.ts';
import { projectRoot } from './config/load.ts';
import { createLogger, type Logger } from './log.ts';
import { createRegistry, Gauge, type Registry } from './metrics.ts';
import { connectRedis, redisKeysFor, type RedisClient } from './redis/connect.ts';
import type { RedisKeys, ServiceName } from './redis/keys.ts';
import { heartbeatMember } from './heartbeats.ts';
import { LatencyWindow } from './latency-window.ts';

export interface BaseContext {
  readonly service: ServiceName;
  readonly instance: string;
  readonly log: Logger;
  readonly registry: Registry;
  readonly keys: RedisKeys;
  readonly clock: Clock;
  readonly root: string;
  /** Shared client for ordinary commands. */
  readonly redis: RedisClient;
  /** A dedicated connection (blocking reads, WATCH/MULTI, subscriptions); closed on stop. */
  connection(purpose: string): RedisClient;
}

/**
 * What a service gets: the base plus this instance's view of the shared
 * control plane (started before the service, reported with every heartbeat).
 */
export interface ServiceContext extends BaseContext {
  readonly control: ControlWatcher;
}

export interface RunningService {
  stop(): Promise<void>;
  /** Extra detail published with the heartbeat and shown by /api/status. */
  status?(): Record<string, unknown>;
}

export interface ServiceHandle {
  readonly ctx: ServiceContext;
  stop(): Promise<void>;
  /** Port /metrics is served on (0 when disabled). */
  readonly metricsPort: number;
}

export const HEARTBEAT_INTERVAL_MS = Number(process.env['HEARTBEAT_INTERVAL_MS'] ?? 1_000);

export interface StartOptions {
  redisUrl?: string;
  namespace?: string;
  /** 0 → an ephemeral port; -1 → no metrics server. */
  metricsPort?: number;
  clock?: Clock;
  instance?: string;
}

export function instanceId(service: string): string {
  return process.env['INSTANCE_ID'] ?? `${service}-${hostname()}-${process.pid}`;
}

/** Start a service in this process (tests call this directly; main.ts goes through runService). */
export async function startService(
  service: ServiceName,
  start: (ctx: ServiceContext) => Promise<RunningService>,
  options: StartOptions = {},
): Promise<ServiceHandle> {
  const instance = options.instance ?? instanceId(service);
  const log = createLogger(service, instance);
  const registry = createRegistry(service);
  const url = options.redisUrl ?? process.env['REDIS_URL'];
  const keys = redisKeysFor(url, options.namespace ?? process.env['TP_NAMESPACE']);
  const connections: RedisClient[] = [];
  const connection = (purpose: string): RedisClient => {
    const c = connectRedis({ ...(url ? { url } : {}), name: `${service}:${purpose}`, log });
    connections.push(c);
    return c;
  };
  const redis = connection('main');
  const base: BaseContext = {
    service,
    instance,
    log,
    registry,
    keys,
    clock: options.clock ?? systemClock,
    root: projectRoot(),
    redis,
    connection,
  };
  const control = new ControlWatcher(base);
  await control.start();
  const ctx: ServiceContext = { ...base, control };

  const latency = new LatencyWindow(512);
  const latencyP99 = new Gauge({ name: 'redis_latency_p99', help: 'p99 of Redis PING round trips over the last window, microseconds', registers: [registry] });
  const latencyP50 = new Gauge({ name: 'redis_latency_p50', help: 'p50 of Redis PING round trips over the last window, microseconds', registers: [registry] });
  const up = new Gauge({ name: 'service_up', help: '1 while the service runs', registers: [registry] });
  up.set(1);

  const running = await start(ctx);
  log.info({ event: 'service.started' }, `${service} started`);

  let server: Server | undefined;
  let metricsPort = 0;
  const wantPort = options.metricsPort ?? Number(process.env['METRICS_PORT'] ?? -1);
  if (wantPort >= 0) {
    server = createServer((req, res) => {
      if (req.url === '/metrics') {
        registry
          .metrics()
          .then((body) => {
            res.writeHead(200, { 'content-type': registry.contentType });
            res.end(body);
          })
          .catch(() => {
            res.writeHead(500);
            res.end();
          });
      } else if (req.url === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'healthy', service, instance }));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server!.listen(wantPort, process.env['METRICS_HOST'] ?? '127.0.0.1', resolve));
    const addr = server.address();
    metricsPort = typeof addr === 'object' && addr ? addr.port : 0;
  }

  const member = heartbeatMember(service, instance);
  const startedAt = ctx.clock.now();
  const beat = async (): Promise<void> => {
    const t0 = process.hrtime.bigint();
    await redis.ping();
    latency.add(Number(process.hrtime.bigint() - t0) / 1_000);
    latencyP99.set(latency.quantile(0.99));
    latencyP50.set(latency.quantile(0.5));
    const now = ctx.clock.now();
    const detail = { service, instance, pid: process.pid, host: hostname(), started_at: startedAt, ts: now, ...(server ? { metrics_port: metricsPort } : {}), control: controlStatus(control.snapshot), ...(running.status?.() ?? {}) };
    await redis
      .multi()
      .zadd(ctx.keys.heartbeats, now, member)
      .hset(ctx.keys.heartbeatDetail, member, JSON.stringify(detail))
      .exec();
  };
  const heartbeatTimer = setInterval(() => {
    beat().catch((err: unknown) => log.warn({ event: 'heartbeat.failed', err: String(err) }, 'heartbeat failed'));
  }, HEARTBEAT_INTERVAL_MS);
  heartbeatTimer.unref();
  await beat().catch(() => undefined);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(heartbeatTimer);
      const timeoutMs = Number(process.env['SHUTDOWN_TIMEOUT_MS'] ?? 10_000);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); timer.unref(); });
      const result = await Promise.race([running.stop().then(() => 'ok' as const), timedOut]);
      clearTimeout(timer);
      control.stop();
      if (result === 'timeout') log.warn({ event: 'service.stop_timeout', timeout_ms: timeoutMs }, 'in-flight work did not finish in time');
      // Each step below is bounded: with Redis gone, shutdown must still finish.
      await withTimeout(redis.multi().zrem(ctx.keys.heartbeats, member).hdel(ctx.keys.heartbeatDetail, member).exec(), 1_000);
      server?.closeAllConnections();
      await withTimeout(new Promise<void>((r) => (server ? server.close(() => r()) : r())), 1_000);
      await Promise.all(connections.map((c) => withTimeout(c.quit(), 1_000).then((done) => done === undefined && c.disconnect())));
      log.info({ event: 'service.stopped' }, `${service} stopped`);
    })();
    return stopping;
  };
  return { ctx, stop, metricsPort };
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

/** Entry point for a service process: start, then stop cleanly on SIGTERM/SIGINT. */
export function runService(service: ServiceName, start: (ctx: ServiceContext) => Promise<RunningService>): void {
  startService(service, start)
    .then((handle) => {
      const shutdown = (signal: string): void => {
        handle.ctx.log.info({ event: 'service.stopping', signal }, `${service} stopping on ${signal}`);
        handle.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            handle.ctx.log.error({ event: 'service.stop_failed', err: String(err) }, 'stop failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
      // Started by a supervisor with an IPC channel (npm start): stop when it dies, whatever killed it.
      if (process.channel) {
        process.channel.unref();
        process.once('disconnect', () => shutdown('supervisor gone'));
      }
    })
    .catch((err: unknown) => {
      createLogger(service, instanceId(service)).fatal({ event: 'service.start_failed', err: err instanceof Error ? err.stack : String(err) }, `${service} failed to start`);
      process.exit(1);
    });
}
