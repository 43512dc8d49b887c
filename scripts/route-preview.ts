/**
 * Which rule and model win for a symbol and horizon, and why:
 *   npm run route-preview -- BTC-USD 30000 [--asset-class crypto] [--rules model_router_rules.yml] [--instruments conf/instruments.yml]
 * The asset class comes from --asset-class, else from the tradable universe
 * (conf/instruments.yml); a symbol outside it needs --asset-class.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseInstruments, parseRouterRules } from '../services/core/config/parse.ts';
import { explainRoute, matchRoute } from '../services/core/domain/route-rules.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'asset-class': { type: 'string' }, rules: { type: 'string', default: 'model_router_rules.yml' }, instruments: { type: 'string', default: 'conf/instruments.yml' } },
});
const [symbol, horizonArg] = positionals;
const horizon = Number(horizonArg);
if (!symbol || !Number.isFinite(horizon) || horizon < 0) {
  console.error('usage: npm run route-preview -- <SYMBOL> <horizon_ms> [--asset-class <class>] [--rules <file>] [--instruments <file>]');
  process.exit(2);
}
const parsed = parseRouterRules(readFileSync(values.rules, 'utf8'), values.rules);
if (!parsed.ok) {
  for (const e of parsed.errors) console.error(e);
  process.exit(1);
}
let assetClass = values['asset-class'];
let source = '--asset-class';
if (!assetClass) {
  const universe = parseInstruments(readFileSync(values.instruments, 'utf8'), values.instruments);
  if (!universe.ok) {
    for (const e of universe.errors) console.error(e);
    process.exit(1);
  }
  const spec = Object.hasOwn(universe.config.symbols, symbol) ? universe.config.symbols[symbol] : undefined;
  if (!spec) {
    console.error(`${symbol} is not in the tradable universe (${values.instruments}); pass --asset-class to preview it anyway`);
    process.exit(1);
  }
  assetClass = spec.asset_class;
  source = values.instruments;
}
const d = matchRoute(parsed.config.compiled, assetClass, horizon);
console.log(
  JSON.stringify(
    {
      symbol,
      asset_class: assetClass,
      asset_class_from: source,
      horizon_ms: horizon,
      model: d.model,
      ensemble: d.ensemble,
      fallback: d.fallback,
      rule_index: d.ruleIndex,
      why: explainRoute(d, assetClass, horizon),
    },
    null,
    2,
  ),
);
