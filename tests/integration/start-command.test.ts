/**
 * Command one (`npm start`, scripts/start.mjs) as an operator uses it, on its
 * own ports and folders: a second start leaves the first alone; Ctrl-C (SIGINT
 * to the terminal's whole process group) stops every service before Redis, so
 * they finish and deregister; a supervisor killed with SIGKILL takes its
 * services with it, and the next start stops the redis-server it left.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../services/core/redis/keys.ts';
import { tradingDay } from '../../services/executor/domain/daily-pnl.ts';
import { freePort, startRedis } from '../support/redis-server.ts';
import { activeBookRoot } from '../support/project-dir.ts';
import { eventually, ROOT, waitForExit } from '../support/system.ts';

const SERVICES = ['feed', 'strategist', 'risk-harmoniser', 'executor', 'web'];
const keys = redisKeys('');

let dir: string;
let env: NodeJS.ProcessEnv;
let redisPort: number;
let webPort: number;
const started: ChildProcess[] = [];

interface Supervisor {
  child: ChildProcess;
  output: () => string;
}

/** Like a shell job: its own process group, so a "Ctrl-C" can go to the whole group. */
async function startSystem(extra: NodeJS.ProcessEnv = {}): Promise<Supervisor> {
  const child = spawn(process.execPath, ['scripts/start.mjs'], { cwd: ROOT, env: { ...env, ...extra }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  await eventually(() => out.includes('all services ready.') || child.exitCode !== null, 90_000, 'npm start to report ready');
  expect(out).toContain('all services ready.');
  return { child, output: () => out };
}

/** Every line of logs/trading-system.log and its rotated files (<name>.N is older than <name>.N-1), oldest first. */
function logEvents(): { event?: string; service?: string; time?: string; err?: string }[] {
  const rotated = readdirSync(join(dir, 'logs'))
    .map((f) => /^trading-system\.log\.(\d+)$/.exec(f))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
  return [...rotated.map((n) => `trading-system.log.${n}`), 'trading-system.log']
    .map((f) => readFileSync(join(dir, 'logs', f), 'utf8'))
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event?: string; service?: string; time?: string; err?: string });
}

async function ready(): Promise<number> {
  return (await fetch(`http://127.0.0.1:${webPort}/api/ready`)).status;
}

