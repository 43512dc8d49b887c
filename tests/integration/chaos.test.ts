/**
 * The crash drill at CI size (npm run chaos runs it at 1,000,000 ticks and
 * 10 kills): 50,000 ticks through two replicas of each pipeline service
 * while three random replicas are SIGKILLed and restarted and Redis is
 * restarted once (AOF). Every tick counted once, no client order id twice,
 * every position equal to its fills.
 */
import { describe, expect, it } from 'vitest';
import { runChaos } from '../../bench/chaos.ts';

describe('chaos at CI size', () => {
  it('50,000 ticks, 3 kills, 1 Redis restart: exactly once end to end', { timeout: 240_000 }, async () => {
    const r = await runChaos({ ticks: 50_000, kills: 3, redisRestart: true, rate: 2_000, log: () => undefined });
    console.info(`chaos: ${JSON.stringify(r)}`);
    expect(r).toMatchObject({ kills: 3, redisRestarts: 1, duplicateOrders: 0, ok: true });
    expect(r.counted).toBeGreaterThan(40_000); // ticks the feed could not write while Redis was down are not in the stream
    expect(r.orders).toBeGreaterThan(0);
  });
});
