/**
 * The example CNN (examples/mnist-cnn: 28x28 -> Conv 6@5x5 -> Relu -> MaxPool -> Conv 16@5x5 -> Relu ->
 * MaxPool -> Gemm 10, trained by scripts/train-cnn.ts) and its QDQ variant: size, accuracy against the
 * float model and onnxruntime on 2,000 held-out digits, and a full `zkonnx run`-equivalent proof.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { artifactPath } from '../src/artifacts/paths.ts';
import { readQuantizedModel } from '../src/artifacts/manifest.ts';
import { emitCircuit } from '../src/emit/circuit.ts';
import { importGraph } from '../src/ir/import.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { artifactWitness, computeWitness } from '../src/prove/witness.ts';
import { quantizeInput, quantizeModel } from '../src/quantize/quantize.ts';
import { runFloat } from '../src/reference/float.ts';
import { runInteger } from '../src/reference/integer.ts';
import { runModel } from '../src/run.ts';
import { toField } from '../src/field.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { loadMnistSplit } from '../scripts/lib/mnist-data.ts';

const DIR = 'examples/mnist-cnn';
const calibration = (JSON.parse(readFileSync(`${DIR}/calibration.json`, 'utf8')) as { input: number[] }[]).map((s) => Float64Array.from(s.input));
const argmax = (v: ArrayLike<number>) => {
  let b = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[b]) b = i;
  return b;
};

async function ortSession(file: string) {
  return ort.InferenceSession.create(readFileSync(file));
}

describe('example CNN', () => {
  for (const variant of ['model', 'model-qdq'] as const) {
    it(`${variant}: <= 120,000 constraints; quantized top-1 within 0.5 points of float on 2,000 digits; matches onnxruntime`, async () => {
      const file = `${DIR}/${variant}.onnx`;
      const bytes = readFileSync(file);
      const model = importGraph(loadOnnx(bytes));
      const q = quantizeModel(model, calibration);
      const emitted = emitCircuit(q);
      // Max-pools run on the conv accumulators (monotone steps commute): 864 + 256 requantizations.
      expect(emitted.constraints).toBeLessThanOrEqual(120_000);
      expect(q.layers.filter((l) => l.kind === 'requant').map((l) => l.outShape.reduce((a, b) => a * b, 1))).toEqual(
        variant === 'model' ? [864, 256] : [864, 256, 10],
      );

      const { test } = loadMnistSplit();
      const session = await ortSession(file);
      let floatOk = 0;
      let quantOk = 0;
      let ortAgree = 0;
      let worst = 0;
      const n = test.x.length;
      expect(n).toBeGreaterThanOrEqual(1000);
      const outScale = q.output.quant.kind === 'u8' ? q.output.quant.scale : 0;
      for (let i = 0; i < n; i++) {
        const x = test.x[i];
        const f = runFloat(model, x);
        const out = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
        const r = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x), [1, 1, 28, 28]) });
        const o = r[session.outputNames[0]].data as Float32Array;
        if (argmax(f) === test.y[i]) floatOk++;
        if (argmax(out) === test.y[i]) quantOk++;
        if (argmax(out) === argmax(o)) ortAgree++;
        if (variant === 'model-qdq') out.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - o[j]))));
      }
      const [fa, qa] = [floatOk / n, quantOk / n];
      console.log(`${variant}: ${emitted.constraints} constraints; float ${(100 * fa).toFixed(2)}%, quantized ${(100 * qa).toFixed(2)}%, top-1 agreement with onnxruntime ${((100 * ortAgree) / n).toFixed(2)}%${variant === 'model-qdq' ? `, worst |ours - ort| ${worst.toFixed(4)} (output step ${outScale.toFixed(4)})` : ''}`);
      expect(Math.abs(fa - qa)).toBeLessThanOrEqual(0.005);
      expect(ortAgree / n).toBeGreaterThanOrEqual(0.995);
      // QDQ: onnxruntime runs the same integer model with the model's own scales (it rounds each
      // requantization in float, we by an integer multiplier): the outputs agree within one output step.
      if (variant === 'model-qdq') expect(worst).toBeLessThanOrEqual(outScale * (1 + 1e-5));
    });
  }

  for (const [variant, digit] of [['model', 7], ['model-qdq', 3]] as const) it(`${variant}: proves and verifies a digit (compile, dev setup, prove, verify); the witness equals the reference`, async () => {
    const input = JSON.parse(readFileSync(`${DIR}/digit-${digit}.json`, 'utf8'));
    const r = await runModel(`${DIR}/${variant}.onnx`, {
      input,
      calibration: { json: JSON.parse(readFileSync(`${DIR}/calibration.json`, 'utf8')), source: `${DIR}/calibration.json` },
      out: `artifacts/test/mnist-cnn-${variant}`,
    });
    expect(r.verification.valid).toBe(true);
    expect(r.manifest.circuit.constraints).toBe(r.manifest.circuit.predictedConstraints);
    expect(r.manifest.circuit.constraints).toBeLessThanOrEqual(120_000);
    expect(argmax(r.bundle.output.values)).toBe(digit);
    const q = await readQuantizedModel(r.dir);
    const x = quantizeInput(q.input.quant, input.input);
    const w = await artifactWitness(r.dir, { in: x });
    expect(w.values.slice(1, 11)).toEqual(runInteger(q, x).map((v) => toField(v)));
  });
});
