/**
 * Element-wise functions of one activation.
 *
 * Sigmoid, Tanh, LeakyRelu, Elu, Selu, Celu, Softplus, Softsign, HardSigmoid, HardSwish, Mish, Gelu (approximate
 * 'none' and 'tanh'), Erf, Exp, Log, Sqrt, Reciprocal, Abs, Sign, PRelu, ThresholdedRelu, Floor, Ceil, Round, Sin
 * Cos, Tan, Sinh, Cosh, Asin, Acos, Atan, Asinh, Acosh, Atanh and Shrink run on uint8 values through a
 * 256-entry table (circuits/lut.circom):
 *
 *   T[q] = clamp(round(f(d((q - zp_in) * s_in)) / s_out) + zp_out, 0, 255)
 *
 * The table is f evaluated exactly at every possible quantized input, so the only errors are the two
 * quantizations. Worst case, for an input x inside the calibrated range [lo, hi] whose f(x) is inside the
 * calibrated output range:
 *
 *   |(T[q(x)] - zp_out) * s_out - f(x)| <= s_out / 2 + L * s_in / 2 + J
 *
 * with L the Lipschitz constant of f over [lo - s_in/2, hi + s_in/2] (lutLipschitz: 1/4 for sigmoid, 1 for tanh,
 * max(1, |alpha|) for LeakyRelu, e^(hi + s_in/2) for Exp, 1/lo for Log, 1 + tan^2 for Tan, cosh / sinh of the
 * largest |x| for Sinh / Cosh, 1 for Atan, Asinh and Shrink, ...) and J the largest jump of a discontinuous f (1
 * for Floor, Ceil, Round and Sign, |alpha| for ThresholdedRelu, |lambd - bias| for Shrink; 0 otherwise): lutErrorBound.
 *
 * Asin, Acos, Acosh and Atanh are clamped the same way (their domain is [-1, 1], [1, inf), (-1, 1), and the
 * calibrated range lies inside it, since calibration refuses a non-finite float value): a grid point outside
 * reads f at the nearest end of the calibrated range, never NaN (onnxruntime gives NaN there). Their L is the
 * slope at the range's end farthest from 0 (Acosh: at lo), and where the range reaches +-1 (Asin, Acos) or 1
 * (Acosh) the bound uses the modulus of continuity instead (acos(1 - s_in/2), acosh(1 + s_in/2)).
 *
 * d is the identity except for Log, Sqrt and Reciprocal, whose slope is unbounded near 0: their table clamps its
 * argument to the calibrated input range [lo, hi] (d(x) = min(hi, max(lo, x))), so the grid points between 0 and
 * lo (the uint8 grid always includes 0) read f(lo), and L is the slope over [lo, hi] (1/lo, 1/(2 sqrt(lo)),
 * 1/min(|lo|, |hi|)^2). A table never holds NaN or Infinity: a value f gives as -Infinity or NaN (Log(0), Log or
 * Sqrt of a negative number, possible only when the calibrated range reaches 0 or below) is the grid's low end
 * (uint8 0), +Infinity (1/0) its high end (uint8 255). Calibration refuses a model whose float computation is
 * not finite on a calibration sample, so such ranges arise only with a hand-made calibration set.
 *
 * PRelu's slope tensor is broadcast to the input: each distinct slope gets its own table, each element reads its
 * slope's table (the same 35 constraints per element).
 *
 * Abs and PRelu of an accumulator (a Gemm/Conv output, no pending clamp) need neither requantization nor table:
 * out = pos * x + mag * |x| on the accumulator's integers (QPwl), with |x| proven by AbsAcc(n)
 * (circuits/elementwise-abs.circom: n bits with |x| < 2^n from the exact bounds, and (out - x)(out + x) = 0),
 * n + 2 constraints per element whose sign the bounds leave open, 0 where they fix it. Abs is exact (error 0). PRelu
 * with slope alpha uses pos = D + a, mag = D - a at scale s_in / (2D), a = round(alpha * D), D = 2^k the least
 * k <= 10 making every slope * D an integer (exact for dyadic slopes such as 0.25), else D = 2^10: the only
 * error is then |x| * |alpha - a/D| <= |x| / 2^11. The output stays an accumulator (the next Gemm/Conv reads it,
 * or a requantization makes it uint8). LeakyRelu keeps its table (test/ops.test.ts expects one).
 *
 * Neg needs no table: it negates the integers exactly (a uint8 q with zero point zp becomes 255 - q with zero
 * point 255 - zp; an accumulator q becomes -q), 0 constraints.
 *
 * Cost of a table on a uint8 input: 35 constraints per element (Lut256; plus 1 binding when the input is a linear
 * combination). On an accumulator (a Gemm/Conv output without a pending clamp) the requantization that makes the
 * table's uint8 index is fused in (QLutRequant, circuits/elementwise-lut.circom): the table reads the
 * requantization's own bits, K + 31 constraints per element (K + 28 when the value cannot exceed 255) instead of
 * K + 5 + 35 (K + 2 + 35), with the same integer semantics (src/ops/requant.ts) and so the same error bound.
 * Sigmoid, Tanh and LeakyRelu keep the separate form (UNFUSED: test/ops.test.ts pins their kind and cost).
 */
