/** ConvTranspose and 1-D convolutions (src/ops/convtranspose.ts). */
import type { AccQuant, LayerBase, PinnedWeights, QBase } from '../types.ts';

/**
 * Geometry of a transposed convolution (2-D on [1, C, H, W], or 1-D on [1, C, L] as H = 1 with kernel [1, k]):
 * input element (ci, iy, ix) and tap (ky, kx) add to output (co, oy, ox) with
 *   oy = iy * strides[0] - pads[0] + ky * dilations[0],   ox = ix * strides[1] - pads[1] + kx * dilations[1]
 * for every co of ci's group; outputs outside [0, OH) x [0, OW) are dropped. pads are [top, left, bottom,
 * right] as ONNX computed them (from pads, auto_pad or output_shape; the end pads only fix the output size,
 * which outShape holds, and are negative where output_shape asks for more than the full output).
 */
export interface ConvTransposeGeometry {
  kernel: [number, number];
  strides: [number, number];
  pads: [number, number, number, number];
  dilations: [number, number];
  inC: number;
  outC: number;
  group: number;
}

/**
 * ConvTranspose. Weights are stored per output channel, [outC][inC/group][kh][kw] (ONNX's [inC][outC/group]
 * [kh][kw] reordered), so quantization is per output channel like Conv.
 */
export interface ConvTransposeLayer extends LayerBase, ConvTransposeGeometry {
  kind: 'convtranspose';
  weights: Float64Array;
  bias: Float64Array;
  /** int8 weights a QDQ model fixed (DequantizeLinear of a constant), in the same order as `weights`. */
  pinned?: PinnedWeights;
}

/**
 * Integer ConvTranspose: acc[co, oy, ox] = bias[co] + sum over its taps of w * (x - inZeroPoint), x the raw
 * input integers (uint8, or an accumulator with inZeroPoint 0). The zero point folds into a per-position
 * constant (positions receive different numbers of taps). 0 constraints: weights are circuit constants.
 * Weights are a plain array (int8 values), in the float layer's order.
 */
export interface QConvTranspose extends QBase, ConvTransposeGeometry {
  kind: 'convtranspose';
  weights: number[];
  bias: number[];
  inZeroPoint: number;
  weightScales: number[];
  outQuant: AccQuant;
}

/** Layer kinds of this family, joined into FloatLayer / QLayer in ../types.ts. */
export type ConvTransposeFloatLayer = ConvTransposeLayer;
export type ConvTransposeQLayer = QConvTranspose;
