/**
 * ONNX ops that exported models use and that are built, at import, from existing layers (no new gadget, no new
 * layer kind): each op's cost is the cost of the layers it becomes.
 *
 * - Sum / Mean (n-ary, numpy broadcasting): one 'affine' layer, out = c * sum_k x_k + b (c = 1, or 1/n for Mean;
 *   constant inputs go into b; a smaller activation is first repeated to the output shape by a 'gather'):
 *   0 constraints, exact in the accumulator (as Add).
 * - CastLike: as Cast to the type of its second input (a constant's type; an activation's values are reals, so a
 *   cast "like" an activation changes nothing). CastLike(constant, activation) is a constant (the values as float).
 * - IsNaN / IsInf of an activation: a quantized activation is a finite number by construction, so the result is a
 *   constant all-false bool tensor (a note says so); of constants: folded (src/ops/fold.ts).
 * - Compress with a constant condition, ReverseSequence with constant sequence_lens: 'gather' (routing, 0).
 * - ReduceLogSum: a ReduceSum ('reduce' sum, 0) then the Log table on that accumulator (fused requantization and
 *   table, src/ops/lut.ts: K + 31 per output), error as Log's table (lutErrorBound).
 * - MeanVarianceNormalization (axes default [0, 2, 3]): the exact normalization of src/ops/norm.ts with scale 1,
 *   bias 0 (as InstanceNormalization), the reduced axes being the trailing non-1 axes; ONNX divides by
 *   sqrt(var) + 1e-9, the layer by sqrt(var + 1e-18): the same to 1e-9 / std.
 * - LpNormalization (p = 1 or 2): ReduceL1 / ReduceL2 over the axis (keepdims) and the exact rounded division of
 *   src/ops/arith.ts (x / norm, broadcast).
 * - Hardmax over an axis of a vector (every other dimension 1): ArgMax then OneHot (off 0, on 1) along the axis.
 * - ReduceProd of an activation (groups of at most MAX_REDUCE_PROD): n - 1 chained products per output.
 * - EyeLike of an activation: a constant (it depends on the shape only).
 * - TopK of a vector with a constant K <= MAX_TOPK: K rounds of ArgMax, OneHot, a masked copy (see importTopK).
 */
import type { FloatLayer } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import type { OnnxNode, OnnxTensor } from '../onnx/load.ts';
import { broadcastTo } from './affine.ts';
import { broadcastIndex, broadcastShapes } from './arith.ts';
import { attrInt, checkKnownAttrs } from './attrs.ts';
import { castValue } from './fold.ts';
import { reduceAxesAsWritten, reduceGroups } from './norm.ts';
import type { Activation, ImportContext, OpImporter } from './types.ts';

const FLOAT_TYPES = new Set([1, 10, 11, 16]);
const INTEGER_CAST_TYPES = new Set([2, 3, 4, 5, 6, 7, 9, 12, 13]);

function normAxis(ctx: ImportContext, a: number, rank: number, what = 'axis'): number | undefined {
  const r = a < 0 ? a + rank : a;
  if (!Number.isInteger(r) || r < 0 || r >= rank) {
    ctx.issue(`${what} ${a} is out of range for rank ${rank}`);
    return undefined;
  }
  return r;
}

// ---- Sum / Mean ----

