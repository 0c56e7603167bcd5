/**
 * Deterministically trains a gradient-boosted tree credit-risk scorer in plain TypeScript (logistic loss, depth-3
 * regression trees on the negative gradient, Newton leaf values, shrinkage: sklearn's GradientBoostingClassifier
 * algorithm) and writes it to examples/risk-trees/ as ONNX the way skl2onnx converts a binary
 * GradientBoostingClassifier with zipmap disabled: one ai.onnx.ml TreeEnsembleClassifier node
 * (post_transform LOGISTIC, classlabels_int64s [0, 1], base_values [prior log-odds], every leaf weight for class id 0
 * already multiplied by the learning rate), outputs `label` (int64 [1]) and `probabilities` (float [1, 2]).
 *
 *   npx tsx scripts/train-trees.ts [--out DIR]
 *
 * Data (seeded, synthetic; one applicant per row, 6 float features):
 *   0 income_100k       annual income in 100k$: lognormal, median 0.55
 *   1 debt_ratio        monthly debt / income: clipped normal in [0, 1.2]
 *   2 credit_age_decades age of the oldest credit line in decades: 0..3
 *   3 delinquencies     past 30+ day delinquencies: Poisson(0.4), reported as 5 when 5 or more
 *   4 utilization       revolving credit utilization: [0, 1]
 *   5 inquiries         hard inquiries, last 6 months: Poisson(1.0), reported as 5 when 5 or more
 * (in these units all six features span similar ranges: zkonnx quantizes the input tensor with one 8-bit scale, so
 * income in dollars next to a ratio would leave the ratio's thresholds a single quantization step)
 * Default (label 1) ~ Bernoulli(sigmoid(z)) with, in raw units (income in k$, age in years, uncapped counts), z = -1.2 + 5 max(debt_ratio - 0.35, 0) + 0.9 delinquencies
 *   + 2.2 (utilization > 0.8) - 1.2 log(income_k / 55) - 0.12 min(credit_age_years, 15) + 0.4 inquiries
 *   + 1.2 (delinquencies >= 2 and debt_ratio > 0.5) (thresholds and an interaction: what trees are good at).
 * 6000 rows train, 2000 test.
 *
 * Outputs: model.onnx, calibration.json (48 training rows), sample-<k>.json (4 test rows, { "features": [...] }),
 * meta.json (features, trees, test accuracy / AUC vs the majority class, debt ratio alone and the generator's own
 * log-odds, onnxruntime agreement).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOnnxModel, mulberry32 } from '../src/onnx/builder.ts';
import { AttributeType, ModelProto } from '../src/onnx/proto.ts';

export const SEED = 20261202;
export const FEATURES = ['income_100k', 'debt_ratio', 'credit_age_decades', 'delinquencies', 'utilization', 'inquiries'] as const;
export const NF = FEATURES.length;
export const N_TRAIN = 6000;
export const N_TEST = 2000;
export const N_TREES = 30;
export const DEPTH = 3;
export const LEARNING_RATE = 0.2;
const MIN_LEAF = 20;
const DECIMALS = 4;
export const CALIBRATION_COUNT = 48;
export const SAMPLE_COUNT = 4;

export interface Dataset {
  x: Float64Array[];
  y: number[];
}

function poisson(rand: () => number, lambda: number): number {
  const l = Math.exp(-lambda);
  let k = 0;
  let p = rand();
  while (p > l) {
    k++;
    p *= rand();
  }
  return k;
}

function gaussian(rand: () => number): number {
  let u = 0;
  while (u <= 1e-12) u = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

const r4 = (v: number) => Math.round(v * 10 ** DECIMALS) / 10 ** DECIMALS;
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** The generator's default log-odds (the Bayes score: its AUC is the best any model can reach). */
export function trueLogOdds(income: number, debt: number, age: number, delinq: number, util: number, inq: number): number {
  return -1.2 + 5 * Math.max(debt - 0.35, 0) + 0.9 * delinq + 2.2 * (util > 0.8 ? 1 : 0) - 1.2 * Math.log(income / 55)
    - 0.12 * Math.min(age, 15) + 0.4 * inq + (delinq >= 2 && debt > 0.5 ? 1.2 : 0);
}

