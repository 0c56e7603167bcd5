/** LSTM, GRU and RNN unrolled over the sequence (src/ops/recurrent.ts). */
import type { LayerBase } from '../types.ts';
import type { LutFunction } from './elementwise.ts';

/**
 * Identity in float; quantized as a requantization of its input onto one uint8 grid shared by every step of a
 * recurrent node: the union of the calibrated ranges of the float tensors in `group` (the same quantity, e.g.
 * h_t or a gate's pre-activation, at every step). A per-step grid would clamp a fresh input whose value at one
 * step leaves that step's calibrated range, although it lies in the range seen over all steps.
 */
export interface RecurrentGridLayer extends LayerBase {
  kind: 'rgrid';
  group: string[];
}

/**
 * A table function (LutFunction) whose input and output grids are shared by every step: quantized as a
 * requantization of the input onto the union grid of the calibrated ranges of `inGroup`, then an existing 'lut'
 * layer (QLut) to the union grid of `outGroup`.
 */
export interface RecurrentActLayer extends LayerBase {
  kind: 'ract';
  fn: LutFunction;
  alpha: number;
  beta?: number;
  inGroup: string[];
  outGroup: string[];
}

/** Layer kinds of this family, joined into FloatLayer / QLayer in ../types.ts. */
export type RecurrentFloatLayer = RecurrentGridLayer | RecurrentActLayer;
export type RecurrentQLayer = never;
