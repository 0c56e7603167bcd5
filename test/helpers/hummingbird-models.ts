/**
 * hummingbird's tree-traversal (TT) and perfect-tree-traversal (PTT) strategies as its ONNX export writes them
 * (torch.onnx.export of hummingbird/ml/operator_converters/_tree_implementations.py), built from the TreeSpec of
 * test/helpers/tree-models.ts for test/hummingbird.test.ts.
 *
 * TT (TreeTraversalTreeImpl.forward): idx = Reshape(Expand(nodes_offset, [batch, T]), [-1]) with the batch read by
 * Shape(x); then per level, with idx the flat node ids [T] (tree t's nodes at t * M):
 *   f = Reshape(Gather(features, idx), [-1, T]); v = GatherElements(x, f, axis 1);
 *   thr/l/r = Reshape(Gather(thresholds | lefts | rights, idx), [-1, T])     (lefts/rights are float32 tables)
 *   idx = Reshape(Add(Cast(Where(c, r, l), int64), nodes_offset), [-1])      c = GreaterOrEqual(v, thr) (or the
 *   other comparisons, see TraversalOp); leaves point at themselves (left = right = own id, threshold 0).
 *   Then Reshape(Gather(values [T*M, C], idx), [-1, T, C]), ReduceSum over the trees (axis 1), Div by T for an
 *   average (random forests), Add of base values (GBDT); classifiers: Softmax (C >= 2) or Sigmoid and
 *   Concat([1 - p, p]) (binary GBDT, one score column), and label = ArgMax(probabilities, axis 1).
 * PTT (PerfectTreeTraversalTreeImpl.forward), trees padded to perfect trees of depth D (a shallow leaf's value
 *   repeated over the padded leaves): prev = Add(Cast(GreaterOrEqual(Gather(x, root_nodes, axis 1), root_biases),
 *   int64), tree_indices = 2t); per level i = 1..D-1: g = Reshape(Gather(nodes_i, prev), [-1, T]);
 *   v = Reshape(GatherElements(x, g, axis 1), [-1]); prev = Add(Mul(prev, 2), Cast(GreaterOrEqual(v,
 *   Gather(biases_i, prev)), int64)); then the leaves Gather(leaf_nodes [T * 2^D, C], prev) as TT.
 * GreaterOrEqual sends x >= t to the right (false) child: BRANCH_LT trees; for BRANCH_LEQ trees the same graphs
 * use Greater (x > t goes right).
 */
import { buildOnnxModel, type AttrValue } from '../../src/onnx/builder.ts';
import type { TreeSpec } from './tree-models.ts';

/** The comparison deciding a branch, and whether its true result means the left (true) child. */
export type TraversalOp = 'GreaterOrEqual' | 'Greater' | 'LessOrEqual' | 'Less';

export interface HummingbirdOptions {
  nFeat: number;
  /** Leaf value columns (regression targets or class scores). */
  nCols: number;
  kind: 'regressor' | 'classifier';
  /** Tree aggregation: SUM (GBDT) or AVERAGE (random forest: ReduceSum then Div by the number of trees). */
  aggregate?: 'SUM' | 'AVERAGE';
  /** Added after the aggregation (GBDT's base prediction), one per column. */
  base?: number[];
  /** TT only: the comparison (default GreaterOrEqual for BRANCH_LT trees, Greater for BRANCH_LEQ). */
  op?: TraversalOp;
  /** torch.onnx at opset 11 writes torch.ge as Not(Less(a, b)) (GreaterOrEqual needs opset 12). */
  geAsNotLess?: boolean;
}

interface Node {
  leaf: boolean;
  feature: number;
  threshold: number;
  left: number;
  right: number;
  /** Leaf values per column. */
  value: number[];
}

/** Per tree, its nodes by local id; the branch mode the spec uses (one for all branches). */
function treesOf(spec: TreeSpec, nCols: number): { trees: Node[][]; mode: 'BRANCH_LEQ' | 'BRANCH_LT' } {
  const modes = new Set(spec.modes.filter((m) => m !== 'LEAF'));
  if (modes.size !== 1 || !(modes.has('BRANCH_LEQ') || modes.has('BRANCH_LT'))) throw new Error(`hummingbird forms need one branch mode, BRANCH_LEQ or BRANCH_LT (got ${[...modes]})`);
  const T = Math.max(...spec.treeIds) + 1;
  const trees: Node[][] = Array.from({ length: T }, () => []);
  spec.treeIds.forEach((t, i) => {
    const leaf = spec.modes[i] === 'LEAF';
    trees[t][spec.nodeIds[i]] = { leaf, feature: spec.featureIds[i], threshold: spec.values[i], left: spec.trueIds[i], right: spec.falseIds[i], value: new Array(nCols).fill(0) };
  });
  spec.w.forEach((w, j) => (trees[spec.wTree[j]][spec.wNode[j]].value[spec.wCol[j]] += w));
  return { trees, mode: [...modes][0] as 'BRANCH_LEQ' | 'BRANCH_LT' };
}

