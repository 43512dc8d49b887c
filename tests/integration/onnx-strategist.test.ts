/**
 * An ONNX model end to end: the strategist routes every symbol to
 * linear_alpha.onnx, runs it in onnxruntime-node on live features and emits
 * its predictions; a reload naming a broken model file changes nothing and
 * keeps the reason; a retrained file (same YAML) reloads as a new version
 * and the predictions follow the new weights; a model over its latency
 * budget falls back to its rule's default_model; the validation command
 * loads and probes the models.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildLinearAlphaModel, LINEAR_ALPHA, linearAlphaReference, type LinearAlphaParams } from '../../models/linear-alpha.ts';
import { decodeWith, fieldsFromArray, signalSchema, type Signal } from '../../services/core/messages.ts';
import { startFeed } from '../../services/feed/service.ts';
import { featureVector } from '../../services/strategist/domain/features.ts';
import type { SymbolState } from '../../services/strategist/on-ticks.ts';
import { startStrategist } from '../../services/strategist/service.ts';
import { makeProjectDir } from '../support/project-dir.ts';
import { createTestEnv, eventually, ROOT, type TestEnv } from '../support/system.ts';

const SYMBOLS = ['BTC-USD', 'ETH-USD', 'AAPL'];
let env: TestEnv;
let root = '';

const ONNX_ONLY_RULES = (text: string): string =>
  text
    .replace(
      / {2}rules:\n[\s\S]*?\n\n/,
      '  rules:\n    - match: { asset_class: "*", horizon_ms: "*" }\n      model: linear_alpha\n      description: "every symbol on the ONNX model"\n\n',
    )
    .replace('min_confidence: 0.55', 'min_confidence: 0.0');

beforeAll(async () => {
  root = makeProjectDir('onnx', { rules: ONNX_ONLY_RULES });
  env = createTestEnv(inject('redisUrl'), 'onnx', { TP_ROOT: root });
  await env.start('strategist', startStrategist, 'strat-onnx');
});

afterAll(async () => {
  await env.close();
});

async function lastSignal(symbol: string): Promise<Signal> {
  const entries = (await env.redis.xrevrange(env.keys.strategySignals, '+', '-', 'COUNT', 200)) as [string, string[]][];
  for (const [, raw] of entries) {
    const d = decodeWith(signalSchema, raw);
    if (d.ok && d.value.symbol === symbol) return d.value;
  }
  throw new Error(`no signal for ${symbol}`);
}

async function drained(total: number): Promise<void> {
  await eventually(
    async () => {
      const g = fieldsFromArray(((await env.redis.xinfo('GROUPS', env.keys.marketEvents)) as unknown[][])[0]!.map(String));
      return g['pending'] === '0' && g['lag'] === '0' && (await env.redis.xlen(env.keys.marketEvents)) === total;
    },
    30_000,
    'ticks drained',
  );
}

/** Every symbol's last prediction is what `params` give on the features the strategist stored. */
async function expectPredictionsFrom(params: LinearAlphaParams): Promise<void> {
  for (const symbol of SYMBOLS) {
    const state = JSON.parse((await env.redis.get(env.keys.strategistState(symbol)))!) as SymbolState;
    expect(state.routing.active).toBe('linear_alpha');
    const signal = await lastSignal(symbol);
    expect(signal.active_model).toBe('linear_alpha');
    const p = signal.predictions.find((x) => x.model === 'linear_alpha');
    expect(p, symbol).toBeDefined();
    const want = linearAlphaReference(featureVector(state.features), params);
    expect(p!.edge_bps).toBeCloseTo(want.edgeBps, 2);
    expect(p!.confidence).toBeCloseTo(want.confidence, 4);
  }
}

