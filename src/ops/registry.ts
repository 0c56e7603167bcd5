/** Maps ONNX op names to importers, and layer kinds to their float and integer definitions. */
import type { FloatLayer, QLayer } from '../ir/types.ts';
import { affineFloat, affineImporters, affineQ } from './affine.ts';
import { argmaxFloat, argmaxImporters, argmaxQ } from './argmax.ts';
import { clampQ, clipFloat, clipImporters } from './clip.ts';
import { constantImporter } from './constant.ts';
import { convFloat, convImporter, convQ } from './conv.ts';
import { denseFloat, denseImporters, denseQ } from './dense.ts';
import { gatherFloat, gatherImporters, gatherQ } from './gather.ts';
import { elementwiseFloatDefs, elementwiseQDefs, lutFloat, lutImporters, lutQ } from './lut.ts';
import { arithFloatDefs, arithImporters, arithQDefs } from './arith.ts';
import { convTransposeFloatDefs, convTransposeImporters, convTransposeQDefs } from './convtranspose.ts';
import { movementFloatDefs, movementImporters, movementQDefs } from './movement.ts';
import { normFloatDefs, normImporters, normQDefs } from './norm.ts';
import { matMulRowsImporter } from './matmul-rows.ts';
import { recurrentFloatDefs, recurrentImporters, recurrentQDefs } from './recurrent.ts';
import { mlImporters } from './ml.ts';
import { compositeImporters } from './composite.ts';
import { treesFloatDefs, treesImporters, treesQDefs } from './trees.ts';
import { avgPoolFloat, avgPoolQ, maxPoolFloat, maxPoolQ, poolImporters } from './pool.ts';
import { fakeQuantFloat, qdqImporters } from './qdq.ts';
import { requantQ } from './requant.ts';
import { reshapeFloat, reshapeImporters } from './reshape.ts';
import type { FloatLayerDef, OpImporter, QLayerDef } from './types.ts';

const importers: OpImporter[] = [
  ...denseImporters, convImporter, ...clipImporters, ...poolImporters, ...affineImporters, ...reshapeImporters,
  ...gatherImporters, ...lutImporters, ...argmaxImporters, ...qdqImporters, constantImporter,
  ...movementImporters, ...arithImporters, ...normImporters, ...convTransposeImporters, ...recurrentImporters, ...treesImporters, ...mlImporters,
  ...compositeImporters,
  // Last: it wraps dense.ts's MatMul importer (a later entry wins in the map below).
  matMulRowsImporter,
];

export const onnxImporters: ReadonlyMap<string, OpImporter> = new Map(importers.flatMap((imp) => imp.onnxOps.map((op) => [op, imp] as const)));

export const supportedOps: readonly string[] = [...onnxImporters.keys()].sort();

/** The family def tables joined below: a kind defined twice would silently take the later family's definition. */
function assertDisjoint(label: string, tables: Record<string, unknown>[]): void {
  const seen = new Set<string>();
  for (const t of tables) {
    for (const k of Object.keys(t)) {
      if (seen.has(k)) throw new Error(`internal: ${label} layer kind '${k}' is defined by two op families`);
      seen.add(k);
    }
  }
}

const floatDefs: { [K in FloatLayer['kind']]: FloatLayerDef<Extract<FloatLayer, { kind: K }>> } = {
  dense: denseFloat,
  conv: convFloat,
  clip: clipFloat,
  maxpool: maxPoolFloat,
  avgpool: avgPoolFloat,
  reshape: reshapeFloat,
  gather: gatherFloat,
  affine: affineFloat,
  lut: lutFloat,
  argmax: argmaxFloat,
  fakequant: fakeQuantFloat,
  ...elementwiseFloatDefs,
  ...movementFloatDefs,
  ...arithFloatDefs,
  ...normFloatDefs,
  ...convTransposeFloatDefs,
  ...recurrentFloatDefs,
  ...treesFloatDefs,
};

const qDefs: { [K in QLayer['kind']]: QLayerDef<Extract<QLayer, { kind: K }>> } = {
  dense: denseQ,
  conv: convQ,
  requant: requantQ,
  maxpool: maxPoolQ,
  avgpool: avgPoolQ,
  gather: gatherQ,
  affine: affineQ,
  lut: lutQ,
  clamp: clampQ,
  argmax: argmaxQ,
  ...elementwiseQDefs,
  ...movementQDefs,
  ...arithQDefs,
  ...normQDefs,
  ...convTransposeQDefs,
  ...recurrentQDefs,
  ...treesQDefs,
};

assertDisjoint('float', [
  { dense: 0, conv: 0, clip: 0, maxpool: 0, avgpool: 0, reshape: 0, gather: 0, affine: 0, lut: 0, argmax: 0, fakequant: 0 },
  elementwiseFloatDefs, movementFloatDefs, arithFloatDefs, normFloatDefs, convTransposeFloatDefs, recurrentFloatDefs, treesFloatDefs,
]);
assertDisjoint('quantized', [
  { dense: 0, conv: 0, requant: 0, maxpool: 0, avgpool: 0, gather: 0, affine: 0, lut: 0, clamp: 0, argmax: 0 },
  elementwiseQDefs, movementQDefs, arithQDefs, normQDefs, convTransposeQDefs, recurrentQDefs, treesQDefs,
]);

export function floatDef(l: FloatLayer): FloatLayerDef {
  return floatDefs[l.kind] as FloatLayerDef;
}

export function qDef(l: QLayer): QLayerDef {
  return qDefs[l.kind] as QLayerDef;
}
