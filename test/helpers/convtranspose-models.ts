/**
 * Small ONNX models for test/convtranspose.test.ts and test/conv1d.test.ts: ConvTranspose (2-D and 1-D), 1-D
 * Conv and pooling on [1, C, L], each in a few attribute combinations. Weights are seeded random values; every
 * model has one float input 'x' and one output.
 */
import { buildOnnxModel, mulberry32, type AttrValue, type InitializerSpec, type ModelSpec, type NodeSpec } from '../../src/onnx/builder.ts';

export interface CtModel {
  name: string;
  bytes: Uint8Array;
  inputName: string;
  inputShape: number[];
  spec: ModelSpec;
}

type Attrs = Record<string, AttrValue>;

export class CtBuilder {
  readonly inits: InitializerSpec[] = [];
  readonly nodes: NodeSpec[] = [];
  private readonly rnd: () => number;
  constructor(seed: number) {
    this.rnd = mulberry32(seed);
  }
  rand(n: number, a: number): number[] {
    return Array.from({ length: n }, () => (2 * this.rnd() - 1) * a);
  }
  init(name: string, dims: number[], data: number[]): string {
    this.inits.push({ name, dims, data });
    return name;
  }
  node(op: string, name: string, inputs: string[], attrs?: Attrs): string {
    this.nodes.push({ op, name, inputs, outputs: [name], attrs });
    return name;
  }
  /** ConvTranspose with weight [inC, outC/group, ...k] (+/- a) and, unless bias = false, a bias (+/- 0.2). */
  convT(name: string, x: string, inC: number, outC: number, k: number[], attrs: Attrs = {}, bias = true, a = 0.5): string {
    const group = typeof attrs.group === 'number' ? attrs.group : 1;
    const n = (inC * outC * k.reduce((p, v) => p * v, 1)) / group;
    const w = this.init(`${name}.W`, [inC, outC / group, ...k], this.rand(n, a));
    const inputs = [x, w];
    if (bias) inputs.push(this.init(`${name}.b`, [outC], this.rand(outC, 0.2)));
    return this.node('ConvTranspose', name, inputs, attrs);
  }
  /** Conv with weight [outC, inC/group, ...k] and a bias. */
  conv(name: string, x: string, inC: number, outC: number, k: number[], attrs: Attrs = {}, a = 0.5): string {
    const group = typeof attrs.group === 'number' ? attrs.group : 1;
    const n = (inC * outC * k.reduce((p, v) => p * v, 1)) / group;
    const w = this.init(`${name}.W`, [outC, inC / group, ...k], this.rand(n, a));
    const b = this.init(`${name}.b`, [outC], this.rand(outC, 0.2));
    return this.node('Conv', name, [x, w, b], attrs);
  }
  gemm(name: string, x: string, n: number, m: number, a = 0.5): string {
    this.init(`${name}.W`, [m, n], this.rand(m * n, a));
    this.init(`${name}.b`, [m], this.rand(m, 0.1));
    return this.node('Gemm', name, [x, `${name}.W`, `${name}.b`], { transB: 1 });
  }
  reshape(name: string, x: string, shape: number[]): string {
    const s = this.init(`${name}.shape`, [shape.length], shape);
    this.inits[this.inits.length - 1].dataType = 'int64';
    return this.node('Reshape', name, [x, s]);
  }
  model(name: string, inputShape: number[], output: string, outShape: (number | string)[], opset = 13): CtModel {
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

/** One ConvTranspose on its own (for the float and quantized comparisons of each attribute set). */
export interface SingleCase {
  name: string;
  inShape: number[];
  inC: number;
  outC: number;
  k: number[];
  attrs: Attrs;
  bias?: boolean;
  /** Expected output shape (what onnxruntime computes). */
  out: number[];
}

export const singleConvTransposes: SingleCase[] = [
  { name: 'ct2d_s2_pads_outpad', inShape: [1, 2, 3, 3], inC: 2, outC: 3, k: [3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }, out: [1, 3, 6, 6] },
  { name: 'ct2d_group2_dil2', inShape: [1, 4, 4, 4], inC: 4, outC: 2, k: [3, 3], attrs: { group: 2, dilations: [2, 2], pads: [2, 1, 2, 1] }, bias: false, out: [1, 2, 4, 6] },
  { name: 'ct2d_same_upper_s2', inShape: [1, 2, 3, 3], inC: 2, outC: 2, k: [3, 3], attrs: { strides: [2, 2], auto_pad: 'SAME_UPPER' }, out: [1, 2, 6, 6] },
  { name: 'ct2d_same_lower_s2', inShape: [1, 2, 3, 3], inC: 2, outC: 2, k: [3, 3], attrs: { strides: [2, 2], auto_pad: 'SAME_LOWER' }, out: [1, 2, 6, 6] },
  { name: 'ct2d_output_shape', inShape: [1, 2, 3, 4], inC: 2, outC: 2, k: [2, 3], attrs: { strides: [3, 2], output_shape: [7, 8] }, out: [1, 2, 7, 8] },
  { name: 'ct2d_same_upper_k1_s2', inShape: [1, 1, 3, 3], inC: 1, outC: 2, k: [1, 1], attrs: { strides: [2, 2], auto_pad: 'SAME_UPPER' }, out: [1, 2, 5, 5] },
  { name: 'ct2d_valid_rect', inShape: [1, 3, 2, 3], inC: 3, outC: 2, k: [2, 3], attrs: { strides: [1, 2], auto_pad: 'VALID' }, out: [1, 2, 3, 7] },
  { name: 'ct2d_depthwise_s2', inShape: [1, 3, 3, 3], inC: 3, outC: 3, k: [4, 4], attrs: { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] }, out: [1, 3, 6, 6] },
  { name: 'ct1d_s2_pads_outpad', inShape: [1, 2, 5], inC: 2, outC: 3, k: [3], attrs: { strides: [2], pads: [1, 0], output_padding: [1] }, out: [1, 3, 11] },
  { name: 'ct1d_group2_dil2', inShape: [1, 4, 6], inC: 4, outC: 4, k: [3], attrs: { group: 2, dilations: [2] }, bias: false, out: [1, 4, 10] },
  { name: 'ct1d_same_upper_s3', inShape: [1, 2, 4], inC: 2, outC: 2, k: [4], attrs: { strides: [3], auto_pad: 'SAME_UPPER' }, out: [1, 2, 12] },
  { name: 'ct1d_output_shape', inShape: [1, 1, 4], inC: 1, outC: 2, k: [3], attrs: { strides: [2], output_shape: [8] }, out: [1, 2, 8] },
];

export function singleModel(c: SingleCase, seed: number): CtModel {
  const b = new CtBuilder(seed);
  const y = b.convT('ct', 'x', c.inC, c.outC, c.k, c.attrs, c.bias ?? true);
  return b.model(c.name, c.inShape, y, c.out.map(() => '?'));
}

/**
 * Several ConvTranspose forms in one circuit: 2-D stride 2 with pads and output_padding, Relu, a grouped
 * dilated one on the accumulator (linear after linear), SAME_LOWER, output_shape with odd total padding,
 * then a Reshape to [1, C, L] and 1-D ones (stride 2 with output_padding, Relu, grouped with dilations).
 */
export function convTransposeChain(): CtModel {
  const b = new CtBuilder(601);
  let y = b.convT('ct_s2', 'x', 2, 4, [3, 3], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }); // [1,4,4,4]
  y = b.node('Relu', 'relu1', [y]);
  y = b.convT('ct_grp', y, 4, 2, [3, 3], { group: 2, dilations: [2, 2], pads: [2, 2, 2, 2] }, false); // [1,2,4,4]
  y = b.convT('ct_same', y, 2, 2, [2, 2], { auto_pad: 'SAME_LOWER' }); // [1,2,4,4]
  y = b.node('Relu', 'relu2', [y]);
  y = b.convT('ct_oshape', y, 2, 1, [2, 3], { strides: [1, 2], output_shape: [4, 8] }); // [1,1,4,8]
  y = b.reshape('to1d', y, [1, 4, 8]);
  y = b.convT('ct1_s2', y, 4, 2, [3], { strides: [2], pads: [1, 1], output_padding: [1] }); // [1,2,16]
  y = b.node('Relu', 'relu3', [y]);
  y = b.convT('ct1_grp', y, 2, 2, [2], { group: 2, dilations: [3], strides: [1] }); // [1,2,19]
  return b.model('ct_chain', [1, 2, 2, 2], y, [1, 2, 19]);
}

