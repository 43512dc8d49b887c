/**
 * Consumer-group stream processing with exactly-once effects inside Redis.
 *
 * For each batch: take the handler's state keys from this consumer's cache
 * (reading only the ones it lacks, plus any hashes the handler wants fresh),
 * let the handler decide and queue its writes, add XACK for every entry (and
 * XADD to the dead-letter stream for entries that could not be decoded), then
 * commit with one Lua script that applies it all only if every state key
 * still holds the value the batch was decided on (batch-commit.ts). Effects
 * and acknowledgement commit together or not at all, so a redelivered entry
 * (after a crash, or claimed from a dead consumer with XAUTOCLAIM) never had
 * an effect before. A concurrent writer of the same state key (another
 * replica) makes the commit refuse and return the current values; the batch
 * is re-decided on them. The commit also refuses entries that are no longer
 * pending to this consumer (claimed by another while this one stalled, or
 * not on this server after a failover): they are dropped from the batch and
 * the rest re-decided (decision 0008). In the steady state a batch costs two
 * round trips: the read of the stream and the commit.
 */
import type { RedisClient } from './connect.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { Counter, Gauge, Histogram, type Registry } from '../metrics.ts';
import type { Decoded } from '../messages.ts';
import { commitBatch, stateAfter, TxRecorder, type TxWriter } from './batch-commit.ts';
import { compareStreamIds, consumerLag } from '../domain/consumer-lag.ts';
import { isConnectionError, redisErrorCode } from './errors.ts';

/** Lag is counted exactly up to this many entries (core/domain/consumer-lag.ts). */
const LAG_COUNT_CAP = 1_000;

export interface StreamEntry<M> {
  readonly id: string;
  readonly value: M;
}

export interface BatchContext {
  /** Values of the state keys the batch is decided on (null when missing); verified at commit. */
  readonly state: ReadonlyMap<string, string | null>;
  /** Hashes the handler asked to read fresh (not verified at commit). */
  readonly hashes: ReadonlyMap<string, Record<string, string>>;
  /** Where to queue writes; XACK is added after the handler. */
  readonly tx: TxWriter;
  /** Run after the transaction committed (metrics, logs): never on a retried attempt. */
  readonly afterCommit: (fn: () => void) => void;
  /**
   * Refuse one entry of the batch with a reason the handler decided (e.g. a
   * price outside the sanity band): it goes to the dead-letter stream, with
   * its raw fields, in the same commit that acknowledges it. `check` is a
   * bounded label for stream_entries_dead_lettered_total.
   */
  readonly deadLetter: (id: string, reason: string, check: string) => void;
}

export interface StreamHandler<M> {
  /** State keys (strings) the batch reads and writes; checked unchanged at commit. */
  watchKeys(entries: readonly StreamEntry<M>[]): string[];
  /** Hashes read fresh before every batch (not verified at commit). */
  readHashes?(entries: readonly StreamEntry<M>[]): string[];
  /**
   * Hashes the handler's own batches write (not verified at commit): read back
   * by each commit and reused by the next batch, re-read when that copy is
   * older than TRACKED_HASH_MAX_AGE_MS. Saves the read round trip; other
   * replicas' writes show up one batch (at most that age) later.
   */
  trackedHashes?(entries: readonly StreamEntry<M>[]): string[];
  handle(entries: readonly StreamEntry<M>[], ctx: BatchContext): Promise<void> | void;
}

export interface ConsumerOptions<M> {
  redis: RedisClient;
  stream: string;
  group: string;
  consumer: string;
  deadLetter: string;
  /** `id`: the entry's stream id (its millisecond part is when Redis accepted it). */
  decode(raw: readonly string[], id: string): Decoded<M>;
  /** Values of the dead-letter `check` label known in advance (their series start at 0). */
  deadLetterChecks?: readonly string[];
  handler: StreamHandler<M>;
  log: Logger;
  registry: Registry;
  batchSize?: number;
  blockMs?: number;
  claimIdleMs?: number;
  claimEveryMs?: number;
  lagEveryMs?: number;
  maxConflictRetries?: number;
  /** Time for claim and lag timing, cache ages and dead-letter stamps (default: the system clock). */
  clock?: Clock;
}

