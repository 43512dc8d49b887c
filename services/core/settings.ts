/**
 * Settings from the environment, parsed once with zod: types, ranges and
 * defaults declared here and nowhere else, errors in the config files' style
 * ("FEED_RATE: expected a number ≥ 1, found "fast""). A service gets the
 * frozen result through its context (`ctx.settings`); nothing else reads
 * `process.env`. Tests build settings with `parseSettings({...})` instead of
 * changing `process.env`.
 *
 * SETTINGS_DOC lists every variable with its meaning; the README's table is
 * checked against it (tests/unit/docs.test.ts).
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigurationError } from './errors.ts';
import type { RedisAuth } from './redis/connect.ts';
import { MAX_SHARDS, SERVICE_NAMES, type ServiceName } from './redis/keys.ts';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const ms = (min: number, max: number) => int(min, max);
const text = z.string().trim().min(1);
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** NAME=token pairs, comma-separated: one bearer token per operator. */
const operatorTokens = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const out: Record<string, string> = {};
    if (v === undefined || v.trim() === '') return out;
    for (const pair of v.split(',')) {
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const token = pair.slice(eq + 1).trim();
      if (eq <= 0 || !/^[A-Za-z0-9_.-]{1,64}$/.test(name) || token.length < 16) {
        ctx.addIssue({
          code: 'custom',
          message: `expected name=token pairs (name: letters, digits, "_.-"; token: at least 16 characters), found an entry "${pair.slice(0, 20)}${pair.length > 20 ? '…' : ''}"`,
        });
        return z.NEVER;
      }
      if (Object.values(out).includes(token)) {
        ctx.addIssue({ code: 'custom', message: `two operators share one token (${name})` });
        return z.NEVER;
      }
      out[name] = token;
    }
    return out;
  });

const envSchema = z.object({
  TP_ROOT: optionalText,
  REDIS_URL: optionalText,
  REDIS_USERNAME: optionalText,
  REDIS_PASSWORD_FILE: optionalText,
  TP_NAMESPACE: z.string().optional(),
  TP_SHARDS: z.coerce.number().int().min(1).max(MAX_SHARDS).default(1),
  TP_SHARD: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_SHARDS - 1)
    .optional(),
  INSTANCE_ID: optionalText,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_EVENT_BURST: int(0, 100_000).default(20),
  LOG_EVENT_WINDOW_MS: ms(100, 3_600_000).default(10_000),
  METRICS_PORT: int(-1, 65_535).default(-1),
  METRICS_HOST: text.default('127.0.0.1'),
  HEARTBEAT_INTERVAL_MS: ms(50, 60_000).default(1_000),
  REDIS_LATENCY_WINDOW_MS: ms(1_000, 3_600_000).default(60_000),
  SHUTDOWN_TIMEOUT_MS: ms(100, 600_000).default(10_000),
  CONTROL_MAX_AGE_MS: ms(100, 600_000).default(5_000),
  CONTROL_REFRESH_MS: ms(20, 60_000).default(1_000),
  BATCH_SIZE: int(1, 10_000).optional(),
  CLAIM_IDLE_MS: ms(50, 3_600_000).default(5_000),
  REDIS_WAIT_REPLICAS: int(0, 16).optional(),
  REDIS_WAIT_MS: ms(1, 10_000).default(500),
  STATE_DIR: optionalText,
  RISK_PARAMS: text.default('conf/risk_params.yml'),
  ROUTER_RULES: text.default('model_router_rules.yml'),
  INSTRUMENTS: text.default('conf/instruments.yml'),
  EXECUTION_MODE: z.enum(['PAPER', 'DRY_RUN']).default('PAPER'),
  REPLAY_KEEP_NAMESPACE: z.enum(['0', '1']).default('0'),
  WEB_HOST: text.default('127.0.0.1'),
  WEB_PORT: int(0, 65_535).default(8080),
  WEB_TOKEN: optionalText.refine((v) => v === undefined || v.length >= 16, 'expected at least 16 characters'),
  WEB_OPERATOR_TOKENS: operatorTokens,
  REQUIRED_SERVICES: optionalText,
  WEB_RATE_LIMIT_PER_MINUTE: int(1, 1_000_000).default(60),
  WEB_AUTH_FAILURES_PER_WINDOW: int(1, 10_000).default(10),
  FEED_RATE: z.coerce.number().finite().min(1).max(1_000_000).default(200),
  FEED_SEED: int(0, 2 ** 32 - 1).default(42),
  FEED_CSV: optionalText,
  FEED_MAX_TICKS: int(1, Number.MAX_SAFE_INTEGER).optional(),
  FEED_STREAM_MAXLEN: int(1_000, 100_000_000).default(500_000),
  VENUE: z.enum(['paper', 'binance']).default('paper'),
  VENUE_API_KEY: optionalText,
  VENUE_API_SECRET: optionalText,
  VENUE_URL: optionalText.refine((v) => v === undefined || /^https?:\/\/[^\s]+$/.test(v), 'expected an http(s) URL'),
  VENUE_TIMEOUT_MS: ms(100, 120_000).default(5_000),
  LIVE_TRADING_CONFIRM: optionalText,
  PAPER_FAIL_RATE: z.coerce.number().min(0).max(1).default(0),
  PAPER_LATENCY_MS: z.coerce.number().min(0).max(60_000).default(0),
  SAFETY_INTERVAL_MS: ms(20, 60_000).default(1_000),
});

