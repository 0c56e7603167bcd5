/**
 * Data movement on activations (src/ops/movement.ts, src/ops/gather.ts) and Gather with a variable index:
 *
 * 1. each movement op against onnxruntime: the float IR (1e-6 of the output magnitude: it copies values), the
 *    quantized model (a pure copy adds no error: |quantized - onnxruntime| <= half an input LSB, where every
 *    routed value is an input value), and 0 constraints for every routing layer;
 * 2. one model chaining several (Slice with a negative step, SpaceToDepth, Resize, Trilu, Concat with
 *    constants, two variable-index Gathers on an ArgMax): compiled, constraints == the cost formulas, witness ==
 *    integer reference, every private wire's mutation rejected, a wrong one-hot rejected, setup/prove/verify.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { readQuantizedModel } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel, type CompileModelResult } from '../src/compile/model.ts';
import { readR1csFile, readSymbols, violatedConstraints } from '../src/compile/r1cs.ts';
import { emitCircuit } from '../src/emit/circuit.ts';
import { FIELD_PRIME, toField } from '../src/field.ts';
import { importGraph } from '../src/ir/import.ts';
import type { QLookup, QSelect } from '../src/ir/layers/movement.ts';
import type { FloatModel, QuantizedModel, U8Quant } from '../src/ir/types.ts';
import { sizeOf } from '../src/ir/types.ts';
import { buildOnnxModel, mulberry32, type InitializerSpec, type NodeSpec } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { lookupRows } from '../src/ops/movement.ts';
import { prove, readVerificationKey } from '../src/prove/prove.ts';
import { artifactWitness } from '../src/prove/witness.ts';
import { quantizeInput, quantizeModel } from '../src/quantize/quantize.ts';
import { runFloat } from '../src/reference/float.ts';
import { runInteger } from '../src/reference/integer.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { randomInputs } from './helpers/fixtures.ts';
import { mutateWitnessWires } from './helpers/mutation.ts';

const ROOT = 'artifacts/test/movement';

const I = (name: string, dims: number[], data: number[]): InitializerSpec => ({ name, dims, data, dataType: 'int64' });
const F = (name: string, dims: number[], data: number[]): InitializerSpec => ({ name, dims, data, dataType: 'float' });
const N = (op: string, inputs: string[], outputs: string[] | string, attrs?: NodeSpec['attrs']): NodeSpec => ({ op, inputs, outputs: typeof outputs === 'string' ? [outputs] : outputs, name: typeof outputs === 'string' ? outputs : outputs.join('_'), attrs });

interface MoveCase {
  name: string;
  inShape: number[];
  nodes: NodeSpec[];
  inits?: InitializerSpec[];
  out: string;
  opset?: number;
  /** Layer kinds the import must produce. */
  kinds: string[];
}

