/**
 * Dense (fully connected) layers: ONNX Gemm, MatMul with a constant right-hand side, and Add of a constant
 * bias right after either.
 *
 * Cost: 0 constraints. Weights are circuit constants, so every output is a linear combination of the inputs;
 * the non-linear cost is paid by whatever consumes it (a requantization, or the public output).
 */
import type { DenseLayer, QDense } from '../ir/types.ts';

import type { OnnxNode, OnnxTensor } from '../onnx/load.ts';
import { attrFloat, attrInt, checkKnownAttrs } from './attrs.ts';
import type { FloatLayerDef, ImportContext, OpImporter, QLayerDef } from './types.ts';

/** Terms per circom expression: circom2 crashes on one expression of ~600 terms and is quadratic on long chains. */
const CHUNK = 48;

/**
 * A constant that broadcasts (numpy rules, right-aligned) to `outShape` without changing it and varies only
 * along the last axis, as a vector of the last axis' length; null otherwise. A [n, 1] bias against [1, n]
 * would broadcast the output to [n, n], so it is refused.
 */
function vectorFor(c: OnnxTensor, outShape: number[]): Float64Array | null {
  const n = outShape[outShape.length - 1];
  if (c.dims.length > outShape.length) return null;
  const last = c.dims.length ? c.dims[c.dims.length - 1] : 1;
  const leadingOk = c.dims.slice(0, -1).every((d) => d === 1);
  if (!leadingOk || (last !== 1 && last !== n)) return null;
  if (last === 1) return new Float64Array(n).fill(c.data[0]);
  return Float64Array.from(c.data);
}

function importGemm(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, ['alpha', 'beta', 'transA', 'transB']);
  const alpha = attrFloat(node, ctx, 'alpha', 1);
  const beta = attrFloat(node, ctx, 'beta', 1);
  const transA = attrInt(node, ctx, 'transA', 0);
  const transB = attrInt(node, ctx, 'transB', 0);
  const aShape = ctx.current.shape;
  if (node.inputs[0] !== ctx.current.name) return ctx.issue('input A must be the activation, and B a constant');
  if (aShape.length !== 2) return ctx.issue(`input A must be 2-D, got shape [${aShape}]`);
  const [m, k] = transA ? [aShape[1], aShape[0]] : aShape;
  if (m !== 1) return ctx.issue(`batch size must be 1, got ${m} rows in A`);
  const b = ctx.constant(node.inputs[1]);
  if (!b) return ctx.issue(`input B ('${node.inputs[1]}') must be a constant initializer`);
  if (b.dims.length !== 2) return ctx.issue(`B must be 2-D, got dims [${b.dims}]`);
  const [bk, n] = transB ? [b.dims[1], b.dims[0]] : b.dims;
  if (bk !== k) return ctx.issue(`A has ${k} columns but B has ${bk} rows`);
  const weights = new Float64Array(n * k);
  for (let j = 0; j < n; j++)
    for (let i = 0; i < k; i++) weights[j * k + i] = alpha * (transB ? b.data[j * k + i] : b.data[i * n + j]);
  const bias = new Float64Array(n);
  const cName = node.inputs[2];
  if (cName) {
    const c = ctx.constant(cName);
    if (!c) return ctx.issue(`input C ('${cName}') must be a constant initializer`);
    const v = vectorFor(c, [1, n]);
    if (!v) return ctx.issue(`C with dims [${c.dims}] does not broadcast to [1, ${n}]`);
    for (let j = 0; j < n; j++) bias[j] = beta * v[j];
  } else if (ctx.opset < 11) {
    return ctx.issue('input C is required before opset 11');
  }
  ctx.push({ kind: 'dense', name: node.name, inShape: aShape, outShape: [1, n], inSize: k, outSize: n, weights, bias });
}

function importMatMul(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, []);
  const aShape = ctx.current.shape;
  if (node.inputs[0] !== ctx.current.name) return ctx.issue('input A must be the activation, and B a constant');
  const b = ctx.constant(node.inputs[1]);
  if (!b) return ctx.issue(`input B ('${node.inputs[1]}') must be a constant initializer`);
  if (b.dims.length !== 2) return ctx.issue(`B must be 2-D, got dims [${b.dims}]`);
  const k = aShape[aShape.length - 1];
  if (aShape.slice(0, -1).some((d) => d !== 1)) return ctx.issue(`batch size must be 1, got A of shape [${aShape}]`);
  const [bk, n] = b.dims;
  if (bk !== k) return ctx.issue(`A has ${k} columns but B has ${bk} rows`);
  const weights = new Float64Array(n * k);
  for (let j = 0; j < n; j++) for (let i = 0; i < k; i++) weights[j * k + i] = b.data[i * n + j];
  const outShape = aShape.length === 1 ? [n] : [...aShape.slice(0, -1), n];
  ctx.push({ kind: 'dense', name: node.name, inShape: aShape, outShape, inSize: k, outSize: n, weights, bias: new Float64Array(n) });
}

