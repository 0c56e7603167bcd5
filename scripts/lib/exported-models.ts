/**
 * ONNX models written the way common exporters write them (PyTorch's torch.onnx.export, skl2onnx), for
 * test/exported.test.ts and scripts/lib/exported.ts: shape subgraphs, decomposed LayerNorm, GELU via Erf, attention with
 * Shape/Gather/Reshape/Transpose/Softmax/MatMul, a DLinear-style forecaster, and a small transformer block on
 * int64 token ids. Seeded random weights; one builder per model.
 */
import { buildOnnxModel, mulberry32, type InitializerSpec, type ModelSpec, type NodeSpec, type ValueInfoSpec } from '../../src/onnx/builder.ts';

export interface ExportedModel {
  name: string;
  bytes: Uint8Array;
  spec: ModelSpec;
  /** Graph inputs: name, shape (batch 1), and how to draw a random sample. */
  inputs: { name: string; shape: number[]; dtype: 'float' | 'int64' | 'bool'; sample: (rnd: () => number) => number[] }[];
}

export class GraphWriter {
  readonly inits: InitializerSpec[] = [];
  readonly nodes: NodeSpec[] = [];
  private readonly rnd: () => number;
  private n = 0;
  constructor(seed: number) {
    this.rnd = mulberry32(seed);
  }
  rand(n: number, a: number): number[] {
    return Array.from({ length: n }, () => (2 * this.rnd() - 1) * a);
  }
  init(name: string, dims: number[], data: number[], dataType?: InitializerSpec['dataType']): string {
    this.inits.push({ name, dims, data, dataType });
    return name;
  }
  i64(name: string, data: number[]): string {
    return this.init(name, [data.length], data, 'int64');
  }
  scalar(name: string, v: number): string {
    this.inits.push({ name, dims: [], data: [v] });
    return name;
  }
  /** One node; returns its (first) output name. */
  op(op: string, inputs: string[], attrs?: NodeSpec['attrs'], outputs?: string[]): string {
    const name = `${op}_${this.n++}`;
    const outs = outputs ?? [name];
    this.nodes.push({ op, name, inputs, outputs: outs, attrs });
    return outs[0];
  }
  /** nn.Linear as PyTorch exports it on a [.., in] tensor: MatMul by W^T then Add bias. */
  linear(x: string, inF: number, outF: number, a = 1 / Math.sqrt(inF), prefix = `lin${this.n}`): string {
    const w = this.init(`${prefix}.weight_T`, [inF, outF], this.rand(inF * outF, a));
    const b = this.init(`${prefix}.bias`, [outF], this.rand(outF, 0.1));
    return this.op('Add', [this.op('MatMul', [x, w]), b]);
  }
  /** LayerNorm decomposed as older exporters write it: ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul, Add. */
  layerNormDecomposed(x: string, d: number, opset: number): string {
    const axesAttr = opset < 18 ? { axes: [-1] } : undefined;
    const mean = (t: string) => (opset < 18 ? this.op('ReduceMean', [t], axesAttr) : this.op('ReduceMean', [t, this.i64(`ax${this.n}`, [-1])]));
    const mu = mean(x);
    const c = this.op('Sub', [x, mu]);
    const sq = this.op('Pow', [c, this.scalar(`two${this.n}`, 2)]);
    const v = mean(sq);
    const ve = this.op('Add', [v, this.scalar(`eps${this.n}`, 1e-5)]);
    const sd = this.op('Sqrt', [ve]);
    const y = this.op('Div', [c, sd]);
    const g = this.init(`ln${this.n}.weight`, [d], this.rand(d, 0.3).map((v) => 1 + v));
    const b = this.init(`ln${this.n}.bias`, [d], this.rand(d, 0.1));
    return this.op('Add', [this.op('Mul', [y, g]), b]);
  }
  /** LayerNormalization (opset 17). */
  layerNorm(x: string, d: number): string {
    const g = this.init(`ln${this.n}.weight`, [d], this.rand(d, 0.3).map((v) => 1 + v));
    const b = this.init(`ln${this.n}.bias`, [d], this.rand(d, 0.1));
    return this.op('LayerNormalization', [x, g, b], { axis: -1, epsilon: 1e-5 });
  }
  /** GELU as torch.onnx exports nn.GELU() before opset 20: x * 0.5 * (1 + erf(x / sqrt 2)). */
  geluErf(x: string): string {
    const e = this.op('Erf', [this.op('Div', [x, this.scalar(`sqrt2_${this.n}`, Math.SQRT2)])]);
    const h = this.op('Mul', [x, this.op('Add', [e, this.scalar(`one${this.n}`, 1)])]);
    return this.op('Mul', [h, this.scalar(`half${this.n}`, 0.5)]);
  }
  /**
   * One attention head as PyTorch exports it: q, k, v projections, head split through Shape/Gather/Concat/Reshape
   * and Transpose, scores = q k^T / sqrt(d), Softmax(-1), attn v, merge back and an output projection.
   */
  attention(x: string, t: number, d: number, heads = 1): string {
    const dh = d / heads;
    const q = this.linear(x, d, d, undefined, `attn${this.n}.q`);
    const k = this.linear(x, d, d, undefined, `attn${this.n}.k`);
    const v = this.linear(x, d, d, undefined, `attn${this.n}.v`);
    // new_shape = x.shape[:-1] + (heads, dh): Shape -> Gather(0), Gather(1) -> Unsqueeze -> Concat -> Reshape.
    const shp = this.op('Shape', [x]);
    const b0 = this.op('Unsqueeze', [this.op('Gather', [shp, this.init(`i0_${this.n}`, [], [0], 'int64')], { axis: 0 }), this.i64(`ua${this.n}`, [0])]);
    const t0 = this.op('Unsqueeze', [this.op('Gather', [shp, this.init(`i1_${this.n}`, [], [1], 'int64')], { axis: 0 }), this.i64(`ub${this.n}`, [0])]);
    const split = this.op('Concat', [b0, t0, this.i64(`h${this.n}`, [heads]), this.i64(`dh${this.n}`, [dh])], { axis: 0 });
    const heads4 = (z: string) => this.op('Transpose', [this.op('Reshape', [z, split])], { perm: [0, 2, 1, 3] });
    const qh = heads4(q);
    const kh = heads4(k);
    const vh = heads4(v);
    const scores = this.op('Div', [this.op('MatMul', [qh, this.op('Transpose', [kh], { perm: [0, 1, 3, 2] })]), this.scalar(`sd${this.n}`, Math.sqrt(dh))]);
    const p = this.op('Softmax', [scores], { axis: -1 });
    const ctxh = this.op('Transpose', [this.op('MatMul', [p, vh])], { perm: [0, 2, 1, 3] });
    const merged = this.op('Reshape', [ctxh, this.i64(`ms${this.n}`, [1, t, d])]);
    return this.linear(merged, d, d, undefined, `attn${this.n}.o`);
  }
  model(name: string, inputs: ValueInfoSpec[], outputs: ValueInfoSpec[], opset: number): { bytes: Uint8Array; spec: ModelSpec } {
    const spec: ModelSpec = { inputs, outputs, initializers: this.inits, nodes: this.nodes, opset, graphName: name, producer: 'pytorch' };
    return { bytes: buildOnnxModel(spec), spec };
  }
}

