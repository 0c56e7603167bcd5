/** Data movement and lookups on activations (src/ops/movement.ts). */
import type { AccQuant, LayerBase, QBase, TensorQuant } from '../types.ts';

/**
 * Routing with constants: out[i] = concat(inputs)[index[i]] when index[i] >= 0, else consts[-1 - index[i]]
 * (Concat/ScatterND with constant parts). Like 'gather', a pure copy: 0 constraints.
 */
export interface RouteLayer extends LayerBase {
  kind: 'route';
  index: Int32Array;
  consts: Float64Array;
}

export interface QRoute extends QBase {
  kind: 'route';
  index: Int32Array;
  /** Integers placed where index < 0. */
  consts: number[];
  /** Per input, subtracted from its raw values (when uint8 inputs become an accumulator). */
  inOffsets: number[];
}

/**
 * Gather with a variable index along `axis` of `dataShape`: inputs[0] holds integer indices (in [-N, N), N =
 * dataShape[axis]); the data is the constant `table` or, without one, the activation inputs[1].
 * Output shape: dataShape[:axis] ++ indices shape ++ dataShape[axis+1:].
 */
export interface LookupLayer extends LayerBase {
  kind: 'lookup';
  axis: number;
  dataShape: number[];
  table?: Float64Array;
  /** The table has an integer type: its values stay exact integers (an accumulator of scale 1). */
  integer?: boolean;
  /**
   * GatherND: the indices' last dimension holds index tuples; the row is sum_j tuple[j] * strides[j] (dataShape
   * is the data with its first strides.length dimensions flattened into one, axis 0).
   */
  strides?: number[];
  /** GatherND: the tuple components' dimensions (each component must lie in [0, dims[j])). */
  tupleDims?: number[];
}

/**
 * Per index element, a one-hot selector b over the candidate rows r = lo .. lo + count - 1 (a subset of
 * [-N, N), row r mod N), with b_j boolean, sum b = 1, sum (lo + j) b_j = idx (circuits/lookup.circom). Output =
 * sum_j b_j * data[row]: linear for a constant table (uint8 integers `table`), one product per candidate for
 * activation data.
 */
export interface QLookup extends QBase {
  kind: 'lookup';
  axis: number;
  dataShape: number[];
  lo: number;
  count: number;
  /** The quantized table (uint8 on outQuant's grid, or an integer table's own values); absent when the data is inputs[1]. */
  table?: number[];
  outQuant: TensorQuant;
  /** GatherND: index tuples, row = sum_j tuple[j] * strides[j] (a linear combination bound to the selector). */
  strides?: number[];
  idxQuant: AccQuant;
  /**
   * Constant tables: per index element k, its own candidate rows perIndex.lo[k] .. + perIndex.count[k] - 1 (from
   * the element's bounds), instead of lo/count (which then span them all).
   */
  perIndex?: { lo: number[]; count: number[] };
}

/**
 * OneHot with a variable index: inputs[0] holds integer indices; out = on where the (normalized) index equals
 * the position along `axis`, off elsewhere (and everywhere for an index outside [-depth, depth), as ONNX).
 */
export interface OneHotLayer extends LayerBase {
  kind: 'onehot';
  depth: number;
  axis: number;
  off: number;
  on: number;
  /** off/on have an integer type: the output is exact integers (an accumulator of scale 1). */
  integer?: boolean;
}

/**
 * One-hot selector per index over the values lo .. lo + count - 1 (the index's exact bounds, circuits/lookup.circom);
 * out = offQ + (onQ - offQ) * (sum of the selector bits whose value normalizes to the position): linear.
 */
export interface QOneHot extends QBase {
  kind: 'onehot';
  depth: number;
  axis: number;
  lo: number;
  count: number;
  offQ: number;
  onQ: number;
  outQuant: TensorQuant;
}

/**
 * Cast of an activation to an integer or bool type. Only integer tensors (accumulators of scale 1 whose bounds
 * fit the type) are accepted when quantizing, where it is then the same data: no Q layer.
 */
export interface IntCastLayer extends LayerBase {
  kind: 'intcast';
  /** ONNX TensorProto.DataType of the result. */
  to: number;
}

/**
 * Linear or cubic Resize with constant scales: each output is a fixed linear combination of input elements,
 * out[o] = sum_t weights[o * taps + t] * x[index[o * taps + t]] (index -1: a padding tap of weight 0).
 */
export interface InterpLayer extends LayerBase {
  kind: 'interp';
  taps: number;
  index: Int32Array;
  weights: Float64Array;
}

/**
 * Integer form: out[o] = sum_t weights[o * taps + t] * (x[index] - inOffset), weights the real ones times 2^fracBits
 * (exact for the usual half-pixel x2/x4 weights); outQuant's scale is the input's / 2^fracBits. Linear: 0 constraints.
 */
export interface QInterp extends QBase {
  kind: 'interp';
  taps: number;
  index: Int32Array;
  weights: number[];
  inOffset: number;
  fracBits: number;
  outQuant: AccQuant;
}

/**
 * GatherElements with a variable index: out[c] = data[c with c[axis] = idx[c]] for every position c of the
 * indices (shape inShape); the data is the constant `table` or the activation inputs[1].
 */
export interface SelectLayer extends LayerBase {
  kind: 'gatherel';
  axis: number;
  dataShape: number[];
  table?: Float64Array;
}

/** One selector per output element over the rows lo .. lo + count - 1 (as QLookup). */
export interface QSelect extends QBase {
  kind: 'gatherel';
  axis: number;
  dataShape: number[];
  lo: number;
  count: number;
  table?: number[];
  outQuant: TensorQuant;
}

/** Layer kinds of this family, joined into FloatLayer / QLayer in ../types.ts. */
export type MovementFloatLayer = RouteLayer | LookupLayer | OneHotLayer | IntCastLayer | InterpLayer | SelectLayer;
export type MovementQLayer = QRoute | QLookup | QOneHot | QInterp | QSelect;
