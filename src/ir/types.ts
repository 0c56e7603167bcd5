/**
 * The two intermediate representations between ONNX and the circuit.
 *
 * Both are graphs in topological order: every layer reads named tensors (`inputs`) and writes one
 * (`output`). Tensors are flat, row-major; shapes are kept for the ops that need them.
 *
 * Float IR: layers with float weights, produced by importing ONNX nodes (src/ops/*). It runs in float for
 * calibration and comparison with onnxruntime. Weights that a pre-quantized model fixed (QDQ, QLinear*,
 * *Integer ops) are carried as `pinned` integers and scales, so quantization reuses them exactly.
 *
 * Quantized IR: integer layers with all scales fixed. Its integer semantics (src/reference) are the
 * specification that the emitted circuit must match bit for bit.
 */

import type { ElementwiseFloatLayer, ElementwiseQLayer, LutLayer, QLut } from './layers/elementwise.ts';
import type { MovementFloatLayer, MovementQLayer } from './layers/movement.ts';
import type { ArithFloatLayer, ArithQLayer } from './layers/arith.ts';
import type { NormFloatLayer, NormQLayer } from './layers/norm.ts';
import type { ConvTransposeFloatLayer, ConvTransposeQLayer } from './layers/convtranspose.ts';
import type { RecurrentFloatLayer, RecurrentQLayer } from './layers/recurrent.ts';
import type { TreesFloatLayer, TreesQLayer } from './layers/trees.ts';

// Layer families are declared in ./layers/<family>.ts (one file each) and joined into the unions here.
export type { LutFunction, LutLayer, QLut } from './layers/elementwise.ts';

export interface LayerBase {
  /** ONNX node name(s) this layer came from, joined with '+' when several nodes fused. */
  name: string;
  /** Tensor names read, in order; inputs[0] is the main activation. */
  inputs: string[];
  /** Tensor name written. */
  output: string;
  /** Shape of inputs[0]. */
  inShape: number[];
  outShape: number[];
}

/** Integer weights and per-output-channel scales fixed by a pre-quantized model: W ~ ints * scales[j]. */
export interface PinnedWeights {
  ints: Int32Array;
  scales: number[];
  /** Integer bias at scale (input scale * scales[j]), when the model fixed it. */
  bias?: number[];
  /** The accumulator's scale per channel when the model defines it exactly (1 for MatMulInteger/ConvInteger). */
  accScales?: number[];
}

/** y = W x + b, W is [outSize x inSize] row-major. */
export interface DenseLayer extends LayerBase {
  kind: 'dense';
  inSize: number;
  outSize: number;
  weights: Float64Array;
  bias: Float64Array;
  pinned?: PinnedWeights;
}

/** Geometry of a 2-D window op over an NCHW tensor (N = 1). */
export interface Window2d {
  kernel: [number, number];
  strides: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
  dilations: [number, number];
}

/** 2-D convolution, weights [outC][inC/group][kh][kw]. */
export interface ConvLayer extends LayerBase, Window2d {
  kind: 'conv';
  inC: number;
  outC: number;
  group: number;
  weights: Float64Array;
  bias: Float64Array;
  pinned?: PinnedWeights;
}

/** Clamp to [lo, hi] (Relu: [0, inf), Relu6 and Clip). */
export interface ClipLayer extends LayerBase {
  kind: 'clip';
  lo: number;
  hi: number;
}

export interface MaxPoolLayer extends LayerBase, Window2d {
  kind: 'maxpool';
}

export interface AvgPoolLayer extends LayerBase, Window2d {
  kind: 'avgpool';
  countIncludePad: boolean;
}

/** A shape-only op (Flatten, Reshape, Squeeze, Unsqueeze): the flat data is unchanged. */
export interface ReshapeLayer extends LayerBase {
  kind: 'reshape';
}

/**
 * Data movement (Transpose, Concat, Pad): out[i] = concat(inputs)[index[i]], or padValue where index[i] < 0.
 */
export interface GatherLayer extends LayerBase {
  kind: 'gather';
  index: Int32Array;
  padValue: number;
}

