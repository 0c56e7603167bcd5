/**
 * Cheap ONNX ops exported models use (src/ops/composite.ts, src/ops/lut.ts, src/ops/fold.ts, src/ops/norm.ts):
 * Sum, Mean, CastLike, IsNaN, IsInf; Tan, Sinh, Cosh, Asin, Acos, Atan, Asinh, Acosh, Atanh, Shrink; Compress,
 * ReverseSequence, ReduceLogSum; EyeLike, Mod, BitShift, Bitwise*, ReduceProd (constants); MeanVarianceNormalization,
 * LpNormalization, Hardmax.
 *
 * 0. ReduceProd of activations (chained products) and EyeLike of an activation (a constant) are cases of 2.
 * 1. Constant folding vs onnxruntime: bit-exact for integer results (BitShift, Bitwise*, Mod, EyeLike, IsNaN/IsInf),
 *    1e-6 relative for float results.
 * 2. Per op, a model Gemm(4 -> 6) -> op(s) -> Gemm(n -> 3), calibrated on 32 random inputs: the float IR against
 *    onnxruntime (1e-5 of the output magnitude); the quantized model against onnxruntime on fresh inputs whose
 *    intermediate values stay inside the calibrated ranges, within 2% of the output range (Shrink with a bias and
 *    Hardmax jump: inputs within 2% of a jump / a tie are skipped); the new tables' stated error bound
 *    (lutErrorBound) holds on a dense sweep.
 * 3. One model with a layer of every group compiled once: constraints == the cost formulas, witness == integer
 *    reference, every private wire mutated by +1, -1, +2^64 breaks the R1CS; setup, prove, verify.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readQuantizedModel } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel, type CompileModelResult } from '../src/compile/model.ts';
import { emitCircuit } from '../src/emit/circuit.ts';
import { UnsupportedModelError } from '../src/errors.ts';
import { toField } from '../src/field.ts';
import { importGraph } from '../src/ir/import.ts';
import type { LutLayer, QLutRequant } from '../src/ir/layers/elementwise.ts';
import type { FloatModel, QArgMax, QuantizedModel, U8Quant } from '../src/ir/types.ts';
import { sizeOf } from '../src/ir/types.ts';
import { buildOnnxModel, type InitializerSpec, type NodeSpec, type TensorDataType } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { foldableOps, foldNode } from '../src/ops/fold.ts';
import { DOMAIN_CLAMPED, lutErrorBound, lutFn, lutJump, lutLipschitz, lutRequantConstraints } from '../src/ops/lut.ts';
import { qDef, supportedOps } from '../src/ops/registry.ts';
import { prove, readVerificationKey } from '../src/prove/prove.ts';
import { artifactWitness } from '../src/prove/witness.ts';
import { calibrate, quantizeInput, quantizeModel } from '../src/quantize/quantize.ts';
import { runFloat, runFloatAll } from '../src/reference/float.ts';
import { runInteger } from '../src/reference/integer.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { randomInputs } from './helpers/fixtures.ts';
import { mutateWitnessWires } from './helpers/mutation.ts';
import { Builder, caseModel, opCases, topkModel, type OpCase, type TestModel } from './helpers/ops-more-models.ts';
import { runOrt } from './helpers/ort.ts';

const ROOT = 'artifacts/test/ops-more';
const CAL_SEED = 41;
const TEST_SEED = 87;
const accuracyLog: string[] = [];
const TABLE_OPS = ['Tan', 'Sinh', 'Cosh', 'Asin', 'Acos', 'Atan', 'Asinh', 'Acosh', 'Atanh', 'Shrink'];

// ---------------------------------------------------------------------------------------------------------
// 1. Constant folding

interface FoldCase {
  name: string;
  op: string;
  inputs: { dims: number[]; data: number[]; type: TensorDataType }[];
  attrs?: NodeSpec['attrs'];
  outType: TensorDataType;
  opset?: number;
}

const u8 = (dims: number[], data: number[]) => ({ dims, data, type: 'uint8' as const });
const i32 = (dims: number[], data: number[]) => ({ dims, data, type: 'int32' as const });
const i64 = (dims: number[], data: number[]) => ({ dims, data, type: 'int64' as const });
const f32 = (dims: number[], data: number[]) => ({ dims, data, type: 'float' as const });

const foldCases: FoldCase[] = [
  { name: 'BitShift LEFT uint8 (wraps)', op: 'BitShift', inputs: [u8([5], [1, 3, 200, 255, 16]), u8([5], [1, 2, 1, 7, 3])], attrs: { direction: 'LEFT' }, outType: 'uint8' },
  { name: 'BitShift RIGHT uint8 (broadcast)', op: 'BitShift', inputs: [u8([4], [255, 128, 7, 100]), u8([1], [3])], attrs: { direction: 'RIGHT' }, outType: 'uint8' },
  { name: 'BitwiseAnd int8', op: 'BitwiseAnd', inputs: [{ dims: [3], data: [-1, -128, 100], type: 'int8' }, { dims: [3], data: [-3, 127, -100], type: 'int8' }], outType: 'int8', opset: 18 },
  { name: 'BitwiseAnd int32 (negatives)', op: 'BitwiseAnd', inputs: [i32([4], [-1, -8, 12, 2147483647]), i32([4], [5, -3, 10, -2147483648])], outType: 'int32', opset: 18 },
  { name: 'BitwiseOr int64 broadcast', op: 'BitwiseOr', inputs: [i64([2, 2], [-4, 1, 2 ** 40, 0]), i64([2], [3, -2])], outType: 'int64', opset: 18 },
  { name: 'BitwiseXor uint8', op: 'BitwiseXor', inputs: [u8([3], [255, 170, 0]), u8([3], [15, 85, 1])], outType: 'uint8', opset: 18 },
  { name: 'BitwiseNot int64 and uint8', op: 'BitwiseNot', inputs: [i64([3], [0, -5, 2 ** 33])], outType: 'int64', opset: 18 },
  { name: 'BitwiseNot uint8', op: 'BitwiseNot', inputs: [u8([3], [0, 5, 255])], outType: 'uint8', opset: 18 },
  { name: 'Mod fmod 0 int64 (sign of the divisor)', op: 'Mod', inputs: [i64([4], [7, -7, 7, -7]), i64([4], [3, 3, -3, -3])], outType: 'int64' },
  { name: 'Mod fmod 1 float (sign of the dividend)', op: 'Mod', inputs: [f32([4], [7.5, -7.5, 7.5, -7.5]), f32([4], [2, 2, -2, -2])], attrs: { fmod: 1 }, outType: 'float' },
  { name: 'EyeLike k = 1, dtype int64', op: 'EyeLike', inputs: [f32([3, 4], new Array(12).fill(0))], attrs: { k: 1, dtype: 7 }, outType: 'int64' },
  { name: 'EyeLike k = -1', op: 'EyeLike', inputs: [f32([3, 3], new Array(9).fill(2))], attrs: { k: -1 }, outType: 'float' },
  { name: 'IsInf detect_negative 0', op: 'IsInf', inputs: [f32([4], [1, 2, 3, 4])], attrs: { detect_negative: 0 }, outType: 'bool' },
  { name: 'IsNaN', op: 'IsNaN', inputs: [f32([3], [1, 0, -1])], outType: 'bool' },
  { name: 'ReduceProd', op: 'ReduceProd', inputs: [f32([2, 3], [1, 2, 3, -1, 0.5, 4]), i64([1], [1])], attrs: { keepdims: 0 }, outType: 'float' },
  { name: 'ReduceLogSum', op: 'ReduceLogSum', inputs: [f32([2, 3], [1, 2, 3, 1, 0.5, 4]), i64([1], [1])], outType: 'float' },
  { name: 'Sum of three (broadcast)', op: 'Sum', inputs: [f32([2, 3], [1, 2, 3, 4, 5, 6]), f32([3], [0.5, 0.25, 1]), f32([1], [2])], outType: 'float' },
  { name: 'Mean of two', op: 'Mean', inputs: [f32([3], [1, 2, 3]), f32([3], [0.5, 0.25, 1])], outType: 'float' },
  { name: 'Tan', op: 'Tan', inputs: [f32([4], [-1.2, -0.3, 0.4, 1.1])], outType: 'float' },
  { name: 'Acosh', op: 'Acosh', inputs: [f32([3], [1, 1.5, 10])], outType: 'float' },
  { name: 'Atanh', op: 'Atanh', inputs: [f32([3], [-0.9, 0, 0.5])], outType: 'float' },
  { name: 'Shrink', op: 'Shrink', inputs: [f32([5], [-1, -0.4, 0, 0.4, 1])], attrs: { lambd: 0.3, bias: 0.1 }, outType: 'float' },
  { name: 'CastLike int64 like float', op: 'CastLike', inputs: [i64([3], [1, -2, 3]), f32([1], [0])], outType: 'float' },
];

function foldModel(c: FoldCase): Uint8Array {
  const inits: InitializerSpec[] = c.inputs.map((t, i) => ({ name: `i${i}`, dims: t.dims, data: t.data, dataType: t.type }));
  return buildOnnxModel({
    inputs: [{ name: 'x', shape: [1, 1] }],
    outputs: [{ name: 'o', shape: [], elemType: c.outType }],
    initializers: inits,
    nodes: [{ op: c.op, name: 'n', inputs: inits.map((t) => t.name), outputs: ['o'], attrs: c.attrs }, { op: 'Identity', name: 'unused', inputs: ['x'], outputs: ['u'] }],
    opset: c.opset ?? 18,
  });
}

describe('constant folding of the new ops vs onnxruntime', () => {
  for (const c of foldCases) {
    it(c.name, async () => {
      expect(foldableOps).toContain(c.op);
      const bytes = foldModel(c);
      const g = loadOnnx(bytes);
      const r = foldNode(g.nodes[0], (n) => g.initializers.get(n), g.opset);
      if (!r || 'error' in r) throw new Error(`${c.op} not folded: ${r && 'error' in r ? r.error : 'undefined'}`);
      const got = r[0];
      const session = await ort.InferenceSession.create(Buffer.from(bytes));
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(0), [1, 1]) });
      const t = out.o;
      const want = Array.from(t.data as ArrayLike<number | bigint | boolean>, Number);
      expect(got.dims).toEqual([...t.dims]);
      expect(got.data.length).toBe(want.length);
      if (c.outType === 'float') got.data.forEach((v, i) => expect(Math.abs(v - want[i]), `element ${i}: ${v} vs ${want[i]}`).toBeLessThanOrEqual(1e-6 * Math.abs(want[i]) + 1e-7));
      else expect(Array.from(got.data)).toEqual(want);
    });
  }

  it('bad inputs are clear fold errors: BitShift of a signed type or without a direction, Bitwise of floats', () => {
    const err = (c: FoldCase) => {
      const g = loadOnnx(foldModel(c));
      const r = foldNode(g.nodes[0], (n) => g.initializers.get(n), g.opset) as { error: string };
      return r.error;
    };
    expect(err({ name: '', op: 'BitShift', inputs: [i32([1], [1]), i32([1], [1])], attrs: { direction: 'LEFT' }, outType: 'int32' })).toMatch(/BitShift needs an integer tensor/);
    expect(err({ name: '', op: 'BitShift', inputs: [u8([1], [1]), u8([1], [1])], outType: 'uint8' })).toMatch(/direction/);
    expect(err({ name: '', op: 'BitwiseAnd', inputs: [f32([1], [1]), f32([1], [1])], outType: 'float', opset: 18 })).toMatch(/BitwiseAnd needs an integer tensor/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// 2. Per op, on activations

interface Prepared {
  m: TestModel;
  model: FloatModel;
  cal: Float64Array[];
  q: QuantizedModel;
}

const seedOf = (name: string) => [...name].reduce((h, ch) => (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0, 7);

function prepare(m: TestModel): Prepared {
  const model = importGraph(loadOnnx(m.bytes));
  const cal = randomInputs(sizeOf(model.input.shape), 32, CAL_SEED);
  return { m, model, cal, q: quantizeModel(model, cal) };
}

function freshInRange(p: Prepared, n: number): Float64Array[] {
  const ranges = calibrate(p.model, p.cal);
  const inRange = (x: Float64Array) => [...runFloatAll(p.model, x)].every(([name, v]) => v.every((e) => e >= ranges.get(name)!.min && e <= ranges.get(name)!.max));
  return randomInputs(sizeOf(p.model.input.shape), n, TEST_SEED).filter(inRange);
}

function outputRange(p: Prepared): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of p.cal) for (const v of runFloat(p.model, x)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  return hi - lo;
}

const deq = (q: U8Quant, v: number) => (v - q.zeroPoint) * q.scale;

/** True when x is within `margin` of a point where the case's op jumps (Shrink's +-lambd, Hardmax's ties). */
function nearJump(c: OpCase, p: Prepared, x: Float64Array): boolean {
  const env = runFloatAll(p.model, x);
  const h = env.get('fc1')!;
  const range = calibrate(p.model, p.cal).get('fc1')!;
  const margin = 0.02 * (range.max - range.min);
  if (c.name.startsWith('Shrink')) {
    const lambd = (p.model.layers.find((l) => l.name === 'f') as LutLayer).alpha;
    return h.some((v) => Math.abs(Math.abs(v) - lambd) < margin);
  }
  if (c.discontinuous) {
    const s = [...h].sort((a, b) => b - a);
    return s[0] - s[1] < margin;
  }
  return false;
}

