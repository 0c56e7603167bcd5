/**
 * The CNN op set (Conv, pooling, Clip, elementwise affine ops, data movement, LUT activations, ArgMax,
 * Softmax at the output) on small models built with buildOnnxModel, several ops per model:
 *
 * 1. the float IR against onnxruntime (1e-4 of the output's magnitude), and the quantized model against
 *    onnxruntime within a stated quantization tolerance (calibrated on 32 random inputs, tested on fresh ones
 *    from the same distribution whose intermediate values stay inside the calibrated ranges);
 * 2. the compiled circuit: constraints == the op cost formulas, witness outputs == the integer reference on
 *    all-0, all-255, alternating and random uint8 inputs (plus hand-made ties for ArgMax);
 * 3. witness mutation: every private wire changed by +1, -1 and +2^64, one at a time, breaks the R1CS.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { readQuantizedModel } from '../src/artifacts/manifest.ts';
import { compileModel, type CompileModelResult } from '../src/compile/model.ts';
import { emitCircuit } from '../src/emit/circuit.ts';
import { UnsupportedModelError } from '../src/errors.ts';
import { toField } from '../src/field.ts';
import { importGraph } from '../src/ir/import.ts';
import type { FloatModel, QArgMax, QClamp, QLut, QMaxPool, QuantizedModel } from '../src/ir/types.ts';
import { sizeOf } from '../src/ir/types.ts';
import { mulberry32 } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { lutFn, lutLipschitz, LUT_CONSTRAINTS } from '../src/ops/lut.ts';
import { poolWindows } from '../src/ops/pool.ts';
import { artifactWitness, computeWitness } from '../src/prove/witness.ts';
import { calibrate, quantizeInput, quantizeModel, roundHalfEven } from '../src/quantize/quantize.ts';
import { runFloat, runFloatAll } from '../src/reference/float.ts';
import { runInteger, runIntegerAll } from '../src/reference/integer.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { randomInputs } from './helpers/fixtures.ts';
import { mutateWitnessWires } from './helpers/mutation.ts';
import * as models from './helpers/ops-models.ts';
import type { OpsModel } from './helpers/ops-models.ts';
import { runOrt } from './helpers/ort.ts';

const ROOT = 'artifacts/test/ops';
const CAL_SEED = 31;
const TEST_SEED = 77;

/** First (or last) index of the maximum. */
function argmaxOf(v: ArrayLike<number>, last = false): number {
  let b = 0;
  for (let i = 1; i < v.length; i++) if (last ? v[i] >= v[b] : v[i] > v[b]) b = i;
  return b;
}

/** How far the maximum is above every value below it (Infinity when all are equal); ties at the maximum do not count. */
function margin(v: ArrayLike<number>): number {
  const a = Array.from(v);
  const mx = Math.max(...a);
  return a.reduce((m, e) => (e < mx ? Math.min(m, mx - e) : m), Infinity);
}

async function ort(m: OpsModel, x: ArrayLike<number>): Promise<number[]> {
  // ArgMax outputs are int64 (BigInt64Array).
  return Array.from((await runOrt(m.bytes, m.inputName, m.inputShape, x)) as ArrayLike<number | bigint>, Number);
}

interface OpsCase {
  make: () => OpsModel;
  /**
   * 'values': compare outputs with onnxruntime; 'argmax': the output is an index; 'softmax': onnxruntime
   * outputs probabilities, the circuit the logits.
   */
  output: 'values' | 'argmax' | 'softmax';
  /**
   * Quantization tolerance, as a fraction of the output range R (max |output| over the calibration inputs).
   * Derivation: each uint8 quantization (the input, every requantization and LUT output) rounds by at most
   * half an LSB, 0.2% of that tensor's range, and int8 weights by at most 0.4% per weight; a following
   * random-weight Conv/Gemm sums 9-36 such errors, which the next range shrinks by about as much as it
   * cancels, so each uint8 step costs at most ~1% of the output range. The tolerance is 1% per step.
   */
  steps?: number;
  /** ArgMax models: the argmax of the float tensor is exact after quantization when its margin exceeds this. */
  argmaxMargin?: (p: Prepared) => number;
  /** Uint8 inputs for the witness check besides the standard ones (ties). */
  extraInputs?: (q: QuantizedModel) => number[][];
}

