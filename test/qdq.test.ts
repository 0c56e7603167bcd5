/**
 * Pre-quantized ONNX: MatMulInteger and ConvInteger match onnxruntime's int32 results exactly; QLinearConv
 * and QLinearMatMul (per-channel and per-tensor) within one output step (onnxruntime rounds each
 * requantization in float, zkonnx by an integer multiplier); a QDQ model proves and verifies end to end.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { importGraph } from '../src/ir/import.ts';
import { buildOnnxModel, mulberry32, type ModelSpec } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { quantizeInput, quantizeModel } from '../src/quantize/quantize.ts';
import { runInteger } from '../src/reference/integer.ts';
import { runModel } from '../src/run.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { UnsupportedModelError } from '../src/errors.ts';
import { runOrt } from './helpers/ort.ts';

const ROOT = 'artifacts/test/qdq';
const S_IN = 1 / 64; // a power of two: x / s is exact in float32, so the input quantization is exact too

/** Inputs on the input grid (k - zp) * s, k in [0, 255]. */
function gridInputs(n: number, size: number, zp: number, seed: number): number[][] {
  const rnd = mulberry32(seed);
  const xs = [new Array(size).fill(-zp * S_IN), new Array(size).fill((255 - zp) * S_IN)];
  for (let i = 0; i < n; i++) xs.push(Array.from({ length: size }, () => (Math.floor(rnd() * 256) - zp) * S_IN));
  return xs;
}

const ints = (n: number, lo: number, hi: number, seed: number) => {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, () => lo + Math.floor(rnd() * (hi - lo + 1)));
};

function ours(bytes: Uint8Array, cal: number[][]) {
  const q = quantizeModel(importGraph(loadOnnx(bytes)), cal.map((x) => Float64Array.from(x)));
  return { q, run: (x: number[]) => dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x))) };
}

const quantizeInputNode = (zp: number): ModelSpec['nodes'][number] => ({ op: 'QuantizeLinear', name: 'q_in', inputs: ['x', 's_in', 'zp_in'], outputs: ['xq'] });
const inputInits = (zp: number): NonNullable<ModelSpec['initializers']> => [
  { name: 's_in', dims: [], data: [S_IN] },
  { name: 'zp_in', dims: [], data: [zp], dataType: 'uint8' },
];

describe('integer-defined ops match onnxruntime exactly', () => {
  for (const aZp of [128, 100]) {
    it(`MatMulInteger (per-column int8 weight zero points, input zero point ${aZp}) -> Cast`, async () => {
      const [K, N] = [12, 5];
      const bytes = buildOnnxModel({
        inputs: [{ name: 'x', shape: [1, K] }], outputs: [{ name: 'y', shape: [1, N] }],
        initializers: [
          ...inputInits(128),
          { name: 'B', dims: [K, N], data: ints(K * N, -128, 127, 3), dataType: 'int8' },
          { name: 'a_zp', dims: [], data: [aZp], dataType: 'uint8' },
          { name: 'b_zp', dims: [N], data: ints(N, -5, 5, 4), dataType: 'int8' },
        ],
        nodes: [
          quantizeInputNode(128),
          { op: 'MatMulInteger', name: 'mm', inputs: ['xq', 'B', 'a_zp', 'b_zp'], outputs: ['acc'] },
          { op: 'Cast', name: 'cast', inputs: ['acc'], outputs: ['y'], attrs: { to: 1 } },
        ],
      });
      const xs = gridInputs(30, K, 128, 5);
      const m = ours(bytes, xs);
      expect(m.q.output.quant.kind).toBe('acc');
      for (const x of xs) expect(m.run(x)).toEqual(Array.from(await runOrt(bytes, 'x', [1, K], x)));
    });
  }

  it('ConvInteger (pads, stride 2, scalar weight zero point) -> Cast', async () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 2, 6, 6] }], outputs: [{ name: 'y', shape: [1, 3, 3, 3] }],
      initializers: [
        ...inputInits(10),
        { name: 'W', dims: [3, 2, 3, 3], data: ints(54, -128, 127, 6), dataType: 'int8' },
        { name: 'x_zp', dims: [], data: [10], dataType: 'uint8' },
        { name: 'w_zp', dims: [], data: [3], dataType: 'int8' },
      ],
      nodes: [
        quantizeInputNode(10),
        { op: 'ConvInteger', name: 'conv', inputs: ['xq', 'W', 'x_zp', 'w_zp'], outputs: ['acc'], attrs: { pads: [1, 1, 1, 1], strides: [2, 2] } },
        { op: 'Cast', name: 'cast', inputs: ['acc'], outputs: ['y'], attrs: { to: 1 } },
      ],
    });
    const xs = gridInputs(20, 72, 10, 7);
    const m = ours(bytes, xs);
    for (const x of xs) expect(m.run(x)).toEqual(Array.from(await runOrt(bytes, 'x', [1, 2, 6, 6], x)));
  });
});

