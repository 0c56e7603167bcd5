/**
 * Quantizer edge cases an independent review found: a clamp pending at the graph output, a QuantizeLinear
 * whose input other ops also read, wide aligned ArgMax inputs, clamps that miss the uint8 grid, repeated
 * output signals and constant bindings in the cost formula.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { compileModel } from '../src/compile/model.ts';
import { emitCircuit } from '../src/emit/circuit.ts';
import { importGraph } from '../src/ir/import.ts';
import type { QClamp } from '../src/ir/types.ts';
import { buildOnnxModel, mulberry32 } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { quantizeInput, quantizeModel } from '../src/quantize/quantize.ts';
import { runFloat } from '../src/reference/float.ts';
import { runInteger } from '../src/reference/integer.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';

const rnd = mulberry32(1);
const randoms = (n: number, size: number, lo: number, hi: number) => Array.from({ length: n }, () => Float64Array.from({ length: size }, () => lo + (hi - lo) * rnd()));

describe('quantizer edge cases', () => {
  it('a Clip pending at the graph output is applied, lower bound included', () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 4] }], outputs: [{ name: 'y', shape: [1, 3] }],
      initializers: [{ name: 'W', dims: [4, 3], data: randoms(1, 12, -1, 1)[0] }, { name: 'lo', dims: [], data: [0.5] }, { name: 'hi', dims: [], data: [6] }],
      nodes: [
        { op: 'MatMul', name: 'mm', inputs: ['x', 'W'], outputs: ['h'] },
        { op: 'Clip', name: 'clip', inputs: ['h', 'lo', 'hi'], outputs: ['y'] },
      ],
    });
    const samples = randoms(50, 4, -1, 1);
    const q = quantizeModel(importGraph(loadOnnx(bytes)), samples);
    expect(q.layers.map((l) => l.kind)).toEqual(['dense', 'requant', 'clamp']);
    const step = q.output.quant.kind === 'u8' ? q.output.quant.scale : 0;
    for (const s of samples) {
      for (const v of dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, s)))) expect(v).toBeGreaterThanOrEqual(0.5 - step);
    }
  });

  it('a QuantizeLinear quantizes its output only: other readers of its input keep the unquantized tensor', () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 4] }], outputs: [{ name: 'y', shape: [1, 4] }],
      initializers: [{ name: 'sc', dims: [], data: [0.5 / 255] }, { name: 'zp', dims: [], data: [0], dataType: 'uint8' }],
      nodes: [
        { op: 'Sigmoid', name: 'sig', inputs: ['x'], outputs: ['s'] },
        { op: 'QuantizeLinear', name: 'ql', inputs: ['s', 'sc', 'zp'], outputs: ['sq'] },
        { op: 'DequantizeLinear', name: 'dq', inputs: ['sq', 'sc', 'zp'], outputs: ['sd'] },
        { op: 'Add', name: 'add', inputs: ['sd', 's'], outputs: ['y'] },
      ],
    });
    const fm = importGraph(loadOnnx(bytes));
    const q = quantizeModel(fm, randoms(50, 4, -4, 4));
    const add = q.layers.find((l) => l.kind === 'affine')!;
    expect(add.inputs[0]).not.toBe(add.inputs[1]);
    const x = Float64Array.of(3, 3, -3, 0);
    const f = runFloat(fm, x);
    const z = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
    z.forEach((v, i) => expect(Math.abs(v - f[i])).toBeLessThan(0.02));
  });

  it('ArgMax over logits whose aligned integers would pass 2^50 compares requantized values instead (exact in float64)', () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 16] }], outputs: [{ name: 'y', shape: [1, 1] }],
      initializers: [
        { name: 'A', dims: [16, 64], data: Array.from({ length: 1024 }, () => (rnd() * 2 - 1) * 3) },
        { name: 'B', dims: [64, 10], data: Array.from({ length: 640 }, (_, i) => (rnd() * 2 - 1) * (i % 10 === 3 ? 0.02 : 1)) },
      ],
      nodes: [
        { op: 'MatMul', name: 'mm1', inputs: ['x', 'A'], outputs: ['h'] },
        { op: 'MatMul', name: 'mm2', inputs: ['h', 'B'], outputs: ['l'] },
        { op: 'ArgMax', name: 'am', inputs: ['l'], outputs: ['y'], attrs: { axis: 1 } },
      ],
    });
    const q = quantizeModel(importGraph(loadOnnx(bytes)), randoms(32, 16, -1, 1), { multiplierBits: 31 });
    const am = q.layers.find((l) => l.kind === 'argmax')!;
    if (am.kind !== 'argmax') throw new Error('no argmax');
    // Aligning these per-channel scales at 31 bits would need ~2^59: the logits are requantized to uint8.
    expect(am.multipliers.every((m) => m === 1)).toBe(true);
    expect(q.layers.map((l) => l.kind)).toEqual(['dense', 'dense', 'requant', 'argmax']);
    expect(am.diffBits).toBeLessThanOrEqual(9);
  });

  it('clamps that miss the uint8 grid stay inside [0, 255]', () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 4] }], outputs: [{ name: 'y', shape: [1, 3] }],
      initializers: [{ name: 'W', dims: [4, 3], data: randoms(1, 12, -1, 1)[0] }, ...[0, 6, 10, 20].map((v, i) => ({ name: `c${i}`, dims: [], data: [v] }))],
      nodes: [
        { op: 'MatMul', name: 'mm', inputs: ['x', 'W'], outputs: ['h'] },
        { op: 'Clip', name: 'clip1', inputs: ['h', 'c0', 'c1'], outputs: ['a'] },
        { op: 'Clip', name: 'clip2', inputs: ['a', 'c2', 'c3'], outputs: ['y'] },
      ],
    });
    const q = quantizeModel(importGraph(loadOnnx(bytes)), randoms(32, 4, -1, 1));
    for (const l of q.layers.filter((x): x is QClamp => x.kind === 'clamp')) {
      expect(l.lo).toBeGreaterThanOrEqual(0);
      expect(l.hi).toBeLessThanOrEqual(255);
      expect(l.lo).toBeLessThanOrEqual(l.hi);
    }
  });

  it('cost formula: a repeated output signal costs 1 per repeat, a constant binding costs 0', async () => {
    await mkdir('artifacts/test/edges', { recursive: true });
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 1, 4, 4] }], outputs: [{ name: 'y', shape: [1, 2, 2, 2] }],
      initializers: [{ name: 'p', dims: [8], data: [0, 0, 1, 1, 0, 0, 0, 0] }, { name: 'v', dims: [], data: [0.7] }],
      nodes: [
        // Pad with a constant, max-pool over windows that include it (constant operands), output twice.
        { op: 'Pad', name: 'pad', inputs: ['x', 'p', 'v'], outputs: ['xp'] },
        { op: 'MaxPool', name: 'pool', inputs: ['xp'], outputs: ['m'], attrs: { kernel_shape: [3, 3], strides: [2, 2] } },
        { op: 'Concat', name: 'cat', inputs: ['m', 'm'], outputs: ['y'], attrs: { axis: 1 } },
      ],
    });
    await writeFile('artifacts/test/edges/dup.onnx', bytes);
    const r = await compileModel('artifacts/test/edges/dup.onnx', { out: 'artifacts/test/edges/dup', calibration: randoms(8, 16, -1, 1) });
    expect(r.manifest.circuit.constraints).toBe(r.manifest.circuit.predictedConstraints);
    const q = quantizeModel(importGraph(loadOnnx(bytes)), randoms(8, 16, -1, 1));
    // 4 pooled values bound once each as gadget outputs (free), then 4 repeats (1 each).
    expect(emitCircuit(q).outputConstraints).toBe(4);
  });
});

describe('loop emission (large models) equals the reference', () => {
  it('conv with pads, stride, dilation and groups, then dense, emitted as loops: witness == reference, cost == formula', async () => {
    const { compileCircuit } = await import('../src/compile/compile.ts');
    const { computeWitness } = await import('../src/prove/witness.ts');
    const { toField } = await import('../src/field.ts');
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 2, 7, 7] }], outputs: [{ name: 'y', shape: [1, 3] }],
      initializers: [
        { name: 'W', dims: [4, 1, 3, 3], data: randoms(1, 36, -1, 1)[0] }, { name: 'B', dims: [4], data: [0.1, -0.2, 0.3, 0] },
        { name: 'F', dims: [3, 36], data: randoms(1, 108, -1, 1)[0] },
      ],
      nodes: [
        { op: 'Conv', name: 'conv', inputs: ['x', 'W', 'B'], outputs: ['c'], attrs: { pads: [2, 1, 1, 2], strides: [2, 2], dilations: [2, 2], group: 2 } },
        { op: 'Relu', name: 'relu', inputs: ['c'], outputs: ['r'] },
        { op: 'Flatten', name: 'flat', inputs: ['r'], outputs: ['f'] },
        { op: 'Gemm', name: 'fc', inputs: ['f', 'F'], outputs: ['y'], attrs: { transB: 1 } },
      ],
    });
    const q = quantizeModel(importGraph(loadOnnx(bytes)), randoms(16, 98, -1, 1));
    const e = emitCircuit(q, { unroll: false });
    expect(e.source).toMatch(/for \(var co = 0;/);
    const dir = 'artifacts/test/edges/loops';
    await mkdir(dir, { recursive: true });
    await writeFile(`${dir}/loops.circom`, e.source);
    const r = await compileCircuit(`${dir}/loops.circom`, dir, 'wasm');
    expect(r.constraints).toBe(e.constraints);
    for (const x of [new Array(98).fill(0), new Array(98).fill(255), ...randoms(4, 98, 0, 256).map((v) => Array.from(v, Math.floor))]) {
      const w = await computeWitness(`${dir}/circuit_js/circuit.wasm`, { in: x });
      const want = runInteger(q, x);
      expect(w.values.slice(1, 1 + want.length)).toEqual(want.map((v) => toField(v)));
    }
  });
});
