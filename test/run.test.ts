/**
 * "Any float ONNX MLP made of the supported ops goes through `run`": compile, keys, proof and verification
 * for models of every import style, and the verified output matches onnxruntime within the stated int8
 * tolerance (3% of the calibrated output range, as in test/quantize.test.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { buildOnnxModel, mulberry32, randomMlp } from '../src/onnx/builder.ts';
import { runModel } from '../src/run.ts';
import { randomInputs } from './helpers/fixtures.ts';
import { runOrt } from './helpers/ort.ts';

const ROOT = 'artifacts/test/run';

/** Gemm -> Relu as the graph output: the last layer is a requantization to uint8. */
function reluOutputModel(seed: number): Uint8Array {
  const rnd = mulberry32(seed);
  const w = Array.from({ length: 6 * 10 }, () => rnd() - 0.5);
  const b = Array.from({ length: 6 }, () => rnd() * 0.2 - 0.1);
  return buildOnnxModel({
    inputs: [{ name: 'x', shape: ['N', 10] }],
    outputs: [{ name: 'y', shape: ['N', 6] }],
    initializers: [{ name: 'W', dims: [6, 10], data: w }, { name: 'b', dims: [6], data: b }],
    nodes: [
      { op: 'Gemm', name: 'fc', inputs: ['x', 'W', 'b'], outputs: ['h'], attrs: { transB: 1 } },
      { op: 'Relu', name: 'act', inputs: ['h'], outputs: ['y'] },
    ],
  });
}

const models: { name: string; bytes: () => Uint8Array; inputName: string; shape: number[] }[] = [
  { name: 'gemm-alpha-beta', bytes: () => randomMlp({ sizes: [10, 8, 4], seed: 21, style: 'gemm', alpha: 0.8, beta: 1.5 }).bytes, inputName: 'input', shape: [1, 10] },
  { name: 'matmul-add-noops', bytes: () => randomMlp({ sizes: [10, 9, 7, 3], seed: 22, style: 'matmul-add', extraNoOps: true, opset: 11 }).bytes, inputName: 'input', shape: [1, 10] },
  { name: 'no-relu', bytes: () => randomMlp({ sizes: [10, 6, 3], seed: 23, style: 'gemm-transB', relu: false, encoding: 'typed' }).bytes, inputName: 'input', shape: [1, 10] },
  { name: 'flatten-4d', bytes: () => randomMlp({ sizes: [16, 5, 2], seed: 24, style: 'gemm-transB', flattenInput: [1, 4, 4], opset: 21 }).bytes, inputName: 'input', shape: [1, 1, 4, 4] },
  { name: 'relu-output', bytes: () => reluOutputModel(25), inputName: 'x', shape: [1, 10] },
];

describe('run: any supported MLP proves, verifies and matches onnxruntime', () => {
  for (const m of models) {
    it(m.name, async () => {
      await mkdir(ROOT, { recursive: true });
      const path = `${ROOT}/${m.name}.onnx`;
      const bytes = m.bytes();
      await writeFile(path, bytes);
      const size = m.shape.reduce((a, b) => a * b, 1);
      const cal = randomInputs(size, 128, 7).map((x) => Array.from(x));
      let maxOut = 0;
      for (const x of cal) for (const v of await runOrt(bytes, m.inputName, m.shape, x)) maxOut = Math.max(maxOut, Math.abs(v));
      const x = cal[3];
      const r = await runModel(path, { input: { [m.inputName]: x }, calibration: { json: cal, source: 'test' }, out: `${ROOT}/${m.name}` });
      expect(r.verification).toMatchObject({ valid: true, reason: 'ok' });
      expect(r.manifest.circuit.constraints).toBe(r.manifest.circuit.predictedConstraints);
      const ort = await runOrt(bytes, m.inputName, m.shape, x);
      expect(r.verification.output).toHaveLength(ort.length);
      r.verification.output!.forEach((v, i) => expect(Math.abs(v - ort[i])).toBeLessThanOrEqual(0.03 * maxOut));
    });
  }

  it('without a calibration set it calibrates on the input, says so, and still verifies', async () => {
    const path = `${ROOT}/self-cal.onnx`;
    await writeFile(path, randomMlp({ sizes: [8, 4, 2], seed: 26, style: 'gemm' }).bytes);
    const notes: string[] = [];
    const r = await runModel(path, {
      input: Array.from(randomInputs(8, 1, 3)[0]),
      out: `${ROOT}/self-cal`,
      progress: { step: () => () => {}, info: (msg) => void notes.push(msg) },
    });
    expect(r.calibratedOnInput).toBe(true);
    expect(r.manifest.quantization.calibration).toMatchObject({ source: 'input', samples: 1 });
    expect(notes.join('\n')).toMatch(/calibrating on the input being proven/);
    expect(r.verification.valid).toBe(true);
  });
});
