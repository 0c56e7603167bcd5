/**
 * ONNX Conv (2-D on [1, C, H, W] and 1-D on [1, C, L], batch 1): strides, pads, auto_pad (VALID, SAME_UPPER,
 * SAME_LOWER), dilations and any group (1, depthwise, or in between). A 1-D conv is the 2-D one with H = 1
 * (kernel [1, k]); its layer keeps the 3-D shapes.
 *
 * Cost: 0 constraints. Weights are circuit constants, so every output is a linear combination of the
 * inputs; taps in the padding read the real value 0 and drop out (the zero point folds into a per-position
 * constant). The non-linear cost is paid by the consumer (a requantization or a max-pool).
 */
import type { ConvLayer, QConv } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import type { OnnxNode, OnnxTensor } from '../onnx/load.ts';
import { attrInt, checkKnownAttrs } from './attrs.ts';
import { arrayLiteral, boundsOf, privateBiasBits, privateBoundsOf, weightOutsideInt8, emitLinearRow, inputArray, linearInput, MAX_ACC, pinnedChannel, quantizeChannel, rowExpr, type Term } from './linear.ts';
import type { CircuitWriter, FloatLayerDef, ImportContext, OpImporter, QLayerDef } from './types.ts';
import { parseWindow, spatialOf, windowOutShape, windowTaps } from './window.ts';
import type { Window2d } from '../ir/types.ts';

interface ConvGeometry extends Window2d {
  inC: number;
  outC: number;
  group: number;
}

/**
 * The rows of a convolution: for every output element, the constant-free list of [weight index, input index]
 * pairs it sums (in-image taps only).
 */
const rowCache = new WeakMap<object, { c: number; taps: [number, number][] }[]>();

export function convRows(g: ConvGeometry, inShape: number[], outShape: number[]): { c: number; taps: [number, number][] }[] {
  // Layers are immutable once built; the reference runs them on many inputs.
  let rows = rowCache.get(g);
  if (!rows) rowCache.set(g, (rows = buildConvRows(g, inShape, outShape)));
  return rows;
}

function buildConvRows(g: ConvGeometry, inShape: number[], outShape: number[]): { c: number; taps: [number, number][] }[] {
  const [, H, W] = spatialOf(inShape);
  return channelRows(g, inShape, outShape, (oy, ox) => windowTaps(g, H, W, oy, ox));
}

/**
 * For every output element of a grouped convolution-like layer (channel-major), its channel and [weight index,
 * input index] taps, given each output position's [kernel index, input position] taps (`tapsAt`): Conv reads a
 * window, ConvTranspose the inputs whose strided kernel lands on the position. Weights are [outC][inC/group][k].
 */
export function channelRows(
  g: { inC: number; outC: number; group: number; kernel: [number, number] }, inShape: number[], outShape: number[],
  tapsAt: (oy: number, ox: number) => [number, number][],
): { c: number; taps: [number, number][] }[] {
  const [, H, W] = spatialOf(inShape);
  const [, OH, OW] = spatialOf(outShape);
  const cinG = g.inC / g.group;
  const coutG = g.outC / g.group;
  const kk = g.kernel[0] * g.kernel[1];
  const rows: { c: number; taps: [number, number][] }[] = [];
  const spatial: [number, number][][] = [];
  for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) spatial.push(tapsAt(oy, ox));
  for (let co = 0; co < g.outC; co++) {
    const grp = Math.floor(co / coutG);
    for (const taps of spatial) {
      const row: [number, number][] = [];
      for (let ci = 0; ci < cinG; ci++) {
        const inCh = grp * cinG + ci;
        for (const [k, pos] of taps) row.push([(co * cinG + ci) * kk + k, inCh * H * W + pos]);
      }
      rows.push({ c: co, taps: row });
    }
  }
  return rows;
}

