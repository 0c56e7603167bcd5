/**
 * What each op module provides. Shared code (import driver, quantizer, reference, emitter) never switches on
 * op type; it asks the op's definition through these interfaces and src/ops/registry.ts.
 */
import type { OnnxNode, OnnxTensor } from '../onnx/load.ts';
import type { FloatLayer, QLayer, TensorQuant, U8Quant } from '../ir/types.ts';

/** State handed to an ONNX importer for one node. */
export interface ImportContext {
  readonly node: OnnxNode;
  readonly opset: number;
  /** Name and shape of the activation flowing into this node. */
  readonly current: { name: string; shape: number[] };
  /** A constant input (initializer or Constant node output), or undefined if the name is not constant. */
  constant(name: string): OnnxTensor | undefined;
  setConstant(name: string, t: OnnxTensor): void;
  /** The layer that produced the current activation, if the previous node made one. */
  producer(): FloatLayer | undefined;
  /** Record a problem with this node; import goes on to collect the rest. */
  issue(message: string): void;
  /** Append a layer; its output becomes node.outputs[0]. */
  push(layer: FloatLayer): void;
  /** The node's output is the same data with (optionally) a new shape, and needs no layer. */
  alias(shape?: number[]): void;
}

export interface OpImporter {
  readonly onnxOps: readonly string[];
  importNode(node: OnnxNode, ctx: ImportContext): void;
}

export interface CalibratedRange {
  min: number;
  max: number;
}

export interface QuantizeContext {
  /** The quantization of the tensor flowing into the layer being quantized. */
  readonly state: { shape: number[]; quant: TensorQuant };
  readonly multiplierBits: number;
  /** Calibrated float range of the output of the float layer being quantized. */
  readonly outRange: CalibratedRange;
  /** Calibrated float range of the tensor flowing in (the previous layer's output, or the model input). */
  readonly inRange: CalibratedRange;
  push(layer: QLayer): void;
  /** Make the current tensor uint8 (inserting a requantization if it is an accumulator) and return its quant. */
  ensureU8(name: string, opts?: { relu?: boolean }): U8Quant;
  issue(message: string): void;
}

export interface FloatLayerDef<L extends FloatLayer = FloatLayer> {
  forward(layer: L, x: Float64Array): Float64Array;
  quantize(layer: L, ctx: QuantizeContext): void;
}

/** Emission helpers for one circuit. */
export interface CircuitWriter {
  /** A fresh identifier with the given prefix. */
  fresh(prefix: string): string;
  line(text: string): void;
  include(file: string): void;
}

export interface QLayerDef<L extends QLayer = QLayer> {
  /** Integer semantics: the specification the circuit must match exactly. */
  reference(layer: L, x: number[]): number[];
  /** Emit circom for the layer; inputs and outputs are circom expressions, one per element. */
  emit(layer: L, x: string[], w: CircuitWriter): string[];
  /** Exact number of R1CS constraints the emitted code compiles to with --O1. */
  constraints(layer: L): number;
  /** The cost formula in words, for docs and `inspect`. */
  readonly costFormula: string;
  /** Short text for `inspect`'s bits column. */
  bitsSummary(layer: L): string;
}
