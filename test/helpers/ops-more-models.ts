/** Small models for test/ops-more.test.ts: Gemm(4 -> 6) -> the ops under test -> Gemm(n -> 3). */
import { buildOnnxModel, type ModelSpec, type NodeSpec } from '../../src/onnx/builder.ts';
import { ModelBuilder } from './model-builder.ts';

export interface TestModel {
  name: string;
  bytes: Uint8Array;
  inputShape: number[];
}

export class Builder extends ModelBuilder {
  private k = 0;
  nodeOuts(op: string, name: string, inputs: string[], outputs: string[], attrs?: NodeSpec['attrs']): string {
    this.nodes.push({ op, name, inputs, outputs, attrs });
    return outputs[0];
  }
  /** Gemm n -> m, weights +/- a, bias `shift` +/- 0.1. */
  gemm(name: string, x: string, n: number, m: number, a: number, shift = 0): string {
    this.init(`${name}.W`, [m, n], this.rand(m * n, a));
    this.init(`${name}.b`, [m], this.rand(m, 0.1).map((v) => v + shift));
    return this.node('Gemm', name, [x, `${name}.W`, `${name}.b`], { transB: 1 });
  }
  reshape(x: string, dims: number[]): string {
    const s = this.init(`shape${this.k++}`, [dims.length], dims, 'int64');
    return this.node('Reshape', `reshape${this.k++}`, [x, s]);
  }
  model(name: string, inputShape: number[], output: string, outShape: number[], opset: number): TestModel {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', shape: inputShape }],
      outputs: [{ name: output, shape: outShape }],
      initializers: this.inits,
      nodes: this.nodes,
      opset,
      graphName: name,
    };
    return { name, bytes: buildOnnxModel(spec), inputShape };
  }
}

/** A case: the ops under test between Gemm(4 -> 6) (weights +/- a, bias shift) and Gemm(width -> 3). */
export interface OpCase {
  name: string;
  /** ONNX ops the case exercises (each must be in supportedOps). */
  ops: string[];
  opset?: number;
  a?: number;
  shift?: number;
  /** Build the ops from the first Gemm's output h ([1, 6]); returns the tensor fed to the last Gemm and its width. */
  build(b: Builder, h: string): [string, number];
  /** The op's output is discontinuous (Hardmax): compare quantized outputs only away from ties. */
  discontinuous?: boolean;
}

export function caseModel(c: OpCase, seed: number): TestModel {
  const b = new Builder(seed);
  const h = b.gemm('fc1', 'x', 4, 6, c.a ?? 0.8, c.shift ?? 0);
  const [t, w] = c.build(b, h);
  b.gemm('fc2', t, w, 3, 0.6);
  return b.model(`ops-more-${c.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`, [1, 4], 'fc2', [1, 3], c.opset ?? 18);
}

const unary = (op: string, attrs?: NodeSpec['attrs']) => (b: Builder, h: string): [string, number] => [b.node(op, 'f', [h], attrs), 6];

