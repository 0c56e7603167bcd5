import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importGraph } from '../src/ir/import.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { randomMlp } from '../src/onnx/builder.ts';
import { calibrate, quantizeInput, quantizeModel, u8QuantFor } from '../src/quantize/quantize.ts';
import { runFloatAll } from '../src/reference/float.ts';
import { requantValue } from '../src/ops/requant.ts';
import { runInteger } from '../src/reference/integer.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { loadMnistSplit } from '../scripts/lib/mnist-data.ts';
import { randomInputs } from './helpers/fixtures.ts';
import { runOrt } from './helpers/ort.ts';

const argmax = (v: ArrayLike<number>) => {
  let b = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[b]) b = i;
  return b;
};

describe('quantization', () => {
  it('MNIST MLP: the integer reference agrees with onnxruntime on >= 97% of 2000 held-out digits', async () => {
    const bytes = readFileSync('examples/mnist-mlp/model.onnx');
    const model = importGraph(loadOnnx(bytes));
    const cal = (JSON.parse(readFileSync('examples/mnist-mlp/calibration.json', 'utf8')) as { input: number[] }[]).map((s) => Float64Array.from(s.input));
    const q = quantizeModel(model, cal);
    const { test } = loadMnistSplit();
    expect(test.x.length).toBeGreaterThanOrEqual(500);
    let agree = 0;
    let correctQ = 0;
    let correctF = 0;
    for (let i = 0; i < test.x.length; i++) {
      const ort = await runOrt(bytes, 'input', [1, 784], test.x[i]);
      const out = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, test.x[i])));
      if (argmax(out) === argmax(ort)) agree++;
      if (argmax(out) === test.y[i]) correctQ++;
      if (argmax(ort) === test.y[i]) correctF++;
    }
    const n = test.x.length;
    console.log(`MNIST top-1 agreement ${((100 * agree) / n).toFixed(2)}%, accuracy float ${((100 * correctF) / n).toFixed(2)}% vs quantized ${((100 * correctQ) / n).toFixed(2)}%`);
    expect(agree / n).toBeGreaterThanOrEqual(0.97);
  });

  // Stated tolerance: for inputs whose intermediate values stay inside the calibrated ranges (static
  // quantization clamps values outside them), every output is within 3% of the largest |output| seen in
  // calibration: int8 weights and uint8 activations give about 0.5/127 + 0.5/255 relative error per layer.
  it('random MLPs: dequantized outputs match onnxruntime within the stated int8 tolerance', async () => {
    let worst = 0;
    let checked = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const m = randomMlp({ sizes: [20, 16, 12, 4], seed, style: seed % 2 ? 'gemm-transB' : 'matmul-add' });
      const model = importGraph(loadOnnx(m.bytes));
      const cal = randomInputs(20, 256, seed);
      const q = quantizeModel(model, cal);
      const ranges = calibrate(model, cal);
      const inRange = (x: Float64Array) =>
        [...runFloatAll(model, x)].every(([name, o]) => o.every((v) => v >= ranges.get(name)!.min && v <= ranges.get(name)!.max));
      let maxOut = 0;
      for (const x of cal) for (const v of await runOrt(m.bytes, m.inputName, m.inputShape, x)) maxOut = Math.max(maxOut, Math.abs(v));
      const fresh = randomInputs(20, 200, seed + 99).filter(inRange);
      expect(fresh.length).toBeGreaterThan(100);
      for (const x of [...cal.slice(0, 50), ...fresh]) {
        const ort = await runOrt(m.bytes, m.inputName, m.inputShape, x);
        const out = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
        out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ort[i]) / maxOut)));
        checked++;
      }
    }
    console.log(`worst error ${(100 * worst).toFixed(2)}% of the output range over ${checked} inputs`);
    expect(worst).toBeLessThan(0.03);
  });

  it('picks uint8 scales that include zero and cover the calibrated range', () => {
    expect(u8QuantFor({ min: 0, max: 1 })).toEqual({ kind: 'u8', scale: 1 / 255, zeroPoint: 0 });
    const q = u8QuantFor({ min: -1, max: 3 });
    expect(q.zeroPoint).toBe(64);
    expect(Math.round(-1 / q.scale) + q.zeroPoint).toBe(0);
    expect(Math.round(3 / q.scale) + q.zeroPoint).toBe(255);
    expect(u8QuantFor({ min: 0, max: 0 }).scale).toBe(1);
  });

  it('requantValue rounds half up, floors negatives and clamps to uint8', () => {
    // (acc * M + 2^(S-1)) >> S with M = 1, S = 2: divide by 4, rounding half up.
    expect([5n, 6n, 7n, -5n, -6n, -7n].map((a) => requantValue(a, 1, 2, 10))).toEqual([11, 12, 12, 9, 9, 8]);
    expect(requantValue(-1000n, 3, 1, 0)).toBe(0);
    expect(requantValue(1000n, 3, 1, 0)).toBe(255);
  });

  it('is deterministic', () => {
    const m = randomMlp({ sizes: [8, 4, 2], seed: 1, style: 'gemm' });
    const model = importGraph(loadOnnx(m.bytes));
    const cal = randomInputs(8, 10, 1);
    expect(JSON.stringify(quantizeModel(model, cal), (_k, v) => (v instanceof Int8Array ? [...v] : v))).toBe(
      JSON.stringify(quantizeModel(model, cal), (_k, v) => (v instanceof Int8Array ? [...v] : v)),
    );
  });
});

describe('quantization options', () => {
  it('multiplier bits must be an integer from 2 to 31', () => {
    const m = randomMlp({ sizes: [4, 3, 2], seed: 2, style: 'gemm' });
    const model = importGraph(loadOnnx(m.bytes));
    const cal = randomInputs(4, 4, 2);
    for (const bad of [0, 1, 1.5, 32, 60]) expect(() => quantizeModel(model, cal, { multiplierBits: bad })).toThrow(/integer from 2 to 31/);
    expect(quantizeModel(model, cal, { multiplierBits: 31 }).multiplierBits).toBe(31);
  });
});
