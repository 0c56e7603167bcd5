/** Element-wise functions of one activation (src/ops/lut.ts). */
import type { AccQuant, LayerBase, QBase, U8Quant } from '../types.ts';

/**
 * Functions computed by a 256-entry table on uint8 values. 'gelu' is Gelu with approximate 'none' (exact erf),
 * 'gelutanh' with approximate 'tanh'; 'prelu' has a slope per element (LutLayer.slopes).
 */
export type LutFunction =
  | 'sigmoid' | 'tanh' | 'leakyrelu'
  | 'elu' | 'selu' | 'celu' | 'softplus' | 'softsign' | 'hardsigmoid' | 'hardswish' | 'mish' | 'gelu' | 'gelutanh'
  | 'erf' | 'exp' | 'log' | 'sqrt' | 'reciprocal' | 'abs' | 'sign' | 'prelu' | 'thresholdedrelu'
  | 'floor' | 'ceil' | 'round' | 'sin' | 'cos'
  | 'tan' | 'sinh' | 'cosh' | 'asin' | 'acos' | 'atan' | 'asinh' | 'acosh' | 'atanh' | 'shrink';

/** An elementwise non-linear function, computed on uint8 values by a 256-entry table. */
export interface LutLayer extends LayerBase {
  kind: 'lut';
  fn: LutFunction;
  /** LeakyRelu/Elu/Celu/Selu/HardSigmoid/ThresholdedRelu alpha, Shrink lambd (0 when the function has none). */
  alpha: number;
  /** HardSigmoid beta, Selu gamma, Shrink bias. */
  beta?: number;
  /** PRelu: the slope of every element (the slope tensor broadcast to the input's shape). */
  slopes?: number[];
}

/** uint8 -> uint8 through a 256-entry table. */
export interface QLut extends QBase {
  kind: 'lut';
  fn: LutFunction;
  table: number[];
  inQuant: U8Quant;
  outQuant: U8Quant;
  /**
   * Several tables (PRelu with a slope per channel): element i reads tables[tableIndex[i]]; `table` is
   * tables[0]. Absent: every element reads `table`.
   */
  tables?: number[][];
  tableIndex?: number[];
}

/** Neg: out = -x, exactly, without a table (ONNX Neg on an activation). */
export interface NegLayer extends LayerBase {
  kind: 'neg';
}

/**
 * Exact negation, linear (0 constraints): a uint8 input q with zero point zp becomes 255 - q with zero point
 * 255 - zp (the same scale); an accumulator q becomes -q (bounds [-hi, -lo]).
 */
export interface QNeg extends QBase {
  kind: 'neg';
  outQuant: U8Quant | AccQuant;
}

/**
 * Abs and PRelu on an accumulator, without requantization or table (circuits/elementwise-abs.circom):
 *   out[i] = pos[i] * x[i] + mag[i] * |x[i]|
 * x the accumulator's integers (Abs: pos 0, mag 1, exact; PRelu with slope a/D, D a power of two:
 * pos = D + a, mag = D - a, divided by their common factor, at scale s_in * g / (2D)).
 */
export interface QPwl extends QBase {
  kind: 'pwl';
  fn: 'abs' | 'prelu';
  pos: number[];
  mag: number[];
  /** Per element: 1 when x >= 0 for every admissible input, -1 when x <= 0 (|x| is then linear), 0: gadget. */
  sign: number[];
  /** Bits n of the |x| gadget (|x| < 2^n) where sign is 0. */
  bits: number[];
  inQuant: AccQuant;
  outQuant: AccQuant;
}

/**
 * A table function of an accumulator, its requantization fused in (circuits/elementwise-lut.circom):
 *   out[j] = T[clamp(floor((acc[j] * M[j] + 2^(S[j]-1)) / 2^S[j]) + inQuant.zeroPoint, 0, 255)]
 * the requantization exactly as QRequant's (src/ops/requant.ts), T the table from inQuant's grid to outQuant's.
 */
export interface QLutRequant extends QBase {
  kind: 'lutrq';
  fn: LutFunction;
  table: number[];
  multipliers: number[];
  shifts: number[];
  /** K = S + m + 1 per element (as QRequant.bits). */
  bits: number[];
  accQuant: AccQuant;
  /** The uint8 grid the table reads (the requantization's output grid). */
  inQuant: U8Quant;
  outQuant: U8Quant;
}

/** Further element-wise layer kinds of this family (joined into FloatLayer / QLayer). */
export type ElementwiseFloatLayer = NegLayer;
export type ElementwiseQLayer = QNeg | QPwl | QLutRequant;
