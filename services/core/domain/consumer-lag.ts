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

/**
 * Order of stream ids ("<ms>-<seq>"; a missing sequence is 0). Compares the
 * digits in place: it runs in every batch commit's sort, and splitting each id
 * into an array of strings and numbers was a few percent of a stage's
 * allocations. Sign only (-1, 0, 1).
 */
export function compareStreamIds(a: string, b: string): number {
  const da = dashAt(a);
  const db = dashAt(b);
  return compareDecimal(a, 0, da, b, 0, db) || compareDecimal(a, da + 1, a.length, b, db + 1, b.length);
}

function dashAt(id: string): number {
  const i = id.indexOf('-');
  return i < 0 ? id.length : i;
}

/** Two unsigned decimals given as ranges of strings (an empty range is 0), of any length. */
function compareDecimal(a: string, as: number, ae: number, b: string, bs: number, be: number): number {
  while (as < ae && a.charCodeAt(as) === 48) as++;
  while (bs < be && b.charCodeAt(bs) === 48) bs++;
  const la = Math.max(0, ae - as);
  const lb = Math.max(0, be - bs);
  if (la !== lb) return la < lb ? -1 : 1;
  for (let i = 0; i < la; i++) {
    const d = a.charCodeAt(as + i) - b.charCodeAt(bs + i);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function consumerLag(x: LagInputs): number {
  if (compareStreamIds(x.lastDeliveredId, x.lastGeneratedId) >= 0) return 0;
  if (x.counted <= x.cap) return x.counted;
  const reported = x.reported !== null && Number.isFinite(x.reported) ? x.reported : x.counted;
  return Math.min(Math.max(x.counted, reported), Math.max(x.length, x.counted));
}
