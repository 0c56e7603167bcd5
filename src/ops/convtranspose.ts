/** ConvTranspose and 1-D convolutions (src/ops/convtranspose.ts). */
import type { ConvTransposeFloatLayer, ConvTransposeQLayer } from '../ir/layers/convtranspose.ts';
import type { FloatLayerDef, OpImporter, QLayerDef } from './types.ts';

export const convTransposeImporters: OpImporter[] = [];

export const convTransposeFloatDefs: { [K in ConvTransposeFloatLayer['kind']]: FloatLayerDef<Extract<ConvTransposeFloatLayer, { kind: K }>> } = {};

export const convTransposeQDefs: { [K in ConvTransposeQLayer['kind']]: QLayerDef<Extract<ConvTransposeQLayer, { kind: K }>> } = {};
