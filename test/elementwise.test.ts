/**
 * Element-wise functions of one activation (src/ops/lut.ts): every table function and Neg.
 *
 * 1. Per function, a small model Gemm(4 -> 6) -> f -> Gemm(6 -> 3), calibrated on 32 random inputs:
 *    - the float IR against onnxruntime (1e-4 of the output magnitude; ONNX attribute defaults included);
 *    - the table's stated worst-case error bound (lutErrorBound: s_out/2 + L s_in/2 + J) over a dense sweep of
 *      the calibrated input range;
 *    - the quantized model against onnxruntime on fresh inputs inside the calibrated ranges: within 2% of the
 *      output range (max - min of the outputs over the calibration set) (for
 *      Floor/Ceil/Round/Sign/ThresholdedRelu on inputs whose pre-activations are not within 2% of their range of
 *      a jump: the table is exact on its grid, but a jump moves by a whole step);
 *    - the predicted constraints == 35 per table element, 0 for Neg.
 * 2. One model chaining every function (Neg on an accumulator and on uint8, PRelu with a slope per channel)
 *    compiled once: constraints == the cost formulas, witness == integer reference on extreme and random
 *    inputs, every private wire mutated by +1, -1, +2^64 breaks the R1CS; then setup, prove and verify.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readQuantizedModel } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel, type CompileModelResult } from '../src/compile/model.ts';
import { readR1csFile, readSymbols, violatedConstraints } from '../src/compile/r1cs.ts';
import { releaseCurve } from '../src/curve.ts';
import { emitCircuit } from '../src/emit/circuit.ts';
import { compileCircomDirect, directWitness } from '../src/circom/index.ts';
import { compileCircuit } from '../src/compile/compile.ts';
import { computeWitness } from '../src/prove/witness.ts';
import { FIELD_PRIME, toField } from '../src/field.ts';
import { importGraph } from '../src/ir/import.ts';
import type { LutFunction, LutLayer, QLut, QLutRequant, QNeg, QPwl } from '../src/ir/layers/elementwise.ts';
import type { FloatModel, QuantizedModel, U8Quant } from '../src/ir/types.ts';
import { sizeOf } from '../src/ir/types.ts';
import { buildOnnxModel, mulberry32, type InitializerSpec, type ModelSpec, type NodeSpec } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { u8QuantFor } from '../src/ir/quant.ts';
import { broadcastTo, DOMAIN_CLAMPED, erf, LUT_CONSTRAINTS, lutErrorBound, lutFn, lutJump, lutLipschitz, lutRequantConstraints, makeTable, slopeDenominator, UNFUSED } from '../src/ops/lut.ts';
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
import { ModelBuilder } from './helpers/model-builder.ts';

const ROOT = 'artifacts/test/elementwise';
const CAL_SEED = 41;
const TEST_SEED = 87;

interface TestModel {
  name: string;
  bytes: Uint8Array;
  inputShape: number[];
}

class Builder extends ModelBuilder {
  /** Gemm n -> m, weights +/- a, bias `shift` +/- 0.1. */
  gemm(name: string, x: string, n: number, m: number, a: number, shift = 0): string {
    this.init(`${name}.W`, [m, n], this.rand(m * n, a));
    this.init(`${name}.b`, [m], this.rand(m, 0.1).map((v) => v + shift));
    return this.node('Gemm', name, [x, `${name}.W`, `${name}.b`], { transB: 1 });
  }
  model(name: string, inputShape: number[], output: string, outShape: number[], opset: number): TestModel {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', shape: inputShape }],
      outputs: [{ name: output, shape: outShape }],
      initializers: this.inits,
      nodes: this.nodes,
      opset,
      graphName: name,
    };
    return { name, bytes: buildOnnxModel(spec), inputShape };
  }
}

interface FnCase {
  op: string;
  fn: LutFunction | 'neg';
  attrs?: NodeSpec['attrs'];
  opset?: number;
  /** Weight magnitude and bias shift of the Gemm before f (Log, Sqrt, Reciprocal need positive inputs). */
  a?: number;
  shift?: number;
  /** PRelu slope tensor [dims, data]. */
  slope?: [number[], number[]];
  /** A function before f, so that f reads a uint8 table output (Abs and PRelu on an accumulator need no table). */
  pre?: string;
}

const fnCases: FnCase[] = [
  { op: 'Sigmoid', fn: 'sigmoid' },
  { op: 'Tanh', fn: 'tanh' },
  { op: 'LeakyRelu', fn: 'leakyrelu', attrs: { alpha: 0.2 } },
  { op: 'Elu', fn: 'elu' },
  { op: 'Elu', fn: 'elu', attrs: { alpha: 0.5 } },
  { op: 'Selu', fn: 'selu' },
  { op: 'Selu', fn: 'selu', attrs: { alpha: 1.5, gamma: 0.9 } },
  { op: 'Celu', fn: 'celu', opset: 13 },
  { op: 'Celu', fn: 'celu', attrs: { alpha: 1.5 } },
  { op: 'Softplus', fn: 'softplus' },
  { op: 'Softsign', fn: 'softsign' },
  { op: 'HardSigmoid', fn: 'hardsigmoid' },
  { op: 'HardSigmoid', fn: 'hardsigmoid', attrs: { alpha: 0.3, beta: 0.4 } },
  { op: 'HardSwish', fn: 'hardswish', opset: 14, a: 2 },
  { op: 'Mish', fn: 'mish', opset: 18 },
  { op: 'Gelu', fn: 'gelu', opset: 20 },
  { op: 'Gelu', fn: 'gelutanh', opset: 20, attrs: { approximate: 'tanh' } },
  { op: 'Erf', fn: 'erf' },
  { op: 'Exp', fn: 'exp' },
  { op: 'Log', fn: 'log', a: 0.3, shift: 1.5 },
  { op: 'Sqrt', fn: 'sqrt', a: 0.3, shift: 1.5 },
  { op: 'Sqrt', fn: 'sqrt', pre: 'Relu' },
  { op: 'Exp', fn: 'exp', pre: 'Relu' },
  { op: 'Reciprocal', fn: 'reciprocal', a: 0.3, shift: 1.5 },
  { op: 'Abs', fn: 'abs' },
  { op: 'Abs', fn: 'abs', pre: 'Tanh' },
  { op: 'Sign', fn: 'sign' },
  { op: 'PRelu', fn: 'prelu', slope: [[1], [0.25]] },
  { op: 'PRelu', fn: 'prelu', slope: [[6], [0.1, -0.2, 0.3, 0.5, 0.05, 1.5]] },
  { op: 'PRelu', fn: 'prelu', slope: [[6], [0.25, -0.5, 0.125, 0.5, 0.25, 1.5]] },
  { op: 'PRelu', fn: 'prelu', slope: [[6], [0.1, -0.2, 0.3, 0.5, 0.05, 1.5]], pre: 'Tanh' },
  { op: 'ThresholdedRelu', fn: 'thresholdedrelu', opset: 10 },
  { op: 'ThresholdedRelu', fn: 'thresholdedrelu', attrs: { alpha: 0.4 } },
  { op: 'Floor', fn: 'floor', a: 2 },
  { op: 'Ceil', fn: 'ceil', a: 2 },
  { op: 'Round', fn: 'round', a: 2 },
  { op: 'Sin', fn: 'sin', a: 1.2 },
  { op: 'Cos', fn: 'cos', a: 1.2 },
  { op: 'Neg', fn: 'neg' },
];

