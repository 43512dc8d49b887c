/**
 * Two strategist replicas share market_events through the consumer group:
 * every tick folded once, a consistent switch log (no duplicate switch
 * events), a reload applied by both while ticks stream, and SIGHUP to one
 * process pausing the router for every replica.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fieldsFromArray } from '../../services/core/messages.ts';
import { startFeed } from '../../services/feed/service.ts';
import { startStrategist } from '../../services/strategist/service.ts';
import { createTestEnv, eventually, type TestEnv } from '../support/system.ts';
import { makeProjectDir } from '../support/project-dir.ts';

const TICKS = 4_000;
let env: TestEnv;
let root = '';

beforeAll(async () => {
  // Short dwell and a low threshold so switches happen within the test.
  root = makeProjectDir('strat', { rules: (t) => t.replace('min_dwell_ms: 30000', 'min_dwell_ms: 50').replace('min_confidence: 0.55', 'min_confidence: 0.05') });
  env = createTestEnv(inject('redisUrl'), 'strat', { TP_ROOT: root });
  await env.start('strategist', startStrategist, 'strat-a');
  await env.start('strategist', startStrategist, 'strat-b');
});

afterAll(async () => {
  await env.close();
});

describe('strategist replicas', () => {
  it('share the ticks, fold each once, and log a consistent switch history', async () => {
    await env.start('feed', (ctx) => startFeed(ctx, { rate: 2_000, seed: 77, maxTicks: TICKS, streamMaxLen: 100_000 }));
    // While ticks stream: reload a changed rules file on both replicas.
    await eventually(async () => (await env.redis.xlen(env.keys.marketEvents)) > TICKS / 3, 20_000, 'ticks flowing');
    writeFileSync(join(root, 'model_router_rules.yml'), readFileSync(join(root, 'model_router_rules.yml'), 'utf8').replace('switch_hysteresis: 0.05', 'switch_hysteresis: 0.04'));
    await env.redis.publish(env.keys.paramReload, '{"component": "model_router", "config_path": "model_router_rules.yml"}');
    await eventually(
      async () => {
        const g = fieldsFromArray(((await env.redis.xinfo('GROUPS', env.keys.marketEvents)) as unknown[][])[0]!.map(String));
        return g['pending'] === '0' && g['lag'] === '0' && (await env.redis.xlen(env.keys.marketEvents)) === TICKS;
      },
      30_000,
      'drained',
    );

    const consumers = ((await env.redis.xinfo('CONSUMERS', env.keys.marketEvents, 'strategist')) as unknown[][]).map((c) => fieldsFromArray(c.map(String)));
    expect(consumers.map((c) => c['name']).sort()).toEqual(['strat-a', 'strat-b']);

    let ticks = 0;
    for (const s of ['BTC-USD', 'ETH-USD', 'AAPL']) ticks += (JSON.parse((await env.redis.get(env.keys.strategistState(s))) ?? '{"ticks":0}') as { ticks: number }).ticks;
    expect(ticks).toBe(TICKS);

    const log = ((await env.redis.xrange(env.keys.modelSwitchLog, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
    expect(log.filter((e) => e['reason'] !== 'initial').length).toBeGreaterThan(0);
    for (const s of ['BTC-USD', 'ETH-USD', 'AAPL']) {
      const mine = log.filter((e) => e['symbol'] === s);
      expect(mine[0]).toMatchObject({ old_model: 'none', reason: 'initial' });
      expect(mine.filter((e) => e['reason'] === 'initial')).toHaveLength(1);
      // Each switch starts from the model the previous one ended on: no duplicate or lost switch.
      for (let i = 1; i < mine.length; i++) {
        expect(mine[i]!['old_model']).toBe(mine[i - 1]!['new_model']);
        expect(mine[i]!['new_model']).not.toBe(mine[i]!['old_model']);
      }
    }

    const outcomes = ((await env.redis.xrange(env.keys.reloadOutcomes, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
    expect(
      outcomes
        .filter((o) => o['component'] === 'model_router' && o['status'] === 'applied')
        .map((o) => o['instance'])
        .sort(),
    ).toEqual(['strat-a', 'strat-b']);
    const applied = await env.redis.hgetall(env.keys.configApplied('model_router'));
    expect(new Set(Object.values(applied).map((v) => (JSON.parse(v) as { version: string }).version)).size).toBe(1);
  });

  it('kill -HUP to one strategist process pauses the router for every replica', async () => {
    const child = env.spawn('strategist', { TP_ROOT: root });
    await eventually(
      async () => (await env.redis.zrange(env.keys.heartbeats, '0', '-1')).some((m) => m.startsWith('strategist|') && !m.endsWith('|strat-a') && !m.endsWith('|strat-b')),
      30_000,
      'third strategist up',
    );
    child.kill('SIGHUP');
    await eventually(async () => (await env.redis.hget(env.keys.routerControl, 'paused')) === '1', 10_000, 'paused');
    expect(await env.redis.hget(env.keys.routerControl, 'reason')).toBe('SIGHUP');
    // The in-process replicas see it too, and the process that got SIGHUP keeps running.
    for (const h of env.handles.filter((x) => x.ctx.service === 'strategist')) {
      await eventually(async () => {
        const { readControl } = await import('../../services/core/control/read.ts');
        return (await readControl(h.ctx.redis, h.ctx.keys, Date.now())).router.paused;
      });
    }
    expect(child.exitCode).toBeNull();
  });
});
