/** Tree ensembles of ai.onnx.ml (src/ops/trees.ts). */
import type { TreesFloatLayer, TreesQLayer } from '../ir/layers/trees.ts';
import type { FloatLayerDef, OpImporter, QLayerDef } from './types.ts';

export const treesImporters: OpImporter[] = [];

export const treesFloatDefs: { [K in TreesFloatLayer['kind']]: FloatLayerDef<Extract<TreesFloatLayer, { kind: K }>> } = {};

export const treesQDefs: { [K in TreesQLayer['kind']]: QLayerDef<Extract<TreesQLayer, { kind: K }>> } = {};
