/**
 * Model size limits (issue 10, item 13): file size, nodes, constant data and predicted constraints, each
 * checked as early as it is known (src/compile/limits.ts), refused with a ModelLimitError (exit 2) that names
 * the limit, the model's value, the limit's value and the flag that raises it.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkGraphSize, DEFAULT_MODEL_LIMITS, resolveModelLimits } from '../src/compile/limits.ts';
import { compileModel, loadModelFile } from '../src/compile/model.ts';
import { emitCircuit, gadgetConstraints } from '../src/emit/circuit.ts';
import { InputError, ModelLimitError, OnnxParseError } from '../src/errors.ts';
import { buildOnnxModel, randomMlp, type ModelSpec } from '../src/onnx/builder.ts';
import { loadOnnx, measureOnnx } from '../src/onnx/load.ts';
import { ModelProto } from '../src/onnx/proto.ts';
import { quantizeModel } from '../src/quantize/quantize.ts';
import { cli } from './helpers/cli.ts';
import { randomInputs, TEST_ROOT } from './helpers/fixtures.ts';
import { catchErr } from './helpers/errors.ts';

const WORK = join(TEST_ROOT, 'model-limits');
const MiB = 2 ** 20;

/** A protobuf writer just big enough to write a chain of Relu nodes without protobufjs' per-node objects. */
class Writer {
  buf = new Uint8Array(1 << 16);
  len = 0;
  private ensure(n: number) {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  varint(v: number) {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }
  /** A length-delimited field holding an ASCII string. */
  str(field: number, s: string) {
    this.varint((field << 3) | 2);
    this.varint(s.length);
    this.ensure(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = s.charCodeAt(i);
  }
  bytes(field: number, b: Uint8Array) {
    this.varint((field << 3) | 2);
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  done() {
    return this.buf.subarray(0, this.len);
  }
}

const varintLength = (v: number): number => (v < 0x80 ? 1 : 1 + varintLength(Math.floor(v / 0x80)));

/**
 * x[1,4] -> Relu -> Relu -> ... (n nodes) -> y, written straight to the wire format: the 10^6-node model is
 * ~30 MB and takes well under a second, where buildOnnxModel needs 1.4 GB.
 */
function reluChain(n: number): Uint8Array {
  const nodes = new Writer();
  for (let i = 0; i < n; i++) {
    const [input, output, name] = [i === 0 ? 'x' : `t${i}`, i === n - 1 ? 'y' : `t${i + 1}`, `relu${i}`];
    const len = [input, output, name, 'Relu'].reduce((a, s) => a + 1 + varintLength(s.length) + s.length, 0);
    nodes.varint((1 << 3) | 2); // GraphProto.node
    nodes.varint(len);
    nodes.str(1, input);
    nodes.str(2, output);
    nodes.str(3, name);
    nodes.str(4, 'Relu');
  }
  const io = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }] } } } });
  const header = ModelProto.encode({ irVersion: 8, producerName: 'test', opsetImport: [{ domain: '', version: 13 }] }).finish();
  // The graph's other fields, as protobufjs writes them: strip ModelProto.graph's tag and length.
  const tailField = ModelProto.encode({ graph: { name: 'chain', input: [io('x')], output: [io('y')] } }).finish();
  let p = 1;
  while (tailField[p] & 0x80) p++;
  const graph = new Writer();
  graph.bytes(7, concat(nodes.done(), tailField.subarray(p + 1)));
  return concat(header, graph.done());
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

const BIG = join(WORK, 'relu-1e6.onnx');
const CHAIN = join(WORK, 'relu-20.onnx');
const INPUT = join(WORK, 'input.json');

beforeAll(async () => {
  await rm(WORK, { recursive: true, force: true });
  await mkdir(WORK, { recursive: true });
  await writeFile(BIG, reluChain(1_000_000));
  await writeFile(CHAIN, reluChain(20));
  await writeFile(INPUT, JSON.stringify([0.5, -0.25, 1, -1]));
});

afterEach(() => vi.restoreAllMocks());