const cases: Record<string, OpsCase> = {
  conv: { make: models.convModel, output: 'values', steps: 4 }, // input + 3 requantizations
  pool: { make: models.poolModel, output: 'values', steps: 3 }, // input + 2 requantizations
  u8: {
    make: models.u8GadgetModel,
    output: 'argmax',
    // Everything before the ArgMax is monotone and keeps the input's uint8 grid: a float margin above one
    // input LSB survives quantization.
    argmaxMargin: (p) => (p.q.input.quant as { scale: number }).scale,
    // Channels 1 and 3 share the largest value: the first (1) wins.
    extraInputs: () => [Array.from({ length: 80 }, (_, i) => (Math.floor(i / 16) === 1 || Math.floor(i / 16) === 3 ? (i % 16 === 5 ? 200 : 90) : 100))],
  },
  elementwise: { make: models.elementwiseModel, output: 'values', steps: 2 }, // input + 1 requantization
  activations: { make: models.activationModel, output: 'softmax', steps: 8 }, // input + 4 requantizations + 3 LUTs
  'argmax-input': {
    make: models.argmaxInputModel,
    output: 'argmax',
    argmaxMargin: (p) => (p.q.input.quant as { scale: number }).scale,
    // Ties at the maximum: the last one (index 3, then 5) wins.
    extraInputs: () => [[10, 200, 3, 200, 199, 0], [255, 255, 255, 255, 255, 255], [7, 7, 9, 9, 1, 9]],
  },
  'argmax-logits': {
    make: models.argmaxLogitsModel,
    output: 'argmax',
    // One Gemm: the input and weight quantizations move each logit by at most 2% of the logits' range R
    // (2 steps of the tolerance above), so a margin above 2 x 2% of R survives.
    argmaxMargin: (p) => 0.04 * Math.max(...p.cal.flatMap((x) => Array.from(runFloat(p.model, x), Math.abs))),
  },
  opset9: { make: models.opset9Model, output: 'values', steps: 2 }, // input + 1 requantization
};

interface Prepared {
  m: OpsModel;
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
      return compileModel(path, { out: `${ROOT}/${m.name}`, calibration: cal });
    })();
    compiled.set(key, r);
  }
  return r;
}

/** Fresh inputs from the calibration distribution whose every intermediate float value is inside the calibrated range. */
function freshInRange(p: Prepared, n: number): Float64Array[] {
  const ranges = calibrate(p.model, p.cal);
  const inRange = (x: Float64Array) => [...runFloatAll(p.model, x)].every(([name, v]) => v.every((e) => e >= ranges.get(name)!.min && e <= ranges.get(name)!.max));
  return randomInputs(sizeOf(p.model.input.shape), n, TEST_SEED).filter(inRange);
}

/** All-0, all-255, alternating, random uint8 inputs. */
function uint8Inputs(size: number, random: number, seed: number): number[][] {
  const rnd = mulberry32(seed);
  const xs = [new Array(size).fill(0), new Array(size).fill(255), Array.from({ length: size }, (_, i) => (i % 2 ? 255 : 0))];
  for (let i = 0; i < random; i++) xs.push(Array.from({ length: size }, () => Math.floor(rnd() * 256)));
  return xs;
}

