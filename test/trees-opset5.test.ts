/**
 * TreeEnsemble of ai.onnx.ml opset 5 (src/ops/trees.ts importEnsembleV5), models written as an exporter writes
 * them (test/helpers/tree-models.ts ensembleV5Model: tensor attributes nodes_splits, nodes_modes (uint8),
 * leaf_weights, membership_values):
 *
 * 1. float IR == onnxruntime 1.30 (1e-5) for SUM (targets per leaf), AVERAGE, MIN, MAX (a target no tree votes
 *    for: 0), post_transform 1 and 2 as onnxruntime reads them (LOGISTIC and SOFTMAX: its enum order, not the
 *    spec's), a single target's post_transform not applied, BRANCH_MEMBER (features put on the members), a tree
 *    that is one leaf;
 * 2. quantized integer model vs the float IR and onnxruntime: on every row with no feature within half an input
 *    step of a threshold or member it tests, the same leaves (the decisions), the same argmax of the targets,
 *    and scores within 0.5% of the output range (rows near a threshold counted and reported);
 * 3. refusals naming the node and the value: PROBIT, SOFTMAX_ZERO, MIN/MAX with a tree voting for a target on
 *    some leaves only, unknown modes, aggregate functions and post transforms, targets out of range;
 * 4. one compiled model (MAX over 2 targets, members, SOFTMAX): constraints == emitted cost, witness == integer
 *    reference, every private wire mutated breaks a constraint, setup + prove + verify;
 * 5. TreeEnsemble -> ArgMax -> LabelEncoder (the spec's classifier form): string and int64 labels become the
 *    output's label table (a progression: the value itself), the label onnxruntime's away from thresholds;
 * 6. the other ai.onnx.ml ops of skl2onnx pipelines (Imputer, Scaler, ArrayFeatureExtractor, FeatureVectorizer, Binarizer,
 *    LinearRegressor, LinearClassifier multi-class and binary, Normalizer L1 of probabilities): float IR ==
 *    onnxruntime (1e-5), quantized within 2% of the output range with the same labels away from the decision;
 *    other Normalizers and bad attributes refused.
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
import { ModelProto } from '../src/onnx/proto.ts';
import { prove, readVerificationKey } from '../src/prove/prove.ts';
import { quantizeInput, quantizeModel } from '../src/quantize/quantize.ts';
import { runFloat, runFloatAll } from '../src/reference/float.ts';
import { runInteger, runIntegerAll } from '../src/reference/integer.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { ensembleV5Model, mlPipelineModel, randomTrees, runOrtAll, v5ClassifierModel, type TreeSpec, type V5Options } from './helpers/tree-models.ts';
import { outputLabelTables } from '../src/ir/io.ts';
import { mutateWitnessWires } from './helpers/mutation.ts';

const NF = 4;
/** Members of a BRANCH_MEMBER node: its k/8 threshold plus these (>= 0 and <= 30, as onnxruntime needs for a small set). */
const MEMBERS = [0.5, 0.75, 1];

interface Case {
  name: string;
  spec: TreeSpec;
  o: V5Options;
}

const cases: Case[] = [
  { name: 'sum_targets_per_leaf', spec: randomTrees(31, 4, 3, NF, 1), o: { nFeat: NF, nTargets: 3, targets: 'leaf' } },
  { name: 'average', spec: randomTrees(32, 4, 4, NF, 1), o: { nFeat: NF, nTargets: 2, aggregate: 0 } },
  { name: 'min', spec: randomTrees(33, 6, 3, NF, 1), o: { nFeat: NF, nTargets: 2, aggregate: 2 } },
  { name: 'max_one_target_unvoted', spec: randomTrees(34, 2, 3, NF, 1), o: { nFeat: NF, nTargets: 3, aggregate: 3 } },
  { name: 'min_single_target', spec: randomTrees(35, 4, 3, NF, 1), o: { nFeat: NF, nTargets: 1, aggregate: 2 } },
  { name: 'post1_logistic_in_ort', spec: randomTrees(36, 3, 3, NF, 1), o: { nFeat: NF, nTargets: 3, targets: 'leaf', post: 1 } },
  { name: 'post2_softmax_in_ort', spec: randomTrees(37, 3, 3, NF, 1), o: { nFeat: NF, nTargets: 3, targets: 'leaf', post: 2 } },
  { name: 'single_target_post_ignored', spec: randomTrees(38, 3, 3, NF, 1), o: { nFeat: NF, nTargets: 1, post: 2 } },
  { name: 'member', spec: randomTrees(39, 4, 4, NF, 1), o: { nFeat: NF, nTargets: 2, targets: 'leaf', memberOffsets: MEMBERS } },
  { name: 'leaf_tree', spec: randomTrees(40, 3, 3, NF, 1), o: { nFeat: NF, nTargets: 2, targets: 'leaf', leafTree: true } },
];

