/**
 * Graph plumbing: several graph inputs and outputs, integer and bool inputs, symbolic dimensions, declared
 * output shapes with unknown dimensions, a Softmax left out at an output. Library end to end (compile, setup,
 * prove, verify), the integer reference against the witness, a witness mutation of the integer inputs' range
 * checks, and outputs against onnxruntime.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { readQuantizedModel } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel, loadModelFile, type CompileModelResult } from '../src/compile/model.ts';
import { readR1csFile, violatedConstraints } from '../src/compile/r1cs.ts';
import { emitCircuit } from '../src/emit/circuit.ts';
import { InputError, UnsupportedModelError } from '../src/errors.ts';
import { toField } from '../src/field.ts';
import { importGraph } from '../src/ir/import.ts';
import { quantizeModelInput } from '../src/ir/io.ts';
import { flattenCalibration, flattenInput } from '../src/io/input.ts';
import { buildOnnxModel, mulberry32, type ModelSpec } from '../src/onnx/builder.ts';
import { supportedOps } from '../src/ops/registry.ts';
import { loadOnnx, measureOnnx } from '../src/onnx/load.ts';
import { prove } from '../src/prove/prove.ts';
import { artifactWitness } from '../src/prove/witness.ts';
import { quantizeModel } from '../src/quantize/quantize.ts';
import { runFloat } from '../src/reference/float.ts';
import { runInteger } from '../src/reference/integer.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { parseVerificationKey } from '../src/verify/key.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { catchErr } from './helpers/errors.ts';
import { mutateWitnessWires } from './helpers/mutation.ts';
import { describeOutputs } from '../src/cli/common.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { tokenSpec, twoBranchSpec, weights, withValueInfo } from './helpers/graph-io-models.ts';

const ROOT = 'artifacts/test/graph-io';

/** One input of each model, as JSON files hold them (keyed by input name, nested as the tensor's shape). */
function twoBranchInput(seed: number) {
  const r = mulberry32(seed);
  return { a: [Array.from({ length: 4 }, () => r() * 2 - 1)], b: [Array.from({ length: 3 }, () => r() * 2 - 1)] };
}
function tokenInput(seed: number) {
  const r = mulberry32(seed);
  return { ids: [Array.from({ length: 4 }, () => Math.floor(r() * 50))], mask: [Array.from({ length: 4 }, () => r() < 0.5)] };
}

/** onnxruntime on named inputs (float32, int64 or bool), every output by name. */
async function ortRun(bytes: Uint8Array, feeds: Record<string, { type: 'float32' | 'int64' | 'bool'; data: number[]; dims: number[] }>): Promise<Record<string, number[]>> {
  const s = await ort.InferenceSession.create(Buffer.from(bytes));
  const t: Record<string, ort.Tensor> = {};
  for (const [k, f] of Object.entries(feeds)) {
    const data = f.type === 'float32' ? Float32Array.from(f.data) : f.type === 'int64' ? BigInt64Array.from(f.data.map(BigInt)) : Uint8Array.from(f.data);
    t[k] = new ort.Tensor(f.type, data, f.dims);
  }
  const out = await s.run(t);
  return Object.fromEntries(s.outputNames.map((n) => [n, Array.from(out[n].data as Float32Array, Number)]));
}

const range = (v: number[]) => Math.max(...v) - Math.min(...v) || 1;

