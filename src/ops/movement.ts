/**
 * Data movement and lookups on activations (src/ops/movement.ts).
 *
 * - Shape and Size of an activation become constants (the shape is known at import, batch 1).
 * - Gather / GatherElements / GatherND with constant indices, Slice, Split, Expand, Tile, DepthToSpace,
 *   SpaceToDepth, Resize/Upsample (nearest), Trilu, ScatterND / ScatterElements with constant indices: each
 *   output element is an input element (or a constant), so they become 'gather' layers (src/ops/gather.ts) or,
 *   with constant parts that are not one value, 'route' layers: 0 constraints, routing only, exact.
 * - Resize/Upsample linear and cubic: 'interp', each output a constant linear combination of its taps (0).
 * - Gather with a variable (integer activation) index: a 'lookup' layer, a one-hot selector per index
 *   (circuits/lookup.circom): R + 2 constraints per index element (R candidate rows), plus for activation data
 *   one product per candidate row and output element. A constant table of integers (an integer type, or floats
 *   that are all integers, as hummingbird's child-id tables) gives exact integers (scale 1), each element bounded
 *   by the entries its candidate rows hold, and each index element's selector spans only its own rows (perIndex):
 *   a tree traversal's node ids stay exact integers that the next Gather accepts. GatherElements likewise ('gatherel', one selector per
 *   output element); OneHot ('onehot', the same selector, outputs linear in it).
 * - Cast of an integer tensor to an integer type: 'intcast', the same data (refused for real values).
 */
import type { IntCastLayer, InterpLayer, LookupLayer, MovementFloatLayer, MovementQLayer, OneHotLayer, QInterp, QLookup, QOneHot, QRoute, QSelect, RouteLayer, SelectLayer } from '../ir/layers/movement.ts';
import type { AccQuant, TensorQuant } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import { quantizeInput, u8QuantFor } from '../ir/quant.ts';
import type { OnnxTensor } from '../onnx/load.ts';
import { attrInt, checkKnownAttrs } from './attrs.ts';
import {
  castValue, depthToSpaceIndex, expandIndex, gatherElementsIndex, gatherIndex, gatherNDIndex, resizeNearestIndex, resolveSlice, scatterElementsTargets,
  scatterNDTargets, sliceIndex, sliceParams, spaceToDepthIndex, splitSizes, tileIndex, triluKeep, type FoldTensor,
} from './fold.ts';
import type { Activation, FloatLayerDef, ImportContext, OpImporter, QLayerDef, QState, QuantizeContext } from './types.ts';

/** ONNX integer and bool element types. */
const INTEGER_TYPES = new Set([2, 3, 4, 5, 6, 7, 9, 12, 13]);

/** Run an index-map builder; its errors (thrown by fold.ts helpers) become issues. */
function guarded<T>(ctx: ImportContext, f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    ctx.issue((e as Error).message);
    return undefined;
  }
}

function pushGather(ctx: ImportContext, inputs: Activation[], outShape: number[], index: Int32Array, padValue = 0, output = ctx.node.outputs[0]): void {
  ctx.push({ kind: 'gather', name: ctx.node.name, inputs: inputs.map((a) => a.name), output, inShape: inputs[0].shape, outShape, index, padValue });
}

/**
 * One part of a routed tensor: an activation, or a constant. Index maps address the parts' concatenation;
 * constant elements become a pad value (when they are all one value) or a 'route' layer's constants.
 */
export type Part = { act: Activation } | { data: ArrayLike<number> };

export function pushRouted(ctx: ImportContext, parts: Part[], outShape: number[], index: ArrayLike<number>, output = ctx.node.outputs[0]): void {
  const acts: Activation[] = [];
  const base: number[] = [];
  let actBase = 0;
  const consts: number[] = [];
  for (const p of parts) {
    if ('act' in p) {
      base.push(actBase);
      acts.push(p.act);
      actBase += sizeOf(p.act.shape);
    } else {
      base.push(-1 - consts.length);
      consts.push(...Array.from(p.data));
    }
  }
  // Global part offsets in the concatenation of all parts.
  const starts: number[] = [];
  let s = 0;
  for (const p of parts) {
    starts.push(s);
    s += 'act' in p ? sizeOf(p.act.shape) : p.data.length;
  }
  const out = new Int32Array(index.length);
  const used: number[] = [];
  for (let o = 0; o < index.length; o++) {
    const g = index[o];
    if (g < 0) {
      out[o] = -1;
      continue;
    }
    let k = parts.length - 1;
    while (starts[k] > g) k--;
    const off = g - starts[k];
    if (base[k] >= 0) out[o] = base[k] + off;
    else {
      const c = -1 - base[k] + off;
      out[o] = -1 - c;
      used.push(consts[c]);
    }
  }
  if (!acts.length) return ctx.issue('internal: no activation among the parts');
  if (used.every((v) => v === used[0])) {
    const pad = used.length ? used[0] : 0;
    return pushGather(ctx, acts, outShape, out.map((i) => (i < 0 ? -1 : i)), pad, output);
  }
  ctx.push({ kind: 'route', name: ctx.node.name, inputs: acts.map((a) => a.name), output, inShape: acts[0].shape, outShape, index: out, consts: Float64Array.from(consts) });
}

const asFold = (t: OnnxTensor): FoldTensor => ({ dims: t.dims, dataType: t.dataType, data: t.data });
const ints = (t: OnnxTensor | undefined): number[] | undefined => (t ? Array.from(t.data) : undefined);

function normAxis(ctx: ImportContext, a: number, rank: number): number | undefined {
  const r = a < 0 ? a + rank : a;
  if (r < 0 || r >= rank) {
    ctx.issue(`axis ${a} is out of range for rank ${rank}`);
    return undefined;
  }
  return r;
}

/** A constant input, or an issue naming it. */
function needConstant(ctx: ImportContext, k: number, what: string): OnnxTensor | undefined {
  const n = ctx.node.inputs[k];
  const t = n ? ctx.constant(n) : undefined;
  if (!t) ctx.issue(`${what} ('${n ?? ''}') must be a constant`);
  return t;
}

function intTensor(dims: number[], data: number[]): OnnxTensor {
  return { name: '', dims, dataType: 7, data: Float64Array.from(data) };
}

