/**
 * What-if sizing from the command line, no side effects:
 *   npm run risk-preview -- --edge obi:2.5:0.8 --edge momentum:-1:0.6 --price 65000 \
 *     --asset-class crypto --vol 3 [--horizon 30000] [--portfolio 1000000] [--kelly 0.25] [--config conf/risk_params.yml]
 * --edge is model:edge_bps[:confidence]; --vol is daily volatility in percent.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseRiskParams } from '../services/core/config/parse.ts';
import { previewRisk } from '../services/core/domain/risk-preview.ts';

const { values } = parseArgs({
  options: {
    edge: { type: 'string', multiple: true, default: [] },
    price: { type: 'string' },
    'asset-class': { type: 'string', default: 'default' },
    vol: { type: 'string' },
    horizon: { type: 'string', default: '30000' },
    portfolio: { type: 'string' },
    kelly: { type: 'string' },
    config: { type: 'string', default: 'conf/risk_params.yml' },
  },
});
const fail = (msg: string): never => {
  console.error(msg);
  process.exit(2);
};
const num = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : fail(`--${name}: not a number: ${v}`);
};
const edges = values.edge.map((e) => {
  const [model, edge, confidence] = e.split(':');
  if (!model || edge === undefined) fail(`--edge ${e}: expected model:edge_bps[:confidence]`);
  return { model: model!, edge_bps: num('edge', edge)!, confidence: num('edge', confidence) ?? null };
});
if (edges.length === 0) fail('at least one --edge model:edge_bps[:confidence] is required');
const price = num('price', values.price) ?? fail('--price is required');
const vol = num('vol', values.vol) ?? fail('--vol (daily volatility, percent) is required');
const cfg = parseRiskParams(readFileSync(values.config, 'utf8'), values.config);
if (!cfg.ok) fail(cfg.reason);
if (!cfg.ok) process.exit(1);
console.log(
  JSON.stringify(
    previewRisk(
      {
        edges,
        price,
        asset_class: values['asset-class'],
        daily_vol_pct: vol,
        horizon_ms: num('horizon', values.horizon)!,
        portfolio_value_usd: num('portfolio', values.portfolio),
        kelly_fraction: num('kelly', values.kelly),
      },
      cfg.config,
    ),
    null,
    2,
  ),
);
