/**
 * ConvTranspose (2-D and 1-D) as a constant-weight linear map:
 *
 * 1. every attribute form on its own (strides, pads, output_padding, dilations, group > 1, depthwise,
 *    auto_pad SAME_UPPER / SAME_LOWER / VALID, output_shape, no bias, 1-D): the float IR against onnxruntime
 *    (1e-4 of the output magnitude) and the quantized model against onnxruntime within 1% of the output range
 *    R (one uint8 step: the input's quantization, half an LSB = 0.2% of its range, plus int8 weights at most
 *    0.4% each, summed over 1-36 taps and partly cancelling);
 * 2. a chain of the forms (2-D and 1-D, accumulator and uint8 inputs) and a tiny generator (Gemm -> Reshape ->
 *    ConvTranspose stride 2 -> Relu -> ConvTranspose -> Tanh), both within 2% of R (1% per uint8 step, capped
 *    at the 2% limit); compiled: constraints == the cost formulas (0 per ConvTranspose plus the bindings the
 *    emitter counts), witness == integer reference, also for the loop form (CircuitWriter.unroll false), and
 *    every single-value change to a private witness wire breaks a constraint;
 * 3. the generator proves and verifies end to end (compile, dev setup, prove, verify);
 * 4. private weights (--param-visibility hashed) are refused by name.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { readQuantizedModel } from '../src/artifacts/manifest.ts';
import { directWitness } from '../src/circom/index.ts';
import { compileWithBackend } from '../src/compile/compile.ts';
import { compileModel, type CompileModelResult } from '../src/compile/model.ts';
import { emitCircuit } from '../src/emit/circuit.ts';
import { toField } from '../src/field.ts';
import { importGraph } from '../src/ir/import.ts';
import type { QConvTranspose } from '../src/ir/layers/convtranspose.ts';
import type { FloatModel, QuantizedModel } from '../src/ir/types.ts';
import { sizeOf } from '../src/ir/types.ts';
import { mulberry32 } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { transposeRows } from '../src/ops/convtranspose.ts';
import { artifactWitness, computeWitness } from '../src/prove/witness.ts';
import { calibrate, quantizeInput, quantizeModel } from '../src/quantize/quantize.ts';
import { runFloat, runFloatAll } from '../src/reference/float.ts';
import { runInteger } from '../src/reference/integer.ts';
import { runModel } from '../src/run.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import * as M from './helpers/convtranspose-models.ts';
import type { CtModel } from './helpers/convtranspose-models.ts';
import { randomInputs } from './helpers/fixtures.ts';
import { mutateWitnessWires } from './helpers/mutation.ts';
import { runOrt } from './helpers/ort.ts';

const ROOT = 'artifacts/test/convtranspose';
const CAL_SEED = 31;
const TEST_SEED = 77;

interface Prepared {
  m: CtModel;
  model: FloatModel;
  cal: Float64Array[];
  q: QuantizedModel;
}

function prepare(m: CtModel): Prepared {
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

async function checkFloat(p: Prepared): Promise<void> {
  for (const x of randomInputs(sizeOf(p.model.input.shape), 8, TEST_SEED + 1)) {
    const o = Array.from(await runOrt(p.m.bytes, p.m.inputName, p.m.inputShape, x));
    const f = Array.from(runFloat(p.model, x));
    expect(f.length).toBe(o.length);
    const mag = Math.max(...o.map(Math.abs));
    f.forEach((v, i) => expect(Math.abs(v - o[i]), `element ${i}`).toBeLessThanOrEqual(1e-4 * mag + 1e-7));
  }
}

/** Worst |quantized - onnxruntime| as a fraction of the output range R over fresh in-range inputs. */
async function quantizedError(p: Prepared): Promise<{ worst: number; n: number }> {
  let R = 0;
  for (const x of p.cal) for (const v of runFloat(p.model, x)) R = Math.max(R, Math.abs(v));
  const fresh = freshInRange(p, 48);
  let worst = 0;
  for (const x of fresh) {
    const o = await runOrt(p.m.bytes, p.m.inputName, p.m.inputShape, x);
    const out = dequantizeOutput(p.q.output.quant, runInteger(p.q, quantizeInput(p.q.input.quant, x)));
    out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - o[i]) / R)));
  }
  return { worst, n: fresh.length };
}

