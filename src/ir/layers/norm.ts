/** Reductions, normalizations and Softmax inside a network (src/ops/norm.ts). */
import type { AccQuant, LayerBase, QBase } from '../types.ts';

/** Which reduction: sum and mean are linear (0 constraints); the others are gadgets. */
export type ReduceFunction = 'sum' | 'mean' | 'sumsquare' | 'l1' | 'l2' | 'logsumexp';

/** ReduceSum / ReduceMean over `axes` (normalized, sorted); outShape already applies keepdims. */
export interface ReduceLayer extends LayerBase {
  kind: 'reduce';
  fn: ReduceFunction;
  axes: number[];
}

/**
 * LayerNormalization, InstanceNormalization, GroupNormalization: the input is cut into consecutive groups of
 * `groupSize` elements (all three normalize contiguous blocks of a row-major tensor), each normalized to
 * mean 0 and variance 1 (population variance + epsilon), then y = yhat * gamma[i] + beta[i] per element.
 */
export interface NormalizeLayer extends LayerBase {
  kind: 'normalize';
  op: string;
  groupSize: number;
  epsilon: number;
  gamma: Float64Array;
  beta: Float64Array;
}

/** Softmax (or LogSoftmax) over each group of `axes` (one axis for opset >= 13; the trailing axes before). */
export interface SoftmaxLayer extends LayerBase {
  kind: 'softmax';
  axes: number[];
  log: boolean;
}

/** out = sum over each group of (x - inZeroPoint): an accumulator (scale s, or s / n for a mean). */
export interface QReduce extends QBase {
  kind: 'reduce';
  axes: number[];
  inZeroPoint: number;
  outQuant: AccQuant;
}

/**
 * ReduceSumSquare / ReduceL1 / ReduceL2 of uint8 values x over each group (see circuits/reduce.circom):
 * sum (x - zp)^2, sum |x - zp|, or isqrt(scale4 * sum (x - zp)^2).
 */
export interface QReducePow extends QBase {
  kind: 'reducepow';
  fn: 'sumsquare' | 'l1' | 'l2';
  axes: number[];
  inZeroPoint: number;
  /** l2: 4^k (the root carries k more bits); 1 otherwise. */
  scale4: number;
  /** l2: bits of the root. */
  rootBits: number;
  outQuant: AccQuant;
}

/**
 * Integer normalization of each group of n uint8 values x (see circuits/layernorm.circom):
 *   c_i = n x_i - sum x,  R = isqrt(scale4 * sum c_i^2 + e),  out_i = round(k_i c_i / R) + b_i.
 */
export interface QNormalize extends QBase {
  kind: 'normalize';
  groupSize: number;
  /** 4^k: the radicand is scaled so that the root carries k more bits. */
  scale4: number;
  /** n^3 eps / s^2 at the radicand's scale (at least 1, so the root is >= 1). */
  e: number;
  k: number[];
  b: number[];
  /** Bits of the root R. */
  rootBits: number;
  /** Bits of q + qOffset (q = out - b). */
  qBits: number;
  qOffset: number;
  outQuant: AccQuant;
}

/**
 * Integer softmax of each group of n uint8 values x (see circuits/softmax.circom):
 *   m = max x,  e_i = table[m - x_i],  out_i = round(k e_i / sum e)                      ('softmax')
 *   j = round((sum e - 2^F) 255 / den),  L = logTable[j]
 *   out_i = (x_i - m) 2^logShift - L                                                      ('logsoftmax')
 *   out = (m - inZeroPoint) 2^logShift + L   (one per group)                              ('logsumexp')
 */
export interface QSoftmax extends QBase {
  kind: 'softmax';
  mode: 'softmax' | 'logsoftmax' | 'logsumexp';
  axes: number[];
  /** F: table[0] = 2^F. */
  expBits: number;
  inZeroPoint: number;
  /** Log modes: the log table, the constant divisor (n - 1) 2^F and its bits, the shift of x - m. */
  logTable?: number[];
  den?: number;
  denBits?: number;
  logShift?: number;
  table: number[];
  /** Output scale 1/k. */
  k: number;
  /** Bits of the largest possible sum of table values. */
  sumBits: number;
  qBits: number;
  outQuant: AccQuant;
}

/** Layer kinds of this family, joined into FloatLayer / QLayer in ../types.ts. */
export type NormFloatLayer = ReduceLayer | NormalizeLayer | SoftmaxLayer;
export type NormQLayer = QReduce | QReducePow | QNormalize | QSoftmax;
