/**
 * LSTM, GRU and RNN (ONNX opsets 7-22) unrolled over the sequence into existing, already-sound layer kinds:
 *   x_t        'gather' (a slice of X, 0 constraints)
 *   W x_t + b  'dense' per gate (constant weights, 0 constraints), R h_{t-1} 'dense', their sum 'affine'
 *   sigma/tanh 'lut' tables (with the requantization of the gate's accumulator), Relu a 'clip', Affine an 'affine'
 *   f*c, i*g, o*tanh(c), r*h, z*h 'product' layers (src/ops/arith.ts), c_t = f*c + i*g an 'affine'
 *   Y, Y_h, Y_c 'gather' layers concatenating the steps' states.
 * So the quantizer, the integer reference, the emitter and the cost formulas are those of these layers: no new
 * gadget. Each step's h (and c) is requantized onto a uint8 grid calibrated over all steps where a dense or a
 * product reads it.
 *
 * Supported: layout 0 and 1, batch 1, direction forward / reverse / bidirectional, activations Relu, Tanh,
 * Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus with
 * activation_alpha / activation_beta, B optional, sequence_lens absent or constant equal to seq, initial_h /
 * initial_c constant (ConstantOfShape folded at import) or activations, P absent or all zeros, GRU
 * linear_before_reset 0 and 1, any of the outputs omitted. Refused with an issue: clip, input_forget 1,
 * non-zero peepholes, batch > 1, variable sequence lengths.
 */
import type { RecurrentFloatLayer, RecurrentQLayer } from '../ir/layers/recurrent.ts';
import type { LutFunction } from '../ir/layers/elementwise.ts';
import { sizeOf } from '../ir/types.ts';
import { u8QuantFor } from '../ir/quant.ts';
import type { OnnxNode, OnnxTensor } from '../onnx/load.ts';
import { attrInt, checkKnownAttrs } from './attrs.ts';
import type { FloatLayerDef, ImportContext, OpImporter, QLayerDef, QuantizeContext } from './types.ts';
import { lutFn, makeTable } from './lut.ts';

/** A recurrent state or vector: an IR activation, or constant values (an initial state given as a constant). */
type Val = { name: string } | { consts: Float64Array };

const isZero = (v: Val) => 'consts' in v && v.consts.every((x) => x === 0);

interface Act {
  fn: string;
  alpha: number;
  beta: number;
}

/** activation_alpha / activation_beta defaults of the functions that take them (ONNX operator spec). */
const ACT_PARAMS: Record<string, { alpha?: number; beta?: number }> = {
  Relu: {}, Tanh: {}, Sigmoid: {}, Softsign: {}, Softplus: {},
  Affine: { alpha: 1, beta: 0 },
  LeakyRelu: { alpha: 0.01 },
  ThresholdedRelu: { alpha: 1 },
  ScaledTanh: { alpha: 1, beta: 1 },
  HardSigmoid: { alpha: 0.2, beta: 0.5 },
  Elu: { alpha: 1 },
};

const LUT_OF: Record<string, LutFunction> = {
  Tanh: 'tanh', Sigmoid: 'sigmoid', Softsign: 'softsign', Softplus: 'softplus', LeakyRelu: 'leakyrelu',
  ThresholdedRelu: 'thresholdedrelu', HardSigmoid: 'hardsigmoid', Elu: 'elu',
};

/** Float value of an activation function (for constant inputs, e.g. an initial state). */
function actValue(a: Act, x: number): number {
  switch (a.fn) {
    case 'Relu': return Math.max(0, x);
    case 'Tanh': return Math.tanh(x);
    case 'Sigmoid': return 1 / (1 + Math.exp(-x));
    case 'Affine': return a.alpha * x + a.beta;
    case 'LeakyRelu': return x >= 0 ? x : a.alpha * x;
    case 'ThresholdedRelu': return x > a.alpha ? x : 0;
    case 'ScaledTanh': return a.alpha * Math.tanh(a.beta * x);
    case 'HardSigmoid': return Math.max(0, Math.min(1, a.alpha * x + a.beta));
    case 'Elu': return x >= 0 ? x : a.alpha * (Math.exp(x) - 1);
    case 'Softsign': return x / (1 + Math.abs(x));
    case 'Softplus': return Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0);
  }
  return NaN;
}

const KNOWN = ['activation_alpha', 'activation_beta', 'activations', 'clip', 'direction', 'hidden_size', 'layout'];

