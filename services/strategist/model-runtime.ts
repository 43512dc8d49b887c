/**
 * Models behind one interface: a built-in alpha (a pure function) or an ONNX
 * file run with onnxruntime-node. `loadStrategistBundle` loads the router rules
 * and every model they name; a model that cannot load, lacks the configured
 * input/outputs or fails a probe run makes the whole load fail, so a reload
 * with a broken model changes nothing.
 *
 * ONNX contract: input float32 [1, 7] (FEATURE_NAMES order), outputs edge in
 * bps and confidence, each with at least one float. Sessions run with one
 * intra-op and one inter-op thread: on a 2-core host ORT's default pool would
 * spin against the services. Sessions are cached by file hash and names, so a
 * reload that keeps a model keeps its session; unused ones are released a
 * grace period after the swap (a batch may still be using them).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { loadRouterRules } from '../core/config/load.ts';
import { versionOf, type ParseResult, type RouterConfigBundle } from '../core/config/parse.ts';
import type { ModelSpec } from '../core/config/schemas.ts';
import { ALPHAS, bounded, ZERO, type AlphaOutput } from './domain/alpha-models.ts';
import { FEATURE_COUNT, featureVector, WARMUP_TICKS, type FeatureState } from './domain/features.ts';

export interface ModelRunner {
  readonly kind: ModelSpec['kind'];
  /** Built-ins answer synchronously; ONNX models asynchronously. */
  run(features: FeatureState): AlphaOutput | Promise<AlphaOutput>;
}

export interface StrategistBundle extends RouterConfigBundle {
  readonly runners: ReadonlyMap<string, ModelRunner>;
  /** Session-cache keys of the ONNX models in use (see OnnxSessionCache.retainOnly). */
  readonly modelKeys: ReadonlySet<string>;
}

type OnnxSpec = Extract<ModelSpec, { kind: 'onnx' }>;

const SESSION_OPTIONS: InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

export class OnnxRunner implements ModelRunner {
  readonly kind = 'onnx';
  private readonly vector = new Float32Array(FEATURE_COUNT);
  constructor(
    private readonly session: InferenceSession,
    private readonly spec: OnnxSpec,
  ) {}

  async run(features: FeatureState): Promise<AlphaOutput> {
    if (features.ticks < WARMUP_TICKS) return ZERO;
    return this.infer(featureVector(features, this.vector));
  }

  /** One inference on a raw feature vector. */
  async infer(vector: Float32Array): Promise<AlphaOutput> {
    const { input, outputs } = this.spec;
    const result = await this.session.run({ [input]: new Tensor('float32', Float32Array.from(vector), [1, FEATURE_COUNT]) }, [outputs.edge_bps, outputs.confidence]);
    const edge = result[outputs.edge_bps]?.data[0];
    const confidence = result[outputs.confidence]?.data[0];
    if (typeof edge !== 'number' || typeof confidence !== 'number') throw new Error(`outputs ${outputs.edge_bps}/${outputs.confidence} are not float32`);
    return bounded(edge, confidence);
  }
}

/** ONNX sessions shared across reloads, keyed by file hash and tensor names. */
export class OnnxSessionCache {
  private readonly sessions = new Map<string, InferenceSession>();
  private readonly pending = new Set<NodeJS.Timeout>();
  constructor(private readonly graceMs = 10_000) {}

  async get(key: string, bytes: Uint8Array): Promise<InferenceSession> {
    let s = this.sessions.get(key);
    if (!s) {
      s = await InferenceSession.create(bytes, SESSION_OPTIONS);
      this.sessions.set(key, s);
    }
    return s;
  }

  /** Release, after the grace period, every session whose key is not in `keep`. */
  retainOnly(keep: ReadonlySet<string>): void {
    const stale = [...this.sessions].filter(([k]) => !keep.has(k));
    for (const [k] of stale) this.sessions.delete(k);
    if (stale.length === 0) return;
    const t = setTimeout(() => {
      this.pending.delete(t);
      for (const [, s] of stale) void s.release().catch(() => undefined);
    }, this.graceMs);
    t.unref();
    this.pending.add(t);
  }

