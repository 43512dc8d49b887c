/**
 * Position drift: the OMS's position against the venue's holding, as a
 * share of the larger notional. A fill the venue has made and the OMS is
 * applying right now reads as drift for a moment, by whatever was in flight
 * then; a real drift (a fill lost, a trade made elsewhere) is the same
 * difference at the next reconciliation. Only that is confirmed. A
 * difference under half the instrument's lot is rounding dust (the venue's
 * sums of fills are floating point), not drift.
 */

export interface DriftCheck {
  /** |OMS − venue| × mid as a percentage of max(|OMS|, |venue|) × mid; 0 without a price. */
  driftPct: number;
  /** venue − OMS, in units of the instrument. */
  diff: number;
  /** ok: within the limit; suspect: above it for the first time or by a new difference; confirmed: the same difference again. */
  verdict: 'ok' | 'suspect' | 'confirmed';
}

/** Two differences are the same when they agree to 0.1 % (or 1e-9 units near zero). */
export function sameDifference(a: number, b: number): boolean {
  return Math.abs(a - b) <= Math.max(1e-9, 1e-3 * Math.max(Math.abs(a), Math.abs(b)));
}

/**
 * `previousDiff`: the difference the last reconciliation found drifting, undefined when it found none;
 * `lotSize`: the instrument's lot (0: none known).
 */
export function checkDrift(omsQty: number, venueQty: number, mid: number, limitPct: number, previousDiff: number | undefined, lotSize = 0): DriftCheck {
  const diff = venueQty - omsQty;
  if (Math.abs(diff) < Math.max(lotSize / 2, 1e-12)) return { driftPct: 0, diff: 0, verdict: 'ok' };
  const notional = Math.max(Math.abs(omsQty), Math.abs(venueQty)) * mid;
  const driftPct = notional > 0 ? (Math.abs(diff) * mid * 100) / notional : 0;
  if (!(driftPct > limitPct)) return { driftPct, diff, verdict: 'ok' };
  return { driftPct, diff, verdict: previousDiff !== undefined && sameDifference(previousDiff, diff) ? 'confirmed' : 'suspect' };
}