const floatSample = (n: number, a = 1) => (rnd: () => number) => Array.from({ length: n }, () => (2 * rnd() - 1) * a);

/** A per-token MLP on [1, T, D] (nn.Linear on a sequence): MatMul by constants with several rows. */
export function tokenMlp(t = 4, d = 8, h = 6): ExportedModel {
  const g = new GraphWriter(11);
  const y = g.linear(g.op('Relu', [g.linear('x', d, h)]), h, 3);
  const { bytes, spec } = g.model('token-mlp', [{ name: 'x', shape: [1, t, d] }], [{ name: y, shape: [1, t, 3] }], 13);
  return { name: 'token-mlp', bytes, spec, inputs: [{ name: 'x', shape: [1, t, d], dtype: 'float', sample: floatSample(t * d) }] };
}

/** x.view(x.size(0), -1) then an MLP: Shape -> Gather -> Unsqueeze -> Concat -> Reshape, batch symbolic. */
export function viewFlattenMlp(): ExportedModel {
  const g = new GraphWriter(12);
  const shp = g.op('Shape', ['x']);
  const n = g.op('Unsqueeze', [g.op('Gather', [shp, g.init('zero', [], [0], 'int64')], { axis: 0 }), g.i64('ax0', [0])]);
  const flat = g.op('Reshape', ['x', g.op('Concat', [n, g.i64('minus1', [-1])], { axis: 0 })]);
  const w = g.init('fc.weight', [5, 12], g.rand(60, 0.5));
  const b = g.init('fc.bias', [5], g.rand(5, 0.1));
  const y = g.op('Gemm', [flat, w, b], { transB: 1 });
  const { bytes, spec } = g.model('view-flatten-mlp', [{ name: 'x', shape: ['batch', 3, 4] }], [{ name: y, shape: ['batch', 5] }], 13);
  return { name: 'view-flatten-mlp', bytes, spec, inputs: [{ name: 'x', shape: [1, 3, 4], dtype: 'float', sample: floatSample(12) }] };
}

