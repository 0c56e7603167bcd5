/**
 * Reductions, normalizations and Softmax inside a network. Every gadget works on exact integers; the errors
 * below are against the exact function of the (uint8) integers the layer reads, on top of that input's own
 * quantization. s is the input's uint8 scale, n the group size.
 *
 * ReduceSum / ReduceMean: a sum over each group is a linear combination, and the mean's division by n is
 * exact in the output scale (s / n): 0 constraints, exact.
 *
 * ReduceLogSum: the ReduceSum above, then the Log table of src/ops/lut.ts on that accumulator (its bound).
 *
 * ReduceSumSquare: sum (x - zp)^2 at scale s^2, n products per group, exact. ReduceL1: sum |x - zp| at scale
 * s, 11 constraints per element (circuits/reduce.circom NormAbs), exact. ReduceL2: floor(sqrt(4^8 sum
 * (x - zp)^2)) at scale s / 2^8 (circuits/isqrt.circom): n + 3 BR + 6 per group, error < s / 2^8.
 *
 * LayerNormalization / InstanceNormalization / GroupNormalization (circuits/layernorm.circom), on the uint8
 * input x (one scale s) per group of n elements:
 *
 *   c_i = n x_i - sum x                       (linear; the zero point cancels)
 *   W   = 4^k sum c_i^2 + E,  E = max(1, round(4^k n^3 eps / s^2))     (n products)
 *   R   = floor(sqrt(W))                       (proven by R^2 <= W < (R + 1)^2; W >= 1 so R >= 1)
 *   out_i = round(K_i c_i / R) + B_i,  K_i = round(gamma_i sqrt(n) 2^k / sOut),  B_i = round(beta_i / sOut)
 *
 * since (x_i - mean) / sqrt(var + eps) = sqrt(n) c_i / sqrt(sum c^2 + n^3 eps / s^2). sOut = max|gamma|
 * sqrt(n - 1) / 2^12 (|yhat| <= sqrt(n - 1)), and k is the smallest with 2^k sqrt(n (n - 1)) >= 2^12, so the
 * root of any non-constant group is at least 2^12. Error: the root's floor moves yhat by a factor in
 * [1, 1 + 2^-12), K_i's rounding by less than 2^-13, and the output rounds by sOut / 2 (B_i too):
 * |out * sOut - y| <= |gamma yhat| 2^-11 + sOut (sOut = 2^-12 of the largest |gamma yhat|). What dominates in a
 * model is the uint8 input: s / 2 per element, divided by the group's standard deviation.
 *
 * Softmax inside a network (circuits/softmax.circom), on the uint8 logits x of each group of n:
 *
 *   m = max x,  e_i = T[m - x_i] with T[d] = round(2^F exp(-d s)) (F = bits(n) + 11),  p_i = round(K e_i / sum e)
 *
 * output at scale 1/K (K = 2^12), an accumulator in [0, K]:
 * |p_i / K - softmax(s x)_i| <= 1/(2K) + (n + 1) / 2^(F+1) (below 2^-13 + 2^-11). The logits' own
 * quantization (s / 2 each) moves a softmax output by at most s / 2 more.
 *
 * LogSoftmax inside a network and ReduceLogSumExp share the max and the exp table; the sum is brought to
 * 8 bits, j = round((sum e - 2^F) 255 / ((n - 1) 2^F)), and L = TL[j] ~ log(1 + j (n - 1) / 255) by a table:
 * LogSoftmax out_i = (x_i - m) 2^8 - L, ReduceLogSumExp out = (m - zp) 2^8 + L, at scale u = s / 2^8.
 * Error: |out u - exact| <= (n - 1) / 510 + n / 2^(F+1) + u / 2 (the 8-bit sum dominates: 0.014 for n = 8).
 */
import type { NormFloatLayer, NormQLayer, NormalizeLayer, QNormalize, QReduce, QReducePow, QSoftmax, ReduceLayer, SoftmaxLayer } from '../ir/layers/norm.ts';
import type { AccQuant } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import type { OnnxNode, OnnxTensor } from '../onnx/load.ts';
import { broadcastTo } from './affine.ts';
import { attrFloat, attrInt, checkKnownAttrs } from './attrs.ts';
import { emitLinearRow, MAX_ACC } from './linear.ts';
import type { FloatLayerDef, ImportContext, OpImporter, QLayerDef, QuantizeContext } from './types.ts';
import { bitsFor } from './types.ts';

/** Output resolution of a normalization: max |gamma| sqrt(n - 1) is 2^NORM_OUT_BITS units. */
export const NORM_OUT_BITS = 12;
/** The root of a non-constant group is at least 2^NORM_ROOT_BITS. */
export const NORM_ROOT_BITS = 12;
/** Softmax probabilities are integers at scale 2^-SOFTMAX_OUT_BITS. */
export const SOFTMAX_OUT_BITS = 12;

// ---------------------------------------------------------------------------------------------------------
// Groups

const groupCache = new Map<string, number[][]>();