describe('the new ops are listed as supported', () => {
  it('every op of every case, and the refusals name the node and attribute', () => {
    for (const c of opCases) for (const op of c.ops) expect(supportedOps, op).toContain(op);
    const bad = (nodes: NodeSpec[], inits: InitializerSpec[] = [], shape = [1, 6], opset = 18) =>
      () => importGraph(loadOnnx(buildOnnxModel({ inputs: [{ name: 'x', shape }], outputs: [{ name: 'y', shape: [1, 6] }], initializers: inits, nodes, opset })));
    const expectIssue = (f: () => unknown, re: RegExp) => {
      let e: unknown;
      try {
        f();
      } catch (err) {
        e = err;
      }
      expect(e).toBeInstanceOf(UnsupportedModelError);
      expect(String((e as Error).message) + JSON.stringify((e as UnsupportedModelError & { issues?: unknown }).issues ?? '')).toMatch(re);
    };
    expectIssue(bad([{ op: 'LpNormalization', name: 'lp3', inputs: ['x'], outputs: ['y'], attrs: { p: 3 } }]), /lp3[\s\S]*'p' = 3/);
    expectIssue(bad([{ op: 'Hardmax', name: 'hm', inputs: ['x'], outputs: ['y'], attrs: { axis: 1 } }], [], [1025, 2]), /hm[\s\S]*1025 rows along axis 1/);
    expectIssue(bad([{ op: 'MeanVarianceNormalization', name: 'mvn', inputs: ['x'], outputs: ['y'], attrs: { axes: [0] } }], [], [2, 6]), /mvn[\s\S]*'axes'/);
    expectIssue(bad([{ op: 'ReverseSequence', name: 'rs', inputs: ['x', 'l'], outputs: ['y'], attrs: { batch_axis: 0, time_axis: 0 } }], [{ name: 'l', dims: [1], data: [2], dataType: 'int64' }]), /rs[\s\S]*'batch_axis'/);
    expectIssue(bad([{ op: 'ReverseSequence', name: 'rs2', inputs: ['x', 'l'], outputs: ['y'] }], [{ name: 'l', dims: [6], data: [1, 1, 1, 1, 1, 9], dataType: 'int64' }]), /rs2[\s\S]*9 is outside/);
    expectIssue(bad([{ op: 'Compress', name: 'cp', inputs: ['x', 'c'], outputs: ['y'], attrs: { axis: 1 } }], [{ name: 'c', dims: [6], data: [0, 0, 0, 0, 0, 0], dataType: 'bool' }]), /cp[\s\S]*selects no element/);
    expectIssue(bad([{ op: 'Compress', name: 'cp2', inputs: ['x', 'x'], outputs: ['y'] }]), /cp2[\s\S]*must be a constant/);
    expectIssue(bad([{ op: 'ReduceProd', name: 'rp', inputs: ['x'], outputs: ['y'], attrs: { keepdims: 1 } }], [], [1, 9]), /rp[\s\S]*groups of 9 activations/);
    expectIssue(bad([{ op: 'Shrink', name: 'sh', inputs: ['x'], outputs: ['y'], attrs: { lambda: 1 } }]), /sh[\s\S]*'lambda' is not supported/);
  });
});