/** All-0, all-255, alternating and random uint8 inputs. */
function uint8Inputs(size: number, random: number, seed: number): number[][] {
  const rnd = mulberry32(seed);
  const xs = [new Array(size).fill(0), new Array(size).fill(255), Array.from({ length: size }, (_, i) => (i % 2 ? 255 : 0))];
  for (let i = 0; i < random; i++) xs.push(Array.from({ length: size }, () => Math.floor(rnd() * 256)));
  return xs;
}

describe('ConvTranspose forms on their own vs onnxruntime', () => {
  M.singleConvTransposes.forEach((c, k) => {
    it(`${c.name}: shape, float IR (1e-4) and quantized (1% of the output range)`, async () => {
      const p = prepare(M.singleModel(c, 100 + k));
      expect(p.model.output.shape).toEqual(c.out);
      expect(p.model.layers.map((l) => l.kind)).toEqual(['convtranspose']);
      await checkFloat(p);
      const { worst, n } = await quantizedError(p);
      console.log(`${c.name}: worst |quantized - onnxruntime| ${(100 * worst).toFixed(2)}% of the output range, ${n} inputs`);
      expect(n).toBeGreaterThanOrEqual(12);
      expect(worst).toBeLessThanOrEqual(0.01);
      // The zero point folds per position: positions with different tap counts get different constants.
      const q = p.q.layers[0] as QConvTranspose;
      expect(q.inZeroPoint).toBe(p.q.input.quant.zeroPoint);
      expect(emitCircuit(p.q).layers[0].constraints).toBe(0);
    });
  });

  it('padding computed as ONNX specifies: SAME_UPPER puts the odd pad at the end, SAME_LOWER and output_shape at the start', () => {
    const geo = (name: string) => {
      const k = M.singleConvTransposes.findIndex((c) => c.name === name);
      const l = prepare(M.singleModel(M.singleConvTransposes[k], 100 + k)).model.layers[0];
      if (l.kind !== 'convtranspose') throw new Error('unreachable');
      return l.pads;
    };
    // full = 2 * 2 + 3 = 7, output 6: total 1.
    expect(geo('ct2d_same_upper_s2')).toEqual([0, 0, 1, 1]);
    expect(geo('ct2d_same_lower_s2')).toEqual([1, 1, 0, 0]);
    // full [3 * 2 + 2, 2 * 3 + 3] = [8, 9], output_shape [7, 8]: total 1 each, NOTSET puts it first.
    expect(geo('ct2d_output_shape')).toEqual([1, 1, 0, 0]);
    expect(geo('ct1d_output_shape')).toEqual([0, 1, 0, 0]);
    // SAME_UPPER with stride 3, kernel 4 on 4: full 13, output 12.
    expect(geo('ct1d_same_upper_s3')).toEqual([0, 0, 0, 1]);
  });

  it('unsupported forms are reported by name: output_shape beyond the full output, private weights', () => {
    const b = new M.CtBuilder(5);
    const y = b.convT('ct', 'x', 1, 2, [2, 2], { strides: [2, 2], output_shape: [7, 8] });
    expect(() => importGraph(loadOnnx(b.model('ct_big', [1, 1, 3, 3], y, ['?', '?', '?', '?']).bytes))).toThrow(/output_shape \[7,8\] exceeds the full output size 6/);
    const b2 = new M.CtBuilder(5);
    const y2 = b2.convT('ct', 'x', 1, 2, [3], { strides: [2], output_padding: [2] });
    expect(() => importGraph(loadOnnx(b2.model('ct_op', [1, 1, 4], y2, ['?', '?', '?']).bytes))).toThrow(/output_padding \[2\] must be below the stride or the dilation/);
    const p = prepare(M.singleModel(M.singleConvTransposes[0], 100));
    expect(() => quantizeModel(p.model, p.cal, { privateParams: true })).toThrow(/--param-visibility/);
  });
});

