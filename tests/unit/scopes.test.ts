import { describe, expect, it } from 'vitest';
import { controlFor, parseScope, parseScopedControls, type ScopedControl } from '../../services/core/domain/scopes.ts';
import { assessSymbol, initialRiskState, kellyInEffect } from '../../services/risk-harmoniser/domain/assess-symbol.ts';
import { btcSignal, projectRiskConfig } from '../support/risk.ts';

const entry = (patch: Partial<ScopedControl> = {}): ScopedControl => ({ state: 'HALTED', kind: 'kill', reason: 'r', by: 'a', at: 1, trigger: 'manual', ...patch });

describe('scope text', () => {
  it('parses system, symbol, model and strategy (an alias of model)', () => {
    expect(parseScope(undefined)).toEqual({ ok: true, scope: { kind: 'system' }, key: 'system' });
    expect(parseScope(' system ')).toMatchObject({ ok: true, key: 'system' });
    expect(parseScope('symbol:BTC-USD')).toEqual({ ok: true, scope: { kind: 'symbol', symbol: 'BTC-USD' }, key: 'symbol:BTC-USD' });
    expect(parseScope('model:mean_reversion')).toEqual({ ok: true, scope: { kind: 'model', model: 'mean_reversion' }, key: 'model:mean_reversion' });
    expect(parseScope('strategy:momentum')).toMatchObject({ ok: true, key: 'model:momentum' });
  });

  it('names what is wrong with a bad scope', () => {
    expect(parseScope('symbol:btc usd')).toEqual({ ok: false, reason: 'scope "symbol:btc usd": symbol must be 1-32 chars of A-Z, 0-9, ".", "_" or "-"' });
    expect(parseScope('model:')).toMatchObject({ ok: false });
    expect(parseScope('BTC-USD')).toMatchObject({ ok: false, reason: expect.stringContaining('is not one of') as unknown });
  });
});

describe('scoped controls', () => {
  it('apply by symbol or by model, the strictest first', () => {
    const scoped = { 'symbol:BTC-USD': entry({ state: 'REDUCING' }), 'model:obi': entry() };
    expect(controlFor(scoped, 'BTC-USD', 'momentum')).toMatchObject({ scope: 'symbol:BTC-USD', control: { state: 'REDUCING' } });
    expect(controlFor(scoped, 'BTC-USD', 'obi')).toMatchObject({ scope: 'model:obi', control: { state: 'HALTED' } });
    expect(controlFor(scoped, 'ETH-USD', 'momentum')).toBeUndefined();
  });

  it('an unreadable entry counts as HALTED (fail closed)', () => {
    expect(parseScopedControls({ 'symbol:BTC-USD': '{oops' })['symbol:BTC-USD']).toMatchObject({ state: 'HALTED', kind: 'kill' });
    expect(parseScopedControls({ 'model:obi': JSON.stringify(entry({ state: 'REDUCING', kind: 'stop' })) })['model:obi']).toEqual(entry({ state: 'REDUCING', kind: 'stop' }));
  });
});

describe('risk harmoniser under a model-scoped control', () => {
  it("drops the stopped model's edge from the blend", () => {
    const cfg = projectRiskConfig();
    const now = Date.now();
    const signal = btcSignal(now, [
      { model: 'obi', edge_bps: 8, confidence: 0.9 },
      { model: 'momentum', edge_bps: -2, confidence: 0.8 },
    ]);
    const kelly = kellyInEffect(cfg, null, 0);
    const both = assessSymbol(initialRiskState(cfg), [signal], cfg, kelly, now);
    const without = assessSymbol(initialRiskState(cfg), [signal], cfg, kelly, now, { excludedModels: new Set(['obi']) });
    expect(both.blend.components.map((c) => c.model).sort()).toEqual(['momentum', 'obi']);
    expect(without.blend.components.map((c) => c.model)).toEqual(['momentum']);
    expect(without.blend.edgeBps).toBeLessThan(0);
    expect(both.blend.edgeBps).toBeGreaterThan(0);
  });
});
