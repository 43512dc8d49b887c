/**
 * The playbook drills (`npm run drill`), short version: each against a
 * running web, strategist, risk harmoniser and executor; each condition is
 * seen by every instance and each remedy brings every instance back.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DRILLS, type DrillDeps } from '../../services/cli/drills.ts';
import { startExecutor } from '../../services/executor/service.ts';
import { startRiskHarmoniser } from '../../services/risk-harmoniser/service.ts';
import { startStrategist } from '../../services/strategist/service.ts';
import { makeProjectDir } from '../support/project-dir.ts';
import { type TestEnv, createTestEnv, startTestWeb } from '../support/system.ts';

let env: TestEnv;
let deps: DrillDeps;

beforeAll(async () => {
  env = createTestEnv(inject('redisUrl'), 'drills', { TP_ROOT: makeProjectDir('drills-short'), HEARTBEAT_INTERVAL_MS: '200' });
  await env.start('strategist', startStrategist, 'strat-d');
  await env.start('risk-harmoniser', startRiskHarmoniser, 'risk-d');
  await env.start('executor', startExecutor, 'exec-d');
  const { base } = await startTestWeb(env, 'web-d', { settings: { REQUIRED_SERVICES: 'strategist,risk-harmoniser,executor' } });
  deps = {
    api: async (method, path, body) => {
      const r = await fetch(`${base}${path}`, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
      return { status: r.status, json: (await r.json()) as Record<string, unknown> };
    },
    redis: env.redis,
    keys: env.keys,
    timeoutMs: 15_000,
    tripBreaker: async (cause) => {
      await env.handles[0]!.ctx.writer.moveBreaker({ kind: 'trip', cause }, 'drill');
    },
    kill: () => {
      throw new Error('no supervisor here: the restart drill runs against npm start');
    },
    hostname: 'no-such-host',
  };
}, 60_000);
afterAll(async () => {
  await env.close();
});

describe('playbook drills', () => {
  // restart needs the embedded runner's supervisor (it SIGKILLs a service and waits for the restart): npm run drill -- restart.
  for (const name of Object.keys(DRILLS).filter((n) => n !== 'restart'))
    it(`${name}: detected by every instance, recovered by the documented remedy`, { timeout: 40_000 }, async () => {
      const r = await DRILLS[name]!(deps);
      expect(r, JSON.stringify(r)).toMatchObject({ name, ok: true });
      expect(r.detect_ms).not.toBeNull();
      expect(r.recover_ms).not.toBeNull();
    });
});