const caseName = (c: FnCase) => `${c.pre ? `${c.pre} -> ` : ''}${c.op}${c.attrs ? `(${Object.entries(c.attrs).map(([k, v]) => `${k}=${v}`).join(',')})` : ''}${c.slope ? `[slope ${c.slope[1].join(',')}]` : ''}`;

/** A seed from the case's name, so that adding a case leaves the others' models alone. */
const seedOf = (name: string) => [...name].reduce((h, ch) => (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0, 7);

function fnModel(c: FnCase, k: number): TestModel {
  const b = new Builder(seedOf(caseName(c)));
  let g1 = b.gemm('fc1', 'x', 4, 6, c.a ?? 0.8, c.shift ?? 0);
  if (c.pre) g1 = b.node(c.pre, 'pre', [g1]);
  const inputs = [g1];
  if (c.slope) inputs.push(b.init('slope', c.slope[0], c.slope[1]));
  const f = b.node(c.op, 'f', inputs, c.attrs);
  b.gemm('fc2', f, 6, 3, 0.6);
  return b.model(`elementwise-${k}-${c.op.toLowerCase()}`, [1, 4], 'fc2', [1, 3], c.opset ?? 13);
}

async function ort(m: TestModel, x: ArrayLike<number>): Promise<number[]> {
  return Array.from(await runOrt(m.bytes, 'x', m.inputShape, x));
}

interface Prepared {
  m: TestModel;
  model: FloatModel;
  cal: Float64Array[];
  q: QuantizedModel;
}

function prepare(m: TestModel): Prepared {
  const model = importGraph(loadOnnx(m.bytes));
  const cal = randomInputs(sizeOf(model.input.shape), 32, CAL_SEED);
  return { m, model, cal, q: quantizeModel(model, cal) };
}

/** Fresh inputs whose every intermediate float value is inside the calibrated range. */
function freshInRange(p: Prepared, n: number): Float64Array[] {
  const ranges = calibrate(p.model, p.cal);
  const inRange = (x: Float64Array) => [...runFloatAll(p.model, x)].every(([name, v]) => v.every((e) => e >= ranges.get(name)!.min && e <= ranges.get(name)!.max));
  return randomInputs(sizeOf(p.model.input.shape), n, TEST_SEED).filter(inRange);
}

const deq = (q: U8Quant, v: number) => (v - q.zeroPoint) * q.scale;

/** The output range: max - min of every output value over the calibration inputs. */
function outputRange(p: Prepared): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of p.cal) for (const v of runFloat(p.model, x)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  return hi - lo;
}
const accuracyLog: string[] = [];

