/**
 * Products of two activations, comparisons, logic and selection, Max/Min of tensors, ReduceMax/ReduceMin.
 *
 * - product: Mul of two activations (numpy broadcasting), Pow with exponent 2 or 3 (two products), MatMul of two activations
 *   ([.., M, K] x [.., K, N], batch dims broadcast), And/Or/Xor on 0/1 values. One constraint per product
 *   ((a - za) * (b - zb) is a single R1CS row even when a and b are linear combinations); sums are free. The
 *   output is an accumulator with scale s_a * s_b and exact interval bounds. Inputs stay accumulators when
 *   they have no pending clamp and moderate bounds (an exact product, no requantization), else uint8.
 * - compare: Greater, Less, Equal, GreaterOrEqual, LessOrEqual. An integer difference d whose sign (or
 *   zero-ness) is the result: d >= 0 by one range check of d + 2^B (circuits/arith.circom GeZero, B + 2
 *   constraints), d == 0 by an inverse (EqZero, 2 constraints). Two activations with different scales are
 *   compared exactly (the decision is that of the dequantized reals n_a s_a vs n_b s_b, Equal included): each
 *   scale is a dyadic rational, so s_a / s_b = A / B exactly, and the multipliers are the convergent of A / B
 *   that decides every comparison identically over the inputs' integer ranges (decidingRatio: ~2 log2 N bits
 *   instead of ~53; decimal strings, as they may pass 2^53). A constant threshold t is placed on the input's
 *   integer grid: x > t <=> n >= floor(t/s) + 1, x >= t <=> n >= ceil(t/s), and so on (t/s within float32
 *   rounding of an integer, at most 1e-4, is that integer: the grid point is the threshold), so the decision
 *   equals the float comparison of the dequantized value for every grid value. For a uint8 input the boundary is
 *   found on the grid's float32 values themselves (u8GridConstant: exact as onnxruntime on all 256 values, also for a
 *   threshold a few ulps off a grid point). A threshold read from a constant table at a variable index
 *   (hummingbird's tree traversal: Gather(thresholds, node ids)) becomes a Gather of the table of those grid
 *   constants, an exact integer lookup (its one-hot selector proves the index in range; src/quantize shares it
 *   with the other Gathers at that index), and d = +-(x - zx) + C. Output: 0/1 integers (scale 1).
 * - Not: 1 - x (an affine layer); Where(c, a, b) = B + c * (A - B), one product per element (0 when a and b
 *   are constants), A and B brought to one scale by integer multipliers (as an affine Add). Two integer
 *   constants (or exact integers) give exact integers, scale 1: node ids a later Gather accepts as indices.
 * - divide: Div of two activations (broadcasting), an exact rounded integer division (circuits/arith.circom
 *   DivRound): with n = K (a - za) (K puts the quotient on a grid of 2^-12 of the calibrated output range) and
 *   d = b - zb, q = round-half-up(n / d) from 2 n sign(d) + |d| = q * 2|d| + r, 0 <= r < 2|d|, q range-checked,
 *   d != 0 proven by its inverse (no witness exists for a zero divisor). 3 Bd + Bq + 13 constraints, or
 *   2 Bd + Bq + 9 when the divisor's bounds fix its sign. Pow 0.5 / -1 and constant / activation use the Sqrt
 *   and Reciprocal tables of src/ops/lut.ts.
 * - minmax: Max/Min of tensors (n-ary, broadcasting, constants), Clip with tensor bounds, ReduceMax/ReduceMin:
 *   a tournament of Max2/Min2 (circuits/max.circom, B + 3 constraints per comparison, B the bits of the
 *   operands' difference bound). Candidates with different scales are aligned by integer multipliers
 *   (src/ops/argmax.ts alignScales: each moves by at most 2^-bits of the group's range; exact for one scale).
 */
import type {
  ArithFloatLayer, ArithQLayer, CompareLayer, CompareOp, DivideLayer, MinMaxLayer, ProductLayer, QCompare, QDivide, QMinMax, QProduct, QSelect, SelectLayer,
} from '../ir/layers/arith.ts';
import type { AccQuant, AffineLayer } from '../ir/types.ts';
import type { LookupLayer } from '../ir/layers/movement.ts';
import { sizeOf } from '../ir/types.ts';
import type { OnnxNode, OnnxTensor } from '../onnx/load.ts';
import { affineScale } from './affine.ts';
import { alignScales } from './argmax.ts';
import { pushArgMaxRows } from './composite.ts';
import { attrInt, checkKnownAttrs } from './attrs.ts';
import { emitLinearRow, MAX_ACC, type Term } from './linear.ts';
import type { Activation, FloatLayerDef, ImportContext, OpImporter, QLayerDef, QState, QuantizeContext } from './types.ts';
import { bitsFor } from './types.ts';
import { lookupRows } from './movement.ts';

// ---------------------------------------------------------------------------------------------------------
// Shapes

/** numpy broadcast of shapes, or null when they do not broadcast. */
export function broadcastShapes(shapes: number[][]): number[] | null {
  const r = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let d = 0; d < r; d++) {
    let v = 1;
    for (const s of shapes) {
      const e = s[s.length - r + d] ?? 1;
      if (e === 1) continue;
      if (v !== 1 && v !== e) return null;
      v = e;
    }
    out.push(v);
  }
  return out;
}

/** For each element of `to`, the flat index of the element of `from` it reads (numpy broadcasting). */
export function broadcastIndex(from: number[], to: number[]): number[] {
  const n = sizeOf(to);
  const off = to.length - from.length;
  const strides = from.map((_, i) => sizeOf(from.slice(i + 1)));
  const out = new Array<number>(n);
  for (let o = 0; o < n; o++) {
    let rem = o;
    let src = 0;
    for (let d = 0; d < to.length; d++) {
      const sz = sizeOf(to.slice(d + 1));
      const coord = Math.floor(rem / sz);
      rem -= coord * sz;
      const fd = d - off;
      if (fd >= 0 && from[fd] !== 1) src += coord * strides[fd];
    }
    out[o] = src;
  }
  return out;
}

type Operand = { act: Activation } | { c: OnnxTensor };

function operand(ctx: ImportContext, name: string): Operand | undefined {
  const act = ctx.activation(name);
  if (act) return { act };
  const c = ctx.constant(name);
  return c ? { c } : undefined;
}

const shapeOf = (o: Operand) => ('act' in o ? o.act.shape : o.c.dims);
const outShapeOf = (s: number[]) => (s.length ? s : [1]);

// ---------------------------------------------------------------------------------------------------------
// Importers

/** Mul of two activations (called by src/ops/affine.ts): elementwise product with broadcasting. */
export function importProduct(node: OnnxNode, ctx: ImportContext, a: Activation, b: Activation, lin: { coef: number; linA: number; linB: number } = { coef: 1, linA: 0, linB: 0 }): void {
  const shape = broadcastShapes([a.shape, b.shape]);
  if (!shape) return ctx.issue(`shapes [${a.shape}] and [${b.shape}] do not broadcast`);
  ctx.push({
    kind: 'product', name: node.name, inputs: [a.name, b.name], output: node.outputs[0], inShape: a.shape, outShape: outShapeOf(shape),
    k: 1, ia: broadcastIndex(a.shape, shape), ib: broadcastIndex(b.shape, shape), ...lin, bias: 0,
  });
}

/** Div of two activations (called by src/ops/affine.ts): exact rounded integer division, with broadcasting. */
export function importDivide(node: OnnxNode, ctx: ImportContext, a: Activation, b: Activation): void {
  const shape = broadcastShapes([a.shape, b.shape]);
  if (!shape) return ctx.issue(`shapes [${a.shape}] and [${b.shape}] do not broadcast`);
  ctx.push({ kind: 'divide', name: node.name, inputs: [a.name, b.name], output: node.outputs[0], inShape: a.shape, outShape: outShapeOf(shape), ia: broadcastIndex(a.shape, shape), ib: broadcastIndex(b.shape, shape) });
}

/** MatMul of two activations (called by src/ops/dense.ts): [.., M, K] x [.., K, N], batch dims broadcast. */
export function importMatMulProduct(node: OnnxNode, ctx: ImportContext, a: Activation, b: Activation): void {
  let as = a.shape;
  let bs = b.shape;
  const aVec = as.length === 1;
  const bVec = bs.length === 1;
  if (aVec) as = [1, as[0]];
  if (bVec) bs = [bs[0], 1];
  if (as.length < 2 || bs.length < 2) return ctx.issue(`MatMul needs inputs of rank >= 1, got [${a.shape}] and [${b.shape}]`);
  const [M, K] = as.slice(-2);
  const [K2, N] = bs.slice(-2);
  if (K !== K2) return ctx.issue(`A has ${K} columns but B has ${K2} rows ([${a.shape}] x [${b.shape}])`);
  const batch = broadcastShapes([as.slice(0, -2), bs.slice(0, -2)]);
  if (!batch) return ctx.issue(`batch dimensions of [${a.shape}] and [${b.shape}] do not broadcast`);
  const nb = sizeOf(batch);
  const aBatch = broadcastIndex(as.slice(0, -2), batch);
  const bBatch = broadcastIndex(bs.slice(0, -2), batch);
  const ia: number[] = [];
  const ib: number[] = [];
  for (let t = 0; t < nb; t++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < K; k++) {
          ia.push(aBatch[t] * M * K + m * K + k);
          ib.push(bBatch[t] * K * N + k * N + n);
        }
      }
    }
  }
  let outShape = [...batch, M, N];
  if (aVec) outShape = [...batch, N];
  if (bVec) outShape = aVec ? [...batch] : [...batch, M];
  ctx.push({
    kind: 'product', name: node.name, inputs: [a.name, b.name], output: node.outputs[0], inShape: a.shape, outShape: outShapeOf(outShape),
    k: K, ia, ib, coef: 1, linA: 0, linB: 0, bias: 0,
  });
}

