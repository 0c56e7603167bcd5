/** Maps ONNX op names to importers, and layer kinds to their float and integer definitions. */
import type { FloatLayer, QLayer } from '../ir/types.ts';
import { constantImporter } from './constant.ts';
import { denseFloat, denseImporters, denseQ } from './dense.ts';
import { reluFloat, reluImporter } from './relu.ts';
import { requantQ } from './requant.ts';
import { reshapeFloat, reshapeImporters, reshapeQ } from './reshape.ts';
import type { FloatLayerDef, OpImporter, QLayerDef } from './types.ts';

const importers: OpImporter[] = [...denseImporters, reluImporter, ...reshapeImporters, constantImporter];

export const onnxImporters: ReadonlyMap<string, OpImporter> = new Map(importers.flatMap((imp) => imp.onnxOps.map((op) => [op, imp] as const)));

export const supportedOps: readonly string[] = [...onnxImporters.keys()].sort();

const floatDefs: { [K in FloatLayer['kind']]: FloatLayerDef<Extract<FloatLayer, { kind: K }>> } = {
  dense: denseFloat,
  relu: reluFloat,
  reshape: reshapeFloat,
};

const qDefs: { [K in QLayer['kind']]: QLayerDef<Extract<QLayer, { kind: K }>> } = {
  dense: denseQ,
  requant: requantQ,
  reshape: reshapeQ,
};

export function floatDef(l: FloatLayer): FloatLayerDef {
  return floatDefs[l.kind] as FloatLayerDef;
}

export function qDef(l: QLayer): QLayerDef {
  return qDefs[l.kind] as QLayerDef;
}
