/**
 * Products of two activations, comparisons, logic, Where, Max/Min, Clip with tensor bounds, ReduceMax/Min
 * (src/ops/arith.ts) on small models built with buildOnnxModel:
 *
 * 1. float IR == onnxruntime (1e-4 of the output magnitude; comparisons on inputs away from ties);
 * 2. quantized output vs onnxruntime within a stated tolerance (fraction of the output range R = max |output|
 *    over the calibration inputs), on fresh inputs whose intermediate values stay inside the calibrated ranges;
 * 3. comparisons on the uint8 grid: for every one of the 256 input values and thresholds on, between and near
 *    grid points, the decision is onnxruntime's (ties included);
 * 4. two compiled circuits: constraints == the cost formulas, witness == integer reference, every private wire
 *    mutated (+1, -1, +2^64) breaks a constraint, hand-made wrong witnesses (a flipped comparison bit, a wrong
 *    product) are rejected; compile + setup + prove + verify of the model combining a product, a MatMul of
 *    activations, a comparison and a Where.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { readQuantizedModel } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel, type CompileModelResult } from '../src/compile/model.ts';
import { readR1csFile, readSymbols, violatedConstraints } from '../src/compile/r1cs.ts';
import { emitCircuit } from '../src/emit/circuit.ts';
import { FIELD_PRIME, toField } from '../src/field.ts';
import { importGraph } from '../src/ir/import.ts';
import type { QCompare, QDivide, QMinMax, QProduct, QSelect } from '../src/ir/layers/arith.ts';
import type { FloatModel, QuantizedModel } from '../src/ir/types.ts';
import { sizeOf } from '../src/ir/types.ts';
import { buildOnnxModel, mulberry32, type InitializerSpec, type NodeSpec } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { decidingRatio, exactRatio } from '../src/ops/arith.ts';
import { prove, readVerificationKey } from '../src/prove/prove.ts';
import { artifactWitness } from '../src/prove/witness.ts';
import { calibrate, quantizeInput, quantizeModel } from '../src/quantize/quantize.ts';
import { runFloat, runFloatAll } from '../src/reference/float.ts';
import { runInteger, runIntegerAll } from '../src/reference/integer.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { randomInputs } from './helpers/fixtures.ts';
import { mutateWitnessWires } from './helpers/mutation.ts';
import { runOrt } from './helpers/ort.ts';

const ROOT = 'artifacts/test/arith';
const CAL_SEED = 41;
const TEST_SEED = 87;

interface TestModel {
  name: string;
  bytes: Uint8Array;
  inputShape: number[];
}

class B {
  readonly inits: InitializerSpec[] = [];
  readonly nodes: NodeSpec[] = [];
  private readonly rnd: () => number;
  constructor(seed: number) {
    this.rnd = mulberry32(seed);
  }
  rand(n: number, a: number): number[] {
    return Array.from({ length: n }, () => (2 * this.rnd() - 1) * a);
  }
  init(name: string, dims: number[], data: number[], dataType?: InitializerSpec['dataType']): string {
    this.inits.push({ name, dims, data, dataType });
    return name;
  }
  node(op: string, name: string, inputs: string[], attrs?: NodeSpec['attrs']): string {
    this.nodes.push({ op, name, inputs, outputs: [name], attrs });
    return name;
  }
  gemm(name: string, x: string, n: number, m: number, a = 0.6): string {
    this.init(`${name}.W`, [m, n], this.rand(m * n, a));
    this.init(`${name}.b`, [m], this.rand(m, 0.1));
    return this.node('Gemm', name, [x, `${name}.W`, `${name}.b`], { transB: 1 });
  }
  scalar(name: string, v: number): string {
    return this.init(name, [], [v]);
  }
  model(name: string, inputShape: number[], output: string, outShape: number[], outType?: 'bool' | 'int64', opset = 13): TestModel {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: inputShape }],
      outputs: [{ name: output, shape: outShape, elemType: outType }],
      initializers: this.inits, nodes: this.nodes, opset, graphName: name,
    });
    return { name, bytes, inputShape };
  }
}

/**
 * Product, MatMul of two activations, comparison of two activations, Where, a broadcast product:
 *   g1, g2 = Gemm(x); m = g1 * g2; c = g1 > g2; s = Where(c, m, g2); mm = g1 @ reshape(g2, [4, 1]);
 *   out = s * mm (broadcast [1, 4] x [1, 1]).
 */
function e2eModel(): TestModel {
  const b = new B(7);
  const g1 = b.gemm('g1', 'x', 6, 4);
  const g2 = b.gemm('g2', 'x', 6, 4);
  const m = b.node('Mul', 'mul', [g1, g2]);
  const c = b.node('Greater', 'gt', [g1, g2]);
  const s = b.node('Where', 'where', [c, m, g2]);
  const r = b.node('Reshape', 'col', [g2, b.init('col.shape', [2], [4, 1], 'int64')]);
  const mm = b.node('MatMul', 'matmul', [g1, r]);
  b.node('Mul', 'out', [s, mm]);
  return b.model('arith_e2e', [1, 6], 'out', [1, 4]);
}

/**
 * Pow 3, Max (n-ary, a constant), Min, ReduceMax/ReduceMin, Clip with tensor bounds, comparisons with constants,
 * Equal of two activations, Not/And/Or/Xor, Where with constant branches, Cast of a boolean; joined by Concat.
 */
