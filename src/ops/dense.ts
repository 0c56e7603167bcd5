/**
 * Dense (fully connected) layers: ONNX Gemm, MatMul with a constant right-hand side, and Add of a constant
 * bias right after either.
 *
 * Cost: 0 constraints. Weights are circuit constants, so every output is a linear combination of the inputs;
 * the non-linear cost is paid by whatever consumes it (a requantization, or the public output).
 */
import type { DenseLayer, QDense } from '../ir/types.ts';
import { arrayLiteral, boundsOf, emitLinearRow, inputArray, linearInput, MAX_ACC, pinnedChannel, privateBiasBits, privateBoundsOf, quantizeChannel, rowExpr, weightOutsideInt8, type Term } from './linear.ts';

import type { OnnxNode, OnnxTensor } from '../onnx/load.ts';
import { attrFloat, attrInt, checkKnownAttrs } from './attrs.ts';
import type { Activation, FloatLayerDef, ImportContext, OpImporter, QLayerDef } from './types.ts';
import { importMatMulProduct } from './arith.ts';


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
  if (ctx.activation(node.inputs[0]) !== ctx.current) return ctx.issue('input A must be the activation, and B a constant');
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
  ctx.push({ kind: 'dense', name: node.name, inputs: [ctx.current.name], output: node.outputs[0], inShape: aShape, outShape: [1, n], inSize: k, outSize: n, weights, bias, pinned: pinnedGemm(b, transB, n, k, alpha) });
}

/**
 * A dense layer for A (an activation [.., K], batch 1) times a constant B [K, N]; B's integers are kept
 * (pinned) when it is a dequantized constant. Shared with QLinearMatMul and MatMulInteger (src/ops/qdq.ts).
 */
export function matMulLayer(node: OnnxNode, ctx: ImportContext, a: Activation, b: OnnxTensor, output: string): DenseLayer | undefined {
  const aShape = a.shape;
  const fail = (msg: string) => void ctx.issue(msg);
  if (b.dims.length !== 2) return fail(`B must be 2-D, got dims [${b.dims}]`);
  const k = aShape[aShape.length - 1];
  if (aShape.slice(0, -1).some((d) => d !== 1)) return fail(`batch size must be 1, got A of shape [${aShape}]`);
  const [bk, n] = b.dims;
  if (bk !== k) return fail(`A has ${k} columns but B has ${bk} rows`);
  const weights = new Float64Array(n * k);
  for (let j = 0; j < n; j++) for (let i = 0; i < k; i++) weights[j * k + i] = b.data[i * n + j];
  const outShape = aShape.length === 1 ? [n] : [...aShape.slice(0, -1), n];
  return { kind: 'dense', name: node.name, inputs: [a.name], output, inShape: aShape, outShape, inSize: k, outSize: n, weights, bias: new Float64Array(n), pinned: pinnedGemm(b, 0, n, k, 1) };
}

function importMatMul(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, []);
  const [a, b2] = node.inputs.map((n) => ctx.activation(n));
  // Two activations (attention's Q K^T and softmax(..) V): one product per multiply-accumulate (src/ops/arith.ts).
  if (a && b2) return importMatMulProduct(node, ctx, a, b2);
  if (ctx.activation(node.inputs[0]) !== ctx.current) return ctx.issue('input A must be the activation, and B a constant');
  const b = ctx.constant(node.inputs[1]);
  if (!b) return ctx.issue(`input B ('${node.inputs[1]}') must be a constant initializer`);
  const layer = matMulLayer(node, ctx, ctx.current, b, node.outputs[0]);
  if (layer) ctx.push(layer);
}

/**
 * Integer weights fixed by a pre-quantized model (B is the output of a DequantizeLinear), per output channel:
 * usable when B's quantization is per tensor or along the output axis.
 */
