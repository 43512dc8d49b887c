/**
 * The whole system on a real 3-master Redis Cluster (decision 0007): every key
 * carries the namespace's hash tag, so each batch commit, breaker script and
 * control transaction runs in one slot; ticks reach a paper fill; the control
 * plane (reload, kill switch, breaker reset, refresh-volatility) works across nodes.
 */
import { execFileSync } from 'node:child_process';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBreakerState } from '../support/control.ts';
import { fieldsFromArray } from '../../services/core/messages.ts';
import { startService, type ServiceHandle } from '../../services/core/service.ts';
import { startFeed } from '../../services/feed/service.ts';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-server.ts';
import { activeBookRoot } from '../support/project-dir.ts';
import {
  allBeatSince,
  createTestEnv,
  drainedExactlyOnce,
  eventually,
  ordersAndKills,
  startProcessors,
  startAllServices,
  ticksCounted,
  feedStatus,
  useAclUsers,
  aclRefusals,
  type TestEnv,
} from '../support/system.ts';

const TICKS = 2_000;

describe('the system on a 3-master Redis Cluster', () => {
  let cluster: TestRedisCluster;
  let env: TestEnv;
  let executor: ServiceHandle;
  let base = '';
  let nodes: Redis[] = [];
  let users: Awaited<ReturnType<typeof useAclUsers>>;
  const post = (path: string, body: unknown, method = 'POST'): Promise<Response> =>
    fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    env = createTestEnv(cluster.url, 'cluster', { TP_ROOT: activeBookRoot() });
    // Each service as its own ACL user, created on every node (ACL users are not shared through the cluster bus).
    nodes = cluster.ports.map((port) => new Redis(port, '127.0.0.1'));
    users = await useAclUsers(env, nodes);
    ({ base, executor } = await startAllServices(env, { rate: 1_000, seed: 5, maxTicks: TICKS, streamMaxLen: 100_000 }));
  }, 60_000);

  afterAll(async () => {
    await env?.close();
    for (const n of nodes) n.disconnect();
    await cluster?.stop();
  });

  it('refuses a namespace without a hash tag, before touching Redis', async () => {
    await expect(startService('web', () => Promise.reject(new Error('must not start')), { redisUrl: cluster.url, namespace: 'plain:', metricsPort: -1 })).rejects.toThrow(
      /must contain a hash tag/,
    );
  });

  it('carries every tick to a paper fill and acknowledges all of them', async () => {
    const raw = await eventually(() => env.redis.get(env.keys.edgeBlended('BTC-USD')), 20_000, 'risk.edge_blended.BTC-USD');
    expect(JSON.parse(raw)).toMatchObject({ symbol: 'BTC-USD' });
    const ttl = await env.redis.ttl(env.keys.edgeBlended('BTC-USD'));
    expect(ttl).toBeGreaterThanOrEqual(1);
    expect(ttl).toBeLessThanOrEqual(300);
    const fill = await eventually(
      async () => {
        const reports = (await env.redis.xrange(env.keys.execReports, '-', '+')) as [string, string[]][];
        return reports.map(([, f]) => fieldsFromArray(f)).find((r) => r['status'] === 'FILLED');
      },
      30_000,
      'a FILLED exec report',
    );
    expect((await env.redis.hgetall(env.keys.order(fill['client_order_id']!)))['state']).toBe('FILLED');
    await eventually(
      async () => {
        const groups = (await env.redis.xinfo('GROUPS', env.keys.marketEvents)) as unknown[][];
        const g = fieldsFromArray(groups[0]!.map(String));
        if (g['pending'] === '0' && g['lag'] === '0' && (await env.redis.xlen(env.keys.marketEvents)) === TICKS) return true;
        throw new Error(`pending ${g['pending']}, lag ${g['lag']}`);
      },
      30_000,
      'market_events drained',
    );
    let ticks = 0;
    for (const s of ['BTC-USD', 'ETH-USD', 'AAPL']) ticks += (JSON.parse((await env.redis.get(env.keys.strategistState(s))) ?? '{}') as { ticks: number }).ticks;
    // A tick not counted must have been dead-lettered with its reason (say which, should this ever fail).
    const dead = ((await env.redis.xrange(env.keys.deadLetter, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
    expect({ ticks, dead: dead.map((d) => d['reason']) }).toEqual({ ticks: TICKS, dead: [] });
    const switches = (await env.redis.xrange(env.keys.modelSwitchLog, '-', '+')) as [string, string[]][];
    expect(switches.map(([, f]) => fieldsFromArray(f)['symbol']).sort()).toEqual(expect.arrayContaining(['AAPL', 'BTC-USD', 'ETH-USD']));
  });

  it('a batch of malformed ticks alone (no state key) still commits: dead-lettered and acknowledged', async () => {
    for (let i = 0; i < 3; i++) await env.redis.xadd(env.keys.marketEvents, '*', 'garbage', String(i));
    await eventually(
      async () => {
        const dead = ((await env.redis.xrange(env.keys.deadLetter, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
        const groups = ((await env.redis.xinfo('GROUPS', env.keys.marketEvents)) as unknown[][]).map((g) => fieldsFromArray(g.map(String)));
        const strategist = groups.find((g) => g['name'] === 'strategist');
        return dead.filter((d) => d['source_stream'] === env.keys.marketEvents).length === 3 && strategist?.['pending'] === '0' && strategist['lag'] === '0';
      },
      10_000,
      'three dead letters, nothing pending',
    );
  });

  it('keeps every key in one hash slot, on one node', async () => {
    const perNode: string[][] = [];
    for (const port of cluster.ports) {
      const node = new Redis(port, '127.0.0.1');
      perNode.push(await node.keys('*'));
      node.disconnect();
    }
    const holding = perNode.filter((k) => k.length > 0);
    expect(holding).toHaveLength(1);
    const keys = holding[0]!;
    expect(keys).toEqual(
      expect.arrayContaining([
        env.keys.marketEvents,
        env.keys.strategySignals,
        env.keys.orderIntents,
        env.keys.execReports,
        env.keys.edgeBlended('ETH-USD'),
        env.keys.strategistState('AAPL'),
        env.keys.heartbeats,
      ]),
    );
    expect(keys.every((k) => k.startsWith(env.ns))).toBe(true);
    const slots = new Set(await Promise.all(keys.slice(0, 50).map((k) => env.redis.cluster('KEYSLOT', k))));
    expect(slots.size).toBe(1);
  });

  it('/health is healthy and refresh-volatility finds its listener on another node', async () => {
    await eventually(async () => (await fetch(`${base}/health`)).status === 200, 20_000, '/health 200');
    const r = await post('/api/risk/refresh-volatility', {});
    expect(r.status).toBe(202);
    expect(((await r.json()) as { receivers: number }).receivers).toBeGreaterThanOrEqual(1);
  });

  it('a param.reload published to any node reaches every service that reloads', async () => {
    const before = await env.redis.xlen(env.keys.reloadOutcomes);
    await env.redis.publish(env.keys.paramReload, JSON.stringify({ component: 'risk_harmoniser', config_path: 'conf/risk_params.yml' }));
    const outcomes = await eventually(
      async () => {
        const rows = ((await env.redis.xrange(env.keys.reloadOutcomes, '-', '+')) as [string, string[]][]).slice(before).map(([, f]) => fieldsFromArray(f));
        return rows.length >= 3 ? rows : undefined; // risk-harmoniser, executor, web
      },
      10_000,
      'three reload outcomes',
    );
    expect(new Set(outcomes.map((o) => o['service']))).toEqual(new Set(['risk-harmoniser', 'executor', 'web']));
    expect(outcomes.every((o) => o['status'] === 'unchanged' || o['status'] === 'applied')).toBe(true);
  });

  it('a kill switch engaged over HTTP reaches the executor, and resets', async () => {
    expect((await post('/admin/kill-switch', { reason: 'cluster drill', operator: 'alice' })).status).toBe(200);
    await eventually(() => executor.ctx.control.snapshot.killSwitch.engaged, 5_000, 'executor sees the kill switch engaged');
    const audit = (await env.redis.xrange(env.keys.killSwitchAudit, '-', '+')) as [string, string[]][];
    expect(audit.map(([, f]) => fieldsFromArray(f)['action'])).toContain('engage');
    expect((await post('/admin/kill-switch', { reason: 'drill over', operator: 'bob' }, 'DELETE')).status).toBe(200);
    await eventually(() => !executor.ctx.control.snapshot.killSwitch.engaged, 5_000, 'executor sees the reset');
  });

  it('the breaker moves through its Lua transitions: OPEN, then reset to HALF_OPEN', async () => {
    await setBreakerState(env.redis, env.keys, 'OPEN', 'cluster drill', 'test', Date.now());
    await eventually(() => executor.ctx.control.snapshot.breaker.state === 'OPEN', 5_000, 'executor sees OPEN');
    const r = await post('/api/circuit-breaker/reset', { reason: 'drill', operator: 'alice' });
    expect(r.status).toBe(200);
    await eventually(() => executor.ctx.control.snapshot.breaker.state === 'HALF_OPEN', 5_000, 'executor sees HALF_OPEN');
    const events = (await env.redis.xrange(env.keys.breakerEvents, '-', '+')) as [string, string[]][];
    expect(events.map(([, f]) => fieldsFromArray(f)['state'])).toEqual(expect.arrayContaining(['OPEN', 'HALF_OPEN']));
  });

  it('ran all of the above with one ACL user per service, and no node refused any of their commands', async () => {
    expect(
      await aclRefusals(
        nodes,
        users.users.map((u) => u.name),
      ),
    ).toEqual([]);
    // The users are real: the strategist's may not touch the kill switch on the node that holds it.
    const strategist = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0]! }], { redisOptions: { ...env.auth['strategist']! } });
    try {
      await expect(strategist.hset(env.keys.killSwitch, 'engaged', '1')).rejects.toThrow(/NOPERM/);
    } finally {
      strategist.disconnect();
    }
  });
});

