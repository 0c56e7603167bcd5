/**
 * Small ONNX models for test/ops.test.ts, each grouping several ops of the CNN op set so that few circuits
 * need compiling. Weights are seeded random values; every model has one float input and one output.
 */
import { buildOnnxModel, type ModelSpec, type NodeSpec } from '../../src/onnx/builder.ts';
import { ModelBuilder } from './model-builder.ts';

export interface OpsModel {
  name: string;
  bytes: Uint8Array;
  inputName: string;
  inputShape: number[];
  spec: ModelSpec;
}

class Builder extends ModelBuilder {
  /** Conv with random weights [outC, inC/group, k, k] (+/- a) and bias (+/- b). */
  conv(name: string, x: string, inC: number, outC: number, k: number, attrs: NodeSpec['attrs'] = {}, a = 0.5, b = 0.2): string {
    const group = typeof attrs.group === 'number' ? attrs.group : 1;
    const w = this.init(`${name}.W`, [outC, inC / group, k, k], this.rand((outC * inC * k * k) / group, a));
    const bias = this.init(`${name}.b`, [outC], this.rand(outC, b));
    return this.node('Conv', name, [x, w, bias], attrs);
  }
  gemm(name: string, x: string, n: number, m: number, a = 0.5, rows?: (w: number[]) => void): string {
    const w = this.rand(m * n, a);
    rows?.(w);
    this.init(`${name}.W`, [m, n], w);
    this.init(`${name}.b`, [m], this.rand(m, 0.1));
    return this.node('Gemm', name, [x, `${name}.W`, `${name}.b`], { transB: 1 });
  }
  model(name: string, inputShape: number[], output: string, outShape: (number | string)[], opset = 13, outType?: 'int64'): OpsModel {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', shape: inputShape }],
      outputs: [{ name: output, shape: outShape, elemType: outType }],
      initializers: this.inits,
      nodes: this.nodes,
      opset,
      graphName: name,
    };
    return { name, bytes: buildOnnxModel(spec), inputName: 'x', inputShape, spec };
  }
}

const channelConst = (b: Builder, name: string, vals: number[], dims: number[]) => b.init(name, dims, vals);

/**
 * Conv forms: a standalone BatchNormalization on the input, Conv stride 2 with explicit pads, a depthwise
 * Conv (group = C) with dilations 2 followed by a BatchNormalization that folds into it, Conv with
 * auto_pad SAME_UPPER (stride 2: asymmetric pads), Relu6 = Clip(0, 6) on an accumulator, Conv auto_pad VALID.
 */
export function convModel(): OpsModel {
  const b = new Builder(101);
  const C = 3;
  const bn0 = b.node('BatchNormalization', 'bn0', ['x',
    channelConst(b, 'bn0.s', [1.5, -0.8, 0.6], [C]), channelConst(b, 'bn0.b', [0.1, -0.2, 0.3], [C]),
    channelConst(b, 'bn0.m', [0.05, -0.1, 0.2], [C]), channelConst(b, 'bn0.v', [0.9, 1.2, 0.5], [C])], { epsilon: 1e-5 });
  const c1 = b.conv('conv_s2', bn0, C, 4, 3, { strides: [2, 2], pads: [1, 1, 1, 1] });
  const r1 = b.node('Relu', 'relu1', [c1]);
  const c2 = b.conv('conv_dw', r1, 4, 4, 3, { group: 4, dilations: [2, 2], pads: [2, 2, 2, 2] }, 0.8);
  const bn = b.node('BatchNormalization', 'bn_fold', [c2,
    channelConst(b, 'bn.s', [1.2, 0.7, -1.1, 0.9], [4]), channelConst(b, 'bn.b', [0.2, -0.1, 0.05, 0.3], [4]),
    channelConst(b, 'bn.m', [0.1, 0.0, -0.2, 0.15], [4]), channelConst(b, 'bn.v', [0.5, 1.5, 0.8, 1.0], [4])]);
  const r2 = b.node('Relu', 'relu2', [bn]);
  const c3 = b.conv('conv_same', r2, 4, 4, 3, { strides: [2, 2], auto_pad: 'SAME_UPPER' }, 1.6);
  const lo = b.init('zero', [], [0]);
  const hi = b.init('six', [], [6]);
  const r6 = b.node('Clip', 'relu6', [c3, lo, hi]);
  b.conv('conv_valid', r6, 4, 3, 2, { auto_pad: 'VALID' });
  return b.model('ops-conv', [1, C, 12, 12], 'conv_valid', [1, 3, 2, 2]);
}

/**
 * Pooling: MaxPool 2x2 and MaxPool 3x3 stride 1 with pads on an accumulator (Conv -> Relu, the ReLU applied
 * after the pools), AveragePool with pads and count_include_pad 0 then 1, GlobalAveragePool -> Flatten ->
 * Gemm (the window sums feed the Gemm with no requantization between them).
 */
