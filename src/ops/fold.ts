/**
 * Constant folding at import: a node whose inputs are all constants (shape subgraphs: Shape, ConstantOfShape,
 * Gather/Slice/Concat/Range/Cast/arithmetic on shapes, masks from Trilu/Equal/Where, ...) is evaluated here,
 * for batch 1, and its outputs become constants. Nothing of it reaches the circuit.
 *
 * Semantics follow ONNX (and onnxruntime): numpy broadcasting, integer division truncating toward zero for
 * integer types, float32 results rounded to float32 (Math.fround), bool results 0/1, int64 values exact up to
 * 2^53 (src/onnx/load.ts). Opset differences (attributes that became inputs) are handled per op.
 */
import type { OnnxAttr, OnnxNode, OnnxTensor } from '../onnx/load.ts';

/** A tensor being folded (OnnxTensor without the name). */
export interface FoldTensor {
  dims: number[];
  dataType: number;
  data: Float64Array;
}

const FLOAT = 1;
const INT64 = 7;
const BOOL = 9;
const DOUBLE = 11;
const INT_TYPES = new Set([2, 3, 4, 5, 6, 7, 12, 13]);
const isInt = (dt: number) => INT_TYPES.has(dt) || dt === BOOL;

class FoldError extends Error {}
const fail = (msg: string): never => {
  throw new FoldError(msg);
};

export const sizeOfDims = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);
export const stridesOfDims = (d: readonly number[]): number[] => d.map((_, i) => sizeOfDims(d.slice(i + 1)));

/** Round/wrap a value to the element type (float32 rounding; integer wrap for small types; bool 0/1). */
export function castValue(v: number, dt: number): number {
  switch (dt) {
    case FLOAT: return Math.fround(v);
    case 10: case 16: return Math.fround(v); // float16/bfloat16: approximated by float32
    case DOUBLE: return v;
    case BOOL: return v !== 0 && !Number.isNaN(v) ? 1 : 0;
    case 2: return ((Math.trunc(v) % 256) + 256) % 256;
    case 3: return ((((Math.trunc(v) + 128) % 256) + 256) % 256) - 128;
    case 4: return ((Math.trunc(v) % 65536) + 65536) % 65536;
    case 5: return ((((Math.trunc(v) + 32768) % 65536) + 65536) % 65536) - 32768;
    case 6: return Number.isFinite(v) ? (Math.trunc(v) | 0) : v > 0 ? 2147483647 : -2147483648;
    case 12: return Number.isFinite(v) ? Math.trunc(v) >>> 0 : 0;
    default: return Number.isFinite(v) ? Math.trunc(v) : v;
  }
}

/** Folded tensors above this many elements are refused (a shape subgraph never needs them; memory would). */
export const MAX_FOLD_ELEMENTS = 1 << 24;

function checkSize(dims: readonly number[]): void {
  const n = sizeOfDims(dims);
  if (!(n <= MAX_FOLD_ELEMENTS)) fail(`the result [${dims}] has ${n} elements, above the ${MAX_FOLD_ELEMENTS} constant folding allows`);
}

const mk = (dims: number[], dataType: number, data: ArrayLike<number>): FoldTensor => ({ dims, dataType, data: Float64Array.from(data) });
const typed = (dims: number[], dataType: number, data: ArrayLike<number>): FoldTensor => mk(dims, dataType, Array.from(data, (v) => castValue(v, dataType)));

function coordsOf(i: number, dims: readonly number[], st: readonly number[]): number[] {
  return st.map((s, d) => Math.floor(i / s) % dims[d]);
}

/** numpy broadcast shape of several shapes. */
export function broadcastDims(shapes: number[][]): number[] {
  const r = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - r + i] ?? 1;
      if (v === 1) continue;
      if (d !== 1 && d !== v) fail(`shapes ${shapes.map((x) => `[${x}]`).join(', ')} do not broadcast`);
      d = v;
    }
    out.push(shapes.some((s) => (s[s.length - r + i] ?? 1) === 0) ? 0 : d);
  }
  return out;
}

/** For each output element, the flat index into a tensor of shape `dims` broadcast to `out`. */
export function broadcastIndex(dims: number[], out: number[]): Int32Array {
  const n = sizeOfDims(out);
  const idx = new Int32Array(n);
  const r = out.length;
  const st = stridesOfDims(dims);
  const ost = stridesOfDims(out);
  const off = r - dims.length;
  for (let o = 0; o < n; o++) {
    let k = 0;
    for (let d = 0; d < dims.length; d++) {
      if (dims[d] === 1) continue;
      k += (Math.floor(o / ost[d + off]) % out[d + off]) * st[d];
    }
    idx[o] = k;
  }
  return idx;
}

function elementwise(ts: FoldTensor[], dt: number, f: (...v: number[]) => number): FoldTensor {
  const out = broadcastDims(ts.map((t) => t.dims));
  const idx = ts.map((t) => broadcastIndex(t.dims, out));
  const n = sizeOfDims(out);
  const data = new Float64Array(n);
  const args = new Array<number>(ts.length);
  for (let o = 0; o < n; o++) {
    for (let k = 0; k < ts.length; k++) args[k] = ts[k].data[idx[k][o]];
    data[o] = castValue(f(...args), dt);
  }
  return { dims: out, dataType: dt, data };
}

function attr(node: OnnxNode, name: string): OnnxAttr | undefined {
  return node.attrs.get(name);
}
function attrI(node: OnnxNode, name: string, dflt: number): number {
  const a = attr(node, name);
  if (!a) return dflt;
  if (a.type !== 'int') fail(`attribute '${name}' should be an int, got ${a.type}`);
  return (a as { value: number }).value;
}
function attrF(node: OnnxNode, name: string, dflt: number): number {
  const a = attr(node, name);
  if (!a) return dflt;
  if (a.type !== 'float' && a.type !== 'int') fail(`attribute '${name}' should be a float, got ${a.type}`);
  return (a as { value: number }).value;
}
function attrInts(node: OnnxNode, name: string): number[] | undefined {
  const a = attr(node, name);
  if (!a) return undefined;
  if (a.type !== 'ints') fail(`attribute '${name}' should be ints, got ${a.type}`);
  return (a as { value: number[] }).value;
}
function attrS(node: OnnxNode, name: string, dflt: string): string {
  const a = attr(node, name);
  if (!a) return dflt;
  if (a.type !== 'string') fail(`attribute '${name}' should be a string, got ${a.type}`);
  return (a as { value: string }).value;
}

function normAxis(a: number, rank: number, what = 'axis'): number {
  const r = a < 0 ? a + rank : a;
  if (!Number.isInteger(r) || r < 0 || r >= rank) fail(`${what} ${a} is out of range for rank ${rank}`);
  return r;
}

