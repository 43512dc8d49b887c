/**
 * Least-privilege Redis users (Redis 7 ACL), one per role, as data: which
 * keys a role may write, which channels it may use, which commands it may
 * send. Everything here is derived from the key names in keys.ts, so a
 * namespace (or a Cluster hash tag) is carried into every pattern.
 *
 * The boundary is the write: every role may read every key of its namespace
 * (`%R~<ns>*`), because reads change nothing and the services, the dashboard
 * and the operator's tools read across the whole book; only the roles that
 * own a key may change it. Pub/sub channels are all-or-nothing per channel
 * in Redis (a role that may SUBSCRIBE to control.events may also PUBLISH to
 * it), so they are listed per role too.
 *
 * Roles (docs/operations.md, "Redis users", lists each one's rights):
 *   feed, strategist, risk-harmoniser, executor, web: the five services;
 *   operator: the command-line tools (tpctl, npm run kill, the drills);
 *   runbook:  the `default` user, what a plain `redis-cli` gets on the
 *             embedded Redis (no password, loopback only): reads, the
 *             runbook's diagnostics and PUBLISH param.reload, no writes;
 *   replica:  what a replica or a Sentinel needs of a master.
 * The embedded Redis and docker-compose also have an `admin` user (all
 * rights, a password of its own) for changes by hand, ACL LOG and the Redis
 * latency drill's CLIENT KILL.
 */
import { createHash } from 'node:crypto';
import { CONFIG_COMPONENTS, type ConfigComponent, type RedisKeys, type ServiceName } from './keys.ts';

export type AclRole = ServiceName | 'operator' | 'runbook' | 'replica';
export const ACL_ROLES: readonly AclRole[] = ['feed', 'strategist', 'risk-harmoniser', 'executor', 'web', 'operator', 'runbook', 'replica'];

/** Which config components each service applies on `param.reload` (and so writes its applied version of). */
export const COMPONENTS_APPLIED_BY: Readonly<Record<ServiceName, readonly ConfigComponent[]>> = {
  feed: ['instruments'],
  strategist: ['model_router', 'instruments'],
  'risk-harmoniser': ['risk_harmoniser', 'instruments'],
  executor: ['risk_harmoniser', 'instruments'],
  web: ['risk_harmoniser', 'instruments'],
};

/** The services that apply a component (what `tpctl reload` waits for). */
export function appliersOf(component: ConfigComponent): ServiceName[] {
  return (Object.keys(COMPONENTS_APPLIED_BY) as ServiceName[]).filter((s) => COMPONENTS_APPLIED_BY[s].includes(component));
}

export interface RoleRights {
  /** Key patterns the role may write (and read). */
  readonly write: readonly string[];
  /** Key patterns the role may only read. */
  readonly read: readonly string[];
  /** Pub/sub channels the role may publish and subscribe to. */
  readonly channels: readonly string[];
  /** Command rules, in order (`+@all`, `-@dangerous`, `+info`, ...). */
  readonly commands: readonly string[];
}

/** What every service may do besides its keys: no admin or dangerous command, but the few read-only ones its client (INFO, ROLE), the latency sampler (LATENCY HISTOGRAM) and the TimeSeries check (MODULE LIST) send. */
const SERVICE_COMMANDS = ['+@all', '-@dangerous', '+info', '+role', '+latency|histogram', '+module|list'] as const;
/** The runbook's redis-cli commands: reads, diagnostics (INFO, LATENCY, SLOWLOG, CLIENT LIST, KEYS) and PUBLISH. */
const RUNBOOK_COMMANDS = [
  '-@all',
  '+@read',
  '+@connection',
  '-@dangerous',
  '+publish',
  '+subscribe',
  '+unsubscribe',
  '+info',
  '+role',
  '+keys',
  '+latency|latest',
  '+latency|history',
  '+latency|doctor',
  '+latency|histogram',
  '+slowlog|get',
  '+slowlog|len',
  '+client|list',
  '+command',
] as const;
/** A replica's link to its master (PSYNC, REPLCONF) and what Sentinel sends a master or replica while watching and failing over. */
const REPLICA_COMMANDS = [
  '-@all',
  '+psync',
  '+replconf',
  '+ping',
  '+auth',
  '+hello',
  '+info',
  '+role',
  '+multi',
  '+exec',
  '+slaveof',
  '+replicaof',
  '+config|rewrite',
  '+config|get',
  '+client|setname',
  '+client|kill',
  '+script|kill',
  '+publish',
  '+subscribe',
] as const;