describe('element-wise helpers', () => {
  it('erf matches reference values to 1e-14, is odd and continuous where its two methods meet', () => {
    const ref: [number, number][] = [
      [0, 0], [0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [1, 0.8427007929497149], [1.5, 0.9661051464753108],
      [2, 0.9953222650189527], [2.5, 0.9995930479825550], [3, 0.9999779095030014], [4, 0.9999999845827421], [5, 0.9999999999984626],
    ];
    for (const [x, e] of ref) {
      expect(Math.abs(erf(x) - e), `erf(${x})`).toBeLessThan(1e-14);
      expect(erf(-x) + erf(x)).toBe(0);
    }
    expect(Math.abs(erf(2.5 - 1e-12) - erf(2.5))).toBeLessThan(1e-13);
    expect(erf(6)).toBe(1);
    expect(erf(-7)).toBe(-1);
  });

  it('Lipschitz constants: each is at least the largest slope a fine scan finds', () => {
    const fns: LutFunction[] = ['sigmoid', 'tanh', 'elu', 'selu', 'celu', 'softplus', 'softsign', 'hardsigmoid', 'hardswish', 'mish', 'gelu', 'gelutanh', 'erf', 'abs', 'sin', 'cos'];
    for (const fn of fns) {
      const alpha = fn === 'selu' ? 1.67326319217681884765625 : fn === 'hardsigmoid' ? 0.2 : 1;
      const beta = fn === 'selu' ? 1.05070102214813232421875 : fn === 'hardsigmoid' ? 0.5 : 0;
      const f = lutFn(fn, alpha, beta);
      let worst = 0;
      for (let x = -10; x < 10; x += 1e-3) worst = Math.max(worst, Math.abs(f(x + 1e-3) - f(x)) / 1e-3);
      expect(worst, fn).toBeLessThanOrEqual(lutLipschitz(fn, alpha, undefined, beta) + 1e-9);
      expect(worst, fn).toBeGreaterThan(lutLipschitz(fn, alpha, undefined, beta) * 0.9);
    }
    expect(lutLipschitz('exp', 0, { min: -1, max: 2 })).toBe(Math.exp(2));
    expect(lutLipschitz('log', 0, { min: 0.5, max: 2 })).toBe(2);
    expect(lutLipschitz('log', 0, { min: 0, max: 2 })).toBe(Infinity);
    expect(lutLipschitz('reciprocal', 0, { min: -2, max: -0.5 })).toBe(4);
    expect(lutLipschitz('reciprocal', 0, { min: -2, max: 0.5 })).toBe(Infinity);
    expect(lutJump('floor', 0)).toBe(1);
    expect(lutJump('thresholdedrelu', -0.5)).toBe(0.5);
  });

  it('tables never hold NaN or Infinity: Log(0) and Log/Sqrt of negatives -> 0, 1/0 -> 255', () => {
    const inQ: U8Quant = { kind: 'u8', scale: 0.02, zeroPoint: 100 };
    const outQ: U8Quant = { kind: 'u8', scale: 0.05, zeroPoint: 128 };
    const log = makeTable('log', 0, inQ, outQ);
    expect(log.slice(0, 101)).toEqual(new Array(101).fill(0));
    const sqrt = makeTable('sqrt', 0, inQ, outQ);
    expect(sqrt.slice(0, 100)).toEqual(new Array(100).fill(0));
    expect(sqrt[100]).toBe(128);
    const rec = makeTable('reciprocal', 0, inQ, outQ);
    expect(rec[100]).toBe(255);
    expect(rec[99]).toBe(0); // 1/(-0.02) = -50, below the grid
    for (const t of [log, sqrt, rec]) expect(t.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)).toBe(true);
    // With the calibrated domain [0.5, 2], the grid points below 0.5 read log(0.5).
    const clamped = makeTable('log', 0, inQ, outQ, { domain: { min: 0.5, max: 2 } });
    expect(clamped[0]).toBe(clamped[125]);
    expect(clamped[125]).toBe(Math.round(Math.log(0.5) / 0.05) + 128);
  });

  it('Sqrt over a range starting at 0: the bound s_out/2 + sqrt(s_in/2) holds on a dense sweep', () => {
    const range = { min: 0, max: 3 };
    const inQ: U8Quant = { kind: 'u8', scale: 3 / 255, zeroPoint: 0 };
    const outQ: U8Quant = { kind: 'u8', scale: Math.sqrt(3) / 255, zeroPoint: 0 };
    const t = makeTable('sqrt', 0, inQ, outQ, { domain: range });
    const bound = lutErrorBound('sqrt', 0, inQ, outQ, range);
    expect(bound).toBeCloseTo(outQ.scale / 2 + Math.sqrt(inQ.scale / 2), 12);
    let worst = 0;
    for (let i = 0; i <= 30000; i++) {
      const x = (3 * i) / 30000;
      worst = Math.max(worst, Math.abs(deq(outQ, t[quantizeInput(inQ, [x])[0]]) - Math.sqrt(x)));
    }
    expect(worst).toBeLessThanOrEqual(bound);
    expect(worst).toBeGreaterThan(bound / 4);
    expect(lutErrorBound('log', 0, inQ, outQ, range)).toBe(Infinity);
  });

  it('PRelu slopes broadcast by numpy rules; unsupported forms are refused naming the node', () => {
    expect(broadcastTo([1, 2], [2, 1, 1], [1, 2, 2, 2])).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
    expect(broadcastTo([1, 2, 3], [3], [1, 2, 3])).toEqual([1, 2, 3, 1, 2, 3]);
    expect(broadcastTo([5], [], [2, 2])).toEqual([5, 5, 5, 5]);
    expect(broadcastTo([1, 2, 3], [3], [1, 2])).toMatch(/does not broadcast/);
    const bad = (nodes: NodeSpec[], inits: InitializerSpec[] = [], opset = 20) =>
      () => importGraph(loadOnnx(buildOnnxModel({ inputs: [{ name: 'x', shape: [1, 3] }], outputs: [{ name: 'y', shape: [1, 3] }], initializers: inits, nodes, opset })));
    expect(bad([{ op: 'Gelu', name: 'g', inputs: ['x'], outputs: ['y'], attrs: { approximate: 'fast' } }])).toThrow(/approximate.*fast/);
    expect(bad([{ op: 'PRelu', name: 'p', inputs: ['x', 'x'], outputs: ['y'] }])).toThrow(/slope.*constant/);
    expect(bad([{ op: 'PRelu', name: 'p', inputs: ['x', 's'], outputs: ['y'] }], [{ name: 's', dims: [2], data: [1, 2] }])).toThrow(/does not broadcast/);
    expect(bad([{ op: 'Elu', name: 'e', inputs: ['x'], outputs: ['y'], attrs: { beta: 1 } }])).toThrow(/'beta' is not supported/);
    expect(bad([{ op: 'Celu', name: 'c', inputs: ['x'], outputs: ['y'], attrs: { alpha: 0 } }])).toThrow(/alpha.*0/);
  });
});

