/**
 * Shape-only ops: Flatten, Reshape (constant shape), Squeeze, Unsqueeze, and the inference no-ops Identity,
 * Dropout and Cast to a float type (a Cast to an integer type is a movement 'intcast', checked when quantizing). The flat row-major data is unchanged, so all cost 0 constraints and emit
 * nothing: the quantized model carries the same tensor on.
 */
import type { ReshapeLayer } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import { attrInt, checkKnownAttrs } from './attrs.ts';
import type { FloatLayerDef, ImportContext, OpImporter } from './types.ts';

function pushReshape(ctx: ImportContext, outShape: number[]): void {
  ctx.push({ kind: 'reshape', name: ctx.node.name, inputs: [ctx.current.name], output: ctx.node.outputs[0], inShape: ctx.current.shape, outShape });
}

/** Axes from the attribute (before opset 13) or the constant second input (13+). */
function axesOf(ctx: ImportContext, rank: number): number[] | undefined | null {
  const node = ctx.node;
  let axes: number[] | undefined;
  if (ctx.opset < 13) {
    checkKnownAttrs(node, ctx, ['axes']);
    const a = node.attrs.get('axes');
    axes = a?.type === 'ints' ? a.value : undefined;
  } else {
    checkKnownAttrs(node, ctx, []);
    if (node.inputs[1]) {
      const c = ctx.constant(node.inputs[1]);
      if (!c) {
        ctx.issue(`axes ('${node.inputs[1]}') must be a constant`);
        return null;
      }
      axes = Array.from(c.data);
    }
  }
  return axes?.map((a) => (a < 0 ? a + rank : a));
}

/** ONNX integer and bool element types a Cast may target. */
const INTEGER_CAST_TYPES = new Set([2, 3, 4, 5, 6, 7, 9, 12, 13]);

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
    onnxOps: ['Squeeze'],
    importNode(node, ctx) {
      const shape = ctx.current.shape;
      const axes = axesOf(ctx, shape.length);
      if (axes === null) return;
      if (axes && axes.some((a) => shape[a] !== 1)) return ctx.issue(`cannot squeeze axes [${axes}] of shape [${shape}]`);
      pushReshape(ctx, shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)));
    },
  },
  {
    onnxOps: ['Unsqueeze'],
    importNode(node, ctx) {
      const shape = ctx.current.shape;
      const axes = axesOf(ctx, 0); // negative axes count from the output rank, resolved below
      if (!axes) return ctx.issue('axes are required');
      const rank = shape.length + axes.length;
      const norm = axes.map((a) => (a < 0 ? a + rank : a));
      const out: number[] = [];
      let k = 0;
      for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : shape[k++]);
      if (k !== shape.length) return ctx.issue(`invalid axes [${axes}] for shape [${shape}]`);
      pushReshape(ctx, out);
    },
  },
  {
    onnxOps: ['Cast'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['to', 'saturate']);
      const to = attrInt(node, ctx, 'to', 0);
      // Values carried in the IR are reals; a cast to a float type (e.g. after MatMulInteger) changes nothing.
      if (to === 1 || to === 11 || to === 10 || to === 16) return ctx.alias();
      // To an integer or bool type: accepted for integer tensors only (checked when quantizing, see 'intcast').
      if (!INTEGER_CAST_TYPES.has(to)) return ctx.issue(`casts to type ${to} are not supported (float, double and integer/bool types are)`);
      const shape = ctx.current.shape;
      ctx.push({ kind: 'intcast', name: node.name, inputs: [ctx.current.name], output: node.outputs[0], inShape: shape, outShape: shape, to });
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
  forward: (_l, [x]) => x,
  quantize(l, ctx) {
    ctx.alias(0, { shape: l.outShape });
  },
};
