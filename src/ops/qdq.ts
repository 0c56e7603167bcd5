/**
 * Pre-quantized models: QuantizeLinear / DequantizeLinear (the QDQ format), QLinearConv, QLinearMatMul,
 * MatMulInteger and ConvInteger, per tensor and per channel.
 *
 * The IR carries real values. A QuantizeLinear becomes a quantization point with the model's own scale and
 * zero point (the quantizer requantizes to exactly that uint8 grid; int8 is carried as uint8 with the zero
 * point + 128, the same reals); a DequantizeLinear of it is the identity. A DequantizeLinear of a constant is
 * a dequantized weight that remembers its integers, so Conv/Gemm/MatMul use the model's integer weights (and
 * int32 biases) unchanged. MatMulInteger/ConvInteger outputs are the exact int32 sums, at scale 1.
 */
import type { DenseLayer, FakeQuantLayer, FloatLayer } from '../ir/types.ts';
import type { OnnxNode, OnnxTensor } from '../onnx/load.ts';
import { roundHalfEven } from '../ir/quant.ts';
import { attrInt, checkKnownAttrs } from './attrs.ts';
import { importConvLayer } from './conv.ts';
import { matMulLayer } from './dense.ts';
import type { Activation, FloatLayerDef, ImportContext, OpImporter } from './types.ts';

const UINT8 = 2;
const INT8 = 3;

/** Scale and zero point of a per-tensor quantization, as the uint8 view (int8 zero points + 128). */
function scalarQuant(ctx: ImportContext, scaleName: string | undefined, zpName: string | undefined, what: string): { scale: number; zeroPoint: number } | undefined {
  const s = scaleName ? ctx.constant(scaleName) : undefined;
  if (!s || s.data.length !== 1) {
    ctx.issue(`${what} scale ('${scaleName ?? ''}') must be a constant scalar (per-tensor quantization of activations)`);
    return undefined;
  }
  if (!(s.data[0] > 0)) {
    ctx.issue(`${what} scale must be positive, got ${s.data[0]}`);
    return undefined;
  }
  let zeroPoint = 0;
  if (zpName) {
    const z = ctx.constant(zpName);
    if (!z || z.data.length !== 1) {
      ctx.issue(`${what} zero point ('${zpName}') must be a constant scalar`);
      return undefined;
    }
    if (z.dataType !== UINT8 && z.dataType !== INT8) {
      ctx.issue(`${what} zero point must be UINT8 or INT8 (got type ${z.dataType})`);
      return undefined;
    }
    zeroPoint = z.data[0] + (z.dataType === INT8 ? 128 : 0);
  }
  return { scale: s.data[0], zeroPoint };
}

/** The quantization an activation was given by a QuantizeLinear, if it was. */
function viewOf(ctx: ImportContext, a: Activation): FakeQuantLayer | undefined {
  const l = ctx.layerOf(a.name);
  return l?.kind === 'fakequant' ? l : undefined;
}

/** The input activation of a QLinear/Integer op must come from a QuantizeLinear with the given parameters. */
function checkView(ctx: ImportContext, a: Activation | undefined, q: { scale: number; zeroPoint: number } | undefined, what: string): FakeQuantLayer | undefined {
  if (!a) {
    ctx.issue(`${what} must be an activation`);
    return undefined;
  }
  const v = viewOf(ctx, a);
  if (!v) {
    ctx.issue(`${what} must be the output of a QuantizeLinear (a quantized activation)`);
    return undefined;
  }
  if (q && (Math.abs(v.scale - q.scale) > 1e-7 * q.scale || v.zeroPoint !== q.zeroPoint)) {
    ctx.issue(`${what} is quantized with scale ${v.scale}, zero point ${v.zeroPoint}, but the op says scale ${q.scale}, zero point ${q.zeroPoint}`);
    return undefined;
  }
  return v;
}

