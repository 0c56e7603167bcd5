/**
 * What each op module provides. Shared code (import driver, quantizer, reference, emitter) never switches on
 * op type; it asks the op's definition through these interfaces and src/ops/registry.ts.
 */
import type { OnnxNode, OnnxTensor } from '../onnx/load.ts';
import type { FloatLayer, QLayer, TensorQuant, U8Quant } from '../ir/types.ts';

export interface Activation {
  /** IR tensor name (after aliases). */
  name: string;
  shape: number[];
}

/** State handed to an ONNX importer for one node. */
export interface ImportContext {
  readonly node: OnnxNode;
  readonly opset: number;
  /** The node's first activation (non-constant) input. */
  readonly current: Activation;
  /** The activation behind one of the node's input names, or undefined if it is a constant or missing. */
  activation(onnxName: string): Activation | undefined;
  /** A constant input (initializer or Constant node output), or undefined if the name is not constant. */
  constant(name: string): OnnxTensor | undefined;
  setConstant(name: string, t: OnnxTensor): void;
  /**
   * The layer that produced the current activation, when folding into it is allowed: this node is its
   * only consumer and the tensor is not a graph output.
   */
  producer(): FloatLayer | undefined;
  /** The layer that computes an activation tensor (whatever reads it), if any. */
  layerOf(tensor: string): FloatLayer | undefined;
  /** True if the node's output is the graph output. */
  readonly isGraphOutput: boolean;
  /** True if every node that reads this node's output is of the given op type (and there is one). */
  onlyFeeds(op: string): boolean;
  /** Record a problem with this node; import goes on to collect the rest. */
  issue(message: string): void;
  /**
   * Append a layer. The node's outputs are the layers writing node.outputs[k] (a node with several outputs pushes
   * one layer each); a layer writing another name is an internal step of the node (name it `${node.name}#...`).
   */
  push(layer: FloatLayer): void;
  /** The node's output is the same data as the current activation (same shape) and needs no layer. */
  alias(): void;
  /** Record something the circuit leaves out of the model's output (shown to users). */
  note(text: string): void;
}

export interface OpImporter {
  readonly onnxOps: readonly string[];
  importNode(node: OnnxNode, ctx: ImportContext): void;
}

export interface CalibratedRange {
  min: number;
  max: number;
}

/**
 * A step the quantizer has not applied yet to an accumulator, because a max-pool may still come first (all
 * of these are monotone): a clamp (ReLU/Clip), and the uint8 grid a pre-quantized model fixed for it
 * (QuantizeLinear). The requantization that makes the tensor uint8 applies both.
 */
export interface PendingClamp {
  lo: number;
  hi: number;
  quant?: U8Quant;
}

/** Quantization state of one float tensor during quantization. */
export interface QState {
  /** Quantized IR tensor that currently holds it. */
  tensor: string;
  shape: number[];
  quant: TensorQuant;
  clamp?: PendingClamp;
  /** Layer names the pending clamp came from (names the requantization that applies it). */
  label: string;
}

export interface QuantizeContext {
  readonly multiplierBits: number;
  /** Weights and biases of linear layers are private signals (QuantizedModel.params 'hashed'). */
  readonly privateParams: boolean;
  /** State of the layer's k-th input. */
  input(k?: number): QState;
  /** Calibrated float range of a float tensor. */
  range(tensor: string): CalibratedRange;
  /** Calibrated float range of this layer's output. */
  readonly outRange: CalibratedRange;
  /** Make input k uint8 (requantizing an accumulator, applying a pending clamp); returns its state. */
  ensureU8(k?: number): QState & { quant: U8Quant };
  /**
   * Input k requantized to exactly this uint8 grid (QuantizeLinear in a pre-quantized model). Unlike
   * ensureU8 it leaves the input's state alone: other readers of the input still see it unquantized.
   */
  requantTo(k: number, q: U8Quant, name: string): QState & { quant: U8Quant };
  /** Apply any pending clamp of input k, keeping an accumulator as it is when there is none. */
  settle(k?: number): QState;
  /** Append a layer; its output becomes the state of the float layer's output. */
  push(layer: QLayer, extra?: { clamp?: PendingClamp; label?: string }): void;
  /**
   * The float layer's output is input k's state (optionally with a new shape or a pending clamp), or the
   * given `state` (e.g. what requantTo returned).
   */
  alias(k: number, extra?: { shape?: number[]; clamp?: PendingClamp; label?: string; state?: QState }): void;
  issue(message: string): void;
}

export interface FloatLayerDef<L extends FloatLayer = FloatLayer> {
  forward(layer: L, xs: Float64Array[]): Float64Array;
  quantize(layer: L, ctx: QuantizeContext): void;
}

/** Emission helpers for one circuit. */
export interface CircuitWriter {
  /**
   * Write linear layers as unrolled sums (circom compiles them fastest) rather than loops over weight
   * arrays (compact witness code: V8 refuses a WebAssembly function above 7.6 MB). True for small models.
   */
  readonly unroll: boolean;
  /** A fresh identifier with the given prefix. */
  fresh(prefix: string): string;
  line(text: string): void;
  include(file: string): void;
  /**
   * `target <== expr;`, counting its cost: --O1 removes a binding to a bare signal or a constant, and keeps
   * one constraint for any other linear expression.
   */
  bind(target: string, expr: string): void;
  /**
   * With private parameters (QuantizedModel.params 'hashed'): main's private signals that hold the linear
   * layers' weights and biases. Weight k of a layer is `${weights}[offset.weight + k]`, the weight plus 128 (a
   * byte the circuit range-checks); bias j is `${biases}[offset.bias + j]`. Undefined with constant weights.
   */
  readonly params?: { weights: string; biases: string; offset(layer: string): { weight: number; bias: number } };
}

export interface QLayerDef<L extends QLayer = QLayer> {
  /** Integer semantics: the specification the circuit must match exactly. */
  reference(layer: L, xs: number[][]): number[];
  /** Emit circom for the layer; inputs and outputs are circom expressions, one per element. */
  emit(layer: L, xs: string[][], w: CircuitWriter): string[];
  /**
   * Exact number of R1CS constraints of the layer's gadgets with --O1, not counting the bindings of its
   * inputs (CircuitWriter.bind counts those).
   */
  constraints(layer: L): number;
  /** The cost formula in words, for docs and `inspect`. */
  readonly costFormula: string;
  /** Short text for `inspect`'s bits column. */
  bitsSummary(layer: L): string;
  /** Multiply-accumulate terms the layer emits (linear layers), to choose between unrolled and loop code. */
  terms?(layer: L): number;
}

/** Bits needed for a non-negative integer bound d (d < 2^bits), at least 1. */
export function bitsFor(d: number): number {
  let b = 1;
  while (2 ** b <= d) b++;
  return b;
}