/** A Redis glob matching `literal` exactly (Redis globs treat * ? [ ] \ specially). */
export function globLiteral(literal: string): string {
  return literal.replace(/[*?[\]\\]/g, '\\$&');
}

/** A key pattern from a key function: the namespace and the fixed parts literal, each `*` argument a wildcard. */
function pattern(key: string): string {
  return globLiteral(key).replaceAll('\\*', '*');
}

/**
 * The rights of a role on the keys `keys` names. `cluster`: the keys are on
 * Redis Cluster, where a smoke replay's namespace is a hash tag of its own
 * (`{replay-<id>}:`) instead of `<namespace>replay-<id>:` (run-replay.ts);
 * the web has every right there.
 */
export function roleRights(role: AclRole, keys: RedisKeys, options: { cluster?: boolean } = {}): RoleRights {
  const k = keys;
  const replayNamespace = options.cluster ? '{replay-*' : `${globLiteral(k.namespace)}replay-*`;
  const all = `${globLiteral(k.namespace)}*`;
  const allData = `${globLiteral(k.dataNamespace)}*`;
  const channels = [k.paramReload, k.controlEvents];
  // The liveness registry every service keeps: its heartbeat, the reload outcomes it reports, and the
  // config versions it applied; each also prunes instances that stopped beating long ago from all of them.
  // And the deployment's shard count, which the first service to start records (deployment.ts).
  const registry = [k.heartbeats, k.heartbeatDetail, k.reloadOutcomes, ...CONFIG_COMPONENTS.map((c) => k.configApplied(c)), k.deploymentShards];
  const breaker = [k.breaker, k.breakerEvents, k.breakerHalfOpenOrders, k.breakerProbe];
  const killSwitch = [k.killSwitch, k.killSwitchAudit];
  const control = [...breaker, ...killSwitch, k.tradingState, k.routerControl, k.kellyOverride, k.scopedControls];
  const service = (name: ServiceName, write: string[], extraChannels: string[] = []): RoleRights => ({
    write: [...registry, ...write].map(pattern),
    read: [...new Set([all, allData])],
    channels: [...channels, ...extraChannels].map(pattern),
    commands: SERVICE_COMMANDS,
  });
  switch (role) {
    case 'feed':
      return service('feed', [k.marketEvents, k.lastTick('*'), k.marketDataSeen]);
    case 'strategist':
      return service('strategist', [k.marketEvents, k.strategySignals, k.modelSwitchLog, k.strategistState('*'), k.deadLetter, k.routerControl]);
    case 'risk-harmoniser':
      return service(
        'risk-harmoniser',
        [
          k.strategySignals,
          k.orderIntents,
          k.deadLetter,
          k.edgeBlended('*'),
          k.timeSeries('edge_blended_bps', '*'),
          k.timeSeries('position_size_usd', '*'),
          k.timeSeries('var_pct', '*'),
          k.metricsHash('edge_blended_bps', '*'),
          k.metricsHash('position_size_usd', '*'),
          k.metricsHash('var_pct', '*'),
          k.volatilityEstimates,
          k.riskState('*'),
          k.varContributions,
          k.riskCorrelation,
          k.riskPrices,
          k.riskPortfolio,
          k.volRefresh,
          k.volRefreshWorker,
          k.volRefreshLast,
          ...breaker,
          k.kellyOverride,
        ],
        [k.controlCommands],
      );
    case 'executor':
      return service('executor', [
        k.orderIntents,
        k.execReports,
        k.deadLetter,
        k.orderEvents,
        `${k.dataNamespace}exec:*`,
        k.venueReports('*'),
        `${k.queuePrefix}:orders-*`,
        `${k.dataNamespace}paper:*`,
        k.dailyStats('*'),
        ...breaker,
        ...killSwitch,
        k.tradingState,
        k.scopedControls,
      ]);
    case 'web':
      // A replay runs a strategist, a risk harmoniser and an executor in the web's process, on a namespace of its own.
      return withReplay(service('web', [...control, k.rateLimit('*'), k.volRefresh, k.replayCancel('*'), `${k.queuePrefix}:replay*`], [k.controlCommands]), replayNamespace);
    case 'operator':
      return { write: control.map(pattern), read: [...new Set([all, allData])], channels: channels.map(pattern), commands: SERVICE_COMMANDS };
    case 'runbook':
      return { write: [], read: [...new Set([all, allData])], channels: [pattern(k.paramReload)], commands: RUNBOOK_COMMANDS };
    case 'replica':
      return { write: [], read: [], channels: ['__sentinel__:*'], commands: REPLICA_COMMANDS };
  }
}