export function poolModel(): OpsModel {
  const b = new Builder(202);
  const c = b.conv('conv', 'x', 2, 3, 3, { pads: [1, 1, 1, 1] }, 0.6);
  const r = b.node('Relu', 'relu', [c]);
  const mp = b.node('MaxPool', 'maxpool2', [r], { kernel_shape: [2, 2], strides: [2, 2] });
  const mp3 = b.node('MaxPool', 'maxpool3', [mp], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const ap0 = b.node('AveragePool', 'avgpool_excl', [mp3], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 0 });
  const ap1 = b.node('AveragePool', 'avgpool_incl', [ap0], { kernel_shape: [2, 2], pads: [1, 1, 0, 0], count_include_pad: 1 });
  const gap = b.node('GlobalAveragePool', 'gap', [ap1]);
  const f = b.node('Flatten', 'flatten', [gap]);
  b.gemm('fc', f, 3, 4, 1.5);
  return b.model('ops-pool', [1, 2, 8, 8], 'fc', [1, 4]);
}

/**
 * Gadgets on uint8 tensors: MaxPool 2x2 of the input (uint8 comparisons), Clip (opset 13, min and max
 * inputs) on uint8, Pad with a non-zero constant on uint8, GlobalMaxPool, Flatten, ArgMax (keepdims 0,
 * first maximum). Clip makes ties at its upper bound common.
 */
export function u8GadgetModel(): OpsModel {
  const b = new Builder(303);
  const mp = b.node('MaxPool', 'maxpool_u8', ['x'], { kernel_shape: [2, 2], strides: [2, 2] });
  const cl = b.node('Clip', 'clip_u8', [mp, b.init('lo', [], [-0.3]), b.init('hi', [], [0.9])]);
  const pd = b.node('Pad', 'pad_u8', [cl, b.init('pads', [8], [0, 0, 1, 0, 0, 0, 0, 1], 'int64'), b.init('pv', [], [0.25])], { mode: 'constant' });
  const g = b.node('GlobalMaxPool', 'gmp', [pd]);
  const f = b.node('Flatten', 'flatten', [g]);
  b.node('ArgMax', 'argmax', [f], { axis: 1, keepdims: 0 });
  return b.model('ops-u8', [1, 5, 4, 4], 'argmax', [1], 13, 'int64');
}

/**
 * Elementwise and data movement: a residual Add (x -> Conv -> Relu -> Conv, + x), Sub of two activations,
 * Mul, Div and Add by per-channel constants, Concat (axis 1) of an accumulator and the uint8 input,
 * Transpose, Unsqueeze, Squeeze and Pad with a non-zero constant.
 */
export function elementwiseModel(): OpsModel {
  const b = new Builder(404);
  const C = 3;
  const c1 = b.conv('res_conv1', 'x', C, C, 3, { pads: [1, 1, 1, 1] });
  const r1 = b.node('Relu', 'res_relu', [c1]);
  const c2 = b.conv('res_conv2', r1, C, C, 3, { pads: [1, 1, 1, 1] });
  const add = b.node('Add', 'residual_add', [c2, 'x']);
  const sub = b.node('Sub', 'sub_act', [add, r1]);
  const mul = b.node('Mul', 'mul_const', [sub, b.init('mulc', [1, C, 1, 1], [0.5, -2, 1.25])]);
  const div = b.node('Div', 'div_const', [mul, b.init('divc', [C, 1, 1], [2, 0.4, -3])]);
  const addc = b.node('Add', 'add_const', [b.init('addc', [1, C, 1, 1], [0.3, -0.2, 0.1]), div]);
  const cat = b.node('Concat', 'concat', [addc, 'x'], { axis: 1 });
  const tr = b.node('Transpose', 'transpose', [cat], { perm: [0, 2, 3, 1] });
  const un = b.node('Unsqueeze', 'unsqueeze', [tr, b.init('ax0', [1], [0], 'int64')]);
  const sq = b.node('Squeeze', 'squeeze', [un, b.init('ax0b', [1], [0], 'int64')]);
  b.node('Pad', 'pad', [sq, b.init('pads', [8], [0, 1, 0, 0, 0, 0, 1, 1], 'int64'), b.init('pv', [], [0.7])]);
  return b.model('ops-elementwise', [1, C, 4, 4], 'pad', [1, 5, 5, 7]);
}

/** LUT activations in a small MLP: LeakyRelu, Sigmoid, Tanh; then Relu6 (Clip 0..6) and a final Softmax. */
export function activationModel(): OpsModel {
  const b = new Builder(505);
  const g1 = b.gemm('fc1', 'x', 12, 10, 0.8);
  const a1 = b.node('LeakyRelu', 'leaky', [g1], { alpha: 0.1 });
  const g2 = b.gemm('fc2', a1, 10, 10, 0.9);
  const a2 = b.node('Sigmoid', 'sigmoid', [g2]);
  const g3 = b.gemm('fc3', a2, 10, 8, 2);
  const a3 = b.node('Tanh', 'tanh', [g3]);
  const g4 = b.gemm('fc4', a3, 8, 8, 4);
  const a4 = b.node('Clip', 'relu6', [g4, b.init('zero', [], [0]), b.init('six', [], [6])]);
  const g5 = b.gemm('fc5', a4, 8, 5, 1);
  b.node('Softmax', 'softmax', [g5], { axis: 1 });
  return b.model('ops-activations', [1, 12], 'softmax', [1, 5]);
}

