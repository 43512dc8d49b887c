/**
 * redis_latency_p99 / redis_latency_p50 (µs): Redis' own execution time per
 * command over the last minute, from `LATENCY HISTOGRAM` sampled every few
 * seconds (core/domain/latency-histogram.ts). Unlike a PING timed from Node,
 * it does not move with this process's event-loop delay, which prom-client
 * exports separately (nodejs_eventloop_lag_p99_seconds).
 */
import type { Logger } from '../log.ts';
import { Gauge, type Registry } from '../metrics.ts';
import { callsBetween, mergeCounts, parseLatencyHistogram, quantileOf, type BucketCounts, type CumulativeHistograms } from '../domain/latency-histogram.ts';
import type { RedisClient } from './connect.ts';

export class RedisLatencySampler {
  private previous: CumulativeHistograms | undefined;
  private readonly window: { at: number; counts: BucketCounts }[] = [];
  private readonly p99: Gauge;
  private readonly p50: Gauge;
  private unsupported = false;
  /** The last p99 (µs), undefined until two samples or when LATENCY is refused; heartbeats carry it to /api/status. */
  lastP99: number | undefined;

  constructor(
    private readonly redis: RedisClient,
    registry: Registry,
    private readonly log: Logger,
    private readonly windowMs = 60_000,
  ) {
    this.p99 = new Gauge({
      name: 'redis_latency_p99',
      help: "p99 of Redis' own command execution time over the last minute (LATENCY HISTOGRAM, power-of-two buckets), microseconds",
      registers: [registry],
    });
    this.p50 = new Gauge({
      name: 'redis_latency_p50',
      help: "p50 of Redis' own command execution time over the last minute (LATENCY HISTOGRAM), microseconds",
      registers: [registry],
    });
  }

  async sample(now: number): Promise<void> {
    if (this.unsupported) return;
    let reply: unknown;
    try {
      reply = await this.redis.call('LATENCY', 'HISTOGRAM');
    } catch (err) {
      // Managed Redis may rename or refuse LATENCY: say so once, export nothing.
      this.unsupported = true;
      this.log.warn({ event: 'redis.latency_unavailable', err: String(err) }, 'LATENCY HISTOGRAM refused: redis_latency_p99 is not exported');
      return;
    }
    const current = parseLatencyHistogram(reply);
    const calls = this.previous ? callsBetween(this.previous, current) : undefined;
    this.previous = current;
    if (calls === undefined) return;
    this.window.push({ at: now, counts: calls });
    while (this.window.length > 0 && now - this.window[0]!.at > this.windowMs) this.window.shift();
    const merged = mergeCounts(this.window.map((w) => w.counts));
    this.lastP99 = quantileOf(merged, 0.99);
    this.p99.set(this.lastP99);
    this.p50.set(quantileOf(merged, 0.5));
  }
}
