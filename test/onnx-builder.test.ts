import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { buildOnnxModel, mulberry32, randomMlp, type AttrValue, type RandomMlpOptions } from '../src/onnx/builder.ts';

async function runModel(bytes: Uint8Array, feeds: Record<string, { data: Float32Array; dims: number[] }>) {
  const session = await ort.InferenceSession.create(Buffer.from(bytes));
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor('float32', v.data, v.dims);
  const out = await session.run(ortFeeds);
  const res: Record<string, { data: number[]; dims: readonly number[] }> = {};
  for (const [k, t] of Object.entries(out)) res[k] = { data: Array.from(t.data as Float32Array), dims: t.dims };
  return res;
}

function randomInput(shape: number[], seed: number): Float32Array {
  const r = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = r() * 2 - 1;
  return x;
}

async function runMlp(opts: RandomMlpOptions, inputSeed = 99) {
  const m = randomMlp(opts);
  const x = randomInput(m.inputShape, inputSeed);
  const out = await runModel(m.bytes, { [m.inputName]: { data: x, dims: m.inputShape } });
  const y = out[m.outputName];
  expect(y).toBeDefined();
  return { m, y: y! };
}

describe('mulberry32', () => {
  it('is deterministic and in [0,1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(mulberry32(43)()).not.toBe(xs[0]);
  });
});

describe('buildOnnxModel', () => {
  it('hand-built Gemm (transB, alpha, beta) computes the expected numbers', async () => {
    // Y = alpha * X * W^T + beta * C
    const X = [1, 2, 3, -1, 0, 0.5]; // [2,3]
    const W = [1, 0, -1, 2, 1, 0.5, 0, 0, 3, -2, 1, 1]; // [4,3]
    const C = [0.5, -1, 2, 0]; // [4]
    const alpha = 2;
    const beta = 0.5;
    const spec = (alphaAttr: AttrValue) =>
      buildOnnxModel({
        inputs: [{ name: 'x', shape: ['N', 3] }],
        outputs: [{ name: 'y', shape: ['N', 4] }],
        initializers: [
          { name: 'W', dims: [4, 3], data: W, encoding: 'typed' },
          { name: 'C', dims: [4], data: C },
        ],
        nodes: [{ op: 'Gemm', inputs: ['x', 'W', 'C'], outputs: ['y'], attrs: { transB: 1, alpha: alphaAttr, beta } }],
      });
    // A plain integral number becomes an INT attribute, which ORT rejects for Gemm.alpha.
    await expect(ort.InferenceSession.create(Buffer.from(spec(alpha)))).rejects.toThrow(/alpha/);
    const out = await runModel(spec({ float: alpha }), { x: { data: Float32Array.from(X), dims: [2, 3] } });
    const expected: number[] = [];
    for (let n = 0; n < 2; n++) {
      for (let o = 0; o < 4; o++) {
        let s = 0;
        for (let i = 0; i < 3; i++) s += X[n * 3 + i]! * W[o * 3 + i]!;
        expected.push(alpha * s + beta * C[o]!);
      }
    }
    expect(out.y!.dims).toEqual([2, 4]);
    out.y!.data.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });

  it('writes INT/FLOAT/INTS/STRING/TENSOR attributes and int64 initializers', async () => {
    // Constant(value: TENSOR) -> Mul -> DepthToSpace(blocksize: INT, mode: STRING) -> Reshape(int64 shape)
    // -> Transpose(perm: INTS) -> LeakyRelu(alpha: FLOAT) -> Flatten(axis: INT)
    const bytes = buildOnnxModel({
      opset: 13,
      inputs: [{ name: 'x', shape: [1, 4, 1, 1] }],
      outputs: [{ name: 'y', shape: [1, 4] }],
      initializers: [{ name: 'shape', dims: [4], data: [1, 1, 2, 2], dataType: 'int64', encoding: 'typed' }],
      nodes: [
        { op: 'Constant', inputs: [], outputs: ['c'], attrs: { value: { tensor: { dims: [1, 4, 1, 1], data: [1, -2, 3, -4] } } } },
        { op: 'Mul', inputs: ['x', 'c'], outputs: ['xc'] },
        { op: 'DepthToSpace', inputs: ['xc'], outputs: ['d2s'], attrs: { blocksize: 2, mode: 'CRD' } }, // [1,1,2,2]
        { op: 'Reshape', inputs: ['d2s', 'shape'], outputs: ['r'] },
        { op: 'Transpose', inputs: ['r'], outputs: ['t'], attrs: { perm: [0, 1, 3, 2] } },
        { op: 'LeakyRelu', inputs: ['t'], outputs: ['l'], attrs: { alpha: 0.25 } },
        { op: 'Flatten', inputs: ['l'], outputs: ['y'], attrs: { axis: 1 } },
      ],
    });
    const out = await runModel(bytes, { x: { data: Float32Array.from([1, 1, 1, 1]), dims: [1, 4, 1, 1] } });
    // xc = [1,-2,3,-4] -> d2s [[1,-2],[3,-4]] -> transpose [[1,3],[-2,-4]] -> leaky [1,3,-0.5,-1]
    expect(out.y!.data).toEqual([1, 3, -0.5, -1]);
  });

  it('rejects mismatched initializer sizes and non-integer INTS', () => {
    expect(() =>
      buildOnnxModel({ inputs: [], outputs: [], nodes: [], initializers: [{ name: 'w', dims: [2, 2], data: [1, 2, 3] }] }),
    ).toThrow(/need 4 values/);
    expect(() =>
      buildOnnxModel({ inputs: [], outputs: [], nodes: [{ op: 'X', inputs: [], outputs: [], attrs: { a: [1, 1.5] } }] }),
    ).toThrow(/floats/);
  });
});