function importSumMean(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, []);
  const names = node.inputs.filter(Boolean);
  if (!names.length) return ctx.issue('needs at least one input');
  const acts: Activation[] = [];
  const consts: OnnxTensor[] = [];
  for (const n of names) {
    const a = ctx.activation(n);
    if (a) acts.push(a);
    else {
      const c = ctx.constant(n);
      if (!c) return ctx.issue(`input '${n}' is neither an activation nor a constant`);
      consts.push(c);
    }
  }
  const shape = broadcastShapes([...acts.map((a) => a.shape), ...consts.map((c) => c.dims)]);
  if (!shape) return ctx.issue(`input shapes ${[...acts.map((a) => a.shape), ...consts.map((c) => c.dims)].map((s) => `[${s}]`).join(', ')} do not broadcast`);
  const outShape = shape.length ? shape : [1];
  const n = sizeOf(outShape);
  const c = node.op === 'Mean' ? 1 / names.length : 1;
  const bias = new Float64Array(n);
  for (const t of consts) {
    const v = broadcastTo(t, outShape);
    if (!v) return ctx.issue(`constant '${t.name}' with dims [${t.dims}] does not broadcast to [${outShape}]`);
    v.forEach((x, i) => (bias[i] += c * x));
  }
  const inputs = acts.map((a, k) => {
    if (sizeOf(a.shape) === n) return a.name;
    // Broadcasting: the smaller activation is first repeated to the output shape (routing, 0 constraints).
    const output = `${node.outputs[0]}#bcast${k}`;
    ctx.push({ kind: 'gather', name: `${node.name}#bcast${k}`, inputs: [a.name], output, inShape: a.shape, outShape, index: Int32Array.from(broadcastIndex(a.shape, outShape)), padValue: 0 });
    return output;
  });
  ctx.push({ kind: 'affine', name: node.name, inputs, output: node.outputs[0], inShape: outShape, outShape, coefs: inputs.map(() => new Float64Array(n).fill(c)), bias });
}

// ---- CastLike ----

function importCastLike(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, ['saturate']);
  const [xName, tName] = node.inputs;
  const x = ctx.activation(xName);
  const target = tName ? ctx.constant(tName) : undefined;
  const targetAct = tName ? ctx.activation(tName) : undefined;
  if (!target && !targetAct) return ctx.issue(`target_type input '${tName ?? ''}' is missing`);
  // An activation carries real values: "like" an activation is a float type.
  const to = target ? target.dataType : 1;
  const out = node.outputs[0];
  if (!x) {
    const c = ctx.constant(xName);
    if (!c) return ctx.issue(`input '${xName}' is neither an activation nor a constant`);
    return ctx.setConstant(out, { name: out, dims: c.dims, dataType: to, data: c.data.map((v) => castValue(v, to)) });
  }
  if (FLOAT_TYPES.has(to)) return ctx.alias();
  if (!INTEGER_CAST_TYPES.has(to)) return ctx.issue(`a cast like '${tName}' (element type ${to}) is not supported (float, double and integer/bool types are)`);
  ctx.push({ kind: 'intcast', name: node.name, inputs: [x.name], output: out, inShape: x.shape, outShape: x.shape, to });
}

// ---- IsNaN / IsInf ----

function importIsNanInf(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, node.op === 'IsInf' ? ['detect_negative', 'detect_positive'] : []);
  const x = ctx.activation(node.inputs[0]);
  if (!x) return ctx.issue(`input '${node.inputs[0]}' must be an activation or a constant`);
  const out = node.outputs[0];
  ctx.note(`${node.op} ('${node.name}') of an activation is constant false: quantized activations are finite numbers`);
  ctx.setConstant(out, { name: out, dims: x.shape, dataType: 9, data: new Float64Array(sizeOf(x.shape)) });
}

// ---- Compress / ReverseSequence ----

function importCompress(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, ['axis']);
  const x = ctx.activation(node.inputs[0]);
  if (!x) return ctx.issue(`input '${node.inputs[0]}' must be an activation`);
  if (node.inputs[1] && ctx.activation(node.inputs[1])) return ctx.issue(`condition '${node.inputs[1]}' must be a constant (a condition computed at run time gives an output of unknown size)`);
  const cond = node.inputs[1] ? ctx.constant(node.inputs[1]) : undefined;
  if (!cond) return ctx.issue(`condition '${node.inputs[1] ?? ''}' is missing`);
  if (cond.dims.length !== 1) return ctx.issue(`condition must be 1-D, got dims [${cond.dims}]`);
  const shape = x.shape;
  const hasAxis = node.attrs.has('axis');
  const index: number[] = [];
  let outShape: number[];
  if (!hasAxis) {
    const n = sizeOf(shape);
    if (cond.data.length > n) return ctx.issue(`condition has ${cond.data.length} values, the flattened input ${n}`);
    cond.data.forEach((v, i) => v && index.push(i));
    outShape = [index.length];
  } else {
    const axis = normAxis(ctx, attrInt(node, ctx, 'axis', 0), shape.length);
    if (axis === undefined) return;
    const D = shape[axis];
    if (cond.data.length > D) return ctx.issue(`condition has ${cond.data.length} values, axis ${axis} has ${D}`);
    const keep: number[] = [];
    cond.data.forEach((v, i) => v && keep.push(i));
    const pre = sizeOf(shape.slice(0, axis));
    const post = sizeOf(shape.slice(axis + 1));
    for (let p = 0; p < pre; p++) for (const d of keep) for (let q = 0; q < post; q++) index.push((p * D + d) * post + q);
    outShape = shape.map((d, i) => (i === axis ? keep.length : d));
  }
  if (!index.length) return ctx.issue('the condition selects no element (an empty output is not supported)');
  ctx.push({ kind: 'gather', name: node.name, inputs: [x.name], output: node.outputs[0], inShape: shape, outShape, index: Int32Array.from(index), padValue: 0 });
}