fnCases.forEach((c, k) => {
  describe(`elementwise: ${caseName(c)}`, () => {
    let p: Prepared;
    beforeAll(() => {
      p = prepare(fnModel(c, k));
    });

    it('float IR matches onnxruntime (1e-4 of the output magnitude)', async () => {
      for (const x of randomInputs(4, 16, TEST_SEED + 1)) {
        const o = await ort(p.m, x);
        const f = Array.from(runFloat(p.model, x));
        const mag = Math.max(...o.map(Math.abs));
        f.forEach((v, i) => expect(Math.abs(v - o[i]), `element ${i}`).toBeLessThanOrEqual(1e-4 * mag + 1e-6));
      }
      if (c.fn !== 'neg') {
        const l = p.model.layers.find((x) => x.name === 'f') as LutLayer;
        expect([l.kind, l.fn]).toEqual(['lut', c.fn]);
      }
    });

    it('table: |deq(T[q(x)]) - f(x)| <= s_out/2 + L s_in/2 + J over the calibrated input range; constraints = formula', () => {
      const emitted = emitCircuit(p.q);
      if (c.fn === 'neg') {
        const neg = p.q.layers.find((l): l is QNeg => l.kind === 'neg')!;
        expect(neg.outQuant.kind).toBe('acc');
        expect(emitted.layers[p.q.layers.indexOf(neg)].constraints).toBe(0);
        return;
      }
      const fl = p.model.layers.find((x) => x.name === 'f') as LutLayer;
      const ql = p.q.layers.find((x) => x.name === 'f')!;
      if (ql.kind === 'pwl') {
        // Abs and PRelu of an accumulator: exact for Abs and for dyadic slopes; otherwise the slope a/D is off by
        // at most 2^-(k+1) and the error is at most |x| |alpha - a/D|.
        expect(c.pre).toBeUndefined();
        // n + 2 per |x| gadget, plus 1 binding each (its input is a Gemm row, a linear combination).
        const gadgets = ql.sign.filter((sg) => sg === 0).length;
        expect(emitted.layers[p.q.layers.indexOf(ql)].constraints).toBe(ql.bits.reduce((a, n, i) => a + (ql.sign[i] === 0 ? n + 2 : 0), 0) + gadgets);
        expect(ql.sign.some((sg) => sg === 0)).toBe(true);
        const slopes = fl.slopes ?? new Array<number>(ql.pos.length).fill(fl.alpha);
        const D = c.fn === 'abs' ? 1 : slopeDenominator(slopes);
        let checked = 0;
        for (const x of [...p.cal, ...randomInputs(4, 32, TEST_SEED + 3, -2, 2)]) {
          const env = runIntegerAll(p.q, quantizeInput(p.q.input.quant, x));
          const xin = env.get(ql.inputs[0])!;
          const out = env.get(ql.output)!;
          xin.forEach((v, i) => {
            expect(v).toBeGreaterThanOrEqual(ql.inQuant.lo[i]);
            expect(v).toBeLessThanOrEqual(ql.inQuant.hi[i]);
            expect(out[i]).toBeGreaterThanOrEqual(ql.outQuant.lo[i]);
            expect(out[i]).toBeLessThanOrEqual(ql.outQuant.hi[i]);
            const xr = v * ql.inQuant.scales[i];
            const want = lutFn(c.fn as LutFunction, slopes[i])(xr);
            const slopeErr = c.fn === 'abs' ? 0 : Math.abs(slopes[i] - Math.round(slopes[i] * D) / D);
            expect(Math.abs(out[i] * ql.outQuant.scales[i] - want)).toBeLessThanOrEqual(Math.abs(xr) * slopeErr + 1e-12 * (1 + Math.abs(xr)));
            if (slopeErr === 0) expect(out[i] * ql.outQuant.scales[i]).toBeCloseTo(want, 12);
            checked++;
          });
        }
        expect(checked).toBeGreaterThan(100);
        return;
      }
      if (c.fn === 'abs' || c.fn === 'prelu') expect(c.pre).toBeDefined();
      const l = ql as QLut | QLutRequant;
      if ((c.pre && c.pre !== 'Relu') || UNFUSED.includes(c.fn as LutFunction) || fl.slopes) {
        // A table of a uint8 value (or one of the functions kept unfused): Lut256, its input a requantization's output.
        expect(l.kind).toBe('lut');
        expect(emitted.layers[p.q.layers.indexOf(l)].constraints).toBe(LUT_CONSTRAINTS * sizeOf(l.outShape));
      } else {
        // A table of the Gemm's accumulator, the requantization fused: K + 31 or K + 28, plus 1 binding each.
        expect(l.kind).toBe('lutrq');
        const r = l as QLutRequant;
        const live = r.bits.filter((_k, j) => r.accQuant.lo[j] !== r.accQuant.hi[j]).length;
        expect(emitted.layers[p.q.layers.indexOf(l)].constraints).toBe(r.bits.reduce((a, _k, j) => a + lutRequantConstraints(r, j), 0) + live);
        // The fused requantization is the one ensureU8 makes: the same grid as the calibrated input range.
        expect(r.inQuant).toEqual(u8QuantFor(calibrate(p.model, p.cal).get(fl.inputs[0])!));
      }
      const range = calibrate(p.model, p.cal).get(fl.inputs[0])!;
      const slopes = fl.slopes ?? [fl.alpha];
      if (fl.slopes) expect((l as QLut).tables!.length).toBe(new Set(fl.slopes).size);
      const outLo = deq(l.outQuant, 0);
      const outHi = deq(l.outQuant, 255);
      let worstRatio = 0;
      slopes.forEach((alpha, e) => {
        const table = l.kind === 'lut' && l.tables ? l.tables[l.tableIndex![e]] : l.table;
        const f = lutFn(l.fn, alpha, fl.beta);
        const bound = lutErrorBound(l.fn, alpha, l.inQuant, l.outQuant, range, fl.beta);
        expect(Number.isFinite(bound)).toBe(true);
        for (let i = 0; i <= 4000; i++) {
          const x = range.min + ((range.max - range.min) * i) / 4000;
          const y = f(x);
          if (y < outLo || y > outHi) continue;
          const err = Math.abs(deq(l.outQuant, table[quantizeInput(l.inQuant, [x])[0]]) - y);
          expect(err, `x = ${x}`).toBeLessThanOrEqual(bound + 1e-12);
          worstRatio = Math.max(worstRatio, err / bound);
        }
      });
      expect(worstRatio).toBeGreaterThan(0);
      expect(l.table.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)).toBe(true);
      if (DOMAIN_CLAMPED.includes(l.fn)) expect(range.min).toBeGreaterThanOrEqual(l.fn === 'sqrt' ? 0 : Number.MIN_VALUE);
    });

    const tolerance = 0.02;
    it(`quantized model matches onnxruntime within ${100 * tolerance}% of the output range`, async () => {
      const fresh = freshInRange(p, c.fn === 'floor' || c.fn === 'ceil' || c.fn === 'round' ? 400 : 64);
      expect(fresh.length).toBeGreaterThanOrEqual(12);
      const R = outputRange(p);
      const fl = p.model.layers.find((x) => x.name === 'f')!;
      const jumps = c.fn === 'floor' || c.fn === 'ceil' || c.fn === 'round' || c.fn === 'sign' || c.fn === 'thresholdedrelu';
      const range = calibrate(p.model, p.cal).get(fl.inputs[0])!;
      const margin = 0.02 * (range.max - range.min);
      const alpha = (fl as LutLayer).alpha ?? 0;
      // Where f jumps: integers + 1/2 for Round, integers for Floor/Ceil, 0 for Sign, alpha for ThresholdedRelu.
      const nearJump = (v: number) => {
        if (!jumps) return false;
        const at = c.fn === 'round' ? v - 0.5 : c.fn === 'thresholdedrelu' ? v - alpha : v;
        return c.fn === 'sign' || c.fn === 'thresholdedrelu' ? Math.abs(at) < margin : Math.abs(at - Math.round(at)) < margin;
      };
      let worst = 0;
      let n = 0;
      for (const x of fresh) {
        if (runFloatAll(p.model, x).get(fl.inputs[0])!.some(nearJump)) continue;
        const o = await ort(p.m, x);
        const out = dequantizeOutput(p.q.output.quant, runInteger(p.q, quantizeInput(p.q.input.quant, x)));
        out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - o[i]))));
        n++;
      }
      expect(n).toBeGreaterThanOrEqual(8);
      accuracyLog.push(`${caseName(c)}: worst ${(100 * worst / R).toFixed(2)}% of the output range ${R.toFixed(2)} (${n} inputs)`);
      expect(worst).toBeLessThanOrEqual(tolerance * R);
    });
  });
});