for (const c of opCases) {
  describe(`ops-more: ${c.name}`, () => {
    let p: Prepared;
    beforeAll(() => {
      p = prepare(caseModel(c, seedOf(c.name)));
    });

    it('float IR matches onnxruntime (1e-5 of the output magnitude)', async () => {
      for (const x of randomInputs(4, 16, TEST_SEED + 1)) {
        const o = await runOrt(p.m.bytes, 'x', p.m.inputShape, x);
        const f = runFloat(p.model, x);
        const mag = Math.max(...Array.from(o, Math.abs));
        f.forEach((v, i) => expect(Math.abs(v - o[i]), `element ${i}`).toBeLessThanOrEqual(1e-5 * mag + 1e-6));
      }
    });

    it('quantized model within 2% of the output range of onnxruntime', async () => {
      const fresh = freshInRange(p, 96);
      const R = outputRange(p);
      let worst = 0;
      let n = 0;
      for (const x of fresh) {
        if (nearJump(c, p, x)) continue;
        const o = await runOrt(p.m.bytes, 'x', p.m.inputShape, x);
        const out = dequantizeOutput(p.q.output.quant, runInteger(p.q, quantizeInput(p.q.input.quant, x)));
        out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - o[i]))));
        n++;
      }
      expect(n).toBeGreaterThanOrEqual(12);
      accuracyLog.push(`${c.name}: worst ${((100 * worst) / R).toFixed(2)}% of the output range ${R.toFixed(3)} (${n} inputs); layers ${p.q.layers.map((l) => l.kind).join(', ')}`);
      expect(worst).toBeLessThanOrEqual(0.02 * R);
    });

    if (TABLE_OPS.includes(c.ops[0])) it('table: |deq(T[q(x)]) - f(x)| <= lutErrorBound over the calibrated input range, never NaN', () => {
      const fl = p.model.layers.find((x) => x.name === 'f') as LutLayer;
      const l = p.q.layers.find((x) => x.name === 'f') as QLutRequant;
      expect([fl.kind, l.kind]).toEqual(['lut', 'lutrq']);
      const range = calibrate(p.model, p.cal).get(fl.inputs[0])!;
      const bound = lutErrorBound(l.fn, fl.alpha, l.inQuant, l.outQuant, range, fl.beta);
      expect(Number.isFinite(bound)).toBe(true);
      expect(l.table.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)).toBe(true);
      const f = lutFn(l.fn, fl.alpha, fl.beta);
      const jump = lutJump(l.fn, fl.alpha, fl.beta);
      let worstRatio = 0;
      for (let i = 0; i <= 4000; i++) {
        const x = range.min + ((range.max - range.min) * i) / 4000;
        const y = f(x);
        if (y < deq(l.outQuant, 0) || y > deq(l.outQuant, 255)) continue;
        const err = Math.abs(deq(l.outQuant, l.table[quantizeInput(l.inQuant, [x])[0]]) - y);
        expect(err, `x = ${x}`).toBeLessThanOrEqual(bound + 1e-12);
        worstRatio = Math.max(worstRatio, err / bound);
      }
      expect(worstRatio).toBeGreaterThan(0);
      if (jump === 0) expect(worstRatio).toBeGreaterThan(0.3);
      expect(DOMAIN_CLAMPED.includes(l.fn)).toBe(['asin', 'acos', 'acosh', 'atanh'].includes(l.fn));
    });
  });
}