const cases: MoveCase[] = [
  {
    name: "x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape",
    inShape: [1, 2, 3, 4], inits: [I('zero', [], [0]), I('ax', [1], [0]), I('m1', [1], [-1])],
    nodes: [N('Shape', ['x'], 's'), N('Gather', ['s', 'zero'], 'b'), N('Unsqueeze', ['b', 'ax'], 'bu'), N('Concat', ['bu', 'm1'], 'shp', { axis: 0 }), N('Reshape', ['x', 'shp'], 'y')],
    out: 'y', kinds: ['reshape'],
  },
  {
    name: 'Expand of a slice to Shape(x)',
    inShape: [1, 3, 4], inits: [I('ax', [1], [0])],
    nodes: [N('Slice', ['x', 'st', 'en', 'axs'], 'col'), N('Shape', ['x'], 's'), N('Expand', ['col', 's'], 'y')],
    out: 'y', kinds: ['gather', 'gather'],
  },
  {
    name: 'Gather with constant indices: axis 1 (negative, 2-D indices), scalar index on the last axis',
    inShape: [1, 4, 5], inits: [I('ix', [2, 2], [-1, 0, 2, 2]), I('sc', [], [-2])],
    nodes: [N('Gather', ['x', 'ix'], 'g', { axis: 1 }), N('Gather', ['g', 'sc'], 'y', { axis: -1 })],
    out: 'y', kinds: ['gather', 'gather'],
  },
  {
    name: 'Gather down to a scalar (rank 0), Unsqueeze back, Concat with the input',
    inShape: [1, 4], inits: [I('two', [], [2]), I('zero', [], [0]), I('ax', [2], [0, 1])],
    nodes: [N('Gather', ['x', 'two'], 'g', { axis: 1 }), N('Gather', ['g', 'zero'], 'sc'), N('Unsqueeze', ['sc', 'ax'], 'u'), N('Concat', ['x', 'u'], 'y', { axis: 1 })],
    out: 'y', kinds: ['gather', 'gather', 'reshape', 'gather'],
  },
  {
    name: 'GatherElements and GatherND (batch_dims 1)',
    inShape: [2, 3, 4], inits: [I('ge', [2, 2, 4], Array.from({ length: 16 }, (_, i) => (i * 5) % 3 - 1)), I('gn', [2, 2, 1], [1, -1, 0, 1])],
    nodes: [N('GatherElements', ['x', 'ge'], 'e', { axis: 1 }), N('GatherND', ['e', 'gn'], 'y', { batch_dims: 1 })],
    out: 'y', kinds: ['gather', 'gather'],
  },
  {
    name: 'Slice: negative step, clamped ends, steps of 2',
    inShape: [1, 3, 6], inits: [I('s', [2], [-1, 100]), I('e', [2], [-100, 0]), I('a', [2], [2, 1]), I('p', [2], [-2, -1])],
    nodes: [N('Slice', ['x', 's', 'e', 'a', 'p'], 'y')],
    out: 'y', kinds: ['gather'],
  },
  {
    name: 'Split (split input) into 3 outputs, concatenated back in another order',
    inShape: [1, 6, 2], inits: [I('sp', [3], [1, 2, 3])],
    nodes: [N('Split', ['x', 'sp'], ['a', 'b', 'c'], { axis: 1 }), N('Concat', ['c', 'a', 'b'], 'y', { axis: 1 })],
    out: 'y', kinds: ['gather', 'gather', 'gather', 'gather'],
  },
  {
    name: 'Split with num_outputs (opset 18), Squeeze/Unsqueeze with axes inputs, Tile',
    opset: 18, inShape: [1, 5, 2], inits: [I('ax', [1], [0]), I('ax2', [2], [0, -1]), I('rep', [4], [1, 2, 1, 3])],
    nodes: [N('Split', ['x'], ['a', 'b'], { axis: 1, num_outputs: 2 }), N('Squeeze', ['b', 'ax'], 'bs'), N('Unsqueeze', ['bs', 'ax2'], 'bu'), N('Tile', ['bu', 'rep'], 'y')],
    out: 'y', kinds: ['gather', 'gather', 'reshape', 'reshape', 'gather'],
  },
  {
    name: 'DepthToSpace (DCR and CRD), SpaceToDepth',
    inShape: [1, 8, 2, 3],
    nodes: [N('DepthToSpace', ['x'], 'd', { blocksize: 2 }), N('SpaceToDepth', ['d'], 's', { blocksize: 2 }), N('DepthToSpace', ['s'], 'y', { blocksize: 2, mode: 'CRD' })],
    out: 'y', kinds: ['gather', 'gather', 'gather'],
  },
  ...(['half_pixel', 'asymmetric', 'align_corners', 'pytorch_half_pixel'] as const).flatMap((ctm) => (['round_prefer_floor', 'floor', 'ceil', 'round_prefer_ceil'] as const).map((nm): MoveCase => ({
    name: `Resize nearest ${ctm} ${nm} (scales up, sizes down)`,
    inShape: [1, 2, 3, 5], inits: [F('sc', [4], [1, 1, 1.5, 2.5]), I('sz', [4], [1, 2, 5, 3])],
    nodes: [N('Resize', ['x', '', 'sc'], 'u', { mode: 'nearest', coordinate_transformation_mode: ctm, nearest_mode: nm }),
      N('Resize', ['u', '', '', 'sz'], 'y', { mode: 'nearest', coordinate_transformation_mode: ctm, nearest_mode: nm })],
    out: 'y', kinds: ['gather', 'gather'],
  }))),
  {
    name: 'Resize nearest with axes (opset 18): sizes for the last two axes only',
    opset: 18, inShape: [1, 2, 3, 4], inits: [I('sz', [2], [5, 2])],
    nodes: [N('Resize', ['x', '', '', 'sz'], 'y', { mode: 'nearest', axes: [2, -1] })],
    out: 'y', kinds: ['gather'],
  },
  ...(['not_larger', 'not_smaller'] as const).map((policy): MoveCase => ({
    name: `Resize nearest keep_aspect_ratio_policy ${policy} (opset 18, axes)`,
    opset: 18, inShape: [1, 2, 3, 4], inits: [I('sz', [2], [7, 6])],
    nodes: [N('Resize', ['x', '', '', 'sz'], 'y', { mode: 'nearest', axes: [2, 3], keep_aspect_ratio_policy: policy })],
    out: 'y', kinds: ['gather'],
  })),
  {
    name: 'Upsample nearest (opset 9)',
    opset: 9, inShape: [1, 2, 2, 3], inits: [F('sc', [4], [1, 1, 2, 3])],
    nodes: [N('Upsample', ['x', 'sc'], 'y', { mode: 'nearest' })],
    out: 'y', kinds: ['gather'],
  },
  {
    name: 'Resize nearest at opset 10 (scales input; asymmetric, floor)',
    opset: 10, inShape: [1, 2, 2, 3], inits: [F('sc', [4], [1, 1, 2, 1.5])],
    nodes: [N('Resize', ['x', 'sc'], 'y', { mode: 'nearest' })],
    out: 'y', kinds: ['gather'],
  },
  {
    name: 'Resize nearest at opset 10, downsampling (scales 0.5, 0.6)',
    opset: 10, inShape: [1, 2, 4, 5], inits: [F('sc', [4], [1, 1, 0.5, 0.6])],
    nodes: [N('Resize', ['x', 'sc'], 'y', { mode: 'nearest' })],
    out: 'y', kinds: ['gather'],
  },
  ...(['edge', 'reflect', 'wrap'] as const).map((mode): MoveCase => ({
    name: `Pad mode ${mode} (and a negative pad cropping)`,
    opset: 19, inShape: [1, 3, 4], inits: [I('pads', [6], mode === 'reflect' ? [0, 1, 1, 0, -1, 2] : [0, 2, 1, 0, -1, 2])],
    nodes: [N('Pad', ['x', 'pads'], 'y', { mode })],
    out: 'y', kinds: ['gather'],
  })),
  {
    name: 'Pad constant with a value far off the input grid (kept as an accumulator, not clamped)',
    opset: 13, inShape: [1, 2, 3], inits: [I('pads', [6], [0, 1, 0, 0, 0, 2]), F('v', [], [-10000])],
    nodes: [N('Pad', ['x', 'pads', 'v'], 'y')],
    out: 'y', kinds: ['gather'],
  },
  {
    name: 'ScatterND of activation updates into constant data; ScatterElements of activation updates; Concat with zeros (a pad value)',
    inShape: [2, 3], inits: [F('data', [4, 3], Array.from({ length: 12 }, (_, i) => i / 3 - 2)), I('idx', [2, 1], [3, 1]), I('sei', [2, 1], [2, 0]), F('z', [2, 2], [0, 0, 0, 0])],
    nodes: [N('ScatterND', ['data', 'idx', 'x'], 'sn'), N('Slice', ['x', 'a0', 'a1', 'a2'], 'col'), N('ScatterElements', ['x', 'sei', 'col'], 'se', { axis: 1 }),
      N('Concat', ['se', 'z'], 'cz', { axis: 1 }), N('Flatten', ['sn'], 'snf', { axis: 0 }), N('Flatten', ['cz'], 'czf', { axis: 0 }), N('Concat', ['snf', 'czf'], 'y', { axis: 1 })],
    out: 'y', kinds: ['route', 'gather', 'gather', 'gather', 'reshape', 'reshape', 'gather'],
  },
  {
    name: 'Trilu on an activation (upper with k = 1, lower with k = -1)',
    opset: 14, inShape: [1, 4, 5], inits: [I('k', [], [1]), I('km', [], [-1])],
    nodes: [N('Trilu', ['x', 'k'], 'u'), N('Trilu', ['x', 'km'], 'l', { upper: 0 }), N('Concat', ['u', 'l'], 'y', { axis: 1 })],
    out: 'y', kinds: ['gather', 'gather', 'gather'],
  },
  {
    name: 'ScatterND with activation updates, ScatterElements with constant updates, Concat with constants',
    inShape: [1, 4, 3], inits: [I('idx', [2, 2], [0, 3, 0, 1]), I('s0', [1], [0]), I('e0', [1], [2]), I('a1', [1], [1]), I('sei', [1, 1, 2], [2, 0]), F('seu', [1, 1, 2], [0.75, -0.5]), F('cc', [1, 2, 3], [0.1, 0.2, 0.3, -0.4, 0.5, 0.6])],
    nodes: [N('Slice', ['x', 's0', 'e0', 'a1'], 'upd0'), N('Squeeze', ['upd0', 's0'], 'upd'), N('ScatterND', ['x', 'idx', 'upd'], 'sn'), N('ScatterElements', ['sn', 'sei', 'seu'], 'se', { axis: 2 }),
      N('Concat', ['se', 'cc'], 'y', { axis: 1 })],
    out: 'y', kinds: ['gather', 'reshape', 'gather', 'route', 'route'],
  },
];
// The Expand case's slice parameters; the Scatter case's column slice.
cases.find((c) => c.name.startsWith('ScatterND of activation'))!.inits!.push(I('a0', [1], [0]), I('a1', [1], [1]), I('a2', [1], [1]));
cases[1].inits!.push(I('st', [1], [0]), I('en', [1], [1]), I('axs', [1], [2]));