describe('ConvTranspose in a QDQ model', () => {
  it('keeps the model\'s int8 weights (per output channel, axis 1) and matches onnxruntime within 1%', async () => {
    const b = new M.CtBuilder(41);
    const [inC, coutG, k] = [2, 3, 3];
    const ints = b.rand(inC * coutG * k * k, 120).map((v) => Math.round(v) + 0);
    const scales = [0.004, 0.006, 0.003];
    b.init('W.q', [inC, coutG, k, k], ints);
    b.inits[b.inits.length - 1].dataType = 'int8';
    b.init('W.s', [coutG], scales);
    b.init('W.z', [coutG], [0, 0, 0]);
    b.inits[b.inits.length - 1].dataType = 'int8';
    b.init('x.s', [], [2 / 255]);
    b.init('x.z', [], [128]);
    b.inits[b.inits.length - 1].dataType = 'uint8';
    const xq = b.node('QuantizeLinear', 'xq', ['x', 'x.s', 'x.z']);
    const xd = b.node('DequantizeLinear', 'xd', [xq, 'x.s', 'x.z']);
    const wd = b.node('DequantizeLinear', 'wd', ['W.q', 'W.s', 'W.z'], { axis: 1 });
    const bias = b.init('B', [coutG], [0.05, -0.1, 0.02]);
    const y = b.node('ConvTranspose', 'ct', [xd, wd, bias], { strides: [2, 2], pads: [1, 1, 1, 1] });
    const p = prepare(b.model('ct_qdq', [1, inC, 3, 3], y, ['?', '?', '?', '?']));
    await checkFloat(p);
    const q = p.q.layers.find((l) => l.kind === 'convtranspose') as QConvTranspose;
    // Output channel co, input channel ci, tap t: the model's W.q[ci][co][t].
    for (let co = 0; co < coutG; co++) {
      for (let ci = 0; ci < inC; ci++) {
        for (let t = 0; t < k * k; t++) expect(q.weights[(co * inC + ci) * k * k + t]).toBe(ints[(ci * coutG + co) * k * k + t]);
      }
    }
    expect(q.weightScales).toEqual(scales.map((v) => Math.fround(v)));
    const { worst, n } = await quantizedError(p);
    console.log(`ct_qdq: worst |quantized - onnxruntime| ${(100 * worst).toFixed(2)}% of the output range, ${n} inputs`);
    expect(worst).toBeLessThanOrEqual(0.01);
  });
});

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

const constraintLog: string[] = [];

for (const [key, make] of [['chain', M.convTransposeChain], ['generator', M.generatorModel]] as const) {
  describe(`ConvTranspose ${key}: compiled`, () => {
    let p: Prepared;
    let r: CompileModelResult;
    beforeAll(async () => {
      p = prepare(make());
      r = await compile(p);
    });

    it('float IR and quantized model vs onnxruntime (2% of the output range)', async () => {
      await checkFloat(p);
      const { worst, n } = await quantizedError(p);
      console.log(`${key}: worst |quantized - onnxruntime| ${(100 * worst).toFixed(2)}% of the output range, ${n} inputs`);
      expect(n).toBeGreaterThanOrEqual(12);
      expect(worst).toBeLessThanOrEqual(0.02);
    });

    it('constraints == the cost formulas; witness == integer reference', async () => {
      const q = await readQuantizedModel(r.dir);
      const emitted = emitCircuit(q);
      expect(r.manifest.circuit.constraints).toBe(emitted.constraints);
      expect(emitCircuit(p.q).constraints).toBe(emitted.constraints);
      const cts = emitted.layers.filter((l) => l.kind === 'convtranspose');
      expect(cts.length).toBeGreaterThanOrEqual(2);
      constraintLog.push(`${p.m.name}: ${r.manifest.circuit.constraints} constraints (${emitted.layers.map((l) => `${l.kind} ${l.constraints}`).join(', ')}; outputs ${emitted.outputConstraints})`);
      const nOut = sizeOf(q.output.shape);
      const xs = [...uint8Inputs(sizeOf(q.input.shape), 4, 3), ...p.cal.slice(0, 3).map((x) => quantizeInput(q.input.quant, x))];
      for (const x of xs) {
        const w = await artifactWitness(r.dir, { in: x });
        expect(w.values.slice(1, 1 + nOut)).toEqual(runInteger(q, x).map((v) => toField(v)));
      }
    });

    it('the loop form (no unrolling) compiles to the same count and witness', async () => {
      const q = await readQuantizedModel(r.dir);
      const emitted = emitCircuit(q, { unroll: false });
      expect(emitted.source).toMatch(/ty % /);
      const dir = `${ROOT}/${p.m.name}-loops`;
      await mkdir(dir, { recursive: true });
      await writeFile(`${dir}/circuit.circom`, emitted.source);
      const rep = await compileWithBackend('direct', `${dir}/circuit.circom`, dir);
      expect(rep.constraints).toBe(emitted.constraints);
      expect(rep.constraints).toBe(r.manifest.circuit.constraints);
      const nOut = sizeOf(q.output.shape);
      for (const x of uint8Inputs(sizeOf(q.input.shape), 2, 11)) {
        const w = await directWitness(`${dir}/circuit.circom`, { in: x.map(BigInt) });
        expect(w.values.slice(1, 1 + nOut)).toEqual(runInteger(q, x).map((v) => toField(v)));
      }
    });

    it('circom (circom2) compiles the loop form to the same count and witness', async () => {
      if (p.m.name !== 'ct_chain') return;
      const q = await readQuantizedModel(r.dir);
      const emitted = emitCircuit(q, { unroll: false });
      const dir = `${ROOT}/${p.m.name}-circom-loops`;
      await mkdir(dir, { recursive: true });
      await writeFile(`${dir}/circuit.circom`, emitted.source);
      const rep = await compileWithBackend('circom', `${dir}/circuit.circom`, dir, 'auto', { witness: true });
      expect(rep.constraints).toBe(emitted.constraints);
      const nOut = sizeOf(q.output.shape);
      for (const x of uint8Inputs(sizeOf(q.input.shape), 2, 13)) {
        const w = await computeWitness(`${dir}/circuit_js/circuit.wasm`, { in: x.map(BigInt) });
        expect(w.values.slice(1, 1 + nOut)).toEqual(runInteger(q, x).map((v) => toField(v)));
      }
    });

    it('every single-value change to a private witness wire breaks a constraint', async () => {
      const q = await readQuantizedModel(r.dir);
      const { mutations, freeHelpers } = await mutateWitnessWires(r.dir, uint8Inputs(sizeOf(q.input.shape), 1, 5).map((x) => ({ in: x })));
      console.log(`${key}: ${mutations} mutations rejected; ${freeHelpers} free is-zero helpers skipped`);
      expect(mutations).toBeGreaterThan(0);
    });
  });
}

