/** Helpers to run services against the test redis-server, in-process or as child processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Clock } from '../../services/core/clock.ts';
import { parseHeartbeats } from '../../services/core/heartbeats.ts';
import { fieldsFromArray, type Target } from '../../services/core/messages.ts';
import { Cluster } from 'ioredis';
import { aclUserName, aclUserSet, applyAclUsers, newPassword, type AclUserSet } from '../../services/core/redis/acl-setup.ts';
import { connectRedis, isClusterUrl, type RedisAuth, type RedisClient } from '../../services/core/redis/connect.ts';
import { redisKeys, SERVICE_NAMES, shardedKeys, type RedisKeys, type ServiceName, type Shards } from '../../services/core/redis/keys.ts';
import { startService, type RunningService, type ServiceContext, type ServiceHandle } from '../../services/core/service.ts';
import { settingsFrom, type Settings } from '../../services/core/settings.ts';
import type { DestinationStream } from '../../services/core/log.ts';
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

/**
 * Settings for a service started by a test: the built-in defaults, quiet
 * logs (LOG_LEVEL, default error), the web on an ephemeral port with a
 * generous change budget, then `overrides` (environment-style names, e.g.
 * { CLAIM_IDLE_MS: '200', TP_ROOT: dir }). Nothing touches process.env.
 */
export function testSettings(overrides: Readonly<Record<string, string>> = {}): Settings {
  return settingsFrom({
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'error',
    TP_ROOT: ROOT,
    WEB_PORT: '0',
    WEB_RATE_LIMIT_PER_MINUTE: '100000',
    WEB_AUTH_FAILURES_PER_WINDOW: '10000',
    ...overrides,
  });
}

export interface StartTestOptions {
  clock?: Clock;
  /** Capture this instance's log lines (see captureLog). */
  logDestination?: DestinationStream;
  /** Setting overrides for this instance (testSettings). */
  settings?: Readonly<Record<string, string>>;
}

export interface TestEnv {
  url: string;
  ns: string;
  keys: RedisKeys;
  /** Every write shard's key names (TP_SHARDS in the env's settings; one shard: `keys`). */
  shards: Shards;
  redis: RedisClient;
  handles: ServiceHandle[];
  children: ChildProcess[];
  /** Overrides every instance this env starts gets (before the per-instance ones). */
  settings: Record<string, string>;
  /** The ACL user each service connects as (useAclUsers); none: the URL's own. */
  auth: Partial<Record<ServiceName, RedisAuth>>;
  start(service: ServiceName, fn: (ctx: ServiceContext) => Promise<RunningService>, instance?: string, options?: StartTestOptions): Promise<ServiceHandle>;
  spawn(service: ServiceName, env?: Record<string, string>): ChildProcess;
  close(): Promise<void>;
  /** Deletes the ACL users useAclUsers made. */
  dropUsers?: () => Promise<void>;
}

/**
 * Give each service of `env` its own ACL user (services/core/redis/acl.ts),
 * named after the env's namespace so test files do not share users, on every
 * server in `servers` (ACL users are not replicated: each master and replica
 * of a Sentinel set or a Cluster needs them; default: env.redis, every node
 * of a Cluster). Later env.start calls connect as those users.
 */
export async function useAclUsers(env: TestEnv, servers?: readonly RedisClient[]): Promise<AclUserSet & { prefix: string }> {
  const prefix = `${env.ns.replace(/[{}:]/g, '')}-`;
  const set = aclUserSet(env.shards, newPassword, { prefix, cluster: isClusterUrl(env.url), admin: false });
  const targets = servers ?? (env.redis instanceof Cluster ? env.redis.nodes('all') : [env.redis]);
  for (const t of targets) await applyAclUsers(t, set.users);
  for (const service of SERVICE_NAMES) env.auth[service] = { username: aclUserName(service, prefix), password: set.passwords.get(service)! };
  env.dropUsers = async () => {
    for (const t of targets) await t.call('ACL', 'DELUSER', ...set.users.map((u) => u.name)).catch(() => undefined);
  };
  return { ...set, prefix };
}