describe('TopK: values and indices vs onnxruntime, ties broken by the lower index', () => {
  for (const [k, largest] of [[3, 1], [2, 0], [6, 1]] as const) {
    it(`k = ${k}, largest = ${largest}: float IR == onnxruntime (values 1e-6, indices exact, ties included); quantized values within 2% of the range`, async () => {
      const m = topkModel(k, largest);
      const model = importGraph(loadOnnx(m.bytes));
      const session = await ort.InferenceSession.create(Buffer.from(m.bytes));
      // Random inputs, and inputs with ties (values repeated at several positions).
      const inputs = [...randomInputs(6, 16, TEST_SEED + 5), Float64Array.of(1, 3, 3, 2, 3, 0), Float64Array.of(0.5, 0.5, 0.5, 0.5, 0.5, 0.5), Float64Array.of(-1, 2, -1, 2, -1, 2)];
      for (const x of inputs) {
        const o = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x), [1, 6]) });
        const want = Array.from(o.values.data as Float32Array);
        const wantIdx = Array.from(o.indices.data as BigInt64Array, Number);
        const env = runFloatAll(model, x);
        const got = Array.from(env.get('values')!);
        const gotIdx = Array.from(env.get('indices')!);
        expect(gotIdx, `x = ${Array.from(x)}`).toEqual(wantIdx);
        got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(1e-6));
      }
      // Quantized: the values output (the graph's first output) within 2% of the input range; indices equal away
      // from near-ties (values within one input step of each other may swap, as their quantized values are equal).
      const cal = randomInputs(6, 32, CAL_SEED);
      const q = quantizeModel(model, cal);
      const step = (q.input.quant as U8Quant).scale;
      for (const x of randomInputs(6, 32, TEST_SEED + 6)) {
        const o = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x), [1, 6]) });
        const want = Array.from(o.values.data as Float32Array);
        const out = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
        out.slice(0, k).forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(0.02 * 2));
        const sorted = [...x].sort((a, b) => b - a);
        const nearTie = sorted.some((v, i) => i > 0 && sorted[i - 1] - v < 2 * step);
        if (!nearTie) expect(out.slice(k).map(Math.round)).toEqual(Array.from(o.indices.data as BigInt64Array, Number));
      }
    });
  }

  it('refusals name the node and the attribute or input: K above the bound, K computed at run time, a matrix', () => {
    const bad = (k: number, shape = [1, 40], kAct = false) => () => importGraph(loadOnnx(buildOnnxModel({
      inputs: [{ name: 'x', shape }, ...(kAct ? [{ name: 'kk', shape: [1], elemType: 'int64' as const }] : [])], outputs: [{ name: 'v', shape: [1, k] }],
      initializers: kAct ? [] : [{ name: 'k', dims: [1], data: [k], dataType: 'int64' }],
      nodes: [{ op: 'TopK', name: 'tk', inputs: ['x', kAct ? 'kk' : 'k'], outputs: ['v', 'i'] }], opset: 18,
    })));
    expect(bad(17)).toThrow(UnsupportedModelError);
    expect(bad(17)).toThrow(/tk[\s\S]*K = 17 is above 16/);
    expect(bad(41)).toThrow(/K = 41 must be an integer from 1 to the axis size 40/);
    expect(bad(2, [1100, 6])).toThrow(/tk[\s\S]*1100 rows along axis 1/);
    expect(bad(2, [1, 6], true)).toThrow(/K \('kk'\) must be a constant/);
  });
});

