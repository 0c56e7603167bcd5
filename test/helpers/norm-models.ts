/**
 * Small ONNX models for test/norm.test.ts (reductions, normalizations, Softmax inside a network). Weights are
 * seeded random values; every model has one float input and one float output.
 */
import { buildOnnxModel, type ModelSpec, type NodeSpec } from '../../src/onnx/builder.ts';
import { ModelBuilder } from './model-builder.ts';

export interface NormModel {
  name: string;
  bytes: Uint8Array;
  inputName: string;
  inputShape: number[];
  spec: ModelSpec;
}

class Builder extends ModelBuilder {
  gemm(name: string, x: string, n: number, m: number, a = 0.5): string {
    this.init(`${name}.W`, [m, n], this.rand(m * n, a));
    this.init(`${name}.b`, [m], this.rand(m, 0.1));
    return this.node('Gemm', name, [x, `${name}.W`, `${name}.b`], { transB: 1 });
  }
  reshape(name: string, x: string, shape: number[]): string {
    return this.node('Reshape', name, [x, this.init(`${name}.shape`, [shape.length], shape, 'int64')]);
  }
  conv(name: string, x: string, inC: number, outC: number, k: number, attrs: NodeSpec['attrs'] = {}, a = 0.5): string {
    const w = this.init(`${name}.W`, [outC, inC, k, k], this.rand(outC * inC * k * k, a));
    const bias = this.init(`${name}.b`, [outC], this.rand(outC, 0.2));
    return this.node('Conv', name, [x, w, bias], attrs);
  }
  model(name: string, inputShape: number[], output: string, outShape: number[], opset: number): NormModel {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', shape: inputShape }],
      outputs: [{ name: output, shape: outShape }],
      initializers: this.inits,
      nodes: this.nodes,
      opset,
      graphName: name,
    };
    return { name, bytes: buildOnnxModel(spec), inputName: 'x', inputShape, spec };
  }
}

/**
 * ReduceMean (axes attribute, opset 13, keepdims 1, negative axis) then ReduceSum (axes input, keepdims 0)
 * on a Gemm's ReLU output, then a Gemm.
 */
export function reduceModel(): NormModel {
  const b = new Builder(501);
  const g = b.gemm('fc1', 'x', 12, 24, 0.6);
  const r = b.node('Relu', 'relu', [g]);
  const rs = b.reshape('to4d', r, [1, 2, 3, 4]);
  const mean = b.node('ReduceMean', 'mean_last', [rs], { axes: [-1], keepdims: 1 });
  const sum = b.node('ReduceSum', 'sum_ch', [mean, b.init('sum_axes', [1], [1], 'int64')], { keepdims: 0 });
  const f = b.node('Flatten', 'flatten', [sum]);
  b.gemm('fc2', f, 3, 4, 0.8);
  return b.model('norm-reduce', [1, 12], 'fc2', [1, 4], 13);
}

/** ReduceMean at opset 18 (axes as an input) over two axes, keepdims 0, then a Gemm. */
export function reduce18Model(): NormModel {
  const b = new Builder(502);
  const g = b.gemm('fc1', 'x', 6, 24, 0.6);
  const rs = b.reshape('to4d', g, [1, 2, 3, 4]);
  const mean = b.node('ReduceMean', 'mean_2', [rs, b.init('axes', [2], [1, -1], 'int64')], { keepdims: 0 });
  const f = b.node('Flatten', 'flatten', [mean]);
  b.gemm('fc2', f, 3, 2, 0.8);
  return b.model('norm-reduce18', [1, 6], 'fc2', [1, 2], 18);
}

/**
 * The end-to-end model: x -> Gemm -> [1, 4, 8] -> LayerNormalization (axis -1) -> Gemm -> [1, 4, 8] ->
 * Softmax (axis -1, one per row: inside the network) -> Gemm.
 */
export function layerNormSoftmaxModel(): NormModel {
  const b = new Builder(503);
  const g1 = b.gemm('fc1', 'x', 8, 32, 0.6);
  const r1 = b.reshape('rows1', g1, [1, 4, 8]);
  const ln = b.node('LayerNormalization', 'layernorm', [r1, b.init('ln.scale', [8], b.rand(8, 0.5, 1)), b.init('ln.bias', [8], b.rand(8, 0.3))], { axis: -1, epsilon: 1e-5 });
  const f1 = b.reshape('flat1', ln, [1, 32]);
  const g2 = b.gemm('fc2', f1, 32, 32, 0.5);
  const r2 = b.reshape('rows2', g2, [1, 4, 8]);
  const sm = b.node('Softmax', 'softmax', [r2], { axis: -1 });
  const f2 = b.reshape('flat2', sm, [1, 32]);
  b.gemm('fc3', f2, 32, 4, 1.5);
  return b.model('norm-ln-softmax', [1, 8], 'fc3', [1, 4], 17);
}

