/**
 * Tree ensembles of ai.onnx.ml (src/ops/trees.ts): TreeEnsembleRegressor, TreeEnsembleClassifier (ml opsets 1-3),
 * TreeEnsemble (ml opset 5) and a trailing ZipMap. Imported as existing layers, each sound on its own
 * (src/ops/arith.ts compare and minmax, src/ops/movement.ts route, src/ir dense, src/ops/argmax.ts, lut, softmax),
 * plus one pass-through layer that carries a classifier's label table ('classlabels', 0 constraints):
 *
 * 1. d = one 'compare' layer per comparison, x[feature] OP threshold (float32, as onnxruntime): exact on the
 *    input's integer grid (B + 2 constraints per branch node). BRANCH_NEQ is BRANCH_EQ with its children swapped;
 *    BRANCH_MEMBER (opset 5) is one BRANCH_EQ per member, their sum (0 or 1: the members are distinct) the decision.
 * 2. D = the decisions concatenated ('route', 0 constraints; left out when one comparison kind is used).
 * 3. s = 'dense' D -> one value per leaf: the number of literals on the leaf's path that hold (a decision on a
 *    true edge, 1 - decision on a false edge), 0 constraints.
 * 4. leaf = (s == L) ('compare' eq, L the path length; s <= L always): 1 exactly on the leaf the input reaches.
 * 5. scores = 'dense' leaf -> targets/classes: leaf weights (divided by the tree count for AVERAGE) plus
 *    base_values, 0 constraints. MIN/MAX (opset 5): 'dense' leaf -> one value per (target, tree that always
 *    votes for it), then a 'minmax' tournament per target (Max2/Min2 of the range-checked difference). Then
 *    LOGISTIC (sigmoid table) or SOFTMAX (src/ops/norm.ts) when asked.
 * 6. Classifier label: ArgMax of the scores (post_transform is monotone), mapped to int64 labels when they are
 *    an arithmetic progression (0..C-1 included); otherwise the class index, with the label table on a
 *    'classlabels' layer (the proof covers the index; the table is part of the model description the key pins).
 *
 * Cost: sum over branch nodes of (B_n + 2) (a member set: that per member) + the leaves' equality tests (a few
 * constraints each, s - L being a small integer) + for MIN/MAX (g - 1) Max2/Min2 per target (g the largest
 * number of trees voting for one target: every target is padded to g with repeats) + the post-transform + the
 * ArgMax; B_n the bits of the branch's integer difference (about 8 for a uint8 input).
 *
 * The other ai.onnx.ml ops of skl2onnx pipelines (Scaler, LinearClassifier, ...) are in src/ops/ml.ts.
 *
 * TreeEnsemble (opset 5) as onnxruntime 1.30 runs it, where it differs from the ONNX spec (each difference is
 * a note): post_transform 1 is LOGISTIC and 2 SOFTMAX in onnxruntime (its enum order; the spec says 1 SOFTMAX,
 * 2 LOGISTIC), and a single target's post_transform is not applied (onnxruntime applies PROBIT only). Refused
 * with the node and value named: PROBIT and SOFTMAX_ZERO (no table or exact-zero test for them here), MIN/MAX
 * where a tree votes for a target on some leaves only (whether it takes part would be a runtime fact).
 */
import type { ClassLabelsLayer, QClassLabels, TreesFloatLayer, TreesQLayer } from '../ir/layers/trees.ts';
import type { OnnxNode } from '../onnx/load.ts';
import type { CompareOp } from '../ir/layers/arith.ts';
import { sizeOf } from '../ir/types.ts';
import { MAX_LABEL_TABLE_CHARS, MAX_LABELS } from '../verify/key.ts';
import { getter, type Getter } from './attrs.ts';
import type { FloatLayerDef, ImportContext, OpImporter, QLayerDef } from './types.ts';

const KNOWN = new Set([
  'nodes_treeids', 'nodes_nodeids', 'nodes_featureids', 'nodes_values', 'nodes_values_as_tensor', 'nodes_modes',
  'nodes_truenodeids', 'nodes_falsenodeids', 'nodes_missing_value_tracks_true', 'nodes_hitrates', 'nodes_hitrates_as_tensor',
  'target_ids', 'target_nodeids', 'target_treeids', 'target_weights', 'target_weights_as_tensor',
  'class_ids', 'class_nodeids', 'class_treeids', 'class_weights', 'class_weights_as_tensor',
  'base_values', 'base_values_as_tensor', 'aggregate_function', 'post_transform', 'n_targets',
  'classlabels_int64s', 'classlabels_strings',
]);

/** TreeEnsemble (ai.onnx.ml opset 5) attributes. */
const KNOWN_V5 = new Set([
  'nodes_featureids', 'nodes_splits', 'nodes_modes', 'nodes_truenodeids', 'nodes_trueleafs', 'nodes_falsenodeids', 'nodes_falseleafs',
  'nodes_missing_value_tracks_true', 'nodes_hitrates', 'tree_roots', 'leaf_targetids', 'leaf_weights', 'n_targets',
  'aggregate_function', 'post_transform', 'membership_values',
]);

