import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blendEdges, type BlendParams, type EdgeInput } from '../../services/core/domain/blend-edges.ts';

const P: BlendParams = {
  decayFactors: { a: 0, b: Math.log(2) }, // weights 1 and 0.5
  defaultDecayFactor: 0,
  defaultConfidence: 0.5,
  minConfidence: 0.1,
  maxModels: 4,
  priorEdgeBps: 0,
  shrinkageStrength: 0,
  maxAbsEdgeBps: 10_000,
  switchPenaltyMultiplier: 0.5,
  switchPenaltyMs: 60_000,
};
const CTX = { activeModel: 'none', activeSince: 0, now: 1_000_000 };

describe('edge blending (hand-computed vectors)', () => {
  it('weights by exp(-λ)·confidence', () => {
    // a: w=1, c=0.8 → 0.8 ; b: w=0.5, c=0.8 → 0.4 ; E = (0.8·10 + 0.4·(−20)) / 1.2 = 0
    const r = blendEdges(
      [
        { model: 'a', edgeBps: 10, confidence: 0.8 },
        { model: 'b', edgeBps: -20, confidence: 0.8 },
      ],
      P,
      CTX,
    );
    expect(r.ok).toBe(true);
    expect(r.edgeBps).toBeCloseTo(0, 12);
    expect(r.components.map((c) => c.finalWeight)).toEqual([expect.closeTo(2 / 3, 12), expect.closeTo(1 / 3, 12)]);
  });

  it('uses default_confidence for a model that gives none', () => {
    const r = blendEdges(
      [
        { model: 'a', edgeBps: 10, confidence: null },
        { model: 'c', edgeBps: 40, confidence: 1 },
      ],
      P,
      CTX,
    );
    // a: 1·0.5=0.5 ; c: 1·1=1 → (5 + 40) / 1.5 = 30
    expect(r.edgeBps).toBeCloseTo(30, 12);
  });

  it('shrinks toward the prior in proportion to the evidence', () => {
    const p = { ...P, priorEdgeBps: 2, shrinkageStrength: 0.5 };
    const r = blendEdges([{ model: 'a', edgeBps: 10, confidence: 0.5 }], p, CTX);
    // S = 0.5, E = 10 → (0.5·10 + 0.5·2)/(1.0) = 6
    expect(r.rawEdgeBps).toBeCloseTo(10, 12);
    expect(r.edgeBps).toBeCloseTo(6, 12);
  });

  it('rejects insane edges and confidences, and leaves out low confidence', () => {
    const r = blendEdges(
      [
        { model: 'a', edgeBps: 20_000, confidence: 0.9 },
        { model: 'b', edgeBps: Number.NaN, confidence: 0.9 },
        { model: 'c', edgeBps: 5, confidence: 1.5 },
        { model: 'd', edgeBps: 5, confidence: 0.05 },
        { model: 'e', edgeBps: 7, confidence: 0.9 },
      ],
      P,
      CTX,
    );
    expect(r.edgeBps).toBeCloseTo(7, 12);
    expect(r.components.filter((c) => c.excluded).map((c) => c.model)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('keeps only the strongest max_models_to_blend', () => {
    const r = blendEdges(
      [
        { model: 'a', edgeBps: 10, confidence: 0.9 },
        { model: 'x', edgeBps: 100, confidence: 0.2 },
      ],
      { ...P, maxModels: 1 },
      CTX,
    );
    expect(r.edgeBps).toBeCloseTo(10, 12);
    expect(r.components[1]!.excluded).toContain('max_models_to_blend');
  });

  it('penalises the confidence of a model that just became active', () => {
    const ctx = { activeModel: 'a', activeSince: CTX.now - 1_000, now: CTX.now };
    const r = blendEdges(
      [
        { model: 'a', edgeBps: 10, confidence: 0.8 },
        { model: 'e', edgeBps: 0, confidence: 0.4 },
      ],
      P,
      ctx,
    );
    // a: 0.8·0.5 = 0.4 → equal weights with e → 5
    expect(r.components[0]!.penalised).toBe(true);
    expect(r.edgeBps).toBeCloseTo(5, 12);
    const later = blendEdges(
      [
        { model: 'a', edgeBps: 10, confidence: 0.8 },
        { model: 'e', edgeBps: 0, confidence: 0.4 },
      ],
      P,
      { ...ctx, activeSince: CTX.now - 120_000 },
    );
    expect(later.components[0]!.penalised).toBe(false);
  });

  it('with no usable model reports not ok and a zero edge', () => {
    const r = blendEdges([{ model: 'a', edgeBps: Number.POSITIVE_INFINITY, confidence: 1 }], P, CTX);
    expect(r).toMatchObject({ ok: false, edgeBps: 0, reason: 'no usable model edges' });
  });
});

const edgeArb = fc.record({
  model: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
  edgeBps: fc.double({ min: -9_000, max: 9_000, noNaN: true }),
  confidence: fc.double({ min: 0.11, max: 1, noNaN: true }),
});

describe('edge blending (properties)', () => {
  it('the raw blend lies within the range of the edges it used', () => {
    fc.assert(
      fc.property(fc.array(edgeArb, { minLength: 1, maxLength: 6 }), (inputs: EdgeInput[]) => {
        const r = blendEdges(inputs, P, CTX);
        const used = r.components.filter((c) => !c.excluded).map((c) => c.edgeBps);
        expect(r.ok).toBe(true);
        expect(r.rawEdgeBps).toBeGreaterThanOrEqual(Math.min(...used) - 1e-9);
        expect(r.rawEdgeBps).toBeLessThanOrEqual(Math.max(...used) + 1e-9);
      }),
    );
  });

  it("raising one model's confidence moves the raw blend toward that model's edge", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1000, max: 1000, noNaN: true }),
        fc.double({ min: -1000, max: 1000, noNaN: true }),
        fc.double({ min: 0.2, max: 0.5, noNaN: true }),
        fc.double({ min: 0.01, max: 0.5, noNaN: true }),
        (e1, e2, c, bump) => {
          const before = blendEdges(
            [
              { model: 'a', edgeBps: e1, confidence: c },
              { model: 'b', edgeBps: e2, confidence: 0.6 },
            ],
            P,
            CTX,
          ).rawEdgeBps;
          const after = blendEdges(
            [
              { model: 'a', edgeBps: e1, confidence: c + bump },
              { model: 'b', edgeBps: e2, confidence: 0.6 },
            ],
            P,
            CTX,
          ).rawEdgeBps;
          expect(Math.abs(after - e1)).toBeLessThanOrEqual(Math.abs(before - e1) + 1e-9);
        },
      ),
    );
  });

  it('never produces a non-finite blend', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ model: fc.string(), edgeBps: fc.double(), confidence: fc.option(fc.double()) }), { maxLength: 6 }), (inputs) => {
        const r = blendEdges(inputs, { ...P, shrinkageStrength: 0.3 }, CTX);
        expect(Number.isFinite(r.edgeBps)).toBe(true);
      }),
    );
  });
});
