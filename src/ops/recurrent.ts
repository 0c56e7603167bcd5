/**
 * LSTM, GRU and RNN (ONNX opsets 7-22) unrolled over the sequence into existing, already-sound layer kinds:
 *   x_t        'gather' (a slice of X, 0 constraints)
 *   W x_t + b  'dense' per gate (constant weights, 0 constraints), R h_{t-1} 'dense', their sum 'affine'
 *   P (.) c    LSTM peepholes: an 'affine' term with per-element constant coefficients (0 constraints)
 *   clip       a 'clip' of the gate's pre-activation (an accumulator: the clamp is part of its requantization)
 *   sigma/tanh 'lut' tables (with the requantization of the gate's accumulator), Relu a 'clip', Affine an 'affine'
 *   f*c, i*g, o*tanh(c), r*h, z*h 'product' layers (src/ops/arith.ts), c_t = f*c + i*g an 'affine'
 *   Y, Y_h, Y_c 'gather' layers concatenating the steps' states (zeros past a shorter sequence_lens).
 * So the quantizer, the integer reference, the emitter and the cost formulas are those of these layers: no new
 * gadget. Each step's h (and c) is requantized onto a uint8 grid calibrated over all steps where a dense or a
 * product reads it.
 *
 * Semantics are onnxruntime's (CPU kernels) where the ONNX text leaves room:
 * - activations: Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign,
 *   Softplus (names case-insensitive for LSTM and GRU, case-sensitive for RNN, as onnxruntime reads them);
 *   activation_alpha / activation_beta consumed in order (over both directions) by the functions that take them,
 *   defaults LeakyRelu 0.01, HardSigmoid 0.2 / 0.5, Elu 1 and 0 for Affine, ThresholdedRelu and ScaledTanh (the
 *   ONNX text's "defaults of the corresponding operators" would give ThresholdedRelu 1: onnxruntime gives 0).
 * - clip: every gate's pre-activation (with bias and peephole term) clamped to [-clip, clip] (not LSTM's c_t).
 * - LSTM input_forget 1: f = 1 - i. Peepholes P [D, 3H] in order i, o, f: i and f read c_{t-1}, o reads c_t.
 * - sequence_lens constant (batch 1): a length L < seq runs L steps (reverse: from L - 1 down to 0), Y is 0 past
 *   L, Y_h / Y_c are the state after the last step run.
 * Also: layout 0 and 1, direction forward / reverse / bidirectional, B optional, initial_h / initial_c constant
 * (ConstantOfShape folded at import) or activations, GRU linear_before_reset 0 and 1, any output omitted.
 * Refused with an issue naming the attribute: batch > 1, variable (non-constant) or zero sequence_lens, clip <= 0.
 */
import type { RecurrentFloatLayer, RecurrentQLayer } from '../ir/layers/recurrent.ts';
import type { LutFunction } from '../ir/layers/elementwise.ts';
import { sizeOf } from '../ir/types.ts';
import { u8QuantFor } from '../ir/quant.ts';
import type { OnnxNode, OnnxTensor } from '../onnx/load.ts';
import { attrFloat, attrInt, checkKnownAttrs } from './attrs.ts';
import type { FloatLayerDef, ImportContext, OpImporter, QLayerDef, QuantizeContext } from './types.ts';
import { lutFn, makeTable } from './lut.ts';

/** A recurrent state or vector: an IR activation, or constant values (an initial state given as a constant). */
type Val = { name: string } | { consts: Float64Array };

const add = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]);
const filled = (n: number, v: number) => new Float64Array(n).fill(v);
const isZero = (v: Val) => 'consts' in v && v.consts.every((x) => x === 0);

interface Act {
  fn: string;
  alpha: number;
  beta: number;
}

/**
 * Which of activation_alpha / activation_beta each function takes, and onnxruntime's defaults when the lists run
 * out (rnn_helpers.cc: LeakyRelu 0.01, HardSigmoid 0.2 / 0.5, Elu 1, every other 0; measured the same for RNN).
 */
const ACT_PARAMS: Record<string, { alpha?: number; beta?: number }> = {
  Relu: {}, Tanh: {}, Sigmoid: {}, Softsign: {}, Softplus: {},
  Affine: { alpha: 0, beta: 0 },
  LeakyRelu: { alpha: 0.01 },
  ThresholdedRelu: { alpha: 0 },
  ScaledTanh: { alpha: 0, beta: 0 },
  HardSigmoid: { alpha: 0.2, beta: 0.5 },
  Elu: { alpha: 1 },
};