/** Round half to even (ONNX Round). */
function roundEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** erf to double precision (W. J. Cody's rational approximations via erfc continued fraction). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2) {
    // Taylor series: converges fast for |x| < 2.
    let sum = x;
    let term = x;
    const x2 = x * x;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (ax > 6) return Math.sign(x);
  // Continued fraction for erfc.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

/** Axes from an attribute (older opsets) or an optional input (newer); undefined when absent. */
function axesFrom(node: OnnxNode, ins: (FoldTensor | undefined)[], inputIdx: number, fromInputAt: number, opset: number): number[] | undefined {
  if (opset >= fromInputAt) {
    const t = ins[inputIdx];
    return t ? Array.from(t.data) : undefined;
  }
  return attrInts(node, 'axes');
}

function transpose(t: FoldTensor, perm: number[]): FoldTensor {
  const r = t.dims.length;
  if (perm.length !== r || [...perm].sort((a, b) => a - b).some((v, i) => v !== i)) fail(`perm [${perm}] is not a permutation of 0..${r - 1}`);
  const outDims = perm.map((p) => t.dims[p]);
  const st = stridesOfDims(t.dims);
  const ost = stridesOfDims(outDims);
  const n = sizeOfDims(outDims);
  const data = new Float64Array(n);
  for (let o = 0; o < n; o++) {
    const c = coordsOf(o, outDims, ost);
    let k = 0;
    for (let d = 0; d < r; d++) k += c[d] * st[perm[d]];
    data[o] = t.data[k];
  }
  return { dims: outDims, dataType: t.dataType, data };
}

/** Slice parameters resolved per axis (ONNX clamping rules). */
export interface SliceAxis {
  start: number;
  step: number;
  count: number;
}

export function resolveSlice(dims: number[], starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined): SliceAxis[] {
  const r = dims.length;
  const res: SliceAxis[] = dims.map((d) => ({ start: 0, step: 1, count: d }));
  const ax = axes ?? starts.map((_, i) => i);
  if (starts.length !== ends.length || ax.length !== starts.length || (steps && steps.length !== starts.length)) {
    fail(`starts, ends, axes and steps must have the same length (got ${starts.length}, ${ends.length}, ${ax.length}, ${steps?.length ?? '-'})`);
  }
  const seen = new Set<number>();
  ax.forEach((a0, i) => {
    const a = normAxis(a0, r, 'slice axis');
    if (seen.has(a)) fail(`axis ${a0} repeats in axes`);
    seen.add(a);
    const d = dims[a];
    const step = steps ? steps[i] : 1;
    if (step === 0) fail('a slice step is 0');
    let s = starts[i];
    let e = ends[i];
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
    } else {
      s = Math.min(Math.max(s, -1), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
    }
    const count = step > 0 ? Math.max(0, Math.ceil((e - s) / step)) : Math.max(0, Math.ceil((s - e) / -step));
    res[a] = { start: s, step, count };
  });
  return res;
}

/** Slice inputs: attributes before opset 10, inputs after. */
export function sliceParams(node: OnnxNode, ins: (FoldTensor | undefined)[], opset: number): { starts: number[]; ends: number[]; axes?: number[]; steps?: number[] } {
  if (opset < 10) {
    const starts = attrInts(node, 'starts');
    const ends = attrInts(node, 'ends');
    if (!starts || !ends) fail('attributes starts and ends are required');
    return { starts: starts!, ends: ends!, axes: attrInts(node, 'axes') };
  }
  const g = (k: number) => (ins[k] ? Array.from(ins[k]!.data) : undefined);
  const starts = g(1);
  const ends = g(2);
  if (!starts || !ends) fail('inputs starts and ends are required');
  return { starts: starts!, ends: ends!, axes: g(3), steps: g(4) };
}

/** Index map of a slice: output flat index -> input flat index. */
export function sliceIndex(dims: number[], sl: SliceAxis[]): { outDims: number[]; index: Int32Array } {
  const outDims = sl.map((s) => s.count);
  const st = stridesOfDims(dims);
  const ost = stridesOfDims(outDims);
  const n = sizeOfDims(outDims);
  const index = new Int32Array(n);
  for (let o = 0; o < n; o++) {
    let k = 0;
    for (let d = 0; d < dims.length; d++) k += (sl[d].start + (Math.floor(o / ost[d]) % outDims[d]) * sl[d].step) * st[d];
    index[o] = k;
  }
  return { outDims, index };
}

/** Split sizes along an axis: the `split` attribute (< 13) or input (13+), or num_outputs (18), or equal parts. */
export function splitSizes(node: OnnxNode, dim: number, splitInput: number[] | undefined, opset: number, nOut: number): number[] {
  let split = opset >= 13 ? splitInput : attrInts(node, 'split');
  if (split) {
    if (split.length !== nOut) fail(`split has ${split.length} parts but the node has ${nOut} outputs`);
    if (split.some((s) => s < 0) || split.reduce((a, b) => a + b, 0) !== dim) fail(`split [${split}] does not add up to dimension ${dim}`);
    return split;
  }
  const parts = opset >= 18 && attr(node, 'num_outputs') ? attrI(node, 'num_outputs', nOut) : nOut;
  if (parts !== nOut) fail(`num_outputs ${parts} differs from the ${nOut} outputs`);
  const each = opset >= 18 ? Math.ceil(dim / parts) : dim / parts;
  if (!Number.isInteger(each)) fail(`dimension ${dim} does not split into ${parts} equal parts`);
  split = [];
  let left = dim;
  for (let i = 0; i < parts; i++) {
    split.push(Math.min(each, left));
    left -= Math.min(each, left);
  }
  return split;
}

/** Target shape of Reshape (0 copies the input dim unless allowzero, one -1 is inferred). */
export function reshapeDims(inDims: number[], target: number[], allowZero: boolean): number[] {
  const out = target.map((d, i) => (d === 0 && !allowZero ? inDims[i] : d));
  if (out.some((d) => d === undefined || d < -1 || !Number.isInteger(d))) fail(`invalid target shape [${target}] for [${inDims}]`);
  const unknown = out.filter((d) => d === -1).length;
  if (unknown > 1) fail(`target shape [${target}] has more than one -1`);
  const total = sizeOfDims(inDims);
  if (unknown) {
    const known = sizeOfDims(out.filter((d) => d !== -1));
    out[out.indexOf(-1)] = known > 0 ? total / known : 0;
  }
  if (sizeOfDims(out) !== total || !out.every(Number.isInteger)) fail(`cannot reshape [${inDims}] to [${target}]`);
  return out;
}

/** Output dims of Unsqueeze. */
export function unsqueezeDims(dims: number[], axes: number[]): number[] {
  const rank = dims.length + axes.length;
  const norm = axes.map((a) => normAxis(a, rank, 'unsqueeze axis'));
  if (new Set(norm).size !== norm.length) fail(`axes [${axes}] repeat`);
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : dims[k++]);
  return out;
}

export function squeezeDims(dims: number[], axes: number[] | undefined): number[] {
  if (!axes) return dims.filter((d) => d !== 1);
  const norm = axes.map((a) => normAxis(a, dims.length, 'squeeze axis'));
  for (const a of norm) if (dims[a] !== 1) fail(`cannot squeeze axis ${a} of shape [${dims}] (not 1)`);
  return dims.filter((_, i) => !norm.includes(i));
}

/** Gather along an axis: output flat -> data flat index; indices already normalized. */
export function gatherIndex(dims: number[], axis: number, idx: number[], idxDims: number[]): { outDims: number[]; index: Int32Array } {
  const n = dims[axis];
  const norm = idx.map((v) => {
    const r = v < 0 ? v + n : v;
    if (!Number.isInteger(r) || r < 0 || r >= n) fail(`index ${v} is out of range for dimension ${n}`);
    return r;
  });
  const pre = sizeOfDims(dims.slice(0, axis));
  const post = sizeOfDims(dims.slice(axis + 1));
  const outDims = [...dims.slice(0, axis), ...idxDims, ...dims.slice(axis + 1)];
  const index = new Int32Array(pre * norm.length * post);
  let o = 0;
  for (let p = 0; p < pre; p++) for (const r of norm) for (let q = 0; q < post; q++) index[o++] = (p * n + r) * post + q;
  return { outDims, index };
}

