/**
 * `linear_alpha`: the example ONNX model the project builds itself
 * (`npm run build-models`), so the ONNX path is tested with nothing downloaded.
 *
 *   edge_bps   = Σ wᵢ·xᵢ + b        (x = the strategist's feature vector)
 *   confidence = tanh(k · |edge_bps|)
 *
 * Input `features` float32 [N, 7]; outputs `edge_bps` and `confidence`,
 * float32 [N, 1]. The weights lean on momentum and book imbalance and fade
 * stretched prices; it shows how a quant's model plugs in, it is not a
 * tuned alpha. `linearAlphaReference` is the same formula in TypeScript.
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { FEATURE_COUNT, FEATURE_NAMES } from '../services/strategist/domain/features.ts';

export interface LinearAlphaParams {
  /** One weight per FEATURE_NAMES entry (bps per unit of feature). */
  readonly weights: readonly number[] & { length: typeof FEATURE_COUNT };
  readonly bias: number;
  readonly k: number;
}

export const LINEAR_ALPHA: LinearAlphaParams = {
  weights: [1.5, -0.5, 2.0, 0.25, 0, 0, 0],
  bias: 0,
  k: 0.35,
};

export function linearAlphaReference(x: ArrayLike<number>, p: LinearAlphaParams = LINEAR_ALPHA): { edgeBps: number; confidence: number } {
  let edge = p.bias;
  for (let i = 0; i < FEATURE_COUNT; i++) edge += p.weights[i]! * x[i]!;
  return { edgeBps: edge, confidence: Math.tanh(p.k * Math.abs(edge)) };
}

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

function floatTensor(name: string, dims: number[], values: readonly number[]): Onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, floatData: [...values] };
}

function valueInfo(name: string, dims: (number | string)[]): Onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

/** The model as ONNX bytes (opset 13, IR 7). Deterministic: same weights, same bytes. */
export function buildLinearAlphaModel(p: LinearAlphaParams = LINEAR_ALPHA): Uint8Array {
  const graph: Onnx.IGraphProto = {
    name: 'linear_alpha',
    docString: `features: ${FEATURE_NAMES.join(', ')}`,
    initializer: [floatTensor('W', [FEATURE_COUNT, 1], p.weights), floatTensor('B', [1], [p.bias]), floatTensor('K', [1], [p.k])],
    node: [
      { opType: 'MatMul', input: ['features', 'W'], output: ['lin'], name: 'matmul' },
      { opType: 'Add', input: ['lin', 'B'], output: ['edge_bps'], name: 'bias' },
      { opType: 'Abs', input: ['edge_bps'], output: ['abs_edge'], name: 'abs' },
      { opType: 'Mul', input: ['abs_edge', 'K'], output: ['scaled'], name: 'scale' },
      { opType: 'Tanh', input: ['scaled'], output: ['confidence'], name: 'squash' },
    ],
    input: [valueInfo('features', ['N', FEATURE_COUNT])],
    output: [valueInfo('edge_bps', ['N', 1]), valueInfo('confidence', ['N', 1])],
  };
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'redis-trading-control-plane',
    producerVersion: '1',
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