/**
 * Elementwise affine map of one or more same-size tensors: out[i] = sum_k coefs[k][i] * inputs[k][i] + bias[i]
 * (Add, Sub, Mul and Div by constants, a BatchNormalization with nothing to fold into).
 */
export interface AffineLayer extends LayerBase {
  kind: 'affine';
  coefs: Float64Array[];
  bias: Float64Array;
}

/** ArgMax over all elements (every other dimension is 1): the index of the first (or last) maximum. */
export interface ArgMaxLayer extends LayerBase {
  kind: 'argmax';
  selectLast: boolean;
}

/**
 * A quantization point fixed by the model (QuantizeLinear, optionally followed by DequantizeLinear):
 * out = (clamp(round(x / scale) + zeroPoint, qmin, qmax) - zeroPoint) * scale, round half to even.
 * int8 tensors are carried as uint8 with the zero point shifted by 128 (same real values).
 */
export interface FakeQuantLayer extends LayerBase {
  kind: 'fakequant';
  scale: number;
  zeroPoint: number;
}

export type FloatLayer =
  | DenseLayer | ConvLayer | ClipLayer | MaxPoolLayer | AvgPoolLayer | ReshapeLayer | GatherLayer | AffineLayer
  | LutLayer | ArgMaxLayer | FakeQuantLayer
  | ElementwiseFloatLayer | MovementFloatLayer | ArithFloatLayer | NormFloatLayer | ConvTransposeFloatLayer
  | RecurrentFloatLayer | TreesFloatLayer;

export interface TensorSpec {
  name: string;
  shape: number[];
  /**
   * The ONNX element type of a graph input or output that is not a float, lower case ('int64' for ArgMax,
   * 'bool' for a mask): its values are integers, e.g. class indices or token ids. Absent for float tensors (and
   * in files made before it existed).
   */
  dtype?: string;
  /**
   * Set on a graph output whose final Softmax or LogSoftmax the circuit leaves out (src/ops/argmax.ts): the
   * values are the logits before it (same argmax), not probabilities. Absent otherwise.
   */
  softmaxOmitted?: 'Softmax' | 'LogSoftmax';
  /**
   * A classifier's label output whose values are the class index (string labels, or int64 labels that are not
   * an arithmetic progression): `labels[k]` is the label of class k (src/ops/trees.ts). The circuit proves the
   * index only; the table is part of the model description the verification key pins, and a bundle shows it as
   * the key states it (verifyBundle refuses any other). Graph outputs only; absent otherwise and in older files.
   */
  labels?: string[] | number[];
}

/**
 * One graph input or output of a model with several (or with an integer input): the circuit's input vector
 * is the concatenation of the graph inputs in declaration order, its output vector the concatenation of the
 * graph outputs; `offset` is where this one starts.
 */
export interface TensorPart extends TensorSpec {
  offset: number;
}

/**
 * The model's input or output as the circuit sees it. With one graph input (output) of a float type, that
 * tensor, as before. With several, or an integer input, the concatenation: `name` the names joined by ',',
 * `shape` [total elements], and `parts` each tensor.
 */
export interface IoSpec extends TensorSpec {
  parts?: TensorPart[];
}

export interface FloatModel {
  name: string;
  sha256: string;
  opset: number;
  input: IoSpec;
  /**
   * `name` is the ONNX graph output; `tensor` the IR tensor that holds it (with several outputs, each part's
   * `tensor`; the concatenation's is '').
   */
  output: TensorSpec & { tensor: string; parts?: (TensorPart & { tensor: string })[] };
  layers: FloatLayer[];
  /** Transformations of the output the circuit leaves out, e.g. a final Softmax (argmax is unchanged). */
  notes: string[];
}

/** uint8 activation: real = (q - zeroPoint) * scale, q in [0, 255]. */
export interface U8Quant {
  kind: 'u8';
  scale: number;
  zeroPoint: number;
}

/**
 * A wide integer (a linear combination or a max of them, never range-checked by itself):
 * real[i] = q[i] * scales[i], with q[i] in [lo[i], hi[i]] for every admissible input.
 */