describe('limits: defaults and options', () => {
  it('defaults admit realistic models; a field left out keeps its default; the file limit follows the initializer limit', () => {
    expect(DEFAULT_MODEL_LIMITS).toEqual({ maxModelBytes: 320 * MiB, maxNodes: 10_000, maxInitializerBytes: 256 * MiB, maxConstraints: 2 ** 22 });
    expect(resolveModelLimits()).toEqual(DEFAULT_MODEL_LIMITS);
    expect(resolveModelLimits({ maxNodes: 50, maxConstraints: undefined })).toEqual({ ...DEFAULT_MODEL_LIMITS, maxNodes: 50 });
    expect(resolveModelLimits({ maxInitializerBytes: 1024 * MiB })).toMatchObject({ maxInitializerBytes: 1024 * MiB, maxModelBytes: 1088 * MiB });
    expect(resolveModelLimits({ maxInitializerBytes: 1024 * MiB, maxModelBytes: 2 * MiB }).maxModelBytes).toBe(2 * MiB);
    expect(resolveModelLimits({ maxConstraints: Infinity }).maxConstraints).toBe(Infinity);
  });

  it('refuses a limit that is not a positive integer, naming the flag', () => {
    for (const v of [0, -5, NaN, 1.5, '10' as unknown as number]) {
      const e = (() => {
        try {
          resolveModelLimits({ maxNodes: v });
        } catch (x) {
          return x as Error;
        }
      })();
      expect(e).toBeInstanceOf(InputError);
      expect(e!.message).toMatch(/^The maxNodes limit \(--max-nodes\) must be a positive integer, got /);
    }
  });
});

describe('measureOnnx counts without decoding', () => {
  it('agrees with the decoded model: nodes, initializers (raw and typed) and Constant values', async () => {
    const { readFile } = await import('node:fs/promises');
    const models = [
      await readFile('examples/mnist-mlp/model.onnx'),
      await readFile('examples/mnist-cnn/model.onnx'),
      randomMlp({ sizes: [12, 7, 3], seed: 1, style: 'gemm', encoding: 'raw', extraNoOps: true }).bytes,
      reluChain(7),
    ];
    for (const bytes of models) {
      const g = ModelProto.decode(bytes).graph!;
      const size = measureOnnx(bytes);
      expect(size.complete).toBe(true);
      expect(size.nodes).toBe(g.node!.length);
      // Each initializer's data at its decoded cost (raw bytes; typed values 16 bytes, int64 values and dims
      // 32, at least 4 per element), plus a few bytes of name, dims and type.
      const n = (t: { toNumber?(): number } | number) => (typeof t === 'number' ? t : t.toNumber!());
      const data = (g.initializer ?? []).reduce((a, t) => {
        const values = (t.rawData?.length ?? 0) + 16 * ((t.floatData?.length ?? 0) + (t.int32Data?.length ?? 0) + (t.doubleData?.length ?? 0)) + 32 * ((t.int64Data?.length ?? 0) + (t.dims?.length ?? 0));
        return a + Math.max(values, 4 * (t.dims ?? []).reduce<number>((p, d) => p * n(d), 1));
      }, 0) + (g.node ?? []).reduce((a, nd) => a + (nd.attribute ?? []).reduce((b, at) => b + 32 * (at.ints?.length ?? 0) + 16 * (at.floats?.length ?? 0), 0), 0);
      expect(size.initializerBytes).toBeGreaterThanOrEqual(data);
      // Constant nodes' values (an int64 shape: 32 bytes a value) come on top.
      expect(size.initializerBytes).toBeLessThan(data + 64 * ((g.initializer ?? []).length + g.node!.length) + 1);
    }
    // 1,000 float32 weights, typed (packed float_data) or in a Constant node: ~4,000 bytes either way.
    const weights = Array.from({ length: 1000 }, (_, i) => i / 1000);
    const typed = randomMlp({ sizes: [10, 100], seed: 2, style: 'gemm', encoding: 'typed', relu: false }).bytes;
    expect(measureOnnx(typed).initializerBytes).toBeGreaterThanOrEqual(4400);
    const constant: ModelSpec = {
      inputs: [{ name: 'x', shape: [1, 10] }],
      outputs: [{ name: 'y', shape: [1, 100] }],
      nodes: [
        { op: 'Constant', name: 'w', inputs: [], outputs: ['W'], attrs: { value: { tensor: { dims: [10, 100], data: weights } } } },
        { op: 'MatMul', name: 'mm', inputs: ['x', 'W'], outputs: ['y'] },
      ],
    };
    expect(measureOnnx(buildOnnxModel(constant))).toMatchObject({ nodes: 2, initializerBytes: expect.any(Number) });
    expect(measureOnnx(buildOnnxModel(constant)).initializerBytes).toBeGreaterThanOrEqual(4000);
  });

  it('reports an incomplete scan for bytes that are not protobuf (loadOnnx with limits refuses them unread)', () => {
    expect(measureOnnx(new Uint8Array([0xff, 0xff, 0xff, 0x0f, 1, 2, 3])).complete).toBe(false);
  });
});