function importPow(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, []);
  const x = ctx.activation(node.inputs[0]);
  if (!x) return ctx.issue('the base must be an activation (a constant base with an activation exponent is not supported)');
  const e = ctx.constant(node.inputs[1]);
  if (!e || e.data.length !== 1) return ctx.issue(`the exponent ('${node.inputs[1]}') must be a constant scalar`);
  const p = e.data[0];
  if (p === 1) return ctx.alias();
  // 0.5 and -1: the Sqrt and Reciprocal tables (src/ops/lut.ts).
  if (p === 0.5 || p === -1) {
    return ctx.push({ kind: 'lut', name: node.name, inputs: [x.name], output: node.outputs[0], inShape: x.shape, outShape: x.shape, fn: p === 0.5 ? 'sqrt' : 'reciprocal', alpha: 0 });
  }
  if (p !== 2 && p !== 3) return ctx.issue(`exponent ${p} is not supported (only 1, 2 and 3: products of the input with itself; 0.5 and -1: tables)`);
  const n = sizeOf(x.shape);
  const idx = Array.from({ length: n }, (_, i) => i);
  const base = { inShape: x.shape, outShape: x.shape, k: 1, ia: idx, ib: idx, coef: 1, linA: 0, linB: 0, bias: 0 } as const;
  ctx.push({ kind: 'product', name: node.name, inputs: [x.name, x.name], output: node.outputs[0], ...base, ...(p === 3 ? { cube: true } : {}) });
}

const COMPARE_OPS: Record<string, CompareOp> = { Greater: 'gt', GreaterOrEqual: 'ge', Less: 'lt', LessOrEqual: 'le', Equal: 'eq' };
const FLIP: Record<CompareOp, CompareOp> = { gt: 'lt', ge: 'le', lt: 'gt', le: 'ge', eq: 'eq' };

function importCompare(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, []);
  if (node.inputs.length !== 2) return ctx.issue('expects two inputs');
  const ops = node.inputs.map((n) => operand(ctx, n));
  if (ops.some((o) => !o)) return ctx.issue('inputs must be activations or constants');
  let [x, y] = ops as Operand[];
  let op = COMPARE_OPS[node.op];
  if (!('act' in x)) {
    [x, y] = [y, x];
    op = FLIP[op];
  }
  if (!('act' in x)) return ctx.issue('computes on constants only');
  const shape = broadcastShapes([shapeOf(x), shapeOf(y)]);
  if (!shape) return ctx.issue(`shapes [${shapeOf(x)}] and [${shapeOf(y)}] do not broadcast`);
  // A threshold read from a constant table at a variable index (hummingbird's tree traversal): compared with the
  // table's entries placed on x's grid, selected by the index (exact, as for a constant threshold).
  if (op !== 'eq' && 'act' in y && !thresholdLookup(ctx, y.act.name) && thresholdLookup(ctx, x.act.name)) {
    [x, y] = [y, x];
    op = FLIP[op];
  }
  const base = { kind: 'compare' as const, name: node.name, output: node.outputs[0], inShape: x.act.shape, outShape: outShapeOf(shape), op, ia: broadcastIndex(x.act.shape, shape) };
  const tl = op !== 'eq' && 'act' in y ? thresholdLookup(ctx, y.act.name) : undefined;
  if (tl && 'act' in y) {
    return ctx.push({
      ...base, inputs: [x.act.name, tl.inputs[0]], ib: broadcastIndex(y.act.shape, shape),
      thrTable: { table: tl.table!, axis: tl.axis, dataShape: tl.dataShape, idxShape: tl.inShape },
    });
  }
  if ('act' in y) return ctx.push({ ...base, inputs: [x.act.name, y.act.name], ib: broadcastIndex(y.act.shape, shape) });
  const c = y.c;
  ctx.push({ ...base, inputs: [x.act.name], ib: [], threshold: broadcastIndex(c.dims, shape).map((i) => c.data[i]) });
}

/** The Gather of a constant table at a variable index that computes `tensor` (through reshapes), if any. */
function thresholdLookup(ctx: ImportContext, tensor: string): LookupLayer | undefined {
  let l = ctx.layerOf(tensor);
  for (let hops = 0; l && l.kind === 'reshape' && hops < 8; hops++) l = ctx.layerOf(l.inputs[0]);
  return l && l.kind === 'lookup' && l.table && !l.strides && l.table.every((v) => Number.isFinite(v)) ? l : undefined;
}

function importLogic(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, []);
  if (node.op === 'Not') {
    const x = ctx.current;
    const n = sizeOf(x.shape);
    const layer: AffineLayer = { kind: 'affine', name: node.name, inputs: [x.name], output: node.outputs[0], inShape: x.shape, outShape: x.shape, coefs: [new Float64Array(n).fill(-1)], bias: new Float64Array(n).fill(1) };
    return ctx.push(layer);
  }
  const [a, b] = node.inputs.map((n) => ctx.activation(n));
  if (!a || !b) return ctx.issue(`${node.op} with a constant input is not supported (both inputs must be computed booleans)`);
  const lin = node.op === 'And' ? { coef: 1, linA: 0, linB: 0 } : node.op === 'Or' ? { coef: -1, linA: 1, linB: 1 } : { coef: -2, linA: 1, linB: 1 };
  importProduct(node, ctx, a, b, lin);
}

function importWhere(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, []);
  if (node.inputs.length !== 3) return ctx.issue('expects three inputs');
  const [c, a, b] = node.inputs.map((n) => operand(ctx, n));
  if (!c || !a || !b) return ctx.issue('inputs must be activations or constants');
  if (!('act' in c)) return ctx.issue('a constant condition is not supported (fold it first)');
  const shape = broadcastShapes([shapeOf(c), shapeOf(a), shapeOf(b)]);
  if (!shape) return ctx.issue(`shapes [${shapeOf(c)}], [${shapeOf(a)}] and [${shapeOf(b)}] do not broadcast`);
  const inputs = [c.act.name];
  const idx = (o: Operand) => ('act' in o ? broadcastIndex(o.act.shape, shape) : []);
  const konst = (o: Operand) => ('c' in o ? broadcastIndex(o.c.dims, shape).map((i) => o.c.data[i]) : undefined);
  if ('act' in a) inputs.push(a.act.name);
  if ('act' in b) inputs.push(b.act.name);
  ctx.push({
    kind: 'select', name: node.name, inputs, output: node.outputs[0], inShape: c.act.shape, outShape: outShapeOf(shape),
    ic: broadcastIndex(c.act.shape, shape), ia: idx(a), ib: idx(b), aConst: konst(a), bConst: konst(b),
  });
}

/** A max/min layer over operands broadcast together: group i holds element i of each operand. */
function minmaxOf(name: string, output: string, ops: Operand[], max: boolean): MinMaxLayer | string {
  const shape = broadcastShapes(ops.map(shapeOf));
  if (!shape) return `shapes ${ops.map((o) => `[${shapeOf(o)}]`).join(', ')} do not broadcast`;
  const acts: string[] = [];
  const consts: number[] = [];
  const cols = ops.map((o) => {
    if ('act' in o) {
      let k = acts.indexOf(o.act.name);
      if (k < 0) k = acts.push(o.act.name) - 1;
      return broadcastIndex(o.act.shape, shape).map((i) => [k, i]);
    }
    return broadcastIndex(o.c.dims, shape).map((i) => [-1, consts.push(o.c.data[i]) - 1]);
  });
  if (!acts.length) return 'computes on constants only';
  const n = sizeOf(shape);
  const refs: number[] = [];
  for (let i = 0; i < n; i++) for (const col of cols) refs.push(...col[i]);
  const first = ops.find((o) => 'act' in o) as { act: Activation };
  return { kind: 'minmax', name, inputs: acts, output, inShape: first.act.shape, outShape: outShapeOf(shape), max, g: ops.length, refs, consts };
}

function importMinMax(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, []);
  const ops = node.inputs.filter(Boolean).map((n) => operand(ctx, n));
  if (ops.some((o) => !o)) return ctx.issue('inputs must be activations or constants');
  if (ops.length === 1) return ctx.alias();
  const l = minmaxOf(node.name, node.outputs[0], ops as Operand[], node.op === 'Max');
  if (typeof l === 'string') return ctx.issue(l);
  ctx.push(l);
}

/**
 * Clip whose min or max is an activation (called by src/ops/clip.ts): one minmax layer, min(max(x, lo), hi)
 * (candidates [x, lo, hi]), or a Max (Min) of two when only min (max) is given.
 */
export function importClipTensor(node: OnnxNode, ctx: ImportContext): void {
  const x = ctx.activation(node.inputs[0]);
  if (!x) return ctx.issue('the input must be an activation');
  const lo = node.inputs[1] ? operand(ctx, node.inputs[1]) : undefined;
  const hi = node.inputs[2] ? operand(ctx, node.inputs[2]) : undefined;
  if ((node.inputs[1] && !lo) || (node.inputs[2] && !hi)) return ctx.issue('min and max must be activations or constants');
  const ops = [{ act: x }, ...(lo ? [lo] : []), ...(hi ? [hi] : [])];
  if (ops.length === 1) return ctx.alias();
  const l = minmaxOf(node.name, node.outputs[0], ops, !hi);
  if (typeof l === 'string') return ctx.issue(l);
  if (lo && hi) l.clip = true;
  ctx.push(l);
}