/**
 * For a reduction of `shape` over `axes`: per output element (row-major over the kept axes), the flat input
 * indices of its group (row-major over the reduced axes).
 */
export function reduceGroups(shape: number[], axes: number[]): number[][] {
  const key = `${shape.join(',')}|${axes.join(',')}`;
  const hit = groupCache.get(key);
  if (hit) return hit;
  const red = new Set(axes);
  const strides = shape.map((_, i) => sizeOf(shape.slice(i + 1)));
  const offsets = (dims: number[]): number[] => {
    let offs = [0];
    dims.forEach((d, ax) => {
      const next: number[] = [];
      for (const o of offs) for (let c = 0; c < d; c++) next.push(o + c * strides[ax]);
      offs = next;
    });
    return offs;
  };
  const bases = offsets(shape.map((d, i) => (red.has(i) ? 1 : d)));
  const inner = offsets(shape.map((d, i) => (red.has(i) ? d : 1)));
  const groups = bases.map((b) => inner.map((o) => b + o));
  if (groupCache.size > 64) groupCache.clear();
  groupCache.set(key, groups);
  return groups;
}

// ---------------------------------------------------------------------------------------------------------
// Importers

/** Normalized, sorted, distinct axes; undefined (after an issue) when one is out of range. */
function normalizeAxes(ctx: ImportContext, raw: number[], rank: number): number[] | undefined {
  const out = new Set<number>();
  for (const a of raw) {
    const ax = a < 0 ? a + rank : a;
    if (!Number.isInteger(ax) || ax < 0 || ax >= rank) {
      ctx.issue(`axis ${a} is out of range for a tensor of rank ${rank}`);
      return undefined;
    }
    out.add(ax);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * A Reduce node's axes as written: the `axes` attribute (opset < 18) or the constant second input, [] when
 * neither is given; undefined after reporting an issue (wrong type, computed at run time, missing).
 */
export function reduceAxesAsWritten(node: OnnxNode, ctx: ImportContext): number[] | undefined {
  const attr = node.attrs.get('axes');
  if (attr) {
    if (attr.type === 'ints') return attr.value;
    ctx.issue(`attribute 'axes' should be ints, got ${attr.type}`);
    return undefined;
  }
  if (!node.inputs[1]) return [];
  if (ctx.activation(node.inputs[1])) {
    ctx.issue(`the axes input '${node.inputs[1]}' must be a constant (it is computed at run time)`);
    return undefined;
  }
  const c = ctx.constant(node.inputs[1]);
  if (c) return Array.from(c.data);
  ctx.issue(`the axes input '${node.inputs[1]}' is missing`);
  return undefined;
}

function importReduce(node: OnnxNode, ctx: ImportContext, fn: ReduceLayer['fn']): void {
  checkKnownAttrs(node, ctx, ['axes', 'keepdims', 'noop_with_empty_axes']);
  const shape = ctx.current.shape;
  if (node.inputs[0] !== undefined && !ctx.activation(node.inputs[0])) return ctx.issue('the data input must be an activation');
  let raw = reduceAxesAsWritten(node, ctx);
  if (!raw) return;
  const keep = attrInt(node, ctx, 'keepdims', 1) === 1;
  if (raw.length === 0) {
    if (attrInt(node, ctx, 'noop_with_empty_axes', 0) === 1) {
      if (fn === 'sum' || fn === 'mean') return ctx.alias();
      return ctx.issue(`noop_with_empty_axes = 1 with no axes (an element-wise ${node.op}) is not supported`);
    }
    raw = shape.map((_, i) => i);
  }
  const axes = normalizeAxes(ctx, raw, shape.length);
  if (!axes) return;
  let outShape = keep ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
  if (!outShape.length) outShape = [1];
  if (node.op === 'ReduceLogSum') {
    // log of the sum: the sum (0 constraints), then the Log table on that accumulator (src/ops/lut.ts, the
    // requantization fused in: K + 31 per output; Log's bound, its argument clamped to the calibrated range).
    const sum = `${node.outputs[0]}#sum`;
    ctx.push({ kind: 'reduce', name: `${node.name}#sum`, inputs: [ctx.current.name], output: sum, inShape: shape, outShape, fn, axes });
    ctx.push({ kind: 'lut', name: node.name, inputs: [sum], output: node.outputs[0], inShape: outShape, outShape, fn: 'log', alpha: 0 });
    return;
  }
  ctx.push({ kind: 'reduce', name: node.name, inputs: [ctx.current.name], output: node.outputs[0], inShape: shape, outShape, fn, axes });
}

/** A per-element constant from an optional input: broadcast to `shape` by `expand`, or `dflt` when absent. */
function paramInput(ctx: ImportContext, name: string | undefined, what: string, n: number, dflt: number, expand: (t: OnnxTensor) => Float64Array | null): Float64Array | undefined {
  if (!name) return new Float64Array(n).fill(dflt);
  if (ctx.activation(name)) {
    ctx.issue(`${what} '${name}' must be a constant (a tensor computed at run time is not supported)`);
    return undefined;
  }
  const c = ctx.constant(name);
  if (!c) {
    ctx.issue(`${what} '${name}' is missing`);
    return undefined;
  }
  const v = expand(c);
  if (!v) ctx.issue(`${what} '${name}' with dims [${c.dims}] does not fit the input's shape`);
  return v ?? undefined;
}

function extraOutputs(node: OnnxNode, ctx: ImportContext, names: string): boolean {
  if (node.outputs.slice(1).some(Boolean)) {
    ctx.issue(`the optional outputs ${names} are not supported (only the normalized output Y): remove them from the node`);
    return true;
  }
  return false;
}

function pushNormalize(node: OnnxNode, ctx: ImportContext, groupSize: number, epsilon: number, gamma: Float64Array, beta: Float64Array): void {
  const shape = ctx.current.shape;
  if (groupSize < 2) return ctx.issue(`normalizing groups of ${groupSize} element (every output would be the bias) is not supported`);
  if (!(epsilon >= 0)) return ctx.issue(`epsilon ${epsilon} must be >= 0`);
  ctx.push({ kind: 'normalize', name: node.name, op: node.op, inputs: [ctx.current.name], output: node.outputs[0], inShape: shape, outShape: shape, groupSize, epsilon, gamma, beta });
}

function importLayerNorm(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, ['axis', 'epsilon', 'stash_type']);
  if (extraOutputs(node, ctx, 'Mean and InvStdDev')) return;
  const shape = ctx.current.shape;
  let axis = attrInt(node, ctx, 'axis', -1);
  if (axis < 0) axis += shape.length;
  if (axis < 0 || axis >= shape.length) return ctx.issue(`axis ${attrInt(node, ctx, 'axis', -1)} is out of range for shape [${shape}]`);
  const n = sizeOf(shape);
  const gamma = paramInput(ctx, node.inputs[1], 'Scale', n, 1, (t) => broadcastTo(t, shape));
  const beta = paramInput(ctx, node.inputs[2], 'B', n, 0, (t) => broadcastTo(t, shape));
  if (!node.inputs[1]) return ctx.issue('the Scale input is required');
  if (!gamma || !beta) return;
  pushNormalize(node, ctx, sizeOf(shape.slice(axis)), attrFloat(node, ctx, 'epsilon', 1e-5), gamma, beta);
}

/** Per-channel values (one per channel, or one per group of channels) spread over a [N, C, ...] tensor. */
function perChannel(t: OnnxTensor, shape: number[], perGroupOf = 1): Float64Array | null {
  const C = shape[1];
  if (t.data.length * perGroupOf !== C) return null;
  const inner = sizeOf(shape.slice(2));
  return Float64Array.from({ length: sizeOf(shape) }, (_, i) => t.data[Math.floor((Math.floor(i / inner) % C) / perGroupOf)]);
}

function importInstanceNorm(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, ['epsilon']);
  const shape = ctx.current.shape;
  if (shape.length < 3) return ctx.issue(`the input must be [N, C, D1, ...], got [${shape}]`);
  const n = sizeOf(shape);
  if (!node.inputs[1] || !node.inputs[2]) return ctx.issue('the scale and B inputs are required');
  const gamma = paramInput(ctx, node.inputs[1], 'scale', n, 1, (t) => perChannel(t, shape));
  const beta = paramInput(ctx, node.inputs[2], 'B', n, 0, (t) => perChannel(t, shape));
  if (!gamma || !beta) return;
  pushNormalize(node, ctx, sizeOf(shape.slice(2)), attrFloat(node, ctx, 'epsilon', 1e-5), gamma, beta);
}