function build(c: MoveCase): Uint8Array {
  return buildOnnxModel({ inputs: [{ name: 'x', shape: c.inShape }], outputs: [{ name: c.out, shape: [] }], initializers: c.inits ?? [], nodes: c.nodes, opset: c.opset ?? 13 });
}

const sessions = new Map<Uint8Array, Promise<ort.InferenceSession>>();
async function runOrt(bytes: Uint8Array, x: ArrayLike<number>, shape: number[]): Promise<number[]> {
  let s = sessions.get(bytes);
  if (!s) sessions.set(bytes, (s = ort.InferenceSession.create(Buffer.from(bytes))));
  const session = await s;
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x), shape) });
  return Array.from(out[session.outputNames[0]].data as ArrayLike<number | bigint>, Number);
}

describe('movement ops vs onnxruntime, 0 constraints', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const bytes = build(c);
      const model = importGraph(loadOnnx(bytes));
      expect(model.layers.map((l) => l.kind)).toEqual(c.kinds);
      const n = sizeOf(c.inShape);
      const cal = randomInputs(n, 8, 3);
      for (const x of cal.slice(0, 4)) {
        const o = await runOrt(bytes, x, c.inShape);
        const f = runFloat(model, x);
        expect(f.length).toBe(o.length);
        const mag = Math.max(...o.map(Math.abs));
        f.forEach((v, i) => expect(Math.abs(v - o[i]), `element ${i}`).toBeLessThanOrEqual(1e-6 * mag + 1e-7));
      }
      // Quantized: every output is an input value or a constant, so the error is the input's rounding (half an
      // LSB) or a constant's rounding onto the grid (half an LSB of that grid). Inputs within the calibrated range.
      const q = quantizeModel(model, cal);
      const s = (q.input.quant as U8Quant).scale;
      for (const x of cal.slice(4)) {
        const o = await runOrt(bytes, x, c.inShape);
        const out = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
        out.forEach((v, i) => expect(Math.abs(v - o[i]), `element ${i}`).toBeLessThanOrEqual(s / 2 + 1e-9));
      }
      const e = emitCircuit(q);
      expect(e.layers.map((l) => l.constraints).reduce((a, b) => a + b, 0)).toBe(0);
    });
  }

  it('refuses what it cannot prove, naming the attribute or input', () => {
    const issue = (c: MoveCase) => {
      try {
        importGraph(loadOnnx(build(c)));
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(issue({ name: '', opset: 18, inShape: [1, 1, 4, 4], inits: [F('sc', [4], [1, 1, 0.5, 0.5])], nodes: [N('Resize', ['x', '', 'sc'], 'y', { mode: 'linear', antialias: 1 })], out: 'y', kinds: [] })).toMatch(/antialias = 1 is not supported/);
    expect(issue({ name: '', inShape: [1, 1, 2, 2], inits: [F('sc', [4], [1, 1, 2, 2])], nodes: [N('Resize', ['x', '', 'sc'], 'y', { coordinate_transformation_mode: 'tf_crop_and_resize' })], out: 'y', kinds: [] })).toMatch(/'tf_crop_and_resize' is not supported/);
    expect(issue({ name: '', inShape: [1, 4], nodes: [N('Slice', ['x', 'x', 'x'], 'y')], out: 'y', kinds: [] })).toMatch(/starts \('x'\) must be a constant/);
    expect(issue({ name: '', inShape: [1, 4], inits: [I('i', [1], [4])], nodes: [N('Gather', ['x', 'i'], 'y', { axis: 1 })], out: 'y', kinds: [] })).toMatch(/index 4 is out of range for dimension 4/);
    expect(issue({ name: '', inShape: [1, 4], inits: [I('i', [1, 1], [0]), F('u', [1], [1])], nodes: [N('ScatterND', ['x', 'i', 'u'], 'y', { reduction: 'add' })], out: 'y', kinds: [] }, )).toMatch(/reduction 'none'/);
  });
});

describe('Cast to an integer type', () => {
  it('is the same data for an integer tensor (ArgMax -> Cast int32 -> Gather), refused for real values', async () => {
    const table = Array.from({ length: 12 }, (_, i) => i / 4 - 1);
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 6] }], outputs: [{ name: 'y', shape: [1, 2] }], opset: 13,
      initializers: [F('T', [6, 2], table)],
      nodes: [N('ArgMax', ['x'], 'i', { axis: 1, keepdims: 0 }), N('Cast', ['i'], 'ic', { to: 6 }), N('Gather', ['T', 'ic'], 'y')],
    });
    const model = importGraph(loadOnnx(bytes));
    expect(model.layers.map((l) => l.kind)).toEqual(['argmax', 'intcast', 'lookup']);
    const cal = randomInputs(6, 8, 4);
    const q = quantizeModel(model, cal);
    expect(q.layers.map((l) => l.kind)).toEqual(['argmax', 'lookup']);
    for (const x of cal) {
      const o = await runOrt(bytes, x, [1, 6]);
      expect(runFloat(model, x)).toEqual(Float64Array.from(o));
    }
    // A table gathered along axis 1 ([2, 6, 3] -> [2, 1, 3]) and a uint8 activation gathered by the same index.
    const T3 = Array.from({ length: 36 }, (_, i) => Math.cos(i) * 2);
    const b3 = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 6] }], outputs: [{ name: 'y', shape: [2, 1, 3] }], opset: 13,
      initializers: [F('T', [2, 6, 3], T3)],
      nodes: [N('ArgMax', ['x'], 'i', { axis: 1, keepdims: 0 }), N('Gather', ['T', 'i'], 'y', { axis: 1 })],
    });
    const m3 = importGraph(loadOnnx(b3));
    const q3 = quantizeModel(m3, cal);
    const s3 = (q3.layers[1].outQuant as U8Quant).scale;
    for (const x of randomInputs(6, 16, 41)) {
      const o = await runOrt(b3, x, [1, 6]);
      runFloat(m3, x).forEach((v, i) => expect(Math.abs(v - o[i])).toBeLessThanOrEqual(1e-6));
      const sorted = Array.from(x).sort((a, b) => b - a);
      if (sorted[0] - sorted[1] <= (q3.input.quant as U8Quant).scale) continue;
      dequantizeOutput(q3.output.quant, runInteger(q3, quantizeInput(q3.input.quant, x))).forEach((v, i) => expect(Math.abs(v - o[i])).toBeLessThanOrEqual(s3 / 2 + 1e-9));
    }
    const real = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 6] }], outputs: [{ name: 'y', shape: [1, 6] }], opset: 13,
      nodes: [N('Cast', ['x'], 'y', { to: 7 })],
    });
    expect(() => quantizeModel(importGraph(loadOnnx(real)), cal)).toThrow(/casts real values to an integer type/);
  });
});