import type { LutFunction, LutLayer, NegLayer, QLut, QLutRequant, QNeg, QPwl } from '../ir/layers/elementwise.ts';
import type { ElementwiseFloatLayer, ElementwiseQLayer } from '../ir/layers/elementwise.ts';
import type { AccQuant, U8Quant } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import { roundHalfEven, u8QuantFor } from '../ir/quant.ts';
import type { OnnxNode } from '../onnx/load.ts';
import { attrFloat, checkKnownAttrs } from './attrs.ts';
import { emitLinearRow, MAX_ACC } from './linear.ts';
import { makeRequant, MAX_REQUANT_BITS, requantValue } from './requant.ts';
import { bitsFor, type FloatLayerDef, type ImportContext, type OpImporter, type QLayerDef, type QuantizeContext, type QState } from './types.ts';

export const LUT_CONSTRAINTS = 35;

/** The default alpha of each function that has one (ONNX attribute defaults). */
export const SELU_ALPHA = 1.67326319217681884765625;
export const SELU_GAMMA = 1.05070102214813232421875;

/** erf(x) to about 1e-15: Taylor series for |x| < 2.5, Laplace's continued fraction for erfc above, 1 from 6. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  if (ax < 2.5) {
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x^2) / sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) / (x + 2 / (x + ...)))))
  let t = ax;
  for (let k = 120; k >= 1; k--) t = ax + k / 2 / t;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / t;
  return Math.sign(x) * (1 - erfc);
}

const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

/**
 * f as onnxruntime computes it (in float64). `alpha`: LeakyRelu/Elu/Celu/Selu/HardSigmoid/ThresholdedRelu alpha,
 * or PRelu's slope; `beta`: HardSigmoid beta, Selu gamma.
 */