function importReverseSequence(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, ['batch_axis', 'time_axis']);
  const x = ctx.activation(node.inputs[0]);
  if (!x) return ctx.issue(`input '${node.inputs[0]}' must be an activation`);
  if (node.inputs[1] && ctx.activation(node.inputs[1])) return ctx.issue(`sequence_lens '${node.inputs[1]}' must be a constant (computed at run time is not supported)`);
  const lens = node.inputs[1] ? ctx.constant(node.inputs[1]) : undefined;
  if (!lens) return ctx.issue(`sequence_lens '${node.inputs[1] ?? ''}' is missing`);
  const shape = x.shape;
  if (shape.length < 2) return ctx.issue(`the input must have rank >= 2, got [${shape}]`);
  const bAxis = attrInt(node, ctx, 'batch_axis', 1);
  const tAxis = attrInt(node, ctx, 'time_axis', 0);
  if (!((bAxis === 0 && tAxis === 1) || (bAxis === 1 && tAxis === 0))) return ctx.issue(`attributes 'batch_axis' = ${bAxis} and 'time_axis' = ${tAxis} must be 1 and 0, or 0 and 1`);
  const B = shape[bAxis];
  const T = shape[tAxis];
  if (lens.data.length !== B) return ctx.issue(`sequence_lens has ${lens.data.length} values, the batch axis ${B}`);
  const bad = Array.from(lens.data).find((v) => !(Number.isInteger(v) && v >= 0 && v <= T));
  if (bad !== undefined) return ctx.issue(`sequence_lens value ${bad} is outside [0, ${T}]`);
  const post = sizeOf(shape.slice(2));
  const strideB = bAxis === 0 ? T * post : post;
  const strideT = tAxis === 0 ? B * post : post;
  const index = new Int32Array(sizeOf(shape));
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    const L = lens.data[b];
    const src = t < L ? L - 1 - t : t;
    for (let q = 0; q < post; q++) index[b * strideB + t * strideT + q] = b * strideB + src * strideT + q;
  }
  ctx.push({ kind: 'gather', name: node.name, inputs: [x.name], output: node.outputs[0], inShape: shape, outShape: shape, index, padValue: 0 });
}

// ---- Normalizations ----

/** Reduction axes from the 'axes' attribute (default `dflt`), normalized and sorted. */
function axesAttr(node: OnnxNode, ctx: ImportContext, rank: number, dflt: number[]): number[] | undefined {
  const a = node.attrs.get('axes');
  let raw = dflt;
  if (a) {
    if (a.type !== 'ints') {
      ctx.issue(`attribute 'axes' should be ints, got ${a.type}`);
      return undefined;
    }
    raw = a.value;
  }
  const out = new Set<number>();
  for (const v of raw) {
    const ax = normAxis(ctx, v, rank, 'axes value');
    if (ax === undefined) return undefined;
    out.add(ax);
  }
  return [...out].sort((p, q) => p - q);
}

