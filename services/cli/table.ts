/** Plain-text tables for the CLI: a header, aligned columns, nothing else. */
export interface Column {
  key: string;
  /** Right-aligned (numbers). */
  right?: boolean;
}

export function formatTable(rows: readonly Record<string, unknown>[], columns: readonly Column[]): string {
  if (rows.length === 0) return '(none)';
  const cell = (v: unknown): string =>
    v === null || v === undefined ? '' : typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  const cells = rows.map((r) => columns.map((c) => cell(r[c.key])));
  const widths = columns.map((c, i) => Math.max(c.key.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]): string =>
    values
      .map((v, i) => (columns[i]!.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.key)), ...cells.map(line)].join('\n');
}

export function printTable(rows: readonly Record<string, unknown>[], columns: readonly Column[]): void {
  console.log(formatTable(rows, columns));
}
