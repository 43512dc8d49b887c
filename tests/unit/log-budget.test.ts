import { describe, expect, it } from 'vitest';
import { LogBudget } from '../../services/core/domain/log-budget.ts';

describe('the log budget for repeated events', () => {
  it('writes the first `burst` lines of a window, counts the rest and sums them up once', () => {
    const b = new LogBudget(3, 1_000);
    const writes = Array.from({ length: 10 }, (_, i) => b.admit('warn:stream.dead_lettered', 100 + i).write);
    expect(writes).toEqual([true, true, true, false, false, false, false, false, false, false]);
    // The next window: its first line is written, with the previous window's summary.
    expect(b.admit('warn:stream.dead_lettered', 1_200)).toEqual({ write: true, flushed: { key: 'warn:stream.dead_lettered', count: 7, windowStart: 100 } });
  });

  it('keys are independent: a flood of one event does not hold back another', () => {
    const b = new LogBudget(1, 1_000);
    b.admit('warn:stream.dead_lettered', 0);
    expect(b.admit('warn:stream.dead_lettered', 1).write).toBe(false);
    expect(b.admit('error:kill_switch.engaged', 2).write).toBe(true);
  });

  it('a flood of 100,000 lines in 10 s costs at most (burst + 1) lines per window', () => {
    const b = new LogBudget(20, 1_000);
    let lines = 0;
    for (let i = 0; i < 100_000; i++) {
      const r = b.admit('warn:x.y', i / 10);
      if (r.write) lines++;
      if (r.flushed) lines++;
    }
    lines += b.due(1e9).length;
    expect(lines).toBeLessThanOrEqual(10 * 21 + 1);
    expect(lines).toBeGreaterThanOrEqual(10 * 20);
  });

  it('due() tells the windows that ended, once', () => {
    const b = new LogBudget(1, 1_000);
    b.admit('k', 0);
    b.admit('k', 1);
    expect(b.due(500)).toEqual([]);
    expect(b.due(1_000)).toEqual([{ key: 'k', count: 1, windowStart: 0 }]);
    expect(b.due(5_000)).toEqual([]);
  });
});
