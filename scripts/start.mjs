#!/usr/bin/env node
// npm start: the whole system on one machine, no Docker.
// Installs what is missing (npm dependencies; redis-server via apt-get when
// root), starts its own redis-server with AOF (or uses REDIS_URL), starts the
// five services under a small supervisor (a crashed service is restarted),
// prints the URLs, and stops everything cleanly on Ctrl-C. A second `npm start`
// while one runs prints where the first one is and exits.
// Ctrl-C reaches every process of the terminal's group; redis-server runs in
// its own group so it outlives the services, which finish, acknowledge and
// deregister before the supervisor stops it. Services also stop when the
// supervisor dies (their IPC channel closes); a redis-server left by a killed
// supervisor is stopped by the next `npm start` before it starts its own.
// Before anything starts, scripts/preflight.ts checks the settings, the
// config files and the API's exposure rule: a problem stops npm start with
// the reason (exit 78) and nothing trades. A service that later exits with
// 78 (a configuration error) stops everything the same way instead of being
// restarted. The Redis password is never printed; .data/run.lock is 0600.
// The embedded Redis has one ACL user per service (scripts/redis-users.ts;
// docs/operations.md, "Redis users"): each service gets its user name and
// password file, and a plain redis-cli is the read-only `default` user.
// Environment (README, "npm start"): REDIS_URL (and REDIS_URL_<SERVICE>,
// e.g. REDIS_URL_RISK_HARMONISER, a service's own URL there), WEB_PORT (8080),
// EMBEDDED_REDIS_PORT (6379), METRICS_PORT_BASE (9101; 0 = ephemeral ports),
// DATA_DIR (.data), LOGS_DIR (logs), START_QUIET=1 (no service logs on
// stdout), TP_RUNTIME (js: the services compiled to .build/ by
// scripts/build.mjs, the default; tsx: the TypeScript sources through the
// loader), and every service setting (services/core/settings.ts).
// Plain JavaScript on purpose: it must run before `npm ci` has installed tsx.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildServices, builtEntry } from './build.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Where the services read their config files (conf/, model_router_rules.yml): the project unless TP_ROOT names another copy.
const configRoot = process.env.TP_ROOT ? resolve(process.env.TP_ROOT) : root;
const dataDir = resolve(root, process.env.DATA_DIR ?? '.data');
const logsDir = resolve(root, process.env.LOGS_DIR ?? 'logs');
const lockFile = join(dataDir, 'run.lock');
// The embedded Redis' users (EMBEDDED_ACL_DIR in services/core/settings.ts).
const aclDir = join(dataDir, 'redis-acl');
const say = (msg) => process.stdout.write(`[start] ${msg}\n`);
const EXIT_CONFIG = 78;
/** A Redis URL as it may be shown: the password replaced (redis://user:***@host, redis-cluster://***@h1,h2). */
const redact = (url) => (url ? url.replace(/\/\/([^@/]*)@/, (_m, cred) => `//${cred.includes(':') ? `${cred.slice(0, cred.indexOf(':'))}:***` : '***'}@`) : url);

mkdirSync(dataDir, { recursive: true });
mkdirSync(logsDir, { recursive: true });

// 1. One instance at a time.
if (existsSync(lockFile)) {
  try {
    const lock = JSON.parse(readFileSync(lockFile, 'utf8'));
    if (alive(lock.pid)) {
      say(`already running (pid ${lock.pid}); nothing started.`);
      printUrls(lock);
      process.exit(0);
    }
    // Stale lock: the supervisor was killed. Its redis-server may still run on our data folder.
    if (lock.redisPid && alive(lock.redisPid) && isRedisServer(lock.redisPid)) {
      say(`stopping the redis-server (pid ${lock.redisPid}) left by a supervisor that was killed...`);
      process.kill(lock.redisPid, 'SIGTERM');
      if (!(await waitFor(() => !alive(lock.redisPid), 15_000))) fail(`redis-server pid ${lock.redisPid} did not stop; stop it, then run npm start again`);
    }
  } catch {
    // unreadable lock: treated as stale
  }
  rmSync(lockFile, { force: true });
}

// 2. npm dependencies.
const marker = join(root, 'node_modules', '.package-lock.json');
const lockJson = join(root, 'package-lock.json');
if (!existsSync(marker) || statSync(lockJson).mtimeMs > statSync(marker).mtimeMs) {
  say('installing npm dependencies (npm ci)...');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: root,
    stdio: 'inherit',
    // onnxruntime-node: no GPU download in its postinstall (.npmrc says the same for plain npm).
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
  });
  if (r.status !== 0) fail('npm ci failed');
}

