/**
 * The price sanity band: a tick whose mid is further than `price_band_pct`
 * from the last good mid is quarantined (dead-lettered with the reason)
 * instead of being taken at face value, until `confirm_ticks` consecutive
 * ticks agree on the new level (each within the band of the one before):
 * the one that completes the run is accepted and becomes the reference.
 * So one bad print (0.01, 1e9) never reaches the models, while a real
 * level change is followed after a few ticks.
 *
 * Pure: state in, decision and next state out.
 */

export interface BandState {
  /** The last good mid, or null before the first tick. */
  ref: number | null;
  /** The level of a run of quarantined ticks, and its length. */
  candidate: number | null;
  count: number;
}

export interface BandParams {
  bandPct: number;
  confirmTicks: number;
}

export type BandDecision = { accept: true; confirmed: boolean; next: BandState } | { accept: false; reason: string; next: BandState };

export const EMPTY_BAND: BandState = Object.freeze({ ref: null, candidate: null, count: 0 });

const within = (a: number, b: number, pct: number): boolean => Math.abs(a / b - 1) * 100 <= pct;

export function screenPrice(state: BandState, mid: number, p: BandParams): BandDecision {
  if (!(mid > 0) || !Number.isFinite(mid)) return { accept: false, reason: `mid ${mid} is not a positive number`, next: state };
  if (state.ref === null || within(mid, state.ref, p.bandPct)) return { accept: true, confirmed: false, next: { ref: mid, candidate: null, count: 0 } };
  const continues = state.candidate !== null && within(mid, state.candidate, p.bandPct);
  const count = continues ? state.count + 1 : 1;
  if (count >= p.confirmTicks) return { accept: true, confirmed: true, next: { ref: mid, candidate: null, count: 0 } };
  const movePct = (mid / state.ref - 1) * 100;
  return {
    accept: false,
    reason: `price_band: mid ${mid} is ${movePct.toFixed(2)}% from the last good mid ${state.ref} (band ${p.bandPct}%); quarantined until ${p.confirmTicks} consecutive ticks confirm the level (${count} so far)`,
    next: { ref: state.ref, candidate: mid, count },
  };
}
