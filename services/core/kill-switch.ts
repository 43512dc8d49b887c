/**
 * Kill switch engage/reset: the shared hash, a control event, an audit
 * stream entry (one transaction), and a line in <STATE_DIR>/kill_events.jsonl
 * (appended and fsynced), so the audit trail survives a Redis loss too.
 * A kill scoped to a symbol or model is an entry of the scoped-controls hash
 * instead of the system hash; audit and dual-operator rule are the same.
 *
 * Engaging never fails because the audit file cannot be written: the switch
 * is engaged in Redis first, and the file error is returned for the caller
 * to log at error level and report. A reset clears the reason, operator and
 * trigger from the current state (the audit keeps them).
 *
 * One wording for every path (HTTP, CLI, automatic):
 *   Kill-switch activated: <trigger> (<reason>)     trigger "manual" for operators
 *   Kill-switch reset: <scope> (<reason>)
 */
import { mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RedisClient } from './redis/connect.ts';
import type { Logger } from './log.ts';
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

export function auditFileIn(stateDir: string): string {
  return join(stateDir, 'kill_events.jsonl');
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

/** The one log line of a kill-switch event, as every path writes it. */
export function killEventMessage(e: Pick<KillEvent, 'action' | 'trigger' | 'reason' | 'scope'>): string {
  const where = e.scope === 'system' ? '' : ` [${e.scope}]`;
  return e.action === 'engage' ? `Kill-switch activated: ${e.trigger} (${e.reason})${where}` : `Kill-switch reset: ${e.scope} (${e.reason})`;
}

/** Log a recorded event: engage at error level (`kill_switch.engaged`), reset at warn (`kill_switch.reset`). */
export function logKillEvent(log: Logger, e: KillEvent, outcome: KillRecordOutcome): void {
  const fields = { event: e.action === 'engage' ? 'kill_switch.engaged' : 'kill_switch.reset', trigger: e.trigger, reason: e.reason, by: e.by, scope: e.scope };
  if (e.action === 'engage') log.error(fields, killEventMessage(e));
  else log.warn(fields, killEventMessage(e));
  if (outcome.written && outcome.auditFileError) {
    log.error({ event: 'kill_switch.audit_file_failed', action: e.action, scope: e.scope, err: outcome.auditFileError }, `kill-switch audit file not written (${outcome.auditFileError}); the event is in Redis (control:kill_switch:audit)`);
  }
}

export type KillRecordOutcome = { written: false } | { written: true; auditFileError: string | undefined };

/** Record an event. `written: false` when a WATCH the caller set aborted the transaction (nothing written). */
export async function recordKillEvent(redis: RedisClient, keys: RedisKeys, e: KillEvent, auditFile: string): Promise<KillRecordOutcome> {
  const audit = (tx: ReturnType<RedisClient['multi']>): void => {
    tx.xadd(keys.killSwitchAudit, 'MAXLEN', '~', '100000', '*', 'action', e.action, 'reason', e.reason, 'by', e.by, 'trigger', e.trigger, 'scope', e.scope, 'at', String(e.at));
  };
  if (e.scope === 'system') {
    if (e.action === 'engage') {
      const fields = { engaged: '1', reason: e.reason, by: e.by, trigger: e.trigger, scope: e.scope, at: e.at };
      if (!(await writeControl(redis, keys, keys.killSwitch, fields, 'kill_switch.engage', audit))) return { written: false };
    } else {
      const clearCurrent = (tx: ReturnType<RedisClient['multi']>): void => {
        tx.hdel(keys.killSwitch, 'reason', 'by', 'trigger', 'at');
        audit(tx);
      };
      if (!(await writeControl(redis, keys, keys.killSwitch, { engaged: '0', reset_reason: e.reason, reset_by: e.by, reset_at: e.at }, 'kill_switch.reset', clearCurrent))) return { written: false };
    }
  } else if (e.action === 'engage') {
    const entry: ScopedControl = { state: 'HALTED', kind: 'kill', reason: e.reason, by: e.by, at: e.at, trigger: e.trigger };
    if (!(await writeControl(redis, keys, keys.scopedControls, { [e.scope]: JSON.stringify(entry) }, 'kill_switch.engage', audit))) return { written: false };
  } else {
    await clearScoped(redis, keys, e.scope, 'kill_switch.reset', audit);
  }
  try {
    await appendJsonl(auditFile, { ...e, timestamp: new Date(e.at).toISOString() });
    return { written: true, auditFileError: undefined };
  } catch (err) {
    return { written: true, auditFileError: `${auditFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
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
