/**
 * Kills and stops scoped to one symbol or one model, enforced by two executor
 * replicas: the scope stops exactly what it names and nothing else,
 * /api/status and GET /admin/kill-switch name the scope and the trigger, a
 * stopped scope cannot be restarted while it is killed, and a misspelt scope
 * is refused.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fieldsFromArray } from '../../services/core/messages.ts';
import { startExecutor } from '../../services/executor/service.ts';
import { sendTarget, settledOrder, setQuotes } from '../support/orders.ts';
import { type TestEnv, createTestEnv, everyInstanceSees, startTestWeb } from '../support/system.ts';

let env: TestEnv;
let base = '';

const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
  const res = await fetch(`${base}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  env = createTestEnv(inject('redisUrl'), 'scoped');
  await setQuotes(env, { 'BTC-USD': 65_000, 'ETH-USD': 3_000 });
  await env.start('executor', startExecutor, 'exec-a');
  await env.start('executor', startExecutor, 'exec-b');
  base = (await startTestWeb(env, undefined, { settings: { REQUIRED_SERVICES: 'none' } })).base;
});

afterAll(async () => {
  await env.close();
});

let seq = 0;
/**
 * Send one target; what came of it: the order it made, once settled (its
 * state as `status`), or the executor's report when it made none (a denial).
 */
async function order(symbol: string, usd: number, model: string): Promise<Record<string, string>> {
  const price = symbol === 'BTC-USD' ? 65_000 : 3_000;
  const before = await env.redis.xlen(env.keys.execReports);
  const id = await sendTarget(env, { symbol, target_usd: usd, price, model, signal_id: `${++seq}-0` });
  const o = await settledOrder(env, id);
  if (o) return { status: o.state, reason: o.reason, side: o.side, client_order_id: o.clientOrderId };
  const r = ((await env.redis.xrange(env.keys.execReports, '-', '+')) as [string, string[]][]).slice(before).map(([, f]) => fieldsFromArray(f));
  return r.at(-1) ?? { status: 'NONE' };
}

/** Wait until every instance's control snapshot shows `scope` as `want` (undefined: no control on it). */
const settled = (scope: string, want: 'HALTED' | 'REDUCING' | undefined): Promise<void> =>
  everyInstanceSees(env.handles, (s) => s.scoped[scope]?.state === want, `${scope} ${want ?? 'cleared'}`);