  get size(): number {
    return this.sessions.size;
  }

  async close(): Promise<void> {
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.release().catch(() => undefined)));
  }
}

async function loadOnnx(
  name: string,
  spec: OnnxSpec,
  root: string,
  cache: OnnxSessionCache,
): Promise<{ ok: true; runner: OnnxRunner; key: string } | { ok: false; reason: string }> {
  const where = `models.${name}.path ${spec.path}`;
  let bytes: Buffer;
  try {
    bytes = await readFile(resolve(root, spec.path));
  } catch (err) {
    return { ok: false, reason: `${where}: cannot read file (${(err as NodeJS.ErrnoException).code ?? 'EIO'})` };
  }
  const key = `${createHash('sha256').update(bytes).digest('hex')}|${spec.input}|${spec.outputs.edge_bps}|${spec.outputs.confidence}`;
  let session: InferenceSession;
  try {
    session = await cache.get(key, bytes);
  } catch (err) {
    return { ok: false, reason: `${where}: not a loadable ONNX model (${firstLine(err)})` };
  }
  if (!session.inputNames.includes(spec.input)) return { ok: false, reason: `${where}: has no input "${spec.input}" (inputs: ${session.inputNames.join(', ')})` };
  for (const out of [spec.outputs.edge_bps, spec.outputs.confidence]) {
    if (!session.outputNames.includes(out)) return { ok: false, reason: `${where}: has no output "${out}" (outputs: ${session.outputNames.join(', ')})` };
  }
  const runner = new OnnxRunner(session, spec);
  try {
    await runner.infer(new Float32Array(FEATURE_COUNT));
  } catch (err) {
    return { ok: false, reason: `${where}: probe run with a [1, ${FEATURE_COUNT}] float32 input failed (${firstLine(err)})` };
  }
  return { ok: true, runner, key };
}

function firstLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err)
    .split('\n')[0]!
    .slice(0, 300);
}

export type RunnersResult = { ok: true; runners: Map<string, ModelRunner>; keys: Set<string> } | { ok: false; errors: string[] };

/** A runner for every model the config declares; ONNX paths resolve against `root`. */
export async function loadModelRunners(models: Readonly<Record<string, ModelSpec>>, root: string, cache: OnnxSessionCache): Promise<RunnersResult> {
  const runners = new Map<string, ModelRunner>();
  const keys = new Set<string>();
  const errors: string[] = [];
  for (const [name, spec] of Object.entries(models)) {
    if (spec.kind === 'builtin') {
      runners.set(name, { kind: 'builtin', run: ALPHAS[spec.alpha] });
      continue;
    }
    const loaded = await loadOnnx(name, spec, root, cache);
    if (loaded.ok) {
      runners.set(name, loaded.runner);
      keys.add(loaded.key);
    } else {
      errors.push(loaded.reason);
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, runners, keys };
}

/**
 * Rules plus a runner for every model they declare. The version covers the
 * YAML and every ONNX file, so replacing a model file and reloading counts
 * as a change.
 */
export async function loadStrategistBundle(configPath: string, root: string, cache = new OnnxSessionCache()): Promise<ParseResult<StrategistBundle>> {
  const rules = await loadRouterRules(configPath, root);
  if (!rules.ok) return rules;
  const models = await loadModelRunners(rules.config.config.models, root, cache);
  if (!models.ok) {
    const errors = models.errors.map((e) => `${configPath}: ${e}`);
    return { ok: false, reason: errors.join('; '), errors };
  }
  return { ok: true, version: bundleVersion(rules.version, models.keys), config: { ...rules.config, runners: models.runners, modelKeys: models.keys } };
}

export function bundleVersion(rulesVersion: string, modelKeys: ReadonlySet<string>): string {
  return modelKeys.size === 0 ? rulesVersion : versionOf([rulesVersion, ...[...modelKeys].sort()].join('\n'));
}