const MODES: Record<string, { op: CompareOp; swap: boolean }> = {
  BRANCH_LEQ: { op: 'le', swap: false },
  BRANCH_LT: { op: 'lt', swap: false },
  BRANCH_GTE: { op: 'ge', swap: false },
  BRANCH_GT: { op: 'gt', swap: false },
  BRANCH_EQ: { op: 'eq', swap: false },
  BRANCH_NEQ: { op: 'eq', swap: true },
};

/** TreeEnsemble's nodes_modes values (0..5; 6 is BRANCH_MEMBER, handled apart). */
const MODES_V5 = ['BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ'];
const AGGREGATES_V5 = ['AVERAGE', 'SUM', 'MIN', 'MAX'];
/** post_transform values as onnxruntime 1.30 reads them (1 and 2 are swapped with respect to the ONNX spec). */
const POSTS_ORT = ['NONE', 'LOGISTIC', 'SOFTMAX', 'SOFTMAX_ZERO', 'PROBIT'];
const POSTS_SPEC = ['NONE', 'SOFTMAX', 'LOGISTIC', 'SOFTMAX_ZERO', 'PROBIT'];

/** Longest label a table may hold (the table goes into the verification key and every bundle; src/verify/key.ts). */
const MAX_LABEL_CHARS = 256;


/** One comparison x[feature] OP value. */
interface Branch {
  feature: number;
  value: number;
  op: CompareOp;
}

/** A literal of a leaf's path: holds when the sum of the decisions `d` (indices into the branches) is `want`. */
interface Literal {
  d: number[];
  want: 0 | 1;
}

/** One leaf: its tree (0-based), its path, and its weights per output column. */
interface Leaf {
  tree: number;
  path: Literal[];
  weights: Map<number, number>;
}

/** An ensemble as the layers see it, whatever the ONNX encoding. */
interface Ensemble {
  branches: Branch[];
  leaves: Leaf[];
  nTrees: number;
}

/** What to compute from the leaves. */
interface Scoring {
  nOut: number;
  agg: string;
  post: string;
  base: number[];
}

function checkFeature(ctx: ImportContext, feature: number, nFeat: number, where: string): boolean {
  if (Number.isInteger(feature) && feature >= 0 && feature < nFeat) return true;
  ctx.issue(`nodes_featureids ${feature} (${where}) out of range (${nFeat} features)`);
  return false;
}

/** TreeEnsembleRegressor / TreeEnsembleClassifier nodes (flat lists keyed by tree and node id) as an Ensemble. */
function legacyEnsemble(node: OnnxNode, ctx: ImportContext, g: Getter, nFeat: number, prefix: string, nOut: number): Ensemble | undefined {
  const treeIds = g.ints('nodes_treeids');
  const nodeIds = g.ints('nodes_nodeids');
  const featIds = g.ints('nodes_featureids');
  const values = g.floats('nodes_values');
  const modes = g.strings('nodes_modes');
  const trueIds = g.ints('nodes_truenodeids');
  const falseIds = g.ints('nodes_falsenodeids');
  if (!treeIds || !nodeIds || !modes) return void ctx.issue('needs nodes_treeids, nodes_nodeids and nodes_modes');
  const n = treeIds.length;
  if (nodeIds.length !== n || modes.length !== n) return void ctx.issue('nodes_* attributes differ in length');

  const tIds = g.ints(`${prefix}_ids`) ?? [];
  const tNodes = g.ints(`${prefix}_nodeids`) ?? [];
  const tTrees = g.ints(`${prefix}_treeids`) ?? [];
  const tW = g.floats(`${prefix}_weights`) ?? [];
  if (tNodes.length !== tIds.length || tTrees.length !== tIds.length || tW.length !== tIds.length) return void ctx.issue(`${prefix}_* attributes differ in length`);
  if (tIds.some((c) => c < 0 || c >= nOut)) return void ctx.issue(`${prefix}_ids out of range 0..${nOut - 1}`);

  interface TreeNode { tree: number; id: number; feature: number; value: number; mode: string; t: number; f: number }
  const nodes = new Map<string, TreeNode>();
  const key = (t: number, i: number) => `${t}/${i}`;
  const trees = [...new Set(treeIds)];
  for (let i = 0; i < n; i++) {
    const mode = modes[i];
    if (mode !== 'LEAF' && !MODES[mode]) return void ctx.issue(`nodes_modes ${mode} is not supported`);
    if (mode !== 'LEAF') {
      if (!featIds || !values || !trueIds || !falseIds || featIds.length !== n || values.length !== n || trueIds.length !== n || falseIds.length !== n) {
        return void ctx.issue('branch nodes need nodes_featureids, nodes_values, nodes_truenodeids and nodes_falsenodeids of the same length');
      }
      if (!checkFeature(ctx, featIds[i], nFeat, `node ${nodeIds[i]} of tree ${treeIds[i]}`)) return;
      if (!Number.isFinite(values[i])) return void ctx.issue(`threshold ${values[i]} (node ${nodeIds[i]}) is not finite`);
    }
    nodes.set(key(treeIds[i], nodeIds[i]), {
      tree: treeIds[i], id: nodeIds[i], feature: featIds?.[i] ?? 0, value: Math.fround(values?.[i] ?? 0), mode,
      t: trueIds?.[i] ?? -1, f: falseIds?.[i] ?? -1,
    });
  }
  const leafW = new Map<string, Map<number, number>>();
  for (let j = 0; j < tIds.length; j++) {
    const k = key(tTrees[j], tNodes[j]);
    const nd = nodes.get(k);
    if (!nd || nd.mode !== 'LEAF') return void ctx.issue(`${prefix}_nodeids ${tNodes[j]} (tree ${tTrees[j]}) is not a leaf`);
    const m = leafW.get(k) ?? new Map<number, number>();
    m.set(tIds[j], (m.get(tIds[j]) ?? 0) + Math.fround(tW[j]));
    leafW.set(k, m);
  }

  const branches: Branch[] = [];
  const leaves: Leaf[] = [];
  trees.forEach((t, ti) => {
    const ids = [...nodes.values()].filter((nd) => nd.tree === t);
    const children = new Set<number>();
    for (const nd of ids) if (nd.mode !== 'LEAF') children.add(nd.t).add(nd.f);
    const roots = ids.filter((nd) => !children.has(nd.id));
    if (roots.length !== 1) throw new TreeProblem(`tree ${t} has ${roots.length} roots`);
    const stack: [TreeNode, Literal[]][] = [[roots[0], []]];
    let visited = 0;
    while (stack.length) {
      const [nd, path] = stack.pop()!;
      if (++visited > ids.length) throw new TreeProblem(`tree ${t} is not a tree (a node is reached twice)`);
      if (nd.mode === 'LEAF') {
        leaves.push({ tree: ti, path, weights: leafW.get(key(t, nd.id)) ?? new Map() });
        continue;
      }
      const { op, swap } = MODES[nd.mode];
      const bi = branches.push({ feature: nd.feature, value: nd.value, op }) - 1;
      for (const [child, want] of [[nd.t, swap ? 0 : 1], [nd.f, swap ? 1 : 0]] as [number, 0 | 1][]) {
        const c = nodes.get(key(t, child));
        if (!c) throw new TreeProblem(`tree ${t}: node ${nd.id} points at a missing node ${child}`);
        stack.push([c, [...path, { d: [bi], want }]]);
      }
    }
  });
  return { branches, leaves, nTrees: trees.length };
}

