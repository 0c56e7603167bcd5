/**
 * Shared by the linear ops (Gemm/MatMul, Conv): how their input looks as integers, and per-output-channel
 * int8 weight quantization. Linear steps cost 0 constraints: weights are circuit constants.
 */
import type { PinnedWeights, U8Quant } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import type { QState, QuantizeContext } from './types.ts';

/** The integers a linear op reads: real[i] = (x[i] - zp) * scales[i], with x[i] - zp in [lo[i], hi[i]]. */
export interface InputView {
  state: QState;
  zp: number;
  scales: number[];
  lo: number[];
  hi: number[];
}

/** An accumulator input this wide is requantized first, so sums stay exact in float64 (below 2^50). */
const MAX_ACC_INPUT = 2 ** 24;

/**
 * The input of a linear op: an accumulator stays one (linear after linear costs nothing) when it has no
 * pending clamp, its bounds are moderate and `uniform(scales)` accepts its scales; otherwise it is
 * requantized to uint8.
 */
export function linearInput(ctx: QuantizeContext, uniform: (scales: number[]) => boolean): InputView {
  const s = ctx.input(0);
  if (s.quant.kind === 'acc' && !s.clamp) {
    const q = s.quant;
    const wide = q.lo.some((v) => !(v >= -MAX_ACC_INPUT)) || q.hi.some((v) => !(v <= MAX_ACC_INPUT));
    if (!wide && uniform(q.scales)) return { state: s, zp: 0, scales: q.scales, lo: q.lo, hi: q.hi };
  }
  const u = ctx.ensureU8(0);
  const n = sizeOf(u.shape);
  return {
    state: u, zp: u.quant.zeroPoint, scales: new Array(n).fill(u.quant.scale),
    lo: new Array(n).fill(-u.quant.zeroPoint), hi: new Array(n).fill(255 - u.quant.zeroPoint),
  };
}

/** Bits of a private bias: its signed range holds twice the largest bias, and at least 16 bits. */
export function privateBiasBits(biases: readonly number[]): number {
  const m = biases.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
  let bits = 1;
  while (2 ** bits <= m) bits++;
  return Math.max(16, bits + 2);
}

/** The weights a circuit with private parameters admits: int8. */
export const PRIVATE_WEIGHT_MIN = -128;
export const PRIVATE_WEIGHT_MAX = 127;

/**
 * Bounds of c + sum_t w_t * x_t over every admissible weight set (w_t in [-128, 127]) and bias c in
 * [-2^(biasBits-1), 2^(biasBits-1)), with x_t in [lo[t], hi[t]]: what a circuit with private parameters
 * must size its gadgets for, whatever weights are committed.
 */
export function privateBoundsOf(inputs: number[], biasBits: number, lo: number[], hi: number[]): [number, number] {
  let a = -(2 ** (biasBits - 1));
  let b = 2 ** (biasBits - 1) - 1;
  for (const i of inputs) {
    const c = [PRIVATE_WEIGHT_MIN * lo[i], PRIVATE_WEIGHT_MIN * hi[i], PRIVATE_WEIGHT_MAX * lo[i], PRIVATE_WEIGHT_MAX * hi[i]];
    a += Math.min(...c);
    b += Math.max(...c);
  }
  return [a, b];
}

/** The first weight outside int8, as [index, value], or undefined. */
export function weightOutsideInt8(ints: ArrayLike<number>): [number, number] | undefined {
  for (let t = 0; t < ints.length; t++) if (ints[t] < PRIVATE_WEIGHT_MIN || ints[t] > PRIVATE_WEIGHT_MAX) return [t, ints[t]];
  return undefined;
}

export interface QuantizedChannel {
  ints: number[];
  /** Scale of the accumulator: real output ~ acc * accScale. */
  accScale: number;
  weightScale: number;
  bias: number;
}

/**
 * Quantize one output channel: `weights[t]` applies to input elements with scale `inScales[t]`.
 * Pinned integers (from a pre-quantized model) are used as they are when the input is uint8 with one scale.
 */