export const movementImporters: OpImporter[] = [
  {
    onnxOps: ['Shape', 'Size'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, node.op === 'Shape' ? ['start', 'end'] : []);
      const shape = ctx.current.shape;
      const out = node.outputs[0];
      if (node.op === 'Size') return ctx.setConstant(out, { ...intTensor([], [sizeOf(shape)]), name: out });
      const r = shape.length;
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
      const s = clamp(attrInt(node, ctx, 'start', 0));
      const e = clamp(attrInt(node, ctx, 'end', r));
      const d = shape.slice(s, Math.max(s, e));
      ctx.setConstant(out, { ...intTensor([d.length], d), name: out });
    },
  },
  {
    onnxOps: ['Gather'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['axis']);
      const data = ctx.activation(node.inputs[0]);
      const idxAct = ctx.activation(node.inputs[1]);
      const dataShape = data?.shape ?? ctx.constant(node.inputs[0])?.dims;
      if (!dataShape) return ctx.issue('data is neither an activation nor a constant');
      const axis = normAxis(ctx, attrInt(node, ctx, 'axis', 0), dataShape.length);
      if (axis === undefined) return;
      if (!idxAct) {
        const idx = needConstant(ctx, 1, 'indices');
        if (!idx || !data) return;
        const r = guarded(ctx, () => gatherIndex(data.shape, axis, Array.from(idx.data), idx.dims));
        if (r) pushGather(ctx, [data], r.outDims, r.index);
        return;
      }
      // A variable index: a one-hot lookup.
      const outShape = [...dataShape.slice(0, axis), ...idxAct.shape, ...dataShape.slice(axis + 1)];
      const tableT = data ? undefined : ctx.constant(node.inputs[0])!;
      const inputs = data ? [idxAct.name, data.name] : [idxAct.name];
      ctx.push({
        kind: 'lookup', name: node.name, inputs, output: node.outputs[0], inShape: idxAct.shape, outShape: outShape.length ? outShape : [1], axis, dataShape,
        table: tableT ? Float64Array.from(tableT.data) : undefined, ...(tableT && INTEGER_TYPES.has(tableT.dataType) ? { integer: true } : {}),
      });
    },
  },
  {
    onnxOps: ['OneHot'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['axis']);
      const idx = ctx.activation(node.inputs[0]);
      if (!idx) return ctx.issue('indices must be an activation or a constant');
      const depthT = needConstant(ctx, 1, 'depth');
      const vals = needConstant(ctx, 2, 'values');
      if (!depthT || !vals) return;
      const depth = Math.trunc(depthT.data[0]);
      if (depthT.data.length !== 1 || !(depth >= 1)) return ctx.issue(`depth must be one positive number, got [${Array.from(depthT.data)}]`);
      if (vals.data.length !== 2) return ctx.issue(`values must hold [off_value, on_value], got ${vals.data.length} values`);
      const rank = idx.shape.length + 1;
      const axis = normAxis(ctx, attrInt(node, ctx, 'axis', -1), rank);
      if (axis === undefined) return;
      const outShape = [...idx.shape.slice(0, axis), depth, ...idx.shape.slice(axis)];
      ctx.push({ kind: 'onehot', name: node.name, inputs: [idx.name], output: node.outputs[0], inShape: idx.shape, outShape, depth, axis, off: vals.data[0], on: vals.data[1], ...(INTEGER_TYPES.has(vals.dataType) ? { integer: true } : {}) });
    },
  },
  {
    onnxOps: ['GatherElements'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['axis']);
      const data = ctx.activation(node.inputs[0]);
      const idxAct = ctx.activation(node.inputs[1]);
      if (idxAct) {
        // A variable index: one selector per output element.
        const dataShape = data?.shape ?? ctx.constant(node.inputs[0])?.dims;
        if (!dataShape) return ctx.issue('data is neither an activation nor a constant');
        const ax = normAxis(ctx, attrInt(node, ctx, 'axis', 0), dataShape.length);
        if (ax === undefined) return;
        if (idxAct.shape.length !== dataShape.length || idxAct.shape.some((d, i) => i !== ax && d > dataShape[i])) return ctx.issue(`indices of shape [${idxAct.shape}] do not fit data of shape [${dataShape}]`);
        const tableT = data ? undefined : ctx.constant(node.inputs[0])!;
        ctx.push({ kind: 'gatherel', name: node.name, inputs: data ? [idxAct.name, data.name] : [idxAct.name], output: node.outputs[0], inShape: idxAct.shape, outShape: idxAct.shape, axis: ax, dataShape, table: tableT ? Float64Array.from(tableT.data) : undefined });
        return;
      }
      if (!data) return ctx.issue('data must be an activation or a constant');
      const idx = needConstant(ctx, 1, 'indices');
      const axis = normAxis(ctx, attrInt(node, ctx, 'axis', 0), data.shape.length);
      if (!idx || axis === undefined) return;
      const index = guarded(ctx, () => gatherElementsIndex(data.shape, axis, Array.from(idx.data), idx.dims));
      if (index) pushGather(ctx, [data], idx.dims, index);
    },
  },
  {
    onnxOps: ['GatherND'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['batch_dims']);
      const data = ctx.activation(node.inputs[0]);
      const idxAct = ctx.activation(node.inputs[1]);
      if (idxAct) {
        // Variable index tuples: a lookup whose row is the tuple's flattened position.
        const dataShape = data?.shape ?? ctx.constant(node.inputs[0])?.dims;
        if (!dataShape) return ctx.issue('data is neither an activation nor a constant');
        if (attrInt(node, ctx, 'batch_dims', 0) !== 0) return ctx.issue('batch_dims must be 0 when the indices are not constant');
        const kk = idxAct.shape[idxAct.shape.length - 1];
        if (!(kk >= 1 && kk <= dataShape.length)) return ctx.issue(`indices' last dimension ${kk} must be 1..${dataShape.length}`);
        const tupleDims = dataShape.slice(0, kk);
        const strides = tupleDims.map((_, j) => sizeOf(tupleDims.slice(j + 1)));
        const flat = [sizeOf(tupleDims), ...dataShape.slice(kk)];
        const outShape = [...idxAct.shape.slice(0, -1), ...dataShape.slice(kk)];
        const tableT = data ? undefined : ctx.constant(node.inputs[0])!;
        ctx.push({
          kind: 'lookup', name: node.name, inputs: data ? [idxAct.name, data.name] : [idxAct.name], output: node.outputs[0], inShape: idxAct.shape, outShape: outShape.length ? outShape : [1],
          axis: 0, dataShape: flat, strides, tupleDims, table: tableT ? Float64Array.from(tableT.data) : undefined, ...(tableT && INTEGER_TYPES.has(tableT.dataType) ? { integer: true } : {}),
        });
        return;
      }
      if (!data) return ctx.issue('data must be an activation or a constant');
      const idx = needConstant(ctx, 1, 'indices');
      if (!idx) return;
      const r = guarded(ctx, () => gatherNDIndex(data.shape, Array.from(idx.data), idx.dims, attrInt(node, ctx, 'batch_dims', 0)));
      if (r) pushGather(ctx, [data], r.outDims.length ? r.outDims : [1], r.index);
    },
  },
  {
    onnxOps: ['Slice'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ctx.opset < 10 ? ['starts', 'ends', 'axes'] : []);
      const shape = ctx.current.shape;
      const ins: (FoldTensor | undefined)[] = [undefined];
      for (let k = 1; k < node.inputs.length; k++) {
        if (!node.inputs[k]) {
          ins.push(undefined);
          continue;
        }
        const t = needConstant(ctx, k, ['', 'starts', 'ends', 'axes', 'steps'][k] ?? `input ${k}`);
        if (!t) return;
        ins.push(asFold(t));
      }
      const r = guarded(ctx, () => {
        const p = sliceParams(node, ins, ctx.opset);
        return sliceIndex(shape, resolveSlice(shape, p.starts, p.ends, p.axes, p.steps));
      });
      if (!r) return;
      if (r.outDims.some((d) => d === 0)) return ctx.issue(`the slice of [${shape}] is empty ([${r.outDims}])`);
      pushGather(ctx, [ctx.current], r.outDims, r.index);
    },
  },
  {
    onnxOps: ['Split'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['axis', 'split', 'num_outputs']);
      const shape = ctx.current.shape;
      const axis = normAxis(ctx, attrInt(node, ctx, 'axis', 0), shape.length);
      if (axis === undefined) return;
      let splitIn: number[] | undefined;
      if (ctx.opset >= 13 && node.inputs[1]) {
        const t = needConstant(ctx, 1, 'split');
        if (!t) return;
        splitIn = Array.from(t.data);
      }
      const sizes = guarded(ctx, () => splitSizes(node, shape[axis], splitIn, ctx.opset, node.outputs.length));
      if (!sizes) return;
      let start = 0;
      sizes.forEach((s, k) => {
        const sl = shape.map((d) => ({ start: 0, step: 1, count: d }));
        sl[axis] = { start, step: 1, count: s };
        start += s;
        if (!node.outputs[k]) return;
        if (s === 0) return ctx.issue(`output ${k} ('${node.outputs[k]}') is empty`);
        const { outDims, index } = sliceIndex(shape, sl);
        pushGather(ctx, [ctx.current], outDims, index, 0, node.outputs[k]);
      });
    },
  },
  {
    onnxOps: ['Expand'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, []);
      const t = needConstant(ctx, 1, 'shape');
      if (!t) return;
      const r = guarded(ctx, () => expandIndex(ctx.current.shape, Array.from(t.data)));
      if (r) pushGather(ctx, [ctx.current], r.outDims, r.index);
    },
  },
  {
    onnxOps: ['Tile'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, []);
      const t = needConstant(ctx, 1, 'repeats');
      if (!t) return;
      const r = guarded(ctx, () => tileIndex(ctx.current.shape, Array.from(t.data)));
      if (!r) return;
      if (r.outDims.some((d) => d === 0)) return ctx.issue(`repeats [${Array.from(t.data)}] make an empty tensor`);
      pushGather(ctx, [ctx.current], r.outDims, r.index);
    },
  },
  {
    onnxOps: ['DepthToSpace', 'SpaceToDepth'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, node.op === 'DepthToSpace' ? ['blocksize', 'mode'] : ['blocksize']);
      const bs = attrInt(node, ctx, 'blocksize', 0);
      if (bs < 1) return ctx.issue(`blocksize must be a positive int, got ${bs}`);
      const m = node.attrs.get('mode');
      const mode = m?.type === 'string' ? m.value : 'DCR';
      if (mode !== 'DCR' && mode !== 'CRD') return ctx.issue(`mode '${mode}' is not supported (DCR, CRD)`);
      const r = guarded(ctx, () => (node.op === 'DepthToSpace' ? depthToSpaceIndex(ctx.current.shape, bs, mode) : spaceToDepthIndex(ctx.current.shape, bs)));
      if (r) pushGather(ctx, [ctx.current], r.outDims, r.index);
    },
  },
  {
    onnxOps: ['Resize', 'Upsample'],
    importNode(node, ctx) {
      const shape = ctx.current.shape;
      const r = shape.length;
      const str = (n: string, d: string) => {
        const a = node.attrs.get(n);
        return a?.type === 'string' ? a.value : d;
      };
      const mode = str('mode', 'nearest');
      if (!['nearest', 'linear', 'bilinear', 'cubic', 'bicubic'].includes(mode)) return ctx.issue(`mode '${mode}' is not supported (nearest, linear, cubic)`);
      let ctm = 'asymmetric';
      let nearest = 'simple';
      let scales: number[] | undefined;
      let sizes: number[] | undefined;
      if (node.op === 'Upsample' || ctx.opset < 11) {
        checkKnownAttrs(node, ctx, ['mode', 'scales']);
        const a = node.attrs.get('scales');
        if (a?.type === 'floats') scales = a.value;
        else {
          const t = needConstant(ctx, 1, 'scales');
          if (!t) return;
          scales = Array.from(t.data);
        }
      } else {
        checkKnownAttrs(node, ctx, ['mode', 'coordinate_transformation_mode', 'nearest_mode', 'cubic_coeff_a', 'exclude_outside', 'extrapolation_value', 'antialias', 'keep_aspect_ratio_policy', 'axes']);
        ctm = str('coordinate_transformation_mode', 'half_pixel');
        nearest = str('nearest_mode', 'round_prefer_floor');
        const policy = str('keep_aspect_ratio_policy', 'stretch');
        if (!['stretch', 'not_larger', 'not_smaller'].includes(policy)) return ctx.issue(`keep_aspect_ratio_policy '${policy}' is not supported`);
        if (ctm === 'tf_crop_and_resize') return ctx.issue("coordinate_transformation_mode 'tf_crop_and_resize' is not supported");
        const sc = node.inputs[2] ? needConstant(ctx, 2, 'scales') : undefined;
        const sz = node.inputs[3] ? needConstant(ctx, 3, 'sizes') : undefined;
        if ((node.inputs[2] && !sc) || (node.inputs[3] && !sz)) return;
        if (sc && sc.data.length) scales = Array.from(sc.data);
        if (sz && sz.data.length) sizes = Array.from(sz.data);
        // Opset 18 axes: scales/sizes for those axes only; the others keep their size.
        const ax = node.attrs.get('axes');
        if (ax) {
          if (ax.type !== 'ints') return ctx.issue("attribute 'axes' should be ints");
          const axes = ax.value.map((a) => (a < 0 ? a + r : a));
          if (axes.some((a) => a < 0 || a >= r) || new Set(axes).size !== axes.length) return ctx.issue(`axes [${ax.value}] are invalid for rank ${r}`);
          const given = scales ?? sizes!;
          if (given.length !== axes.length) return ctx.issue(`scales/sizes have ${given.length} values for ${axes.length} axes`);
          const full = scales ? shape.map(() => 1) : shape.slice();
          axes.forEach((a, i) => (full[a] = given[i]));
          if (scales) scales = full;
          else sizes = full;
        }
        // not_larger / not_smaller: one scale for the given axes (the min / max of sizes / input), sizes rounded.
        if (sizes && policy !== 'stretch') {
          const axes = ax?.type === 'ints' ? ax.value.map((a) => (a < 0 ? a + r : a)) : shape.map((_, i) => i);
          const ratios = axes.map((a) => sizes![a] / shape[a]);
          const k = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
          scales = shape.map((_, i) => (axes.includes(i) ? k : 1));
          sizes = shape.map((d, i) => (axes.includes(i) ? Math.round(d * k) : d));
        }
      }
      if (!scales && !sizes) return ctx.issue('one of scales and sizes is required');
      if ((scales && scales.length !== r) || (sizes && sizes.length !== r)) return ctx.issue(`scales/sizes must have ${r} values`);
      const outDims = sizes ?? shape.map((d, i) => Math.floor(d * scales![i]));
      const sc = sizes && !(scales && sizes) ? sizes.map((s, i) => s / shape[i]) : scales!;
      if (outDims.some((d) => !(d >= 1))) return ctx.issue(`output shape [${outDims}] is empty`);
      if (mode !== 'nearest') {
        if (node.op === 'Resize' && ctx.opset >= 18 && attrInt(node, ctx, 'antialias', 0) !== 0) return ctx.issue('antialias = 1 is not supported');
        const cubic = mode === 'cubic' || mode === 'bicubic';
        if (cubic && (node.op === 'Upsample' || ctx.opset < 11)) return ctx.issue(`mode '${mode}' needs Resize at opset 11 or later`);
        const a = node.attrs.get('cubic_coeff_a');
        const A = a && (a.type === 'float' || a.type === 'int') ? a.value : -0.75;
        const exclude = attrInt(node, ctx, 'exclude_outside', 0) === 1;
        const m = guarded(ctx, () => interpMap(shape, outDims, sc, node.op === 'Upsample' || ctx.opset < 11 ? 'asymmetric' : ctm, cubic, A, exclude));
        if (!m) return;
        ctx.push({ kind: 'interp', name: node.name, inputs: [ctx.current.name], output: node.outputs[0], inShape: shape, outShape: outDims, ...m });
        return;
      }
      let index: Int32Array | undefined;
      if (nearest === 'simple') {
        // Upsample and Resize-10: x_in = floor(x_out / scale) (asymmetric, floor) for upsampling, ceil when scale < 1.
        index = guarded(ctx, () => resizeNearestIndex(shape, outDims, sc, 'asymmetric', 'floor'));
        if (sc.some((s) => s < 1)) index = guarded(ctx, () => resizeNearestIndex(shape, outDims, sc, 'asymmetric', 'ceil'));
      } else index = guarded(ctx, () => resizeNearestIndex(shape, outDims, sc, ctm, nearest));
      if (index) pushGather(ctx, [ctx.current], outDims, index);
    },
  },
  {
    onnxOps: ['Trilu'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['upper']);
      let k = 0;
      if (node.inputs[1]) {
        const t = needConstant(ctx, 1, 'k');
        if (!t) return;
        k = t.data[0];
      }
      const shape = ctx.current.shape;
      const keep = guarded(ctx, () => triluKeep(shape, attrInt(node, ctx, 'upper', 1) === 1, k));
      if (!keep) return;
      pushGather(ctx, [ctx.current], shape, Int32Array.from(keep, (v, i) => (v ? i : -1)), 0);
    },
  },
  {
    onnxOps: ['ScatterND', 'ScatterElements', 'Scatter'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, node.op === 'ScatterND' ? ['reduction'] : ['axis', 'reduction']);
      const red = node.attrs.get('reduction');
      if (red && !(red.type === 'string' && red.value === 'none')) return ctx.issue("only reduction 'none' is supported (add/mul/max/min compute on the data)");
      const dataAct = ctx.activation(node.inputs[0]);
      const dataC = dataAct ? undefined : ctx.constant(node.inputs[0]);
      const updAct = ctx.activation(node.inputs[2]);
      const updC = updAct ? undefined : ctx.constant(node.inputs[2]);
      const idx = needConstant(ctx, 1, 'indices');
      if (!idx) return;
      const dims = dataAct?.shape ?? dataC?.dims;
      if (!dims || (!updAct && !updC)) return ctx.issue('data and updates must be activations or constants');
      const targets = guarded(ctx, () => (node.op === 'ScatterND'
        ? scatterNDTargets(dims, Array.from(idx.data), idx.dims)
        : scatterElementsTargets(dims, ((attrInt(node, ctx, 'axis', 0) % dims.length) + dims.length) % dims.length, Array.from(idx.data), idx.dims)));
      if (!targets) return;
      const nData = sizeOf(dims);
      const nUpd = updAct ? sizeOf(updAct.shape) : updC!.data.length;
      if (nUpd !== targets.length) return ctx.issue(`updates have ${nUpd} elements, the indices select ${targets.length}`);
      const index = Int32Array.from({ length: nData }, (_, i) => i);
      targets.forEach((t, u) => (index[t] = nData + u));
      const parts = [dataAct ? { act: dataAct } : { data: dataC!.data }, updAct ? { act: updAct } : { data: updC!.data }];
      pushRouted(ctx, parts, dims, index);
    },
  },
];

