/**
 * A consumer group's lag: entries the group has not yet been delivered.
 * Redis' own `lag` (XINFO GROUPS) is `entries-added − entries-read`, which
 * Redis documents as approximate or unknown after deletions and trims, and
 * which was seen stuck at thousands after a restart while the group had
 * read everything. So: zero when the group's last delivered id is the
 * stream's last id; else the entries counted after it (an XRANGE capped at
 * `cap`); only past the cap Redis' figure, bounded by the stream's length.
 */

export interface LagInputs {
  lastDeliveredId: string;
  lastGeneratedId: string;
  /** Entries after lastDeliveredId, counted up to cap + 1. */
  counted: number;
  cap: number;
  /** Redis' lag, or null when it reports none. */
  reported: number | null;
  length: number;
}

/** Order of stream ids ("<ms>-<seq>"). */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

export function consumerLag(x: LagInputs): number {
  if (compareStreamIds(x.lastDeliveredId, x.lastGeneratedId) >= 0) return 0;
  if (x.counted <= x.cap) return x.counted;
  const reported = x.reported !== null && Number.isFinite(x.reported) ? x.reported : x.counted;
  return Math.min(Math.max(x.counted, reported), Math.max(x.length, x.counted));
}