function importMVN(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, ['axes']);
  const shape = ctx.current.shape;
  const axes = axesAttr(node, ctx, shape.length, [0, 2, 3]);
  if (!axes) return;
  // The normalization layer normalizes consecutive groups: the reduced axes must be the trailing axes of size > 1.
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i) && shape[i] !== 1);
  const reduced = shape.map((_, i) => i).filter((i) => axes.includes(i) && shape[i] !== 1);
  if (kept.length && reduced.length && Math.max(...kept) > Math.min(...reduced)) return ctx.issue(`attribute 'axes' = [${axes}] on shape [${shape}]: only reductions over the trailing axes (every kept axis of size > 1 before every reduced one) are supported`);
  const groupSize = sizeOf(reduced.map((i) => shape[i]));
  if (groupSize < 2) return ctx.issue(`attribute 'axes' = [${axes}] on shape [${shape}] normalizes groups of ${groupSize} element (every output 0)`);
  const n = sizeOf(shape);
  ctx.push({ kind: 'normalize', name: node.name, op: node.op, inputs: [ctx.current.name], output: node.outputs[0], inShape: shape, outShape: shape, groupSize, epsilon: 1e-18, gamma: new Float64Array(n).fill(1), beta: new Float64Array(n) });
}

function importLpNorm(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, ['axis', 'p']);
  const x = ctx.current;
  const shape = x.shape;
  const axis = normAxis(ctx, attrInt(node, ctx, 'axis', -1), shape.length);
  const p = attrInt(node, ctx, 'p', 2);
  if (p !== 1 && p !== 2) return ctx.issue(`attribute 'p' = ${p} is not supported (1 or 2)`);
  if (axis === undefined) return;
  const normShape = shape.map((d, i) => (i === axis ? 1 : d));
  const norm = `${node.outputs[0]}#norm`;
  ctx.push({ kind: 'reduce', name: `${node.name}#norm`, inputs: [x.name], output: norm, inShape: shape, outShape: normShape, fn: p === 1 ? 'l1' : 'l2', axes: [axis] });
  const shapeOut = broadcastShapes([shape, normShape])!;
  ctx.push({ kind: 'divide', name: node.name, inputs: [x.name, norm], output: node.outputs[0], inShape: shape, outShape: shapeOut, ia: broadcastIndex(shape, shapeOut), ib: broadcastIndex(normShape, shapeOut) });
}

/** Most rows (groups along an axis) an ArgMax, Hardmax or TopK is unrolled over. */
export const MAX_ROWS = 1024;

/**
 * The rows of `shape` along `axis` (flat indices of each, row-major over the other axes), or undefined after an
 * issue when there are more than MAX_ROWS.
 */
function rowsAlong(ctx: ImportContext, shape: number[], axis: number): number[][] | undefined {
  const rows = reduceGroups(shape, [axis]);
  if (rows.length > MAX_ROWS) {
    ctx.issue(`${rows.length} rows along axis ${axis} of shape [${shape}] (one ArgMax each) are above the ${MAX_ROWS} supported`);
    return undefined;
  }
  return rows;
}

/** Row r of x as its own [n] tensor (a gather, 0 constraints), or x itself when it is the only row. */
function rowTensor(ctx: ImportContext, x: Activation, rows: number[][], r: number, prefix: string): string {
  if (rows.length === 1) return x.name;
  const out = `${prefix}#row${r}`;
  ctx.push({ kind: 'gather', name: `${ctx.node.name}#row${r}`, inputs: [x.name], output: out, inShape: x.shape, outShape: [rows[r].length], index: Int32Array.from(rows[r]), padValue: 0 });
  return out;
}

/**
 * ArgMax of x along `axis`, row by row: a whole vector (every other dimension 1) is one 'argmax' layer; otherwise
 * each row is gathered (0) and gets its own ArgMax (n (B + 3) + 2 each), the indices gathered into `outShape`.
 * Used by ArgMax (src/ops/argmax.ts), ArgMin (src/ops/arith.ts, on -x) and Hardmax.
 */
