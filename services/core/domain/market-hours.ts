/** Is `ts` (ms) inside market hours: "24x7", or "HH:MM-HH:MM" in UTC on weekdays? Unknown formats count as open. */
export function inMarketHours(marketHours: string, ts: number): boolean {
  if (marketHours === '24x7') return true;
  const m = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(marketHours);
  if (!m) return true;
  const d = new Date(ts);
  const day = d.getUTCDay();
  if (day === 0 || day === 6) return false;
  const minutes = d.getUTCHours() * 60 + d.getUTCMinutes();
  const open = Number(m[1]) * 60 + Number(m[2]);
  const close = Number(m[3]) * 60 + Number(m[4]);
  return minutes >= open && minutes < close;
}