/** A structural problem found while walking the trees (reported as the node's issue). */
class TreeProblem extends Error {}

/** TreeEnsemble (ai.onnx.ml opset 5) as an Ensemble and what to compute from it. */
function v5Ensemble(node: OnnxNode, ctx: ImportContext, g: Getter, nFeat: number): (Ensemble & Scoring) | undefined {
  const feat = g.ints('nodes_featureids');
  const splits = g.tensor('nodes_splits');
  const modes = g.tensor('nodes_modes');
  const trueIds = g.ints('nodes_truenodeids');
  const trueLeafs = g.ints('nodes_trueleafs');
  const falseIds = g.ints('nodes_falsenodeids');
  const falseLeafs = g.ints('nodes_falseleafs');
  const roots = g.ints('tree_roots');
  const targets = g.ints('leaf_targetids');
  const weights = g.tensor('leaf_weights');
  const nOut = g.int('n_targets', 0);
  const aggCode = g.int('aggregate_function', 1);
  const postCode = g.int('post_transform', 0);
  const members = g.tensor('membership_values');
  if (!feat || !splits || !modes || !trueIds || !trueLeafs || !falseIds || !falseLeafs || !roots || !targets || !weights) {
    return void ctx.issue('needs nodes_featureids, nodes_splits, nodes_modes, nodes_truenodeids, nodes_trueleafs, nodes_falsenodeids, nodes_falseleafs, tree_roots, leaf_targetids and leaf_weights');
  }
  const n = feat.length;
  if ([splits, modes, trueIds, trueLeafs, falseIds, falseLeafs].some((a) => a.length !== n)) return void ctx.issue('nodes_* attributes differ in length');
  if (weights.length !== targets.length) return void ctx.issue(`leaf_targetids has ${targets.length} values, leaf_weights ${weights.length}`);
  if (!(nOut > 0)) return void ctx.issue(`n_targets must be a positive integer (it is ${nOut})`);
  const bad = targets.findIndex((t) => !(t >= 0 && t < nOut));
  if (bad >= 0) return void ctx.issue(`leaf_targetids[${bad}] = ${targets[bad]} is out of range 0..${nOut - 1} (n_targets ${nOut})`);
  const agg = AGGREGATES_V5[aggCode];
  if (!agg) return void ctx.issue(`aggregate_function ${aggCode} is not one of 0 AVERAGE, 1 SUM, 2 MIN, 3 MAX`);
  let post = POSTS_ORT[postCode];
  if (!post) return void ctx.issue(`post_transform ${postCode} is not one of 0..4 (NONE, SOFTMAX, LOGISTIC, SOFTMAX_ZERO, PROBIT)`);
  if ((postCode === 1 || postCode === 2) && nOut > 1) {
    ctx.note(`'${node.name}': post_transform ${postCode} (${POSTS_SPEC[postCode]} in the ONNX spec) is applied as ${post}, as onnxruntime 1.30 runs it (its enum order differs from the spec's); for the spec's meaning, export post_transform 0 and an explicit Softmax or Sigmoid`);
  }
  if (post === 'PROBIT') return void ctx.issue('post_transform 4 (PROBIT) is not supported: its output is NaN outside (0, 1) and no table gadget computes it here; export post_transform 0 (NONE) and apply the transform outside the proof');
  if (nOut === 1 && post !== 'NONE') {
    ctx.note(`'${node.name}': post_transform ${postCode} (${post}) of a single target is not applied (as onnxruntime, which applies only PROBIT to one target)`);
    post = 'NONE';
  }
  if (post === 'SOFTMAX_ZERO') return void ctx.issue('post_transform 3 (SOFTMAX_ZERO) is not supported: it tests each score for exactly 0, which a quantized score cannot answer as the float model does; export post_transform 0 (NONE)');
  const missing = g.ints('nodes_missing_value_tracks_true');
  if (missing?.some((v) => v !== 0)) ctx.note(`'${node.name}': nodes_missing_value_tracks_true is ignored (a quantized input is never NaN)`);

  // Member sets, in node order, separated by NaN.
  const sets = new Map<number, number[]>();
  let at = 0;
  for (let i = 0; i < n; i++) {
    if (modes[i] !== 6) continue;
    const set: number[] = [];
    while (members && at < members.length && !Number.isNaN(members[at])) set.push(members[at++]);
    at++;
    if (!set.length) return void ctx.issue(`node ${i} is BRANCH_MEMBER (6) but membership_values holds no set for it`);
    if (set.some((v) => !Number.isFinite(v))) return void ctx.issue(`membership_values for node ${i} holds a value that is not finite`);
    sets.set(i, [...new Set(set)]);
  }

  const branches: Branch[] = [];
  const leaves: Leaf[] = [];
  const leafOf = (li: number, tree: number, path: Literal[]) => {
    if (!(li >= 0 && li < targets.length)) throw new TreeProblem(`tree ${tree}: leaf index ${li} is out of range (${targets.length} leaves)`);
    leaves.push({ tree, path, weights: new Map([[targets[li], weights[li]]]) });
  };
  for (let t = 0; t < roots.length; t++) {
    const r = roots[t];
    if (!(r >= 0 && r < n)) return void ctx.issue(`tree_roots[${t}] = ${r} is out of range (${n} nodes)`);
    if (trueLeafs[r] && falseLeafs[r] && trueIds[r] === falseIds[r]) {
      // A tree that is one leaf: onnxruntime reads the leaf at index tree_roots[t].
      leafOf(r, t, []);
      continue;
    }
    const seen = new Set<number>();
    const stack: [number, Literal[]][] = [[r, []]];
    while (stack.length) {
      const [i, path] = stack.pop()!;
      if (seen.has(i)) throw new TreeProblem(`tree ${t} is not a tree (node ${i} is reached twice)`);
      seen.add(i);
      if (!(i >= 0 && i < n)) throw new TreeProblem(`tree ${t}: node index ${i} is out of range (${n} nodes)`);
      if (!checkFeature(ctx, feat[i], nFeat, `node ${i}`)) return;
      const mode = modes[i];
      let d: number[];
      let swap = false;
      if (mode === 6) {
        d = sets.get(i)!.map((v) => branches.push({ feature: feat[i], value: v, op: 'eq' }) - 1);
      } else {
        const name = MODES_V5[mode];
        if (!name) throw new TreeProblem(`nodes_modes[${i}] = ${mode} is not a branch mode (0 LEQ, 1 LT, 2 GTE, 3 GT, 4 EQ, 5 NEQ, 6 MEMBER)`);
        if (!Number.isFinite(splits[i])) throw new TreeProblem(`nodes_splits[${i}] = ${splits[i]} is not finite`);
        d = [branches.push({ feature: feat[i], value: splits[i], op: MODES[name].op }) - 1];
        swap = MODES[name].swap;
      }
      for (const [child, isLeaf, want] of [[trueIds[i], trueLeafs[i], swap ? 0 : 1], [falseIds[i], falseLeafs[i], swap ? 1 : 0]] as [number, number, 0 | 1][]) {
        const p = [...path, { d, want }];
        if (isLeaf) leafOf(child, t, p);
        else stack.push([child, p]);
      }
    }
  }
  return { branches, leaves, nTrees: roots.length, nOut, agg, post, base: [] };
}