function importReduce(node: OnnxNode, ctx: ImportContext): void {
  const axesAttr = ctx.opset < 18;
  checkKnownAttrs(node, ctx, axesAttr ? ['axes', 'keepdims'] : ['keepdims', 'noop_with_empty_axes']);
  const x = ctx.current;
  const shape = x.shape;
  let axes: number[] = [];
  if (axesAttr) {
    const a = node.attrs.get('axes');
    if (a) {
      if (a.type !== 'ints') return ctx.issue(`attribute 'axes' should be ints, got ${a.type}`);
      axes = [...a.value];
    }
  } else if (node.inputs[1]) {
    const c = ctx.constant(node.inputs[1]);
    if (!c) return ctx.issue(`axes ('${node.inputs[1]}') must be a constant`);
    axes = Array.from(c.data);
  }
  const keep = attrInt(node, ctx, 'keepdims', 1) === 1;
  if (!axes.length) {
    if (!axesAttr && attrInt(node, ctx, 'noop_with_empty_axes', 0) === 1) return ctx.alias();
    axes = shape.map((_, i) => i);
  }
  axes = axes.map((a) => (a < 0 ? a + shape.length : a));
  if (axes.some((a) => a < 0 || a >= shape.length)) return ctx.issue(`axes [${axes}] out of range for shape [${shape}]`);
  const red = new Set(axes);
  const outDims = shape.map((d, i) => (red.has(i) ? 1 : d));
  const redDims = shape.map((d, i) => (red.has(i) ? d : 1));
  const strides = shape.map((_, i) => sizeOf(shape.slice(i + 1)));
  const coords = (flat: number, dims: number[]) => dims.map((_, i) => Math.floor(flat / sizeOf(dims.slice(i + 1))) % dims[i]);
  const n = sizeOf(outDims);
  const g = sizeOf(redDims);
  const refs: number[] = [];
  for (let o = 0; o < n; o++) {
    const oc = coords(o, outDims);
    for (let r = 0; r < g; r++) {
      const rc = coords(r, redDims);
      refs.push(0, oc.reduce((s, c, i) => s + (c + rc[i]) * strides[i], 0));
    }
  }
  const outShape = keep ? outDims : shape.filter((_, i) => !red.has(i));
  ctx.push({ kind: 'minmax', name: node.name, inputs: [x.name], output: node.outputs[0], inShape: shape, outShape: outShapeOf(outShape), max: node.op === 'ReduceMax', g, refs, consts: [] });
}

/**
 * ArgMin: the ArgMax (src/ops/argmax.ts) of -x, an internal affine negation (0 constraints). The first (last)
 * minimum of x is the first (last) maximum of -x, so select_last_index carries over.
 */
function importArgMin(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, ['axis', 'keepdims', 'select_last_index']);
  const x = ctx.current;
  const shape = x.shape;
  let axis = attrInt(node, ctx, 'axis', 0);
  if (axis < 0) axis += shape.length;
  if (axis < 0 || axis >= shape.length) return ctx.issue(`axis out of range for shape [${shape}]`);
  const keep = attrInt(node, ctx, 'keepdims', 1);
  const outShape = keep ? shape.map((d, i) => (i === axis ? 1 : d)) : shape.filter((_, i) => i !== axis);
  const n = sizeOf(shape);
  const neg = `${node.outputs[0]}#neg`;
  ctx.push({ kind: 'affine', name: `${node.name}#neg`, inputs: [x.name], output: neg, inShape: shape, outShape: shape, coefs: [new Float64Array(n).fill(-1)], bias: new Float64Array(n) });
  // One ArgMax per row when other dimensions are > 1 (src/ops/composite.ts).
  pushArgMaxRows(ctx, { name: neg, shape }, axis, attrInt(node, ctx, 'select_last_index', 0) === 1, node.outputs[0], outShape.length ? outShape : [1]);
}

export const arithImporters: OpImporter[] = [
  { onnxOps: ['ArgMin'], importNode: importArgMin },
  { onnxOps: ['Pow'], importNode: importPow },
  { onnxOps: Object.keys(COMPARE_OPS), importNode: importCompare },
  { onnxOps: ['Not', 'And', 'Or', 'Xor'], importNode: importLogic },
  { onnxOps: ['Where'], importNode: importWhere },
  { onnxOps: ['Max', 'Min'], importNode: importMinMax },
  { onnxOps: ['ReduceMax', 'ReduceMin'], importNode: importReduce },
];

// ---------------------------------------------------------------------------------------------------------
// Integer views of inputs

/** How a quantized input reads as integers: real[i] = (x[i] - z) * scale(i), x[i] - z in [lo(i), hi(i)]. */
interface View {
  s: QState;
  z: number;
  scale(i: number): number;
  lo(i: number): number;
  hi(i: number): number;
}

function viewOf(s: QState): View {
  const q = s.quant;
  return q.kind === 'u8'
    ? { s, z: q.zeroPoint, scale: () => q.scale, lo: () => -q.zeroPoint, hi: () => 255 - q.zeroPoint }
    : { s, z: 0, scale: (i) => q.scales[i], lo: (i) => q.lo[i], hi: (i) => q.hi[i] };
}

/** An accumulator this wide is requantized before a product or comparison (bounds stay below 2^50). */
const MAX_ACC_FACTOR = 2 ** 24;

/** Input k: an accumulator with moderate bounds (and one scale when `uniform`) stays one; else uint8. */
function inputView(ctx: QuantizeContext, k: number, uniform = false): View {
  const s = ctx.settle(k);
  if (s.quant.kind === 'acc') {
    const q = s.quant;
    const wide = q.lo.some((v) => !(v >= -MAX_ACC_FACTOR)) || q.hi.some((v) => !(v <= MAX_ACC_FACTOR));
    if (!wide && (!uniform || q.scales.every((sc) => sc === q.scales[0]))) return viewOf(s);
  }
  return viewOf(ctx.ensureU8(k));
}

/** True when input k is an exact 0/1 integer tensor (a comparison or logic result). */
function isBoolean(s: QState): boolean {
  const q = s.quant;
  return q.kind === 'acc' && !s.clamp && q.scales.every((v) => v === 1) && q.lo.every((v) => v >= 0) && q.hi.every((v) => v <= 1);
}

// ---------------------------------------------------------------------------------------------------------
// product

/** Exact bounds of bias + la*a + lb*b + c*a*b over a in [a0, a1], b in [b0, b1] (same: b = a). */
function bilinearBounds(a0: number, a1: number, b0: number, b1: number, same: boolean, c: number, la: number, lb: number, bias: number): [number, number] {
  const f = (a: number, b: number) => bias + la * a + lb * b + c * a * b;
  let pts: number[];
  if (same) {
    const g = (x: number) => f(x, x);
    pts = [g(a0), g(a1)];
    if (c !== 0) {
      const v = -(la + lb) / (2 * c);
      for (const x of [Math.floor(v), Math.ceil(v)]) if (x >= a0 && x <= a1) pts.push(g(x));
    }
  } else {
    pts = [f(a0, b0), f(a0, b1), f(a1, b0), f(a1, b1)];
  }
  return [Math.min(...pts), Math.max(...pts)];
}

function productQuant(l: ProductLayer, va: View, vb: View, same: boolean): AccQuant {
  const n = sizeOf(l.outShape);
  const out: AccQuant = { kind: 'acc', scales: [], lo: [], hi: [] };
  for (let i = 0; i < n; i++) {
    if (l.cube) {
      // x^3 is increasing.
      const a = l.ia[i];
      out.scales.push(va.scale(a) ** 3);
      out.lo.push(va.lo(a) ** 3);
      out.hi.push(va.hi(a) ** 3);
      continue;
    }
    let lo = l.bias;
    let hi = l.bias;
    for (let t = 0; t < l.k; t++) {
      const a = l.ia[i * l.k + t];
      const b = l.ib[i * l.k + t];
      const first = t === 0;
      const [x, y] = bilinearBounds(va.lo(a), va.hi(a), vb.lo(b), vb.hi(b), same && a === b, l.coef, first ? l.linA : 0, first ? l.linB : 0, 0);
      lo += x;
      hi += y;
    }
    out.scales.push(va.scale(l.ia[i * l.k]) * vb.scale(l.ib[i * l.k]));
    out.lo.push(lo);
    out.hi.push(hi);
  }
  return out;
}

const withinAcc = (q: AccQuant) => q.lo.every((v) => v >= -MAX_ACC) && q.hi.every((v) => v <= MAX_ACC);

export const productFloat: FloatLayerDef<ProductLayer> = {
  forward(l, [a, b]) {
    const n = sizeOf(l.outShape);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let t = 0; t < l.k; t++) s += a[l.ia[i * l.k + t]] * b[l.ib[i * l.k + t]];
      if (l.cube) s *= a[l.ia[i]];
      y[i] = l.bias + l.linA * a[l.ia[i * l.k]] + l.linB * b[l.ib[i * l.k]] + l.coef * s;
    }
    return y;
  },
  quantize(l, ctx) {
    const same = l.inputs[0] === l.inputs[1];
    const logic = l.linA !== 0 || l.linB !== 0 || l.bias !== 0 || l.coef !== 1;
    if (logic) {
      if (!isBoolean(ctx.input(0)) || !isBoolean(ctx.input(1))) return ctx.issue('And/Or/Xor need 0/1 inputs computed by a comparison or another logic op');
      const va = viewOf(ctx.input(0));
      const vb = viewOf(ctx.input(1));
      return pushProduct(l, ctx, va, vb, productQuant(l, va, vb, same));
    }
    // A sum of products is exact only when every term has the same scale: one scale per input then.
    let va = inputView(ctx, 0, l.k > 1);
    let vb = same ? va : inputView(ctx, 1, l.k > 1);
    let q = productQuant(l, va, vb, same);
    if (!withinAcc(q)) {
      va = viewOf(ctx.ensureU8(0));
      vb = same ? va : viewOf(ctx.ensureU8(1));
      q = productQuant(l, va, vb, same);
      if (!withinAcc(q)) return ctx.issue(`the products can reach 2^50 (K = ${l.k})`);
    }
    pushProduct(l, ctx, va, vb, q);
  },
};