/** Dequantize a constant integer tensor along `axis` (per tensor when the scale has one value). */
export function dequantizeConstant(x: OnnxTensor, scale: OnnxTensor, zp: OnnxTensor | undefined, axis: number): OnnxTensor | string {
  const rank = x.dims.length;
  const ax = axis < 0 ? axis + rank : axis;
  const per = scale.data.length;
  if (per !== 1 && (ax < 0 || ax >= rank || x.dims[ax] !== per)) return `scale has ${per} values but axis ${axis} of [${x.dims}] does not match`;
  if (zp && zp.data.length !== per) return `zero point has ${zp.data.length} values, scale ${per}`;
  const inner = per === 1 ? x.data.length : x.dims.slice(ax + 1).reduce((a, b) => a * b, 1);
  const data = new Float64Array(x.data.length);
  const zeroPoints = Array.from({ length: per }, (_, c) => zp?.data[c] ?? 0);
  for (let i = 0; i < data.length; i++) {
    const c = per === 1 ? 0 : Math.floor(i / inner) % per;
    data[i] = (x.data[i] - zeroPoints[c]) * scale.data[c];
  }
  return { name: x.name, dims: x.dims, dataType: 1, data, quant: { ints: x.data, scales: Array.from(scale.data), zeroPoints, axis: per === 1 ? 0 : ax } };
}

function pushFakeQuant(ctx: ImportContext, input: Activation, q: { scale: number; zeroPoint: number }, output: string): void {
  ctx.push({ kind: 'fakequant', name: ctx.node.name, inputs: [input.name], output, inShape: input.shape, outShape: input.shape, ...q });
}

/** A weight operand of a QLinear/Integer op: constant integers with per-tensor or per-axis scale. */
function weightOperand(ctx: ImportContext, node: OnnxNode, wi: number, si: number | undefined, zi: number | undefined, axis: number, scaleValue?: number): OnnxTensor | undefined {
  const w = ctx.constant(node.inputs[wi]);
  if (!w || (w.dataType !== INT8 && w.dataType !== UINT8)) {
    ctx.issue(`weight ('${node.inputs[wi] ?? ''}') must be a constant INT8/UINT8 initializer`);
    return undefined;
  }
  const s = si !== undefined ? ctx.constant(node.inputs[si]) : { name: 'one', dims: [], dataType: 1, data: Float64Array.of(scaleValue ?? 1) };
  if (!s) {
    ctx.issue(`weight scale ('${node.inputs[si!]}') must be a constant`);
    return undefined;
  }
  const z = zi !== undefined && node.inputs[zi] ? ctx.constant(node.inputs[zi]) : undefined;
  if (zi !== undefined && node.inputs[zi] && !z) {
    ctx.issue(`weight zero point ('${node.inputs[zi]}') must be a constant`);
    return undefined;
  }
  // A zero point that is the same for every channel may be given as a scalar with per-channel scales.
  const zFull = z && z.data.length === 1 && s.data.length > 1 ? { ...z, data: new Float64Array(s.data.length).fill(z.data[0]) } : z;
  const sFull = s.data.length === 1 && zFull && zFull.data.length > 1 ? { ...s, data: new Float64Array(zFull.data.length).fill(s.data[0]) } : s;
  const d = dequantizeConstant(w, sFull, zFull, axis);
  if (typeof d === 'string') {
    ctx.issue(d);
    return undefined;
  }
  return d;
}

function importQuantizeLinear(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, ['axis', 'saturate']);
  const x = ctx.activation(node.inputs[0]);
  if (!x) return ctx.issue('quantizing a constant is not supported; quantize the weights offline');
  const q = scalarQuant(ctx, node.inputs[1], node.inputs[2], 'y');
  if (q) pushFakeQuant(ctx, x, q, node.outputs[0]);
}