export function pushArgMaxRows(ctx: ImportContext, x: Activation, axis: number, selectLast: boolean, output: string, outShape: number[], name = ctx.node.name): void {
  const rows = rowsAlong(ctx, x.shape, axis);
  if (!rows) return;
  if (rows.length === 1) {
    ctx.push({ kind: 'argmax', name, inputs: [x.name], output, inShape: x.shape, outShape, selectLast });
    return;
  }
  const idx = rows.map((_, r) => {
    const row = rowTensor(ctx, x, rows, r, output);
    const o = `${output}#idx${r}`;
    ctx.push({ kind: 'argmax', name: `${name}#argmax${r}`, inputs: [row], output: o, inShape: [rows[r].length], outShape: [1], selectLast });
    return o;
  });
  ctx.push({ kind: 'gather', name, inputs: idx, output, inShape: [1], outShape, index: Int32Array.from(idx, (_, r) => r), padValue: 0 });
}

function importHardmax(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, ['axis']);
  const x = ctx.current;
  const shape = x.shape;
  const axis = normAxis(ctx, attrInt(node, ctx, 'axis', ctx.opset < 13 ? 1 : -1), shape.length);
  if (axis === undefined) return;
  if (ctx.opset < 13 && shape.slice(axis + 1).some((d) => d !== 1)) return ctx.issue(`opset ${ctx.opset} Hardmax over the axes from ${axis} of shape [${shape}]: only a single axis (the ones after it of size 1) is supported`);
  const rows = rowsAlong(ctx, shape, axis);
  if (!rows) return;
  const D = shape[axis];
  const out = node.outputs[0];
  // Per row: ArgMax, then OneHot of the one index ([1, D], exact 0/1); the rows' one-hots routed back in place.
  const ohs = rows.map((_, r) => {
    const row = rowTensor(ctx, x, rows, r, out);
    const idx = `${out}#argmax${r}`;
    ctx.push({ kind: 'argmax', name: `${node.name}#argmax${r}`, inputs: [row], output: idx, inShape: rows.length === 1 ? shape : [D], outShape: [1], selectLast: false });
    const oh = `${out}#onehot${r}`;
    ctx.push({ kind: 'onehot', name: `${node.name}#onehot${r}`, inputs: [idx], output: oh, inShape: [1], outShape: [1, D], depth: D, axis: 1, off: 0, on: 1 });
    return oh;
  });
  const index = new Int32Array(sizeOf(shape));
  rows.forEach((g, r) => g.forEach((pos, i) => (index[pos] = r * D + i)));
  ctx.push({ kind: 'gather', name: node.name, inputs: ohs, output: out, inShape: [1, D], outShape: shape, index, padValue: 0 });
}

/** Largest k of a TopK (k rounds of ArgMax, each about n (B + 3) constraints). */
export const MAX_TOPK = 16;
/**
 * What a chosen element loses before the next round of TopK (in the input's units): it must exceed the spread of
 * the values (max - min), or a masked element could be chosen again. A larger mask costs argmax bits (B grows by 1
 * per doubling); 2^12 keeps B near 20 bits for a uint8 input with a step of 0.01.
 */
export const TOPK_MASK = 4096;

/**
 * TopK along an axis with a constant k, row by row (each row gathered, 0): per row, k rounds of
 *   idx_j = ArgMax(v_j) (first maximum: onnxruntime's lower index first among ties),
 *   oh_j = OneHot(idx_j),  value_j = sum_i oh_j[i] x[i] (n products),  v_{j+1} = v_j - TOPK_MASK * oh_j (linear),
 * v_0 = x (largest = 1) or -x (largest = 0, exact negation). Values and indices come in round order (sorted;
 * sorted = 0 allows any order, so the same output is valid), routed back in place. Cost per round: the argmax
 * (n (B + 3) + 2, B bits of the masked spread), the one-hot selector (n + 2) and n products.
 */