/** The comparison op and whether its true result selects the left child, for a branch mode. */
function opFor(mode: 'BRANCH_LEQ' | 'BRANCH_LT', op?: TraversalOp): { op: TraversalOp; trueIsLeft: boolean } {
  const o = op ?? (mode === 'BRANCH_LT' ? 'GreaterOrEqual' : 'Greater');
  const ok = mode === 'BRANCH_LT' ? o === 'GreaterOrEqual' || o === 'Less' : o === 'Greater' || o === 'LessOrEqual';
  if (!ok) throw new Error(`${o} does not decide ${mode} branches`);
  return { op: o, trueIsLeft: o === 'Less' || o === 'LessOrEqual' };
}

type NodeSpec = { op: string; inputs: string[]; outputs: string[]; attrs?: Record<string, AttrValue> };
type Init = { name: string; dims: number[]; data: number[]; dataType?: 'int64' | 'float' };

/** Aggregation, base values, the classifier's calibration and label: from leaf values [T, C] (tensor `v`). */
function tail(nodes: NodeSpec[], inits: Init[], T: number, o: HummingbirdOptions): { outputs: { name: string; shape: number[]; elemType?: 'int64' }[] } {
  const C = o.nCols;
  inits.push({ name: 'shape_tc', dims: [3], data: [-1, T, C], dataType: 'int64' }, { name: 'axes_trees', dims: [1], data: [1], dataType: 'int64' });
  nodes.push({ op: 'Reshape', inputs: ['v', 'shape_tc'], outputs: ['v3'] });
  nodes.push({ op: 'ReduceSum', inputs: ['v3', 'axes_trees'], outputs: ['s'], attrs: { keepdims: 0 } });
  let score = 's';
  if (o.aggregate === 'AVERAGE') {
    inits.push({ name: 'n_trees', dims: [], data: [T] });
    nodes.push({ op: 'Div', inputs: [score, 'n_trees'], outputs: ['avg'] });
    score = 'avg';
  }
  if (o.base) {
    inits.push({ name: 'base_prediction', dims: [C], data: o.base });
    nodes.push({ op: 'Add', inputs: [score, 'base_prediction'], outputs: ['sb'] });
    score = 'sb';
  }
  if (o.kind === 'regressor') {
    nodes.push({ op: 'Identity', inputs: [score], outputs: ['y'] });
    return { outputs: [{ name: 'y', shape: [1, C] }] };
  }
  let nClasses = C;
  if (C === 1) {
    // Binary GBDT: sigmoid of the one score, probabilities [1 - p, p].
    inits.push({ name: 'one', dims: [], data: [1] });
    nodes.push({ op: 'Sigmoid', inputs: [score], outputs: ['prob1'] }, { op: 'Sub', inputs: ['one', 'prob1'], outputs: ['prob0'] });
    nodes.push({ op: 'Concat', inputs: ['prob0', 'prob1'], outputs: ['probabilities'], attrs: { axis: 1 } });
    nClasses = 2;
  } else nodes.push({ op: 'Softmax', inputs: [score], outputs: ['probabilities'], attrs: { axis: 1 } });
  nodes.push({ op: 'ArgMax', inputs: ['probabilities'], outputs: ['label'], attrs: { axis: 1, keepdims: 0 } });
  return { outputs: [{ name: 'label', shape: [1], elemType: 'int64' }, { name: 'probabilities', shape: [1, nClasses] }] };
}