describe('an ONNX model in the strategist', () => {
  it('is routed to, run on live features and logged as the initial switch', async () => {
    await env.start('feed', (ctx) => startFeed(ctx, { rate: 3_000, seed: 5, maxTicks: 900, streamMaxLen: 100_000 }));
    await drained(900);
    await expectPredictionsFrom(LINEAR_ALPHA);
    const log = ((await env.redis.xrange(env.keys.modelSwitchLog, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
    for (const s of SYMBOLS) expect(log.find((e) => e['symbol'] === s)).toMatchObject({ old_model: 'none', new_model: 'linear_alpha', reason: 'initial' });
  });

  it('a reload naming a broken model file is rejected and changes nothing', async () => {
    const before = await env.redis.hget(env.keys.configApplied('model_router'), 'strat-onnx');
    writeFileSync(join(root, 'models/broken.onnx'), 'not a model');
    writeFileSync(
      join(root, 'conf/broken_rules.yml'),
      ONNX_ONLY_RULES(readFileSync(join(ROOT, 'model_router_rules.yml'), 'utf8')).replace('path: models/linear_alpha.onnx', 'path: models/broken.onnx'),
    );
    await env.redis.publish(env.keys.paramReload, '{"component": "model_router", "config_path": "conf/broken_rules.yml"}');
    const outcome = await eventually(
      async () => {
        const all = ((await env.redis.xrange(env.keys.reloadOutcomes, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
        return all.find((o) => o['status'] === 'rejected');
      },
      10_000,
      'rejected outcome',
    );
    expect(outcome['reason']).toMatch(/^conf\/broken_rules\.yml: models\.linear_alpha\.path models\/broken\.onnx: not a loadable ONNX model/);
    expect(await env.redis.hget(env.keys.configApplied('model_router'), 'strat-onnx')).toBe(before);
  });

  it('a retrained model file with the same YAML reloads as a new version, and predictions follow it', async () => {
    const before = JSON.parse((await env.redis.hget(env.keys.configApplied('model_router'), 'strat-onnx'))!) as { version: string };
    const retrained: LinearAlphaParams = { weights: [0.5, -1.5, 1, 0, 0.1, 0, -0.5], bias: 0.25, k: 0.5 };
    writeFileSync(join(root, 'models/linear_alpha.onnx'), buildLinearAlphaModel(retrained));
    await env.redis.publish(env.keys.paramReload, '{"component": "model_router", "config_path": "model_router_rules.yml"}');
    const after = await eventually(
      async () => {
        const v = JSON.parse((await env.redis.hget(env.keys.configApplied('model_router'), 'strat-onnx'))!) as { version: string };
        return v.version !== before.version && v;
      },
      10_000,
      'new version applied',
    );
    expect(after.version).toMatch(/^[0-9a-f]{12}$/);
    await env.start('feed', (ctx) => startFeed(ctx, { rate: 3_000, seed: 6, maxTicks: 300, streamMaxLen: 100_000 }));
    await drained(1_200);
    await expectPredictionsFrom(retrained);
  });

  it("a model over its max_latency_ms falls back to the rule's default_model, logged as a switch with its reason", async () => {
    const slow = (text: string): string =>
      ONNX_ONLY_RULES(text)
        .replace('path: models/linear_alpha.onnx, max_latency_ms: 5', 'path: models/linear_alpha.onnx, max_latency_ms: 0.000001')
        .replace('      model: linear_alpha\n', '      model: linear_alpha\n      default_model: obi\n');
    writeFileSync(join(root, 'conf/slow_rules.yml'), slow(readFileSync(join(ROOT, 'model_router_rules.yml'), 'utf8')));
    await env.redis.publish(env.keys.paramReload, '{"component": "model_router", "config_path": "conf/slow_rules.yml"}');
    await eventually(
      async () => {
        const all = ((await env.redis.xrange(env.keys.reloadOutcomes, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
        return all.some((o) => o['status'] === 'applied' && o['config_path'] === 'conf/slow_rules.yml');
      },
      10_000,
      'slow rules applied',
    );
    await env.start('feed', (ctx) => startFeed(ctx, { rate: 3_000, seed: 7, maxTicks: 300, streamMaxLen: 100_000 }));
    await drained(1_500);
    const log = ((await env.redis.xrange(env.keys.modelSwitchLog, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
    for (const symbol of SYMBOLS) {
      const fallback = log.filter((e) => e['symbol'] === symbol && e['reason'] === 'fallback:latency');
      expect(fallback, symbol).toHaveLength(1);
      expect(fallback[0]).toMatchObject({ old_model: 'linear_alpha', new_model: 'obi' });
      expect(Number(fallback[0]!['latency_ms'])).toBeGreaterThanOrEqual(0);
      const state = JSON.parse((await env.redis.get(env.keys.strategistState(symbol)))!) as SymbolState;
      expect(state.routing).toMatchObject({ active: 'obi', reason: 'fallback:latency' });
    }
  });

  it('npm run validate-rules loads and probes ONNX models', () => {
    const run = (file: string): { code: number; out: string } => {
      try {
        return {
          code: 0,
          out: execFileSync(process.execPath, ['--import', 'tsx', 'scripts/validate-router-rules.ts', join(root, file), '--root', root], {
            cwd: ROOT,
            encoding: 'utf8',
            stdio: 'pipe',
          }),
        };
      } catch (err) {
        const e = err as { status: number; stderr: string };
        return { code: e.status, out: e.stderr };
      }
    };
    const good = run('model_router_rules.yml');
    expect(good.code).toBe(0);
    expect(good.out).toContain('5 models (1 ONNX)');
    const bad = run('conf/broken_rules.yml');
    expect(bad.code).toBe(1);
    expect(bad.out).toContain(`${join(root, 'conf/broken_rules.yml')}: models.linear_alpha.path models/broken.onnx: not a loadable ONNX model`);
  });
});
