/** Tree ensembles of ai.onnx.ml (src/ops/trees.ts). */

/** Layer kinds of this family, joined into FloatLayer / QLayer in ../types.ts. */
export type TreesFloatLayer = never;
export type TreesQLayer = never;