/** hummingbird's tree-traversal form of the trees (see the file comment); `depth` levels are traversed. */
export function hummingbirdTT(spec: TreeSpec, depth: number, o: HummingbirdOptions): Uint8Array {
  const { trees, mode } = treesOf(spec, o.nCols);
  const { op, trueIsLeft } = opFor(mode, o.op);
  const T = trees.length;
  const M = Math.max(...trees.map((t) => t.length));
  const z = () => new Array(T * M).fill(0);
  const [feat, thr, lefts, rights] = [z(), z(), z(), z()];
  const values = new Array(T * M * o.nCols).fill(0);
  trees.forEach((nodes, t) => nodes.forEach((n, id) => {
    const k = t * M + id;
    if (n.leaf) {
      lefts[k] = rights[k] = id;
      n.value.forEach((v, c) => (values[k * o.nCols + c] = v));
    } else {
      feat[k] = n.feature;
      thr[k] = n.threshold;
      lefts[k] = n.left;
      rights[k] = n.right;
    }
  }));
  const inits: Init[] = [
    { name: 'nodes_offset', dims: [1, T], data: Array.from({ length: T }, (_, t) => t * M), dataType: 'int64' },
    { name: 'features', dims: [T * M], data: feat, dataType: 'int64' }, { name: 'thresholds', dims: [T * M], data: thr },
    { name: 'lefts', dims: [T * M], data: lefts }, { name: 'rights', dims: [T * M], data: rights },
    { name: 'values', dims: [T * M, o.nCols], data: values },
    { name: 'shape_t', dims: [2], data: [-1, T], dataType: 'int64' }, { name: 'shape_flat', dims: [1], data: [-1], dataType: 'int64' },
  ];
  // indexes = nodes_offset.expand(x.size()[0], T).reshape(-1): the batch size read from x's shape.
  inits.push({ name: 'zero', dims: [], data: [0], dataType: 'int64' }, { name: 'axes0', dims: [1], data: [0], dataType: 'int64' }, { name: 'n_trees_i', dims: [1], data: [T], dataType: 'int64' });
  const nodes: NodeSpec[] = [
    { op: 'Shape', inputs: ['x'], outputs: ['x_shape'] }, { op: 'Gather', inputs: ['x_shape', 'zero'], outputs: ['batch'], attrs: { axis: 0 } },
    { op: 'Unsqueeze', inputs: ['batch', 'axes0'], outputs: ['batch1'] }, { op: 'Concat', inputs: ['batch1', 'n_trees_i'], outputs: ['exp_shape'], attrs: { axis: 0 } },
    { op: 'Expand', inputs: ['nodes_offset', 'exp_shape'], outputs: ['offsets_b'] },
    { op: 'Reshape', inputs: ['offsets_b', 'shape_flat'], outputs: ['i0'] },
  ];
  for (let d = 0; d < depth; d++) {
    const i = `i${d}`;
    const g = (table: string, out: string) => {
      nodes.push({ op: 'Gather', inputs: [table, i], outputs: [`${out}${d}_flat`], attrs: { axis: 0 } });
      nodes.push({ op: 'Reshape', inputs: [`${out}${d}_flat`, 'shape_t'], outputs: [`${out}${d}`] });
    };
    g('features', 'f');
    nodes.push({ op: 'GatherElements', inputs: ['x', `f${d}`], outputs: [`xv${d}`], attrs: { axis: 1 } });
    g('thresholds', 't');
    g('lefts', 'l');
    g('rights', 'r');
    if (o.geAsNotLess && op === 'GreaterOrEqual') {
      nodes.push({ op: 'Less', inputs: [`xv${d}`, `t${d}`], outputs: [`lt${d}`] }, { op: 'Not', inputs: [`lt${d}`], outputs: [`c${d}`] });
    } else nodes.push({ op, inputs: [`xv${d}`, `t${d}`], outputs: [`c${d}`] });
    nodes.push({ op: 'Where', inputs: [`c${d}`, trueIsLeft ? `l${d}` : `r${d}`, trueIsLeft ? `r${d}` : `l${d}`], outputs: [`w${d}`] });
    nodes.push({ op: 'Cast', inputs: [`w${d}`], outputs: [`wi${d}`], attrs: { to: 7 } });
    nodes.push({ op: 'Add', inputs: [`wi${d}`, 'nodes_offset'], outputs: [`a${d}`] });
    nodes.push({ op: 'Reshape', inputs: [`a${d}`, 'shape_flat'], outputs: [`i${d + 1}`] });
  }
  nodes.push({ op: 'Gather', inputs: ['values', `i${depth}`], outputs: ['v'], attrs: { axis: 0 } });
  const { outputs } = tail(nodes, inits, T, o);
  return buildOnnxModel({ inputs: [{ name: 'x', shape: [1, o.nFeat] }], outputs, initializers: inits, nodes, opset: 13, graphName: 'hb_tree_trav' });
}