/** Rows in [-1, 1); the first half on the k/8 grid (EQ thresholds) or on members (BRANCH_MEMBER). */
function rows(n: number, seed: number, spec?: TreeSpec, members = false): number[][] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, (_, r) => {
    const x = Array.from({ length: NF }, () => 2 * rnd() - 1);
    if (r < n / 2) {
      x.forEach((v, i) => (x[i] = Math.round(v * 8) / 8));
      if (members && spec) {
        // Put one feature on a member of some BRANCH_MEMBER node.
        const eq = spec.modes.map((m, i) => i).filter((i) => spec.modes[i] === 'BRANCH_EQ');
        const i = eq[r % eq.length];
        x[spec.featureIds[i]] = spec.values[i] + MEMBERS[r % MEMBERS.length];
      }
    }
    return x;
  });
}

/** Every threshold a row is compared with: the splits, and the members of member nodes. */
function thresholds(c: Case): { feature: number; value: number }[] {
  const out: { feature: number; value: number }[] = [];
  c.spec.modes.forEach((m, i) => {
    if (m === 'LEAF') return;
    const f = c.spec.featureIds[i];
    if (c.o.memberOffsets && m === 'BRANCH_EQ') for (const d of c.o.memberOffsets) out.push({ feature: f, value: Math.fround(c.spec.values[i] + d) });
    else out.push({ feature: f, value: Math.fround(c.spec.values[i]) });
  });
  return out;
}

interface Prepared {
  bytes: Uint8Array;
  model: FloatModel;
  cal: Float64Array[];
  q: QuantizedModel;
}
const prepared = new Map<string, Prepared>();
function prepare(c: Case): Prepared {
  let p = prepared.get(c.name);
  if (!p) {
    const bytes = ensembleV5Model(c.spec, c.o);
    const model = importGraph(loadOnnx(bytes));
    const cal = rows(64, 41).map((r) => Float64Array.from(r));
    p = { bytes, model, cal, q: quantizeModel(model, cal) };
    prepared.set(c.name, p);
  }
  return p;
}

const ort = async (p: Prepared, x: ArrayLike<number>) => (await runOrtAll(p.bytes, x, ['Y'])).Y as number[];
const argmaxOf = (v: ArrayLike<number>) => Array.from(v).reduce((b, x, i, a) => (x > a[b] ? i : b), 0);

describe('TreeEnsemble (ml opset 5): float IR vs onnxruntime', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const p = prepare(c);
      let memberHits = 0;
      for (const x of rows(200, 87, c.spec, !!c.o.memberOffsets)) {
        const want = await ort(p, x);
        const got = runFloat(p.model, x);
        expect(got.length).toBe(c.o.nTargets);
        want.forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThan(1e-5));
        if (c.o.memberOffsets && thresholds(c).some((t) => x[t.feature] === t.value)) memberHits++;
      }
      if (c.o.memberOffsets) expect(memberHits).toBeGreaterThan(50);
    });
  }

  it('notes: onnxruntime\'s post_transform order, a single target\'s post_transform', () => {
    expect(prepare(cases[5]).model.notes.join('\n')).toMatch(/post_transform 1 \(SOFTMAX in the ONNX spec\) is applied as LOGISTIC, as onnxruntime 1.30 runs it/);
    expect(prepare(cases[6]).model.notes.join('\n')).toMatch(/post_transform 2 \(LOGISTIC in the ONNX spec\) is applied as SOFTMAX/);
    const single = prepare(cases[7]).model.notes.join('\n');
    expect(single).toMatch(/post_transform 2 \(SOFTMAX\) of a single target is not applied/);
    expect(single).not.toMatch(/enum order/);
  });
});

