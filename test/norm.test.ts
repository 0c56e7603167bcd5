/**
 * Reductions (ReduceSum, ReduceMean), normalizations (LayerNormalization, InstanceNormalization,
 * GroupNormalization 18 and 21) and Softmax inside a network, on small models built with buildOnnxModel:
 *
 * 1. the float IR against onnxruntime (1e-4 of the output's magnitude), and the quantized model against
 *    onnxruntime within a stated tolerance of the output range (calibrated on 32 random inputs, tested on fresh
 *    ones whose intermediate values stay inside the calibrated ranges);
 * 2. the compiled circuit: constraints == the cost formulas, witness outputs == the integer reference;
 * 3. witness mutation: every private wire changed by +1, -1 and +2^64, one at a time, breaks the R1CS (isqrt
 *    roots and their bits, division quotients and remainders, softmax maxima and exp-table outputs included);
 * 4. the gadgets alone: a wrong root or quotient, with every helper signal recomputed to fit it as a cheating
 *    prover would, still violates the R1CS;
 * 5. compile + prove + verify of the LayerNorm + in-network Softmax model.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readQuantizedModel } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileCircomDirect, directWitness } from '../src/circom/index.ts';
import { compileModel, type CompileModelResult } from '../src/compile/model.ts';
import { readR1csFile, readSymbols, violatedConstraints } from '../src/compile/r1cs.ts';
import { emitCircuit } from '../src/emit/circuit.ts';
import { UnsupportedModelError } from '../src/errors.ts';
import { toField } from '../src/field.ts';
import { importGraph } from '../src/ir/import.ts';
import type { QNormalize, QSoftmax } from '../src/ir/layers/norm.ts';
import type { FloatModel, QuantizedModel } from '../src/ir/types.ts';
import { sizeOf } from '../src/ir/types.ts';
import { mulberry32 } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { divRound, isqrtBig, LOG_SHIFT, normalizeGroup, reduceGroups, softmaxGroup } from '../src/ops/norm.ts';
import { fuseDecomposedLayerNorm } from '../src/ops/norm-fuse.ts';
import { prove } from '../src/prove/prove.ts';
import { artifactWitness } from '../src/prove/witness.ts';
import { calibrate, quantizeInput, quantizeModel } from '../src/quantize/quantize.ts';
import { runFloat, runFloatAll } from '../src/reference/float.ts';
import { runInteger } from '../src/reference/integer.ts';
import { qDef } from '../src/ops/registry.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { readVerificationKey } from '../src/prove/prove.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { randomInputs } from './helpers/fixtures.ts';
import { mutateWitnessWires } from './helpers/mutation.ts';
import * as models from './helpers/norm-models.ts';
import type { NormModel } from './helpers/norm-models.ts';
import { runOrt } from './helpers/ort.ts';

const ROOT = 'artifacts/test/norm';
const CAL_SEED = 31;
const TEST_SEED = 77;

interface NormCase {
  make: () => NormModel;
  /** Tolerance of the quantized model against onnxruntime, as a fraction of the output range (see below). */
  tol: number;
  /** Layer kinds of the quantized model. */
  kinds: string[];
}

/*
 * Tolerances (fraction of the output range R = max |output| over the calibration inputs): every uint8 step
 * (the input, each requantization) rounds by half an LSB, 0.2% of that tensor's range, and int8 weights by
 * 0.4% per weight; the normalization and softmax gadgets themselves add below 0.05% (src/ops/norm.ts). A
 * normalization divides by the group's standard deviation, which magnifies its input's rounding by
 * (tensor range / group std): that is what the LayerNorm, InstanceNorm and GroupNorm models spend.
 */
