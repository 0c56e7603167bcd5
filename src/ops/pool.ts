/**
 * MaxPool, GlobalMaxPool, AveragePool and GlobalAveragePool (2-D on [1, C, H, W] and 1-D on [1, C, L], batch
 * 1; ceil_mode and count_include_pad).
 *
 * Max-pool: the maximum of each window by a tournament of Max2 gadgets (circuits/max.circom), each sized to
 * the exact bound of its two operands' difference. ReLU, Clip and requantization are monotone, so a
 * max-pool after Conv -> Relu runs on the accumulators and only the pooled values are requantized (4x fewer
 * requantizations for a 2x2 pool). On uint8 values a comparison costs 11 constraints (B = 8): 33 for 2x2.
 *
 * Average pooling: the window sum is a linear combination, and the division by the count is exact in the
 * accumulator's scale (s_in / count): 0 constraints. The next linear step consumes the accumulator directly.
 */
import type { AccQuant, AvgPoolLayer, MaxPoolLayer, QAvgPool, QMaxPool, Window2d } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import { attrInt, checkKnownAttrs } from './attrs.ts';
import { emitLinearRow, MAX_ACC } from './linear.ts';
import type { FloatLayerDef, ImportContext, OpImporter, QLayerDef, QState, QuantizeContext } from './types.ts';
import { bitsFor } from './types.ts';
import { paddedTapCount, parseWindow, spatialOf, windowOutShape, windowTaps } from './window.ts';
import type { OnnxNode } from '../onnx/load.ts';

/** For each output element (channel-major), the input indices of its window (in-image taps only). */
const windowCache = new WeakMap<object, number[][]>();

export function poolWindows(w: Window2d, inShape: number[], outShape: number[]): number[][] {
  let wins = windowCache.get(w);
  if (!wins) windowCache.set(w, (wins = buildWindows(w, inShape, outShape)));
  return wins;
}

function buildWindows(w: Window2d, inShape: number[], outShape: number[]): number[][] {
  const [C, H, W] = spatialOf(inShape);
  const [, OH, OW] = spatialOf(outShape);
  const out: number[][] = [];
  for (let c = 0; c < C; c++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) out.push(windowTaps(w, H, W, oy, ox).map(([, p]) => c * H * W + p));
    }
  }
  return out;
}

/**
 * For each output element, the divisor of an average pool: the in-image taps, or with count_include_pad the
 * taps inside the padded input (the kernel size, less for a ceil_mode window past the end).
 */
const divisorCache = new WeakMap<object, number[]>();

export function poolDivisors(l: Window2d & { inShape: number[]; outShape: number[]; countIncludePad: boolean }): number[] {
  let d = divisorCache.get(l);
  if (!d) {
    if (!l.countIncludePad) d = poolWindows(l, l.inShape, l.outShape).map((win) => win.length);
    else {
      const [, H, W] = spatialOf(l.inShape);
      const [C, OH, OW] = spatialOf(l.outShape);
      const per: number[] = [];
      for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) per.push(paddedTapCount(l, H, W, oy, ox));
      d = [];
      for (let c = 0; c < C; c++) d.push(...per);
    }
    divisorCache.set(l, d);
  }
  return d;
}

function importPool(node: OnnxNode, ctx: ImportContext, kind: 'maxpool' | 'avgpool', global: boolean): void {
  const shape = ctx.current.shape;
  if (global) checkKnownAttrs(node, ctx, []);
  else if (kind === 'maxpool') checkKnownAttrs(node, ctx, ['auto_pad', 'ceil_mode', 'dilations', 'kernel_shape', 'pads', 'storage_order', 'strides']);
  else checkKnownAttrs(node, ctx, ['auto_pad', 'ceil_mode', 'count_include_pad', 'dilations', 'kernel_shape', 'pads', 'strides']);
  if (node.outputs.length > 1 && node.outputs[1]) return ctx.issue('the Indices output is not supported');
  const win = parseWindow(node, ctx, shape, global && shape.length >= 3 ? shape.slice(2) : undefined, !global);
  if (!win) return;
  const { outH, outW, ...geo } = win;
  const base = { name: node.name, inputs: [ctx.current.name], output: node.outputs[0], inShape: shape, outShape: windowOutShape(shape, shape[1], outH, outW), ...geo };
  if (kind === 'maxpool') ctx.push({ kind: 'maxpool', ...base });
  else ctx.push({ kind: 'avgpool', ...base, countIncludePad: !global && attrInt(node, ctx, 'count_include_pad', 0) === 1 });
}