const SERVICES = SERVICE_NAMES;

export interface Settings {
  /** Project root: config paths are relative to it. */
  readonly root: string;
  readonly redisUrl: string | undefined;
  /** The ACL user this process connects as (REDIS_USERNAME, REDIS_PASSWORD_FILE); undefined: the URL's own. */
  readonly redisAuth: RedisAuth | undefined;
  readonly namespace: string | undefined;
  /** Write shards (TP_SHARDS, default 1: today's key names; decision 0012). */
  readonly shards: number;
  /** The one shard this instance serves (TP_SHARD); undefined: every shard. */
  readonly shard: number | undefined;
  readonly instanceId: string | undefined;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Lines per event per window logged whole before the rest are counted into one summary (0: no limit). */
  readonly logBudget: { burst: number; windowMs: number };
  /** -1: no metrics server; 0: an ephemeral port. */
  readonly metricsPort: number;
  readonly metricsHost: string;
  readonly heartbeatIntervalMs: number;
  /** The window redis_latency_p99 is taken over (the runbook's alert reads it; default one minute). */
  readonly redisLatencyWindowMs: number;
  readonly shutdownTimeoutMs: number;
  readonly controlMaxAgeMs: number;
  readonly controlRefreshMs: number;
  /** Entries per stream read; undefined: each service's own default. */
  readonly batchSize: number | undefined;
  readonly claimIdleMs: number;
  /**
   * Before an order goes to the venue, this many replicas must hold the OMS records it depends on (WAIT, at most
   * `ms`), else it is not sent yet: a failover cannot lose an order the venue has. undefined: 1 through Sentinel,
   * else 0 (replicasToAck in redis/connect.ts).
   */
  readonly replicaAck: { readonly replicas: number | undefined; readonly ms: number };
  /** Where the kill-switch audit file lives. */
  readonly stateDir: string;
  readonly configPaths: { readonly risk_harmoniser: string; readonly model_router: string; readonly instruments: string };
  /** Execution mode when none is stored in Redis. */
  readonly executionMode: 'PAPER' | 'DRY_RUN';
  /** Keep a smoke replay's namespace after its report (to look into it). */
  readonly replayKeepNamespace: boolean;
  readonly web: {
    readonly host: string;
    readonly port: number;
    readonly token: string | undefined;
    /** operator name → bearer token (identity for the second-operator rule). */
    readonly operatorTokens: Readonly<Record<string, string>>;
    readonly requiredServices: readonly ServiceName[];
    /** Mutating requests per caller per minute, shared across web replicas. */
    readonly rateLimitPerMinute: number;
    /** Failed authentications per address per 5 minutes before it is locked out. */
    readonly authFailuresPerWindow: number;
  };
  readonly feed: { readonly rate: number; readonly seed: number; readonly csvPath: string | undefined; readonly maxTicks: number | undefined; readonly streamMaxLen: number };
  readonly paper: { readonly failRate: number; readonly latencyMs: number };
  /** The executor's venue: the paper venue, or a live exchange through ccxt (LIVE: real orders). */
  readonly venue: {
    readonly name: 'paper' | 'binance';
    readonly apiKey: string | undefined;
    readonly secret: string | undefined;
    readonly url: string | undefined;
    readonly timeoutMs: number;
  };
  readonly safetyIntervalMs: number;
}