export function riskData(n: number, seed: number): Dataset {
  const rand = mulberry32(seed);
  const x: Float64Array[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const income = r4(55 * Math.exp(0.5 * gaussian(rand)));
    const debt = r4(Math.min(1.2, Math.max(0, 0.3 + 0.15 * gaussian(rand) + 0.1 * rand())));
    const age = r4(30 * rand() * Math.sqrt(rand()));
    const delinq = poisson(rand, 0.4);
    const util = r4(Math.min(1, Math.max(0, 0.4 + 0.3 * gaussian(rand))));
    const inq = poisson(rand, 1);
    const z = trueLogOdds(income, debt, age, delinq, util, inq);
    // model units: similar ranges for all six (zkonnx quantizes the input tensor to one 8-bit scale)
    x.push(Float64Array.from([r4(income / 100), debt, r4(age / 10), Math.min(delinq, 5), util, Math.min(inq, 5)]));
    y.push(rand() < sigmoid(z) ? 1 : 0);
  }
  return { x, y };
}

/** A regression tree node: internal (feature, threshold, left = x <= threshold) or leaf (value). */
export type TreeNode = { leaf: true; value: number } | { leaf: false; feature: number; threshold: number; left: TreeNode; right: TreeNode };

export interface Gbt {
  base: number; // prior log-odds
  trees: TreeNode[]; // leaf values already scaled by the learning rate
}

function leafValue(idx: number[], res: Float64Array, hess: Float64Array): number {
  let s = 0, h = 0;
  for (const i of idx) {
    s += res[i]!;
    h += hess[i]!;
  }
  return h < 1e-12 ? 0 : s / h;
}

/** Best split of idx on the residuals (least squares), thresholds midway between distinct float32 values. */
function buildTree(x: Float64Array[], idx: number[], res: Float64Array, hess: Float64Array, depth: number, lr: number): TreeNode {
  const leaf = (): TreeNode => ({ leaf: true, value: Math.fround(lr * leafValue(idx, res, hess)) });
  if (depth === 0 || idx.length < 2 * MIN_LEAF) return leaf();
  let total = 0;
  for (const i of idx) total += res[i]!;
  let best = { gain: 1e-9, feature: -1, threshold: 0 };
  const n = idx.length;
  for (let f = 0; f < NF; f++) {
    const sorted = idx.slice().sort((a, b) => x[a]![f]! - x[b]![f]! || a - b);
    let left = 0;
    for (let k = 0; k < n - 1; k++) {
      left += res[sorted[k]!]!;
      const v = x[sorted[k]!]![f]!, w = x[sorted[k + 1]!]![f]!;
      if (v === w || k + 1 < MIN_LEAF || n - k - 1 < MIN_LEAF) continue;
      const nl = k + 1, nr = n - nl;
      const gain = (left * left) / nl + ((total - left) * (total - left)) / nr - (total * total) / n;
      if (gain > best.gain) {
        // the threshold must separate v and w after float32 rounding (onnxruntime compares in float32)
        let t = Math.fround((v + w) / 2);
        if (!(Math.fround(v) <= t && Math.fround(w) > t)) t = Math.fround(v);
        best = { gain, feature: f, threshold: t };
      }
    }
  }
  if (best.feature < 0) return leaf();
  const l: number[] = [], r: number[] = [];
  for (const i of idx) (Math.fround(x[i]![best.feature]!) <= best.threshold ? l : r).push(i);
  return { leaf: false, feature: best.feature, threshold: best.threshold, left: buildTree(x, l, res, hess, depth - 1, lr), right: buildTree(x, r, res, hess, depth - 1, lr) };
}

function treeValue(t: TreeNode, x: ArrayLike<number>): number {
  while (!t.leaf) t = Math.fround(x[t.feature]!) <= t.threshold ? t.left : t.right;
  return t.value;
}

/** The raw score (log-odds) and P(default) of one row: what TreeEnsembleClassifier computes. */
export function gbtScore(m: Gbt, x: ArrayLike<number>): number {
  let s = m.base;
  for (const t of m.trees) s += treeValue(t, x);
  return s;
}
export const gbtProba = (m: Gbt, x: ArrayLike<number>) => sigmoid(gbtScore(m, x));

export function trainGbt(seed = SEED): { model: Gbt; train: Dataset; test: Dataset } {
  const train = riskData(N_TRAIN, seed);
  const test = riskData(N_TEST, seed + 1);
  const n = train.y.length;
  const prior = train.y.reduce((a, b) => a + b, 0) / n;
  const model: Gbt = { base: Math.fround(Math.log(prior / (1 - prior))), trees: [] };
  const f = new Float64Array(n).fill(model.base);
  const res = new Float64Array(n);
  const hess = new Float64Array(n);
  const all = Array.from({ length: n }, (_, i) => i);
  for (let m = 0; m < N_TREES; m++) {
    for (let i = 0; i < n; i++) {
      const p = sigmoid(f[i]!);
      res[i] = train.y[i]! - p;
      hess[i] = p * (1 - p);
    }
    const tree = buildTree(train.x, all, res, hess, DEPTH, LEARNING_RATE);
    model.trees.push(tree);
    for (let i = 0; i < n; i++) f[i] += treeValue(tree, train.x[i]!);
  }
  return { model, train, test };
}

