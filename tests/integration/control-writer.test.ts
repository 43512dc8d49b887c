/**
 * The one writer of the control plane on real Redis: each change is applied
 * once, is announced on control.events with its past-tense event, and is
 * logged with the same line whichever path made it (the API, the command
 * line, the executor's safety monitor, SIGHUP to a strategist).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readControl } from '../../services/core/control/read.ts';
import { ControlWriter } from '../../services/core/control/write.ts';
import { createLogger } from '../../services/core/log.ts';
import { connectRedis } from '../../services/core/redis/connect.ts';
import { startExecutor } from '../../services/executor/service.ts';
import { startStrategist } from '../../services/strategist/service.ts';
import { ROOT, type TestEnv, captureLog, createTestEnv, eventually, startTestWeb } from '../support/system.ts';

let env: TestEnv;
beforeAll(() => {
  env = createTestEnv(inject('redisUrl'), 'writer');
});
afterAll(async () => {
  await env.close();
});

describe('the control writer', () => {
  it('applies each move once, publishes its event, logs its line; a repeat changes nothing', async () => {
    const log = captureLog();
    const writer = new ControlWriter({
      redis: env.redis,
      keys: env.keys,
      log: createLogger('test', 't', 'info', log.destination),
      clock: { now: () => Date.now() },
      auditFile: `/tmp/tp-writer-${process.pid}.jsonl`,
    });
    const sub = connectRedis({ url: env.url, name: 'sub' });
    const events: string[] = [];
    sub.on('message', (_c: string, m: string) => events.push((JSON.parse(m) as { event: string }).event));
    await sub.subscribe(env.keys.controlEvents);
    try {
      expect((await writer.killSwitch('engage', { reason: 'drill', by: 'ops', trigger: 'manual' })).kind).toBe('moved');
      expect((await writer.killSwitch('engage', { reason: 'again', by: 'ops', trigger: 'manual' })).kind).toBe('stayed');
      expect(await writer.killSwitch('reset', { reason: 'done', by: 'ops', trigger: 'manual', requireSecondOperator: true })).toEqual({
        kind: 'refused',
        reason: 'reset needs a second operator: ops engaged it',
      });
      expect((await writer.killSwitch('reset', { reason: 'done', by: 'lead', trigger: 'manual', requireSecondOperator: true })).kind).toBe('moved');
      expect((await writer.trading({ kind: 'stop', state: 'REDUCING' }, { reason: 'desk review', by: 'ops' })).kind).toBe('moved');
      expect((await writer.trading({ kind: 'reduce_first' }, { reason: 'dd', by: 'auto', trigger: 'drawdown_reduce_first' })).kind).toBe('stayed');
      expect((await writer.scope('symbol:BTC-USD', { kind: 'kill' }, { reason: 'bad prints', by: 'ops' })).kind).toBe('moved');
      expect((await writer.scope('symbol:BTC-USD', { kind: 'start' }, { reason: 'x', by: 'ops' })).kind).toBe('refused');
      expect((await writer.router(true, { reason: 'storm', by: 'ops' })).kind).toBe('moved');
      expect((await writer.kellyOverride(0.1, { reason: 'VaR breach', by: 'ops' })).kind).toBe('moved');
      expect((await writer.kellyOverride(null, { reason: 'calm', by: 'ops' })).kind).toBe('moved');
      await eventually(() => events.length >= 7, 5_000, 'seven events');
      expect(events).toEqual(['KillSwitchEngaged', 'KillSwitchReset', 'TradingStopped', 'KillSwitchEngaged', 'RouterPaused', 'KellyOverridden', 'KellyOverrideCleared']);
    } finally {
      sub.disconnect();
    }
    expect(log.lines.map((l) => [l['event'], l['msg']])).toEqual([
      ['kill_switch.engaged', 'Kill-switch activated: manual (drill)'],
      ['kill_switch.reset', 'Kill-switch reset: system (done)'],
      ['trading.stopped', 'Trading REDUCING for system: only position-reducing orders (desk review)'],
      ['kill_switch.engaged', 'Kill-switch activated: manual (bad prints) [symbol:BTC-USD]'],
      ['router.paused', 'Model router paused (storm)'],
      ['risk.emergency_reduce', 'Kelly fraction lowered to 0.1: VaR breach'],
      ['risk.kelly_override_cleared', 'Kelly override cleared (calm)'],
    ]);
    const c = await readControl(env.redis, env.keys, Date.now());
    expect(c).toMatchObject({ killSwitch: { engaged: false, reason: '' }, trading: { state: 'REDUCING' }, router: { paused: true }, kellyOverride: null });
    expect(Object.keys(c.scoped)).toEqual(['symbol:BTC-USD']);
  });

  it('two writers racing on the same move: one moves, the other finds it done', async () => {
    const e = createTestEnv(inject('redisUrl'), 'writer-race');
    try {
      const mk = () =>
        new ControlWriter({
          redis: connectRedis({ url: e.url, name: 'w' }),
          keys: e.keys,
          log: createLogger('t', 't', 'silent'),
          clock: { now: () => Date.now() },
          auditFile: `/tmp/tp-race-${process.pid}.jsonl`,
        });
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => mk().killSwitch('engage', { reason: 'race', by: 'auto', trigger: 'pnl_floor' })));
      expect(outcomes.filter((o) => o.kind === 'moved')).toHaveLength(1);
      expect(await e.redis.xlen(e.keys.killSwitchAudit)).toBe(1);
    } finally {
      await e.close();
    }
  });
});

describe('every path logs the same line', () => {
  it('the API, the command line, the safety monitor and SIGHUP', async () => {
    const e = createTestEnv(inject('redisUrl'), 'paths', { SAFETY_INTERVAL_MS: '100', LOG_LEVEL: 'info' });
    try {
      const webLog = captureLog();
      let base = '';
      base = (await startTestWeb(e, 'web-p', { settings: { REQUIRED_SERVICES: 'none' }, logDestination: webLog.destination })).base;
      await fetch(`${base}/admin/kill-switch`, { method: 'POST', body: '{"reason": "api drill"}' });
      expect(webLog.lines.find((l) => l['event'] === 'kill_switch.engaged')?.['msg']).toBe('Kill-switch activated: manual (api drill)');
      const reset = await fetch(`${base}/admin/kill-switch`, { method: 'DELETE', body: '{"reason": "api drill over"}' });
      expect(await reset.json()).toMatchObject({ engaged: false });
      expect(webLog.lines.find((l) => l['event'] === 'kill_switch.reset')?.['msg']).toBe('Kill-switch reset: system (api drill over)');

      const cli = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/kill.ts', '--reason', 'cli drill'], {
        cwd: ROOT,
        env: { ...process.env, REDIS_URL: e.url, TP_NAMESPACE: e.ns, LOG_LEVEL: 'info' },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      expect(cli).toContain('Kill-switch activated: manual (cli drill)');
      await fetch(`${base}/admin/kill-switch`, { method: 'DELETE', body: '{"reason": "cli drill over"}' });

      const execLog = captureLog();
      await e.start('executor', startExecutor, 'exec-p', { logDestination: execLog.destination });
      await e.redis.hset(e.keys.marketDataSeen, 'BTC-USD', String(Date.now() - 61_000));
      const auto = await eventually(() => execLog.lines.find((l) => l['event'] === 'kill_switch.engaged'), 10_000, 'the automatic engage');
      expect(auto['msg']).toMatch(/^Kill-switch activated: ws_stale_60s \(market data for BTC-USD stale for \d+ ms \(> 60000 ms\)\)$/);

      const stratLog = captureLog();
      await e.start('strategist', startStrategist, 'strat-p', { logDestination: stratLog.destination });
      process.emit('SIGHUP');
      const paused = await eventually(() => stratLog.lines.find((l) => l['event'] === 'router.paused'), 5_000, 'the SIGHUP pause');
      expect(paused['msg']).toBe('Model router paused (SIGHUP)');
    } finally {
      await e.close();
    }
  });
});