function importGroupNorm(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, ['epsilon', 'num_groups', 'stash_type']);
  const shape = ctx.current.shape;
  if (shape.length < 3) return ctx.issue(`the input must be [N, C, D1, ...], got [${shape}]`);
  const G = attrInt(node, ctx, 'num_groups', 0);
  const C = shape[1];
  if (!(G >= 1) || C % G !== 0) return ctx.issue(`num_groups ${G} must divide the ${C} channels`);
  if (!node.inputs[1] || !node.inputs[2]) return ctx.issue('the scale and bias inputs are required');
  const n = sizeOf(shape);
  // Opset 18: one scale and bias per group; opset 21: per channel.
  const per = ctx.opset >= 21 ? 1 : C / G;
  const gamma = paramInput(ctx, node.inputs[1], 'scale', n, 1, (t) => perChannel(t, shape, per));
  const beta = paramInput(ctx, node.inputs[2], 'bias', n, 0, (t) => perChannel(t, shape, per));
  if (!gamma || !beta) return;
  pushNormalize(node, ctx, (C / G) * sizeOf(shape.slice(2)), attrFloat(node, ctx, 'epsilon', 1e-5), gamma, beta);
}

/**
 * A Softmax inside the network (called by the Softmax importer in src/ops/argmax.ts for every Softmax that
 * is not dropped): opset < 13 normalizes over the axes from `axis` on (the input coerced to 2-D), opset >= 13
 * over `axis` alone.
 */