/** skl2onnx's TreeEnsembleClassifier attributes for a binary GradientBoostingClassifier (zipmap=False). */
export function gbtOnnx(m: Gbt): Uint8Array {
  const nodes = { treeIds: [] as number[], nodeIds: [] as number[], featureIds: [] as number[], values: [] as number[], modes: [] as string[], trueIds: [] as number[], falseIds: [] as number[], hit: [] as number[] };
  const cls = { treeIds: [] as number[], nodeIds: [] as number[], ids: [] as number[], weights: [] as number[] };
  m.trees.forEach((tree, ti) => {
    let next = 0;
    const visit = (t: TreeNode): number => {
      const id = next++;
      const k = nodes.treeIds.length;
      nodes.treeIds.push(ti);
      nodes.nodeIds.push(id);
      nodes.hit.push(1);
      if (t.leaf) {
        nodes.featureIds.push(0);
        nodes.values.push(0);
        nodes.modes.push('LEAF');
        nodes.trueIds.push(0);
        nodes.falseIds.push(0);
        cls.treeIds.push(ti);
        cls.nodeIds.push(id);
        cls.ids.push(0);
        cls.weights.push(t.value);
      } else {
        nodes.featureIds.push(t.feature);
        nodes.values.push(t.threshold);
        nodes.modes.push('BRANCH_LEQ');
        nodes.trueIds.push(0);
        nodes.falseIds.push(0);
        nodes.trueIds[k] = visit(t.left);
        nodes.falseIds[k] = visit(t.right);
      }
      return id;
    };
    visit(tree);
  });
  // ai.onnx.ml string-list attributes are not in the builder's AttrValue: nodes_modes is added after encoding.
  const bytes = buildOnnxModel({
    opset: 17,
    extraOpsets: [{ domain: 'ai.onnx.ml', version: 1 }],
    producer: 'skl2onnx',
    graphName: 'GradientBoostingClassifier',
    inputs: [{ name: 'input', shape: [1, NF] }],
    outputs: [
      { name: 'label', shape: [1], elemType: 'int64' },
      { name: 'probabilities', shape: [1, 2] },
    ],
    nodes: [
      {
        op: 'TreeEnsembleClassifier',
        domain: 'ai.onnx.ml',
        name: 'TreeEnsembleClassifier',
        inputs: ['input'],
        outputs: ['label', 'probabilities'],
        attrs: {
          base_values: { floats: [m.base] },
          class_ids: { ints: cls.ids },
          class_nodeids: { ints: cls.nodeIds },
          class_treeids: { ints: cls.treeIds },
          class_weights: { floats: cls.weights },
          classlabels_int64s: { ints: [0, 1] },
          nodes_falsenodeids: { ints: nodes.falseIds },
          nodes_featureids: { ints: nodes.featureIds },
          nodes_hitrates: { floats: nodes.hit },
          nodes_missing_value_tracks_true: { ints: nodes.treeIds.map(() => 0) },
          nodes_nodeids: { ints: nodes.nodeIds },
          nodes_treeids: { ints: nodes.treeIds },
          nodes_truenodeids: { ints: nodes.trueIds },
          nodes_values: { floats: nodes.values },
          post_transform: 'LOGISTIC',
        },
      },
    ],
  });
  return withStringsAttr(bytes, 'nodes_modes', nodes.modes);
}

/** Adds a STRINGS attribute to the (only) node of an encoded model, keeping the attributes sorted by name. */
function withStringsAttr(bytes: Uint8Array, name: string, values: string[]): Uint8Array {
  const model = ModelProto.decode(bytes);
  const node = model.graph!.node![0]!;
  const enc = new TextEncoder();
  node.attribute = [...(node.attribute ?? []), { name, type: AttributeType.STRINGS, strings: values.map((v) => enc.encode(v)) }].sort((a, b) => (a.name! < b.name! ? -1 : 1));
  return ModelProto.encode(model).finish();
}

