/**
 * The parameters a circuit with private (hashed) parameters takes as private signals: the weights and biases
 * of its linear layers (QDense, QConv with `privateParams`), in layer order, and their commitment.
 *
 * Message (src/verify/commitment.ts): the weights of every such layer, in layer order and each layer's own
 * weight order, as bytes w + 128 packed 31 per field element, then every bias as a field element (negative
 * values as r + b):
 *   paramsHash = zkonnxHash(TAG_PARAMS, nBiases * 2^32 + nWeights, 0, [packed weights..., biases...]).
 * The length word fixes how many elements are weights and how many biases.
 */
import type { QConv, QDense, QuantizedModel } from './types.ts';
import { packBytes } from '../verify/layout.ts';
import { TAG_PARAMS, zkonnxHash } from '../verify/commitment.ts';
import { toField } from '../field.ts';

export type ParamLayer = QDense | QConv;

export interface ParamLayerSlot {
  name: string;
  kind: 'dense' | 'conv';
  /** Offsets into the circuit's weight bytes and biases. */
  weight: number;
  bias: number;
  weights: number;
  biases: number;
  biasBits: number;
  inZeroPoint: number;
}

export interface ParamLayout {
  layers: ParamLayerSlot[];
  nWeights: number;
  nBiases: number;
}

/** The linear layers whose parameters are private, in order. */
export function paramLayers(model: QuantizedModel): ParamLayer[] {
  return model.layers.filter((l): l is ParamLayer => (l.kind === 'dense' || l.kind === 'conv') && !!l.privateParams);
}

export function paramLayout(model: QuantizedModel): ParamLayout {
  const layers: ParamLayerSlot[] = [];
  let weight = 0;
  let bias = 0;
  for (const l of paramLayers(model)) {
    const p = l.privateParams!;
    layers.push({ name: l.name, kind: l.kind, weight, bias, weights: l.weights.length, biases: l.bias.length, biasBits: p.biasBits, inZeroPoint: p.inZeroPoint });
    weight += l.weights.length;
    bias += l.bias.length;
  }
  return { layers, nWeights: weight, nBiases: bias };
}

/** The length word of the parameter message: nBiases * 2^32 + nWeights (nWeights < 2^32, nBiases < 2^21: a safe integer). */
export function paramsLengthWord(nWeights: number, nBiases: number): number {
  if (!(nWeights < 2 ** 32 && nBiases < 2 ** 21)) throw new RangeError(`too many parameters to commit to (${nWeights} weights, ${nBiases} biases)`);
  return nBiases * 2 ** 32 + nWeights;
}

/** The private inputs of the circuit for the model's parameters: packed weight bytes and biases (field elements). */
export function paramSignals(model: QuantizedModel): { wPacked: bigint[]; wBias: bigint[] } {
  const bytes: number[] = [];
  const biases: bigint[] = [];
  for (const l of paramLayers(model)) {
    for (const w of l.weights) bytes.push(w + 128);
    for (const b of l.bias) biases.push(toField(b));
  }
  return { wPacked: packBytes(bytes), wBias: biases };
}

/** The commitment to the model's parameters (the circuit's paramsHash for this weight set). */
export function paramsCommitment(model: QuantizedModel): bigint {
  const { nWeights, nBiases } = paramLayout(model);
  const s = paramSignals(model);
  return zkonnxHash(TAG_PARAMS, paramsLengthWord(nWeights, nBiases), 0n, [...s.wPacked, ...s.wBias]);
}

/** A weight set for a circuit with private parameters (the file `zkonnx commit-model` writes). */
export interface ParamSet {
  format: 'zkonnx-params';
  /** paramsCommitment of the set, decimal. */
  commitment: string;
  layers: { name: string; kind: 'dense' | 'conv'; weights: number[]; bias: number[] }[];
}

export const PARAM_SET_FORMAT = 'zkonnx-params';

/** The model's own weight set. */
export function paramSetOf(model: QuantizedModel): ParamSet {
  return {
    format: PARAM_SET_FORMAT,
    commitment: paramsCommitment(model).toString(),
    layers: paramLayers(model).map((l) => ({ name: l.name, kind: l.kind, weights: Array.from(l.weights), bias: [...l.bias] })),
  };
}

/**
 * Why a weight set does not fit the model's circuit (the first problem, naming the layer and field), or null.
 * It fits when it has the same layers in the same order (names, kinds, weight and bias counts), every weight
 * an integer in [-128, 127] and every bias an integer in the layer's signed biasBits range: then the circuit's
 * gadget bounds hold for it and the same key proves it.
 */