afterAll(() => {
  if (accuracyLog.length) console.log(`elementwise accuracy (quantized vs onnxruntime):\n  ${accuracyLog.join('\n  ')}`);
});

/**
 * Every function in one chain, width 3, a Gemm between functions (Log, Sqrt and Reciprocal after a Gemm whose
 * bias keeps its outputs positive, and Sqrt after a Relu): Neg on an accumulator (first) and on a uint8 table output (after Softsign),
 * PRelu with a slope per channel.
 */
function chainModel(): TestModel {
  const b = new Builder(1234);
  const W = 3;
  let t = b.gemm('fc0', 'x', 4, W, 0.8);
  let k = 1;
  const step = (op: string, attrs?: NodeSpec['attrs'], extra: string[] = []) => (t = b.node(op, `${op.toLowerCase()}${k++}`, [t, ...extra], attrs));
  const fc = (a = 0.8, shift = 0) => (t = b.gemm(`fc${k++}`, t, W, W, a, shift));
  step('Neg');
  step('Elu', { alpha: 0.7 }); fc();
  step('Selu'); fc();
  step('Celu', { alpha: 1.5 }); fc();
  step('Softplus'); fc();
  step('Softsign');
  step('Neg'); fc();
  step('HardSigmoid', { alpha: 0.3, beta: 0.6 }); fc(2);
  step('HardSwish'); fc();
  step('Mish'); fc();
  step('Gelu'); fc();
  step('Gelu', { approximate: 'tanh' }); fc();
  step('Erf'); fc(0.3, 1.5);
  step('Log'); fc();
  step('Sigmoid'); fc(0.3, 1.5);
  step('Sqrt'); fc();
  step('Tanh'); fc(0.3, 1.5);
  step('Reciprocal'); fc();
  step('Abs'); fc();
  step('Sign'); fc();
  step('PRelu', undefined, [b.init('slope', [W], [0.1, -0.3, 0.6])]); fc();
  step('ThresholdedRelu', { alpha: 0.2 }); fc(2);
  step('Floor'); fc(0.5);
  step('Ceil'); fc(0.5);
  step('Round'); fc();
  step('Sin');
  step('PRelu', undefined, [b.init('slope2', [W], [0.25, -0.5, 2])]); fc();
  step('Cos');
  step('Abs'); fc();
  step('Exp'); fc(0.5);
  step('Relu');
  step('Sqrt'); fc();
  step('LeakyRelu', { alpha: 0.05 });
  t = b.gemm('out', t, W, 2, 0.6);
  return b.model('elementwise-chain', [1, 4], t, [1, 2], 20);
}

/** All-0, all-255, alternating, random uint8 inputs. */
function uint8Inputs(size: number, random: number, seed: number): number[][] {
  const rnd = mulberry32(seed);
  const xs = [new Array(size).fill(0), new Array(size).fill(255), Array.from({ length: size }, (_, i) => (i % 2 ? 255 : 0))];
  for (let i = 0; i < random; i++) xs.push(Array.from({ length: size }, () => Math.floor(rnd() * 256)));
  return xs;
}

