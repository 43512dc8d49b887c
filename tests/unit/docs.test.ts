/** The docs stay true: every log event the services emit is listed in docs/operations.md. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS_DOC } from '../../services/core/settings.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []));
}

describe('docs/operations.md', () => {
  it('lists every log event the services emit', () => {
    const emitted = new Set<string>();
    for (const file of sources(join(ROOT, 'services'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/event: ([^,}]+)/g)) {
        for (const name of m[1]!.matchAll(/'([a-z_]+\.[a-z_.]+)'/g)) emitted.add(name[1]!);
      }
    }
    expect(emitted.size).toBeGreaterThan(40);
    const doc = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    expect([...emitted].filter((e) => !doc.includes(`\`${e}\``)).sort()).toEqual([]);
  });
});

describe('README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  it('lists every setting a service reads, and every variable npm start reads', () => {
    const start = readFileSync(join(ROOT, 'scripts', 'start.mjs'), 'utf8');
    const startVars = [...new Set([...start.matchAll(/process\.env\.([A-Z_]+)/g)].map((m) => m[1]!))];
    expect(startVars.length).toBeGreaterThan(5);
    const missing = [...Object.keys(SETTINGS_DOC), ...startVars].filter((v) => !readme.includes(`| \`${v}\` |`));
    expect(missing).toEqual([]);
  });

  it("does not claim the runbook's XREAD with BLOCK after STREAMS works as written", () => {
    const row = readme.split('\n').find((l) => l.includes('XREAD STREAMS model.switch.log'));
    expect(row).toContain('ERR Invalid stream ID');
    expect(row).toContain('XREAD BLOCK 30000 STREAMS model.switch.log');
  });
});