/** x -> QuantizeLinear -> QLinearConv (per-channel) -> Relu-free -> DequantizeLinear -> y. */
function qlinearConvModel(): Uint8Array {
  return buildOnnxModel({
    inputs: [{ name: 'x', shape: [1, 1, 8, 8] }], outputs: [{ name: 'y', shape: [1, 4, 8, 8] }],
    initializers: [
      ...inputInits(0),
      { name: 'W', dims: [4, 1, 3, 3], data: ints(36, -127, 127, 8), dataType: 'int8' },
      { name: 'w_s', dims: [4], data: [0.01, 0.02, 0.005, 0.015] },
      { name: 'w_zp', dims: [4], data: [0, 0, 0, 0], dataType: 'int8' },
      { name: 'y_s', dims: [], data: [0.05] },
      { name: 'y_zp', dims: [], data: [120], dataType: 'uint8' },
      { name: 'B', dims: [4], data: [100, -200, 50, 0], dataType: 'int32' },
    ],
    nodes: [
      quantizeInputNode(0),
      { op: 'QLinearConv', name: 'qconv', inputs: ['xq', 's_in', 'zp_in', 'W', 'w_s', 'w_zp', 'y_s', 'y_zp', 'B'], outputs: ['yq'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'DequantizeLinear', name: 'dq', inputs: ['yq', 'y_s', 'y_zp'], outputs: ['y'] },
    ],
  });
}

describe('QLinear ops match onnxruntime within one output step', () => {
  it('QLinearConv, per-channel weight scales, int32 bias', async () => {
    const bytes = qlinearConvModel();
    const xs = gridInputs(20, 64, 0, 9);
    const m = ours(bytes, xs);
    let worst = 0;
    for (const x of xs) {
      const o = await runOrt(bytes, 'x', [1, 1, 8, 8], x);
      m.run(x).forEach((v, i) => (worst = Math.max(worst, Math.abs(v - o[i]))));
    }
    expect(worst).toBeLessThanOrEqual(0.05 * (1 + 1e-5));
  });

  it('QLinearMatMul, per-tensor', async () => {
    const [K, N] = [16, 6];
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, K] }], outputs: [{ name: 'y', shape: [1, N] }],
      initializers: [
        ...inputInits(128),
        { name: 'B', dims: [K, N], data: ints(K * N, -127, 127, 10), dataType: 'int8' },
        { name: 'b_s', dims: [], data: [0.02] },
        { name: 'b_zp', dims: [], data: [0], dataType: 'int8' },
        { name: 'y_s', dims: [], data: [0.1] },
        { name: 'y_zp', dims: [], data: [128], dataType: 'uint8' },
      ],
      nodes: [
        quantizeInputNode(128),
        { op: 'QLinearMatMul', name: 'qmm', inputs: ['xq', 's_in', 'zp_in', 'B', 'b_s', 'b_zp', 'y_s', 'y_zp'], outputs: ['yq'] },
        { op: 'DequantizeLinear', name: 'dq', inputs: ['yq', 'y_s', 'y_zp'], outputs: ['y'] },
      ],
    });
    const xs = gridInputs(30, K, 128, 11);
    const m = ours(bytes, xs);
    let worst = 0;
    for (const x of xs) {
      const o = await runOrt(bytes, 'x', [1, K], x);
      m.run(x).forEach((v, i) => (worst = Math.max(worst, Math.abs(v - o[i]))));
    }
    expect(worst).toBeLessThanOrEqual(0.1 * (1 + 1e-5));
  });

  it('a QDQ model proves and verifies, and its output matches onnxruntime within one step', async () => {
    await mkdir(ROOT, { recursive: true });
    const bytes = qlinearConvModel();
    const path = `${ROOT}/qlinearconv.onnx`;
    await writeFile(path, bytes);
    const xs = gridInputs(8, 64, 0, 12);
    const r = await runModel(path, { input: { x: xs[3] }, calibration: { json: xs.map((x) => ({ x })), source: 'test' }, out: `${ROOT}/qlinearconv` });
    expect(r.verification).toMatchObject({ valid: true, reason: 'ok' });
    expect(r.manifest.circuit.constraints).toBe(r.manifest.circuit.predictedConstraints);
    const o = await runOrt(bytes, 'x', [1, 1, 8, 8], xs[3]);
    r.verification.output!.forEach((v, i) => expect(Math.abs(v - o[i])).toBeLessThanOrEqual(0.05 * (1 + 1e-5)));
  });

  it('dynamic quantization is refused with the reason, naming the node', () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 4] }], outputs: [{ name: 'y', shape: [1, 4] }],
      nodes: [{ op: 'DynamicQuantizeLinear', name: 'dq', inputs: ['x'], outputs: ['y', 's', 'z'] }],
    });
    let err: unknown;
    try {
      importGraph(loadOnnx(bytes));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsupportedModelError);
    expect((err as UnsupportedModelError).issues[0]).toMatchObject({ node: 'dq', op: 'DynamicQuantizeLinear', message: expect.stringMatching(/quantize statically/) });
  });
});
