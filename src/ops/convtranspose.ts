/**
 * ONNX ConvTranspose, 2-D on [1, C, H, W] and 1-D on [1, C, L] (batch 1): strides, pads, dilations,
 * output_padding, group, auto_pad (NOTSET, VALID, SAME_UPPER, SAME_LOWER), output_shape and an optional bias.
 * 1-D is the 2-D geometry with H = 1; its layer keeps the 3-D shapes.
 *
 * Output size per spatial axis (in: input size, s: stride, k: kernel, d: dilation, op: output_padding):
 *   full = s * (in - 1) + op + (k - 1) * d + 1
 *   NOTSET/VALID without output_shape: out = full - pad_begin - pad_end (VALID: no pads);
 *   with output_shape (any auto_pad) or SAME_*: out = output_shape (SAME_*: in * s) and total = full - out
 *   padding is split as ONNX specifies (and onnxruntime 1.23 computes): SAME_UPPER pad_begin = floor(total / 2),
 *   otherwise pad_begin = total - floor(total / 2). An output_shape above `full` is refused (onnxruntime
 *   refuses it too); SAME_* with in * s above `full` gives the full output, as onnxruntime does.
 *
 * Cost: 0 constraints. Weights are circuit constants, so every output is a linear combination of the inputs
 * (gathered: each output position sums the taps that land on it). The input zero point folds into a constant
 * per output position: -zp times the sum of that position's weights, which varies with the number of taps
 * landing there (stride 2 on a 3x3 kernel: 1, 2 or 4 per position). The non-linear cost is paid by the
 * consumer (a requantization), and the emitter counts the bindings of linear combinations.
 *
 * Private weights (--param-visibility hashed) are not supported: the importer's layer refuses at quantization.
 */
import type { ConvTransposeFloatLayer, ConvTransposeGeometry, ConvTransposeLayer, ConvTransposeQLayer, QConvTranspose } from '../ir/layers/convtranspose.ts';
import type { OnnxNode } from '../onnx/load.ts';
import { attrInt, checkKnownAttrs } from './attrs.ts';
import { channelRows, rowSums } from './conv.ts';
import { arrayLiteral, boundsOf, emitLinearRow, inputArray, linearInput, MAX_ACC, pinnedChannel, quantizeChannel, rowExpr, type Term } from './linear.ts';
import type { CircuitWriter, FloatLayerDef, ImportContext, OpImporter, QLayerDef } from './types.ts';
import { intsAttr, spatialOf } from './window.ts';

/** Above this many multiply-accumulates the layer is written as loops even when the writer unrolls. */
const UNROLL_TERMS = 60_000;

/**
 * For output (oy, ox), the taps that land on it: [kernel index ky*kw+kx, input position iy*W+ix] pairs with
 * oy = iy * s0 - p0 + ky * d0 and ox = ix * s1 - p1 + kx * d1.
 */
export function transposeTaps(g: ConvTransposeGeometry, H: number, W: number, oy: number, ox: number): [number, number][] {
  const taps: [number, number][] = [];
  for (let ky = 0; ky < g.kernel[0]; ky++) {
    const ty = oy + g.pads[0] - ky * g.dilations[0];
    if (ty < 0 || ty % g.strides[0] !== 0) continue;
    const iy = ty / g.strides[0];
    if (iy >= H) continue;
    for (let kx = 0; kx < g.kernel[1]; kx++) {
      const tx = ox + g.pads[1] - kx * g.dilations[1];
      if (tx < 0 || tx % g.strides[1] !== 0) continue;
      const ix = tx / g.strides[1];
      if (ix >= W) continue;
      taps.push([ky * g.kernel[1] + kx, iy * W + ix]);
    }
  }
  return taps;
}

type Row = { c: number; taps: [number, number][] };
const rowCache = new WeakMap<object, Row[]>();

