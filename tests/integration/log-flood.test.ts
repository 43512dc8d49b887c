/**
 * Bounded logs: 100,000 malformed ticks (an attacker, or a broken feed,
 * writing to market_events) cost a bounded number of log lines, while every
 * one of them is still dead-lettered and counted, and other events are
 * still logged whole during the flood.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startStrategist } from '../../services/strategist/service.ts';
import { type TestEnv, captureLog, createTestEnv, eventually } from '../support/system.ts';
import type { ServiceHandle } from '../../services/core/service.ts';

let env: TestEnv;
let strategist: ServiceHandle;
const log = captureLog();
const FLOOD = 100_000;

beforeAll(async () => {
  // The budget as deployed (20 lines per event per 10 s), logging at info.
  env = createTestEnv(inject('redisUrl'), 'log-flood', { LOG_LEVEL: 'info' });
  strategist = await env.start('strategist', startStrategist, 'strat-flood', { logDestination: log.destination });
}, 60_000);
afterAll(async () => {
  await env.close();
});

const deadLettered = async (): Promise<number> =>
  (await strategist.ctx.registry.getSingleMetric('stream_entries_dead_lettered_total')!.get()).values.reduce((s, v) => s + v.value, 0);

describe('a flood of bad ticks', () => {
  it('100,000 malformed ticks: each dead-lettered and counted, the log bounded, other events logged whole', { timeout: 180_000 }, async () => {
    const started = Date.now();
    for (let i = 0; i < FLOOD; i += 5_000) {
      const pipe = env.redis.pipeline();
      for (let j = i; j < i + 5_000; j++) pipe.xadd(env.keys.marketEvents, '*', 'symbol', 'BTC-USD', 'ts', 'yesterday', 'bid', `0x${j.toString(16)}`);
      await pipe.exec();
      // Mid-flood, an operator's kill: its line must not be held back by the flood's budget.
      if (i === 50_000) await strategist.ctx.writer.killSwitch('engage', { reason: 'flood drill', by: 'ops', trigger: 'manual', requireSecondOperator: false });
    }
    await eventually(async () => (await deadLettered()) >= FLOOD, 150_000, 'every bad tick dead-lettered');
    const seconds = (Date.now() - started) / 1000;
    expect(await deadLettered()).toBe(FLOOD);
    expect(await env.redis.xlen(env.keys.deadLetter)).toBeGreaterThanOrEqual(FLOOD * 0.99); // MAXLEN ~ 100,000 trims by whole nodes

    const flood = (): Record<string, unknown>[] => log.lines.filter((l) => l['event'] === 'stream.dead_lettered');
    const summaries = (): Record<string, unknown>[] => log.lines.filter((l) => l['event'] === 'log.suppressed' && l['suppressed_event'] === 'stream.dead_lettered');
    // Every bad tick is in the log, whole or counted in a summary (the last window's summary comes when the window ends).
    await eventually(() => flood().length + summaries().reduce((s, l) => s + Number(l['count']), 0) === FLOOD, 30_000, 'every line accounted for');
    // At most 20 whole lines per 10 s window, plus one summary per window.
    const windows = Math.ceil(seconds / 10) + 1;
    expect(flood().length).toBeLessThanOrEqual(20 * windows);
    expect(summaries().length).toBeLessThanOrEqual(windows);
    expect(log.lines.length).toBeLessThan(500);
    expect(log.lines.some((l) => l['event'] === 'kill_switch.engaged')).toBe(true);
    console.info(
      `log flood: ${FLOOD} bad ticks in ${seconds.toFixed(1)} s -> ${flood().length} dead-letter lines + ${summaries().length} summaries, ${log.lines.length} lines in all`,
    );
  });
});
