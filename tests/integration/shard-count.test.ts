/**
 * A deployment's write-shard count is recorded by its first service
 * (control:shards) and every later service is checked against it: one
 * started with another TP_SHARDS would read and write other keys than the
 * rest (decision 0012), so it refuses to start, saying both numbers.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { isConfigurationError } from '../../services/core/errors.ts';
import { startRiskHarmoniser } from '../../services/risk-harmoniser/service.ts';
import { startStrategist } from '../../services/strategist/service.ts';
import { createTestEnv, type TestEnv } from '../support/system.ts';

const envs: TestEnv[] = [];
afterEach(async () => {
  for (const e of envs.splice(0)) await e.close();
});

describe('the deployment shard count', () => {
  it('is recorded by the first service; a later one with another TP_SHARDS refuses to start and leaves nothing behind', async () => {
    const env = createTestEnv(inject('redisUrl'), 'shard-count');
    envs.push(env);
    await env.start('risk-harmoniser', startRiskHarmoniser, 'risk-one');
    expect(await env.redis.get(env.keys.deploymentShards)).toBe('1');

    const err = await env.start('strategist', startStrategist, 'strategist-two', { settings: { TP_SHARDS: '2' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isConfigurationError(err)).toBe(true);
    expect(String(err)).toMatch(/holds a deployment of 1 write shard\(s\) \(.*control:shards = 1\), and this process was started with TP_SHARDS=2.*Start it with TP_SHARDS=1/);
    // Nothing of the refused process: no heartbeat, no consumer group on the other shard's streams, the count unchanged.
    expect(await env.redis.zrange(env.keys.heartbeats, '0', '-1')).toEqual([expect.stringMatching(/^risk-harmoniser\|risk-one/)]);
    expect(await env.redis.keys(`${env.ns}{tp.s*`)).toEqual([]);
    expect(await env.redis.get(env.keys.deploymentShards)).toBe('1');

    // The same count starts.
    await env.start('strategist', startStrategist, 'strategist-one');
  });

  it('a 2-shard deployment refuses a 1-shard service (the default) the same way', async () => {
    const env = createTestEnv(inject('redisUrl'), 'shard-count-2', { TP_SHARDS: '2' });
    envs.push(env);
    await env.start('strategist', startStrategist, 'strategist-two');
    expect(await env.redis.get(env.keys.deploymentShards)).toBe('2');
    await expect(env.start('risk-harmoniser', startRiskHarmoniser, 'risk-one', { settings: { TP_SHARDS: '1' } })).rejects.toThrow(
      /holds a deployment of 2 write shard\(s\).*TP_SHARDS=1/,
    );
  });
});
