/**
 * Per-symbol tick features, O(1) state, plain JSON so it lives in Redis.
 * Log-price EMAs (fast α=0.2, slow α=0.02), EWMA of squared log returns
 * (λ=0.97, the short-run variance), a slow EWMA of that variance (λ=0.999,
 * the long-run reference), order-book imbalance and its EMA (α=0.3), and the
 * last return's z-score.
 */
export interface FeatureState {
  ticks: number;
  lastTs: number;
  mid: number;
  logMid: number;
  emaFast: number;
  emaSlow: number;
  variance: number;
  longVariance: number;
  obi: number;
  obiEma: number;
  lastReturn: number;
  spreadBps: number;
}

export interface BookTick {
  ts: number;
  bid: number;
  ask: number;
  bid_size: number;
  ask_size: number;
}

export const WARMUP_TICKS = 20;
const FAST = 0.2;
const SLOW = 0.02;
const VAR_LAMBDA = 0.97;
const LONG_VAR_LAMBDA = 0.999;
const OBI_ALPHA = 0.3;

export function initialFeatures(): FeatureState {
  return { ticks: 0, lastTs: 0, mid: 0, logMid: 0, emaFast: 0, emaSlow: 0, variance: 0, longVariance: 0, obi: 0, obiEma: 0, lastReturn: 0, spreadBps: 0 };
}

/** Fold one tick into the state (mutates and returns `s`, so a batch allocates nothing per tick). */
export function updateFeatures(s: FeatureState, t: BookTick): FeatureState {
  const mid = (t.bid + t.ask) / 2;
  const logMid = Math.log(mid);
  const depth = t.bid_size + t.ask_size;
  const obi = depth > 0 ? (t.bid_size - t.ask_size) / depth : 0;
  if (s.ticks === 0) {
    s.emaFast = logMid;
    s.emaSlow = logMid;
    s.obiEma = obi;
  } else {
    const r = logMid - s.logMid;
    s.lastReturn = r;
    s.variance = VAR_LAMBDA * s.variance + (1 - VAR_LAMBDA) * r * r;
    s.longVariance = s.ticks < WARMUP_TICKS ? s.variance : LONG_VAR_LAMBDA * s.longVariance + (1 - LONG_VAR_LAMBDA) * r * r;
    s.emaFast += FAST * (logMid - s.emaFast);
    s.emaSlow += SLOW * (logMid - s.emaSlow);
    s.obiEma += OBI_ALPHA * (obi - s.obiEma);
  }
  s.ticks++;
  s.lastTs = t.ts;
  s.mid = mid;
  s.logMid = logMid;
  s.obi = obi;
  s.spreadBps = mid > 0 ? ((t.ask - t.bid) / mid) * 10_000 : 0;
  return s;
}

/**
 * Prediction horizon for the symbol: the base horizon scaled by how calm the
 * market is (long-run σ / short-run σ), clamped to [¼, 4]× the base. Stressed
 * markets get shorter horizons, so routing rules keyed on horizon_ms react
 * to the volatility regime.
 */
export function horizonFor(s: FeatureState, baseMs: number): number {
  if (s.ticks < WARMUP_TICKS || s.variance <= 0 || s.longVariance <= 0) return baseMs;
  const ratio = Math.sqrt(s.longVariance / s.variance);
  const scale = Math.min(4, Math.max(0.25, ratio));
  return Math.round(baseMs * scale);
}

/**
 * The feature vector handed to external (ONNX) models, in this order. σ is
 * the short-run per-tick volatility; a ratio with σ = 0 is 0.
 *   0 momentum_z   (emaFast − emaSlow) / σ
 *   1 deviation_z  (logMid − emaSlow) / σ
 *   2 obi_ema      EMA of order-book imbalance, in [−1, 1]
 *   3 return_z     lastReturn / σ
 *   4 spread_bps   (ask − bid) / mid × 10⁴
 *   5 sigma_bps    σ × 10⁴
 *   6 vol_ratio    σ / long-run σ (1 when the long-run σ is 0)
 */
export const FEATURE_NAMES = ['momentum_z', 'deviation_z', 'obi_ema', 'return_z', 'spread_bps', 'sigma_bps', 'vol_ratio'] as const;
export const FEATURE_COUNT = FEATURE_NAMES.length;

/** Fill `out` (length FEATURE_COUNT) with the feature vector of `s`; returns `out`. */
export function featureVector(s: FeatureState, out: Float32Array = new Float32Array(FEATURE_COUNT)): Float32Array {
  const sigma = Math.sqrt(s.variance);
  const longSigma = Math.sqrt(s.longVariance);
  const z = (x: number): number => (sigma > 0 ? x / sigma : 0);
  out[0] = z(s.emaFast - s.emaSlow);
  out[1] = z(s.logMid - s.emaSlow);
  out[2] = s.obiEma;
  out[3] = z(s.lastReturn);
  out[4] = s.spreadBps;
  out[5] = sigma * 10_000;
  out[6] = longSigma > 0 ? sigma / longSigma : 1;
  return out;
}
