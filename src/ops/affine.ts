/**
 * Elementwise linear ops: Add and Sub (of two activations, e.g. a residual, or with a constant), Mul and
 * Div by a constant, and BatchNormalization.
 *
 * A constant step right after a Gemm/MatMul/Conv whose output nothing else reads folds into its weights and
 * bias (BatchNorm folding). Otherwise it is an affine layer: each output is sum_k M_k * (x_k - zp_k) + b
 * with integer multipliers aligning the inputs' scales, a linear combination: 0 constraints.
 */
import type { AffineLayer, ConvLayer, DenseLayer, FloatLayer, QAffine } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import type { OnnxNode, OnnxTensor } from '../onnx/load.ts';
import { attrFloat, attrInt, checkKnownAttrs } from './attrs.ts';
import { emitLinearRow, MAX_ACC, type Term } from './linear.ts';
import type { FloatLayerDef, ImportContext, OpImporter, QLayerDef } from './types.ts';
import { broadcastIndex, broadcastShapes, importDivide, importProduct } from './arith.ts';

const dropOnes = (s: number[]) => s.filter((d) => d !== 1);
export const sameShape = (a: number[], b: number[]) => JSON.stringify(dropOnes(a)) === JSON.stringify(dropOnes(b));

/** A constant broadcast (numpy rules) to `shape`, or null when it would change the shape. */
export function broadcastTo(c: OnnxTensor, shape: number[]): Float64Array | null {
  if (c.dims.length > shape.length) {
    if (c.dims.slice(0, c.dims.length - shape.length).some((d) => d !== 1)) return null;
  }
  const dims = c.dims.slice(Math.max(0, c.dims.length - shape.length));
  const cd = [...new Array(shape.length - dims.length).fill(1), ...dims];
  if (cd.some((d, i) => d !== 1 && d !== shape[i])) return null;
  const out = new Float64Array(sizeOf(shape));
  const strides = cd.map((_, i) => sizeOf(cd.slice(i + 1)));
  for (let o = 0; o < out.length; o++) {
    let rem = o;
    let src = 0;
    for (let d = 0; d < shape.length; d++) {
      const sz = sizeOf(shape.slice(d + 1));
      const coord = Math.floor(rem / sz);
      rem -= coord * sz;
      if (cd[d] !== 1) src += coord * strides[d];
    }
    out[o] = c.data[src];
  }
  return out;
}

/** Output channel of flat element i of a dense ([..., n]) or conv ([1, C, H, W]) output. */
function channelOf(l: DenseLayer | ConvLayer, i: number): number {
  // A conv's output is [1, C, ...spatial] (1-D or 2-D): channel-major.
  return l.kind === 'dense' ? i % l.outSize : Math.floor(i / (sizeOf(l.outShape) / l.outC));
}

/**
 * Fold y = a * x + d (per element) into the dense/conv layer producing x, when a and d are constant per
 * output channel. Returns false when they are not.
 */
function foldInto(l: FloatLayer, a: Float64Array, d: Float64Array): boolean {
  if (l.kind !== 'dense' && l.kind !== 'conv') return false;
  const n = l.kind === 'dense' ? l.outSize : l.outC;
  const ca = new Float64Array(n).fill(NaN);
  const cd = new Float64Array(n).fill(NaN);
  for (let i = 0; i < a.length; i++) {
    const c = channelOf(l, i);
    if (Number.isNaN(ca[c])) {
      ca[c] = a[i];
      cd[c] = d[i];
    } else if (ca[c] !== a[i] || cd[c] !== d[i]) return false;
  }
  const per = l.weights.length / n;
  for (let c = 0; c < n; c++) {
    for (let t = 0; t < per; t++) l.weights[c * per + t] *= ca[c];
    l.bias[c] = l.bias[c] * ca[c] + cd[c];
  }
  if (l.pinned) {
    // The model's integers stay valid under a positive per-channel scale; the bias no longer does.
    const p = l.pinned;
    if ([...ca].every((v) => v > 0)) l.pinned = { ints: p.ints, scales: p.scales.map((s, c) => s * ca[c]), accScales: p.accScales?.map((s, c) => s * ca[c]) };
    else l.pinned = undefined;
  }
  return true;
}

function pushAffine(node: OnnxNode, ctx: ImportContext, inputs: string[], coefs: Float64Array[], bias: Float64Array, outShape?: number[]): void {
  const prev = ctx.producer();
  if (inputs.length === 1 && prev && foldInto(prev, coefs[0], bias)) {
    prev.name = `${prev.name}+${node.name}`;
    return ctx.alias();
  }
  const shape = outShape ?? ctx.current.shape;
  ctx.push({ kind: 'affine', name: node.name, inputs, output: node.outputs[0], inShape: shape, outShape: shape, coefs, bias });
}

