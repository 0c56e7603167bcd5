import { describe, expect, it } from 'vitest';
import { OnnxParseError, UnsupportedModelError } from '../src/errors.ts';
import { importGraph } from '../src/ir/import.ts';
import { buildOnnxModel, randomMlp, type ModelSpec } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { runFloat } from '../src/reference/float.ts';
import { randomInputs } from './helpers/fixtures.ts';
import { runOrt } from './helpers/ort.ts';
import { catchErr } from './helpers/errors.ts';

const importBytes = (b: Uint8Array) => importGraph(loadOnnx(b));

const gemmSpec = (extra: Partial<ModelSpec> = {}, attrs = {}): ModelSpec => ({
  inputs: [{ name: 'x', shape: [1, 3] }],
  outputs: [{ name: 'y', shape: [1, 2] }],
  initializers: [
    { name: 'W', dims: [3, 2], data: [1, 2, 3, 4, 5, 6] },
    { name: 'b', dims: [2], data: [0.5, -0.5] },
  ],
  nodes: [{ op: 'Gemm', name: 'fc', inputs: ['x', 'W', 'b'], outputs: ['y'], attrs }],
  ...extra,
});

describe('ONNX import', () => {
  it('imports Gemm with alpha, beta, transB and computes what onnxruntime computes', async () => {
    for (const style of ['gemm', 'gemm-transB', 'matmul-add'] as const) {
      for (const opset of [9, 11, 13, 17, 21]) {
        for (const encoding of ['raw', 'typed'] as const) {
          const m = randomMlp({ sizes: [12, 7, 5, 3], seed: opset, style, opset, encoding, extraNoOps: true, alpha: style === 'matmul-add' ? undefined : 0.7, beta: style === 'matmul-add' ? undefined : 1.3, batchDim: 'N' });
          const f = importBytes(m.bytes);
          expect(f.layers.map((l) => l.kind)).toContain('dense');
          for (const x of randomInputs(12, 3, opset)) {
            const ours = runFloat(f, x);
            const ort = await runOrt(m.bytes, m.inputName, m.inputShape, x);
            ours.forEach((v, i) => expect(v).toBeCloseTo(ort[i], 4));
          }
        }
      }
    }
  });

  it('imports Flatten of a 4-D input and a Reshape given by a Constant node', async () => {
    const m = randomMlp({ sizes: [16, 6, 4], seed: 5, style: 'gemm', flattenInput: [1, 4, 4] });
    const f = importBytes(m.bytes);
    expect(f.input.shape).toEqual([1, 1, 4, 4]);
    const x = randomInputs(16, 1, 9)[0];
    const ort = await runOrt(m.bytes, m.inputName, m.inputShape, x);
    runFloat(f, x).forEach((v, i) => expect(v).toBeCloseTo(ort[i], 4));

    const spec = gemmSpec({
      inputs: [{ name: 'x', shape: [1, 3, 1] }],
      nodes: [
        { op: 'Constant', name: 'shape', inputs: [], outputs: ['s'], attrs: { value: { tensor: { dims: [2], data: [1, -1], dataType: 'int64' } } } },
        { op: 'Reshape', name: 'rs', inputs: ['x', 's'], outputs: ['x2'] },
        { op: 'Gemm', name: 'fc', inputs: ['x2', 'W', 'b'], outputs: ['y'] },
      ],
    });
    const g = importBytes(buildOnnxModel(spec));
    expect(g.layers.map((l) => l.kind)).toEqual(['reshape', 'dense']);
    expect(Array.from(runFloat(g, [1, 1, 1]))).toEqual([9.5, 11.5]);
  });

  it('rejects bytes that are not ONNX with a clear error', () => {
    const e = catchErr(() => loadOnnx(new Uint8Array([0xff, 0xff, 0xff, 0x0f, 1, 2, 3]), "'junk.onnx'"));
    expect(e).toBeInstanceOf(OnnxParseError);
    expect(e.message).toMatch(/'junk.onnx' is not a valid ONNX model/);
    const empty = catchErr(() => loadOnnx(new Uint8Array(), 'empty'));
    expect(empty).toBeInstanceOf(OnnxParseError);
  });

  it('names the node, the op and the supported ops for an unsupported op', () => {
    const spec = gemmSpec();
    spec.nodes.push({ op: 'BitShift', name: 'act', inputs: ['y'], outputs: ['z'] });
    spec.outputs = [{ name: 'z', shape: [1, 2] }];
    const e = catchErr(() => importBytes(buildOnnxModel(spec))) as UnsupportedModelError;
    expect(e).toBeInstanceOf(UnsupportedModelError);
    expect(e.issues).toEqual([{ node: 'act', op: 'BitShift', message: "op 'BitShift' is not supported" }]);
    expect(e.message).toMatch(/node 'act' \(BitShift\)/);
    // The supported ops are listed once, in the error's hint, not in every issue.
    expect(e.hint).toMatch(/supports these ONNX ops: .*Gemm.*MatMul.*Relu/);
  });

  it('collects every problem, not just the first', () => {
    const spec = gemmSpec({}, { foo: 2 });
    spec.nodes.push({ op: 'BitShift', name: 'sp', inputs: ['y'], outputs: ['z'] }, { op: 'Det', name: 'th', inputs: ['z'], outputs: ['t'] });
    spec.outputs = [{ name: 't', shape: [1, 2] }];
    const e = catchErr(() => importBytes(buildOnnxModel(spec))) as UnsupportedModelError;
    expect(e.issues.map((i) => `${i.node}:${i.op}`)).toEqual(['fc:Gemm', 'sp:BitShift', 'th:Det']);
    expect(e.issues[0].message).toMatch(/attribute 'foo' is not supported/);
  });

  it('rejects opsets outside 9-21 and a batch larger than 1', () => {
    for (const opset of [8, 22]) {
      const e = catchErr(() => loadOnnx(buildOnnxModel(gemmSpec({ opset })))) as UnsupportedModelError;
      expect(e).toBeInstanceOf(UnsupportedModelError);
      expect(e.message).toMatch(new RegExp(`opset ${opset} is outside the supported range 9-21`));
    }
    const e = catchErr(() => importBytes(buildOnnxModel(gemmSpec({ inputs: [{ name: 'x', shape: [4, 3] }] })))) as UnsupportedModelError;
    expect(e.issues[0]).toMatchObject({ node: 'fc', op: 'Gemm', message: expect.stringMatching(/batch size must be 1/) });
  });

  it('rejects a non-constant weight and a shape mismatch', () => {
    const spec = gemmSpec({ inputs: [{ name: 'x', shape: [1, 3] }, { name: 'W', shape: [3, 2] }], initializers: [{ name: 'b', dims: [2], data: [0, 0] }] });
    const e1 = catchErr(() => importBytes(buildOnnxModel(spec))) as UnsupportedModelError;
    // Two graph inputs are fine; the Gemm's weight must still be a constant.
    expect(e1.issues.map((i) => i.node)).toEqual(['fc']);

    const bad = gemmSpec({ initializers: [{ name: 'W', dims: [4, 2], data: [1, 2, 3, 4, 5, 6, 7, 8] }, { name: 'b', dims: [2], data: [0, 0] }] });
    const e2 = catchErr(() => importBytes(buildOnnxModel(bad))) as UnsupportedModelError;
    expect(e2.issues[0].message).toMatch(/A has 3 columns but B has 4 rows/);

    // (A Mul of two activations is a product now: src/ops/arith.ts, tested there.)
  });

  it('decodes raw and typed initializers to the same values', () => {
    const a = importBytes(randomMlp({ sizes: [5, 4, 2], seed: 3, style: 'gemm', encoding: 'raw' }).bytes);
    const b = importBytes(randomMlp({ sizes: [5, 4, 2], seed: 3, style: 'gemm', encoding: 'typed' }).bytes);
    expect(a.layers).toEqual(b.layers);
  });
});