export const routeFloat: FloatLayerDef<RouteLayer> = {
  forward(l, xs) {
    const all = xs.length === 1 ? xs[0] : Float64Array.from(xs.flatMap((x) => Array.from(x)));
    return Float64Array.from(l.index, (i) => (i < 0 ? l.consts[-1 - i] : all[i]));
  },
  quantize(l, ctx) {
    const states = l.inputs.map((_, k) => ctx.settle(k));
    const q0 = states[0].quant;
    const base = { kind: 'route' as const, name: l.name, inputs: states.map((s) => s.tensor), output: l.output, inShape: states[0].shape, outShape: l.outShape, index: l.index };
    const sameU8 = states.every((s) => s.quant.kind === 'u8' && q0.kind === 'u8' && s.quant.scale === q0.scale && s.quant.zeroPoint === q0.zeroPoint);
    if (sameU8 && q0.kind === 'u8') {
      // Constants on the inputs' grid, when they fit in it (else the accumulator form below keeps them exact-ish).
      const c = Array.from(l.consts, (v) => Math.round(v / q0.scale) + q0.zeroPoint);
      if (c.every((v) => v >= 0 && v <= 255)) return ctx.push({ ...base, consts: quantizeInput(q0, l.consts), inOffsets: states.map(() => 0), outQuant: q0 });
    }
    const { scales, lo, hi } = accView(states);
    const cScale = scales[0];
    const consts = Array.from(l.consts, (v) => Math.round(v / cScale));
    const out: AccQuant = { kind: 'acc', scales: [], lo: [], hi: [] };
    for (const i of l.index) {
      out.scales.push(i < 0 ? cScale : scales[i]);
      out.lo.push(i < 0 ? consts[-1 - i] : lo[i]);
      out.hi.push(i < 0 ? consts[-1 - i] : hi[i]);
    }
    ctx.push({ ...base, consts, inOffsets: states.map((s) => (s.quant.kind === 'u8' ? s.quant.zeroPoint : 0)), outQuant: out });
  },
};