describe('TreeEnsemble (ml opset 5): quantized vs onnxruntime', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const p = prepare(c);
      const quant = p.q.input.quant;
      const half = quant.scale / 2;
      const ths = thresholds(c);
      // Output range: over the calibration rows (probabilities: 1).
      let R = 0;
      for (const x of p.cal) for (const v of await ort(p, x)) R = Math.max(R, Math.abs(v));
      if (c.o.post && c.o.nTargets > 1) R = 1;
      let near = 0;
      let far = 0;
      let worst = 0;
      for (const x of rows(200, 91, c.spec, !!c.o.memberOffsets)) {
        if (ths.some((t) => Math.abs(x[t.feature] - t.value) <= half + 1e-9)) {
          near++;
          continue;
        }
        far++;
        const xq = quantizeInput(quant, x);
        // Decisions: the leaves the integer model reaches are the float model's (== onnxruntime's, part 1).
        const leaves = runIntegerAll(p.q, xq).get('trees#leaves');
        expect(leaves).toEqual(Array.from(runFloatAll(p.model, x).get('trees#leaves')!));
        const got = dequantizeOutput(p.q.output.quant, runInteger(p.q, xq));
        const want = await ort(p, x);
        for (let j = 0; j < want.length; j++) worst = Math.max(worst, Math.abs(got[j] - want[j]) / R);
        const sorted = [...want].sort((a, b) => b - a);
        if (want.length > 1 && sorted[0] - sorted[1] > 0.01 * R) expect(argmaxOf(got)).toBe(argmaxOf(want));
      }
      console.log(`${c.name}: ${far} rows away from thresholds, ${near} within half an input step (${half.toExponential(2)}) of one; worst score error ${(100 * worst).toFixed(3)}% of ${R.toFixed(3)}`);
      expect(far).toBeGreaterThan(60);
      expect(worst).toBeLessThan(0.005);
    });
  }
});

describe('TreeEnsemble (ml opset 5): refusals', () => {
  const spec = randomTrees(41, 3, 3, NF, 1);
  const refused = (o: Partial<V5Options>, re: RegExp, patch?: (bytes: Uint8Array) => Uint8Array) => {
    let bytes = ensembleV5Model(spec, { nFeat: NF, nTargets: 2, ...o });
    if (patch) bytes = patch(bytes);
    expect(() => importGraph(loadOnnx(bytes))).toThrow(re);
  };
  it('PROBIT, SOFTMAX_ZERO, unknown codes, MIN/MAX with a tree voting on some leaves only', () => {
    refused({ post: 4 }, /'trees'.*post_transform 4 \(PROBIT\) is not supported/s);
    refused({ post: 3 }, /post_transform 3 \(SOFTMAX_ZERO\) is not supported/);
    refused({ post: 7 }, /post_transform 7 is not one of 0\.\.4/);
    refused({ aggregate: 5 }, /aggregate_function 5 is not one of 0 AVERAGE, 1 SUM, 2 MIN, 3 MAX/);
    refused({ aggregate: 2, targets: 'leaf' }, /aggregate_function MIN: tree 0 votes for target 0 on \d of its \d leaves/);
    refused({ aggregate: 3, targets: 'leaf' }, /aggregate_function MAX: tree 0 votes for target/);
  });
  it('malformed attributes: a mode, a target out of range, lengths', () => {
    // Rewrite one attribute of the written model.
    const withAttr = (name: string, edit: (a: { ints?: number[]; t?: { int32Data?: number[]; rawData?: Uint8Array } }) => void) => (bytes: Uint8Array) => {
      const m = ModelProto.decode(bytes);
      for (const a of m.graph!.node![0].attribute ?? []) if (a.name === name) edit(a as never);
      return ModelProto.encode(m).finish();
    };
    refused({}, /nodes_modes\[0\] = 9 is not a branch mode/, withAttr('nodes_modes', (a) => void (a.t!.rawData![0] = 9)));
    refused({}, /leaf_targetids\[1\] = 5 is out of range 0\.\.1 \(n_targets 2\)/, withAttr('leaf_targetids', (a) => void (a.ints![1] = 5)));
    refused({}, /nodes_\* attributes differ in length/, withAttr('nodes_trueleafs', (a) => void a.ints!.pop()));
    refused({}, /tree_roots\[0\] = 99 is out of range/, withAttr('tree_roots', (a) => void (a.ints![0] = 99)));
  });
});

