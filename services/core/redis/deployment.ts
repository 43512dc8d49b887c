/**
 * The number of write shards a deployment runs (decision 0012) is a fact of
 * its data, not of one process: a symbol's streams, state and positions live
 * under its shard's hash tag, so a service started with another TP_SHARDS
 * would read and write other keys, and the two halves of the system would
 * stop seeing each other without an error. The first service to start
 * records the count in `control:shards`; every later one compares, and one
 * that differs refuses to start (exit 78) saying both numbers.
 */
import { ConfigurationError } from '../errors.ts';
import type { RedisClient } from './connect.ts';
import type { RedisKeys } from './keys.ts';

export function shardCountMismatch(stored: number, asked: number, key: string): string {
  return (
    `this Redis holds a deployment of ${stored} write shard(s) (${key} = ${stored}), and this process was started with TP_SHARDS=${asked}: ` +
    `its keys would not be the deployment's. Start it with TP_SHARDS=${stored}; changing a deployment's shard count moves every symbol's ` +
    `streams, state and positions, so it needs a fresh Redis (docs/operations.md, "Write shards")`
  );
}

/** Record `count` as the deployment's shard count, or check it against the one recorded (ConfigurationError when they differ). */
export async function claimShardCount(redis: RedisClient, keys: RedisKeys, count: number): Promise<void> {
  // SET NX, then GET: SET's NX and GET together need Redis 7.
  if ((await redis.set(keys.deploymentShards, String(count), 'NX')) === 'OK') return;
  const stored = await storedShardCount(redis, keys);
  if (stored !== undefined && stored !== count) throw new ConfigurationError(shardCountMismatch(stored, count, keys.deploymentShards));
}

/** The recorded shard count, or undefined when none (or not a count) is recorded. */
export async function storedShardCount(redis: RedisClient, keys: RedisKeys): Promise<number | undefined> {
  const raw = await redis.get(keys.deploymentShards);
  const n = Number(raw);
  return raw !== null && Number.isInteger(n) && n >= 1 ? n : undefined;
}
