#!/usr/bin/env node
// npm start: the whole system on one machine, no Docker.
// Installs what is missing (npm dependencies; redis-server via apt-get when
// root), starts its own redis-server with AOF (or uses REDIS_URL), starts the
// five services under a small supervisor (a crashed service is restarted),
// prints the URLs, and stops everything cleanly on Ctrl-C. A second `npm start`
// while one runs prints where the first one is and exits.
// Plain JavaScript on purpose: it must run before `npm ci` has installed tsx.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = join(root, '.data');
const logsDir = join(root, 'logs');
const lockFile = join(dataDir, 'run.lock');
const say = (msg) => process.stdout.write(`[start] ${msg}\n`);

mkdirSync(dataDir, { recursive: true });
mkdirSync(logsDir, { recursive: true });

// 1. One instance at a time.
if (existsSync(lockFile)) {
  try {
    const lock = JSON.parse(readFileSync(lockFile, 'utf8'));
    process.kill(lock.pid, 0);
    say(`already running (pid ${lock.pid}); nothing started.`);
    printUrls(lock);
    process.exit(0);
  } catch {
    rmSync(lockFile, { force: true }); // stale lock
  }
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
  redisProc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--logfile', join(logsDir, 'redis.log')], { stdio: 'ignore' });
  redisUrl = `redis://127.0.0.1:${port}/0`;
  if (!(await waitFor(() => portOpen(port), 10_000))) fail(`redis-server did not start on port ${port} (see logs/redis.log)`);
  say(`redis-server on port ${port} (AOF on, data in .data/redis)${port !== 6379 ? ` — use: redis-cli -p ${port}` : ''}`);
}

// 4. Services.
const webPort = Number(process.env.WEB_PORT ?? 8080);
const services = [
  { name: 'feed', metricsPort: 9101 },
  { name: 'risk-harmoniser', metricsPort: 9103 },
  { name: 'executor', metricsPort: 9104 },
  { name: 'strategist', metricsPort: 9102 },
  { name: 'web', metricsPort: -1 },
];
const combined = createWriteStream(join(logsDir, 'trading-system.log'), { flags: 'a' });
let stopping = false;
const running = new Map();

function startChild(svc) {
  const env = { ...process.env, REDIS_URL: redisUrl, TP_ROOT: root, METRICS_PORT: String(svc.metricsPort), WEB_PORT: String(webPort) };
  // The strategist carries "model_router" on its command line so the runbook's
  // `pkill -SIGHUP -f model_router` finds it.
  const extra = svc.name === 'strategist' ? ['model_router'] : [];
  const child = spawn(process.execPath, ['--import', 'tsx', join('services', svc.name, 'main.ts'), ...extra], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const own = createWriteStream(join(logsDir, `${svc.name}.log`), { flags: 'a' });
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk) => {
      own.write(chunk);
      combined.write(chunk);
      if (process.env.START_QUIET !== '1') process.stdout.write(chunk);
    });
  }
  child.on('exit', (code, signal) => {
    running.delete(svc.name);
    own.end();
    if (stopping) return;
    say(`${svc.name} exited (${signal ?? code}); restarting in 1 s`);
    setTimeout(() => !stopping && startChild(svc), 1_000).unref();
  });
  running.set(svc.name, child);
}

for (const svc of services) startChild(svc);
const lock = { pid: process.pid, redisUrl, webPort, startedAt: new Date().toISOString() };
writeFileSync(lockFile, JSON.stringify(lock));

const ready = await waitFor(async () => {
  try {
    const r = await fetch(`http://127.0.0.1:${webPort}/api/ready`);
    return r.status === 200;
  } catch {
    return false;
  }
}, 60_000);
say(ready ? 'all services ready.' : 'services started but /api/ready is not 200 yet (see logs/).');
printUrls(lock);

// 5. Clean stop: web first, then the data plane, strategy, risk, execution, Redis last.
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  say(`${signal}: stopping...`);
  for (const name of ['web', 'feed', 'strategist', 'risk-harmoniser', 'executor']) {
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
  combined.end();
  say('stopped.');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

// ---------------------------------------------------------------------------
function printUrls(l) {
  process.stdout.write(
    [
      '',
      `  API        http://localhost:${l.webPort}/health  /api/status  /api/ready  /metrics`,
      `  metrics    feed :9101  strategist :9102  risk-harmoniser :9103  executor :9104  (/metrics)`,
      `  Redis      ${l.redisUrl}`,
      `  logs       logs/trading-system.log (all), logs/<service>.log`,
      '  stop       Ctrl-C',
      '',
    ].join('\n'),
  );
}

function fail(msg) {
  process.stderr.write(`[start] ${msg}\n`);
  process.exit(1);
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