function pinnedGemm(b: OnnxTensor, transB: number, n: number, k: number, alpha: number): DenseLayer['pinned'] {
  const q = b.quant;
  if (!q || alpha !== 1) return undefined;
  const outAxis = transB ? 0 : 1;
  const perTensor = q.scales.length === 1;
  if (!perTensor && q.axis !== outAxis) return undefined;
  const ints = new Int32Array(n * k);
  const scales: number[] = [];
  for (let j = 0; j < n; j++) {
    const c = perTensor ? 0 : j;
    scales.push(q.scales[c]);
    for (let i = 0; i < k; i++) ints[j * k + i] = q.ints[transB ? j * k + i : i * n + j] - q.zeroPoints[c];
  }
  return { ints, scales };
}

export const denseImporters: OpImporter[] = [
  { onnxOps: ['Gemm'], importNode: importGemm },
  { onnxOps: ['MatMul'], importNode: importMatMul },
];

export { vectorFor };

export const denseFloat: FloatLayerDef<DenseLayer> = {
  forward(l, [x]) {
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
   * int8 weights per output channel (the model's own integers when pinned); integer bias at the accumulator
   * scale; the input zero point folds into the bias. Output bounds are exact interval bounds over all inputs.
   */
  quantize(l, ctx) {
    // Private weights: the input is uint8 (an accumulator's bounds would depend on the weights before it).
    const v = linearInput(ctx, () => !ctx.privateParams);
    const { inSize: k, outSize: n } = l;
    const weights = new Int32Array(n * k);
    const weightScales: number[] = [];
    const bias: number[] = [];
    const lo: number[] = [];
    const hi: number[] = [];
    const scales: number[] = [];
    const u8 = v.state.quant.kind === 'u8' ? v.state.quant : undefined;
    for (let j = 0; j < n; j++) {
      const ch = quantizeChannel(l.weights.subarray(j * k, (j + 1) * k), v.scales, l.bias[j], pinnedChannel(l.pinned, j, k), u8);
      let sumW = 0;
      const terms: [number, number][] = [];
      ch.ints.forEach((w, i) => {
        weights[j * k + i] = w;
        sumW += w;
        terms.push([w, i]);
      });
      const [a, b] = boundsOf(terms, ch.bias, v.lo, v.hi);
      // acc = sum w * (x - zp) + b = sum w * x + (b - zp * sum w): the circuit sees the raw integers.
      bias.push(ch.bias - v.zp * sumW);
      weightScales.push(ch.weightScale);
      scales.push(ch.accScale);
      lo.push(a);
      hi.push(b);
      if (!(Math.max(-a, b) <= MAX_ACC)) ctx.issue(`accumulator of output ${j} can reach 2^50; the bias is too large relative to the weights`);
    }
    let privateParams: QDense['privateParams'];
    if (ctx.privateParams) {
      const bad = weightOutsideInt8(weights);
      if (bad) return ctx.issue(`weight ${bad[0]} is ${bad[1]}, outside int8: private (hashed) parameters must be int8`);
      // Bounds over every admissible weight set, on the raw uint8 input (the bias folds the zero point).
      privateParams = { biasBits: privateBiasBits(bias), inZeroPoint: v.zp };
      const rawLo = new Array(k).fill(0);
      const rawHi = new Array(k).fill(255);
      const all = Array.from({ length: k }, (_, i) => i);
      for (let j = 0; j < n; j++) {
        [lo[j], hi[j]] = privateBoundsOf(all, privateParams.biasBits, rawLo, rawHi);
        if (!(Math.max(-lo[j], hi[j]) <= MAX_ACC)) return ctx.issue(`accumulator of output ${j} can reach 2^50 with private weights; the bias is too large relative to the weights`);
      }
    }
    ctx.push({
      kind: 'dense', name: l.name, inputs: [v.state.tensor], output: l.output, inShape: v.state.shape, outShape: l.outShape,
      inSize: k, outSize: n, weights, bias, weightScales, outQuant: { kind: 'acc', scales, lo, hi }, ...(privateParams ? { privateParams } : {}),
    });
  },
};

/** Output j's terms: weight times input expression. */
const rowTerms = (l: QDense, x: string[], j: number): Term[] => Array.from({ length: l.inSize }, (_, i) => [l.weights[j * l.inSize + i], x[i]]);

export const denseQ: QLayerDef<QDense> = {
  reference(l, [x]) {
    const y = new Array<number>(l.outSize);
    for (let j = 0; j < l.outSize; j++) {
      let s = l.bias[j];
      const row = j * l.inSize;
      for (let i = 0; i < l.inSize; i++) s += l.weights[row + i] * x[i];
      y[j] = s;
    }
    return y;
  },

  /**
   * Unrolled sums for small models; a loop over a weight array otherwise (see CircuitWriter.unroll). With
   * private weights, one product signal per multiply-accumulate, in loops.
   */
  emit(l, [x], w) {
    const v = w.fresh('acc');
    if (l.privateParams) {
      const p = w.params;
      if (!p) throw new Error(`internal: layer '${l.name}' has private weights but the circuit has no parameter signals`);
      const at = p.offset(l.name);
      const X = inputArray(w, x);
      const k = l.inSize;
      w.line(`// ${l.name}: dense ${k} -> ${l.outSize}, private weights (1 constraint per multiply-accumulate)`);
      w.line(`signal ${v}_p[${l.outSize * k}];`);
      w.line(`var ${v}[${l.outSize}];`);
      w.line(`for (var j = 0; j < ${l.outSize}; j++) {`);
      w.line(`    var s = ${p.biases}[${at.bias} + j];`);
      w.line(`    for (var i = 0; i < ${k}; i++) {`);
      w.line(`        ${v}_p[j * ${k} + i] <== (${p.weights}[${at.weight} + j * ${k} + i] - 128) * ${X}[i];`);
      w.line(`        s += ${v}_p[j * ${k} + i];`);
      w.line(`    }`);
      w.line(`    ${v}[j] = s;`);
      w.line(`}`);
      return Array.from({ length: l.outSize }, (_, j) => `${v}[${j}]`);
    }
    if (w.unroll) {
      w.line(`// ${l.name}: dense ${l.inSize} -> ${l.outSize}, constant weights (0 constraints)`);
      w.line(`var ${v}[${l.outSize}];`);
      return Array.from({ length: l.outSize }, (_, j) => emitLinearRow(w, `${v}[${j}]`, l.bias[j], rowTerms(l, x, j)));
    }
    const X = inputArray(w, x);
    w.line(`// ${l.name}: dense ${l.inSize} -> ${l.outSize}, constant weights (0 constraints)`);
    w.line(`var ${v}_w[${l.weights.length}] = ${arrayLiteral(l.weights)};`);
    w.line(`var ${v}_b[${l.outSize}] = ${arrayLiteral(l.bias)};`);
    w.line(`var ${v}[${l.outSize}];`);
    w.line(`for (var j = 0; j < ${l.outSize}; j++) {`);
    w.line(`    var s = ${v}_b[j];`);
    w.line(`    for (var i = 0; i < ${l.inSize}; i++) s += ${v}_w[j * ${l.inSize} + i] * ${X}[i];`);
    w.line(`    ${v}[j] = s;`);
    w.line(`}`);
    return Array.from({ length: l.outSize }, (_, j) => rowExpr(l.bias[j], rowTerms(l, x, j), `${v}[${j}]`));
  },

  constraints: (l) => (l.privateParams ? l.inSize * l.outSize : 0),
  costFormula: '0 (constant weights: outputs are linear combinations); private weights: inSize * outSize (one product per multiply-accumulate)',
  bitsSummary(l) {
    const m = Math.max(...l.outQuant.lo.map(Math.abs), ...l.outQuant.hi.map(Math.abs));
    return `w int8${l.privateParams ? ` private, bias ${l.privateParams.biasBits}b` : ''}, acc <= 2^${Math.ceil(Math.log2(m + 1))}`;
  },
  terms: (l) => l.inSize * l.outSize,
};