/** LayerNorm decomposed, then a GELU written with Erf, on [1, T, D]. */
export function layerNormGelu(t = 4, d = 8, opset = 13): ExportedModel {
  const g = new GraphWriter(13);
  const h = g.layerNormDecomposed(g.linear('x', d, d), d, opset);
  const y = g.linear(g.geluErf(g.linear(h, d, 2 * d)), 2 * d, 4);
  const { bytes, spec } = g.model('layernorm-gelu', [{ name: 'x', shape: [1, t, d] }], [{ name: y, shape: [1, t, 4] }], opset);
  return { name: 'layernorm-gelu', bytes, spec, inputs: [{ name: 'x', shape: [1, t, d], dtype: 'float', sample: floatSample(t * d) }] };
}

/** One attention head on [1, T, D] float input, as PyTorch exports it. */
export function attentionHead(t = 4, d = 8): ExportedModel {
  const g = new GraphWriter(14);
  const y = g.attention('x', t, d);
  const { bytes, spec } = g.model('attention-head', [{ name: 'x', shape: [1, t, d] }], [{ name: y, shape: [1, t, d] }], 13);
  return { name: 'attention-head', bytes, spec, inputs: [{ name: 'x', shape: [1, t, d], dtype: 'float', sample: floatSample(t * d) }] };
}

/**
 * DLinear (Zeng et al. 2023) as exported from PyTorch: x [1, L, C]; the trend is a moving average of kernel k
 * (the series padded by repeating its first and last values: Slice + Expand/Concat, then AvgPool1d on
 * [1, C, L]), seasonal = x - trend; one Linear L -> H over time for each part, summed: [1, H, C].
 */
export function dlinear(l = 24, c = 2, h = 6, k = 5): ExportedModel {
  const g = new GraphWriter(15);
  const p = (k - 1) / 2;
  const first = g.op('Slice', ['x', g.i64('s0', [0]), g.i64('e0', [1]), g.i64('a0', [1])]);
  const last = g.op('Slice', ['x', g.i64('s1', [-1]), g.i64('e1', [l]), g.i64('a1', [1])]);
  const rep = (z: string, tag: string) => g.op('Expand', [z, g.i64(`rep${tag}`, [1, p, c])]);
  const padded = g.op('Concat', [rep(first, 'f'), 'x', rep(last, 'l')], { axis: 1 });
  const trendT = g.op('AveragePool', [g.op('Transpose', [padded], { perm: [0, 2, 1] })], { kernel_shape: [k], strides: [1] });
  const trend = g.op('Transpose', [trendT], { perm: [0, 2, 1] });
  const seasonal = g.op('Sub', ['x', trend]);
  const overTime = (z: string, tag: string) => g.op('Transpose', [g.linear(g.op('Transpose', [z], { perm: [0, 2, 1] }), l, h, 1 / l, tag)], { perm: [0, 2, 1] });
  const y = g.op('Add', [overTime(seasonal, 'Linear_Seasonal'), overTime(trend, 'Linear_Trend')]);
  const { bytes, spec } = g.model('dlinear', [{ name: 'x', shape: ['batch', l, c] }], [{ name: y, shape: ['batch', h, c] }], 13);
  const sample = (rnd: () => number) => {
    const out: number[] = [];
    const phase = rnd() * 6;
    for (let i = 0; i < l; i++) for (let j = 0; j < c; j++) out.push(Math.sin(phase + i / 3 + j) + 0.2 * (2 * rnd() - 1));
    return out;
  };
  return { name: 'dlinear', bytes, spec, inputs: [{ name: 'x', shape: [1, l, c], dtype: 'float', sample }] };
}

/**
 * A small transformer block on int64 token ids [1, T]: token embedding (Gather with a variable index) plus a
 * learned position embedding, LayerNorm, one attention head with Softmax, residual, LayerNorm, a GELU MLP
 * (D -> 2D -> D), residual, then mean over tokens and a classifier (4 classes).
 */
