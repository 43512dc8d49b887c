/**
 * The seed's `tradepulse-cli kill --strategy <id> --reason <text>`:
 *   npm run kill -- --strategy <id> --reason <text> [--operator <name>]
 *   npm run kill -- --reset --reason <text> [--operator <name>]
 * Writes the shared kill switch in Redis (REDIS_URL) with the same audit
 * trail as POST/DELETE /admin/kill-switch.
 */
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { projectRoot } from '../services/core/config/load.ts';
import { recordKillEvent, stateDir } from '../services/core/kill-switch.ts';
import { redisKeys } from '../services/core/redis/keys.ts';

const { values } = parseArgs({ options: { strategy: { type: 'string' }, reason: { type: 'string' }, operator: { type: 'string' }, reset: { type: 'boolean', default: false } } });
if (!values.reason?.trim()) {
  console.error('usage: npm run kill -- --strategy <id> --reason <text> [--operator <name>]   |   --reset --reason <text>');
  process.exit(2);
}
const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379/0', { maxRetriesPerRequest: 2 });
redis.on('error', () => undefined);
const keys = redisKeys(process.env['TP_NAMESPACE'] ?? '');
const by = values.operator ?? `cli:${userInfo().username}`;
const audit = join(stateDir(projectRoot()), 'kill_events.jsonl');
try {
  if (values.reset) {
    await recordKillEvent(redis, keys, { action: 'reset', reason: values.reason, by, trigger: 'manual', scope: 'system', at: Date.now() }, audit);
    console.log(`kill switch reset by ${by}: ${values.reason}`);
  } else {
    const scope = values.strategy ? `strategy:${values.strategy}` : 'system';
    await recordKillEvent(redis, keys, { action: 'engage', reason: values.reason, by, trigger: 'manual', scope, at: Date.now() }, audit);
    console.log(`Kill-switch triggered for ${values.strategy ?? 'system'} due to ${values.reason}`);
  }
} catch (err) {
  console.error(`kill failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  redis.disconnect();
}