export const poolImporters: OpImporter[] = [
  { onnxOps: ['MaxPool'], importNode: (n, c) => importPool(n, c, 'maxpool', false) },
  { onnxOps: ['GlobalMaxPool'], importNode: (n, c) => importPool(n, c, 'maxpool', true) },
  { onnxOps: ['AveragePool'], importNode: (n, c) => importPool(n, c, 'avgpool', false) },
  { onnxOps: ['GlobalAveragePool'], importNode: (n, c) => importPool(n, c, 'avgpool', true) },
];

/**
 * The tournament for one window: operands are paired in order, level by level (an odd one out moves up).
 * Returns each comparison's operands (>= 0: input element; < 0: -1 - comparison index) and bits.
 */
export function tournament(elems: number[], lo: number[], hi: number[]): { a: number; b: number; bits: number }[] {
  const cmps: { a: number; b: number; bits: number }[] = [];
  let level = elems.map((e) => ({ ref: e, lo: lo[e], hi: hi[e] }));
  while (level.length > 1) {
    const next: typeof level = [];
    for (let i = 0; i < level.length; i += 2) {
      if (i + 1 === level.length) {
        next.push(level[i]);
        continue;
      }
      const [x, y] = [level[i], level[i + 1]];
      const bits = bitsFor(Math.max(x.hi - y.lo, y.hi - x.lo, 0));
      cmps.push({ a: x.ref, b: y.ref, bits });
      next.push({ ref: -cmps.length, lo: Math.max(x.lo, y.lo), hi: Math.max(x.hi, y.hi) });
    }
    level = next;
  }
  return cmps;
}

/** The input state if every window of an accumulator shares one scale (uint8 always does); else requantized. */
function oneScalePerWindow(ctx: QuantizeContext, s: QState, wins: number[][]): QState {
  if (s.quant.kind !== 'acc') return s;
  const sc = s.quant.scales;
  return wins.every((win) => win.every((i) => sc[i] === sc[win[0]])) ? s : ctx.ensureU8(0);
}

export const maxPoolFloat: FloatLayerDef<MaxPoolLayer> = {
  forward(l, [x]) {
    return Float64Array.from(poolWindows(l, l.inShape, l.outShape), (win) => win.reduce((m, i) => Math.max(m, x[i]), -Infinity));
  },
  quantize(l, ctx) {
    const wins = poolWindows(l, l.inShape, l.outShape);
    // Raw integers compare like the reals only when a window shares one scale.
    const s = oneScalePerWindow(ctx, ctx.input(0), wins);
    const q = s.quant;
    const lo = q.kind === 'acc' ? q.lo : new Array(sizeOf(s.shape)).fill(0);
    const hi = q.kind === 'acc' ? q.hi : new Array(sizeOf(s.shape)).fill(255);
    if (wins.some((w) => w.length === 0)) return ctx.issue('a window lies entirely in the padding');
    let outQuant: QMaxPool['outQuant'] = q;
    if (q.kind === 'acc') {
      const o: AccQuant = { kind: 'acc', scales: [], lo: [], hi: [] };
      for (const win of wins) {
        o.scales.push(q.scales[win[0]]);
        o.lo.push(Math.max(...win.map((i) => q.lo[i])));
        o.hi.push(Math.max(...win.map((i) => q.hi[i])));
      }
      outQuant = o;
    }
    ctx.push(
      { kind: 'maxpool', name: l.name, inputs: [s.tensor], output: l.output, inShape: s.shape, outShape: l.outShape, kernel: l.kernel, strides: l.strides, pads: l.pads, dilations: l.dilations, inLo: lo, inHi: hi, outQuant },
      { clamp: s.clamp, label: s.clamp ? `${s.label}+${l.name}` : l.name },
    );
  },
};