function pushProduct(l: ProductLayer, ctx: QuantizeContext, va: View, vb: View, outQuant: AccQuant): void {
  const fix = (v: View, idx: number[]) => idx.map((e) => (v.lo(e) === v.hi(e) ? v.lo(e) : null));
  const fixedA = fix(va, l.ia);
  const fixedB = fix(vb, l.ib);
  const any = fixedA.some((f) => f !== null) || fixedB.some((f) => f !== null);
  ctx.push({
    ...(any ? { fixedA, fixedB } : {}),
    kind: 'product', name: l.name, inputs: [va.s.tensor, vb.s.tensor], output: l.output, inShape: va.s.shape, outShape: l.outShape,
    k: l.k, ia: l.ia, ib: l.ib, za: va.z, zb: vb.z, coef: l.coef, linA: l.linA, linB: l.linB, bias: l.bias, ...(l.cube ? { cube: true } : {}), outQuant,
  });
}

/** `(e - z)`, or e when z = 0. */
const minus = (e: string, z: number | bigint) => (z == 0 ? e : `(${e} - ${z})`);

export const productQ: QLayerDef<QProduct> = {
  reference(l, [a, b]) {
    const n = l.outQuant.lo.length;
    const y = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let t = 0; t < l.k; t++) s += (a[l.ia[i * l.k + t]] - l.za) * (b[l.ib[i * l.k + t]] - l.zb);
      if (l.cube) s *= a[l.ia[i]] - l.za;
      y[i] = l.bias + l.linA * (a[l.ia[i * l.k]] - l.za) + l.linB * (b[l.ib[i * l.k]] - l.zb) + l.coef * s;
    }
    return y;
  },
  emit(l, [a, b], w) {
    const n = l.outQuant.lo.length;
    const v = w.fresh('prod');
    w.include('arith.circom');
    const fa = (j: number) => l.fixedA?.[j] ?? null;
    const fb = (j: number) => l.fixedB?.[j] ?? null;
    const linear = (j: number) => fa(j) !== null || fb(j) !== null;
    // Slot of each product term among the signals (terms with a fixed factor are linear).
    const slot: number[] = [];
    let nVar = 0;
    for (let j = 0; j < n * l.k; j++) slot.push(linear(j) ? -1 : nVar++);
    if (l.cube) {
      w.line(`// ${l.name}: cubes (2 products each)`);
      // A component's outputs are read only once all its inputs are assigned: squares, then cubes.
      if (nVar) {
        w.line(`component ${v}_sq = ArithSignals(${nVar});`);
        w.line(`component ${v} = ArithSignals(${nVar});`);
      }
      for (let i = 0; i < n; i++) if (slot[i] >= 0) w.line(`${v}_sq.in[${slot[i]}] <== ${minus(a[l.ia[i]], l.za)} * ${minus(a[l.ia[i]], l.za)};`);
      for (let i = 0; i < n; i++) if (slot[i] >= 0) w.line(`${v}.in[${slot[i]}] <== ${v}_sq.out[${slot[i]}] * ${minus(a[l.ia[i]], l.za)};`);
      return Array.from({ length: n }, (_, i) => (slot[i] >= 0 ? `${v}.out[${slot[i]}]` : String(fa(i)! ** 3)));
    }
    w.line(`// ${l.name}: ${nVar} products of two activations (1 constraint each)`);
    if (nVar) w.line(`component ${v} = ArithSignals(${nVar});`);
    w.line(`var ${v}_o[${n}];`);
    for (let j = 0; j < n * l.k; j++) if (slot[j] >= 0) w.line(`${v}.in[${slot[j]}] <== ${minus(a[l.ia[j]], l.za)} * ${minus(b[l.ib[j]], l.zb)};`);
    return Array.from({ length: n }, (_, i) => {
      const terms: Term[] = [];
      let c0 = 0;
      for (let t = 0; t < l.k; t++) {
        const j = i * l.k + t;
        if (slot[j] >= 0) terms.push([l.coef, `${v}.out[${slot[j]}]`]);
        else if (fa(j) !== null && fb(j) !== null) c0 += l.coef * fa(j)! * fb(j)!;
        else if (fa(j) !== null) (terms.push([l.coef * fa(j)!, b[l.ib[j]]]), (c0 -= l.coef * fa(j)! * l.zb));
        else (terms.push([l.coef * fb(j)!, a[l.ia[j]]]), (c0 -= l.coef * fb(j)! * l.za));
      }
      if (l.linA) terms.push([l.linA, a[l.ia[i * l.k]]]);
      if (l.linB) terms.push([l.linB, b[l.ib[i * l.k]]]);
      return emitLinearRow(w, `${v}_o[${i}]`, c0 + l.bias - l.linA * l.za - l.linB * l.zb, terms);
    });
  },
  constraints: (l) => {
    const terms = l.outQuant.lo.length * (l.cube ? 1 : l.k);
    let fixed = 0;
    for (let j = 0; j < terms; j++) if ((l.fixedA?.[j] ?? null) !== null || (l.fixedB?.[j] ?? null) !== null) fixed++;
    return (terms - fixed) * (l.cube ? 2 : 1);
  },
  costFormula: '1 per product: n (elementwise Mul, Pow 2, And/Or/Xor), 2n (Pow 3), M * N * K per batch (MatMul); 0 for a term with a factor fixed by its bounds',
  bitsSummary(l) {
    const m = Math.max(...l.outQuant.lo.map(Math.abs), ...l.outQuant.hi.map(Math.abs));
    return `K ${l.k}, |out| <= 2^${Math.ceil(Math.log2(m + 1))}`;
  },
};

// ---------------------------------------------------------------------------------------------------------
// compare

/** s = m * 2^e with m an odd integer (or 0), exactly. */
export function dyadic(s: number): [bigint, number] {
  if (s === 0) return [0n, 0];
  let e = 0;
  let v = s;
  while (!Number.isInteger(v)) {
    v *= 2;
    e--;
  }
  let m = BigInt(v);
  while (m % 2n === 0n) {
    m /= 2n;
    e++;
  }
  return [m, e];
}

const gcd = (a: bigint, b: bigint): bigint => {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b) [a, b] = [b, a % b];
  return a;
};

/** Integers Ma, Mb with Ma / Mb = sa / sb exactly (smallest such). */
export function exactRatio(sa: number, sb: number): [bigint, bigint] {
  if (sa === sb) return [1n, 1n];
  const [ma, ea] = dyadic(sa);
  const [mb, eb] = dyadic(sb);
  const e = Math.min(ea, eb);
  const A = ma << BigInt(ea - e);
  const B = mb << BigInt(eb - e);
  const g = gcd(A, B);
  return [A / g, B / g];
}

/**
 * A continued-fraction convergent P/Q of A/B (A, B > 0) that decides every comparison exactly for n in [lo, hi]:
 * sign(n P/Q - m) = sign(n A/B - m) for every integer m. That holds exactly when n P/Q and n A/B have the same
 * floor and are integers together.
 * - Ranges of up to `search` values: the smallest convergent passing that check for each n.
 * - Otherwise the first convergent with Q > N = max(|lo|, |hi|). It decides alike: a fraction m/|n| (|n| <= N)
 *   in the closed interval between P/Q and A/B would be P/Q itself (|n| a multiple of Q > N), or lie strictly
 *   between the Farey neighbours p_k/q_k and p_(k+1)/q_(k+1) (denominator >= q_k + q_(k+1) > N), or be
 *   p_(k+1)/q_(k+1) (denominator q_(k+1) > N); so no integer m separates n A/B from n P/Q or touches one only.
 * The last convergent is A/B itself, so both always succeed.
 */
export function decidingRatio(A: bigint, B: bigint, lo: number, hi: number, search = RATIO_SEARCH): [bigint, bigint] {
  const key = `${A}/${B}/${lo}/${hi}/${search}`;
  const hit = ratioCache.get(key);
  if (hit) return hit;
  const fdiv = (a: bigint, b: bigint) => (a >= 0n ? a / b : -((-a + b - 1n) / b));
  let [p0, q0, p1, q1] = [0n, 1n, 1n, 0n];
  let [x, y] = [A, B];
  let best: [bigint, bigint] = [A, B];
  while (y !== 0n) {
    const t = x / y;
    [p0, q0, p1, q1] = [p1, q1, t * p1 + p0, t * q1 + q0];
    [x, y] = [y, x - t * y];
    if (hi - lo + 1 > search) {
      if (q1 > BigInt(Math.max(-lo, hi))) {
        best = [p1, q1];
        break;
      }
      continue;
    }
    let ok = true;
    for (let n = BigInt(lo); n <= BigInt(hi) && ok; n++) {
      ok = fdiv(n * A, B) === fdiv(n * p1, q1) && (n * A % B === 0n) === (n * p1 % q1 === 0n);
    }
    if (ok) {
      best = [p1, q1];
      break;
    }
  }
  ratioCache.set(key, best);
  return best;
}

const ratioCache = new Map<string, [bigint, bigint]>();

/** Ranges up to this many integers are searched for a smaller exact-deciding ratio (u8 values: 256). */
const RATIO_SEARCH = 4096;