const LUT_OF: Record<string, LutFunction> = {
  Tanh: 'tanh', Sigmoid: 'sigmoid', Softsign: 'softsign', Softplus: 'softplus', LeakyRelu: 'leakyrelu',
  ThresholdedRelu: 'thresholdedrelu', HardSigmoid: 'hardsigmoid', Elu: 'elu',
};

/** The table function of a, with the parameters its table reads (undefined for Relu, Affine, ScaledTanh). */
function lutOf(a: Act): { fn: LutFunction; alpha: number; beta?: number } | undefined {
  const fn = LUT_OF[a.fn];
  if (!fn) return undefined;
  const alpha = ['LeakyRelu', 'ThresholdedRelu', 'HardSigmoid', 'Elu'].includes(a.fn) ? a.alpha : 0;
  return a.fn === 'HardSigmoid' ? { fn, alpha, beta: a.beta } : { fn, alpha };
}

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

  /** x clamped to [lo, hi] (on an accumulator: deferred into its requantization). */
  clip(tag: string, x: string, n: number, lo: number, hi: number): string {
    const out = this.fresh(tag);
    this.ctx.push({ kind: 'clip', name: out, inputs: [x], output: out, inShape: [n], outShape: [n], lo, hi });
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
    const table = lutOf(a);
    if (table && group && outGroup) {
      const out = this.fresh(tag);
      group.push(x0);
      outGroup.push(out);
      this.ctx.push({ kind: 'ract', name: out, inputs: [x0], output: out, inShape: [n], outShape: [n], ...table, inGroup: group, outGroup });
      return out;
    }
    const x = group ? this.grid(`${tag}.q`, x0, n, group) : x0;
    const y = this.act1(tag, a, x, n);
    return outGroup ? this.grid(`${tag}.g`, y, n, outGroup) : y;
  }

  private act1(tag: string, a: Act, x: string, n: number): string {
    if (a.fn === 'Relu') return this.clip(tag, x, n, 0, Infinity);
    if (a.fn === 'Affine') return this.affine(tag, [x], [filled(n, a.alpha)], filled(n, a.beta));
    if (a.fn === 'ScaledTanh') {
      // alpha * tanh(beta * x)
      const pre = this.affine(`${tag}.in`, [x], [filled(n, a.beta)], filled(n, 0));
      const t = this.act1(tag, { fn: 'Tanh', alpha: 0, beta: 0 }, pre, n);
      return this.affine(`${tag}.out`, [t], [filled(n, a.alpha)], filled(n, 0));
    }
    const out = this.fresh(tag);
    this.ctx.push({ kind: 'lut', name: out, inputs: [x], output: out, inShape: [n], outShape: [n], ...lutOf(a)! });
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
const KNOWN = ['activation_alpha', 'activation_beta', 'activations', 'clip', 'direction', 'hidden_size', 'layout'];

/** What a recurrent node computes, read from its attributes and constant inputs. */
interface RecurrentSpec {
  cell: Cell;
  direction: 'forward' | 'reverse' | 'bidirectional';
  /** Number of directions. */
  D: number;
  H: number;
  I: number;
  /** X's sequence length, and the steps run (a constant sequence_lens, else seq). */
  seq: number;
  len: number;
  layout: number;
  /** GRU linear_before_reset. */
  lbr: number;
  /** LSTM input_forget: f = 1 - i. */
  inputForget: boolean;
  /** Gate pre-activations clamped to [-clip, clip]. */
  clip?: number;
  /** The activation functions, the cell's list per direction (forward's, then reverse's). */
  acts: Act[];
  W: Float64Array;
  R: Float64Array;
  B: Float64Array;
  /** LSTM peepholes [D, 3H] (i, o, f), undefined when absent or all zeros. */
  P?: Float64Array;
}

/** The activations attribute with activation_alpha / activation_beta, as onnxruntime reads them (header). */
function readActivations(node: OnnxNode, ctx: ImportContext, cell: Cell, D: number, direction: string): Act[] | undefined {
  const nA = DEFAULT_ACTS[cell].length;
  const attr = node.attrs.get('activations');
  let names: string[] = [];
  if (attr) {
    if (attr.type === 'strings') names = attr.value;
    else if (attr.type === 'string') names = [attr.value];
    else return void ctx.issue(`attribute 'activations' should be a list of strings`);
  }
  if (names.length === 0) names = Array.from({ length: D }, () => DEFAULT_ACTS[cell]).flat();
  if (names.length !== nA * D) return void ctx.issue(`activations [${names}]: expected ${nA * D} names for ${cell} ${direction}`);
  const listOf = (k: string) => {
    const a = node.attrs.get(k);
    return a?.type === 'floats' ? a.value : a?.type === 'float' ? [a.value] : undefined;
  };
  const alphas = listOf('activation_alpha');
  const betas = listOf('activation_beta');
  const known = Object.keys(ACT_PARAMS);
  let ai = 0;
  let bi = 0;
  const acts: Act[] = [];
  for (const raw of names) {
    const fn = known.find((n) => (cell === 'RNN' ? n === raw : n.toLowerCase() === raw.toLowerCase()));
    if (!fn) {
      const near = known.find((n) => n.toLowerCase() === raw.toLowerCase());
      const hint = near ? `: RNN activation names are case-sensitive (onnxruntime refuses '${raw}' too); write '${near}'` : ` (supported: ${known.join(', ')})`;
      return void ctx.issue(`activation '${raw}' is not supported${hint}`);
    }
    const p = ACT_PARAMS[fn];
    const alpha = p.alpha === undefined ? 0 : alphas && ai < alphas.length ? alphas[ai++] : p.alpha;
    const beta = p.beta === undefined ? 0 : betas && bi < betas.length ? betas[bi++] : p.beta;
    acts.push({ fn, alpha, beta });
  }
  return acts;
}

/** The node's attributes and constant inputs, checked (an issue and undefined when something is refused). */
function readSpec(node: OnnxNode, ctx: ImportContext, X: { shape: number[] }): RecurrentSpec | undefined {
  const cell = node.op as Cell;
  checkKnownAttrs(node, ctx, [...KNOWN, ...(cell === 'LSTM' ? ['input_forget'] : cell === 'GRU' ? ['linear_before_reset'] : [])]);
  const nG = GATES[cell];
  const H = attrInt(node, ctx, 'hidden_size', 0);
  const layout = attrInt(node, ctx, 'layout', 0);
  const dirAttr = node.attrs.get('direction');
  const direction = dirAttr?.type === 'string' ? dirAttr.value : 'forward';
  if (direction !== 'forward' && direction !== 'reverse' && direction !== 'bidirectional') return void ctx.issue(`direction '${direction}' is not one of forward, reverse, bidirectional`);
  const D = direction === 'bidirectional' ? 2 : 1;
  let clip: number | undefined;
  if (node.attrs.has('clip')) {
    clip = attrFloat(node, ctx, 'clip', 0);
    if (!(clip > 0)) return void ctx.issue(`clip ${clip}: the cell clip threshold must be positive`);
  }
  const inputForget = cell === 'LSTM' ? attrInt(node, ctx, 'input_forget', 0) : 0;
  if (inputForget !== 0 && inputForget !== 1) return void ctx.issue(`input_forget ${inputForget} is not 0 or 1`);
  const lbr = cell === 'GRU' ? attrInt(node, ctx, 'linear_before_reset', 0) : 0;
  if (layout !== 0 && layout !== 1) return void ctx.issue(`layout ${layout} is not 0 or 1`);
  if (X.shape.length !== 3) return void ctx.issue(`X must have rank 3, got [${X.shape}]`);
  const [seq, batch, I] = layout === 0 ? X.shape : [X.shape[1], X.shape[0], X.shape[2]];
  if (batch !== 1) return void ctx.issue(`batch ${batch}: only batch 1 is supported`);
  const W = ctx.constant(node.inputs[1] ?? '');
  const R = ctx.constant(node.inputs[2] ?? '');
  if (!W || !R) return void ctx.issue('W and R must be constants (initializers)');
  if (H <= 0) return void ctx.issue(`hidden_size must be positive, got ${H}`);
  if (sizeOf(W.dims) !== D * nG * H * I) return void ctx.issue(`W has dims [${W.dims}], expected [${D}, ${nG * H}, ${I}]`);
  if (sizeOf(R.dims) !== D * nG * H * H) return void ctx.issue(`R has dims [${R.dims}], expected [${D}, ${nG * H}, ${H}]`);
  let B = new Float64Array(D * 2 * nG * H);
  const bName = node.inputs[3] ?? '';
  if (bName) {
    const b = ctx.constant(bName);
    if (!b) return void ctx.issue(`B '${bName}' must be a constant`);
    if (sizeOf(b.dims) !== B.length) return void ctx.issue(`B has dims [${b.dims}], expected [${D}, ${2 * nG * H}]`);
    B = Float64Array.from(b.data);
  }
  let len = seq;
  const slName = node.inputs[4] ?? '';
  if (slName) {
    const sl = ctx.constant(slName);
    if (!sl) return void ctx.issue(`sequence_lens '${slName}' must be a constant (variable lengths are not supported)`);
    if (sl.data.length !== 1) return void ctx.issue(`sequence_lens has ${sl.data.length} entries, expected 1 (batch 1)`);
    len = sl.data[0];
    if (!Number.isInteger(len) || len < 1 || len > seq) return void ctx.issue(`sequence_lens [${len}] must be between 1 and the sequence length ${seq}`);
  }
  let P: Float64Array | undefined;
  const pName = cell === 'LSTM' ? (node.inputs[7] ?? '') : '';
  if (pName) {
    const p = ctx.constant(pName);
    if (!p) return void ctx.issue(`peepholes P '${pName}' must be a constant`);
    if (sizeOf(p.dims) !== D * 3 * H) return void ctx.issue(`P has dims [${p.dims}], expected [${D}, ${3 * H}]`);
    if (p.data.some((v) => v !== 0)) P = Float64Array.from(p.data);
  }
  const acts = readActivations(node, ctx, cell, D, direction);
  if (!acts) return undefined;
  return { cell, direction, D, H, I, seq, len, layout, lbr, inputForget: inputForget === 1, clip, acts, W: Float64Array.from(W.data), R: Float64Array.from(R.data), B, P };
}

/** An element-wise term coef (.) v of a pre-activation. */
interface Term {
  v: Val;
  coef: Float64Array;
}

/** One direction of a node: its weights, and the groups of tensors that share one grid over its steps. */
class Direction {
  private readonly groups = new Map<string, string[]>();
  constructor(readonly u: Unroller, readonly s: RecurrentSpec, readonly d: number) {}

  /** Activation function k of the cell's list (f, g, h). */
  act(k: number): Act {
    return this.s.acts[this.d * DEFAULT_ACTS[this.s.cell].length + k];
  }

  /** The tensors named `key` at every step (each step pushes its own). */
  group(key: string): string[] {
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = []));
    return g;
  }

  W(k: number): Float64Array {
    const { H, I } = this.s;
    return rowsOf(this.s.W, this.d * GATES[this.s.cell] * H * I, k * H, H, I);
  }

  R(k: number): Float64Array {
    const H = this.s.H;
    return rowsOf(this.s.R, this.d * GATES[this.s.cell] * H * H, k * H, H, H);
  }

  /** Wb_k (r = 0) or Rb_k (r = 1). */
  bias(k: number, r: 0 | 1): Float64Array {
    const { H } = this.s;
    const off = this.d * 2 * GATES[this.s.cell] * H + (r * GATES[this.s.cell] + k) * H;
    return Float64Array.from(this.s.B.subarray(off, off + H));
  }

  /** Peephole j (0 i, 1 o, 2 f), or undefined without peepholes. */
  peephole(j: number): Float64Array | undefined {
    const H = this.s.H;
    return this.s.P && Float64Array.from(this.s.P.subarray((this.d * 3 + j) * H, (this.d * 3 + j + 1) * H));
  }

  /**
   * Gate k's pre-activation W_k x_t + Wb_k (+ Rb_k unless withRb is false) + R_k h + the sum of the extra terms,
   * clamped to [-clip, clip] when the node has clip. Constant h and terms (initial states) fold into the bias.
   */
  pre(tag: string, k: number, xt: string, h: Val | undefined, extra: Term[] = [], withRb = true): string {
    const { u, s } = this;
    const H = s.H;
    let bias = this.bias(k, 0);
    if (withRb) bias = add(bias, this.bias(k, 1));
    if (h && 'consts' in h) bias = add(bias, matVec(this.R(k), h.consts, H, H));
    for (const e of extra) if ('consts' in e.v) bias = add(bias, e.coef.map((c, i) => c * (e.v as { consts: Float64Array }).consts[i]));
    const names = [u.dense(`${tag}.W${k}`, xt, s.I, this.W(k), bias)];
    const coefs: Float64Array[] = [filled(H, 1)];
    if (h && 'name' in h) {
      names.push(u.dense(`${tag}.R${k}`, h.name, H, this.R(k), new Float64Array(H)));
      coefs.push(filled(H, 1));
    }
    for (const e of extra) {
      if ('consts' in e.v) continue;
      names.push(e.v.name);
      coefs.push(e.coef);
    }
    const sum = names.length === 1 ? names[0] : u.affine(`${tag}.pre${k}`, names, coefs, new Float64Array(H));
    return s.clip === undefined ? sum : u.clip(`${tag}.clip${k}`, sum, H, -s.clip, s.clip);
  }

  /** Activation a of gate k's pre-activation, on the grids its input and output share over the steps. */
  gate(tag: string, k: number, a: Act, pre: string): string {
    return this.u.act(tag, a, pre, this.s.H, this.group(`pre${k}`), this.group(`out${k}`));
  }
}