describe('ONNX import: broadcasting and declared shapes', () => {
  it('refuses a bias that would broadcast the output to another shape, and a declared output shape the ops do not compute', () => {
    // MatMul [1,3]x[3,2] then Add with dims [2,1]: onnxruntime broadcasts to [2,2]; zkonnx must not import it as a bias.
    const spec: ModelSpec = {
      inputs: [{ name: 'x', shape: [1, 3] }],
      outputs: [{ name: 'y', shape: [2, 2] }],
      initializers: [
        { name: 'W', dims: [3, 2], data: [1, 2, 3, 4, 5, 6] },
        { name: 'b', dims: [2, 1], data: [1, 2] },
      ],
      nodes: [
        { op: 'MatMul', name: 'mm', inputs: ['x', 'W'], outputs: ['h'] },
        { op: 'Add', name: 'bias', inputs: ['h', 'b'], outputs: ['y'] },
      ],
    };
    const e = catchErr(() => importBytes(buildOnnxModel(spec))) as UnsupportedModelError;
    expect(e.issues[0]).toMatchObject({ node: 'bias', op: 'Add', message: expect.stringMatching(/would broadcast \[1,2\] to a larger shape/) });
    // A [1, 2] or [2] bias is fine.
    spec.initializers![1] = { name: 'b', dims: [1, 2], data: [1, 2] };
    spec.outputs = [{ name: 'y', shape: [1, 2] }];
    expect(importBytes(buildOnnxModel(spec)).layers).toHaveLength(1);
    // Declared [1, 3] but the ops compute [1, 2].
    spec.outputs = [{ name: 'y', shape: [1, 3] }];
    const e2 = catchErr(() => importBytes(buildOnnxModel(spec))) as UnsupportedModelError;
    expect(e2.message).toMatch(/declared \[1,3\] but the ops compute \[1,2\]/);
  });
});