describe('ArgMax, ArgMin, Hardmax and TopK row by row (a matrix, along either axis) vs onnxruntime', () => {
  const forms: { op: string; attrs: NodeSpec['attrs']; outs: string[]; outShapes: number[][]; k?: number }[] = [
    { op: 'ArgMax', attrs: { axis: 1, keepdims: 0 }, outs: ['y'], outShapes: [[3]] },
    { op: 'ArgMax', attrs: { axis: 0, keepdims: 1, select_last_index: 1 }, outs: ['y'], outShapes: [[1, 4]] },
    { op: 'ArgMin', attrs: { axis: 0, keepdims: 0 }, outs: ['y'], outShapes: [[4]] },
    { op: 'Hardmax', attrs: { axis: 1 }, outs: ['y'], outShapes: [[3, 4]] },
    { op: 'Hardmax', attrs: { axis: 0 }, outs: ['y'], outShapes: [[3, 4]] },
    { op: 'TopK', attrs: { axis: 1 }, outs: ['y', 'i'], outShapes: [[3, 2], [3, 2]], k: 2 },
    { op: 'TopK', attrs: { axis: 0, largest: 0 }, outs: ['y', 'i'], outShapes: [[2, 4], [2, 4]], k: 2 },
  ];
  for (const f of forms) {
    it(`${f.op} ${JSON.stringify(f.attrs)} on [3, 4]: float IR == onnxruntime (indices exact, ties included); quantized within 2%`, async () => {
      const inits: InitializerSpec[] = f.k ? [{ name: 'k', dims: [1], data: [f.k], dataType: 'int64' }] : [];
      const intOut = (o: string) => (f.op.startsWith('Arg') || o === 'i' ? 'int64' : 'float') as TensorDataType;
      const bytes = buildOnnxModel({
        inputs: [{ name: 'x', shape: [3, 4] }], outputs: f.outs.map((o, j) => ({ name: o, shape: f.outShapes[j], elemType: intOut(o) })), initializers: inits,
        nodes: [{ op: f.op, name: 'n', inputs: f.k ? ['x', 'k'] : ['x'], outputs: f.outs, attrs: f.attrs }], opset: 18,
      });
      const model = importGraph(loadOnnx(bytes));
      const session = await ort.InferenceSession.create(Buffer.from(bytes));
      const ties = [Float64Array.of(1, 3, 3, 2, 0, 0, 0, 0, -1, 2, -1, 2), Float64Array.of(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)];
      for (const x of [...randomInputs(12, 12, TEST_SEED + 7), ...ties]) {
        const o = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x), [3, 4]) });
        const env = runFloatAll(model, x);
        for (const name of f.outs) {
          const want = Array.from(o[name].data as ArrayLike<number | bigint>, Number);
          const got = Array.from(env.get(name)!);
          got.forEach((v, i) => expect(Math.abs(v - want[i]), `${name}[${i}] for x = ${Array.from(x)}`).toBeLessThanOrEqual(1e-6));
        }
      }
      // Quantized (first output): values exact on the input grid, so inputs on the grid give the same result.
      const cal = randomInputs(12, 32, CAL_SEED);
      const q = quantizeModel(model, cal);
      const iq = q.input.quant as U8Quant;
      for (const x0 of randomInputs(12, 12, TEST_SEED + 8)) {
        const xi = quantizeInput(iq, x0);
        const x = Float64Array.from(xi, (v) => deq(iq, v));
        const o = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x), [3, 4]) });
        const want = Array.from(o[f.outs[0]].data as ArrayLike<number | bigint>, Number);
        const got = dequantizeOutput(q.output.quant, runInteger(q, xi)).slice(0, want.length);
        got.forEach((v, i) => expect(Math.abs(v - want[i]), `element ${i}`).toBeLessThanOrEqual(0.02 * 2));
      }
    });
  }
});

