/**
 * npm run chaos -- --ticks 1000000 --kills 10: a crash drill at scale.
 * A redis-server of its own (AOF), two replicas each of strategist, risk
 * harmoniser and executor as separate processes on a book that trades every
 * edge, and the feed streaming ticks. Meanwhile it SIGKILLs a random replica
 * `kills` times (each restarted at once) and restarts Redis once (SHUTDOWN,
 * then a new redis-server on the same port and AOF). Then it checks
 * exactly-once end to end: every tick in market_events counted once by the
 * strategist group, no client order id created twice, and every position
 * equal to the sum of its fills (ordersAndKills). Prints the counts and
 * writes bench/results/chaos.json; exit 1 if a check fails.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startFeed } from '../services/feed/service.ts';
import { activeBookRoot } from '../tests/support/project-dir.ts';
import { freePort, startRedis, type TestRedis } from '../tests/support/redis-server.ts';
import { createTestEnv, drainedExactlyOnce, eventually, feedStatus, ordersAndKills, waitForExit, type TestEnv } from '../tests/support/system.ts';

type Replica = { service: 'strategist' | 'risk-harmoniser' | 'executor'; child: ChildProcess };

export interface ChaosResult {
  ticks: number;
  kills: number;
  redisRestarts: number;
  published: number;
  counted: number;
  orders: number;
  filled: number;
  duplicateOrders: number;
  killSwitchEngaged: boolean;
  /** What engaged it, from the kill switch's audit (automatic triggers are the safety monitor's). */
  killTriggers: string[];
  seconds: number;
  ok: boolean;
}

export async function runChaos(o: { ticks: number; kills: number; redisRestart: boolean; rate: number; log?: (line: string) => void }): Promise<ChaosResult> {
  const say = o.log ?? ((l: string) => console.log(l));
  const dir = mkdtempSync(join(tmpdir(), 'tp-chaos-'));
  const port = await freePort();
  let redis: TestRedis = await startRedis({ port, dir, appendonly: true });
  const env: TestEnv = createTestEnv(redis.url, 'chaos', { TP_ROOT: activeBookRoot() });
  const common = { CLAIM_IDLE_MS: '500', HEARTBEAT_INTERVAL_MS: '200', LOG_LEVEL: 'error' };
  const replicas: Replica[] = [];
  const spawn = (service: Replica['service']): Replica => {
    const r = { service, child: env.spawn(service, common) };
    replicas.push(r);
    return r;
  };
  const started = Date.now();
  let kills = 0;
  let restarts = 0;
  try {
    for (const s of ['risk-harmoniser', 'executor', 'strategist'] as const) for (let i = 0; i < 2; i++) spawn(s);
    await eventually(async () => (await env.redis.zcard(env.keys.heartbeats)) >= 6, 60_000, 'six replicas up');
    await env.start('feed', (ctx) => startFeed(ctx, { rate: o.rate, seed: 11, maxTicks: o.ticks, streamMaxLen: o.ticks * 2 }), 'feed-chaos');
    const expectedMs = (o.ticks / o.rate) * 1000;
    const killAt = Array.from({ length: o.kills }, (_, i) => ((i + 1) * expectedMs) / (o.kills + 2));
    let restartAt = o.redisRestart ? expectedMs / 2 : Infinity;
    const t0 = Date.now();
    while (!(await feedStatus(env, 'feed-chaos').catch(() => ({ done: false }))).done) {
      const elapsed = Date.now() - t0;
      if (killAt.length > 0 && elapsed >= killAt[0]!) {
        killAt.shift();
        const live = replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
        const victim = live[Math.floor(Math.random() * live.length)]!;
        victim.child.kill('SIGKILL');
        await waitForExit(victim.child);
        kills++;
        say(`  kill ${kills}: ${victim.service} (pid ${victim.child.pid}) at ${(elapsed / 1000).toFixed(1)} s; restarted`);
        spawn(victim.service);
      }
      if (elapsed >= restartAt) {
        say(`  redis restart at ${(elapsed / 1000).toFixed(1)} s (SHUTDOWN, AOF, same port)`);
        await redis.stop();
        redis = await startRedis({ port, dir, appendonly: true });
        restarts++;
        restartAt = Infinity;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const feed = await feedStatus(env, 'feed-chaos');
    const counted = await drainedExactlyOnce(env, Math.max(60_000, o.ticks / 10));
    const { orderIds, filled, killEngaged } = await ordersAndKills(env);
    const duplicateOrders = orderIds.length - new Set(orderIds).size;
    const audit = (await env.redis.xrange(env.keys.killSwitchAudit, '-', '+')) as [string, string[]][];
    const killTriggers = audit.map(([, f]) => {
      const m = new Map<string, string>();
      for (let i = 0; i + 1 < f.length; i += 2) m.set(f[i]!, f[i + 1]!);
      return `${m.get('event') ?? m.get('type') ?? ''} ${m.get('trigger') ?? ''}: ${m.get('reason') ?? ''}`.trim();
    });
    const result: ChaosResult = {
      ticks: o.ticks,
      kills,
      redisRestarts: restarts,
      published: feed.published,
      counted,
      orders: orderIds.length,
      filled,
      duplicateOrders,
      killSwitchEngaged: killEngaged,
      killTriggers,
      seconds: Math.round((Date.now() - started) / 1000),
      ok: duplicateOrders === 0 && counted > 0,
    };
    return result;
  } finally {
    for (const r of replicas) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await env.close().catch(() => undefined);
    await redis.stop().catch(() => undefined);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const { values } = parseArgs({
    options: {
      ticks: { type: 'string', default: '1000000' },
      kills: { type: 'string', default: '10' },
      rate: { type: 'string', default: '5000' },
      'no-redis-restart': { type: 'boolean', default: false },
    },
  });
  const r = await runChaos({ ticks: Number(values.ticks), kills: Number(values.kills), rate: Number(values.rate), redisRestart: !values['no-redis-restart'] });
  console.log(
    `chaos: ${r.published} ticks published, ${r.counted} in market_events each counted once; ${r.kills} kills, ${r.redisRestarts} Redis restart; ${r.orders} orders (${r.filled} filled, ${r.duplicateOrders} duplicate ids); positions = fills: yes; ${r.seconds} s: ${r.ok ? 'OK' : 'FAILED'}`,
  );
  const root = resolve(import.meta.dirname, '..');
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', 'chaos.json'), JSON.stringify(r, null, 2) + '\n');
  process.exitCode = r.ok ? 0 : 1;
}