export function gatherElementsIndex(dims: number[], axis: number, idx: number[], idxDims: number[]): Int32Array {
  if (idxDims.length !== dims.length) fail(`indices rank ${idxDims.length} differs from data rank ${dims.length}`);
  const st = stridesOfDims(dims);
  const ist = stridesOfDims(idxDims);
  const index = new Int32Array(idx.length);
  for (let o = 0; o < idx.length; o++) {
    const c = coordsOf(o, idxDims, ist);
    let v = idx[o];
    if (v < 0) v += dims[axis];
    if (v < 0 || v >= dims[axis]) fail(`index ${idx[o]} is out of range for dimension ${dims[axis]}`);
    c[axis] = v;
    for (let d = 0; d < dims.length; d++) if (c[d] >= dims[d]) fail(`indices shape [${idxDims}] exceeds data shape [${dims}]`);
    index[o] = c.reduce((s, x, d) => s + x * st[d], 0);
  }
  return index;
}

export function gatherNDIndex(dims: number[], idx: number[], idxDims: number[], batchDims: number): { outDims: number[]; index: Int32Array } {
  const q = idxDims.length;
  const k = idxDims[q - 1];
  const b = batchDims;
  if (q < 1 || k < 1 || k > dims.length - b) fail(`indices' last dimension ${k} must be 1..${dims.length - b}`);
  for (let i = 0; i < b; i++) if (idxDims[i] !== dims[i]) fail(`batch dimension ${i} differs between data and indices`);
  const outDims = [...idxDims.slice(0, q - 1), ...dims.slice(b + k)];
  const slice = sizeOfDims(dims.slice(b + k));
  const st = stridesOfDims(dims);
  const tuples = sizeOfDims(idxDims.slice(0, q - 1));
  const perBatch = sizeOfDims(idxDims.slice(b, q - 1));
  const index = new Int32Array(tuples * slice);
  for (let t = 0; t < tuples; t++) {
    const batch = Math.floor(t / perBatch);
    // batch coordinates
    let base = 0;
    const bc = coordsOf(batch, dims.slice(0, b), stridesOfDims(dims.slice(0, b)));
    for (let i = 0; i < b; i++) base += bc[i] * st[i];
    for (let j = 0; j < k; j++) {
      let v = idx[t * k + j];
      const d = dims[b + j];
      if (v < 0) v += d;
      if (v < 0 || v >= d) fail(`index ${idx[t * k + j]} is out of range for dimension ${d}`);
      base += v * st[b + j];
    }
    for (let s = 0; s < slice; s++) index[t * slice + s] = base + s;
  }
  return { outDims, index };
}

/** ScatterND: for each update element, the flat data index it overwrites (later updates win). */
export function scatterNDTargets(dims: number[], idx: number[], idxDims: number[]): Int32Array {
  const q = idxDims.length;
  const k = idxDims[q - 1];
  if (k < 1 || k > dims.length) fail(`indices' last dimension ${k} must be 1..${dims.length}`);
  const tuples = sizeOfDims(idxDims.slice(0, q - 1));
  const slice = sizeOfDims(dims.slice(k));
  const st = stridesOfDims(dims);
  const out = new Int32Array(tuples * slice);
  for (let t = 0; t < tuples; t++) {
    let base = 0;
    for (let j = 0; j < k; j++) {
      let v = idx[t * k + j];
      if (v < 0) v += dims[j];
      if (v < 0 || v >= dims[j]) fail(`index ${idx[t * k + j]} is out of range for dimension ${dims[j]}`);
      base += v * st[j];
    }
    for (let s = 0; s < slice; s++) out[t * slice + s] = base + s;
  }
  return out;
}

export function scatterElementsTargets(dims: number[], axis: number, idx: number[], idxDims: number[]): Int32Array {
  if (idxDims.length !== dims.length) fail(`indices rank ${idxDims.length} differs from data rank ${dims.length}`);
  const st = stridesOfDims(dims);
  const ist = stridesOfDims(idxDims);
  const out = new Int32Array(idx.length);
  for (let o = 0; o < idx.length; o++) {
    const c = coordsOf(o, idxDims, ist);
    let v = idx[o];
    if (v < 0) v += dims[axis];
    if (v < 0 || v >= dims[axis]) fail(`index ${idx[o]} is out of range for dimension ${dims[axis]}`);
    c[axis] = v;
    out[o] = c.reduce((s, x, d) => s + x * st[d], 0);
  }
  return out;
}

/** Expand: output dims (broadcast of the input and the shape) and the index map. */
export function expandIndex(dims: number[], shape: number[]): { outDims: number[]; index: Int32Array } {
  const outDims = broadcastDims([dims, shape]);
  checkSize(outDims);
  return { outDims, index: broadcastIndex(dims, outDims) };
}

export function tileIndex(dims: number[], repeats: number[]): { outDims: number[]; index: Int32Array } {
  if (repeats.length !== dims.length || repeats.some((r) => r < 0 || !Number.isInteger(r))) fail(`repeats [${repeats}] must be ${dims.length} non-negative ints`);
  const outDims = dims.map((d, i) => d * repeats[i]);
  checkSize(outDims);
  const st = stridesOfDims(dims);
  const ost = stridesOfDims(outDims);
  const n = sizeOfDims(outDims);
  const index = new Int32Array(n);
  for (let o = 0; o < n; o++) {
    let k = 0;
    for (let d = 0; d < dims.length; d++) k += ((Math.floor(o / ost[d]) % outDims[d]) % dims[d]) * st[d];
    index[o] = k;
  }
  return { outDims, index };
}

/** Trilu: which elements are kept (1) or zeroed (0). */
export function triluKeep(dims: number[], upper: boolean, k: number): Uint8Array {
  const r = dims.length;
  if (r < 2) fail(`Trilu needs rank >= 2, got [${dims}]`);
  const R = dims[r - 2];
  const C = dims[r - 1];
  const keep = new Uint8Array(sizeOfDims(dims));
  for (let o = 0; o < keep.length; o++) {
    const j = o % C;
    const i = Math.floor(o / C) % R;
    keep[o] = (upper ? j - i >= k : j - i <= k) ? 1 : 0;
  }
  return keep;
}

/**
 * Pad (constant/edge/reflect/wrap): output index -> input flat index, -1 for the constant. Negative pads crop
 * first; edge/reflect/wrap then pad the cropped tensor (as onnxruntime does).
 */
