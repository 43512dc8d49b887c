/**
 * One batch's writes, committed in one round trip, only if the state it was
 * decided on is still current.
 *
 * Handlers queue writes on a `TxWriter` (the subset of commands they use).
 * `commitBatch` sends them with the expected values of the batch's state keys
 * to one Lua script, which compares every state key with what the batch was
 * decided on and, only if all match, runs the writes (and the XACK) — the
 * optimistic check that WATCH…MULTI…EXEC gave, without the WATCH round trip.
 * On a mismatch it writes nothing and returns the current values, so the
 * caller refreshes its cache and decides again with no extra read.
 *
 * Like MULTI, a command that fails inside does not undo the others; its error
 * is reported. Keys are not all declared to the script, so (like the
 * transactions before it) this needs a single-shard deployment.
 */
import type { RedisClient } from './connect.ts';
import { luaScript, runLua } from './lua-scripts.ts';

export type Arg = string | number;

/** The write commands a batch handler may queue. */
export interface TxWriter {
  set(key: string, value: string, ...options: Arg[]): TxWriter;
  hset(key: string, ...fieldValues: Arg[]): TxWriter;
  hincrby(key: string, field: string, by: number): TxWriter;
  hincrbyfloat(key: string, field: string, by: number): TxWriter;
  incr(key: string): TxWriter;
  expire(key: string, seconds: number): TxWriter;
  zadd(key: string, ...scoreMembers: Arg[]): TxWriter;
  zrem(key: string, ...members: Arg[]): TxWriter;
  sadd(key: string, ...members: Arg[]): TxWriter;
  del(key: string): TxWriter;
  xadd(key: string, ...args: Arg[]): TxWriter;
  xack(key: string, group: string, ...ids: string[]): TxWriter;
  /** Any other command, e.g. TS.ADD. */
  call(command: string, ...args: Arg[]): TxWriter;
}

/** Records commands instead of sending them. */
export class TxRecorder implements TxWriter {
  readonly commands: string[][] = [];
  private push(...args: Arg[]): this {
    this.commands.push(args.map(String));
    return this;
  }
  set(key: string, value: string, ...options: Arg[]): this {
    return this.push('SET', key, value, ...options);
  }
  hset(key: string, ...fieldValues: Arg[]): this {
    return this.push('HSET', key, ...fieldValues);
  }
  hincrby(key: string, field: string, by: number): this {
    return this.push('HINCRBY', key, field, by);
  }
  hincrbyfloat(key: string, field: string, by: number): this {
    return this.push('HINCRBYFLOAT', key, field, by);
  }
  incr(key: string): this {
    return this.push('INCR', key);
  }
  expire(key: string, seconds: number): this {
    return this.push('EXPIRE', key, seconds);
  }
  zadd(key: string, ...scoreMembers: Arg[]): this {
    return this.push('ZADD', key, ...scoreMembers);
  }
  zrem(key: string, ...members: Arg[]): this {
    return this.push('ZREM', key, ...members);
  }
  sadd(key: string, ...members: Arg[]): this {
    return this.push('SADD', key, ...members);
  }
  del(key: string): this {
    return this.push('DEL', key);
  }
  xadd(key: string, ...args: Arg[]): this {
    return this.push('XADD', key, ...args);
  }
  xack(key: string, group: string, ...ids: string[]): this {
    return this.push('XACK', key, group, ...ids);
  }
  call(command: string, ...args: Arg[]): this {
    return this.push(command, ...args);
  }
}

/** The commit script (its header says its keys, arguments and replies). */
const COMMIT_BATCH = luaScript('commit-batch-n.lua');

export type CommitResult =
  | { kind: 'committed'; errors: { command: string[]; error: string }[]; hashes: Map<string, Record<string, string>> }
  | { kind: 'conflict'; current: Map<string, string | null> }
  | { kind: 'fenced'; ids: string[] };

/** Whose entries a batch commits: they must still be pending to this consumer of this group. */
export interface BatchOwner {
  stream: string;
  group: string;
  consumer: string;
  /** The batch's entry ids, in stream order. */
  ids: readonly string[];
}

/**
 * Send one batch: expected state, ownership of its entries, and commands, in
 * one EVALSHA (EVAL on a script cache miss). `readBack` hashes are read after
 * the writes, in the same call.
 */
export async function commitBatch(
  redis: RedisClient,
  owner: BatchOwner,
  expected: ReadonlyMap<string, string | null>,
  commands: readonly string[][],
  readBack: readonly string[] = [],
): Promise<CommitResult> {
  const keys = [...expected.keys()];
  const values = keys.map((k) => expected.get(k) ?? null);
  const args: string[] = [values.map((v) => (v === null ? '0' : '1')).join(''), ...values.map((v) => v ?? '')];
  args.push(owner.group, owner.consumer, String(owner.ids.length), ...owner.ids);
  args.push(String(commands.length));
  for (const c of commands) args.push(String(c.length), ...c);
  args.push(String(readBack.length), ...readBack);
  const res = (await runLua(redis, COMMIT_BATCH, [...keys, owner.stream], args)) as unknown[];
  if (res[0] === 0) {
    const current = new Map<string, string | null>();
    const mask = String(res[1]);
    keys.forEach((k, i) => current.set(k, mask[i] === '1' ? String(res[i + 2]) : null));
    return { kind: 'conflict', current };
  }
  if (res[0] === 2) return { kind: 'fenced', ids: ((res[1] ?? []) as unknown[]).map(String) };
  const errors: { command: string[]; error: string }[] = [];
  const raw = (res[1] ?? []) as unknown[];
  for (let i = 0; i + 1 < raw.length; i += 2) errors.push({ command: commands[Number(raw[i]) - 1] ?? [], error: String(raw[i + 1]) });
  const hashes = new Map<string, Record<string, string>>();
  readBack.forEach((key, i) => {
    const flat = (res[i + 2] ?? []) as string[];
    const h: Record<string, string> = {};
    for (let j = 0; j + 1 < flat.length; j += 2) h[flat[j]!] = flat[j + 1]!;
    hashes.set(key, h);
  });
  return { kind: 'committed', errors, hashes };
}

/**
 * What the batch's own writes did to its state keys, to keep the cache
 * current without a read: a plain SET gives the new value; any other write
 * to a state key (INCR, SET with options) makes it unknown (undefined).
 */
export function stateAfter(stateKeys: ReadonlySet<string>, commands: readonly string[][]): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const c of commands) {
    const key = c[1];
    if (key === undefined || !stateKeys.has(key)) continue;
    out.set(key, c[0] === 'SET' && c.length === 3 ? c[2] : undefined);
  }
  return out;
}