/** A tensor message: dims [n], the data type, a name, then whatever `data` writes. */
function tensorMsg(n: number, dataType: number, data: (w: Writer) => void): Uint8Array {
  const w = new Writer();
  const dims = new Writer();
  dims.varint(n);
  w.bytes(1, dims.done());
  w.varint(2 << 3);
  w.varint(dataType);
  w.str(8, 'W');
  data(w);
  return w.done();
}
/** A packed field of n 1-byte varints (value 1): the cheapest encoding of n int64 or int32 values. */
const oneByteVarints = (field: number, n: number) => (w: Writer) => w.bytes(field, new Uint8Array(n).fill(1));
/** x -> Relu -> y, with `extra` (encoded GraphProto fields) appended to the graph. */
function withGraphFields(extra: Uint8Array): Uint8Array {
  const io = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }] } } } });
  const header = ModelProto.encode({ irVersion: 8, producerName: 'test', opsetImport: [{ domain: '', version: 13 }] }).finish();
  const base = ModelProto.encode({ graph: { name: 'g', node: [{ opType: 'Relu', name: 'relu', input: ['x'], output: ['y'] }], input: [io('x')], output: [io('y')] } }).finish();
  let p = 1;
  while (base[p] & 0x80) p++;
  const graph = new Writer();
  graph.bytes(7, concat(base.subarray(p + 1), extra));
  return concat(header, graph.done());
}
const field = (f: number, b: Uint8Array) => {
  const w = new Writer();
  w.bytes(f, b);
  return w.done();
};