describe('graph-io: import', () => {
  it('takes two inputs and two outputs, concatenated in declaration order', () => {
    const m = importGraph(loadOnnx(buildOnnxModel(twoBranchSpec())));
    expect(m.input).toMatchObject({ name: 'a,b', shape: [7], parts: [{ name: 'a', shape: [1, 4], offset: 0 }, { name: 'b', shape: [1, 3], offset: 4 }] });
    expect(m.output).toMatchObject({ name: 'logits,hidden', shape: [5], parts: [{ name: 'logits', shape: [1, 2], offset: 0 }, { name: 'hidden', shape: [1, 3], offset: 2 }] });
    const x = flattenInput(twoBranchInput(1), m.input);
    expect(runFloat(m, x)).toHaveLength(5);
  });

  it('float outputs per name match onnxruntime (two inputs, two outputs)', async () => {
    const bytes = buildOnnxModel(twoBranchSpec());
    const m = importGraph(loadOnnx(bytes));
    for (let s = 0; s < 4; s++) {
      const inp = twoBranchInput(s);
      const got = runFloat(m, flattenInput(inp, m.input));
      const want = await ortRun(bytes, { a: { type: 'float32', data: inp.a[0], dims: [1, 4] }, b: { type: 'float32', data: inp.b[0], dims: [1, 3] } });
      [...want.logits, ...want.hidden].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 4));
    }
  });

  it('integer and bool inputs: exact integers in the float reference; a symbolic dim from the data or --dim; a declared [?, 1] output', async () => {
    const bytes = buildOnnxModel(tokenSpec());
    const g = loadOnnx(bytes);
    // Without a size for seq: refused, naming the dimension and how to give it.
    const e = catchErr(() => importGraph(g)) as UnsupportedModelError;
    expect(e).toBeInstanceOf(UnsupportedModelError);
    expect(e.issues[0].message).toMatch(/input 'ids' dimension 1 is symbolic \('seq'\): give its size with --dim seq=N/);
    const m = importGraph(g, { dims: { seq: 4 } });
    expect(m.input.parts).toEqual([
      { name: 'ids', shape: [1, 4], dtype: 'int64', offset: 0 },
      { name: 'mask', shape: [1, 4], dtype: 'bool', offset: 4 },
    ]);
    expect(m.output).toMatchObject({ name: 'y', shape: [2, 1] });
    for (let s = 0; s < 3; s++) {
      const inp = tokenInput(s);
      const x = flattenInput(inp, m.input);
      const want = await ortRun(bytes, { ids: { type: 'int64', data: inp.ids[0], dims: [1, 4] }, mask: { type: 'bool', data: inp.mask[0].map(Number), dims: [1, 4] } });
      Array.from(runFloat(m, x)).forEach((v, i) => expect(v).toBeCloseTo(want.y[i], 4));
    }
    // The seq size read from a file nested as the tensor's shape.
    const dir = join(ROOT, 'import');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'tokens.onnx'), bytes);
    const fromSample = await loadModelFile(join(dir, 'tokens.onnx'), { sample: tokenInput(1) });
    expect(fromSample.model.input.parts?.[0].shape).toEqual([1, 4]);
  });

  it('input files: keyed by name; a missing, unknown or wrong-length input, or a non-integer id, is an InputError naming it', () => {
    const m = importGraph(loadOnnx(buildOnnxModel(twoBranchSpec())));
    expect(catchErr(() => flattenInput({ a: [[1, 2, 3, 4]] }, m.input)).message).toMatch(/no value for the model input 'b'/);
    expect(catchErr(() => flattenInput({ a: [[1, 2, 3, 4]], b: [1, 2, 3], c: [1] }, m.input)).message).toMatch(/unknown input name\(s\) 'c'/);
    expect(catchErr(() => flattenInput({ a: [[1, 2, 3]], b: [1, 2, 3] }, m.input)).message).toMatch(/input 'a' has 3 values, the model expects 4/);
    expect(catchErr(() => flattenInput([1, 2, 3, 4, 5, 6, 7], m.input))).toBeInstanceOf(InputError);
    expect(flattenCalibration([twoBranchInput(1), twoBranchInput(2)], m.input)).toHaveLength(2);
    const t = importGraph(loadOnnx(buildOnnxModel(tokenSpec())), { dims: { seq: 4 } });
    expect(catchErr(() => flattenInput({ ids: [[1.5, 2, 3, 4]], mask: [[0, 1, 1, 0]] }, t.input)).message).toMatch(/input 'ids' element 0 is 1.5, not an integer/);
    expect(catchErr(() => flattenInput({ ids: [[1, 2, 3, 4]], mask: [[0, 2, 1, 0]] }, t.input)).message).toMatch(/input 'mask' element 1 is 2, not a bool/);
  });

  it('a graph output that is a constant is refused clearly; one that is also a graph input or listed twice is proven', () => {
    const spec = twoBranchSpec();
    spec.outputs.push({ name: 'bo', shape: [2] });
    const e = catchErr(() => importGraph(loadOnnx(buildOnnxModel(spec)))) as UnsupportedModelError;
    expect(e.issues).toEqual([expect.objectContaining({ op: 'output', message: expect.stringMatching(/graph output 'bo' is a constant/) })]);
    const twice = twoBranchSpec();
    twice.outputs = [{ name: 'logits', shape: [1, 2] }, { name: 'b', shape: [1, 3] }, { name: 'logits', shape: [1, 2] }];
    const m = importGraph(loadOnnx(buildOnnxModel(twice)));
    const x = flattenInput(twoBranchInput(3), m.input);
    const y = runFloat(m, x);
    expect(Array.from(y.slice(2, 5))).toEqual(Array.from(x.slice(4, 7)));
    expect(Array.from(y.slice(5, 7))).toEqual(Array.from(y.slice(0, 2)));
    const q = quantizeModel(m, [x, flattenInput(twoBranchInput(4), m.input)]);
    expect(emitCircuit(q).nOutputs).toBe(7);
  });

  it('reports every problem in one pass: unsupported ops anywhere, shapes past a shape-preserving unsupported op, graph-level problems', () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', shape: [1, 4] }, { name: 'n', shape: [1, 'len'] }],
      outputs: [{ name: 'y', shape: [1, 2] }, { name: 'u', shape: [1, 4] }],
      initializers: [{ name: 'W', dims: [5, 2], data: weights(10, 1) }],
      nodes: [
        { op: 'BitShift', name: 'hm', inputs: ['x'], outputs: ['h'] },
        // Past the BitShift (unsupported on activations) the shape [1, 4] is known: this Gemm's mismatch (4 columns, 5 rows) is reported too.
        { op: 'Gemm', name: 'fc', inputs: ['h', 'W'], outputs: ['y'] },
        { op: 'Unique', name: 'uq', inputs: ['x'], outputs: ['q'] },
        { op: 'NonZero', name: 'nz', inputs: ['q'], outputs: ['u'] },
      ],
    };
    const e = catchErr(() => importGraph(loadOnnx(buildOnnxModel(spec)))) as UnsupportedModelError;
    expect(e.issues.map((i) => `${i.node}:${i.op}`)).toEqual(['(graph):input', 'hm:BitShift', 'fc:Gemm', 'uq:Unique', 'nz:NonZero']);
    expect(e.issues[0].message).toMatch(/input 'n' dimension 1 is symbolic \('len'\)/);
    expect(e.issues[2].message).toMatch(/4 columns but B has 5 rows/);
    // The supported ops once, in the hint; no issue repeats them.
    expect(e.hint).toMatch(/supports these ONNX ops: .*Gemm/);
    expect(e.issues.every((i) => !i.message.includes('Gemm,'))).toBe(true);
  });

  it('past a node it cannot import, the shapes the model records (value_info) keep later nodes checked', () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', shape: [1, 4] }],
      outputs: [{ name: 'y', shape: [1, 2] }],
      initializers: [{ name: 'W', dims: [3, 2], data: weights(6, 2) }],
      nodes: [
        // Unique is not shape-preserving: without value_info the Gemm after it could not be checked.
        { op: 'Unique', name: 'uq', inputs: ['x'], outputs: ['u'] },
        { op: 'Gemm', name: 'fc', inputs: ['u', 'W'], outputs: ['y'] },
      ],
    };
    const plain = catchErr(() => importGraph(loadOnnx(buildOnnxModel(spec)))) as UnsupportedModelError;
    expect(plain.issues.map((i) => i.node)).toEqual(['uq']);
    const bytes = withValueInfo(buildOnnxModel(spec), [{ name: 'u', shape: ['batch', 4] }]);
    expect(loadOnnx(bytes).valueInfo?.get('u')).toEqual({ name: 'u', dims: ['batch', 4], elemType: 1 });
    expect(measureOnnx(bytes).complete).toBe(true);
    const e = catchErr(() => importGraph(loadOnnx(bytes))) as UnsupportedModelError;
    expect(e.issues.map((i) => i.node)).toEqual(['uq', 'fc']);
    expect(e.issues[1].message).toMatch(/4 columns but B has 3 rows/);
  });

  it('DynamicQuantizeLinear is refused with its reason and is not listed as supported', () => {
    expect(supportedOps).not.toContain('DynamicQuantizeLinear');
    const e = catchErr(() => importGraph(loadOnnx(buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 4] }], outputs: [{ name: 'y', shape: [4] }],
      nodes: [{ op: 'DynamicQuantizeLinear', name: 'dq', inputs: ['x'], outputs: ['y', 's', 'z'] }],
    })))) as UnsupportedModelError;
    expect(e.issues[0].message).toMatch(/quantize statically/);
  });

  it('a fully known declared output shape that differs stays an error', () => {
    const spec = tokenSpec();
    spec.outputs = [{ name: 'y', shape: [3, 1] }];
    const e = catchErr(() => importGraph(loadOnnx(buildOnnxModel(spec)), { dims: { seq: 4 } })) as UnsupportedModelError;
    expect(e.issues[0].message).toMatch(/graph output 'y' is declared \[3,1\] but the ops compute \[2,1\]/);
  });
});