function opsModel(): TestModel {
  const b = new B(11);
  const a = b.gemm('ga', 'x', 8, 6);
  const c = b.gemm('gb', 'x', 8, 6);
  const p3 = b.node('Pow', 'pow3', [a, b.scalar('three', 3)]);
  const mx = b.node('Max', 'max3', [a, c, b.scalar('mx.c', 0.1)]);
  const mn = b.node('Min', 'min2', [a, c]);
  const rmin = b.node('ReduceMin', 'rmin', [c], { axes: [1], keepdims: 0 });
  const rmax = b.node('ReduceMax', 'rmax', [c], { axes: [-1], keepdims: 0 });
  const cl = b.node('Clip', 'clip_t', [a, rmin, rmax]);
  const gt = b.node('Greater', 'gt_c', [a, b.scalar('gt.c', 0.3)]);
  const le = b.node('LessOrEqual', 'le_c', [c, b.scalar('le.c', -0.2)]);
  const lt = b.node('Less', 'lt_c', [b.scalar('lt.c', 0.05), c]); // constant first: c > 0.05
  const eq = b.node('Equal', 'eq_ab', [a, c]);
  const n1 = b.node('Not', 'not_gt', [gt]);
  const an = b.node('And', 'and', [n1, le]);
  const or = b.node('Or', 'or', [gt, lt]);
  const xr = b.node('Xor', 'xor', [gt, le]);
  const w1 = b.node('Where', 'w_p3', [an, p3, mx]);
  const w2 = b.node('Where', 'w_cl', [or, cl, mn]);
  const w3 = b.node('Where', 'w_const', [xr, b.scalar('w3.a', 0.75), b.scalar('w3.b', -0.5)]);
  const w4 = b.node('Where', 'w_eq', [eq, b.scalar('w4.a', 2), a]);
  const cast = b.node('Cast', 'cast_ge', [b.node('GreaterOrEqual', 'ge_c', [a, b.scalar('ge.c', 0)])], { to: 1 });
  const w5 = b.node('Mul', 'mask', [cast, c]);
  // uint8 vs uint8 with unrelated scales: a small deciding ratio.
  const uu = b.node('Less', 'lt_uu', [b.node('Sigmoid', 'sa', [a]), b.node('Tanh', 'tc', [c])]);
  const w6 = b.node('Where', 'w_uu', [uu, a, c]);
  b.node('Concat', 'out', [w1, w2, w3, w4, w5, w6], { axis: 1 });
  return b.model('arith_ops', [1, 8], 'out', [1, 36]);
}

/** Div of two activations: g1 / (g2 * g2 + 0.5), and a broadcast division by a [1, 1] activation. */
function divModel(): TestModel {
  const b = new B(13);
  const g1 = b.gemm('g1', 'x', 6, 4);
  const g2 = b.gemm('g2', 'x', 6, 4);
  const sq = b.node('Mul', 'sq', [g2, g2]);
  const den = b.node('Add', 'den', [sq, b.scalar('half', 0.5)]);
  const q = b.node('Div', 'div', [g1, den]);
  const s = b.gemm('g3', 'x', 6, 1, 0.2);
  const s2 = b.node('Add', 's2', [b.node('Mul', 's_sq', [s, s]), b.scalar('one', 1)]);
  b.node('Div', 'out', [q, s2]);
  return b.model('arith_div', [1, 6], 'out', [1, 4]);
}

/** Div by a divisor whose sign the bounds do not fix (the general gadget); circuit checks only (d may be near 0). */
function divSignedModel(): TestModel {
  const b = new B(17);
  const g1 = b.gemm('g1', 'x', 4, 2);
  const g3 = b.gemm('g3', 'x', 4, 2);
  b.node('Div', 'sdiv', [g1, g3]);
  return b.model('arith_sdiv', [1, 4], 'sdiv', [1, 2]);
}

/** Add/Sub of two activations with broadcasting: [2, 3] - [1, 3] and [2, 3] + [2, 1], then their product. */
function broadcastModel(): TestModel {
  const b = new B(19);
  const g1 = b.node('Reshape', 'r1', [b.gemm('g1', 'x', 6, 6), b.init('r1.s', [2], [2, 3], 'int64')]);
  const g2 = b.gemm('g2', 'x', 6, 3);
  const g3 = b.node('Reshape', 'r3', [b.gemm('g3', 'x', 6, 2), b.init('r3.s', [2], [2, 1], 'int64')]);
  const d = b.node('Sub', 'sub_b', [g1, g2]);
  const a = b.node('Add', 'add_b', [g1, g3]);
  b.node('Mul', 'out', [d, a]);
  return b.model('arith_bcast', [1, 6], 'out', [2, 3]);
}

/** One comparison of the input with a constant threshold (for the grid test). */
function gridModel(op: string, t: number): TestModel {
  const b = new B(1);
  b.node(op, 'cmp', ['x', b.scalar('t', t)]);
  return b.model(`grid_${op}`, [1, 8], 'cmp', [1, 8], 'bool');
}

/** Equal/Greater of two activations with different scales: a = 2 * x (scale 2s), b = x + x (scale s, multiplier 2). */
function pairModel(op: string): TestModel {
  const b = new B(2);
  const a = b.node('Mul', 'twice', ['x', b.scalar('two', 2)]);
  const s = b.node('Add', 'sum', ['x', 'x']);
  const w = b.node('Mul', 'third', ['x', b.init('k', [8], [1, 2, 3, 0.5, -1, 1.5, 0.25, 2.5])]);
  b.node(op, 'cmp', [op === 'Equal' ? a : w, s]);
  return b.model(`pair_${op}`, [1, 8], 'cmp', [1, 8], 'bool');
}

async function ort(m: TestModel, x: ArrayLike<number>): Promise<number[]> {
  return Array.from((await runOrt(m.bytes, 'x', m.inputShape, x)) as ArrayLike<number | boolean>, Number);
}

interface Prepared {
  m: TestModel;
  model: FloatModel;
  cal: Float64Array[];
  q: QuantizedModel;
}

const preparedCache = new Map<string, Prepared>();
function prepare(m: TestModel): Prepared {
  let p = preparedCache.get(m.name);
  if (!p) {
    const model = importGraph(loadOnnx(m.bytes));
    const cal = randomInputs(sizeOf(model.input.shape), 48, CAL_SEED);
    p = { m, model, cal, q: quantizeModel(model, cal) };
    preparedCache.set(m.name, p);
  }
  return p;
}

