import { describe, expect, it } from 'vitest';
import { TxRecorder } from '../../services/core/redis/batch-commit.ts';
import { StateMemo } from '../../services/core/state-memo.ts';

describe('StateMemo: decoded state kept between batches', () => {
  const counting = (): { decode: (raw: string | null | undefined) => { n: number }; calls: () => number } => {
    let calls = 0;
    return {
      decode: (raw) => {
        calls++;
        return raw ? (JSON.parse(raw) as { n: number }) : { n: 0 };
      },
      calls: () => calls,
    };
  };

  it('gives back the object a committed batch kept, for the string it wrote, without decoding', () => {
    const memo = new StateMemo<{ n: number }>();
    const d = counting();
    const st = memo.take('k', '{"n":1}', d.decode);
    st.n = 2;
    const json = JSON.stringify(st);
    memo.keep('k', json, st);
    expect(memo.take('k', json, d.decode)).toBe(st);
    expect(d.calls()).toBe(1);
  });

  it('decodes when Redis holds another string (another replica committed, or a conflict refreshed it)', () => {
    const memo = new StateMemo<{ n: number }>();
    const d = counting();
    const st = { n: 2 };
    memo.keep('k', '{"n":2}', st);
    const other = memo.take('k', '{"n":5}', d.decode);
    expect(other).not.toBe(st);
    expect(other.n).toBe(5);
    expect(d.calls()).toBe(1);
  });

  it('a taken object is not given out again until it is kept: a batch that did not commit leaves its changes behind', () => {
    const memo = new StateMemo<{ n: number }>();
    const d = counting();
    const st = { n: 2 };
    memo.keep('k', '{"n":2}', st);
    const first = memo.take('k', '{"n":2}', d.decode);
    first.n = 99; // changed by a batch whose commit then conflicted: no keep
    const retry = memo.take('k', '{"n":2}', d.decode);
    expect(retry).not.toBe(first);
    expect(retry.n).toBe(2);
    expect(d.calls()).toBe(1);
  });

  it('keeps nothing for a missing key, and stays bounded', () => {
    const memo = new StateMemo<{ n: number }>(2);
    memo.keep('a', null, { n: 1 });
    memo.keep('b', undefined, { n: 1 });
    expect(memo.size).toBe(0);
    memo.keep('a', '{"n":1}', { n: 1 });
    memo.keep('b', '{"n":1}', { n: 1 });
    memo.keep('c', '{"n":1}', { n: 1 });
    expect(memo.size).toBeLessThanOrEqual(2);
  });

  it('write: the JSON goes into the batch, and the object is kept only when the commit is through', () => {
    const memo = new StateMemo<{ n: number }>();
    const tx = new TxRecorder();
    const after: (() => void)[] = [];
    const st = { n: 3 };
    memo.write({ tx, afterCommit: (fn) => after.push(fn) }, 'k', st);
    expect(tx.commands).toEqual([['SET', 'k', '{"n":3}']]);
    expect(memo.size).toBe(0);
    for (const fn of after) fn();
    expect(memo.take('k', '{"n":3}', () => ({ n: -1 }))).toBe(st);
  });
});