export function padIndex(dims: number[], pads: number[], mode: string): { outDims: number[]; index: Int32Array } {
  const r = dims.length;
  if (pads.length !== 2 * r) fail(`pads must have ${2 * r} values, got ${pads.length}`);
  if (!['constant', 'edge', 'reflect', 'wrap'].includes(mode)) fail(`mode '${mode}' is not supported`);
  const outDims = dims.map((d, i) => d + pads[i] + pads[i + r]);
  if (outDims.some((d) => d < 0)) fail(`pads [${pads}] leave a negative dimension of [${dims}]`);
  checkSize(outDims);
  const crop = dims.map((_, i) => Math.max(0, -pads[i]));
  const inner = dims.map((d, i) => d - crop[i] - Math.max(0, -pads[i + r]));
  const before = dims.map((_, i) => Math.max(0, pads[i]));
  if (mode !== 'constant') {
    for (let d = 0; d < r; d++) {
      const padded = before[d] > 0 || pads[d + r] > 0;
      if (!padded) continue;
      if (inner[d] < 1) fail(`mode '${mode}' cannot pad axis ${d}: nothing of it is left`);
      if (mode === 'reflect' && Math.max(before[d], pads[d + r]) > inner[d] - 1) fail(`mode 'reflect' pads axis ${d} by more than its size ${inner[d]} less 1`);
    }
  }
  const st = stridesOfDims(dims);
  const ost = stridesOfDims(outDims);
  const n = sizeOfDims(outDims);
  const index = new Int32Array(n);
  for (let o = 0; o < n; o++) {
    let k = 0;
    let pad = false;
    for (let d = 0; d < r; d++) {
      let c = (Math.floor(o / ost[d]) % outDims[d]) - before[d];
      const D = inner[d];
      if (c < 0 || c >= D) {
        if (mode === 'constant') pad = true;
        else if (mode === 'edge') c = Math.min(Math.max(c, 0), D - 1);
        else if (mode === 'reflect') {
          if (D === 1) c = 0;
          else {
            const period = 2 * (D - 1);
            c = ((c % period) + period) % period;
            if (c >= D) c = period - c;
          }
        } else c = ((c % D) + D) % D;
      }
      k += (c + crop[d]) * st[d];
    }
    index[o] = pad ? -1 : k;
  }
  return { outDims, index };
}

/** DepthToSpace / SpaceToDepth index maps for NCHW. */
export function depthToSpaceIndex(dims: number[], bs: number, mode: string): { outDims: number[]; index: Int32Array } {
  if (dims.length !== 4) fail(`input must be 4-D NCHW, got [${dims}]`);
  const [N, C, H, W] = dims;
  if (C % (bs * bs) !== 0) fail(`channels ${C} are not a multiple of blocksize^2 = ${bs * bs}`);
  const oc = C / (bs * bs);
  const outDims = [N, oc, H * bs, W * bs];
  const index = new Int32Array(sizeOfDims(outDims));
  let o = 0;
  for (let n = 0; n < N; n++) for (let c = 0; c < oc; c++) for (let y = 0; y < H * bs; y++) for (let x = 0; x < W * bs; x++) {
    const by = y % bs;
    const bx = x % bs;
    const ic = mode === 'CRD' ? c * bs * bs + by * bs + bx : (by * bs + bx) * oc + c;
    index[o++] = ((n * C + ic) * H + Math.floor(y / bs)) * W + Math.floor(x / bs);
  }
  return { outDims, index };
}

export function spaceToDepthIndex(dims: number[], bs: number): { outDims: number[]; index: Int32Array } {
  if (dims.length !== 4) fail(`input must be 4-D NCHW, got [${dims}]`);
  const [N, C, H, W] = dims;
  if (H % bs || W % bs) fail(`spatial dims ${H}x${W} are not multiples of blocksize ${bs}`);
  const outDims = [N, C * bs * bs, H / bs, W / bs];
  const index = new Int32Array(sizeOfDims(outDims));
  let o = 0;
  for (let n = 0; n < N; n++) for (let oc = 0; oc < C * bs * bs; oc++) for (let y = 0; y < H / bs; y++) for (let x = 0; x < W / bs; x++) {
    const c = oc % C;
    const b = Math.floor(oc / C);
    const by = Math.floor(b / bs);
    const bx = b % bs;
    index[o++] = ((n * C + c) * H + y * bs + by) * W + x * bs + bx;
  }
  return { outDims, index };
}

/** Nearest-neighbour Resize index map (ONNX coordinate transformation and nearest modes). */
export function resizeNearestIndex(dims: number[], outDims: number[], scales: number[], ctm: string, nearestMode: string): Int32Array {
  const r = dims.length;
  const maps: number[][] = [];
  for (let d = 0; d < r; d++) {
    const L = dims[d];
    const O = outDims[d];
    const s = scales[d];
    const m: number[] = [];
    for (let o = 0; o < O; o++) {
      let x: number;
      switch (ctm) {
        case 'half_pixel': x = (o + 0.5) / s - 0.5; break;
        case 'pytorch_half_pixel': x = O > 1 ? (o + 0.5) / s - 0.5 : 0; break;
        case 'align_corners': x = O === 1 ? 0 : (o * (L - 1)) / (O - 1); break;
        case 'asymmetric': x = o / s; break;
        case 'tf_half_pixel_for_nn': x = (o + 0.5) / s; break;
        default: return fail(`coordinate_transformation_mode '${ctm}' is not supported for nearest`);
      }
      let i: number;
      switch (nearestMode) {
        case 'round_prefer_floor': i = x === Math.floor(x) + 0.5 ? Math.floor(x) : Math.round(x); break;
        case 'round_prefer_ceil': i = Math.round(x); break;
        case 'floor': i = Math.floor(x); break;
        case 'ceil': i = Math.ceil(x); break;
        default: return fail(`nearest_mode '${nearestMode}' is not supported`);
      }
      m.push(Math.min(Math.max(i, 0), L - 1));
    }
    maps.push(m);
  }
  const st = stridesOfDims(dims);
  const ost = stridesOfDims(outDims);
  const n = sizeOfDims(outDims);
  const index = new Int32Array(n);
  for (let o = 0; o < n; o++) {
    let k = 0;
    for (let d = 0; d < r; d++) k += maps[d][Math.floor(o / ost[d]) % outDims[d]] * st[d];
    index[o] = k;
  }
  return index;
}

function take(t: FoldTensor, outDims: number[], index: ArrayLike<number>, pad = 0): FoldTensor {
  return { dims: outDims, dataType: t.dataType, data: Float64Array.from(index, (i) => (i < 0 ? pad : t.data[i])) };
}

function reduce(node: OnnxNode, ins: (FoldTensor | undefined)[], opset: number, axesInputFrom: number, init: number, step: (acc: number, v: number) => number, fin: (acc: number, n: number) => number): FoldTensor {
  const x = ins[0]!;
  const r = x.dims.length;
  const keep = attrI(node, 'keepdims', 1);
  let axes = axesFrom(node, ins, 1, axesInputFrom, opset);
  const noopEmpty = opset >= axesInputFrom && attrI(node, 'noop_with_empty_axes', 0) === 1;
  if (!axes || axes.length === 0) {
    if (noopEmpty) return x;
    axes = x.dims.map((_, i) => i);
  }
  const ax = axes.map((a) => normAxis(a, r));
  const outDimsKeep = x.dims.map((d, i) => (ax.includes(i) ? 1 : d));
  const outDims = keep ? outDimsKeep : x.dims.filter((_, i) => !ax.includes(i));
  const n = sizeOfDims(outDimsKeep);
  const acc = new Array<number>(n).fill(init);
  const ost = stridesOfDims(outDimsKeep);
  const st = stridesOfDims(x.dims);
  for (let i = 0; i < x.data.length; i++) {
    let o = 0;
    for (let d = 0; d < r; d++) if (!ax.includes(d)) o += (Math.floor(i / st[d]) % x.dims[d]) * ost[d];
    acc[o] = step(acc[o], x.data[i]);
  }
  const cnt = sizeOfDims(ax.map((a) => x.dims[a]));
  return typed(outDims, x.dataType, acc.map((a) => fin(a, cnt)));
}