const compiled = new Map<string, Promise<CompileModelResult>>();
function compile(p: Prepared): Promise<CompileModelResult> {
  let r = compiled.get(p.m.name);
  if (!r) {
    r = (async () => {
      await mkdir(ROOT, { recursive: true });
      const path = `${ROOT}/${p.m.name}.onnx`;
      await writeFile(path, p.m.bytes);
      return compileModel(path, { out: `${ROOT}/${p.m.name}`, calibration: p.cal });
    })();
    compiled.set(p.m.name, r);
  }
  return r;
}

function freshInRange(p: Prepared, n: number): Float64Array[] {
  const ranges = calibrate(p.model, p.cal);
  const inRange = (x: Float64Array) => [...runFloatAll(p.model, x)].every(([name, v]) => v.every((e) => e >= ranges.get(name)!.min && e <= ranges.get(name)!.max));
  return randomInputs(sizeOf(p.model.input.shape), n, TEST_SEED).filter(inRange);
}

function uint8Inputs(size: number, random: number, seed: number): number[][] {
  const rnd = mulberry32(seed);
  const xs = [new Array(size).fill(0), new Array(size).fill(255), Array.from({ length: size }, (_, i) => (i % 2 ? 255 : 0))];
  for (let i = 0; i < random; i++) xs.push(Array.from({ length: size }, () => Math.floor(rnd() * 256)));
  return xs;
}

/** Smallest |float difference| at any comparison of the float model on x (how far from a tie). */
function tieMargin(p: Prepared, x: Float64Array): number {
  const all = runFloatAll(p.model, x);
  let m = Infinity;
  for (const l of p.model.layers) {
    if (l.kind !== 'compare') continue;
    const a = all.get(l.inputs[0])!;
    const b = l.threshold ? undefined : all.get(l.inputs[1])!;
    l.ia.forEach((ai, i) => (m = Math.min(m, Math.abs(a[ai] - (b ? b[l.ib[i]] : l.threshold![i])))));
  }
  return m;
}

const e2e = () => prepare(e2eModel());
const ops = () => prepare(opsModel());
const div = () => prepare(divModel());
const sdiv = () => prepare(divSignedModel());
const bcast = () => prepare(broadcastModel());

describe('arith: float IR matches onnxruntime', () => {
  for (const get of [e2e, ops, div, bcast]) {
    it(`${get().m.name} (1e-4 of the output magnitude)`, async () => {
      const p = get();
      let n = 0;
      for (const x of randomInputs(sizeOf(p.model.input.shape), 24, TEST_SEED + 1)) {
        if (tieMargin(p, x) < 1e-4) continue; // float32 vs float64 could decide a near-tie differently
        const o = await ort(p.m, x);
        const f = Array.from(runFloat(p.model, x));
        expect(f.length).toBe(o.length);
        const mag = Math.max(...o.map(Math.abs));
        f.forEach((v, i) => expect(Math.abs(v - o[i]), `element ${i}`).toBeLessThanOrEqual(1e-4 * mag + 1e-6));
        n++;
      }
      expect(n).toBeGreaterThan(15);
    });
  }
});

describe('arith: what each op became', () => {
  it('e2e: products stay on accumulators where bounds allow (Mul, the final broadcast Mul); MatMul sums terms of one scale', () => {
    const { q } = e2e();
    // The Gemm outputs have per-channel scales: MatMul's K terms would mix scales, so its inputs are requantized
    // (after the elementwise Mul and the comparison used the exact accumulators); the product m is too wide for
    // Where's 2^24 bound and is requantized there.
    expect(q.layers.map((l) => `${l.kind}:${l.name}`)).toEqual([
      'dense:g1', 'dense:g2', 'product:mul', 'compare:gt', 'requant:mul', 'select:where', 'requant:g1', 'requant:g2', 'product:matmul', 'product:out',
    ]);
    const mul = q.layers[2] as QProduct;
    expect([mul.za, mul.zb, mul.k]).toEqual([0, 0, 1]);
    const mm = q.layers[8] as QProduct;
    expect(mm.k).toBe(4);
    const gt = q.layers[3] as QCompare;
    // Dense outputs have per-channel scales: the comparison multipliers are a deciding convergent of the exact ratio.
    gt.ma.forEach((m, i) => {
      const [A] = exactRatio((q.layers[0].outQuant as { scales: number[] }).scales[i], (q.layers[1].outQuant as { scales: number[] }).scales[i]);
      expect(A).toBeGreaterThan(2n ** 40n);
      expect(BigInt(m)).toBeLessThan(2n ** 24n);
      expect(-BigInt(gt.mb[i])).toBeLessThan(2n ** 24n);
    });
    expect((q.layers[5] as QSelect).outQuant.lo.length).toBe(4);
  });

  it('ops: Pow 3 is two products per element; Clip with tensor bounds is Max2 then Min2; Not is affine; constant Where branches cost 0', () => {
    const { model, q } = ops();
    const kinds = model.layers.map((l) => `${l.kind}:${l.name}`);
    expect(kinds).toContain('product:pow3');
    expect(kinds).toContain('minmax:clip_t');
    expect(kinds).toContain('affine:not_gt');
    const emitted = emitCircuit(q);
    const cost = (name: string) => emitted.layers.find((l) => l.name === name)!.constraints;
    expect(cost('pow3')).toBe(12);
    const clip = q.layers.find((l) => l.name === 'clip_t') as QMinMax;
    expect([clip.clip, clip.g]).toEqual([true, 3]);
    expect(cost('w_const')).toBe(0);
    expect(cost('w_p3')).toBe(6);
    expect(cost('and') + cost('or') + cost('xor')).toBe(18);
    const max3 = q.layers.find((l) => l.name === 'max3') as QMinMax;
    expect(max3.g).toBe(3);
    const uu = q.layers.find((l) => l.name === 'lt_uu') as QCompare;
    expect([uu.za > 0, uu.zb > 0]).toEqual([false, true]);
    uu.ma.forEach((v) => expect(BigInt(v) ** 2n).toBeLessThan(2n ** 40n));
    const rmin = q.layers.find((l) => l.name === 'rmin') as QMinMax;
    expect([rmin.g, rmin.outShape]).toEqual([6, [1]]);
  });
});