/** Conv -> InstanceNormalization -> Relu -> Conv 1x1. */
export function instanceNormModel(): NormModel {
  const b = new Builder(504);
  const c1 = b.conv('conv1', 'x', 2, 3, 3, { pads: [1, 1, 1, 1] });
  const inn = b.node('InstanceNormalization', 'instnorm', [c1, b.init('in.scale', [3], [1.2, -0.7, 0.9]), b.init('in.bias', [3], [0.1, 0.3, -0.2])], { epsilon: 1e-5 });
  const r = b.node('Relu', 'relu', [inn]);
  b.conv('conv2', r, 3, 2, 1);
  return b.model('norm-instnorm', [1, 2, 4, 4], 'conv2', [1, 2, 4, 4], 13);
}

/** Conv -> GroupNormalization (2 groups of 2 channels; scale per group at opset 18, per channel at 21) -> Conv 1x1. */
export function groupNormModel(opset: 18 | 21): NormModel {
  const b = new Builder(505 + opset);
  const c1 = b.conv('conv1', 'x', 2, 4, 3, { pads: [1, 1, 1, 1] });
  const per = opset >= 21 ? 4 : 2;
  const gn = b.node('GroupNormalization', 'groupnorm', [c1, b.init('gn.scale', [per], b.rand(per, 0.4, 1)), b.init('gn.bias', [per], b.rand(per, 0.3))], { epsilon: 1e-5, num_groups: 2 });
  b.conv('conv2', gn, 4, 2, 1);
  return b.model(`norm-groupnorm${opset}`, [1, 2, 3, 3], 'conv2', [1, 2, 3, 3], opset);
}

/** Softmax inside a network on a non-last axis (opset 13, axis 1 of [1, 4, 6]) and, at opset 11, coerced 2-D (axis 1: all 24). */
export function softmaxAxisModel(opset: 11 | 13): NormModel {
  const b = new Builder(510 + opset);
  const g1 = b.gemm('fc1', 'x', 6, 24, 0.8);
  const r1 = b.reshape('rows', g1, [1, 4, 6]);
  const sm = b.node('Softmax', 'softmax', [r1], { axis: 1 });
  const f = b.reshape('flat', sm, [1, 24]);
  b.gemm('fc2', f, 24, 3, 2);
  return b.model(`norm-softmax${opset}`, [1, 6], 'fc2', [1, 3], opset);
}

/** Gemm -> Softmax over the one vector at the graph output: left out (the circuit proves the logits). */
export function finalSoftmaxModel(): NormModel {
  const b = new Builder(520);
  const g = b.gemm('fc', 'x', 4, 3);
  b.node('Softmax', 'softmax', [g], { axis: -1 });
  return b.model('norm-final-softmax', [1, 4], 'softmax', [1, 3], 13);
}

/** LayerNormalization asked for its Mean and InvStdDev outputs too. */
export function layerNormStashModel(): NormModel {
  const b = new Builder(521);
  const g = b.gemm('fc', 'x', 4, 6);
  b.node('LayerNormalization', 'ln', [g, b.init('s', [6], b.rand(6, 0.2, 1))], { axis: -1 }, ['ln', 'ln_mean', 'ln_inv']);
  return b.model('norm-ln-stash', [1, 4], 'ln', [1, 6], 17);
}

/** ReduceSum whose axes input is computed from the activation (ArgMax): refused. */
export function computedAxesModel(): NormModel {
  const b = new Builder(522);
  const g = b.gemm('fc', 'x', 4, 6);
  const am = b.node('ArgMax', 'am', [g], { axis: 1, keepdims: 0 });
  b.node('ReduceSum', 'sum', [g, am], { keepdims: 1 });
  return b.model('norm-computed-axes', [1, 4], 'sum', [1, 1], 13);
}

