/**
 * Tree ensembles (src/ops/trees.ts) on random ai.onnx.ml models built by test/helpers/tree-models.ts:
 *
 * 1. float IR == onnxruntime (labels equal, scores within 1e-5) for regressors (SUM, AVERAGE, base values) and
 *    classifiers (int labels 0..C-1, an arithmetic progression, arbitrary ints and strings; NONE, LOGISTIC,
 *    SOFTMAX; a trailing ZipMap), every node mode, several trees of depth 3-4;
 * 2. quantized integer model vs onnxruntime: on rows with no feature within half an input step of a threshold
 *    it tests, identical leaves, hence identical labels, and scores within 2% of the score range (the rows near
 *    a threshold are counted and reported: there the quantized input may fall on the other side);
 * 3. refusals: MIN/MAX aggregation, SOFTMAX_ZERO/PROBIT, SOFTMAX on a binary one-column classifier (the
 *    one-column form itself: test/trees-binary.test.ts);
 * 4. one compiled classifier: constraints == the emitted cost, witness == integer reference, every private wire
 *    mutated (+1, -1, +2^64) breaks a constraint, compile + setup + prove + verify.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { readQuantizedModel } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel, type CompileModelResult } from '../src/compile/model.ts';
import { emitCircuit } from '../src/emit/circuit.ts';
import { toField } from '../src/field.ts';
import { importGraph } from '../src/ir/import.ts';
import type { FloatModel, QuantizedModel } from '../src/ir/types.ts';
import { mulberry32 } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';
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
import { ensembleModel, hummingbirdGemm, hummingbirdTraversal, randomTrees, runOrtAll, type EnsembleOptions, type TreeSpec } from './helpers/tree-models.ts';

const ROOT = 'artifacts/test/trees';
const NF = 4;

interface Case {
  name: string;
  spec: TreeSpec;
  o: EnsembleOptions;
}

const cases: Case[] = [
  { name: 'reg_sum', spec: randomTrees(1, 3, 3, NF, 2), o: { kind: 'regressor', nFeat: NF, nCols: 2, base: [0.25, -0.5] } },
  { name: 'reg_avg', spec: randomTrees(2, 4, 4, NF, 1), o: { kind: 'regressor', nFeat: NF, nCols: 1, aggregate: 'AVERAGE', base: [0.1] } },
  { name: 'reg_logistic_ml1', spec: randomTrees(3, 2, 3, NF, 1), o: { kind: 'regressor', nFeat: NF, nCols: 1, post: 'LOGISTIC', mlOpset: 1 } },
  { name: 'reg_softmax_2t', spec: randomTrees(13, 3, 3, NF, 2), o: { kind: 'regressor', nFeat: NF, nCols: 2, post: 'SOFTMAX' } },
  { name: 'cls_none', spec: randomTrees(4, 3, 3, NF, 3), o: { kind: 'classifier', nFeat: NF, nCols: 3, intLabels: [0, 1, 2] } },
  { name: 'cls_logistic', spec: randomTrees(5, 3, 4, NF, 3), o: { kind: 'classifier', nFeat: NF, nCols: 3, intLabels: [0, 1, 2], post: 'LOGISTIC' } },
  { name: 'cls_softmax_step', spec: randomTrees(6, 3, 3, NF, 3), o: { kind: 'classifier', nFeat: NF, nCols: 3, intLabels: [10, 20, 30], post: 'SOFTMAX', base: [0.1, 0, -0.1] } },
  { name: 'cls_ints_table', spec: randomTrees(7, 2, 3, NF, 3), o: { kind: 'classifier', nFeat: NF, nCols: 3, intLabels: [3, 7, -1] } },
  { name: 'cls_strings_zipmap', spec: randomTrees(8, 3, 3, NF, 3), o: { kind: 'classifier', nFeat: NF, nCols: 3, strLabels: ['a', 'b', 'c'], post: 'SOFTMAX', outputs: 'probabilities', zipmap: true } },
];

interface Prepared {
  c: Case;
  bytes: Uint8Array;
  /** What onnxruntime runs: the same model without ZipMap (its seq(map) output cannot be declared here). */
  ortBytes: Uint8Array;
  model: FloatModel;
  cal: Float64Array[];
  q: QuantizedModel;
}

const prepared = new Map<string, Prepared>();
function prepare(c: Case): Prepared {
  let p = prepared.get(c.name);
  if (!p) {
    const bytes = ensembleModel(c.spec, c.o);
    const model = importGraph(loadOnnx(bytes));
    const cal = randomInputs(NF, 64, 41);
    const ortBytes = c.o.zipmap ? ensembleModel(c.spec, { ...c.o, zipmap: false }) : bytes;
    p = { c, bytes, ortBytes, model, cal, q: quantizeModel(model, cal) };
    prepared.set(c.name, p);
  }
  return p;
}