describe('arith: quantized model vs onnxruntime', () => {
  // Tolerances (fraction of the output range R): each Gemm output is within ~0.5% of its range (int8 weights,
  // uint8 input); a product of two such values is within ~1% of the product's range, and each requantization
  // adds half an LSB (0.2%). e2e: product, Where, MatMul, 2 requantizations and a product of those: 2%. ops:
  // values away from comparison ties (the quantized decision flips only within the quantization error of a tie):
  // 2% of each output's range.
  it('e2e within 2% of the output range', async () => {
    const p = e2e();
    const fresh = freshInRange(p, 64).filter((x) => tieMargin(p, x) > 0.05);
    expect(fresh.length).toBeGreaterThanOrEqual(12);
    let R = 0;
    for (const x of p.cal) for (const v of runFloat(p.model, x)) R = Math.max(R, Math.abs(v));
    let worst = 0;
    for (const x of fresh) {
      const o = await ort(p.m, x);
      const out = dequantizeOutput(p.q.output.quant, runInteger(p.q, quantizeInput(p.q.input.quant, x)));
      out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - o[i]))));
    }
    console.log(`e2e: worst |quantized - onnxruntime| ${((100 * worst) / R).toFixed(2)}% of R = ${R.toFixed(3)}, ${fresh.length} inputs`);
    expect(worst).toBeLessThanOrEqual(0.02 * R);
  });

  it('broadcast Add/Sub then a product within 2% of the output range', async () => {
    const p = bcast();
    expect(p.model.layers.filter((l) => l.kind === 'gather').map((l) => l.name)).toEqual(['sub_b#bcast1', 'add_b#bcast1']);
    const fresh = freshInRange(p, 64);
    expect(fresh.length).toBeGreaterThanOrEqual(12);
    let R = 0;
    for (const x of p.cal) for (const v of runFloat(p.model, x)) R = Math.max(R, Math.abs(v));
    let worst = 0;
    for (const x of fresh) {
      const o = await ort(p.m, x);
      const out = dequantizeOutput(p.q.output.quant, runInteger(p.q, quantizeInput(p.q.input.quant, x)));
      out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - o[i]))));
    }
    console.log(`bcast: worst |quantized - onnxruntime| ${((100 * worst) / R).toFixed(2)}% of R = ${R.toFixed(3)}, ${fresh.length} inputs`);
    expect(worst).toBeLessThanOrEqual(0.02 * R);
  });

  it('opset 18 ReduceMax/ReduceMin (axes as an input, negative axis, keepdims 0/1), softmax-style x - max(x) with broadcasting: within 2%', async () => {
    const b = new B(23);
    const r = b.node('Reshape', 'r', [b.gemm('g', 'x', 6, 6), b.init('r.s', [2], [2, 3], 'int64')]);
    const mx = b.node('ReduceMax', 'rmax', [r, b.init('ax1', [1], [-1], 'int64')]);
    const mn = b.node('ReduceMin', 'rmin', [r, b.init('ax0', [1], [0], 'int64')], { keepdims: 0 });
    const st = b.node('Sub', 'stable', [r, mx]);
    const big = b.node('Max', 'maxb', [st, b.node('Min', 'minb', [mn, b.scalar('z', 0.2)])]);
    b.node('Mul', 'out', [big, mn]);
    const p = prepare(b.model('arith_reduce18', [1, 6], 'out', [2, 3], undefined, 18));
    const kinds = p.q.layers.map((l) => `${l.kind}:${l.name}`);
    expect(kinds).toEqual(expect.arrayContaining(['minmax:rmax', 'minmax:rmin', 'minmax:maxb', 'minmax:minb', 'product:out']));
    expect((p.q.layers.find((l) => l.name === 'rmax') as QMinMax).outShape).toEqual([2, 1]);
    expect((p.q.layers.find((l) => l.name === 'rmin') as QMinMax).outShape).toEqual([3]);
    const fresh = freshInRange(p, 64);
    expect(fresh.length).toBeGreaterThanOrEqual(12);
    let R = 0;
    for (const x of p.cal) for (const v of runFloat(p.model, x)) R = Math.max(R, Math.abs(v));
    let worst = 0;
    for (const x of fresh) {
      const o = await ort(p.m, x);
      const f = Array.from(runFloat(p.model, x));
      f.forEach((v, i) => expect(Math.abs(v - o[i])).toBeLessThanOrEqual(1e-4 * R));
      const out = dequantizeOutput(p.q.output.quant, runInteger(p.q, quantizeInput(p.q.input.quant, x)));
      out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - o[i]))));
    }
    console.log(`reduce18: worst |quantized - onnxruntime| ${((100 * worst) / R).toFixed(2)}% of R = ${R.toFixed(3)}, ${fresh.length} inputs`);
    expect(worst).toBeLessThanOrEqual(0.02 * R);
  });

  it('div within 2% of the output range (the division rounds to 2^-13 of its calibrated range)', async () => {
    const p = div();
    const fresh = freshInRange(p, 64);
    expect(fresh.length).toBeGreaterThanOrEqual(12);
    let R = 0;
    for (const x of p.cal) for (const v of runFloat(p.model, x)) R = Math.max(R, Math.abs(v));
    let worst = 0;
    for (const x of fresh) {
      const o = await ort(p.m, x);
      const out = dequantizeOutput(p.q.output.quant, runInteger(p.q, quantizeInput(p.q.input.quant, x)));
      out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - o[i]))));
    }
    console.log(`div: worst |quantized - onnxruntime| ${((100 * worst) / R).toFixed(2)}% of R = ${R.toFixed(3)}, ${fresh.length} inputs`);
    expect(worst).toBeLessThanOrEqual(0.02 * R);
  });

  it('ops: every output within 2% of its column range; decisions away from ties equal onnxruntime', async () => {
    const p = ops();
    const fresh = freshInRange(p, 600).filter((x) => tieMargin(p, x) > 0.03);
    expect(fresh.length).toBeGreaterThanOrEqual(12);
    const outs = p.cal.map((x) => Array.from(runFloat(p.model, x)));
    // Columns of the concat: per block of 6, the range over the calibration set.
    const R = Array.from({ length: 36 }, (_, i) => Math.max(...outs.map((o) => Math.abs(o[i])), 1e-9));
    const blockR = Array.from({ length: 6 }, (_, k) => Math.max(...R.slice(6 * k, 6 * k + 6)));
    let worst = 0;
    for (const x of fresh) {
      const o = await ort(p.m, x);
      const out = dequantizeOutput(p.q.output.quant, runInteger(p.q, quantizeInput(p.q.input.quant, x)));
      out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - o[i]) / blockR[Math.floor(i / 6)])));
    }
    console.log(`ops: worst |quantized - onnxruntime| ${(100 * worst).toFixed(2)}% of the block range, ${fresh.length} inputs`);
    expect(worst).toBeLessThanOrEqual(0.02);
  });
});