export function paramSetProblem(model: QuantizedModel, set: unknown): string | null {
  if (!set || typeof set !== 'object' || Array.isArray(set)) return 'is not an object';
  const s = set as Record<string, unknown>;
  if (s.format !== PARAM_SET_FORMAT) return `field 'format' must be "${PARAM_SET_FORMAT}"`;
  const layers = paramLayers(model);
  if (!Array.isArray(s.layers)) return "field 'layers' must be an array";
  if (s.layers.length !== layers.length) return `has ${s.layers.length} layers, the circuit takes parameters for ${layers.length}`;
  for (let k = 0; k < layers.length; k++) {
    const l = layers[k];
    const g = s.layers[k] as Record<string, unknown>;
    const at = `layers[${k}]`;
    if (!g || typeof g !== 'object') return `field '${at}' must be an object`;
    if (g.name !== l.name || g.kind !== l.kind) return `field '${at}' is ${JSON.stringify(String(g.name)).slice(0, 60)} (${String(g.kind).slice(0, 20)}), the circuit's layer ${k} is '${l.name}' (${l.kind})`;
    if (!Array.isArray(g.weights) || g.weights.length !== l.weights.length) return `field '${at}.weights' must hold ${l.weights.length} integers (layer '${l.name}')`;
    const bw = g.weights.findIndex((w) => !Number.isInteger(w) || w < -128 || w > 127);
    if (bw >= 0) return `field '${at}.weights[${bw}]' is ${String(g.weights[bw]).slice(0, 30)}, not an integer in [-128, 127] (layer '${l.name}')`;
    const bits = l.privateParams!.biasBits;
    if (!Array.isArray(g.bias) || g.bias.length !== l.bias.length) return `field '${at}.bias' must hold ${l.bias.length} integers (layer '${l.name}')`;
    const bb = g.bias.findIndex((b) => !Number.isSafeInteger(b) || b < -(2 ** (bits - 1)) || b >= 2 ** (bits - 1));
    if (bb >= 0) return `field '${at}.bias[${bb}]' is ${String(g.bias[bb]).slice(0, 30)}, not an integer in the circuit's ${bits}-bit signed range (layer '${l.name}')`;
  }
  return null;
}

/**
 * The commitment of a weight set computed from its weights and biases alone (not its `commitment` field),
 * as the circuit computes it: what a verifier holding the set checks a proof against. Throws TypeError
 * naming the first field that is not a weight set's (weights must be int8, biases safe integers).
 */
export function paramSetCommitment(set: unknown): bigint {
  const s = set as Record<string, unknown> | null;
  if (!s || typeof s !== 'object' || s.format !== PARAM_SET_FORMAT || !Array.isArray(s.layers)) {
    throw new TypeError(`is not a weight set (an object with format "${PARAM_SET_FORMAT}" and 'layers')`);
  }
  const bytes: number[] = [];
  const biases: bigint[] = [];
  s.layers.forEach((g: unknown, k: number) => {
    const l = g as Record<string, unknown> | null;
    if (!l || typeof l !== 'object' || !Array.isArray(l.weights) || !Array.isArray(l.bias)) throw new TypeError(`field 'layers[${k}]' must have 'weights' and 'bias' arrays`);
    const bw = l.weights.findIndex((w) => !Number.isInteger(w) || w < -128 || w > 127);
    if (bw >= 0) throw new TypeError(`field 'layers[${k}].weights[${bw}]' is ${String(l.weights[bw]).slice(0, 30)}, not an integer in [-128, 127]`);
    const bb = l.bias.findIndex((b) => !Number.isSafeInteger(b));
    if (bb >= 0) throw new TypeError(`field 'layers[${k}].bias[${bb}]' is ${String(l.bias[bb]).slice(0, 30)}, not an integer`);
    for (const w of l.weights as number[]) bytes.push(w + 128);
    for (const b of l.bias as number[]) biases.push(toField(b));
  });
  return zkonnxHash(TAG_PARAMS, paramsLengthWord(bytes.length, biases.length), 0n, [...packBytes(bytes), ...biases]);
}

/** The model with the weight set's weights and biases (checked with paramSetProblem first: throws TypeError). */
export function withParamSet(model: QuantizedModel, set: ParamSet): QuantizedModel {
  const problem = paramSetProblem(model, set);
  if (problem) throw new TypeError(`weight set ${problem}`);
  let k = 0;
  const layers = model.layers.map((l) => {
    if (!((l.kind === 'dense' || l.kind === 'conv') && l.privateParams)) return l;
    const g = set.layers[k++];
    return { ...l, weights: Int32Array.from(g.weights), bias: [...g.bias] };
  });
  return { ...model, layers };
}
