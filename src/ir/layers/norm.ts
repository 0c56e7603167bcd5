/** Reductions, normalizations and Softmax inside a network (src/ops/norm.ts). */
import type { AccQuant, LayerBase, QBase } from '../types.ts';

/** Which reduction: sum and mean are linear (0 constraints). */
export type ReduceFunction = 'sum' | 'mean';

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

/** Softmax over the elements of each group of `axes` (one axis for opset >= 13; the trailing axes before). */
export interface SoftmaxLayer extends LayerBase {
  kind: 'softmax';
  axes: number[];
}

/** out = sum over each group of (x - inZeroPoint): an accumulator (scale s, or s / n for a mean). */
export interface QReduce extends QBase {
  kind: 'reduce';
  axes: number[];
  inZeroPoint: number;
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
 *   m = max x,  e_i = table[m - x_i],  out_i = round(k e_i / sum e).
 */
export interface QSoftmax extends QBase {
  kind: 'softmax';
  axes: number[];
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
export type NormQLayer = QReduce | QNormalize | QSoftmax;