export const routeQ: QLayerDef<QRoute> = {
  reference(l, xs) {
    const all = xs.flatMap((x, k) => (l.inOffsets[k] ? x.map((v) => v - l.inOffsets[k]) : x));
    return Array.from(l.index, (i) => (i < 0 ? l.consts[-1 - i] : all[i]));
  },
  emit(l, xs) {
    const all = xs.flatMap((x, k) => (l.inOffsets[k] ? x.map((v) => `(${v} - ${l.inOffsets[k]})`) : x));
    return Array.from(l.index, (i) => (i < 0 ? String(l.consts[-1 - i]) : all[i]));
  },
  constraints: () => 0,
  costFormula: '0 (routing only)',
  bitsSummary: () => '-',
};

/** Geometry of a lookup: for output element o, which index element k and the data offset of row 0. */
function lookupGeometry(l: { axis: number; dataShape: number[]; inShape: number[]; strides?: number[] }): { pre: number; n: number; post: number; K: number } {
  return { pre: sizeOf(l.dataShape.slice(0, l.axis)), n: l.dataShape[l.axis], post: sizeOf(l.dataShape.slice(l.axis + 1)), K: sizeOf(l.inShape) / (l.strides?.length ?? 1) };
}

/** The index of lookup element k: the value itself, or a GatherND tuple's row (sum_j tuple[j] * strides[j]). */
function indexValue(l: { strides?: number[] }, idx: ArrayLike<number>, k: number): number {
  if (!l.strides) return idx[k];
  let r = 0;
  l.strides.forEach((st, j) => (r += st * idx[k * l.strides!.length + j]));
  return r;
}

/** Candidate rows lo .. lo + count - 1 for indices in [idxLo, idxHi], within [-N, N), at least 3 when N >= 2. */
export function lookupRows(idxLo: number, idxHi: number, n: number): { lo: number; count: number } | undefined {
  let lo = Math.max(idxLo, -n);
  let hi = Math.min(idxHi, n - 1);
  if (lo > hi) return undefined;
  const want = Math.min(3, 2 * n);
  while (hi - lo + 1 < want) {
    if (hi < n - 1) hi++;
    else lo--;
  }
  return { lo, count: hi - lo + 1 };
}