export function lutFn(fn: LutFunction, alpha: number, beta = 0): (x: number) => number {
  switch (fn) {
    case 'sigmoid': return (x) => 1 / (1 + Math.exp(-x));
    case 'tanh': return Math.tanh;
    case 'leakyrelu': case 'prelu': return (x) => (x >= 0 ? x : alpha * x);
    case 'elu': return (x) => (x >= 0 ? x : alpha * (Math.exp(x) - 1));
    case 'selu': return (x) => (x > 0 ? beta * x : beta * (alpha * Math.exp(x) - alpha));
    case 'celu': return (x) => Math.max(0, x) + Math.min(0, alpha * (Math.exp(x / alpha) - 1));
    case 'softplus': return softplus;
    case 'softsign': return (x) => x / (1 + Math.abs(x));
    case 'hardsigmoid': return (x) => Math.max(0, Math.min(1, alpha * x + beta));
    case 'hardswish': return (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5));
    case 'mish': return (x) => x * Math.tanh(softplus(x));
    case 'gelu': return (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'gelutanh': return (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    case 'erf': return erf;
    case 'exp': return Math.exp;
    case 'log': return Math.log;
    case 'sqrt': return Math.sqrt;
    case 'reciprocal': return (x) => 1 / x;
    case 'abs': return Math.abs;
    case 'sign': return (x) => (x > 0 ? 1 : x < 0 ? -1 : 0);
    case 'thresholdedrelu': return (x) => (x > alpha ? x : 0);
    case 'floor': return Math.floor;
    case 'ceil': return Math.ceil;
    case 'round': return roundHalfEven;
    case 'sin': return Math.sin;
    case 'cos': return Math.cos;
    case 'tan': return Math.tan;
    case 'sinh': return Math.sinh;
    case 'cosh': return Math.cosh;
    case 'asin': return Math.asin;
    case 'acos': return Math.acos;
    case 'atan': return Math.atan;
    case 'asinh': return Math.asinh;
    case 'acosh': return Math.acosh;
    case 'atanh': return Math.atanh;
    // ONNX Shrink: x + bias below -lambd, x - bias above lambd, 0 between (alpha = lambd, beta = bias).
    case 'shrink': return (x) => (x < -alpha ? x + beta : x > alpha ? x - beta : 0);
  }
}

/** Functions whose table clamps its argument to the calibrated input range (unbounded slope near 0). */
export const DOMAIN_CLAMPED: readonly LutFunction[] = ['log', 'sqrt', 'reciprocal', 'asin', 'acos', 'acosh', 'atanh'];

/**
 * Lipschitz constant of f, for the error bound: over all reals, or over `range` (the calibrated input range,
 * widened by half an input step by the caller) for Exp, Log, Sqrt and Reciprocal, whose slope is unbounded
 * (Infinity when the range reaches the singularity). Discontinuous functions: the slope between their jumps
 * (see lutJump). `alpha`: as lutFn (PRelu: the largest |slope|); `beta`: HardSigmoid beta, Selu gamma.
 */
export function lutLipschitz(fn: LutFunction, alpha: number, range?: { min: number; max: number }, beta = 0): number {
  const lo = range?.min ?? -Infinity;
  const hi = range?.max ?? Infinity;
  switch (fn) {
    case 'sigmoid': return 0.25;
    case 'tanh': case 'softplus': case 'softsign': case 'celu': case 'abs': case 'sin': case 'cos': case 'thresholdedrelu': return 1;
    case 'leakyrelu': case 'prelu': case 'elu': return Math.max(1, Math.abs(alpha));
    case 'selu': return Math.abs(beta) * Math.max(1, Math.abs(alpha));
    case 'hardsigmoid': return Math.abs(alpha);
    case 'hardswish': return 1.5;
    // sup |f'| over the reals, from a fine scan (f'' is bounded), rounded up.
    case 'mish': return 1.09;
    case 'gelu': return 1.13;
    case 'gelutanh': return 1.13;
    case 'erf': return 2 / Math.sqrt(Math.PI);
    case 'exp': return Math.exp(hi);
    case 'log': return lo > 0 ? 1 / lo : Infinity;
    case 'sqrt': return lo > 0 ? 1 / (2 * Math.sqrt(lo)) : Infinity;
    case 'reciprocal': return lo > 0 || hi < 0 ? 1 / Math.min(Math.abs(lo), Math.abs(hi)) ** 2 : Infinity;
    case 'sign': case 'floor': case 'ceil': case 'round': return 0;
    case 'atan': case 'asinh': case 'shrink': return 1;
    // Over the (widened) calibrated range: the slope grows away from 0 (tan: up to its poles at +-pi/2).
    case 'tan': return lo > -Math.PI / 2 && hi < Math.PI / 2 ? 1 + Math.max(Math.tan(lo) ** 2, Math.tan(hi) ** 2) : Infinity;
    case 'sinh': return Math.cosh(Math.max(Math.abs(lo), Math.abs(hi)));
    case 'cosh': return Math.sinh(Math.max(Math.abs(lo), Math.abs(hi)));
    // Domain-clamped (their table reads the calibrated range): the slope is unbounded at +-1 (asin, acos, atanh), 1 (acosh).
    case 'asin': case 'acos': {
      const m = Math.max(Math.abs(lo), Math.abs(hi));
      return m < 1 ? 1 / Math.sqrt(1 - m * m) : Infinity;
    }
    case 'acosh': return lo > 1 ? 1 / Math.sqrt(lo * lo - 1) : Infinity;
    case 'atanh': {
      const m = Math.max(Math.abs(lo), Math.abs(hi));
      return m < 1 ? 1 / (1 - m * m) : Infinity;
    }
  }
}

/** The largest jump of a discontinuous f (0 for a continuous one); `beta`: Shrink's bias. */
export function lutJump(fn: LutFunction, alpha: number, beta = 0): number {
  switch (fn) {
    case 'sign': case 'floor': case 'ceil': case 'round': return 1;
    case 'thresholdedrelu': return Math.abs(alpha);
    // Shrink jumps from 0 to +-(lambd - bias) at +-lambd.
    case 'shrink': return Math.abs(alpha - beta);
    default: return 0;
  }
}

/** Options of a table beyond its function: HardSigmoid beta / Selu gamma, and the argument clamp (DOMAIN_CLAMPED). */
export interface TableOptions {
  beta?: number;
  domain?: { min: number; max: number };
}

/** The 256-entry table of f from one uint8 grid to another (see the header: NaN and -Infinity -> 0, +Infinity -> 255). */
export function makeTable(fn: LutFunction, alpha: number, inQ: U8Quant, outQ: U8Quant, opts: TableOptions = {}): number[] {
  const f = lutFn(fn, alpha, opts.beta);
  const d = opts.domain;
  return Array.from({ length: 256 }, (_, q) => {
    let x = (q - inQ.zeroPoint) * inQ.scale;
    if (d) x = Math.min(d.max, Math.max(d.min, x));
    const y = f(x);
    if (Number.isNaN(y) || y === -Infinity) return 0;
    if (y === Infinity) return 255;
    return Math.max(0, Math.min(255, roundHalfEven(y / outQ.scale) + outQ.zeroPoint));
  });
}

/**
 * The worst-case error of a table (header): s_out/2 + L s_in/2 + J, for inputs inside the calibrated range
 * `range` whose f(x) is inside the output grid (Sqrt: s_out/2 + min(L s_in/2, sqrt(s_in/2)), finite when the
 * range starts at 0; Log and Reciprocal: Infinity when the range reaches 0). PRelu: `alpha` is the largest |slope|.
 */
export function lutErrorBound(fn: LutFunction, alpha: number, inQ: U8Quant, outQ: U8Quant, range: { min: number; max: number }, beta = 0): number {
  const h = inQ.scale / 2;
  const r = DOMAIN_CLAMPED.includes(fn) ? range : { min: range.min - h, max: range.max + h };
  const lip = lutLipschitz(fn, alpha, r, beta) * h;
  return outQ.scale / 2 + Math.min(lip, modulus(fn, h)) + lutJump(fn, alpha, beta);
}

/**
 * The modulus of continuity w(h) = sup |f(a) - f(b)| over |a - b| <= h of the functions whose slope is unbounded
 * at an end of their domain, finite where the Lipschitz bound is not (Infinity for the others). Sqrt: sqrt(h)
 * (1/2-Hoelder). Asin and Acos: acos(1 - h) (the steepest step of length h ends at +-1; asin is superadditive on
 * [0, 1], so a step across 0 rises less). Acosh: acosh(1 + h) (concave, steepest at 1).
 */
function modulus(fn: LutFunction, h: number): number {
  switch (fn) {
    case 'sqrt': return Math.sqrt(h);
    case 'asin': case 'acos': return Math.acos(1 - Math.min(h, 2));
    case 'acosh': return Math.acosh(1 + h);
    default: return Infinity;
  }
}

// ---- Importers ----

function attrString(node: OnnxNode, ctx: ImportContext, name: string, dflt: string): string {
  const a = node.attrs.get(name);
  if (!a) return dflt;
  if (a.type !== 'string') {
    ctx.issue(`attribute '${name}' should be a string, got ${a.type}`);
    return dflt;
  }
  return a.value;
}

/** An importer for a table function with the given float attributes (name and ONNX default). */
const importer = (op: string, fn: LutFunction, attrs: { alpha?: [string, number]; beta?: [string, number] } = {}): OpImporter => ({
  onnxOps: [op],
  importNode(node, ctx) {
    checkKnownAttrs(node, ctx, [attrs.alpha?.[0], attrs.beta?.[0]].filter((a): a is string => a !== undefined));
    const alpha = attrs.alpha ? attrFloat(node, ctx, attrs.alpha[0], attrs.alpha[1]) : 0;
    const shape = ctx.current.shape;
    const layer: LutLayer = { kind: 'lut', name: node.name, inputs: [ctx.current.name], output: node.outputs[0], inShape: shape, outShape: shape, fn, alpha };
    if (attrs.beta) layer.beta = attrFloat(node, ctx, attrs.beta[0], attrs.beta[1]);
    if (fn === 'celu' && alpha === 0) return ctx.issue(`attribute 'alpha' must not be 0 (Celu divides by it)`);
    ctx.push(layer);
  },
});

const geluImporter: OpImporter = {
  onnxOps: ['Gelu'],
  importNode(node, ctx) {
    checkKnownAttrs(node, ctx, ['approximate']);
    const approx = attrString(node, ctx, 'approximate', 'none');
    if (approx !== 'none' && approx !== 'tanh') return ctx.issue(`attribute 'approximate' = '${approx}' is not supported (supported: 'none', 'tanh')`);
    const shape = ctx.current.shape;
    ctx.push({ kind: 'lut', name: node.name, inputs: [ctx.current.name], output: node.outputs[0], inShape: shape, outShape: shape, fn: approx === 'tanh' ? 'gelutanh' : 'gelu', alpha: 0 });
  },
};

/** The per-element values of `data` (shape `dims`) broadcast (numpy rules) to `shape`, or an error message. */
export function broadcastTo(data: ArrayLike<number>, dims: number[], shape: number[]): number[] | string {
  if (dims.length > shape.length) return `slope shape [${dims}] has more dimensions than the input [${shape}]`;
  const pad = shape.length - dims.length;
  const d = [...new Array<number>(pad).fill(1), ...dims];
  for (let k = 0; k < shape.length; k++) {
    if (d[k] !== 1 && d[k] !== shape[k]) return `slope shape [${dims}] does not broadcast to the input shape [${shape}]`;
  }
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    strides[k] = d[k] === 1 ? 0 : s;
    s *= d[k];
  }
  const n = sizeOf(shape);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let rem = i;
    let src = 0;
    for (let k = shape.length - 1; k >= 0; k--) {
      const c = rem % shape[k];
      rem = (rem - c) / shape[k];
      src += c * strides[k];
    }
    out[i] = data[src];
  }
  return out;
}