describe('integer tables stay exact integers', () => {
  it('Gather(int64 table, ArgMax) feeds another Gather; OneHot with int64 values', async () => {
    const ids = [3, -2, 0, 7, 5, -8];
    const emb = Array.from({ length: 16 }, (_, i) => Math.sin(i + 1));
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 6] }], outputs: [{ name: 'y', shape: [1, 2] }, { name: 'oh', shape: [1, 4], elemType: 'int64' }], opset: 13,
      initializers: [I('ids', [6], ids), F('emb', [8, 2], emb), I('depth', [], [4]), I('vals', [2], [-3, 9])],
      nodes: [N('ArgMax', ['x'], 'i', { axis: 1, keepdims: 0 }), N('Gather', ['ids', 'i'], 'tok'), N('Gather', ['emb', 'tok'], 'y'), N('OneHot', ['i', 'depth', 'vals'], 'oh')],
    });
    const model = importGraph(loadOnnx(bytes));
    const cal = randomInputs(6, 16, 8);
    const q = quantizeModel(model, cal);
    const [l1, l2] = q.layers.filter((l) => l.kind === 'lookup') as QLookup[];
    expect(l1.outQuant).toMatchObject({ kind: 'acc', scales: [1], lo: [-8], hi: [7] });
    expect([l2.lo, l2.count]).toEqual([-8, 16]);
    const oh = q.layers.find((l) => l.kind === 'onehot')!;
    expect(oh.outQuant).toMatchObject({ kind: 'acc', lo: [-3, -3, -3, -3], hi: [9, 9, 9, 9] });
    const s = (l2.outQuant as U8Quant).scale;
    const session = await ort.InferenceSession.create(Buffer.from(bytes));
    for (const x of randomInputs(6, 16, 13)) {
      const res = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x), [1, 6]) });
      const sorted = Array.from(x).sort((a, b) => b - a);
      if (sorted[0] - sorted[1] <= (q.input.quant as U8Quant).scale) continue;
      const out = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
      Array.from(res.y.data as Float32Array).forEach((v, i) => expect(Math.abs(out[i] - v)).toBeLessThanOrEqual(s / 2 + 1e-9));
      expect(out.slice(2)).toEqual(Array.from(res.oh.data as BigInt64Array, Number));
    }
    // The second lookup's index is the first's output, a linear combination of its selector: + 1 binding.
    const e = emitCircuit(q);
    expect(e.layers.filter((l) => l.constraints).map((l) => [l.kind, l.constraints])).toEqual([['argmax', 6 * (9 + 3) + 2], ['lookup', 6 + 2], ['lookup', 16 + 2 + 1], ['onehot', 6 + 2]]);
    await mkdir(ROOT, { recursive: true });
    await writeFile(`${ROOT}/inttable.onnx`, bytes);
    const r = await compileModel(`${ROOT}/inttable.onnx`, { out: `${ROOT}/inttable`, calibration: cal });
    expect(r.manifest.circuit.constraints).toBe(e.constraints);
    console.log(`integer tables: ${e.constraints} constraints (${e.layers.filter((l) => l.constraints).map((l) => `${l.kind} ${l.constraints}`).join(', ')}; outputs ${e.outputConstraints})`);
    for (const x of [[0, 0, 0, 0, 0, 0], [1, 200, 3, 4, 5, 6], [9, 8, 7, 6, 5, 250]]) {
      const w = await artifactWitness(r.dir, { in: x });
      expect(w.values.slice(1, 7)).toEqual(runInteger(q, x).map((v) => toField(v)));
    }
  }, 600_000);
});

describe('variable-index Gather of accumulator data', () => {
  it('selects the accumulator as it is (no requantization) when the candidates share a scale', async () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 6] }], outputs: [{ name: 'y', shape: [1] }], opset: 13,
      initializers: [F('three', [], [3])],
      nodes: [N('ArgMax', ['x'], 'i', { axis: 1, keepdims: 0 }), N('Mul', ['x', 'three'], 'x3'), N('Gather', ['x3', 'i'], 'y', { axis: 1 })],
    });
    const model = importGraph(loadOnnx(bytes));
    const cal = randomInputs(6, 16, 8);
    const q = quantizeModel(model, cal);
    expect(q.layers.map((l) => l.kind)).toEqual(['argmax', 'affine', 'lookup']);
    const lk = q.layers[2] as QLookup;
    expect(lk.outQuant.kind).toBe('acc');
    const sIn = (q.input.quant as U8Quant).scale;
    for (const x of randomInputs(6, 16, 13)) {
      const o = await runOrt(bytes, x, [1, 6]);
      const sorted = Array.from(x).sort((a, b) => b - a);
      if (sorted[0] - sorted[1] <= sIn) continue;
      const out = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
      // The input's rounding (half an LSB) times 3, plus the affine map's own rounding of its scale.
      expect(Math.abs(out[0] - o[0])).toBeLessThanOrEqual(3 * sIn / 2 + 0.01 * Math.abs(o[0]) + 1e-9);
    }
    expect(emitCircuit(q).layers.find((l) => l.kind === 'lookup')!.constraints).toBe(6 + 2 + 6);
  });
});

