/**
 * NaN and Infinity in a model's constants (issue 10, item 3): import refuses them, naming the initializer (or
 * Constant) and every node that reads it, for every float encoding; the quantizer refuses what becomes
 * non-finite on the way (an overflowing float model, scales that underflow, a non-finite calibration sample)
 * with a typed error instead of a RangeError or a circuit circom cannot compile.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileModel } from '../src/compile/model.ts';
import { InputError, OnnxParseError, UnsupportedModelError, ZkonnxError } from '../src/errors.ts';
import { importGraph } from '../src/ir/import.ts';
import { buildOnnxModel, type AttrValue, type ModelSpec, type TensorDataType } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { ModelProto } from '../src/onnx/proto.ts';
import { quantizeModel } from '../src/quantize/quantize.ts';
import { cli } from './helpers/cli.ts';
import { TEST_ROOT } from './helpers/fixtures.ts';
import { catchErr } from './helpers/errors.ts';

const WORK = join(TEST_ROOT, 'import-hardening');
const importBytes = (b: Uint8Array) => importGraph(loadOnnx(b));

const issuesOf = (f: () => unknown) => {
  const e = catchErr(f);
  expect(e, e.stack).toBeInstanceOf(UnsupportedModelError);
  return (e as UnsupportedModelError).issues;
};

/** x[1,3] -> Gemm(W[3,2], b[2]) -> y. */
const gemm = (w: number[], b: number[], dataType: TensorDataType = 'float', encoding: 'raw' | 'typed' = 'raw'): ModelSpec => ({
  inputs: [{ name: 'x', shape: [1, 3] }],
  outputs: [{ name: 'y', shape: [1, 2] }],
  initializers: [
    { name: 'fc.weight', dims: [3, 2], data: w, dataType, encoding },
    { name: 'fc.bias', dims: [2], data: b, dataType, encoding },
  ],
  nodes: [{ op: 'Gemm', name: 'fc', inputs: ['x', 'fc.weight', 'fc.bias'], outputs: ['y'] }],
});

const W = [1, 2, 3, 4, 5, 6];