async function redisAnswers(): Promise<boolean> {
  const r = new Redis(`redis://127.0.0.1:${redisPort}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tp-start-'));
  redisPort = await freePort();
  webPort = await freePort();
  env = {
    ...process.env,
    DATA_DIR: join(dir, 'data'),
    LOGS_DIR: join(dir, 'logs'),
    EMBEDDED_REDIS_PORT: String(redisPort),
    WEB_PORT: String(webPort),
    METRICS_PORT_BASE: '0',
    START_QUIET: '1',
    LOG_LEVEL: 'info',
    // Small files, all kept: the logs rotate during the test, and every line is still read.
    LOG_FILE_SIZE: '1K',
    LOG_FILES: '500',
  };
  for (const k of ['REDIS_URL', 'TP_NAMESPACE', 'TP_ROOT', 'STATE_DIR']) delete env[k];
  // A book that trades every edge, so a paper fill shows the whole chain ran (the default holds on the synthetic market).
  env['TP_ROOT'] = activeBookRoot();
});

afterAll(async () => {
  // Each supervisor's whole group, even when the supervisor itself is gone: nothing may outlive the test.
  for (const c of started) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // group already empty
    }
  }
  const lock = join(dir, 'data', 'run.lock');
  try {
    const { redisPid } = JSON.parse(readFileSync(lock, 'utf8')) as { redisPid?: number };
    if (redisPid) process.kill(redisPid, 'SIGKILL');
  } catch {
    // no lock or no redis left
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('a second start leaves the first running and says how to stop it; Ctrl-C stops the services before Redis', { timeout: 180_000 }, async () => {
    const first = await startSystem();
    expect(await ready()).toBe(200);
    const probe = new Redis(`redis://127.0.0.1:${redisPort}`);
    await eventually(async () => (await probe.xlen(keys.execReports)) > 0, 60_000, 'a paper fill').finally(() => probe.disconnect());

    const second = spawnSync(process.execPath, ['scripts/start.mjs'], { cwd: ROOT, env, encoding: 'utf8', timeout: 30_000 });
    expect(second.status).toBe(0);
    expect(second.stdout).toContain(`already running (pid ${first.child.pid})`);
    expect(second.stdout).toContain(`kill -INT ${first.child.pid}`);
    expect(await ready()).toBe(200);

    process.kill(-first.child.pid!, 'SIGINT');
    await waitForExit(first.child);
    expect(first.child.exitCode).toBe(0);
    expect(first.output()).toContain('[start] stopped.');
    expect(await redisAnswers()).toBe(false);

    const events = logEvents();
    const stopped = new Set(events.filter((e) => e.event === 'service.stopped').map((e) => e.service));
    expect([...stopped].sort()).toEqual([...SERVICES].sort());
    // Redis outlived every service: no connection errors, no timed-out stop; the
    // Ctrl-C never reached it, the supervisor stopped it last.
    expect(events.filter((e) => e.event === 'redis.error' || e.event === 'service.stop_timeout')).toEqual([]);
    // The logs rotated by size: the runbook's file is still there, its older parts numbered.
    expect(readdirSync(join(dir, 'logs')).sort(), `${statSync(join(dir, 'logs', 'trading-system.log')).size} bytes`).toContain('trading-system.log.1');
    // Whatever the layout (this machine's default, printed), each service's lines are in its own file.
    expect(first.output()).toMatch(/\[start\] layout: (single|split)/);
    for (const service of SERVICES) {
      const files = readdirSync(join(dir, 'logs')).filter((f) => f === `${service}.log` || f.startsWith(`${service}.log.`));
      expect(
        files.some((f) => readFileSync(join(dir, 'logs', f), 'utf8').includes(`"service":"${service}"`)),
        service,
      ).toBe(true);
    }
    const redisLog = readFileSync(join(dir, 'logs', 'redis.log'), 'utf8');
    expect(redisLog).toContain('Received SIGTERM');
    expect(redisLog).not.toContain('Received SIGINT');

    // Each service removed its heartbeat before Redis stopped (AOF, reopened on the same folder).
    const redis = await startRedis({ dir: join(dir, 'data', 'redis'), appendonly: true });
    const r = new Redis(redis.url);
    try {
      expect(await r.zrange(keys.heartbeats, '0', '-1')).toEqual([]);
    } finally {
      r.disconnect();
      await redis.stop();
    }
  });

  it('services stop when the supervisor is killed; the next start stops the redis-server it left, then runs', { timeout: 180_000 }, async () => {
    const first = await startSystem();
    const { redisPid } = JSON.parse(readFileSync(join(dir, 'data', 'run.lock'), 'utf8')) as { redisPid: number };
    const probe = new Redis(`redis://127.0.0.1:${redisPort}`);
    try {
      await eventually(async () => (await probe.zcard(keys.heartbeats)) === SERVICES.length, 30_000, 'five heartbeats');
      first.child.kill('SIGKILL');
      await waitForExit(first.child);
      // The IPC channel closed: every service stops and deregisters; Redis (own process group) still runs.
      await eventually(async () => (await probe.zcard(keys.heartbeats)) === 0, 30_000, 'services to deregister');
      expect(await redisAnswers()).toBe(true);
    } finally {
      probe.disconnect();
    }

    const next = await startSystem();
    expect(next.output()).toContain(`stopping the redis-server (pid ${redisPid}) left by a supervisor that was killed`);
    expect(await ready()).toBe(200);
    process.kill(-next.child.pid!, 'SIGINT');
    await waitForExit(next.child);
    expect(next.child.exitCode).toBe(0);
  });

  it('a configuration error stops it with the reason before anything starts', { timeout: 60_000 }, async () => {
    for (const [bad, reason] of [
      [{ WEB_HOST: '0.0.0.0' }, 'WEB_HOST=0.0.0.0 is not loopback'],
      [{ FEED_RATE: 'fast' }, 'FEED_RATE: '],
    ] as const) {
      const r = spawnSync(process.execPath, ['scripts/start.mjs'], { cwd: ROOT, env: { ...env, ...bad }, encoding: 'utf8', timeout: 30_000 });
      expect(r.status).toBe(78);
      expect(r.stderr).toContain('configuration error; nothing was started');
      expect(r.stderr).toContain(reason);
      expect(r.stdout).not.toContain('redis-server on port');
      expect(await redisAnswers()).toBe(false);
    }
  });

  it('never prints the Redis password, and keeps its lock file to its owner', { timeout: 120_000 }, async () => {
    const redis = await startRedis({ appendonly: false });
    const secret = 'pw-7f3e9a1c';
    const admin = new Redis(redis.url);
    await admin.config('SET', 'requirepass', secret);
    admin.disconnect();
    try {
      const url = `redis://:${secret}@127.0.0.1:${redis.port}/0`;
      const first = await startSystem({ REDIS_URL: url });
      const second = spawnSync(process.execPath, ['scripts/start.mjs'], { cwd: ROOT, env: { ...env, REDIS_URL: url }, encoding: 'utf8', timeout: 30_000 });
      const lockFile = join(dir, 'data', 'run.lock');
      expect(statSync(lockFile).mode & 0o777).toBe(0o600);
      for (const text of [first.output(), second.stdout, second.stderr, readFileSync(lockFile, 'utf8')]) {
        expect(text).not.toContain(secret);
      }
      expect(second.stdout).toContain(`redis://:***@127.0.0.1:${redis.port}/0`);
      process.kill(-first.child.pid!, 'SIGINT');
      await waitForExit(first.child);
    } finally {
      await redis.stop();
    }
  });

  it('a clean stop after a service was killed with SIGKILL does not start the next run with the kill switch engaged', { timeout: 240_000 }, async () => {
    const first = await startSystem();
    const probe = new Redis(`redis://127.0.0.1:${redisPort}`);
    try {
      const detail = await eventually(
        async () => {
          const raw = Object.entries(await probe.hgetall(keys.heartbeatDetail)).find(([member]) => member.startsWith('strategist|'));
          return raw ? (JSON.parse(raw[1]) as { pid: number }) : undefined;
        },
        30_000,
        'the strategist heartbeat',
      );
      process.kill(detail.pid, 'SIGKILL');
      // Its process: the strategist's own (split layout) or the pipeline's (single).
      await eventually(() => /(strategist|pipeline) exited \(SIGKILL\); restarting/.test(first.output()), 10_000, 'the supervisor restarts it');
      // Its replacement beats; the dead instance's heartbeat is still there.
      await eventually(async () => (await probe.zrange(keys.heartbeats, '0', '-1')).filter((m) => m.startsWith('strategist|')).length === 2, 30_000, 'two strategist heartbeats');
      process.kill(-first.child.pid!, 'SIGINT');
      await waitForExit(first.child);
    } finally {
      probe.disconnect();
    }

    const next = await startSystem();
    const r = new Redis(`redis://127.0.0.1:${redisPort}`);
    try {
      // The next run's safety checks have run for longer than the missed-heartbeat grace (3 s).
      const since = Date.now();
      await eventually(async () => Number(await r.hget(keys.dailyStats(tradingDay(Date.now())), 'marked_at')) > since + 4_000, 30_000, 'safety checks running for 4 s');
      expect(await r.hget(keys.killSwitch, 'engaged')).not.toBe('1');
      expect(await r.xlen(keys.killSwitchAudit)).toBe(0);
    } finally {
      r.disconnect();
      process.kill(-next.child.pid!, 'SIGINT');
      await waitForExit(next.child);
    }
  });
});