interface State {
  h: Val;
  c?: Val;
}

/** One step of a cell: the new h (before its grid) and, for LSTM, the new c. */
type Step = (dir: Direction, tag: string, xt: string, st: State) => { h: string; c?: string };

/** h = f(W x + R h + Wb + Rb); the pre-activation's grid is the step's own. */
function rnnStep(dir: Direction, tag: string, xt: string, { h }: State): { h: string } {
  return { h: dir.u.act(`${tag}.h`, dir.act(0), dir.pre(tag, 0, xt, h), dir.s.H, dir.group('pre0'), dir.group('out0')) };
}

/**
 * i = f(.. + Pi c_{t-1}), f = f(.. + Pf c_{t-1}) (1 - i with input_forget), c~ = g(..), c = f c_{t-1} + i c~,
 * o = f(.. + Po c), h = o h(c).
 */
function lstmStep(dir: Direction, tag: string, xt: string, { h, c }: State): { h: string; c: string } {
  const { u, s } = dir;
  const H = s.H;
  const [f, g, hAct] = [dir.act(0), dir.act(1), dir.act(2)];
  const peep = (j: number, v: Val): Term[] => {
    const p = dir.peephole(j);
    return p ? [{ v, coef: p }] : [];
  };
  const cPrev = c ?? { consts: new Float64Array(H) };
  const i = dir.gate(`${tag}.i`, 0, f, dir.pre(tag, 0, xt, h, peep(0, cPrev)));
  const fg = s.inputForget
    ? u.grid(`${tag}.f`, u.affine(`${tag}.1-i`, [i], [filled(H, -1)], filled(H, 1)), H, dir.group('f'))
    : dir.gate(`${tag}.f`, 2, f, dir.pre(tag, 2, xt, h, peep(2, cPrev)));
  const gc = dir.gate(`${tag}.c~`, 3, g, dir.pre(tag, 3, xt, h));
  const fc = u.mul(`${tag}.fc`, fg, cPrev, H);
  const ig = u.product(`${tag}.ig`, i, gc, H);
  const cNew = u.grid(`${tag}.cq`, u.sum(`${tag}.c`, [fc, ig], H), H, dir.group('c'));
  const o = dir.gate(`${tag}.o`, 1, f, dir.pre(tag, 1, xt, h, peep(1, { name: cNew })));
  return { h: u.product(`${tag}.h`, o, u.act(`${tag}.hc`, hAct, cNew, H, dir.group('hc.in'), dir.group('hc.out')), H), c: cNew };
}