export const opCases: OpCase[] = [
  // Group 1
  {
    name: 'Sum (activation, broadcast activation, constant)', ops: ['Sum', 'ReduceMean'],
    build(b, h) {
      const m = b.node('ReduceMean', 'rm', [h, b.init('rm.axes', [1], [1], 'int64')], { keepdims: 1 });
      return [b.node('Sum', 'f', [h, m, b.init('c', [6], b.rand(6, 0.5))]), 6];
    },
  },
  {
    name: 'Mean (two activations and a constant)', ops: ['Mean', 'Relu'],
    build(b, h) {
      const r = b.node('Relu', 'r', [h]);
      return [b.node('Mean', 'f', [h, r, b.init('c', [1, 6], b.rand(6, 0.5))]), 6];
    },
  },
  {
    name: 'Sum of one input', ops: ['Sum'],
    build: (b, h) => [b.node('Sum', 'f', [h]), 6],
  },
  {
    name: 'CastLike (to float, and a constant cast like an activation)', ops: ['CastLike', 'Add'],
    build(b, h) {
      const c = b.node('CastLike', 'cl', [h, b.init('like', [1], [0])]);
      const k = b.node('CastLike', 'ck', [b.init('k', [6], [1, 2, 3, -1, -2, -3], 'int64'), h]);
      return [b.node('Add', 'f', [c, k]), 6];
    },
  },
  {
    name: 'IsNaN, IsInf of an activation (constant false)', ops: ['IsNaN', 'IsInf', 'Cast', 'Add'],
    build(b, h) {
      const n = b.node('Cast', 'nf', [b.node('IsNaN', 'isnan', [h])], { to: 1 });
      const i = b.node('Cast', 'inf', [b.node('IsInf', 'isinf', [h], { detect_negative: 0 })], { to: 1 });
      return [b.node('Add', 'f', [b.node('Add', 'a1', [h, n]), i]), 6];
    },
  },
  // Group 2: tables
  { name: 'Tan', ops: ['Tan'], a: 0.25, build: unary('Tan') },
  { name: 'Sinh', ops: ['Sinh'], a: 0.5, build: unary('Sinh') },
  { name: 'Cosh', ops: ['Cosh'], a: 0.5, build: unary('Cosh') },
  { name: 'Asin', ops: ['Asin'], a: 0.2, build: unary('Asin') },
  { name: 'Acos', ops: ['Acos'], a: 0.2, build: unary('Acos') },
  { name: 'Atan', ops: ['Atan'], a: 1.5, build: unary('Atan') },
  { name: 'Asinh', ops: ['Asinh'], a: 1.5, build: unary('Asinh') },
  { name: 'Acosh', ops: ['Acosh'], a: 0.2, shift: 2, build: unary('Acosh') },
  { name: 'Atanh', ops: ['Atanh'], a: 0.2, build: unary('Atanh') },
  { name: 'Shrink', ops: ['Shrink'], build: unary('Shrink') },
  { name: 'Shrink (lambd 0.3, bias 0.1)', ops: ['Shrink'], build: unary('Shrink', { lambd: 0.3, bias: 0.1 }) },
  // Group 3
  {
    name: 'Compress with an axis', ops: ['Compress'],
    build: (b, h) => [b.node('Compress', 'f', [h, b.init('cond', [5], [1, 0, 1, 1, 0], 'bool')], { axis: 1 }), 3],
  },
  {
    name: 'Compress flattened', ops: ['Compress', 'Unsqueeze'],
    build(b, h) {
      const f = b.node('Compress', 'f', [h, b.init('cond', [6], [0, 1, 1, 0, 1, 1], 'bool')]);
      return [b.node('Unsqueeze', 'u', [f, b.init('u.axes', [1], [0], 'int64')]), 4];
    },
  },
  {
    name: 'ReverseSequence (time 0, batch 1)', ops: ['ReverseSequence'],
    build(b, h) {
      const r = b.reshape(h, [3, 2]);
      const f = b.node('ReverseSequence', 'f', [r, b.init('lens', [2], [3, 2], 'int64')], { time_axis: 0, batch_axis: 1 });
      return [b.reshape(f, [1, 6]), 6];
    },
  },
  {
    name: 'ReverseSequence (batch 0, time 1)', ops: ['ReverseSequence'],
    build(b, h) {
      const r = b.reshape(h, [2, 3, 1]);
      const f = b.node('ReverseSequence', 'f', [r, b.init('lens', [2], [2, 3], 'int64')], { time_axis: 1, batch_axis: 0 });
      return [b.reshape(f, [1, 6]), 6];
    },
  },
  {
    name: 'ReduceLogSum', ops: ['ReduceLogSum'], a: 0.3, shift: 1,
    build(b, h) {
      const r = b.reshape(h, [1, 2, 3]);
      const f = b.node('ReduceLogSum', 'f', [r, b.init('axes', [1], [2], 'int64')], { keepdims: 0 });
      return [f, 2];
    },
  },
  {
    name: 'ReduceProd over 3', ops: ['ReduceProd'], a: 0.3, shift: 0.8,
    build(b, h) {
      const r = b.reshape(h, [1, 2, 3]);
      return [b.node('ReduceProd', 'f', [r, b.init('axes', [1], [2], 'int64')], { keepdims: 0 }), 2];
    },
  },
  {
    name: 'ReduceProd over 2 (signed)', ops: ['ReduceProd'],
    build(b, h) {
      const r = b.reshape(h, [1, 3, 2]);
      return [b.reshape(b.node('ReduceProd', 'f', [r, b.init('axes', [1], [-1], 'int64')], { keepdims: 1 }), [1, 3]), 3];
    },
  },
  {
    name: 'EyeLike of an activation', ops: ['EyeLike', 'Add'],
    build(b, h) {
      const r = b.reshape(h, [2, 3]);
      const e = b.node('EyeLike', 'eye', [r], { k: 1 });
      return [b.reshape(b.node('Add', 'f', [r, e]), [1, 6]), 6];
    },
  },
  // Group 4
  {
    name: 'MeanVarianceNormalization', ops: ['MeanVarianceNormalization'],
    build(b, h) {
      const r = b.reshape(h, [1, 1, 2, 3]);
      return [b.reshape(b.node('MeanVarianceNormalization', 'f', [r]), [1, 6]), 6];
    },
  },
  { name: 'LpNormalization p=2', ops: ['LpNormalization'], shift: 0.5, build: unary('LpNormalization', { axis: -1, p: 2 }) },
  { name: 'LpNormalization p=1', ops: ['LpNormalization'], shift: 0.5, build: unary('LpNormalization', { axis: 1, p: 1 }) },
  { name: 'Hardmax', ops: ['Hardmax'], build: unary('Hardmax'), discontinuous: true },
  // Group 5
  {
    name: 'TopK largest (values)', ops: ['TopK'],
    build: (b, h) => [b.nodeOuts('TopK', 'f', [h, b.init('k', [1], [3], 'int64')], ['f', 'f.idx']), 3],
  },
  {
    name: 'TopK smallest (values)', ops: ['TopK'],
    build: (b, h) => [b.nodeOuts('TopK', 'f', [h, b.init('k', [1], [2], 'int64')], ['f', 'f.idx'], { largest: 0, axis: 1 }), 2],
  },
];

/** x [1, 6] -> TopK(k) -> values and int64 indices, both graph outputs (onnxruntime's tie rule: lower index first). */
export function topkModel(k: number, largest: number): TestModel {
  const b = new Builder(99);
  b.nodeOuts('TopK', 'topk', ['x', b.init('k', [1], [k], 'int64')], ['values', 'indices'], { largest });
  const spec: ModelSpec = {
    inputs: [{ name: 'x', shape: [1, 6] }],
    outputs: [{ name: 'values', shape: [1, k] }, { name: 'indices', shape: [1, k], elemType: 'int64' }],
    initializers: b.inits,
    nodes: b.nodes,
    opset: 18,
  };
  return { name: `ops-more-topk-${k}-${largest}`, bytes: buildOnnxModel(spec), inputShape: [1, 6] };
}
