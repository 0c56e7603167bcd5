/**
 * Tree ensembles of ai.onnx.ml (src/ops/trees.ts): TreeEnsembleRegressor, TreeEnsembleClassifier (ml opsets 1-3)
 * and a trailing ZipMap. No layer kind of its own: an ensemble is imported as existing layers, each sound on its
 * own (src/ops/arith.ts compare, src/ops/movement.ts route, src/ir dense, src/ops/argmax.ts, lut, softmax):
 *
 * 1. d = one 'compare' layer per branch mode, x[feature] OP threshold (float32, as onnxruntime): exact on the
 *    input's integer grid (B + 2 constraints per branch node). BRANCH_NEQ is BRANCH_EQ with its children swapped.
 * 2. D = the decisions concatenated ('route', 0 constraints; left out when one mode is used).
 * 3. s = 'dense' D -> one value per leaf: the number of literals on the leaf's path that hold (d on a true
 *    edge, 1 - d on a false edge), 0 constraints.
 * 4. leaf = (s == L) ('compare' eq, L the path length; s <= L always): 1 exactly on the leaf the input reaches.
 * 5. scores = 'dense' leaf -> targets/classes: leaf weights (divided by the tree count for AVERAGE) plus
 *    base_values, 0 constraints; then LOGISTIC (sigmoid table) or SOFTMAX (src/ops/norm.ts) when asked.
 * 6. Classifier label: ArgMax of the scores (post_transform is monotone), mapped to int64 labels when they are
 *    an arithmetic progression (0..C-1 included), else the class index (a note names the label table).
 *
 * Cost: sum over branch nodes of (B_n + 2) + the leaves' equality tests (src/ops/arith.ts compare, eq: a few
 * constraints each, s - L being a small integer) + the post-transform + the ArgMax; B_n the bits of the branch's
 * integer difference (about 8 for a uint8 input: 11 per branch node).
 */
import type { TreesFloatLayer, TreesQLayer } from '../ir/layers/trees.ts';
import type { OnnxNode } from '../onnx/load.ts';
import type { CompareOp } from '../ir/layers/arith.ts';
import { sizeOf } from '../ir/types.ts';
import type { FloatLayerDef, ImportContext, OpImporter, QLayerDef } from './types.ts';

const KNOWN = new Set([
  'nodes_treeids', 'nodes_nodeids', 'nodes_featureids', 'nodes_values', 'nodes_values_as_tensor', 'nodes_modes',
  'nodes_truenodeids', 'nodes_falsenodeids', 'nodes_missing_value_tracks_true', 'nodes_hitrates', 'nodes_hitrates_as_tensor',
  'target_ids', 'target_nodeids', 'target_treeids', 'target_weights', 'target_weights_as_tensor',
  'class_ids', 'class_nodeids', 'class_treeids', 'class_weights', 'class_weights_as_tensor',
  'base_values', 'base_values_as_tensor', 'aggregate_function', 'post_transform', 'n_targets',
  'classlabels_int64s', 'classlabels_strings',
]);

const MODES: Record<string, { op: CompareOp; swap: boolean }> = {
  BRANCH_LEQ: { op: 'le', swap: false },
  BRANCH_LT: { op: 'lt', swap: false },
  BRANCH_GTE: { op: 'ge', swap: false },
  BRANCH_GT: { op: 'gt', swap: false },
  BRANCH_EQ: { op: 'eq', swap: false },
  BRANCH_NEQ: { op: 'eq', swap: true },
};

type Getter = {
  ints(name: string): number[] | undefined;
  floats(name: string): number[] | undefined;
  strings(name: string): string[] | undefined;
  str(name: string, dflt: string): string;
};

