/**
 * The seed's `tradepulse-cli kill --strategy <id> --reason <text>`:
 *   npm run kill -- --reason <text> [--strategy <model> | --symbol <SYMBOL>] [--operator <name>]
 *   npm run kill -- --reset --reason <text> [--strategy <model> | --symbol <SYMBOL>] [--operator <name>]
 * A strategy is a router model here: `--strategy momentum` kills what the
 * momentum model trades and nothing else; no scope kills the whole system.
 * Same rules and audit trail as POST/DELETE /admin/kill-switch: the scope
 * must name a known symbol or model, and a reset may need a second operator.
 * Exit 0 done, 1 refused or failed, 2 usage.
 */
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { loadRiskParams, projectRoot } from '../services/core/config/load.ts';
import { DEFAULT_CONFIG_PATHS } from '../services/core/config/schemas.ts';
import { parseScope } from '../services/core/domain/scopes.ts';
import { checkKillReset, recordKillEvent, stateDir } from '../services/core/kill-switch.ts';
import { connectRedis, redisKeysFor } from '../services/core/redis/connect.ts';
import { unknownScopeSubject } from '../services/core/scope-subjects.ts';

const USAGE = 'usage: npm run kill -- --reason <text> [--strategy <model> | --symbol <SYMBOL>] [--operator <name>] [--reset]';
const { values } = parseArgs({ options: { strategy: { type: 'string' }, symbol: { type: 'string' }, reason: { type: 'string' }, operator: { type: 'string' }, reset: { type: 'boolean', default: false } } });
if (!values.reason?.trim() || (values.strategy && values.symbol)) {
  console.error(USAGE);
  process.exit(2);
}
const scope = parseScope(values.strategy ? `model:${values.strategy}` : values.symbol ? `symbol:${values.symbol}` : 'system');
if (!scope.ok) {
  console.error(scope.reason);
  process.exit(2);
}
const root = projectRoot();
const keys = redisKeysFor();
const redis = connectRedis({ name: 'cli:kill', maxRetriesPerRequest: 2 });
const by = values.operator ?? `cli:${userInfo().username}`;
const audit = join(stateDir(root), 'kill_events.jsonl');
try {
  if (values.reset) {
    const risk = await loadRiskParams(DEFAULT_CONFIG_PATHS.risk_harmoniser, root);
    const check = await checkKillReset(redis, keys, scope.scope, by, risk.ok ? risk.config.kill_switch.require_second_operator : true);
    if (!check.ok) throw new Error(check.error);
    await recordKillEvent(redis, keys, { action: 'reset', reason: values.reason, by, trigger: 'manual', scope: scope.key, at: Date.now() }, audit);
    console.log(`kill switch reset for ${scope.key} by ${by}: ${values.reason}`);
  } else {
    const unknown = await unknownScopeSubject(redis, keys, scope.scope, root);
    if (unknown) throw new Error(unknown);
    await recordKillEvent(redis, keys, { action: 'engage', reason: values.reason, by, trigger: 'manual', scope: scope.key, at: Date.now() }, audit);
    console.log(`Kill-switch triggered for ${scope.key} due to ${values.reason}`);
  }
} catch (err) {
  console.error(`kill refused: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  redis.disconnect();
}
