/** A symbol's position as stored (exec:position:<symbol>), read through its codec. */
import { decodeStored, positionCodec } from '../core/redis/codecs.ts';
import type { PositionState } from './domain/decide-order.ts';

/** The stored position (no key: flat), or why it cannot be read: then nothing may be traded on it. */
export function readPosition(raw: string | null | undefined, key: string): { ok: true; position: PositionState } | { ok: false; reason: string } {
  if (raw === null || raw === undefined) return { ok: true, position: { qty: 0, avgPrice: 0, realizedPnl: 0 } };
  const d = decodeStored(positionCodec, key, raw);
  if (!d.ok) return d;
  return { ok: true, position: { qty: d.value.qty, avgPrice: d.value.avg_price, realizedPnl: d.value.realized_pnl, feesUsd: d.value.fees_usd ?? 0 } };
}
