/** The feed on real Redis: what it reports as published is what market_events holds. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFeed } from '../../services/feed/service.ts';
import { createTestEnv, eventually, feedStatus, type TestEnv } from '../support/system.ts';

describe('feed', () => {
  let env: TestEnv;
  beforeAll(() => {
    env = createTestEnv(inject('redisUrl'), 'feed');
  });
  afterAll(async () => {
    await env.close();
  });

  it('counts ticks Redis refused as failed, logs them, and does not report them as published', async () => {
    // market_events held by a value of the wrong type: every XADD fails on its own (WRONGTYPE).
    await env.redis.set(env.keys.marketEvents, 'not a stream');
    const h = await env.start('feed', (ctx) => startFeed(ctx, { rate: 1_000, seed: 3, maxTicks: 60, streamMaxLen: 1_000 }), 'feed-wrongtype');
    const status = await eventually(
      async () => {
        const s = await feedStatus(env, 'feed-wrongtype');
        return s.done ? s : undefined;
      },
      10_000,
      'feed done',
    );
    expect(status).toEqual({ published: 0, failed: 60, done: true });
    const metrics = await h.ctx.registry.metrics();
    expect(metrics).toMatch(/feed_publish_errors_total\{[^}]*\} [1-9]/);
    expect(metrics).not.toMatch(/feed_ticks_published_total\{[^}]*symbol=/);
    await env.redis.del(env.keys.marketEvents);
  });
});
