/**
 * hummingbird's tree-traversal (TT) and perfect-tree-traversal (PTT) forms of tree ensembles
 * (test/helpers/hummingbird-models.ts) through zkonnx:
 *
 * 1. the hummingbird graphs equal the ai.onnx.ml ensemble of the same trees in onnxruntime, and zkonnx's float IR
 *    equals onnxruntime (1e-5; a final Softmax is left out of the proven output, so its input is compared);
 * 2. quantized: the node ids stay exact integers (Gather of integer tables, Where, Cast, Add/Mul of integer
 *    constants), so on every row with no feature within half an input step of a threshold the leaves reached are
 *    the float model's (the leaf index tensors are equal), labels equal onnxruntime's, and scores are within
 *    0.5% of the output range; comparisons with a gathered threshold decide as the float comparison of the
 *    input's grid value, on every grid value (all 256);
 * 3. circuits: constraints == the emitted cost formula (TT and PTT), witness == integer reference, every
 *    private wire of the TT circuit mutated by +1 / -1 breaks a constraint, compile + setup + prove + verify;
 * 4. adversarial: a traversal that reaches a node id outside the table cannot be proven (no witness exists:
 *    the one-hot selector proves every index in range), as onnxruntime refuses the Gather;
 * 5. the cost of TT vs hummingbird's GEMM form vs the native TreeEnsembleRegressor for the same trees, and the
 *    examples/risk-trees ensemble (30 boosted trees) in TT and PTT form against the example itself.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { readQuantizedModel } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel, type CompileModelResult } from '../src/compile/model.ts';
import { emitCircuit } from '../src/emit/circuit.ts';
import { FIELD_PRIME, toField } from '../src/field.ts';
import { importGraph } from '../src/ir/import.ts';
import type { FloatModel, QuantizedModel } from '../src/ir/types.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { ModelProto } from '../src/onnx/proto.ts';
import { prove, readVerificationKey } from '../src/prove/prove.ts';
import { artifactWitness } from '../src/prove/witness.ts';
import { quantizeInput, quantizeModel, u8QuantFor } from '../src/quantize/quantize.ts';
import { runFloat, runFloatAll } from '../src/reference/float.ts';
import { runInteger, runIntegerAll } from '../src/reference/integer.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { randomInputs } from './helpers/fixtures.ts';
import { mutateWitnessWires } from './helpers/mutation.ts';
import { hummingbirdPTT, hummingbirdTT, type HummingbirdOptions, type TraversalOp } from './helpers/hummingbird-models.ts';
import { ensembleModel, hummingbirdGemm, randomTrees, runOrtAll, type TreeSpec } from './helpers/tree-models.ts';

const ROOT = 'artifacts/test/hummingbird';
const NF = 4;

interface Case {
  name: string;
  form: 'TT' | 'PTT';
  spec: TreeSpec;
  depth: number;
  o: HummingbirdOptions;
}

const LT = ['BRANCH_LT'] as const;
const LEQ = ['BRANCH_LEQ'] as const;
const tt = (name: string, spec: TreeSpec, o: Omit<HummingbirdOptions, 'nFeat'>, op?: TraversalOp): Case => ({ name, form: 'TT', spec, depth: 3, o: { nFeat: NF, ...o, ...(op ? { op } : {}) } });
const ptt = (name: string, spec: TreeSpec, o: Omit<HummingbirdOptions, 'nFeat'>): Case => ({ name, form: 'PTT', spec, depth: 3, o: { nFeat: NF, ...o } });

const cases: Case[] = [
  tt('tt_reg_gbdt', randomTrees(31, 4, 3, NF, 1, LT), { kind: 'regressor', nCols: 1, base: [0.5] }),
  tt('tt_reg_forest_leq', randomTrees(32, 3, 3, NF, 2, LEQ), { kind: 'regressor', nCols: 2, aggregate: 'AVERAGE' }, 'LessOrEqual'),
  tt('tt_cls_softmax', randomTrees(33, 3, 3, NF, 3, LEQ), { kind: 'classifier', nCols: 3 }),
  tt('tt_cls_binary_less', randomTrees(34, 3, 3, NF, 1, LT), { kind: 'classifier', nCols: 1, base: [-0.1] }, 'Less'),
  tt('tt_reg_opset11_not_less', randomTrees(39, 3, 3, NF, 1, LT), { kind: 'regressor', nCols: 1, geAsNotLess: true }),
  ptt('ptt_reg_gbdt', randomTrees(35, 4, 3, NF, 1, LT), { kind: 'regressor', nCols: 1, base: [0.25] }),
  ptt('ptt_reg_forest_leq', randomTrees(36, 3, 3, NF, 2, LEQ), { kind: 'regressor', nCols: 2, aggregate: 'AVERAGE' }),
  ptt('ptt_cls_softmax', randomTrees(37, 3, 3, NF, 3, LT), { kind: 'classifier', nCols: 3 }),
  ptt('ptt_cls_binary', randomTrees(38, 3, 3, NF, 1, LEQ), { kind: 'classifier', nCols: 1 }),
];

interface Prepared {
  c: Case;
  bytes: Uint8Array;
  /** The ai.onnx.ml regressor of the same trees (sum or average, base values): the scores before calibration. */
  ens: Uint8Array;
  model: FloatModel;
  cal: Float64Array[];
  q: QuantizedModel;
}