function importBinary(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, []);
  if (node.inputs.length !== 2) return ctx.issue('expects two inputs');
  const [n0, n1] = node.inputs;
  const [a0, a1] = [ctx.activation(n0), ctx.activation(n1)];
  const op = node.op;
  if (a0 && a1) {
    if (op === 'Mul') return importProduct(node, ctx, a0, a1);
    if (op === 'Div') return importDivide(node, ctx, a0, a1);
    if (!sameShape(a0.shape, a1.shape)) {
      // Broadcasting: each smaller input is first repeated to the output shape (a gather layer, 0 constraints).
      const shape = broadcastShapes([a0.shape, a1.shape]);
      if (!shape) return ctx.issue(`shapes [${a0.shape}] and [${a1.shape}] do not broadcast`);
      const names = [a0, a1].map((a, k) => {
        if (sizeOf(a.shape) === sizeOf(shape)) return a.name;
        const output = `${node.outputs[0]}#bcast${k}`;
        ctx.push({ kind: 'gather', name: `${node.name}#bcast${k}`, inputs: [a.name], output, inShape: a.shape, outShape: shape, index: Int32Array.from(broadcastIndex(a.shape, shape)), padValue: 0 });
        return output;
      });
      const n = sizeOf(shape);
      return pushAffine(node, ctx, names, [new Float64Array(n).fill(1), new Float64Array(n).fill(op === 'Sub' ? -1 : 1)], new Float64Array(n), shape);
    }
    const n = sizeOf(a0.shape);
    return pushAffine(node, ctx, [a0.name, a1.name], [new Float64Array(n).fill(1), new Float64Array(n).fill(op === 'Sub' ? -1 : 1)], new Float64Array(n));
  }
  const x = a0 ?? a1!;
  const cName = a0 ? n1 : n0;
  const c = ctx.constant(cName);
  if (!c) return ctx.issue(`input '${cName}' must be an activation or a constant`);
  const cv = broadcastTo(c, x.shape);
  if (!cv) return ctx.issue(`constant '${cName}' with dims [${c.dims}] would broadcast [${x.shape}] to a larger shape`);
  const n = cv.length;
  const ones = new Float64Array(n).fill(1);
  const zeros = new Float64Array(n);
  const first = !!a0;
  switch (op) {
    case 'Add': return pushAffine(node, ctx, [x.name], [ones], cv);
    case 'Sub': return first ? pushAffine(node, ctx, [x.name], [ones], cv.map((v) => -v)) : pushAffine(node, ctx, [x.name], [ones.map(() => -1)], cv);
    case 'Mul': return pushAffine(node, ctx, [x.name], [cv], zeros);
    case 'Div':
      if (!first) {
        // c / x = c * (1/x): the Reciprocal table (src/ops/lut.ts), then a Mul by the constant (0 constraints).
        const recip = `${node.outputs[0]}#recip`;
        ctx.push({ kind: 'lut', name: `${node.name}#recip`, inputs: [x.name], output: recip, inShape: x.shape, outShape: x.shape, fn: 'reciprocal', alpha: 0 });
        return ctx.push({ kind: 'affine', name: node.name, inputs: [recip], output: node.outputs[0], inShape: x.shape, outShape: x.shape, coefs: [cv], bias: zeros });
      }
      if (cv.some((v) => v === 0)) return ctx.issue('division by a constant that contains 0');
      return pushAffine(node, ctx, [x.name], [cv.map((v) => 1 / v)], zeros);
  }
}

function importBatchNorm(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, ['epsilon', 'momentum', 'spatial', 'training_mode', 'is_test']);
  if (attrInt(node, ctx, 'training_mode', 0) !== 0) return ctx.issue('training_mode must be 0');
  if (node.outputs.filter(Boolean).length > 1) return ctx.issue('the running mean/var outputs (training) are not supported');
  const eps = attrFloat(node, ctx, 'epsilon', 1e-5);
  const shape = ctx.current.shape;
  if (shape.length < 2) return ctx.issue(`input must have a channel axis, got shape [${shape}]`);
  const C = shape[1];
  const params = node.inputs.slice(1, 5).map((n) => ctx.constant(n));
  if (params.length !== 4 || params.some((p) => !p || p.data.length !== C)) return ctx.issue(`scale, B, mean and var must be constants of ${C} values`);
  const [scale, b, mean, variance] = params as OnnxTensor[];
  const inner = sizeOf(shape.slice(2));
  const n = sizeOf(shape);
  const a = new Float64Array(n);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(i / inner) % C;
    a[i] = scale.data[c] / Math.sqrt(variance.data[c] + eps);
    d[i] = b.data[c] - mean.data[c] * a[i];
  }
  pushAffine(node, ctx, [ctx.current.name], [a], d);
}

export const affineImporters: OpImporter[] = [
  { onnxOps: ['Add', 'Sub', 'Mul', 'Div'], importNode: importBinary },
  { onnxOps: ['BatchNormalization'], importNode: importBatchNorm },
];

/**
 * The output scale of one element of an affine map (see affineFloat.quantize): t[k] is the real value of one
 * unit of input k (coef * scale), X[k] the largest magnitude of input k's integers. Undefined when every t is 0.
 */