function getter(node: OnnxNode, ctx: ImportContext): Getter {
  return {
    ints(name) {
      const a = node.attrs.get(name);
      if (!a) return undefined;
      if (a.type === 'ints') return a.value;
      ctx.issue(`attribute ${name} must be a list of ints`);
      return undefined;
    },
    floats(name) {
      const a = node.attrs.get(name);
      const t = node.attrs.get(`${name}_as_tensor`);
      if (t) {
        if (t.type === 'tensor') return Array.from(t.value.data);
        ctx.issue(`attribute ${name}_as_tensor must be a tensor`);
        return undefined;
      }
      if (!a) return undefined;
      if (a.type === 'floats') return a.value;
      ctx.issue(`attribute ${name} must be a list of floats`);
      return undefined;
    },
    strings(name) {
      const a = node.attrs.get(name);
      if (!a) return undefined;
      if (a.type === 'strings') return a.value;
      ctx.issue(`attribute ${name} must be a list of strings (this loader could not read it)`);
      return undefined;
    },
    str(name, dflt) {
      const a = node.attrs.get(name);
      if (!a) return dflt;
      if (a.type === 'string') return a.value;
      ctx.issue(`attribute ${name} must be a string`);
      return dflt;
    },
  };
}

interface TreeNode {
  tree: number;
  id: number;
  feature: number;
  value: number;
  mode: string;
  t: number;
  f: number;
}

/** One leaf: its path as (branch index into D, wanted decision) pairs, and its weights per output column. */
interface Leaf {
  path: [number, 0 | 1][];
  weights: Map<number, number>;
}