/** Steps 1-4 (see the top of this file): the decisions and the leaf indicators; returns the indicators' tensor. */
function leafIndicators(node: OnnxNode, ctx: ImportContext, x: { name: string; shape: number[] }, ens: Ensemble): string | undefined {
  const { branches, leaves } = ens;
  const B = branches.length;
  if (B === 0) return void ctx.issue('every tree is a single leaf (a constant model) is not supported');
  // 1-2. Decisions, one compare layer per comparison kind; dIndex[b] is branch b's position in D.
  const groups = new Map<CompareOp, number[]>();
  branches.forEach((b, i) => groups.set(b.op, [...(groups.get(b.op) ?? []), i]));
  const dIndex = new Array<number>(B);
  let k = 0;
  for (const list of groups.values()) for (const i of list) dIndex[i] = k++;
  const cmpOut: string[] = [];
  for (const [op, list] of groups) {
    const out = `${node.name}#cmp_${op}`;
    cmpOut.push(out);
    ctx.push({
      kind: 'compare', name: out, inputs: [x.name], output: out, inShape: x.shape, outShape: [list.length], op,
      ia: list.map((i) => branches[i].feature), ib: [], threshold: list.map((i) => branches[i].value),
    });
  }
  let dName = cmpOut[0];
  if (cmpOut.length > 1) {
    dName = `${node.name}#d`;
    ctx.push({ kind: 'route', name: dName, inputs: cmpOut, output: dName, inShape: [groups.values().next().value!.length], outShape: [B], index: Int32Array.from({ length: B }, (_, i) => i), consts: new Float64Array(0) });
  }
  // 3. Literal counts per leaf.
  const nl = leaves.length;
  const sName = `${node.name}#paths`;
  const w = new Float64Array(nl * B);
  const bias = new Float64Array(nl);
  leaves.forEach((lf, j) => {
    for (const { d, want } of lf.path) {
      for (const b of d) w[j * B + dIndex[b]] += want ? 1 : -1;
      if (!want) bias[j] += 1;
    }
  });
  ctx.push({ kind: 'dense', name: sName, inputs: [dName], output: sName, inShape: [B], outShape: [nl], inSize: B, outSize: nl, weights: w, bias });
  // 4. Leaf indicators.
  const lName = `${node.name}#leaves`;
  ctx.push({
    kind: 'compare', name: lName, inputs: [sName], output: lName, inShape: [nl], outShape: [nl], op: 'eq',
    ia: leaves.map((_, j) => j), ib: [], threshold: leaves.map((lf) => lf.path.length),
  });
  return lName;
}