const prepared = new Map<string, Prepared>();
function prepare(c: Case): Prepared {
  let p = prepared.get(c.name);
  if (!p) {
    const bytes = c.form === 'TT' ? hummingbirdTT(c.spec, c.depth, c.o) : hummingbirdPTT(c.spec, c.depth, c.o);
    const ens = ensembleModel(c.spec, { kind: 'regressor', nFeat: NF, nCols: c.o.nCols, aggregate: c.o.aggregate ?? 'SUM', ...(c.o.base ? { base: c.o.base } : {}) });
    const model = importGraph(loadOnnx(bytes));
    const cal = randomInputs(NF, 64, 41);
    p = { c, bytes, ens, model, cal, q: quantizeModel(model, cal) };
    prepared.set(c.name, p);
  }
  return p;
}

const softmax = (v: number[]) => {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};

/** hummingbird's outputs in onnxruntime: [label, ...probabilities] or the regression targets. */
async function ortOut(p: Prepared, x: ArrayLike<number>): Promise<number[]> {
  if (p.c.o.kind === 'regressor') return (await runOrtAll(p.bytes, x, ['y'])).y as number[];
  const r = await runOrtAll(p.bytes, x, ['label', 'probabilities']);
  return [...(r.label as number[]), ...(r.probabilities as number[])];
}

/** zkonnx's output as onnxruntime's: a left-out final Softmax applied to the proven logits. */
function asOrt(p: Prepared, out: number[]): number[] {
  const sm = p.model.output.parts?.find((q) => q.softmaxOmitted);
  return sm ? [out[0], ...softmax(out.slice(1))] : out;
}

function nearThreshold(spec: TreeSpec, x: ArrayLike<number>, half: number): boolean {
  return spec.modes.some((m, i) => m !== 'LEAF' && Math.abs(x[spec.featureIds[i]] - Math.fround(spec.values[i])) <= half);
}

/** The node-id tensor the leaf values are read at: its name in the float IR and in the quantized IR. */
function leafIndexTensor(model: FloatModel, q: QuantizedModel): { f: string; q: string } {
  const l = model.layers.find((m) => m.output === 'v');
  const ql = q.layers.find((m) => m.output === 'v');
  if (!l || l.kind !== 'lookup' || !ql || ql.kind !== 'lookup') throw new Error('no leaf Gather');
  return { f: l.inputs[0], q: ql.inputs[0] };
}