describe('table bounds of the new functions', () => {
  it('Lipschitz constants are at least the largest slope a fine scan finds over each range', () => {
    const cases: [Parameters<typeof lutLipschitz>[0], { min: number; max: number }][] = [
      ['tan', { min: -1.2, max: 0.9 }], ['sinh', { min: -2, max: 1.5 }], ['cosh', { min: -2, max: 1.5 }], ['atan', { min: -5, max: 5 }],
      ['asinh', { min: -5, max: 5 }], ['asin', { min: -0.9, max: 0.8 }], ['acos', { min: -0.9, max: 0.8 }], ['acosh', { min: 1.2, max: 5 }],
      ['atanh', { min: -0.8, max: 0.9 }], ['shrink', { min: -3, max: 3 }],
    ];
    for (const [fn, r] of cases) {
      const f = lutFn(fn, 0.5, 0);
      let worst = 0;
      const step = (r.max - r.min) / 20000;
      for (let x = r.min; x + step <= r.max; x += step) {
        if (fn === 'shrink' && Math.abs(Math.abs(x) - 0.5) < 2 * step) continue;
        worst = Math.max(worst, Math.abs(f(x + step) - f(x)) / step);
      }
      expect(worst, fn).toBeLessThanOrEqual(lutLipschitz(fn, 0.5, r) * (1 + 1e-9));
      expect(worst, fn).toBeGreaterThan(lutLipschitz(fn, 0.5, r) * 0.95);
    }
    expect(lutLipschitz('tan', 0, { min: -2, max: 0 })).toBe(Infinity);
    expect(lutLipschitz('asin', 0, { min: -1, max: 0 })).toBe(Infinity);
    expect(lutJump('shrink', 0.5, 0.2)).toBeCloseTo(0.3, 12);
  });

  it('Asin/Acos over a range reaching +-1 and Acosh from 1: the modulus-of-continuity bound holds on a dense sweep', () => {
    for (const [fn, range] of [['asin', { min: -1, max: 1 }], ['acos', { min: -1, max: 1 }], ['acosh', { min: 1, max: 4 }]] as const) {
      // The uint8 grid of the range (it always holds 0): [-1, 1] with zero point 128, [0, 4] with zero point 0.
      const inQ: U8Quant = fn === 'acosh' ? { kind: 'u8', scale: range.max / 255, zeroPoint: 0 } : { kind: 'u8', scale: 2 / 255, zeroPoint: 128 };
      const f = lutFn(fn, 0);
      const outLo = Math.min(f(range.min), f(range.max));
      const outHi = Math.max(f(range.min), f(range.max));
      const outQ: U8Quant = { kind: 'u8', scale: (outHi - Math.min(0, outLo)) / 255, zeroPoint: Math.round((-Math.min(0, outLo) * 255) / (outHi - Math.min(0, outLo))) };
      const bound = lutErrorBound(fn, 0, inQ, outQ, range);
      expect(Number.isFinite(bound)).toBe(true);
      // makeTable with the calibrated domain (as the quantizer builds it).
      const t = Array.from({ length: 256 }, (_, q) => {
        const x = Math.min(range.max, Math.max(range.min, (q - inQ.zeroPoint) * inQ.scale));
        return Math.max(0, Math.min(255, Math.round(f(x) / outQ.scale) + outQ.zeroPoint));
      });
      let worst = 0;
      for (let i = 0; i <= 20000; i++) {
        const x = range.min + ((range.max - range.min) * i) / 20000;
        worst = Math.max(worst, Math.abs(deq(outQ, t[quantizeInput(inQ, [x])[0]]) - f(x)));
      }
      expect(worst, fn).toBeLessThanOrEqual(bound);
      expect(worst, fn).toBeGreaterThan(bound / 4);
    }
  });
});