class Unroller {
  private count = 0;
  constructor(private readonly node: OnnxNode, private readonly ctx: ImportContext) {}

  private fresh(tag: string): string {
    return `${this.node.name}#${tag}.${this.count++}`;
  }

  gather(tag: string, inputs: string[], inShape: number[], index: number[], output?: string, outShape?: number[]): string {
    const out = output ?? this.fresh(tag);
    this.ctx.push({
      kind: 'gather', name: output ? this.node.name : out, inputs, output: out, inShape, outShape: outShape ?? [index.length],
      index: Int32Array.from(index), padValue: 0,
    });
    return out;
  }

  dense(tag: string, input: string, inSize: number, w: Float64Array, b: Float64Array): string {
    const out = this.fresh(tag);
    const outSize = b.length;
    this.ctx.push({ kind: 'dense', name: out, inputs: [input], output: out, inShape: [inSize], outShape: [outSize], inSize, outSize, weights: w, bias: b });
    return out;
  }

  affine(tag: string, inputs: string[], coefs: Float64Array[], bias: Float64Array): string {
    const out = this.fresh(tag);
    const n = bias.length;
    this.ctx.push({ kind: 'affine', name: out, inputs, output: out, inShape: [n], outShape: [n], coefs, bias });
    return out;
  }

  /** out = a * b element-wise, a and b activations of n elements. */
  product(tag: string, a: string, b: string, n: number): string {
    const out = this.fresh(tag);
    const idx = Array.from({ length: n }, (_, i) => i);
    this.ctx.push({ kind: 'product', name: out, inputs: [a, b], output: out, inShape: [n], outShape: [n], k: 1, ia: idx, ib: idx.slice(), coef: 1, linA: 0, linB: 0, bias: 0 });
    return out;
  }

  /** x requantized onto the grid shared by `group` (every step's instance of the same quantity). */
  grid(tag: string, x: string, n: number, group: string[]): string {
    const out = this.fresh(tag);
    group.push(x);
    this.ctx.push({ kind: 'rgrid', name: out, inputs: [x], output: out, inShape: [n], outShape: [n], group });
    return out;
  }

  /** An activation function applied to an activation of n elements (its input on a grid shared over the steps). */
  act(tag: string, a: Act, x0: string, n: number, group?: string[], outGroup?: string[]): string {
    const fn = LUT_OF[a.fn];
    if (fn && group && outGroup) {
      const out = this.fresh(tag);
      group.push(x0);
      outGroup.push(out);
      const hasAlpha = ['LeakyRelu', 'ThresholdedRelu', 'HardSigmoid', 'Elu'].includes(a.fn);
      this.ctx.push({
        kind: 'ract', name: out, inputs: [x0], output: out, inShape: [n], outShape: [n], fn, alpha: hasAlpha ? a.alpha : 0,
        ...(a.fn === 'HardSigmoid' ? { beta: a.beta } : {}), inGroup: group, outGroup,
      });
      return out;
    }
    const x = group ? this.grid(`${tag}.q`, x0, n, group) : x0;
    const y = this.act1(tag, a, x, n);
    return outGroup ? this.grid(`${tag}.g`, y, n, outGroup) : y;
  }

  private act1(tag: string, a: Act, x: string, n: number): string {
    const ones = (v: number) => new Float64Array(n).fill(v);
    if (a.fn === 'Relu') {
      const out = this.fresh(tag);
      this.ctx.push({ kind: 'clip', name: out, inputs: [x], output: out, inShape: [n], outShape: [n], lo: 0, hi: Infinity });
      return out;
    }
    if (a.fn === 'Affine') return this.affine(tag, [x], [ones(a.alpha)], ones(a.beta));
    if (a.fn === 'ScaledTanh') {
      const pre = this.affine(`${tag}.in`, [x], [ones(a.beta)], ones(0));
      const t = this.act1(tag, { fn: 'Tanh', alpha: 0, beta: 0 }, pre, n);
      return this.affine(`${tag}.out`, [t], [ones(a.alpha)], ones(0));
    }
    const out = this.fresh(tag);
    const fn = LUT_OF[a.fn];
    const hasAlpha = ['LeakyRelu', 'ThresholdedRelu', 'HardSigmoid', 'Elu'].includes(a.fn);
    this.ctx.push({
      kind: 'lut', name: out, inputs: [x], output: out, inShape: [n], outShape: [n], fn, alpha: hasAlpha ? a.alpha : 0,
      ...(a.fn === 'HardSigmoid' ? { beta: a.beta } : {}),
    });
    return out;
  }