export function affineScale(t: number[], X: number[], bits: number): number | undefined {
  let ref = -1;
  for (let k = 0; k < t.length; k++) if (t[k] !== 0 && (ref < 0 || X[k] > X[ref])) ref = k;
  if (ref < 0) return undefined;
  const range = t.reduce((a, tk, k) => a + Math.abs(tk) * X[k], 0);
  const base = Math.abs(t[ref]);
  let s = base;
  for (let j = 0; j <= 2 * bits + 20; j++) {
    s = base / 2 ** j;
    const err = t.reduce((a, tk, k) => a + Math.abs(Math.round(tk / s) * s - tk) * X[k], 0);
    if (err <= range / 2 ** bits) break;
  }
  return s;
}

export const affineFloat: FloatLayerDef<AffineLayer> = {
  forward(l, xs) {
    const y = Float64Array.from(l.bias);
    xs.forEach((x, k) => {
      for (let i = 0; i < y.length; i++) y[i] += l.coefs[k][i] * x[i];
    });
    return y;
  },

  /**
   * Per element, the output scale is t_ref / 2^j, with t_k = coef_k * s_in_k and ref the term with the widest
   * integer range (an accumulator's, when one is added to a uint8 tensor): that term's multiplier is 2^j, exact.
   * j >= 0 is the smallest for which the rounding of the other multipliers costs at most 2^-bits of the
   * output's range: sum_k |M_k * s_out - t_k| * max|x_k| <= 2^-bits * sum_k |t_k| * max|x_k|. (Scaling from
   * the largest t instead rounds an accumulator's small t to a multiplier of 2 or 3: errors of tens of % of a
   * residual Add's output.) When all terms share one |t| (an Add of a constant, a Mul by one) j = 0, the
   * multipliers are +-1 and the step is exact.
   */
  quantize(l, ctx) {
    const n = sizeOf(l.outShape);
    const views = l.inputs.map((_, k) => {
      const s = ctx.settle(k);
      const q = s.quant;
      return q.kind === 'u8'
        ? { s, off: q.zeroPoint, scale: () => q.scale, lo: () => -q.zeroPoint, hi: () => 255 - q.zeroPoint }
        : { s, off: 0, scale: (i: number) => q.scales[i], lo: (i: number) => q.lo[i], hi: (i: number) => q.hi[i] };
    });
    const multipliers = views.map(() => new Array<number>(n));
    const bias: number[] = [];
    const out = { kind: 'acc' as const, scales: [] as number[], lo: [] as number[], hi: [] as number[] };
    for (let i = 0; i < n; i++) {
      const t = views.map((v, k) => l.coefs[k][i] * v.scale(i));
      let sOut = affineScale(t, views.map((v) => Math.max(Math.abs(v.lo(i)), Math.abs(v.hi(i)))), ctx.multiplierBits) ?? views[0].scale(i);
      // Scale 1 marks an exact integer tensor (a Cast to an integer type, a Gather index, a Where condition accept
      // it as one): it must not come from rounding. A fractional bias or coefficient (an ArgMax + 0.6) gets a finer
      // power-of-two scale instead, so a later integer use is refused rather than proven on a rounded value.
      if (sOut === 1 && ![l.bias[i], ...t].every(Number.isInteger)) {
        let j = 1;
        while (j < ctx.multiplierBits && ![l.bias[i], ...t].every((v) => Number.isInteger(v * 2 ** j))) j++;
        sOut = 2 ** -j;
      }
      const b = Math.round(l.bias[i] / sOut);
      let lo = b;
      let hi = b;
      t.forEach((tk, k) => {
        const m = Math.round(tk / sOut);
        multipliers[k][i] = m;
        lo += Math.min(m * views[k].lo(i), m * views[k].hi(i));
        hi += Math.max(m * views[k].lo(i), m * views[k].hi(i));
      });
      bias.push(b);
      out.scales.push(sOut);
      out.lo.push(lo);
      out.hi.push(hi);
      if (!(Math.max(-lo, hi) <= MAX_ACC)) return ctx.issue(`element ${i} can reach 2^50 (the constant is too large for the input's scale)`);
    }
    ctx.push({
      kind: 'affine', name: l.name, inputs: views.map((v) => v.s.tensor), output: l.output, inShape: views[0].s.shape, outShape: l.outShape,
      multipliers, offsets: views.map((v) => v.off), bias, outQuant: out,
    });
  },
};

export const affineQ: QLayerDef<QAffine> = {
  reference(l, xs) {
    return l.bias.map((b, i) => xs.reduce((s, x, k) => s + l.multipliers[k][i] * (x[i] - l.offsets[k]), b));
  },
  emit(l, xs, w) {
    const v = w.fresh('aff');
    w.line(`// ${l.name}: elementwise affine (0 constraints)`);
    w.line(`var ${v}[${l.bias.length}];`);
    return l.bias.map((b, i) => {
      const c = xs.reduce((a, _x, k) => a - l.multipliers[k][i] * l.offsets[k], b);
      return emitLinearRow(w, `${v}[${i}]`, c, xs.map((x, k): Term => [l.multipliers[k][i], x[i]]));
    });
  },
  constraints: () => 0,
  costFormula: '0 (integer multipliers: outputs are linear combinations)',
  bitsSummary(l) {
    const ms = l.multipliers.flat().map(Math.abs);
    return `|M| <= ${Math.max(...ms)}`;
  },
};