/** Add(activation, constant) right after a dense layer folds into its bias. */
function importAdd(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, []);
  const other = node.inputs.find((x) => x !== ctx.current.name);
  const c = other === undefined ? undefined : ctx.constant(other);
  const prev = ctx.producer();
  if (!c || node.inputs.length !== 2) return ctx.issue('only Add of the activation and a constant bias is supported (adding two activations needs a later zkonnx)');
  if (!prev || prev.kind !== 'dense') return ctx.issue('a constant Add is supported only right after Gemm or MatMul (as its bias)');
  const n = prev.outSize;
  const outShape = ctx.current.shape;
  const v = vectorFor(c, outShape);
  if (!v) return ctx.issue(`constant with dims [${c.dims}] does not broadcast to [${outShape}] along the last axis without changing the shape`);
  for (let j = 0; j < n; j++) prev.bias[j] += v[j];
  prev.name = `${prev.name}+${node.name}`;
  ctx.alias();
}

export const denseImporters: OpImporter[] = [
  { onnxOps: ['Gemm'], importNode: importGemm },
  { onnxOps: ['MatMul'], importNode: importMatMul },
  { onnxOps: ['Add'], importNode: importAdd },
];

export const denseFloat: FloatLayerDef<DenseLayer> = {
  forward(l, x) {
    const y = new Float64Array(l.outSize);
    for (let j = 0; j < l.outSize; j++) {
      let s = l.bias[j];
      const row = j * l.inSize;
      for (let i = 0; i < l.inSize; i++) s += l.weights[row + i] * x[i];
      y[j] = s;
    }
    return y;
  },

  /**
   * int8 symmetric weights per output channel; int32 bias at scale s_in * s_w[j]; the input zero point folds
   * into the bias. Output bounds are exact interval bounds over all uint8 inputs.
   */
  quantize(l, ctx) {
    const inQ = ctx.ensureU8(l.name);
    const { inSize: k, outSize: n } = l;
    const weights = new Int8Array(n * k);
    const weightScales: number[] = [];
    const bias: number[] = [];
    const lo: number[] = [];
    const hi: number[] = [];
    const scales: number[] = [];
    const xLo = -inQ.zeroPoint;
    const xHi = 255 - inQ.zeroPoint;
    for (let j = 0; j < n; j++) {
      let maxAbs = 0;
      for (let i = 0; i < k; i++) maxAbs = Math.max(maxAbs, Math.abs(l.weights[j * k + i]));
      const sw = maxAbs > 0 ? maxAbs / 127 : 1;
      const accScale = inQ.scale * sw;
      let sumW = 0;
      let accLo = 0;
      let accHi = 0;
      for (let i = 0; i < k; i++) {
        const w = Math.max(-127, Math.min(127, Math.round(l.weights[j * k + i] / sw)));
        weights[j * k + i] = w;
        sumW += w;
        accLo += Math.min(w * xLo, w * xHi);
        accHi += Math.max(w * xLo, w * xHi);
      }
      // acc = sum w * (x - zp) + b = sum w * x + (b - zp * sum w): the circuit sees raw uint8 x.
      const b = Math.round(l.bias[j] / accScale);
      bias.push(b - inQ.zeroPoint * sumW);
      weightScales.push(sw);
      scales.push(accScale);
      lo.push(accLo + b);
      hi.push(accHi + b);
      if (Math.max(Math.abs(accLo + b), Math.abs(accHi + b)) > 2 ** 50) {
        ctx.issue(`accumulator of output ${j} can reach 2^50; the bias is too large relative to the weights`);
      }
    }
    ctx.push({
      kind: 'dense', name: l.name, inShape: ctx.state.shape, outShape: l.outShape, inSize: k, outSize: n,
      weights, bias, weightScales, inQuant: inQ, outQuant: { kind: 'acc', scales, lo, hi },
    });
  },
};

export const denseQ: QLayerDef<QDense> = {
  reference(l, x) {
    const y = new Array<number>(l.outSize);
    for (let j = 0; j < l.outSize; j++) {
      let s = l.bias[j];
      const row = j * l.inSize;
      for (let i = 0; i < l.inSize; i++) s += l.weights[row + i] * x[i];
      y[j] = s;
    }
    return y;
  },

  emit(l, x, w) {
    const v = w.fresh('acc');
    w.line(`// ${l.name}: dense ${l.inSize} -> ${l.outSize}, constant int8 weights (0 constraints)`);
    w.line(`var ${v}[${l.outSize}];`);
    for (let j = 0; j < l.outSize; j++) {
      const terms: string[] = [];
      for (let i = 0; i < l.inSize; i++) {
        const c = l.weights[j * l.inSize + i];
        if (c !== 0) terms.push(c === 1 ? x[i] : `${c}*${x[i]}`);
      }
      w.line(`${v}[${j}] = ${l.bias[j]};`);
      for (let s = 0; s < terms.length; s += CHUNK) w.line(`${v}[${j}] += ${terms.slice(s, s + CHUNK).join(' + ')};`);
    }
    return Array.from({ length: l.outSize }, (_, j) => `${v}[${j}]`);
  },

  constraints: () => 0,
  costFormula: '0 (constant weights: outputs are linear combinations)',
  bitsSummary(l) {
    const m = Math.max(...l.outQuant.lo.map(Math.abs), ...l.outQuant.hi.map(Math.abs));
    return `w int8, acc <= 2^${Math.ceil(Math.log2(m + 1))}`;
  },
};