/**
 * The same ensemble in hummingbird's GEMM strategy (flattened over the trees, binary GBDT head):
 * t = x A (one column per branch picks its feature); c = t <= thr; u = Cast(c) C (+1 for a left ancestor, -1 for a
 * right one); e = (u == D) (D = the leaf's left ancestors: exactly one leaf per tree); score = Cast(e) E + base;
 * p = Sigmoid(score); probabilities = Concat(1 - p, p); label = ArgMax(probabilities). ~200 KB (C is dense
 * [branches, leaves]), so it is not committed: scripts/lib/examples14.ts writes it next to its artifacts.
 */
export function gbtGemmOnnx(m: Gbt): Uint8Array {
  const branches: { feature: number; threshold: number }[] = [];
  const leaves: { value: number; path: [number, boolean][] }[] = [];
  const visit = (t: TreeNode, path: [number, boolean][]) => {
    if (t.leaf) {
      leaves.push({ value: t.value, path });
      return;
    }
    const b = branches.length;
    branches.push({ feature: t.feature, threshold: t.threshold });
    visit(t.left, [...path, [b, true]]);
    visit(t.right, [...path, [b, false]]);
  };
  for (const t of m.trees) visit(t, []);
  const B = branches.length, L = leaves.length;
  const A = new Array(NF * B).fill(0);
  branches.forEach((br, b) => (A[br.feature * B + b] = 1));
  const C = new Array(B * L).fill(0);
  const D = new Array(L).fill(0);
  leaves.forEach((lf, l) => {
    for (const [b, left] of lf.path) {
      C[b * L + l] = left ? 1 : -1;
      if (left) D[l]++;
    }
  });
  return buildOnnxModel({
    opset: 17,
    producer: 'hummingbird (GEMM strategy), written by scripts/train-trees.ts',
    graphName: 'hb_gemm',
    inputs: [{ name: 'input', shape: [1, NF] }],
    outputs: [
      { name: 'label', shape: [1], elemType: 'int64' },
      { name: 'probabilities', shape: [1, 2] },
    ],
    initializers: [
      { name: 'A', dims: [NF, B], data: A },
      { name: 'thr', dims: [B], data: branches.map((b) => b.threshold) },
      { name: 'C', dims: [B, L], data: C },
      { name: 'D', dims: [L], data: D },
      { name: 'E', dims: [L, 1], data: leaves.map((l) => l.value) },
      { name: 'base', dims: [1], data: [m.base] },
      { name: 'one', dims: [1], data: [1] },
    ],
    nodes: [
      { op: 'MatMul', inputs: ['input', 'A'], outputs: ['t'] },
      { op: 'LessOrEqual', inputs: ['t', 'thr'], outputs: ['c'] },
      { op: 'Cast', inputs: ['c'], outputs: ['cf'], attrs: { to: 1 } },
      { op: 'MatMul', inputs: ['cf', 'C'], outputs: ['u'] },
      { op: 'Equal', inputs: ['u', 'D'], outputs: ['e'] },
      { op: 'Cast', inputs: ['e'], outputs: ['ef'], attrs: { to: 1 } },
      { op: 'MatMul', inputs: ['ef', 'E'], outputs: ['s'] },
      { op: 'Add', inputs: ['s', 'base'], outputs: ['score'] },
      { op: 'Sigmoid', inputs: ['score'], outputs: ['p1'] },
      { op: 'Sub', inputs: ['one', 'p1'], outputs: ['p0'] },
      { op: 'Concat', inputs: ['p0', 'p1'], outputs: ['probabilities'], attrs: { axis: 1 } },
      { op: 'ArgMax', inputs: ['probabilities'], outputs: ['label'], attrs: { axis: 1, keepdims: 0 } },
    ],
  });
}

/** Area under the ROC curve (rank statistic, ties counted half). */
export function auc(scores: number[], y: number[]): number {
  const idx = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSumPos = 0, nPos = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j < idx.length && scores[idx[j]!] === scores[idx[i]!]) j++;
    const avgRank = (i + j + 1) / 2;
    for (let k = i; k < j; k++) if (y[idx[k]!] === 1) {
      rankSumPos += avgRank;
      nPos++;
    }
    i = j;
  }
  const nNeg = y.length - nPos;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