const preluImporter: OpImporter = {
  onnxOps: ['PRelu'],
  importNode(node, ctx) {
    checkKnownAttrs(node, ctx, []);
    const slopeName = node.inputs[1];
    const slope = slopeName ? ctx.constant(slopeName) : undefined;
    if (!slope) return ctx.issue(`slope ('${slopeName ?? ''}') must be a constant (an initializer)`);
    const shape = ctx.current.shape;
    const slopes = broadcastTo(slope.data, slope.dims, shape);
    if (typeof slopes === 'string') return ctx.issue(slopes);
    const uniform = slopes.every((v) => v === slopes[0]);
    const layer: LutLayer = { kind: 'lut', name: node.name, inputs: [ctx.current.name], output: node.outputs[0], inShape: shape, outShape: shape, fn: 'prelu', alpha: slopes[0] };
    if (!uniform) layer.slopes = slopes;
    ctx.push(layer);
  },
};

const negImporter: OpImporter = {
  onnxOps: ['Neg'],
  importNode(node, ctx) {
    checkKnownAttrs(node, ctx, []);
    const shape = ctx.current.shape;
    ctx.push({ kind: 'neg', name: node.name, inputs: [ctx.current.name], output: node.outputs[0], inShape: shape, outShape: shape });
  },
};