export const lookupFloat: FloatLayerDef<LookupLayer> = {
  forward(l, xs) {
    const data = l.table ?? xs[1];
    const { pre, n, post, K } = lookupGeometry(l);
    const out = new Float64Array(pre * K * post);
    for (let p = 0; p < pre; p++) for (let k = 0; k < K; k++) {
      if (l.strides) {
        for (let j = 0; j < l.strides.length; j++) {
          const v = xs[0][k * l.strides.length + j];
          if (!(v >= 0 && v < l.tupleDims![j])) throw new Error(`GatherND '${l.name}': index ${v} is out of range [0, ${l.tupleDims![j]})`);
        }
      }
      let r = Math.round(indexValue(l, xs[0], k));
      if (r < 0) r += n;
      if (!(r >= 0 && r < n)) throw new Error(`Gather '${l.name}': index ${xs[0][k]} is out of range [-${n}, ${n})`);
      for (let q = 0; q < post; q++) out[(p * K + k) * post + q] = data[(p * n + r) * post + q];
    }
    return out;
  },
  quantize(l, ctx) {
    const s = indexState(ctx, l.name);
    if (!s) return;
    const q = s.quant;
    const { n } = lookupGeometry(l);
    let rows: { lo: number; count: number } | undefined;
    if (l.strides) {
      // Each tuple component's bounds must lie in [0, dim): then the row sum_j c_j * stride_j is the tuple's.
      const kk = l.strides.length;
      let rlo = 0;
      let rhi = 0;
      for (let j = 0; j < kk; j++) {
        let clo = Infinity;
        let chi = -Infinity;
        for (let t = j; t < q.lo.length; t += kk) {
          clo = Math.min(clo, q.lo[t]);
          chi = Math.max(chi, q.hi[t]);
        }
        if (clo < 0 || chi >= l.tupleDims![j]) return ctx.issue(`GatherND '${l.name}': index component ${j} lies in [${clo}, ${chi}], not within [0, ${l.tupleDims![j]}) (negative or out-of-range tuple components are not supported)`);
        rlo += clo * l.strides[j];
        rhi += chi * l.strides[j];
      }
      rows = lookupRows(rlo, rhi, n);
    } else rows = lookupRows(Math.min(...q.lo), Math.max(...q.hi), n);
    if (!rows) return ctx.issue(`the indices of '${l.name}' lie in [${Math.min(...q.lo)}, ${Math.max(...q.hi)}], outside [-${n}, ${n})`);
    // Per index element, its own candidate rows when the elements' bounds differ (a tree-traversal index: tree t's
    // node ids lie in t's block of the table): each selector spans only what its element can hold.
    let perIndex: { lo: number[]; count: number[] } | undefined;
    if (l.table && !l.strides && q.lo.some((v, k) => v !== q.lo[0] || q.hi[k] !== q.hi[0])) {
      perIndex = { lo: [], count: [] };
      for (let k = 0; k < q.lo.length; k++) {
        const r = lookupRows(q.lo[k], q.hi[k], n)!;
        perIndex.lo.push(r.lo);
        perIndex.count.push(r.count);
      }
    }
    const base = {
      kind: 'lookup' as const, name: l.name, output: l.output, inShape: s.shape, outShape: l.outShape, axis: l.axis, dataShape: l.dataShape, ...rows, idxQuant: q,
      ...(l.strides ? { strides: l.strides } : {}), ...(perIndex ? { perIndex } : {}),
    };
    if (l.table) {
      // The table per tensor on a uint8 grid covering its values: each output is one table entry, error <= scale / 2.
      let min = Infinity;
      let max = -Infinity;
      for (const v of l.table) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      // An integer table (of ids, shape values, or a float table of node ids as hummingbird writes its children):
      // exact, an accumulator of scale 1, each element bounded by the table entries its candidate rows hold.
      if ((l.integer || l.table.every((v) => Number.isInteger(v))) && Math.max(Math.abs(min), Math.abs(max)) <= 2 ** 50) {
        const { pre, post, K } = lookupGeometry(l);
        const outQuant: AccQuant = { kind: 'acc', scales: [], lo: [], hi: [] };
        for (let p = 0; p < pre; p++) for (let k = 0; k < K; k++) for (let qq = 0; qq < post; qq++) {
          const r = rowsAt(base, k);
          let a = Infinity;
          let b = -Infinity;
          for (let j = 0; j < r.count; j++) {
            const v = l.table[(p * n + rowOf(r.lo + j, n)) * post + qq];
            a = Math.min(a, v);
            b = Math.max(b, v);
          }
          outQuant.scales.push(1);
          outQuant.lo.push(a);
          outQuant.hi.push(b);
        }
        return ctx.push({ ...base, inputs: [s.tensor], table: Array.from(l.table), outQuant });
      }
      const outQuant = u8QuantFor({ min, max });
      return ctx.push({ ...base, inputs: [s.tensor], table: quantizeInput(outQuant, l.table), outQuant });
    }
    // Activation data: an accumulator whose candidates for each output share one scale is selected as it is
    // (products of exact integers); otherwise the data is made uint8 first (one grid for all).
    const settled = ctx.settle(1);
    const acc = settled.quant.kind === 'acc' ? accSelection(l, rows, settled.quant) : undefined;
    if (acc) return ctx.push({ ...base, inputs: [s.tensor, settled.tensor], outQuant: acc });
    const d = ctx.ensureU8(1);
    ctx.push({ ...base, inputs: [s.tensor, d.tensor], outQuant: d.quant });
  },
};

/**
 * The output quantization of a lookup on accumulator data when, for every output element, its candidate rows
 * share one scale: that scale, and bounds spanning the candidates' bounds. Undefined otherwise.
 */
function accSelection(l: LookupLayer, rows: { lo: number; count: number }, q: AccQuant): AccQuant | undefined {
  const { pre, n, post, K } = lookupGeometry(l);
  const out: AccQuant = { kind: 'acc', scales: [], lo: [], hi: [] };
  for (let p = 0; p < pre; p++) for (let k = 0; k < K; k++) for (let qq = 0; qq < post; qq++) {
    let scale = NaN;
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = 0; j < rows.count; j++) {
      const at = (p * n + rowOf(rows.lo + j, n)) * post + qq;
      if (Number.isNaN(scale)) scale = q.scales[at];
      else if (q.scales[at] !== scale) return undefined;
      lo = Math.min(lo, q.lo[at]);
      hi = Math.max(hi, q.hi[at]);
    }
    out.scales.push(scale);
    out.lo.push(lo);
    out.hi.push(hi);
  }
  return out;
}

/** Data row offset of candidate j for the lookup: flat data index of (p, row, q). */
const rowOf = (r: number, n: number) => ((r % n) + n) % n;

/** Candidate rows of index element k: its own (perIndex) or the layer's. */
export function rowsAt(l: { lo: number; count: number; perIndex?: { lo: number[]; count: number[] } }, k: number): { lo: number; count: number } {
  return l.perIndex ? { lo: l.perIndex.lo[k], count: l.perIndex.count[k] } : { lo: l.lo, count: l.count };
}