describe('hummingbird: float IR vs onnxruntime', () => {
  for (const c of cases) {
    it(`${c.name} (${c.form})`, async () => {
      const p = prepare(c);
      for (const x of randomInputs(NF, 100, 5)) {
        const o = await ortOut(p, x);
        const e = (await runOrtAll(p.ens, x, ['Y'])).Y as number[];
        // hummingbird's graph == the ensemble (its scores, through the classifier's calibration).
        const scores = c.o.kind === 'regressor' ? e : c.o.nCols === 1 ? [1 - 1 / (1 + Math.exp(-e[0])), 1 / (1 + Math.exp(-e[0]))] : softmax(e);
        const hb = c.o.kind === 'regressor' ? o : o.slice(1);
        scores.forEach((v, j) => expect(Math.abs(hb[j] - v)).toBeLessThan(1e-5));
        if (c.o.kind === 'classifier') expect(o[0]).toBe(scores.indexOf(Math.max(...scores)));
        const f = asOrt(p, Array.from(runFloat(p.model, x)));
        expect(f.length).toBe(o.length);
        o.forEach((v, j) => expect(Math.abs(f[j] - v)).toBeLessThan(1e-5));
      }
    });
  }
});

describe('hummingbird: quantized vs onnxruntime', () => {
  for (const c of cases) {
    it(`${c.name} (${c.form}): same leaves and labels away from thresholds, scores within 0.5%`, async () => {
      const p = prepare(c);
      const quant = p.q.input.quant;
      const half = quant.scale / 2;
      // Node ids are exact integers in the quantized model.
      const idxName = leafIndexTensor(p.model, p.q);
      const idxLayer = p.q.layers.find((l) => l.output === idxName.q)!;
      expect(idxLayer.outQuant.kind === 'acc' && idxLayer.outQuant.scales.every((s) => s === 1)).toBe(true);
      let lo = Infinity;
      let hi = -Infinity;
      for (const x of p.cal) for (const v of await ortOut(p, x)) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
      const R = c.o.kind === 'classifier' ? 1 : hi - lo;
      let near = 0;
      let far = 0;
      let worst = 0;
      for (const x of randomInputs(NF, 200, 91)) {
        if (nearThreshold(c.spec, x, half)) {
          near++;
          continue;
        }
        far++;
        const qin = quantizeInput(quant, x);
        const env = runIntegerAll(p.q, qin);
        expect(env.get(idxName.q)).toEqual(Array.from(runFloatAll(p.model, x).get(idxName.f)!));
        const mine = asOrt(p, dequantizeOutput(p.q.output.quant, runInteger(p.q, qin)));
        const o = await ortOut(p, x);
        if (c.o.kind === 'classifier') expect(mine[0]).toBe(o[0]);
        const from = c.o.kind === 'classifier' ? 1 : 0;
        for (let j = from; j < o.length; j++) worst = Math.max(worst, Math.abs(mine[j] - o[j]) / R);
      }
      const cost = emitCircuit(p.q).constraints;
      console.log(`${c.name}: ${cost} constraints; ${far} rows away from thresholds, ${near} within half an input step; worst ${(100 * worst).toFixed(3)}% of ${R.toFixed(3)}`);
      expect(far).toBeGreaterThan(100);
      expect(worst).toBeLessThan(0.005);
    });
  }

  it('a gathered threshold decides as the float comparison of every grid value (all 256, each comparison op)', () => {
    // One feature, trees whose thresholds sit on, next to and between grid values; each grid value as input.
    for (const op of ['GreaterOrEqual', 'Greater', 'LessOrEqual', 'Less'] as const) {
      const mode = op === 'GreaterOrEqual' || op === 'Less' ? LT : LEQ;
      const spec = randomTrees(50, 3, 3, 1, 1, mode);
      const cal = [Float64Array.of(-1), Float64Array.of(1)];
      const grid = u8QuantFor({ min: -1, max: 1 });
      const at = (k: number) => Math.fround((k - grid.zeroPoint) * grid.scale);
      // Thresholds: grid points (as float32), points a float32 ulp or so off them, and half-steps.
      let t = 0;
      spec.modes.forEach((m, i) => {
        if (m === 'LEAF') return;
        const k = 40 + 23 * t++;
        spec.values[i] = [at(k), at(k) + 1e-7, at(k) + grid.scale / 2, at(k) - 1e-7][t % 4];
      });
      const bytes = hummingbirdTT(spec, 3, { nFeat: 1, nCols: 1, kind: 'regressor', op });
      const model = importGraph(loadOnnx(bytes));
      const q = quantizeModel(model, cal);
      expect(q.input.quant).toEqual(grid);
      const idx = leafIndexTensor(model, q);
      for (let n = 0; n < 256; n++) {
        // The grid value the integer n stands for, as onnxruntime sees it (float32).
        const x = Float64Array.of(Math.fround((n - q.input.quant.zeroPoint) * q.input.quant.scale));
        expect(quantizeInput(q.input.quant, x)).toEqual([n]);
        expect(runIntegerAll(q, [n]).get(idx.q)).toEqual(Array.from(runFloatAll(model, x).get(idx.f)!));
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// Circuits: a tiny TT regressor (mutation, proof) and a tiny PTT classifier (cost, witness).

const tinyTT: Case = tt('hb_tt_tiny', randomTrees(61, 3, 3, NF, 1, LT), { kind: 'regressor', nCols: 1, base: [0.1] });
const tinyPTT: Case = { ...ptt('hb_ptt_tiny', randomTrees(62, 2, 2, NF, 3, LEQ), { kind: 'classifier', nCols: 3 }), depth: 2 };

function uint8Rows(n: number, seed: number): number[][] {
  return [new Array(NF).fill(0), new Array(NF).fill(255), ...randomInputs(NF, n, seed, 0, 256).map((r) => Array.from(r, Math.floor))];
}

async function compileCase(c: Case): Promise<{ p: Prepared; r: CompileModelResult }> {
  const p = prepare(c);
  await mkdir(ROOT, { recursive: true });
  const path = `${ROOT}/${c.name}.onnx`;
  await writeFile(path, p.bytes);
  return { p, r: await compileModel(path, { out: `${ROOT}/${c.name}`, calibration: p.cal }) };
}

async function checkCostAndWitness(p: Prepared, r: CompileModelResult): Promise<void> {
  const q = await readQuantizedModel(r.dir);
  const emitted = emitCircuit(q);
  expect(r.manifest.circuit.constraints).toBe(emitted.constraints);
  expect(emitCircuit(p.q).constraints).toBe(emitted.constraints);
  console.log(`${p.c.name}: ${r.manifest.circuit.constraints} constraints (${emitted.layers.filter((l) => l.constraints).map((l) => `${l.kind} ${l.name} ${l.constraints}`).join(', ')}; outputs ${emitted.outputConstraints})`);
  const nOut = runInteger(q, new Array(NF).fill(0)).length;
  for (const x of [...uint8Rows(8, 3), ...p.cal.slice(0, 4).map((c) => quantizeInput(q.input.quant, c))]) {
    const w = await artifactWitness(r.dir, { in: x });
    expect(w.values.slice(1, 1 + nOut)).toEqual(runInteger(q, x).map((v) => toField(v)));
  }
}

describe('hummingbird: circuits', () => {
  let tt3: { p: Prepared; r: CompileModelResult };
  let ptt2: { p: Prepared; r: CompileModelResult };
  beforeAll(async () => {
    [tt3, ptt2] = await Promise.all([compileCase(tinyTT), compileCase(tinyPTT)]);
  }, 600_000);

  it('TT: constraints == emitted cost; witness == integer reference', async () => {
    await checkCostAndWitness(tt3.p, tt3.r);
    const kinds = new Set(tt3.p.q.layers.map((l) => l.kind));
    for (const k of ['lookup', 'gatherel', 'compare', 'select']) expect(kinds).toContain(k);
  });

  it('PTT: constraints == emitted cost; witness == integer reference', async () => {
    await checkCostAndWitness(ptt2.p, ptt2.r);
  });

  it('TT: every +1 / -1 change to a private wire or output breaks a constraint', async () => {
    const { r } = tt3;
    const q = await readQuantizedModel(r.dir);
    const { mutations, freeHelpers, kinds } = await mutateWitnessWires(r.dir, [...uint8Rows(1, 5), quantizeInput(q.input.quant, tt3.p.cal[0])].map((x) => ({ in: x })), { deltas: [1n, FIELD_PRIME - 1n] });
    expect(freeHelpers).toBe(0); // every output and private wire was mutated
    // The new layers' computed signals are among those mutated: the selectors' bits and the comparison bits.
    expect([...kinds].some((n) => /onehot.*\.b\[\]/.test(n))).toBe(true);
    expect([...kinds].some((n) => /cmp/.test(n))).toBe(true);
    console.log(`${tinyTT.name}: ${mutations} mutations rejected`);
    expect(mutations).toBeGreaterThan(0);
  }, 600_000);

  it('TT: compile + setup + prove + verify', async () => {
    const { p, r } = tt3;
    await setupKeys(r.dir);
    const vk = await readVerificationKey(artifactPath(r.dir, 'vk'));
    const x = p.cal[3];
    const res = await prove(r.dir, Array.from(x));
    expect(res.verification.valid).toBe(true);
    expect((await verifyBundle(res.bundle, vk)).valid).toBe(true);
    const out = runInteger(p.q, quantizeInput(p.q.input.quant, x));
    expect(res.bundle.publicSignals.slice(0, out.length)).toEqual(out.map((v) => toField(v).toString()));
    const o = await ortOut(p, x);
    const mine = dequantizeOutput(p.q.output.quant, out);
    expect(Math.abs(mine[0] - o[0])).toBeLessThan(0.05);
    console.log(`${tinyTT.name} prove: ${JSON.stringify(res.timings)}`);
  }, 600_000);
});

describe('hummingbird: every form proves', () => {
  it('PTT (classifier) and GEMM (regressor): compile + setup + prove + verify; proven outputs == integer reference, close to onnxruntime', async () => {
    const gemmSpec = randomTrees(63, 3, 3, NF, 1, LT);
    const gemmBytes = hummingbirdGemm(gemmSpec, NF, 1, 'Less');
    const cal = randomInputs(NF, 64, 41);
    await mkdir(ROOT, { recursive: true });
    await writeFile(`${ROOT}/hb_gemm_tiny.onnx`, gemmBytes);
    const gemm = await compileModel(`${ROOT}/hb_gemm_tiny.onnx`, { out: `${ROOT}/hb_gemm_tiny`, calibration: cal });
    const ptt2 = await compileCase(tinyPTT);
    for (const [r, x, ortY] of [
      [gemm, cal[5], async (v: Float64Array) => (await runOrtAll(gemmBytes, v, ['y'])).y as number[]],
      [ptt2.r, ptt2.p.cal[5], async (v: Float64Array) => (await ortOut(ptt2.p, v)).slice(1)],
    ] as const) {
      const q = await readQuantizedModel(r.dir);
      expect(r.manifest.circuit.constraints).toBe(emitCircuit(q).constraints);
      await setupKeys(r.dir);
      const vk = await readVerificationKey(artifactPath(r.dir, 'vk'));
      const res = await prove(r.dir, Array.from(x));
      expect((await verifyBundle(res.bundle, vk)).valid).toBe(true);
      const out = runInteger(q, quantizeInput(q.input.quant, x));
      expect(res.bundle.publicSignals.slice(0, out.length)).toEqual(out.map((v) => toField(v).toString()));
      // A changed output does not verify.
      const forged = JSON.parse(JSON.stringify(res.bundle));
      forged.publicSignals[0] = (BigInt(forged.publicSignals[0]) + 1n).toString();
      expect((await verifyBundle(forged, vk)).valid).toBe(false);
      const want = await ortY(x);
      const mine = dequantizeOutput(q.output.quant, out);
      const proven = q.output.parts?.find((p) => p.softmaxOmitted) ? softmax(mine.slice(-want.length)) : mine.slice(-want.length);
      proven.forEach((v, k) => expect(Math.abs(v - want[k])).toBeLessThan(0.05));
    }
  }, 600_000);
});

describe('hummingbird: adversarial', () => {
  it('a node id outside the table: onnxruntime refuses, the integer reference refuses, no witness exists', async () => {
    // 2 trees of depth 2; the last tree's root sends its left branch to id T*M + 3 (past the table's end).
    const spec = randomTrees(71, 2, 2, NF, 1, LT);
    const bytes0 = hummingbirdTT(spec, 2, { nFeat: NF, nCols: 1, kind: 'regressor' });
    const root = spec.treeIds.findIndex((t, i) => t === 1 && spec.nodeIds[i] === 0);
    const T = 2;
    const M = Math.max(...spec.nodeIds) + 1;
    spec.trueIds[root] = M + 3; // local id M + 3: flat id (T - 1) * M + M + 3 = T * M + 3
    const bytes = hummingbirdTT(spec, 2, { nFeat: NF, nCols: 1, kind: 'regressor' });
    expect(bytes).not.toEqual(bytes0);
    const model = importGraph(loadOnnx(bytes));
    const rootFeature = spec.featureIds[root];
    const thr = spec.values[root];
    // Calibration avoids the broken branch (the float model refuses it, as onnxruntime does).
    const cal = randomInputs(NF, 200, 41).filter((x) => x[rootFeature] >= thr + 0.05).slice(0, 32);
    const bad = randomInputs(NF, 50, 43).find((x) => x[rootFeature] < thr - 0.05)!;
    expect(bad).toBeDefined();
    await expect(runOrtAll(bytes, bad, ['y'])).rejects.toThrow(/out of bounds|out of range|indices/i);
    expect(() => runFloat(model, bad)).toThrow(/out of range/);
    const q = quantizeModel(model, cal);
    expect(() => runInteger(q, quantizeInput(q.input.quant, bad))).toThrow(/outside the circuit's rows/);
    await mkdir(ROOT, { recursive: true });
    const path = `${ROOT}/hb_tt_bad_index.onnx`;
    await writeFile(path, bytes);
    const r = await compileModel(path, { out: `${ROOT}/hb_tt_bad_index`, calibration: cal });
    // A good row proves; the bad one has no witness (the selector's sum === 1 and weighted sum === index fail).
    await artifactWitness(r.dir, { in: quantizeInput(q.input.quant, cal[0]) });
    await expect(artifactWitness(r.dir, { in: quantizeInput(q.input.quant, bad) })).rejects.toThrow();
  }, 600_000);
});

/** The trees of an ai.onnx.ml TreeEnsembleClassifier/Regressor node as a TreeSpec (one score column). */
function specOf(bytes: Uint8Array): { spec: TreeSpec; base: number[] } {
  const node = ModelProto.decode(bytes).graph!.node![0]!;
  const a = (n: string) => node.attribute!.find((x) => x.name === n)!;
  const ints = (n: string) => a(n).ints!.map(Number);
  const p = node.opType === 'TreeEnsembleClassifier' ? 'class' : 'target';
  return {
    spec: {
      treeIds: ints('nodes_treeids'), nodeIds: ints('nodes_nodeids'), featureIds: ints('nodes_featureids'), values: a('nodes_values').floats!.slice(),
      modes: a('nodes_modes').strings!.map((v) => new TextDecoder().decode(v)), trueIds: ints('nodes_truenodeids'), falseIds: ints('nodes_falsenodeids'),
      wTree: ints(`${p}_treeids`), wNode: ints(`${p}_nodeids`), wCol: ints(`${p}_ids`), w: a(`${p}_weights`).floats!.slice(),
    },
    base: a('base_values').floats!.slice(),
  };
}

describe('hummingbird: the risk-trees example (30 boosted trees of depth 3, 6 features) in TT and PTT form', () => {
  it('same probabilities as the example in onnxruntime; quantized: same labels away from thresholds; cost', async () => {
    const bytes = new Uint8Array(readFileSync('examples/risk-trees/model.onnx'));
    const { spec, base } = specOf(bytes);
    const nf = 6;
    const session = await ort.InferenceSession.create(Buffer.from(bytes));
    const example = async (x: ArrayLike<number>) => {
      const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x), [1, nf]) });
      return { label: Number((out.label!.data as BigInt64Array)[0]), p: Array.from(out.probabilities!.data as Float32Array) };
    };
    const cal = (JSON.parse(readFileSync('examples/risk-trees/calibration.json', 'utf8')) as { input: number[] }[]).map((r) => Float64Array.from(r.input));
    // Test rows: the calibration rows' feature ranges, sampled uniformly.
    const lo = Array.from({ length: nf }, (_, j) => Math.min(...cal.map((r) => r[j])));
    const hi = Array.from({ length: nf }, (_, j) => Math.max(...cal.map((r) => r[j])));
    const rows = randomInputs(nf, 200, 17, 0, 1).map((r) => r.map((v, j) => lo[j] + v * (hi[j] - lo[j])));
    const o = { nFeat: nf, nCols: 1, kind: 'classifier' as const, base };
    const costs: string[] = [];
    for (const [form, hb] of [['tree traversal', hummingbirdTT(spec, 3, o)], ['perfect tree traversal', hummingbirdPTT(spec, 3, o)]] as const) {
      const model = importGraph(loadOnnx(hb));
      const q = quantizeModel(model, cal);
      const half = q.input.quant.scale / 2;
      let far = 0;
      for (const x of [...cal, ...rows]) {
        const e = await example(x);
        const h = await runOrtAll(hb, x, ['label', 'probabilities']);
        expect(h.label[0]).toBe(e.label);
        e.p.forEach((v, j) => expect(Math.abs((h.probabilities as number[])[j] - v)).toBeLessThan(1e-5));
        if (nearThreshold(spec, x, half)) continue;
        far++;
        const mine = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
        expect(mine[0]).toBe(e.label);
        expect(Math.abs(mine[2] - e.p[1])).toBeLessThan(0.01);
      }
      expect(far).toBeGreaterThan(50);
      costs.push(`${form} ${emitCircuit(q).constraints} (${far} rows away from thresholds)`);
    }
    const native = emitCircuit(quantizeModel(importGraph(loadOnnx(bytes)), cal)).constraints;
    console.log(`risk-trees: ${costs.join(', ')}; the TreeEnsembleClassifier itself ${native} constraints`);
  });
});

describe('hummingbird: cost vs GEMM vs the native ensemble', () => {
  it('10 trees of depth 3 over 8 features', () => {
    const nf = 8;
    const spec = randomTrees(81, 10, 3, nf, 1, LT);
    const cal = randomInputs(nf, 64, 41);
    const cost = (bytes: Uint8Array) => emitCircuit(quantizeModel(importGraph(loadOnnx(bytes)), cal)).constraints;
    const ttCost = cost(hummingbirdTT(spec, 3, { nFeat: nf, nCols: 1, kind: 'regressor' }));
    const pttCost = cost(hummingbirdPTT(spec, 3, { nFeat: nf, nCols: 1, kind: 'regressor' }));
    const gemmCost = cost(hummingbirdGemm(spec, nf, 1, 'Less'));
    const native = cost(ensembleModel(spec, { kind: 'regressor', nFeat: nf, nCols: 1 }));
    console.log(`10 trees depth 3, 8 features: tree traversal ${ttCost}, perfect tree traversal ${pttCost}, GEMM ${gemmCost}, TreeEnsembleRegressor ${native} constraints`);
    for (const v of [ttCost, pttCost, gemmCost, native]) expect(v).toBeGreaterThan(0);
  });
});