// 2b. Settings and config files, before anything starts.
const preflight = spawnSync(process.execPath, ['--import', 'tsx', join('scripts', 'preflight.ts')], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, TP_ROOT: configRoot, STATE_DIR: process.env.STATE_DIR ?? join(dataDir, 'state') },
});
if (preflight.status !== 0) {
  process.stderr.write(`[start] configuration error; nothing was started:\n${preflight.stderr}`);
  process.exit(preflight.status === EXIT_CONFIG ? EXIT_CONFIG : 1);
}

// 2c. The services as plain JavaScript (.build/), compiled when the sources changed.
const runtime = process.env.TP_RUNTIME ?? 'js';
if (runtime !== 'js' && runtime !== 'tsx') {
  process.stderr.write(`[start] TP_RUNTIME: expected js or tsx, found ${JSON.stringify(runtime)}\n`);
  process.exit(EXIT_CONFIG);
}
if (runtime === 'js') {
  try {
    buildServices(say);
  } catch (err) {
    fail(`cannot compile the services: ${err instanceof Error ? err.message : String(err)}`);
  }
}

// 3. Redis.
let redisUrl = process.env.REDIS_URL;
let redisProc;
const redisPortWanted = Number(process.env.EMBEDDED_REDIS_PORT ?? 6379);
if (!redisUrl) {
  if (!hasCommand('redis-server')) {
    if (process.getuid?.() === 0) {
      say('installing redis-server (apt-get)...');
      const u = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
      const i = spawnSync('apt-get', ['install', '-y', '-qq', 'redis-server', 'redis-tools'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      if (u.status !== 0 || i.status !== 0) fail('apt-get install redis-server failed');
    } else {
      fail('redis-server is not installed. Run:\n  sudo apt-get update && sudo apt-get install -y redis-server redis-tools\nor set REDIS_URL to an existing Redis.');
    }
  }
  const port = (await portFree(redisPortWanted)) ? redisPortWanted : await firstFreePort(6390);
  const redisDir = join(dataDir, 'redis');
  mkdirSync(redisDir, { recursive: true });
  // One ACL user per service (scripts/redis-users.ts): users.acl plus <role>.password files, mode 0600, kept across runs.
  const users = spawnSync(process.execPath, ['--import', 'tsx', join('scripts', 'redis-users.ts'), '--dir', aclDir], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, DATA_DIR: dataDir },
  });
  if (users.status !== 0) fail(`could not write the Redis users: ${users.stderr || users.stdout}`);
  // Own process group (detached): Ctrl-C must not stop Redis before the services have finished.
  redisProc = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      redisDir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--logfile',
      join(logsDir, 'redis.log'),
      '--aclfile',
      join(aclDir, 'users.acl'),
    ],
    { stdio: 'ignore', detached: true },
  );
  redisUrl = `redis://127.0.0.1:${port}/0`;
  if (!(await waitFor(() => portOpen(port), 10_000))) fail(`redis-server did not start on port ${port} (see logs/redis.log)`);
  say(`redis-server on port ${port} (AOF on, data in ${redisDir})${port !== 6379 ? ` — use: redis-cli -p ${port}` : ''}`);
  say(`Redis users: one per service, plus operator and admin (passwords in ${aclDir}, mode 0600); a plain redis-cli reads and may PUBLISH param.reload`);
}

// 4. Services.
const webPort = Number(process.env.WEB_PORT ?? 8080);
const metricsBase = Number(process.env.METRICS_PORT_BASE ?? 9101);
const metricsPort = (offset) => (metricsBase === 0 ? 0 : metricsBase + offset);
const services = [
  { name: 'feed', metricsPort: metricsPort(0) },
  { name: 'risk-harmoniser', metricsPort: metricsPort(2) },
  { name: 'executor', metricsPort: metricsPort(3) },
  { name: 'strategist', metricsPort: metricsPort(1) },
  { name: 'web', metricsPort: -1 },
];
// The layout (docs/operations.md, "Layouts"): `split`, one process per service; `single`, the four pipeline services
// in one process (services/pipeline/main.ts) and the web in its own. TP_LAYOUT chooses; by default the one the bench
// measured faster for the machine's cores (docs/benchmarks.md): single up to 2 cores, split above.
const cores = (await import('node:os')).availableParallelism();
const layout = process.env.TP_LAYOUT ?? (cores <= 2 ? 'single' : 'split');
if (layout !== 'single' && layout !== 'split') fail(`TP_LAYOUT: expected single or split, found ${layout}`);
const pipeline = ['executor', 'risk-harmoniser', 'strategist', 'feed'];
const units =
  layout === 'split'
    ? services.map((s) => ({ name: s.name, services: [s] }))
    : [
        { name: 'pipeline', services: pipeline.map((n) => services.find((s) => s.name === n)) },
        { name: 'web', services: [services.find((s) => s.name === 'web')] },
      ];