describe('import refuses non-finite constants', () => {
  for (const dataType of ['float', 'double'] as const) {
    for (const encoding of ['raw', 'typed'] as const) {
      it(`${dataType} ${encoding}: NaN, Infinity and -Infinity in a weight or a bias name the initializer and the node`, () => {
        for (const bad of [NaN, Infinity, -Infinity]) {
          const inBias = issuesOf(() => importBytes(buildOnnxModel(gemm(W, [0.5, bad], dataType, encoding))));
          expect(inBias).toEqual([{ node: 'fc', op: 'Gemm', message: expect.stringContaining(`initializer 'fc.bias' holds ${bad} at index 1 (of 2 values)`) }]);
          const w = [...W];
          w[4] = bad;
          const inWeight = issuesOf(() => importBytes(buildOnnxModel(gemm(w, [0, 0], dataType, encoding))));
          expect(inWeight).toEqual([{ node: 'fc', op: 'Gemm', message: expect.stringContaining(`initializer 'fc.weight' holds ${bad} at index 4 (of 6 values)`) }]);
          expect(inWeight[0].message).toMatch(/weights, biases and scales must be finite numbers/);
        }
      });
    }
  }

  it('counts several non-finite values, and reports every node that reads the initializer', () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', shape: [1, 3] }],
      outputs: [{ name: 'z', shape: [1, 3] }],
      initializers: [
        { name: 'W', dims: [3, 3], data: [1, NaN, 0, 0, 1, Infinity, 0, 0, 1] },
        { name: 'shift', dims: [3], data: [NaN, 0, 0] },
      ],
      nodes: [
        { op: 'MatMul', name: 'mm1', inputs: ['x', 'W'], outputs: ['h'] },
        { op: 'Relu', name: 'relu', inputs: ['h'], outputs: ['r'] },
        { op: 'MatMul', name: 'mm2', inputs: ['r', 'W'], outputs: ['h2'] },
        { op: 'Relu', name: 'relu2', inputs: ['h2'], outputs: ['r2'] },
        { op: 'Add', name: 'add', inputs: ['r2', 'shift'], outputs: ['z'] },
      ],
    };
    const issues = issuesOf(() => importBytes(buildOnnxModel(spec)));
    expect(issues.map((i) => `${i.node} (${i.op})`)).toEqual(['mm1 (MatMul)', 'mm2 (MatMul)', 'add (Add)']);
    expect(issues[0].message).toMatch(/^initializer 'W' holds 2 non-finite values \(NaN and Infinity\) of 9, the first, NaN, at index 1/);
    expect(issues[2].message).toMatch(/^initializer 'shift' holds NaN at index 0/);
  });

  it('names a Constant node whose value is not finite (tensor and value_floats forms)', () => {
    for (const attrs of [{ value: { tensor: { dims: [2], data: [Infinity, 1] } } }, { value_floats: { floats: [1, NaN] } }] as Record<string, AttrValue>[]) {
      const spec: ModelSpec = {
        inputs: [{ name: 'x', shape: [1, 3] }],
        outputs: [{ name: 'y', shape: [1, 2] }],
        initializers: [{ name: 'W', dims: [3, 2], data: W }],
        nodes: [
          { op: 'Constant', name: 'bias_const', inputs: [], outputs: ['bias'], attrs },
          { op: 'MatMul', name: 'mm', inputs: ['x', 'W'], outputs: ['h'] },
          { op: 'Add', name: 'add_bias', inputs: ['h', 'bias'], outputs: ['y'] },
        ],
      };
      const issues = issuesOf(() => importBytes(buildOnnxModel(spec)));
      expect(issues).toEqual([{ node: 'add_bias', op: 'Add', message: expect.stringMatching(/^constant 'bias' \(made by node 'bias_const'\) holds (Infinity|NaN) at index \d/) }]);
    }
  });

  it('names a NaN scale of a dequantized weight, on the DequantizeLinear and on the MatMul that uses the weight', () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', shape: [1, 3] }],
      outputs: [{ name: 'y', shape: [1, 2] }],
      initializers: [
        { name: 'Wq', dims: [3, 2], data: [1, -2, 3, -4, 5, -6], dataType: 'int8' },
        { name: 'Ws', dims: [], data: [NaN] },
        { name: 'Wzp', dims: [], data: [0], dataType: 'int8' },
      ],
      nodes: [
        { op: 'DequantizeLinear', name: 'dq', inputs: ['Wq', 'Ws', 'Wzp'], outputs: ['W'] },
        { op: 'MatMul', name: 'mm', inputs: ['x', 'W'], outputs: ['y'] },
      ],
    };
    const issues = issuesOf(() => importBytes(buildOnnxModel(spec)));
    expect(issues.map((i) => i.node)).toEqual(['dq', 'mm']);
    expect(issues[0].message).toBe("initializer 'Ws' is NaN");
    expect(issues[1].message).toMatch(/^constant 'W' \(made by node 'dq'\) holds 6 non-finite values \(NaN\)/);
  });

  it('names a non-finite attribute, and a non-finite value computed from finite constants (BatchNorm variance < -epsilon)', () => {
    const alpha = issuesOf(() => importBytes(buildOnnxModel({ ...gemm(W, [0, 0]), nodes: [{ op: 'Gemm', name: 'fc', inputs: ['x', 'fc.weight', 'fc.bias'], outputs: ['y'], attrs: { alpha: { float: NaN } } }] })));
    expect(alpha).toEqual([{ node: 'fc', op: 'Gemm', message: expect.stringMatching(/^attribute 'alpha' is NaN; weights, biases and scales must be finite/) }]);

    const bn: ModelSpec = {
      inputs: [{ name: 'x', shape: [1, 2, 1, 1] }],
      outputs: [{ name: 'y', shape: [1, 2, 1, 1] }],
      initializers: ['s', 'b', 'm'].map((name) => ({ name, dims: [2], data: [1, 0] })).concat([{ name: 'v', dims: [2], data: [-1, 1] }]),
      nodes: [{ op: 'BatchNormalization', name: 'bn', inputs: ['x', 's', 'b', 'm', 'v'], outputs: ['y'] }],
    };
    expect(issuesOf(() => importBytes(buildOnnxModel(bn)))).toEqual([
      { node: 'bn', op: 'BatchNormalization', message: expect.stringMatching(/computes a non-finite coefs\[0\]\[0\] = NaN from finite constants/) },
    ]);
  });

  it('still accepts an infinite Clip bound (it means "no bound") and an unused non-finite initializer', () => {
    const spec: ModelSpec = {
      ...gemm(W, [0, 0]),
      initializers: [...gemm(W, [0, 0]).initializers!, { name: 'lo', dims: [], data: [-Infinity] }, { name: 'hi', dims: [], data: [Infinity] }, { name: 'unused', dims: [1], data: [NaN] }],
      outputs: [{ name: 'z', shape: [1, 2] }],
      nodes: [...gemm(W, [0, 0]).nodes, { op: 'Clip', name: 'clip', inputs: ['y', 'lo', 'hi'], outputs: ['z'] }],
    };
    const m = importBytes(buildOnnxModel(spec));
    expect(m.layers.map((l) => l.kind)).toEqual(['dense', 'clip']);
  });

  it('refuses FLOAT16 tensors (zkonnx does not read them) with a typed error, raw or typed', () => {
    const model = (t: object) =>
      ModelProto.encode({
        irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
        graph: {
          name: 'g', node: [{ opType: 'Gemm', name: 'fc', input: ['x', 'W'], output: ['y'] }],
          initializer: [{ name: 'W', dims: [1, 1], dataType: 10 /* FLOAT16 */, ...t }],
          input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 1 }] } } } }],
          output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 1 }] } } } }],
        },
      }).finish();
    // 0x7e00 is a float16 NaN; typed float16 data lives in int32_data as the raw 16 bits.
    for (const t of [{ rawData: new Uint8Array([0x00, 0x7e]) }, { int32Data: [0x7e00] }]) {
      const e = catchErr(() => importBytes(model(t)));
      expect(e).toBeInstanceOf(UnsupportedModelError);
      expect(e.message).toMatch(/tensor 'W' has data type FLOAT16/);
    }
  });
});

