/**
 * EWMA correlation of returns across symbols, sampled on a common clock:
 * at most once per `sampleMs`, every symbol with a price now and at the
 * previous sample contributes rᵢ = ln(pᵢ / pᵢ_prev), and
 *   covᵢⱼ ← λ·covᵢⱼ + (1 − λ)·rᵢ·rⱼ
 * ρᵢⱼ = covᵢⱼ / sqrt(covᵢᵢ·covⱼⱼ), clamped to [−1, 1]. Until a pair has
 * `minSamples` joint samples its correlation is 1 (the conservative choice
 * for VaR of same-sign positions).
 */

export interface CorrelationState {
  ts: number;
  prices: Record<string, number>;
  cov: Record<string, number>;
  samples: Record<string, number>;
}

export function initialCorrelation(): CorrelationState {
  return { ts: 0, prices: {}, cov: {}, samples: {} };
}

const pair = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);

/** Fold a snapshot of prices in (mutates `s`); returns whether a sample was taken. */
export function updateCorrelation(s: CorrelationState, prices: Readonly<Record<string, number>>, now: number, lambda: number, sampleMs: number): boolean {
  if (s.ts !== 0 && now - s.ts < sampleMs) return false;
  const returns: [string, number][] = [];
  for (const [sym, p] of Object.entries(prices)) {
    const prev = s.prices[sym];
    if (prev && prev > 0 && p > 0 && Number.isFinite(p)) returns.push([sym, Math.log(p / prev)]);
  }
  for (let i = 0; i < returns.length; i++) {
    for (let j = i; j < returns.length; j++) {
      const [a, ra] = returns[i]!;
      const [b, rb] = returns[j]!;
      const k = pair(a, b);
      s.cov[k] = lambda * (s.cov[k] ?? 0) + (1 - lambda) * ra * rb;
      s.samples[k] = (s.samples[k] ?? 0) + 1;
    }
  }
  for (const [sym, p] of Object.entries(prices)) if (p > 0 && Number.isFinite(p)) s.prices[sym] = p;
  s.ts = now;
  return true;
}

export function correlationOf(s: CorrelationState, a: string, b: string, minSamples: number): number {
  if (a === b) return 1;
  const k = pair(a, b);
  if ((s.samples[k] ?? 0) < minSamples) return 1;
  const va = s.cov[pair(a, a)] ?? 0;
  const vb = s.cov[pair(b, b)] ?? 0;
  if (!(va > 0) || !(vb > 0)) return 1;
  const rho = (s.cov[k] ?? 0) / Math.sqrt(va * vb);
  return Number.isFinite(rho) ? Math.max(-1, Math.min(1, rho)) : 1;
}