/**
 * Step 5: the scores [1, nOut] from the leaf indicators, written to `out`. SUM/AVERAGE: one dense layer.
 * MIN/MAX: per target, the trees that vote for it on every leaf (a tree voting on some leaves only is refused):
 * one dense value per (target, tree), then a minmax tournament; a target no tree votes for is 0 (onnxruntime).
 */
export function scores(node: OnnxNode, ctx: ImportContext, ens: Ensemble, s: Scoring, lName: string, out: string): boolean {
  const { leaves, nTrees } = ens;
  const { nOut, agg } = s;
  const nl = leaves.length;
  const outShape = [1, nOut];
  if (agg === 'SUM' || agg === 'AVERAGE') {
    const sw = new Float64Array(nOut * nl);
    const div = agg === 'AVERAGE' ? nTrees : 1;
    leaves.forEach((lf, j) => {
      for (const [c, v] of lf.weights) sw[c * nl + j] += v / div;
    });
    const sb = Float64Array.from({ length: nOut }, (_, c) => Math.fround(s.base[c] ?? 0));
    ctx.push({ kind: 'dense', name: out === node.outputs[0] || out === node.outputs[1] ? node.name : out, inputs: [lName], output: out, inShape: [nl], outShape, inSize: nl, outSize: nOut, weights: sw, bias: sb });
    return true;
  }
  // MIN / MAX: which trees vote for each target, on every one of their leaves.
  const voters: number[][] = Array.from({ length: nOut }, () => []);
  for (let t = 0; t < nTrees; t++) {
    const mine = leaves.filter((lf) => lf.tree === t);
    for (let c = 0; c < nOut; c++) {
      const n = mine.filter((lf) => lf.weights.has(c)).length;
      if (n === mine.length && n > 0) voters[c].push(t);
      else if (n > 0) {
        ctx.issue(`aggregate_function ${agg}: tree ${t} votes for target ${c} on ${n} of its ${mine.length} leaves; zkonnx supports ${agg} only when each tree votes for a target on all of its leaves or none (whether a tree takes part would depend on the input)`);
        return false;
      }
    }
  }
  const rows: [number, number][] = [];
  const rowOf = new Map<string, number>();
  for (let c = 0; c < nOut; c++) for (const t of voters[c]) rowOf.set(`${c}/${t}`, rows.push([c, t]) - 1);
  const empty = voters.some((v) => v.length === 0);
  const zeroRow = empty ? rows.push([-1, -1]) - 1 : -1;
  const vName = `${node.name}#votes`;
  const vw = new Float64Array(rows.length * nl);
  rows.forEach(([c, t], r) => {
    if (c < 0) return;
    leaves.forEach((lf, j) => {
      if (lf.tree === t) vw[r * nl + j] = lf.weights.get(c)!;
    });
  });
  ctx.push({ kind: 'dense', name: vName, inputs: [lName], output: vName, inShape: [nl], outShape: [rows.length], inSize: nl, outSize: rows.length, weights: vw, bias: new Float64Array(rows.length) });
  const gSize = Math.max(1, ...voters.map((v) => v.length));
  const refs: number[] = [];
  for (let c = 0; c < nOut; c++) {
    const mine = voters[c].length ? voters[c].map((t) => rowOf.get(`${c}/${t}`)!) : [zeroRow];
    for (let i = 0; i < gSize; i++) refs.push(0, mine[i % mine.length]);
  }
  ctx.push({ kind: 'minmax', name: out === node.outputs[0] ? node.name : out, inputs: [vName], output: out, inShape: [rows.length], outShape, max: agg === 'MAX', g: gSize, refs, consts: [] });
  return true;
}