describe('elementwise: every function chained in one circuit', () => {
  let p: Prepared;
  let r: CompileModelResult;
  beforeAll(async () => {
    p = prepare(chainModel());
    await mkdir(ROOT, { recursive: true });
    const path = `${ROOT}/${p.m.name}.onnx`;
    await writeFile(path, p.m.bytes);
    r = await compileModel(path, { out: `${ROOT}/${p.m.name}`, calibration: p.cal });
  }, 600_000);
  afterAll(() => releaseCurve());

  it('what the functions became: a table each (Abs and PRelu on uint8 too), Abs and PRelu on accumulators without, Neg on an accumulator and on uint8', async () => {
    const tables = p.q.layers.filter((l): l is QLut | QLutRequant => l.kind === 'lut' || l.kind === 'lutrq');
    expect(tables.map((l) => l.fn)).toEqual([
      'elu', 'selu', 'celu', 'softplus', 'softsign', 'hardsigmoid', 'hardswish', 'mish', 'gelu', 'gelutanh', 'erf', 'log',
      'sigmoid', 'sqrt', 'tanh', 'reciprocal', 'sign', 'thresholdedrelu', 'floor', 'ceil', 'round', 'sin', 'prelu', 'cos', 'abs', 'exp', 'sqrt', 'leakyrelu',
    ]);
    // Relu -> Sqrt: the ReLU is the fused requantization's clamp at zero point 0.
    const relu = tables[tables.length - 2] as QLutRequant;
    expect([relu.kind, relu.inQuant.zeroPoint]).toEqual(['lutrq', 0]);
    // Lut256 on uint8 inputs (PRelu after Sin, Abs after Cos) and for the functions kept unfused; the rest read
    // their Gemm's accumulator through a fused requantization.
    expect(tables.filter((l) => l.kind === 'lut').map((l) => l.fn)).toEqual(['sigmoid', 'tanh', 'prelu', 'abs', 'leakyrelu']);
    expect((tables.find((l) => l.fn === 'prelu') as QLut).tables).toHaveLength(3);
    const pwl = p.q.layers.filter((l): l is QPwl => l.kind === 'pwl');
    expect(pwl.map((l) => l.fn)).toEqual(['abs', 'prelu']);
    const negs = p.q.layers.filter((l): l is QNeg => l.kind === 'neg');
    expect(negs.map((l) => l.outQuant.kind)).toEqual(['acc', 'u8']);
    for (const x of randomInputs(4, 8, TEST_SEED + 2)) {
      const o = await ort(p.m, x);
      const f = Array.from(runFloat(p.model, x));
      const mag = Math.max(...o.map(Math.abs));
      f.forEach((v, i) => expect(Math.abs(v - o[i])).toBeLessThanOrEqual(1e-4 * mag + 1e-6));
    }
  });

  it('compiles to exactly the cost formula; witness == integer reference', async () => {
    const q = await readQuantizedModel(r.dir);
    const emitted = emitCircuit(q);
    expect(r.manifest.circuit.constraints).toBe(emitted.constraints);
    expect(emitCircuit(p.q).constraints).toBe(emitted.constraints);
    const lutElems = q.layers.filter((l) => l.kind === 'lut').reduce((a, l) => a + sizeOf(l.outShape), 0);
    expect(emitted.layers.filter((l) => l.kind === 'lut').reduce((a, l) => a + l.constraints, 0)).toBe(LUT_CONSTRAINTS * lutElems);
    expect(emitted.layers.filter((l) => l.kind === 'neg').every((l) => l.constraints === 0)).toBe(true);
    for (const l of q.layers.filter((x): x is QLutRequant => x.kind === 'lutrq')) {
      const live = l.bits.filter((_k, j) => l.accQuant.lo[j] !== l.accQuant.hi[j]).length;
      expect(emitted.layers[q.layers.indexOf(l)].constraints).toBe(l.bits.reduce((a, _k, j) => a + lutRequantConstraints(l, j), 0) + live);
    }
    for (const l of q.layers.filter((x): x is QPwl => x.kind === 'pwl')) {
      const gadgets = l.sign.filter((sg) => sg === 0).length;
      expect(emitted.layers[q.layers.indexOf(l)].constraints).toBe(l.bits.reduce((a, n, i) => a + (l.sign[i] === 0 ? n + 2 : 0), 0) + gadgets);
    }
    console.log(`elementwise-chain: ${r.manifest.circuit.constraints} constraints (${emitted.layers.filter((l) => l.constraints).map((l) => `${l.kind} ${l.constraints}`).join(', ')}; outputs ${emitted.outputConstraints})`);
    const nOut = sizeOf(q.output.shape);
    for (const x of [...uint8Inputs(4, 6, 3), ...p.cal.slice(0, 3).map((v) => quantizeInput(q.input.quant, v))]) {
      const w = await artifactWitness(r.dir, { in: x });
      expect(w.values.slice(1, 1 + nOut)).toEqual(runInteger(q, x).map((v) => toField(v)));
    }
  });

  it('every single-value change to a private witness wire breaks a constraint', async () => {
    const { mutations, freeHelpers, kinds } = await mutateWitnessWires(r.dir, uint8Inputs(4, 1, 5).map((x) => ({ in: x })));
    console.log(`elementwise-chain: ${mutations} mutations rejected (${[...kinds].sort().join(', ')}); ${freeHelpers} free is-zero helpers skipped`);
    expect([...kinds].some((k) => k.startsWith('lut#.'))).toBe(true);
    expect([...kinds].filter((k) => k.startsWith('lrq#.')).sort()).toEqual(['lrq#.bits[]', 'lrq#.inv', 'lrq#.isZero', 'lrq#.out', 'lrq#.sel', 'lrq#.t.l#[]', 'lrq#.t.mono[]', 'lrq#.t.out', 'lrq#.u']);
    expect([...kinds].filter((k) => k.startsWith('abs#.')).sort()).toEqual(['abs#.bits[]', 'abs#.out', 'abs#.x']);
    expect(mutations).toBeGreaterThan(0);
  });

  it('setup, prove and verify; the proven output is the integer reference', async () => {
    await setupKeys(r.dir);
    const x = p.cal[0];
    const res = await prove(r.dir, Array.from(x));
    const vk = await readVerificationKey(artifactPath(r.dir, 'vk'));
    expect((await verifyBundle(res.bundle, vk)).valid).toBe(true);
    const q = await readQuantizedModel(r.dir);
    expect(res.bundle.output.quantized).toEqual(runInteger(q, quantizeInput(q.input.quant, x)).map(String));
    const tampered = { ...res.bundle, publicSignals: [...res.bundle.publicSignals] };
    tampered.publicSignals[0] = (BigInt(tampered.publicSignals[0]) + 1n).toString();
    expect((await verifyBundle(tampered, vk)).valid).toBe(false);
  }, 600_000);
});

/**
 * GELU as PyTorch exports it (nn.GELU(), approximate 'none', before opset 20): x * (1 + Erf(x / sqrt 2)) * 0.5,
 * i.e. Div, Erf, Add, Mul, Mul. Import fuses the pattern into one Gelu table (src/ops/elementwise-fuse.ts).
 */