describe('Resize linear and cubic: a constant linear map, 0 constraints', () => {
  const interpCases: { name: string; opset: number; node: NodeSpec; inits: InitializerSpec[] }[] = [
    ...['half_pixel', 'align_corners', 'asymmetric', 'pytorch_half_pixel', 'half_pixel_symmetric'].map((ctm) => ({
      name: `linear ${ctm} (scales x2 up on H, sizes 3 -> 7 on W)`, opset: 19,
      node: N('Resize', ['x', '', '', 'sz'], 'y', { mode: 'linear', coordinate_transformation_mode: ctm }), inits: [I('sz', [4], [1, 2, 6, 7])],
    })),
    { name: 'linear half_pixel downsampling (sizes 3x5 -> 2x3)', opset: 13, node: N('Resize', ['x', '', '', 'sz'], 'y', { mode: 'linear' }), inits: [I('sz', [4], [1, 2, 2, 3])] },
    { name: 'cubic half_pixel (A = -0.75) x2', opset: 13, node: N('Resize', ['x', '', 'sc'], 'y', { mode: 'cubic' }), inits: [F('sc', [4], [1, 1, 2, 2])] },
    { name: 'cubic exclude_outside, A = -0.5, align_corners, sizes', opset: 13, node: N('Resize', ['x', '', '', 'sz'], 'y', { mode: 'cubic', cubic_coeff_a: -0.5, exclude_outside: 1, coordinate_transformation_mode: 'align_corners' }), inits: [I('sz', [4], [1, 2, 5, 8])] },
    { name: 'Upsample linear (opset 9)', opset: 9, node: N('Upsample', ['x', 'sc'], 'y', { mode: 'linear' }), inits: [F('sc', [4], [1, 1, 2, 1.5])] },
    { name: 'Resize linear at opset 10', opset: 10, node: N('Resize', ['x', 'sc'], 'y', { mode: 'linear' }), inits: [F('sc', [4], [1, 1, 2, 2])] },
    { name: 'linear keep_aspect_ratio_policy not_smaller (opset 18)', opset: 18, node: N('Resize', ['x', '', '', 'sz'], 'y', { mode: 'linear', keep_aspect_ratio_policy: 'not_smaller', axes: [2, 3] }), inits: [I('sz', [2], [4, 6])] },
  ];
  for (const c of interpCases) {
    it(c.name, async () => {
      const inShape = [1, 2, 3, 5];
      const bytes = buildOnnxModel({ inputs: [{ name: 'x', shape: inShape }], outputs: [{ name: 'y', shape: [] }], initializers: c.inits, nodes: [c.node], opset: c.opset });
      const model = importGraph(loadOnnx(bytes));
      expect(model.layers.map((l) => l.kind)).toEqual(['interp']);
      const cal = randomInputs(30, 8, 3);
      for (const x of cal.slice(0, 4)) {
        const o = await runOrt(bytes, x, inShape);
        const f = runFloat(model, x);
        expect(f.length).toBe(o.length);
        f.forEach((v, i) => expect(Math.abs(v - o[i]), `element ${i}`).toBeLessThanOrEqual(1e-5));
      }
      // Quantized: the weights are exact in 2^-F (or rounded at F = 16), so the error is the input's rounding
      // through the weights: <= sum |w| * s / 2 per output.
      const q = quantizeModel(model, cal);
      const ql = q.layers[0] as Extract<QuantizedModel['layers'][number], { kind: 'interp' }>;
      const s = (q.input.quant as U8Quant).scale;
      const lay = model.layers[0] as Extract<FloatModel['layers'][number], { kind: 'interp' }>;
      for (const x of cal.slice(4)) {
        const o = await runOrt(bytes, x, inShape);
        const out = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
        out.forEach((v, i) => {
          let wsum = 0;
          for (let t = 0; t < lay.taps; t++) wsum += Math.abs(lay.weights[i * lay.taps + t]);
          expect(Math.abs(v - o[i]), `element ${i}`).toBeLessThanOrEqual((wsum * s) / 2 + 2 ** -ql.fracBits * wsum + 1e-6);
        });
      }
      expect(emitCircuit(q).layers.map((l) => l.constraints).reduce((a, b) => a + b, 0)).toBe(0);
    });
  }

  it('compiled: bilinear x2 then cubic, constraints == formulas (outputs only), witness == integer reference', async () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 1, 2, 3] }], outputs: [{ name: 'y', shape: [1, 1, 5, 7] }], opset: 13, initializers: [F('sc', [4], [1, 1, 2, 2]), I('sz', [4], [1, 1, 5, 7])],
      nodes: [N('Resize', ['x', '', 'sc'], 'u', { mode: 'linear' }), N('Resize', ['u', '', '', 'sz'], 'y', { mode: 'cubic', coordinate_transformation_mode: 'align_corners' })],
    });
    const cal = randomInputs(6, 16, 5);
    const q = quantizeModel(importGraph(loadOnnx(bytes)), cal);
    // Bilinear half-pixel x2 weights are products of 1/4 and 3/4: exact in 4 bits; the cubic ones round at 16.
    expect(q.layers.map((l) => [l.kind, (l as { fracBits?: number }).fracBits])).toEqual([['interp', 4], ['interp', 16]]);
    await mkdir(ROOT, { recursive: true });
    await writeFile(`${ROOT}/interp.onnx`, bytes);
    const r = await compileModel(`${ROOT}/interp.onnx`, { out: `${ROOT}/interp`, calibration: cal });
    const e = emitCircuit(q);
    expect(r.manifest.circuit.constraints).toBe(e.constraints);
    expect(e.constraints).toBe(35);
    const r1cs = await readR1csFile(artifactPath(r.dir, 'r1cs'));
    for (const x of [[0, 0, 0, 0, 0, 0], [255, 255, 255, 255, 255, 255], [0, 255, 3, 200, 17, 99]]) {
      const w = await artifactWitness(r.dir, { in: x });
      expect(w.values.slice(1, 36)).toEqual(runInteger(q, x).map((v) => toField(v)));
      // The outputs are linear in the input: each changed output breaks its binding row.
      for (let k = 1; k <= 35; k++) {
        for (const delta of [1n, FIELD_PRIME - 1n, 2n ** 64n]) {
          const m2 = [...w.values];
          m2[k] = (m2[k] + delta) % FIELD_PRIME;
          expect(violatedConstraints(r1cs, m2).length).toBeGreaterThan(0);
        }
      }
    }
  }, 600_000);
});

describe('GatherElements with a variable index (constant and activation data)', () => {
  it('vs onnxruntime; compiled: constraints == formulas, witness == reference, selector mutations rejected', async () => {
    const T = Array.from({ length: 8 }, (_, i) => Math.round(Math.sin(i + 2) * 100) / 50);
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 4] }], outputs: [{ name: 'y', shape: [2, 6] }], opset: 13,
      initializers: [F('T', [2, 4], T), I('eshape', [2], [2, 3]), I('rep', [2], [2, 1])],
      nodes: [N('ArgMax', ['x'], 'i', { axis: 1 }), N('Expand', ['i', 'eshape'], 'ie'), N('GatherElements', ['T', 'ie'], 'e1', { axis: 1 }), N('Tile', ['x', 'rep'], 'xt'),
        N('GatherElements', ['xt', 'ie'], 'e2', { axis: -1 }), N('Concat', ['e1', 'e2'], 'y', { axis: 1 })],
    });
    const model = importGraph(loadOnnx(bytes));
    expect(model.layers.map((l) => l.kind)).toEqual(['argmax', 'gather', 'gatherel', 'gather', 'gatherel', 'gather']);
    const cal = randomInputs(4, 16, 6);
    const q = quantizeModel(model, cal);
    const sIn = (q.input.quant as U8Quant).scale;
    const sT = ((q.layers.find((l) => l.kind === 'gatherel') as QSelect).outQuant as U8Quant).scale;
    for (const x of randomInputs(4, 16, 17)) {
      const o = await runOrt(bytes, x, [1, 4]);
      runFloat(model, x).forEach((v, i) => expect(Math.abs(v - o[i])).toBeLessThanOrEqual(1e-6));
      const sorted = Array.from(x).sort((a, b) => b - a);
      if (sorted[0] - sorted[1] <= sIn || Math.max(...x) > Math.max(...cal.flatMap((c) => Array.from(c)))) continue;
      const out = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
      out.forEach((v, i) => expect(Math.abs(v - o[i]), `element ${i}`).toBeLessThanOrEqual((i % 6 < 3 ? sT : sIn) / 2 + 1e-9));
    }
    const e = emitCircuit(q);
    expect(e.layers.filter((l) => l.kind === 'gatherel').map((l) => l.constraints)).toEqual([6 * 6, 6 * 6 + 6 * 4]);
    await mkdir(ROOT, { recursive: true });
    await writeFile(`${ROOT}/select.onnx`, bytes);
    const r = await compileModel(`${ROOT}/select.onnx`, { out: `${ROOT}/select`, calibration: cal });
    expect(r.manifest.circuit.constraints).toBe(e.constraints);
    console.log(`GatherElements: ${e.constraints} constraints (${e.layers.filter((l) => l.constraints).map((l) => `${l.kind} ${l.constraints}`).join(', ')}; outputs ${e.outputConstraints})`);
    // Every selector bit, selected value and output, mutated by +1, -1, +2^64, breaks a row.
    const xs = [[0, 0, 0, 0], [10, 250, 3, 9], [1, 2, 3, 200]];
    const { mutations, wiresPerWitness } = await mutateWitnessWires(r.dir, xs.map((x) => ({ in: x })), {
      only: (name) => /^main\.(onehot\d+\.b\[\d+\]|sel\d+\[\d+\]\[\d+\]|out\[\d+\])$/.test(name),
      onWitness: (w, i) => expect(w.slice(1, 13)).toEqual(runInteger(q, xs[i]).map((v) => toField(v))),
    });
    expect(wiresPerWitness).toBe(12 * 4 + 6 * 4 + 12);
    expect(mutations).toBe(xs.length * 3 * (12 * 4 + 6 * 4 + 12));
  }, 600_000);
});