export const lutImporters: OpImporter[] = [
  importer('Sigmoid', 'sigmoid'), importer('Tanh', 'tanh'), importer('LeakyRelu', 'leakyrelu', { alpha: ['alpha', 0.01] }),
  importer('Elu', 'elu', { alpha: ['alpha', 1] }),
  importer('Selu', 'selu', { alpha: ['alpha', SELU_ALPHA], beta: ['gamma', SELU_GAMMA] }),
  importer('Celu', 'celu', { alpha: ['alpha', 1] }),
  importer('Softplus', 'softplus'), importer('Softsign', 'softsign'),
  importer('HardSigmoid', 'hardsigmoid', { alpha: ['alpha', 0.2], beta: ['beta', 0.5] }),
  importer('HardSwish', 'hardswish'), importer('Mish', 'mish'), geluImporter, importer('Erf', 'erf'),
  importer('Exp', 'exp'), importer('Log', 'log'), importer('Sqrt', 'sqrt'), importer('Reciprocal', 'reciprocal'),
  importer('Abs', 'abs'), importer('Sign', 'sign'), preluImporter, importer('ThresholdedRelu', 'thresholdedrelu', { alpha: ['alpha', 1] }),
  importer('Floor', 'floor'), importer('Ceil', 'ceil'), importer('Round', 'round'), importer('Sin', 'sin'), importer('Cos', 'cos'),
  importer('Tan', 'tan'), importer('Sinh', 'sinh'), importer('Cosh', 'cosh'), importer('Asin', 'asin'), importer('Acos', 'acos'),
  importer('Atan', 'atan'), importer('Asinh', 'asinh'), importer('Acosh', 'acosh'), importer('Atanh', 'atanh'),
  importer('Shrink', 'shrink', { alpha: ['lambd', 0.5], beta: ['bias', 0] }),
  negImporter,
];

// ---- Table layers ----