// Log files rotate by size (rotating-file-stream, classical rotation: <name>.1 is the newest old file);
// logs/ holds at most (1 + services) x LOG_FILE_SIZE x (LOG_FILES + 1), plus redis.log.
const { createStream } = await import('rotating-file-stream');
const logFileSize = process.env.LOG_FILE_SIZE ?? '10M';
const logFilesKept = Number(process.env.LOG_FILES ?? 3);
// In classical rotation the generator gets the rotated file's number (null for the live file).
const logFile = (name) => createStream((n) => (typeof n === 'number' && n > 0 ? `${name}.${n}` : name), { path: logsDir, size: logFileSize, rotate: logFilesKept });
const combined = logFile('trading-system.log');
const serviceLogs = new Map();
let stopping = false;
const running = new Map();

/** A service's name as it appears in variable names: risk-harmoniser → RISK_HARMONISER (as services/core/settings.ts spells it). */
const envName = (service) => service.toUpperCase().replaceAll('-', '_');

/** A service's own settings: its ACL user (embedded Redis) or its own URL (REDIS_URL_<SERVICE>), its /metrics port. */
function serviceSettings(svc) {
  const credentials = redisProc
    ? { REDIS_USERNAME: svc.name, REDIS_PASSWORD_FILE: join(aclDir, `${svc.name}.password`) }
    : { REDIS_URL: process.env[`REDIS_URL_${envName(svc.name)}`] ?? redisUrl };
  return { ...credentials, METRICS_PORT: String(svc.metricsPort) };
}

function startChild(unit) {
  const env = { ...process.env, REDIS_URL: redisUrl, TP_ROOT: configRoot, STATE_DIR: process.env.STATE_DIR ?? join(dataDir, 'state'), WEB_PORT: String(webPort) };
  if (unit.services.length === 1) Object.assign(env, serviceSettings(unit.services[0]));
  else for (const svc of unit.services) for (const [k, v] of Object.entries(serviceSettings(svc))) env[`${envName(svc.name)}__${k}`] = v;
  // The strategist (alone, or in the pipeline process) carries "model_router" on its command line so the runbook's
  // `pkill -SIGHUP -f model_router` finds it.
  const script = unit.name === 'pipeline' ? join('services', 'pipeline', 'main.ts') : join('services', unit.name, 'main.ts');
  const extra = unit.services.some((s) => s.name === 'strategist') ? ['model_router'] : [];
  // The IPC channel is only there to close: a service stops when its supervisor dies.
  const command = runtime === 'js' ? [builtEntry(script)] : ['--import', 'tsx', script];
  const child = spawn(process.execPath, [...command, ...extra], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  for (const svc of unit.services) if (!serviceLogs.has(svc.name)) serviceLogs.set(svc.name, logFile(`${svc.name}.log`));
  // Each line to logs/<service>.log by its "service" field (one process may carry several), all to trading-system.log.
  const ownLog = (line) => {
    const m = unit.services.length === 1 ? undefined : /"service":"([a-z-]+)"/.exec(line);
    return serviceLogs.get(m ? m[1] : unit.services[0].name) ?? serviceLogs.get(unit.services[0].name);
  };
  let lastFatal = '';
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.on('data', (chunk) => {
      combined.write(chunk);
      if (process.env.START_QUIET !== '1') process.stdout.write(chunk);
      const lines = (partial + String(chunk)).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        ownLog(line).write(`${line}\n`);
        if (line.includes('"config_error":true')) lastFatal = line;
      }
    });
  }
  child.on('exit', (code, signal) => {
    running.delete(unit.name);
    if (stopping) return;
    if (code === EXIT_CONFIG) {
      let msg = lastFatal;
      try {
        msg = JSON.parse(lastFatal).msg ?? lastFatal;
      } catch {
        // keep the raw line
      }
      process.stderr.write(`[start] ${unit.name} stopped with a configuration error: ${msg || 'see logs/' + unit.name + '.log'}\n`);
      void shutdown('configuration error', 1);
      return;
    }
    // At once (200 ms) after a crash, so the executors' 3-heartbeat limit is not reached while the new process loads;
    // a process that keeps crashing waits twice as long each time (up to 10 s), reset after a minute of running.
    const ranFor = Date.now() - (unit.startedAt ?? 0);
    unit.delayMs = ranFor > 60_000 || unit.delayMs === undefined ? 200 : Math.min(10_000, unit.delayMs * 2);
    say(`${unit.name} exited (${signal ?? code}); restarting in ${unit.delayMs / 1000} s`);
    setTimeout(() => !stopping && startChild(unit), unit.delayMs).unref();
  });
  running.set(unit.name, child);
  unit.startedAt = Date.now();
}

