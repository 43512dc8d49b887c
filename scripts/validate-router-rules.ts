/**
 * The runbook's `validate_router_rules.py model_router_rules.yml`:
 *   npm run validate-rules -- model_router_rules.yml [--root <project dir>]
 * Exit 0 and a summary when valid; exit 1 with one line per problem
 * (file:line: field: reason) otherwise. ONNX models are loaded and given a
 * probe run; their paths resolve against --root (default: the current
 * directory), as the strategist resolves them against the project root.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseRouterRules } from '../services/core/config/parse.ts';
import { bundleVersion, loadModelRunners, OnnxSessionCache } from '../services/strategist/model-runtime.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { root: { type: 'string', default: '.' } } });
const file = positionals[0] ?? 'model_router_rules.yml';
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
const sessions = new OnnxSessionCache();
const models = await loadModelRunners(config.models, resolve(values.root), sessions);
await sessions.close();
if (!models.ok) {
  for (const e of models.errors) console.error(`${file}: ${e}`);
  console.error(`${file}: INVALID (${models.errors.length} model${models.errors.length === 1 ? '' : 's'} failed to load)`);
  process.exit(1);
}
console.log(`${file}: OK, version ${bundleVersion(result.version, models.keys)}`);
console.log(
  `  ${Object.keys(config.models).length} models (${[...models.runners.values()].filter((r) => r.kind === 'onnx').length} ONNX), ${compiled.rules.length} rules, default_model ${config.default_model}`,
);
for (const r of compiled.rules) {
  console.log(
    `  rule ${r.index} priority ${r.priority}: asset_class "${r.assetClass.source}" horizon_ms "${r.horizon.source}" -> ${r.model}${r.ensemble.length ? ` (+ ${r.ensemble.join(', ')})` : ''}${r.description ? `  # ${r.description}` : ''}`,
  );
}