/** Integer weights fixed by a pre-quantized model, per output channel (axis 0) or per tensor. */
export function pinnedConv(w: OnnxTensor, outC: number): ConvLayer['pinned'] {
  const q = w.quant;
  if (!q || (q.scales.length !== 1 && q.axis !== 0)) return undefined;
  const per = w.data.length / outC;
  const ints = new Int32Array(w.data.length);
  const scales: number[] = [];
  for (let j = 0; j < outC; j++) {
    const c = q.scales.length === 1 ? 0 : j;
    scales.push(q.scales[c]);
    for (let i = 0; i < per; i++) ints[j * per + i] = q.ints[j * per + i] - q.zeroPoints[c];
  }
  return { ints, scales };
}

/** Build a float conv layer from its constant weight and optional bias; shared with ConvInteger/QLinearConv. */
export function importConvLayer(node: OnnxNode, ctx: ImportContext, w: OnnxTensor | undefined, b: OnnxTensor | undefined): ConvLayer | undefined {
  checkKnownAttrs(node, ctx, ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides']);
  const inShape = ctx.current.shape;
  if (!w) {
    ctx.issue(`the weight input ('${node.inputs[1]}') must be a constant initializer`);
    return undefined;
  }
  if (w.dims.length !== 4 && w.dims.length !== 3) {
    ctx.issue(`only 1-D and 2-D convolutions are supported: the weight has dims [${w.dims}]`);
    return undefined;
  }
  if (w.dims.length !== inShape.length) {
    ctx.issue(`the weight has dims [${w.dims}] but the input is [${inShape}]`);
    return undefined;
  }
  const group = attrInt(node, ctx, 'group', 1);
  const [outC, cinG] = w.dims;
  const win = parseWindow(node, ctx, inShape, w.dims.slice(2));
  if (!win) return undefined;
  const inC = inShape[1];
  if (group < 1 || inC % group !== 0 || outC % group !== 0 || cinG !== inC / group) {
    ctx.issue(`group ${group} does not fit ${inC} input channels, ${outC} output channels and a weight of [${w.dims}]`);
    return undefined;
  }
  const bias = new Float64Array(outC);
  if (b) {
    if (b.data.length !== outC) {
      ctx.issue(`bias has ${b.data.length} values, expected ${outC}`);
      return undefined;
    }
    bias.set(b.data);
  }
  const { outH, outW, ...geo } = win;
  return {
    kind: 'conv', name: node.name, inputs: [ctx.current.name], output: node.outputs[0], inShape, outShape: windowOutShape(inShape, outC, outH, outW),
    ...geo, inC, outC, group, weights: Float64Array.from(w.data), bias, pinned: pinnedConv(w, outC),
  };
}

export const convImporter: OpImporter = {
  onnxOps: ['Conv'],
  importNode(node, ctx) {
    if (ctx.activation(node.inputs[0]) !== ctx.current) return ctx.issue('input X must be the activation');
    const b = node.inputs[2] ? ctx.constant(node.inputs[2]) : undefined;
    if (node.inputs[2] && !b) return ctx.issue(`the bias ('${node.inputs[2]}') must be a constant initializer`);
    const layer = importConvLayer(node, ctx, ctx.constant(node.inputs[1]), b);
    if (layer) ctx.push(layer);
  },
};

/** convRows as flat arrays: row o sums weight[t] * input[t] for t in [start[o], start[o + 1]). */
const flatCache = new WeakMap<object, { start: Int32Array; weight: Int32Array; input: Int32Array; channel: Int32Array }>();
function flatRows(l: ConvLayer) {
  let f = flatCache.get(l);
  if (!f) {
    const rows = convRows(l, l.inShape, l.outShape);
    const n = rows.reduce((a, r) => a + r.taps.length, 0);
    f = { start: new Int32Array(rows.length + 1), weight: new Int32Array(n), input: new Int32Array(n), channel: new Int32Array(rows.length) };
    let t = 0;
    rows.forEach((r, o) => {
      f!.channel[o] = r.c;
      f!.start[o] = t;
      for (const [k, i] of r.taps) {
        f!.weight[t] = k;
        f!.input[t++] = i;
      }
    });
    f.start[rows.length] = t;
    flatCache.set(l, f);
  }
  return f;
}

export const convFloat: FloatLayerDef<ConvLayer> = {
  forward(l, [x]) {
    // Calibration runs this for every sample: flat typed arrays of the taps (4 to 8 times faster).
    const f = flatRows(l);
    const y = new Float64Array(f.channel.length);
    const w = l.weights;
    for (let o = 0; o < y.length; o++) {
      let s = l.bias[f.channel[o]];
      for (let t = f.start[o]; t < f.start[o + 1]; t++) s += w[f.weight[t]] * x[f.input[t]];
      y[o] = s;
    }
    return y;
  },

  /** As for dense layers, per output channel; an accumulator input must have one scale per channel. */
  quantize(l, ctx) {
    const [C, H, W] = spatialOf(l.inShape);
    const perChannel = (scales: number[]) => {
      for (let c = 0; c < C; c++) for (let i = 1; i < H * W; i++) if (scales[c * H * W + i] !== scales[c * H * W]) return false;
      return true;
    };
    const v = linearInput(ctx, (scales) => !ctx.privateParams && perChannel(scales));
    const u8 = v.state.quant.kind === 'u8' ? v.state.quant : undefined;
    const per = l.weights.length / l.outC;
    const cinG = l.inC / l.group;
    const kk = l.kernel[0] * l.kernel[1];
    const weights = new Int32Array(l.weights.length);
    const bias: number[] = [];
    const weightScales: number[] = [];
    const chScales: number[] = [];
    for (let co = 0; co < l.outC; co++) {
      const grp = Math.floor(co / (l.outC / l.group));
      const inScales = Array.from({ length: per }, (_, t) => v.scales[(grp * cinG + Math.floor(t / kk)) * H * W]);
      const ch = quantizeChannel(l.weights.subarray(co * per, (co + 1) * per), inScales, l.bias[co], pinnedChannel(l.pinned, co, per), u8);
      weights.set(ch.ints, co * per);
      bias.push(ch.bias);
      weightScales.push(ch.weightScale);
      chScales.push(ch.accScale);
    }
    const q: QConv = {
      kind: 'conv', name: l.name, inputs: [v.state.tensor], output: l.output, inShape: l.inShape, outShape: l.outShape,
      kernel: l.kernel, strides: l.strides, pads: l.pads, dilations: l.dilations, inC: l.inC, outC: l.outC, group: l.group,
      weights, bias, inZeroPoint: v.zp, weightScales, outQuant: { kind: 'acc', scales: [], lo: [], hi: [] },
    };
    if (ctx.privateParams) {
      const bad = weightOutsideInt8(weights);
      if (bad) return ctx.issue(`weight ${bad[0]} is ${bad[1]}, outside int8: private (hashed) parameters must be int8`);
      q.privateParams = { biasBits: privateBiasBits(bias), inZeroPoint: v.zp };
    }
    // Exact bounds per output element (border positions sum fewer taps); with private weights, over every
    // admissible weight set (x - zp in [v.lo, v.hi]).
    for (const r of convRows(q, q.inShape, q.outShape)) {
      const terms = r.taps.map(([k, i]) => [weights[k], i] as [number, number]);
      const [a, b] = q.privateParams
        ? privateBoundsOf(r.taps.map(([, i]) => i), q.privateParams.biasBits, v.lo, v.hi)
        : boundsOf(terms, bias[r.c], v.lo, v.hi);
      q.outQuant.scales.push(chScales[r.c]);
      q.outQuant.lo.push(a);
      q.outQuant.hi.push(b);
      if (!(Math.max(-a, b) <= MAX_ACC)) return ctx.issue(`accumulator of channel ${r.c} can reach 2^50; the bias is too large relative to the weights`);
    }
    void H;
    ctx.push(q);
  },
};

/** Multiply-accumulates of the layer: the in-image taps of every output element. */
const convTaps = (l: QConv) => convRows(l, l.inShape, l.outShape).reduce((a, r) => a + r.taps.length, 0);

/**
 * The loops of a convolution over the input array X into the var array `${v}`: for every output element,
 * `var s = ${bias('co')}`, then for every in-image tap `tap(wk, xe)` (wk: the flat weight index expression,
 * xe: the input element), then the element is s. Both weight forms use it: constants and private signals.
 */
function emitConvLoops(l: QConv, w: CircuitWriter, X: string, v: string, bias: (co: string) => string, tap: (wk: string, xe: string) => string[]): void {
  const [, H, W] = spatialOf(l.inShape);
  const [, OH, OW] = spatialOf(l.outShape);
  const cinG = l.inC / l.group;
  const coutG = l.outC / l.group;
  const [kh, kw] = l.kernel;
  w.line(`var ${v}[${l.outC * OH * OW}];`);
  w.line(`for (var co = 0; co < ${l.outC}; co++) {`);
  w.line(`    var g = co \\ ${coutG};`);
  w.line(`    for (var oy = 0; oy < ${OH}; oy++) { for (var ox = 0; ox < ${OW}; ox++) {`);
  w.line(`        var s = ${bias('co')};`);
  w.line(`        for (var ci = 0; ci < ${cinG}; ci++) { for (var ky = 0; ky < ${kh}; ky++) {`);
  w.line(`            var iy = oy * ${l.strides[0]} - ${l.pads[0]} + ky * ${l.dilations[0]};`);
  w.line(`            for (var kx = 0; kx < ${kw}; kx++) {`);
  w.line(`                var ix = ox * ${l.strides[1]} - ${l.pads[1]} + kx * ${l.dilations[1]};`);
  w.line(`                if (iy >= 0 && iy < ${H} && ix >= 0 && ix < ${W}) {`);
  for (const t of tap(`((co * ${cinG} + ci) * ${kh} + ky) * ${kw} + kx`, `${X}[(g * ${cinG} + ci) * ${H * W} + iy * ${W} + ix]`)) w.line(`                    ${t}`);
  w.line(`                }`);
  w.line(`            }`);
  w.line(`        } }`);
  w.line(`        ${v}[(co * ${OH} + oy) * ${OW} + ox] = s;`);
  w.line(`    } }`);
  w.line(`}`);
}

/**
 * Private weights (CircuitWriter.params): the loops of the constant-weight form, with one product signal per
 * in-image tap; the zero point folds in as -zp * w per tap, linear in the weight signals.
 */
function emitPrivateConv(l: QConv, x: string[], w: CircuitWriter, v: string): string[] {
  const p = w.params;
  if (!p) throw new Error(`internal: layer '${l.name}' has private weights but the circuit has no parameter signals`);
  const at = p.offset(l.name);
  const X = inputArray(w, x);
  w.line(`// ${l.name}: conv ${l.inC} -> ${l.outC} channels, ${l.kernel[0]}x${l.kernel[1]} kernel, private weights (1 constraint per in-image tap)`);
  w.line(`signal ${v}_p[${convTaps(l)}];`);
  w.line(`var ${v}_t = 0;`);
  emitConvLoops(l, w, X, v, (co) => `${p.biases}[${at.bias} + ${co}]`, (k, xe) => {
    const wk = `(${p.weights}[${at.weight} + ${k}] - 128)`;
    return [
      `${v}_p[${v}_t] <== ${wk} * ${xe};`,
      `s += ${v}_p[${v}_t];`,
      ...(l.inZeroPoint ? [`s -= ${l.inZeroPoint} * ${wk};`] : []),
      `${v}_t++;`,
    ];
  });
  return Array.from({ length: sizeOf(l.outShape) }, (_, o) => `${v}[${o}]`);
}

/** Per-row constant: bias - zp * (sum of the row's weights). */
function rowConstant(l: QConv, r: { c: number; taps: [number, number][] }): number {
  let sumW = 0;
  for (const [k] of r.taps) sumW += l.weights[k];
  return l.bias[r.c] - l.inZeroPoint * sumW;
}

/** A row's terms: weight times input expression. */
const rowTerms = (l: QConv, r: { taps: [number, number][] }, x: string[]): Term[] => r.taps.map(([k, i]) => [l.weights[k], x[i]]);

/**
 * The integer outputs of a convolution-like layer: per row, its constant plus the sum of weight * input over
 * its taps (Conv and ConvTranspose).
 */
export function rowSums(rows: { c: number; taps: [number, number][] }[], weights: ArrayLike<number>, x: readonly number[], constant: (r: { c: number; taps: [number, number][] }) => number): number[] {
  return rows.map((r) => {
    let s = constant(r);
    // An index loop: for-of with destructuring is several times slower here, and calibration runs this
    // for every sample.
    const taps = r.taps;
    for (let t = 0; t < taps.length; t++) s += weights[taps[t][0]] * x[taps[t][1]];
    return s;
  });
}

export const convQ: QLayerDef<QConv> = {
  reference(l, [x]) {
    return rowSums(convRows(l, l.inShape, l.outShape), l.weights, x, (r) => rowConstant(l, r));
  },

  /**
   * Unrolled sums for small models; otherwise loops over a weight array, so the witness generator stays
   * small (V8 refuses a WebAssembly function above 7.6 MB, which an unrolled 28-6-16 CNN exceeds).
   */
  emit(l, [x], w) {
    const v = w.fresh('conv');
    if (l.privateParams) return emitPrivateConv(l, x, w, v);
    if (w.unroll) {
      const rows = convRows(l, l.inShape, l.outShape);
      w.line(`// ${l.name}: conv ${l.inC} -> ${l.outC} channels, ${l.kernel[0]}x${l.kernel[1]} kernel, constant weights (0 constraints)`);
      w.line(`var ${v}[${rows.length}];`);
      return rows.map((r, o) => emitLinearRow(w, `${v}[${o}]`, rowConstant(l, r), rowTerms(l, r, x)));
    }
    const X = inputArray(w, x);
    w.line(`// ${l.name}: conv ${l.inC} -> ${l.outC} channels, ${l.kernel[0]}x${l.kernel[1]} kernel, constant weights (0 constraints)`);
    w.line(`var ${v}_w[${l.weights.length}] = ${arrayLiteral(l.weights)};`);
    w.line(`var ${v}_b[${l.outC}] = ${arrayLiteral(l.bias)};`);
    // w * (x - zp) as w * x and a constant: the same sum, and no temporary combination per tap.
    emitConvLoops(l, w, X, v, (co) => `${v}_b[${co}]`, (k, xe) => [`s += ${v}_w[${k}] * ${xe};`, ...(l.inZeroPoint ? [`s -= ${v}_w[${k}] * ${l.inZeroPoint};`] : [])]);
    return convRows(l, l.inShape, l.outShape).map((r, o) => rowExpr(rowConstant(l, r), rowTerms(l, r, x), `${v}[${o}]`));
  },

  constraints: (l) => (l.privateParams ? convTaps(l) : 0),
  terms: (l) => convTaps(l),
  costFormula: '0 (constant weights: outputs are linear combinations); private weights: 1 per in-image tap of every output (one product per multiply-accumulate)',
  bitsSummary(l) {
    const m = Math.max(...l.outQuant.lo.map(Math.abs), ...l.outQuant.hi.map(Math.abs));
    return `w int8${l.privateParams ? ` private, bias ${l.privateParams.biasBits}b` : ''}, acc <= 2^${Math.ceil(Math.log2(m + 1))}`;
  },
};