/** Steps 5 and the post-transform: the scores into `scoreOut` (when the graph reads them); returns the raw scores' tensor. */
function scoresAndPost(node: OnnxNode, ctx: ImportContext, ens: Ensemble, s: Scoring, lName: string, scoreOut: string | undefined): string | undefined {
  const outShape = [1, s.nOut];
  const rawName = s.post === 'NONE' && scoreOut ? scoreOut : `${node.name}#scores`;
  if (!scores(node, ctx, ens, s, lName, rawName)) return undefined;
  if (s.post !== 'NONE' && scoreOut) {
    if (s.post === 'LOGISTIC') {
      ctx.push({ kind: 'lut', name: node.name, inputs: [rawName], output: scoreOut, inShape: outShape, outShape, fn: 'sigmoid', alpha: 0 });
    } else {
      ctx.push({ kind: 'softmax', name: node.name, inputs: [rawName], output: scoreOut, inShape: outShape, outShape, axes: [1], log: false });
    }
  }
  return rawName;
}

/** A label table the bundle can carry: refused (naming the attribute) when too large for the key format. */
function labelTableProblem(labels: string[] | number[]): string | undefined {
  if (labels.length > MAX_LABELS) return `has ${labels.length} labels; a label table carried in the verification key holds at most ${MAX_LABELS}`;
  const long = (labels as (string | number)[]).findIndex((v) => typeof v === 'string' && v.length > MAX_LABEL_CHARS);
  if (long >= 0) return `label ${long} has ${(labels[long] as string).length} characters (at most ${MAX_LABEL_CHARS})`;
  if (JSON.stringify(labels).length > MAX_LABEL_TABLE_CHARS) return `is ${JSON.stringify(labels).length} characters of JSON (at most ${MAX_LABEL_TABLE_CHARS})`;
  return undefined;
}

/** The label output as the class index with its table: a 'classlabels' layer (0 constraints), and a note. */
export function pushClassLabels(node: OnnxNode, ctx: ImportContext, index: string, output: string, labels: string[] | number[]): void {
  const attr = typeof labels[0] === 'string' ? 'classlabels_strings' : 'classlabels_int64s';
  const problem = labelTableProblem(labels);
  if (problem) return ctx.issue(`${attr} ${problem}`);
  const layer: ClassLabelsLayer = { kind: 'classlabels', name: `${node.name}#label`, inputs: [index], output, inShape: [1], outShape: [1], labels };
  ctx.push(layer);
  const table = (labels as (string | number)[]).map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v))).join(', ');
  ctx.note(`'${node.name}': the proven label is the class index; the labels are [${table}] (index k is the k-th; the label table is in the verification key and the bundle)`);
}

function importEnsemble(node: OnnxNode, ctx: ImportContext): void {
  const classifier = node.op === 'TreeEnsembleClassifier';
  for (const k of node.attrs.keys()) if (!KNOWN.has(k)) ctx.issue(`attribute ${k} is not supported`);
  const g = getter(node, ctx);
  const x = ctx.current;
  if (!x) return ctx.issue('the input must be an activation');
  const nFeat = x.shape[x.shape.length - 1];
  if (sizeOf(x.shape) !== nFeat) return ctx.issue(`only one row is supported (input shape [${x.shape}])`);
  const missing = g.ints('nodes_missing_value_tracks_true');
  if (missing?.some((v) => v !== 0)) ctx.note(`'${node.name}': nodes_missing_value_tracks_true is ignored (a quantized input is never NaN)`);

  const prefix = classifier ? 'class' : 'target';
  const intLabels = g.ints('classlabels_int64s');
  const strLabels = g.strings('classlabels_strings');
  let nOut: number;
  if (classifier) {
    nOut = intLabels?.length ?? strLabels?.length ?? 0;
    if (!nOut) return ctx.issue('needs classlabels_int64s or classlabels_strings');
  } else {
    const a = node.attrs.get('n_targets');
    nOut = a?.type === 'int' ? a.value : Math.max(0, ...(g.ints('target_ids') ?? [])) + 1;
  }
  const agg = g.str('aggregate_function', 'SUM');
  if (agg !== 'SUM' && agg !== 'AVERAGE') return ctx.issue(`aggregate_function ${agg} is not supported (SUM, AVERAGE)`);
  let post = g.str('post_transform', 'NONE');
  if (!['NONE', 'LOGISTIC', 'SOFTMAX'].includes(post)) return ctx.issue(`post_transform ${post} is not supported (NONE, LOGISTIC, SOFTMAX)`);
  if (!classifier && nOut === 1 && post !== 'NONE') {
    // onnxruntime's single-target regressor applies only PROBIT (refused above): the output is the raw score.
    ctx.note(`'${node.name}': post_transform ${post} of a single-target regressor is not applied (as onnxruntime)`);
    post = 'NONE';
  }
  const base = g.floats('base_values') ?? [];
  const tIds = g.ints(`${prefix}_ids`) ?? [];
  const tW = g.floats(`${prefix}_weights`) ?? [];
  // A binary classifier with one score column s (what skl2onnx writes for a binary GradientBoosting or
  // RandomForest): onnxruntime derives both classes from s. Label 1 iff s > 0 (s > 0.5 when every class
  // weight is >= 0); scores [-s, s] ([1 - s, s]) with NONE, [1 - sigmoid(s), sigmoid(s)] with LOGISTIC.
  const used = new Set(tIds);
  const binary = classifier && nOut === 2 && used.size === 1 ? { col: [...used][0], allPositive: tW.every((v) => v >= 0) } : undefined;
  if (binary && post === 'SOFTMAX') return ctx.issue('post_transform SOFTMAX of a binary classifier with one score column is not supported (NONE, LOGISTIC)');
  if (binary ? base.length > 2 : base.length && base.length !== nOut) return ctx.issue(`base_values has ${base.length} values, expected ${nOut}`);

  let ens: Ensemble | undefined;
  try {
    ens = legacyEnsemble(node, ctx, g, nFeat, prefix, nOut);
  } catch (e) {
    if (e instanceof TreeProblem) return ctx.issue(e.message);
    throw e;
  }
  if (!ens) return;
  const lName = leafIndicators(node, ctx, x, ens);
  if (!lName) return;
  const scoreOut = classifier ? node.outputs[1] : node.outputs[0];
  if (binary) return binaryScores(node, ctx, { leaves: ens.leaves, lName, nTrees: ens.nTrees, agg, base, post, scoreOut, ...binary, intLabels, strLabels });
  const rawName = scoresAndPost(node, ctx, ens, { nOut, agg, post, base }, lName, scoreOut);
  if (!rawName) return;
  // 6. Label.
  if (classifier && node.outputs[0]) labelFromScores(node, ctx, rawName, nOut, node.outputs[0], intLabels, strLabels);
}