const cases: Record<string, NormCase> = {
  reduce: { make: models.reduceModel, tol: 0.02, kinds: ['dense', 'requant', 'reduce', 'reduce', 'dense'] },
  reduce18: { make: models.reduce18Model, tol: 0.02, kinds: ['dense', 'requant', 'reduce', 'dense'] },
  'ln-softmax': { make: models.layerNormSoftmaxModel, tol: 0.02, kinds: ['dense', 'requant', 'normalize', 'dense', 'requant', 'softmax', 'dense'] },
  instnorm: { make: models.instanceNormModel, tol: 0.02, kinds: ['conv', 'requant', 'normalize', 'requant', 'conv'] },
  groupnorm18: { make: () => models.groupNormModel(18), tol: 0.02, kinds: ['conv', 'requant', 'normalize', 'conv'] },
  groupnorm21: { make: () => models.groupNormModel(21), tol: 0.02, kinds: ['conv', 'requant', 'normalize', 'conv'] },
  softmax11: { make: () => models.softmaxAxisModel(11), tol: 0.02, kinds: ['dense', 'requant', 'softmax', 'dense'] },
  softmax13: { make: () => models.softmaxAxisModel(13), tol: 0.02, kinds: ['dense', 'requant', 'softmax', 'dense'] },
  'softmax-out': { make: models.softmaxOutputModel, tol: 0.02, kinds: ['dense', 'requant', 'softmax'] },
  logsoftmax: { make: models.logSoftmaxInsideModel, tol: 0.02, kinds: ['dense', 'requant', 'softmax', 'dense'] },
  sumsquare: { make: () => models.reducePowModel('ReduceSumSquare', 13), tol: 0.02, kinds: ['dense', 'requant', 'reducepow', 'dense'] },
  l1: { make: () => models.reducePowModel('ReduceL1', 13), tol: 0.02, kinds: ['dense', 'requant', 'reducepow', 'dense'] },
  l2: { make: () => models.reducePowModel('ReduceL2', 18), tol: 0.02, kinds: ['dense', 'requant', 'reducepow', 'dense'] },
  logsumexp: { make: () => models.reducePowModel('ReduceLogSumExp', 18), tol: 0.02, kinds: ['dense', 'requant', 'softmax', 'dense'] },
};

interface Prepared {
  m: NormModel;
  model: FloatModel;
  cal: Float64Array[];
  q: QuantizedModel;
}

const prepared = new Map<string, Prepared>();
function prepare(key: string): Prepared {
  let p = prepared.get(key);
  if (!p) {
    const m = cases[key].make();
    const model = importGraph(loadOnnx(m.bytes));
    const cal = randomInputs(sizeOf(model.input.shape), 32, CAL_SEED);
    p = { m, model, cal, q: quantizeModel(model, cal) };
    prepared.set(key, p);
  }
  return p;
}

