/**
 * Every transition of the shared circuit breaker, made by the services
 * themselves against real Redis: VaR over its threshold (risk-harmoniser),
 * order latency over its limit and the venue error rate (executor) open it;
 * HALF_OPEN closes after a probation that passes, or reopens on a failed
 * test order; HALF_OPEN test orders run one at a time across two replicas.
 * Each transition is in the events stream with its cause and counted.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { readControl } from '../../services/core/control/read.ts';
import { setBreakerState } from '../support/control.ts';
import { transitionFor } from '../../services/core/domain/breaker.ts';
import { encodeTarget, fieldsFromArray } from '../../services/core/messages.ts';
import { encodeTick } from '../../services/core/domain/market-data.ts';
import { applyBreakerTransition, releaseProbe, reserveProbe } from '../../services/core/redis/breaker-scripts.ts';
import type { ServiceHandle } from '../../services/core/service.ts';
import { startExecutor } from '../../services/executor/service.ts';
import { startFeed } from '../../services/feed/service.ts';
import { startRiskHarmoniser } from '../../services/risk-harmoniser/service.ts';
import { startStrategist } from '../../services/strategist/service.ts';
import type { Order } from '../../services/executor/domain/order-lifecycle.ts';
import { orders } from '../support/orders.ts';
import { makeProjectDir, withSymbols } from '../support/project-dir.ts';
import { type TestEnv, afterProbationChecks, createTestEnv, eventually, everyInstanceSees, testTarget } from '../support/system.ts';

let env: TestEnv | undefined;

/** Run with these settings and this breaker config, in a universe with the test's symbols. */
function withProject(label: string, breaker: Record<string, number>, vars: Record<string, string> = {}): TestEnv {
  const dir = makeProjectDir(label, {
    risk: (text) => {
      let out = text;
      for (const [k, v] of Object.entries(breaker)) {
        const re = new RegExp(`(\\n\\s+${k}: )[^\\s#]+`);
        if (!re.test(out)) throw new Error(`risk_params.yml has no ${k}`);
        out = out.replace(re, `$1${v}`);
      }
      return out;
    },
    instruments: withSymbols(SYMBOLS),
  });
  env = createTestEnv(inject('redisUrl'), label, { TP_ROOT: dir, ...vars });
  return env;
}

afterEach(async () => {
  await env?.close();
  env = undefined;
});

const SYMBOLS = ['BTC-USD', 'ETH-USD', 'SOL-USD', 'AAPL', 'MSFT', 'NVDA'];

async function quotes(e: TestEnv): Promise<void> {
  const now = Date.now();
  for (const s of SYMBOLS) {
    await e.redis.hset(e.keys.lastTick(s), ...encodeTick({ symbol: s, ts: now, bid: 99.5, ask: 100.5, bid_size: 1, ask_size: 1, last: 100, volume: 1 }));
    await e.redis.hset(e.keys.marketDataSeen, s, String(now));
  }
}

let seq = 0;
async function target(e: TestEnv, symbol: string, usd: number): Promise<void> {
  const now = Date.now();
  await e.redis.xadd(e.keys.orderIntents, '*', ...encodeTarget(testTarget({ symbol, target_usd: usd, price: 100, signal_id: `${++seq}-0`, ts: now })));
}

/** Orders that reached a terminal state. */
async function settled(e: TestEnv): Promise<Order[]> {
  return (await orders(e)).filter((o) => ['FILLED', 'CANCELLED', 'REJECTED', 'EXPIRED'].includes(o.state));
}

