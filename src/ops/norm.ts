/** Reductions, normalizations and Softmax inside a network (src/ops/norm.ts). */
import type { NormFloatLayer, NormQLayer } from '../ir/layers/norm.ts';
import type { FloatLayerDef, OpImporter, QLayerDef } from './types.ts';

export const normImporters: OpImporter[] = [];

export const normFloatDefs: { [K in NormFloatLayer['kind']]: FloatLayerDef<Extract<NormFloatLayer, { kind: K }>> } = {};

export const normQDefs: { [K in NormQLayer['kind']]: QLayerDef<Extract<NormQLayer, { kind: K }>> } = {};