const softmax = (z: ArrayLike<number>) => {
  const mx = Math.max(...Array.from(z));
  const e = Array.from(z, (v) => Math.exp(v - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

const constraintLog: string[] = [];

for (const [key, c] of Object.entries(cases)) {
  describe(`ops: ${key}`, () => {
    it('float IR matches onnxruntime (1e-4 of the output magnitude)', async () => {
      const p = prepare(key);
      for (const x of randomInputs(sizeOf(p.model.input.shape), 16, TEST_SEED + 1)) {
        const o = await ort(p.m, x);
        let f = Array.from(runFloat(p.model, x));
        if (c.output === 'softmax') f = softmax(f);
        if (c.output === 'argmax') {
          // Exact float ties resolve alike; a near-tie could differ between float32 and float64.
          const argIn = runFloatAll(p.model, x).get(p.model.layers.find((l) => l.kind === 'argmax')!.inputs[0])!;
          if (margin(argIn) > 1e-5) expect(f).toEqual(o);
          continue;
        }
        expect(f.length).toBe(o.length);
        const mag = Math.max(...o.map(Math.abs));
        f.forEach((v, i) => expect(Math.abs(v - o[i]), `element ${i}`).toBeLessThanOrEqual(1e-4 * mag + 1e-7));
      }
    });

    it('quantized model matches onnxruntime within the stated tolerance', async () => {
      const p = prepare(key);
      const fresh = freshInRange(p, 48);
      expect(fresh.length).toBeGreaterThanOrEqual(12);
      const qOut = (x: Float64Array) => dequantizeOutput(p.q.output.quant, runInteger(p.q, quantizeInput(p.q.input.quant, x)));
      if (c.output === 'argmax') {
        const am = p.q.layers.find((l) => l.kind === 'argmax') as QArgMax;
        const fl = p.model.layers.find((l) => l.kind === 'argmax')!;
        let decided = 0;
        for (const x of [...p.cal, ...fresh]) {
          const o = await ort(p.m, x);
          const out = runInteger(p.q, quantizeInput(p.q.input.quant, x));
          const argIn = runFloatAll(p.model, x).get(fl.inputs[0])!;
          // Where every value below the float maximum is far enough below it, quantization keeps the set of
          // maxima (exact float ties included), so the index is onnxruntime's; otherwise values that quantize
          // alike tie, and the integer reference's own tie rule decides (checked below).
          if (margin(argIn) > c.argmaxMargin!(p)) {
            expect(out, `input ${decided}`).toEqual([o[0]]);
            decided++;
          }
          // The integer reference: first (or last) maximum of the aligned integers.
          const env = runIntegerAll(p.q, quantizeInput(p.q.input.quant, x));
          const v = env.get(am.inputs[0])!.map((e, i) => (e - am.offset) * am.multipliers[i]);
          expect(out).toEqual([argmaxOf(v, am.selectLast)]);
        }
        console.log(`${key}: ${decided} of ${p.cal.length + fresh.length} inputs decided by onnxruntime's argmax`);
        expect(decided).toBeGreaterThan(20);
        return;
      }
      let R = 0;
      for (const x of p.cal) for (const v of runFloat(p.model, x)) R = Math.max(R, Math.abs(v));
      const tol = c.steps! * 0.01 * R;
      let worst = 0;
      let agree = 0;
      let decided = 0;
      for (const x of fresh) {
        const o = await ort(p.m, x);
        const out = qOut(x);
        if (c.output === 'softmax') {
          // Logit differences are log-probability ratios: compare them with onnxruntime's.
          const lo = o.map((v) => Math.log(v));
          out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - out[0] - (lo[i] - lo[0])) / 2)));
          if (margin(lo) > 2 * tol) {
            decided++;
            if (argmaxOf(out) === argmaxOf(o)) agree++;
          }
        } else {
          out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - o[i]))));
        }
      }
      console.log(`${key}: worst |quantized - onnxruntime| ${(100 * worst / R).toFixed(2)}% of the output range ${R.toFixed(2)} (tolerance ${c.steps}%), ${fresh.length} inputs`);
      expect(worst).toBeLessThanOrEqual(tol);
      if (c.output === 'softmax') {
        expect(decided).toBeGreaterThan(5);
        expect(agree).toBe(decided);
      }
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
      const xs = [...uint8Inputs(nIn, 5, 3), ...(c.extraInputs?.(q) ?? []), ...p.cal.slice(0, 3).map((x) => quantizeInput(q.input.quant, x))];
      for (const x of xs) {
        const w = await artifactWitness(r.dir, { in: x });
        const expected = runInteger(q, x);
        expect(w.values.slice(1, 1 + nOut)).toEqual(expected.map((v) => toField(v)));
      }
    });

    it('every single-value change to a private witness wire breaks a constraint', async () => {
      const r = await compile(key);
      const q = await readQuantizedModel(r.dir);
      const { mutations, freeHelpers, kinds } = await mutateWitnessWires(r.dir, [...uint8Inputs(sizeOf(q.input.shape), 1, 5), ...(c.extraInputs?.(q) ?? [])].map((x) => ({ in: x })));
      console.log(`${key}: ${mutations} mutations rejected (${[...kinds].sort().join(', ')}); ${freeHelpers} free is-zero helpers skipped`);
      expect(mutations).toBeGreaterThan(0);
    });
  });
}