/** onnxruntime's outputs: the label as a class index, and the scores. */
async function ortOut(p: Prepared, x: ArrayLike<number>): Promise<{ label?: number; scores: number[] }> {
  const cls = p.c.o.kind === 'classifier';
  const r = await runOrtAll(p.ortBytes, x, cls ? (p.c.o.outputs === 'probabilities' ? ['probabilities'] : ['label', 'probabilities']) : ['Y']);
  if (!cls) return { scores: r.Y as number[] };
  if (!r.label) return { scores: r.probabilities as number[] };
  const labels: (number | string)[] = p.c.o.intLabels ?? p.c.o.strLabels!;
  return { label: labels.indexOf((r.label as (number | string)[])[0]), scores: r.probabilities as number[] };
}

/** The proven label as a class index (as the notes say for a label table), and the scores. */
function split(p: Prepared, out: number[]): { label?: number; scores: number[] } {
  if (p.c.o.kind !== 'classifier') return { scores: out };
  if (p.c.o.outputs === 'probabilities') return { scores: out };
  const l = p.c.o.intLabels!;
  const step = l[1] - l[0];
  const progression = l.every((v, i) => v === l[0] + i * step);
  return { label: progression ? (out[0] - l[0]) / step : out[0], scores: out.slice(1) };
}

/** True if some feature a branch tests is within `half` of that branch's threshold. */
function nearThreshold(spec: TreeSpec, x: ArrayLike<number>, half: number): boolean {
  return spec.modes.some((m, i) => m !== 'LEAF' && Math.abs(x[spec.featureIds[i]] - Math.fround(spec.values[i])) <= half);
}

describe('trees: float IR vs onnxruntime', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const p = prepare(c);
      const rows = randomInputs(NF, 200, 87);
      // EQ/NEQ thresholds are k/8: put some features exactly on them.
      for (let i = 0; i < 40; i++) rows[i][i % NF] = Math.round(rows[i][i % NF] * 8) / 8;
      let eqHits = 0;
      for (const x of rows) {
        const f = Array.from(runFloat(p.model, x));
        const mine = split(p, f);
        const o = await ortOut(p, x);
        if (mine.label !== undefined) expect(mine.label).toBe(o.label);
        for (let j = 0; j < o.scores.length; j++) expect(Math.abs(mine.scores[j] - o.scores[j])).toBeLessThan(1e-5);
        if (c.spec.modes.some((m, i) => (m === 'BRANCH_EQ' || m === 'BRANCH_NEQ') && x[c.spec.featureIds[i]] === Math.fround(c.spec.values[i]))) eqHits++;
      }
      if (c.spec.modes.includes('BRANCH_EQ')) expect(eqHits).toBeGreaterThan(0);
    });
  }

  it('notes: label table, ZipMap, single-target LOGISTIC', () => {
    expect(prepare(cases[2]).model.notes.join('\n')).toMatch(/post_transform LOGISTIC of a single-target regressor is not applied/);
    expect(prepare(cases[7]).model.notes.join('\n')).toMatch(/labels are \[3, 7, -1\]/);
    const n = prepare(cases[8]).model.notes.join('\n');
    expect(n).toMatch(/ZipMap 'zipmap' is left out/);
  });
});

describe('trees: quantized vs onnxruntime', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const p = prepare(c);
      const quant = p.q.input.quant;
      if (quant.kind !== 'u8') throw new Error('u8 input expected');
      const half = quant.scale / 2;
      // Score range: over the calibration rows (probabilities: 1).
      let R = 0;
      for (const x of p.cal) for (const v of (await ortOut(p, x)).scores) R = Math.max(R, Math.abs(v));
      if (c.o.post && c.o.post !== 'NONE' && (c.o.kind === 'classifier' || c.o.nCols > 1)) R = 1;
      let near = 0;
      let far = 0;
      let worst = 0;
      for (const x of randomInputs(NF, 200, 91)) {
        if (nearThreshold(c.spec, x, half)) {
          near++;
          continue;
        }
        far++;
        const out = dequantizeOutput(p.q.output.quant, runInteger(p.q, quantizeInput(quant, x)));
        const mine = split(p, out);
        const o = await ortOut(p, x);
        if (mine.label !== undefined) expect(mine.label).toBe(o.label);
        for (let j = 0; j < o.scores.length; j++) worst = Math.max(worst, Math.abs(mine.scores[j] - o.scores[j]) / R);
      }
      console.log(`${c.name}: ${far} rows away from thresholds, ${near} within half an input step (${half.toExponential(2)}) of one; worst score error ${(100 * worst).toFixed(3)}% of ${R.toFixed(3)}`);
      expect(far).toBeGreaterThan(100);
      expect(worst).toBeLessThan(0.02);
    });
  }
});