/** hummingbird's perfect-tree-traversal form of the trees, padded to perfect trees of the given depth. */
export function hummingbirdPTT(spec: TreeSpec, depth: number, o: HummingbirdOptions): Uint8Array {
  const { trees, mode } = treesOf(spec, o.nCols);
  const { op } = opFor(mode, mode === 'BRANCH_LT' ? 'GreaterOrEqual' : 'Greater');
  const T = trees.length;
  const D = depth;
  // Per tree and level, the features and thresholds of the level's 2^level nodes in left-to-right order, and
  // the 2^D leaf values (a leaf above depth D fills all the leaves under its position).
  const feat: number[][] = Array.from({ length: D }, () => new Array(T * 2 ** 0).fill(0));
  const thr: number[][] = [];
  for (let l = 0; l < D; l++) {
    feat[l] = new Array(T * 2 ** l).fill(0);
    thr.push(new Array(T * 2 ** l).fill(0));
  }
  const leaves = new Array(T * 2 ** D * o.nCols).fill(0);
  trees.forEach((nodes, t) => {
    const walk = (id: number, level: number, pos: number) => {
      const n = nodes[id];
      if (n.leaf) {
        const span = 2 ** (D - level);
        for (let j = 0; j < span; j++) n.value.forEach((v, c) => (leaves[(t * 2 ** D + pos * span + j) * o.nCols + c] = v));
        return;
      }
      if (level >= D) throw new Error(`tree ${t} is deeper than ${D}`);
      feat[level][t * 2 ** level + pos] = n.feature;
      thr[level][t * 2 ** level + pos] = n.threshold;
      walk(n.left, level + 1, 2 * pos);
      walk(n.right, level + 1, 2 * pos + 1);
    };
    walk(0, 0, 0);
  });
  const inits: Init[] = [
    { name: 'root_nodes', dims: [T], data: feat[0], dataType: 'int64' }, { name: 'root_biases', dims: [T], data: thr[0] },
    { name: 'tree_indices', dims: [T], data: Array.from({ length: T }, (_, t) => 2 * t), dataType: 'int64' },
    { name: 'two', dims: [], data: [2], dataType: 'int64' }, { name: 'shape_t', dims: [2], data: [-1, T], dataType: 'int64' },
    { name: 'shape_flat', dims: [1], data: [-1], dataType: 'int64' }, { name: 'leaf_nodes', dims: [T * 2 ** D, o.nCols], data: leaves },
  ];
  const nodes: NodeSpec[] = [
    { op: 'Gather', inputs: ['x', 'root_nodes'], outputs: ['xr'], attrs: { axis: 1 } },
    { op, inputs: ['xr', 'root_biases'], outputs: ['cr'] },
    { op: 'Cast', inputs: ['cr'], outputs: ['cri'], attrs: { to: 7 } },
    { op: 'Add', inputs: ['cri', 'tree_indices'], outputs: ['pa'] },
    { op: 'Reshape', inputs: ['pa', 'shape_flat'], outputs: ['p1'] },
  ];
  for (let l = 1; l < D; l++) {
    // hummingbird's level-l tables: the node ids' features and negated biases, read as >= thresholds.
    inits.push({ name: `nodes_${l}`, dims: [T * 2 ** l], data: feat[l], dataType: 'int64' }, { name: `biases_${l}`, dims: [T * 2 ** l], data: thr[l] });
    const p = `p${l}`;
    nodes.push({ op: 'Gather', inputs: [`nodes_${l}`, p], outputs: [`g${l}_flat`], attrs: { axis: 0 } });
    nodes.push({ op: 'Reshape', inputs: [`g${l}_flat`, 'shape_t'], outputs: [`g${l}`] });
    nodes.push({ op: 'GatherElements', inputs: ['x', `g${l}`], outputs: [`xv${l}_2d`], attrs: { axis: 1 } });
    nodes.push({ op: 'Reshape', inputs: [`xv${l}_2d`, 'shape_flat'], outputs: [`xv${l}`] });
    nodes.push({ op: 'Gather', inputs: [`biases_${l}`, p], outputs: [`b${l}`], attrs: { axis: 0 } });
    nodes.push({ op, inputs: [`xv${l}`, `b${l}`], outputs: [`c${l}`] });
    nodes.push({ op: 'Cast', inputs: [`c${l}`], outputs: [`ci${l}`], attrs: { to: 7 } });
    nodes.push({ op: 'Mul', inputs: [p, 'two'], outputs: [`m${l}`] });
    nodes.push({ op: 'Add', inputs: [`m${l}`, `ci${l}`], outputs: [`p${l + 1}`] });
  }
  nodes.push({ op: 'Gather', inputs: ['leaf_nodes', `p${D}`], outputs: ['v'], attrs: { axis: 0 } });
  const { outputs } = tail(nodes, inits, T, o);
  return buildOnnxModel({ inputs: [{ name: 'x', shape: [1, o.nFeat] }], outputs, initializers: inits, nodes, opset: 13, graphName: 'hb_perf_tree_trav' });
}