function importDequantizeLinear(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, ['axis']);
  const x = ctx.activation(node.inputs[0]);
  if (!x) {
    const c = ctx.constant(node.inputs[0]);
    const s = ctx.constant(node.inputs[1]);
    if (!c || !s) return ctx.issue('x and x_scale must be constants or x an activation');
    const z = node.inputs[2] ? ctx.constant(node.inputs[2]) : undefined;
    if (node.inputs[2] && !z) return ctx.issue('x_zero_point must be a constant');
    const d = dequantizeConstant(c, s, z, attrInt(node, ctx, 'axis', 1));
    if (typeof d === 'string') return ctx.issue(d);
    return ctx.setConstant(node.outputs[0], { ...d, name: node.outputs[0] });
  }
  const q = scalarQuant(ctx, node.inputs[1], node.inputs[2], 'x');
  if (!q) return;
  if (checkView(ctx, x, q, `input '${node.inputs[0]}'`)) ctx.alias();
}

function importQLinearConv(node: OnnxNode, ctx: ImportContext): void {
  const xq = scalarQuant(ctx, node.inputs[1], node.inputs[2], 'x');
  const yq = scalarQuant(ctx, node.inputs[6], node.inputs[7], 'y');
  const x = ctx.activation(node.inputs[0]);
  if (!xq || !yq || !checkView(ctx, x, xq, 'x')) return;
  const w = weightOperand(ctx, node, 3, 4, 5, 0);
  if (!w) return;
  let b: OnnxTensor | undefined;
  const outC = w.dims[0];
  const bias: number[] = [];
  if (node.inputs[8]) {
    const bc = ctx.constant(node.inputs[8]);
    if (!bc || bc.data.length !== outC) return ctx.issue(`B must be a constant of ${outC} INT32 values`);
    const ws = w.quant!.scales;
    b = { ...bc, dataType: 1, data: bc.data.map((v, c) => v * xq.scale * ws[ws.length === 1 ? 0 : c]) };
    bias.push(...bc.data);
  }
  const conv = importConvLayer(node, ctx, w, b);
  if (!conv) return;
  if (conv.pinned && bias.length) conv.pinned.bias = bias;
  conv.output = `${node.outputs[0]}#acc`;
  ctx.push(conv);
  pushFakeQuant(ctx, { name: conv.output, shape: conv.outShape }, yq, node.outputs[0]);
}

/** matMulLayer, requiring B's integers to be usable (per tensor or per output column). */
function denseFrom(node: OnnxNode, ctx: ImportContext, a: Activation, b: OnnxTensor, output: string): DenseLayer | undefined {
  const d = matMulLayer(node, ctx, a, b, output);
  if (d && !d.pinned) {
    ctx.issue('B must be quantized per tensor or per output column (axis 1)');
    return undefined;
  }
  return d;
}

function importQLinearMatMul(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, []);
  const aq = scalarQuant(ctx, node.inputs[1], node.inputs[2], 'a');
  const yq = scalarQuant(ctx, node.inputs[6], node.inputs[7], 'y');
  const a = ctx.activation(node.inputs[0]);
  if (!aq || !yq || !checkView(ctx, a, aq, 'a')) return;
  const b = weightOperand(ctx, node, 3, 4, 5, 1);
  if (!b) return;
  const d = denseFrom(node, ctx, a!, b, `${node.outputs[0]}#acc`);
  if (!d) return;
  ctx.push(d);
  pushFakeQuant(ctx, { name: d.output, shape: d.outShape }, yq, node.outputs[0]);
}

/**
 * MatMulInteger / ConvInteger: int32 outputs sum (a - a_zp) * (w - w_zp) exactly. A carries reals
 * (a - zp) * s, so the weights are (w - w_zp) / s and the accumulator's scale is exactly 1.
 */
