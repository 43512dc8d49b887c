/**
 * A budget for repeated log events: per event (and level), the first
 * `burst` lines of each window are logged whole; the rest are counted, and
 * one summary per event says how many were left out. A flood of bad input
 * therefore costs at most `burst` + 1 lines per event per window, whatever
 * its rate. Lines without an event name are never held back. Pure: the
 * caller gives the time and writes what it is told to.
 */
export interface Suppressed {
  key: string;
  count: number;
  windowStart: number;
}

export class LogBudget {
  private readonly windows = new Map<string, { start: number; seen: number; suppressed: number }>();

  constructor(
    readonly burst: number,
    readonly windowMs: number,
  ) {}

  /** Whether this line is written; `flushed`: a summary of the key's previous window, due now. */
  admit(key: string, now: number): { write: boolean; flushed?: Suppressed } {
    let w = this.windows.get(key);
    let flushed: Suppressed | undefined;
    if (!w || now - w.start >= this.windowMs) {
      if (w && w.suppressed > 0) flushed = { key, count: w.suppressed, windowStart: w.start };
      w = { start: now, seen: 0, suppressed: 0 };
      this.windows.set(key, w);
    }
    w.seen++;
    if (w.seen <= this.burst) return flushed ? { write: true, flushed } : { write: true };
    w.suppressed++;
    return flushed ? { write: false, flushed } : { write: false };
  }

  /** Summaries of every window that has ended (for a timer, so the last window of a flood is told too). */
  due(now: number): Suppressed[] {
    const out: Suppressed[] = [];
    for (const [key, w] of this.windows) {
      if (now - w.start < this.windowMs) continue;
      if (w.suppressed > 0) out.push({ key, count: w.suppressed, windowStart: w.start });
      this.windows.delete(key);
    }
    return out;
  }
}