  /** a (activation) times v element-wise: an affine layer when v is constant, a product otherwise. */
  mul(tag: string, a: string, v: Val, n: number): string | undefined {
    if ('consts' in v) return isZero(v) ? undefined : this.affine(tag, [a], [Float64Array.from(v.consts)], new Float64Array(n));
    return this.product(tag, a, v.name, n);
  }

  /** Sum of activations (undefined ones skipped) plus a constant. */
  sum(tag: string, terms: (string | undefined)[], n: number, bias?: Float64Array): string {
    const ts = terms.filter((t): t is string => !!t);
    if (ts.length === 1 && (!bias || bias.every((x) => x === 0))) return ts[0];
    return this.affine(tag, ts, ts.map(() => new Float64Array(n).fill(1)), bias ?? new Float64Array(n));
  }
}

/** Rows [r0, r0 + rows) of a [*, cols] matrix stored flat at offset off. */
function rowsOf(data: Float64Array, off: number, r0: number, rows: number, cols: number): Float64Array {
  return Float64Array.from(data.subarray(off + r0 * cols, off + (r0 + rows) * cols));
}

function matVec(m: Float64Array, v: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r] += m[r * cols + c] * v[c];
  return out;
}

type Cell = 'LSTM' | 'GRU' | 'RNN';
const GATES: Record<Cell, number> = { LSTM: 4, GRU: 3, RNN: 1 };
const DEFAULT_ACTS: Record<Cell, string[]> = { LSTM: ['Sigmoid', 'Tanh', 'Tanh'], GRU: ['Sigmoid', 'Tanh'], RNN: ['Tanh'] };