describe('scoped kills and stops', () => {
  it('a kill on one symbol halts that symbol on both replicas and nothing else', async () => {
    expect((await order('BTC-USD', 65_000, 'obi')).status).toBe('FILLED'); // +1 BTC
    const k = await call('POST', '/admin/kill-switch', { reason: 'bad prints on BTC', operator: 'alice', scope: 'symbol:BTC-USD' });
    expect(k).toMatchObject({ status: 200, json: { engaged: true, scope: 'symbol:BTC-USD' } });
    await settled('symbol:BTC-USD', 'HALTED');
    // Increasing and reducing alike: a halted scope admits no order at all, and says so once (no flood).
    const reportsBefore = await env.redis.xlen(env.keys.execReports);
    expect(await order('BTC-USD', 0, 'obi')).toMatchObject({ status: 'REJECTED', reason: 'symbol:BTC-USD halted (kill): bad prints on BTC' });
    for (let i = 0; i < 3; i++) expect(await order('BTC-USD', i % 2 ? 0 : 130_000, 'obi')).toMatchObject({ status: 'NONE' });
    expect(await env.redis.xlen(env.keys.execReports)).toBe(reportsBefore + 1);
    expect(await env.redis.zcard(env.keys.ordersBySymbol('BTC-USD'))).toBe(1);
    expect((await order('ETH-USD', 30_000, 'obi')).status).toBe('FILLED');

    const ks = await call('GET', '/admin/kill-switch');
    expect(ks.json).toMatchObject({
      engaged: false,
      scope: 'system',
      scoped: [{ scope: 'symbol:BTC-USD', state: 'HALTED', kind: 'kill', by: 'alice', trigger: 'manual', reason: 'bad prints on BTC' }],
    });
    const status = await call('GET', '/api/status');
    expect(status.json['trading']).toMatchObject({ state: 'ACTIVE', scope: 'system', scoped: [{ scope: 'symbol:BTC-USD', state: 'HALTED', trigger: 'manual' }] });
  });

  it('a killed scope cannot be restarted by start-trading; the kill-switch reset frees it', async () => {
    const start = await call('POST', '/api/start-trading', { scope: 'symbol:BTC-USD', operator: 'bob' });
    expect(start.status).toBe(409);
    expect(String(start.json['error'])).toContain('symbol:BTC-USD is killed');
    const reset = await call('DELETE', '/admin/kill-switch', { reason: 'feed fixed', operator: 'bob', scope: 'symbol:BTC-USD' });
    expect(reset).toMatchObject({ status: 200, json: { engaged: false, scope: 'symbol:BTC-USD' } });
    await settled('symbol:BTC-USD', undefined);
    expect((await order('BTC-USD', 130_000, 'obi')).status).toBe('FILLED');
    const audit = ((await env.redis.xrange(env.keys.killSwitchAudit, '-', '+')) as [string, string[]][]).map(([, f]) => [f[1], fieldsFromArray(f)['scope']]);
    expect(audit).toEqual([
      ['engage', 'symbol:BTC-USD'],
      ['reset', 'symbol:BTC-USD'],
    ]);
  });

  it('a REDUCING stop on one model admits only reducing orders from that model', async () => {
    const stop = await call('POST', '/api/stop-trading', { scope: 'model:obi', state: 'REDUCING', reason: 'model review', operator: 'carol' });
    expect(stop).toMatchObject({ status: 200, json: { trading: 'REDUCING', scope: 'model:obi' } });
    await settled('model:obi', 'REDUCING');
    // BTC position is 2 after the previous tests.
    expect(await order('BTC-USD', 260_000, 'obi')).toMatchObject({ status: 'REJECTED', reason: 'model:obi REDUCING: only position-reducing orders' });
    expect(await order('BTC-USD', 65_000, 'obi')).toMatchObject({ status: 'FILLED', side: 'SELL' });
    expect(await order('ETH-USD', 60_000, 'momentum')).toMatchObject({ status: 'FILLED', side: 'BUY' });
    const status = await call('GET', '/api/status');
    expect(status.json['trading']).toMatchObject({ scoped: [{ scope: 'model:obi', state: 'REDUCING', kind: 'stop', trigger: 'stop-trading', by: 'carol' }] });

    expect(await call('POST', '/api/start-trading', { scope: 'model:obi' })).toMatchObject({ status: 200, json: { scope: 'model:obi', scoped: [] } });
    await settled('model:obi', undefined);
    expect((await order('BTC-USD', 130_000, 'obi')).status).toBe('FILLED');
  });

  it('refuses LIVE while the executors trade on the paper venue, saying what LIVE needs', async () => {
    const r = await call('POST', '/api/execution-mode', { mode: 'LIVE', operator: 'ops' });
    expect(r.status).toBe(409);
    expect(String(r.json['error'])).toMatch(
      /^LIVE needs a live venue: no executor runs one \(start them with VENUE=binance, VENUE_API_KEY, VENUE_API_SECRET and LIVE_TRADING_CONFIRM=/,
    );
  });

  it('refuses a scope that names nothing this system trades, or is malformed', async () => {
    const sym = await call('POST', '/admin/kill-switch', { reason: 'typo', scope: 'symbol:BTCUSD' });
    expect(sym.status).toBe(400);
    expect(sym.json['error']).toBe('unknown symbol BTCUSD: not in the tradable universe (AAPL, BTC-USD, ETH-USD) and no state in Redis');
    const model = await call('POST', '/api/stop-trading', { scope: 'model:momo-1' });
    expect(model.status).toBe(400);
    expect(String(model.json['error'])).toMatch(/^unknown model momo-1 \(models in model_router_rules\.yml: .*momentum/);
    const bad = await call('POST', '/admin/kill-switch', { reason: 'x', scope: 'desk:rates' });
    expect(bad).toMatchObject({ status: 400, json: { error: 'scope "desk:rates" is not one of: system, symbol:<SYMBOL>, model:<name>, strategy:<name>' } });
    expect(await env.redis.hlen(env.keys.scopedControls)).toBe(0);
  });
});