function exportedGeluModel(): TestModel {
  const b = new Builder(4321);
  const h = b.gemm('fc1', 'x', 4, 6, 0.8);
  const d = b.node('Div', 'div', [h, b.init('sqrt2', [], [1.4142135381698608])]);
  const e = b.node('Erf', 'erf', [d]);
  const a = b.node('Add', 'add', [e, b.init('one', [], [1])]);
  const m = b.node('Mul', 'mul_x', [h, a]);
  const g = b.node('Mul', 'mul_half', [m, b.init('half', [], [0.5])]);
  b.gemm('fc2', g, 6, 3, 0.6);
  return b.model('elementwise-gelu-exported', [1, 4], 'fc2', [1, 3], 13);
}

describe('elementwise: GELU as PyTorch exports it (Div, Erf, Add, Mul, Mul)', () => {
  const m = exportedGeluModel();
  let model: FloatModel | undefined;
  let importError: unknown;
  try {
    model = importGraph(loadOnnx(m.bytes));
  } catch (e) {
    importError = e;
  }

  it('imports as one Gelu table (the Erf pattern fused)', () => {
    expect(importError).toBeUndefined();
    expect(model!.layers.filter((l) => l.kind === 'lut').map((l) => [l.name, (l as { fn: string }).fn])).toEqual([['erf:gelu', 'gelu']]);
  });

  it.runIf(model !== undefined)('float IR matches onnxruntime; quantized within 2% of the output range; witness == integer reference', async () => {
    const p: Prepared = { m, model: model!, cal: randomInputs(4, 32, CAL_SEED), q: quantizeModel(model!, randomInputs(4, 32, CAL_SEED)) };
    for (const x of randomInputs(4, 16, TEST_SEED + 1)) {
      const o = await ort(m, x);
      const mag = Math.max(...o.map(Math.abs));
      Array.from(runFloat(p.model, x)).forEach((v, i) => expect(Math.abs(v - o[i])).toBeLessThanOrEqual(1e-4 * mag + 1e-6));
    }
    const R = outputRange(p);
    let worst = 0;
    const fresh = freshInRange(p, 64);
    expect(fresh.length).toBeGreaterThanOrEqual(12);
    for (const x of fresh) {
      const o = await ort(m, x);
      const out = dequantizeOutput(p.q.output.quant, runInteger(p.q, quantizeInput(p.q.input.quant, x)));
      out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - o[i]))));
    }
    accuracyLog.push(`GELU as exported (Div, Erf, Add, Mul, Mul): worst ${(100 * worst / R).toFixed(2)}% of the output range ${R.toFixed(2)} (${fresh.length} inputs)`);
    expect(worst).toBeLessThanOrEqual(0.02 * R);
    await mkdir(ROOT, { recursive: true });
    const path = `${ROOT}/${m.name}.onnx`;
    await writeFile(path, m.bytes);
    const r = await compileModel(path, { out: `${ROOT}/${m.name}`, calibration: p.cal });
    const q = await readQuantizedModel(r.dir);
    expect(r.manifest.circuit.constraints).toBe(emitCircuit(q).constraints);
    const nOut = sizeOf(q.output.shape);
    for (const x of uint8Inputs(4, 4, 9)) {
      const w = await artifactWitness(r.dir, { in: x });
      expect(w.values.slice(1, 1 + nOut)).toEqual(runInteger(q, x).map((v) => toField(v)));
    }
    console.log(`GELU as exported: ${r.manifest.circuit.constraints} constraints (${emitCircuit(q).layers.filter((l) => l.constraints).map((l) => `${l.kind} ${l.constraints}`).join(', ')})`);
  }, 600_000);
});

/**
 * AbsAcc(n) (circuits/elementwise-abs.circom) alone, with circom --O1 and with the direct backend: out = |x| on
 * the whole range -2^n < x < 2^n (n = 6), n + 2 constraints, every wire mutation rejected, and no other
 * assignment of out and its bits satisfies the constraints (exhaustive over the 2^n bit patterns).
 */
for (const backend of ['circom', 'direct'] as const) {
  describe(`AbsAcc (circuits/elementwise-abs.circom) [${backend}]`, () => {
    const N = 6;
    const dir = `${ROOT}/abs-gadget-${backend}`;
    let built: { r1cs: Awaited<ReturnType<typeof readR1csFile>>; syms: Map<string, number>; constraints: number; src: string };
    beforeAll(async () => {
      await mkdir(dir, { recursive: true });
      const src = `${dir}/circuit.circom`;
      await writeFile(src, `pragma circom 2.1.0;
include "elementwise-abs.circom";
template AbsWrap() {
    signal input x;
    signal output out;
    component a = AbsAcc(${N});
    a.x <== x;
    out <== a.out;
}
component main {public [x]} = AbsWrap();
`);
      const rep = backend === 'circom' ? await compileCircuit(src, dir, 'wasm') : await compileCircomDirect(src, dir);
      built = { r1cs: await readR1csFile(`${dir}/circuit.r1cs`), syms: await readSymbols(`${dir}/circuit.sym`), constraints: rep.constraints, src };
    }, 600_000);

    const wit = async (x: number) => {
      const v = toField(x);
      return backend === 'direct' ? (await directWitness(built.src, { x: [v] })).values : (await computeWitness(`${dir}/circuit_js/circuit.wasm`, { x: v })).values;
    };

    it('out = |x| for every -2^n < x < 2^n; n + 2 constraints; mutations and every other (out, bits) rejected', async () => {
      expect(built.constraints).toBe(N + 2);
      const outWire = built.syms.get('main.out')!;
      const xWire = built.syms.get('main.x')!;
      const bitWires = Array.from({ length: N }, (_, i) => built.syms.get(`main.a.bits[${i}]`)!);
      expect(bitWires.every((w) => w > 0)).toBe(true);
      let mutations = 0;
      for (let x = -(2 ** N) + 1; x < 2 ** N; x++) {
        const w = await wit(x);
        expect(w[outWire], `x = ${x}`).toBe(BigInt(Math.abs(x)));
        expect(violatedConstraints(built.r1cs, w)).toEqual([]);
        for (let wire = 1; wire < built.r1cs.nWires; wire++) {
          if (wire === xWire) continue;
          for (const d of [1n, FIELD_PRIME - 1n, 2n ** 64n]) {
            const m = [...w];
            m[wire] = (m[wire] + d) % FIELD_PRIME;
            expect(violatedConstraints(built.r1cs, m).length, `x = ${x}: wire ${wire} + ${d}`).toBeGreaterThan(0);
            mutations++;
          }
        }
        if (x % 7 !== 0) continue;
        // Any other claimed |x| (including -|x| and x itself for x < 0, as field elements) with bits recomposing
        // to its low n bits is rejected.
        for (const claim of [...Array.from({ length: 2 ** N }, (_, v) => BigInt(v)), toField(x), toField(-x), toField(-Math.abs(x))]) {
          if (claim === BigInt(Math.abs(x))) continue;
          const m = [...w];
          m[outWire] = claim;
          bitWires.forEach((bw, i) => (m[bw] = (claim >> BigInt(i)) & 1n));
          expect(violatedConstraints(built.r1cs, m).length, `x = ${x}, out = ${claim}`).toBeGreaterThan(0);
        }
      }
      expect(mutations).toBeGreaterThan(1000);
    }, 600_000);
  });
}