afterAll(() => {
  if (accuracyLog.length) console.log(`ops-more accuracy (quantized vs onnxruntime):\n  ${accuracyLog.join('\n  ')}`);
});

// ---------------------------------------------------------------------------------------------------------
// 3. One compiled model with every group

/**
 * x [1, 4] -> Gemm 6 -> Sum(h, ReduceMean(h), c) -> Atan -> Gemm 6 (+1 bias) -> Acosh-free chain:
 * Compress(axis 1) -> ReverseSequence -> ReduceLogSum (of a positive Gemm) ... see the body.
 */
function chainModel(): TestModel {
  const b = new Builder(2468);
  const h = b.gemm('fc1', 'x', 4, 6, 0.8);
  // Group 1: Sum with a broadcast mean and a constant, then Mean with a constant.
  const m = b.node('ReduceMean', 'rm', [h, b.init('rm.axes', [1], [1], 'int64')], { keepdims: 1 });
  const s = b.node('Sum', 'sum', [h, m, b.init('c1', [6], b.rand(6, 0.3))]);
  const mean = b.node('Mean', 'mean', [s, b.init('c2', [1, 6], b.rand(6, 0.3))]);
  // Group 2: tables (one of an accumulator, fused; one of a uint8 table output).
  const at = b.node('Atan', 'atan', [mean]);
  const sh = b.node('Sinh', 'sinh', [at]);
  // Group 3: routing, then a log of sums.
  const cp = b.node('Compress', 'compress', [sh, b.init('cond', [6], [1, 1, 0, 1, 1, 1], 'bool')], { axis: 1 });
  const g2 = b.gemm('fc2', cp, 5, 6, 0.3, 1.2);
  const r = b.reshape(g2, [3, 2]);
  const rs = b.node('ReverseSequence', 'revseq', [r, b.init('lens', [2], [3, 2], 'int64')], { time_axis: 0, batch_axis: 1 });
  const r3 = b.reshape(rs, [1, 2, 3]);
  const ls = b.node('ReduceLogSum', 'logsum', [r3, b.init('ls.axes', [1], [2], 'int64')], { keepdims: 0 });
  // Group 4: normalizations and Hardmax.
  const pr = b.node('ReduceProd', 'prod', [r3, b.init('pr.axes', [1], [2], 'int64')], { keepdims: 0 });
  const g3 = b.gemm('fc3', b.node('Sum', 'sum3', [ls, pr]), 2, 6, 0.8, 0.5);
  const lp = b.node('LpNormalization', 'lpnorm', [g3], { axis: -1, p: 2 });
  const r4 = b.reshape(lp, [1, 1, 2, 3]);
  const mvn = b.node('MeanVarianceNormalization', 'mvn', [r4]);
  const flat = b.reshape(mvn, [1, 6]);
  const hm = b.node('Hardmax', 'hardmax', [flat]);
  const sum2 = b.node('Sum', 'sum2', [flat, hm]);
  // Group 5: the two largest of each of two rows (row by row: each row gathered, its own rounds).
  const rows = b.reshape(sum2, [2, 3]);
  const top = b.nodeOuts('TopK', 'topk', [rows, b.init('k', [1], [2], 'int64')], ['top', 'top.idx'], { axis: 1 });
  return b.model('ops-more-chain', [1, 4], top, [2, 2], 18);
}

function uint8Inputs(n: number, count: number, seed: number): number[][] {
  return randomInputs(n, count, seed, 0, 256).map((x) => Array.from(x, (v) => Math.min(255, Math.floor(v))));
}