const bigMin = (...v: bigint[]) => v.reduce((a, b) => (b < a ? b : a));
const bigMax = (...v: bigint[]) => v.reduce((a, b) => (b > a ? b : a));

function bitsForBig(d: bigint): number {
  let b = 1;
  while (1n << BigInt(b) <= d) b++;
  return b;
}

/** A threshold's position t / s on the integer grid, snapped to an integer within float32 rounding. */
function gridPosition(t: number, s: number): number {
  const r = t / s;
  const k = Math.round(r);
  // float32 rounding of t (and of a grid value in onnxruntime) is ~6e-8 relative; capped so that a wide
  // accumulator's grid never snaps a threshold that is really between two integers.
  return Math.abs(r - k) <= Math.min(1e-6 * Math.max(1, Math.abs(r)), 1e-4) ? k : r;
}

/** Geometry of a threshold table read at a variable index: pre, n (rows), post, K (index elements). */
function tableGeometry(t: NonNullable<CompareLayer['thrTable']>): { pre: number; n: number; post: number; K: number } {
  return { pre: sizeOf(t.dataShape.slice(0, t.axis)), n: t.dataShape[t.axis], post: sizeOf(t.dataShape.slice(t.axis + 1)), K: sizeOf(t.idxShape) };
}

/** Element o of the Gather's output: its index element k, and the table position of row r (pos(r)). */
function tableAt(t: NonNullable<CompareLayer['thrTable']>, o: number): { k: number; pos: (r: number) => number } {
  const { n, post, K } = tableGeometry(t);
  const q = o % post;
  const k = Math.floor(o / post) % K;
  const p = Math.floor(o / (post * K));
  return { k, pos: (r) => (p * n + (((r % n) + n) % n)) * post + q };
}

/** The threshold of Gather output element o for the float index values idx (ONNX Gather: negative wraps once). */
function tableThreshold(l: CompareLayer, o: number, idx: Float64Array): number {
  const t = l.thrTable!;
  const { n } = tableGeometry(t);
  const { k, pos } = tableAt(t, o);
  const r = Math.round(idx[k]);
  if (!(r >= -n && r < n)) throw new Error(`Gather (thresholds of '${l.name}'): index ${idx[k]} is out of range [-${n}, ${n})`);
  return t.table[pos(r)];
}

/**
 * For a uint8 input (grid value of q: fround((q - zp) * s), as onnxruntime holds it in float32), the integer C
 * with (g_q OP t) <=> MA * (q - zp) + C >= 0 for every q in 0..255, found on the grid itself: g_q is
 * non-decreasing in q, so the q where the comparison holds are a suffix (gt/ge) or a prefix (lt/le) of 0..255.
 * Exact on every grid value, also for a threshold a few float32 ulps off a grid point (which gridPosition would
 * snap onto it).
 */
function u8GridConstant(op: 'gt' | 'ge' | 'lt' | 'le', t: number, s: number, zp: number): bigint {
  const holds = (q: number) => {
    const g = Math.fround((q - zp) * s);
    return op === 'gt' ? g > t : op === 'ge' ? g >= t : op === 'lt' ? g < t : g <= t;
  };
  if (op === 'gt' || op === 'ge') {
    let q0 = 0;
    while (q0 < 256 && !holds(q0)) q0++;
    return -BigInt(q0 - zp);
  }
  let q1 = 255;
  while (q1 >= 0 && !holds(q1)) q1--;
  return BigInt(q1 - zp);
}

/**
 * For a uint8 input, the q in 0..255 whose grid value fround((q - zp) * s) equals t (onnxruntime's Equal of
 * float32 values), or undefined when no grid value does. Grid values are strictly increasing for any scale
 * above float32 resolution, so at most one q matches (gridPosition's snapping would also match a t a few ulps
 * away, which onnxruntime does not).
 */
function u8GridEqual(t: number, s: number, zp: number): number | undefined {
  for (let q = 0; q < 256; q++) if (Math.fround((q - zp) * s) === t) return q;
  return undefined;
}

export const compareFloat: FloatLayerDef<CompareLayer> = {
  forward(l, [a, b]) {
    const n = sizeOf(l.outShape);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = a[l.ia[i]];
      const z = l.threshold ? l.threshold[i] : l.thrTable ? tableThreshold(l, l.ib[i], b) : b[l.ib[i]];
      const r = l.op === 'gt' ? x > z : l.op === 'ge' ? x >= z : l.op === 'lt' ? x < z : l.op === 'le' ? x <= z : x === z;
      y[i] = r ? 1 : 0;
    }
    return y;
  },
  quantize(l, ctx) {
    if (l.thrTable) return quantizeTableCompare(l, ctx);
    const n = sizeOf(l.outShape);
    const va = inputView(ctx, 0);
    const vb = l.threshold ? undefined : inputView(ctx, 1);
    const ma: string[] = [];
    const mb: string[] = [];
    const c: string[] = [];
    const bits: number[] = [];
    const konst: number[] = [];
    const eq = l.op === 'eq';
    for (let i = 0; i < n; i++) {
      const ai = l.ia[i];
      const alo = BigInt(va.lo(ai));
      const ahi = BigInt(va.hi(ai));
      let MA: bigint;
      let MB = 0n;
      let C: bigint;
      let blo = 0n;
      let bhi = 0n;
      let never = false;
      if (vb) {
        const bi = l.ib[i];
        [MA, MB] = exactRatio(va.scale(ai), vb.scale(bi));
        blo = BigInt(vb.lo(bi));
        bhi = BigInt(vb.hi(bi));
        // Scales that are unrelated doubles need ~53-bit multipliers; a convergent of the ratio whose denominator
        // passes the narrower side's magnitude decides every comparison identically (decidingRatio).
        if (MA * MB > 1n) {
          // Either side may be the one iterated over: keep the pair with the smaller difference bound.
          const [p, q] = decidingRatio(MA, MB, va.lo(ai), va.hi(ai));
          const [r, t] = decidingRatio(MB, MA, vb.lo(bi), vb.hi(bi));
          const width = (x: bigint, y: bigint) => x * BigInt(Math.max(-va.lo(ai), va.hi(ai))) + y * BigInt(Math.max(-vb.lo(bi), vb.hi(bi)));
          [MA, MB] = width(p, q) <= width(t, r) ? [p, q] : [t, r];
        }
        // d = sign * (MA * na - MB * nb) + adj
        const neg = l.op === 'lt' || l.op === 'le';
        C = l.op === 'gt' || l.op === 'lt' ? -1n : 0n;
        if (neg) MA = -MA;
        else MB = -MB;
      } else {
        const r = gridPosition(l.threshold![i], va.scale(ai));
        if (!Number.isFinite(r)) {
          // An infinite threshold: the result is constant.
          const above = r < 0; // x > -inf
          // (A NaN threshold, refused at import anyway, compares false, as in ONNX.)
          const v = eq || Number.isNaN(r) ? 0 : l.op === 'gt' || l.op === 'ge' ? (above ? 1 : 0) : above ? 0 : 1;
          ma.push('0'); mb.push('0'); c.push(String(v === 1 ? 0 : -1)); bits.push(0); konst.push(v);
          continue;
        }
        const fl = BigInt(Math.floor(r));
        const ce = BigInt(Math.ceil(r));
        if (eq && fl !== ce) never = true;
        switch (l.op) {
          case 'gt': MA = 1n; C = -(fl + 1n); break;
          case 'ge': MA = 1n; C = -ce; break;
          case 'lt': MA = -1n; C = ce - 1n; break;
          case 'le': MA = -1n; C = fl; break;
          default: MA = 1n; C = -fl;
        }
        // A uint8 input: the boundary found on the grid's float32 values themselves (exact as onnxruntime on every
        // grid value, also for a threshold a few ulps off a grid point).
        if (va.s.quant.kind === 'u8') {
          if (!eq) C = u8GridConstant(l.op as 'gt' | 'ge' | 'lt' | 'le', l.threshold![i], va.scale(ai), va.z);
          else {
            // Equal: the one grid value that is t in float32, or none (never equal), as onnxruntime decides.
            const q0 = u8GridEqual(l.threshold![i], va.scale(ai), va.z);
            never = q0 === undefined;
            if (q0 !== undefined) C = -BigInt(q0 - va.z);
          }
        }
      }
      const dlo = C + bigMin(MA * alo, MA * ahi) + bigMin(MB * blo, MB * bhi);
      const dhi = C + bigMax(MA * alo, MA * ahi) + bigMax(MB * blo, MB * bhi);
      ma.push(String(MA));
      mb.push(String(MB));
      c.push(String(C));
      if (eq) {
        if (never || dlo > 0n || dhi < 0n) (bits.push(0), konst.push(0));
        else if (dlo === 0n && dhi === 0n) (bits.push(0), konst.push(1));
        else (bits.push(1), konst.push(0));
      } else if (dlo >= 0n) (bits.push(0), konst.push(1));
      else if (dhi < 0n) (bits.push(0), konst.push(0));
      else {
        const B = bitsForBig(bigMax(dhi, -dlo));
        if (B > 250) return ctx.issue(`element ${i}: the aligned difference needs ${B} bits (at most 250)`);
        bits.push(B);
        konst.push(0);
      }
    }
    ctx.push({
      kind: 'compare', name: l.name, inputs: vb ? [va.s.tensor, vb.s.tensor] : [va.s.tensor], output: l.output, inShape: va.s.shape, outShape: l.outShape,
      eq, ia: l.ia, ib: l.ib, za: va.z, zb: vb?.z ?? 0, ma, mb, c, bits, konst,
      outQuant: { kind: 'acc', scales: new Array(n).fill(1), lo: konst.map((k, i) => (bits[i] ? 0 : k)), hi: konst.map((k, i) => (bits[i] ? 1 : k)) },
    });
  },
};