export function transformerBlock(t = 16, d = 32, vocab = 50, opts: { layerNorm?: 'op' | 'decomposed' } = {}): ExportedModel {
  const opset = opts.layerNorm === 'decomposed' ? 13 : 17;
  const g = new GraphWriter(16);
  const ln = (x: string) => (opts.layerNorm === 'decomposed' ? g.layerNormDecomposed(x, d, opset) : g.layerNorm(x, d));
  const emb = g.init('tok_emb.weight', [vocab, d], g.rand(vocab * d, 1));
  const pos = g.init('pos_emb', [1, t, d], g.rand(t * d, 0.3));
  const x0 = g.op('Add', [g.op('Gather', [emb, 'ids'], { axis: 0 }), pos]);
  const x1 = g.op('Add', [x0, g.attention(ln(x0), t, d)]);
  const x2 = g.op('Add', [x1, g.linear(g.geluErf(g.linear(ln(x1), d, 2 * d)), 2 * d, d)]);
  const pooled = opset < 18 ? g.op('ReduceMean', [x2], { axes: [1], keepdims: 0 }) : g.op('ReduceMean', [x2, g.i64('pool_ax', [1])], { keepdims: 0 });
  const y = g.linear(pooled, d, 4, undefined, 'head');
  const { bytes, spec } = g.model('transformer-block', [{ name: 'ids', shape: ['batch', t], elemType: 'int64' }], [{ name: y, shape: ['batch', 4] }], opset);
  const sample = (rnd: () => number) => Array.from({ length: t }, () => Math.floor(rnd() * vocab));
  return { name: 'transformer-block', bytes, spec, inputs: [{ name: 'ids', shape: [1, t], dtype: 'int64', sample }] };
}

/**
 * skl2onnx's MLPClassifier (zipmap disabled): MatMul/Add/Relu layers, Softmax probabilities, and the label as
 * ArgMax of the probabilities: two outputs, label (int64 [N]) and probabilities (float [N, C]).
 */
export function sklearnMlp(f = 6, hidden = 8, classes = 3): ExportedModel {
  const g = new GraphWriter(17);
  const h = g.op('Relu', [g.op('Add', [g.op('MatMul', ['X', g.init('coefficient', [f, hidden], g.rand(f * hidden, 0.6))]), g.init('intercepts', [1, hidden], g.rand(hidden, 0.1))])]);
  const z = g.op('Add', [g.op('MatMul', [h, g.init('coefficient1', [hidden, classes], g.rand(hidden * classes, 0.6))]), g.init('intercepts1', [1, classes], g.rand(classes, 0.1))]);
  g.op('Softmax', [z], { axis: 1 }, ['probabilities']);
  g.op('ArgMax', ['probabilities'], { axis: 1, keepdims: 0 }, ['label']);
  const { bytes, spec } = g.model('sklearn-mlp', [{ name: 'X', shape: ['N', f] }], [{ name: 'label', shape: ['N'], elemType: 'int64' }, { name: 'probabilities', shape: ['N', classes] }], 13);
  return { name: 'sklearn-mlp', bytes, spec, inputs: [{ name: 'X', shape: [1, f], dtype: 'float', sample: floatSample(f, 2) }] };
}

/** A model that is nothing but a Softmax (or LogSoftmax) over its input: the circuit proves it (nothing to leave out). */
export function softmaxOnly(op: 'Softmax' | 'LogSoftmax' = 'Softmax', n = 6): ExportedModel {
  const g = new GraphWriter(18);
  const y = g.op(op, ['x'], { axis: -1 });
  const { bytes, spec } = g.model(`${op.toLowerCase()}-only`, [{ name: 'x', shape: ['N', n] }], [{ name: y, shape: ['N', n] }], 13);
  return { name: `${op.toLowerCase()}-only`, bytes, spec, inputs: [{ name: 'x', shape: [1, n], dtype: 'float', sample: floatSample(n, 3) }] };
}

/** A model that is nothing but an Identity: the proven output is the (quantized) input. */
export function identityOnly(n = 6): ExportedModel {
  const g = new GraphWriter(19);
  const y = g.op('Identity', ['x']);
  const { bytes, spec } = g.model('identity-only', [{ name: 'x', shape: [1, n] }], [{ name: y, shape: [1, n] }], 13);
  return { name: 'identity-only', bytes, spec, inputs: [{ name: 'x', shape: [1, n], dtype: 'float', sample: floatSample(n, 2) }] };
}