export function importSoftmax(node: OnnxNode, ctx: ImportContext, axis: number): void {
  const shape = ctx.current.shape;
  const axes = ctx.opset < 13 ? shape.map((_, i) => i).filter((i) => i >= axis) : [axis];
  ctx.push({ kind: 'softmax', name: node.name, inputs: [ctx.current.name], output: node.outputs[0], inShape: shape, outShape: shape, axes, log: node.op === 'LogSoftmax' });
}

export const normImporters: OpImporter[] = [
  { onnxOps: ['ReduceSum'], importNode: (n, c) => importReduce(n, c, 'sum') },
  { onnxOps: ['ReduceMean'], importNode: (n, c) => importReduce(n, c, 'mean') },
  { onnxOps: ['ReduceSumSquare'], importNode: (n, c) => importReduce(n, c, 'sumsquare') },
  { onnxOps: ['ReduceL1'], importNode: (n, c) => importReduce(n, c, 'l1') },
  { onnxOps: ['ReduceL2'], importNode: (n, c) => importReduce(n, c, 'l2') },
  { onnxOps: ['ReduceLogSumExp'], importNode: (n, c) => importReduce(n, c, 'logsumexp') },
  { onnxOps: ['ReduceLogSum'], importNode: (n, c) => importReduce(n, c, 'sum') },
  { onnxOps: ['LayerNormalization'], importNode: importLayerNorm },
  { onnxOps: ['InstanceNormalization'], importNode: importInstanceNorm },
  { onnxOps: ['GroupNormalization'], importNode: importGroupNorm },
];

// ---------------------------------------------------------------------------------------------------------
// Float definitions

function reduceValue(fn: ReduceLayer['fn'], v: number[]): number {
  switch (fn) {
    case 'sum': return v.reduce((a, b) => a + b, 0);
    case 'mean': return v.reduce((a, b) => a + b, 0) / v.length;
    case 'sumsquare': return v.reduce((a, b) => a + b * b, 0);
    case 'l1': return v.reduce((a, b) => a + Math.abs(b), 0);
    case 'l2': return Math.sqrt(v.reduce((a, b) => a + b * b, 0));
    case 'logsumexp': {
      const m = Math.max(...v);
      return m + Math.log(v.reduce((a, b) => a + Math.exp(b - m), 0));
    }
  }
}

const reduceFloat: FloatLayerDef<ReduceLayer> = {
  forward(l, [x]) {
    return Float64Array.from(reduceGroups(l.inShape, l.axes), (g) => reduceValue(l.fn, g.map((i) => x[i])));
  },
  quantize(l, ctx) {
    if (l.fn === 'logsumexp') return quantizeSoftmax(l, 'logsumexp', ctx);
    if (l.fn !== 'sum' && l.fn !== 'mean') return quantizeReducePow(l, l.fn, ctx);
    const groups = reduceGroups(l.inShape, l.axes);
    let s = ctx.settle(0);
    // A sum is exact only at one scale per group.
    if (s.quant.kind === 'acc') {
      const sc = s.quant.scales;
      if (!groups.every((g) => g.every((i) => sc[i] === sc[g[0]]))) s = ctx.ensureU8(0);
    }
    const q = s.quant;
    const zp = q.kind === 'u8' ? q.zeroPoint : 0;
    const o: AccQuant = { kind: 'acc', scales: [], lo: [], hi: [] };
    for (const g of groups) {
      const scale = q.kind === 'u8' ? q.scale : q.scales[g[0]];
      o.scales.push(l.fn === 'mean' ? scale / g.length : scale);
      o.lo.push(g.reduce((a, i) => a + (q.kind === 'u8' ? -zp : q.lo[i]), 0));
      o.hi.push(g.reduce((a, i) => a + (q.kind === 'u8' ? 255 - zp : q.hi[i]), 0));
      if (!(Math.max(-o.lo[o.lo.length - 1], o.hi[o.hi.length - 1]) <= MAX_ACC)) return ctx.issue('a sum can reach 2^50 (the input accumulator is too wide)');
    }
    ctx.push({ kind: 'reduce', name: l.name, inputs: [s.tensor], output: l.output, inShape: s.shape, outShape: l.outShape, axes: l.axes, inZeroPoint: zp, outQuant: o });
  },
};

/** Exact floor(sqrt(v)) of a non-negative bigint. */
export function isqrtBig(v: bigint): bigint {
  if (v < 0n) throw new Error('isqrt of a negative number');
  if (v < 2n) return v;
  let x = BigInt(Math.floor(Math.sqrt(Number(v))));
  // Newton steps from the float estimate (exact for any size), then the last unit.
  for (;;) {
    const y = (x + v / x) >> 1n;
    if (y >= x) break;
    x = y;
  }
  while (x * x > v) x--;
  while ((x + 1n) * (x + 1n) <= v) x++;
  return x;
}

