/**
 * ioredis connection factory. REDIS_URL forms:
 *   redis://host:port/db, rediss://..., with optional user:password@
 *   redis-sentinel://[password@]host1:port1,host2:port2/masterName[/db]
 *   redis-cluster://... is refused with a clear error (see docs/ARCHITECTURE.md)
 * Every client gets an `error` listener (an unhandled one crashes Node) and
 * reconnects with capped exponential backoff.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../log.ts';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379/0';

export function retryDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 10), 2_000);
}

export interface ConnectOptions {
  url?: string;
  name: string;
  log?: Logger;
  /** Fail commands at once while disconnected instead of queueing them (safety checks use this). */
  failFast?: boolean;
}

export function parseSentinelUrl(url: string): RedisOptions | undefined {
  const m = /^redis-sentinel:\/\/(?:([^@]*)@)?([^/]+)\/([^/]+)(?:\/(\d+))?$/.exec(url);
  if (!m) return undefined;
  const sentinels = m[2]!.split(',').map((hp) => {
    const [host, port] = hp.split(':');
    return { host: host ?? '127.0.0.1', port: Number(port ?? 26379) };
  });
  const options: RedisOptions = { sentinels, name: decodeURIComponent(m[3]!), db: Number(m[4] ?? 0) };
  if (m[1]) options.password = decodeURIComponent(m[1]);
  return options;
}

export function connectRedis(opts: ConnectOptions): Redis {
  const url = opts.url ?? process.env['REDIS_URL'] ?? DEFAULT_REDIS_URL;
  const common: RedisOptions = {
    connectionName: opts.name,
    retryStrategy: retryDelay,
    maxRetriesPerRequest: opts.failFast ? 0 : 20,
    enableOfflineQueue: !opts.failFast,
    lazyConnect: false,
  };
  if (url.startsWith('redis-cluster://')) {
    throw new Error('REDIS_URL: Redis Cluster is not supported yet (each batch commits in one Lua script across its streams and state keys, which Cluster cannot do without hash-tagging the contract key names; see docs/ARCHITECTURE.md). Use standalone Redis or Sentinel (redis-sentinel://host:26379/master).');
  }
  const sentinel = parseSentinelUrl(url);
  const client = sentinel ? new Redis({ ...common, ...sentinel }) : new Redis(url, common);
  let lastErrorLogged = 0;
  client.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastErrorLogged > 5_000) {
      lastErrorLogged = now;
      opts.log?.warn({ event: 'redis.error', connection: opts.name, err: err.message }, 'Redis connection error');
    }
  });
  return client;
}