/**
 * Step 6: the label output from the raw scores [1, nOut]: ArgMax, mapped to int64 labels when they are an
 * arithmetic progression (0..C-1: the index itself); otherwise the class index with its label table.
 */
export function labelFromScores(node: OnnxNode, ctx: ImportContext, rawName: string, nOut: number, output: string, intLabels: number[] | undefined, strLabels: string[] | undefined): void {
  const labelShape = [1];
  let step: number | undefined;
  if (intLabels) {
    step = nOut > 1 ? intLabels[1] - intLabels[0] : 1;
    if (!intLabels.every((v, i) => v === intLabels[0] + i * step!)) step = undefined;
  }
  const direct = intLabels !== undefined && step === 1 && intLabels[0] === 0;
  const am = direct ? output : `${node.name}#argmax`;
  ctx.push({ kind: 'argmax', name: direct ? `${node.name}#label` : am, inputs: [rawName], output: am, inShape: [1, nOut], outShape: labelShape, selectLast: false });
  if (direct) return;
  if (intLabels && step !== undefined) {
    ctx.push({ kind: 'affine', name: `${node.name}#label`, inputs: [am], output, inShape: labelShape, outShape: labelShape, coefs: [Float64Array.of(step)], bias: Float64Array.of(intLabels[0]) });
  } else {
    pushClassLabels(node, ctx, am, output, intLabels ?? strLabels!);
  }
}

/** TreeEnsemble (ai.onnx.ml opset 5): one output Y [N, n_targets] (a classifier is this plus an ArgMax node). */
function importEnsembleV5(node: OnnxNode, ctx: ImportContext): void {
  for (const k of node.attrs.keys()) if (!KNOWN_V5.has(k)) ctx.issue(`attribute ${k} is not supported`);
  const g = getter(node, ctx);
  const x = ctx.current;
  if (!x) return ctx.issue('the input must be an activation');
  const nFeat = x.shape[x.shape.length - 1];
  if (sizeOf(x.shape) !== nFeat) return ctx.issue(`only one row is supported (input shape [${x.shape}])`);
  let ens: (Ensemble & Scoring) | undefined;
  try {
    ens = v5Ensemble(node, ctx, g, nFeat);
  } catch (e) {
    if (e instanceof TreeProblem) return ctx.issue(e.message);
    throw e;
  }
  if (!ens) return;
  const lName = leafIndicators(node, ctx, x, ens);
  if (!lName) return;
  scoresAndPost(node, ctx, ens, ens, lName, node.outputs[0]);
}

/** Steps 5-6 for a binary classifier with one score column (see importEnsemble). */
function binaryScores(node: OnnxNode, ctx: ImportContext, o: {
  leaves: Leaf[]; lName: string; nTrees: number; agg: string; base: number[]; post: string; scoreOut: string | undefined;
  col: number; allPositive: boolean; intLabels: number[] | undefined; strLabels: string[] | undefined;
}): void {
  const nl = o.leaves.length;
  const sName = `${node.name}#score`;
  const sw = new Float64Array(nl);
  const div = o.agg === 'AVERAGE' ? o.nTrees : 1;
  o.leaves.forEach((lf, j) => void (sw[j] += (lf.weights.get(o.col) ?? 0) / div));
  ctx.push({ kind: 'dense', name: sName, inputs: [o.lName], output: sName, inShape: [nl], outShape: [1, 1], inSize: nl, outSize: 1, weights: sw, bias: Float64Array.of(Math.fround(o.base[0] ?? 0)) });
  binaryFromScore(node, ctx, sName, { ...o, decideAt: o.allPositive ? 0.5 : 0, noneScores: o.allPositive ? 'oneMinus' : 'signed' });
}