function importTopK(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, ['axis', 'largest', 'sorted', 'k']);
  const x = ctx.current;
  const shape = x.shape;
  let k: number;
  if (ctx.opset < 10) k = attrInt(node, ctx, 'k', 0);
  else {
    if (node.inputs[1] && ctx.activation(node.inputs[1])) return ctx.issue(`K ('${node.inputs[1]}') must be a constant (computed at run time is not supported)`);
    const kt = node.inputs[1] ? ctx.constant(node.inputs[1]) : undefined;
    if (!kt || kt.data.length !== 1) return ctx.issue(`K ('${node.inputs[1] ?? ''}') must be a constant holding one value`);
    k = kt.data[0];
  }
  const axis = normAxis(ctx, attrInt(node, ctx, 'axis', -1), shape.length);
  const largest = attrInt(node, ctx, 'largest', 1);
  if (largest !== 0 && largest !== 1) return ctx.issue(`attribute 'largest' = ${largest} must be 0 or 1`);
  if (axis === undefined) return;
  const n = shape[axis];
  if (!(Number.isInteger(k) && k >= 1 && k <= n)) return ctx.issue(`K = ${k} must be an integer from 1 to the axis size ${n}`);
  if (k > MAX_TOPK) return ctx.issue(`K = ${k} is above ${MAX_TOPK} (each of the K values costs an ArgMax round over ${n} values): not supported`);
  const rows = rowsAlong(ctx, shape, axis);
  if (!rows) return;
  const base = node.outputs[0] || node.outputs[1] || node.name;
  const ids = Array.from({ length: n }, (_, i) => i);
  const values: string[] = [];
  const indices: string[] = [];
  rows.forEach((_, r) => {
    const p = rows.length === 1 ? base : `${base}#r${r}`;
    const nm = rows.length === 1 ? node.name : `${node.name}#r${r}`;
    const xr = rowTensor(ctx, x, rows, r, base);
    const rowShape = rows.length === 1 ? shape : [n];
    let v = xr;
    if (!largest) {
      v = `${p}#neg`;
      ctx.push({ kind: 'neg', name: `${nm}#neg`, inputs: [xr], output: v, inShape: rowShape, outShape: rowShape });
    }
    for (let j = 0; j < k; j++) {
      const idx = `${p}#idx${j}`;
      const oh = `${p}#onehot${j}`;
      ctx.push({ kind: 'argmax', name: `${nm}#argmax${j}`, inputs: [v], output: idx, inShape: rowShape, outShape: [1], selectLast: false });
      ctx.push({ kind: 'onehot', name: `${nm}#onehot${j}`, inputs: [idx], output: oh, inShape: [1], outShape: [1, n], depth: n, axis: 1, off: 0, on: 1, integer: true });
      const val = `${p}#value${j}`;
      ctx.push({ kind: 'product', name: `${nm}#value${j}`, inputs: [oh, xr], output: val, inShape: [1, n], outShape: [1], k: n, ia: ids, ib: ids, coef: 1, linA: 0, linB: 0, bias: 0 });
      values.push(val);
      indices.push(idx);
      if (j + 1 < k) {
        const next = `${p}#masked${j}`;
        ctx.push({ kind: 'affine', name: `${nm}#mask${j}`, inputs: [v, oh], output: next, inShape: rowShape, outShape: rowShape, coefs: [new Float64Array(n).fill(1), new Float64Array(n).fill(-TOPK_MASK)], bias: new Float64Array(n) });
        v = next;
      }
    }
  });
  const outShape = shape.map((d, i) => (i === axis ? k : d));
  // Row r's j-th value is input r * k + j of the gathers below; its place in the output is row r of outShape at j.
  const index = new Int32Array(sizeOf(outShape));
  reduceGroups(outShape, [axis]).forEach((g, r) => g.forEach((pos, j) => (index[pos] = r * k + j)));
  if (node.outputs[0]) ctx.push({ kind: 'gather', name: node.name, inputs: values, output: node.outputs[0], inShape: [1], outShape, index, padValue: 0 });
  if (node.outputs[1]) ctx.push({ kind: 'gather', name: node.outputs[0] ? `${node.name}#indices` : node.name, inputs: indices, output: node.outputs[1], inShape: [1], outShape, index, padValue: 0 });
}

/** Largest group of a ReduceProd of an activation (n - 1 chained products per output). */
export const MAX_REDUCE_PROD = 8;

