/**
 * ioredis connection factory. REDIS_URL forms:
 *   redis://host:port/db, rediss://..., with optional user:password@
 *   redis-sentinel://[password@]host1:port1,host2:port2/masterName[/db]
 *   redis-cluster://[[user:]password@]host1:port1,host2:port2   (Redis Cluster: every key
 *     then carries one hash tag through the namespace, see namespaceFor in keys.ts
 *     and docs/decisions/0007-redis-cluster-one-hash-slot.md)
 * Every client gets an `error` listener (an unhandled one crashes Node) and
 * reconnects with capped exponential backoff.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from '../log.ts';
import { redisErrorCode } from './errors.ts';
import { namespaceFor, redisKeys, type RedisKeys } from './keys.ts';

/** A standalone/Sentinel client or a Cluster client: the commands the services use behave alike on both. */
export type RedisClient = Redis | Cluster;

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
  /** Retries of a command across reconnects before it fails (default 20; command-line tools use fewer). */
  maxRetriesPerRequest?: number | null;
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

export function isClusterUrl(url: string): boolean {
  return url.startsWith('redis-cluster://');
}

/** The URL a process connects to: the given one (settings.redisUrl), else the local default. */
export function redisUrl(url?: string): string {
  return url ?? DEFAULT_REDIS_URL;
}

/**
 * The key names for a connection: TP_NAMESPACE (or `namespace`), hash-tagged on
 * Cluster (namespaceFor); channels take the namespace as given.
 */
export function redisKeysFor(url: string | undefined, namespace: string | undefined): RedisKeys {
  return redisKeys(namespaceFor(isClusterUrl(redisUrl(url)), namespace), namespace ?? '');
}

export function parseClusterUrl(url: string): { nodes: { host: string; port: number }[]; username?: string; password?: string } | undefined {
  const m = /^redis-cluster:\/\/(?:([^@]*)@)?([^/@]+)\/?$/.exec(url);
  if (!m) return undefined;
  const nodes = m[2]!.split(',').map((hp) => {
    const [host, port] = hp.split(':');
    return { host: host || '127.0.0.1', port: Number(port ?? 6379) };
  });
  if (nodes.some((n) => !Number.isInteger(n.port) || n.port <= 0 || n.port > 65_535)) return undefined;
  if (!m[1]) return { nodes };
  // [user:]password, as in redis:// URLs (ACL user, else the default user).
  const colon = m[1].indexOf(':');
  const username = colon > 0 ? decodeURIComponent(m[1].slice(0, colon)) : undefined;
  const password = decodeURIComponent(colon >= 0 ? m[1].slice(colon + 1) : m[1]);
  return { nodes, ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

export function connectRedis(opts: ConnectOptions): RedisClient {
  const url = redisUrl(opts.url);
  const common: RedisOptions = {
    connectionName: opts.name,
    retryStrategy: retryDelay,
    // null: wait for the connection as long as it takes (BullMQ's blocking connections want it).
    maxRetriesPerRequest: opts.failFast ? 0 : opts.maxRetriesPerRequest === undefined ? 20 : opts.maxRetriesPerRequest,
    enableOfflineQueue: !opts.failFast,
    lazyConnect: false,
  };
  let client: RedisClient;
  if (isClusterUrl(url)) {
    const cluster = parseClusterUrl(url);
    if (!cluster) throw new Error(`REDIS_URL: cannot read "${url}" as redis-cluster://[password@]host1:port1,host2:port2`);
    const options: ClusterOptions = {
      clusterRetryStrategy: retryDelay,
      enableOfflineQueue: !opts.failFast,
      redisOptions: { ...common, ...(cluster.username ? { username: cluster.username } : {}), ...(cluster.password ? { password: cluster.password } : {}) },
    };
    client = new Cluster(cluster.nodes, options);
  } else {
    const sentinel = parseSentinelUrl(url);
    // Through Sentinel: move to the new master as soon as the sentinels announce
    // it (+switch-master), not when the demoted one finally drops us (about 10 s
    // later, writes meanwhile lost), and on a READONLY reply (we reached a
    // replica) reconnect and resend: the command did not run there.
    client = sentinel
      ? new Redis({ ...common, ...sentinel, failoverDetector: true, reconnectOnError: (err) => (redisErrorCode(err) === 'READONLY' ? 2 : false) })
      : new Redis(url, common);
  }
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
