/**
 * npm run bench:dashboard: from a change in Redis to the dashboard showing it.
 * A redis-server and a web of their own (no other service), Debian's
 * Chromium on the page; a position written to Redis at random moments, timed
 * until the page's cell shows it (goal: ≤ 1 s). Writes
 * bench/results/dashboard.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { startService } from '../services/core/service.ts';
import { settingsFrom } from '../services/core/settings.ts';
import { startWeb } from '../services/web/service.ts';
import { startRedis } from '../tests/support/redis-server.ts';

const SAMPLES = Number(process.argv[2] ?? 50);
const root = resolve(import.meta.dirname, '..');
const redis = await startRedis();
let port = 0;
const web = await startService(
  'web',
  async (ctx) => {
    const w = await startWeb(ctx);
    port = w.port;
    return w;
  },
  { settings: settingsFrom({ TP_ROOT: root, WEB_PORT: '0', LOG_LEVEL: 'error', REQUIRED_SERVICES: 'none' }), redisUrl: redis.url, namespace: 'bench-dash:', metricsPort: -1 },
);
const browser = await chromium.launch({ executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => document.querySelector('[data-testid="live"]')?.textContent?.startsWith('live'));
  const key = web.ctx.keys.position('BTC-USD');
  const ms: number[] = [];
  for (let i = 1; i <= SAMPLES; i++) {
    const qty = (0.5 + i / 10_000).toFixed(4);
    await new Promise((r) => setTimeout(r, 200 + Math.random() * 600));
    const t0 = performance.now();
    await web.ctx.redis.set(key, JSON.stringify({ symbol: 'BTC-USD', qty: Number(qty), avg_price: 65_000, realized_pnl: 0, fees_usd: 0, updated_at: Date.now() }));
    await page.waitForFunction((q) => document.querySelector('[data-testid="qty-BTC-USD"]')?.textContent === q, qty, { polling: 5, timeout: 10_000 });
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const q = (p: number): number => Math.round(ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!);
  const result = { samples: ms.length, p50_ms: q(0.5), p95_ms: q(0.95), max_ms: Math.round(ms.at(-1)!), goal_ms: 1_000, met: ms.at(-1)! <= 1_000, at: new Date().toISOString() };
  console.log(
    `Redis change -> dashboard: p50 ${result.p50_ms} ms, p95 ${result.p95_ms} ms, max ${result.max_ms} ms over ${result.samples} changes (goal <= 1000 ms: ${result.met ? 'met' : 'MISSED'})`,
  );
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', 'dashboard.json'), JSON.stringify(result, null, 2) + '\n');
} finally {
  await browser.close();
  await web.stop();
  await redis.stop();
}