describe('graph-io: two inputs, two outputs, end to end', () => {
  let r: CompileModelResult;
  let bytes: Uint8Array;
  const dir = join(ROOT, 'two-branch');
  const cal = Array.from({ length: 16 }, (_, i) => twoBranchInput(100 + i));

  beforeAll(async () => {
    await mkdir(ROOT, { recursive: true });
    bytes = buildOnnxModel(twoBranchSpec());
    await writeFile(join(ROOT, 'two-branch.onnx'), bytes);
    await writeFile(join(ROOT, 'two-branch-cal.json'), JSON.stringify(cal));
    r = await compileModel(join(ROOT, 'two-branch.onnx'), { out: dir, calibration: { json: cal, source: 'two-branch-cal.json' } });
    await setupKeys(dir);
  });

  it('compiles to the predicted constraints; witness == integer reference', async () => {
    const q = await readQuantizedModel(dir);
    expect(r.manifest.circuit.constraints).toBe(r.manifest.circuit.predictedConstraints);
    expect(emitCircuit(q).constraints).toBe(r.manifest.circuit.constraints);
    console.log(`two-branch: ${r.manifest.circuit.constraints} constraints`);
    for (let s = 0; s < 3; s++) {
      const xq = quantizeModelInput(q.input, flattenInput(twoBranchInput(s), q.input));
      const w = await artifactWitness(dir, { in: xq });
      expect(w.values.slice(1, 6)).toEqual(runInteger(q, xq).map((v) => toField(v)));
    }
  });

  it('proves and verifies; the bundle shows each output by name, within 2% of the output range of onnxruntime', async () => {
    // An input inside the calibrated range (one of the calibration samples: an input beyond it is clamped).
    const inp = cal[3];
    const { bundle } = await prove(dir, inp);
    const vk = parseVerificationKey(JSON.parse(await readFile(artifactPath(dir, 'vk'), 'utf8')));
    const v = await verifyBundle(bundle, vk);
    expect(v.valid).toBe(true);
    expect(bundle.output.parts?.map((p) => [p.name, p.shape])).toEqual([['logits', [1, 2]], ['hidden', [1, 3]]]);
    const want = await ortRun(bytes, { a: { type: 'float32', data: inp.a[0], dims: [1, 4] }, b: { type: 'float32', data: inp.b[0], dims: [1, 3] } });
    // The output range: over the calibration set, per output.
    const m = importGraph(loadOnnx(bytes));
    const outs = cal.map((c) => runFloat(m, flattenInput(c, m.input)));
    for (const p of bundle.output.parts!) {
      const part = m.output.parts!.find((o) => o.name === p.name)!;
      const tol = 0.02 * range(outs.flatMap((o) => Array.from(o.slice(part.offset, part.offset + p.values.length))));
      p.values.forEach((x, i) => expect(Math.abs(x - want[p.name][i])).toBeLessThanOrEqual(tol));
    }
    // A bundle whose parts differ from the proven values is refused.
    const forged = structuredClone(bundle);
    forged.output.parts![1].values[0] += 1;
    expect((await verifyBundle(forged, vk)).reason).toMatch(/output parts are not the key's outputs/);
    const renamed = structuredClone(bundle);
    renamed.output.parts![0].name = 'probs';
    expect((await verifyBundle(renamed, vk)).valid).toBe(false);
  });
});

describe('graph-io: integer and bool inputs, end to end', () => {
  let r: CompileModelResult;
  const dir = join(ROOT, 'tokens');
  const cal = Array.from({ length: 12 }, (_, i) => tokenInput(200 + i));

  beforeAll(async () => {
    await mkdir(ROOT, { recursive: true });
    await writeFile(join(ROOT, 'tokens.onnx'), buildOnnxModel(tokenSpec()));
    // seq comes from the calibration file's nesting.
    r = await compileModel(join(ROOT, 'tokens.onnx'), { out: dir, calibration: { json: cal, source: 'tokens-cal.json' } });
    await setupKeys(dir);
  });

  it('range-checks every integer input element: constraints as predicted, ids bounded by the calibration, mask [0, 1]', async () => {
    const q = await readQuantizedModel(dir);
    const ids = q.input.parts![0];
    const mask = q.input.parts![1];
    expect(ids.quant).toMatchObject({ kind: 'acc', scales: [1, 1, 1, 1] });
    expect(mask.quant).toMatchObject({ kind: 'acc', lo: [0, 0, 0, 0], hi: [1, 1, 1, 1] });
    const hi = Math.max(...cal.flatMap((c) => c.ids[0]));
    expect((ids.quant as { hi: number[] }).hi[0]).toBe(hi);
    expect(r.manifest.circuit.constraints).toBe(r.manifest.circuit.predictedConstraints);
    const e = emitCircuit(q);
    const lines = e.layers.filter((l) => l.kind === 'input-range');
    console.log(`tokens: ${r.manifest.circuit.constraints} constraints (input range checks ${lines.map((l) => `${l.name} ${l.constraints}`).join(', ')})`);
    expect(lines.find((l) => l.name === 'mask:range')!.constraints).toBe(4);
  });

  it('proves and verifies; an id outside its bounds is refused by prove naming the input, element and bounds', async () => {
    const { bundle } = await prove(dir, tokenInput(3));
    const vk = parseVerificationKey(JSON.parse(await readFile(artifactPath(dir, 'vk'), 'utf8')));
    expect((await verifyBundle(bundle, vk)).valid).toBe(true);
    expect(bundle.output.shape).toEqual([2, 1]);
    const bad = tokenInput(3);
    bad.ids[0][2] = 1000;
    const err = await prove(dir, bad).catch((x: Error) => x);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/input 'ids' element 2 is 1000, outside the bounds \[0, \d+\]/);
  });

  it('every single-value change to a private witness wire breaks a constraint; an out-of-bounds id has no witness', async () => {
    const q = await readQuantizedModel(dir);
    const r1cs = await readR1csFile(artifactPath(dir, 'r1cs'));
    const xq = quantizeModelInput(q.input, flattenInput(tokenInput(5), q.input));
    const { mutations, freeHelpers, wiresPerWitness } = await mutateWitnessWires(dir, [{ in: xq.map((v) => toField(v)) }]);
    expect(freeHelpers).toBe(0); // every output and private wire was mutated
    console.log(`graph-io tokens: ${mutations} mutations rejected on ${wiresPerWitness} output and private wires`);
    expect(mutations).toBeGreaterThan(0);
    // A public input outside the bounds: the witness the generator makes for it breaks the range check.
    const hi = (q.input.parts![0].quant as { hi: number[] }).hi[0];
    for (const [k, v] of [[0, hi + 1], [1, -1], [5, 2]] as const) {
      const x = [...xq];
      x[k] = v;
      let violated = true;
      try {
        const w2 = (await artifactWitness(dir, { in: x.map((y) => toField(y)) })).values;
        violated = violatedConstraints(r1cs, w2).length > 0;
      } catch {
        violated = true; // the generator's own assertion
      }
      expect(violated).toBe(true);
    }
  });
});

