/** Products of two activations, comparisons and selection (src/ops/arith.ts). */
import type { AccQuant, LayerBase, QBase } from '../types.ts';

/**
 * out[i] = bias + linA * a[ia[i*k]] + linB * b[ib[i*k]] + coef * sum_{t<k} a[ia[i*k+t]] * b[ib[i*k+t]]
 * (Mul of two activations with broadcasting: k = 1; MatMul of two activations: k = K; Pow 2: a = b;
 * And = a*b, Or = a + b - ab, Xor = a + b - 2ab on 0/1 values). inputs = [a, b] (the same name for a square).
 */
export interface ProductLayer extends LayerBase {
  kind: 'product';
  k: number;
  ia: number[];
  ib: number[];
  coef: number;
  linA: number;
  linB: number;
  bias: number;
  /** Pow 3: out = a^3 (k = 1, b = a; two products per element). */
  cube?: boolean;
}

/** Comparison operators, after putting any constant on the right. */
export type CompareOp = 'gt' | 'ge' | 'lt' | 'le' | 'eq';

/**
 * out[i] = a[ia[i]] OP (b[ib[i]] or threshold[i]) as 0/1. inputs = [a] (threshold) or [a, b].
 */
export interface CompareLayer extends LayerBase {
  kind: 'compare';
  op: CompareOp;
  ia: number[];
  ib: number[];
  /** Per output element, when the right-hand side is a constant. */
  threshold?: number[];
  /**
   * The right-hand side is a constant table read at a variable index (hummingbird's Gather(thresholds, node)):
   * inputs = [a, index]; ib[i] is element i's position in the Gather's output, whose geometry is that of a
   * lookup (table of shape dataShape read along axis by an index of shape idxShape).
   */
  thrTable?: { table: Float64Array; axis: number; dataShape: number[]; idxShape: number[] };
}

/**
 * Where(c, a, b): out[i] = c[ic[i]] ? A[i] : B[i], A (B) an activation a[ia[i]] or the constant aConst[i].
 * inputs = [c, ...the activations among a, b in that order].
 */
export interface SelectLayer extends LayerBase {
  kind: 'select';
  ic: number[];
  ia: number[];
  ib: number[];
  aConst?: number[];
  bConst?: number[];
}

/**
 * out[i] = max (or min) over group i of g candidates: refs[2*(i*g+s)] = input k (or -1: the constant
 * consts[refs[2*(i*g+s)+1]]), refs[2*(i*g+s)+1] = element of input k. Max/Min of tensors (broadcast),
 * Clip with tensor bounds, ReduceMax/ReduceMin.
 */
export interface MinMaxLayer extends LayerBase {
  kind: 'minmax';
  max: boolean;
  g: number;
  refs: number[];
  consts: number[];
  /** Clip with tensor bounds: g = 3, candidates [x, lo, hi], out = min(max(x, lo), hi). */
  clip?: boolean;
}

/** Div of two activations: out[i] = a[ia[i]] / b[ib[i]]. inputs = [a, b]. */
export interface DivideLayer extends LayerBase {
  kind: 'divide';
  ia: number[];
  ib: number[];
}

export type ArithFloatLayer = ProductLayer | CompareLayer | SelectLayer | MinMaxLayer | DivideLayer;

/**
 * Integer products: out[i] = bias + linA * (a - za) + linB * (b - zb) + coef * sum_t (a - za) * (b - zb), one
 * constraint per product. An accumulator with scale s_a * s_b (exact lo/hi).
 */
export interface QProduct extends QBase {
  kind: 'product';
  k: number;
  ia: number[];
  ib: number[];
  za: number;
  zb: number;
  coef: number;
  linA: number;
  linB: number;
  bias: number;
  cube?: boolean;
  /**
   * Per product term (i * k + t), when an input's bounds fix its integer (a comparison decided by its bounds):
   * that value of a - za (fixedA) or b - zb (fixedB), else null. The term is then linear: no constraint.
   */
  fixedA?: (number | null)[];
  fixedB?: (number | null)[];
  /** Bounds of the inputs' integers (less the zero points), per element: they size the output bounds. */
  outQuant: AccQuant;
}

/**
 * Integer comparison: d[i] = ma[i] * (a - za) + mb[i] * (b - zb) + c[i] (decimal integers, exact), out = d >= 0
 * (or d == 0 when eq). bits[i] = B with -2^B <= d < 2^B; 0 when the result is the constant konst[i].
 */
export interface QCompare extends QBase {
  kind: 'compare';
  eq: boolean;
  ia: number[];
  ib: number[];
  za: number;
  zb: number;
  ma: string[];
  mb: string[];
  c: string[];
  bits: number[];
  konst: number[];
  outQuant: AccQuant;
}

/**
 * out[i] = B[i] + c[ic[i]] * (A[i] - B[i]), A = ma[i] * (a - za) or the integer aConst[i] (likewise B); c is 0/1.
 * inputs = [c, ...activations among a, b].
 */
export interface QSelect extends QBase {
  kind: 'select';
  ic: number[];
  ia: number[];
  ib: number[];
  za: number;
  zb: number;
  ma: number[];
  mb: number[];
  aConst?: number[];
  bConst?: number[];
  /** Per element: the condition's value when its bounds fix it (a comparison decided by bounds), else -1. */
  cFixed: number[];
  outQuant: AccQuant;
}

/**
 * Max/min of groups of aligned integers: candidate j of a group is m[j] * (x_k[idx] - offsets[k]), or the
 * integer consts[idx] when k = -1; lo[j]/hi[j] its exact bounds. A tournament of Max2/Min2 gadgets.
 */
export interface QMinMax extends QBase {
  kind: 'minmax';
  max: boolean;
  g: number;
  refs: number[];
  consts: number[];
  clip?: boolean;
  offsets: number[];
  m: number[];
  lo: number[];
  hi: number[];
  outQuant: AccQuant;
}

/**
 * Exact rounded division: with n = K[i] * (a - za) and d = b - zb (d != 0, proven),
 *   out[i] = floor((2 n sign(d) + |d|) / (2 |d|))   (n / d rounded half up),
 * an accumulator with scale s_a / (s_b K). bd[i]: -2^bd <= d < 2^bd; bq[i]: |out| < 2^bq.
 */
export interface QDivide extends QBase {
  kind: 'divide';
  ia: number[];
  ib: number[];
  za: number;
  zb: number;
  k: number[];
  bd: number[];
  bq: number[];
  /** Per element: the divisor's sign when its bounds fix it (1: d >= 0, -1: d <= 0), else 0. */
  sign: number[];
  outQuant: AccQuant;
}

export type ArithQLayer = QProduct | QCompare | QSelect | QMinMax | QDivide;