describe('ConvTranspose: what the layers became', () => {
  it('chain: Relu on a ConvTranspose accumulator is applied by the requantization; linear after linear stays an accumulator', () => {
    const p = prepare(M.convTransposeChain());
    expect(p.model.output.shape).toEqual([1, 2, 19]);
    expect(p.q.layers.map((l) => `${l.kind}:${l.name}`)).toEqual([
      'convtranspose:ct_s2', 'requant:ct_s2+relu1', 'convtranspose:ct_grp', 'convtranspose:ct_same', 'requant:ct_same+relu2',
      'convtranspose:ct_oshape', 'convtranspose:ct1_s2', 'requant:ct1_s2+relu3', 'convtranspose:ct1_grp',
    ]);
    // ct_grp reads the uint8 requantized tensor; ct_same reads ct_grp's accumulator (zero point 0).
    const [grp, same] = [p.q.layers[2], p.q.layers[3]] as QConvTranspose[];
    expect(grp.inZeroPoint).toBe(0); // Relu output: uint8 with zero point 0
    expect(same.inputs).toEqual([grp.output]);
    // Stride 2, 3x3 kernel: output positions receive 1, 2 or 4 taps per input channel.
    const s2 = p.q.layers[0] as QConvTranspose;
    const counts = new Set(transposeRows(s2).filter((r) => r.c === 0).map((r) => r.taps.length / 2));
    expect([...counts].sort()).toEqual([1, 2, 4]);
  });

  it('generator: proves and verifies end to end (compile, dev setup, prove, verify)', async () => {
    const p = prepare(M.generatorModel());
    await mkdir(ROOT, { recursive: true });
    const path = `${ROOT}/ct_generator_e2e.onnx`;
    await writeFile(path, p.m.bytes);
    const x = Array.from(p.cal[5]);
    const r = await runModel(path, {
      input: x,
      calibration: { json: p.cal.map((c) => Array.from(c)), source: 'test calibration' },
      out: `${ROOT}/ct_generator_e2e`,
    });
    expect(r.verification.valid).toBe(true);
    expect(r.manifest.circuit.constraints).toBe(r.manifest.circuit.predictedConstraints);
    const q = await readQuantizedModel(r.dir);
    const xq = quantizeInput(q.input.quant, x);
    const w = await artifactWitness(r.dir, { in: xq });
    expect(w.values.slice(1, 37)).toEqual(runInteger(q, xq).map((v) => toField(v)));
    const o = await runOrt(p.m.bytes, 'x', p.m.inputShape, x);
    const worst = Math.max(...r.bundle.output.values.map((v, i) => Math.abs(Number(v) - o[i])));
    console.log(`generator e2e: ${r.manifest.circuit.constraints} constraints; worst |proven - onnxruntime| ${worst.toFixed(4)} (Tanh output)`);
    expect(worst).toBeLessThanOrEqual(0.02 * 1);
    constraintLog.forEach((l) => console.log(l));
  });
});
