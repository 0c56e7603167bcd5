/**
 * MatMul of an activation with several rows by a constant matrix: A [.., M, K] x B [K, N], as PyTorch exports
 * nn.Linear applied to every token of a sequence ([1, T, D] x [D, H]). Each of the R = (product of A's leading
 * dims) rows becomes its own dense layer on a slice of A (a routing 'gather' layer), and one routing layer
 * joins the R outputs into [.., M, N].
 *
 * Cost: 0 constraints, as for one dense layer (weights are circuit constants; every output is a linear
 * combination of the inputs). The circuit carries the R * K * N multiply-accumulate terms.
 *
 * Everything else (one row, two activations, pre-quantized forms) goes to the MatMul importer of dense.ts.
 */
import type { DenseLayer, GatherLayer } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import { denseImporters, matMulLayer } from './dense.ts';
import type { ImportContext, OpImporter } from './types.ts';
import type { OnnxNode } from '../onnx/load.ts';

const baseMatMul = (): OpImporter => {
  const imp = denseImporters.find((i) => i.onnxOps.includes('MatMul'));
  if (!imp) throw new Error('internal: dense.ts has no MatMul importer');
  return imp;
};

/** Rows of A when A is an activation of rank >= 2 with more than one row and B a 2-D constant; else undefined. */
function rowsOf(node: OnnxNode, ctx: ImportContext): number | undefined {
  const a = ctx.activation(node.inputs[0]);
  const b = node.inputs[1] ? ctx.constant(node.inputs[1]) : undefined;
  if (!a || a !== ctx.current || !b || b.dims.length !== 2 || ctx.activation(node.inputs[1] ?? '')) return undefined;
  if (a.shape.length < 2) return undefined;
  const rows = sizeOf(a.shape.slice(0, -1));
  return rows > 1 ? rows : undefined;
}

export const matMulRowsImporter: OpImporter = {
  onnxOps: ['MatMul'],
  importNode(node, ctx) {
    const rows = rowsOf(node, ctx);
    if (rows === undefined) return baseMatMul().importNode(node, ctx);
    if (node.attrs.size) return ctx.issue(`MatMul has no attributes, got ${[...node.attrs.keys()].join(', ')}`);
    const a = ctx.current;
    const b = ctx.constant(node.inputs[1])!;
    const k = a.shape[a.shape.length - 1];
    const [bk, n] = b.dims;
    if (bk !== k) return ctx.issue(`A has ${k} columns but B has ${bk} rows`);
    const outShape = [...a.shape.slice(0, -1), n];
    const parts: DenseLayer[] = [];
    for (let r = 0; r < rows; r++) {
      const slice: GatherLayer = {
        kind: 'gather', name: `${node.name}#row${r}`, inputs: [a.name], output: `${node.outputs[0]}#row${r}`,
        inShape: a.shape, outShape: [1, k], index: Int32Array.from({ length: k }, (_, i) => r * k + i), padValue: 0,
      };
      ctx.push(slice);
      const dense = matMulLayer({ ...node, name: `${node.name}#${r}` }, ctx, { name: slice.output, shape: [1, k] }, b, `${node.outputs[0]}#out${r}`);
      if (!dense) return;
      ctx.push(dense);
      parts.push(dense);
    }
    ctx.push({
      kind: 'gather', name: node.name, inputs: parts.map((p) => p.output), output: node.outputs[0],
      inShape: parts[0].outShape, outShape, index: Int32Array.from({ length: rows * n }, (_, i) => i), padValue: 0,
    });
  },
};
