/** One strategy_signals and one order_intents message as the pipeline writes them: the unit tests' seeds and the decoding micro-benchmark's input. */
import type { Signal, Target } from '../../services/core/messages.ts';

export const SAMPLE_SIGNAL: Signal = {
  symbol: 'BTC-USD',
  asset_class: 'crypto',
  tick_ts: 1_764_000_000_000,
  first_tick_ts: 1_764_000_000_000,
  tick_id: '1764000000000-0',
  price: 65_000.5,
  active_model: 'obi',
  spread_bps: 1.2,
  active_since: 1_763_999_000_000,
  ticks: 3,
  predictions: [
    { model: 'obi', edge_bps: 1.5, confidence: 0.7, horizon_ms: 30_000, ts: 1_764_000_000_000 },
    { model: 'momentum', edge_bps: -0.4, confidence: null, horizon_ms: 60_000, ts: 1_764_000_000_000 },
  ],
};

export const SAMPLE_TARGET: Target = {
  symbol: 'ETH-USD',
  asset_class: 'crypto',
  target_usd: -1_250.75,
  price: 3_500,
  tick_ts: 1_764_000_000_000,
  first_tick_ts: 1_763_999_999_000,
  edge_bps: 2.1,
  var_pct: 0.12,
  model: 'obi',
  signal_id: '1764000000001-0',
  ts: 1_764_000_000_005,
  action: 'hold',
  cost_bps: 11,
};