export function gbtMetrics(m: Gbt, d: Dataset): { accuracy: number; auc: number; majorityAccuracy: number; debtRatioAuc: number; bayesAuc: number; bayesAccuracy: number; defaultRate: number } {
  const p = d.x.map((x) => gbtProba(m, x));
  const acc = p.filter((v, i) => (v > 0.5 ? 1 : 0) === d.y[i]).length / p.length;
  const rate = d.y.reduce((a, b) => a + b, 0) / d.y.length;
  // the generator's log-odds on the model's features (counts capped at 5: within a hair of the true Bayes score)
  const bayes = d.x.map((x) => trueLogOdds(x[0]! * 100, x[1]!, x[2]! * 10, x[3]!, x[4]!, x[5]!));
  const bayesAcc = bayes.filter((v, i) => (v > 0 ? 1 : 0) === d.y[i]).length / p.length;
  return { accuracy: acc, auc: auc(p, d.y), majorityAccuracy: Math.max(rate, 1 - rate), debtRatioAuc: auc(d.x.map((x) => x[1]!), d.y), bayesAuc: auc(bayes, d.y), bayesAccuracy: bayesAcc, defaultRate: rate };
}

async function main(): Promise<void> {
  const outFlag = process.argv.indexOf('--out');
  const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
  const outDir = outFlag >= 0 ? process.argv[outFlag + 1]! : join(repoRoot, 'examples', 'risk-trees');
  const t0 = Date.now();
  const { model, train, test } = trainGbt();
  const seconds = (Date.now() - t0) / 1000;
  const mt = gbtMetrics(model, test);
  const bytes = gbtOnnx(model);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'model.onnx'), bytes);
  const stride = Math.floor(train.x.length / CALIBRATION_COUNT);
  const calibration = Array.from({ length: CALIBRATION_COUNT }, (_, i) => ({ input: Array.from(train.x[i * stride]!) }));
  writeFileSync(join(outDir, 'calibration.json'), '[\n' + calibration.map((c) => JSON.stringify(c)).join(',\n') + '\n]\n');
  // samples: the first two defaults and two non-defaults of the test set that the model classifies correctly
  const picks: number[] = [];
  for (const want of [1, 0, 1, 0]) picks.push(test.y.findIndex((v, i) => v === want && !picks.includes(i) && (gbtProba(model, test.x[i]!) > 0.5 ? 1 : 0) === want));
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(Buffer.from(bytes));
  const runOrt = async (x: ArrayLike<number>) => {
    const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x), [1, NF]) });
    return { label: Number((out.label!.data as BigInt64Array)[0]), p1: (out.probabilities!.data as Float32Array)[1]! };
  };
  const samples: { file: string; label: number; pDefault: number }[] = [];
  for (let k = 0; k < picks.length; k++) {
    const x = test.x[picks[k]!]!;
    const file = `sample-${k}.json`;
    writeFileSync(join(outDir, file), JSON.stringify({ input: Array.from(x) }) + '\n');
    samples.push({ file, label: test.y[picks[k]!]!, pDefault: gbtProba(model, x) });
  }
  let maxDiff = 0, agree = 0;
  for (let i = 0; i < test.x.length; i++) {
    const o = await runOrt(test.x[i]!);
    const p = gbtProba(model, test.x[i]!);
    maxDiff = Math.max(maxDiff, Math.abs(o.p1 - p));
    if (o.label === (p > 0.5 ? 1 : 0)) agree++;
  }
  let leaves = 0;
  const count = (t: TreeNode): number => (t.leaf ? (leaves++, 1) : 1 + count(t.left) + count(t.right));
  const nodeCount = model.trees.reduce((a, t) => a + count(t), 0);
  const meta = {
    trainedBy: 'scripts/train-trees.ts',
    seed: SEED,
    features: FEATURES,
    data: 'synthetic credit applicants (see the header of scripts/train-trees.ts for the generator and the default model)',
    trainRows: N_TRAIN,
    testRows: N_TEST,
    trees: N_TREES,
    depth: DEPTH,
    learningRate: LEARNING_RATE,
    nodes: nodeCount,
    leaves,
    trainSeconds: seconds,
    test: mt,
    onnxruntime: { maxAbsDiffProbability: maxDiff, labelAgreement: agree / test.x.length },
    modelSha256: createHash('sha256').update(bytes).digest('hex'),
    input: { name: 'input', shape: [1, NF] },
    outputs: [{ name: 'label', shape: [1], type: 'int64' }, { name: 'probabilities', shape: [1, 2] }],
    samples,
  };
  writeFileSync(join(outDir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  console.log(JSON.stringify({ seconds, ...mt, maxDiff, agree: agree / test.x.length, bytes: bytes.length, nodeCount, leaves }));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