export interface AccQuant {
  kind: 'acc';
  scales: number[];
  lo: number[];
  hi: number[];
}

export type TensorQuant = U8Quant | AccQuant;

export interface QBase extends LayerBase {
  outQuant: TensorQuant;
}

/**
 * Integer dense layer: acc[j] = sum_i W[j][i] * x[i] + bias[j], x the raw integers of the input (uint8 or a
 * wide accumulator); bias folds in the input zero point.
 */
export interface QDense extends QBase {
  kind: 'dense';
  inSize: number;
  outSize: number;
  weights: Int32Array;
  bias: number[];
  weightScales: number[];
  outQuant: AccQuant;
  /** Set when the weights are private signals (QuantizedModel.params 'hashed'). */
  privateParams?: PrivateParams;
}

/** Integer convolution; out-of-image taps contribute nothing (bias[o] already folds the zero point per position). */
export interface QConv extends QBase, Window2d {
  kind: 'conv';
  inC: number;
  outC: number;
  group: number;
  weights: Int32Array;
  /** Per output channel; per position the constant is bias[c] - zp * (sum of in-image weights). */
  bias: number[];
  /** Zero point of the input (0 for an accumulator input). */
  inZeroPoint: number;
  weightScales: number[];
  outQuant: AccQuant;
  /** Set when the weights are private signals (QuantizedModel.params 'hashed'). */
  privateParams?: PrivateParams;
}

/**
 * Requantize to uint8, per element j:
 *   y = clamp(floor((x * M[j] + 2^(S[j]-1)) / 2^S[j]) + zeroPoint, 0, 255)
 * x is an accumulator (for a uint8 input, x = q - zp_in). With relu = true the zero point is 0.
 */
export interface QRequant extends QBase {
  kind: 'requant';
  size: number;
  relu: boolean;
  /** Subtracted from the raw input first (the zero point of a uint8 input; 0 for an accumulator). */
  inOffset: number;
  multipliers: number[];
  shifts: number[];
  bits: number[];
  inQuant: AccQuant;
  outQuant: U8Quant;
}

/** Max over each window (out-of-image positions ignored), by a tournament of range-checked comparisons. */
export interface QMaxPool extends QBase, Window2d {
  kind: 'maxpool';
  /** Exact bounds of the input integers (they size each comparison). */
  inLo: number[];
  inHi: number[];
}

/** Window sums: out = sum of in-window (q - zp) (an accumulator whose scale is in_scale / count). */
export interface QAvgPool extends QBase, Window2d {
  kind: 'avgpool';
  countIncludePad: boolean;
  inZeroPoint: number;
  outQuant: AccQuant;
}

export interface QGather extends QBase {
  kind: 'gather';
  index: Int32Array;
  /** Integer placed where index < 0. */
  padValue: number;
  /** Per input, subtracted from its raw values (when uint8 inputs become an accumulator). */
  inOffsets: number[];
}

/** out[i] = sum_k mult[k][i] * (in_k[i] - offset[k]) + bias[i], all integers. */
export interface QAffine extends QBase {
  kind: 'affine';
  multipliers: number[][];
  offsets: number[];
  bias: number[];
  outQuant: AccQuant;
}

/** uint8 clamp to [lo, hi] (integers), for Clip/Relu on a uint8 tensor. */
export interface QClamp extends QBase {
  kind: 'clamp';
  lo: number;
  hi: number;
  outQuant: U8Quant;
}

export interface QArgMax extends QBase {
  kind: 'argmax';
  selectLast: boolean;
  /** The argmax is over (x[i] - offset) * multipliers[i] (multipliers align per-element scales). */
  multipliers: number[];
  offset: number;
  /** Bits of the range-checked differences. */
  diffBits: number;
  outQuant: AccQuant;
}

export type QLayer =
  | QDense | QConv | QRequant | QMaxPool | QAvgPool | QGather | QAffine | QLut | QClamp | QArgMax
  | ElementwiseQLayer | MovementQLayer | ArithQLayer | NormQLayer | ConvTransposeQLayer
  | RecurrentQLayer | TreesQLayer;