function importInteger(node: OnnxNode, ctx: ImportContext, conv: boolean): void {
  const a = ctx.activation(node.inputs[0]);
  const v = checkView(ctx, a, undefined, conv ? 'x' : 'A');
  if (!v) return;
  let aZp = 0;
  if (node.inputs[2]) {
    const z = ctx.constant(node.inputs[2]);
    if (!z || z.data.length !== 1) return ctx.issue('the input zero point must be a constant scalar');
    aZp = z.data[0] + (z.dataType === INT8 ? 128 : 0);
  }
  const w = weightOperand(ctx, node, 1, undefined, 3, conv ? 0 : 1, 1 / v.scale);
  if (!w) return;
  let layer: FloatLayer | undefined;
  if (conv) {
    if (aZp !== v.zeroPoint) return ctx.issue(`x_zero_point ${aZp} differs from the input's quantization (${v.zeroPoint}); padding semantics would differ`);
    const c = importConvLayer(node, ctx, w, undefined);
    if (!c || !c.pinned) return;
    c.pinned.scales = w.quant!.scales;
    c.pinned.accScales = new Array(c.outC).fill(1);
    c.pinned.bias = new Array(c.outC).fill(0);
    layer = c;
  } else {
    const d = denseFrom(node, ctx, a!, w, node.outputs[0]);
    if (!d || !d.pinned) return;
    // (a - a_zp) = (a - zp) + (zp - a_zp): the second part is a constant per output column.
    const shift = v.zeroPoint - aZp;
    const bias: number[] = [];
    for (let j = 0; j < d.outSize; j++) {
      let sum = 0;
      for (let i = 0; i < d.inSize; i++) sum += d.pinned.ints[j * d.inSize + i];
      bias.push(shift * sum);
      d.bias[j] = shift * sum;
    }
    d.pinned.bias = bias;
    d.pinned.accScales = new Array(d.outSize).fill(1);
    layer = d;
  }
  layer.output = node.outputs[0];
  ctx.push(layer);
}

export const qdqImporters: OpImporter[] = [
  { onnxOps: ['QuantizeLinear'], importNode: importQuantizeLinear },
  { onnxOps: ['DequantizeLinear'], importNode: importDequantizeLinear },
  { onnxOps: ['QLinearConv'], importNode: importQLinearConv },
  { onnxOps: ['QLinearMatMul'], importNode: importQLinearMatMul },
  { onnxOps: ['MatMulInteger'], importNode: (n, c) => importInteger(n, c, false) },
  { onnxOps: ['ConvInteger'], importNode: (n, c) => importInteger(n, c, true) },
];

/**
 * Ops zkonnx knows and refuses, with the reason (src/ir/import.ts reports it; they are not in supportedOps).
 */
export const refusedOps: ReadonlyMap<string, string> = new Map([
  ['DynamicQuantizeLinear', 'dynamic quantization computes its scale from each input, which a fixed circuit cannot; quantize statically (onnxruntime quantize_static) instead'],
]);

export const fakeQuantFloat: FloatLayerDef<FakeQuantLayer> = {
  /** ONNX QuantizeLinear then DequantizeLinear, in float32 as onnxruntime computes it. */
  forward(l, [x]) {
    const s = Math.fround(l.scale);
    return x.map((v) => {
      const q = Math.max(0, Math.min(255, roundHalfEven(Math.fround(Math.fround(v) / s)) + l.zeroPoint));
      return (q - l.zeroPoint) * s;
    });
  },
  /**
   * An accumulator is not requantized here: the model's grid becomes pending, so a max-pool that follows
   * (with the same QuantizeLinear after it, as onnxruntime writes QDQ models) runs on the accumulator, and
   * requantizing the pooled values gives exactly the same integers (requantization is monotone).
   */
  quantize(l, ctx) {
    const q = { kind: 'u8' as const, scale: l.scale, zeroPoint: l.zeroPoint };
    let s = ctx.input(0);
    const same = (a?: { scale: number; zeroPoint: number }) => !!a && a.scale === q.scale && a.zeroPoint === q.zeroPoint;
    if (s.quant.kind === 'acc' && s.clamp?.quant && !same(s.clamp.quant)) s = ctx.ensureU8(0);
    if (s.quant.kind === 'acc') {
      return ctx.alias(0, { clamp: { lo: s.clamp?.lo ?? -Infinity, hi: s.clamp?.hi ?? Infinity, quant: q }, label: `${s.label}+${l.name}` });
    }
    ctx.alias(0, { label: l.name, state: ctx.requantTo(0, q, l.name) });
  },
};
