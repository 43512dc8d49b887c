import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRiskParams } from '../../services/core/config/parse.ts';
import { previewRisk } from '../../services/core/domain/risk-preview.ts';
import { edgePays, roundTripCostBps } from '../../services/core/domain/trade-cost.ts';

const parsed = parseRiskParams(readFileSync(join(import.meta.dirname, '../../conf/risk_params.yml'), 'utf8'));
if (!parsed.ok) throw new Error(parsed.reason);
const cfg = parsed.config;

describe('what a trade costs', () => {
  it('prices the round trip as two crossings plus the spread, from conf/risk_params.yml', () => {
    // taker 4 + slippage 1, twice, plus a 1.5 bps spread.
    expect(roundTripCostBps(cfg.execution, 1.5)).toBe(11.5);
    expect(edgePays(cfg.execution, 11.4, 1.5)).toBe(false);
    expect(edgePays(cfg.execution, -11.5, 1.5)).toBe(true);
    expect(edgePays({ ...cfg.execution, cost_aware: false }, 0.1, 1.5)).toBe(true);
  });

  it('the preview says hold, with the reason, when the edge does not pay, and sizes it when it does', () => {
    const input = { price: 100, asset_class: 'crypto', daily_vol_pct: 3, horizon_ms: 86_400_000, spread_bps: 2 };
    const small = previewRisk({ ...input, edges: [{ model: 'obi', edge_bps: 5, confidence: 1 }] }, cfg);
    expect(small).toMatchObject({ action: 'hold', cost_bps: 12, target_position_usd: 0 });
    expect(small.reason).toMatch(/^edge \d+\.\d\d bps does not pay the round trip 12\.00 bps \(2 × \(taker fee 4 \+ slippage 1\) \+ spread 2\.00\): hold/);
    const large = previewRisk({ ...input, edges: [{ model: 'obi', edge_bps: 60, confidence: 1 }] }, cfg);
    expect(large.action).toBe('target');
    expect(large.target_position_usd).toBeGreaterThan(0);
  });
});
