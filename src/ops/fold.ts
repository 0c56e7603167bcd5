/**
 * Constant folding at import: a node whose inputs are all constants (shape subgraphs: Shape, ConstantOfShape,
 * Gather/Slice/Concat/Range/Cast/arithmetic on shapes, ...) is evaluated here, for batch 1, and its outputs
 * become constants. Nothing of it reaches the circuit.
 */
import type { OnnxNode, OnnxTensor } from '../onnx/load.ts';

/** ONNX ops this module can evaluate on constant inputs. */
export const foldableOps: readonly string[] = [];

/**
 * Evaluate `node` on constant inputs (`input(name)` gives each; '' names an omitted optional input). Returns
 * one tensor per node output, undefined when the op is not foldable here (the op's importer then sees it), or
 * `{ error }` for a node that cannot be evaluated (bad attributes, shapes).
 */
export function foldNode(node: OnnxNode, input: (name: string) => OnnxTensor | undefined, opset: number): OnnxTensor[] | { error: string } | undefined {
  void node; void input; void opset;
  return undefined;
}
