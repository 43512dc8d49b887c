/**
 * npm run bench:failover — what a Sentinel failover costs a client of ours.
 *
 * A master, a replica and a sentinel (tests/support/redis-server.ts). A
 * writer INCRs a counter every 10 ms through `connectRedis` (Sentinel URL,
 * failoverDetector on) and, for comparison, through a plain ioredis Sentinel
 * client without it. For each `SENTINEL FAILOVER` round it reports:
 *   moved_ms: from the failover command until the client's next write is
 *             answered by the new master;
 *   lost:     writes the client saw acknowledged that the new master does not
 *             have (they went to the demoted master before it became a replica).
 * Writes bench/results/failover.json. No pass/fail.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { connectRedis, parseSentinelUrl, type RedisClient } from '../services/core/redis/connect.ts';
import { startSentinelSet } from '../tests/support/redis-server.ts';

const ROUNDS = Number(process.env['BENCH_FAILOVER_ROUNDS'] ?? 3);
const ROOT = resolve(import.meta.dirname, '..');

interface Round {
  moved_ms: number;
  lost: number;
}

async function round(client: RedisClient, set: Awaited<ReturnType<typeof startSentinelSet>>, key: string): Promise<Round> {
  const from = set.masterPort();
  const to = from === set.master.port ? set.replica.port : set.master.port;
  await client.set(key, 0);
  let acked = 0;
  let movedAt = 0;
  let stop = false;
  const writer = (async () => {
    while (!stop) {
      try {
        await client.incr(key);
        acked++;
        const port = Number(((await client.config('GET', 'port')) as string[])[1]);
        if (port === to && movedAt === 0) movedAt = Date.now();
      } catch {
        // READONLY or a dropped connection while it moves
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  await new Promise((r) => setTimeout(r, 500));
  execFileSync('redis-cli', ['-p', String(from), 'wait', '1', '2000']);
  const t0 = Date.now();
  execFileSync('redis-cli', ['-p', String(set.sentinelPort), 'sentinel', 'failover', 'tpmaster']);
  const deadline = Date.now() + 30_000;
  while (movedAt === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 500));
  stop = true;
  await writer;
  // Wait until the demoted master has become a replica again (the next round fails over back to it).
  while (Date.now() < deadline + 30_000) {
    const role = execFileSync('redis-cli', ['-p', String(from), 'role'], { encoding: 'utf8' });
    if (role.startsWith('slave') && role.includes('connected')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const onNew = Number(execFileSync('redis-cli', ['-p', String(to), 'get', key], { encoding: 'utf8' }).trim());
  return { moved_ms: movedAt ? movedAt - t0 : Number.NaN, lost: acked - onNew };
}

async function main(): Promise<void> {
  const set = await startSentinelSet();
  const results: Record<string, Round[]> = { with_failover_detector: [], without: [] };
  try {
    const ours = connectRedis({ url: set.url, name: 'bench:failover' });
    const plain = new Redis({ ...parseSentinelUrl(set.url)!, maxRetriesPerRequest: 20 });
    plain.on('error', () => undefined);
    for (let i = 0; i < ROUNDS; i++) {
      results['with_failover_detector']!.push(await round(ours, set, 'bench:failover:ours'));
      results['without']!.push(await round(plain, set, 'bench:failover:plain'));
      console.log(`round ${i + 1}:`, JSON.stringify({ ours: results['with_failover_detector']!.at(-1), plain: results['without']!.at(-1) }));
    }
    ours.disconnect();
    plain.disconnect();
  } finally {
    await set.stop();
  }
  const out = { at: new Date().toISOString(), rounds: ROUNDS, write_interval_ms: 10, results };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'failover.json'), JSON.stringify(out, null, 2));
  console.log(JSON.stringify(out, null, 2));
}

await main();
