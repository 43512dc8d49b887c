/** The project's own risk parameters and a one-signal fixture, for tests of the risk harmoniser's pure parts. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRiskParams } from '../../services/core/config/parse.ts';
import type { RiskHarmoniserConfig } from '../../services/core/config/schemas.ts';
import type { Signal } from '../../services/core/messages.ts';

/** conf/risk_params.yml, parsed (a test fails loudly if the project's own file does not parse). */
export function projectRiskConfig(): RiskHarmoniserConfig {
  const parsed = parseRiskParams(readFileSync(join(import.meta.dirname, '../../conf/risk_params.yml'), 'utf8'));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.config;
}

/** A BTC-USD signal at 65,000 with these predictions (edge, confidence per model), obi active. */
export function btcSignal(now: number, predictions: readonly { model: string; edge_bps: number; confidence: number }[]): Signal {
  return {
    symbol: 'BTC-USD',
    asset_class: 'crypto',
    tick_ts: now,
    first_tick_ts: now,
    tick_id: '1-0',
    price: 65_000,
    active_model: 'obi',
    spread_bps: 0,
    active_since: 0,
    ticks: 1,
    predictions: predictions.map((p) => ({ ...p, horizon_ms: 30_000, ts: now })),
  };
}
