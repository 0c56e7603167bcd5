/**
 * 1-D convolution and pooling on [1, C, L] (the 2-D layers with H = 1; the layers keep the 3-D shapes), and
 * ceil_mode for the pools (1-D and 2-D):
 *
 * 1. each form on its own (Conv1d strides 2, pads, dilations, group > 1, depthwise, auto_pad SAME_UPPER /
 *    SAME_LOWER / VALID, kernel_shape; MaxPool1d, AveragePool1d with and without count_include_pad, ceil_mode,
 *    dilations; GlobalAveragePool / GlobalMaxPool on [1, C, L]; 2-D pools with ceil_mode): the float IR against
 *    onnxruntime (1e-4 of the output magnitude), the quantized model against onnxruntime within 1% of the
 *    output range R (one uint8 step: the input's quantization and int8 weights);
 * 2. a chain of 1-D forms and a 1-D CNN (Conv1d -> Relu -> MaxPool1d -> Conv1d -> GlobalAveragePool -> Gemm),
 *    within 2% of R; compiled: constraints == the cost formulas, witness == integer reference (also the loop
 *    form of the convolutions), every single-value change to a private witness wire breaks a constraint;
 * 3. the 1-D CNN proves and verifies end to end, and compiles with private weights (--param-visibility hashed).
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
import { paramSignals } from '../src/ir/params.ts';
import type { FloatModel, QuantizedModel } from '../src/ir/types.ts';
import { sizeOf } from '../src/ir/types.ts';
import { mulberry32 } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';
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

const ROOT = 'artifacts/test/convtranspose/conv1d';
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

function uint8Inputs(size: number, random: number, seed: number): number[][] {
  const rnd = mulberry32(seed);
  const xs = [new Array(size).fill(0), new Array(size).fill(255), Array.from({ length: size }, (_, i) => (i % 2 ? 255 : 0))];
  for (let i = 0; i < random; i++) xs.push(Array.from({ length: size }, () => Math.floor(rnd() * 256)));
  return xs;
}

const singles: { name: string; make: () => CtModel; out: number[]; kind: string }[] = [
  ...M.singleConv1ds.map((c, k) => ({ name: c.name, make: () => M.singleConv1dModel(c, 200 + k), out: c.out, kind: 'conv' })),
  ...M.singlePools.map((c) => ({ name: c.name, make: () => M.singlePoolModel(c), out: c.out, kind: /Max/.test(c.op) ? 'maxpool' : 'avgpool' })),
];

describe('1-D Conv and pools (and 2-D ceil_mode) on their own vs onnxruntime', () => {
  for (const c of singles) {
    it(`${c.name}: shape, float IR (1e-4) and quantized (1% of the output range)`, async () => {
      const p = prepare(c.make());
      expect(p.model.output.shape).toEqual(c.out);
      expect(p.model.layers.map((l) => l.kind)).toEqual([c.kind]);
      expect(p.model.layers[0].outShape).toEqual(c.out);
      await checkFloat(p);
      const { worst, n } = await quantizedError(p);
      console.log(`${c.name}: worst |quantized - onnxruntime| ${(100 * worst).toFixed(2)}% of the output range, ${n} inputs`);
      expect(n).toBeGreaterThanOrEqual(12);
      expect(worst).toBeLessThanOrEqual(0.01);
    });
  }

  it('1-D geometry is the 2-D one with H = 1', () => {
    const p = prepare(M.singleConv1dModel(M.singleConv1ds[0], 200));
    const l = p.model.layers[0];
    if (l.kind !== 'conv') throw new Error('unreachable');
    expect([l.kernel, l.strides, l.pads, l.dilations, l.inShape, l.outShape]).toEqual([[1, 3], [1, 2], [0, 1, 0, 2], [1, 1], [1, 2, 9], [1, 3, 5]]);
  });

  it('wrong attribute lengths and ranks are reported by name', () => {
    const b = new M.CtBuilder(3);
    const y = b.conv('conv', 'x', 2, 2, [3], { strides: [2, 2] });
    expect(() => importGraph(loadOnnx(b.model('bad', [1, 2, 8], y, ['?', '?', '?']).bytes))).toThrow(/attribute 'strides' must be 1 ints/);
    const b2 = new M.CtBuilder(3);
    const y2 = b2.conv('conv', 'x', 2, 2, [3, 3]);
    expect(() => importGraph(loadOnnx(b2.model('bad2', [1, 2, 8], y2, ['?', '?', '?']).bytes))).toThrow(/weight has dims \[2,2,3,3\] but the input is \[1,2,8\]/);
  });
});

const constraintLog: string[] = [];

for (const [key, make] of [['chain', M.conv1dChain], ['cnn1d', M.cnn1dModel]] as const) {
  describe(`1-D ${key}: compiled`, () => {
    let p: Prepared;
    let r: CompileModelResult;
    beforeAll(async () => {
      p = prepare(make());
      await mkdir(ROOT, { recursive: true });
      const path = `${ROOT}/${p.m.name}.onnx`;
      await writeFile(path, p.m.bytes);
      r = await compileModel(path, { out: `${ROOT}/${p.m.name}`, calibration: p.cal });
    });

    it('float IR and quantized model vs onnxruntime (2% of the output range)', async () => {
      await checkFloat(p);
      const { worst, n } = await quantizedError(p);
      console.log(`${key}: worst |quantized - onnxruntime| ${(100 * worst).toFixed(2)}% of the output range, ${n} inputs`);
      expect(n).toBeGreaterThanOrEqual(12);
      expect(worst).toBeLessThanOrEqual(0.02);
    });

    it('constraints == the cost formulas; witness == integer reference; the loop form too', async () => {
      const q = await readQuantizedModel(r.dir);
      const emitted = emitCircuit(q);
      expect(r.manifest.circuit.constraints).toBe(emitted.constraints);
      expect(emitCircuit(p.q).constraints).toBe(emitted.constraints);
      constraintLog.push(`${p.m.name}: ${r.manifest.circuit.constraints} constraints (${emitted.layers.map((l) => `${l.kind} ${l.constraints}`).join(', ')}; outputs ${emitted.outputConstraints})`);
      const nOut = sizeOf(q.output.shape);
      const xs = [...uint8Inputs(sizeOf(q.input.shape), 4, 3), ...p.cal.slice(0, 3).map((x) => quantizeInput(q.input.quant, x))];
      for (const x of xs) {
        const w = await artifactWitness(r.dir, { in: x });
        expect(w.values.slice(1, 1 + nOut)).toEqual(runInteger(q, x).map((v) => toField(v)));
      }
      const loops = emitCircuit(q, { unroll: false });
      const dir = `${ROOT}/${p.m.name}-loops`;
      await mkdir(dir, { recursive: true });
      await writeFile(`${dir}/circuit.circom`, loops.source);
      const rep = await compileWithBackend('direct', `${dir}/circuit.circom`, dir);
      expect(rep.constraints).toBe(emitted.constraints);
      for (const x of xs.slice(0, 4)) {
        const w = await directWitness(`${dir}/circuit.circom`, { in: x.map(BigInt) });
        expect(w.values.slice(1, 1 + nOut)).toEqual(runInteger(q, x).map((v) => toField(v)));
      }
    });

    it('circom (circom2) compiles the loop form to the same count and witness', async () => {
      if (p.m.name !== 'conv1d_chain') return;
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

describe('1-D CNN end to end', () => {
  it('what the layers became: shapes stay [1, C, L]; the max-pool runs on the accumulator; the global average pool feeds the Gemm', () => {
    const p = prepare(M.cnn1dModel());
    expect(p.model.layers.map((l) => `${l.kind}:${JSON.stringify(l.outShape)}`)).toEqual([
      'conv:[1,4,12]', 'clip:[1,4,12]', 'maxpool:[1,4,6]', 'conv:[1,4,4]', 'avgpool:[1,4,1]', 'reshape:[1,4]', 'dense:[1,3]',
    ]);
    expect(p.q.layers.map((l) => `${l.kind}:${l.name}`)).toEqual([
      'conv:conv1', 'maxpool:pool1', 'requant:conv1+relu1+pool1', 'conv:conv2', 'avgpool:gap', 'dense:fc',
    ]);
  });

  it('proves and verifies (compile, dev setup, prove, verify); the witness equals the reference', async () => {
    const p = prepare(M.cnn1dModel());
    await mkdir(ROOT, { recursive: true });
    const path = `${ROOT}/cnn1d_e2e.onnx`;
    await writeFile(path, p.m.bytes);
    const x = Array.from(p.cal[7]);
    const r = await runModel(path, {
      input: x,
      calibration: { json: p.cal.map((c) => Array.from(c)), source: 'test calibration' },
      out: `${ROOT}/cnn1d_e2e`,
    });
    expect(r.verification.valid).toBe(true);
    expect(r.manifest.circuit.constraints).toBe(r.manifest.circuit.predictedConstraints);
    const q = await readQuantizedModel(r.dir);
    const xq = quantizeInput(q.input.quant, x);
    const w = await artifactWitness(r.dir, { in: xq });
    expect(w.values.slice(1, 4)).toEqual(runInteger(q, xq).map((v) => toField(v)));
    const o = await runOrt(p.m.bytes, 'x', p.m.inputShape, x);
    let R = 0;
    for (const c of p.cal) for (const v of runFloat(p.model, c)) R = Math.max(R, Math.abs(v));
    const worst = Math.max(...r.bundle.output.values.map((v, i) => Math.abs(Number(v) - o[i])));
    console.log(`cnn1d e2e: ${r.manifest.circuit.constraints} constraints; worst |proven - onnxruntime| ${(100 * worst / R).toFixed(2)}% of the output range`);
    expect(worst).toBeLessThanOrEqual(0.02 * R);
    constraintLog.forEach((l) => console.log(l));
  });

  it('compiles with private weights (--param-visibility hashed): count == formula, witness == reference', async () => {
    const p = prepare(M.cnn1dModel());
    await mkdir(ROOT, { recursive: true });
    const path = `${ROOT}/cnn1d_hashed.onnx`;
    await writeFile(path, p.m.bytes);
    const r = await compileModel(path, { out: `${ROOT}/cnn1d_hashed`, calibration: p.cal, visibility: { params: 'hashed' } });
    const q = await readQuantizedModel(r.dir);
    expect(q.layers.filter((l) => l.kind === 'conv' && l.privateParams).length).toBe(2);
    const emitted = emitCircuit(q, { visibility: r.manifest.circuit.visibility ?? { input: 'public', output: 'public', params: 'hashed' } });
    expect(r.manifest.circuit.constraints).toBe(emitted.constraints);
    const s = paramSignals(q);
    for (const x of uint8Inputs(12, 2, 9)) {
      const w = await artifactWitness(r.dir, { in: x, wPacked: s.wPacked, wBias: s.wBias });
      const out = runInteger(q, x).map((v) => toField(v));
      expect(w.values.slice(1, 1 + out.length)).toEqual(out);
    }
  });
});