export const lutFloat: FloatLayerDef<LutLayer> = {
  forward(l, [x]) {
    if (l.slopes) {
      const sl = l.slopes;
      return x.map((v, i) => (v >= 0 ? v : sl[i] * v));
    }
    return x.map(lutFn(l.fn, l.alpha, l.beta));
  },
  quantize(l, ctx) {
    if (l.fn === 'abs' || l.fn === 'prelu') {
      const a = ctx.settle(0);
      if (a.quant.kind === 'acc' && pushPwl(l, a as QState & { quant: AccQuant }, ctx)) return;
    }
    const out = u8QuantFor(ctx.outRange);
    const opts: TableOptions = { beta: l.beta };
    if (DOMAIN_CLAMPED.includes(l.fn)) opts.domain = ctx.range(l.inputs[0]);
    const a = ctx.input(0);
    // A pending ReLU (a clamp from 0, e.g. Relu or Relu6 after a Gemm) is applied by the requantization itself: the
    // grid then starts at 0 (zero point 0) and ends at the calibrated maximum (within the clamp), so clamping to
    // [0, 255] is the ReLU, exactly what ensureU8 does for it.
    const reluOnly = !a.clamp || (a.clamp.lo === 0 && !a.clamp.quant);
    if (a.quant.kind === 'acc' && reluOnly && !l.slopes && !UNFUSED.includes(l.fn)) {
      // The requantization ensureU8 would make (the calibrated range's grid), fused with the table.
      const inQ = u8QuantFor(ctx.range(l.inputs[0]));
      const rq = makeRequant(l.name, a.tensor, l.output, a.shape, a.quant, 0, inQ, !!a.clamp, ctx.multiplierBits);
      const fits = rq.multipliers.every((m) => Number.isSafeInteger(m)) && rq.bits.every((k) => k <= MAX_REQUANT_BITS);
      if (fits && (!a.clamp || (inQ.zeroPoint === 0 && inQ.scale * 255 <= a.clamp.hi))) {
        return ctx.push({
          kind: 'lutrq', name: l.name, inputs: [a.tensor], output: l.output, inShape: a.shape, outShape: l.outShape, fn: l.fn,
          table: makeTable(l.fn, l.alpha, inQ, out, opts), multipliers: rq.multipliers, shifts: rq.shifts, bits: rq.bits,
          accQuant: a.quant, inQuant: inQ, outQuant: out,
        });
      }
    }
    const s = ctx.ensureU8(0);
    const base = {
      kind: 'lut' as const, name: l.name, inputs: [s.tensor], output: l.output, inShape: s.shape, outShape: l.outShape,
      fn: l.fn, inQuant: s.quant, outQuant: out,
    };
    if (!l.slopes) return ctx.push({ ...base, table: makeTable(l.fn, l.alpha, s.quant, out, opts) });
    const distinct = [...new Set(l.slopes)];
    const tables = distinct.map((a) => makeTable(l.fn, a, s.quant, out, opts));
    const at = new Map(distinct.map((a, k) => [a, k]));
    ctx.push({ ...base, table: tables[0], tables, tableIndex: l.slopes.map((a) => at.get(a)!) });
  },
};

export const lutQ: QLayerDef<QLut> = {
  reference(l, [x]) {
    const { tables, tableIndex } = l;
    if (tables && tableIndex) return x.map((v, i) => tables[tableIndex[i]][v]);
    return x.map((v) => l.table[v]);
  },
  emit(l, [x], w) {
    w.include('lut.circom');
    const tables = l.tables && l.tableIndex ? l.tables : [l.table];
    const ids = tables.map(() => w.fresh('table'));
    w.line(`// ${l.name}: ${l.fn} by ${tables.length === 1 ? 'a 256-entry table' : `${tables.length} 256-entry tables (one per slope)`}`);
    tables.forEach((t, k) => w.line(`var ${ids[k]}[256] = [${t.join(',')}];`));
    return x.map((e, i) => {
      const id = w.fresh('lut');
      w.line(`component ${id} = Lut256(${ids[l.tableIndex && l.tables ? l.tableIndex[i] : 0]});`);
      w.bind(`${id}.x`, e);
      return `${id}.out`;
    });
  },
  constraints: (l) => LUT_CONSTRAINTS * sizeOf(l.outShape),
  costFormula: 'per element: 35 (8 bits, 1 recomposition, 11 monomials, 15 multiplexers)',
  bitsSummary: (l) => (l.tables && l.tables.length > 1 ? `${l.fn} (${l.tables.length} tables)` : l.fn),
};

// ---- A table of an accumulator, its requantization fused in ----

/**
 * Functions that keep the separate requantization and Lut256 on an accumulator (test/ops.test.ts pins their
 * layer kind and cost); every other table function of an accumulator without a pending clamp is fused (QLutRequant).
 */
export const UNFUSED: readonly LutFunction[] = ['sigmoid', 'tanh', 'leakyrelu'];

