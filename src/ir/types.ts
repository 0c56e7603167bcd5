/**
 * The two intermediate representations between ONNX and the circuit.
 *
 * Float IR: a chain of layers with float weights, produced by importing ONNX nodes (src/ops/*). It runs in
 * float for calibration and comparison with onnxruntime.
 *
 * Quantized IR: a chain of integer layers with all scales fixed. Its integer semantics (src/reference) are
 * the specification that the emitted circuit must match bit for bit. Tensors are flat, row-major.
 */

export interface LayerBase {
  /** ONNX node name(s) this layer came from, joined with '+' when several nodes fused. */
  name: string;
  inShape: number[];
  outShape: number[];
}

/** y = W x + b, W is [outSize x inSize] row-major. */
export interface DenseLayer extends LayerBase {
  kind: 'dense';
  inSize: number;
  outSize: number;
  weights: Float64Array;
  bias: Float64Array;
}

export interface ReluLayer extends LayerBase {
  kind: 'relu';
}

/** A shape-only op (Flatten, Reshape): the flat data is unchanged. */
export interface ReshapeLayer extends LayerBase {
  kind: 'reshape';
}

export type FloatLayer = DenseLayer | ReluLayer | ReshapeLayer;

export interface TensorSpec {
  name: string;
  shape: number[];
}

export interface FloatModel {
  name: string;
  sha256: string;
  opset: number;
  input: TensorSpec;
  output: TensorSpec;
  layers: FloatLayer[];
}

/** uint8 activation: real = (q - zeroPoint) * scale, q in [0, 255]. */
export interface U8Quant {
  kind: 'u8';
  scale: number;
  zeroPoint: number;
}

/**
 * A wide integer accumulator (a linear combination, never range-checked by itself):
 * real[i] = q[i] * scales[i], with q[i] in [lo[i], hi[i]] for every admissible input.
 */
export interface AccQuant {
  kind: 'acc';
  scales: number[];
  lo: number[];
  hi: number[];
}

export type TensorQuant = U8Quant | AccQuant;

/** Integer dense layer: acc[j] = sum_i W[j][i] * x[i] + bias[j], where bias already folds in -zp * sum_i W[j][i]. */
export interface QDense extends LayerBase {
  kind: 'dense';
  inSize: number;
  outSize: number;
  /** int8 weights, [outSize x inSize] row-major. */
  weights: Int8Array;
  bias: number[];
  /** Per-output-channel weight scales: W_float[j][i] ~ weights[j][i] * weightScales[j]. */
  weightScales: number[];
  inQuant: U8Quant;
  outQuant: AccQuant;
}

/**
 * Requantize an accumulator to uint8, per channel j:
 *   y = clamp(floor((acc * M[j] + 2^(S[j]-1)) / 2^S[j]) + zeroPoint, 0, 255)
 * With relu = true the zero point is 0, so the clamp at 0 is the ReLU.
 */
export interface QRequant extends LayerBase {
  kind: 'requant';
  size: number;
  relu: boolean;
  multipliers: number[];
  shifts: number[];
  /** Bits decomposed per channel (K[j]); derived from the accumulator bounds. */
  bits: number[];
  inQuant: AccQuant;
  outQuant: U8Quant;
}

export interface QReshape extends LayerBase {
  kind: 'reshape';
  outQuant: TensorQuant;
}

export type QLayer = QDense | QRequant | QReshape;

export interface CalibrationInfo {
  /** 'file': a calibration set was given; 'input': calibrated on the input being proven. */
  source: 'file' | 'input';
  samples: number;
  sha256: string;
}

export interface QuantizedModel {
  name: string;
  sha256: string;
  opset: number;
  input: TensorSpec & { quant: U8Quant };
  output: TensorSpec & { quant: TensorQuant };
  layers: QLayer[];
  calibration: CalibrationInfo;
  multiplierBits: number;
}

export const sizeOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