describe('graph-io: visibility over several inputs and outputs', () => {
  it('hashed input and output: one commitment over all inputs, one over all outputs; proves, verifies and opens', async () => {
    const dir = join(ROOT, 'two-branch-hashed');
    await mkdir(ROOT, { recursive: true });
    await writeFile(join(ROOT, 'two-branch-h.onnx'), buildOnnxModel(twoBranchSpec()));
    const cal = Array.from({ length: 8 }, (_, i) => twoBranchInput(300 + i));
    const r = await compileModel(join(ROOT, 'two-branch-h.onnx'), { out: dir, calibration: { json: cal, source: 'cal' }, visibility: { input: 'hashed', output: 'hashed' } });
    expect(r.manifest.circuit.publicSignals).toBe(2);
    await setupKeys(dir);
    const res = await prove(dir, cal[1], { includeOpening: true });
    const vk = parseVerificationKey(JSON.parse(await readFile(artifactPath(dir, 'vk'), 'utf8')));
    const v = await verifyBundle(res.bundle, vk, { opening: { input: res.opening!.input, salt: res.opening!.salt } });
    expect(v.valid).toBe(true);
    expect(res.opening!.input).toHaveLength(7);
    expect(res.bundle.output.parts?.map((p) => p.name)).toEqual(['logits', 'hidden']);
  });

  it('an integer input needs the plain layout and a public input (refused before any work otherwise)', async () => {
    await mkdir(ROOT, { recursive: true });
    await writeFile(join(ROOT, 'tokens-v.onnx'), buildOnnxModel(tokenSpec()));
    const cal = { json: [tokenInput(1)], source: 'cal' };
    for (const opts of [{ visibility: { input: 'hashed' as const } }, { publicInputs: 'packed' as const }]) {
      const e = await compileModel(join(ROOT, 'tokens-v.onnx'), { out: join(ROOT, 'tokens-v'), calibration: cal, ...opts }).catch((x: Error) => x);
      expect(e).toBeInstanceOf(InputError);
      expect((e as Error).message).toMatch(/integer input \('ids', int64\): it needs --public-inputs plain and --input-visibility public/);
    }
  });
});

