/** Tests drive the control plane through the one writer, as the services do. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlWriter } from '../../services/core/control/write.ts';
import type { BreakerState } from '../../services/core/domain/breaker.ts';
import { createLogger } from '../../services/core/log.ts';
import type { RedisClient } from '../../services/core/redis/connect.ts';
import type { RedisKeys } from '../../services/core/redis/keys.ts';

export function testWriter(redis: RedisClient, keys: RedisKeys, now: () => number = () => Date.now()): ControlWriter {
  return new ControlWriter({
    redis,
    keys,
    log: createLogger('test', 'test', 'silent'),
    clock: { now },
    auditFile: join(mkdtempSync(join(tmpdir(), 'tp-audit-')), 'kill_events.jsonl'),
  });
}

/** Set the shared breaker whatever it is now (a drill), recorded like any transition. */
export async function setBreakerState(redis: RedisClient, keys: RedisKeys, state: BreakerState, cause: string, by: string, at: number): Promise<void> {
  await testWriter(redis, keys, () => at).moveBreaker({ kind: 'force', to: state, cause }, by);
}