type RawEntry = [id: string, fields: string[] | null];
type Letter = { id: string; fields: readonly string[]; reason: string; check: string };

export const TRACKED_HASH_MAX_AGE_MS = 250;

const metricCache = new WeakMap<Registry, ReturnType<typeof makeMetrics>>();
function makeMetrics(registry: Registry) {
  return {
    processed: new Counter({ name: 'stream_entries_processed_total', help: 'Stream entries committed (effect + ack)', labelNames: ['stream', 'group'], registers: [registry] }),
    deadLettered: new Counter({
      name: 'stream_entries_dead_lettered_total',
      help: 'Entries moved to the dead-letter stream, by the check that refused them',
      labelNames: ['stream', 'group', 'check'],
      registers: [registry],
    }),
    claimed: new Counter({
      name: 'stream_entries_claimed_total',
      help: 'Entries claimed from idle consumers (XAUTOCLAIM)',
      labelNames: ['stream', 'group'],
      registers: [registry],
    }),
    fenced: new Counter({
      name: 'stream_entries_fenced_total',
      help: 'Entries dropped from a batch at commit because they were no longer pending to this consumer (claimed by another, or gone after a failover)',
      labelNames: ['stream', 'group'],
      registers: [registry],
    }),
    conflicts: new Counter({
      name: 'stream_tx_conflicts_total',
      help: 'Batches re-decided because a state key changed (another replica wrote it)',
      labelNames: ['stream', 'group'],
      registers: [registry],
    }),
    failures: new Counter({ name: 'stream_batch_failures_total', help: 'Batches left pending after an error', labelNames: ['stream', 'group'], registers: [registry] }),
    lag: new Gauge({
      name: 'stream_consumer_group_lag',
      help: 'Entries not yet delivered to the group (XINFO GROUPS lag)',
      labelNames: ['stream', 'group'],
      registers: [registry],
    }),
    pending: new Gauge({ name: 'stream_consumer_group_pending', help: 'Entries delivered but not acknowledged', labelNames: ['stream', 'group'], registers: [registry] }),
    batchSeconds: new Histogram({
      name: 'stream_batch_duration_seconds',
      help: 'Time to process and commit one batch',
      labelNames: ['stream', 'group'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
  };
}
function metricsFor(registry: Registry) {
  let m = metricCache.get(registry);
  if (!m) {
    m = makeMetrics(registry);
    metricCache.set(registry, m);
  }
  return m;
}

export async function ensureGroup(redis: RedisClient, stream: string, group: string): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (err) {
    if (redisErrorCode(err) !== 'BUSYGROUP') throw err;
  }
}

export class StreamConsumer<M> {
  private running = false;
  private loop: Promise<void> | undefined;
  private lastClaim = 0;
  private lastLag = 0;
  private readonly o: Required<Omit<ConsumerOptions<M>, 'decode' | 'handler'>> & Pick<ConsumerOptions<M>, 'decode' | 'handler'>;
  private readonly m: ReturnType<typeof makeMetrics>;
  private readonly labels: { stream: string; group: string };
  /** Last known value of each state key; kept current from this consumer's own commits. */
  private readonly cache = new Map<string, string | null>();
  /** Tracked hashes as read back by the last commit, with when. */
  private readonly hashCache = new Map<string, { value: Record<string, string>; at: number }>();
  /** The raw fields of the batch in flight, for dead letters the handler decides. */
  private readonly rawFields = new Map<string, readonly string[]>();

  constructor(options: ConsumerOptions<M>) {
    this.o = {
      batchSize: 256,
      blockMs: 500,
      claimIdleMs: 5_000,
      claimEveryMs: 2_000,
      lagEveryMs: 5_000,
      maxConflictRetries: 20,
      deadLetterChecks: [],
      clock: systemClock,
      ...options,
    };
    this.m = metricsFor(options.registry);
    this.labels = { stream: options.stream, group: options.group };
    for (const check of ['malformed', 'handler_error', ...(options.deadLetterChecks ?? [])]) this.m.deadLettered.inc({ ...this.labels, check }, 0);
  }

  async start(): Promise<void> {
    await ensureGroup(this.o.redis, this.o.stream, this.o.group);
    this.running = true;
    this.loop = this.run();
  }

  /** Stop intake; the batch in flight is finished (committed or left pending) before this resolves. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    const { redis, stream, group, consumer, batchSize, blockMs, log } = this.o;
    while (this.running) {
      try {
        const now = this.o.clock.now();
        if (now - this.lastClaim >= this.o.claimEveryMs) {
          this.lastClaim = now;
          await this.claimIdle();
        }
        if (now - this.lastLag >= this.o.lagEveryMs) {
          this.lastLag = now;
          await this.reportLag();
        }
        const res = (await redis.xreadgroup('GROUP', group, consumer, 'COUNT', batchSize, 'BLOCK', blockMs, 'STREAMS', stream, '>')) as [string, RawEntry[]][] | null;
        const entries = res?.[0]?.[1];
        if (entries && entries.length > 0) await this.process(entries);
      } catch (err) {
        if (!this.running) break;
        if (redisErrorCode(err) === 'NOGROUP') {
          await ensureGroup(redis, stream, group).catch(() => undefined);
        }
        log.warn({ event: 'stream.read_failed', stream, group, err: err instanceof Error ? err.message : String(err) }, 'stream read failed; retrying');
        await new Promise((r) => setTimeout(r, 250).unref());
      }
    }
  }

  /** Take over entries that another (dead or stuck) consumer left pending. */
  async claimIdle(): Promise<number> {
    const { redis, stream, group, consumer, claimIdleMs, batchSize } = this.o;
    let cursor = '0-0';
    let total = 0;
    for (let round = 0; round < 100; round++) {
      const res = (await redis.xautoclaim(stream, group, consumer, claimIdleMs, cursor, 'COUNT', batchSize)) as [string, RawEntry[], string[]?];
      const [next, entries] = res;
      const live = entries.filter((e): e is RawEntry => Array.isArray(e) && e[1] !== null);
      if (live.length > 0) {
        total += live.length;
        this.m.claimed.inc(this.labels, live.length);
        this.o.log.info({ event: 'stream.claimed', stream, group, count: live.length }, 'claimed pending entries from an idle consumer');
        await this.process(live);
      }
      if (next === '0-0') break;
      cursor = next;
    }
    return total;
  }

  /** Export the group's lag (computed, see consumerLag) and pending count; returns the lag. */
  async reportLag(): Promise<number | undefined> {
    const { redis, stream, group } = this.o;
    const [groups, streamInfo] = await Promise.all([redis.xinfo('GROUPS', stream) as Promise<unknown[][]>, redis.xinfo('STREAM', stream) as Promise<unknown[]>]);
    const info = groups.map(pairs).find((g) => g['name'] === group);
    if (!info) return undefined;
    const s = pairs(streamInfo);
    const lastDeliveredId = typeof info['last-delivered-id'] === 'string' ? info['last-delivered-id'] : '0-0';
    const lastGeneratedId = typeof s['last-generated-id'] === 'string' ? s['last-generated-id'] : '0-0';
    let counted = 0;
    if (compareStreamIds(lastDeliveredId, lastGeneratedId) < 0) {
      counted = ((await redis.xrange(stream, `(${lastDeliveredId}`, '+', 'COUNT', LAG_COUNT_CAP + 1)) as unknown[]).length;
    }
    const reported = info['lag'] === null || info['lag'] === undefined ? null : Number(info['lag']);
    const lag = consumerLag({ lastDeliveredId, lastGeneratedId, counted, cap: LAG_COUNT_CAP, reported, length: Number(s['length'] ?? 0) });
    this.m.lag.set(this.labels, lag);
    this.m.pending.set(this.labels, Number(info['pending'] ?? 0));
    return lag;
  }

  private async process(raw: readonly RawEntry[]): Promise<void> {
    this.rawFields.clear();
    for (const [id, fields] of raw) this.rawFields.set(id, fields ?? []);
    const good: StreamEntry<M>[] = [];
    const bad: Letter[] = [];
    for (const [id, fields] of raw) {
      const decoded = this.o.decode(fields ?? [], id);
      if (decoded.ok) good.push({ id, value: decoded.value });
      else bad.push({ id, fields: fields ?? [], reason: decoded.reason, check: decoded.check ?? 'malformed' });
    }
    const stop = this.m.batchSeconds.startTimer(this.labels);
    try {
      await this.commit(good, bad);
    } catch (err) {
      if (isConnectionError(err) || good.length <= 1) {
        if (!isConnectionError(err) && good.length === 1) {
          // A single entry the handler cannot process: dead-letter it rather than retry forever.
          const reason = `handler error: ${err instanceof Error ? err.message : String(err)}`;
          await this.commit([], [...bad, { id: good[0]!.id, fields: rawOf(raw, good[0]!.id), reason, check: 'handler_error' }]).catch(() => undefined);
          return;
        }
        this.m.failures.inc(this.labels);
        this.o.log.error({ event: 'stream.batch_failed', stream: this.o.stream, group: this.o.group, err: String(err) }, 'batch left pending');
        return;
      }
      // Isolate the entry that fails: retry one by one.
      for (const entry of good) {
        await this.process([[entry.id, rawOf(raw, entry.id)]]);
      }
      if (bad.length > 0) await this.commit([], bad).catch(() => undefined);
    } finally {
      stop();
    }
  }

  private async commit(good: StreamEntry<M>[], bad: Letter[]): Promise<void> {
    const { redis, stream, group, consumer, deadLetter, handler } = this.o;
    for (let attempt = 0; attempt <= this.o.maxConflictRetries; attempt++) {
      // Entries arrive in stream order (XREADGROUP, XAUTOCLAIM); only a mix with dead letters needs sorting.
      const ids = bad.length === 0 ? good.map((e) => e.id) : [...good.map((e) => e.id), ...bad.map((b) => b.id)].sort(compareStreamIds);
      if (ids.length === 0) return;
      const keys = good.length > 0 ? handler.watchKeys(good) : [];
      const tracked = good.length > 0 ? (handler.trackedHashes?.(good) ?? []) : [];
      const hashes = new Map<string, Record<string, string>>();
      const now = this.o.clock.now();
      for (const h of tracked) {
        const c = this.hashCache.get(h);
        if (c && now - c.at <= TRACKED_HASH_MAX_AGE_MS) hashes.set(h, c.value);
      }
      const hashKeys = [...(good.length > 0 ? (handler.readHashes?.(good) ?? []) : []), ...tracked.filter((h) => !hashes.has(h))];
      const missing = keys.filter((k) => !this.cache.has(k));
      if (missing.length > 0 || hashKeys.length > 0) {
        const pipe = redis.pipeline();
        if (missing.length > 0) pipe.mget(...missing);
        for (const h of hashKeys) pipe.hgetall(h);
        const res = (await pipe.exec()) ?? [];
        const failed = res.find(([err]) => err);
        if (failed) throw failed[0] as Error;
        const offset = missing.length > 0 ? 1 : 0;
        const values = (missing.length > 0 ? res[0]?.[1] : []) as (string | null)[];
        missing.forEach((k, i) => this.remember(k, values[i] ?? null));
        hashKeys.forEach((h, i) => hashes.set(h, (res[offset + i]?.[1] ?? {}) as Record<string, string>));
      }
      const state = new Map<string, string | null>();
      for (const k of keys) state.set(k, this.cache.get(k) ?? null);
      const tx = new TxRecorder();
      const after: (() => void)[] = [];
      const letters = [...bad];
      const deadLetterEntry = (id: string, reason: string, check: string): void => {
        if (good.some((e) => e.id === id)) letters.push({ id, fields: this.rawFields.get(id) ?? [], reason, check });
      };
      if (good.length > 0) await handler.handle(good, { state, hashes, tx, afterCommit: (fn) => after.push(fn), deadLetter: deadLetterEntry });
      for (const b of letters) {
        tx.xadd(
          deadLetter,
          'MAXLEN',
          '~',
          DEAD_LETTER_MAXLEN,
          '*',
          'source_stream',
          stream,
          'source_id',
          b.id,
          'group',
          group,
          'reason',
          clip(b.reason, 500),
          'fields',
          JSON.stringify(clipFields(b.fields)),
          'ts',
          this.o.clock.now(),
        );
      }
      tx.xack(stream, group, ...ids);
      let result;
      try {
        result = await commitBatch(redis, { stream, group, consumer, ids }, state, tx.commands, tracked);
      } catch (err) {
        // The outcome is unknown (e.g. the connection dropped): forget what this batch read.
        for (const k of keys) this.cache.delete(k);
        for (const h of tracked) this.hashCache.delete(h);
        throw err;
      }
      if (result.kind === 'conflict') {
        for (const [k, v] of result.current) this.remember(k, v);
        this.m.conflicts.inc(this.labels);
        continue;
      }
      if (result.kind === 'fenced') {
        // Not ours any more (claimed by another consumer while this one
        // stalled) or not on this server (read before a failover): nothing was
        // written; decide the rest of the batch without them.
        const gone = new Set(result.ids);
        good = good.filter((e) => !gone.has(e.id));
        bad = bad.filter((b) => !gone.has(b.id));
        this.m.fenced.inc(this.labels, gone.size);
        this.o.log.warn(
          { event: 'stream.entries_fenced', stream, group, count: gone.size, first: result.ids[0] },
          'entries no longer pending to this consumer were dropped from the batch',
        );
        continue;
      }
      for (const e of result.errors) {
        this.o.log.error({ event: 'stream.tx_command_failed', stream, group, command: e.command[0], key: e.command[1], err: e.error }, 'a command inside the batch commit failed');
      }
      const at = this.o.clock.now();
      for (const [h, value] of result.hashes) this.hashCache.set(h, { value, at });
      for (const [k, v] of stateAfter(new Set(keys), tx.commands)) {
        if (v === undefined) this.cache.delete(k);
        else this.remember(k, v);
      }
      for (const fn of after) fn();
      if (good.length > 0) this.m.processed.inc(this.labels, good.length);
      if (letters.length > 0) {
        for (const b of letters) this.m.deadLettered.inc({ ...this.labels, check: b.check });
        for (const b of letters) this.o.log.warn({ event: 'stream.dead_lettered', stream, id: b.id, reason: clip(b.reason, 500) }, 'entry moved to dead-letter stream');
      }
      return;
    }
    throw new Error(`batch on ${stream} kept conflicting after ${this.o.maxConflictRetries} retries`);
  }

  /** Bounded: state keys are per symbol, so this only trims in pathological cases. */
  private remember(key: string, value: string | null): void {
    if (this.cache.size >= 50_000 && !this.cache.has(key)) this.cache.clear();
    this.cache.set(key, value);
  }
}

/** Dead letters are capped by count (MAXLEN ~) and each keeps at most this much of the entry. */
export const DEAD_LETTER_MAXLEN = 100_000;
const MAX_FIELD_CHARS = 256;
const MAX_FIELDS = 64;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
}

/** The raw fields kept in a dead letter: at most MAX_FIELDS values of at most MAX_FIELD_CHARS each. */
export function clipFields(fields: readonly string[]): string[] {
  const out = fields.slice(0, MAX_FIELDS).map((f) => clip(f, MAX_FIELD_CHARS));
  if (fields.length > MAX_FIELDS) out.push(`…(${fields.length} values)`);
  return out;
}

function pairs(flat: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}

function rawOf(raw: readonly RawEntry[], id: string): string[] {
  return raw.find((r) => r[0] === id)?.[1] ?? [];
}