export interface CalibrationInfo {
  /** 'file': a calibration set was given; 'input': calibrated on the input being proven. */
  source: 'file' | 'input';
  samples: number;
  sha256: string;
}

/**
 * A part of a quantized model's input or output. An input part is uint8 (a float graph input) or, for an
 * integer or bool graph input, an accumulator of scale 1 whose lo/hi are the bounds the circuit range-checks
 * every element to. An output part is an accumulator (a uint8 graph output among several is shifted to one).
 */
export interface QuantPart extends TensorPart {
  /** Input parts: uint8 or (integer inputs) an accumulator of scale 1. Output parts leave it to the concatenation's. */
  quant?: TensorQuant;
  /** Output parts: the IR tensor that holds it. */
  tensor?: string;
}

export interface QuantizedModel {
  name: string;
  sha256: string;
  opset: number;
  /**
   * With `parts` (several inputs, or an integer input), `quant` is that of the first uint8 part (scale 1, zero
   * point 0 when there is none): each part's own quant is what applies to its elements.
   */
  input: TensorSpec & { quant: U8Quant; parts?: QuantPart[] };
  /** With `parts` (several outputs), `quant` is the concatenation's: every part is an accumulator. */
  output: TensorSpec & { quant: TensorQuant; parts?: QuantPart[] };
  /** IR tensor holding the output ('' with several outputs: each part's `tensor`). */
  outputTensor: string;
  layers: QLayer[];
  calibration: CalibrationInfo;
  multiplierBits: number;
  notes: string[];
  /**
   * 'hashed' when the weights and biases of the linear layers are private signals of the circuit, committed to
   * by a public Poseidon hash (`--param-visibility hashed`): those layers carry `privateParams`, and their
   * output bounds hold for every admissible weight set, not only these weights. Absent: weights are constants.
   */
  params?: 'hashed';
}

/**
 * What a circuit with private parameters fixes about a linear layer's weights and biases (any weight set that
 * satisfies it proves under the same key): weights are integers in [-128, 127]; biases integers in
 * [-2^(biasBits-1), 2^(biasBits-1)); the input is uint8 with zero point `inZeroPoint` (dense layers fold it into
 * their bias: bias[j] = round(b_j / accScale_j) - inZeroPoint * sum_i W[j][i]).
 */
export interface PrivateParams {
  biasBits: number;
  inZeroPoint: number;
}

export const sizeOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * The first non-finite number (NaN, ±Infinity) anywhere in an IR value (a layer, a quant), as
 * `path[index] = value`, with how many of that array are non-finite; undefined when all are finite.
 * `infiniteOk(path)` admits ±Infinity (never NaN) where it means "no bound". Integer typed arrays are skipped
 * (finite by construction); strings and booleans are ignored.
 */
export function firstNonFinite(value: unknown, infiniteOk: (path: string) => boolean = () => false, path = ''): string | undefined {
  if (typeof value === 'number') {
    return Number.isNaN(value) || (!Number.isFinite(value) && !infiniteOk(path)) ? `${path} = ${value}` : undefined;
  }
  if (value instanceof Float64Array || value instanceof Float32Array || (Array.isArray(value) && typeof value[0] === 'number')) {
    const a = value as ArrayLike<number>;
    let first = -1;
    let count = 0;
    for (let i = 0; i < a.length; i++) {
      if (typeof a[i] !== 'number' || a[i] - a[i] === 0) continue; // finite: NaN - NaN and Inf - Inf are NaN
      if (first < 0) first = i;
      count++;
    }
    return first < 0 ? undefined : `${path}[${first}] = ${a[first]}${count > 1 ? ` (${count} of ${a.length} values are not finite)` : ''}`;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const r = firstNonFinite(value[i], infiniteOk, `${path}[${i}]`);
      if (r) return r;
    }
    return undefined;
  }
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    for (const [k, v] of Object.entries(value)) {
      const r = firstNonFinite(v, infiniteOk, path ? `${path}.${k}` : k);
      if (r) return r;
    }
  }
  return undefined;
}
