/**
 * Kill switch engage/reset: the shared hash, a control event, an audit
 * stream entry (one transaction), and a line in <STATE_DIR>/kill_events.jsonl
 * (appended and fsynced), so the audit trail survives a Redis loss too.
 */
import { mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Redis } from 'ioredis';
import { writeControl } from './control.ts';
import type { RedisKeys } from './redis/keys.ts';

export interface KillEvent {
  action: 'engage' | 'reset';
  reason: string;
  by: string;
  trigger: string;
  scope: string;
  at: number;
}

export function stateDir(root: string): string {
  return process.env['STATE_DIR'] ?? join(root, '.data', 'state');
}

export async function appendJsonl(file: string, record: object): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const fh = await open(file, 'a');
  try {
    await fh.write(`${JSON.stringify(record)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function recordKillEvent(redis: Redis, keys: RedisKeys, e: KillEvent, auditFile: string): Promise<void> {
  const fields: Record<string, string | number> =
    e.action === 'engage'
      ? { engaged: '1', reason: e.reason, by: e.by, trigger: e.trigger, scope: e.scope, at: e.at }
      : { engaged: '0', reset_reason: e.reason, reset_by: e.by, reset_at: e.at };
  await writeControl(redis, keys, keys.killSwitch, fields, `kill_switch.${e.action}`, (tx) => {
    tx.xadd(keys.killSwitchAudit, '*', 'action', e.action, 'reason', e.reason, 'by', e.by, 'trigger', e.trigger, 'scope', e.scope, 'at', String(e.at));
  });
  await appendJsonl(auditFile, { ...e, timestamp: new Date(e.at).toISOString() });
}