describe('TreeEnsemble (ml opset 5) -> ArgMax -> LabelEncoder: a classifier with its labels', () => {
  const spec = randomTrees(43, 4, 3, NF, 1);
  for (const values of [['low', 'mid', 'high'], [5, -2, 9], [10, 20, 30]] as (string[] | number[])[]) {
    it(`labels ${JSON.stringify(values)}: the label (a table, or the value itself for a progression) is onnxruntime's`, async () => {
      const bytes = v5ClassifierModel(spec, { nFeat: NF, nTargets: 3, targets: 'leaf' }, values);
      const model = importGraph(loadOnnx(bytes));
      const progression = values[0] === 10;
      const tables = outputLabelTables(model);
      expect(tables.get('label') ?? null).toEqual(progression ? null : values);
      const q = quantizeModel(model, rows(64, 41).map((r) => Float64Array.from(r)));
      expect(outputLabelTables(q).get('label') ?? null).toEqual(progression ? null : values);
      const half = q.input.quant.scale / 2;
      const ths = thresholds({ name: '', spec, o: { nFeat: NF, nTargets: 3 } });
      let compared = 0;
      for (const x of rows(200, 95)) {
        const want = (await runOrtAll(bytes, x, ['label'])).label[0];
        const f = runFloat(model, x)[0];
        expect(progression ? f : values[f]).toBe(want);
        if (ths.some((t) => Math.abs(x[t.feature] - t.value) <= half + 1e-9)) continue;
        const v = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)))[0];
        // Rows whose top two targets are close may take the other class once quantized: the leaves decide here.
        const leavesSame = JSON.stringify(runIntegerAll(q, quantizeInput(q.input.quant, x)).get('trees#leaves')) === JSON.stringify(Array.from(runFloatAll(model, x).get('trees#leaves')!));
        expect(leavesSame).toBe(true);
        const scores = await runOrtAll(ensembleV5Model(spec, { nFeat: NF, nTargets: 3, targets: 'leaf' }), x, ['Y']);
        const sorted = [...(scores.Y as number[])].sort((a, b) => b - a);
        if (sorted[0] - sorted[1] < 0.02) continue;
        expect(progression ? v : values[v]).toBe(want);
        compared++;
      }
      expect(compared).toBeGreaterThan(80);
    });
  }
  it('LabelEncoder of anything but a class index is refused by name', () => {
    const bytes = mlPipelineModel(NF, [{ op: 'LabelEncoder', inputs: ['x'], outputs: ['y'], attrs: { keys_int64s: { ints: [0, 1] }, values_strings: { strings: ['a', 'b'] } } }], [{ name: 'y', shape: [1, NF], type: 'string' }]);
    expect(() => importGraph(loadOnnx(bytes))).toThrow(/only a class index is supported: the input must be one ArgMax value/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Other ai.onnx.ml ops of skl2onnx pipelines (src/ops/trees.ts mlImporters), vs onnxruntime.

const W12 = [0.5, -1, 2, 0.25, -0.75, 1.5, 0.1, -0.2, 1, 1, -1, 0.3];
interface MlCase {
  name: string;
  bytes: Uint8Array;
  outputs: string[];
  /** Label tables of label outputs (onnxruntime returns the label; zkonnx proves its index here). */
  labels?: Record<string, (string | number)[]>;
  /** Thresholds rows are compared with (Binarizer, Imputer): rows within half an input step are counted apart. */
  thresholds: { feature: number; value: number }[];
}
const mlCases: MlCase[] = [
  {
    name: 'Imputer + Scaler + LinearRegressor (2 targets)',
    bytes: mlPipelineModel(NF, [
      { op: 'Imputer', inputs: ['x'], outputs: ['xi'], attrs: { imputed_value_floats: { floats: [0.5, -0.5, 0.25, 0] }, replaced_value_float: 0.125 } },
      { op: 'Scaler', inputs: ['xi'], outputs: ['xs'], attrs: { offset: { floats: [0.1, -0.2, 0.3, 0] }, scale: { floats: [2, 0.5, 1.5, 1] } } },
      { op: 'LinearRegressor', inputs: ['xs'], outputs: ['y'], attrs: { coefficients: { floats: W12.slice(0, 8) }, intercepts: { floats: [0.3, -0.1] }, targets: 2 } },
    ], [{ name: 'y', shape: [1, 2] }]),
    outputs: ['y'],
    thresholds: [0, 1, 2, 3].map((feature) => ({ feature, value: 0.125 })),
  },
  {
    name: 'ArrayFeatureExtractor + Scaler + FeatureVectorizer (cut and zero-padded) + LinearRegressor',
    bytes: mlPipelineModel(NF, [
      { op: 'ArrayFeatureExtractor', inputs: ['x', 'idx'], outputs: ['a'] },
      { op: 'Scaler', inputs: ['x'], outputs: ['b'], attrs: { offset: { floats: [0.25] }, scale: { floats: [3] } } },
      { op: 'FeatureVectorizer', inputs: ['a', 'b'], outputs: ['v'], attrs: { inputdimensions: [3, 3] } },
      { op: 'LinearRegressor', inputs: ['v'], outputs: ['y'], attrs: { coefficients: { floats: W12.slice(0, 6) }, intercepts: { floats: [0.5] } } },
    ], [{ name: 'y', shape: [1, 1] }], [{ name: 'idx', dims: [2], data: [3, 1], dataType: 'int64' }]),
    outputs: ['y'],
    thresholds: [],
  },
  {
    name: 'LinearClassifier, 3 string labels, SOFTMAX',
    bytes: mlPipelineModel(NF, [
      { op: 'LinearClassifier', inputs: ['x'], outputs: ['label', 'probs'], attrs: { coefficients: { floats: W12 }, intercepts: { floats: [0.1, 0, -0.1] }, classlabels_strings: ['a', 'bb', 'c'], post_transform: 'SOFTMAX', multi_class: 1 } },
    ], [{ name: 'label', shape: [1], type: 'string' }, { name: 'probs', shape: [1, 3] }]),
    outputs: ['label', 'probs'],
    labels: { label: ['a', 'bb', 'c'] },
    thresholds: [],
  },
  {
    name: 'ArrayFeatureExtractor + Binarizer + binary LinearClassifier, LOGISTIC',
    bytes: mlPipelineModel(NF, [
      { op: 'ArrayFeatureExtractor', inputs: ['x', 'idx'], outputs: ['xf'] },
      { op: 'Binarizer', inputs: ['xf'], outputs: ['xb'], attrs: { threshold: 0.1 } },
      { op: 'LinearClassifier', inputs: ['xb'], outputs: ['label', 'probs'], attrs: { coefficients: { floats: [1, -0.5, 0.75] }, intercepts: { floats: [-0.2] }, classlabels_ints: [0, 1], post_transform: 'LOGISTIC' } },
    ], [{ name: 'label', shape: [1], type: 'int64' }, { name: 'probs', shape: [1, 2] }], [{ name: 'idx', dims: [3], data: [3, 0, 2], dataType: 'int64' }]),
    outputs: ['label', 'probs'],
    thresholds: [3, 0, 2].map((feature) => ({ feature, value: Math.fround(0.1) })),
  },
  {
    name: 'binary LinearClassifier, string labels, NONE ([1 - s, s], label s > 0)',
    bytes: mlPipelineModel(NF, [
      { op: 'LinearClassifier', inputs: ['x'], outputs: ['label', 'probs'], attrs: { coefficients: { floats: [1, -0.5, 0.75, 0.2] }, intercepts: { floats: [-0.2] }, classlabels_strings: ['no', 'yes'] } },
    ], [{ name: 'label', shape: [1], type: 'string' }, { name: 'probs', shape: [1, 2] }]),
    outputs: ['label', 'probs'],
    labels: { label: ['no', 'yes'] },
    thresholds: [],
  },
  {
    name: 'LogisticRegression one-vs-rest: LinearClassifier LOGISTIC + Normalizer L1 (a sum and a division)',
    bytes: mlPipelineModel(NF, [
      { op: 'LinearClassifier', inputs: ['x'], outputs: ['label', 'sig'], attrs: { coefficients: { floats: W12 }, intercepts: { floats: [0.2, -0.1, 0] }, classlabels_ints: [0, 1, 2], post_transform: 'LOGISTIC', multi_class: 0 } },
      { op: 'Normalizer', inputs: ['sig'], outputs: ['probs'], attrs: { norm: 'L1' } },
    ], [{ name: 'label', shape: [1], type: 'int64' }, { name: 'probs', shape: [1, 3] }]),
    outputs: ['label', 'probs'],
    thresholds: [],
  },
  {
    name: 'LogisticRegression multinomial: LinearClassifier SOFTMAX + Normalizer L1 (left out)',
    bytes: mlPipelineModel(NF, [
      { op: 'LinearClassifier', inputs: ['x'], outputs: ['label', 'sm'], attrs: { coefficients: { floats: W12 }, intercepts: { floats: [0.2, -0.1, 0] }, classlabels_ints: [0, 1, 2], post_transform: 'SOFTMAX', multi_class: 1 } },
      { op: 'Normalizer', inputs: ['sm'], outputs: ['probs'], attrs: { norm: 'L1' } },
    ], [{ name: 'label', shape: [1], type: 'int64' }, { name: 'probs', shape: [1, 3] }]),
    outputs: ['label', 'probs'],
    thresholds: [],
  },
];

/** onnxruntime's outputs, flattened as zkonnx concatenates them (a label as its class index when it has a table). */
async function ortFlat(c: MlCase, x: number[]): Promise<number[]> {
  const r = await runOrtAll(c.bytes, x, c.outputs);
  return c.outputs.flatMap((o) => (r[o] as (number | string)[]).map((v) => (c.labels?.[o] ? c.labels[o].indexOf(v) : (v as number))));
}

describe('other ai.onnx.ml ops: float IR and quantized vs onnxruntime', () => {
  for (const c of mlCases) {
    it(c.name, async () => {
      const model = importGraph(loadOnnx(c.bytes));
      const cal = rows(64, 41).map((r) => Float64Array.from(r));
      const q = quantizeModel(model, cal);
      const half = q.input.quant.scale / 2;
      const labelAt = c.outputs[0] === 'label' ? 0 : -1;
      let R = 0;
      for (const x of cal) for (const [i, v] of (await ortFlat(c, Array.from(x))).entries()) if (i !== labelAt) R = Math.max(R, Math.abs(v));
      let worst = 0;
      let near = 0;
      let labelled = 0;
      for (const x of rows(200, 93)) {
        const want = await ortFlat(c, x);
        const f = Array.from(runFloat(model, x));
        want.forEach((v, i) => expect(Math.abs(f[i] - v)).toBeLessThan(1e-5));
        if (c.thresholds.some((t) => Math.abs(x[t.feature] - t.value) <= half + 1e-9)) {
          near++;
          continue;
        }
        const got = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
        want.forEach((v, i) => i !== labelAt && (worst = Math.max(worst, Math.abs(got[i] - v) / R)));
        if (labelAt === 0) {
          // The label, away from the decision: probabilities more than 2% apart (binary: the score s away from 0).
          const p = want.slice(1).sort((a, b) => b - a);
          const margin = want.length === 3 && c.name.includes('NONE') ? Math.abs(want[2]) : p[0] - p[1];
          if (margin > 0.02) {
            expect(got[0]).toBe(want[0]);
            labelled++;
          }
        }
      }
      console.log(`${c.name}: worst ${(100 * worst).toFixed(3)}% of ${R.toFixed(3)}; ${near} rows near a threshold; ${labelled} labels compared`);
      expect(worst).toBeLessThan(0.02);
      if (labelAt === 0) expect(labelled).toBeGreaterThan(100);
    });
  }

  it('one pipeline compiled (LinearClassifier LOGISTIC + Normalizer L1: a division): witness == reference, every wire mutated breaks a constraint, proved and verified', async () => {
    const c = mlCases.find((m) => m.name.startsWith('LogisticRegression one-vs-rest'))!;
    const dir = 'artifacts/test/trees-v5-ml';
    await mkdir(dir, { recursive: true });
    await writeFile(`${dir}/model.onnx`, c.bytes);
    const cal = rows(64, 41).map((r) => Float64Array.from(r));
    const res = await compileModel(`${dir}/model.onnx`, { out: dir, calibration: cal, force: true });
    const q = await readQuantizedModel(dir);
    expect(res.manifest.circuit.constraints).toBe(emitCircuit(q).constraints);
    const mutations = await mutationsRejected(dir, q, rows(3, 11));
    console.log(`${c.name}: ${res.manifest.circuit.constraints} constraints; ${mutations} mutations rejected`);
    await setupKeys(dir);
    const x = rows(1, 12)[0];
    const pr = await prove(dir, { x });
    expect((await verifyBundle(pr.bundle, await readVerificationKey(artifactPath(dir, 'vk')))).valid).toBe(true);
    const want = await ortFlat(c, x);
    expect(pr.bundle.output.values[0]).toBe(want[0]);
    want.slice(1).forEach((v, i) => expect(Math.abs(pr.bundle.output.values[1 + i] - v)).toBeLessThan(0.02));
  }, 300_000);

  it('Imputer of NaN is left out (a quantized input is never NaN); Normalizer other than L1 of probabilities, and bad attributes, are refused by name', () => {
    const nan = importGraph(loadOnnx(mlPipelineModel(NF, [
      { op: 'Imputer', inputs: ['x'], outputs: ['xi'], attrs: { imputed_value_floats: { floats: [0] }, replaced_value_float: NaN } },
      { op: 'Scaler', inputs: ['xi'], outputs: ['y'], attrs: { offset: { floats: [0.5] }, scale: { floats: [2] } } },
    ], [{ name: 'y', shape: [1, NF] }])));
    expect(nan.notes.join('\n')).toMatch(/Imputer 'Imputer_0' is left out: it replaces NaN/);
    const refused = (nodes: Parameters<typeof mlPipelineModel>[1], re: RegExp, inits?: Parameters<typeof mlPipelineModel>[3]) =>
      expect(() => importGraph(loadOnnx(mlPipelineModel(NF, nodes, [{ name: 'y', shape: [1, 2] }], inits)))).toThrow(re);
    refused([{ op: 'Normalizer', inputs: ['x'], outputs: ['y'], attrs: { norm: 'L2' } }], /Normalizer \(norm L2\) divides each row by its L2 norm; zkonnx proves norm L1 of probabilities only/);
    refused([{ op: 'Normalizer', inputs: ['x'], outputs: ['y'], attrs: { norm: 'L1' } }], /Normalizer \(norm L1\) divides each row by its L1 norm, here of values that may be negative/);
    refused([{ op: 'Scaler', inputs: ['x'], outputs: ['y'], attrs: { scale: { floats: [1, 2] } } }], /scale has 2 values; expected 1 or 4/);
    refused([{ op: 'LinearRegressor', inputs: ['x'], outputs: ['y'], attrs: { coefficients: { floats: [1, 2, 3] }, targets: 2 } }], /coefficients has 3 values; expected targets x features = 2 x 4/);
    refused([{ op: 'LinearRegressor', inputs: ['x'], outputs: ['y'], attrs: { coefficients: { floats: W12.slice(0, 8) }, targets: 2, post_transform: 'PROBIT' } }], /post_transform PROBIT is not supported/);
    refused([{ op: 'ArrayFeatureExtractor', inputs: ['x', 'idx'], outputs: ['y'] }], /index 7 is out of range 0\.\.3/, [{ name: 'idx', dims: [2], data: [0, 7], dataType: 'int64' }]);
    refused([{ op: 'LinearClassifier', inputs: ['x'], outputs: ['y', 'p'], attrs: { coefficients: { floats: W12.slice(0, 8) }, intercepts: { floats: [0, 0] }, classlabels_ints: [0, 1, 2] } }], /2 score rows for 3 labels/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// One compiled model: 3 trees, members, MAX over 2 targets, then SOFTMAX (post_transform 2 as onnxruntime reads it).

const e2e: Case = { name: 'trees_v5_e2e', spec: randomTrees(42, 3, 3, NF, 1, ['BRANCH_LEQ', 'BRANCH_EQ', 'BRANCH_GT']), o: { nFeat: NF, nTargets: 2, aggregate: 3, post: 2, memberOffsets: MEMBERS } };

describe('TreeEnsemble (ml opset 5): e2e circuit', () => {
  let r: CompileModelResult;
  let p: Prepared;
  beforeAll(async () => {
    p = prepare(e2e);
    const dir = 'artifacts/test/trees-v5';
    await mkdir(dir, { recursive: true });
    await writeFile(`${dir}/model.onnx`, p.bytes);
    r = await compileModel(`${dir}/model.onnx`, { out: dir, calibration: p.cal, force: true });
  }, 300_000);

  it('constraints == emitted cost; witness == integer reference; every private wire mutated breaks a constraint', async () => {
    expect(r.manifest.circuit.constraints).toBe(emitCircuit(p.q).constraints);
    const mutations = await mutationsRejected(r.dir, p.q, rows(3, 7, e2e.spec, true));
    console.log(`${e2e.name}: ${r.manifest.circuit.constraints} constraints; ${mutations} mutations rejected`);
    expect(mutations).toBeGreaterThan(100);
  }, 300_000);

  it('setup + prove + verify; the proven scores are onnxruntime\'s within 0.5%', async () => {
    await setupKeys(r.dir);
    const x = rows(4, 9, e2e.spec, true)[3];
    const res = await prove(r.dir, { x });
    expect(res.verification.valid).toBe(true);
    expect((await verifyBundle(res.bundle, await readVerificationKey(artifactPath(r.dir, 'vk')))).valid).toBe(true);
    const want = await ort(p, x);
    res.bundle.output.values.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(0.005));
  }, 300_000);
});

/**
 * For each input: the circuit's witness is the integer reference's, satisfies every constraint, and each output
 * or private wire changed by +1, -1 or +2^64 breaks one (an inverse helper of a zero is skipped: IsZero's
 * witness rule leaves it free). Returns the number of rejected mutations.
 */
async function mutationsRejected(dir: string, q: QuantizedModel, inputs: number[][]): Promise<number> {
  const xqs = inputs.map((x) => quantizeInput(q.input.quant, x));
  const { mutations } = await mutateWitnessWires(dir, xqs.map((xq) => ({ in: xq })), {
    onWitness: (w, i) => {
      const out = runInteger(q, xqs[i]);
      expect(w.slice(1, 1 + out.length)).toEqual(out.map((v) => toField(v)));
    },
  });
  return mutations;
}
