/**
 * make test-load DURATION=60s RATE=100rps: load the web API with autocannon
 * at RATE requests/s for DURATION while the pipeline runs (starts the
 * embedded system when none answers), then print latency percentiles and
 * errors. Read-only endpoints: /health, /api/status, /api/ready, /metrics.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '60s' }, rate: { type: 'string', default: '100rps' }, port: { type: 'string', default: process.env['WEB_PORT'] ?? '8080' } },
});
const seconds = Number(/^(\d+)s?$/.exec(values.duration)?.[1]);
const rate = Number(/^(\d+)(rps)?$/.exec(values.rate)?.[1]);
if (!(seconds > 0) || !(rate > 0)) {
  console.error('usage: make test-load DURATION=60s RATE=100rps');
  process.exit(2);
}
const base = `http://127.0.0.1:${values.port}`;
const ready = async (): Promise<boolean> =>
  fetch(`${base}/api/ready`).then(
    (r) => r.ok,
    () => false,
  );

let child: ReturnType<typeof spawn> | undefined;
if (!(await ready())) {
  console.log('starting the embedded system (npm start)...');
  child = spawn(process.execPath, ['scripts/start.mjs'], { env: { ...process.env, START_QUIET: '1' }, stdio: 'ignore' });
  for (let i = 0; i < 240 && !(await ready()); i++) await new Promise((r) => setTimeout(r, 500));
}

const paths = ['/health', '/api/status', '/api/ready', '/metrics'];
const result = await autocannon({
  url: base,
  connections: 10,
  // Exactly rate × seconds requests, paced at `rate` (a duration alone ends early: 431 of 500 at 50 rps for 10 s).
  amount: rate * seconds,
  overallRate: rate,
  requests: paths.map((path) => ({ method: 'GET', path })),
});
const l = result.latency;
console.log(`\nload: ${rate} req/s for ${seconds} s on ${paths.join(', ')} (${rate * seconds} requests wanted, ${result.duration.toFixed(1)} s taken)`);
console.log(`requests ${result.requests.total}, non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts}`);
console.log(`latency ms: p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  max ${l.max}`);
if (child) {
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
}
process.exit(result.errors > 0 || result.non2xx > 0 ? 1 : 0);