function importRecurrent(node: OnnxNode, ctx: ImportContext): void {
  const cell = node.op as Cell;
  const known = [...KNOWN, ...(cell === 'LSTM' ? ['input_forget'] : cell === 'GRU' ? ['linear_before_reset'] : [])];
  checkKnownAttrs(node, ctx, known);
  const nG = GATES[cell];
  const H = attrInt(node, ctx, 'hidden_size', 0);
  const layout = attrInt(node, ctx, 'layout', 0);
  const dirAttr = node.attrs.get('direction');
  const direction = dirAttr?.type === 'string' ? dirAttr.value : 'forward';
  if (!['forward', 'reverse', 'bidirectional'].includes(direction)) return ctx.issue(`direction '${direction}' is not one of forward, reverse, bidirectional`);
  const D = direction === 'bidirectional' ? 2 : 1;
  if (node.attrs.has('clip')) return ctx.issue(`attribute 'clip' (cell clipping) is not supported`);
  if (cell === 'LSTM' && attrInt(node, ctx, 'input_forget', 0) !== 0) return ctx.issue(`input_forget 1 (coupled input and forget gates) is not supported`);
  const lbr = cell === 'GRU' ? attrInt(node, ctx, 'linear_before_reset', 0) : 0;
  if (layout !== 0 && layout !== 1) return ctx.issue(`layout ${layout} is not 0 or 1`);

  const X = ctx.activation(node.inputs[0]);
  if (!X) return ctx.issue(`input X '${node.inputs[0]}' must be an activation`);
  if (X.shape.length !== 3) return ctx.issue(`X must have rank 3, got [${X.shape}]`);
  const [seq, batch, I] = layout === 0 ? X.shape : [X.shape[1], X.shape[0], X.shape[2]];
  if (batch !== 1) return ctx.issue(`batch ${batch}: only batch 1 is supported`);
  const W = ctx.constant(node.inputs[1] ?? '');
  const R = ctx.constant(node.inputs[2] ?? '');
  if (!W || !R) return ctx.issue('W and R must be constants (initializers)');
  if (H <= 0) return ctx.issue(`hidden_size must be positive, got ${H}`);
  if (sizeOf(W.dims) !== D * nG * H * I) return ctx.issue(`W has dims [${W.dims}], expected [${D}, ${nG * H}, ${I}]`);
  if (sizeOf(R.dims) !== D * nG * H * H) return ctx.issue(`R has dims [${R.dims}], expected [${D}, ${nG * H}, ${H}]`);
  const bName = node.inputs[3] ?? '';
  let B: Float64Array = new Float64Array(D * 2 * nG * H);
  if (bName) {
    const b = ctx.constant(bName);
    if (!b) return ctx.issue(`B '${bName}' must be a constant`);
    if (sizeOf(b.dims) !== B.length) return ctx.issue(`B has dims [${b.dims}], expected [${D}, ${2 * nG * H}]`);
    B = Float64Array.from(b.data);
  }
  const slName = node.inputs[4] ?? '';
  if (slName) {
    const sl = ctx.constant(slName);
    if (!sl) return ctx.issue(`sequence_lens '${slName}' must be a constant (variable lengths are not supported)`);
    if (Array.from(sl.data).some((v) => v !== seq)) return ctx.issue(`sequence_lens [${Array.from(sl.data)}] differs from the sequence length ${seq}: only full sequences are supported`);
  }
  const initial = (k: number, what: string): Val[] | undefined => {
    const name = node.inputs[k] ?? '';
    const zeros = () => Array.from({ length: D }, () => ({ consts: new Float64Array(H) }));
    if (!name) return zeros();
    const c: OnnxTensor | undefined = ctx.constant(name);
    if (c) {
      if (sizeOf(c.dims) !== D * H) {
        ctx.issue(`${what} has dims [${c.dims}], expected ${D * H} elements`);
        return undefined;
      }
      return Array.from({ length: D }, (_, d) => ({ consts: Float64Array.from(c.data.subarray(d * H, (d + 1) * H)) }));
    }
    const a = ctx.activation(name);
    if (!a || sizeOf(a.shape) !== D * H) {
      ctx.issue(`${what} '${name}' must be a constant or an activation of ${D * H} elements`);
      return undefined;
    }
    return Array.from({ length: D }, (_, d) => ({ name: u.gather(`${what}.d${d}`, [a.name], a.shape, Array.from({ length: H }, (_, j) => d * H + j)) }));
  };
  if (cell === 'LSTM' && node.inputs[7]) {
    const p = ctx.constant(node.inputs[7]);
    if (!p || p.data.some((v) => v !== 0)) return ctx.issue('peepholes P are not supported (only absent or all zeros)');
  }

  // Activations: per direction, the cell's list (forward's, then reverse's); alpha / beta consumed in order.
  const nA = DEFAULT_ACTS[cell].length;
  const actsAttr = node.attrs.get('activations');
  let names: string[] = [];
  if (actsAttr) {
    if (actsAttr.type === 'strings') names = actsAttr.value;
    else if (actsAttr.type === 'string') names = [actsAttr.value];
    else return ctx.issue(`attribute 'activations' should be a list of strings`);
  }
  if (names.length === 0) names = Array.from({ length: D }, () => DEFAULT_ACTS[cell]).flat();
  if (names.length !== nA * D) return ctx.issue(`activations [${names}]: expected ${nA * D} names for ${cell} ${direction}`);
  const floatsOf = (k: string) => {
    const a = node.attrs.get(k);
    return a?.type === 'floats' ? a.value : a?.type === 'float' ? [a.value] : [];
  };
  const alphas = floatsOf('activation_alpha');
  const betas = floatsOf('activation_beta');
  let ai = 0;
  let bi = 0;
  const acts: Act[] = [];
  for (const raw of names) {
    const fn = Object.keys(ACT_PARAMS).find((k) => k.toLowerCase() === raw.toLowerCase());
    if (!fn) return ctx.issue(`activation '${raw}' is not supported (supported: ${Object.keys(ACT_PARAMS).join(', ')})`);
    const p = ACT_PARAMS[fn];
    const alpha = p.alpha === undefined ? 0 : ai < alphas.length ? alphas[ai++] : p.alpha;
    const beta = p.beta === undefined ? 0 : bi < betas.length ? betas[bi++] : p.beta;
    acts.push({ fn, alpha, beta });
  }

  const u = new Unroller(node, ctx);
  const h0 = initial(5, 'initial_h');
  const c0 = cell === 'LSTM' ? initial(6, 'initial_c') : [];
  if (!h0 || !c0) return;

  const xIndex = (t: number) => Array.from({ length: I }, (_, i) => t * I + i);
  const hs: string[][] = Array.from({ length: D }, () => new Array<string>(seq));
  const hLast: string[] = [];
  const cLast: string[] = [];
  for (let d = 0; d < D; d++) {
    const f = acts[d * nA];
    const g = acts[d * nA + 1];
    const h = acts[d * nA + 2];
    const wOff = d * nG * H * I;
    const rOff = d * nG * H * H;
    const bOff = d * 2 * nG * H;
    const Wg = (k: number) => rowsOf(W.data, wOff, k * H, H, I);
    const Rg = (k: number) => rowsOf(R.data, rOff, k * H, H, H);
    const Wb = (k: number) => Float64Array.from(B.subarray(bOff + k * H, bOff + (k + 1) * H));
    const Rb = (k: number) => Float64Array.from(B.subarray(bOff + (nG + k) * H, bOff + (nG + k + 1) * H));
    const add = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]);
    const gPre = Array.from({ length: nG + 1 }, () => [] as string[]);
    const gOut = Array.from({ length: nG + 1 }, () => [] as string[]);
    const gMisc = Array.from({ length: 3 }, () => [] as string[]);
    const gH: string[] = [];
    const gC: string[] = [];
    let hPrev: Val = h0[d];
    let cPrev: Val | undefined = c0[d];
    for (let s = 0; s < seq; s++) {
      const t = d === 1 || direction === 'reverse' ? seq - 1 - s : s;
      const tag = `d${d}t${t}`;
      const xt = u.gather(`${tag}.x`, [X.name], X.shape, xIndex(t));
      /** W_k x_t + Wb_k (+ Rb_k) + R_k h_{t-1} (the recurrent term folded into the bias when h is constant). */
      const pre = (k: number, withR: boolean, withRb = true): string => {
        let bias = Wb(k);
        if (withRb) bias = add(bias, Rb(k));
        if (withR && 'consts' in hPrev) bias = add(bias, matVec(Rg(k), hPrev.consts, H, H));
        const px = u.dense(`${tag}.W${k}`, xt, I, Wg(k), bias);
        if (!withR || 'consts' in hPrev) return px;
        const ph = u.dense(`${tag}.R${k}`, hPrev.name, H, Rg(k), new Float64Array(H));
        return u.sum(`${tag}.pre${k}`, [px, ph], H);
      };
      let hNew: string;
      if (cell === 'RNN') {
        hNew = u.act(`${tag}.h`, f, pre(0, true), H, [], gOut[0]);
      } else if (cell === 'LSTM') {
        const gi = u.act(`${tag}.i`, f, pre(0, true), H, gPre[0], gOut[0]);
        const go = u.act(`${tag}.o`, f, pre(1, true), H, gPre[1], gOut[1]);
        const gf = u.act(`${tag}.f`, f, pre(2, true), H, gPre[2], gOut[2]);
        const gc = u.act(`${tag}.c~`, g, pre(3, true), H, gPre[3], gOut[3]);
        const fc = cPrev ? u.mul(`${tag}.fc`, gf, cPrev, H) : undefined;
        const ig = u.product(`${tag}.ig`, gi, gc, H);
        const c = u.grid(`${tag}.cq`, u.sum(`${tag}.c`, [fc, ig], H), H, gC);
        cPrev = { name: c };
        hNew = u.product(`${tag}.h`, go, u.act(`${tag}.hc`, h, c, H, gMisc[2], gOut[4]), H);
      } else {
        const z = u.act(`${tag}.z`, f, pre(0, true), H, gPre[0], gOut[0]);
        const r = u.act(`${tag}.r`, f, pre(1, true), H, gPre[1], gOut[1]);
        let hhPre: string;
        if (lbr === 0) {
          // Wh x + Wbh + Rh (r * h) + Rbh
          const px = u.dense(`${tag}.W2`, xt, I, Wg(2), add(Wb(2), Rb(2)));
          if ('consts' in hPrev && isZero(hPrev)) hhPre = px;
          else {
            const rh = u.grid(`${tag}.rhq`, u.mul(`${tag}.rh`, r, hPrev, H)!, H, gMisc[0]);
            hhPre = u.sum(`${tag}.pre2`, [px, u.dense(`${tag}.R2`, rh, H, Rg(2), new Float64Array(H))], H);
          }
        } else {
          // Wh x + Wbh + r * (Rh h + Rbh)
          const px = u.dense(`${tag}.W2`, xt, I, Wg(2), Wb(2));
          let rt: string | undefined;
          if ('consts' in hPrev) rt = u.mul(`${tag}.rRh`, r, { consts: add(matVec(Rg(2), hPrev.consts, H, H), Rb(2)) }, H);
          else rt = u.product(`${tag}.rRh`, r, u.dense(`${tag}.R2`, hPrev.name, H, Rg(2), Rb(2)), H);
          hhPre = u.sum(`${tag}.pre2`, [px, rt], H);
        }
        const hh = u.act(`${tag}.hh`, g, hhPre, H, gPre[2], gOut[2]);
        // h = (1 - z) * hh + z * h_{t-1} = hh + z * (h_{t-1} - hh)
        const one = new Float64Array(H).fill(1);
        const diff = 'consts' in hPrev
          ? u.affine(`${tag}.dh`, [hh], [one.map(() => -1)], Float64Array.from(hPrev.consts))
          : u.affine(`${tag}.dh`, [hPrev.name, hh], [one, one.map(() => -1)], new Float64Array(H));
        hNew = u.sum(`${tag}.h`, [hh, u.product(`${tag}.zdh`, z, u.grid(`${tag}.dhq`, diff, H, gMisc[1]), H)], H);
      }
      hNew = u.grid(`${tag}.hq`, hNew, H, gH);
      hs[d][t] = hNew;
      hPrev = { name: hNew };
    }
    hLast.push((hPrev as { name: string }).name);
    if (cPrev && 'name' in cPrev) cLast.push(cPrev.name);
  }

  // Outputs. With batch 1, layout 0 ([seq, D, 1, H], [D, 1, H]) and layout 1 ([1, seq, D, H], [1, D, H]) have
  // the same flat order.
  const [yName, yhName, ycName] = [node.outputs[0] ?? '', node.outputs[1] ?? '', node.outputs[2] ?? ''];
  if (yName) {
    const inputs: string[] = [];
    const index: number[] = [];
    for (let t = 0; t < seq; t++) {
      for (let d = 0; d < D; d++) {
        inputs.push(hs[d][t]);
        for (let j = 0; j < H; j++) index.push((inputs.length - 1) * H + j);
      }
    }
    u.gather('Y', inputs, [H], index, yName, layout === 0 ? [seq, D, 1, H] : [1, seq, D, H]);
  }
  const stateOut = (name: string, parts: string[]) => {
    const index = Array.from({ length: D * H }, (_, i) => i);
    u.gather('Yh', parts, [H], index, name, layout === 0 ? [D, 1, H] : [1, D, H]);
  };
  if (yhName) stateOut(yhName, hLast);
  if (ycName && cell === 'LSTM') stateOut(ycName, cLast);
  if (node.outputs.length > (cell === 'LSTM' ? 3 : 2)) ctx.issue(`${cell} has at most ${cell === 'LSTM' ? 3 : 2} outputs`);
}

