/** SIGTERM: stop intake, finish in-flight work, remove the heartbeat, exit 0 — also when Redis is gone. */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startRedis } from '../support/redis-server.ts';
import { createTestEnv, eventually, waitForExit, type TestEnv } from '../support/system.ts';

describe('graceful shutdown', () => {
  let env: TestEnv;
  afterAll(async () => {
    await env.close();
  });

  it('exits 0 on SIGTERM and removes its heartbeat', async () => {
    env = createTestEnv(inject('redisUrl'), 'shutdown');
    const child = env.spawn('strategist');
    await eventually(async () => (await env.redis.zcard(env.keys.heartbeats)) === 1, 30_000, 'heartbeat');
    child.kill('SIGTERM');
    await waitForExit(child);
    expect(child.exitCode).toBe(0);
    expect(await env.redis.zcard(env.keys.heartbeats)).toBe(0);
  });

  it('still exits 0 when Redis went away, bounded by SHUTDOWN_TIMEOUT_MS', async () => {
    const own = await startRedis({ appendonly: false });
    const env2 = createTestEnv(own.url, 'shutdown-dead');
    const child = env2.spawn('risk-harmoniser', { SHUTDOWN_TIMEOUT_MS: '1000' });
    await eventually(async () => (await env2.redis.zcard(env2.keys.heartbeats)) === 1, 30_000, 'heartbeat');
    env2.redis.disconnect();
    await own.stop();
    child.kill('SIGTERM');
    await waitForExit(child);
    expect(child.exitCode).toBe(0);
  });
});
