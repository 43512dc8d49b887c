import { describe, expect, it } from 'vitest';
import { parseRouterRules } from '../../services/core/config/parse.ts';
import { explainRoute, matchRoute } from '../../services/core/domain/route-rules.ts';
import { readFileSync } from 'node:fs';

const shipped = readFileSync(new URL('../../model_router_rules.yml', import.meta.url), 'utf8');

function compile(text: string) {
  const r = parseRouterRules(text);
  if (!r.ok) throw new Error(r.reason);
  return r.config.compiled;
}

const RULES = `model_router:
  default_model: m_default
  models:
    m_default: { kind: builtin, alpha: momentum }
    m_fast: { kind: builtin, alpha: obi }
    m_mid: { kind: builtin, alpha: momentum }
    m_stock: { kind: builtin, alpha: mean_reversion }
    m_tie_a: { kind: builtin, alpha: obi }
    m_tie_b: { kind: builtin, alpha: obi }
  rules:
    - match: { asset_class: "crypto*", horizon_ms: "<60000" }
      model: m_fast
      priority: 10
    - match: { asset_class: "crypto*", horizon_ms: ">=60000 & <7200000" }
      model: m_mid
      priority: 20
    - match: { asset_class: "*stock*", horizon_ms: "*" }
      model: m_stock
      priority: 5
    - match: { asset_class: "fx", horizon_ms: "<1000" }
      model: m_tie_a
      priority: 50
    - match: { asset_class: "fx", horizon_ms: "<2000" }
      model: m_tie_b
      priority: 50
  confidence_thresholds: { min_confidence: 0.5, switch_hysteresis: 0.05 }
`;

describe('rule matching', () => {
  const compiled = compile(RULES);
  it.each([
    ['crypto', 1_000, 'm_fast', 0],
    ['crypto_perp', 59_999, 'm_fast', 0],
    ['crypto', 60_000, 'm_mid', 1],
    ['crypto', 7_200_000, 'm_default', -1],
    ['us_stock', 5, 'm_stock', 2],
    ['stock', 10_000_000, 'm_stock', 2],
    ['fx', 500, 'm_tie_a', 3],
    ['fx', 1_500, 'm_tie_b', 4],
    ['commodity', 10, 'm_default', -1],
  ])('%s at %d ms routes to %s (rule %d)', (assetClass, horizon, model, ruleIndex) => {
    const d = matchRoute(compiled, assetClass, horizon);
    expect(d.model).toBe(model);
    expect(d.ruleIndex).toBe(ruleIndex);
  });

  it('lower priority wins over file order', () => {
    const d = matchRoute(compiled, 'us_stock', 10);
    expect(d.rule?.priority).toBe(5);
  });

  it('equal priorities are broken by file order', () => {
    expect(matchRoute(compiled, 'fx', 100).model).toBe('m_tie_a');
  });

  it('returns the same decision object for the same rule (no allocation per call)', () => {
    expect(matchRoute(compiled, 'crypto', 1)).toBe(matchRoute(compiled, 'crypto', 2));
  });

  it('explains why a rule won', () => {
    const d = matchRoute(compiled, 'crypto', 1_000);
    expect(explainRoute(d, 'crypto', 1_000)).toContain('rule 0');
    expect(explainRoute(matchRoute(compiled, 'x', 1), 'x', 1)).toContain('default_model');
  });

  it("a rule falls back to its own default_model, else the file's", () => {
    const c = compile(RULES.replace('      model: m_mid\n', '      model: m_mid\n      default_model: m_fast\n'));
    expect(matchRoute(c, 'crypto', 60_000).fallback).toBe('m_fast');
    expect(matchRoute(c, 'crypto', 1_000).fallback).toBe('m_default');
    expect(matchRoute(c, 'commodity', 1).fallback).toBe('m_default');
    const bad = parseRouterRules(RULES.replace('      model: m_mid\n', '      model: m_mid\n      default_model: nope\n'));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.reason).toMatch(/rules\.1\.default_model: unknown model "nope"/);
  });

  it('the shipped model_router_rules.yml is valid and routes crypto short horizons to obi', () => {
    const c = compile(shipped);
    expect(matchRoute(c, 'crypto', 30_000).model).toBe('obi');
    expect(matchRoute(c, 'crypto', 120_000).model).toBe('momentum');
    expect(matchRoute(c, 'us_stock', 30_000).model).toBe('mean_reversion');
  });
});

describe('rule validation', () => {
  it('rejects an unknown model, naming the line and field', () => {
    const r = parseRouterRules(RULES.replace('model: m_mid', 'model: nope'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/model_router_rules\.yml:\d+: model_router\.rules\.1\.model: unknown model "nope"/);
  });

  it('rejects a bad horizon expression with its line', () => {
    const r = parseRouterRules(RULES.replace('">=60000 & <7200000"', '">=sixty"'));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toContain('rules.1.match.horizon_ms');
      const line = RULES.split('\n').findIndex((l) => l.includes('>=60000 & <7200000')) + 1;
      expect(r.reason).toContain(`model_router_rules.yml:${line}:`);
    }
  });

  it('rejects a rule that can never match because a winning rule covers it', () => {
    const text = RULES.replace('priority: 50\n    - match: { asset_class: "fx", horizon_ms: "<2000" }', 'priority: 50\n    - match: { asset_class: "fx", horizon_ms: "<500" }');
    const r = parseRouterRules(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain('rule 4 can never match: rule 3');
  });

  it('rejects unknown fields and invalid YAML', () => {
    const r1 = parseRouterRules(RULES.replace('confidence_thresholds:', 'confidense_thresholds:'));
    expect(r1.ok).toBe(false);
    const r2 = parseRouterRules(RULES + '\n  rules: [\n');
    expect(r2.ok).toBe(false);
    if (!r2.ok) expect(r2.reason).toContain('invalid YAML');
  });
});
