/**
 * The seed's `tradepulse-cli kill --strategy <id> --reason <text>`:
 *   npm run kill -- --reason <text> [--strategy <model> | --symbol <SYMBOL>] [--operator <name>]
 *   npm run kill -- --reset --reason <text> [--strategy <model> | --symbol <SYMBOL>] [--operator <name>]
 * A strategy is a router model here: `--strategy momentum` kills what the
 * momentum model trades and nothing else; no scope kills the whole system.
 * Same rules, audit trail and log wording as POST/DELETE /admin/kill-switch:
 * the scope must name a known symbol or model, and a reset may need a
 * second operator. With kill_switch.require_second_operator the CLI's
 * identity is the login running it (`<user>@<host>`), not a name it is given.
 * Exit 0 done, 1 refused or failed, 2 usage, 78 bad settings.
 */
import { hostname, userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { loadInstruments, loadRiskParams } from '../services/core/config/load.ts';
import { join } from 'node:path';
import { controlLogLine } from '../services/core/domain/control-state.ts';
import { parseScope } from '../services/core/domain/scopes.ts';
import { EXIT_CONFIG } from '../services/core/errors.ts';
import { ControlWriter } from '../services/core/control/write.ts';
import { createLogger } from '../services/core/log.ts';
import { connectRedis, redisKeysFor, shardsFor } from '../services/core/redis/connect.ts';
import { unknownScopeSubject } from '../services/core/scope-subjects.ts';
import { cliEnvironment, settingsFromEnvironment } from '../services/core/settings.ts';

const USAGE = 'usage: npm run kill -- --reason <text> [--strategy <model> | --symbol <SYMBOL>] [--operator <name>] [--reset]';
const { values } = parseArgs({
  options: { strategy: { type: 'string' }, symbol: { type: 'string' }, reason: { type: 'string' }, operator: { type: 'string' }, reset: { type: 'boolean', default: false } },
});
if (!values.reason?.trim() || (values.strategy && values.symbol)) {
  console.error(USAGE);
  process.exit(2);
}
const scope = parseScope(values.strategy ? `model:${values.strategy}` : values.symbol ? `symbol:${values.symbol}` : 'system');
if (!scope.ok) {
  console.error(scope.reason);
  process.exit(2);
}
const parsed = settingsFromEnvironment();
if (!parsed.ok) {
  console.error(`settings: ${parsed.errors.join('; ')}`);
  process.exit(EXIT_CONFIG);
}
const settings = parsed.settings;
const root = settings.root;
// The operator's Redis user: REDIS_USERNAME/REDIS_PASSWORD_FILE, else the one npm start made for its embedded Redis.
const cli = cliEnvironment(root);
if (!cli.ok) {
  console.error(`settings: ${cli.error}`);
  process.exit(EXIT_CONFIG);
}
const redisUrl = settings.redisUrl ?? cli.env.redisUrl;
const keys = redisKeysFor(redisUrl, settings.namespace);
const redis = connectRedis({ ...(redisUrl ? { url: redisUrl } : {}), auth: cli.env.redisAuth, name: 'cli:kill', maxRetriesPerRequest: 2 });
const login = `${userInfo().username}@${hostname()}`;
// The writer logs each change as every path does (pino JSON, level name) on stderr.
const log = createLogger('cli', `kill-${process.pid}`, settings.logLevel, { write: (line: string) => process.stderr.write(line) });
const writer = new ControlWriter({ redis, keys, log, clock: { now: () => Date.now() }, auditFile: join(settings.stateDir, 'kill_events.jsonl') });
try {
  const risk = await loadRiskParams(settings.configPaths.risk_harmoniser, root);
  const dual = risk.ok ? risk.config.kill_switch.require_second_operator : true;
  if (dual && values.operator !== undefined && values.operator !== login) {
    throw new Error(`kill_switch.require_second_operator is set: the CLI acts as your login (${login}); --operator ${values.operator} is not accepted`);
  }
  const by = dual ? login : (values.operator ?? `cli:${userInfo().username}`);
  if (!values.reset) {
    const universe = await loadInstruments(settings.configPaths.instruments, root);
    if (!universe.ok) throw new Error(universe.reason);
    const unknown = await unknownScopeSubject(
      { redis, shards: shardsFor(redisUrl, settings.namespace, settings.shards), universe: universe.config, root, routerRulesPath: settings.configPaths.model_router },
      scope.scope,
    );
    if (unknown) throw new Error(unknown);
  }
  const who = { reason: values.reason, by, trigger: 'manual', requireSecondOperator: dual };
  const command = values.reset ? 'reset' : 'engage';
  const outcome = scope.scope.kind === 'system' ? await writer.killSwitch(command, who) : await writer.scope(scope.key, { kind: values.reset ? 'reset' : 'kill' }, who);
  if (outcome.kind === 'refused') throw new Error(outcome.reason);
  if (outcome.kind === 'stayed') console.log(`unchanged: ${outcome.why}`);
  else console.log(`${controlLogLine(outcome.event).msg} by ${by}`);
  if (outcome.kind === 'moved' && outcome.auditFileError) console.error(`warning: audit file not written (${outcome.auditFileError}); the event is in Redis`);
} catch (err) {
  console.error(`kill refused: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  redis.disconnect();
}
