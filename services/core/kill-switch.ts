/**
 * Kill switch engage/reset: the shared hash, a control event, an audit
 * stream entry (one transaction), and a line in <STATE_DIR>/kill_events.jsonl
 * (appended and fsynced), so the audit trail survives a Redis loss too.
 * A kill scoped to a symbol or model is an entry of the scoped-controls hash
 * instead of the system hash; audit and dual-operator rule are the same.
 */
import { mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RedisClient } from './redis/connect.ts';
import { writeControl } from './control.ts';
import { parseScopedControls, type Scope, scopeKey, type ScopedControl } from './domain/scopes.ts';
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

/** Returns false, writing nothing, when a WATCH the caller set aborted the transaction. */
export async function recordKillEvent(redis: RedisClient, keys: RedisKeys, e: KillEvent, auditFile: string): Promise<boolean> {
  const audit = (tx: ReturnType<RedisClient['multi']>): void => {
    tx.xadd(keys.killSwitchAudit, '*', 'action', e.action, 'reason', e.reason, 'by', e.by, 'trigger', e.trigger, 'scope', e.scope, 'at', String(e.at));
  };
  if (e.scope === 'system') {
    const fields: Record<string, string | number> =
      e.action === 'engage'
        ? { engaged: '1', reason: e.reason, by: e.by, trigger: e.trigger, scope: e.scope, at: e.at }
        : { engaged: '0', reset_reason: e.reason, reset_by: e.by, reset_at: e.at };
    if (!(await writeControl(redis, keys, keys.killSwitch, fields, `kill_switch.${e.action}`, audit))) return false;
  } else if (e.action === 'engage') {
    const entry: ScopedControl = { state: 'HALTED', kind: 'kill', reason: e.reason, by: e.by, at: e.at, trigger: e.trigger };
    if (!(await writeControl(redis, keys, keys.scopedControls, { [e.scope]: JSON.stringify(entry) }, 'kill_switch.engage', audit))) return false;
  } else {
    await clearScoped(redis, keys, e.scope, 'kill_switch.reset', audit);
  }
  await appendJsonl(auditFile, { ...e, timestamp: new Date(e.at).toISOString() });
  return true;
}

/** Remove one scoped control and notify every instance, atomically. */
export async function clearScoped(redis: RedisClient, keys: RedisKeys, scope: string, event: string, extra?: (tx: ReturnType<RedisClient['multi']>) => void): Promise<void> {
  const tx = redis.multi().hdel(keys.scopedControls, scope);
  extra?.(tx);
  tx.publish(keys.controlEvents, JSON.stringify({ event, key: keys.scopedControls, scope, at: Date.now() }));
  const res = await tx.exec();
  if (!res || res.some(([err]) => err)) throw new Error(`control write to ${keys.scopedControls} failed`);
}

export type ResetCheck = { ok: true; engagedBy: string } | { ok: false; error: string };

/** May `by` reset the kill on `scope` now? (engaged, and a second operator when required) */
export async function checkKillReset(redis: RedisClient, keys: RedisKeys, scope: Scope, by: string, requireSecondOperator: boolean): Promise<ResetCheck> {
  const key = scopeKey(scope);
  let engagedBy: string;
  if (scope.kind === 'system') {
    const h = await redis.hgetall(keys.killSwitch);
    if (h['engaged'] !== '1') return { ok: false, error: 'kill switch is not engaged' };
    engagedBy = h['by'] ?? '';
  } else {
    const raw = await redis.hget(keys.scopedControls, key);
    const entry = raw === null ? undefined : parseScopedControls({ [key]: raw })[key];
    if (!entry || entry.kind !== 'kill') return { ok: false, error: `kill switch is not engaged for ${key}` };
    engagedBy = entry.by;
  }
  if (requireSecondOperator && engagedBy === by) return { ok: false, error: `reset needs a second operator: ${by} engaged it` };
  return { ok: true, engagedBy };
}
