/** Instrument metadata from Redis, cached per symbol with a TTL. */
import type { ServiceContext } from '../core/service.ts';
import { inferInstrument, instrumentFromHash, type InstrumentInfo } from './domain/instrument.ts';

export class InstrumentCache {
  private readonly cache = new Map<string, { info: InstrumentInfo; fetchedAt: number }>();
  constructor(
    private readonly ctx: ServiceContext,
    private readonly ttlMs: () => number,
  ) {}

  /** Fetch the symbols whose entry is missing or older than the TTL (one pipelined round trip). */
  async refresh(symbols: Iterable<string>): Promise<void> {
    const now = this.ctx.clock.now();
    const stale = [...symbols].filter((s) => {
      const e = this.cache.get(s);
      return !e || now - e.fetchedAt > this.ttlMs();
    });
    if (stale.length === 0) return;
    const pipe = this.ctx.redis.pipeline();
    for (const s of stale) pipe.hgetall(this.ctx.keys.instrumentInfo(s));
    const res = (await pipe.exec()) ?? [];
    stale.forEach((s, i) => {
      const [err, h] = res[i] ?? [null, {}];
      const info = err ? inferInstrument(s) : instrumentFromHash(s, h as Record<string, string>);
      this.cache.set(s, { info, fetchedAt: now });
    });
  }

  get(symbol: string): InstrumentInfo {
    return this.cache.get(symbol)?.info ?? inferInstrument(symbol);
  }
}