export function createTestEnv(url: string, label: string, settings: Record<string, string> = {}): TestEnv {
  const cluster = isClusterUrl(url);
  const ns = uniqueNamespace(label, cluster);
  const keys = redisKeys(ns);
  const shards = shardedKeys(ns, ns, Number(settings['TP_SHARDS'] ?? 1));
  const redis = connectRedis({ url, name: `test:${label}` });
  const env: TestEnv = {
    url,
    ns,
    keys,
    shards,
    redis,
    handles: [],
    children: [],
    settings,
    auth: {},
    async start(service, fn, instance, options = {}) {
      const auth = env.auth[service];
      const h = await startService(service, fn, {
        settings: testSettings({ ...env.settings, ...options.settings }),
        redisUrl: url,
        ...(auth ? { redisAuth: auth } : {}),
        namespace: ns,
        metricsPort: -1,
        instance: instance ?? `${service}-${randomBytes(3).toString('hex')}`,
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.logDestination ? { logDestination: options.logDestination } : {}),
      });
      env.handles.push(h);
      return h;
    },
    spawn(service, extra = {}) {
      const child = spawn(process.execPath, ['--import', 'tsx', `services/${service}/main.ts`], {
        cwd: ROOT,
        env: { ...process.env, REDIS_URL: url, TP_NAMESPACE: ns, METRICS_PORT: '-1', LOG_LEVEL: 'warn', ...env.settings, ...extra },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      env.children.push(child);
      return child;
    },
    async close() {
      for (const c of env.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await Promise.all(env.handles.reverse().map((h) => h.stop().catch(() => undefined)));
      await env.dropUsers?.();
      // On a cluster the test owns the whole cluster (and KEYS would ask one node only).
      const stale = cluster ? [] : await redis.keys(`${ns}*`);
      if (stale.length > 0) await redis.del(...stale);
      redis.disconnect();
    },
  };
  return env;
}

/** What Redis refused `users` (ACL LOG entries: username, reason, object = the key, channel or command), on each of `servers`. */
export async function aclRefusals(servers: readonly RedisClient[], users: readonly string[]): Promise<Record<string, string>[]> {
  const out: Record<string, string>[] = [];
  for (const server of servers) {
    const log = (await server.call('ACL', 'LOG', '1000')) as unknown[][];
    out.push(...log.map((e) => fieldsFromArray(e.map(String))).filter((e) => users.includes(e['username'] ?? '')));
  }
  return out;
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

/** The three stages that consume streams (risk-harmoniser, executor, strategist); returns the executor. */
export async function startProcessors(env: TestEnv): Promise<ServiceHandle> {
  await env.start('risk-harmoniser', startRiskHarmoniser);
  const executor = await env.start('executor', startExecutor);
  await env.start('strategist', startStrategist);
  return executor;
}

/**
 * The five services in this process, in the runbook's order (risk-harmoniser,
 * executor, strategist, web on an ephemeral port, the feed last). Returns the
 * web base URL and each handle.
 */
export async function startAllServices(env: TestEnv, feed: FeedOptions): Promise<{ base: string; executor: ServiceHandle }> {
  const executor = await startProcessors(env);
  let port = 0;
  await env.start('web', async (ctx) => {
    const web = await startWeb(ctx);
    port = web.port;
    return web;
  });
  await env.start('feed', (ctx) => startFeed(ctx, feed));
  return { base: `http://127.0.0.1:${port}`, executor };
}

/** Ticks the strategist has counted into its per-symbol state. */
export async function ticksCounted(env: TestEnv, symbols: readonly string[] = ['BTC-USD', 'ETH-USD', 'AAPL']): Promise<number> {
  let n = 0;
  for (const s of symbols) n += (JSON.parse((await env.redis.get(env.shards.keysOf(s).strategistState(s))) ?? '{}') as { ticks?: number }).ticks ?? 0;
  return n;
}

/** What a feed instance reports in its heartbeat detail: ticks written, ticks that failed, and whether it is done. */
export async function feedStatus(env: TestEnv, instance: string): Promise<{ published: number; failed: number; done: boolean }> {
  const raw = await env.redis.hget(env.keys.heartbeatDetail, `feed|${instance}`);
  const d = raw ? (JSON.parse(raw) as { ticks_published?: number; ticks_failed?: number; done?: boolean }) : {};
  return { published: d.ticks_published ?? 0, failed: d.ticks_failed ?? 0, done: d.done === true };
}

/**
 * Wait until market_events is drained (nothing pending or unread for the
 * strategist) and every tick in it is counted exactly once; returns its length.
 */
export async function drainedExactlyOnce(env: TestEnv, timeoutMs = 30_000, shard?: { keys: RedisKeys; symbols: readonly string[] }): Promise<number> {
  const keys = shard?.keys ?? env.keys;
  return eventually(
    async () => {
      const groups = ((await env.redis.xinfo('GROUPS', keys.marketEvents)) as unknown[][]).map((g) => fieldsFromArray(g.map(String)));
      const g = groups.find((x) => x['name'] === 'strategist');
      const [len, seen] = [await env.redis.xlen(keys.marketEvents), await ticksCounted(env, shard?.symbols)];
      // Read to the end: lag 0, or (after a Redis restart XINFO's lag can stay wrong for minutes, MACHINE-NOTES)
      // the group's last-delivered-id is the stream's last entry.
      const last = ((await env.redis.xrevrange(keys.marketEvents, '+', '-', 'COUNT', 1)) as [string, string[]][])[0]?.[0];
      const readToEnd = g?.['lag'] === '0' || (last !== undefined && g?.['last-delivered-id'] === last);
      if (g?.['pending'] === '0' && readToEnd && len === seen) return len;
      throw new Error(`pending ${g?.['pending']}, lag ${g?.['lag']}, length ${len}, counted ${seen}`);
    },
    timeoutMs,
    'market_events drained, each tick counted once',
  );
}

/**
 * Once no order is open (resting remainders filled or ended): the orders
 * created (client order ids from order_events' OrderCreated, each expected
 * once), how many ended FILLED, and whether any kill switch was engaged
 * (state or audit). Throws when the venue's fills (the paper venue's trade
 * log) and the positions disagree: a fill lost or applied twice.
 */
export async function ordersAndKills(env: TestEnv, shardKeys?: RedisKeys): Promise<{ orderIds: string[]; filled: number; killEngaged: boolean; killAudit: number }> {
  const keys = shardKeys ?? env.keys;
  const openStates = ['NEW', 'SUBMITTED', 'ACCEPTED', 'PARTIALLY_FILLED'];
  await eventually(
    async () => {
      const open = (await Promise.all(openStates.map(async (st) => (await env.redis.zrange(keys.ordersByState(st), '0', '4')).map((id) => `${id} ${st}`)))).flat();
      if (open.length === 0) return true;
      const q = `${keys.queuePrefix}:orders-paper`;
      const dbg = await Promise.all(
        ['wait', 'active', 'delayed', 'completed', 'failed', 'paused', 'marker', 'meta', 'prioritized'].map(
          async (k) =>
            `${k}=${await env.redis.type(`${q}:${k}`)}/${JSON.stringify(await env.redis.call('EVAL', "local t=redis.call('type',KEYS[1]).ok if t=='list' then return redis.call('llen',KEYS[1]) elseif t=='zset' then return redis.call('zcard',KEYS[1]) elseif t=='hash' then return cjson.encode(redis.call('hgetall',KEYS[1])) end return 0", 1, `${q}:${k}`))}`,
        ),
      );
      const job = open[0] ? await env.redis.hgetall(`${q}:${open[0].split(' ')[0]}`) : {};
      throw new Error(`open: ${open.join(', ')} ${dbg.join(' ')} job=${JSON.stringify(job).slice(0, 400)}`);
    },
    20_000,
    'no open order',
  );
  const events = ((await env.redis.xrange(keys.orderEvents, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
  const trades = ((await env.redis.xrange(keys.venueReports('paper-trades'), '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
  const net = new Map<string, number>();
  for (const t of trades) net.set(t['symbol'] ?? '', (net.get(t['symbol'] ?? '') ?? 0) + (t['side'] === 'BUY' ? 1 : -1) * Number(t['qty']));
  for (const [symbol, qty] of net) {
    const position = (JSON.parse((await env.redis.get(keys.position(symbol))) ?? '{"qty":0}') as { qty: number }).qty;
    if (Math.abs(position - qty) > 1e-6 * Math.max(1, Math.abs(qty))) {
      // What the next reader needs to find the lost transition: each venue fill of the symbol, its order as the OMS
      // has it, and that order's events.
      const detail = await Promise.all(
        trades
          .filter((t) => t['symbol'] === symbol)
          .map(async (t) => {
            const id = t['client_order_id'] ?? '';
            const o = await env.redis.hmget(keys.order(id), 'state', 'filled_qty', 'reason');
            const evs = events.filter((e) => e['client_order_id'] === id).map((e) => e['event']);
            return `${id} ${t['side']} ${t['qty']} -> OMS ${o[0] ?? 'none'} filled ${o[1] ?? '-'} (${o[2] ?? ''}) events ${evs.join(',')}`;
          }),
      );
      throw new Error(`${symbol}: position ${position} but the venue filled ${qty} net; ${detail.join(' | ').slice(0, 3_000)}`);
    }
  }
  return {
    orderIds: events.filter((e) => e['event'] === 'OrderCreated').map((e) => e['client_order_id'] ?? ''),
    filled: await env.redis.zcard(keys.ordersByState('FILLED')),
    killEngaged: ((await env.redis.hgetall(keys.killSwitch))['engaged'] ?? '0') === '1',
    killAudit: await env.redis.xlen(keys.killSwitchAudit),
  };
}

/** True once every one of `services` has a heartbeat newer than `since` (ms). */
export async function allBeatSince(env: TestEnv, since: number, services: readonly ServiceName[] = ['strategist', 'risk-harmoniser', 'executor', 'feed']): Promise<boolean> {
  const fresh = new Set(
    parseHeartbeats(await env.redis.zrange(env.keys.heartbeats, '0', '-1', 'WITHSCORES'))
      .filter((h) => h.ts > since)
      .map((h) => h.service),
  );
  return services.every((x) => fresh.has(x));
}

/** A log destination that keeps every line, parsed. */
export function captureLog(): { destination: DestinationStream; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
}

/** Safety rounds an executor has run (complete or failed), from its safety_checks_total. */
export async function safetyRounds(h: ServiceHandle): Promise<number> {
  const metric = h.ctx.registry.getSingleMetric('safety_checks_total');
  if (!metric) throw new Error(`${h.ctx.instance} has no safety monitor`);
  const { values } = await metric.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

/** Wait until every executor in `handles` has run `n` more safety rounds: proof the watchers ran before asserting that nothing happened. */
export async function afterSafetyRounds(handles: readonly ServiceHandle[], n: number, timeoutMs = 20_000): Promise<void> {
  const executors = handles.filter((h) => h.ctx.service === 'executor');
  const start = await Promise.all(executors.map((h) => safetyRounds(h)));
  await eventually(
    async () => (await Promise.all(executors.map((h) => safetyRounds(h)))).every((r, i) => r >= start[i]! + n),
    timeoutMs,
    `${n} more safety rounds on each executor`,
  );
}

/** Wait until every running instance in `handles` sees the control state `check` asks for. */
export async function everyInstanceSees(
  handles: readonly ServiceHandle[],
  check: (s: ServiceHandle['ctx']['control']['snapshot']) => boolean,
  what = 'the control state',
): Promise<void> {
  await eventually(() => handles.every((h) => check(h.ctx.control.snapshot)), 10_000, `every instance to see ${what}`);
}

/** Wait until every executor in `handles` has run `n` more HALF_OPEN probation checks (breaker_probation_checks_total). */
export async function afterProbationChecks(handles: readonly ServiceHandle[], n: number): Promise<void> {
  const executors = handles.filter((h) => h.ctx.service === 'executor');
  const count = async (h: ServiceHandle): Promise<number> =>
    (await h.ctx.registry.getSingleMetric('breaker_probation_checks_total')!.get()).values.reduce((s, v) => s + v.value, 0);
  const start = await Promise.all(executors.map(count));
  await eventually(async () => (await Promise.all(executors.map(count))).every((c, i) => c >= start[i]! + n), 20_000, `${n} more probation checks on each executor`);
}

/** The web service in this process on an ephemeral port (REQUIRED_SERVICES none unless given): its base URL, port and handle. */
export async function startTestWeb(env: TestEnv, instance?: string, options: StartTestOptions = {}): Promise<{ base: string; port: number; handle: ServiceHandle }> {
  let port = 0;
  const handle = await env.start(
    'web',
    async (ctx) => {
      const w = await startWeb(ctx);
      port = w.port;
      return w;
    },
    instance,
    { ...options, settings: { REQUIRED_SERVICES: 'none', ...options.settings } },
  );
  return { base: `http://127.0.0.1:${port}`, port, handle };
}

/** A target as the risk harmoniser writes it, with test defaults (crypto, 1 bps edge, model obi, stamped now). */
export function testTarget(t: Pick<Target, 'symbol' | 'target_usd' | 'price'> & Partial<Target>): Target {
  const now = t.ts ?? Date.now();
  return { asset_class: 'crypto', tick_ts: now, first_tick_ts: now, edge_bps: 1, var_pct: 0.1, model: 'obi', signal_id: `${now}-0`, ts: now, action: 'target', cost_bps: 0, ...t };
}