describe('constant data is charged at its decoded cost, not its encoded size', () => {
  it('8.5 M int64 values in 1-byte varints (an 8.5 MB file, ~800 MB decoded): refused at the default limit, unread', async () => {
    const path = join(WORK, 'int64-varints.onnx');
    const n = 8_500_000;
    await writeFile(path, withGraphFields(field(5, tensorMsg(n, 7, oneByteVarints(7, n)))));
    const decode = vi.spyOn(ModelProto, 'decode');
    const e = await rejection(loadModelFile(path));
    expect(e).toBeInstanceOf(ModelLimitError);
    expect(e.message).toMatch(/^Model '.*int64-varints.onnx' has 259.4 MiB \(272,000,0\d\d bytes\) of constant data \(initializers and Constant node values\), over the maxInitializerBytes limit of 256 MiB .*\(--max-initializer-mb\)\./);
    expect(decode).not.toHaveBeenCalled();
  });

  it('each encoding: int64 and attribute ints 32 bytes a value, int32/float/double/attribute floats 16, at least 4 per element of dims', () => {
    const n = 1000;
    const sizeOf = (extra: Uint8Array) => measureOnnx(withGraphFields(extra)).initializerBytes;
    expect(sizeOf(field(5, tensorMsg(n, 7, oneByteVarints(7, n))))).toBe(32 * n + 32);
    // Not packed: one value per occurrence.
    const unpacked = (w: Writer) => { for (let i = 0; i < n; i++) { w.varint(7 << 3); w.varint(1); } };
    expect(sizeOf(field(5, tensorMsg(n, 7, unpacked)))).toBe(32 * n + 32);
    expect(sizeOf(field(5, tensorMsg(n, 3, oneByteVarints(5, n))))).toBe(16 * n + 32);
    expect(sizeOf(field(5, tensorMsg(n, 1, (w) => w.bytes(4, new Uint8Array(4 * n)))))).toBe(16 * n + 32);
    expect(sizeOf(field(5, tensorMsg(n, 11, (w) => w.bytes(10, new Uint8Array(8 * n)))))).toBe(16 * n + 32);
    // raw INT8: 1 byte a value, decoded to a float64: 4 bytes per element. Raw float32: its data, and 32 for its dims value.
    expect(sizeOf(field(5, tensorMsg(n, 3, (w) => w.bytes(9, new Uint8Array(n)))))).toBe(4 * n);
    const raw = tensorMsg(n, 1, (w) => w.bytes(9, new Uint8Array(4 * n)));
    expect(sizeOf(field(5, raw))).toBe(4 * n + 32);
    expect(raw.length).toBeLessThan(4 * n + 32);
    // dims alone: a tensor of 10^9 elements without its data is charged for them (decodeTensor would refuse it later).
    expect(sizeOf(field(5, tensorMsg(1e9, 1, () => {})))).toBe(4e9);
    // A Constant node's value_ints / value_floats.
    const constant = (attrField: number, data: Uint8Array) => {
      const a = new Writer();
      a.str(1, 'value_ints');
      a.bytes(attrField, data);
      const node = new Writer();
      node.str(2, 'c');
      node.str(4, 'Constant');
      node.bytes(5, a.done());
      return field(1, node.done());
    };
    expect(sizeOf(constant(8, new Uint8Array(n).fill(1)))).toBe(32 * n);
    expect(sizeOf(constant(7, new Uint8Array(4 * n)))).toBe(16 * n);
  });

  it('a Constant node with 10^6 int64 value_ints (1 MB) is refused by a 16 MiB limit before decoding', () => {
    const a = new Writer();
    a.str(1, 'value_ints');
    a.bytes(8, new Uint8Array(1_000_000).fill(1));
    const node = new Writer();
    node.str(3, 'c');
    node.str(4, 'Constant');
    node.bytes(5, a.done());
    const decode = vi.spyOn(ModelProto, 'decode');
    const limits = resolveModelLimits({ maxInitializerBytes: 16 * MiB });
    const e = catchErr(() => loadOnnx(withGraphFields(field(1, node.done())), 'ints', { checkSize: (s) => checkGraphSize(s, limits, 'ints') }));
    expect(e).toBeInstanceOf(ModelLimitError);
    expect(e.message).toMatch(/^Model ints has 30.5 MiB \(32,000,000 bytes\) of constant data .*over the maxInitializerBytes limit of 16 MiB/);
    expect(decode).not.toHaveBeenCalled();
  });

  it('graph structure: a node with 10^6 empty inputs (2 MB) counts 64 bytes each against maxModelBytes, before decoding', () => {
    const node = new Writer();
    for (let i = 0; i < 1_000_000; i++) node.str(1, '');
    node.str(4, 'Relu');
    const bytes = withGraphFields(field(1, node.done()));
    expect(measureOnnx(bytes).structureBytes).toBeGreaterThan(64_000_000);
    const decode = vi.spyOn(ModelProto, 'decode');
    const limits = resolveModelLimits({ maxModelBytes: 32 * MiB });
    const e = catchErr(() => loadOnnx(bytes, 'inputs', { checkSize: (s) => checkGraphSize(s, limits, 'inputs') }));
    expect(e).toBeInstanceOf(ModelLimitError);
    expect(e.message).toMatch(/^Model inputs has a graph structure \(names, node inputs and outputs, attributes, value infos, shapes\) that decodes to 6\d(\.\d)? MiB .*over the maxModelBytes limit of 32 MiB/);
    expect(decode).not.toHaveBeenCalled();
  });

  it('a known field with the wrong wire type, or a group, is refused unread (the decoder would read what the scan skipped)', () => {
    // ModelProto.graph as a varint: protobufjs would take the varint as the graph's length and decode the bytes after it.
    const hidden = concat(new Uint8Array([7 << 3, 0x10]), field(5, tensorMsg(4, 7, oneByteVarints(7, 4))).subarray(0, 16));
    for (const bytes of [hidden, concat(withGraphFields(new Uint8Array()), new Uint8Array([(9 << 3) | 3, (9 << 3) | 4]))]) {
      const size = measureOnnx(bytes);
      expect(size.complete).toBe(false);
      const decode = vi.spyOn(ModelProto, 'decode');
      const e = catchErr(() => loadOnnx(bytes, "'bad.onnx'", { checkSize: () => {} }));
      expect(e).toBeInstanceOf(OnnxParseError);
      expect(e.message).toMatch(new RegExp(`^'bad.onnx' is not a valid ONNX model: ${size.problem!.replace(/[()]/g, '\\$&')}\\.`));
      expect(decode).not.toHaveBeenCalled();
      vi.restoreAllMocks();
    }
    expect(measureOnnx(hidden).problem).toBe('field 7 of the model has wire type 0, expected 2');
  });
});

