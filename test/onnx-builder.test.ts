import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { buildOnnxModel, mulberry32, randomMlp, type AttrValue, type RandomMlpOptions } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';

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

  for (const encoding of ['raw', 'typed'] as const) {
    it(`int8 / uint8 / int32 initializers (${encoding}) feed QuantizeLinear / per-axis DequantizeLinear`, async () => {
      // y  = x + DequantizeLinear(w int8 [2,3], scale [2], zp int8 [2], axis=0)
      // q  = QuantizeLinear(x, 0.1, uint8 128)  (graph output of type UINT8)
      // u  = DequantizeLinear(uint8 [3], 0.5, uint8 10)
      // b  = DequantizeLinear(int32 [2], scale [2], int32 zp [2], axis=0)
      const wq = [-128, -1, 127, 0, 5, -7];
      const wScale = [0.5, 0.25];
      const wZp = [0, 1];
      const bytes = buildOnnxModel({
        opset: 13,
        inputs: [{ name: 'x', shape: [2, 3] }],
        outputs: [
          { name: 'y', shape: [2, 3] },
          { name: 'q', shape: [2, 3], elemType: 'uint8' },
          { name: 'u', shape: [3] },
          { name: 'b', shape: [2] },
        ],
        initializers: [
          { name: 'w_q', dims: [2, 3], data: wq, dataType: 'int8', encoding },
          { name: 'w_scale', dims: [2], data: wScale, encoding },
          { name: 'w_zp', dims: [2], data: wZp, dataType: 'int8', encoding },
          { name: 'x_scale', dims: [], data: [0.1], encoding },
          { name: 'x_zp', dims: [], data: [128], dataType: 'uint8', encoding },
          { name: 'u_q', dims: [3], data: [0, 10, 255], dataType: 'uint8', encoding },
          { name: 'u_scale', dims: [], data: [0.5], encoding },
          { name: 'u_zp', dims: [], data: [10], dataType: 'uint8', encoding },
          { name: 'b_q', dims: [2], data: [-2147483648, 1000000], dataType: 'int32', encoding },
          { name: 'b_scale', dims: [2], data: [0.5, 0.001], encoding },
          { name: 'b_zp', dims: [2], data: [0, 0], dataType: 'int32', encoding },
        ],
        nodes: [
          { op: 'DequantizeLinear', inputs: ['w_q', 'w_scale', 'w_zp'], outputs: ['w'], attrs: { axis: 0 } },
          { op: 'Add', inputs: ['x', 'w'], outputs: ['y'] },
          { op: 'QuantizeLinear', inputs: ['x', 'x_scale', 'x_zp'], outputs: ['q'] },
          { op: 'DequantizeLinear', inputs: ['u_q', 'u_scale', 'u_zp'], outputs: ['u'] },
          { op: 'DequantizeLinear', inputs: ['b_q', 'b_scale', 'b_zp'], outputs: ['b'], attrs: { axis: 0 } },
        ],
      });
      const session = await ort.InferenceSession.create(Buffer.from(bytes));
      const x = Float32Array.from([0, 1, -1, 0.5, 12.8, -13]);
      const out = await session.run({ x: new ort.Tensor('float32', x, [2, 3]) });
      const expectedY = wq.map((q, i) => x[i]! + (q - wZp[Math.floor(i / 3)]!) * wScale[Math.floor(i / 3)]!);
      Array.from(out.y!.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expectedY[i]!, 5));
      expect(out.q!.type).toBe('uint8');
      // round-half-to-even(x / 0.1) + 128, saturated to [0, 255]
      expect(Array.from(out.q!.data as Uint8Array)).toEqual([128, 138, 118, 133, 255, 0]);
      expect(Array.from(out.u!.data as Float32Array)).toEqual([-5, 0, 122.5]);
      const b = Array.from(out.b!.data as Float32Array);
      expect(b[0]).toBeCloseTo(-1073741824, 0);
      expect(b[1]).toBeCloseTo(1000, 3);
    });
  }

  it('writes STRINGS attributes (string[] or { strings }): loadOnnx reads them back, onnxruntime runs them', async () => {
    // RNN, hidden 2, one step: h = f(W x) with W = [[2], [-3]]; activations per direction as a STRINGS list.
    const rnn = (activations: AttrValue, direction = 'forward') => {
      const D = direction === 'bidirectional' ? 2 : 1;
      return buildOnnxModel({
        inputs: [{ name: 'x', shape: [1, 1, 1] }],
        outputs: [{ name: 'y', shape: [1, D, 1, 2] }],
        initializers: [
          { name: 'W', dims: [D, 2, 1], data: Array.from({ length: D }, () => [2, -3]).flat() },
          { name: 'R', dims: [D, 2, 2], data: new Array(4 * D).fill(0) },
        ],
        nodes: [{ op: 'RNN', name: 'rnn', inputs: ['x', 'W', 'R'], outputs: ['y'], attrs: { hidden_size: 2, direction, activations } }],
      });
    };
    const attrOf = (bytes: Uint8Array) => loadOnnx(bytes).nodes[0]!.attrs.get('activations');
    expect(attrOf(rnn(['Relu']))).toEqual({ type: 'strings', value: ['Relu'] });
    expect(attrOf(rnn({ strings: ['Relu', 'Sigmoid'] }, 'bidirectional'))).toEqual({ type: 'strings', value: ['Relu', 'Sigmoid'] });
    expect(attrOf(rnn({ strings: [] }))).toEqual({ type: 'strings', value: [] });
    expect(attrOf(rnn('Relu'))).toEqual({ type: 'string', value: 'Relu' });
    const x = { x: { data: Float32Array.from([0.5]), dims: [1, 1, 1] } };
    expect((await runModel(rnn(['Relu']), x)).y!.data).toEqual([1, 0]);
    const bi = (await runModel(rnn(['Relu', 'Sigmoid'], 'bidirectional'), x)).y!.data;
    [1, 0, 1 / (1 + Math.exp(-1)), 1 / (1 + Math.exp(1.5))].forEach((e, i) => expect(bi[i]).toBeCloseTo(e, 6));
    // Not a list of strings: refused when building.
    expect(() => rnn(['Relu', 1] as unknown as string[])).toThrow(/mixes strings and numbers/);
    expect(() => rnn({ strings: ['Relu', 2] } as unknown as AttrValue)).toThrow(/non-string/);
  });

  it('rejects out-of-range int8 / uint8 / int32 values', () => {
    for (const encoding of ['raw', 'typed'] as const) {
      const one = (dataType: 'int8' | 'uint8' | 'int32', v: number) => () =>
        buildOnnxModel({ inputs: [], outputs: [], nodes: [], initializers: [{ name: 't', dims: [1], data: [v], dataType, encoding }] });
      expect(one('int8', 128)).toThrow(/out of range/);
      expect(one('int8', -129)).toThrow(/out of range/);
      expect(one('uint8', -1)).toThrow(/out of range/);
      expect(one('uint8', 256)).toThrow(/out of range/);
      expect(one('int32', 2 ** 31)).toThrow(/out of range/);
      expect(one('uint8', 1.5)).toThrow(/safe integer/);
      expect(one('int8', -128)).not.toThrow();
      expect(one('uint8', 255)).not.toThrow();
    }
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