export const maxPoolQ: QLayerDef<QMaxPool> = {
  reference(l, [x]) {
    return poolWindows(l, l.inShape, l.outShape).map((win) => win.reduce((m, i) => Math.max(m, x[i]), -Infinity));
  },
  emit(l, [x], w) {
    w.include('max.circom');
    const wins = poolWindows(l, l.inShape, l.outShape);
    const { inLo: lo, inHi: hi } = l;
    w.line(`// ${l.name}: max-pool ${l.kernel[0]}x${l.kernel[1]} (tournament of Max2)`);
    return wins.map((win) => {
      const cmps = tournament(win, lo, hi);
      if (!cmps.length) return x[win[0]];
      // Operands that can be negative are shifted by -L >= 0 (L = the window's lowest bound): the max of the
      // shifted values is the shifted max, and small non-negative witness values make snarkjs prove much
      // faster than field elements near p. The same linear binding either way, so the cost is unchanged.
      const L = Math.min(0, ...win.map((i) => lo[i]));
      const shifted = (e: string) => withOffset(e, -L);
      const outs: string[] = [];
      for (const c of cmps) {
        const id = w.fresh('mx');
        w.line(`component ${id} = Max2(${c.bits});`);
        w.bind(`${id}.a`, c.a >= 0 ? shifted(x[c.a]) : outs[-1 - c.a]);
        w.bind(`${id}.b`, c.b >= 0 ? shifted(x[c.b]) : outs[-1 - c.b]);
        outs.push(`${id}.out`);
      }
      return withOffset(outs[outs.length - 1], L);
    });
  },
  constraints: (l) => compareBits(l).reduce((a, bs) => a + bs.reduce((s, b) => s + b + 3, 0), 0),
  costFormula: 'per window of n: n - 1 comparisons of B + 3 (B bits bound the operands\' difference), plus 1 per operand that is a linear combination',
  bitsSummary(l) {
    const all = compareBits(l).flat();
    return all.length ? `B ${Math.min(...all)}..${Math.max(...all)}` : '-';
  },
};

/**
 * `e + k`, folding into an offset `e` already carries (a max-pool of a max-pool un-shifts and re-shifts the
 * same values): the result is then a bare signal again, whose binding --O1 removes.
 */
function withOffset(e: string, k: number): string {
  const m = /^\((.+) ([+-]) (\d+)\)$/.exec(e);
  const [base, c] = m ? [m[1], (m[2] === '+' ? 1 : -1) * Number(m[3])] : [e, 0];
  const t = c + k;
  return t === 0 ? base : `(${base} ${t > 0 ? '+' : '-'} ${Math.abs(t)})`;
}

/** Bits of every comparison, per window. */
function compareBits(l: QMaxPool): number[][] {
  return poolWindows(l, l.inShape, l.outShape).map((win) => tournament(win, l.inLo, l.inHi).map((c) => c.bits));
}

export const avgPoolFloat: FloatLayerDef<AvgPoolLayer> = {
  forward(l, [x]) {
    const div = poolDivisors(l);
    return Float64Array.from(poolWindows(l, l.inShape, l.outShape), (win, o) => win.reduce((s, i) => s + x[i], 0) / div[o]);
  },
  quantize(l, ctx) {
    const wins = poolWindows(l, l.inShape, l.outShape);
    // A window sum is exact only at one scale.
    const s = oneScalePerWindow(ctx, ctx.settle(0), wins);
    const q = s.quant;
    const zp = q.kind === 'u8' ? q.zeroPoint : 0;
    const div = poolDivisors(l);
    const o: AccQuant = { kind: 'acc', scales: [], lo: [], hi: [] };
    for (const [k, win] of wins.entries()) {
      if (win.length === 0) return ctx.issue('a window lies entirely in the padding');
      const scale = q.kind === 'u8' ? q.scale : q.scales[win[0]];
      o.scales.push(scale / div[k]);
      o.lo.push(win.reduce((a, i) => a + (q.kind === 'u8' ? -zp : q.lo[i]), 0));
      o.hi.push(win.reduce((a, i) => a + (q.kind === 'u8' ? 255 - zp : q.hi[i]), 0));
      if (!(Math.max(-o.lo[o.lo.length - 1], o.hi[o.hi.length - 1]) <= MAX_ACC)) return ctx.issue('a window sum can reach 2^50 (the input accumulator is too wide)');
    }
    ctx.push({ kind: 'avgpool', name: l.name, inputs: [s.tensor], output: l.output, inShape: s.shape, outShape: l.outShape, kernel: l.kernel, strides: l.strides, pads: l.pads, dilations: l.dilations, countIncludePad: l.countIncludePad, inZeroPoint: zp, outQuant: o });
  },
};

export const avgPoolQ: QLayerDef<QAvgPool> = {
  reference(l, [x]) {
    return poolWindows(l, l.inShape, l.outShape).map((win) => win.reduce((s, i) => s + x[i] - l.inZeroPoint, 0));
  },
  emit(l, [x], w) {
    const v = w.fresh('pool');
    const wins = poolWindows(l, l.inShape, l.outShape);
    w.line(`// ${l.name}: window sums (average pooling; the division is in the scale, 0 constraints)`);
    w.line(`var ${v}[${wins.length}];`);
    return wins.map((win, o) => emitLinearRow(w, `${v}[${o}]`, -l.inZeroPoint * win.length, win.map((i) => [1, x[i]])));
  },
  constraints: () => 0,
  costFormula: '0 (a window sum is a linear combination; the division is exact in the output scale)',
  bitsSummary: (l) => `sum of <= ${l.kernel[0] * l.kernel[1]}`,
};
