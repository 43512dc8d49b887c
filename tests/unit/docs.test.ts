/** The docs stay true: every log event the services emit is listed in docs/operations.md. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

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