/**
 * A comparison with a constant table's entry at a variable index (hummingbird's Gather(thresholds, node)), as two
 * layers: a Gather of the table of grid constants C_r (each row's threshold placed on x's uint8 grid at compile
 * time, exact as onnxruntime on every grid value: u8GridConstant), an exact integer lookup whose one-hot selector
 * also proves the index in range and which the quantizer may share with the other Gathers at the same index
 * (src/quantize/quantize.ts); then the comparison d = MA * (x - zx) + C >= 0 (MA = 1 for gt/ge, -1 for lt/le).
 */
function quantizeTableCompare(l: CompareLayer, ctx: QuantizeContext): void {
  const t = l.thrTable!;
  const n = sizeOf(l.outShape);
  const xa = ctx.ensureU8(0);
  const si = ctx.settle(1);
  const iq = si.quant;
  if (iq.kind !== 'acc' || iq.scales.some((v) => v !== 1)) {
    return ctx.issue(`the threshold indices of '${l.name}' must be an integer tensor; they are a ${iq.kind === 'u8' ? 'uint8 activation' : 'scaled accumulator'}`);
  }
  const { pre, n: rowsN, post, K } = tableGeometry(t);
  const op = l.op as 'gt' | 'ge' | 'lt' | 'le';
  const table = Array.from(t.table, (v) => Number(u8GridConstant(op, v, xa.quant.scale, xa.quant.zeroPoint)));
  // Candidate rows per index element (its own bounds), and each Gather output element's constant bounds.
  const rows = iq.lo.map((v, k) => lookupRows(v, iq.hi[k], rowsN));
  const bad = rows.findIndex((r) => !r);
  if (bad >= 0) return ctx.issue(`the threshold indices of '${l.name}' lie in [${iq.lo[bad]}, ${iq.hi[bad]}], outside [-${rowsN}, ${rowsN})`);
  const all = lookupRows(Math.min(...iq.lo), Math.max(...iq.hi), rowsN)!;
  const size = pre * K * post;
  const cq: AccQuant = { kind: 'acc', scales: new Array(size).fill(1), lo: [], hi: [] };
  for (let o = 0; o < size; o++) {
    const { k, pos } = tableAt(t, o);
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = 0; j < rows[k]!.count; j++) {
      const v = table[pos(rows[k]!.lo + j)];
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    cq.lo.push(lo);
    cq.hi.push(hi);
  }
  const thr = `${l.output}#thr`;
  const perIndex = iq.lo.some((v, k) => v !== iq.lo[0] || iq.hi[k] !== iq.hi[0]) ? { lo: rows.map((r) => r!.lo), count: rows.map((r) => r!.count) } : undefined;
  ctx.push({
    kind: 'lookup', name: `${l.name}#thresholds`, inputs: [si.tensor], output: thr, inShape: si.shape, outShape: [size], axis: t.axis, dataShape: t.dataShape,
    ...all, ...(perIndex ? { perIndex } : {}), idxQuant: iq, table, outQuant: cq,
  });
  const MA = op === 'gt' || op === 'ge' ? 1n : -1n;
  const bits: number[] = [];
  const konst: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = l.ib[i];
    const dlo = BigInt(cq.lo[c]) + bigMin(MA * BigInt(-xa.quant.zeroPoint), MA * BigInt(255 - xa.quant.zeroPoint));
    const dhi = BigInt(cq.hi[c]) + bigMax(MA * BigInt(-xa.quant.zeroPoint), MA * BigInt(255 - xa.quant.zeroPoint));
    if (dlo >= 0n || dhi < 0n) {
      bits.push(0);
      konst.push(dlo >= 0n ? 1 : 0);
    } else {
      bits.push(bitsForBig(bigMax(dhi, -dlo)));
      konst.push(0);
    }
  }
  ctx.push({
    kind: 'compare', name: l.name, inputs: [xa.tensor, thr], output: l.output, inShape: xa.shape, outShape: l.outShape,
    eq: false, ia: l.ia, ib: l.ib, za: xa.quant.zeroPoint, zb: 0, ma: new Array(n).fill(String(MA)), mb: new Array(n).fill('1'), c: new Array(n).fill('0'), bits, konst,
    outQuant: { kind: 'acc', scales: new Array(n).fill(1), lo: konst.map((v, i) => (bits[i] ? 0 : v)), hi: konst.map((v, i) => (bits[i] ? 1 : v)) },
  });
}

/** The integer compared with 0, exactly. */
function compareD(l: QCompare, a: number[], b: number[] | undefined, i: number): bigint {
  let d = BigInt(l.ma[i]) * BigInt(a[l.ia[i]] - l.za) + BigInt(l.c[i]);
  if (b && l.mb[i] !== '0') d += BigInt(l.mb[i]) * BigInt(b[l.ib[i]] - l.zb);
  return d;
}

/** `m*e` as a term of a circom sum ('' for m = 0). */
function termOf(m: bigint, e: string): string {
  if (m === 0n) return '';
  if (m === 1n) return e;
  if (m === -1n) return `-${e}`;
  return `${m}*${e}`;
}

export const compareQ: QLayerDef<QCompare> = {
  reference(l, [a, b]) {
    return l.bits.map((B, i) => {
      if (!B) return l.konst[i];
      const d = compareD(l, a, b, i);
      return (l.eq ? d === 0n : d >= 0n) ? 1 : 0;
    });
  },
  emit(l, [a, b], w) {
    w.include('arith.circom');
    w.line(`// ${l.name}: ${l.eq ? 'equality' : 'comparison'} bits`);
    return l.bits.map((B, i) => {
      if (!B) return String(l.konst[i]);
      const MA = BigInt(l.ma[i]);
      const MB = BigInt(l.mb[i]);
      const cst = BigInt(l.c[i]) - MA * BigInt(l.za) - MB * BigInt(l.zb);
      const parts = [termOf(MA, a[l.ia[i]]), b ? termOf(MB, b[l.ib[i]]) : '', cst === 0n ? '' : String(cst)].filter(Boolean);
      const expr = parts.join(' + ').replace(/\+ -/g, '- ');
      const id = w.fresh('cmp');
      w.line(`component ${id} = ${l.eq ? 'EqZero()' : `GeZero(${B})`};`);
      w.bind(`${id}.d`, expr);
      return `${id}.out`;
    });
  },
  constraints: (l) => l.bits.reduce((s, B) => s + (B === 0 ? 0 : l.eq ? 2 : B + 2), 0),
  costFormula: 'per element: B + 2 (d >= 0: B bits bound |d|) or 2 (Equal); 0 when the bounds decide; plus 1 binding when d is a linear combination',
  bitsSummary(l) {
    const bs = l.bits.filter((b) => b > 0);
    return l.eq ? 'equal' : bs.length ? `B ${Math.min(...bs)}..${Math.max(...bs)}` : 'constant';
  },
};

// ---------------------------------------------------------------------------------------------------------
// select (Where)

export const selectFloat: FloatLayerDef<SelectLayer> = {
  forward(l, xs) {
    const [c] = xs;
    let k = 1;
    const a = l.aConst ? undefined : xs[k++];
    const b = l.bConst ? undefined : xs[k++];
    return Float64Array.from(l.ic, (ci, i) => (c[ci] ? (a ? a[l.ia[i]] : l.aConst![i]) : b ? b[l.ib[i]] : l.bConst![i]));
  },
  quantize(l, ctx) {
    if (!isBoolean(ctx.input(0))) return ctx.issue('the condition must be a 0/1 tensor computed by a comparison or logic op');
    const vc = viewOf(ctx.input(0));
    const cq = vc.s.quant as AccQuant;
    let k = 1;
    const va = l.aConst ? undefined : inputView(ctx, k++);
    const vb = l.bConst ? undefined : inputView(ctx, k++);
    const n = sizeOf(l.outShape);
    const ma: number[] = [];
    const mb: number[] = [];
    const aC: number[] = [];
    const bC: number[] = [];
    const out: AccQuant = { kind: 'acc', scales: [], lo: [], hi: [] };
    const X = (v: View, j: number) => Math.max(Math.abs(v.lo(j)), Math.abs(v.hi(j)));
    for (let i = 0; i < n; i++) {
      let s: number;
      if (va && vb) s = affineScale([va.scale(l.ia[i]), vb.scale(l.ib[i])], [X(va, l.ia[i]), X(vb, l.ib[i])], ctx.multiplierBits) ?? va.scale(l.ia[i]);
      else if (va) s = exactScale(va.scale(l.ia[i]), l.bConst?.[i], ctx.multiplierBits);
      else if (vb) s = exactScale(vb.scale(l.ib[i]), l.aConst?.[i], ctx.multiplierBits);
      else if (Number.isInteger(l.aConst![i]) && Number.isInteger(l.bConst![i]) && Math.max(Math.abs(l.aConst![i]), Math.abs(l.bConst![i])) <= MAX_ACC) {
        // Integer constants (node ids of a tree traversal): exact, scale 1, so the result can index a Gather.
        s = 1;
      } else {
        const m = Math.max(Math.abs(l.aConst![i]), Math.abs(l.bConst![i]));
        s = m > 0 ? m / 2 ** ctx.multiplierBits : 1;
      }
      const side = (v: View | undefined, idx: number[], cs: number[] | undefined, ms: number[], consts: number[]): [number, number] => {
        if (v) {
          const m = Math.round(v.scale(idx[i]) / s);
          ms.push(m);
          return [Math.min(m * v.lo(idx[i]), m * v.hi(idx[i])), Math.max(m * v.lo(idx[i]), m * v.hi(idx[i]))];
        }
        const q = Math.round(cs![i] / s);
        consts.push(q);
        return [q, q];
      };
      const [alo, ahi] = side(va, l.ia, l.aConst, ma, aC);
      const [blo, bhi] = side(vb, l.ib, l.bConst, mb, bC);
      out.scales.push(s);
      out.lo.push(Math.min(alo, blo));
      out.hi.push(Math.max(ahi, bhi));
      if (!(Math.max(Math.abs(alo), Math.abs(ahi), Math.abs(blo), Math.abs(bhi)) <= MAX_ACC)) return ctx.issue(`element ${i} can reach 2^50 (a constant is too large for the other side's scale)`);
    }
    ctx.push({
      kind: 'select', name: l.name, inputs: [vc.s.tensor, ...(va ? [va.s.tensor] : []), ...(vb ? [vb.s.tensor] : [])], output: l.output, inShape: vc.s.shape, outShape: l.outShape,
      ic: l.ic, ia: l.ia, ib: l.ib, za: va?.z ?? 0, zb: vb?.z ?? 0, ma, mb, cFixed: l.ic.map((ci) => (cq.lo[ci] === cq.hi[ci] ? cq.lo[ci] : -1)), ...(va ? {} : { aConst: aC }), ...(vb ? {} : { bConst: bC }), outQuant: out,
    });
  },
};