describe('the quantizer refuses what becomes non-finite', () => {
  const twoLayers = (w: number[], dataType: TensorDataType = 'double') =>
    buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 2] }],
      outputs: [{ name: 'y', shape: [1, 2] }],
      initializers: [{ name: 'W1', dims: [2, 2], data: w, dataType }, { name: 'W2', dims: [2, 2], data: w, dataType }],
      nodes: [
        { op: 'MatMul', name: 'mm1', inputs: ['x', 'W1'], outputs: ['h'] },
        { op: 'Relu', name: 'relu', inputs: ['h'], outputs: ['r'] },
        { op: 'MatMul', name: 'mm2', inputs: ['r', 'W2'], outputs: ['y'] },
      ],
    });
  const cal = [Float64Array.of(1, 2), Float64Array.of(3, 4)];

  it('a float model that overflows float64 names the layer that computes Infinity', () => {
    const issues = issuesOf(() => quantizeModel(importBytes(twoLayers([1e300, 1e300, 1e300, 1e300])), cal));
    expect(issues).toEqual([{ node: 'mm2', op: 'dense', message: expect.stringMatching(/computes a non-finite value on calibration sample 0 \(output\[0\] = Infinity.*overflows float64/) }]);
  });

  it('weights whose scale underflows to 0 give a typed error, not a RangeError from BigInt', () => {
    const e = catchErr(() => quantizeModel(importBytes(twoLayers([5e-324, 5e-324, 5e-324, 5e-324])), cal));
    expect(e, e.stack).toBeInstanceOf(UnsupportedModelError);
    expect(e.message).toMatch(/not finite/);
  });

  it('a non-finite calibration sample given to the library is an InputError, not silently skipped', () => {
    const m = importBytes(twoLayers([1, 2, 3, 4]));
    for (const bad of [NaN, Infinity]) {
      const e = catchErr(() => quantizeModel(m, [Float64Array.of(0, 1), Float64Array.of(2, bad)]));
      expect(e).toBeInstanceOf(InputError);
      expect(e.message).toBe(`Calibration sample 1 is not finite: input[1] = ${bad}.\nHint: Inputs must be finite numbers.`);
    }
  });
});