describe('randomMlp loads and runs in onnxruntime-node', () => {
  const styles = ['gemm', 'gemm-transB', 'matmul-add'] as const;
  const opsets = [9, 11, 13, 17, 21];

  for (const opset of opsets) {
    it(`opset ${opset}: every style x encoding runs; encodings and styles agree`, async () => {
      const results: number[][] = [];
      for (const style of styles) {
        for (const encoding of ['raw', 'typed'] as const) {
          const { y } = await runMlp({ sizes: [12, 10, 6, 3], seed: 7, style, encoding, opset });
          expect(y.dims).toEqual([1, 3]);
          expect(y.data.every(Number.isFinite)).toBe(true);
          results.push(y.data);
        }
      }
      // Same seed => same logical weights, so all six variants compute the same function.
      for (const r of results.slice(1)) r.forEach((v, i) => expect(v).toBeCloseTo(results[0]![i]!, 5));
      // activations stay O(1)
      expect(Math.max(...results[0]!.map(Math.abs))).toBeLessThan(10);
    });

    it(`opset ${opset}: Flatten + Identity/Dropout/Reshape no-ops do not change the result`, async () => {
      for (const style of styles) {
        for (const encoding of ['raw', 'typed'] as const) {
          const base = await runMlp({ sizes: [16, 8, 4], seed: 3, style, encoding, opset });
          const noisy = await runMlp({ sizes: [16, 8, 4], seed: 3, style, encoding, opset, extraNoOps: true, flattenInput: [1, 4, 4] });
          expect(noisy.m.inputShape).toEqual([1, 1, 4, 4]);
          noisy.y.data.forEach((v, i) => expect(v).toBeCloseTo(base.y.data[i]!, 5));
        }
      }
    });
  }

  it('symbolic and fixed batch dims, alpha/beta, relu=false', async () => {
    for (const style of ['gemm', 'gemm-transB'] as const) {
      const sym = randomMlp({ sizes: [5, 4, 2], seed: 11, style, batchDim: 'N', alpha: 1.5, beta: 0.5, extraNoOps: true });
      expect(sym.inputShape).toEqual([1, 5]);
      const session = await ort.InferenceSession.create(Buffer.from(sym.bytes));
      const x = randomInput([3, 5], 1);
      const out = await session.run({ input: new ort.Tensor('float32', x, [3, 5]) });
      expect(out.output!.dims).toEqual([3, 2]);

      const fixed = await runMlp({ sizes: [5, 4, 2], seed: 11, style, batchDim: 3, relu: false, opset: 9 });
      expect(fixed.y.dims).toEqual([3, 2]);
    }
  });
});
