/**
 * The built-in alpha models. Each maps features to an edge (expected move
 * over the horizon, basis points, signed) and a confidence in [0, 1].
 * Before WARMUP_TICKS ticks every model returns confidence 0.
 *
 * σ is the short-run per-tick volatility sqrt(variance), in log units.
 *
 * - obi (order-book imbalance): edge = obiEma × spreadBps; confidence =
 *   |obiEma|^½. A book leaning to the bid predicts the mid moving up by up
 *   to one spread.
 * - momentum: d = emaFast − emaSlow (log); edge = 10⁴ × d;
 *   confidence = min(1, |d| / (3σ)).
 * - mean_reversion: d = logMid − emaSlow; edge = −10⁴ × d / 2;
 *   confidence = min(1, |d| / (4σ)).
 * - vol_breakout: z = lastReturn / σ; when |z| > 2, edge = 10⁴ × lastReturn
 *   (continuation), confidence = min(1, (|z| − 2) / 2); else edge 0,
 *   confidence 0.
 */
import { WARMUP_TICKS, type FeatureState } from './features.ts';

export type AlphaName = 'obi' | 'momentum' | 'mean_reversion' | 'vol_breakout';

export interface AlphaOutput {
  edgeBps: number;
  confidence: number;
}

export const ZERO: AlphaOutput = Object.freeze({ edgeBps: 0, confidence: 0 });

export function bounded(edgeBps: number, confidence: number): AlphaOutput {
  if (!Number.isFinite(edgeBps) || !Number.isFinite(confidence)) return ZERO;
  return { edgeBps, confidence: Math.min(1, Math.max(0, confidence)) };
}

export function obiAlpha(f: FeatureState): AlphaOutput {
  if (f.ticks < WARMUP_TICKS) return ZERO;
  return bounded(f.obiEma * f.spreadBps, Math.sqrt(Math.abs(f.obiEma)));
}

export function momentumAlpha(f: FeatureState): AlphaOutput {
  if (f.ticks < WARMUP_TICKS) return ZERO;
  const sigma = Math.sqrt(f.variance);
  const d = f.emaFast - f.emaSlow;
  return bounded(10_000 * d, sigma > 0 ? Math.abs(d) / (3 * sigma) : 0);
}

export function meanReversionAlpha(f: FeatureState): AlphaOutput {
  if (f.ticks < WARMUP_TICKS) return ZERO;
  const sigma = Math.sqrt(f.variance);
  const d = f.logMid - f.emaSlow;
  return bounded((-10_000 * d) / 2, sigma > 0 ? Math.abs(d) / (4 * sigma) : 0);
}

export function volBreakoutAlpha(f: FeatureState): AlphaOutput {
  if (f.ticks < WARMUP_TICKS) return ZERO;
  const sigma = Math.sqrt(f.variance);
  if (sigma <= 0) return ZERO;
  const z = f.lastReturn / sigma;
  if (Math.abs(z) <= 2) return ZERO;
  return bounded(10_000 * f.lastReturn, (Math.abs(z) - 2) / 2);
}

export const ALPHAS: Readonly<Record<AlphaName, (f: FeatureState) => AlphaOutput>> = {
  obi: obiAlpha,
  momentum: momentumAlpha,
  mean_reversion: meanReversionAlpha,
  vol_breakout: volBreakoutAlpha,
};
