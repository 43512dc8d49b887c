/**
 * One real redis-server for the integration run, unless TEST_REDIS_URL points
 * at one already. Tests isolate themselves with a unique key namespace.
 */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startRedis, type TestRedis } from './redis-server.ts';

let redis: TestRedis | undefined;

export async function setup(project: TestProject): Promise<void> {
  let url = process.env['TEST_REDIS_URL'];
  if (!url) {
    redis = await startRedis();
    url = redis.url;
  }
  project.provide('redisUrl', url);
}

export async function teardown(): Promise<void> {
  await redis?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
