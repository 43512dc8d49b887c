/**
 * With write shards (decision 0012), what one shard's risk harmoniser sees of
 * the rest of the book: every other shard's VaR contributions and prices,
 * read every `refreshMs` from that shard's own hashes. Portfolio VaR and the
 * VaR room are then computed on the whole book: this shard's part exact (in
 * its commit), the others' at most `refreshMs` plus one read old.
 */
import type { Logger } from '../core/log.ts';
import type { RedisClient } from '../core/redis/connect.ts';
import type { Shards } from '../core/redis/keys.ts';
import type { BookOutside } from './on-signals.ts';

export interface BookView {
  current(): BookOutside;
  /** When the last read finished (ms), 0 before the first. */
  readonly readAt: number;
  stop(): void;
}

export async function startBookView(redis: RedisClient, shards: Shards, own: number, refreshMs: number, log: Logger, now: () => number): Promise<BookView> {
  const others = shards.keys.filter((_, i) => i !== own);
  let view: BookOutside = { contributions: {}, prices: {} };
  let readAt = 0;
  let failing = false;
  const read = async (): Promise<void> => {
    try {
      const parts = await Promise.all(others.map(async (k) => ({ contributions: await redis.hgetall(k.varContributions), prices: await redis.hgetall(k.riskPrices) })));
      view = {
        contributions: Object.fromEntries(parts.flatMap((p) => Object.entries(p.contributions))),
        prices: Object.fromEntries(parts.flatMap((p) => Object.entries(p.prices))),
      };
      readAt = now();
      if (failing) log.info({ event: 'risk.book_view_restored' }, 'other shards readable again');
      failing = false;
    } catch (err) {
      if (!failing) log.warn({ event: 'risk.book_view_failed', err: String(err) }, "other shards' VaR contributions unreadable: the last read stands");
      failing = true;
    }
  };
  await read();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void read().finally(() => {
      busy = false;
    });
  }, refreshMs);
  timer.unref();
  return {
    current: () => view,
    get readAt() {
      return readAt;
    },
    stop: () => clearInterval(timer),
  };
}