export const recurrentImporters: OpImporter[] = [{ onnxOps: ['LSTM', 'GRU', 'RNN'], importNode: importRecurrent }];

/** The union of the calibrated ranges of float tensors. */
function unionRange(ctx: QuantizeContext, names: string[]): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const g of names) {
    const r = ctx.range(g);
    min = Math.min(min, r.min);
    max = Math.max(max, r.max);
  }
  return { min, max };
}

export const recurrentFloatDefs: { [K in RecurrentFloatLayer['kind']]: FloatLayerDef<Extract<RecurrentFloatLayer, { kind: K }>> } = {
  rgrid: {
    forward: (_l, xs) => Float64Array.from(xs[0]),
    quantize(l, ctx) {
      const st = ctx.requantTo(0, u8QuantFor(unionRange(ctx, l.group)), l.name);
      ctx.alias(0, { state: st });
    },
  },
  ract: {
    forward: (l, [x]) => x.map(lutFn(l.fn, l.alpha, l.beta)),
    quantize(l, ctx) {
      const s = ctx.requantTo(0, u8QuantFor(unionRange(ctx, l.inGroup)), l.name);
      const out = u8QuantFor(unionRange(ctx, l.outGroup));
      ctx.push({
        kind: 'lut', name: l.name, inputs: [s.tensor], output: l.output, inShape: s.shape, outShape: l.outShape, fn: l.fn,
        inQuant: s.quant, outQuant: out, table: makeTable(l.fn, l.alpha, s.quant, out, { beta: l.beta }),
      });
    },
  },
};

export const recurrentQDefs: { [K in RecurrentQLayer['kind']]: QLayerDef<Extract<RecurrentQLayer, { kind: K }>> } = {};

export { actValue };
