/**
 * RiskMetrics-style EWMA volatility on irregularly spaced prices:
 *   σ²ₜ (per second) = λ·σ²ₜ₋₁ + (1 − λ)·rₜ² / Δtₜ,   rₜ = ln(pₜ / pₜ₋₁)
 * Daily volatility = sqrt(σ² · seconds_per_day). The estimate is stale when
 * no price has updated it for stale_after_ms.
 */

export interface VolState {
  variancePerSec: number;
  lastPrice: number;
  lastTs: number;
  samples: number;
}

export function initialVol(initialDailyVolPct: number, secondsPerDay: number): VolState {
  const daily = initialDailyVolPct / 100;
  return { variancePerSec: (daily * daily) / secondsPerDay, lastPrice: 0, lastTs: 0, samples: 0 };
}

/** Fold one price in (mutates `s`). Out-of-order or duplicate timestamps are ignored. */
export function updateVol(s: VolState, price: number, ts: number, lambda: number): VolState {
  if (!(price > 0) || !Number.isFinite(price)) return s;
  if (s.lastPrice > 0) {
    const dt = (ts - s.lastTs) / 1000;
    if (!(dt > 0)) return s;
    const r = Math.log(price / s.lastPrice);
    const v = lambda * s.variancePerSec + ((1 - lambda) * r * r) / dt;
    if (Number.isFinite(v)) {
      s.variancePerSec = v;
      s.samples++;
    }
  }
  s.lastPrice = price;
  s.lastTs = ts;
  return s;
}

export function dailyVolOf(s: VolState, secondsPerDay: number): number {
  return Math.sqrt(Math.max(0, s.variancePerSec) * secondsPerDay);
}

export function isVolStale(s: VolState, now: number, staleAfterMs: number): boolean {
  return s.lastTs === 0 || now - s.lastTs > staleAfterMs;
}

/** Recompute from scratch over a price series (oldest first). */
export function volFromPrices(prices: readonly { price: number; ts: number }[], lambda: number, initialDailyVolPct: number, secondsPerDay: number): VolState {
  const s = initialVol(initialDailyVolPct, secondsPerDay);
  for (const p of prices) updateVol(s, p.price, p.ts, lambda);
  return s;
}