/** A tiny generator: Gemm -> Reshape -> ConvTranspose(stride 2) -> Relu -> ConvTranspose -> Tanh. */
export function generatorModel(): CtModel {
  const b = new CtBuilder(602);
  let y = b.gemm('fc', 'x', 4, 2 * 3 * 3);
  y = b.reshape('reshape', y, [1, 2, 3, 3]);
  y = b.convT('up1', y, 2, 3, [4, 4], { strides: [2, 2], pads: [1, 1, 1, 1] }); // [1,3,6,6]
  y = b.node('Relu', 'relu', [y]);
  y = b.convT('up2', y, 3, 1, [3, 3], { pads: [1, 1, 1, 1] }); // [1,1,6,6]
  y = b.node('Tanh', 'tanh', [y]);
  return b.model('ct_generator', [1, 4], y, [1, 1, 6, 6]);
}

/** One 1-D Conv on its own. */
export interface Conv1dCase {
  name: string;
  inShape: number[];
  inC: number;
  outC: number;
  k: number;
  attrs: Attrs;
  out: number[];
}

export const singleConv1ds: Conv1dCase[] = [
  { name: 'conv1d_s2_pads', inShape: [1, 2, 9], inC: 2, outC: 3, k: 3, attrs: { strides: [2], pads: [1, 2] }, out: [1, 3, 5] },
  { name: 'conv1d_dil2_group2', inShape: [1, 4, 10], inC: 4, outC: 2, k: 3, attrs: { dilations: [2], group: 2 }, out: [1, 2, 6] },
  { name: 'conv1d_depthwise_same_upper', inShape: [1, 3, 8], inC: 3, outC: 3, k: 4, attrs: { group: 3, strides: [3], auto_pad: 'SAME_UPPER' }, out: [1, 3, 3] },
  { name: 'conv1d_same_lower', inShape: [1, 2, 7], inC: 2, outC: 2, k: 2, attrs: { auto_pad: 'SAME_LOWER' }, out: [1, 2, 7] },
  { name: 'conv1d_valid_kernel_shape', inShape: [1, 2, 6], inC: 2, outC: 4, k: 5, attrs: { auto_pad: 'VALID', kernel_shape: [5] }, out: [1, 4, 2] },
];

