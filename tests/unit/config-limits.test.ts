/** What a reload may cost and reach: size limits, bounded error reports, real paths, the VaR budget's place, the universe file. */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRiskParams, MAX_CONFIG_BYTES, readConfigText } from '../../services/core/config/load.ts';
import { MAX_REPORTED_ERRORS, parseInstruments, parseRiskParams, parseRouterRules } from '../../services/core/config/parse.ts';
import { MAX_STORED_REASON, parseReloadPayload } from '../../services/core/config/reloader.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const risk = readFileSync(join(ROOT, 'conf/risk_params.yml'), 'utf8');
const rules = readFileSync(join(ROOT, 'model_router_rules.yml'), 'utf8');

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tp-limits-'));
  mkdirSync(join(dir, 'conf'));
  writeFileSync(join(dir, 'conf/risk_params.yml'), risk);
  return dir;
}

describe('config file limits', () => {
  it('refuses a file over the size limit before reading it', async () => {
    const dir = project();
    writeFileSync(join(dir, 'conf/big.yml'), `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n${risk}`);
    const r = await readConfigText('conf/big.yml', dir);
    expect(r).toEqual({
      ok: false,
      reason: `conf/big.yml: file is ${MAX_CONFIG_BYTES + 3 + Buffer.byteLength(risk)} bytes, over the ${MAX_CONFIG_BYTES}-byte limit for config files (nothing was read)`,
    });
  });

  it('reads a file exactly, whatever its size: empty, multi-byte text, exactly at the limit', async () => {
    const dir = project();
    const atLimit = `# ${'é'.repeat((MAX_CONFIG_BYTES - 4) / 2)}x\n`;
    expect(Buffer.byteLength(atLimit)).toBe(MAX_CONFIG_BYTES);
    for (const text of ['', `# prix: 1 € — ok\n${risk}`, atLimit]) {
      writeFileSync(join(dir, 'conf/exact.yml'), text);
      expect(await readConfigText('conf/exact.yml', dir)).toEqual({ ok: true, text });
    }
  });

  it('refuses a symlink in conf/ that points outside the project, and follows one that stays inside', async () => {
    const dir = project();
    const outside = mkdtempSync(join(tmpdir(), 'tp-outside-'));
    writeFileSync(join(outside, 'evil.yml'), risk.replace('kelly_fraction: 0.25', 'kelly_fraction: 1'));
    symlinkSync(join(outside, 'evil.yml'), join(dir, 'conf/linked.yml'));
    const r = await loadRiskParams('conf/linked.yml', dir);
    expect(r).toMatchObject({ ok: false, reason: 'config_path "conf/linked.yml" is a link to a file outside the project\'s config folders' });
    symlinkSync(join(dir, 'conf/risk_params.yml'), join(dir, 'conf/alias.yml'));
    expect((await loadRiskParams('conf/alias.yml', dir)).ok).toBe(true);
  });

  it('reports at most a bounded number of problems, however many the file has', () => {
    const bad = (n: number) => Array.from({ length: n }, (_, i) => `    - { match: { asset_class: "x${i}", horizon_ms: "<<${i}" }, model: nope${i}, priority: "p" }`).join('\n');
    // 20,000 invalid rules (the file that took 130 s to refuse): one problem, the count.
    const huge = parseRouterRules(rules.replace(/\n {2}rules:\n/, `\n  rules:\n${bad(20_000)}\n`));
    expect(huge.ok ? [] : huge.errors).toEqual([expect.stringMatching(/model_router\.rules: Too big: expected array to have <=500 items$/)]);
    // 450 rules with a problem each: the first MAX_REPORTED_ERRORS, then how many more.
    const r = parseRouterRules(rules.replace(/\n {2}rules:\n/, `\n  rules:\n${bad(450)}\n`));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors).toHaveLength(MAX_REPORTED_ERRORS + 1);
      expect(r.errors.at(-1)).toMatch(/: 4\d\d more problem\(s\) not listed$/);
    }
  });

  it('refuses more rules than the router takes', () => {
    const many = Array.from({ length: 501 }, (_, i) => `    - { match: { asset_class: "class${i}" }, model: momentum, priority: ${i} }`).join('\n');
    const r = parseRouterRules(rules.replace(/\n {2}rules:\n/, `\n  rules:\n${many}\n`));
    expect(r.ok ? '' : r.reason).toMatch(/model_router\.rules: Too big: expected array to have <=500 items/);
  });

  it('refuses a reload payload over its size limit unread, and bounds what an outcome stores', () => {
    const r = parseReloadPayload(JSON.stringify({ component: 'risk_harmoniser', config_path: 'x'.repeat(1_000_000) }));
    expect(r).toEqual({ ok: false, reason: 'payload is 1000048 bytes, over the 4096-byte limit (not read)' });
    const long = parseReloadPayload(JSON.stringify({ component: 'risk_harmoniser', config_path: 'y'.repeat(600) }));
    expect(long.ok ? '' : long.reason).toContain('config_path');
    expect(MAX_STORED_REASON).toBeLessThanOrEqual(1_000);
  });
});

describe('the VaR budget', () => {
  it('sits below the reload block, the guard and the breaker, or the file is refused', () => {
    const at = (v: string) => parseRiskParams(risk.replace('var_budget_pct: 1.2', `var_budget_pct: ${v}`));
    expect(at('1.2').ok).toBe(true);
    const r = at('1.6');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toEqual([expect.stringMatching(/risk_harmoniser\.risk_limits\.var_budget_pct: must be below reload_block_var_pct \(1\.5\), found 1\.6$/)]);
    const r2 = at('2');
    expect(r2.ok ? [] : r2.errors).toHaveLength(2);
  });
});

describe('the tradable universe file', () => {
  const shipped = readFileSync(join(ROOT, 'conf/instruments.yml'), 'utf8');
  it('accepts the shipped conf/instruments.yml', () => {
    const r = parseInstruments(shipped);
    expect(r.ok && Object.keys(r.config.symbols).sort()).toEqual(['AAPL', 'BTC-USD', 'ETH-USD']);
  });
  it.each([
    ['a lower-case symbol', (t: string) => t.replace('    AAPL:', '    aapl:'), 'symbol must be 1-32 chars'],
    ['an unknown field', (t: string) => t.replace('exchange: PAPER', 'exchang: PAPER'), 'Unrecognized key: "exchang"'],
    ['bad market hours', (t: string) => t.replace('"13:30-20:00"', '"9am-5pm"'), 'market_hours: must be "24x7" or "HH:MM-HH:MM" (UTC)'],
    ['a band of zero', (t: string) => t.replace('price_band_pct: 5', 'price_band_pct: 0'), 'price_band_pct'],
  ])('refuses %s', (_what, edit, reason) => {
    const r = parseInstruments(edit(shipped));
    expect(r.ok ? '' : r.reason).toContain(reason);
  });
});