function matmul(a: FoldTensor, b: FoldTensor): FoldTensor {
  const ad = a.dims.length === 1 ? [1, a.dims[0]] : a.dims;
  const bd = b.dims.length === 1 ? [b.dims[0], 1] : b.dims;
  const M = ad[ad.length - 2];
  const K = ad[ad.length - 1];
  const N = bd[bd.length - 1];
  if (bd[bd.length - 2] !== K) fail(`MatMul shapes [${a.dims}] and [${b.dims}] do not match`);
  const batch = broadcastDims([ad.slice(0, -2), bd.slice(0, -2)]);
  const ai = broadcastIndex(ad.slice(0, -2), batch);
  const bi = broadcastIndex(bd.slice(0, -2), batch);
  const nb = sizeOfDims(batch);
  const data = new Float64Array(nb * M * N);
  for (let t = 0; t < nb; t++) {
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a.data[ai[t] * M * K + i * K + k] * b.data[bi[t] * K * N + k * N + j];
      data[(t * M + i) * N + j] = castValue(s, a.dataType);
    }
  }
  let dims = [...batch, M, N];
  if (a.dims.length === 1) dims = [...batch, N];
  if (b.dims.length === 1) dims = a.dims.length === 1 ? [...batch] : [...batch, M];
  return { dims, dataType: a.dataType, data };
}

const UNARY: Record<string, (v: number) => number> = {
  Neg: (v) => -v, Abs: Math.abs, Sqrt: Math.sqrt, Exp: Math.exp, Log: Math.log, Floor: Math.floor, Ceil: Math.ceil,
  Round: roundEven, Reciprocal: (v) => 1 / v, Relu: (v) => Math.max(v, 0), Sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  Tanh: Math.tanh, Erf: erf, Sign: Math.sign, Sin: Math.sin, Cos: Math.cos, Softplus: (v) => Math.log1p(Math.exp(v)),
  Tan: Math.tan, Sinh: Math.sinh, Cosh: Math.cosh, Asin: Math.asin, Acos: Math.acos, Atan: Math.atan, Asinh: Math.asinh,
  Acosh: Math.acosh, Atanh: Math.atanh,
  Identity: (v) => v,
};

/** Float-only unary ops (an integer input is refused). */
const FLOAT_UNARY = ['Sqrt', 'Exp', 'Log', 'Reciprocal', 'Sigmoid', 'Tanh', 'Erf', 'Sin', 'Cos', 'Softplus', 'Tan', 'Sinh', 'Cosh', 'Asin', 'Acos', 'Atan', 'Asinh', 'Acosh', 'Atanh'];

/** Bitwise ops on integer tensors, exact on 64 bits (BigInt), wrapped to the element type. */
const BITWISE: Record<string, (a: bigint, b: bigint) => bigint> = {
  BitwiseAnd: (a, b) => a & b, BitwiseOr: (a, b) => a | b, BitwiseXor: (a, b) => a ^ b,
};

/** An integer result of a bitwise op in element type dt (64-bit types wrap as two's complement, the rest by castValue). */
function wrapBig(v: bigint, dt: number): number {
  if (dt === INT64) return Number(BigInt.asIntN(64, v));
  if (dt === 13) return Number(BigInt.asUintN(64, v));
  return castValue(Number(BigInt.asIntN(64, v)), dt);
}

function integerOnly(op: string, t: FoldTensor, types: Set<number> = INT_TYPES): void {
  if (!types.has(t.dataType)) fail(`${op} needs an integer tensor, got element type ${t.dataType}`);
}

const UINT_TYPES = new Set([2, 4, 12, 13]);

const COMPARE: Record<string, (a: number, b: number) => number> = {
  Equal: (a, b) => +(a === b), Less: (a, b) => +(a < b), Greater: (a, b) => +(a > b), LessOrEqual: (a, b) => +(a <= b),
  GreaterOrEqual: (a, b) => +(a >= b), And: (a, b) => +(!!a && !!b), Or: (a, b) => +(!!a || !!b), Xor: (a, b) => +(!!a !== !!b),
};

/** ONNX ops this module can evaluate on constant inputs. */
export const foldableOps: readonly string[] = [
  'Shape', 'Size', 'ConstantOfShape', 'Range', 'Cast', 'CastLike', 'Identity', 'Gather', 'GatherElements', 'GatherND',
  'Slice', 'Concat', 'Split', 'Squeeze', 'Unsqueeze', 'Reshape', 'Flatten', 'Expand', 'Tile', 'Transpose', 'Trilu',
  'OneHot', 'ScatterND', 'ScatterElements', 'Scatter', 'Where', 'Add', 'Sub', 'Mul', 'Div', 'Mod', 'Pow', 'Min', 'Max',
  'Sum', 'Mean', 'ReduceSum', 'ReduceProd', 'ReduceMax', 'ReduceMin', 'ReduceMean', 'ArgMax', 'ArgMin', 'Clip',
  'Softmax', 'MatMul', 'Gemm', 'NonZero', 'Pad', 'CumSum', 'Not', 'Dropout', 'DepthToSpace', 'SpaceToDepth',
  'IsNaN', 'IsInf', 'EyeLike', 'BitShift', 'BitwiseNot', 'Shrink', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceL1', 'ReduceL2',
  'ReduceSumSquare',
  ...Object.keys(UNARY), ...Object.keys(COMPARE), ...Object.keys(BITWISE),
].filter((v, i, a) => a.indexOf(v) === i);

const numbers = (t: FoldTensor | undefined) => (t ? Array.from(t.data) : undefined);