/** floor(a / b) for b > 0. */
function floorDivBig(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

/** round(mul * num / den), halves up: floor((2 mul num + den) / (2 den)), as circuits/divide.circom. */
export function divRound(num: bigint, mul: bigint, den: bigint): bigint {
  return floorDivBig(2n * mul * num + den, 2n * den);
}

const normalizeFloat: FloatLayerDef<NormalizeLayer> = {
  forward(l, [x]) {
    const n = l.groupSize;
    const y = new Float64Array(x.length);
    for (let g = 0; g < x.length; g += n) {
      let mean = 0;
      for (let i = g; i < g + n; i++) mean += x[i];
      mean /= n;
      let v = 0;
      for (let i = g; i < g + n; i++) v += (x[i] - mean) ** 2;
      const inv = 1 / Math.sqrt(v / n + l.epsilon);
      for (let i = g; i < g + n; i++) y[i] = (x[i] - mean) * inv * l.gamma[i] + l.beta[i];
    }
    return y;
  },
  quantize(l, ctx) {
    const s = ctx.ensureU8(0);
    const n = l.groupSize;
    const sc = s.quant.scale;
    const kExp = Math.max(1, Math.ceil(NORM_ROOT_BITS - Math.log2(Math.sqrt(n * (n - 1)))));
    const scale4 = 4 ** kExp;
    const e = Math.max(1, Math.round((scale4 * n ** 3 * l.epsilon) / (sc * sc)));
    if (!(e <= MAX_ACC)) return ctx.issue(`epsilon ${l.epsilon} is too large for the input's scale ${sc} (n^3 eps / s^2 passes 2^50)`);
    const gmax = l.gamma.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    const bmax = l.beta.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    const sOut = (gmax > 0 ? gmax * Math.sqrt(n - 1) : bmax > 0 ? bmax : 1) / 2 ** NORM_OUT_BITS;
    const k = Array.from(l.gamma, (gm) => Math.round((gm * Math.sqrt(n) * 2 ** kExp) / sOut));
    const b = Array.from(l.beta, (bt) => Math.round(bt / sOut));
    // R >= 2^k |c_i| (W >= 4^k c_i^2), so |K_i c_i / R| <= |K_i| / 2^k.
    const qmax = k.map((ki) => (ki === 0 ? 0 : Math.floor(Math.abs(ki) / 2 ** kExp) + 1));
    const qOffset = Math.max(...qmax);
    const wMax = BigInt(scale4) * BigInt(n) * BigInt((n - 1) * 255) ** 2n + BigInt(e);
    const rootBits = bitsFor(Number(isqrtBig(wMax)));
    const outQuant: AccQuant = { kind: 'acc', scales: k.map(() => sOut), lo: b.map((bi, i) => bi - qmax[i]), hi: b.map((bi, i) => bi + qmax[i]) };
    if (outQuant.lo.some((v) => !(v >= -MAX_ACC)) || outQuant.hi.some((v) => !(v <= MAX_ACC))) return ctx.issue('the bias B is too large against the scale (outputs pass 2^50)');
    ctx.push({
      kind: 'normalize', name: l.name, inputs: [s.tensor], output: l.output, inShape: s.shape, outShape: l.outShape,
      groupSize: n, scale4, e, k, b, rootBits, qBits: bitsFor(2 * qOffset), qOffset, outQuant,
    });
  },
};

const softmaxFloat: FloatLayerDef<SoftmaxLayer> = {
  forward(l, [x]) {
    const y = new Float64Array(x.length);
    for (const g of reduceGroups(l.inShape, l.axes)) {
      const m = g.reduce((a, i) => Math.max(a, x[i]), -Infinity);
      let sum = 0;
      for (const i of g) sum += Math.exp(x[i] - m);
      for (const i of g) y[i] = l.log ? x[i] - m - Math.log(sum) : Math.exp(x[i] - m) / sum;
    }
    return y;
  },
  quantize: (l, ctx) => quantizeSoftmax(l, l.log ? 'logsoftmax' : 'softmax', ctx),
};

/** Bits of the log modes' output scale below the input's: u = s / 2^LOG_SHIFT. */
export const LOG_SHIFT = 8;

function quantizeSoftmax(l: SoftmaxLayer | ReduceLayer, mode: QSoftmax['mode'], ctx: QuantizeContext): void {
  const s = ctx.ensureU8(0);
  const groups = reduceGroups(l.inShape, l.axes);
  const n = groups[0].length;
  const F = bitsFor(n) + 11;
  const sc = s.quant.scale;
  const table = Array.from({ length: 256 }, (_, d) => Math.round(2 ** F * Math.exp(-d * sc)));
  const base = {
    kind: 'softmax' as const, name: l.name, inputs: [s.tensor], output: l.output, inShape: s.shape, outShape: l.outShape, mode, axes: l.axes,
    table, expBits: F, inZeroPoint: s.quant.zeroPoint, sumBits: bitsFor(n * 2 ** F),
  };
  if (mode === 'softmax') {
    const k = 2 ** SOFTMAX_OUT_BITS;
    const size = sizeOf(s.shape);
    return ctx.push({ ...base, k, qBits: bitsFor(k), outQuant: { kind: 'acc', scales: new Array(size).fill(1 / k), lo: new Array(size).fill(0), hi: new Array(size).fill(k) } });
  }
  const u = sc / 2 ** LOG_SHIFT;
  const den = Math.max(1, (n - 1) * 2 ** F);
  const logTable = Array.from({ length: 256 }, (_, j) => Math.round(Math.log(1 + (j * (n - 1)) / 255) / u));
  const top = logTable[255];
  const size = sizeOf(l.outShape);
  const lo = mode === 'logsoftmax' ? -255 * 2 ** LOG_SHIFT - top : -s.quant.zeroPoint * 2 ** LOG_SHIFT;
  const hi = mode === 'logsoftmax' ? 0 : (255 - s.quant.zeroPoint) * 2 ** LOG_SHIFT + top;
  ctx.push({
    ...base, k: 1, qBits: 8, logTable, den, denBits: bitsFor(den - 1), logShift: LOG_SHIFT,
    outQuant: { kind: 'acc', scales: new Array(size).fill(u), lo: new Array(size).fill(lo), hi: new Array(size).fill(hi) },
  });
}

/** Extra bits of a ReduceL2 root: the root of 4^k sum d^2 is 2^k times the norm, floored. */
export const L2_EXTRA_BITS = 8;

function quantizeReducePow(l: ReduceLayer, fn: QReducePow['fn'], ctx: QuantizeContext): void {
  const s = ctx.ensureU8(0);
  const zp = s.quant.zeroPoint;
  const sc = s.quant.scale;
  const groups = reduceGroups(l.inShape, l.axes);
  const n = groups[0].length;
  const M = Math.max(zp, 255 - zp);
  const size = groups.length;
  let scale = sc;
  let hi = n * M;
  let scale4 = 1;
  let rootBits = 0;
  if (fn === 'sumsquare') {
    scale = sc * sc;
    hi = n * M * M;
  } else if (fn === 'l2') {
    scale4 = 4 ** L2_EXTRA_BITS;
    scale = sc / 2 ** L2_EXTRA_BITS;
    hi = Number(isqrtBig(BigInt(scale4) * BigInt(n) * BigInt(M * M)));
    rootBits = bitsFor(hi);
  }
  ctx.push({
    kind: 'reducepow', name: l.name, inputs: [s.tensor], output: l.output, inShape: s.shape, outShape: l.outShape, fn, axes: l.axes,
    inZeroPoint: zp, scale4, rootBits, outQuant: { kind: 'acc', scales: new Array(size).fill(scale), lo: new Array(size).fill(0), hi: new Array(size).fill(hi) },
  });
}

export const normFloatDefs: { [K in NormFloatLayer['kind']]: FloatLayerDef<Extract<NormFloatLayer, { kind: K }>> } = {
  reduce: reduceFloat,
  normalize: normalizeFloat,
  softmax: softmaxFloat,
};

// ---------------------------------------------------------------------------------------------------------
// Integer definitions

const reduceQ: QLayerDef<QReduce> = {
  reference(l, [x]) {
    return reduceGroups(l.inShape, l.axes).map((g) => g.reduce((s, i) => s + x[i] - l.inZeroPoint, 0));
  },
  emit(l, [x], w) {
    const v = w.fresh('red');
    const groups = reduceGroups(l.inShape, l.axes);
    w.line(`// ${l.name}: sums over axes [${l.axes}] (0 constraints)`);
    w.line(`var ${v}[${groups.length}];`);
    return groups.map((g, o) => emitLinearRow(w, `${v}[${o}]`, -l.inZeroPoint * g.length, g.map((i) => [1, x[i]])));
  },
  constraints: () => 0,
  costFormula: '0 (a sum is a linear combination; a mean divides in the output scale)',
  bitsSummary: (l) => `sum of ${reduceGroups(l.inShape, l.axes)[0].length}`,
};

/** The integer normalization of one group: the specification of circuits/layernorm.circom (+ b). */
export function normalizeGroup(l: QNormalize, x: number[], base: number): { root: bigint; q: bigint[] } {
  const n = l.groupSize;
  let S = 0;
  for (const v of x) S += v;
  const c = x.map((v) => BigInt(n * v - S));
  const W = c.reduce((a, ci) => a + BigInt(l.scale4) * ci * ci, BigInt(l.e));
  const root = isqrtBig(W);
  return { root, q: c.map((ci, j) => (l.k[base + j] === 0 ? 0n : divRound(ci, BigInt(l.k[base + j]), root))) };
}

/** Constraints of one normalization group with multipliers k[base .. base + n - 1]. */
function normalizeGroupConstraints(l: QNormalize, base: number): number {
  const n = l.groupSize;
  const BR = l.rootBits;
  let c = n + 1 + (3 * BR + 6);
  for (let j = 0; j < n; j++) if (l.k[base + j] !== 0) c += 1 + l.qBits + 2 * BR + 6;
  return c;
}

const normalizeQ: QLayerDef<QNormalize> = {
  reference(l, [x]) {
    const out: number[] = [];
    for (let g = 0; g < x.length; g += l.groupSize) {
      const { q } = normalizeGroup(l, x.slice(g, g + l.groupSize), g);
      q.forEach((v, j) => out.push(Number(v) + l.b[g + j]));
    }
    return out;
  },
  emit(l, [x], w) {
    w.include('layernorm.circom');
    const n = l.groupSize;
    w.line(`// ${l.name}: normalization of ${x.length / n} groups of ${n} (isqrt ${l.rootBits} bits, quotients ${l.qBits} bits)`);
    const kVars = new Map<string, string>();
    const out: string[] = [];
    for (let g = 0; g < x.length; g += n) {
      const ks = l.k.slice(g, g + n).join(',');
      let kv = kVars.get(ks);
      if (!kv) {
        kv = w.fresh('normk');
        w.line(`var ${kv}[${n}] = [${ks}];`);
        kVars.set(ks, kv);
      }
      const id = w.fresh('norm');
      w.line(`component ${id} = NormRow(${n}, ${l.scale4}, ${l.e}, ${l.rootBits}, ${l.qBits}, ${l.qOffset}, ${kv});`);
      for (let j = 0; j < n; j++) w.bind(`${id}.x[${j}]`, x[g + j]);
      for (let j = 0; j < n; j++) {
        const b = l.b[g + j];
        const qj = l.k[g + j] === 0 ? '0' : `${id}.q[${j}]`;
        out.push(b === 0 ? qj : qj === '0' ? String(b) : `(${qj} ${b > 0 ? '+' : '-'} ${Math.abs(b)})`);
      }
    }
    return out;
  },
  constraints(l) {
    let total = 0;
    for (let g = 0; g < l.k.length; g += l.groupSize) total += normalizeGroupConstraints(l, g);
    return total;
  },
  costFormula: 'per group of n: n products + 1 + isqrt 3 BR + 6, plus per element with gamma != 0 a division 1 + BQ + 2 BR + 6 (BR root bits, BQ quotient bits)',
  bitsSummary: (l) => `n ${l.groupSize}, BR ${l.rootBits}, BQ ${l.qBits}`,
};

/** The integer softmax of one group: the specification of circuits/softmax.circom. */
export function softmaxGroup(l: QSoftmax, x: number[]): { max: number; e: number[]; p: number[]; j: number; L: number } {
  const max = Math.max(...x);
  const e = x.map((v) => l.table[max - v]);
  const sum = e.reduce((a, v) => a + v, 0);
  if (l.mode === 'softmax') return { max, e, p: e.map((v) => Number(divRound(BigInt(v), BigInt(l.k), BigInt(sum)))), j: 0, L: 0 };
  // n = 1: the sum is 2^F and j = 0.
  const j = x.length === 1 ? 0 : Number(divRound(BigInt(sum - 2 ** l.expBits), 255n, BigInt(l.den!)));
  const L = l.logTable![j];
  const sh = 2 ** l.logShift!;
  const p = l.mode === 'logsoftmax' ? x.map((v) => (v - max) * sh - L) : [(max - l.inZeroPoint) * sh + L];
  return { max, e, p, j, L };
}

/** Constraints of one softmax group of n >= 2. */
function softmaxGroupConstraints(l: QSoftmax, n: number): number {
  if (n === 1) return 0;
  const common = 36 * n + (n - 1) + 1;
  if (l.mode === 'softmax') return common + n * (l.qBits + 2 * l.sumBits + 6);
  return common + (8 + 2 * l.denBits! + 5) + 35;
}

const softmaxQ: QLayerDef<QSoftmax> = {
  reference(l, [x]) {
    const groups = reduceGroups(l.inShape, l.axes);
    if (l.mode === 'logsumexp') return groups.map((g) => softmaxGroup(l, g.map((i) => x[i])).p[0]);
    const out = new Array<number>(x.length);
    for (const g of groups) {
      const { p } = softmaxGroup(l, g.map((i) => x[i]));
      g.forEach((i, j) => (out[i] = p[j]));
    }
    return out;
  },
  emit(l, [x], w) {
    const groups = reduceGroups(l.inShape, l.axes);
    const n = groups[0].length;
    const sh = 2 ** (l.logShift ?? 0);
    if (n === 1) {
      // A softmax of one value is 1, its log 0; the log-sum-exp of one value is the value.
      if (l.mode === 'logsumexp') return groups.map((g) => `${sh}*(${x[g[0]]} - ${l.inZeroPoint})`);
      const out = new Array<string>(x.length);
      for (const g of groups) out[g[0]] = l.mode === 'softmax' ? String(l.k) : '0';
      return out;
    }
    w.include('softmax.circom');
    const t = w.fresh('exptable');
    w.line(`// ${l.name}: ${l.mode} of ${groups.length} groups of ${n} (exp table, ${l.sumBits}-bit sums)`);
    w.line(`var ${t}[256] = [${l.table.join(',')}];`);
    if (l.mode === 'softmax') {
      const out = new Array<string>(x.length);
      for (const g of groups) {
        const id = w.fresh('softmax');
        w.line(`component ${id} = SoftmaxRow(${n}, ${l.sumBits}, ${l.qBits}, ${l.k}, ${t});`);
        g.forEach((i, j) => w.bind(`${id}.x[${j}]`, x[i]));
        g.forEach((i, j) => (out[i] = `${id}.p[${j}]`));
      }
      return out;
    }
    const lt = w.fresh('logtable');
    w.line(`var ${lt}[256] = [${l.logTable!.join(',')}];`);
    const out = new Array<string>(l.mode === 'logsumexp' ? groups.length : x.length);
    groups.forEach((g, o) => {
      const id = w.fresh('lse');
      w.line(`component ${id} = LogSumExpRow(${n}, ${l.den}, ${l.denBits}, ${t}, ${lt}, ${l.expBits});`);
      g.forEach((i, j) => w.bind(`${id}.x[${j}]`, x[i]));
      if (l.mode === 'logsumexp') out[o] = `(${sh}*(${id}.m - ${l.inZeroPoint}) + ${id}.L)`;
      else g.forEach((i) => (out[i] = `(${sh}*(${x[i]} - ${id}.m) - ${id}.L)`));
    });
    return out;
  },
  constraints(l) {
    const groups = reduceGroups(l.inShape, l.axes);
    return groups.length * softmaxGroupConstraints(l, groups[0].length);
  },
  costFormula: 'per group of n >= 2: 36 n (exp table) + n - 1 (max) + 1, then softmax: n (BQ + 2 BS + 6) (divisions); log modes: 2 BD + 13 (sum to 8 bits) + 35 (log table)',
  bitsSummary: (l) => `${l.mode} n ${reduceGroups(l.inShape, l.axes)[0].length}, BS ${l.sumBits}${l.mode === 'softmax' ? `, BQ ${l.qBits}` : `, BD ${l.denBits}`}`,
};

/** The integer ReduceSumSquare / L1 / L2 of one group (circuits/reduce.circom, circuits/isqrt.circom). */
export function reducePowGroup(l: QReducePow, x: number[]): number {
  const d = x.map((v) => v - l.inZeroPoint);
  if (l.fn === 'l1') return d.reduce((a, v) => a + Math.abs(v), 0);
  const sq = d.reduce((a, v) => a + v * v, 0);
  return l.fn === 'sumsquare' ? sq : Number(isqrtBig(BigInt(l.scale4) * BigInt(sq)));
}

/** |x - zp| < 2^ABS_BITS for uint8 x. */
const ABS_BITS = 8;

const reducePowQ: QLayerDef<QReducePow> = {
  reference(l, [x]) {
    return reduceGroups(l.inShape, l.axes).map((g) => reducePowGroup(l, g.map((i) => x[i])));
  },
  emit(l, [x], w) {
    w.include('reduce.circom');
    const groups = reduceGroups(l.inShape, l.axes);
    const n = groups[0].length;
    const v = w.fresh('rpow');
    w.line(`// ${l.name}: ${l.fn} over axes [${l.axes}]`);
    w.line(`var ${v}[${groups.length}];`);
    return groups.map((g, o) => {
      if (l.fn === 'l1') {
        const terms = g.map((i): [number, string] => {
          const id = w.fresh('abs');
          w.line(`component ${id} = NormAbs(${ABS_BITS});`);
          w.bind(`${id}.d`, l.inZeroPoint ? `${x[i]} - ${l.inZeroPoint}` : x[i]);
          return [1, `${id}.out`];
        });
        return emitLinearRow(w, `${v}[${o}]`, 0, terms);
      }
      const id = w.fresh('sq');
      w.line(`component ${id} = NormSquares(${n}, ${l.inZeroPoint});`);
      g.forEach((i, j) => w.bind(`${id}.x[${j}]`, x[i]));
      const sum = emitLinearRow(w, `${v}[${o}]`, 0, g.map((_, j) => [1, `${id}.out[${j}]`]));
      if (l.fn === 'sumsquare') return sum;
      w.include('isqrt.circom');
      const r = w.fresh('l2root');
      w.line(`component ${r} = IsqrtFloor(${l.rootBits});`);
      w.bind(`${r}.w`, `${l.scale4} * ${sum}`);
      return `${r}.r`;
    });
  },
  constraints(l) {
    const groups = reduceGroups(l.inShape, l.axes);
    const n = groups[0].length;
    const per = l.fn === 'l1' ? n * (ABS_BITS + 3) : l.fn === 'sumsquare' ? n : n + 3 * l.rootBits + 6;
    return groups.length * per;
  },
  costFormula: 'per group of n: ReduceSumSquare n (products); ReduceL1 11 n (sign bits); ReduceL2 n + 3 BR + 6 (products, isqrt of BR bits), plus 1 per binding of a linear combination',
  bitsSummary: (l) => `${l.fn}${l.fn === 'l2' ? `, BR ${l.rootBits}` : ''}`,
};

export const normQDefs: { [K in NormQLayer['kind']]: QLayerDef<Extract<NormQLayer, { kind: K }>> } = {
  reduce: reduceQ,
  reducepow: reducePowQ,
  normalize: normalizeQ,
  softmax: softmaxQ,
};