describe('compile refuses a NaN model before writing anything', () => {
  const model = join(WORK, 'nan-bias.onnx');
  const calibration = join(WORK, 'calibration.json');
  beforeAll(async () => {
    await rm(WORK, { recursive: true, force: true });
    await mkdir(WORK, { recursive: true });
    await writeFile(model, buildOnnxModel(gemm(W, [NaN, 0.5])));
    await writeFile(calibration, JSON.stringify([[0.1, 0.2, 0.3], [1, -1, 0.5]]));
  });

  it('library: compileModel throws UnsupportedModelError and creates no directory', async () => {
    const out = join(WORK, 'lib-out');
    const e = await compileModel(model, { out, calibration: [Float64Array.of(0.1, 0.2, 0.3)] }).catch((x: unknown) => x as Error);
    expect(e).toBeInstanceOf(UnsupportedModelError);
    expect((e as ZkonnxError).message).toMatch(/node 'fc' \(Gemm\): initializer 'fc.bias' holds NaN at index 0/);
    expect(existsSync(out)).toBe(false);
  });

  it('CLI: exit 2, the message names the initializer and the node, no stack trace, nothing written', async () => {
    const out = join(WORK, 'cli-out');
    const r = await cli('compile', model, '--calibration', calibration, '--out', out);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^zkonnx: Unsupported model: node 'fc' \(Gemm\): initializer 'fc.bias' holds NaN at index 0 \(of 2 values\)/m);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stderr).not.toMatch(/internal error|zkonnx bug|circom/i);
    expect(existsSync(out)).toBe(false);

    const j = await cli('compile', model, '--calibration', calibration, '--out', out, '--json');
    expect(j.code).toBe(2);
    const err = JSON.parse(j.stdout).error;
    expect(err.code).toBe('UNSUPPORTED_MODEL');
    expect(err.issues).toEqual([{ node: 'fc', op: 'Gemm', message: expect.stringContaining("initializer 'fc.bias' holds NaN") }]);
  });
});