export const selectQ: QLayerDef<QSelect> = {
  reference(l, xs) {
    const [c] = xs;
    let k = 1;
    const a = l.aConst ? undefined : xs[k++];
    const b = l.bConst ? undefined : xs[k++];
    return l.ic.map((ci, i) => {
      const A = a ? l.ma[i] * (a[l.ia[i]] - l.za) : l.aConst![i];
      const B = b ? l.mb[i] * (b[l.ib[i]] - l.zb) : l.bConst![i];
      return B + c[ci] * (A - B);
    });
  },
  emit(l, xs, w) {
    const [c] = xs;
    let k = 1;
    const a = l.aConst ? undefined : xs[k++];
    const b = l.bConst ? undefined : xs[k++];
    const v = w.fresh('sel');
    const both = !a && !b;
    const fixed = (i: number) => l.cFixed[i] >= 0;
    // Slot of element i among the products (elements whose condition is not fixed).
    const slot: number[] = [];
    l.cFixed.reduce((n, f, i) => ((slot[i] = n), f < 0 ? n + 1 : n), 0);
    const nVar = l.cFixed.filter((f) => f < 0).length;
    w.line(`// ${l.name}: Where, B + c * (A - B)${both ? ' (constants: linear)' : ', 1 product per element whose condition is not fixed'}`);
    if (!both && l.cFixed.some((f) => f < 0)) {
      w.include('arith.circom');
      w.line(`component ${v} = ArithSignals(${nVar});`);
    }
    w.line(`var ${v}_o[${l.ic.length}];`);
    // A and B of element i as constant + terms.
    const A = (i: number): [number, Term[]] => (a ? [-l.ma[i] * l.za, [[l.ma[i], a[l.ia[i]]]]] : [l.aConst![i], []]);
    const B = (i: number): [number, Term[]] => (b ? [-l.mb[i] * l.zb, [[l.mb[i], b[l.ib[i]]]]] : [l.bConst![i], []]);
    if (both) return l.ic.map((ci, i) => emitLinearRow(w, `${v}_o[${i}]`, B(i)[0], [[A(i)[0] - B(i)[0], c[ci]]]));
    // Every product first: a component's outputs are read only once all its inputs are assigned.
    l.ic.forEach((ci, i) => {
      if (fixed(i)) return;
      const diff = [...A(i)[1], ...B(i)[1].map(([m, e]): Term => [-m, e])].filter(([m]) => m !== 0).map(([m, e]) => (m === 1 ? e : `${m}*${e}`));
      const dc = A(i)[0] - B(i)[0];
      w.line(`${v}.in[${slot[i]}] <== ${c[ci]} * (${[...diff, ...(dc ? [String(dc)] : [])].join(' + ') || '0'});`);
    });
    return l.ic.map((_, i) => {
      // A condition fixed by its bounds selects a branch: linear.
      if (fixed(i)) return emitLinearRow(w, `${v}_o[${i}]`, (l.cFixed[i] ? A(i) : B(i))[0], (l.cFixed[i] ? A(i) : B(i))[1]);
      return emitLinearRow(w, `${v}_o[${i}]`, B(i)[0], [[1, `${v}.out[${slot[i]}]`], ...B(i)[1]]);
    });
  },
  constraints: (l) => (l.aConst && l.bConst ? 0 : l.cFixed.filter((f) => f < 0).length),
  costFormula: 'per element: 1 (the product c * (A - B)); 0 when both branches are constants or the condition is fixed by its bounds',
  bitsSummary: (l) => `|M| <= ${Math.max(1, ...l.ma.map(Math.abs), ...l.mb.map(Math.abs))}`,
};

// ---------------------------------------------------------------------------------------------------------
// minmax

interface Cand { expr: string; lo: number; hi: number }

/** The pairwise tournament of a group: each comparison's bit width (and the operands, when `exprs`). */
function tournament(cands: Cand[], max: boolean, step?: (a: Cand, b: Cand, bits: number, max: boolean) => string): { bits: number[]; out: Cand } {
  let level = cands;
  const bits: number[] = [];
  while (level.length > 1) {
    const next: Cand[] = [];
    for (let i = 0; i < level.length; i += 2) {
      if (i + 1 === level.length) {
        next.push(level[i]);
        continue;
      }
      const [x, y] = [level[i], level[i + 1]];
      const B = bitsFor(Math.max(x.hi - y.lo, y.hi - x.lo, 0));
      bits.push(B);
      const f = max ? Math.max : Math.min;
      next.push({ expr: step ? step(x, y, B, max) : '', lo: f(x.lo, y.lo), hi: f(x.hi, y.hi) });
    }
    level = next;
  }
  return { bits, out: level[0] };
}

/** The comparisons of one group: a tournament, or for a clip Max2(x, lo) then Min2(., hi). */
function plan(l: QMinMax, cands: Cand[], step?: (a: Cand, b: Cand, bits: number, max: boolean) => string): { bits: number[]; out: Cand } {
  if (!l.clip) return tournament(cands, l.max, step);
  const first = tournament(cands.slice(0, 2), true, step);
  const second = tournament([first.out, cands[2]], false, step);
  return { bits: [...first.bits, ...second.bits], out: second.out };
}

/** Candidates of group i: per slot [input k (-1: constant), element or constant index]. */
const groupRefs = (l: { g: number; refs: number[] }, i: number) => Array.from({ length: l.g }, (_, s) => [l.refs[2 * (i * l.g + s)], l.refs[2 * (i * l.g + s) + 1]]);

export const minmaxFloat: FloatLayerDef<MinMaxLayer> = {
  forward(l, xs) {
    const n = sizeOf(l.outShape);
    const f = l.max ? Math.max : Math.min;
    return Float64Array.from({ length: n }, (_, i) => {
      const v = groupRefs(l, i).map(([k, j]) => (k < 0 ? l.consts[j] : xs[k][j]));
      return l.clip ? Math.min(Math.max(v[0], v[1]), v[2]) : f(...v);
    });
  },
  quantize(l, ctx) {
    const views = l.inputs.map((_, k) => viewOf(ctx.settle(k)));
    const n = sizeOf(l.outShape);
    const refs: number[] = [];
    const consts: number[] = [];
    const m: number[] = [];
    const lo: number[] = [];
    const hi: number[] = [];
    const out: AccQuant = { kind: 'acc', scales: [], lo: [], hi: [] };
    let g = 0;
    const f = l.max ? Math.max : Math.min;
    for (let i = 0; i < n; i++) {
      const gr = groupRefs(l, i);
      const acts = gr.filter(([k]) => k >= 0);
      const cs = gr.filter(([k]) => k < 0).map(([, j]) => l.consts[j]);
      const scales = acts.map(([k, j]) => views[k].scale(j));
      const alo = acts.map(([k, j]) => views[k].lo(j));
      const ahi = acts.map(([k, j]) => views[k].hi(j));
      const mult = scales.every((s) => s === scales[0]) ? scales.map(() => 1) : alignScales(scales, alo, ahi, ctx.multiplierBits);
      const top = scales.indexOf(Math.max(...scales));
      const unit = scales[top] / mult[top];
      let group: number[][] = acts.map(([k, j], t) => [k, j, mult[t], mult[t] * alo[t], mult[t] * ahi[t]]);
      if (l.clip) {
        // Slots keep their order [x, lo, hi]; constants go on the group's integer grid one by one.
        let t = 0;
        group = gr.map(([k, j]) => {
          if (k >= 0) return group[t++];
          const cq = Math.round(l.consts[j] / unit);
          return [-1, consts.push(cq) - 1, 0, cq, cq];
        });
      } else if (cs.length) {
        // Constants fold into one (the max or min of them), on the group's integer grid.
        const cq = Math.round(f(...cs) / unit);
        group.push([-1, consts.push(cq) - 1, 0, cq, cq]);
      }
      if (i === 0) g = group.length;
      if (group.length !== g) throw new Error('internal: minmax groups of different sizes');
      for (const [k, j, mm, a, b] of group) {
        refs.push(k, j);
        m.push(mm);
        lo.push(a);
        hi.push(b);
        if (!(Math.max(Math.abs(a), Math.abs(b)) <= MAX_ACC)) return ctx.issue(`element ${i}: aligned values can reach 2^50`);
      }
      out.scales.push(unit);
      const reduce = (v: number[]) => (l.clip ? Math.min(Math.max(v[0], v[1]), v[2]) : f(...v));
      out.lo.push(reduce(group.map((c) => c[3])));
      out.hi.push(reduce(group.map((c) => c[4])));
    }
    ctx.push({
      kind: 'minmax', name: l.name, inputs: views.map((v) => v.s.tensor), output: l.output, inShape: views[0].s.shape, outShape: l.outShape,
      max: l.max, g, refs, consts, ...(l.clip ? { clip: true } : {}), offsets: views.map((v) => v.z), m, lo, hi, outQuant: out,
    });
  },
};