const isConstantAt = (l: QLutRequant, j: number) => l.accQuant.lo[j] === l.accQuant.hi[j];
const midBits = (l: QLutRequant, j: number) => l.bits[j] - 1 - l.shifts[j];

/** Constraints of one element of a fused table: K + 31 (wide, m > 8), K + 28 (narrow), 0 for a constant. */
export function lutRequantConstraints(l: QLutRequant, j: number): number {
  if (isConstantAt(l, j)) return 0;
  return midBits(l, j) > 8 ? l.bits[j] + 31 : l.bits[j] + 28;
}

const lutRequantQ: QLayerDef<QLutRequant> = {
  reference: (l, [x]) => x.map((v, j) => l.table[requantValue(BigInt(v), l.multipliers[j], l.shifts[j], l.inQuant.zeroPoint)]),
  emit(l, [x], w) {
    w.include('elementwise-lut.circom');
    const t = w.fresh('table');
    w.line(`// ${l.name}: ${l.fn} of an accumulator, requantization fused with a 256-entry table`);
    w.line(`var ${t}[256] = [${l.table.join(',')}];`);
    return x.map((e, j) => {
      if (isConstantAt(l, j)) return String(l.table[requantValue(BigInt(l.accQuant.lo[j]), l.multipliers[j], l.shifts[j], l.inQuant.zeroPoint)]);
      const s = l.shifts[j];
      const m = midBits(l, j);
      const c = (1n << BigInt(s - 1)) + (BigInt(l.inQuant.zeroPoint) + (1n << BigInt(m))) * (1n << BigInt(s));
      const id = w.fresh('lrq');
      w.line(`component ${id} = ${m > 8 ? 'LutRequantWide' : 'LutRequantNarrow'}(${l.bits[j]}, ${s}, ${t});`);
      w.bind(`${id}.u`, `${BigInt(l.multipliers[j])} * (${e}) + ${c}`);
      return `${id}.out`;
    });
  },
  constraints: (l) => l.bits.reduce((a, _k, j) => a + lutRequantConstraints(l, j), 0),
  costFormula: 'per element: K + 31 (wide, m > 8) or K + 28 (narrow), K = S + m + 1 bits of the requantization, plus 1 binding u = M*acc + C; 0 if constant',
  bitsSummary: (l) => `${l.fn}, K ${Math.min(...l.bits)}..${Math.max(...l.bits)}`,
};

// ---- Abs and PRelu on an accumulator ----

/** Largest power-of-two exponent tried for PRelu slopes that are not dyadic (slope error <= 2^-(k+1)). */
export const PWL_SLOPE_BITS = 10;

/** The denominator D = 2^k of the slopes: the least k <= PWL_SLOPE_BITS making every slope * D an integer, else 2^PWL_SLOPE_BITS. */
export function slopeDenominator(slopes: readonly number[]): number {
  for (let k = 0; k <= PWL_SLOPE_BITS; k++) if (slopes.every((a) => Number.isInteger(a * 2 ** k))) return 2 ** k;
  return 2 ** PWL_SLOPE_BITS;
}

const gcd = (a: number, b: number): number => (b === 0 ? Math.abs(a) : gcd(b, a % b));

/**
 * Abs or PRelu of an accumulator as out = pos x + mag |x| (QPwl). Returns false (the caller uses a table) when
 * the result could exceed 2^50.
 */
function pushPwl(l: LutLayer, s: QState & { quant: AccQuant }, ctx: QuantizeContext): boolean {
  const q = s.quant;
  const n = q.lo.length;
  const slopes = l.fn === 'abs' ? [] : l.slopes ?? new Array<number>(n).fill(l.alpha);
  const D = l.fn === 'abs' ? 1 : slopeDenominator(slopes);
  const pos: number[] = [];
  const mag: number[] = [];
  const scales: number[] = [];
  const lo: number[] = [];
  const hi: number[] = [];
  const sign: number[] = [];
  const bits: number[] = [];
  for (let i = 0; i < n; i++) {
    let p = 0;
    let m = 1;
    let scale = q.scales[i];
    if (l.fn === 'prelu') {
      const a = Math.round(slopes[i] * D);
      const g = gcd(D + a, D - a) || 1;
      p = (D + a) / g;
      m = (D - a) / g;
      scale = (q.scales[i] * g) / (2 * D);
    }
    const f = (x: number) => p * x + m * Math.abs(x);
    const vals = [f(q.lo[i]), f(q.hi[i]), ...(q.lo[i] < 0 && q.hi[i] > 0 ? [0] : [])];
    const a = Math.min(...vals);
    const b = Math.max(...vals);
    if (!(Math.max(-a, b) <= MAX_ACC)) return false;
    pos.push(p);
    mag.push(m);
    scales.push(scale);
    lo.push(a);
    hi.push(b);
    const sg = q.lo[i] >= 0 ? 1 : q.hi[i] <= 0 ? -1 : 0;
    sign.push(sg);
    bits.push(sg === 0 ? bitsFor(Math.max(-q.lo[i], q.hi[i])) : 0);
  }
  ctx.push({
    kind: 'pwl', name: l.name, inputs: [s.tensor], output: l.output, inShape: s.shape, outShape: l.outShape,
    fn: l.fn === 'abs' ? 'abs' : 'prelu', pos, mag, sign, bits, inQuant: q, outQuant: { kind: 'acc', scales, lo, hi },
  });
  return true;
}