/** For every output element (channel-major), its channel and [weight index, input index] taps. */
export function transposeRows(l: ConvTransposeGeometry & { inShape: number[]; outShape: number[] }): Row[] {
  let rows = rowCache.get(l);
  if (rows) return rows;
  const [, H, W] = spatialOf(l.inShape);
  rows = channelRows(l, l.inShape, l.outShape, (oy, ox) => transposeTaps(l, H, W, oy, ox));
  rowCache.set(l, rows);
  return rows;
}

function importConvTranspose(node: OnnxNode, ctx: ImportContext): void {
  checkKnownAttrs(node, ctx, ['auto_pad', 'dilations', 'group', 'kernel_shape', 'output_padding', 'output_shape', 'pads', 'strides']);
  if (ctx.activation(node.inputs[0]) !== ctx.current) return ctx.issue('input X must be the activation');
  const w = ctx.constant(node.inputs[1]);
  if (!w) return ctx.issue(`the weight input ('${node.inputs[1]}') must be a constant initializer`);
  const b = node.inputs[2] ? ctx.constant(node.inputs[2]) : undefined;
  if (node.inputs[2] && !b) return ctx.issue(`the bias ('${node.inputs[2]}') must be a constant initializer`);
  const inShape = ctx.current.shape;
  if ((inShape.length !== 4 && inShape.length !== 3) || inShape[0] !== 1) return ctx.issue(`input must be [1, C, H, W] (2-D) or [1, C, L] (1-D), batch 1, got [${inShape}]`);
  if (w.dims.length !== inShape.length) return ctx.issue(`the weight has dims [${w.dims}] but the input is [${inShape}] (only 1-D and 2-D ConvTranspose are supported)`);
  const nd = inShape.length - 2;
  const group = attrInt(node, ctx, 'group', 1);
  const [wIn, coutG] = w.dims;
  const inC = inShape[1];
  const k = w.dims.slice(2);
  if (group < 1 || inC % group !== 0 || wIn !== inC) return ctx.issue(`group ${group} does not fit ${inC} input channels and a weight of [${w.dims}] ([C_in, C_out/group, k...])`);
  const outC = coutG * group;
  const ks = intsAttr(node, ctx, 'kernel_shape', nd, k);
  if (!ks) return;
  if (ks.some((v, d) => v !== k[d])) return ctx.issue(`kernel_shape [${ks}] differs from the weights' [${k}]`);
  const strides = intsAttr(node, ctx, 'strides', nd, new Array(nd).fill(1));
  const dilations = intsAttr(node, ctx, 'dilations', nd, new Array(nd).fill(1));
  const padsAttr = intsAttr(node, ctx, 'pads', 2 * nd, new Array(2 * nd).fill(0));
  const outPad = intsAttr(node, ctx, 'output_padding', nd, new Array(nd).fill(0));
  const outShapeAttr = intsAttr(node, ctx, 'output_shape', nd, undefined);
  if (!strides || !dilations || !padsAttr || !outPad) return;
  if (node.attrs.has('output_shape') && !outShapeAttr) return;
  if ([...strides, ...dilations, ...k].some((v) => v < 1) || padsAttr.some((p) => p < 0) || outPad.some((p) => p < 0) || outShapeAttr?.some((v) => v < 1)) {
    return ctx.issue(`invalid geometry: kernel [${k}], strides [${strides}], dilations [${dilations}], pads [${padsAttr}], output_padding [${outPad}]${outShapeAttr ? `, output_shape [${outShapeAttr}]` : ''}`);
  }
  const badPad = outPad.findIndex((p, d) => p >= Math.max(strides[d], dilations[d]));
  if (badPad >= 0) return ctx.issue(`output_padding [${outPad}] must be below the stride or the dilation on each axis (strides [${strides}], dilations [${dilations}])`);
  const autoPadAttr = node.attrs.get('auto_pad');
  const autoPad = autoPadAttr?.type === 'string' ? autoPadAttr.value : 'NOTSET';
  if (!['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(autoPad)) return ctx.issue(`auto_pad '${autoPad}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER`);
  const size = inShape.slice(2);
  const pads = new Array(2 * nd).fill(0);
  const out: number[] = [];
  for (let d = 0; d < nd; d++) {
    const full = strides[d] * (size[d] - 1) + outPad[d] + (k[d] - 1) * dilations[d] + 1;
    const target = outShapeAttr ? outShapeAttr[d] : autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER' ? size[d] * strides[d] : undefined;
    if (target === undefined) {
      const [pb, pe] = autoPad === 'VALID' ? [0, 0] : [padsAttr[d], padsAttr[d + nd]];
      pads[d] = pb;
      pads[d + nd] = pe;
      out.push(full - pb - pe);
    } else {
      if (outShapeAttr && target > full) return ctx.issue(`output_shape [${outShapeAttr}] exceeds the full output size ${full} on axis ${d} (onnxruntime refuses it too; use output_padding)`);
      // SAME_* asking for more than the full output (a stride above the kernel span): onnxruntime gives the
      // full output (no padding), not in * s.
      const total = Math.max(0, full - target);
      const half = Math.floor(total / 2);
      const begin = autoPad === 'SAME_UPPER' ? half : total - half;
      pads[d] = begin;
      pads[d + nd] = total - begin;
      out.push(full - total);
    }
  }
  if (out.some((o) => o < 1)) return ctx.issue(`the output would be empty: [${out}] (pads [${pads}])`);
  const bias = new Float64Array(outC);
  if (b) {
    if (b.data.length !== outC) return ctx.issue(`bias has ${b.data.length} values, expected ${outC}`);
    bias.set(b.data);
  }
  // Reorder ONNX's [C_in][C_out/group][kk] to [C_out][C_in/group][kk] (per output channel).
  const kk = k.reduce((a, v) => a * v, 1);
  const cinG = inC / group;
  const weights = new Float64Array(w.data.length);
  for (let ci = 0; ci < inC; ci++) {
    const grp = Math.floor(ci / cinG);
    for (let cl = 0; cl < coutG; cl++) {
      const co = grp * coutG + cl;
      for (let t = 0; t < kk; t++) weights[(co * cinG + (ci - grp * cinG)) * kk + t] = w.data[(ci * coutG + cl) * kk + t];
    }
  }
  const lift = (v: number[]): [number, number] => (nd === 1 ? [1, v[0]] : [v[0], v[1]]);
  // A DequantizeLinear of int8 weights (QDQ models): keep the model's integers, per tensor or per output
  // channel (axis 1, group 1), in the same reordered layout.
  let pinned: ConvTransposeLayer['pinned'];
  const wq = w.quant;
  if (wq && (wq.scales.length === 1 || (wq.axis === 1 && group === 1 && wq.scales.length === coutG))) {
    const ints = new Int32Array(w.data.length);
    for (let ci = 0; ci < inC; ci++) {
      const grp = Math.floor(ci / cinG);
      for (let cl = 0; cl < coutG; cl++) {
        const c = wq.scales.length === 1 ? 0 : cl;
        const co = grp * coutG + cl;
        for (let t = 0; t < kk; t++) ints[(co * cinG + (ci - grp * cinG)) * kk + t] = wq.ints[(ci * coutG + cl) * kk + t] - wq.zeroPoints[c];
      }
    }
    pinned = { ints, scales: Array.from({ length: outC }, (_, co) => wq.scales[wq.scales.length === 1 ? 0 : co % coutG]) };
  }
  const layer: ConvTransposeLayer = {
    kind: 'convtranspose', name: node.name, inputs: [ctx.current.name], output: node.outputs[0], inShape, outShape: [1, outC, ...out],
    kernel: lift(k), strides: lift(strides), dilations: lift(dilations),
    pads: nd === 1 ? [0, pads[0], 0, pads[1]] : [pads[0], pads[1], pads[2], pads[3]],
    inC, outC, group, weights, bias, ...(pinned ? { pinned } : {}),
  };
  ctx.push(layer);
}

export const convTransposeImporters: OpImporter[] = [{ onnxOps: ['ConvTranspose'], importNode: importConvTranspose }];

const convTransposeFloat: FloatLayerDef<ConvTransposeLayer> = {
  forward(l, [x]) {
    const rows = transposeRows(l);
    const y = new Float64Array(rows.length);
    for (let o = 0; o < rows.length; o++) {
      const r = rows[o];
      let s = l.bias[r.c];
      for (let t = 0; t < r.taps.length; t++) s += l.weights[r.taps[t][0]] * x[r.taps[t][1]];
      y[o] = s;
    }
    return y;
  },

  /** As for Conv: int8 weights per output channel, bias at s_in * s_w; an accumulator input needs one scale per channel. */
  quantize(l, ctx) {
    if (ctx.privateParams) {
      return ctx.issue(`ConvTranspose '${l.name}' cannot take private weights: --param-visibility hashed covers Gemm/MatMul/Conv weights only; compile this model with --param-visibility public`);
    }
    const [C, H, W] = spatialOf(l.inShape);
    const perChannel = (scales: number[]) => {
      for (let c = 0; c < C; c++) for (let i = 1; i < H * W; i++) if (scales[c * H * W + i] !== scales[c * H * W]) return false;
      return true;
    };
    const v = linearInput(ctx, perChannel);
    const u8 = v.state.quant.kind === 'u8' ? v.state.quant : undefined;
    const per = l.weights.length / l.outC;
    const cinG = l.inC / l.group;
    const kk = l.kernel[0] * l.kernel[1];
    const weights: number[] = [];
    const bias: number[] = [];
    const weightScales: number[] = [];
    const chScales: number[] = [];
    for (let co = 0; co < l.outC; co++) {
      const grp = Math.floor(co / (l.outC / l.group));
      const inScales = Array.from({ length: per }, (_, t) => v.scales[(grp * cinG + Math.floor(t / kk)) * H * W]);
      const ch = quantizeChannel(l.weights.subarray(co * per, (co + 1) * per), inScales, l.bias[co], pinnedChannel(l.pinned, co, per), u8);
      weights.push(...ch.ints);
      bias.push(ch.bias);
      weightScales.push(ch.weightScale);
      chScales.push(ch.accScale);
    }
    const q: QConvTranspose = {
      kind: 'convtranspose', name: l.name, inputs: [v.state.tensor], output: l.output, inShape: l.inShape, outShape: l.outShape,
      kernel: l.kernel, strides: l.strides, pads: l.pads, dilations: l.dilations, inC: l.inC, outC: l.outC, group: l.group,
      weights, bias, inZeroPoint: v.zp, weightScales, outQuant: { kind: 'acc', scales: [], lo: [], hi: [] },
    };
    // Exact bounds per output element: positions sum different numbers of taps.
    for (const r of transposeRows(q)) {
      const [a, b] = boundsOf(r.taps.map(([k, i]) => [weights[k], i] as [number, number]), bias[r.c], v.lo, v.hi);
      q.outQuant.scales.push(chScales[r.c]);
      q.outQuant.lo.push(a);
      q.outQuant.hi.push(b);
      if (!(Math.max(-a, b) <= MAX_ACC)) return ctx.issue(`accumulator of channel ${r.c} can reach 2^50; the bias is too large relative to the weights`);
    }
    ctx.push(q);
  },
};

/** Per-position constant: bias - zp * (sum of the weights of the taps landing there). */
function rowConstant(l: QConvTranspose, r: Row): number {
  let sumW = 0;
  for (const [k] of r.taps) sumW += l.weights[k];
  return l.bias[r.c] - l.inZeroPoint * sumW;
}

const rowTerms = (l: QConvTranspose, r: Row, x: string[]): Term[] => r.taps.map(([k, i]) => [l.weights[k], x[i]]);

const ctTaps = (l: QConvTranspose) => transposeRows(l).reduce((a, r) => a + r.taps.length, 0);

/** The loop form (compact witness code for large layers): the same sums as the unrolled rows. */
function emitLoops(l: QConvTranspose, x: string[], w: CircuitWriter, v: string): void {
  const [, H, W] = spatialOf(l.inShape);
  const [, OH, OW] = spatialOf(l.outShape);
  const cinG = l.inC / l.group;
  const coutG = l.outC / l.group;
  const [kh, kw] = l.kernel;
  const X = inputArray(w, x);
  w.line(`var ${v}_w[${l.weights.length}] = ${arrayLiteral(l.weights)};`);
  w.line(`var ${v}_b[${l.outC}] = ${arrayLiteral(l.bias)};`);
  w.line(`var ${v}[${l.outC * OH * OW}];`);
  w.line(`for (var co = 0; co < ${l.outC}; co++) {`);
  w.line(`    var g = co \\ ${coutG};`);
  w.line(`    for (var oy = 0; oy < ${OH}; oy++) { for (var ox = 0; ox < ${OW}; ox++) {`);
  w.line(`        var s = ${v}_b[co];`);
  w.line(`        for (var ci = 0; ci < ${cinG}; ci++) { for (var ky = 0; ky < ${kh}; ky++) {`);
  w.line(`            var ty = oy + ${l.pads[0]} - ky * ${l.dilations[0]};`);
  w.line(`            for (var kx = 0; kx < ${kw}; kx++) {`);
  w.line(`                var tx = ox + ${l.pads[1]} - kx * ${l.dilations[1]};`);
  w.line(`                if (ty >= 0 && tx >= 0) { if (ty % ${l.strides[0]} == 0 && tx % ${l.strides[1]} == 0 && ty \\ ${l.strides[0]} < ${H} && tx \\ ${l.strides[1]} < ${W}) {`);
  w.line(`                    var wk = ${v}_w[((co * ${cinG} + ci) * ${kh} + ky) * ${kw} + kx];`);
  w.line(`                    s += wk * ${X}[(g * ${cinG} + ci) * ${H * W} + (ty \\ ${l.strides[0]}) * ${W} + tx \\ ${l.strides[1]}];`);
  if (l.inZeroPoint) w.line(`                    s -= wk * ${l.inZeroPoint};`);
  w.line(`                } }`);
  w.line(`            }`);
  w.line(`        } }`);
  w.line(`        ${v}[(co * ${OH} + oy) * ${OW} + ox] = s;`);
  w.line(`    } }`);
  w.line(`}`);
}

const convTransposeQ: QLayerDef<QConvTranspose> = {
  reference(l, [x]) {
    return rowSums(transposeRows(l), l.weights, x, (r) => rowConstant(l, r));
  },

  emit(l, [x], w) {
    const v = w.fresh('convt');
    const rows = transposeRows(l);
    w.line(`// ${l.name}: conv-transpose ${l.inC} -> ${l.outC} channels, ${l.kernel[0]}x${l.kernel[1]} kernel, stride ${l.strides[0]}x${l.strides[1]}, constant weights (0 constraints)`);
    if (w.unroll && ctTaps(l) <= UNROLL_TERMS) {
      w.line(`var ${v}[${rows.length}];`);
      return rows.map((r, o) => emitLinearRow(w, `${v}[${o}]`, rowConstant(l, r), rowTerms(l, r, x)));
    }
    emitLoops(l, x, w, v);
    return rows.map((r, o) => rowExpr(rowConstant(l, r), rowTerms(l, r, x), `${v}[${o}]`));
  },

  constraints: () => 0,
  terms: (l) => ctTaps(l),
  costFormula: '0 (constant weights: every output is a linear combination of the taps landing on it; its binding costs 1 where the consumer needs one)',
  bitsSummary(l) {
    const m = Math.max(...l.outQuant.lo.map(Math.abs), ...l.outQuant.hi.map(Math.abs));
    return `w int8, acc <= 2^${Math.ceil(Math.log2(m + 1))}`;
  },
};

export const convTransposeFloatDefs: { [K in ConvTransposeFloatLayer['kind']]: FloatLayerDef<Extract<ConvTransposeFloatLayer, { kind: K }>> } = {
  convtranspose: convTransposeFloat,
};

export const convTransposeQDefs: { [K in ConvTransposeQLayer['kind']]: QLayerDef<Extract<ConvTransposeQLayer, { kind: K }>> } = {
  convtranspose: convTransposeQ,
};