function minmaxCands(l: QMinMax, i: number, xs?: string[][]): Cand[] {
  return Array.from({ length: l.g }, (_, s) => {
    const j = i * l.g + s;
    const [k, e] = [l.refs[2 * j], l.refs[2 * j + 1]];
    let expr = '';
    if (xs) {
      if (k < 0) expr = String(l.consts[e]);
      else {
        const x = minus(xs[k][e], l.offsets[k]);
        expr = l.m[j] === 1 ? x : `${l.m[j]}*${x}`;
      }
    }
    return { expr, lo: l.lo[j], hi: l.hi[j] };
  });
}

export const minmaxQ: QLayerDef<QMinMax> = {
  reference(l, xs) {
    const n = l.outQuant.lo.length;
    const f = l.max ? Math.max : Math.min;
    return Array.from({ length: n }, (_, i) => {
      const v = Array.from({ length: l.g }, (_, s) => {
        const j = i * l.g + s;
        const [k, e] = [l.refs[2 * j], l.refs[2 * j + 1]];
        return k < 0 ? l.consts[e] : l.m[j] * (xs[k][e] - l.offsets[k]);
      });
      return l.clip ? Math.min(Math.max(v[0], v[1]), v[2]) : f(...v);
    });
  },
  emit(l, xs, w) {
    w.include('max.circom');
    const n = l.outQuant.lo.length;
    w.line(`// ${l.name}: ${l.max ? 'max' : 'min'} of ${l.g} per element (tournament of ${l.max ? 'Max2' : 'Min2'})`);
    return Array.from({ length: n }, (_, i) => {
      const { out } = plan(l, minmaxCands(l, i, xs), (x, y, B, max) => {
        const id = w.fresh('mm');
        w.line(`component ${id} = ${max ? 'Max2' : 'Min2'}(${B});`);
        w.bind(`${id}.a`, x.expr);
        w.bind(`${id}.b`, y.expr);
        return `${id}.out`;
      });
      return out.expr;
    });
  },
  constraints(l) {
    let total = 0;
    for (let i = 0; i < l.outQuant.lo.length; i++) total += plan(l, minmaxCands(l, i)).bits.reduce((s, B) => s + B + 3, 0);
    return total;
  },
  costFormula: 'per element: (g - 1) comparisons of B + 3 (B bits bound the operands\' difference), plus 1 per operand that is a linear combination',
  bitsSummary(l) {
    const all: number[] = [];
    for (let i = 0; i < l.outQuant.lo.length; i++) all.push(...plan(l, minmaxCands(l, i)).bits);
    return all.length ? `B ${Math.min(...all)}..${Math.max(...all)}` : '-';
  },
};

// ---------------------------------------------------------------------------------------------------------
// divide

/** Bits of the output grid below the calibrated output range: the division's rounding is 2^-(DIV_BITS+1) of it. */
const DIV_BITS = 12;

const floorDivBig = (a: bigint, b: bigint): bigint => {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
};

/** n / d rounded half up (d != 0). */
function divRound(n: bigint, d: bigint): bigint {
  const ad = d < 0n ? -d : d;
  const sn = d < 0n ? -n : n;
  return floorDivBig(2n * sn + ad, 2n * ad);
}

export const divideFloat: FloatLayerDef<DivideLayer> = {
  forward: (l, [a, b]) => Float64Array.from(l.ia, (ai, i) => a[ai] / b[l.ib[i]]),
  quantize(l, ctx) {
    const va = inputView(ctx, 0);
    const vb = inputView(ctx, 1);
    const R = Math.max(Math.abs(ctx.outRange.min), Math.abs(ctx.outRange.max)) || 1;
    const n = sizeOf(l.outShape);
    const k: number[] = [];
    const bd: number[] = [];
    const bq: number[] = [];
    const sign: number[] = [];
    const out: AccQuant = { kind: 'acc', scales: [], lo: [], hi: [] };
    for (let i = 0; i < n; i++) {
      const [ai, bi] = [l.ia[i], l.ib[i]];
      const [sa, sb] = [va.scale(ai), vb.scale(bi)];
      const K = Math.max(1, Math.round((sa * 2 ** DIV_BITS) / (sb * R)));
      const [nlo, nhi] = [va.lo(ai) * K, va.hi(ai) * K];
      const [dlo, dhi] = [vb.lo(bi), vb.hi(bi)];
      if (dlo === 0 && dhi === 0) return ctx.issue(`element ${i}: the divisor is always 0`);
      // n / d is monotone in n for fixed d, and in d on each side of 0: extremes at the ends and at d = +-1.
      const ds = [dlo, dhi, ...(dlo <= -1 ? [-1] : []), ...(dhi >= 1 ? [1] : [])].filter((d) => d !== 0);
      const vs = ds.flatMap((d) => [nlo / d, nhi / d]);
      // One more on each side: the float quotients of large integers may round by an ulp.
      const lo = Math.floor(Math.min(...vs)) - 1;
      const hi = Math.ceil(Math.max(...vs)) + 1;
      if (!(Math.max(-lo, hi, Math.abs(nlo), Math.abs(nhi)) <= MAX_ACC)) return ctx.issue(`element ${i}: the quotient can reach 2^50`);
      k.push(K);
      bd.push(bitsFor(Math.max(dhi, -dlo)));
      if (bd[i] + bitsFor(Math.max(-lo, hi)) > 200) return ctx.issue(`element ${i}: the division needs more than 200 bits (divisor and quotient)`);
      sign.push(dlo >= 0 ? 1 : dhi <= 0 ? -1 : 0);
      bq.push(bitsFor(Math.max(-lo, hi)));
      out.scales.push(sa / (sb * K));
      out.lo.push(lo);
      out.hi.push(hi);
    }
    ctx.push({
      kind: 'divide', name: l.name, inputs: [va.s.tensor, vb.s.tensor], output: l.output, inShape: va.s.shape, outShape: l.outShape,
      ia: l.ia, ib: l.ib, za: va.z, zb: vb.z, k, bd, bq, sign, outQuant: out,
    });
  },
};

export const divideQ: QLayerDef<QDivide> = {
  reference(l, [a, b]) {
    // A zero divisor has no witness (the circuit proves d != 0); the reference says 0 there.
    return l.ia.map((ai, i) => {
      const d = BigInt(b[l.ib[i]] - l.zb);
      return d === 0n ? 0 : Number(divRound(BigInt(l.k[i]) * BigInt(a[ai] - l.za), d));
    });
  },
  emit(l, [a, b], w) {
    w.include('arith.circom');
    w.line(`// ${l.name}: rounded division of two activations`);
    return l.ia.map((ai, i) => {
      const id = w.fresh('div');
      const sg = l.sign[i];
      // A divisor of known sign: n / d = (-n) / (-d), so the gadget sees a non-negative divisor.
      w.line(`component ${id} = ${sg ? 'DivRoundNonNeg' : 'DivRound'}(${l.bd[i]}, ${l.bq[i]});`);
      const x = minus(a[ai], l.za);
      const kn = (sg < 0 ? -1 : 1) * l.k[i];
      w.bind(`${id}.n`, kn === 1 ? x : `${kn}*${x}`);
      const d = minus(b[l.ib[i]], l.zb);
      w.bind(`${id}.d`, sg < 0 ? `-${d}` : d);
      return `${id}.q`;
    });
  },
  constraints: (l) => l.bd.reduce((s, bd, i) => s + (l.sign[i] ? 2 * bd + l.bq[i] + 9 : 3 * bd + l.bq[i] + 13), 0),
  costFormula: 'per element: 2 Bd + Bq + 9 when the divisor\'s sign is fixed by its bounds, else 3 Bd + Bq + 13 (Bd bits bound |divisor|, Bq the quotient), plus 1 per input that is a linear combination',
  bitsSummary: (l) => `Bd ${Math.max(...l.bd)}, Bq ${Math.max(...l.bq)}`,
};

export const arithFloatDefs: { [K in ArithFloatLayer['kind']]: FloatLayerDef<Extract<ArithFloatLayer, { kind: K }>> } = {
  product: productFloat,
  compare: compareFloat,
  select: selectFloat,
  minmax: minmaxFloat,
  divide: divideFloat,
};

export const arithQDefs: { [K in ArithQLayer['kind']]: QLayerDef<Extract<ArithQLayer, { kind: K }>> } = {
  product: productQ,
  compare: compareQ,
  select: selectQ,
  minmax: minmaxQ,
  divide: divideQ,
};

/**
 * The scale of a Where between an activation of scale `s` and a constant `c`: scale 1 marks an exact integer (a
 * Gather index, a Cast to an integer type accept it), so a fractional constant beside an integer tensor gets a
 * finer power-of-two scale instead of being rounded to an integer (Where(c, argmax, 2.5) is not argmax-or-3).
 */
function exactScale(s: number, c: number | undefined, multiplierBits: number): number {
  if (s !== 1 || c === undefined || Number.isInteger(c)) return s;
  let j = 1;
  while (j < multiplierBits && !Number.isInteger(c * 2 ** j)) j++;
  return 2 ** -j;
}
