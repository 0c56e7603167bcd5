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