describe('GatherND with variable index tuples (x[arange(B), argmax] pooling)', () => {
  it('vs onnxruntime; compiled: constraints == formulas, witness == reference', async () => {
    // x [1, 4, 3]; i = ArgMax over the 4 tokens of channel 0; idx = Concat([[0]], [[i]]) -> GatherND(x, idx) = x[0, i, :].
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 4, 3] }], outputs: [{ name: 'y', shape: [1, 3] }], opset: 13,
      initializers: [I('s0', [1], [0]), I('s1', [1], [1]), I('ax2', [1], [2]), I('m1', [1], [-1]), I('zero', [1, 1], [0])],
      nodes: [N('Slice', ['x', 's0', 's1', 'ax2'], 'c0'), N('Flatten', ['c0'], 'cf'), N('ArgMax', ['cf'], 'i', { axis: 1, keepdims: 0 }), N('Unsqueeze', ['i', 'm1'], 'iu'),
        N('Concat', ['zero', 'iu'], 'idx', { axis: 1 }), N('GatherND', ['x', 'idx'], 'y')],
    });
    const model = importGraph(loadOnnx(bytes));
    expect(model.layers.map((l) => l.kind)).toEqual(['gather', 'reshape', 'argmax', 'reshape', 'gather', 'lookup']);
    const cal = randomInputs(12, 16, 9);
    const q = quantizeModel(model, cal);
    const lk = q.layers.find((l) => l.kind === 'lookup') as QLookup;
    expect([lk.lo, lk.count, lk.strides]).toEqual([0, 4, [4, 1]]);
    const sIn = (q.input.quant as U8Quant).scale;
    for (const x of [...cal.slice(0, 8), ...randomInputs(12, 8, 19)]) {
      const o = await runOrt(bytes, x, [1, 4, 3]);
      runFloat(model, x).forEach((v, i) => expect(Math.abs(v - o[i])).toBeLessThanOrEqual(1e-6));
      const c0 = [0, 1, 2, 3].map((t) => x[t * 3]).sort((a, b) => b - a);
      if (c0[0] - c0[1] <= sIn || !cal.includes(x)) continue;
      const out = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
      out.forEach((v, i) => expect(Math.abs(v - o[i])).toBeLessThanOrEqual(sIn / 2 + 1e-9));
    }
    const e = emitCircuit(q);
    // One tuple: 4 rows + 2, and 4 products per output element (3).
    expect(e.layers.find((l) => l.kind === 'lookup')!.constraints).toBe(4 + 2 + 3 * 4);
    await mkdir(ROOT, { recursive: true });
    await writeFile(`${ROOT}/gathernd.onnx`, bytes);
    const r = await compileModel(`${ROOT}/gathernd.onnx`, { out: `${ROOT}/gathernd`, calibration: cal });
    expect(r.manifest.circuit.constraints).toBe(e.constraints);
    console.log(`GatherND pooling: ${e.constraints} constraints (${e.layers.filter((l) => l.constraints).map((l) => `${l.kind} ${l.constraints}`).join(', ')}; outputs ${e.outputConstraints})`);
    for (const x of [new Array(12).fill(0), Array.from({ length: 12 }, (_, i) => (i * 53) % 256), Array.from({ length: 12 }, (_, i) => (i === 9 ? 255 : i))]) {
      const w = await artifactWitness(r.dir, { in: x });
      expect(w.values.slice(1, 4)).toEqual(runInteger(q, x).map((v) => toField(v)));
    }
  }, 600_000);

  it('refuses a tuple component whose bounds leave [0, dim)', () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 4] }], outputs: [{ name: 'y', shape: [1] }], opset: 13,
      initializers: [F('T', [2, 3], [1, 2, 3, 4, 5, 6]), I('m1', [1], [-1]), I('ax', [1], [0])],
      nodes: [N('ArgMax', ['x'], 'i', { axis: 1 }), N('Concat', ['i', 'i'], 'idx', { axis: 1 }), N('GatherND', ['T', 'idx'], 'y0'), N('Identity', ['y0'], 'y')],
    });
    // Calibration stays in range (ONNX would fail otherwise), but ArgMax's bounds [0, 3] admit 2 and 3.
    expect(() => quantizeModel(importGraph(loadOnnx(bytes)), [Float64Array.of(1, 0, 0, 0), Float64Array.of(0, 1, 0, 0)])).toThrow(/index component 0 lies in \[0, 3\], not within \[0, 2\)/);
  });
});

/** Candidate rows of the one-hot selector. */
describe('lookupRows', () => {
  it('covers the index bounds within [-N, N), at least 3 rows when N >= 2', () => {
    expect(lookupRows(0, 9, 10)).toEqual({ lo: 0, count: 10 });
    expect(lookupRows(0, 0, 10)).toEqual({ lo: 0, count: 3 });
    expect(lookupRows(-20, 20, 4)).toEqual({ lo: -4, count: 8 });
    expect(lookupRows(5, 9, 5)).toBeUndefined();
    expect(lookupRows(0, 0, 1)).toEqual({ lo: -1, count: 2 });
  });
});

