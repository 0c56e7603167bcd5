/**
 * ArgMax, and a Softmax/LogSoftmax that only feeds the output or an ArgMax.
 *
 * ArgMax over an axis with other dimensions > 1 (per row, e.g. per token) is one ArgMax per row, each row gathered
 * (0 constraints) and the indices gathered into the output (pushArgMaxRows, src/ops/composite.ts).
 *
 * ArgMax: a one-hot selector with range-checked differences (circuits/argmax.circom), ONNX tie-breaking
 * (first maximum, or last with select_last_index): n * (B + 3) + 2 constraints for n values whose spread is
 * below 2^B (circomlib-ml's ArgMax(10): 2,548). Inputs with different scales are first brought to one scale
 * by integer multipliers (linear, free).
 *
 * Softmax is monotone, so it changes no argmax: a Softmax over a single vector at the graph output (or
 * before an ArgMax) is left out, the circuit proves the logits instead and says so (the model's notes, shown
 * by `inspect` and `run`). Every other Softmax (per row, inside the network) is proven by src/ops/norm.ts.
 */
import type { ArgMaxLayer, QArgMax, TensorQuant } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import { attrInt, checkKnownAttrs } from './attrs.ts';
import type { FloatLayerDef, OpImporter, QLayerDef } from './types.ts';
import { bitsFor } from './types.ts';
import { MAX_ACC } from './linear.ts';
import { importSoftmax } from './norm.ts';
import { pushArgMaxRows } from './composite.ts';

export const argmaxImporters: OpImporter[] = [
  {
    onnxOps: ['ArgMax'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['axis', 'keepdims', 'select_last_index']);
      const shape = ctx.current.shape;
      let axis = attrInt(node, ctx, 'axis', 0);
      if (axis < 0) axis += shape.length;
      if (axis < 0 || axis >= shape.length) return ctx.issue(`axis out of range for shape [${shape}]`);
      const keep = attrInt(node, ctx, 'keepdims', 1);
      const outShape = keep ? shape.map((d, i) => (i === axis ? 1 : d)) : shape.filter((_, i) => i !== axis);
      // A whole vector: one ArgMax; several rows (e.g. per token): one ArgMax per row (src/ops/composite.ts).
      pushArgMaxRows(ctx, ctx.current, axis, attrInt(node, ctx, 'select_last_index', 0) === 1, node.outputs[0], outShape.length ? outShape : [1]);
    },
  },
  {
    onnxOps: ['Softmax', 'LogSoftmax'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['axis']);
      const shape = ctx.current.shape;
      let axis = attrInt(node, ctx, 'axis', ctx.opset < 13 ? 1 : -1);
      if (axis < 0) axis += shape.length;
      if (axis < 0 || axis >= shape.length) return ctx.issue(`axis ${attrInt(node, ctx, 'axis', 0)} is out of range for shape [${shape}]`);
      // Monotone over the whole tensor only when it normalizes over the one axis that is not 1: at the graph
      // output or before an ArgMax it changes nothing the circuit proves, and is left out.
      const whole = !shape.some((d, i) => i !== axis && d !== 1);
      // A Softmax applied to the graph input itself is the whole model's computation: proven, not left out.
      const onInput = !ctx.layerOf(ctx.current.name);
      if (whole && (ctx.onlyFeeds('ArgMax') || (ctx.isGraphOutput && !onInput))) {
        if (ctx.isGraphOutput) ctx.note(`the final ${node.op} ('${node.name}') is left out: the proven output is its input (the logits), which has the same argmax`);
        return ctx.alias();
      }
      // Anywhere else (attention, a softmax per row): proven, by src/ops/norm.ts.
      importSoftmax(node, ctx, axis);
    },
  },
];

/**
 * Integer multipliers M[i] ~ scales[i] / unit, unit = max(scales) / 2^j. j >= bits - 1 is the smallest for which
 * no element's rounding moves it by more than 2^-bits of the largest |real value|: |M[i] unit - scales[i]| *
 * max|x[i]| <= 2^-bits * max_k scales[k] max|x[k]|. (A fixed j = bits - 1 rounds an element whose scale is ~50x
 * below the largest to a multiplier of 9 instead of 9.37: a 4% error in that logit, enough to flip argmaxes.)
 * j stops growing where the aligned integers would pass 2^50.
 */
