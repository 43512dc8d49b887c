/**
 * Decoded state kept between batches. A handler decodes a state key's JSON
 * (parse and validate) at the start of every batch, though most of the time
 * the string it finds is the one its own last commit wrote (the consumer's
 * cache holds what was committed). The memo keeps the object that string
 * was serialised from, and gives it back for the same string instead of
 * decoding it again.
 *
 * Taken, not read: `take` removes the entry, and `keep` puts one back only
 * from `afterCommit`, so an object a batch changed comes back only once that
 * batch committed; a batch that conflicted, was fenced or failed leaves
 * nothing behind, and the next one decodes what Redis holds.
 */
import type { TxWriter } from './redis/batch-commit.ts';

export class StateMemo<T> {
  private readonly entries = new Map<string, { raw: string; value: T }>();

  constructor(private readonly maxEntries = 10_000) {}

  /** The object `raw` was serialised from, when this memo kept it; otherwise `decode(raw)`. */
  take(key: string, raw: string | null | undefined, decode: (raw: string | null | undefined) => T): T {
    const kept = this.entries.get(key);
    if (kept === undefined) return decode(raw);
    this.entries.delete(key);
    return kept.raw === raw ? kept.value : decode(raw);
  }

  /** After a commit: `raw` is what the key holds now, serialised from `value` (or read and left as it was). */
  keep(key: string, raw: string | null | undefined, value: T): void {
    if (raw === null || raw === undefined) return;
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) this.entries.clear();
    this.entries.set(key, { raw, value });
  }

  /** Write `value` as the key's JSON in the batch's commit, and keep it once that commit is through. */
  write(batch: { tx: TxWriter; afterCommit(fn: () => void): void }, key: string, value: T): void {
    const json = JSON.stringify(value);
    batch.tx.set(key, json);
    batch.afterCommit(() => this.keep(key, json, value));
  }

  get size(): number {
    return this.entries.size;
  }
}