/**
 * LutRequantWide / LutRequantNarrow (circuits/elementwise-lut.circom) alone, with circom --O1 and the direct
 * backend, on every u in [0, 2^K): out = T[clamp(floor(u / 2^S) - 2^m, 0, 255)] (the requantization with C folded
 * into u), K + 31 / K + 28 constraints, wire mutations rejected, and no other claimed output passes with the bits
 * of any other u' (an honest witness for u' with u swapped in).
 */
for (const backend of ['circom', 'direct'] as const) {
  for (const form of [{ tpl: 'LutRequantWide', S: 1, m: 9 }, { tpl: 'LutRequantNarrow', S: 1, m: 8 }]) {
    describe(`${form.tpl} (circuits/elementwise-lut.circom) [${backend}]`, () => {
      const K = form.S + form.m + 1;
      const rnd = mulberry32(77 + form.m);
      // A signed table with large entries (the gadget must not depend on uint8 entries).
      const T = Array.from({ length: 256 }, (_, i) => (i === 0 ? -5n : i === 255 ? 2n ** 100n : BigInt(Math.floor((rnd() - 0.5) * 2 ** 40))));
      const dir = `${ROOT}/${form.tpl}-${backend}`;
      let built: { r1cs: Awaited<ReturnType<typeof readR1csFile>>; syms: Map<string, number>; constraints: number; src: string };
      beforeAll(async () => {
        await mkdir(dir, { recursive: true });
        const src = `${dir}/circuit.circom`;
        await writeFile(src, `pragma circom 2.1.0;
include "elementwise-lut.circom";
template Wrap() {
    signal input u;
    signal output out;
    var T[256] = [${T.map((v) => toField(v)).join(',')}];
    component g = ${form.tpl}(${K}, ${form.S}, T);
    g.u <== u;
    out <== g.out;
}
component main {public [u]} = Wrap();
`);
        const rep = backend === 'circom' ? await compileCircuit(src, dir, 'wasm') : await compileCircomDirect(src, dir);
        built = { r1cs: await readR1csFile(`${dir}/circuit.r1cs`), syms: await readSymbols(`${dir}/circuit.sym`), constraints: rep.constraints, src };
      }, 600_000);

      const wit = async (u: number) =>
        backend === 'direct' ? (await directWitness(built.src, { u: [BigInt(u)] })).values : (await computeWitness(`${dir}/circuit_js/circuit.wasm`, { u: BigInt(u) })).values;

      it(`spec on every u < 2^K, K + ${form.m > 8 ? 31 : 28} constraints, mutations and other claims rejected`, async () => {
        expect(built.constraints).toBe(K + (form.m > 8 ? 31 : 28));
        const outWire = built.syms.get('main.out')!;
        const uWire = built.syms.get('main.u')!;
        const isZero = built.syms.get('main.g.isZero');
        const inv = built.syms.get('main.g.inv');
        const ws: bigint[][] = [];
        for (let u = 0; u < 2 ** K; u++) {
          const w = await wit(u);
          const y = Math.floor(u / 2 ** form.S) - 2 ** form.m;
          expect(w[outWire], `u = ${u}`).toBe(toField(T[Math.min(255, Math.max(0, y))]));
          ws.push(w);
        }
        let mutations = 0;
        const sample = [0, 1, 2 ** form.S * (2 ** form.m - 1), 2 ** form.S * 2 ** form.m, 2 ** form.S * (2 ** form.m + 17) + 1, 2 ** form.S * (2 ** form.m + 255), 2 ** form.S * (2 ** form.m + 256), 2 ** K - 1];
        for (const u of sample.filter((v) => v < 2 ** K)) {
          const w = ws[u];
          expect(violatedConstraints(built.r1cs, w)).toEqual([]);
          for (let wire = 1; wire < built.r1cs.nWires; wire++) {
            if (wire === uWire) continue;
            if (wire === inv && isZero !== undefined && w[isZero] === 1n) continue; // free when high == 0
            for (const d of [1n, FIELD_PRIME - 1n, 2n ** 64n]) {
              const m = [...w];
              m[wire] = (m[wire] + d) % FIELD_PRIME;
              expect(violatedConstraints(built.r1cs, m).length, `u = ${u}: wire ${wire} + ${d}`).toBeGreaterThan(0);
              mutations++;
            }
          }
          // Every other u' 's witness (its bits, table path and output) with u put back is rejected unless it gives
          // the same output.
          for (let u2 = 0; u2 < 2 ** K; u2 += 13) {
            if (u2 === u || ws[u2][outWire] === w[outWire]) continue;
            const m = [...ws[u2]];
            m[uWire] = BigInt(u);
            expect(violatedConstraints(built.r1cs, m).length, `u = ${u} claimed as ${u2}`).toBeGreaterThan(0);
          }
        }
        expect(mutations).toBeGreaterThan(100);
      }, 600_000);
    });
  }
}