describe('ops: what each op became', () => {
  it('Conv forms; BatchNormalization folds into the Conv before it, and stands alone on the input', () => {
    const { model, q } = prepare('conv');
    const affine = model.layers.filter((l) => l.kind === 'affine');
    expect(affine.map((l) => l.name)).toEqual(['bn0']);
    const convs = model.layers.filter((l) => l.kind === 'conv');
    expect(convs.map((l) => l.name)).toEqual(['conv_s2', 'conv_dw+bn_fold', 'conv_same', 'conv_valid']);
    const [s2, dw, same, valid] = convs as Extract<FloatModel['layers'][number], { kind: 'conv' }>[];
    expect([s2.strides, s2.pads, s2.outShape]).toEqual([[2, 2], [1, 1, 1, 1], [1, 4, 6, 6]]);
    expect([dw.group, dw.dilations, dw.outShape]).toEqual([4, [2, 2], [1, 4, 6, 6]]);
    // SAME_UPPER with stride 2 on 6x6 and a 3x3 kernel: total padding 1, at the end.
    expect([same.pads, same.outShape]).toEqual([[0, 0, 1, 1], [1, 4, 3, 3]]);
    expect([valid.pads, valid.outShape]).toEqual([[0, 0, 0, 0], [1, 3, 2, 2]]);
    // Relu and Relu6 on accumulators are applied by the requantizations (no clamp layers).
    expect(q.layers.map((l) => l.kind)).toEqual(['affine', 'conv', 'requant', 'conv', 'requant', 'conv', 'requant', 'conv']);
    const rq6 = q.layers[6];
    expect(rq6.name).toBe('conv_same+relu6');
    // Relu6 bites: the calibrated Conv output exceeds 6, and the uint8 grid ends at 6.
    expect(calibrate(model, prepare('conv').cal).get('conv_same')!.max).toBeGreaterThan(6);
    const oq = rq6.outQuant as { scale: number; zeroPoint: number };
    expect(oq.zeroPoint).toBe(0);
    expect(oq.scale * 255).toBeCloseTo(6, 9);
  });

  it('pools: max-pools run on the accumulator before the ReLU; the global average pool feeds the Gemm directly', () => {
    const { q } = prepare('pool');
    expect(q.layers.map((l) => `${l.kind}:${l.name}`)).toEqual([
      'conv:conv', 'maxpool:maxpool2', 'maxpool:maxpool3', 'requant:conv+relu+maxpool2+maxpool3',
      'avgpool:avgpool_excl', 'requant:avgpool_excl', 'avgpool:avgpool_incl', 'avgpool:gap', 'dense:fc',
    ]);
    const gap = q.layers[7];
    expect(q.layers[8].inputs).toEqual([gap.output]);
    const [excl, , incl] = q.layers.slice(4, 7) as Extract<QuantizedModel['layers'][number], { kind: 'avgpool' }>[];
    expect([excl.countIncludePad, incl.countIncludePad]).toEqual([false, true]);
  });

  it('uint8 gadgets cost what their formulas say', () => {
    const { q } = prepare('u8');
    expect(q.layers.map((l) => l.kind)).toEqual(['maxpool', 'clamp', 'gather', 'maxpool', 'argmax']);
    const emitted = emitCircuit(q);
    // MaxPool 2x2 of uint8: 3 comparisons of 8 bits (11 constraints each) per window; 5 x 2 x 2 windows.
    expect((q.layers[0] as QMaxPool).inLo.every((v) => v === 0)).toBe(true);
    expect(emitted.layers[0].constraints).toBe(5 * 4 * 3 * 11);
    // Clip on uint8: both ends clamp (Max2 and Min2, 11 each) on 20 values.
    const cl = q.layers[1] as QClamp;
    expect(cl.lo).toBeGreaterThan(0);
    expect(cl.hi).toBeLessThan(255);
    expect(emitted.layers[1].constraints).toBe(20 * 22);
    // GlobalMaxPool over the padded 3x3: 8 comparisons per channel.
    expect(emitted.layers[3].constraints).toBe(5 * 8 * 11);
    // ArgMax of 5 uint8 values: B = 8, n (B + 3) + 2 = 57, plus 5 bindings of x - zp.
    expect((q.layers[4] as QArgMax).diffBits).toBe(8);
    expect(emitted.layers[4].constraints).toBe(57 + 5);
  });

  it('elementwise ops and data movement', () => {
    const { model, q } = prepare('elementwise');
    expect(model.layers.map((l) => `${l.kind}:${l.name}`)).toEqual([
      'conv:res_conv1', 'clip:res_relu', 'conv:res_conv2', 'affine:residual_add', 'affine:sub_act', 'affine:mul_const',
      'affine:div_const', 'affine:add_const', 'gather:concat', 'gather:transpose', 'reshape:unsqueeze', 'reshape:squeeze', 'gather:pad',
    ]);
    // Only the ReLU needs a requantization; everything after it is linear (0 constraints).
    expect(q.layers.filter((l) => l.kind === 'requant').length).toBe(1);
    expect(emitCircuit(q).layers.filter((l) => l.kind !== 'requant').every((l) => l.constraints === 0)).toBe(true);
  });

  it('LUT activations: the table error bound |deq(T[q(x)]) - f(x)| <= s_out/2 + L s_in/2 holds over the calibrated range', () => {
    const { model, q, cal } = prepare('activations');
    const ranges = calibrate(model, cal);
    const luts = q.layers.filter((l): l is QLut => l.kind === 'lut');
    expect(luts.map((l) => l.fn)).toEqual(['leakyrelu', 'sigmoid', 'tanh']);
    for (const l of luts) {
      const fl = model.layers.find((f) => f.name === l.name && f.kind === 'lut')!;
      if (fl.kind !== 'lut') throw new Error('unreachable');
      const r = ranges.get(fl.inputs[0])!;
      const f = lutFn(l.fn, fl.alpha);
      const bound = l.outQuant.scale / 2 + (lutLipschitz(l.fn, fl.alpha) * l.inQuant.scale) / 2;
      let worst = 0;
      for (let k = 0; k <= 4000; k++) {
        const x = r.min + ((r.max - r.min) * k) / 4000;
        const qx = Math.max(0, Math.min(255, roundHalfEven(x / l.inQuant.scale) + l.inQuant.zeroPoint));
        const y = (l.table[qx] - l.outQuant.zeroPoint) * l.outQuant.scale;
        worst = Math.max(worst, Math.abs(y - f(x)) / bound);
      }
      console.log(`${l.fn}: worst table error ${worst.toFixed(3)} of the bound`);
      expect(worst).toBeLessThanOrEqual(1 + 1e-9);
      expect(emitCircuit(q).layers[q.layers.indexOf(l)].constraints).toBe(LUT_CONSTRAINTS * sizeOf(l.outShape));
    }
  });

  it('a final Softmax is dropped, with a note: the proven output is the logits', () => {
    const { model, q } = prepare('activations');
    expect(model.notes.some((n) => /Softmax \('softmax'\) is left out/.test(n))).toBe(true);
    expect(q.notes).toEqual(model.notes);
    expect(model.output.tensor).toBe('fc5');
    expect(q.output.quant.kind).toBe('acc');
  });

  it('ArgMax attributes: keepdims and select_last_index; logits with different scales are aligned', () => {
    const a = prepare('argmax-input');
    const b = prepare('argmax-logits');
    const u = prepare('u8');
    expect([a.model.output.shape, (a.q.layers[0] as QArgMax).selectLast]).toEqual([[1, 1], true]);
    expect([b.model.output.shape, (b.q.layers.at(-1) as QArgMax).selectLast]).toEqual([[1], true]);
    expect([u.model.output.shape, (u.q.layers.at(-1) as QArgMax).selectLast]).toEqual([[1], false]);
    const am = b.q.layers.at(-1) as QArgMax;
    expect(new Set(am.multipliers).size).toBeGreaterThan(1);
    // The tied rows 1 and 4 quantize identically, so they tie in the integers too: the last (4) wins.
    expect(am.multipliers[1]).toBe(am.multipliers[4]);
    let ties = 0;
    for (const x of randomInputs(8, 32, 5)) {
      const out = runInteger(b.q, quantizeInput(b.q.input.quant, x));
      const logits = runIntegerAll(b.q, quantizeInput(b.q.input.quant, x)).get(am.inputs[0])!;
      expect(logits[1]).toBe(logits[4]);
      if (out[0] === 4) ties++;
      expect(out[0]).not.toBe(1);
    }
    expect(ties).toBeGreaterThan(0);
    // Hand-made ties on the uint8 input.
    expect(runInteger(a.q, [10, 200, 3, 200, 199, 0])).toEqual([3]);
    expect(runInteger(a.q, [7, 7, 9, 9, 1, 9])).toEqual([5]);
  });

  it('MaxPool windows with padding ignore the padded positions', () => {
    const { q } = prepare('pool');
    const mp3 = q.layers[2] as QMaxPool;
    const wins = poolWindows(mp3, mp3.inShape, mp3.outShape);
    // 4x4 per channel, 3x3 windows with pads 1: corners 4 taps, edges 6, inside 9.
    expect(wins.slice(0, 16).map((w) => w.length)).toEqual([4, 6, 6, 4, 6, 9, 9, 6, 6, 9, 9, 6, 4, 6, 6, 4]);
  });
});

