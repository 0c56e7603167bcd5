/** Products of two activations, comparisons and selection (src/ops/arith.ts). */
import type { ArithFloatLayer, ArithQLayer } from '../ir/layers/arith.ts';
import type { FloatLayerDef, OpImporter, QLayerDef } from './types.ts';

export const arithImporters: OpImporter[] = [];

export const arithFloatDefs: { [K in ArithFloatLayer['kind']]: FloatLayerDef<Extract<ArithFloatLayer, { kind: K }>> } = {};

export const arithQDefs: { [K in ArithQLayer['kind']]: QLayerDef<Extract<ArithQLayer, { kind: K }>> } = {};