describe('the limits fire before the work they guard', () => {
  it('10^6 Relu nodes: refused by the node count before the protobuf is decoded', async () => {
    const decode = vi.spyOn(ModelProto, 'decode');
    const e = await rejection(loadModelFile(BIG));
    expect(e).toBeInstanceOf(ModelLimitError);
    expect((e as ModelLimitError).code).toBe('MODEL_LIMIT');
    expect((e as ModelLimitError).exitCode).toBe(2);
    expect((e as ModelLimitError).shortMessage).toBe(`Model '${BIG}' has 1,000,000 nodes, over the maxNodes limit of 10,000 (--max-nodes).`);
    expect((e as ModelLimitError).hint).toMatch(/raise the limit: --max-nodes 1000000 \(zkonnx compile, zkonnx run\), or limits: \{ maxNodes: 1000000 \}/);
    expect(decode).not.toHaveBeenCalled();
  });

  it('raising the node limit admits the model (a 20-node chain: refused at 19, imported at 20)', async () => {
    const e = await rejection(loadModelFile(CHAIN, { limits: { maxNodes: 19 } }));
    expect(e.message).toMatch(/has 20 nodes, over the maxNodes limit of 19 \(--max-nodes\)/);
    const { model } = await loadModelFile(CHAIN, { limits: { maxNodes: 20 } });
    expect(model.layers).toHaveLength(20);
  });

  it('constant data: initializers and Constant values count, before decoding', () => {
    const decode = vi.spyOn(ModelProto, 'decode');
    const mlp = randomMlp({ sizes: [100, 100, 10], seed: 4, style: 'gemm' }).bytes; // 11,110 float32 = ~44 KB
    const check = (maxInitializerBytes: number) => (size: { nodes: number; initializerBytes: number }) => {
      if (size.initializerBytes > maxInitializerBytes) throw new ModelLimitError(`${size.initializerBytes}`);
    };
    expect(() => loadOnnx(mlp, 'mlp', { checkSize: check(40_000) })).toThrow(ModelLimitError);
    expect(decode).not.toHaveBeenCalled();
    expect(loadOnnx(mlp, 'mlp', { checkSize: check(50_000) }).nodes.length).toBeGreaterThan(0);
  });

  it('loadModelFile: the constant-data and file-size limits name their flags', async () => {
    const path = join(WORK, 'mlp.onnx');
    await writeFile(path, randomMlp({ sizes: [100, 100, 10], seed: 4, style: 'gemm' }).bytes);
    const decode = vi.spyOn(ModelProto, 'decode');
    const init = await rejection(loadModelFile(path, { limits: { maxInitializerBytes: 10_000 } }));
    expect(init).toBeInstanceOf(ModelLimitError);
    expect(init.message).toMatch(/^Model '.*mlp.onnx' has 44,\d{3} bytes of constant data \(initializers and Constant node values\), over the maxInitializerBytes limit of 10,000 bytes \(--max-initializer-mb\)\./);
    const file = await rejection(loadModelFile(path, { limits: { maxModelBytes: 1000 } }));
    expect(file).toBeInstanceOf(ModelLimitError);
    expect(file.message).toMatch(/^Model '.*mlp.onnx' is 44,\d{3} bytes, over the maxModelBytes limit of 1,000 bytes \(--max-model-mb\)\.\nHint: .*--max-model-mb 1 /);
    expect(decode).not.toHaveBeenCalled();
  });

  it('predicted constraints: refused from the op cost formulas before the source is written, exactly before circom runs; nothing is written', async () => {
    const path = join(WORK, 'small.onnx');
    await writeFile(path, randomMlp({ sizes: [6, 5, 3], seed: 8, style: 'gemm' }).bytes);
    const { model } = await loadModelFile(path);
    const calibration = randomInputs(6, 4, 9);
    const q = quantizeModel(model, calibration);
    const gadgets = gadgetConstraints(q);
    const exact = emitCircuit(q).constraints;
    // The bindings (each requantization's u = M*acc + C, the wide outputs) come on top of the gadgets.
    expect(exact).toBeGreaterThan(gadgets);

    const out = join(WORK, 'small-out');
    const early = await rejection(compileModel(path, { out, calibration, limits: { maxConstraints: 10 } }));
    expect(early).toBeInstanceOf(ModelLimitError);
    expect(early.message).toMatch(new RegExp(`^The circuit for '.*small.onnx' needs at least ${gadgets} constraints \\(predicted by the op cost formulas\\), over the maxConstraints limit of 10 \\(--max-constraints\\)\\.`));
    const late = await rejection(compileModel(path, { out, calibration, limits: { maxConstraints: gadgets } }));
    expect(late.message).toMatch(new RegExp(`needs ${exact} constraints \\(predicted by the op cost formulas\\), over the maxConstraints limit of ${gadgets} \\(--max-constraints\\)`));
    expect(existsSync(out)).toBe(false);
  });
});

