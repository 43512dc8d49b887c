/**
 * ONNX models behind the model interface: the project's own model builds
 * deterministically (the committed file is current), onnxruntime-node runs it
 * to the same numbers as the TypeScript reference, and every way a model can
 * be wrong is refused with a reason that names the model and the problem.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { buildLinearAlphaModel, linearAlphaReference } from '../../models/linear-alpha.ts';
import { modelRouterSchema, type ModelSpec } from '../../services/core/config/schemas.ts';
import { FEATURE_COUNT, featureVector, initialFeatures, updateFeatures, WARMUP_TICKS } from '../../services/strategist/domain/features.ts';
import { loadModelRunners, OnnxRunner, OnnxSessionCache, type ModelRunner } from '../../services/strategist/model-runtime.ts';

const ROOT = join(import.meta.dirname, '../..');
const cache = new OnnxSessionCache(0);
afterAll(() => cache.close());

const onnxSpec = (path: string, extra: Partial<Extract<ModelSpec, { kind: 'onnx' }>> = {}): ModelSpec => ({
  kind: 'onnx',
  path,
  input: 'features',
  outputs: { edge_bps: 'edge_bps', confidence: 'confidence' },
  max_latency_ms: 5,
  ...extra,
});

async function runnerFor(spec: ModelSpec, root = ROOT): Promise<ModelRunner> {
  const r = await loadModelRunners({ m: spec }, root, cache);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.runners.get('m')!;
}

function tempRoot(files: Record<string, Uint8Array | string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tp-onnx-'));
  mkdirSync(join(dir, 'models'));
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, 'models', name), bytes);
  return dir;
}

describe('linear_alpha.onnx', () => {
  it('builds byte-identically, and the committed models/linear_alpha.onnx is that build', () => {
    const a = buildLinearAlphaModel();
    expect(Buffer.from(buildLinearAlphaModel()).equals(Buffer.from(a))).toBe(true);
    expect(readFileSync(join(ROOT, 'models/linear_alpha.onnx')).equals(Buffer.from(a))).toBe(true);
  });

  it('runs in onnxruntime-node to the reference formula (float32 tolerance)', async () => {
    const runner = await runnerFor(onnxSpec('models/linear_alpha.onnx'));
    if (!(runner instanceof OnnxRunner)) throw new Error('expected an OnnxRunner');
    const vectorArb = fc.array(fc.float({ min: -50, max: 50, noNaN: true, noDefaultInfinity: true }), { minLength: FEATURE_COUNT, maxLength: FEATURE_COUNT });
    await fc.assert(
      fc.asyncProperty(vectorArb, async (values) => {
        const x = Float32Array.from(values);
        const want = linearAlphaReference(x);
        const got = await runner.infer(x);
        expect(got.edgeBps).toBeCloseTo(want.edgeBps, 3);
        expect(got.confidence).toBeCloseTo(want.confidence, 5);
      }),
      { numRuns: 200 },
    );
  });

  it('answers from the live feature state: zero before warm-up, the reference after', async () => {
    const runner = await runnerFor(onnxSpec('models/linear_alpha.onnx'));
    const s = initialFeatures();
    let mid = 100;
    for (let i = 0; i < WARMUP_TICKS - 1; i++) {
      mid *= 1 + 0.001 * Math.sin(i);
      updateFeatures(s, { ts: i, bid: mid - 0.01, ask: mid + 0.01, bid_size: 3 + (i % 4), ask_size: 2 });
    }
    expect(await runner.run(s)).toEqual({ edgeBps: 0, confidence: 0 });
    for (let i = WARMUP_TICKS; i < 200; i++) {
      mid *= 1 + 0.001 * Math.sin(i);
      updateFeatures(s, { ts: i, bid: mid - 0.01, ask: mid + 0.01, bid_size: 3 + (i % 4), ask_size: 2 });
    }
    const want = linearAlphaReference(featureVector(s));
    const got = await runner.run(s);
    expect(want.edgeBps).not.toBe(0);
    expect(got.edgeBps).toBeCloseTo(want.edgeBps, 3);
    expect(got.confidence).toBeCloseTo(want.confidence, 5);
  });
});

describe('refusing a bad ONNX model', () => {
  it('a missing file', async () => {
    const r = await loadModelRunners({ ghost: onnxSpec('models/ghost.onnx') }, tempRoot({}), cache);
    expect(r).toEqual({ ok: false, errors: ['models.ghost.path models/ghost.onnx: cannot read file (ENOENT)'] });
  });

  it('a file that is not ONNX', async () => {
    const r = await loadModelRunners({ junk: onnxSpec('models/junk.onnx') }, tempRoot({ 'junk.onnx': 'this is not a protobuf' }), cache);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatch(/^models\.junk\.path models\/junk\.onnx: not a loadable ONNX model \(/);
  });

  it('a model without the configured input or outputs', async () => {
    const root = tempRoot({ 'm.onnx': buildLinearAlphaModel() });
    const noInput = await loadModelRunners({ m: onnxSpec('models/m.onnx', { input: 'x' }) }, root, cache);
    expect(noInput).toEqual({ ok: false, errors: ['models.m.path models/m.onnx: has no input "x" (inputs: features)'] });
    const noOutput = await loadModelRunners({ m: onnxSpec('models/m.onnx', { outputs: { edge_bps: 'edge', confidence: 'confidence' } }) }, root, cache);
    expect(noOutput).toEqual({ ok: false, errors: ['models.m.path models/m.onnx: has no output "edge" (outputs: edge_bps, confidence)'] });
  });

  it('paths outside models/ or not .onnx, in the schema', () => {
    const base = { default_model: 'm', rules: [], confidence_thresholds: {}, switching: {}, defaults: {} };
    for (const path of ['conf/x.onnx', 'models/../conf/risk_params.yml', 'models/../../etc/passwd.onnx', '/abs/models/x.onnx', 'models/x.txt']) {
      const r = modelRouterSchema.safeParse({ ...base, models: { m: { kind: 'onnx', path } } });
      expect(r.success, path).toBe(false);
    }
    expect(modelRouterSchema.safeParse({ ...base, models: { m: { kind: 'onnx', path: 'models/sub/x.onnx' } } }).success).toBe(true);
  });
});
