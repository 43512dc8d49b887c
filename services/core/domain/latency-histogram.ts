/**
 * Redis' own command latency, from `LATENCY HISTOGRAM` (Redis 7): per
 * command, cumulative counts of calls at or under power-of-two bucket
 * bounds (µs), since the server started. Differences between two samples
 * give the calls of that interval; summed over a window, they give a
 * percentile of the server's execution time alone (time a blocking read
 * waits is not counted by Redis; the client's event-loop delay is not in
 * it either). Pure: replies in, numbers out.
 */

/** bucket upper bound (µs) → calls in that bucket (not cumulative). */
export type BucketCounts = Map<number, number>;

/** command → cumulative histogram as Redis reports it (bound → calls ≤ bound). */
export type CumulativeHistograms = Map<string, Map<number, number>>;

/** Commands that say nothing about data-path latency (administration, introspection). */
const IGNORED =
  /^(info|latency|slowlog|client|config|debug|module|command|monitor|memory|acl|hello|auth|select|quit|reset|script|function|cluster|readonly|readwrite|shutdown|save|bgsave|bgrewriteaof)(\||$)/;

/** Parse a `LATENCY HISTOGRAM` reply: [cmd, [calls, n, histogram_usec, [bound, cum, ...]], ...]. */
export function parseLatencyHistogram(reply: unknown): CumulativeHistograms {
  const out: CumulativeHistograms = new Map();
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const command = String(reply[i]).toLowerCase();
    if (IGNORED.test(command)) continue;
    const body: unknown = reply[i + 1];
    if (!Array.isArray(body)) continue;
    for (let j = 0; j + 1 < body.length; j += 2) {
      if (String(body[j]) !== 'histogram_usec') continue;
      const flat: unknown = body[j + 1];
      if (!Array.isArray(flat)) continue;
      const hist = new Map<number, number>();
      for (let k = 0; k + 1 < flat.length; k += 2) {
        const bound = Number(flat[k]);
        const cum = Number(flat[k + 1]);
        if (Number.isFinite(bound) && Number.isFinite(cum)) hist.set(bound, cum);
      }
      out.set(command, hist);
    }
  }
  return out;
}

/** Per-bucket calls between two cumulative samples, all commands merged. Undefined when the counters went back (CONFIG RESETSTAT, a restart). */
export function callsBetween(before: CumulativeHistograms, after: CumulativeHistograms): BucketCounts | undefined {
  const out: BucketCounts = new Map();
  for (const [command, now] of after) {
    const prev = before.get(command);
    const bounds = [...now.keys()].sort((a, b) => a - b);
    let prevCum = 0;
    let lastNow = 0;
    for (const bound of bounds) {
      const cumNow = now.get(bound)!;
      const cumPrev = prev ? cumulativeAt(prev, bound) : 0;
      const calls = cumNow - lastNow - (cumPrev - prevCum);
      if (calls < 0) return undefined;
      if (calls > 0) out.set(bound, (out.get(bound) ?? 0) + calls);
      lastNow = cumNow;
      prevCum = cumPrev;
    }
    if (prev && cumulativeAt(prev, Infinity) > lastNow) return undefined;
  }
  return out;
}

function cumulativeAt(hist: Map<number, number>, bound: number): number {
  let best = 0;
  let bestBound = -1;
  for (const [b, cum] of hist) {
    if (b <= bound && b > bestBound) {
      bestBound = b;
      best = cum;
    }
  }
  return best;
}

/** Add bucket counts together (a window of intervals). */
export function mergeCounts(parts: readonly BucketCounts[]): BucketCounts {
  const out: BucketCounts = new Map();
  for (const p of parts) for (const [b, n] of p) out.set(b, (out.get(b) ?? 0) + n);
  return out;
}

/** The bucket bound (µs) under which a share `q` of the calls fall; 0 with no calls. */
export function quantileOf(counts: BucketCounts, q: number): number {
  const bounds = [...counts.keys()].sort((a, b) => a - b);
  let total = 0;
  for (const b of bounds) total += counts.get(b)!;
  if (total === 0) return 0;
  const want = q * total;
  let seen = 0;
  for (const b of bounds) {
    seen += counts.get(b)!;
    if (seen >= want) return b;
  }
  return bounds[bounds.length - 1]!;
}