describe('ops-more: one compiled model with every group', () => {
  const m = chainModel();
  let r: CompileModelResult;
  let q: QuantizedModel;
  let p: Prepared;
  beforeAll(async () => {
    p = prepare(m);
    await mkdir(ROOT, { recursive: true });
    const path = `${ROOT}/${m.name}.onnx`;
    await writeFile(path, m.bytes);
    r = await compileModel(path, { out: `${ROOT}/${m.name}`, calibration: p.cal });
    q = await readQuantizedModel(r.dir);
  }, 600_000);

  it('float IR matches onnxruntime; constraints == the cost formulas; witness == integer reference', async () => {
    for (const x of randomInputs(4, 8, TEST_SEED + 2)) {
      const o = await runOrt(m.bytes, 'x', m.inputShape, x);
      const mag = Math.max(...Array.from(o, Math.abs));
      runFloat(p.model, x).forEach((v, i) => expect(Math.abs(v - o[i]), `element ${i}`).toBeLessThanOrEqual(1e-5 * mag + 1e-6));
    }
    const kinds = q.layers.map((l) => l.kind);
    for (const k of ['gather', 'affine', 'lutrq', 'lut', 'reduce', 'normalize', 'divide', 'argmax', 'onehot', 'product']) expect(kinds, k).toContain(k);
    expect(q.layers.filter((l) => /^topk#r\d#argmax/.test(l.name)).length).toBe(4);
    const emitted = emitCircuit(q);
    expect(r.manifest.circuit.constraints).toBe(emitted.constraints);
    // Per layer: the gadget formula plus at most one binding per input element (a linear-combination input).
    q.layers.forEach((l, i) => {
      const e = emitted.layers.find((x) => x.name === l.name && x.kind === l.kind)!;
      const f = qDef(l).constraints(l);
      expect(e.constraints, l.name).toBeGreaterThanOrEqual(f);
      expect(e.constraints - f, l.name).toBeLessThanOrEqual(sizeOf(l.inShape) * l.inputs.length);
      if (['gather', 'affine', 'reshape'].includes(l.kind)) expect(e.constraints, `${l.name} (${l.kind}) is routing or linear`).toBe(0);
      if (l.kind === 'lutrq') {
        const rq = l as QLutRequant;
        const live = rq.bits.filter((_k, j) => rq.accQuant.lo[j] !== rq.accQuant.hi[j]).length;
        expect(e.constraints).toBe(rq.bits.reduce((a, _k, j) => a + lutRequantConstraints(rq, j), 0) + live);
      }
      // TopK's rounds per row (importTopK): ArgMax n (B + 3) + 2, OneHot selector n + 2, value n products (n = 3).
      if (/^topk#r\d#argmax/.test(l.name)) expect(f).toBe(3 * ((l as QArgMax).diffBits + 3) + 2);
      if (/^topk#r\d#onehot/.test(l.name)) expect(f).toBe(3 + 2);
      if (/^topk#r\d#value/.test(l.name)) expect(e.constraints).toBe(3);
      void i;
    });
    console.log(`ops-more-chain: ${r.manifest.circuit.constraints} constraints (${emitted.layers.filter((l) => l.constraints).map((l) => `${l.name} ${l.kind} ${l.constraints}`).join(', ')}; outputs ${emitted.outputConstraints})`);
    const nOut = sizeOf(q.output.shape);
    for (const x of [...uint8Inputs(4, 6, 3), ...p.cal.slice(0, 4).map((v) => quantizeInput(q.input.quant, v))]) {
      const w = await artifactWitness(r.dir, { in: x });
      expect(w.values.slice(1, 1 + nOut)).toEqual(runInteger(q, x).map((v) => toField(v)));
    }
  }, 600_000);

  it('every single-value change to a private witness wire breaks a constraint', async () => {
    const { mutations, freeHelpers, kinds } = await mutateWitnessWires(r.dir, [quantizeInput(q.input.quant, p.cal[0]), ...uint8Inputs(4, 1, 5)].map((x) => ({ in: x })));
    console.log(`ops-more-chain: ${mutations} mutations rejected (${[...kinds].sort().join(', ')}); ${freeHelpers} free is-zero helpers skipped`);
    expect(mutations).toBeGreaterThan(1000);
  }, 600_000);

  it('setup, prove and verify; the proven output is the integer reference', async () => {
    await setupKeys(r.dir);
    const x = p.cal[1];
    const res = await prove(r.dir, Array.from(x));
    const vk = await readVerificationKey(artifactPath(r.dir, 'vk'));
    expect((await verifyBundle(res.bundle, vk)).valid).toBe(true);
    expect(res.bundle.output.quantized).toEqual(runInteger(q, quantizeInput(q.input.quant, x)).map(String));
    const tampered = { ...res.bundle, publicSignals: [...res.bundle.publicSignals] };
    tampered.publicSignals[0] = (BigInt(tampered.publicSignals[0]) + 1n).toString();
    expect((await verifyBundle(tampered, vk)).valid).toBe(false);
  }, 600_000);
});