export function quantizeChannel(weights: ArrayLike<number>, inScales: ArrayLike<number>, bias: number, pinned?: { ints: ArrayLike<number>; scale: number; bias?: number; accScale?: number }, inU8?: U8Quant): QuantizedChannel {
  if (pinned && inU8) {
    const accScale = pinned.accScale ?? inU8.scale * pinned.scale;
    return { ints: Array.from(pinned.ints), accScale, weightScale: pinned.scale, bias: pinned.bias ?? Math.round(bias / accScale) };
  }
  let maxAbs = 0;
  for (let t = 0; t < weights.length; t++) maxAbs = Math.max(maxAbs, Math.abs(weights[t] * inScales[t]));
  const accScale = maxAbs > 0 ? maxAbs / 127 : inScales[0] ?? 1;
  const ints = Array.from(weights, (w, t) => Math.max(-127, Math.min(127, Math.round((w * inScales[t]) / accScale))));
  return { ints, accScale, weightScale: accScale / (inScales[0] || 1), bias: Math.round(bias / accScale) };
}

export function pinnedChannel(p: PinnedWeights | undefined, j: number, perChannel: number): { ints: ArrayLike<number>; scale: number; bias?: number; accScale?: number } | undefined {
  if (!p) return undefined;
  return { ints: p.ints.subarray(j * perChannel, (j + 1) * perChannel), scale: p.scales[j], bias: p.bias?.[j], accScale: p.accScales?.[j] };
}

/** Exact bounds of sum w[t] * x[t] + c with x[t] in [lo[t], hi[t]]. */
export function boundsOf(terms: [number, number][], c: number, lo: number[], hi: number[]): [number, number] {
  let a = c;
  let b = c;
  for (const [w, i] of terms) {
    a += Math.min(w * lo[i], w * hi[i]);
    b += Math.max(w * lo[i], w * hi[i]);
  }
  return [a, b];
}

/** Largest magnitude an accumulator may reach: sums stay exact in float64 and far below the field. */
export const MAX_ACC = 2 ** 50;

const CHUNK = 48;

/** One term of a linear row: an integer coefficient times a circom expression. */
export type Term = [coef: number, expr: string];

/**
 * A row that is a constant, or a lone term with coefficient 1, is used as it is: binding it then costs what
 * --O1 makes it cost (nothing for a bare signal or a constant). Undefined for any other row.
 */
function trivialRow(constant: number, terms: Term[]): string | undefined {
  const nz = terms.filter(([c]) => c !== 0);
  if (nz.length === 0) return String(constant);
  if (nz.length === 1 && constant === 0 && nz[0][0] === 1) return nz[0][1];
  return undefined;
}

/**
 * Emit `v = c; v += ...` in chunks of 48 terms (circom2 crashes on one expression of ~600 terms and is
 * quadratic on long `+=` chains); returns the expression for the row.
 */
export function emitLinearRow(w: { line(t: string): void }, v: string, constant: number, terms: Term[]): string {
  const trivial = trivialRow(constant, terms);
  if (trivial !== undefined) return trivial;
  const parts = terms.filter(([c]) => c !== 0).map(([c, e]) => (c === 1 ? e : `${c}*${e}`));
  w.line(`${v} = ${constant};`);
  for (let s = 0; s < parts.length; s += CHUNK) w.line(`${v} += ${parts.slice(s, s + CHUNK).join(' + ')};`);
  return v;
}

/**
 * The input tensor as one circom array the loops of a linear op can index: the public input `in` itself, or
 * a var array holding each element's expression (a copy costs no constraint).
 */
export function inputArray(w: { fresh(p: string): string; line(t: string): void }, x: string[]): string {
  if (x.every((e, i) => e === `in[${i}]`)) return 'in';
  const v = w.fresh('x');
  w.line(`var ${v}[${x.length}];`);
  x.forEach((e, i) => w.line(`${v}[${i}] = ${e};`));
  return v;
}

/** A var array literal (circom wants at least one element). */
export function arrayLiteral(v: ArrayLike<number>): string {
  return `[${Array.from(v).join(',')}]`;
}

/** The expression for a row computed by loops into `varElem`: the row itself when trivial (see trivialRow). */
export function rowExpr(constant: number, terms: Term[], varElem: string): string {
  return trivialRow(constant, terms) ?? varElem;
}