/**
 * A binary classifier's outputs from its one score s [1, 1], as onnxruntime derives both classes: label 1 iff
 * s > decideAt (0, or 0.5 for a tree ensemble whose class weights are all >= 0); with NONE the scores are
 * [-s, s] ('signed') or [1 - s, s] ('oneMinus'), with LOGISTIC [1 - sigmoid(s), sigmoid(s)]. Tree ensembles:
 * decideAt 0.5 goes with oneMinus, 0 with signed; LinearClassifier: decideAt 0 with oneMinus.
 */
export function binaryFromScore(node: OnnxNode, ctx: ImportContext, sName: string, o: {
  post: string; scoreOut: string | undefined; decideAt: 0 | 0.5; noneScores: 'signed' | 'oneMinus'; intLabels: number[] | undefined; strLabels: string[] | undefined;
}): void {
  const pair = (name: string, output: string, plusOne: boolean) =>
    ctx.push({ kind: 'dense', name, inputs: [sName], output, inShape: [1, 1], outShape: [1, 2], inSize: 1, outSize: 2, weights: Float64Array.of(-1, 1), bias: Float64Array.of(plusOne ? 1 : 0, 0) });
  // What the label compares: [1 - s, s] or [-s, s] (argmax takes the first on a tie, as onnxruntime's s > t).
  const half = o.decideAt === 0.5;
  const noneSame = (o.noneScores === 'oneMinus') === half;
  const decide = o.post === 'NONE' && o.scoreOut && noneSame ? o.scoreOut : `${node.name}#pair`;
  pair(decide === o.scoreOut ? node.name : decide, decide, half);
  if (o.post === 'NONE' && o.scoreOut && !noneSame) pair(node.name, o.scoreOut, o.noneScores === 'oneMinus');
  if (o.post === 'LOGISTIC' && o.scoreOut) {
    const signed = half ? `${node.name}#signed` : decide;
    if (half) pair(signed, signed, false);
    ctx.push({ kind: 'lut', name: `${node.name}#sigmoid`, inputs: [signed], output: o.scoreOut, inShape: [1, 2], outShape: [1, 2], fn: 'sigmoid', alpha: 0 });
  }
  if (!node.outputs[0]) return;
  const labels = o.intLabels;
  const direct = labels !== undefined && labels[0] === 0 && labels[1] === 1;
  const am = direct ? node.outputs[0] : `${node.name}#argmax`;
  ctx.push({ kind: 'argmax', name: `${node.name}#label`, inputs: [decide], output: am, inShape: [1, 2], outShape: [1], selectLast: false });
  if (direct) return;
  if (!labels) return pushClassLabels(node, ctx, am, node.outputs[0], o.strLabels!);
  ctx.push({ kind: 'affine', name: `${node.name}#labelmap`, inputs: [am], output: node.outputs[0], inShape: [1], outShape: [1], coefs: [Float64Array.of(labels[1] - labels[0])], bias: Float64Array.of(labels[0]) });
}

// ---------------------------------------------------------------------------------------------------------
// Other ai.onnx.ml ops skl2onnx / onnxmltools write around tree and linear models (Scaler, Binarizer, Imputer,
// ArrayFeatureExtractor, FeatureVectorizer, LinearRegressor, LinearClassifier, LabelEncoder of a class index,
// Normalizer L1 of probabilities): constant-weight linear maps, routings and comparisons on the existing layers
// (0 constraints for the linear ones), each checked against onnxruntime (test/trees-opset5.test.ts); what does
// not fit (other Normalizers, LabelEncoders of anything but a class index) is refused by name. They live here,
// with the ensembles they surround, until they get a file of their own (src/ops/ml.ts, registered in registry.ts).


export const treesImporters: OpImporter[] = [
  { onnxOps: ['TreeEnsembleRegressor', 'TreeEnsembleClassifier'], importNode: importEnsemble },
  { onnxOps: ['TreeEnsemble'], importNode: importEnsembleV5 },
  {
    onnxOps: ['ZipMap'],
    importNode(node, ctx) {
      ctx.note(`ZipMap '${node.name}' is left out: its output is its input tensor (the probabilities, one column per class)`);
      ctx.alias();
    },
  },
];

export const treesFloatDefs: { [K in TreesFloatLayer['kind']]: FloatLayerDef<Extract<TreesFloatLayer, { kind: K }>> } = {
  classlabels: {
    forward: (_l, xs) => Float64Array.from(xs[0]),
    quantize(l, ctx) {
      const s = ctx.settle(0);
      if (s.quant.kind !== 'acc') return ctx.issue('the class index must be an integer (an ArgMax), not a uint8 activation');
      const layer: QClassLabels = { kind: 'classlabels', name: l.name, inputs: [s.tensor], output: l.output, inShape: s.shape, outShape: l.outShape, labels: l.labels, outQuant: s.quant };
      ctx.push(layer);
    },
  },
};

export const treesQDefs: { [K in TreesQLayer['kind']]: QLayerDef<Extract<TreesQLayer, { kind: K }>> } = {
  classlabels: {
    reference: (_l, xs) => xs[0].slice(),
    // The class index passes through: the table is data of the model's description, not of the circuit.
    emit: (_l, xs) => xs[0],
    constraints: () => 0,
    costFormula: '0 (the class index passes through; the label table is part of the model description the key pins)',
    bitsSummary: (l) => `${l.labels.length} labels`,
  },
};