export type SettingsResult = { ok: true; settings: Settings } | { ok: false; errors: string[] };

/** Shown in errors: a secret's value is never echoed. */
const SECRET = new Set(['WEB_TOKEN', 'WEB_OPERATOR_TOKENS', 'REDIS_URL', 'VENUE_API_KEY', 'VENUE_API_SECRET']);
/** The value LIVE_TRADING_CONFIRM must have for a live venue to be used. */
export const LIVE_CONFIRMATION = 'yes-real-orders';

export function parseSettings(env: Readonly<Record<string, string | undefined>>): SettingsResult {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const errors = parsed.error.issues.slice(0, 20).map((issue) => {
      const name = String(issue.path[0] ?? '(environment)');
      const raw = env[name];
      const found = raw === undefined ? 'nothing' : SECRET.has(name) ? 'a value (not shown)' : JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}…` : raw);
      return `${name}: ${issue.message}, found ${found}`;
    });
    return { ok: false, errors };
  }
  const e = parsed.data;
  const errors: string[] = [];
  let required: ServiceName[] = [...SERVICES];
  if (e.REQUIRED_SERVICES === 'none') {
    required = [];
  } else if (e.REQUIRED_SERVICES) {
    const names = e.REQUIRED_SERVICES.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = names.filter((n) => !(SERVICES as readonly string[]).includes(n));
    if (unknown.length > 0) errors.push(`REQUIRED_SERVICES: expected a comma-separated list of ${SERVICES.join(', ')}, found ${JSON.stringify(unknown.join(','))}`);
    required = names.filter((n): n is ServiceName => (SERVICES as readonly string[]).includes(n));
  }
  if ((e.REDIS_WAIT_REPLICAS ?? 0) > 0 && e.REDIS_URL?.startsWith('redis-cluster://'))
    errors.push(`REDIS_WAIT_REPLICAS: not supported on Redis Cluster (WAIT has no key to route by), found ${e.REDIS_WAIT_REPLICAS}`);
  if (e.TP_SHARD !== undefined && e.TP_SHARD >= e.TP_SHARDS) errors.push(`TP_SHARD: expected a shard from 0 to ${e.TP_SHARDS - 1} (TP_SHARDS=${e.TP_SHARDS}), found ${e.TP_SHARD}`);
  if (e.CONTROL_MAX_AGE_MS <= e.CONTROL_REFRESH_MS)
    errors.push(`CONTROL_MAX_AGE_MS: expected more than CONTROL_REFRESH_MS (${e.CONTROL_REFRESH_MS}), found ${e.CONTROL_MAX_AGE_MS}`);
  if (e.VENUE !== 'paper') {
    // One account's balances cannot be reconciled against one shard's positions (decision 0012).
    if (e.TP_SHARDS > 1) errors.push(`TP_SHARDS: a live venue (${e.VENUE}) runs with one write shard (its balances are one account), found ${e.TP_SHARDS}`);
    // A live venue sends real orders: never by accident.
    if (!e.VENUE_API_KEY || !e.VENUE_API_SECRET)
      errors.push(
        `VENUE: ${e.VENUE} is a live venue (real orders); it needs VENUE_API_KEY and VENUE_API_SECRET, found ${!e.VENUE_API_KEY ? 'no VENUE_API_KEY' : 'no VENUE_API_SECRET'}`,
      );
    if (e.LIVE_TRADING_CONFIRM !== LIVE_CONFIRMATION)
      errors.push(
        `VENUE: ${e.VENUE} is a live venue (real orders); set LIVE_TRADING_CONFIRM=${LIVE_CONFIRMATION} to confirm, found ${e.LIVE_TRADING_CONFIRM === undefined ? 'nothing' : JSON.stringify(e.LIVE_TRADING_CONFIRM)}`,
      );
  }
  const root = resolve(e.TP_ROOT ?? process.cwd());
  const redisAuth = readRedisAuth(e.REDIS_USERNAME, e.REDIS_PASSWORD_FILE ? resolve(root, e.REDIS_PASSWORD_FILE) : undefined, errors);
  if (errors.length > 0) return { ok: false, errors };
  const settings: Settings = {
    root,
    redisUrl: e.REDIS_URL,
    redisAuth,
    namespace: e.TP_NAMESPACE,
    shards: e.TP_SHARDS,
    shard: e.TP_SHARD,
    instanceId: e.INSTANCE_ID,
    logLevel: e.LOG_LEVEL,
    logBudget: { burst: e.LOG_EVENT_BURST, windowMs: e.LOG_EVENT_WINDOW_MS },
    metricsPort: e.METRICS_PORT,
    metricsHost: e.METRICS_HOST,
    heartbeatIntervalMs: e.HEARTBEAT_INTERVAL_MS,
    redisLatencyWindowMs: e.REDIS_LATENCY_WINDOW_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    controlMaxAgeMs: e.CONTROL_MAX_AGE_MS,
    controlRefreshMs: e.CONTROL_REFRESH_MS,
    batchSize: e.BATCH_SIZE,
    claimIdleMs: e.CLAIM_IDLE_MS,
    replicaAck: { replicas: e.REDIS_WAIT_REPLICAS, ms: e.REDIS_WAIT_MS },
    stateDir: e.STATE_DIR ? resolve(root, e.STATE_DIR) : resolve(root, '.data', 'state'),
    configPaths: { risk_harmoniser: e.RISK_PARAMS, model_router: e.ROUTER_RULES, instruments: e.INSTRUMENTS },
    executionMode: e.EXECUTION_MODE,
    replayKeepNamespace: e.REPLAY_KEEP_NAMESPACE === '1',
    web: {
      host: e.WEB_HOST,
      port: e.WEB_PORT,
      token: e.WEB_TOKEN,
      operatorTokens: e.WEB_OPERATOR_TOKENS,
      requiredServices: required,
      rateLimitPerMinute: e.WEB_RATE_LIMIT_PER_MINUTE,
      authFailuresPerWindow: e.WEB_AUTH_FAILURES_PER_WINDOW,
    },
    feed: { rate: e.FEED_RATE, seed: e.FEED_SEED, csvPath: e.FEED_CSV, maxTicks: e.FEED_MAX_TICKS, streamMaxLen: e.FEED_STREAM_MAXLEN },
    paper: { failRate: e.PAPER_FAIL_RATE, latencyMs: e.PAPER_LATENCY_MS },
    venue: { name: e.VENUE, apiKey: e.VENUE_API_KEY, secret: e.VENUE_API_SECRET, url: e.VENUE_URL, timeoutMs: e.VENUE_TIMEOUT_MS },
    safetyIntervalMs: e.SAFETY_INTERVAL_MS,
  };
  return { ok: true, settings: deepFreeze(settings) };
}

/**
 * The ACL user from REDIS_USERNAME and REDIS_PASSWORD_FILE (a file holding
 * the password, readable by its owner only, as npm start and docker-compose
 * write them). A username without a file, or a file without a username, is
 * an error; neither: undefined (the URL's own user, as before).
 */
function readRedisAuth(username: string | undefined, file: string | undefined, errors: string[]): RedisAuth | undefined {
  if (username === undefined && file === undefined) return undefined;
  if (username === undefined || file === undefined) {
    errors.push(
      username === undefined
        ? 'REDIS_USERNAME: expected a user name with REDIS_PASSWORD_FILE, found nothing'
        : 'REDIS_PASSWORD_FILE: expected the password file of REDIS_USERNAME, found nothing',
    );
    return undefined;
  }
  try {
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      errors.push(`REDIS_PASSWORD_FILE: ${file} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
      return undefined;
    }
    const password = readFileSync(file, 'utf8').trim();
    if (password === '') {
      errors.push(`REDIS_PASSWORD_FILE: ${file} is empty`);
      return undefined;
    }
    return { username, password };
  } catch (err) {
    errors.push(`REDIS_PASSWORD_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    return undefined;
  }
}

/** Settings for a test or tool: the defaults plus `overrides` (environment-style names); throws on an invalid value. */
export function settingsFrom(overrides: Readonly<Record<string, string | undefined>> = {}): Settings {
  const r = parseSettings(overrides);
  if (!r.ok) throw new SettingsError(r.errors);
  return r.settings;
}

/** The process environment, read once. Entry points call this; nothing else reads process.env. */
export function settingsFromEnvironment(service?: string): SettingsResult {
  return parseSettings(service === undefined ? process.env : serviceEnvironment(service, process.env));
}

/**
 * The environment one service reads when several share a process (the single-process layout): a variable
 * `<SERVICE>__<NAME>` (`RISK_HARMONISER__METRICS_PORT=9103`) stands for `<NAME>` for that service alone.
 */
export function serviceEnvironment(service: string, env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const prefix = `${service.toUpperCase().replaceAll('-', '_')}__`;
  const out: Record<string, string | undefined> = { ...env };
  for (const [k, v] of Object.entries(env)) if (k.startsWith(prefix) && k.length > prefix.length) out[k.slice(prefix.length)] = v;
  return out;
}

/** What the operator CLI (services/cli/ctl.ts) reads: where web and Redis are, and its token. */
export interface CliEnvironment {
  webUrl: string | undefined;
  webPort: number | undefined;
  webToken: string | undefined;
  redisUrl: string | undefined;
  namespace: string | undefined;
  /** TP_SHARDS: how many write shards the deployment has (what the tools read across). */
  shards: number;
  dataDir: string;
  /** The Redis user the tools connect as: REDIS_USERNAME/REDIS_PASSWORD_FILE, else npm start's operator user when it runs the embedded Redis. */
  redisAuth: RedisAuth | undefined;
  /** npm start's admin user on its embedded Redis (the Redis latency drill's CLIENT KILL); undefined with REDIS_URL. */
  adminAuth: RedisAuth | undefined;
  /** Where the services read their config files: TP_ROOT, else the project. */
  configRoot: string;
}

/** Where npm start keeps its Redis users' ACL file and passwords, under DATA_DIR (scripts/start.mjs spells it too). */
export const EMBEDDED_ACL_DIR = 'redis-acl';

/**
 * The user npm start made for `role` on its embedded Redis, read from
 * <DATA_DIR>/redis-acl/<role>.password; undefined when there is none (no
 * embedded Redis has run here, or REDIS_URL points elsewhere).
 */
export function embeddedRedisAuth(dataDir: string, role: 'operator' | 'admin'): RedisAuth | undefined {
  const errors: string[] = [];
  const file = resolve(dataDir, EMBEDDED_ACL_DIR, `${role}.password`);
  try {
    statSync(file);
  } catch {
    return undefined;
  }
  const auth = readRedisAuth(role, file, errors);
  if (errors.length > 0) throw new SettingsError(errors);
  return auth;
}

const cliSchema = z.object({
  TP_WEB_URL: z.url().optional(),
  WEB_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  WEB_TOKEN: z.string().min(1).optional(),
  REDIS_URL: z.string().min(1).optional(),
  REDIS_USERNAME: optionalText,
  REDIS_PASSWORD_FILE: optionalText,
  TP_NAMESPACE: z.string().optional(),
  TP_SHARDS: z.coerce.number().int().min(1).max(MAX_SHARDS).default(1),
  TP_ROOT: optionalText,
  DATA_DIR: z.string().min(1).default('.data'),
});

/** The CLI's variables from the process environment, read once; an invalid one is named. `root`: the project (DATA_DIR is relative to it). */
export function cliEnvironment(root: string = process.cwd()): { ok: true; env: CliEnvironment } | { ok: false; error: string } {
  const r = cliSchema.safeParse(process.env);
  if (!r.success) return { ok: false, error: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  const e = r.data;
  const dataDir = resolve(root, e.DATA_DIR);
  const errors: string[] = [];
  let redisAuth = readRedisAuth(e.REDIS_USERNAME, e.REDIS_PASSWORD_FILE ? resolve(root, e.REDIS_PASSWORD_FILE) : undefined, errors);
  // Without REDIS_URL: the Redis `npm start` runs, with the users it made for it.
  const embedded = (role: 'operator' | 'admin'): RedisAuth | undefined => {
    try {
      return e.REDIS_URL === undefined ? embeddedRedisAuth(dataDir, role) : undefined;
    } catch (err) {
      errors.push(err instanceof SettingsError ? err.errors.join('; ') : String(err));
      return undefined;
    }
  };
  redisAuth ??= embedded('operator');
  const adminAuth = embedded('admin');
  if (errors.length > 0) return { ok: false, error: errors.join('; ') };
  // Its URL is in its run.lock (without a password), else the default.
  const redisUrl = e.REDIS_URL ?? embeddedRedisUrl(dataDir);
  const configRoot = e.TP_ROOT ? resolve(e.TP_ROOT) : root; // relative to the working directory, as the services read it
  return {
    ok: true,
    env: {
      webUrl: e.TP_WEB_URL,
      webPort: e.WEB_PORT,
      webToken: e.WEB_TOKEN,
      redisUrl,
      namespace: e.TP_NAMESPACE,
      shards: e.TP_SHARDS,
      dataDir: e.DATA_DIR,
      redisAuth,
      adminAuth,
      configRoot,
    },
  };
}

/** The Redis URL npm start recorded in <DATA_DIR>/run.lock, unless it is redacted (it carried a password) or there is none. */
function embeddedRedisUrl(dataDir: string): string | undefined {
  try {
    const lock = JSON.parse(readFileSync(resolve(dataDir, 'run.lock'), 'utf8')) as { redisUrl?: unknown };
    return typeof lock.redisUrl === 'string' && !lock.redisUrl.includes('***') ? lock.redisUrl : undefined;
  } catch {
    return undefined;
  }
}

export class SettingsError extends ConfigurationError {
  constructor(readonly errors: readonly string[]) {
    super(`invalid settings: ${errors.join('; ')}`);
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/** Every variable, for the README (checked by a test). */
export const SETTINGS_DOC: Readonly<Record<keyof z.input<typeof envSchema>, string>> = {
  TP_ROOT: 'project root that config paths are relative to (default: the working directory)',
  REDIS_URL: 'redis://, rediss://, redis-sentinel:// or redis-cluster:// URL (default redis://127.0.0.1:6379/0)',
  REDIS_USERNAME: 'the Redis ACL user to connect as (npm start and docker-compose give each service its own; docs/operations.md, "Redis users")',
  REDIS_PASSWORD_FILE: "file holding that user's password, mode 0600 (npm start: .data/redis-acl/<user>.password)",
  TP_NAMESPACE: 'prefix of every key (default empty: the contract names); on Cluster it must carry a hash tag',
  TP_SHARDS: 'write shards: symbols split over this many streams and hash tags (default 1: the contract names; decision 0012)',
  TP_SHARD: 'serve only this shard (0 to TP_SHARDS-1); default every shard',
  INSTANCE_ID: "this instance's name in heartbeats and consumer groups (default <service>-<host>-<pid>)",
  LOG_LEVEL: 'fatal, error, warn, info (default), debug, trace, silent',
  LOG_EVENT_BURST: 'lines of one event logged whole per window before the rest are summed up in one log.suppressed line (default 20; 0: no limit)',
  LOG_EVENT_WINDOW_MS: 'that window (default 10000)',
  METRICS_PORT: 'port of /metrics (-1: none, 0: ephemeral)',
  METRICS_HOST: 'address /metrics listens on (default 127.0.0.1)',
  HEARTBEAT_INTERVAL_MS: 'heartbeat period (default 1000)',
  REDIS_LATENCY_WINDOW_MS: 'the window redis_latency_p99 is taken over, sampled every 5 heartbeats (default 60000: the last minute)',
  SHUTDOWN_TIMEOUT_MS: 'bound on finishing in-flight work at stop (default 10000)',
  CONTROL_MAX_AGE_MS: 'a control snapshot older than this reads as unknown: orders refused (default 5000)',
  CONTROL_REFRESH_MS: 'periodic re-read of the control state (default 1000)',
  BATCH_SIZE: 'stream entries per read (default per service: strategist 500, others 200)',
  REDIS_WAIT_REPLICAS: "replicas that must hold an order's records before it is sent to the venue (WAIT; default 1 with a redis-sentinel:// URL, else 0; not on Cluster)",
  REDIS_WAIT_MS: 'how long a send waits for them before it is retried later (default 500)',
  CLAIM_IDLE_MS: 'pending entries idle this long are claimed from a dead consumer (default 5000)',
  STATE_DIR: 'folder of the kill-switch audit file (default .data/state)',
  RISK_PARAMS: 'risk parameters file (default conf/risk_params.yml)',
  ROUTER_RULES: 'model router rules file (default model_router_rules.yml)',
  INSTRUMENTS: 'tradable universe file (default conf/instruments.yml)',
  EXECUTION_MODE: 'PAPER (default) or DRY_RUN when none is stored in Redis',
  REPLAY_KEEP_NAMESPACE: "1: keep a smoke replay's keys after its report (default 0: deleted)",
  WEB_HOST: 'address the API listens on (default 127.0.0.1; any non-loopback address needs WEB_TOKEN or WEB_OPERATOR_TOKENS)',
  WEB_PORT: 'API port (default 8080)',
  WEB_TOKEN: 'shared bearer token for mutating requests (at least 16 characters)',
  WEB_OPERATOR_TOKENS: 'name=token pairs, comma-separated: one bearer token per operator; the name is the operator identity (needed for require_second_operator)',
  REQUIRED_SERVICES: 'comma-separated services /api/ready and /health wait for (default all five; "none" for none)',
  WEB_RATE_LIMIT_PER_MINUTE: 'mutating requests per operator (or address) per minute, shared by web replicas (default 60)',
  WEB_AUTH_FAILURES_PER_WINDOW: 'failed authentications per address per 5 minutes before it is locked out (default 10)',
  FEED_RATE: 'synthetic ticks per second (default 200)',
  FEED_SEED: 'seed of the synthetic market (default 42)',
  FEED_CSV: 'replay this CSV of ticks instead of the synthetic market',
  FEED_MAX_TICKS: 'stop publishing after this many ticks',
  FEED_STREAM_MAXLEN: 'approximate cap of market_events (default 500000)',
  VENUE: "the executor's venue: paper (default, simulated) or binance (LIVE: real orders through ccxt; needs the next three)",
  VENUE_API_KEY: 'live venue API key (secret: never printed)',
  VENUE_API_SECRET: 'live venue API secret (secret: never printed)',
  LIVE_TRADING_CONFIRM: `must be ${LIVE_CONFIRMATION} for a live VENUE: the explicit confirmation that orders are real`,
  VENUE_URL: "live venue REST base URL instead of the exchange's own (its testnet, or a local fake in tests)",
  VENUE_TIMEOUT_MS: 'live venue: timeout of one REST call (default 5000)',
  PAPER_FAIL_RATE: 'paper venue: share of orders that fail, 0-1 (drills)',
  PAPER_LATENCY_MS: 'paper venue: added latency per order (drills)',
  SAFETY_INTERVAL_MS: "period of the executor's safety checks (default 1000)",
};