function evaluate(node: OnnxNode, ins: (FoldTensor | undefined)[], opset: number, nOut: number): FoldTensor[] | undefined {
  const x = ins[0]!;
  const op = node.op;
  if (op in UNARY && op !== 'Identity') {
    if (isInt(x.dataType) && FLOAT_UNARY.includes(op)) fail(`${op} of an integer tensor`);
    return [elementwise([x], x.dataType, UNARY[op])];
  }
  if (op in COMPARE) return [elementwise([x, ins[1]!], BOOL, COMPARE[op])];
  if (op in BITWISE) {
    integerOnly(op, x);
    if (ins[1]!.dataType !== x.dataType) fail(`${op} of element types ${x.dataType} and ${ins[1]!.dataType}`);
    return [elementwise([x, ins[1]!], x.dataType, (a, b) => wrapBig(BITWISE[op](BigInt(a), BigInt(b)), x.dataType))];
  }
  switch (op) {
    case 'Identity': return [x];
    case 'Dropout': return nOut > 1 ? [x, typed(x.dims, BOOL, new Array(x.data.length).fill(1))] : [x];
    case 'Shape': {
      const r = x.dims.length;
      let s = attrI(node, 'start', 0);
      let e = attrI(node, 'end', r);
      if (s < 0) s += r;
      if (e < 0) e += r;
      s = Math.min(Math.max(s, 0), r);
      e = Math.min(Math.max(e, 0), r);
      const d = x.dims.slice(s, Math.max(s, e));
      return [mk([d.length], INT64, d)];
    }
    case 'Size': return [mk([], INT64, [x.data.length])];
    case 'ConstantOfShape': {
      const dims = Array.from(x.data);
      if (dims.some((d) => d < 0 || !Number.isInteger(d))) fail(`shape [${dims}] is invalid`);
      checkSize(dims);
      const v = attr(node, 'value');
      let value = 0;
      let dt = FLOAT;
      if (v) {
        if (v.type !== 'tensor') fail(`attribute 'value' should be a tensor, got ${v.type}`);
        const t = (v as { value: OnnxTensor }).value;
        if (t.data.length !== 1) fail(`attribute 'value' must hold one element, it has ${t.data.length}`);
        value = t.data[0];
        dt = t.dataType;
      }
      return [mk(dims, dt, new Array(sizeOfDims(dims)).fill(castValue(value, dt)))];
    }
    case 'Range': {
      const [s, l, d] = [ins[0]!, ins[1]!, ins[2]!].map((t) => {
        if (t.data.length !== 1) fail('start, limit and delta must be scalars');
        return t.data[0];
      });
      if (d === 0) fail('delta is 0');
      const n = Math.max(Math.ceil((l - s) / d), 0);
      checkSize([n]);
      const dt = x.dataType;
      const vals: number[] = [];
      // onnxruntime accumulates: value += delta, in the element type (float32 rounding for FLOAT).
      let v = castValue(s, dt);
      for (let i = 0; i < n; i++) {
        vals.push(v);
        v = castValue(v + d, dt);
      }
      return [typed([n], dt, vals)];
    }
    case 'Cast': {
      const to = attrI(node, 'to', 0);
      if (!to) fail("attribute 'to' is required");
      if (to === 8) fail('Cast to STRING is not supported');
      return [typed(x.dims, to, x.data)];
    }
    case 'CastLike': return [typed(x.dims, ins[1]!.dataType, x.data)];
    case 'Gather': {
      const axis = normAxis(attrI(node, 'axis', 0), x.dims.length);
      const idx = ins[1]!;
      const { outDims, index } = gatherIndex(x.dims, axis, Array.from(idx.data), idx.dims);
      return [take(x, outDims, index)];
    }
    case 'GatherElements': {
      const axis = normAxis(attrI(node, 'axis', 0), x.dims.length);
      const idx = ins[1]!;
      return [take(x, idx.dims, gatherElementsIndex(x.dims, axis, Array.from(idx.data), idx.dims))];
    }
    case 'GatherND': {
      const idx = ins[1]!;
      const { outDims, index } = gatherNDIndex(x.dims, Array.from(idx.data), idx.dims, attrI(node, 'batch_dims', 0));
      return [take(x, outDims, index)];
    }
    case 'Slice': {
      const p = sliceParams(node, ins, opset);
      const { outDims, index } = sliceIndex(x.dims, resolveSlice(x.dims, p.starts, p.ends, p.axes, p.steps));
      return [take(x, outDims, index)];
    }
    case 'Concat': {
      const ts = ins.filter((t): t is FoldTensor => !!t);
      const r = ts[0].dims.length;
      const axis = normAxis(attrI(node, 'axis', opset < 4 ? 1 : NaN), r);
      for (const t of ts) if (t.dims.length !== r || t.dims.some((d, i) => i !== axis && d !== ts[0].dims[i])) fail(`inputs of shapes ${ts.map((u) => `[${u.dims}]`).join(', ')} do not match outside axis ${axis}`);
      const outDims = ts[0].dims.slice();
      outDims[axis] = ts.reduce((s, t) => s + t.dims[axis], 0);
      const pre = sizeOfDims(outDims.slice(0, axis));
      const data: number[] = [];
      for (let p = 0; p < pre; p++) for (const t of ts) {
        const chunk = sizeOfDims(t.dims.slice(axis));
        for (let i = 0; i < chunk; i++) data.push(t.data[p * chunk + i]);
      }
      return [typed(outDims, ts[0].dataType, data)];
    }
    case 'Split': {
      const axis = normAxis(attrI(node, 'axis', 0), x.dims.length);
      const sizes = splitSizes(node, x.dims[axis], numbers(ins[1]), opset, nOut);
      const outs: FoldTensor[] = [];
      let start = 0;
      for (const s of sizes) {
        const sl = x.dims.map((d) => ({ start: 0, step: 1, count: d }));
        sl[axis] = { start, step: 1, count: s };
        const { outDims, index } = sliceIndex(x.dims, sl);
        outs.push(take(x, outDims, index));
        start += s;
      }
      return outs;
    }
    case 'Squeeze': return [{ ...x, dims: squeezeDims(x.dims, axesFrom(node, ins, 1, 13, opset)) }];
    case 'Unsqueeze': {
      const axes = axesFrom(node, ins, 1, 13, opset);
      if (!axes) fail('axes are required');
      return [{ ...x, dims: unsqueezeDims(x.dims, axes!) }];
    }
    case 'Reshape': {
      if (!ins[1]) fail('the shape input is required');
      return [{ ...x, dims: reshapeDims(x.dims, Array.from(ins[1]!.data), attrI(node, 'allowzero', 0) === 1) }];
    }
    case 'Flatten': {
      const r = x.dims.length;
      let a = attrI(node, 'axis', 1);
      if (a < 0) a += r;
      if (a < 0 || a > r) fail(`axis ${a} is out of range for rank ${r}`);
      return [{ ...x, dims: [sizeOfDims(x.dims.slice(0, a)), sizeOfDims(x.dims.slice(a))] }];
    }
    case 'Expand': {
      const { outDims, index } = expandIndex(x.dims, Array.from(ins[1]!.data));
      return [take(x, outDims, index)];
    }
    case 'Tile': {
      const { outDims, index } = tileIndex(x.dims, Array.from(ins[1]!.data));
      return [take(x, outDims, index)];
    }
    case 'Transpose': return [transpose(x, attrInts(node, 'perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i))];
    case 'Trilu': {
      const keep = triluKeep(x.dims, attrI(node, 'upper', 1) === 1, ins[1] ? ins[1].data[0] : 0);
      return [{ ...x, data: x.data.map((v, i) => (keep[i] ? v : 0)) }];
    }
    case 'OneHot': {
      const depth = ins[1]!.data[0];
      const vals = ins[2]!;
      if (vals.data.length !== 2) fail('values must hold [off_value, on_value]');
      if (!(depth >= 1) || !Number.isInteger(Math.trunc(depth))) fail(`depth ${depth} is invalid`);
      const D = Math.trunc(depth);
      const r = x.dims.length + 1;
      const axis = normAxis(attrI(node, 'axis', -1), r);
      const outDims = [...x.dims.slice(0, axis), D, ...x.dims.slice(axis)];
      checkSize(outDims);
      const pre = sizeOfDims(x.dims.slice(0, axis));
      const post = sizeOfDims(x.dims.slice(axis));
      const data = new Float64Array(pre * D * post);
      for (let p = 0; p < pre; p++) for (let d = 0; d < D; d++) for (let q = 0; q < post; q++) {
        let v = Math.trunc(x.data[p * post + q]);
        if (v < 0) v += D;
        data[(p * D + d) * post + q] = v === d ? vals.data[1] : vals.data[0];
      }
      return [{ dims: outDims, dataType: vals.dataType, data }];
    }
    case 'ScatterND':
    case 'ScatterElements':
    case 'Scatter': {
      const red = attrS(node, 'reduction', 'none');
      const idx = ins[1]!;
      const upd = ins[2]!;
      const targets = op === 'ScatterND' ? scatterNDTargets(x.dims, Array.from(idx.data), idx.dims)
        : scatterElementsTargets(x.dims, normAxis(attrI(node, 'axis', 0), x.dims.length), Array.from(idx.data), idx.dims);
      if (targets.length !== upd.data.length) fail(`updates have ${upd.data.length} elements, the indices select ${targets.length}`);
      const data = Float64Array.from(x.data);
      targets.forEach((t, i) => {
        const u = upd.data[i];
        data[t] = castValue(red === 'add' ? data[t] + u : red === 'mul' ? data[t] * u : red === 'max' ? Math.max(data[t], u) : red === 'min' ? Math.min(data[t], u) : u, x.dataType);
      });
      return [{ ...x, data }];
    }
    case 'Where': return [elementwise([x, ins[1]!, ins[2]!], ins[1]!.dataType, (c, a, b) => (c ? a : b))];
    case 'Add': return [elementwise([x, ins[1]!], x.dataType, (a, b) => a + b)];
    case 'Sub': return [elementwise([x, ins[1]!], x.dataType, (a, b) => a - b)];
    case 'Mul': return [elementwise([x, ins[1]!], x.dataType, (a, b) => a * b)];
    case 'Div': {
      const int = isInt(x.dataType);
      return [elementwise([x, ins[1]!], x.dataType, (a, b) => {
        if (int && b === 0) fail('integer division by zero');
        return int ? Math.trunc(a / b) : a / b;
      })];
    }
    case 'Mod': {
      const fm = attrI(node, 'fmod', 0);
      if (!fm && !isInt(x.dataType)) fail('Mod with fmod = 0 needs integer inputs');
      return [elementwise([x, ins[1]!], x.dataType, (a, b) => {
        if (isInt(x.dataType) && b === 0) fail('integer modulo by zero');
        if (fm) return a % b;
        const m = a % b;
        return m !== 0 && Math.sign(m) !== Math.sign(b) ? m + b : m;
      })];
    }
    case 'Pow': return [elementwise([x, ins[1]!], x.dataType, (a, b) => a ** b)];
    case 'Min': case 'Max': case 'Sum': case 'Mean': {
      const ts = ins.filter((t): t is FoldTensor => !!t);
      const f = op === 'Min' ? (...v: number[]) => (v.some(Number.isNaN) ? NaN : Math.min(...v)) : op === 'Max' ? (...v: number[]) => (v.some(Number.isNaN) ? NaN : Math.max(...v))
        : op === 'Sum' ? (...v: number[]) => v.reduce((a, b) => a + b, 0) : (...v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
      return [elementwise(ts, x.dataType, f)];
    }
    case 'ReduceSum': return [reduce(node, ins, opset, 13, 0, (a, v) => a + v, (a) => a)];
    case 'ReduceMean': return [reduce(node, ins, opset, 18, 0, (a, v) => a + v, (a, n) => a / n)];
    case 'ReduceProd': return [reduce(node, ins, opset, 18, 1, (a, v) => a * v, (a) => a)];
    case 'ReduceMax': return [reduce(node, ins, opset, 18, -Infinity, (a, v) => Math.max(a, v), (a) => a)];
    case 'ReduceMin': return [reduce(node, ins, opset, 18, Infinity, (a, v) => Math.min(a, v), (a) => a)];
    case 'ArgMax': case 'ArgMin': {
      const r = x.dims.length;
      const axis = normAxis(attrI(node, 'axis', 0), r);
      const keep = attrI(node, 'keepdims', 1);
      const last = attrI(node, 'select_last_index', 0) === 1;
      const D = x.dims[axis];
      const pre = sizeOfDims(x.dims.slice(0, axis));
      const post = sizeOfDims(x.dims.slice(axis + 1));
      const out: number[] = [];
      for (let p = 0; p < pre; p++) for (let q = 0; q < post; q++) {
        let best = 0;
        for (let d = 1; d < D; d++) {
          const v = x.data[(p * D + d) * post + q];
          const b = x.data[(p * D + best) * post + q];
          const better = op === 'ArgMax' ? (last ? v >= b : v > b) : last ? v <= b : v < b;
          if (better) best = d;
        }
        out.push(best);
      }
      const dims = keep ? x.dims.map((d, i) => (i === axis ? 1 : d)) : x.dims.filter((_, i) => i !== axis);
      return [mk(dims, INT64, out)];
    }
    case 'Clip': {
      let lo = -Infinity;
      let hi = Infinity;
      if (opset < 11) {
        lo = attrF(node, 'min', -Infinity);
        hi = attrF(node, 'max', Infinity);
      } else {
        if (ins[1]) lo = ins[1].data[0];
        if (ins[2]) hi = ins[2].data[0];
      }
      return [elementwise([x], x.dataType, (v) => Math.min(Math.max(v, lo), hi))];
    }
    case 'Softmax': {
      const r = x.dims.length;
      const axis = normAxis(attrI(node, 'axis', opset < 13 ? 1 : -1), r);
      const data = new Float64Array(x.data.length);
      if (opset < 13) {
        // coerce to 2-D at axis
        const inner = sizeOfDims(x.dims.slice(axis));
        for (let o = 0; o < x.data.length; o += inner) softmaxRun(x.data, data, o, inner, 1);
      } else {
        const D = x.dims[axis];
        const post = sizeOfDims(x.dims.slice(axis + 1));
        const pre = sizeOfDims(x.dims.slice(0, axis));
        for (let p = 0; p < pre; p++) for (let q = 0; q < post; q++) softmaxRun(x.data, data, p * D * post + q, D, post);
      }
      return [typed(x.dims, x.dataType, data)];
    }
    case 'MatMul': return [matmul(x, ins[1]!)];
    case 'Gemm': {
      let a = x;
      let b = ins[1]!;
      if (attrI(node, 'transA', 0)) a = transpose(a, [1, 0]);
      if (attrI(node, 'transB', 0)) b = transpose(b, [1, 0]);
      const alpha = attrF(node, 'alpha', 1);
      const beta = attrF(node, 'beta', 1);
      const ab = matmul({ ...a, dataType: DOUBLE }, b);
      const c = ins[2];
      return [c ? elementwise([ab, c], x.dataType, (p, q) => alpha * p + beta * q) : elementwise([ab], x.dataType, (p) => alpha * p)];
    }
    case 'NonZero': {
      const r = x.dims.length;
      const st = stridesOfDims(x.dims);
      const nz: number[][] = [];
      for (let i = 0; i < x.data.length; i++) if (x.data[i] !== 0) nz.push(coordsOf(i, x.dims, st));
      const data: number[] = [];
      for (let d = 0; d < Math.max(r, 1); d++) for (const c of nz) data.push(r ? c[d] : 0);
      return [mk([Math.max(r, 1), nz.length], INT64, data)];
    }
    case 'Pad': {
      const mode = attrS(node, 'mode', 'constant');
      let pads: number[] | undefined;
      let value = 0;
      if (opset < 11) {
        pads = attrInts(node, 'pads');
        value = attrF(node, 'value', 0);
      } else {
        pads = numbers(ins[1]);
        if (ins[2] && ins[2].data.length) value = ins[2].data[0];
        const axes = numbers(ins[3]);
        if (axes && pads) {
          const r = x.dims.length;
          const full = new Array<number>(2 * r).fill(0);
          axes.forEach((a0, i) => {
            const a = normAxis(a0, r);
            full[a] = pads![i];
            full[a + r] = pads![i + axes.length];
          });
          pads = full;
        }
      }
      if (!pads) fail('pads are required');
      const { outDims, index } = padIndex(x.dims, pads!, mode);
      return [take(x, outDims, index, castValue(value, x.dataType))];
    }
    case 'CumSum': {
      const axis = normAxis(ins[1]!.data[0], x.dims.length);
      const excl = attrI(node, 'exclusive', 0) === 1;
      const rev = attrI(node, 'reverse', 0) === 1;
      const D = x.dims[axis];
      const post = sizeOfDims(x.dims.slice(axis + 1));
      const pre = sizeOfDims(x.dims.slice(0, axis));
      const data = new Float64Array(x.data.length);
      for (let p = 0; p < pre; p++) for (let q = 0; q < post; q++) {
        let s = 0;
        for (let k = 0; k < D; k++) {
          const d = rev ? D - 1 - k : k;
          const i = (p * D + d) * post + q;
          // Accumulated in the element type (float32 rounding per step), as onnxruntime does.
          if (excl) {
            data[i] = castValue(s, x.dataType);
            s = castValue(s + x.data[i], x.dataType);
          } else {
            s = castValue(s + x.data[i], x.dataType);
            data[i] = s;
          }
        }
      }
      return [{ ...x, data }];
    }
    case 'DepthToSpace': {
      const { outDims, index } = depthToSpaceIndex(x.dims, attrI(node, 'blocksize', 0), attrS(node, 'mode', 'DCR'));
      return [take(x, outDims, index)];
    }
    case 'SpaceToDepth': {
      const { outDims, index } = spaceToDepthIndex(x.dims, attrI(node, 'blocksize', 0));
      return [take(x, outDims, index)];
    }
    case 'Not': return [elementwise([x], BOOL, (v) => +!v)];
    case 'BitwiseNot': {
      integerOnly(op, x);
      return [elementwise([x], x.dataType, (a) => wrapBig(~BigInt(a), x.dataType))];
    }
    case 'BitShift': {
      // ONNX: unsigned types only; a shift by the type's width or more gives 0 (onnxruntime).
      integerOnly(op, x, UINT_TYPES);
      const dir = attrS(node, 'direction', '');
      if (dir !== 'LEFT' && dir !== 'RIGHT') fail(`attribute 'direction' must be 'LEFT' or 'RIGHT', got '${dir}'`);
      const width = BigInt(({ 2: 8, 4: 16, 12: 32, 13: 64 } as Record<number, number>)[x.dataType]);
      return [elementwise([x, ins[1]!], x.dataType, (a, b) => {
        const n = BigInt(b);
        if (n >= width) return 0;
        const v = dir === 'LEFT' ? BigInt(a) << n : BigInt(a) >> n;
        return Number(BigInt.asUintN(Number(width), v));
      })];
    }
    case 'IsNaN': return [elementwise([x], BOOL, (v) => +Number.isNaN(v))];
    case 'IsInf': {
      const neg = attrI(node, 'detect_negative', 1) === 1;
      const pos = attrI(node, 'detect_positive', 1) === 1;
      return [elementwise([x], BOOL, (v) => +((pos && v === Infinity) || (neg && v === -Infinity)))];
    }
    case 'EyeLike': {
      if (x.dims.length !== 2) fail(`the input must be 2-D, got [${x.dims}]`);
      const dt = attrI(node, 'dtype', x.dataType);
      const k = attrI(node, 'k', 0);
      const [R, C] = x.dims;
      const data = new Float64Array(R * C);
      for (let i = 0; i < R; i++) if (i + k >= 0 && i + k < C) data[i * C + i + k] = 1;
      return [{ dims: [R, C], dataType: dt, data }];
    }
    case 'Shrink': {
      const l = attrF(node, 'lambd', 0.5);
      const b = attrF(node, 'bias', 0);
      return [elementwise([x], x.dataType, (v) => (v < -l ? v + b : v > l ? v - b : 0))];
    }
    case 'ReduceLogSum': return [reduce(node, ins, opset, 18, 0, (a, v) => a + v, (a) => Math.log(a))];
    case 'ReduceLogSumExp': return [reduce(node, ins, opset, 18, 0, (a, v) => a + Math.exp(v), (a) => Math.log(a))];
    case 'ReduceL1': return [reduce(node, ins, opset, 18, 0, (a, v) => a + Math.abs(v), (a) => a)];
    case 'ReduceL2': return [reduce(node, ins, opset, 18, 0, (a, v) => a + v * v, (a) => Math.sqrt(a))];
    case 'ReduceSumSquare': return [reduce(node, ins, opset, 18, 0, (a, v) => a + v * v, (a) => a)];
  }
  return undefined;
}

function softmaxRun(src: Float64Array, dst: Float64Array, start: number, n: number, stride: number): void {
  let m = -Infinity;
  for (let k = 0; k < n; k++) m = Math.max(m, src[start + k * stride]);
  let s = 0;
  for (let k = 0; k < n; k++) s += Math.exp(src[start + k * stride] - m);
  for (let k = 0; k < n; k++) dst[start + k * stride] = Math.exp(src[start + k * stride] - m) / s;
}

/** Ops that only move a dequantized weight's values: its integers, scales and zero points move with them. */
const QUANT_CARRYING = new Set(['Identity', 'Transpose', 'Reshape', 'Squeeze', 'Unsqueeze', 'Flatten']);

/**
 * The integers and per-slice scales of a pre-quantized weight (DequantizeLinear of a constant), moved like its
 * values by a pure layout op, so that the op reading it still uses the model's own integer weights. Undefined
 * when the input has none, or the quantization axis does not survive the reshape.
 */
function carriedQuant(node: OnnxNode, ins: (FoldTensor | undefined)[], src: OnnxTensor | undefined, out: OnnxTensor, opset: number): OnnxTensor['quant'] | undefined {
  const q = src?.quant;
  if (!q || !QUANT_CARRYING.has(node.op) || !ins[0]) return undefined;
  const moved = evaluate(node, [{ ...ins[0], data: q.ints }, ...ins.slice(1)], opset, 1)?.[0];
  if (!moved) return undefined;
  let axis = 0;
  if (q.scales.length > 1) {
    const dims = src!.dims;
    if (node.op === 'Transpose') {
      const perm = attrInts(node, 'perm') ?? dims.map((_, i) => dims.length - 1 - i);
      axis = perm.indexOf(q.axis);
    } else {
      // The channel axis survives when some output axis has its size and the same number of elements before it.
      const before = sizeOfDims(dims.slice(0, q.axis));
      axis = out.dims.findIndex((d, i) => d === dims[q.axis] && sizeOfDims(out.dims.slice(0, i)) === before);
      if (axis < 0) return undefined;
    }
  }
  return { ints: moved.data, scales: q.scales, zeroPoints: q.zeroPoints, axis };
}

/**
 * Evaluate `node` on constant inputs (`input(name)` gives each; '' names an omitted optional input). Returns
 * one tensor per node output, undefined when the op is not foldable here (the op's importer then sees it), or
 * `{ error }` for a node that cannot be evaluated (bad attributes, shapes).
 */
export function foldNode(node: OnnxNode, input: (name: string) => OnnxTensor | undefined, opset: number): OnnxTensor[] | { error: string } | undefined {
  if (node.domain && node.domain !== 'ai.onnx') return undefined;
  if (!foldableOps.includes(node.op)) return undefined;
  const ins = node.inputs.map((n) => (n ? input(n) : undefined));
  if (!ins[0] && !['Concat', 'Min', 'Max', 'Sum', 'Mean'].includes(node.op)) return undefined;
  try {
    const outs = evaluate(node, ins, opset, node.outputs.length);
    if (!outs) return undefined;
    const res: OnnxTensor[] = outs.map((t, k) => ({ name: node.outputs[k] ?? '', dims: t.dims, dataType: t.dataType, data: t.data }));
    const q = carriedQuant(node, ins, input(node.inputs[0]), res[0], opset);
    if (q) res[0].quant = q;
    return res;
  } catch (e) {
    if (e instanceof FoldError) return { error: e.message };
    // A missing required input or a malformed tensor: say so rather than fail inside the evaluator.
    if (e instanceof TypeError || e instanceof RangeError) return { error: `cannot be evaluated (${node.inputs.length} inputs given; ${e.message})` };
    throw e;
  }
}
