/**
 * The runbook's `validate_router_rules.py model_router_rules.yml`:
 *   npm run validate-rules -- model_router_rules.yml
 * Exit 0 and a summary when valid; exit 1 with one line per problem
 * (file:line: field: reason) otherwise.
 */
import { readFileSync } from 'node:fs';
import { parseRouterRules } from '../services/core/config/parse.ts';

const file = process.argv[2] ?? 'model_router_rules.yml';
let text: string;
try {
  text = readFileSync(file, 'utf8');
} catch (err) {
  console.error(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  process.exit(2);
}
const result = parseRouterRules(text, file);
if (!result.ok) {
  for (const e of result.errors) console.error(e);
  console.error(`${file}: INVALID (${result.errors.length} problem${result.errors.length === 1 ? '' : 's'})`);
  process.exit(1);
}
const { config, compiled } = result.config;
console.log(`${file}: OK, version ${result.version}`);
console.log(`  ${Object.keys(config.models).length} models, ${compiled.rules.length} rules, default_model ${config.default_model}`);
for (const r of compiled.rules) {
  console.log(`  rule ${r.index} priority ${r.priority}: asset_class "${r.assetClass.source}" horizon_ms "${r.horizon.source}" -> ${r.model}${r.ensemble.length ? ` (+ ${r.ensemble.join(', ')})` : ''}${r.description ? `  # ${r.description}` : ''}`);
}