export const lookupQ: QLayerDef<QLookup> = {
  reference(l, xs) {
    const data = l.table ?? xs[1];
    const { pre, n, post, K } = lookupGeometry(l);
    const out: number[] = new Array(pre * K * post);
    for (let p = 0; p < pre; p++) for (let k = 0; k < K; k++) {
      const idx = indexValue(l, xs[0], k);
      const rk = rowsAt(l, k);
      if (!(idx >= rk.lo && idx < rk.lo + rk.count)) throw new Error(`Gather '${l.name}': index ${idx} is outside the circuit's rows [${rk.lo}, ${rk.lo + rk.count})`);
      const r = rowOf(idx, n);
      for (let q = 0; q < post; q++) out[(p * K + k) * post + q] = data[(p * n + r) * post + q];
    }
    return out;
  },
  emit(l, xs, w) {
    w.include('lookup.circom');
    const { pre, n, post, K } = lookupGeometry(l);
    w.line(`// ${l.name}: Gather with a variable index (one-hot over rows ${l.lo}..${l.lo + l.count - 1})`);
    const sel: string[] = [];
    for (let k = 0; k < K; k++) {
      const id = w.fresh('onehot');
      const rk = rowsAt(l, k);
      w.line(`component ${id} = OneHotIndex(${rk.count}, ${rk.lo});`);
      w.bind(`${id}.idx`, l.strides ? tupleExpr(l.strides, xs[0], k) : xs[0][k]);
      sel.push(id);
    }
    const out: string[] = new Array(pre * K * post);
    let prod = '';
    if (!l.table) {
      prod = w.fresh('sel');
      w.line(`signal ${prod}[${out.length}][${l.count}];`);
    }
    for (let p = 0; p < pre; p++) for (let k = 0; k < K; k++) for (let q = 0; q < post; q++) {
      const o = (p * K + k) * post + q;
      const terms: string[] = [];
      const rk = rowsAt(l, k);
      for (let j = 0; j < rk.count; j++) {
        const at = (p * n + rowOf(rk.lo + j, n)) * post + q;
        if (l.table) {
          const v = l.table[at];
          if (v) terms.push(`${v}*${sel[k]}.b[${j}]`);
        } else {
          w.line(`${prod}[${o}][${j}] <== ${sel[k]}.b[${j}] * (${xs[1][at]});`);
          terms.push(`${prod}[${o}][${j}]`);
        }
      }
      out[o] = terms.length === 0 ? '0' : terms.length === 1 ? terms[0] : `(${terms.join(' + ')})`;
    }
    return out;
  },
  constraints(l) {
    const { pre, post, K } = lookupGeometry(l);
    let sum = 0;
    for (let k = 0; k < K; k++) {
      const R = rowsAt(l, k).count;
      sum += R + 2 + (l.table ? 0 : pre * post * R);
    }
    return sum;
  },
  costFormula: 'per index element: R + 2 (R candidate rows, R >= 3: R booleans, 1 sum, 1 weighted sum = index; with a constant table R is the element\'s own, from its bounds); with activation data + R products per output element; 0 per output element for a constant table',
  bitsSummary: (l) => `R ${l.perIndex ? `${Math.min(...l.perIndex.count)}..${Math.max(...l.perIndex.count)}` : l.count}${l.table ? '' : ' x act'}`,
};

/** A GatherND tuple's row as a circom expression: sum_j strides[j] * component j (constant-zero terms left out). */
function tupleExpr(strides: number[], idx: string[], k: number): string {
  const terms: string[] = [];
  strides.forEach((st, j) => {
    const e = idx[k * strides.length + j];
    if (e === '0' || st === 0) return;
    terms.push(st === 1 ? e : `${st}*(${e})`);
  });
  return terms.length === 0 ? '0' : terms.length === 1 ? terms[0] : terms.join(' + ');
}

/** The integer state of an index tensor (an accumulator of scale 1), or an issue. */
function indexState(ctx: QuantizeContext, name: string): (QState & { quant: AccQuant }) | undefined {
  const s = ctx.settle(0);
  const q = s.quant;
  if (q.kind !== 'acc' || q.scales.some((v) => v !== 1)) {
    ctx.issue(`the indices of '${name}' must be an integer tensor (an ArgMax output or an integer graph input); they are a ${q.kind === 'u8' ? 'uint8 activation' : 'scaled accumulator'}`);
    return undefined;
  }
  return s as QState & { quant: AccQuant };
}

/** For output element o of a one-hot along `axis` of depth D: the index element and the position c. */
function oneHotAt(o: number, axis: number, depth: number, inShape: number[]): { k: number; c: number } {
  const post = sizeOf(inShape.slice(axis));
  const q = o % post;
  const c = Math.floor(o / post) % depth;
  const p = Math.floor(o / (post * depth));
  return { k: p * post + q, c };
}

const normIndex = (v: number, depth: number) => (v < -depth || v >= depth ? -1 : v < 0 ? v + depth : v);

export const oneHotFloat: FloatLayerDef<OneHotLayer> = {
  forward(l, [x]) {
    const n = sizeOf(l.outShape);
    return Float64Array.from({ length: n }, (_, o) => {
      const { k, c } = oneHotAt(o, l.axis, l.depth, l.inShape);
      return normIndex(Math.trunc(x[k]), l.depth) === c ? l.on : l.off;
    });
  },
  quantize(l, ctx) {
    const s = indexState(ctx, l.name);
    if (!s) return;
    let lo = Math.min(...s.quant.lo);
    let hi = Math.max(...s.quant.hi);
    while (hi - lo + 1 < 3) hi++;
    if (hi - lo + 1 > 1 << 16) return ctx.issue(`the indices of '${l.name}' span [${lo}, ${hi}]: a one-hot over more than 65536 values is refused (narrow the calibration range)`);
    const vlo = Math.min(l.on, l.off);
    const vhi = Math.max(l.on, l.off);
    const n = sizeOf(l.outShape);
    const exact = l.integer && Math.max(Math.abs(vlo), Math.abs(vhi)) <= 2 ** 50;
    const outQuant: TensorQuant = exact ? { kind: 'acc', scales: new Array(n).fill(1), lo: new Array(n).fill(vlo), hi: new Array(n).fill(vhi) } : u8QuantFor({ min: vlo, max: vhi });
    const [offQ, onQ] = outQuant.kind === 'u8' ? quantizeInput(outQuant, [l.off, l.on]) : [l.off, l.on];
    ctx.push({ kind: 'onehot', name: l.name, inputs: [s.tensor], output: l.output, inShape: s.shape, outShape: l.outShape, depth: l.depth, axis: l.axis, lo, count: hi - lo + 1, offQ, onQ, outQuant });
  },
};

export const oneHotQ: QLayerDef<QOneHot> = {
  reference(l, [x]) {
    for (const v of x) if (!(v >= l.lo && v < l.lo + l.count)) throw new Error(`OneHot '${l.name}': index ${v} is outside the circuit's values [${l.lo}, ${l.lo + l.count})`);
    return Array.from({ length: sizeOf(l.outShape) }, (_, o) => {
      const { k, c } = oneHotAt(o, l.axis, l.depth, l.inShape);
      return normIndex(x[k], l.depth) === c ? l.onQ : l.offQ;
    });
  },
  emit(l, [x], w) {
    w.include('lookup.circom');
    w.line(`// ${l.name}: OneHot of depth ${l.depth} (one-hot over index values ${l.lo}..${l.lo + l.count - 1})`);
    const sel = x.map((e) => {
      const id = w.fresh('onehot');
      w.line(`component ${id} = OneHotIndex(${l.count}, ${l.lo});`);
      w.bind(`${id}.idx`, e);
      return id;
    });
    const d = l.onQ - l.offQ;
    return Array.from({ length: sizeOf(l.outShape) }, (_, o) => {
      const { k, c } = oneHotAt(o, l.axis, l.depth, l.inShape);
      const bits: string[] = [];
      for (let j = 0; j < l.count; j++) if (normIndex(l.lo + j, l.depth) === c) bits.push(`${sel[k]}.b[${j}]`);
      if (!bits.length || d === 0) return String(l.offQ);
      const sum = bits.length === 1 ? bits[0] : `(${bits.join(' + ')})`;
      // Parenthesized: consumers paste it into products (c*(...)) and negations.
      return `(${l.offQ ? `${l.offQ} + ` : ''}${d === 1 ? sum : `${d}*${sum}`})`;
    });
  },
  constraints: (l) => sizeOf(l.inShape) * (l.count + 2),
  costFormula: 'per index element: R + 2 (R = the index values the bounds admit, R >= 3); the outputs are linear in the selector (0)',
  bitsSummary: (l) => `R ${l.count}`,
};

