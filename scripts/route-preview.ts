/**
 * Which rule and model win for a symbol and horizon, and why:
 *   npm run route-preview -- BTC-USD 30000 [--asset-class crypto] [--rules model_router_rules.yml]
 * The asset class comes from --asset-class, else from instrument:info:<symbol>
 * when REDIS_URL is set and the hash exists, else from the documented inference.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseRouterRules } from '../services/core/config/parse.ts';
import { explainRoute, matchRoute } from '../services/core/domain/route-rules.ts';
import { connectRedis, redisKeysFor } from '../services/core/redis/connect.ts';
import { inferInstrument, instrumentFromHash } from '../services/strategist/domain/instrument.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'asset-class': { type: 'string' }, rules: { type: 'string', default: 'model_router_rules.yml' } } });
const [symbol, horizonArg] = positionals;
const horizon = Number(horizonArg);
if (!symbol || !Number.isFinite(horizon) || horizon < 0) {
  console.error('usage: npm run route-preview -- <SYMBOL> <horizon_ms> [--asset-class <class>] [--rules <file>]');
  process.exit(2);
}
const parsed = parseRouterRules(readFileSync(values.rules, 'utf8'), values.rules);
if (!parsed.ok) {
  for (const e of parsed.errors) console.error(e);
  process.exit(1);
}
let assetClass = values['asset-class'];
let source = '--asset-class';
if (!assetClass && process.env['REDIS_URL']) {
  const r = connectRedis({ name: 'cli:route-preview', maxRetriesPerRequest: 1 });
  const h = await r.hgetall(redisKeysFor().instrumentInfo(symbol)).catch(() => ({}));
  r.disconnect();
  if (Object.keys(h).length > 0) {
    assetClass = instrumentFromHash(symbol, h).assetClass;
    source = `instrument:info:${symbol}`;
  }
}
if (!assetClass) {
  assetClass = inferInstrument(symbol).assetClass;
  source = 'inferred from the symbol';
}
const d = matchRoute(parsed.config.compiled, assetClass, horizon);
console.log(JSON.stringify({ symbol, asset_class: assetClass, asset_class_from: source, horizon_ms: horizon, model: d.model, ensemble: d.ensemble, fallback: d.fallback, rule_index: d.ruleIndex, why: explainRoute(d, assetClass, horizon) }, null, 2));