/** The rights of a role over every write shard's keys (decision 0012): each shard's patterns, once each. */
export function shardedRoleRights(role: AclRole, shards: readonly RedisKeys[], options: { cluster?: boolean } = {}): RoleRights {
  const each = shards.map((k) => roleRights(role, k, options));
  const union = (pick: (r: RoleRights) => readonly string[]): string[] => [...new Set(each.flatMap(pick))];
  return { write: union((r) => r.write), read: union((r) => r.read), channels: union((r) => r.channels), commands: each[0]!.commands };
}

function withReplay(r: RoleRights, replayNamespace: string): RoleRights {
  return { ...r, write: [...r.write, replayNamespace], channels: [...r.channels, replayNamespace] };
}

/** The ACL rules of a role, as ACL SETUSER arguments after the user name and its password rule. */
export function aclRules(rights: RoleRights): string[] {
  return ['resetkeys', 'resetchannels', ...rights.write.map((p) => `~${p}`), ...rights.read.map((p) => `%R~${p}`), ...rights.channels.map((p) => `&${p}`), ...rights.commands];
}

/** The SHA-256 of a password, as an ACL file stores it (`#<hex>`): the file never holds a password. */
export function passwordHash(password: string): string {
  return createHash('sha256').update(password).digest('hex');
}

export interface AclUser {
  readonly name: string;
  /** undefined: no password (`nopass`), for the runbook's default user on a loopback-only Redis. */
  readonly password: string | undefined;
  readonly rules: readonly string[];
}

/** One line of an ACL file (`aclfile`), with the password as its hash. */
export function aclFileLine(user: AclUser): string {
  return ['user', user.name, 'on', user.password === undefined ? 'nopass' : `#${passwordHash(user.password)}`, ...user.rules].join(' ');
}

/** The keys (or channels) a command names, for a refusal's log line: a script's declared keys, the streams of XREAD(GROUP), else the first argument. */
export function commandKeys(command: string, args: readonly string[]): string[] {
  const name = command.toLowerCase();
  if (name === 'eval' || name === 'evalsha' || name === 'eval_ro' || name === 'evalsha_ro' || name === 'fcall') {
    const n = Number(args[1]);
    return Number.isInteger(n) && n > 0 ? args.slice(2, 2 + n) : [];
  }
  if (name === 'xread' || name === 'xreadgroup') {
    const at = args.findIndex((a) => a.toUpperCase() === 'STREAMS');
    if (at < 0) return [];
    const rest = args.slice(at + 1);
    return rest.slice(0, Math.floor(rest.length / 2));
  }
  return args.length > 0 ? [args[0]!] : [];
}