/** ArgMax of the uint8 input itself: keepdims 1, last maximum. */
export function argmaxInputModel(): OpsModel {
  const b = new Builder(606);
  b.node('ArgMax', 'argmax_last', ['x'], { axis: 1, keepdims: 1, select_last_index: 1 });
  return b.model('ops-argmax-input', [1, 6], 'argmax_last', [1, 1], 13, 'int64');
}

/**
 * ArgMax of Gemm logits with per-channel scales (aligned by integer multipliers): rows 1 and 4 of the weight
 * are equal, so those two logits are always equal, in float and after quantization; last maximum.
 */
export function argmaxLogitsModel(): OpsModel {
  const b = new Builder(707);
  const n = 8;
  const g = b.gemm('fc', 'x', n, 6, 0.7, (w) => {
    for (let i = 0; i < n; i++) w[4 * n + i] = w[1 * n + i] * 1;
  });
  // Same bias for rows 1 and 4, and large so they are usually the maximum.
  const bias = b.inits.find((t) => t.name === 'fc.b')!;
  (bias.data as number[])[1] = 1.5;
  (bias.data as number[])[4] = 1.5;
  b.node('ArgMax', 'argmax_tie', [g], { axis: -1, keepdims: 0, select_last_index: 1 });
  return b.model('ops-argmax-logits', [1, n], 'argmax_tie', [1], 13, 'int64');
}

/**
 * Opset 9 forms: Pad with attributes (non-zero value), Clip with min/max attributes on the uint8 input
 * (a clamp at both ends), Conv, Clip(0, 6) as attributes (Relu6 on an accumulator), Flatten, Gemm.
 */
export function opset9Model(): OpsModel {
  const b = new Builder(909);
  const pd = b.node('Pad', 'pad9', ['x'], { mode: 'constant', pads: [0, 0, 1, 1, 0, 0, 0, 0], value: { float: 0.1 } });
  const cl = b.node('Clip', 'clip9_u8', [pd], { min: { float: -0.5 }, max: { float: 0.45 } });
  const c = b.conv('conv', cl, 2, 3, 3, {}, 3);
  const r6 = b.node('Clip', 'relu6_9', [c], { min: { float: 0 }, max: { float: 6 } });
  const f = b.node('Flatten', 'flatten', [r6]);
  b.gemm('fc', f, 3 * 3 * 3, 4, 0.5);
  return b.model('ops-opset9', [1, 2, 4, 4], 'fc', [1, 4], 9);
}

/** A model with an op zkonnx does not support: Det (a determinant, after a Gemm). */
export function unsupportedModel(): OpsModel {
  const b = new Builder(1);
  const g = b.gemm('fc', 'x', 4, 4);
  const e = b.node('Det', 'my_det', [g]);
  b.node('Relu', 'relu', [e]);
  return b.model('ops-unsupported', [1, 4], 'relu', [1, 4]);
}

/** TopK (k = 2) of a Gemm's outputs: an op zkonnx does not support on activations. */
export function topkModel(): OpsModel {
  const b = new Builder(2);
  const g = b.gemm('fc', 'x', 4, 5);
  b.init('k', [1], [2], 'int64');
  b.nodes.push({ op: 'TopK', name: 'the_topk', inputs: [g, 'k'], outputs: ['vals', 'idx'], attrs: { axis: -1 } });
  return b.model('ops-topk', [1, 4], 'vals', [1, 2]);
}

/**
 * ArgMax of Gemm logits whose scales differ ~50x: row 2's weights are 47x smaller, and its bias (1.2) keeps it
 * competitive, so its integers are large and its multiplier must be precise.
 */
export function argmaxScalesModel(): OpsModel {
  const b = new Builder(808);
  const n = 8;
  const g = b.gemm('fc', 'x', n, 4, 0.7, (w) => {
    for (let i = 0; i < n; i++) w[2 * n + i] /= 47;
  });
  (b.inits.find((t) => t.name === 'fc.b')!.data as number[]).splice(0, 4, 0, 0, 1.2, 0);
  b.node('ArgMax', 'argmax', [g], { axis: 1, keepdims: 0 });
  return b.model('ops-argmax-scales', [1, n], 'argmax', [1], 13, 'int64');
}

/** Clip ranges entirely above and below the uint8 input's grid ([-1, 1] calibrated). */
export function clipOutsideModel(lo: number, hi: number): OpsModel {
  const b = new Builder(1);
  b.node('Clip', 'clip_outside', ['x', b.init('lo', [], [lo]), b.init('hi', [], [hi])]);
  return b.model(`ops-clip-outside-${lo}`, [1, 4], 'clip_outside', [1, 4]);
}
