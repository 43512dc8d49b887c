/**
 * CSV tick replay. Header required; columns (any order):
 * symbol,ts,bid,ask,bid_size,ask_size,last,volume   (ts in ms since epoch)
 * Rows that fail validation are reported with their line number, not sent.
 */
import type { MarketTick } from './synthetic-market.ts';

export const CSV_COLUMNS = ['symbol', 'ts', 'bid', 'ask', 'bid_size', 'ask_size', 'last', 'volume'] as const;

export type CsvRow = { ok: true; line: number; tick: MarketTick } | { ok: false; line: number; reason: string };

export function parseTickCsv(text: string): { ok: true; rows: CsvRow[] } | { ok: false; reason: string } {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const missing = CSV_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length > 0) return { ok: false, reason: `CSV header line 1 lacks column(s): ${missing.join(', ')}` };
  const idx = Object.fromEntries(CSV_COLUMNS.map((c) => [c, header.indexOf(c)])) as Record<(typeof CSV_COLUMNS)[number], number>;
  const rows: CsvRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    const cells = raw.split(',').map((c) => c.trim());
    const num = (c: (typeof CSV_COLUMNS)[number]): number => Number(cells[idx[c]]);
    const tick: MarketTick = {
      symbol: cells[idx.symbol] ?? '',
      ts: num('ts'),
      bid: num('bid'),
      ask: num('ask'),
      bid_size: num('bid_size'),
      ask_size: num('ask_size'),
      last: num('last'),
      volume: num('volume'),
    };
    const bad = CSV_COLUMNS.filter((c) => c !== 'symbol' && !Number.isFinite(tick[c]));
    if (!tick.symbol) rows.push({ ok: false, line: i + 1, reason: 'empty symbol' });
    else if (bad.length > 0) rows.push({ ok: false, line: i + 1, reason: `not a number: ${bad.join(', ')}` });
    else rows.push({ ok: true, line: i + 1, tick });
  }
  return { ok: true, rows };
}
