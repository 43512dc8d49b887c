/** Helpers to run services against the test redis-server, in-process or as child processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Clock } from '../../services/core/clock.ts';
import { connectRedis, isClusterUrl, type RedisClient } from '../../services/core/redis/connect.ts';
import { redisKeys, type RedisKeys, type ServiceName } from '../../services/core/redis/keys.ts';
import { startService, type RunningService, type ServiceContext, type ServiceHandle } from '../../services/core/service.ts';
import { startExecutor } from '../../services/executor/service.ts';
import { startFeed, type FeedOptions } from '../../services/feed/service.ts';
import { startRiskHarmoniser } from '../../services/risk-harmoniser/service.ts';
import { startStrategist } from '../../services/strategist/service.ts';
import { startWeb } from '../../services/web/service.ts';

export const ROOT = resolve(import.meta.dirname, '../..');

/** A namespace of its own per test file; on Redis Cluster it is a hash tag, so every key shares one slot. */
export function uniqueNamespace(label: string, cluster = false): string {
  const name = `t-${label}-${randomBytes(4).toString('hex')}`;
  return cluster ? `{${name}}:` : `${name}:`;
}

export interface TestEnv {
  url: string;
  ns: string;
  keys: RedisKeys;
  redis: RedisClient;
  handles: ServiceHandle[];
  children: ChildProcess[];
  start(service: ServiceName, fn: (ctx: ServiceContext) => Promise<RunningService>, instance?: string, options?: { clock?: Clock }): Promise<ServiceHandle>;
  spawn(service: ServiceName, env?: Record<string, string>): ChildProcess;
  close(): Promise<void>;
}

export function createTestEnv(url: string, label: string): TestEnv {
  const cluster = isClusterUrl(url);
  const ns = uniqueNamespace(label, cluster);
  const keys = redisKeys(ns);
  const redis = connectRedis({ url, name: `test:${label}` });
  const env: TestEnv = {
    url,
    ns,
    keys,
    redis,
    handles: [],
    children: [],
    async start(service, fn, instance, options = {}) {
      const h = await startService(service, fn, { redisUrl: url, namespace: ns, metricsPort: -1, instance: instance ?? `${service}-${randomBytes(3).toString('hex')}`, ...options });
      env.handles.push(h);
      return h;
    },
    spawn(service, extra = {}) {
      const child = spawn(process.execPath, ['--import', 'tsx', `services/${service}/main.ts`], {
        cwd: ROOT,
        env: { ...process.env, REDIS_URL: url, TP_NAMESPACE: ns, METRICS_PORT: '-1', LOG_LEVEL: 'warn', ...extra },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      env.children.push(child);
      return child;
    },
    async close() {
      for (const c of env.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await Promise.all(env.handles.reverse().map((h) => h.stop().catch(() => undefined)));
      // On a cluster the test owns the whole cluster (and KEYS would ask one node only).
      const stale = cluster ? [] : await redis.keys(`${ns}*`);
      if (stale.length > 0) await redis.del(...stale);
      redis.disconnect();
    },
  };
  return env;
}

/** Poll until `check` returns a truthy value (or stops throwing); fail after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastError: unknown;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : `; last value ${JSON.stringify(last)}`}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((r) => child.once('exit', r));
}

/**
 * The five services in this process, in the runbook's order (risk-harmoniser,
 * executor, strategist, web on an ephemeral port, the feed last). Returns the
 * web base URL and each handle.
 */
export async function startAllServices(env: TestEnv, feed: FeedOptions): Promise<{ base: string; executor: ServiceHandle }> {
  await env.start('risk-harmoniser', startRiskHarmoniser);
  const executor = await env.start('executor', startExecutor);
  await env.start('strategist', startStrategist);
  let port = 0;
  await env.start('web', async (ctx) => {
    const web = await startWeb(ctx, { host: '127.0.0.1', port: 0, token: undefined, requiredServices: ['feed', 'strategist', 'risk-harmoniser', 'executor', 'web'] });
    port = web.port;
    return web;
  });
  await env.start('feed', (ctx) => startFeed(ctx, feed));
  return { base: `http://127.0.0.1:${port}`, executor };
}
