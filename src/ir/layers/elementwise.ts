/** Element-wise non-linear functions on uint8 values (src/ops/lut.ts). */
import type { LayerBase, QBase, U8Quant } from '../types.ts';

export type LutFunction = 'sigmoid' | 'tanh' | 'leakyrelu';

/** An elementwise non-linear function, computed on uint8 values by a 256-entry table. */
export interface LutLayer extends LayerBase {
  kind: 'lut';
  fn: LutFunction;
  alpha: number;
}

/** uint8 -> uint8 through a 256-entry table. */
export interface QLut extends QBase {
  kind: 'lut';
  fn: LutFunction;
  table: number[];
  inQuant: U8Quant;
  outQuant: U8Quant;
}

/** Further element-wise layer kinds of this family (joined into FloatLayer / QLayer). */
export type ElementwiseFloatLayer = never;
export type ElementwiseQLayer = never;
