/**
 * The hot-path decoders of strategy_signals and order_intents (messages.ts):
 * whatever the fields, they answer exactly what the zod schemas answer, the
 * same value when valid and the schema's reason when not.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSignal, decodeTarget, decodeWith, encodeSignal, encodeTarget, signalSchema, targetSchema } from '../../services/core/messages.ts';
import { SAMPLE_SIGNAL as SIGNAL, SAMPLE_TARGET as TARGET } from '../support/sample-messages.ts';

/** Texts that sit on the schemas' edges: empty, padded, hex, exponent, negative, zero, fractional, not numbers, bad symbols, bad JSON. */
const EDGY = [
  '',
  ' 5',
  '0x10',
  '1e3',
  '-1',
  '0',
  '1.5',
  'NaN',
  'Infinity',
  'abc',
  'btc-usd',
  'A'.repeat(33),
  'hold',
  'target',
  'sell',
  '[]',
  '{}',
  'null',
  '[{"model":"obi","edge_bps":1,"confidence":null,"horizon_ms":0,"ts":1}]',
  '[{"model":"obi","edge_bps":1,"confidence":null,"horizon_ms":1,"ts":1,"x":1}]',
  '[{"model":"","edge_bps":1,"confidence":0.5,"horizon_ms":1,"ts":1}]',
  '[{"model":"obi","edge_bps":"1","confidence":0.5,"horizon_ms":1,"ts":1}]',
  '[{"model":"obi","edge_bps":1,"horizon_ms":1,"ts":1}]',
  '[null]',
  '{"model":"obi"}',
  '[',
];

/** Mutations of a valid message's fields: a field set to an edgy text, removed, or an extra field added. */
function mutated(fields: readonly string[]): fc.Arbitrary<string[]> {
  const names = fields.filter((_, i) => i % 2 === 0);
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), name: fc.constantFrom(...names), value: fc.oneof(fc.constantFrom(...EDGY), fc.string()) }),
    fc.record({ kind: fc.constant('drop' as const), name: fc.constantFrom(...names), value: fc.constant('') }),
    fc.record({ kind: fc.constant('add' as const), name: fc.constantFrom('extra', 'Symbol', 'note'), value: fc.string() }),
  );
  return fc.array(edit, { maxLength: 3 }).map((edits) => {
    const out = [...fields];
    for (const e of edits) {
      const at = out.findIndex((v, i) => i % 2 === 0 && v === e.name);
      if (e.kind === 'set' && at >= 0) out[at + 1] = e.value;
      else if (e.kind === 'drop' && at >= 0) out.splice(at, 2);
      else if (e.kind === 'add') out.push(e.name, e.value);
    }
    return out;
  });
}

describe('hot-path decoding', () => {
  it('decodes a valid signal and target to what the schemas give', () => {
    expect(decodeSignal(encodeSignal(SIGNAL))).toEqual({ ok: true, value: SIGNAL });
    expect(decodeTarget(encodeTarget(TARGET))).toEqual({ ok: true, value: TARGET });
    // Defaults, as the schemas fill them.
    const bare = encodeTarget(TARGET).filter((_, i, a) => !['action', 'cost_bps'].includes(a[i - (i % 2)]!));
    expect(decodeTarget(bare)).toEqual(decodeWith(targetSchema, bare));
    expect(decodeTarget(bare)).toMatchObject({ ok: true, value: { action: 'target', cost_bps: 0 } });
  });

  it('answers exactly what the signal schema answers, whatever the fields', () => {
    fc.assert(
      fc.property(mutated(encodeSignal(SIGNAL)), (raw) => {
        expect(decodeSignal(raw)).toEqual(decodeWith(signalSchema, raw));
      }),
      { numRuns: 3_000 },
    );
  });

  it('answers exactly what the target schema answers, whatever the fields', () => {
    fc.assert(
      fc.property(mutated(encodeTarget(TARGET)), (raw) => {
        expect(decodeTarget(raw)).toEqual(decodeWith(targetSchema, raw));
      }),
      { numRuns: 3_000 },
    );
  });
});
