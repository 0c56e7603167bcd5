/** Tree ensembles of ai.onnx.ml (src/ops/trees.ts). */
import type { AccQuant, LayerBase, QBase } from '../types.ts';

/**
 * A classifier's label output whose labels are not the class index itself (string labels, or int64 labels that
 * are not an arithmetic progression): the values are the class index, passed through unchanged (0 constraints),
 * and `labels[k]` is the label of class k. The circuit proves the index only; the table is part of the model's
 * description (src/ir/io.ts withOutputLabels puts it on the output, the verification key pins it).
 */
export interface ClassLabelsLayer extends LayerBase {
  kind: 'classlabels';
  labels: string[] | number[];
}

export interface QClassLabels extends QBase {
  kind: 'classlabels';
  labels: string[] | number[];
  outQuant: AccQuant;
}

/** Layer kinds of this family, joined into FloatLayer / QLayer in ../types.ts. */
export type TreesFloatLayer = ClassLabelsLayer;
export type TreesQLayer = QClassLabels;