/**
 * x [1, 1, 4, 4] -> Slice (width reversed) -> SpaceToDepth(2) -> Resize x2 nearest -> Trilu -> Flatten;
 * i = ArgMax(Flatten(x)); e = Gather(table [16, 3], i) (a constant table); g = Gather(Flatten(x), i, axis 1)
 * (activation data); y = Concat(flat, e, g, constants [0.5, -0.25]).
 */
function chainModel(): { bytes: Uint8Array; inShape: number[] } {
  const rnd = mulberry32(7);
  const table = Array.from({ length: 48 }, () => Math.round((rnd() * 4 - 2) * 100) / 100);
  const spec = {
    inputs: [{ name: 'x', shape: [1, 1, 4, 4] }], outputs: [{ name: 'y', shape: [1, 70] }], opset: 14,
    initializers: [I('s', [1], [-1]), I('e', [1], [-100]), I('a', [1], [3]), I('p', [1], [-1]), F('sc', [4], [1, 1, 2, 2]), F('table', [16, 3], table), F('cc', [1, 2], [0.5, -0.25])],
    nodes: [N('Slice', ['x', 's', 'e', 'a', 'p'], 'sl'), N('SpaceToDepth', ['sl'], 'sd', { blocksize: 2 }), N('Resize', ['sd', '', 'sc'], 'rs', { mode: 'nearest' }), N('Trilu', ['rs'], 'tr'),
      N('Flatten', ['tr'], 'flat'), N('Flatten', ['x'], 'xf'), N('ArgMax', ['xf'], 'i', { axis: 1, keepdims: 0 }), N('Gather', ['table', 'i'], 'e3'), N('Gather', ['xf', 'i'], 'g', { axis: 1 }),
      N('Concat', ['flat', 'e3', 'g', 'cc'], 'y', { axis: 1 })],
  };
  return { bytes: buildOnnxModel(spec), inShape: [1, 1, 4, 4] };
}