function importEnsemble(node: OnnxNode, ctx: ImportContext): void {
  const classifier = node.op === 'TreeEnsembleClassifier';
  for (const k of node.attrs.keys()) if (!KNOWN.has(k)) ctx.issue(`attribute ${k} is not supported`);
  const g = getter(node, ctx);
  const x = ctx.current;
  if (!x) return ctx.issue('the input must be an activation');
  const nFeat = x.shape[x.shape.length - 1];
  if (sizeOf(x.shape) !== nFeat) return ctx.issue(`only one row is supported (input shape [${x.shape}])`);

  const treeIds = g.ints('nodes_treeids');
  const nodeIds = g.ints('nodes_nodeids');
  const featIds = g.ints('nodes_featureids');
  const values = g.floats('nodes_values');
  const modes = g.strings('nodes_modes');
  const trueIds = g.ints('nodes_truenodeids');
  const falseIds = g.ints('nodes_falsenodeids');
  if (!treeIds || !nodeIds || !modes) return ctx.issue('needs nodes_treeids, nodes_nodeids and nodes_modes');
  const n = treeIds.length;
  if (nodeIds.length !== n || modes.length !== n) return ctx.issue('nodes_* attributes differ in length');
  const missing = g.ints('nodes_missing_value_tracks_true');
  if (missing?.some((v) => v !== 0)) ctx.note(`'${node.name}': nodes_missing_value_tracks_true is ignored (a quantized input is never NaN)`);

  const prefix = classifier ? 'class' : 'target';
  const tIds = g.ints(`${prefix}_ids`) ?? [];
  const tNodes = g.ints(`${prefix}_nodeids`) ?? [];
  const tTrees = g.ints(`${prefix}_treeids`) ?? [];
  const tW = g.floats(`${prefix}_weights`) ?? [];
  if (tNodes.length !== tIds.length || tTrees.length !== tIds.length || tW.length !== tIds.length) return ctx.issue(`${prefix}_* attributes differ in length`);

  const intLabels = g.ints('classlabels_int64s');
  const strLabels = g.strings('classlabels_strings');
  let nOut: number;
  if (classifier) {
    nOut = intLabels?.length ?? strLabels?.length ?? 0;
    if (!nOut) return ctx.issue('needs classlabels_int64s or classlabels_strings');
  } else {
    const a = node.attrs.get('n_targets');
    nOut = a?.type === 'int' ? a.value : Math.max(0, ...tIds) + 1;
  }
  if (tIds.some((c) => c < 0 || c >= nOut)) return ctx.issue(`${prefix}_ids out of range 0..${nOut - 1}`);
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
  // A binary classifier with one score column s (what skl2onnx writes for a binary GradientBoosting or
  // RandomForest): onnxruntime derives both classes from s. Label 1 iff s > 0 (s > 0.5 when every class
  // weight is >= 0); scores [-s, s] ([1 - s, s]) with NONE, [1 - sigmoid(s), sigmoid(s)] with LOGISTIC.
  const used = new Set(tIds);
  const binary = classifier && nOut === 2 && used.size === 1 ? { col: [...used][0], allPositive: tW.every((v) => v >= 0) } : undefined;
  if (binary && post === 'SOFTMAX') return ctx.issue('post_transform SOFTMAX of a binary classifier with one score column is not supported (NONE, LOGISTIC)');
  if (binary ? base.length > 2 : base.length && base.length !== nOut) return ctx.issue(`base_values has ${base.length} values, expected ${nOut}`);

  // The nodes, by tree.
  const nodes = new Map<string, TreeNode>();
  const key = (t: number, i: number) => `${t}/${i}`;
  const trees = [...new Set(treeIds)];
  for (let i = 0; i < n; i++) {
    const mode = modes[i];
    if (mode !== 'LEAF' && !MODES[mode]) return ctx.issue(`nodes_modes ${mode} is not supported`);
    if (mode !== 'LEAF') {
      if (!featIds || !values || !trueIds || !falseIds || featIds.length !== n || values.length !== n || trueIds.length !== n || falseIds.length !== n) {
        return ctx.issue('branch nodes need nodes_featureids, nodes_values, nodes_truenodeids and nodes_falsenodeids of the same length');
      }
      if (featIds[i] < 0 || featIds[i] >= nFeat) return ctx.issue(`nodes_featureids ${featIds[i]} out of range (${nFeat} features)`);
      if (!Number.isFinite(values[i])) return ctx.issue(`threshold ${values[i]} (node ${nodeIds[i]}) is not finite`);
    }
    nodes.set(key(treeIds[i], nodeIds[i]), {
      tree: treeIds[i], id: nodeIds[i], feature: featIds?.[i] ?? 0, value: Math.fround(values?.[i] ?? 0), mode,
      t: trueIds?.[i] ?? -1, f: falseIds?.[i] ?? -1,
    });
  }
  // Leaf weights.
  const leafW = new Map<string, Map<number, number>>();
  for (let j = 0; j < tIds.length; j++) {
    const k = key(tTrees[j], tNodes[j]);
    const nd = nodes.get(k);
    if (!nd || nd.mode !== 'LEAF') return ctx.issue(`${prefix}_nodeids ${tNodes[j]} (tree ${tTrees[j]}) is not a leaf`);
    const m = leafW.get(k) ?? new Map<number, number>();
    m.set(tIds[j], (m.get(tIds[j]) ?? 0) + Math.fround(tW[j]));
    leafW.set(k, m);
  }

  // Branch nodes grouped by comparison; each gets its index in D.
  const groups = new Map<CompareOp, TreeNode[]>();
  for (const nd of nodes.values()) {
    if (nd.mode === 'LEAF') continue;
    const op = MODES[nd.mode].op;
    const list = groups.get(op) ?? [];
    list.push(nd);
    groups.set(op, list);
  }
  const dIndex = new Map<string, number>();
  let B = 0;
  for (const list of groups.values()) for (const nd of list) dIndex.set(key(nd.tree, nd.id), B++);

  // Walk each tree from its root (the node no other node points at).
  const leaves: Leaf[] = [];
  for (const t of trees) {
    const ids = [...nodes.values()].filter((nd) => nd.tree === t);
    const children = new Set<number>();
    for (const nd of ids) if (nd.mode !== 'LEAF') children.add(nd.t).add(nd.f);
    const roots = ids.filter((nd) => !children.has(nd.id));
    if (roots.length !== 1) return ctx.issue(`tree ${t} has ${roots.length} roots`);
    const stack: [TreeNode, [number, 0 | 1][]][] = [[roots[0], []]];
    let visited = 0;
    while (stack.length) {
      const [nd, path] = stack.pop()!;
      if (++visited > ids.length) return ctx.issue(`tree ${t} is not a tree (a node is reached twice)`);
      if (nd.mode === 'LEAF') {
        leaves.push({ path, weights: leafW.get(key(t, nd.id)) ?? new Map() });
        continue;
      }
      const di = dIndex.get(key(t, nd.id))!;
      const swap = MODES[nd.mode].swap;
      for (const [child, want] of [[nd.t, swap ? 0 : 1], [nd.f, swap ? 1 : 0]] as [number, 0 | 1][]) {
        const c = nodes.get(key(t, child));
        if (!c) return ctx.issue(`tree ${t}: node ${nd.id} points at a missing node ${child}`);
        stack.push([c, [...path, [di, want]]]);
      }
    }
  }
  const nTrees = trees.length;

  // 1-2. Decisions.
  const cmpOut: string[] = [];
  for (const [op, list] of groups) {
    const out = `${node.name}#cmp_${op}`;
    cmpOut.push(out);
    ctx.push({
      kind: 'compare', name: out, inputs: [x.name], output: out, inShape: x.shape, outShape: [list.length], op,
      ia: list.map((nd) => nd.feature), ib: [], threshold: list.map((nd) => nd.value),
    });
  }
  let dName: string;
  const nl = leaves.length;
  if (B === 0) {
    return ctx.issue('every tree is a single leaf (a constant model) is not supported');
  } else if (cmpOut.length === 1) {
    dName = cmpOut[0];
  } else {
    dName = `${node.name}#d`;
    ctx.push({ kind: 'route', name: dName, inputs: cmpOut, output: dName, inShape: [groups.values().next().value!.length], outShape: [B], index: Int32Array.from({ length: B }, (_, i) => i), consts: new Float64Array(0) });
  }
  // 3. Literal counts per leaf.
  const sName = `${node.name}#paths`;
  const w = new Float64Array(nl * B);
  const bias = new Float64Array(nl);
  leaves.forEach((lf, j) => {
    for (const [di, want] of lf.path) {
      if (want) w[j * B + di] += 1;
      else {
        w[j * B + di] -= 1;
        bias[j] += 1;
      }
    }
  });
  ctx.push({ kind: 'dense', name: sName, inputs: [dName], output: sName, inShape: [B], outShape: [nl], inSize: B, outSize: nl, weights: w, bias });
  // 4. Leaf indicators.
  const lName = `${node.name}#leaves`;
  ctx.push({
    kind: 'compare', name: lName, inputs: [sName], output: lName, inShape: [nl], outShape: [nl], op: 'eq',
    ia: leaves.map((_, j) => j), ib: [], threshold: leaves.map((lf) => lf.path.length),
  });
  // 5. Scores.
  const outShape = [1, nOut];
  const scoreOut = classifier ? node.outputs[1] : node.outputs[0];
  if (binary) return binaryScores(node, ctx, { leaves, lName, nTrees, agg, base, post, scoreOut, ...binary, intLabels });
  const rawName = post === 'NONE' && scoreOut ? scoreOut : `${node.name}#scores`;
  const sw = new Float64Array(nOut * nl);
  const div = agg === 'AVERAGE' ? nTrees : 1;
  leaves.forEach((lf, j) => {
    for (const [c, v] of lf.weights) sw[c * nl + j] += v / div;
  });
  const sb = Float64Array.from({ length: nOut }, (_, c) => Math.fround(base[c] ?? 0));
  ctx.push({ kind: 'dense', name: rawName === scoreOut ? node.name : rawName, inputs: [lName], output: rawName, inShape: [nl], outShape, inSize: nl, outSize: nOut, weights: sw, bias: sb });
  if (post !== 'NONE' && scoreOut) {
    if (post === 'LOGISTIC') {
      ctx.push({ kind: 'lut', name: node.name, inputs: [rawName], output: scoreOut, inShape: outShape, outShape, fn: 'sigmoid', alpha: 0 });
    } else {
      ctx.push({ kind: 'softmax', name: node.name, inputs: [rawName], output: scoreOut, inShape: outShape, outShape, axes: [1], log: false });
    }
  }
  // 6. Label.
  if (classifier && node.outputs[0]) {
    const labelShape = [1];
    let step: number | undefined;
    if (intLabels) {
      step = nOut > 1 ? intLabels[1] - intLabels[0] : 1;
      if (!intLabels.every((v, i) => v === intLabels[0] + i * step!)) step = undefined;
    }
    const direct = intLabels !== undefined && step === 1 && intLabels[0] === 0;
    const am = direct ? node.outputs[0] : `${node.name}#argmax`;
    ctx.push({ kind: 'argmax', name: direct ? `${node.name}#label` : am, inputs: [rawName], output: am, inShape: outShape, outShape: labelShape, selectLast: false });
    if (!direct) {
      if (intLabels && step !== undefined) {
        ctx.push({ kind: 'affine', name: `${node.name}#label`, inputs: [am], output: node.outputs[0], inShape: labelShape, outShape: labelShape, coefs: [Float64Array.of(step)], bias: Float64Array.of(intLabels[0]) });
      } else {
        ctx.push({ kind: 'affine', name: `${node.name}#label`, inputs: [am], output: node.outputs[0], inShape: labelShape, outShape: labelShape, coefs: [Float64Array.of(1)], bias: Float64Array.of(0) });
        const table = intLabels ? intLabels.join(', ') : strLabels!.map((s) => JSON.stringify(s)).join(', ');
        ctx.note(`'${node.name}': the proven label is the class index; the labels are [${table}] (index k is the k-th)`);
      }
    }
  }
}