describe('integer constants out of their type\'s range are refused at decode, naming the tensor', () => {
  /** x -> QuantizeLinear(s, zp) -> DequantizeLinear -> MatMul(DequantizeLinear(Wq, ws, wzp)) -> y, typed data as given. */
  const qdq = (zp: object, wq: object, wzp: object, extra: object[] = []) =>
    ModelProto.encode({
      irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'g',
        node: [
          { opType: 'QuantizeLinear', name: 'q', input: ['x', 's', 'zp'], output: ['xq'] },
          { opType: 'DequantizeLinear', name: 'dq', input: ['xq', 's', 'zp'], output: ['xd'] },
          { opType: 'DequantizeLinear', name: 'dqw', input: ['Wq', 'ws', 'wzp'], output: ['W'] },
          { opType: 'MatMul', name: 'mm', input: ['xd', 'W'], output: ['y'] },
        ],
        initializer: [
          { name: 's', dims: [], dataType: 1, floatData: [1 / 64] },
          { name: 'zp', dims: [], dataType: 2, ...zp },
          { name: 'Wq', dims: [2, 2], dataType: 3, ...wq },
          { name: 'ws', dims: [], dataType: 1, floatData: [0.01] },
          { name: 'wzp', dims: [], dataType: 3, ...wzp },
          ...extra,
        ],
        input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 2 }] } } } }],
        output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 2 }] } } } }],
      },
    }).finish();
  const ok = { zp: { int32Data: [128] }, wq: { int32Data: [1, -2, 127, -128] }, wzp: { int32Data: [0] } };

  it('UINT8, INT8 and BOOL in int32_data: the range ends are read, one past them is an OnnxParseError', () => {
    // Before: a UINT8 zero point of 1000 became the input's zero point (every input saturated to one value),
    // and an "int8" weight of 100000 was used as is, in the circuit too; onnxruntime would refuse both.
    expect(importBytes(qdq(ok.zp, ok.wq, ok.wzp)).layers.length).toBeGreaterThan(0);
    expect(importBytes(qdq({ int32Data: [255] }, ok.wq, { int32Data: [-128] })).layers.length).toBeGreaterThan(0);
    const cases: [object, object, object, RegExp][] = [
      [{ int32Data: [1000] }, ok.wq, ok.wzp, /^Tensor 'zp' \(initializer 'zp'\) is malformed: holds 1000 at index 0 \(of 1 values\), outside the UINT8 range \[0, 255\]\.$/],
      [{ int32Data: [-1] }, ok.wq, ok.wzp, /^Tensor 'zp' .*holds -1 at index 0 .*outside the UINT8 range \[0, 255\]/],
      [ok.zp, { int32Data: [1, 2, 100000, 4] }, ok.wzp, /^Tensor 'Wq' \(initializer 'Wq'\) is malformed: holds 100000 at index 2 \(of 4 values\), outside the INT8 range \[-128, 127\]\.$/],
      [ok.zp, { int32Data: [1, -129, 3, 4] }, ok.wzp, /^Tensor 'Wq' .*holds -129 at index 1 .*INT8 range/],
      [ok.zp, ok.wq, { int32Data: [128] }, /^Tensor 'wzp' .*holds 128 at index 0 .*INT8 range/],
    ];
    for (const [zp, wq, wzp, message] of cases) {
      const e = catchErr(() => importBytes(qdq(zp, wq, wzp)));
      expect(e, e.stack).toBeInstanceOf(OnnxParseError);
      expect(e.message).toMatch(message);
    }
    const bool = catchErr(() => importBytes(qdq(ok.zp, ok.wq, ok.wzp, [{ name: 'flag', dims: [2], dataType: 9, int32Data: [1, 2] }])));
    expect(bool).toBeInstanceOf(OnnxParseError);
    expect(bool.message).toMatch(/^Tensor 'flag' .*holds 2 at index 1 \(of 2 values\), outside the BOOL range \{0, 1\}/);
  });

  it('INT64 beyond 2^53 (which float64 would change) is refused, raw or typed, and in attribute ints; INT64_MAX/MIN ("no bound") are read', () => {
    const big = 2n ** 53n + 1n;
    const raw = (v: bigint) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigInt64(0, v, true);
      return b;
    };
    const long = (v: bigint) => ({ low: Number(BigInt.asIntN(32, v)), high: Number(BigInt.asIntN(32, v >> 32n)), unsigned: false, toNumber: () => Number(v) });
    for (const t of [{ rawData: raw(big) }, { int64Data: [long(big)] }, { rawData: raw(-big) }]) {
      const e = catchErr(() => importBytes(qdq(ok.zp, ok.wq, ok.wzp, [{ name: 'shape', dims: [1], dataType: 7, ...t }])));
      expect(e).toBeInstanceOf(OnnxParseError);
      expect(e.message).toMatch(/^Tensor 'shape' \(initializer 'shape'\) is malformed: holds the INT64 value -?9007199254740993 at index 0 \(of 1 values\), beyond 2\^53/);
    }
    const ends = loadOnnx(qdq(ok.zp, ok.wq, ok.wzp, [{ name: 'ends', dims: [2], dataType: 7, int64Data: [long(2n ** 63n - 1n), long(-(2n ** 63n))] }, { name: 'e2', dims: [1], dataType: 7, rawData: raw(2n ** 53n - 1n) }]));
    expect(Array.from(ends.initializers.get('ends')!.data)).toEqual([2 ** 63, -(2 ** 63)]);
    expect(Array.from(ends.initializers.get('e2')!.data)).toEqual([2 ** 53 - 1]);
    const attr = ModelProto.encode({
      irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'g',
        node: [{ opType: 'Transpose', name: 't', input: ['x'], output: ['y'], attribute: [{ name: 'perm', type: 7, ints: [long(0n), long(big)] }] }],
        input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 2 }] } } } }],
        output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }, { dimValue: 1 }] } } } }],
      },
    }).finish();
    const e = catchErr(() => loadOnnx(attr));
    expect(e).toBeInstanceOf(OnnxParseError);
    expect(e.message).toBe("Attribute 'perm' of node 't' is malformed: holds the value 9007199254740993 at index 1, beyond 2^53: zkonnx reads integers as float64, which would change it.");
  });
});