describe('movement chain and variable-index Gather: compiled, proved, verified', () => {
  const m = chainModel();
  let model: FloatModel;
  let cal: Float64Array[];
  let q: QuantizedModel;
  let r: CompileModelResult;
  beforeAll(async () => {
    model = importGraph(loadOnnx(m.bytes));
    cal = randomInputs(16, 32, 11);
    q = quantizeModel(model, cal);
    await mkdir(ROOT, { recursive: true });
    await writeFile(`${ROOT}/chain.onnx`, m.bytes);
    r = await compileModel(`${ROOT}/chain.onnx`, { out: `${ROOT}/chain`, calibration: cal });
  }, 600_000);

  it('float IR matches onnxruntime; the quantized output matches within half an LSB of each grid', async () => {
    expect(model.layers.map((l) => l.kind)).toEqual(['gather', 'gather', 'gather', 'gather', 'reshape', 'reshape', 'argmax', 'lookup', 'lookup', 'route']);
    const lk = q.layers.filter((l) => l.kind === 'lookup') as QLookup[];
    expect(lk.map((l) => [l.lo, l.count, !!l.table])).toEqual([[0, 16, true], [0, 16, false]]);
    const tableScale = (lk[0].outQuant as U8Quant).scale;
    const s = (q.input.quant as U8Quant).scale;
    for (const x of randomInputs(16, 16, 12)) {
      const o = await runOrt(m.bytes, x, m.inShape);
      const f = runFloat(model, x);
      f.forEach((v, i) => expect(Math.abs(v - o[i]), `element ${i}`).toBeLessThanOrEqual(1e-6));
      const xq = quantizeInput(q.input.quant, x);
      const out = dequantizeOutput(q.output.quant, runInteger(q, xq));
      // The ArgMax of the quantized input may differ from onnxruntime's where two values quantize alike.
      const sorted = Array.from(x).sort((a, b) => b - a);
      if (sorted[0] - sorted[1] <= s) continue;
      out.forEach((v, i) => expect(Math.abs(v - o[i]), `element ${i}`).toBeLessThanOrEqual((i >= 64 && i < 67 ? tableScale : s) / 2 + 1e-9));
    }
  });

  it('compiles to exactly the cost formulas; witness == integer reference', async () => {
    const emitted = emitCircuit(q);
    expect(r.manifest.circuit.constraints).toBe(emitted.constraints);
    const cost = Object.fromEntries(emitted.layers.filter((l) => l.constraints).map((l) => [l.kind + ':' + l.name, l.constraints]));
    // Lookups: 16 rows + 2 per index; activation data: + 16 products for its one output element.
    expect(cost).toMatchObject({ 'lookup:e3': 18, 'lookup:g': 34 });
    console.log(`movement chain: ${r.manifest.circuit.constraints} constraints (${emitted.layers.filter((l) => l.constraints).map((l) => `${l.kind} ${l.constraints}`).join(', ')}; outputs ${emitted.outputConstraints})`);
    const rnd = mulberry32(5);
    const xs = [new Array(16).fill(0), new Array(16).fill(255), Array.from({ length: 16 }, (_, i) => i * 17), Array.from({ length: 16 }, () => Math.floor(rnd() * 256))];
    for (const x of xs) {
      const w = await artifactWitness(r.dir, { in: x });
      expect(w.values.slice(1, 1 + 70)).toEqual(runInteger(q, x).map((v) => toField(v)));
    }
  });

  it('every private wire mutated (+1, -1, +2^64) breaks a constraint; a wrong one-hot cannot satisfy the R1CS', async () => {
    const x = Array.from({ length: 16 }, (_, i) => (i * 37) % 256);
    const honest: bigint[][] = [];
    const { mutations, freeHelpers, kinds } = await mutateWitnessWires(r.dir, [{ in: x }], { onWitness: (v) => honest.push([...v]) });
    expect(freeHelpers).toBe(0); // every output and private wire was mutated
    console.log(`movement chain: ${mutations} mutations rejected (${[...kinds].sort().join(', ')})`);
    expect([...kinds].some((k) => /onehot#\.b/.test(k))).toBe(true);
    expect([...kinds].some((k) => /sel#/.test(k))).toBe(true);
    const r1cs = await readR1csFile(artifactPath(r.dir, 'r1cs'));
    const syms = await readSymbols(artifactPath(r.dir, 'sym'));
    const w = honest[0];
    // A wrong but well-formed one-hot (the selected row moved by one, everything downstream recomputed as
    // the wrong row would give) still violates sum (lo + j) b_j = idx.
    const onehots = [...syms.keys()].filter((k) => /^main\.onehot\d+\.b\[\d+\]$/.test(k));
    const first = onehots.filter((k) => k.startsWith(onehots[0].replace(/\.b\[\d+\]$/, '')));
    const set = first.find((k) => w[syms.get(k)!] === 1n)!;
    const j = Number(/\[(\d+)\]$/.exec(set)![1]);
    const other = first.find((k) => k.endsWith(`[${(j + 1) % first.length}]`))!;
    const mw = [...w];
    mw[syms.get(set)!] = 0n;
    mw[syms.get(other)!] = 1n;
    expect(violatedConstraints(r1cs, mw).length).toBeGreaterThan(0);
  });

  it('setup, prove and verify; the proven output is the integer reference', async () => {
    await setupKeys(r.dir);
    const x = cal[0];
    const res = await prove(r.dir, Array.from(x));
    const vk = await readVerificationKey(artifactPath(r.dir, 'vk'));
    expect((await verifyBundle(res.bundle, vk)).valid).toBe(true);
    const qq = await readQuantizedModel(r.dir);
    expect(res.bundle.output.quantized).toEqual(runInteger(qq, quantizeInput(qq.input.quant, x)).map(String));
  }, 600_000);
});

/** Whether integer graph inputs are imported (the model-level plumbing: AccQuant inputs of scale 1). */
function intInputsSupported(): boolean {
  try {
    const bytes = buildOnnxModel({ inputs: [{ name: 'ids', shape: [1, 2], elemType: 'int64' }], outputs: [{ name: 'y', shape: [] }], initializers: [F('T', [3, 2], [1, 2, 3, 4, 5, 6])], nodes: [N('Gather', ['T', 'ids'], 'y')], opset: 13 });
    return importGraph(loadOnnx(bytes)).layers[0]?.kind === 'lookup';
  } catch {
    return false;
  }
}

/** Token embedding: ids int64 [1, 5] (negative ids count from the end) -> Gather(table [8, 4], ids). */
describe.runIf(intInputsSupported())('token embedding and OneHot on an int64 graph input (negative indices)', () => {
  const rnd = mulberry32(21);
  const table = Array.from({ length: 32 }, () => Math.round((rnd() * 6 - 3) * 1000) / 1000);
  const bytes = buildOnnxModel({
    inputs: [{ name: 'ids', shape: [1, 5], elemType: 'int64' }], outputs: [{ name: 'y', shape: [1, 5, 4] }, { name: 'oh', shape: [1, 5, 5] }], opset: 13,
    initializers: [F('table', [8, 4], table), I('depth', [], [5]), F('vals', [2], [-1, 2])],
    // OneHot of depth 5 along axis 1: ids outside [-5, 5) are all off_value, as in ONNX.
    nodes: [N('Gather', ['table', 'ids'], 'y'), N('OneHot', ['ids', 'depth', 'vals'], 'oh', { axis: 1 })],
  });
  // Calibration ids span [-8, 7]: the circuit's rows are all 16 of [-N, N).
  const cal = [Float64Array.from([-8, 7, 0, 3, -1]), Float64Array.from([1, 2, -5, 6, 4])];
  let q: QuantizedModel;
  let r: CompileModelResult;
  beforeAll(async () => {
    q = quantizeModel(importGraph(loadOnnx(bytes)), cal);
    await mkdir(ROOT, { recursive: true });
    await writeFile(`${ROOT}/embedding.onnx`, bytes);
    r = await compileModel(`${ROOT}/embedding.onnx`, { out: `${ROOT}/embedding`, calibration: cal });
  }, 600_000);

  it('matches onnxruntime (embedding within half an LSB of the table grid, OneHot exactly); 16 rows, 18 constraints per token and op', async () => {
    const lk = q.layers[0] as QLookup;
    expect([lk.kind, lk.lo, lk.count]).toEqual(['lookup', -8, 16]);
    const session = await ort.InferenceSession.create(Buffer.from(bytes));
    const s = (lk.outQuant as U8Quant).scale;
    for (const ids of [[-8, -1, 0, 7, 3], [5, 5, -3, 2, -7]]) {
      const res = await session.run({ ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, 5]) });
      const o = Array.from(res.y.data as Float32Array);
      // The outputs concatenated (y, then oh), as accumulators of their grids.
      const out = dequantizeOutput(q.output.quant, runInteger(q, ids));
      out.slice(0, 20).forEach((v, i) => expect(Math.abs(v - o[i]), `element ${i}`).toBeLessThanOrEqual(s / 2 + 1e-9));
      // -1 and 2 are on the OneHot's grid exactly.
      expect(out.slice(20).map((v) => Math.round(v * 1e6) / 1e6)).toEqual(Array.from(res.oh.data as Float32Array));
    }
    const e = emitCircuit(q);
    expect(e.layers.find((l) => l.kind === 'lookup')!.constraints).toBe(5 * 18);
    expect(e.layers.find((l) => l.kind === 'onehot')!.constraints).toBe(5 * 18);
    expect(r.manifest.circuit.constraints).toBe(e.constraints);
    console.log(`embedding + OneHot: ${e.constraints} constraints (${e.layers.filter((l) => l.constraints).map((l) => `${l.kind} ${l.constraints}`).join(', ')}; outputs ${e.outputConstraints})`);
  });

  it('witness == integer reference; a wrong one-hot is rejected; proved and verified', async () => {
    const ids = [-8, -1, 0, 7, 3];
    const w = (await artifactWitness(r.dir, { in: ids })).values;
    const nOut = 45;
    expect(w.slice(1, 1 + nOut)).toEqual(runInteger(q, ids).map((v) => toField(v)));
    const r1cs = await readR1csFile(artifactPath(r.dir, 'r1cs'));
    const syms = await readSymbols(artifactPath(r.dir, 'sym'));
    expect(violatedConstraints(r1cs, w)).toEqual([]);
    // Token 1 (id -1) selects row j = 7 of the rows -8..7; claim row 6 (id -2) instead.
    const onehot = [...syms.keys()].filter((k) => /^main\.onehot\d+\.b\[7\]$/.test(k)).sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]))[1];
    const base = onehot.replace(/\[7\]$/, '');
    expect(w[syms.get(`${base}[7]`)!]).toBe(1n);
    const mw = [...w];
    mw[syms.get(`${base}[7]`)!] = 0n;
    mw[syms.get(`${base}[6]`)!] = 1n;
    expect(violatedConstraints(r1cs, mw).length).toBeGreaterThan(0);
    // Every selector bit and output of the lookup and the OneHot, mutated by +1, -1, +2^64, breaks a row.
    const { mutations, wiresPerWitness } = await mutateWitnessWires(r.dir, [{ in: ids }], { only: (name) => /^main\.(onehot\d+\.b\[\d+\]|out\[\d+\])$/.test(name) });
    expect(wiresPerWitness).toBe(10 * 16 + 45);
    expect(mutations).toBe(3 * (10 * 16 + 45));
    await setupKeys(r.dir);
    const res = await prove(r.dir, ids);
    const vk = await readVerificationKey(artifactPath(r.dir, 'vk'));
    expect((await verifyBundle(res.bundle, vk)).valid).toBe(true);
    expect(res.bundle.output.quantized).toEqual(runInteger(q, ids).map(String));
  }, 600_000);
});