export function singleConv1dModel(c: Conv1dCase, seed: number): CtModel {
  const b = new CtBuilder(seed);
  const y = b.conv('conv', 'x', c.inC, c.outC, [c.k], c.attrs);
  return b.model(c.name, c.inShape, y, c.out.map(() => '?'));
}

/** One pooling op on its own (1-D, or 2-D with ceil_mode). */
export interface PoolCase {
  name: string;
  op: 'MaxPool' | 'AveragePool' | 'GlobalAveragePool' | 'GlobalMaxPool';
  inShape: number[];
  attrs: Attrs;
  out: number[];
  opset?: number;
}

export const singlePools: PoolCase[] = [
  { name: 'maxpool1d_k2', op: 'MaxPool', inShape: [1, 2, 8], attrs: { kernel_shape: [2], strides: [2] }, out: [1, 2, 4] },
  { name: 'maxpool1d_ceil_pads', op: 'MaxPool', inShape: [1, 2, 7], attrs: { kernel_shape: [3], strides: [2], pads: [1, 1], ceil_mode: 1 }, out: [1, 2, 4] },
  { name: 'maxpool1d_dil2_pads', op: 'MaxPool', inShape: [1, 1, 9], attrs: { kernel_shape: [2], dilations: [2], strides: [2], pads: [1, 1] }, out: [1, 1, 5], opset: 12 },
  { name: 'avgpool1d_excl', op: 'AveragePool', inShape: [1, 2, 7], attrs: { kernel_shape: [3], strides: [2], pads: [1, 1] }, out: [1, 2, 4] },
  { name: 'avgpool1d_incl', op: 'AveragePool', inShape: [1, 2, 7], attrs: { kernel_shape: [3], strides: [2], pads: [1, 1], count_include_pad: 1 }, out: [1, 2, 4] },
  { name: 'avgpool1d_ceil_incl', op: 'AveragePool', inShape: [1, 2, 6], attrs: { kernel_shape: [3], strides: [2], pads: [1, 0], ceil_mode: 1, count_include_pad: 1 }, out: [1, 2, 3] },
  { name: 'avgpool1d_ceil_excl', op: 'AveragePool', inShape: [1, 1, 8], attrs: { kernel_shape: [3], strides: [3], ceil_mode: 1 }, out: [1, 1, 3] },
  { name: 'avgpool2d_ceil_incl', op: 'AveragePool', inShape: [1, 2, 5, 6], attrs: { kernel_shape: [2, 3], strides: [2, 2], pads: [1, 0, 0, 1], ceil_mode: 1, count_include_pad: 1 }, out: [1, 2, 3, 3] },
  { name: 'maxpool2d_ceil', op: 'MaxPool', inShape: [1, 2, 5, 5], attrs: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }, out: [1, 2, 3, 3] },
  { name: 'avgpool1d_dil2_ceil_incl', op: 'AveragePool', inShape: [1, 1, 10], attrs: { kernel_shape: [3], dilations: [2], strides: [2], pads: [1, 1], ceil_mode: 1, count_include_pad: 1 }, out: [1, 1, 5], opset: 19 },
  { name: 'avgpool1d_same_lower_incl', op: 'AveragePool', inShape: [1, 2, 10], attrs: { kernel_shape: [4], strides: [3], auto_pad: 'SAME_LOWER', count_include_pad: 1 }, out: [1, 2, 4] },
  { name: 'maxpool2d_dil_ceil_pads', op: 'MaxPool', inShape: [1, 1, 3, 10], attrs: { kernel_shape: [2, 3], dilations: [1, 2], strides: [1, 3], pads: [0, 1, 1, 1], ceil_mode: 1 }, out: [1, 1, 3, 4], opset: 12 },
  { name: 'gap1d', op: 'GlobalAveragePool', inShape: [1, 3, 7], attrs: {}, out: [1, 3, 1] },
  { name: 'gmp1d', op: 'GlobalMaxPool', inShape: [1, 3, 7], attrs: {}, out: [1, 3, 1] },
];