/**
 * ReduceProd of an activation: per output, the group's n values multiplied in order by n - 1 product layers
 * (src/ops/arith.ts: one constraint each, a wide accumulator requantized before the next product). Groups above
 * MAX_REDUCE_PROD are refused (the chain's requantizations compound). Of constants: folded (src/ops/fold.ts).
 */
function importReduceProd(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, ['axes', 'keepdims', 'noop_with_empty_axes']);
  const x = ctx.activation(node.inputs[0]);
  if (!x) return ctx.issue(`data '${node.inputs[0]}' must be an activation`);
  const shape = x.shape;
  let raw = reduceAxesAsWritten(node, ctx);
  if (!raw) return;
  if (!raw.length) {
    if (attrInt(node, ctx, 'noop_with_empty_axes', 0) === 1) return ctx.alias();
    raw = shape.map((_, i) => i);
  }
  const axes: number[] = [];
  for (const a of raw) {
    const ax = normAxis(ctx, a, shape.length, 'axes value');
    if (ax === undefined) return;
    if (!axes.includes(ax)) axes.push(ax);
  }
  axes.sort((p, q) => p - q);
  const keep = attrInt(node, ctx, 'keepdims', 1) === 1;
  let outShape = keep ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
  if (!outShape.length) outShape = [1];
  const groups = reduceGroups(shape, axes);
  const n = groups[0].length;
  if (n > MAX_REDUCE_PROD) return ctx.issue(`ReduceProd over groups of ${n} activations is not supported (at most ${MAX_REDUCE_PROD}: n - 1 chained products, each requantized)`);
  if (n === 1) return ctx.push({ kind: 'gather', name: node.name, inputs: [x.name], output: node.outputs[0], inShape: shape, outShape, index: Int32Array.from(groups.map((g) => g[0])), padValue: 0 });
  const m = groups.length;
  const ident = Array.from({ length: m }, (_, i) => i);
  let prev = x.name;
  for (let t = 1; t < n; t++) {
    const last = t === n - 1;
    const out = last ? node.outputs[0] : `${node.outputs[0]}#prod${t}`;
    ctx.push({
      kind: 'product', name: last ? node.name : `${node.name}#prod${t}`, inputs: [prev, x.name], output: out, inShape: t === 1 ? shape : outShape, outShape,
      k: 1, ia: t === 1 ? groups.map((g) => g[0]) : ident, ib: groups.map((g) => g[t]), coef: 1, linA: 0, linB: 0, bias: 0,
    });
    prev = out;
  }
}

/** EyeLike of an activation: the result depends on its shape only, a constant (k, dtype as ONNX). */
function importEyeLike(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, ['dtype', 'k']);
  const shape = ctx.current.shape;
  if (shape.length !== 2) return ctx.issue(`the input must be 2-D, got [${shape}]`);
  const k = attrInt(node, ctx, 'k', 0);
  const [R, C] = shape;
  const data = new Float64Array(R * C);
  for (let i = 0; i < R; i++) if (i + k >= 0 && i + k < C) data[i * C + i + k] = 1;
  const out = node.outputs[0];
  ctx.setConstant(out, { name: out, dims: [R, C], dataType: attrInt(node, ctx, 'dtype', 1), data });
}

export const compositeImporters: OpImporter[] = [
  { onnxOps: ['ReduceProd'], importNode: importReduceProd },
  { onnxOps: ['EyeLike'], importNode: importEyeLike },
  { onnxOps: ['TopK'], importNode: importTopK },
  { onnxOps: ['Sum', 'Mean'], importNode: importSumMean },
  { onnxOps: ['CastLike'], importNode: importCastLike },
  { onnxOps: ['IsNaN', 'IsInf'], importNode: importIsNanInf },
  { onnxOps: ['Compress'], importNode: importCompress },
  { onnxOps: ['ReverseSequence'], importNode: importReverseSequence },
  { onnxOps: ['MeanVarianceNormalization'], importNode: importMVN },
  { onnxOps: ['LpNormalization'], importNode: importLpNorm },
  { onnxOps: ['Hardmax'], importNode: importHardmax },
];
