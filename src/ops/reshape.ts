/**
 * Shape-only ops: Flatten, Reshape (constant shape), and the inference no-ops Identity and Dropout.
 * The flat row-major data is unchanged, so all cost 0 constraints and emit nothing.
 */
import type { QReshape, ReshapeLayer } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import { attrInt, checkKnownAttrs } from './attrs.ts';
import type { FloatLayerDef, ImportContext, OpImporter, QLayerDef } from './types.ts';

function pushReshape(ctx: ImportContext, outShape: number[]): void {
  ctx.push({ kind: 'reshape', name: ctx.node.name, inShape: ctx.current.shape, outShape });
}

export const reshapeImporters: OpImporter[] = [
  {
    onnxOps: ['Flatten'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['axis']);
      const shape = ctx.current.shape;
      let axis = attrInt(node, ctx, 'axis', 1);
      if (axis < 0) axis += shape.length;
      if (axis < 0 || axis > shape.length) return ctx.issue(`axis ${axis} is out of range for shape [${shape}]`);
      pushReshape(ctx, [sizeOf(shape.slice(0, axis)), sizeOf(shape.slice(axis))]);
    },
  },
  {
    onnxOps: ['Reshape'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['allowzero']);
      const allowZero = attrInt(node, ctx, 'allowzero', 0);
      const shapeT = ctx.constant(node.inputs[1] ?? '');
      if (!shapeT) return ctx.issue(`the shape input ('${node.inputs[1] ?? ''}') must be a constant`);
      const inShape = ctx.current.shape;
      const target = Array.from(shapeT.data);
      const out = target.map((d, i) => (d === 0 && !allowZero ? inShape[i] : d));
      const unknown = out.filter((d) => d === -1).length;
      if (unknown > 1 || out.some((d) => d < -1 || d === undefined)) return ctx.issue(`invalid target shape [${target}]`);
      const known = sizeOf(out.filter((d) => d !== -1));
      const total = sizeOf(inShape);
      if (unknown) out[out.indexOf(-1)] = known > 0 ? total / known : 0;
      if (sizeOf(out) !== total || !out.every(Number.isInteger)) return ctx.issue(`cannot reshape [${inShape}] to [${target}]`);
      pushReshape(ctx, out);
    },
  },
  {
    onnxOps: ['Identity'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, []);
      ctx.alias();
    },
  },
  {
    onnxOps: ['Dropout'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['ratio', 'seed', 'is_test']);
      if (node.outputs.length > 1 && node.outputs[1]) return ctx.issue('the mask output is not supported');
      const training = node.inputs[2] ? ctx.constant(node.inputs[2]) : undefined;
      if (node.inputs[2] && (!training || training.data[0] !== 0)) return ctx.issue('training_mode must be a constant false');
      ctx.alias();
    },
  },
];

export const reshapeFloat: FloatLayerDef<ReshapeLayer> = {
  forward: (_l, x) => x,
  quantize(l, ctx) {
    ctx.push({ kind: 'reshape', name: l.name, inShape: l.inShape, outShape: l.outShape, outQuant: ctx.state.quant });
  },
};

export const reshapeQ: QLayerDef<QReshape> = {
  reference: (_l, x) => x,
  emit: (_l, x) => x,
  constraints: () => 0,
  costFormula: '0 (data unchanged)',
  bitsSummary: () => '-',
};