/** z, r = f(..), h~ = g(W x + Wb + Rb + R (r h)) or g(W x + Wb + r (R h + Rb)) (linear_before_reset), h = h~ + z (h_{t-1} - h~). */
function gruStep(dir: Direction, tag: string, xt: string, { h }: State): { h: string } {
  const { u, s } = dir;
  const H = s.H;
  const [f, g] = [dir.act(0), dir.act(1)];
  const z = dir.gate(`${tag}.z`, 0, f, dir.pre(tag, 0, xt, h));
  const r = dir.gate(`${tag}.r`, 1, f, dir.pre(tag, 1, xt, h));
  let hhPre: string;
  if (s.lbr === 0) {
    const rh = isZero(h) ? undefined : { name: u.grid(`${tag}.rhq`, u.mul(`${tag}.rh`, r, h, H)!, H, dir.group('rh')) };
    hhPre = dir.pre(tag, 2, xt, rh);
  } else {
    const rRh = 'consts' in h
      ? u.mul(`${tag}.rRh`, r, { consts: add(matVec(dir.R(2), h.consts, H, H), dir.bias(2, 1)) }, H)
      : u.product(`${tag}.rRh`, r, u.dense(`${tag}.R2`, h.name, H, dir.R(2), dir.bias(2, 1)), H);
    hhPre = dir.pre(tag, 2, xt, undefined, rRh ? [{ v: { name: rRh }, coef: filled(H, 1) }] : [], false);
  }
  const hh = dir.gate(`${tag}.hh`, 2, g, hhPre);
  // h = (1 - z) * hh + z * h_{t-1} = hh + z * (h_{t-1} - hh)
  const diff = 'consts' in h
    ? u.affine(`${tag}.dh`, [hh], [filled(H, -1)], Float64Array.from(h.consts))
    : u.affine(`${tag}.dh`, [h.name, hh], [filled(H, 1), filled(H, -1)], new Float64Array(H));
  return { h: u.sum(`${tag}.h`, [hh, u.product(`${tag}.zdh`, z, u.grid(`${tag}.dhq`, diff, H, dir.group('dh')), H)], H) };
}

