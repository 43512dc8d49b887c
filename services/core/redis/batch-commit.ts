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

/**
 * KEYS: the state keys, then the input stream (declared, so on Redis Cluster
 * the call goes to its slot even when a batch has no state key). ARGV: a
 * presence mask ('1' present, '0' missing, one character per state key), one
 * expected value per state key ('' when missing); the group, the consumer,
 * the number of entry ids and the ids in stream order; the number of
 * commands, then for each its argument count and arguments; the number of
 * hashes to read back after the writes and their names.
 *
 * Two checks before any write: every state key holds its expected value
 * (else {0, mask, current...}: the batch is re-decided on those), and every
 * entry of the batch is still pending to this consumer (else {2, {ids}}:
 * those entries were claimed by another consumer while this one stalled, or
 * do not exist on this server, e.g. read from a master that has since failed
 * over; their effects must not be applied here). Then the writes:
 * {1, {index, error, ...}, hash1 as HGETALL, hash2, ...}.
 */
export const COMMIT_LUA = `
local n = #KEYS - 1
local mask = ARGV[1]
for i = 1, n do
  local v = redis.call('GET', KEYS[i])
  local want = string.byte(mask, i) == 49
  if (v and (not want or v ~= ARGV[i + 1])) or (not v and want) then
    local cur = {}
    local bits = {}
    for j = 1, n do
      local x = redis.call('GET', KEYS[j])
      if x then cur[j] = x; bits[j] = '1' else cur[j] = ''; bits[j] = '0' end
    end
    return {0, table.concat(bits), unpack(cur)}
  end
end
local p = n + 2
local group, consumer, k = ARGV[p], ARGV[p + 1], tonumber(ARGV[p + 2])
p = p + 3
if k > 0 then
  local stream = KEYS[n + 1]
  local room = k + 100
  local owned = {}
  local got = redis.pcall('XPENDING', stream, group, ARGV[p], ARGV[p + k - 1], room, consumer)
  if type(got) == 'table' and not got.err then
    for _, e in ipairs(got) do owned[e[1]] = true end
  else
    got = {}
  end
  local missing = {}
  for i = 0, k - 1 do
    local id = ARGV[p + i]
    if not owned[id] and #got >= room then
      local one = redis.pcall('XPENDING', stream, group, id, id, 1, consumer)
      if type(one) == 'table' and not one.err and #one == 1 then owned[id] = true end
    end
    if not owned[id] then missing[#missing + 1] = id end
  end
  if #missing > 0 then return {2, missing} end
end
p = p + k
local m = tonumber(ARGV[p])
p = p + 1
local errors = {}
for c = 1, m do
  local count = tonumber(ARGV[p])
  local r = redis.pcall(unpack(ARGV, p + 1, p + count))
  p = p + count + 1
  if type(r) == 'table' and r.err then
    errors[#errors + 1] = c
    errors[#errors + 1] = r.err
  end
end
local result = {1, errors}
local h = tonumber(ARGV[p])
for i = 1, h do
  result[#result + 1] = redis.call('HGETALL', ARGV[p + i])
end
return result`;

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

type CommitCommand = (numKeys: number, ...args: string[]) => Promise<unknown[]>;

/**
 * Send one batch: expected state, ownership of its entries, and commands, in
 * one EVALSHA (EVAL on a script cache miss). `readBack` hashes are read after
 * the writes, in the same call.
 */
export async function commitBatch(redis: RedisClient, owner: BatchOwner, expected: ReadonlyMap<string, string | null>, commands: readonly string[][], readBack: readonly string[] = []): Promise<CommitResult> {
  const keys = [...expected.keys()];
  const values = keys.map((k) => expected.get(k) ?? null);
  const args: string[] = [...keys, owner.stream, values.map((v) => (v === null ? '0' : '1')).join(''), ...values.map((v) => v ?? '')];
  args.push(owner.group, owner.consumer, String(owner.ids.length), ...owner.ids);
  args.push(String(commands.length));
  for (const c of commands) args.push(String(c.length), ...c);
  args.push(String(readBack.length), ...readBack);
  const run = commitCommandOf(redis);
  const res = await run(keys.length + 1, ...args);
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

const defined = new WeakSet<RedisClient>();
function commitCommandOf(redis: RedisClient): CommitCommand {
  if (!defined.has(redis)) {
    redis.defineCommand('tpCommitBatch', { lua: COMMIT_LUA });
    defined.add(redis);
  }
  return (redis as unknown as { tpCommitBatch: CommitCommand }).tpCommitBatch.bind(redis);
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
