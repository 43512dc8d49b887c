/**
 * A private copy of the project's config folders (root YAML, conf/, models/)
 * in a temp dir, for tests that edit files and reload them. Point services
 * at it with TP_ROOT.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './system.ts';

export interface ProjectEdits {
  rules?: (text: string) => string;
  risk?: (text: string) => string;
  instruments?: (text: string) => string;
}

/** An instruments edit that adds these symbols to the universe (crypto if "-USD", else a US stock), with synthetic blocks only for the shipped ones. */
export function withSymbols(symbols: readonly string[]): (text: string) => string {
  return (text) => {
    const extra = symbols
      .filter((s) => !new RegExp(`\\n    ${s.replace(/[.-]/g, '\\$&')}:`).test(text))
      .map((s) =>
        s.endsWith('-USD')
          ? `    ${s}: { asset_class: crypto, tick_size: 0.01, lot_size: 0.0001 }`
          : `    ${s}: { asset_class: us_stock, tick_size: 0.01, lot_size: 1, market_hours: "13:30-20:00" }`,
      )
      .join('\n');
    return extra ? text.replace('  symbols:\n', `  symbols:\n${extra}\n`) : text;
  };
}

export function makeProjectDir(label: string, edits: ProjectEdits = {}): string {
  const dir = mkdtempSync(join(tmpdir(), `tp-${label}-`));
  cpSync(join(ROOT, 'conf'), join(dir, 'conf'), { recursive: true });
  cpSync(join(ROOT, 'models'), join(dir, 'models'), { recursive: true, filter: (src) => !src.endsWith('.ts') });
  const rules = readFileSync(join(ROOT, 'model_router_rules.yml'), 'utf8');
  writeFileSync(join(dir, 'model_router_rules.yml'), edits.rules ? edits.rules(rules) : rules);
  if (edits.risk) writeFileSync(join(dir, 'conf/risk_params.yml'), edits.risk(readFileSync(join(dir, 'conf/risk_params.yml'), 'utf8')));
  if (edits.instruments) writeFileSync(join(dir, 'conf/instruments.yml'), edits.instruments(readFileSync(join(dir, 'conf/instruments.yml'), 'utf8')));
  return dir;
}

/** A risk edit: trade every target, whether or not its edge pays the round trip (the book before cost awareness). */
export const tradeEveryEdge = (text: string): string => text.replace('cost_aware: true', 'cost_aware: false');

let activeBook: string | undefined;
/**
 * A project whose book trades on every edge (cost_aware: false): on the
 * synthetic market the shipped models' edges (about 1 bps) never pay the
 * round trip (about 11 bps), so with the default configuration nothing
 * trades; tests of the order flow use this one. One per test file.
 */
export function activeBookRoot(): string {
  activeBook ??= makeProjectDir('active-book', { risk: tradeEveryEdge });
  return activeBook;
}