const compiled = new Map<string, Promise<CompileModelResult>>();
function compile(key: string): Promise<CompileModelResult> {
  let r = compiled.get(key);
  if (!r) {
    const { m, cal } = prepare(key);
    r = (async () => {
      await mkdir(ROOT, { recursive: true });
      const path = `${ROOT}/${m.name}.onnx`;
      await writeFile(path, m.bytes);
      // force: compileModel's currency check does not cover zkonnx's templates (prove's does).
      return compileModel(path, { out: `${ROOT}/${m.name}`, calibration: cal, force: true });
    })();
    compiled.set(key, r);
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

const ort = async (m: NormModel, x: ArrayLike<number>) => Array.from(await runOrt(m.bytes, m.inputName, m.inputShape, x));

const constraintLog: string[] = [];

for (const [key, c] of Object.entries(cases)) {
  describe(`norm: ${key}`, () => {
    it('imports and quantizes to the expected layers', () => {
      const { q } = prepare(key);
      expect(q.layers.map((l) => l.kind)).toEqual(c.kinds);
    });

    it('float IR matches onnxruntime (1e-4 of the output magnitude)', async () => {
      const p = prepare(key);
      for (const x of randomInputs(sizeOf(p.model.input.shape), 16, TEST_SEED + 1)) {
        const o = await ort(p.m, x);
        const f = Array.from(runFloat(p.model, x));
        expect(f.length).toBe(o.length);
        const mag = Math.max(...o.map(Math.abs));
        f.forEach((v, i) => expect(Math.abs(v - o[i]), `element ${i}`).toBeLessThanOrEqual(1e-4 * mag + 1e-6));
      }
    });

    it(`quantized model matches onnxruntime within ${100 * c.tol}% of the output range`, async () => {
      const p = prepare(key);
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
      console.log(`${key}: worst |quantized - onnxruntime| ${((100 * worst) / R).toFixed(2)}% of the output range ${R.toFixed(3)} (tolerance ${100 * c.tol}%), ${fresh.length} inputs`);
      expect(worst).toBeLessThanOrEqual(c.tol * R);
    });

    it('compiles to exactly the cost formula; witness == integer reference', async () => {
      const p = prepare(key);
      const r = await compile(key);
      const q = await readQuantizedModel(r.dir);
      const emitted = emitCircuit(q);
      expect(r.manifest.circuit.constraints).toBe(emitted.constraints);
      expect(emitCircuit(p.q).constraints).toBe(emitted.constraints);
      constraintLog.push(`${p.m.name}: ${r.manifest.circuit.constraints} constraints (${emitted.layers.filter((l) => l.constraints).map((l) => `${l.kind} ${l.constraints}`).join(', ')}; outputs ${emitted.outputConstraints})`);
      const nIn = sizeOf(q.input.shape);
      const nOut = sizeOf(q.output.shape);
      const xs = [...uint8Inputs(nIn, 4, 3), ...p.cal.slice(0, 3).map((x) => quantizeInput(q.input.quant, x))];
      for (const x of xs) {
        const w = await artifactWitness(r.dir, { in: x });
        expect(w.values.slice(1, 1 + nOut)).toEqual(runInteger(q, x).map((v) => toField(v)));
      }
    });

    it('every single-value change to a private witness wire breaks a constraint', async () => {
      const r = await compile(key);
      const q = await readQuantizedModel(r.dir);
      const { mutations, freeHelpers, kinds } = await mutateWitnessWires(r.dir, uint8Inputs(sizeOf(q.input.shape), 1, 5).map((x) => ({ in: x })));
      const list = [...kinds].sort().join(', ');
      console.log(`${key}: ${mutations} mutations rejected (${list}); ${freeHelpers} free is-zero helpers skipped`);
      expect(mutations).toBeGreaterThan(0);
      if (q.layers.some((l) => l.kind === 'normalize')) {
        for (const s of ['root.r', 'root.b[]', 'root.r#', 'root.lo[]', 'root.hi[]', 'div[].qb[]', 'div[].qd', 'div[].rb[]', 'div[].sb[]', '.sq[]']) {
          expect([...kinds].some((k) => k.includes(s)), s).toBe(true);
        }
      }
      const sm = q.layers.find((l): l is QSoftmax => l.kind === 'softmax');
      if (sm?.mode === 'softmax') {
        for (const s of ['.m', '.S', '.chain[]', 'lut[].b[]', 'lut[].l#[]', 'div[].qb[]', 'div[].rb[]', 'div[].sb[]']) {
          expect([...kinds].some((k) => k.includes(s)), s).toBe(true);
        }
      } else if (sm) {
        for (const s of ['.m', '.chain[]', 'lut[].b[]', '.j.qb[]', '.j.rb[]', '.j.sb[]', '.lg.b[]', '.L']) {
          expect([...kinds].some((k) => k.includes(s)), s).toBe(true);
        }
      }
      if (q.layers.some((l) => l.kind === 'reducepow')) {
        expect([...kinds].some((k) => /sq#\.out\[\]|abs#\.(bits\[\]|out)|l#root\.r/.test(k)), [...kinds].join()).toBe(true);
      }
    });
  });
}

describe('norm: integer semantics', () => {
  it('isqrt and the rounded division are exact', () => {
    const rnd = mulberry32(9);
    for (let t = 0; t < 2000; t++) {
      const v = BigInt(Math.floor(rnd() * 2 ** 40)) * BigInt(1 + Math.floor(rnd() * 2 ** 20));
      const r = isqrtBig(v);
      expect(r * r <= v && (r + 1n) * (r + 1n) > v).toBe(true);
      const num = BigInt(Math.floor((rnd() - 0.5) * 2 ** 30));
      const den = BigInt(1 + Math.floor(rnd() * 2 ** 20));
      const mul = BigInt(1 + Math.floor(rnd() * 2 ** 12));
      const q = divRound(num, mul, den);
      // q = round(mul num / den), halves up: |q - mul num / den| <= 1/2.
      expect(2n * mul * num + den - 2n * q * den >= 0n && 2n * mul * num + den - 2n * q * den < 2n * den).toBe(true);
    }
  });

  it('LayerNorm: the integer output is the exact normalization of the uint8 values within 2^-11 relative + one output unit', () => {
    const { q } = prepare('ln-softmax');
    const ln = q.layers.find((l): l is QNormalize => l.kind === 'normalize')!;
    const fl = prepare('ln-softmax').model.layers.find((l) => l.kind === 'normalize')!;
    if (fl.kind !== 'normalize') throw new Error('unreachable');
    const inQ = q.layers[q.layers.indexOf(ln) - 1].outQuant as { scale: number };
    const sOut = ln.outQuant.scales[0];
    const rnd = mulberry32(4);
    let worst = 0;
    for (let t = 0; t < 300; t++) {
      const spread = 1 + Math.floor(rnd() * 255);
      const x = Array.from({ length: 32 }, () => Math.floor(rnd() * spread));
      const out = qDef(ln).reference(ln, [x]);
      for (let g = 0; g < 32; g += 8) {
        const xs = x.slice(g, g + 8).map((v) => v * inQ.scale);
        const mean = xs.reduce((a, b) => a + b, 0) / 8;
        const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / 8;
        for (let j = 0; j < 8; j++) {
          const yhat = (xs[j] - mean) / Math.sqrt(v + fl.epsilon);
          const y = yhat * fl.gamma[g + j] + fl.beta[g + j];
          const err = Math.abs(out[g + j] * sOut - y);
          const bound = Math.abs(yhat * fl.gamma[g + j]) * 2 ** -11 + sOut;
          worst = Math.max(worst, err / bound);
        }
      }
    }
    console.log(`layernorm: worst error ${worst.toFixed(3)} of the stated bound`);
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('Softmax: |p / K - softmax(uint8 logits)| <= 1/(2K) + (n + 1) / 2^(F+1)', () => {
    const { q } = prepare('ln-softmax');
    const sm = q.layers.find((l): l is QSoftmax => l.kind === 'softmax')!;
    const s = (q.layers[q.layers.indexOf(sm) - 1].outQuant as { scale: number }).scale;
    const n = 8;
    const F = Math.log2(sm.table[0]);
    expect(Number.isInteger(F)).toBe(true);
    const bound = 1 / (2 * sm.k) + (n + 1) / 2 ** (F + 1);
    const rnd = mulberry32(5);
    let worst = 0;
    for (let t = 0; t < 500; t++) {
      const x = Array.from({ length: n }, () => Math.floor(rnd() * 256));
      const { max, e, p } = softmaxGroup(sm, x);
      expect(max).toBe(Math.max(...x));
      expect(e[x.indexOf(max)]).toBe(2 ** F);
      const ex = x.map((v) => Math.exp((v - max) * s));
      const sum = ex.reduce((a, b) => a + b, 0);
      p.forEach((pi, i) => (worst = Math.max(worst, Math.abs(pi / sm.k - ex[i] / sum) / bound)));
    }
    console.log(`softmax: worst error ${worst.toFixed(3)} of the stated bound ${bound.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('normalization of a constant group gives the bias (the root is >= 1: epsilon folds in as E >= 1)', () => {
    const { q } = prepare('ln-softmax');
    const ln = q.layers.find((l): l is QNormalize => l.kind === 'normalize')!;
    expect(ln.e).toBeGreaterThanOrEqual(1);
    const { root, q: qs } = normalizeGroup(ln, new Array(8).fill(77), 0);
    expect(root).toBeGreaterThanOrEqual(1n);
    expect(qs.every((v) => v === 0n)).toBe(true);
  });

  it('Softmax on a non-last axis (opset 13) and coerced 2-D (opset 11) normalizes the right groups', () => {
    const a = prepare('softmax13').q.layers.find((l): l is QSoftmax => l.kind === 'softmax')!;
    const b = prepare('softmax11').q.layers.find((l): l is QSoftmax => l.kind === 'softmax')!;
    expect(reduceGroups(a.inShape, a.axes)).toEqual([0, 1, 2, 3, 4, 5].map((i) => [i, i + 6, i + 12, i + 18]));
    expect(reduceGroups(b.inShape, b.axes)).toEqual([Array.from({ length: 24 }, (_, i) => i)]);
  });
  it('LogSoftmax and ReduceLogSumExp: |out u - exact| <= (n - 1)/510 + n/2^(F+1) + u/2 for the uint8 logits', () => {
    for (const key of ['logsoftmax', 'logsumexp']) {
      const { q } = prepare(key);
      const sm = q.layers.find((l): l is QSoftmax => l.kind === 'softmax')!;
      const s = (q.layers[q.layers.indexOf(sm) - 1].outQuant as { scale: number }).scale;
      const n = reduceGroups(sm.inShape, sm.axes)[0].length;
      const u = s / 2 ** LOG_SHIFT;
      expect(sm.outQuant.scales[0]).toBe(u);
      const bound = (n - 1) / 510 + n / 2 ** (sm.expBits + 1) + u / 2;
      const rnd = mulberry32(6);
      let worst = 0;
      for (let t = 0; t < 500; t++) {
        const x = Array.from({ length: n }, () => Math.floor(rnd() * 256));
        const { p } = softmaxGroup(sm, x);
        const real = x.map((v) => (v - sm.inZeroPoint) * s);
        const m = Math.max(...real);
        const lse = m + Math.log(real.reduce((a, v) => a + Math.exp(v - m), 0));
        const exact = sm.mode === 'logsumexp' ? [lse] : real.map((v) => v - lse);
        p.forEach((pi, i) => (worst = Math.max(worst, Math.abs(pi * u - exact[i]) / bound)));
      }
      console.log(`${key}: worst error ${worst.toFixed(3)} of the stated bound ${bound.toExponential(2)}`);
      expect(worst).toBeLessThanOrEqual(1);
    }
  });
});

describe('norm: LayerNorm decomposed as exporters write it (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add)', () => {
  const m = models.decomposedLayerNormModel();
  const fused = () => importGraph(fuseDecomposedLayerNorm(loadOnnx(m.bytes)));

  it('fuses into one LayerNormalization node (axis -1, the model\'s epsilon, gamma and beta)', () => {
    const g = fuseDecomposedLayerNorm(loadOnnx(m.bytes));
    expect(g.nodes.map((n) => n.op)).toEqual(['Gemm', 'Reshape', 'LayerNormalization', 'Reshape', 'Gemm']);
    const ln = g.nodes[2];
    expect([ln.attrs.get('axis')?.value, ln.attrs.get('epsilon')?.value, ln.inputs.slice(1), ln.outputs]).toEqual([-1, Math.fround(1e-5), ['ln.scale', 'ln.bias'], ['beta']]);
  });

  // Both paths: the rewrite (one LayerNormalization, exact isqrt and divisions) and the generic ops (broadcast
  // Sub, a square, ReduceMean, a Sqrt table on the uint8 variance, a Div by that activation).
  for (const path of ['fused', 'generic'] as const) {
    it(`${path}: matches onnxruntime (float 1e-4, quantized within 2% of the output range); circuit == formula and reference`, async () => {
      const model = path === 'fused' ? fused() : importGraph(loadOnnx(m.bytes));
      const cal = randomInputs(sizeOf(model.input.shape), 32, CAL_SEED);
      const q = quantizeModel(model, cal);
      if (path === 'fused') expect(q.layers.map((l) => l.kind)).toEqual(['dense', 'requant', 'normalize', 'dense']);
      else expect(q.layers.some((l) => l.kind === 'normalize')).toBe(false);
      const p: Prepared = { m, model, cal, q };
      let R = 0;
      for (const x of cal) for (const v of runFloat(model, x)) R = Math.max(R, Math.abs(v));
      let worstF = 0;
      let worstQ = 0;
      const fresh = freshInRange(p, 64);
      expect(fresh.length).toBeGreaterThanOrEqual(12);
      for (const x of fresh) {
        const o = await ort(m, x);
        const f = runFloat(model, x);
        const out = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
        o.forEach((v, i) => {
          worstF = Math.max(worstF, Math.abs(f[i] - v));
          worstQ = Math.max(worstQ, Math.abs(out[i] - v));
        });
      }
      expect(worstF).toBeLessThanOrEqual(1e-4 * R);
      expect(worstQ).toBeLessThanOrEqual(0.02 * R);
      // compileModel imports without the rewrite (src/ir/import.ts does not call it): compile the emitted source.
      const dir = join(ROOT, `ln-decomposed-${path}`);
      await mkdir(dir, { recursive: true });
      const emitted = emitCircuit(q);
      await writeFile(join(dir, 'circuit.circom'), emitted.source);
      const report = await compileCircomDirect(join(dir, 'circuit.circom'), dir);
      expect(report.constraints).toBe(emitted.constraints);
      for (const x of [...uint8Inputs(sizeOf(q.input.shape), 3, 8), ...cal.slice(0, 2).map((v) => quantizeInput(q.input.quant, v))]) {
        const w = await directWitness(join(dir, 'circuit.circom'), { in: x.map(BigInt) });
        expect(w.values.slice(1, 1 + sizeOf(q.output.shape))).toEqual(runInteger(q, x).map((v) => toField(v)));
      }
      const line = `decomposed LayerNorm (${path}): quantized ${((100 * worstQ) / R).toFixed(2)}% of the output range ${R.toFixed(3)} (${fresh.length} inputs); ${report.constraints} constraints (${emitted.layers.filter((l) => l.constraints).map((l) => `${l.kind} ${l.constraints}`).join(', ')})`;
      console.log(line);
      constraintLog.push(line);
    });
  }
});

describe('norm: reductions with no axes', () => {
  for (const noop of [false, true]) {
    it(noop ? 'noop_with_empty_axes 1 is the identity (then ReduceMean over every axis)' : 'no axes reduces every axis (keepdims 0: a scalar)', async () => {
      const m = models.reduceAllModel(noop);
      const model = importGraph(loadOnnx(m.bytes));
      expect(model.layers.map((l) => l.kind)).toEqual(noop ? ['dense', 'reduce'] : ['dense', 'reduce']);
      const red = model.layers[1];
      if (red.kind !== 'reduce') throw new Error('unreachable');
      expect([red.fn, red.axes, red.outShape]).toEqual([noop ? 'mean' : 'sum', [0, 1], noop ? [1, 1] : [1]]);
      const cal = randomInputs(4, 32, CAL_SEED);
      const q = quantizeModel(model, cal);
      let R = 0;
      for (const x of cal) R = Math.max(R, Math.abs(runFloat(model, x)[0]));
      for (const x of randomInputs(4, 16, TEST_SEED)) {
        const o = await ort(m, x);
        expect(Math.abs(runFloat(model, x)[0] - o[0])).toBeLessThanOrEqual(1e-4 * R + 1e-6);
        // int8 weights and one uint8 requantization of the 6 values: within 1% of the range.
        const out = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
        expect(Math.abs(out[0] - o[0])).toBeLessThanOrEqual(0.01 * R);
      }
      // The Gemm's channels have their own scales: one requantization to uint8 first, then a free sum.
      expect(q.layers.map((l) => l.kind)).toEqual(['dense', 'requant', 'reduce']);
      expect(emitCircuit(q).layers[2].constraints).toBe(0);
    });
  }
});

describe('norm: what stays as it was, and what is refused', () => {
  it('a final Softmax over one vector is still left out with a note', () => {
    const m = models.finalSoftmaxModel();
    const model = importGraph(loadOnnx(m.bytes));
    expect(model.layers.map((l) => l.kind)).toEqual(['dense']);
    expect(model.notes.some((n) => /Softmax \('softmax'\) is left out/.test(n))).toBe(true);
  });

  const refusals: [string, () => NormModel, string, RegExp][] = [
    ['LayerNormalization Mean/InvStdDev outputs', models.layerNormStashModel, 'ln', /Mean and InvStdDev are not supported/],
    ['ReduceSum with computed axes', models.computedAxesModel, 'sum', /axes input .* must be a constant/],
  ];
  for (const [what, make, node, msg] of refusals) {
    it(`${what}: a clear issue naming the node`, () => {
      let err: unknown;
      try {
        importGraph(loadOnnx(make().bytes));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UnsupportedModelError);
      const issues = (err as UnsupportedModelError).issues;
      expect(issues.some((i) => i.node === node && msg.test(i.message)), JSON.stringify(issues)).toBe(true);
    });
  }
});

describe('norm: gadgets alone reject a wrong root or quotient', () => {
  const dir = join(ROOT, 'gadgets');

  async function gadget(name: string, src: string) {
    const d = join(dir, name);
    await mkdir(d, { recursive: true });
    const file = join(d, 'circuit.circom');
    await writeFile(file, src);
    await compileCircomDirect(file, d);
    const r1cs = await readR1csFile(join(d, 'circuit.r1cs'));
    const syms = await readSymbols(join(d, 'circuit.sym'));
    return { file, r1cs, syms };
  }
  const bitsOf = (v: bigint, n: number) => Array.from({ length: n }, (_, i) => (toField(v) >> BigInt(i)) & 1n);

  it('IsqrtFloor: r - 1 and r + 1, with every helper recomputed, violate the R1CS', async () => {
    const BR = 10;
    const { file, r1cs, syms } = await gadget('isqrt', `pragma circom 2.1.0;\ninclude "isqrt.circom";\ncomponent main = IsqrtFloor(${BR});\n`);
    let checked = 0;
    for (const wv of [1n, 2n, 99n, 100n, 101n, 4095n, 65535n, 1048575n]) {
      const honest = (await directWitness(file, { w: [wv] })).values;
      const r = isqrtBig(wv);
      expect(honest[syms.get('main.r')!]).toBe(r);
      expect(violatedConstraints(r1cs, honest)).toEqual([]);
      for (const cheat of [r - 1n, r + 1n]) {
        const w = [...honest];
        const set = (n: string, v: bigint) => {
          const wire = syms.get(n)!;
          if (wire >= 0) w[wire] = toField(v);
        };
        set('main.r', cheat);
        bitsOf(cheat, BR).forEach((b, i) => set(`main.b[${i}]`, b));
        set('main.r2', cheat * cheat);
        bitsOf(wv - cheat * cheat, BR + 1).forEach((b, i) => set(`main.lo[${i}]`, b));
        bitsOf(cheat * cheat + 2n * cheat - wv, BR + 1).forEach((b, i) => set(`main.hi[${i}]`, b));
        expect(violatedConstraints(r1cs, w).length, `w ${wv}, root ${cheat}`).toBeGreaterThan(0);
        checked++;
      }
    }
    expect(checked).toBe(16);
  });

  it('NormDivRound: q - 1 and q + 1, with every helper recomputed, violate the R1CS', async () => {
    const [BD, BQ, QOFF, MUL] = [8, 12, 2000, 37];
    const { file, r1cs, syms } = await gadget('divide', `pragma circom 2.1.0;\ninclude "divide.circom";\ncomponent main = NormDivRound(${BD}, ${BQ}, ${QOFF}, ${MUL});\n`);
    let checked = 0;
    for (const [num, den] of [[0n, 1n], [5n, 3n], [-5n, 3n], [100n, 255n], [-100n, 7n], [3n, 2n], [-1n, 2n]]) {
      const honest = (await directWitness(file, { num: [toField(num)], den: [den] })).values;
      const q = divRound(num, BigInt(MUL), den);
      expect(honest[syms.get('main.q')!]).toBe(toField(q));
      expect(violatedConstraints(r1cs, honest)).toEqual([]);
      for (const cheat of [q - 1n, q + 1n]) {
        const w = [...honest];
        const set = (n: string, v: bigint) => {
          const wire = syms.get(n)!;
          if (wire >= 0) w[wire] = toField(v);
        };
        set('main.q', cheat);
        bitsOf(cheat + BigInt(QOFF), BQ).forEach((b, i) => set(`main.qb[${i}]`, b));
        set('main.qd', cheat * den);
        const r = 2n * BigInt(MUL) * num + den - 2n * cheat * den;
        bitsOf(r, BD + 1).forEach((b, i) => set(`main.rb[${i}]`, b));
        bitsOf(2n * den - 1n - r, BD + 1).forEach((b, i) => set(`main.sb[${i}]`, b));
        expect(violatedConstraints(r1cs, w).length, `num ${num}, den ${den}, q ${cheat}`).toBeGreaterThan(0);
        checked++;
      }
    }
    expect(checked).toBe(14);
  });
});

describe('norm: end to end', () => {
  it('LayerNorm + in-network Softmax: compile, setup, prove, verify', async () => {
    const r = await compile('ln-softmax');
    await setupKeys(r.dir);
    const p = prepare('ln-softmax');
    const x = freshInRange(p, 8)[0];
    const res = await prove(r.dir, { x: Array.from(x) });
    const expected = runInteger(p.q, quantizeInput(p.q.input.quant, x));
    expect(res.bundle.output.quantized).toEqual(expected.map(String));
    expect(res.verification.valid).toBe(true);
    const vk = await readVerificationKey(artifactPath(r.dir, 'vk'));
    const v = await verifyBundle(res.bundle, vk);
    expect(v.valid).toBe(true);
    const o = await ort(p.m, x);
    const out = dequantizeOutput(p.q.output.quant, expected);
    console.log(`ln-softmax proof: ${r.manifest.circuit.constraints} constraints; output ${out.map((e) => e.toFixed(3)).join(' ')} vs onnxruntime ${o.map((e) => e.toFixed(3)).join(' ')}`);
  }, 300_000);
});

describe('norm: summary', () => {
  beforeAll(async () => {
    for (const key of Object.keys(cases)) await compile(key);
  });
  it('compiled constraint counts', () => {
    for (const l of constraintLog) console.log(l);
    expect(constraintLog.length).toBeGreaterThanOrEqual(Object.keys(cases).length);
  });
});