/** LogSoftmax per row inside a network: refused for now. */
export function logSoftmaxInsideModel(): NormModel {
  const b = new Builder(523);
  const g = b.gemm('fc', 'x', 4, 8);
  const r = b.reshape('rows', g, [1, 2, 4]);
  const l = b.node('LogSoftmax', 'lsm', [r], { axis: -1 });
  const f = b.reshape('flat', l, [1, 8]);
  b.gemm('fc2', f, 8, 2);
  return b.model('norm-logsoftmax', [1, 4], 'fc2', [1, 2], 13);
}

/**
 * LayerNorm decomposed as PyTorch/older exporters write it, on [1, 4, 8]: ReduceMean -> Sub -> Pow 2 ->
 * ReduceMean -> Add eps -> Sqrt -> Div -> Mul gamma -> Add beta, between two Gemms.
 */
export function decomposedLayerNormModel(): NormModel {
  const b = new Builder(530);
  const g1 = b.gemm('fc1', 'x', 8, 32, 0.6);
  const r1 = b.reshape('rows1', g1, [1, 4, 8]);
  const mu = b.node('ReduceMean', 'mean', [r1], { axes: [-1], keepdims: 1 });
  const c = b.node('Sub', 'center', [r1, mu]);
  const sq = b.node('Pow', 'square', [c, b.init('two', [], [2])]);
  const v = b.node('ReduceMean', 'var', [sq], { axes: [-1], keepdims: 1 });
  const ve = b.node('Add', 'add_eps', [v, b.init('eps', [], [1e-5])]);
  const sd = b.node('Sqrt', 'std', [ve]);
  const y = b.node('Div', 'normalize', [c, sd]);
  const m = b.node('Mul', 'gamma', [y, b.init('ln.scale', [8], b.rand(8, 0.5, 1))]);
  const a = b.node('Add', 'beta', [m, b.init('ln.bias', [8], b.rand(8, 0.3))]);
  const f1 = b.reshape('flat1', a, [1, 32]);
  b.gemm('fc2', f1, 32, 4, 0.5);
  return b.model('norm-ln-decomposed', [1, 8], 'fc2', [1, 4], 13);
}

/** Gemm -> [1, 3, 8] -> ReduceSumSquare / ReduceL1 / ReduceL2 / ReduceLogSumExp over the last axis -> Gemm. */
export function reducePowModel(op: 'ReduceSumSquare' | 'ReduceL1' | 'ReduceL2' | 'ReduceLogSumExp', opset: 13 | 18): NormModel {
  const b = new Builder(540 + op.length + opset);
  const g1 = b.gemm('fc1', 'x', 6, 24, 0.6);
  const r1 = b.reshape('rows', g1, [1, 3, 8]);
  const red = opset >= 18
    ? b.node(op, 'reduce', [r1, b.init('axes', [1], [-1], 'int64')], { keepdims: 0 })
    : b.node(op, 'reduce', [r1], { axes: [2], keepdims: 0 });
  b.gemm('fc2', red, 3, 2, 0.8);
  return b.model(`norm-${op.toLowerCase()}${opset}`, [1, 6], 'fc2', [1, 2], opset);
}

/** Softmax per row at the graph output (attention-like probabilities, [1, 2, 4]): proven, not left out. */
export function softmaxOutputModel(): NormModel {
  const b = new Builder(550);
  const g = b.gemm('fc', 'x', 5, 8, 1.2);
  const r = b.reshape('rows', g, [1, 2, 4]);
  b.node('Softmax', 'probs', [r], { axis: -1 });
  return b.model('norm-softmax-out', [1, 5], 'probs', [1, 2, 4], 13);
}

/** ReduceSum with no axes (opset 13): over every axis, keepdims 0 (a scalar), or with noop_with_empty_axes 1 (identity) then ReduceMean over all. */
export function reduceAllModel(noop: boolean): NormModel {
  const b = new Builder(560);
  const g = b.gemm('fc', 'x', 4, 6, 0.7);
  const r = b.node('ReduceSum', 'sum_all', [g], noop ? { noop_with_empty_axes: 1 } : { keepdims: 0 });
  if (noop) {
    b.node('ReduceMean', 'mean_all', [r], { keepdims: 1 });
    return b.model('norm-reduce-noop', [1, 4], 'mean_all', [1, 1], 13);
  }
  return b.model('norm-reduce-all', [1, 4], 'sum_all', [], 13);
}
