/**
 * The playbook drills (`npm run drill`), short version: each against a
 * running feed, web, strategist, risk harmoniser and executor, on a Redis of
 * their own (the latency drill slows it down on purpose); each condition is
 * seen by every instance and each remedy brings every instance back.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRILLS, runDrill, type DrillDeps } from '../../services/cli/drills.ts';
import { startExecutor } from '../../services/executor/service.ts';
import { startFeed } from '../../services/feed/service.ts';
import { startRiskHarmoniser } from '../../services/risk-harmoniser/service.ts';
import { startStrategist } from '../../services/strategist/service.ts';
import { makeProjectDir } from '../support/project-dir.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { type TestEnv, createTestEnv, startTestWeb } from '../support/system.ts';

let redis: TestRedis;
let env: TestEnv;
let deps: DrillDeps;
let root: string;

beforeAll(async () => {
  redis = await startRedis({ appendonly: false });
  root = makeProjectDir('drills-short');
  // Heartbeats every 200 ms sample Redis' latency every second; over a 5 s window the latency drill recovers in seconds, not a minute.
  env = createTestEnv(redis.url, 'drills', { TP_ROOT: root, HEARTBEAT_INTERVAL_MS: '200', REDIS_LATENCY_WINDOW_MS: '5000', FEED_RATE: '300' });
  await env.start('strategist', startStrategist, 'strat-d');
  await env.start('risk-harmoniser', startRiskHarmoniser, 'risk-d');
  await env.start('executor', startExecutor, 'exec-d');
  const { base } = await startTestWeb(env, 'web-d', { settings: { REQUIRED_SERVICES: 'strategist,risk-harmoniser,executor' } });
  // Ticks flowing: the switch storm and the VaR breach need the router and the sizing at work.
  await env.start('feed', (ctx) => startFeed(ctx), 'feed-d');
  deps = {
    api: async (method, path, body) => {
      const r = await fetch(`${base}${path}`, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
      return { status: r.status, json: (await r.json()) as Record<string, unknown> };
    },
    redis: env.redis,
    keys: env.keys,
    shards: env.shards,
    timeoutMs: 15_000,
    tripBreaker: async (cause) => {
      await env.handles[0]!.ctx.writer.moveBreaker({ kind: 'trip', cause }, 'drill');
    },
    kill: () => {
      throw new Error('no supervisor here: the restart drill runs against npm start');
    },
    hostname: 'no-such-host',
    root,
    admin: env.redis,
  };
}, 60_000);
afterAll(async () => {
  await env.close();
  await redis.stop();
});

describe('playbook drills', () => {
  // restart needs the embedded runner's supervisor (it SIGKILLs a service and waits for the restart): npm run drill -- restart.
  for (const name of Object.keys(DRILLS).filter((n) => n !== 'restart'))
    it(`${name}: detected by every instance, recovered by the documented remedy`, { timeout: 40_000 }, async () => {
      const r = await runDrill(name, deps);
      expect(r, JSON.stringify(r)).toMatchObject({ name, ok: true });
      expect(r.detect_ms).not.toBeNull();
      expect(r.recover_ms).not.toBeNull();
      // Its config files are gone, the controls back as they were.
      expect(readdirSync(join(root, 'conf')).filter((f) => f.startsWith('drill-'))).toEqual([]);
      expect(existsSync(join(root, 'conf'))).toBe(true);
    });
});