describe('CLI', () => {
  it('compile of 10^6 Relu nodes: exit 2, names --max-nodes, no stack trace, nothing written', async () => {
    const out = join(WORK, 'big-out');
    const r = await cli('compile', BIG, '--input', INPUT, '--out', out);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^zkonnx: Model '.*relu-1e6.onnx' has 1,000,000 nodes, over the maxNodes limit of 10,000 \(--max-nodes\)\.$/m);
    expect(r.stderr).toMatch(/^Hint: .*--max-nodes 1000000/m);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(out)).toBe(false);
    const j = await cli('compile', BIG, '--input', INPUT, '--out', out, '--json', '--max-nodes', '999999');
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'MODEL_LIMIT', message: expect.stringMatching(/over the maxNodes limit of 999,999/) });
  });

  it('the flags raise the limits on compile and run; a bad value is a usage error', async () => {
    const out = join(WORK, 'chain-out');
    const refused = await cli('compile', CHAIN, '--input', INPUT, '--out', out, '--max-nodes', '10');
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/has 20 nodes, over the maxNodes limit of 10 \(--max-nodes\)/);
    const tight = await cli('compile', CHAIN, '--input', INPUT, '--out', out, '--max-constraints', '1', '--max-initializer-mb', '0.5');
    expect(tight.code, tight.stderr).toBe(2);
    expect(tight.stderr).toMatch(/constraints \(predicted by the op cost formulas\), over the maxConstraints limit of 1 \(--max-constraints\)/);
    expect(existsSync(out)).toBe(false);
    const ok = await cli('compile', CHAIN, '--input', INPUT, '--out', out, '--max-nodes', '20', '--no-witness', '--json');
    expect(ok.code, ok.stderr).toBe(0);

    const run = await cli('run', CHAIN, '--input', INPUT, '--dir', out, '--max-nodes', '5');
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/over the maxNodes limit of 5 \(--max-nodes\)/);
    const bad = await cli('compile', CHAIN, '--input', INPUT, '--out', out, '--max-nodes', 'lots');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/The maxNodes limit \(--max-nodes\) must be a positive integer, got NaN/);
  });

  it('--help describes the flags on compile and run', async () => {
    for (const cmd of ['compile', 'run']) {
      const r = await cli(cmd, '--help');
      expect(r.code).toBe(0);
      const help = r.stdout.replace(/\s+/g, ' ');
      expect(help).toMatch(/--max-nodes\s+Refuse a model with more ONNX nodes than this \(default 10000\)/);
      expect(help).toMatch(/--max-initializer-mb\s+Refuse a model with more constant data/);
      expect(help).toMatch(/--max-model-mb\s+Refuse a model file larger than/);
      expect(help).toMatch(/--max-constraints\s+Refuse a circuit predicted to need more constraints than this\s+\(default 4194304 = 2\^22\)/);
    }
  });
});