/** Value ranges of the integer types a Cast may target. */
const INT_TYPE_RANGES: Record<number, [number, number]> = {
  2: [0, 255], 3: [-128, 127], 4: [0, 65535], 5: [-32768, 32767], 6: [-(2 ** 31), 2 ** 31 - 1], 7: [-(2 ** 63), 2 ** 63], 9: [0, 1], 12: [0, 2 ** 32 - 1], 13: [0, 2 ** 64],
};

export const intCastFloat: FloatLayerDef<IntCastLayer> = {
  forward: (l, [x]) => x.map((v) => castValue(v, l.to)),
  quantize(l, ctx) {
    const s = ctx.settle(0);
    const q = s.quant;
    if (q.kind !== 'acc' || q.scales.some((v) => v !== 1)) {
      return ctx.issue(`'${l.name}' casts real values to an integer type (truncation), which is not supported; only integer tensors (an ArgMax output, an integer input) may be cast to integers`);
    }
    const [tlo, thi] = INT_TYPE_RANGES[l.to] ?? [-Infinity, Infinity];
    if (Math.min(...q.lo) < tlo || Math.max(...q.hi) > thi) {
      return ctx.issue(`'${l.name}' casts integers in [${Math.min(...q.lo)}, ${Math.max(...q.hi)}] to a type of range [${tlo}, ${thi}]: values would wrap`);
    }
    ctx.alias(0, { shape: l.outShape });
  },
};