describe('arith: comparisons on the uint8 grid equal onnxruntime exactly', () => {
  it('every grid value against thresholds on, between and near grid points (ties: Less vs LessOrEqual)', async () => {
    let checked = 0;
    for (const op of ['Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Equal']) {
      // Calibrate once to learn the grid, then put thresholds relative to it.
      const probe = prepare(gridModel(op, 0));
      const { scale: s, zeroPoint: zp } = probe.q.input.quant as { scale: number; zeroPoint: number };
      const f32 = (v: number) => Math.fround(v);
      for (const t of [f32(37 * s), f32(-20 * s), f32(12.5 * s), f32(-3.3 * s), f32(0), f32(300 * s), f32(-300 * s), f32(100.0000001 * s)]) {
        const m = gridModel(op, t);
        const model = importGraph(loadOnnx(m.bytes));
        const q = quantizeModel(model, probe.cal);
        for (let base = 0; base < 256; base += 8) {
          const xq = Array.from({ length: 8 }, (_, i) => base + i);
          const xf = xq.map((v) => f32((v - zp) * s));
          expect(quantizeInput(q.input.quant, xf)).toEqual(xq);
          expect(runInteger(q, xq), `${op} ${t / s} at ${base}`).toEqual(await ort(m, xf));
          checked += 8;
        }
      }
    }
    expect(checked).toBe(5 * 8 * 256);
  });

  it('a small deciding ratio gives every comparison of the exact ratio (exhaustive over uint8 ranges)', () => {
    const rnd = mulberry32(5);
    let small = 0;
    for (let t = 0; t < 12; t++) {
      const sa = (0.5 + 3 * rnd()) / 255;
      const sb = (0.5 + 3 * rnd()) / 255;
      const [A, Bq] = exactRatio(sa, sb);
      const lo = -Math.floor(rnd() * 256);
      const [P, Q] = decidingRatio(A, Bq, lo, lo + 255);
      if (P < 2n ** 20n) small++;
      for (let n = lo; n <= lo + 255; n++) {
        for (let m = -400; m <= 400; m++) {
          const exact = BigInt(n) * A - BigInt(m) * Bq;
          const approx = BigInt(n) * P - BigInt(m) * Q;
          if ((exact > 0n) !== (approx > 0n) || (exact === 0n) !== (approx === 0n)) throw new Error(`${sa}/${sb}: n ${n}, m ${m}`);
        }
      }
    }
    console.log(`deciding ratios: ${small} of 12 below 2^20 (exact ratios ~2^53)`);
    expect(small).toBeGreaterThan(6);
    // Without the search: the first convergent with Q > N (the Farey-neighbour argument), exhaustively checked.
    for (let t = 0; t < 12; t++) {
      const [A, Bq] = exactRatio((0.5 + 3 * rnd()) / 255, (0.5 + 3 * rnd()) / 255);
      const lo = -Math.floor(rnd() * 600);
      const hi = lo + 599;
      const [P, Q] = decidingRatio(A, Bq, lo, hi, 0);
      expect(Q).toBeGreaterThan(BigInt(Math.max(-lo, hi)));
      expect(P * Q).toBeLessThan(2n ** 30n);
      for (let n = lo; n <= hi; n++) {
        // Only the integers m next to n A/B can be decided differently.
        const f = Number((BigInt(n) * A) / Bq);
        for (let m = f - 2; m <= f + 2; m++) {
          const exact = BigInt(n) * A - BigInt(m) * Bq;
          const approx = BigInt(n) * P - BigInt(m) * Q;
          if ((exact > 0n) !== (approx > 0n) || (exact === 0n) !== (approx === 0n)) throw new Error(`Q > N: n ${n}, m ${m}`);
        }
      }
    }
  });

  it('two activations with different scales are compared exactly (2x == x + x on every grid value)', async () => {
    for (const op of ['Equal', 'Greater']) {
      const m = pairModel(op);
      const p = prepare(m);
      const cmp = p.q.layers.find((l) => l.kind === 'compare') as QCompare;
      if (op === 'Equal') expect(cmp.ma.some((v, i) => BigInt(v) !== -BigInt(cmp.mb[i]))).toBe(true);
      // Both sides take at most 256 values: small deciding multipliers instead of ~2^53 exact ones.
      cmp.ma.forEach((v, i) => expect(BigInt(v) ** 2n + BigInt(cmp.mb[i]) ** 2n, `${v} ${cmp.mb[i]}`).toBeLessThan(2n ** 40n));
      const { scale: s, zeroPoint: zp } = p.q.input.quant as { scale: number; zeroPoint: number };
      for (let base = 0; base < 256; base += 8) {
        const xq = Array.from({ length: 8 }, (_, i) => base + i);
        const xf = xq.map((v) => Math.fround((v - zp) * s));
        const out = runInteger(p.q, xq);
        if (op === 'Equal') expect(out).toEqual(new Array(8).fill(1));
        else expect(out).toEqual(await ort(m, xf));
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// Circuits

async function witnessChecks(p: Prepared): Promise<void> {
  const r = await compile(p);
  const q = await readQuantizedModel(r.dir);
  const emitted = emitCircuit(q);
  expect(r.manifest.circuit.constraints).toBe(emitted.constraints);
  expect(emitCircuit(p.q).constraints).toBe(emitted.constraints);
  console.log(`${p.m.name}: ${r.manifest.circuit.constraints} constraints (${emitted.layers.filter((l) => l.constraints).map((l) => `${l.name} ${l.constraints}`).join(', ')}; outputs ${emitted.outputConstraints})`);
  const nIn = sizeOf(q.input.shape);
  const nOut = sizeOf(q.output.shape);
  for (const x of [...uint8Inputs(nIn, 6, 3), ...p.cal.slice(0, 4).map((c) => quantizeInput(q.input.quant, c))]) {
    const w = await artifactWitness(r.dir, { in: x });
    expect(w.values.slice(1, 1 + nOut)).toEqual(runInteger(q, x).map((v) => toField(v)));
  }
}

async function mutationChecks(p: Prepared): Promise<Set<string>> {
  const r = await compile(p);
  const q = await readQuantizedModel(r.dir);
  const { mutations, freeHelpers, kinds } = await mutateWitnessWires(r.dir, [...uint8Inputs(sizeOf(q.input.shape), 1, 5), quantizeInput(q.input.quant, p.cal[0])].map((x) => ({ in: x })));
  console.log(`${p.m.name}: ${mutations} mutations rejected; ${freeHelpers} free inverse helpers skipped; wires: ${[...kinds].sort().join(', ')}`);
  return kinds;
}

describe('arith: e2e circuit', () => {
  beforeAll(async () => {
    await compile(e2e());
  }, 600_000);

  it('constraints == cost formulas; witness == integer reference', async () => {
    await witnessChecks(e2e());
    const q = e2e().q;
    const em = emitCircuit(q);
    const cost = (name: string) => em.layers.find((l) => l.name === name)!.constraints;
    // mul: 4 products; matmul: 1 x 1 output, K = 4; out: 4 products; where: 4 products.
    expect([cost('mul'), cost('matmul'), cost('out'), cost('where')]).toEqual([4, 4, 4, 4]);
    const gt = q.layers.find((l) => l.name === 'gt') as QCompare;
    expect(cost('gt')).toBe(gt.bits.reduce((s, B) => s + B + 2, 0) + 4); // + 4 bindings of d
  });

  it('every single-value change to a private wire breaks a constraint (products, comparison bits, selections)', async () => {
    const kinds = await mutationChecks(e2e());
    for (const k of ['prod#.', 'cmp#.bits[]', 'sel#.']) expect([...kinds].some((n) => n.startsWith(k)), k).toBe(true);
  });

  it('a wrong comparison (the other bit, with a consistent decomposition) cannot satisfy the R1CS', async () => {
    const r = await compile(e2e());
    const r1cs = await readR1csFile(artifactPath(r.dir, 'r1cs'));
    const syms = await readSymbols(artifactPath(r.dir, 'sym'));
    const q = await readQuantizedModel(r.dir);
    const gt = q.layers.find((l) => l.name === 'gt') as QCompare;
    const x = quantizeInput(q.input.quant, e2e().cal[1]);
    const w = (await artifactWitness(r.dir, { in: x })).values;
    const cmpIds = [...syms.keys()].filter((n) => /^main\.cmp_?\d+\.d$/.test(n)).map((n) => n.slice(0, -2));
    expect(cmpIds.length).toBe(4);
    for (const [e, id] of cmpIds.entries()) {
      const B = gt.bits[e];
      // Claim the opposite result: top bit flipped, low bits re-decomposed from t' = t -/+ 2^B (a wrong t).
      const m = [...w];
      const t = (w[syms.get(`${id}.d`)!] + (1n << BigInt(B))) % FIELD_PRIME;
      const t2 = (t + (1n << BigInt(B))) % (1n << BigInt(B + 1));
      for (let i = 0; i <= B; i++) m[syms.get(`${id}.bits[${i}]`)!] = (t2 >> BigInt(i)) & 1n;
      const outWire = syms.get(`${id}.out`)!;
      m[outWire] = 1n - w[outWire];
      expect(violatedConstraints(r1cs, m).length).toBeGreaterThan(0);
    }
    // A wrong product: p + 1 with everything downstream recomputed cannot hold its own row.
    const p0 = [...syms.keys()].find((n) => /^main\.prod_?\d+\.(in|out)\[0\]$/.test(n) && syms.get(n)! >= 0)!;
    const m = [...w];
    m[syms.get(p0)!] += 1n;
    expect(violatedConstraints(r1cs, m).length).toBeGreaterThan(0);
  });

  it('compile + setup + prove + verify', async () => {
    const p = e2e();
    const r = await compile(p);
    await setupKeys(r.dir);
    const vk = await readVerificationKey(artifactPath(r.dir, 'vk'));
    const x = p.cal[2];
    const res = await prove(r.dir, Array.from(x));
    expect(res.verification.valid).toBe(true);
    expect((await verifyBundle(res.bundle, vk)).valid).toBe(true);
    const out = runInteger(p.q, quantizeInput(p.q.input.quant, x));
    expect(res.bundle.publicSignals.slice(0, out.length)).toEqual(out.map((v) => toField(v).toString()));
    console.log(`e2e prove: ${JSON.stringify(res.timings)}`);
  }, 600_000);
});

describe('arith: ops circuit', () => {
  beforeAll(async () => {
    await compile(ops());
  }, 600_000);

  it('constraints == cost formulas; witness == integer reference', async () => {
    await witnessChecks(ops());
  });

  it('every single-value change to a private wire breaks a constraint (min/max, comparison bits, logic, selections)', async () => {
    const kinds = await mutationChecks(ops());
    for (const k of ['prod#.', 'cmp#.bits[]', 'sel#.', 'mm#.bits[]']) expect([...kinds].some((n) => n.startsWith(k)), k).toBe(true);
  });
});

describe('arith: refusals', () => {
  it('Pow with an exponent other than 1, 2, 3, 0.5, -1 names the problem', () => {
    const b = new B(3);
    const g = b.gemm('g', 'x', 4, 4);
    b.node('Pow', 'p', [g, b.scalar('e', 1.5)]);
    const m1 = b.model('pow_frac', [1, 4], 'p', [1, 4]);
    expect(() => importGraph(loadOnnx(m1.bytes))).toThrow(/exponent 1.5 is not supported/);
  });

  it('Pow 0.5 and -1 and a constant divided by an activation become tables (vs onnxruntime within the table bound)', async () => {
    const b = new B(3);
    const g = b.gemm('g', 'x', 4, 4, 0.3);
    const pos = b.node('Add', 'pos', [b.node('Mul', 'sq', [g, g]), b.scalar('c', 1)]); // in [1, ~2.5]
    const r = b.node('Pow', 'root', [pos, b.scalar('half', 0.5)]);
    const inv = b.node('Pow', 'inv', [pos, b.scalar('m1', -1)]);
    const cd = b.node('Div', 'cdiv', [b.scalar('three', 3), pos]);
    b.node('Concat', 'out', [r, inv, cd], { axis: 1 });
    const p = prepare(b.model('arith_pow_tables', [1, 4], 'out', [1, 12]));
    expect(p.model.layers.filter((l) => l.kind === 'lut').map((l) => (l.kind === 'lut' ? l.fn : ''))).toEqual(['sqrt', 'reciprocal', 'reciprocal']);
    let worst = 0;
    for (const x of freshInRange(p, 64)) {
      const o = await ort(p.m, x);
      const out = dequantizeOutput(p.q.output.quant, runInteger(p.q, quantizeInput(p.q.input.quant, x)));
      const f = Array.from(runFloat(p.model, x));
      f.forEach((v, i) => expect(Math.abs(v - o[i])).toBeLessThanOrEqual(1e-4 * Math.abs(o[i]) + 1e-6));
      // Per block of 4 (root, 1/x, 3/x): relative to the block's largest value.
      out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - o[i]) / Math.max(...o.slice(4 * Math.floor(i / 4), 4 * Math.floor(i / 4) + 4).map(Math.abs)))));
    }
    console.log(`pow tables: worst ${(100 * worst).toFixed(2)}% of the block's largest value`);
    expect(worst).toBeLessThanOrEqual(0.02);
  });

  it('And of float (non-boolean) tensors is refused at quantization', () => {
    const b = new B(4);
    const g1 = b.gemm('g1', 'x', 4, 4);
    const g2 = b.gemm('g2', 'x', 4, 4);
    b.node('Xor', 'xr', [g1, g2]);
    const m = b.model('xor_float', [1, 4], 'xr', [1, 4]);
    expect(() => quantizeModel(importGraph(loadOnnx(m.bytes)), randomInputs(4, 8, 1))).toThrow(/0\/1 inputs/);
  });
});

describe('arith: integer semantics', () => {
  it('runIntegerAll covers every layer (sanity)', () => {
    const p = ops();
    const env = runIntegerAll(p.q, quantizeInput(p.q.input.quant, p.cal[0]));
    for (const l of p.q.layers) expect(env.get(l.output)!.length).toBe(sizeOf(l.outShape));
  });
});

describe('arith: division circuit', () => {
  beforeAll(async () => {
    await compile(div());
    await compile(sdiv());
  }, 600_000);

  it('constraints == cost formulas; witness == integer reference (divisors of known sign, and of either sign)', async () => {
    await witnessChecks(div());
    await witnessChecks(sdiv());
    const sd = sdiv().q.layers.find((l) => l.name === 'sdiv') as QDivide;
    expect(sd.sign).toEqual([0, 0]);
    const q = div().q;
    const d = q.layers.find((l) => l.name === 'div') as QDivide;
    const formula = d.bd.reduce((s, bd, i) => s + (d.sign[i] ? 2 * bd + d.bq[i] + 9 : 3 * bd + d.bq[i] + 13), 0);
    // Plus one binding per input (n, d) that is a linear combination rather than a bare signal.
    const bindings = emitCircuit(q).layers.find((l) => l.name === 'div')!.constraints - formula;
    expect(bindings).toBeGreaterThanOrEqual(0);
    expect(bindings).toBeLessThanOrEqual(8);
  });

  it('every single-value change to a private wire breaks a constraint (quotient, remainder, sign, inverse)', async () => {
    const kinds = new Set([...(await mutationChecks(div())), ...(await mutationChecks(sdiv()))]);
    for (const k of ['div#.r', 'div#.rb[]', 'div#.sb[]', 'div#.qb[]', 'div#.inv', 'div#.qd', 'div#.sign.bits[]', 'div#.ad', 'div#.num']) expect([...kinds].some((n) => n.startsWith(k)), k).toBe(true);
  });

  for (const get of [div, sdiv]) it(`the other quotient/remainder pair (q - 1, r + 2|d|) cannot satisfy the R1CS (${get().m.name})`, async () => {
    const r = await compile(get());
    const r1cs = await readR1csFile(artifactPath(r.dir, 'r1cs'));
    const syms = await readSymbols(artifactPath(r.dir, 'sym'));
    const q = await readQuantizedModel(r.dir);
    const xq = quantizeInput(q.input.quant, get().cal[0]);
    const w = (await artifactWitness(r.dir, { in: xq })).values;
    // |d| per gadget, in emission order, from the integer reference (a bare divisor's wire is merged away).
    const env = runIntegerAll(q, xq);
    const absD = q.layers.filter((l): l is QDivide => l.kind === 'divide').flatMap((l) => l.ib.map((bi) => BigInt(Math.abs(env.get(l.inputs[1])![bi] - l.zb))));
    const ids = [...syms.keys()].filter((n) => /^main\.div_?\d+\.q$/.test(n)).map((n) => n.slice(0, -2));
    expect(ids.length).toBe(sizeOf(q.output.shape) * (get() === div() ? 2 : 1));
    let outs = 0;
    for (const [e, id] of ids.entries()) {
      // The last layer's quotients are the public outputs (--O1 merged the two wires).
      const qWire = syms.get(`${id}.q`)! < 0 ? syms.get(`main.out[${outs++}]`)! : syms.get(`${id}.q`)!;
      const at = (n: string) => (n === 'q' ? qWire : syms.get(`${id}.${n}`)!);
      const m = [...w];
      const ad = absD[e];
      m[at('q')] = (w[at('q')] - 1n + FIELD_PRIME) % FIELD_PRIME;
      m[at('qd')] = (w[at('qd')] - ad + FIELD_PRIME) % FIELD_PRIME;
      const r2 = w[at('r')] + 2n * ad;
      m[at('r')] = r2;
      for (let i = 0; syms.has(`${id}.rb[${i}]`); i++) m[at(`rb[${i}]`)] = (r2 >> BigInt(i)) & 1n;
      expect(violatedConstraints(r1cs, m).length).toBeGreaterThan(0);
    }
  });
});

describe('arith: a Where whose condition the bounds fix', () => {
  /** c = x > [5, 0, -5, 0.2] on x in [-1, 1]: elements 0 and 2 are decided by the bounds (0 and 1). */
  function fixedModel(): TestModel {
    const b = new B(29);
    const g = b.gemm('g', 'x', 4, 4);
    const c = b.node('Greater', 'gt', ['x', b.init('t', [4], [5, 0, -5, 0.2])]);
    const w = b.node('Where', 'sel', [c, g, 'x']);
    const m = b.node('Mul', 'mask', [b.node('Cast', 'cf', [c], { to: 1 }), b.node('Pow', 'cube', [g, b.scalar('three', 3)])]);
    b.node('Add', 'out', [w, m]);
    return b.model('arith_fixed', [1, 4], 'out', [1, 4]);
  }

  it('selects (and multiplies) linearly where the condition is fixed; constraints == formula; witness == reference; mutations break it', async () => {
    const p = prepare(fixedModel());
    const sel = p.q.layers.find((l) => l.kind === 'select') as QSelect;
    expect(sel.cFixed).toEqual([0, -1, 1, -1]);
    const cmp = p.q.layers.find((l) => l.kind === 'compare') as QCompare;
    expect(cmp.bits.map((b) => b > 0)).toEqual([false, true, false, true]);
    const em = emitCircuit(p.q);
    expect(em.layers.find((l) => l.name === 'sel')!.constraints).toBe(2);
    expect(em.layers.find((l) => l.name === 'mask')!.constraints).toBe(2);
    expect((p.q.layers.find((l) => l.name === 'mask') as QProduct).fixedA).toEqual([0, null, 1, null]);
    for (const x of p.cal.slice(0, 8)) {
      const o = await ort(p.m, x);
      const out = dequantizeOutput(p.q.output.quant, runInteger(p.q, quantizeInput(p.q.input.quant, x)));
      const R = Math.max(...o.map(Math.abs), 1);
      if (tieMargin(p, x) > 0.02) out.forEach((v, i) => expect(Math.abs(v - o[i])).toBeLessThanOrEqual(0.03 * R));
    }
    await witnessChecks(p);
    await mutationChecks(p);
  }, 600_000);
});

describe('arith: ArgMin', () => {
  it('is the ArgMax of -x (first or last minimum): the onnxruntime index away from ties, and on hand-made ties of the input grid', async () => {
    for (const last of [0, 1]) {
      const b = new B(31);
      b.node('ArgMin', 'amin', [b.gemm('g', 'x', 6, 5)], { axis: 1, keepdims: 0, select_last_index: last });
      const p = prepare(b.model(`arith_argmin${last}`, [1, 6], 'amin', [1], 'int64'));
      expect(p.model.layers.map((l) => l.kind)).toEqual(['dense', 'affine', 'argmax']);
      let decided = 0;
      for (const x of freshInRange(p, 64)) {
        const o = await ort(p.m, x);
        const out = runInteger(p.q, quantizeInput(p.q.input.quant, x));
        const logits = Array.from(runFloat({ ...p.model, layers: p.model.layers.slice(0, 1), output: { ...p.model.output, tensor: 'g' } }, x));
        const sorted = [...logits].sort((u, v) => u - v);
        if (sorted[1] - sorted[0] > 0.05) {
          expect(out).toEqual(o);
          decided++;
        }
      }
      expect(decided).toBeGreaterThan(20);
      // Ties on the input grid: ArgMin of x itself, vs onnxruntime on the dequantized values.
      const c = new B(1);
      c.node('ArgMin', 'amin', ['x'], { axis: 1, keepdims: 1, select_last_index: last });
      const t = prepare(c.model(`arith_argmin_ties${last}`, [1, 6], 'amin', [1, 1], 'int64'));
      const { scale: sc, zeroPoint: zp } = t.q.input.quant as { scale: number; zeroPoint: number };
      for (const xq of [[50, 10, 10, 70, 10, 90], [3, 3, 3, 3, 3, 3], [200, 0, 255, 0, 1, 0]]) {
        const xf = xq.map((v) => Math.fround((v - zp) * sc));
        expect(runInteger(t.q, xq)).toEqual(await ort(t.m, xf));
      }
    }
  });
});