describe('ops: regressions', () => {
  it('ArgMax aligns logits whose scales differ ~50x precisely: it is the argmax of the dequantized logits', () => {
    const m = models.argmaxScalesModel();
    const model = importGraph(loadOnnx(m.bytes));
    const q = quantizeModel(model, randomInputs(8, 32, CAL_SEED));
    const am = q.layers.at(-1) as QArgMax;
    const acc = q.layers[0].outQuant as { scales: number[]; lo: number[]; hi: number[] };
    expect(Math.max(...acc.scales) / Math.min(...acc.scales)).toBeGreaterThan(20);
    const X = acc.scales.map((_, i) => Math.max(-acc.lo[i], acc.hi[i]));
    const R = Math.max(...acc.scales.map((s, i) => s * X[i]));
    // The largest scale's multiplier is 2^j: unit = max / M[max]. Each aligned logit is within 2^-bits R.
    const top = acc.scales.indexOf(Math.max(...acc.scales));
    const unit = acc.scales[top] / am.multipliers[top];
    acc.scales.forEach((s, i) => expect(Math.abs(am.multipliers[i] * unit - s) * X[i]).toBeLessThanOrEqual(R / 2 ** q.multiplierBits));
    let wins2 = 0;
    for (const x of randomInputs(8, 400, TEST_SEED)) {
      const xi = quantizeInput(q.input.quant, x);
      const deq = runIntegerAll(q, xi).get(am.inputs[0])!.map((v, i) => v * acc.scales[i]);
      const out = runInteger(q, xi)[0];
      if (out === 2) wins2++;
      // Alignment moves each logit by at most 2^-bits of R: beyond twice that, the order is the reals'.
      if (margin(deq) > (2 * R) / 2 ** q.multiplierBits) expect(out).toBe(argmaxOf(deq));
    }
    expect(wins2).toBeGreaterThan(10);
  });

  it('a Clip whose range misses the uint8 grid keeps uint8 values (and a satisfiable circuit)', async () => {
    for (const [lo, hi, v] of [[2, 3, 255], [-3, -2, 0]]) {
      const m = models.clipOutsideModel(lo, hi);
      const cal = randomInputs(4, 32, CAL_SEED);
      const q = quantizeModel(importGraph(loadOnnx(m.bytes)), cal);
      const cl = q.layers[0] as QClamp;
      expect([cl.lo, cl.hi]).toEqual([v, v]);
      for (const x of uint8Inputs(4, 3, 9)) expect(runInteger(q, x)).toEqual([v, v, v, v]);
      await mkdir(ROOT, { recursive: true });
      await writeFile(`${ROOT}/${m.name}.onnx`, m.bytes);
      const r = await compileModel(`${ROOT}/${m.name}.onnx`, { out: `${ROOT}/${m.name}`, calibration: cal });
      expect(r.manifest.circuit.constraints).toBe(emitCircuit(q).constraints);
      for (const x of uint8Inputs(4, 3, 9)) {
        const w = await artifactWitness(r.dir, { in: x });
        expect(w.values.slice(1, 5)).toEqual([v, v, v, v].map((e) => toField(e)));
      }
    }
  });
});

describe('ops: unsupported', () => {
  for (const [make, node, op] of [[models.unsupportedModel, 'my_det', 'Det']] as const) {
    it(`${op} names itself and its node`, () => {
      const m = make();
      let err: unknown;
      try {
        importGraph(loadOnnx(m.bytes));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UnsupportedModelError);
      const e = err as UnsupportedModelError;
      expect(e.issues.some((i) => i.node === node && i.op === op && i.message.includes(`'${op}' is not supported`))).toBe(true);
      expect(e.message).toContain(node);
    });
  }
});

describe('ops: summary', () => {
  beforeAll(async () => {
    for (const key of Object.keys(cases)) await compile(key);
  });
  it('compiled constraint counts', () => {
    for (const l of constraintLog) console.log(l);
    expect(constraintLog.length).toBe(Object.keys(cases).length);
  });
});