async function reports(e: TestEnv, n: number): Promise<Record<string, string>[]> {
  return eventually(
    async () => {
      const r = ((await e.redis.xrange(e.keys.execReports, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
      return r.length >= n ? r : undefined;
    },
    15_000,
    `${n} exec reports`,
  );
}

async function events(e: TestEnv): Promise<Record<string, string>[]> {
  return ((await e.redis.xrange(e.keys.breakerEvents, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
}

async function breakerBecomes(e: TestEnv, state: string, timeoutMs = 15_000): Promise<Record<string, string>> {
  return eventually(
    async () => {
      const last = (await events(e)).at(-1);
      return last?.['state'] === state ? last : undefined;
    },
    timeoutMs,
    `breaker ${state}`,
  );
}

async function transitionsCounted(h: ServiceHandle, to: string, trigger: string): Promise<number> {
  const text = await h.ctx.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith('circuit_breaker_transitions_total{') && l.includes(`to="${to}"`) && l.includes(`trigger="${trigger}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** The instance counts a transition when Redis has answered, just after the event is visible: wait for it. */
async function countedOnce(h: ServiceHandle, to: string, trigger: string): Promise<void> {
  await eventually(async () => (await transitionsCounted(h, to, trigger)) > 0, 5_000, `${to} ${trigger} counted`);
  expect(await transitionsCounted(h, to, trigger)).toBe(1);
}

describe('circuit breaker transitions', () => {
  it('portfolio VaR above var_threshold_pct opens it (risk-harmoniser)', async () => {
    const e = withProject('brk-var', {});
    // Sizing keeps the book at its budget (1.2 %); a market move takes it past the breaker:
    // here a position whose VaR the market has already pushed to 3 %.
    await e.redis.hset(e.keys.varContributions, 'SOL-USD', '3');
    const risk = await e.start('risk-harmoniser', startRiskHarmoniser, 'risk-a');
    await e.start('strategist', startStrategist, 'strat-a');
    await e.start('feed', (ctx) => startFeed(ctx, { rate: 400, seed: 3, maxTicks: 4_000, streamMaxLen: 100_000 }));
    const open = await breakerBecomes(e, 'OPEN', 30_000);
    expect(open).toMatchObject({ from: 'CLOSED', by: 'risk-a' });
    expect(open['cause']).toMatch(/^var_breach: portfolio VaR [\d.]+%$/);
    await countedOnce(risk, 'OPEN', 'var_breach');
    expect((await readControl(e.redis, e.keys, Date.now())).breaker.state).toBe('OPEN');
  });

  it.each([
    [
      'mean order latency over latency_threshold_ms',
      'brk-lat',
      { latency_threshold_ms: 20, latency_window: 3 },
      { PAPER_LATENCY_MS: '40' },
      3,
      /^order_latency: mean [\d.]+ ms over 3 orders > 20 ms$/,
      'order_latency',
    ],
    [
      "a venue error rate over opossum's threshold",
      'brk-err',
      { volume_threshold: 3, error_threshold_percentage: 50 },
      { PAPER_FAIL_RATE: '1' },
      4,
      /^venue_errors: error rate over 50%/,
      'venue_errors',
    ],
  ] as const)('%s opens it (executor)', async (_what, label, breaker, vars, orders, cause, trigger) => {
    const e = withProject(label, breaker, vars);
    const exec = await e.start('executor', startExecutor, 'exec-a');
    await quotes(e);
    for (let i = 0; i < orders; i++) {
      await target(e, SYMBOLS[i]!, 500);
      await reports(e, i + 1);
    }
    const open = await breakerBecomes(e, 'OPEN');
    expect(open['cause']).toMatch(cause);
    await countedOnce(exec, 'OPEN', trigger);
  });

  it('HALF_OPEN closes after a probation that passes, once across two replicas', async () => {
    const e = withProject('brk-prob', { probation_ms: 300 });
    const a = await e.start('executor', startExecutor, 'exec-a');
    const b = await e.start('executor', startExecutor, 'exec-b');
    await setBreakerState(e.redis, e.keys, 'OPEN', 'drill', 'test', Date.now());
    const reset = await applyBreakerTransition(e.redis, e.keys, transitionFor({ kind: 'operator_reset', reason: 'drill over' }), 'alice', Date.now());
    expect(reset).toEqual({ moved: true, previous: 'OPEN' });
    const closed = await breakerBecomes(e, 'CLOSED', 5_000);
    expect(closed).toMatchObject({ from: 'HALF_OPEN', cause: 'probation passed' });
    await afterProbationChecks(e.handles, 3); // both replicas' probation checks have run again
    expect((await events(e)).map((x) => x['state'])).toEqual(['OPEN', 'HALF_OPEN', 'CLOSED']);
    expect((await transitionsCounted(a, 'CLOSED', 'probation_passed')) + (await transitionsCounted(b, 'CLOSED', 'probation_passed'))).toBe(1);
  });

  it('a failed HALF_OPEN test order reopens it, and probation cannot close the new OPEN', async () => {
    const e = withProject('brk-fail', { probation_ms: 2_000 }, { PAPER_FAIL_RATE: '1' });
    const exec = await e.start('executor', startExecutor, 'exec-a');
    await quotes(e);
    await setBreakerState(e.redis, e.keys, 'OPEN', 'drill', 'test', Date.now());
    await applyBreakerTransition(e.redis, e.keys, transitionFor({ kind: 'operator_reset', reason: 'try again' }), 'alice', Date.now());
    await everyInstanceSees(e.handles, (s) => s.breaker.state === 'HALF_OPEN', 'HALF_OPEN');
    await target(e, 'BTC-USD', 500);
    const [r] = await reports(e, 1);
    expect(r).toMatchObject({ status: 'REJECTED' });
    const open = await breakerBecomes(e, 'OPEN');
    expect(open).toMatchObject({ from: 'HALF_OPEN', by: 'exec-a' });
    expect(open['cause']).toMatch(/^half_open_failure: venue error: simulated venue outage/);
    await countedOnce(exec, 'OPEN', 'half_open_failure');
    // The old episode's probation (2 s) has passed and the probation check has run since: the new OPEN holds.
    const pastProbation = Date.now() + 2_000;
    await eventually(() => Date.now() > pastProbation, 5_000, 'the old probation over');
    await afterProbationChecks(e.handles, 2);
    expect((await readControl(e.redis, e.keys, Date.now())).breaker.state).toBe('OPEN');
  });

  it('HALF_OPEN test orders run one at a time across two replicas, within the count cap', async () => {
    const e = withProject('brk-probe', { half_open_max_orders: 3, probation_ms: 60_000 }, { PAPER_LATENCY_MS: '60' });
    await e.start('executor', startExecutor, 'exec-a');
    await e.start('executor', startExecutor, 'exec-b');
    await quotes(e);
    await setBreakerState(e.redis, e.keys, 'HALF_OPEN', 'drill', 'test', Date.now());
    await everyInstanceSees(e.handles, (s) => s.breaker.state === 'HALF_OPEN', 'HALF_OPEN');
    // One target every 10 ms: while one replica's test order is at the venue (60 ms), the other gets the next.
    for (let i = 0; i < 12; i++) {
      await target(e, SYMBOLS[i % SYMBOLS.length]!, 500 * (i + 1));
      await new Promise((r) => setTimeout(r, 10));
    }
    await eventually(async () => (await settled(e)).length >= 12, 15_000, 'the burst settled');
    // Then one at a time, until the cap: 3 test orders in all, whatever the burst used.
    for (let i = 0; i < 4; i++) {
      const before = (await settled(e)).length;
      await target(e, SYMBOLS[i]!, 100 * (i + 1));
      await eventually(async () => (await settled(e)).length > before, 15_000, `test order ${i + 1} settled`);
    }
    const all = (await settled(e)).filter((o) => !o.reason.startsWith('superseded'));
    const sent = all.filter((o) => o.filledQty > 0);
    expect(sent).toHaveLength(3);
    expect(sent.every((o) => o.probe)).toBe(true);
    // No two test orders were at the venue at once: [submitted, accepted] intervals are disjoint.
    const spans = sent.map((o) => [o.submittedAt, o.acceptedAt] as const).sort((p, q) => p[0] - q[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1] - 1);
    const denied = all.filter((o) => o.state === 'REJECTED').map((o) => o.reason);
    expect(denied.some((r) => r.includes('another test order is in flight'))).toBe(true);
    expect(denied.some((r) => r.includes('3 test orders used'))).toBe(true);
    expect(denied.every((r) => r.startsWith('circuit breaker HALF_OPEN'))).toBe(true);
    expect(Number(await e.redis.get(e.keys.breakerHalfOpenOrders))).toBe(3);
  });

  it('replicas follow a transition at once and still follow the hash when its sequence restarts (hash deleted by hand)', async () => {
    const e = withProject('brk-seq', {});
    const exec = await e.start('executor', startExecutor, 'exec-a');
    const gauge = async (): Promise<number> =>
      Number(
        (await exec.ctx.registry.metrics())
          .split('\n')
          .find((l) => l.startsWith('executor_circuit_breaker_state'))
          ?.split(' ')
          .at(-1),
      );
    for (const [state, code] of [
      ['OPEN', 2],
      ['HALF_OPEN', 1],
      ['OPEN', 2],
    ] as const) {
      await setBreakerState(e.redis, e.keys, state, 'drill', 'test', Date.now());
      await eventually(async () => (await gauge()) === code, 5_000, `gauge ${code}`);
    }
    expect(await e.redis.hget(e.keys.breaker, 'seq')).toBe('3');
    await e.redis.del(e.keys.breaker);
    await setBreakerState(e.redis, e.keys, 'CLOSED', 'fresh start', 'test', Date.now()); // seq 1 again
    await eventually(async () => (await gauge()) === 0, 5_000, 'CLOSED after the reset of seq');
  });

  it('the probe lease: one owner at a time, idempotent for its owner, capped, and only in the episode it was taken in', async () => {
    const e = withProject('brk-lease', {});
    const at = Date.now();
    await setBreakerState(e.redis, e.keys, 'HALF_OPEN', 'drill', 'test', at);
    const take = (owner: string, enteredAt = at) => reserveProbe(e.redis, e.keys, { enteredAt, maxOrders: 2, owner, ttlMs: 5_000 });
    expect(await take('A')).toEqual({ ok: true, orders: 1 });
    expect(await take('B')).toEqual({ ok: false, why: 'busy' });
    expect(await take('A')).toEqual({ ok: true, orders: 1 });
    await releaseProbe(e.redis, e.keys, 'B'); // not the holder: no effect
    expect(await take('B')).toEqual({ ok: false, why: 'busy' });
    await releaseProbe(e.redis, e.keys, 'A');
    expect(await take('B')).toEqual({ ok: true, orders: 2 });
    await releaseProbe(e.redis, e.keys, 'B');
    expect(await take('C')).toEqual({ ok: false, why: 'cap' });
    expect(await take('C', at - 1)).toEqual({ ok: false, why: 'not_half_open' });
    // A probation move for an older episode does nothing.
    const stale = await applyBreakerTransition(e.redis, e.keys, transitionFor({ kind: 'probation_passed' }), 'test', Date.now(), at - 1);
    expect(stale).toEqual({ moved: false, previous: 'HALF_OPEN' });
    // A reset when not OPEN is refused.
    expect((await applyBreakerTransition(e.redis, e.keys, transitionFor({ kind: 'operator_reset', reason: 'x' }), 'bob', Date.now())).moved).toBe(false);
  });
});