export function alignScales(scales: number[], lo: number[], hi: number[], bits: number): number[] {
  const max = Math.max(...scales);
  const X = scales.map((_, i) => Math.max(Math.abs(lo[i]), Math.abs(hi[i])));
  const budget = Math.max(...scales.map((sc, i) => sc * X[i])) / 2 ** bits;
  const maxX = Math.max(...X);
  let unit = max;
  for (let j = bits - 1; ; j++) {
    unit = max / 2 ** j;
    if (scales.every((sc, i) => Math.abs(Math.round(sc / unit) * unit - sc) * X[i] <= budget)) break;
    // Keep the aligned integers below 2^50 (exact in float64, like every accumulator).
    if (maxX * 2 ** (j + 1) > 2 ** 50) break;
  }
  return scales.map((sc) => Math.round(sc / unit));
}

export const argmaxFloat: FloatLayerDef<ArgMaxLayer> = {
  forward(l, [x]) {
    let best = 0;
    for (let i = 1; i < x.length; i++) if (l.selectLast ? x[i] >= x[best] : x[i] > x[best]) best = i;
    return Float64Array.of(best);
  },
  quantize(l, ctx) {
    let s = ctx.settle(0);
    let v = integerView(s.quant, sizeOf(s.shape), ctx.multiplierBits);
    // Aligned values must stay exact in float64 (the reference compares them as numbers): else compare the
    // requantized uint8 values, which share one scale.
    if (!(Math.max(...v.hi.map(Math.abs), ...v.lo.map(Math.abs)) <= MAX_ACC)) {
      s = ctx.ensureU8(0);
      v = integerView(s.quant, sizeOf(s.shape), ctx.multiplierBits);
    }
    const n = sizeOf(s.shape);
    const { multipliers, offset, lo, hi } = v;
    const diffBits = bitsFor(Math.max(...hi) - Math.min(...lo));
    ctx.push({
      kind: 'argmax', name: l.name, inputs: [s.tensor], output: l.output, inShape: s.shape, outShape: l.outShape,
      selectLast: l.selectLast, multipliers, offset, diffBits, outQuant: { kind: 'acc', scales: [1], lo: [0], hi: [n - 1] },
    });
  },
};

/**
 * The integers ArgMax compares, (x - offset) * multiplier, and their bounds: uint8 values less the zero point,
 * or an accumulator brought to one scale (raw integers compare like the reals only then).
 */
function integerView(q: TensorQuant, n: number, bits: number): { multipliers: number[]; offset: number; lo: number[]; hi: number[] } {
  if (q.kind === 'u8') {
    return { multipliers: new Array<number>(n).fill(1), offset: q.zeroPoint, lo: new Array(n).fill(-q.zeroPoint), hi: new Array(n).fill(255 - q.zeroPoint) };
  }
  const max = Math.max(...q.scales);
  const multipliers = q.scales.some((sc) => sc !== max) ? alignScales(q.scales, q.lo, q.hi, bits) : q.scales.map(() => 1);
  return { multipliers, offset: 0, lo: q.lo.map((v, i) => v * multipliers[i]), hi: q.hi.map((v, i) => v * multipliers[i]) };
}

export const argmaxQ: QLayerDef<QArgMax> = {
  reference(l, [x]) {
    const v = x.map((e, i) => (e - l.offset) * l.multipliers[i]);
    let best = 0;
    for (let i = 1; i < v.length; i++) if (l.selectLast ? v[i] >= v[best] : v[i] > v[best]) best = i;
    return [best];
  },
  emit(l, [x], w) {
    if (x.length === 1) return ['0'];
    w.include('argmax.circom');
    const id = w.fresh('argmax');
    w.line(`// ${l.name}: argmax of ${x.length} (one-hot selector, ${l.diffBits}-bit differences)`);
    w.line(`component ${id} = ArgMax(${x.length}, ${l.diffBits}, ${l.selectLast ? 1 : 0});`);
    x.forEach((e, i) => {
      const m = l.multipliers[i];
      const shifted = l.offset ? `(${e} - ${l.offset})` : e;
      w.bind(`${id}.x[${i}]`, m === 1 ? shifted : `${m}*${shifted}`);
    });
    return [`${id}.index`];
  },
  constraints: (l) => {
    const n = sizeOf(l.inShape);
    // For n = 2 the index is the lone selector s[1]: --O1 merges `index <== s[1]`, one constraint fewer.
    return n === 1 ? 0 : n * (l.diffBits + 3) + (n === 2 ? 1 : 2);
  },
  costFormula: 'n * (B + 3) + 2 for n values (B bits bound max - min; + 1 when n = 2), plus 1 per input that is a linear combination',
  bitsSummary: (l) => `B ${l.diffBits}`,
};