/** Steps 5-6 for a binary classifier with one score column (see importEnsemble). */
function binaryScores(node: OnnxNode, ctx: ImportContext, o: {
  leaves: Leaf[]; lName: string; nTrees: number; agg: string; base: number[]; post: string; scoreOut: string | undefined;
  col: number; allPositive: boolean; intLabels: number[] | undefined;
}): void {
  const nl = o.leaves.length;
  const sName = `${node.name}#score`;
  const sw = new Float64Array(nl);
  const div = o.agg === 'AVERAGE' ? o.nTrees : 1;
  o.leaves.forEach((lf, j) => void (sw[j] += (lf.weights.get(o.col) ?? 0) / div));
  ctx.push({ kind: 'dense', name: sName, inputs: [o.lName], output: sName, inShape: [nl], outShape: [1, 1], inSize: nl, outSize: 1, weights: sw, bias: Float64Array.of(Math.fround(o.base[0] ?? 0)) });
  const pair = (name: string, output: string, plusOne: boolean) =>
    ctx.push({ kind: 'dense', name, inputs: [sName], output, inShape: [1, 1], outShape: [1, 2], inSize: 1, outSize: 2, weights: Float64Array.of(-1, 1), bias: Float64Array.of(plusOne ? 1 : 0, 0) });
  // What the label compares: [1 - s, s] or [-s, s] (argmax takes the first on a tie, as onnxruntime's s > t).
  const decide = o.post === 'NONE' && o.scoreOut ? o.scoreOut : `${node.name}#pair`;
  pair(decide === o.scoreOut ? node.name : decide, decide, o.allPositive);
  if (o.post === 'LOGISTIC' && o.scoreOut) {
    const signed = o.allPositive ? `${node.name}#signed` : decide;
    if (o.allPositive) pair(signed, signed, false);
    ctx.push({ kind: 'lut', name: `${node.name}#sigmoid`, inputs: [signed], output: o.scoreOut, inShape: [1, 2], outShape: [1, 2], fn: 'sigmoid', alpha: 0 });
  }
  if (!node.outputs[0]) return;
  const labels = o.intLabels;
  const direct = labels !== undefined && labels[0] === 0 && labels[1] === 1;
  const am = direct ? node.outputs[0] : `${node.name}#argmax`;
  ctx.push({ kind: 'argmax', name: `${node.name}#label`, inputs: [decide], output: am, inShape: [1, 2], outShape: [1], selectLast: false });
  if (direct) return;
  const step = labels ? labels[1] - labels[0] : 1;
  ctx.push({ kind: 'affine', name: `${node.name}#labelmap`, inputs: [am], output: node.outputs[0], inShape: [1], outShape: [1], coefs: [Float64Array.of(step)], bias: Float64Array.of(labels ? labels[0] : 0) });
  if (!labels) ctx.note(`'${node.name}': the proven label is the class index; the labels are [${(node.attrs.get('classlabels_strings') as { value: string[] } | undefined)?.value.map((v) => JSON.stringify(v)).join(', ')}] (index k is the k-th)`);
}

export const treesImporters: OpImporter[] = [
  { onnxOps: ['TreeEnsembleRegressor', 'TreeEnsembleClassifier'], importNode: importEnsemble },
  {
    onnxOps: ['ZipMap'],
    importNode(node, ctx) {
      ctx.note(`ZipMap '${node.name}' is left out: its output is its input tensor (the probabilities, one column per class)`);
      ctx.alias();
    },
  },
];

export const treesFloatDefs: { [K in TreesFloatLayer['kind']]: FloatLayerDef<Extract<TreesFloatLayer, { kind: K }>> } = {};

export const treesQDefs: { [K in TreesQLayer['kind']]: QLayerDef<Extract<TreesQLayer, { kind: K }>> } = {};