/** Per-axis taps of a linear (2) or cubic (4) resize: for each output coordinate, input coordinates and weights. */
function axisTaps(L: number, O: number, s: number, ctm: string, cubic: boolean, A: number, exclude: boolean): { idx: number[]; w: number[] }[] {
  const res: { idx: number[]; w: number[] }[] = [];
  for (let o = 0; o < O; o++) {
    if (L === O && s === 1) {
      res.push({ idx: [o], w: [1] });
      continue;
    }
    let x: number;
    switch (ctm) {
      case 'half_pixel': x = (o + 0.5) / s - 0.5; break;
      case 'pytorch_half_pixel': x = O > 1 ? (o + 0.5) / s - 0.5 : 0; break;
      case 'align_corners': x = O === 1 ? 0 : (o * (L - 1)) / (O - 1); break;
      case 'asymmetric': x = o / s; break;
      case 'half_pixel_symmetric': {
        const adj = O / (s * L);
        const center = L / 2;
        x = center * (1 - adj) + (o + 0.5) / s - 0.5;
        break;
      }
      default: return failMap(`coordinate_transformation_mode '${ctm}' is not supported`);
    }
    if (!cubic) {
      x = Math.min(Math.max(x, 0), L - 1);
      const x0 = Math.floor(x);
      const x1 = Math.min(x0 + 1, L - 1);
      const t = x - x0;
      res.push(x1 === x0 ? { idx: [x0], w: [1] } : { idx: [x0, x1], w: [1 - t, t] });
      continue;
    }
    const x0 = Math.floor(x);
    const t = x - x0;
    const cw = [
      ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A,
      ((A + 2) * t - (A + 3)) * t * t + 1,
      ((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1,
      ((A * (2 - t) - 5 * A) * (2 - t) + 8 * A) * (2 - t) - 4 * A,
    ];
    const idx: number[] = [];
    const w: number[] = [];
    let total = 0;
    for (let k = 0; k < 4; k++) {
      const i = x0 - 1 + k;
      if (exclude && (i < 0 || i >= L)) continue;
      idx.push(Math.min(Math.max(i, 0), L - 1));
      w.push(cw[k]);
      total += cw[k];
    }
    res.push({ idx, w: exclude ? w.map((v) => v / total) : w });
  }
  return res;
}

/** An error building an index map (the importer's `guarded` turns it into an issue). */
function failMap(msg: string): never {
  throw new Error(msg);
}

/** The separable product of the per-axis taps: a fixed linear map from the input to each output element. */
export function interpMap(shape: number[], outDims: number[], scales: number[], ctm: string, cubic: boolean, A: number, exclude: boolean): { taps: number; index: Int32Array; weights: Float64Array } {
  const per = shape.map((L, d) => axisTaps(L, outDims[d], scales[d], ctm, cubic, A, exclude));
  const taps = per.reduce((t, ax) => t * Math.max(...ax.map((e) => e.idx.length)), 1);
  if (taps > 256) failMap(`${taps} taps per output element (at most 256)`);
  const n = sizeOf(outDims);
  const index = new Int32Array(n * taps).fill(-1);
  const weights = new Float64Array(n * taps);
  const st = shape.map((_, i) => sizeOf(shape.slice(i + 1)));
  const ost = outDims.map((_, i) => sizeOf(outDims.slice(i + 1)));
  for (let o = 0; o < n; o++) {
    // Combine the axes' taps (cartesian product), merging taps that land on the same input element.
    let acc = new Map<number, number>([[0, 1]]);
    for (let d = 0; d < shape.length; d++) {
      const e = per[d][Math.floor(o / ost[d]) % outDims[d]];
      const next = new Map<number, number>();
      for (const [k, w] of acc) e.idx.forEach((i, t) => next.set(k + i * st[d], (next.get(k + i * st[d]) ?? 0) + w * e.w[t]));
      acc = next;
    }
    let t = 0;
    for (const [k, w] of acc) {
      if (w === 0) continue;
      index[o * taps + t] = k;
      weights[o * taps + t] = w;
      t++;
    }
  }
  return { taps, index, weights };
}

export const interpFloat: FloatLayerDef<InterpLayer> = {
  forward(l, [x]) {
    const n = sizeOf(l.outShape);
    const out = new Float64Array(n);
    for (let o = 0; o < n; o++) {
      let v = 0;
      for (let t = 0; t < l.taps; t++) {
        const i = l.index[o * l.taps + t];
        if (i >= 0) v += l.weights[o * l.taps + t] * x[i];
      }
      out[o] = v;
    }
    return out;
  },
  quantize(l, ctx) {
    let s: QState = ctx.settle(0);
    if (s.quant.kind === 'acc' && s.quant.scales.some((v, _, a) => v !== a[0])) s = ctx.ensureU8(0);
    const q = s.quant;
    const scale = q.kind === 'u8' ? q.scale : q.scales[0];
    const inOffset = q.kind === 'u8' ? q.zeroPoint : 0;
    const lo = (i: number) => (q.kind === 'u8' ? -q.zeroPoint : q.lo[i]);
    const hi = (i: number) => (q.kind === 'u8' ? 255 - q.zeroPoint : q.hi[i]);
    // The fewest fraction bits that make every weight an integer (half-pixel x2: 2 bits), at most 16 (rounding).
    let fracBits = 0;
    while (fracBits < 16 && !l.weights.every((w) => Math.abs(w * 2 ** fracBits - Math.round(w * 2 ** fracBits)) < 1e-9)) fracBits++;
    const weights = Array.from(l.weights, (w) => Math.round(w * 2 ** fracBits));
    const n = sizeOf(l.outShape);
    const out: AccQuant = { kind: 'acc', scales: new Array(n).fill(scale / 2 ** fracBits), lo: [], hi: [] };
    for (let o = 0; o < n; o++) {
      let a = 0;
      let b = 0;
      for (let t = 0; t < l.taps; t++) {
        const i = l.index[o * l.taps + t];
        const w = weights[o * l.taps + t];
        if (i < 0 || !w) continue;
        a += Math.min(w * lo(i), w * hi(i));
        b += Math.max(w * lo(i), w * hi(i));
      }
      out.lo.push(a);
      out.hi.push(b);
    }
    if (Math.max(...out.hi, ...out.lo.map((v) => -v)) > 2 ** 50) return ctx.issue(`'${l.name}': the interpolated integers would exceed 2^50`);
    ctx.push({ kind: 'interp', name: l.name, inputs: [s.tensor], output: l.output, inShape: s.shape, outShape: l.outShape, taps: l.taps, index: l.index, weights, inOffset, fracBits, outQuant: out });
  },
};

export const interpQ: QLayerDef<QInterp> = {
  reference(l, [x]) {
    return Array.from({ length: sizeOf(l.outShape) }, (_, o) => {
      let v = 0;
      for (let t = 0; t < l.taps; t++) {
        const i = l.index[o * l.taps + t];
        const w = l.weights[o * l.taps + t];
        if (i >= 0 && w) v += w * (x[i] - l.inOffset);
      }
      return v;
    });
  },
  emit(l, [x]) {
    return Array.from({ length: sizeOf(l.outShape) }, (_, o) => {
      const terms: string[] = [];
      for (let t = 0; t < l.taps; t++) {
        const i = l.index[o * l.taps + t];
        const w = l.weights[o * l.taps + t];
        if (i < 0 || !w) continue;
        const xe = l.inOffset ? `(${x[i]} - ${l.inOffset})` : x[i];
        terms.push(w === 1 ? xe : `${w}*${xe}`);
      }
      return terms.length === 0 ? '0' : terms.length === 1 ? terms[0] : `(${terms.join(' + ')})`;
    });
  },
  constraints: () => 0,
  costFormula: '0 (each output a constant linear combination of its 2^r (linear) or 4^r (cubic) input taps)',
  bitsSummary: (l) => `F ${l.fracBits}`,
};

/** For GatherElements output element o (coordinates in the indices' shape), the data index of row r. */
function selectAt(l: { axis: number; dataShape: number[]; inShape: number[] }, o: number, r: number): number {
  const ist = l.inShape.map((_, i) => sizeOf(l.inShape.slice(i + 1)));
  const st = l.dataShape.map((_, i) => sizeOf(l.dataShape.slice(i + 1)));
  let k = 0;
  for (let d = 0; d < l.inShape.length; d++) k += (d === l.axis ? r : Math.floor(o / ist[d]) % l.inShape[d]) * st[d];
  return k;
}

export const selectFloat: FloatLayerDef<SelectLayer> = {
  forward(l, xs) {
    const data = l.table ?? xs[1];
    const n = l.dataShape[l.axis];
    return Float64Array.from(xs[0], (v, o) => {
      let r = Math.round(v);
      if (r < 0) r += n;
      if (!(r >= 0 && r < n)) throw new Error(`GatherElements '${l.name}': index ${v} is out of range [-${n}, ${n})`);
      return data[selectAt(l, o, r)];
    });
  },
  quantize(l, ctx) {
    const s = indexState(ctx, l.name);
    if (!s) return;
    const n = l.dataShape[l.axis];
    const rows = lookupRows(Math.min(...s.quant.lo), Math.max(...s.quant.hi), n);
    if (!rows) return ctx.issue(`the indices of '${l.name}' lie in [${Math.min(...s.quant.lo)}, ${Math.max(...s.quant.hi)}], outside [-${n}, ${n})`);
    const base = { kind: 'gatherel' as const, name: l.name, output: l.output, inShape: s.shape, outShape: l.outShape, axis: l.axis, dataShape: l.dataShape, ...rows };
    if (l.table) {
      let min = Infinity;
      let max = -Infinity;
      for (const v of l.table) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      const outQuant = u8QuantFor({ min, max });
      return ctx.push({ ...base, inputs: [s.tensor], table: quantizeInput(outQuant, l.table), outQuant });
    }
    const d = ctx.ensureU8(1);
    ctx.push({ ...base, inputs: [s.tensor, d.tensor], outQuant: d.quant });
  },
};

export const selectQ: QLayerDef<QSelect> = {
  reference(l, xs) {
    const data = l.table ?? xs[1];
    const n = l.dataShape[l.axis];
    return xs[0].map((idx, o) => {
      if (!(idx >= l.lo && idx < l.lo + l.count)) throw new Error(`GatherElements '${l.name}': index ${idx} is outside the circuit's rows [${l.lo}, ${l.lo + l.count})`);
      return data[selectAt(l, o, rowOf(idx, n))];
    });
  },
  emit(l, xs, w) {
    w.include('lookup.circom');
    const n = l.dataShape[l.axis];
    w.line(`// ${l.name}: GatherElements with a variable index (one-hot over rows ${l.lo}..${l.lo + l.count - 1})`);
    let prod = '';
    if (!l.table) {
      prod = w.fresh('sel');
      w.line(`signal ${prod}[${xs[0].length}][${l.count}];`);
    }
    return xs[0].map((e, o) => {
      const id = w.fresh('onehot');
      w.line(`component ${id} = OneHotIndex(${l.count}, ${l.lo});`);
      w.bind(`${id}.idx`, e);
      const terms: string[] = [];
      for (let j = 0; j < l.count; j++) {
        const at = selectAt(l, o, rowOf(l.lo + j, n));
        if (l.table) {
          if (l.table[at]) terms.push(`${l.table[at]}*${id}.b[${j}]`);
        } else {
          w.line(`${prod}[${o}][${j}] <== ${id}.b[${j}] * (${xs[1][at]});`);
          terms.push(`${prod}[${o}][${j}]`);
        }
      }
      return terms.length === 0 ? '0' : terms.length === 1 ? terms[0] : `(${terms.join(' + ')})`;
    });
  },
  constraints: (l) => sizeOf(l.inShape) * (l.count + 2) + (l.table ? 0 : sizeOf(l.inShape) * l.count),
  costFormula: 'per output element: R + 2 (its selector over R rows, R >= 3), + R products for activation data',
  bitsSummary: (l) => `R ${l.count}${l.table ? '' : ' x act'}`,
};

export const movementFloatDefs: { [K in MovementFloatLayer['kind']]: FloatLayerDef<Extract<MovementFloatLayer, { kind: K }>> } = {
  route: routeFloat,
  lookup: lookupFloat,
  onehot: oneHotFloat,
  intcast: intCastFloat,
  interp: interpFloat,
  gatherel: selectFloat,
};

export const movementQDefs: { [K in MovementQLayer['kind']]: QLayerDef<Extract<MovementQLayer, { kind: K }>> } = {
  route: routeQ,
  lookup: lookupQ,
  onehot: oneHotQ,
  interp: interpQ,
  gatherel: selectQ,
};

/** Per-element scales and bounds of the concatenated inputs, uint8 ones as accumulators (q - zp). */
export function accView(states: QState[]): { scales: number[]; lo: number[]; hi: number[] } {
  const scales: number[] = [];
  const lo: number[] = [];
  const hi: number[] = [];
  for (const s of states) {
    const n = sizeOf(s.shape);
    for (let i = 0; i < n; i++) {
      if (s.quant.kind === 'u8') {
        scales.push(s.quant.scale);
        lo.push(-s.quant.zeroPoint);
        hi.push(255 - s.quant.zeroPoint);
      } else {
        scales.push(s.quant.scales[i]);
        lo.push(s.quant.lo[i]);
        hi.push(s.quant.hi[i]);
      }
    }
  }
  return { scales, lo, hi };
}