describe('a Redis Cluster failover while ticks stream', () => {
  let cluster: TestRedisCluster;
  let env: TestEnv;
  let servers: Redis[] = [];
  let users: Awaited<ReturnType<typeof useAclUsers>>;
  const STREAMED = 5_000;

  beforeAll(async () => {
    cluster = await startRedisCluster(3, 1);
    env = createTestEnv(cluster.url, 'cluster-failover', { TP_ROOT: activeBookRoot() });
    servers = cluster.ports.map((port) => new Redis(port, '127.0.0.1'));
    users = await useAclUsers(env, servers);
    await startProcessors(env);
  }, 90_000);

  afterAll(async () => {
    await env?.close();
    for (const n of servers) n.disconnect();
    await cluster?.stop();
  });

  it('the replica of the slot takes over (CLUSTER FAILOVER): every tick processed once on it, no order doubled, no kill switch', async () => {
    await env.start('feed', (ctx) => startFeed(ctx, { rate: 1_000, seed: 31, maxTicks: STREAMED, streamMaxLen: 100_000 }), 'feed-1');
    await eventually(async () => (await ticksCounted(env)) >= 1_000, 20_000, '1,000 ticks processed');

    const slot = Number(await env.redis.cluster('KEYSLOT', env.keys.marketEvents));
    const nodes = cluster.nodes();
    const owner = nodes.find((n) => n.role === 'master' && n.slots.some(([a, b]) => slot >= a && slot <= b))!;
    const replica = nodes.find((n) => n.masterId === owner.id)!;
    expect(replica).toBeDefined();
    // A coordinated manual failover: the master pauses writers until its replica has caught up.
    execFileSync('redis-cli', ['-p', String(replica.port), 'cluster', 'failover']);
    await eventually(() => execFileSync('redis-cli', ['-p', String(replica.port), 'role'], { encoding: 'utf8' }).startsWith('master'), 20_000, 'replica promoted');
    const promotedAt = Date.now();

    await eventually(async () => (await feedStatus(env, 'feed-1')).done, 30_000, 'feed-1 done');
    const held = await drainedExactlyOnce(env);
    // A coordinated failover loses nothing acknowledged: the new master holds every tick the feed saw written.
    const feed = await feedStatus(env, 'feed-1');
    expect(held).toBe(feed.published);
    expect(feed.published + feed.failed).toBe(STREAMED);
    expect(Number(execFileSync('redis-cli', ['-p', String(replica.port), 'xlen', env.keys.marketEvents], { encoding: 'utf8' }).trim())).toBe(held);

    const after = await ordersAndKills(env);
    expect(after.filled).toBeGreaterThan(0);
    expect(new Set(after.orderIds).size).toBe(after.orderIds.length);
    await eventually(() => allBeatSince(env, promotedAt), 20_000, 'heartbeats after the failover');
    expect(await ordersAndKills(env)).toMatchObject({ killEngaged: false, killAudit: 0 });
    expect(
      await aclRefusals(
        servers,
        users.users.map((u) => u.name),
      ),
    ).toEqual([]);
  });
});