const STEPS: Record<Cell, Step> = { LSTM: lstmStep, GRU: gruStep, RNN: rnnStep };

function importRecurrent(node: OnnxNode, ctx: ImportContext): void {
  const X = ctx.activation(node.inputs[0]);
  if (!X) return ctx.issue(`input X '${node.inputs[0]}' must be an activation`);
  const s = readSpec(node, ctx, X);
  if (!s) return;
  const { cell, D, H, I, seq, len, layout } = s;
  const u = new Unroller(node, ctx);
  /** initial_h / initial_c per direction: constants, or slices of an activation. */
  const initial = (k: number, what: string): Val[] | undefined => {
    const name = node.inputs[k] ?? '';
    if (!name) return Array.from({ length: D }, () => ({ consts: new Float64Array(H) }));
    const c: OnnxTensor | undefined = ctx.constant(name);
    if (c) {
      if (sizeOf(c.dims) !== D * H) return void ctx.issue(`${what} has dims [${c.dims}], expected ${D * H} elements`);
      return Array.from({ length: D }, (_, d) => ({ consts: Float64Array.from(c.data.subarray(d * H, (d + 1) * H)) }));
    }
    const a = ctx.activation(name);
    if (!a || sizeOf(a.shape) !== D * H) return void ctx.issue(`${what} '${name}' must be a constant or an activation of ${D * H} elements`);
    return Array.from({ length: D }, (_, d) => ({ name: u.gather(`${what}.d${d}`, [a.name], a.shape, Array.from({ length: H }, (_, j) => d * H + j)) }));
  };
  const h0 = initial(5, 'initial_h');
  const c0 = cell === 'LSTM' ? initial(6, 'initial_c') : [];
  if (!h0 || !c0) return;

  const step = STEPS[cell];
  const hs: string[][] = Array.from({ length: D }, () => new Array<string>(seq));
  const hLast: string[] = [];
  const cLast: string[] = [];
  for (let d = 0; d < D; d++) {
    const dir = new Direction(u, s, d);
    let st: State = { h: h0[d], c: c0[d] };
    for (let k = 0; k < len; k++) {
      const t = d === 1 || s.direction === 'reverse' ? len - 1 - k : k;
      const tag = `d${d}t${t}`;
      const xt = u.gather(`${tag}.x`, [X.name], X.shape, Array.from({ length: I }, (_, i) => t * I + i));
      const out = step(dir, tag, xt, st);
      const h = u.grid(`${tag}.hq`, out.h, H, dir.group('h'));
      hs[d][t] = h;
      st = { h: { name: h }, c: out.c === undefined ? undefined : { name: out.c } };
    }
    hLast.push((st.h as { name: string }).name);
    if (st.c && 'name' in st.c) cLast.push(st.c.name);
  }

  // Outputs. With batch 1, layout 0 ([seq, D, 1, H], [D, 1, H]) and layout 1 ([1, seq, D, H], [1, D, H]) have
  // the same flat order. Steps past sequence_lens are 0 (gather's pad, index -1).
  const [yName, yhName, ycName] = [node.outputs[0] ?? '', node.outputs[1] ?? '', node.outputs[2] ?? ''];
  if (yName) {
    const inputs: string[] = [];
    const index: number[] = [];
    for (let t = 0; t < seq; t++) {
      for (let d = 0; d < D; d++) {
        if (t >= len) {
          for (let j = 0; j < H; j++) index.push(-1);
          continue;
        }
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