const pwlQ: QLayerDef<QPwl> = {
  reference: (l, [x]) => x.map((v, i) => l.pos[i] * v + l.mag[i] * Math.abs(v)),
  emit(l, [x], w) {
    const v = w.fresh('pwl');
    w.line(`// ${l.name}: ${l.fn} of an accumulator, pos * x + mag * |x|`);
    w.line(`var ${v}[${x.length}];`);
    if (l.sign.some((sg) => sg === 0)) w.include('elementwise-abs.circom');
    return x.map((e, i) => {
      if (l.sign[i] !== 0) return emitLinearRow(w, `${v}[${i}]`, 0, [[l.pos[i] + l.sign[i] * l.mag[i], `(${e})`]]);
      const id = w.fresh('abs');
      w.line(`component ${id} = AbsAcc(${l.bits[i]});`);
      w.bind(`${id}.x`, e);
      return emitLinearRow(w, `${v}[${i}]`, 0, [[l.pos[i], `(${e})`], [l.mag[i], `${id}.out`]]);
    });
  },
  constraints: (l) => l.bits.reduce((a, n, i) => a + (l.sign[i] === 0 ? n + 2 : 0), 0),
  costFormula: 'per element: n + 2 (n bits of |x| < 2^n, 1 recomposition, 1 product), plus 1 binding when x is a linear combination; 0 where the sign of x is known',
  bitsSummary: (l) => `|x| < 2^${Math.max(0, ...l.bits)}`,
};

// ---- Neg ----

const negFloat: FloatLayerDef<NegLayer> = {
  forward: (_l, [x]) => x.map((v) => -v),
  quantize(l, ctx) {
    const s = ctx.settle(0);
    const base = { kind: 'neg' as const, name: l.name, inputs: [s.tensor], output: l.output, inShape: s.shape, outShape: l.outShape };
    if (s.quant.kind === 'u8') {
      ctx.push({ ...base, outQuant: { kind: 'u8', scale: s.quant.scale, zeroPoint: 255 - s.quant.zeroPoint } });
    } else {
      const q: AccQuant = s.quant;
      ctx.push({ ...base, outQuant: { kind: 'acc', scales: [...q.scales], lo: q.hi.map((v) => 0 - v), hi: q.lo.map((v) => 0 - v) } });
    }
  },
};

const negQ: QLayerDef<QNeg> = {
  reference: (l, [x]) => (l.outQuant.kind === 'u8' ? x.map((v) => 255 - v) : x.map((v) => 0 - v)),
  emit(l, [x], w) {
    const v = w.fresh('neg');
    const c = l.outQuant.kind === 'u8' ? 255 : 0;
    w.line(`// ${l.name}: negation (0 constraints)`);
    w.line(`var ${v}[${x.length}];`);
    return x.map((e, i) => emitLinearRow(w, `${v}[${i}]`, c, [[-1, `(${e})`]]));
  },
  constraints: () => 0,
  costFormula: '0 (exact: uint8 q -> 255 - q with zero point 255 - zp; accumulator q -> -q)',
  bitsSummary: (l) => (l.outQuant.kind === 'u8' ? 'u8' : 'acc'),
};

/** Further element-wise layer kinds (see ElementwiseFloatLayer / ElementwiseQLayer). */
export const elementwiseFloatDefs: { [K in ElementwiseFloatLayer['kind']]: FloatLayerDef<Extract<ElementwiseFloatLayer, { kind: K }>> } = { neg: negFloat };
export const elementwiseQDefs: { [K in ElementwiseQLayer['kind']]: QLayerDef<Extract<ElementwiseQLayer, { kind: K }>> } = { neg: negQ, pwl: pwlQ, lutrq: lutRequantQ };