say(
  `layout: ${layout === 'single' ? 'single (feed, strategist, risk-harmoniser and executor in one process; the web in its own)' : 'split (one process per service)'} on ${cores} core(s); TP_LAYOUT=${layout === 'single' ? 'split' : 'single'} for the other`,
);
for (const unit of units) startChild(unit);
// The lock holds no secret (the URL is redacted) and is readable by its owner only.
const lock = { pid: process.pid, redisPid: redisProc?.pid, redisUrl: redact(redisUrl), webPort, metricsBase, startedAt: new Date().toISOString() };
writeFileSync(lockFile, JSON.stringify(lock), { mode: 0o600 });
chmodSync(lockFile, 0o600);

const ready = await waitFor(async () => {
  if (stopping) return true;
  try {
    const r = await fetch(`http://127.0.0.1:${webPort}/api/ready`);
    return r.status === 200;
  } catch {
    return false;
  }
}, 60_000);
if (!stopping) {
  say(ready ? 'all services ready.' : 'services started but /api/ready is not 200 yet (see logs/).');
  printUrls(lock);
}

// 5. Clean stop: web first, then the data plane, strategy, risk, execution, Redis last.
async function shutdown(signal, exitCode = 0) {
  if (stopping) return;
  stopping = true;
  say(`${signal}: stopping...`);
  for (const name of ['web', 'pipeline', 'feed', 'strategist', 'risk-harmoniser', 'executor']) {
    const child = running.get(name);
    if (!child) continue;
    child.kill('SIGTERM');
    const exited = await waitFor(() => !running.has(name), 15_000);
    if (!exited) child.kill('SIGKILL');
  }
  if (redisProc) {
    redisProc.kill('SIGTERM');
    await waitFor(() => redisProc.exitCode !== null, 10_000);
  }
  rmSync(lockFile, { force: true });
  // The log files get their last lines (each stream finishes its pending writes and rotation first).
  const closing = [combined, ...serviceLogs.values()].map((s) => new Promise((r) => s.end(r)));
  await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, 5_000))]);
  say('stopped.');
  process.exit(exitCode);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

// ---------------------------------------------------------------------------
function printUrls(l) {
  const base = l.metricsBase ?? 9101;
  process.stdout.write(
    [
      '',
      `  dashboard  http://localhost:${l.webPort}/`,
      `  API        http://localhost:${l.webPort}/health  /api/status  /api/ready  /metrics`,
      base === 0
        ? "  metrics    ephemeral ports (each instance's metrics_port is in /api/status)"
        : `  metrics    feed :${base}  strategist :${base + 1}  risk-harmoniser :${base + 2}  executor :${base + 3}  (/metrics)`,
      `  Redis      ${l.redisUrl}`,
      `  logs       ${logsDir}/trading-system.log (all), <service>.log`,
      l.pid === process.pid ? '  stop       Ctrl-C' : `  stop       Ctrl-C where it runs, or: kill -INT ${l.pid}`,
      '',
    ].join('\n'),
  );
}

function fail(msg) {
  process.stderr.write(`[start] ${msg}\n`);
  process.exit(1);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isRedisServer(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server');
  } catch {
    return false;
  }
}

function hasCommand(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function portOpen(port) {
  return new Promise((res) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

async function portFree(port) {
  return !(await portOpen(port));
}

async function firstFreePort(from) {
  for (let p = from; p < from + 100; p++) if (await portFree(p)) return p;
  fail('no free port for redis-server');
}

async function waitFor(check, timeoutMs) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