describe('graph-io: the integer range checks under circom --O1', () => {
  it('circom (WASM) compiles the integer input checks to the predicted constraints', async () => {
    await mkdir(ROOT, { recursive: true });
    await writeFile(join(ROOT, 'tokens-c.onnx'), buildOnnxModel(tokenSpec()));
    const cal = { json: Array.from({ length: 6 }, (_, i) => tokenInput(400 + i)), source: 'cal' };
    const r = await compileModel(join(ROOT, 'tokens-c.onnx'), { out: join(ROOT, 'tokens-circom'), calibration: cal, backend: 'circom', circom: 'wasm', witness: false });
    expect(r.manifest.circuit.constraints).toBe(r.manifest.circuit.predictedConstraints);
  });
});

describe('graph-io: an integer output among several', () => {
  it('logits and their ArgMax (int64) as two outputs: the index keeps its dtype and reads as a class index', async () => {
    const spec = twoBranchSpec();
    spec.nodes.push({ op: 'ArgMax', name: 'am', inputs: ['logits'], outputs: ['cls'], attrs: { axis: 1, keepdims: 0 } });
    spec.outputs = [{ name: 'logits', shape: [1, 2] }, { name: 'cls', shape: [1], elemType: 'int64' }];
    const m = importGraph(loadOnnx(buildOnnxModel(spec)));
    expect(m.output.parts?.map((p) => [p.name, p.dtype])).toEqual([['logits', undefined], ['cls', 'int64']]);
    const cal = Array.from({ length: 8 }, (_, i) => flattenInput(twoBranchInput(500 + i), m.input));
    const q = quantizeModel(m, cal);
    const x = quantizeModelInput(q.input, cal[0]);
    const out = dequantizeOutput(q.output.quant, runInteger(q, x));
    const shown = describeOutputs(out, q.output);
    expect(shown.outputs[1]).toMatchObject({ name: 'cls', dtype: 'int64', argmax: out[2] });
    expect(out[2]).toBe(out[0] >= out[1] ? 0 : 1);
    expect(shown.lines[1]).toMatch(/^output 'cls' \[1\]: \[\d\] \(class index \d\)$/);
  });
});

describe('graph-io: integer input bounds given by the user', () => {
  it('inputBounds replaces min..max (the range checks follow); bounds that miss the samples or name no integer input are refused', () => {
    const m = importGraph(loadOnnx(buildOnnxModel(tokenSpec())), { dims: { seq: 4 } });
    const cal = Array.from({ length: 6 }, (_, i) => flattenInput(tokenInput(600 + i), m.input));
    const q = quantizeModel(m, cal, { inputBounds: { ids: [0, 127] } });
    expect(q.input.parts![0].quant).toMatchObject({ lo: [0, 0, 0, 0], hi: [127, 127, 127, 127] });
    // 128 values: one 7-bit check per element.
    expect(emitCircuit(q).layers.find((l) => l.name === 'ids:range')!.constraints).toBe(4 * 8);
    expect(catchErr(() => quantizeModel(m, cal, { inputBounds: { ids: [0, 3] } })).message).toMatch(/must be integers that hold its calibration values/);
    expect(catchErr(() => quantizeModel(m, cal, { inputBounds: { nope: [0, 3] } })).message).toMatch(/'nope', which is not an integer input/);
  });
});
