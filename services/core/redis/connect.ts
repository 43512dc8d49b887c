/**
 * ioredis connection factory. REDIS_URL forms:
 *   redis://host:port/db, rediss://..., with optional user:password@
 *   redis-sentinel://[[user:]password@]host1:port1,host2:port2/masterName[/db]
 *   redis-cluster://[[user:]password@]host1:port1,host2:port2   (Redis Cluster: every key
 *     then carries one hash tag through the namespace, see namespaceFor in keys.ts
 *     and docs/decisions/0007-redis-cluster-one-hash-slot.md)
 * Every client gets an `error` listener (an unhandled one crashes Node) and
 * reconnects with capped exponential backoff.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from '../log.ts';
import { commandKeys } from './acl.ts';
import { redisErrorCode } from './errors.ts';
import { namespaceFor, redisKeys, shardedKeys, type RedisKeys, type Shards } from './keys.ts';

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
  /** The ACL user to connect as (settings.redisAuth), instead of the URL's own user and password. */
  auth?: RedisAuth | undefined;
}

/** An ACL user and its password (REDIS_USERNAME, REDIS_PASSWORD_FILE). */
export interface RedisAuth {
  readonly username: string;
  readonly password: string;
}

export function parseSentinelUrl(url: string): RedisOptions | undefined {
  const m = /^redis-sentinel:\/\/(?:([^@]*)@)?([^/]+)\/([^/]+)(?:\/(\d+))?$/.exec(url);
  if (!m) return undefined;
  const sentinels = m[2]!.split(',').map((hp) => {
    const [host, port] = hp.split(':');
    return { host: host ?? '127.0.0.1', port: Number(port ?? 26379) };
  });
  const options: RedisOptions = { sentinels, name: decodeURIComponent(m[3]!), db: Number(m[4] ?? 0) };
  // [user:]password of the master (an ACL user, else the default user); the sentinels themselves take none.
  if (m[1]) {
    const colon = m[1].indexOf(':');
    if (colon > 0) options.username = decodeURIComponent(m[1].slice(0, colon));
    const password = decodeURIComponent(colon >= 0 ? m[1].slice(colon + 1) : m[1]);
    if (password) options.password = password;
  }
  return options;
}

export function isClusterUrl(url: string): boolean {
  return url.startsWith('redis-cluster://');
}

/** Replicas a write an order depends on must reach before the venue hears of it (settings.replicaAck): as set, else 1 through Sentinel (a master with a replica to fail over to), else 0. */
export function replicasToAck(url: string | undefined, setting: number | undefined): number {
  return setting ?? (redisUrl(url).startsWith('redis-sentinel://') ? 1 : 0);
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

/** The key names of each of `count` write shards (keys.ts, shardedKeys), on the same rules as redisKeysFor. */
export function shardsFor(url: string | undefined, namespace: string | undefined, count: number): Shards {
  return shardedKeys(namespaceFor(isClusterUrl(redisUrl(url)), namespace), namespace ?? '', count);
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
  const auth = opts.auth ? { username: opts.auth.username, password: opts.auth.password } : {};
  const common: RedisOptions = {
    ...auth,
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
      redisOptions: { ...(cluster.username ? { username: cluster.username } : {}), ...(cluster.password ? { password: cluster.password } : {}), ...common },
    };
    client = new Cluster(cluster.nodes, options);
  } else {
    const sentinel = parseSentinelUrl(url);
    // Through Sentinel: move to the new master as soon as the sentinels announce
    // it (+switch-master), not when the demoted one finally drops us (about 10 s
    // later, writes meanwhile lost), and on a READONLY reply (we reached a
    // replica) reconnect and resend: the command did not run there.
    client = sentinel
      ? new Redis({ ...common, ...sentinel, ...auth, failoverDetector: true, reconnectOnError: (err) => (redisErrorCode(err) === 'READONLY' ? 2 : false) })
      : new Redis(url, common);
  }
  logRefusals(client, opts.auth?.username ?? userOf(url), opts.name, opts.log);
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

/** The user a URL names (redis://user:password@host), else Redis' `default`. */
function userOf(url: string): string {
  const m = /^[a-z-]+:\/\/([^@/]*)@/.exec(url);
  const cred = m?.[1];
  return cred && cred.includes(':') && cred.indexOf(':') > 0 ? decodeURIComponent(cred.slice(0, cred.indexOf(':'))) : 'default';
}

/**
 * Log every command Redis refuses for want of rights (a NOPERM reply: the ACL
 * user may not touch that key, channel or command), with the user, the
 * command and the keys it named: event `redis.refused`. The caller still
 * gets the error. Pipelines go through sendCommand too.
 */
function logRefusals(client: RedisClient, user: string, connection: string, log: Logger | undefined): void {
  if (!log) return;
  const send = client.sendCommand.bind(client) as (...args: Parameters<Redis['sendCommand']>) => unknown;
  client.sendCommand = ((command: Parameters<Redis['sendCommand']>[0], ...rest: unknown[]) => {
    command.promise.catch((err: unknown) => {
      if (redisErrorCode(err) !== 'NOPERM') return;
      const args = command.args.map((a) => (Buffer.isBuffer(a) ? a.toString() : String(a)));
      log.error(
        { event: 'redis.refused', user, connection, command: command.name, keys: commandKeys(command.name, args), err: err instanceof Error ? err.message : String(err) },
        `Redis refused ${command.name} to user ${user}: ${err instanceof Error ? err.message : String(err)}`,
      );
    });
    return send(command, ...(rest as []));
  }) as typeof client.sendCommand;
}