describe('trees: refusals', () => {
  const spec = randomTrees(9, 2, 3, NF, 3);
  const refused = (o: EnsembleOptions, re: RegExp) => expect(() => importGraph(loadOnnx(ensembleModel(spec, o)))).toThrow(re);
  it('MIN/MAX aggregation, SOFTMAX_ZERO/PROBIT, SOFTMAX on a binary one-column classifier', () => {
    refused({ kind: 'regressor', nFeat: NF, nCols: 3, aggregate: 'MIN' }, /aggregate_function MIN is not supported/);
    refused({ kind: 'regressor', nFeat: NF, nCols: 3, aggregate: 'MAX' }, /aggregate_function MAX is not supported/);
    refused({ kind: 'classifier', nFeat: NF, nCols: 3, intLabels: [0, 1, 2], post: 'SOFTMAX_ZERO' }, /post_transform SOFTMAX_ZERO/);
    refused({ kind: 'classifier', nFeat: NF, nCols: 3, intLabels: [0, 1, 2], post: 'PROBIT' }, /post_transform PROBIT/);
    const one = randomTrees(10, 2, 3, NF, 1);
    expect(() => importGraph(loadOnnx(ensembleModel(one, { kind: 'classifier', nFeat: NF, nCols: 2, intLabels: [0, 1], post: 'SOFTMAX' })))).toThrow(/SOFTMAX of a binary classifier/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// One compiled classifier: 2 trees of depth 3, every branch mode, 3 classes, LOGISTIC, label + probabilities.

const e2eCase: Case = { name: 'trees_e2e', spec: randomTrees(12, 2, 3, NF, 3), o: { kind: 'classifier', nFeat: NF, nCols: 3, intLabels: [0, 1, 2], post: 'LOGISTIC' } };

function uint8Inputs(size: number, random: number, seed: number): number[][] {
  const rnd = mulberry32(seed);
  const xs = [new Array(size).fill(0), new Array(size).fill(255), Array.from({ length: size }, (_, i) => (i % 2 ? 255 : 0))];
  for (let i = 0; i < random; i++) xs.push(Array.from({ length: size }, () => Math.floor(rnd() * 256)));
  return xs;
}

describe('trees: e2e circuit', () => {
  let r: CompileModelResult;
  let p: Prepared;
  beforeAll(async () => {
    p = prepare(e2eCase);
    await mkdir(ROOT, { recursive: true });
    const path = `${ROOT}/${e2eCase.name}.onnx`;
    await writeFile(path, p.bytes);
    r = await compileModel(path, { out: `${ROOT}/${e2eCase.name}`, calibration: p.cal });
  }, 600_000);

  it('constraints == emitted cost; witness == integer reference', async () => {
    const q = await readQuantizedModel(r.dir);
    const emitted = emitCircuit(q);
    expect(r.manifest.circuit.constraints).toBe(emitted.constraints);
    expect(emitCircuit(p.q).constraints).toBe(emitted.constraints);
    console.log(`${e2eCase.name}: ${r.manifest.circuit.constraints} constraints (${emitted.layers.filter((l) => l.constraints).map((l) => `${l.name} ${l.constraints}`).join(', ')}; outputs ${emitted.outputConstraints})`);
    const nOut = runInteger(q, new Array(NF).fill(0)).length;
    for (const x of [...uint8Inputs(NF, 8, 3), ...p.cal.slice(0, 6).map((c) => quantizeInput(q.input.quant, c))]) {
      const w = await artifactWitness(r.dir, { in: x });
      expect(w.values.slice(1, 1 + nOut)).toEqual(runInteger(q, x).map((v) => toField(v)));
    }
  });

  it('every single-value change to a private wire or output breaks a constraint', async () => {
    const q = await readQuantizedModel(r.dir);
    const { mutations, freeHelpers } = await mutateWitnessWires(r.dir, [...uint8Inputs(NF, 1, 5), quantizeInput(q.input.quant, p.cal[0])].map((x) => ({ in: x })));
    console.log(`${e2eCase.name}: ${mutations} mutations rejected; ${freeHelpers} free inverse helpers skipped`);
    expect(mutations).toBeGreaterThan(0);
  }, 600_000);

  it('compile + setup + prove + verify', async () => {
    await setupKeys(r.dir);
    const vk = await readVerificationKey(artifactPath(r.dir, 'vk'));
    const x = p.cal[2];
    const res = await prove(r.dir, Array.from(x));
    expect(res.verification.valid).toBe(true);
    expect((await verifyBundle(res.bundle, vk)).valid).toBe(true);
    const out = runInteger(p.q, quantizeInput(p.q.input.quant, x));
    expect(res.bundle.publicSignals.slice(0, out.length)).toEqual(out.map((v) => toField(v).toString()));
    const o = await ortOut(p, x);
    expect(out[0]).toBe(o.label);
    console.log(`${e2eCase.name} prove: ${JSON.stringify(res.timings)}`);
  }, 600_000);
});

describe('trees: hummingbird tensor forms', () => {
  for (const [mode, op] of [['BRANCH_LEQ', 'LessOrEqual'], ['BRANCH_LT', 'Less']] as const) {
    it(`GEMM strategy (${op}) == the ensemble in onnxruntime; quantized within 2%`, async () => {
      const spec = randomTrees(21, 3, 3, NF, 2, [mode]);
      const ens = ensembleModel(spec, { kind: 'regressor', nFeat: NF, nCols: 2 });
      const gemm = hummingbirdGemm(spec, NF, 2, op);
      const model = importGraph(loadOnnx(gemm));
      const cal = randomInputs(NF, 64, 41);
      const q = quantizeModel(model, cal);
      const mine = importGraph(loadOnnx(ens));
      let R = 0;
      for (const x of cal) for (const v of (await runOrtAll(ens, x, ['Y'])).Y as number[]) R = Math.max(R, Math.abs(v));
      const half = q.input.quant.kind === 'u8' ? q.input.quant.scale / 2 : 0;
      let worst = 0;
      let near = 0;
      for (const x of randomInputs(NF, 200, 5)) {
        const o = (await runOrtAll(ens, x, ['Y'])).Y as number[];
        const hb = (await runOrtAll(gemm, x, ['y'])).y as number[];
        const f = Array.from(runFloat(model, x));
        for (let j = 0; j < 2; j++) {
          expect(Math.abs(hb[j] - o[j])).toBeLessThan(1e-5);
          expect(Math.abs(f[j] - o[j])).toBeLessThan(1e-5);
        }
        if (nearThreshold(spec, x, half)) {
          near++;
          continue;
        }
        const qi = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
        for (let j = 0; j < 2; j++) worst = Math.max(worst, Math.abs(qi[j] - o[j]) / R);
      }
      const cost = emitCircuit(q).constraints;
      const native = emitCircuit(quantizeModel(mine, cal)).constraints;
      console.log(`hummingbird GEMM ${op}: ${cost} constraints (the TreeEnsembleRegressor itself: ${native}); worst ${(100 * worst).toFixed(3)}% of ${R.toFixed(3)}; ${near} rows near a threshold`);
      expect(worst).toBeLessThan(0.02);
    });
  }
});

describe('trees: hummingbird tree traversal', () => {
  it('matches the ensemble in onnxruntime, float IR too; quantized (test/hummingbird.test.ts has the full checks), node ids stay exact integers and outputs match away from thresholds', async () => {
    const spec = randomTrees(21, 2, 3, NF, 1, ['BRANCH_LEQ']);
    const ens = ensembleModel(spec, { kind: 'regressor', nFeat: NF, nCols: 1 });
    const tt = hummingbirdTraversal(spec, NF, 3);
    const model = importGraph(loadOnnx(tt));
    const q = quantizeModel(model, randomInputs(NF, 16, 41));
    // The Where of int64 constants (level 0) and every later node id: accumulators of scale 1 (exact integers).
    const ids = q.layers.filter((l) => l.kind === 'select');
    expect(ids.length).toBe(3);
    for (const l of ids) expect(l.outQuant.kind === 'acc' && l.outQuant.scales.every((s) => s === 1)).toBe(true);
    const half = q.input.quant.scale / 2;
    let far = 0;
    for (const x of randomInputs(NF, 50, 5)) {
      const o = (await runOrtAll(ens, x, ['Y'])).Y as number[];
      const h = (await runOrtAll(tt, x, ['y'])).y as number[];
      expect(Math.abs(h[0] - o[0])).toBeLessThan(1e-5);
      expect(Math.abs(runFloat(model, x)[0] - o[0])).toBeLessThan(1e-5);
      if (nearThreshold(spec, x, half)) continue;
      far++;
      // Same leaf: the leaf value on the table's uint8 grid (error <= half its step).
      const qi = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
      expect(Math.abs(qi[0] - o[0])).toBeLessThan(0.02);
    }
    expect(far).toBeGreaterThan(30);
  });
});