export function singlePoolModel(c: PoolCase): CtModel {
  const b = new CtBuilder(1);
  const y = b.node(c.op, 'pool', ['x'], c.attrs);
  return b.model(c.name, c.inShape, y, c.out.map(() => '?'), c.opset ?? 13);
}

/**
 * 1-D forms in one circuit: Conv1d stride 2 with pads, Relu, MaxPool1d with ceil_mode and pads, Conv1d
 * depthwise with dilations on the accumulator, AveragePool1d count_include_pad with ceil_mode,
 * Conv1d VALID, GlobalMaxPool.
 */
export function conv1dChain(): CtModel {
  const b = new CtBuilder(701);
  let y = b.conv('c1', 'x', 2, 4, [3], { strides: [2], pads: [1, 1] }); // [1,4,6]
  y = b.node('Relu', 'relu1', [y]);
  y = b.node('MaxPool', 'mp', [y], { kernel_shape: [3], strides: [2], pads: [1, 1], ceil_mode: 1 }); // [1,4,4]
  y = b.conv('c2', y, 4, 4, [2], { group: 4, dilations: [2], pads: [1, 1] }); // [1,4,4]
  y = b.node('AveragePool', 'ap', [y], { kernel_shape: [2], strides: [2], pads: [1, 0], ceil_mode: 1, count_include_pad: 1 }); // [1,4,3]
  y = b.node('Relu', 'relu2', [y]);
  y = b.conv('c3', y, 4, 3, [2], { auto_pad: 'VALID' }); // [1,3,2]
  y = b.node('GlobalMaxPool', 'gmp', [y]); // [1,3,1]
  return b.model('conv1d_chain', [1, 2, 11], y, [1, 3, 1]);
}

/** A 1-D CNN: Conv1d -> Relu -> MaxPool1d -> Conv1d -> GlobalAveragePool -> Flatten -> Gemm. */
export function cnn1dModel(): CtModel {
  const b = new CtBuilder(702);
  let y = b.conv('conv1', 'x', 1, 4, [3], { pads: [1, 1] }); // [1,4,12]
  y = b.node('Relu', 'relu1', [y]);
  y = b.node('MaxPool', 'pool1', [y], { kernel_shape: [2], strides: [2] }); // [1,4,6]
  y = b.conv('conv2', y, 4, 4, [3], {}); // [1,4,4]
  y = b.node('GlobalAveragePool', 'gap', [y]); // [1,4,1]
  y = b.node('Flatten', 'flatten', [y]);
  y = b.gemm('fc', y, 4, 3);
  return b.model('cnn1d', [1, 1, 12], y, [1, 3]);
}
