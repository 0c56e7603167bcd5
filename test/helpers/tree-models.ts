/**
 * Random tree-ensemble ONNX models (ai.onnx.ml TreeEnsembleRegressor / TreeEnsembleClassifier) for
 * test/trees.test.ts. buildOnnxModel cannot write STRINGS attributes (nodes_modes, classlabels_strings,
 * post_transform is a STRING): the model is built with placeholders, decoded, patched and re-encoded.
 */
import * as ort from 'onnxruntime-node';
import { buildOnnxModel, mulberry32, type AttrValue } from '../../src/onnx/builder.ts';
import { ModelProto } from '../../src/onnx/proto.ts';

export const ALL_MODES = ['BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ'] as const;

export interface TreeSpec {
  /** Flat ONNX node lists of the ensemble. */
  treeIds: number[];
  nodeIds: number[];
  featureIds: number[];
  values: number[];
  modes: string[];
  trueIds: number[];
  falseIds: number[];
  /** Leaf weights: (tree, node, column, weight). */
  wTree: number[];
  wNode: number[];
  wCol: number[];
  w: number[];
}

/**
 * nTrees random trees of the given depth over nFeat features (leaves at depth 2..depth, the rest branches);
 * modes cycle through `modes`; thresholds in (-0.8, 0.8), every leaf gets a weight per column. EQ/NEQ compare
 * with a threshold on the test inputs' grid (`eqGrid`: x = k / eqGrid).
 */
export function randomTrees(seed: number, nTrees: number, depth: number, nFeat: number, nCols: number, modes: readonly string[] = ALL_MODES, eqGrid = 8): TreeSpec {
  const rnd = mulberry32(seed);
  const s: TreeSpec = { treeIds: [], nodeIds: [], featureIds: [], values: [], modes: [], trueIds: [], falseIds: [], wTree: [], wNode: [], wCol: [], w: [] };
  let m = 0;
  for (let t = 0; t < nTrees; t++) {
    let next = 0;
    const grow = (d: number): number => {
      const id = next++;
      const leaf = d >= depth || (d >= 2 && rnd() < 0.3);
      const at = s.treeIds.length;
      s.treeIds.push(t);
      s.nodeIds.push(id);
      if (leaf) {
        s.featureIds.push(0);
        s.values.push(0);
        s.modes.push('LEAF');
        s.trueIds.push(0);
        s.falseIds.push(0);
        for (let c = 0; c < nCols; c++) {
          s.wTree.push(t);
          s.wNode.push(id);
          s.wCol.push(c);
          s.w.push(Math.round((2 * rnd() - 1) * 1000) / 1000);
        }
        return id;
      }
      const mode = modes[m++ % modes.length];
      s.featureIds.push(Math.floor(rnd() * nFeat));
      const eq = mode === 'BRANCH_EQ' || mode === 'BRANCH_NEQ';
      s.values.push(eq ? Math.round((2 * rnd() - 1) * 0.5 * eqGrid) / eqGrid : Math.round((2 * rnd() - 1) * 0.8 * 1000) / 1000);
      s.modes.push(mode);
      s.trueIds.push(0);
      s.falseIds.push(0);
      s.trueIds[at] = grow(d + 1);
      s.falseIds[at] = grow(d + 1);
      return id;
    };
    grow(0);
  }
  return s;
}

export interface EnsembleOptions {
  kind: 'regressor' | 'classifier';
  nFeat: number;
  nCols: number;
  aggregate?: 'SUM' | 'AVERAGE' | 'MIN' | 'MAX';
  post?: 'NONE' | 'LOGISTIC' | 'SOFTMAX' | 'SOFTMAX_ZERO' | 'PROBIT';
  base?: number[];
  intLabels?: number[];
  strLabels?: string[];
  /** Graph outputs of a classifier: both (label first), or only the probabilities. */
  outputs?: 'both' | 'probabilities';
  zipmap?: boolean;
  /** ml opset (1 or 3). */
  mlOpset?: number;
}

/** The ONNX bytes of one ensemble node (input 'x' [1, nFeat]). */
export function ensembleModel(spec: TreeSpec, o: EnsembleOptions): Uint8Array {
  const cls = o.kind === 'classifier';
  const p = cls ? 'class' : 'target';
  const attrs: Record<string, AttrValue> = {
    nodes_treeids: spec.treeIds, nodes_nodeids: spec.nodeIds, nodes_featureids: spec.featureIds,
    nodes_values: { floats: spec.values }, nodes_truenodeids: spec.trueIds, nodes_falsenodeids: spec.falseIds,
    nodes_modes: 'PLACEHOLDER',
    [`${p}_treeids`]: spec.wTree, [`${p}_nodeids`]: spec.wNode, [`${p}_ids`]: spec.wCol, [`${p}_weights`]: { floats: spec.w },
    post_transform: o.post ?? 'NONE',
  };
  if (o.base) attrs.base_values = { floats: o.base };
  if (!cls) {
    attrs.n_targets = o.nCols;
    attrs.aggregate_function = o.aggregate ?? 'SUM';
  }
  if (cls && o.intLabels) attrs.classlabels_int64s = { ints: o.intLabels };
  if (cls && o.strLabels) attrs.classlabels_strings = 'PLACEHOLDER';
  const strLabels = cls && o.strLabels !== undefined;
  const outputs = cls ? ['label', 'probabilities'] : ['Y'];
  const nodes = [{ op: o.kind === 'regressor' ? 'TreeEnsembleRegressor' : 'TreeEnsembleClassifier', name: 'trees', domain: 'ai.onnx.ml', inputs: ['x'], outputs, attrs }];
  let probs = 'probabilities';
  if (cls && o.zipmap) {
    // ZipMap's output is a sequence of maps: zkonnx treats it as its input; onnxruntime tests use 'probabilities'.
    nodes.push({ op: 'ZipMap', name: 'zipmap', domain: 'ai.onnx.ml', inputs: ['probabilities'], outputs: ['zm'], attrs: (strLabels ? { classlabels_strings: 'PLACEHOLDER' } : { classlabels_int64s: { ints: o.intLabels! } }) as Record<string, AttrValue> });
    probs = 'zm';
  }
  const gOut = cls
    ? o.outputs === 'probabilities' ? [{ name: probs, shape: [1, o.nCols] }] : [{ name: 'label', shape: [1], elemType: 'int64' as const }, { name: probs, shape: [1, o.nCols] }]
    : [{ name: 'Y', shape: [1, o.nCols] }];
  const bytes = buildOnnxModel({
    inputs: [{ name: 'x', shape: [1, o.nFeat] }], outputs: gOut, initializers: [], nodes, opset: 13,
    extraOpsets: [{ domain: 'ai.onnx.ml', version: o.mlOpset ?? 3 }], graphName: `trees_${o.kind}`,
  });
  const m = ModelProto.decode(bytes);
  const enc = (xs: string[]) => xs.map((v) => new TextEncoder().encode(v));
  for (const n of m.graph!.node ?? []) {
    for (const a of n.attribute ?? []) {
      if (a.name === 'nodes_modes') Object.assign(a, { type: 8, s: undefined, strings: enc(spec.modes) });
      if (a.name === 'classlabels_strings') Object.assign(a, { type: 8, s: undefined, strings: enc(o.strLabels!) });
    }
  }
  return ModelProto.encode(m).finish();
}

const sessions = new Map<Uint8Array, Promise<ort.InferenceSession>>();

/** Every output of the model in onnxruntime (the ensemble node's own outputs, by name). */
export async function runOrtAll(bytes: Uint8Array, x: ArrayLike<number>, names: string[]): Promise<Record<string, number[] | string[]>> {
  let s = sessions.get(bytes);
  if (!s) {
    s = ort.InferenceSession.create(Buffer.from(bytes));
    sessions.set(bytes, s);
  }
  const session = await s;
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x), [1, x.length]) }, names);
  const r: Record<string, number[] | string[]> = {};
  for (const k of names) {
    const d = out[k].data as ArrayLike<number | bigint | string>;
    r[k] = Array.from(d, (v) => (typeof v === 'bigint' ? Number(v) : v)) as number[] | string[];
  }
  return r;
}

/** Branches and leaves of a spec, and each leaf's path: (branch index, went to the true child). */
export function paths(spec: TreeSpec): { br: number[]; lv: number[]; path: [number, boolean][][] } {
  const br = spec.modes.map((_, i) => i).filter((i) => spec.modes[i] !== 'LEAF');
  const lv = spec.modes.map((_, i) => i).filter((i) => spec.modes[i] === 'LEAF');
  const path = lv.map((li) => {
    const p: [number, boolean][] = [];
    let cur = li;
    for (;;) {
      const t = spec.treeIds[cur];
      const id = spec.nodeIds[cur];
      const par = br.findIndex((i) => spec.treeIds[i] === t && (spec.trueIds[i] === id || spec.falseIds[i] === id));
      if (par < 0) return p;
      p.push([par, spec.trueIds[br[par]] === id]);
      cur = br[par];
    }
  });
  return { br, lv, path };
}

/**
 * hummingbird's GEMM strategy for the same trees (one comparison op for every branch, `op` as hummingbird writes
 * it for BRANCH_LEQ / BRANCH_LT): t = x A; c = t OP thr; u = c C; e = (u == D); y = e E.
 */
export function hummingbirdGemm(spec: TreeSpec, nFeat: number, nCols: number, op: 'LessOrEqual' | 'Less'): Uint8Array {
  const { br, lv, path } = paths(spec);
  const A = new Array(nFeat * br.length).fill(0);
  br.forEach((i, b) => (A[spec.featureIds[i] * br.length + b] = 1));
  const C = new Array(br.length * lv.length).fill(0);
  const D = new Array(lv.length).fill(0);
  const E = new Array(lv.length * nCols).fill(0);
  lv.forEach((li, l) => {
    for (const [b, left] of path[l]) {
      C[b * lv.length + l] = left ? 1 : -1;
      if (left) D[l]++;
    }
    for (let j = 0; j < spec.w.length; j++) if (spec.wTree[j] === spec.treeIds[li] && spec.wNode[j] === spec.nodeIds[li]) E[l * nCols + spec.wCol[j]] += spec.w[j];
  });
  return buildOnnxModel({
    inputs: [{ name: 'x', shape: [1, nFeat] }], outputs: [{ name: 'y', shape: [1, nCols] }], opset: 13, graphName: 'hb_gemm',
    initializers: [
      { name: 'A', dims: [nFeat, br.length], data: A }, { name: 'thr', dims: [br.length], data: br.map((i) => spec.values[i]) },
      { name: 'C', dims: [br.length, lv.length], data: C }, { name: 'D', dims: [lv.length], data: D }, { name: 'E', dims: [lv.length, nCols], data: E },
    ],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'A'], outputs: ['t'] }, { op, inputs: ['t', 'thr'], outputs: ['c'] }, { op: 'Cast', inputs: ['c'], outputs: ['cf'], attrs: { to: 1 } },
      { op: 'MatMul', inputs: ['cf', 'C'], outputs: ['u'] }, { op: 'Equal', inputs: ['u', 'D'], outputs: ['e'] }, { op: 'Cast', inputs: ['e'], outputs: ['ef'], attrs: { to: 1 } },
      { op: 'MatMul', inputs: ['ef', 'E'], outputs: ['y'] },
    ],
  });
}

/**
 * hummingbird's tree-traversal strategy for the same trees (BRANCH_LEQ only, one column): per level,
 * f = Gather(feat, i); v = Gather(x, f, axis 1); c = v <= Gather(thr, i); i = Where(c, Gather(left, i), Gather(right, i));
 * then y = ReduceSum(Gather(val, i)). Leaves point at themselves.
 */
export function hummingbirdTraversal(spec: TreeSpec, nFeat: number, depth: number): Uint8Array {
  const T = Math.max(...spec.treeIds) + 1;
  const M = Math.max(...spec.nodeIds) + 1;
  const z = () => new Array(T * M).fill(0);
  const [feat, thr, left, right, val] = [z(), z(), z(), z(), z()];
  spec.treeIds.forEach((t, i) => {
    const k = t * M + spec.nodeIds[i];
    if (spec.modes[i] === 'LEAF') left[k] = right[k] = k;
    else {
      feat[k] = spec.featureIds[i];
      thr[k] = spec.values[i];
      left[k] = t * M + spec.trueIds[i];
      right[k] = t * M + spec.falseIds[i];
    }
  });
  spec.w.forEach((w, j) => (val[spec.wTree[j] * M + spec.wNode[j]] += w));
  const nodes: { op: string; inputs: string[]; outputs: string[]; attrs?: Record<string, AttrValue> }[] = [];
  let idx = 'root';
  for (let d = 0; d < depth; d++) {
    nodes.push({ op: 'Gather', inputs: ['feat', idx], outputs: [`f${d}`], attrs: { axis: 0 } });
    nodes.push({ op: 'Gather', inputs: ['x', `f${d}`], outputs: [`xv${d}`], attrs: { axis: 1 } });
    nodes.push({ op: 'Gather', inputs: ['thr', idx], outputs: [`t${d}`], attrs: { axis: 0 } });
    nodes.push({ op: 'LessOrEqual', inputs: [`xv${d}`, `t${d}`], outputs: [`c${d}`] });
    nodes.push({ op: 'Gather', inputs: ['left', idx], outputs: [`l${d}`], attrs: { axis: 0 } });
    nodes.push({ op: 'Gather', inputs: ['right', idx], outputs: [`r${d}`], attrs: { axis: 0 } });
    nodes.push({ op: 'Where', inputs: [`c${d}`, `l${d}`, `r${d}`], outputs: [`i${d + 1}`] });
    idx = `i${d + 1}`;
  }
  nodes.push({ op: 'Gather', inputs: ['val', idx], outputs: ['v'], attrs: { axis: 0 } });
  nodes.push({ op: 'ReduceSum', inputs: ['v'], outputs: ['y'], attrs: { keepdims: 0 } });
  return buildOnnxModel({
    inputs: [{ name: 'x', shape: [1, nFeat] }], outputs: [{ name: 'y', shape: [] }], opset: 13, graphName: 'hb_traversal',
    initializers: [
      { name: 'root', dims: [T], data: Array.from({ length: T }, (_, t) => t * M), dataType: 'int64' },
      { name: 'feat', dims: [T * M], data: feat, dataType: 'int64' }, { name: 'left', dims: [T * M], data: left, dataType: 'int64' },
      { name: 'right', dims: [T * M], data: right, dataType: 'int64' }, { name: 'thr', dims: [T * M], data: thr }, { name: 'val', dims: [T * M], data: val },
    ],
    nodes,
  });
}

export interface V5Options {
  nFeat: number;
  nTargets: number;
  /** Which target each leaf votes for: its tree's (tree % nTargets, as LightGBM's multiclass trees), or per leaf. */
  targets?: 'tree' | 'leaf';
  /** 0 AVERAGE, 1 SUM (default), 2 MIN, 3 MAX. */
  aggregate?: number;
  /** 0 NONE (default), 1 SOFTMAX, 2 LOGISTIC, 3 SOFTMAX_ZERO, 4 PROBIT (the ONNX spec's numbering). */
  post?: number;
  /**
   * Turn each BRANCH_EQ node into BRANCH_MEMBER (6) with these offsets added to its threshold (e.g. [0, 0.25,
   * -0.375]: three members on the k/8 grid); NaN separates the nodes' sets in membership_values.
   */
  memberOffsets?: number[];
  /** Also add a tree that is a single leaf (weight 0.125, target 0). */
  leafTree?: boolean;
}

/**
 * The same trees as TreeEnsemble of ai.onnx.ml opset 5, written as an exporter does (tensor attributes for
 * nodes_splits, nodes_modes (uint8), leaf_weights and membership_values): interior nodes and leaves in separate
 * lists, children by index with *_leafs flags, one (target, weight) per leaf (the spec's first weight).
 */
export function ensembleV5Model(spec: TreeSpec, o: V5Options): Uint8Array {
  const modeCode: Record<string, number> = { BRANCH_LEQ: 0, BRANCH_LT: 1, BRANCH_GTE: 2, BRANCH_GT: 3, BRANCH_EQ: 4, BRANCH_NEQ: 5 };
  const key = (t: number, id: number) => `${t}/${id}`;
  const interior = new Map<string, number>();
  const leafIx = new Map<string, number>();
  const at = new Map<string, number>();
  spec.modes.forEach((m, i) => {
    const k = key(spec.treeIds[i], spec.nodeIds[i]);
    at.set(k, i);
    if (m === 'LEAF') leafIx.set(k, leafIx.size);
    else interior.set(k, interior.size);
  });
  const trees = [...new Set(spec.treeIds)];
  const feat: number[] = [];
  const splits: number[] = [];
  const modes: number[] = [];
  const tIds: number[] = [];
  const tLeaf: number[] = [];
  const fIds: number[] = [];
  const fLeaf: number[] = [];
  const members: number[] = [];
  const ref = (t: number, id: number): [number, number] => {
    const k = key(t, id);
    return leafIx.has(k) ? [leafIx.get(k)!, 1] : [interior.get(k)!, 0];
  };
  for (const [k, ix] of interior) {
    const i = at.get(k)!;
    const t = spec.treeIds[i];
    void ix;
    feat.push(spec.featureIds[i]);
    const member = o.memberOffsets && spec.modes[i] === 'BRANCH_EQ';
    modes.push(member ? 6 : modeCode[spec.modes[i]]);
    splits.push(member ? 0 : spec.values[i]);
    if (member) members.push(...o.memberOffsets!.map((d) => spec.values[i] + d), NaN);
    const [tc, tl] = ref(t, spec.trueIds[i]);
    const [fc, fl] = ref(t, spec.falseIds[i]);
    tIds.push(tc);
    tLeaf.push(tl);
    fIds.push(fc);
    fLeaf.push(fl);
  }
  const leafTarget: number[] = [];
  const leafWeight: number[] = [];
  let n = 0;
  for (const [k] of leafIx) {
    const i = at.get(k)!;
    const t = spec.treeIds[i];
    const j = spec.w.findIndex((_, jj) => spec.wTree[jj] === t && spec.wNode[jj] === spec.nodeIds[i]);
    leafTarget.push(o.targets === 'leaf' ? n++ % o.nTargets : trees.indexOf(t) % o.nTargets);
    leafWeight.push(spec.w[j]);
  }
  // Roots: the interior node of each tree that no node points at.
  const roots = trees.map((t) => {
    const pointed = new Set<number>();
    spec.modes.forEach((m, i) => {
      if (spec.treeIds[i] === t && m !== 'LEAF') pointed.add(spec.trueIds[i]).add(spec.falseIds[i]);
    });
    const r = spec.modes.findIndex((_, i) => spec.treeIds[i] === t && !pointed.has(spec.nodeIds[i]));
    return interior.get(key(t, spec.nodeIds[r]))!;
  });
  if (o.leafTree) {
    // A single-leaf tree: its root index is the leaf's index, with both children that leaf.
    const li = leafTarget.length;
    leafTarget.push(0);
    leafWeight.push(0.125);
    // onnxruntime reads leaf index tree_roots[t] and checks nodes_*[root]: the root index must also be a node.
    while (feat.length <= li) {
      feat.push(0);
      splits.push(0);
      modes.push(0);
      tIds.push(li);
      tLeaf.push(1);
      fIds.push(li);
      fLeaf.push(1);
    }
    tIds[li] = fIds[li] = li;
    tLeaf[li] = fLeaf[li] = 1;
    roots.push(li);
  }
  const attrs: Record<string, AttrValue> = {
    nodes_featureids: { ints: feat }, nodes_splits: { tensor: { dims: [splits.length], data: splits } },
    nodes_modes: { tensor: { dims: [modes.length], data: modes, dataType: 'uint8' } },
    nodes_truenodeids: { ints: tIds }, nodes_trueleafs: { ints: tLeaf }, nodes_falsenodeids: { ints: fIds }, nodes_falseleafs: { ints: fLeaf },
    tree_roots: { ints: roots }, leaf_targetids: { ints: leafTarget }, leaf_weights: { tensor: { dims: [leafWeight.length], data: leafWeight } },
    n_targets: o.nTargets, aggregate_function: o.aggregate ?? 1, post_transform: o.post ?? 0,
  };
  if (members.length) attrs.membership_values = { tensor: { dims: [members.length], data: members } };
  return buildOnnxModel({
    inputs: [{ name: 'x', shape: [1, o.nFeat] }], outputs: [{ name: 'Y', shape: [1, o.nTargets] }], initializers: [], opset: 21,
    nodes: [{ op: 'TreeEnsemble', name: 'trees', domain: 'ai.onnx.ml', inputs: ['x'], outputs: ['Y'], attrs }],
    extraOpsets: [{ domain: 'ai.onnx.ml', version: 5 }], graphName: 'trees_v5',
  });
}

/** One TreeEnsembleClassifier of a labelled model: its trees, labels, and output names (label, probabilities). */
export interface LabelledClassifier {
  spec: TreeSpec;
  labels: string[] | number[];
  label: string;
  probabilities: string;
}

/**
 * A model of one or more TreeEnsembleClassifier nodes on the same input 'x' [1, nFeat] (LOGISTIC), as skl2onnx
 * writes a classifier: `outputs` names the graph outputs among the nodes' label and probability outputs; a
 * label output of string labels is declared a STRING tensor, of int64 labels an INT64 tensor.
 */
export function labelledClassifiersModel(nFeat: number, nodes: LabelledClassifier[], outputs: string[]): Uint8Array {
  const decl = new Map<string, { shape: number[]; elemType?: 'int64'; string?: boolean }>();
  const onnxNodes = nodes.map((c, k) => {
    const str = typeof c.labels[0] === 'string';
    decl.set(c.label, { shape: [1], ...(str ? { string: true } : { elemType: 'int64' as const }) });
    decl.set(c.probabilities, { shape: [1, c.labels.length] });
    const attrs: Record<string, AttrValue> = {
      nodes_treeids: c.spec.treeIds, nodes_nodeids: c.spec.nodeIds, nodes_featureids: c.spec.featureIds, nodes_values: { floats: c.spec.values },
      nodes_truenodeids: c.spec.trueIds, nodes_falsenodeids: c.spec.falseIds, nodes_modes: { strings: c.spec.modes },
      class_treeids: c.spec.wTree, class_nodeids: c.spec.wNode, class_ids: c.spec.wCol, class_weights: { floats: c.spec.w }, post_transform: 'LOGISTIC',
      ...(str ? { classlabels_strings: { strings: c.labels as string[] } } : { classlabels_int64s: { ints: c.labels as number[] } }),
    };
    return { op: 'TreeEnsembleClassifier', name: `classifier${k}`, domain: 'ai.onnx.ml', inputs: ['x'], outputs: [c.label, c.probabilities], attrs };
  });
  const bytes = buildOnnxModel({
    inputs: [{ name: 'x', shape: [1, nFeat] }], outputs: outputs.map((name) => ({ name, shape: decl.get(name)!.shape, ...(decl.get(name)!.elemType ? { elemType: decl.get(name)!.elemType } : {}) })),
    initializers: [], nodes: onnxNodes, opset: 13, extraOpsets: [{ domain: 'ai.onnx.ml', version: 3 }], graphName: 'labelled_trees',
  });
  // buildOnnxModel declares no STRING tensors: set the string label outputs' element type (8).
  const m = ModelProto.decode(bytes);
  for (const o of m.graph!.output ?? []) if (decl.get(o.name!)?.string) o.type!.tensorType!.elemType = 8;
  return ModelProto.encode(m).finish();
}

/**
 * A model of ai.onnx.ml (opset 1) and standard nodes on input 'x' [1, nFeat], as skl2onnx writes a pipeline
 * (Imputer, Scaler, ArrayFeatureExtractor, Binarizer, LinearRegressor, LinearClassifier): outputs of type
 * 'string' are declared STRING tensors.
 */
export function mlPipelineModel(nFeat: number, nodes: { op: string; inputs: string[]; outputs: string[]; attrs?: Record<string, AttrValue>; domain?: string }[], outputs: { name: string; shape: number[]; type?: 'int64' | 'string' }[], initializers: { name: string; dims: number[]; data: number[]; dataType?: 'int64' }[] = []): Uint8Array {
  const bytes = buildOnnxModel({
    inputs: [{ name: 'x', shape: [1, nFeat] }], initializers, opset: 13, extraOpsets: [{ domain: 'ai.onnx.ml', version: 1 }], graphName: 'ml_pipeline',
    nodes: nodes.map((n, k) => ({ name: `${n.op}_${k}`, domain: n.domain ?? 'ai.onnx.ml', ...n })),
    outputs: outputs.map((o) => ({ name: o.name, shape: o.shape, ...(o.type === 'int64' ? { elemType: 'int64' as const } : {}) })),
  });
  const m = ModelProto.decode(bytes);
  for (const o of m.graph!.output ?? []) if (outputs.find((d) => d.name === o.name)?.type === 'string') o.type!.tensorType!.elemType = 8;
  return ModelProto.encode(m).finish();
}

/**
 * A classifier as the TreeEnsemble spec suggests writing one: TreeEnsemble (opset 5) -> ArgMax (axis 1) ->
 * LabelEncoder (int64 keys 0..C-1 -> `values`, strings or int64s). The graph output is 'label'.
 */
export function v5ClassifierModel(spec: TreeSpec, o: V5Options, values: string[] | number[]): Uint8Array {
  const m = ModelProto.decode(ensembleV5Model(spec, o));
  const str = typeof values[0] === 'string';
  const keys = values.map((_, i) => i);
  const tail = ModelProto.decode(buildOnnxModel({
    inputs: [{ name: 'Y', shape: [1, o.nTargets] }], outputs: [{ name: 'label', shape: [1], ...(str ? {} : { elemType: 'int64' as const }) }], initializers: [], opset: 21,
    extraOpsets: [{ domain: 'ai.onnx.ml', version: 5 }],
    nodes: [
      { op: 'ArgMax', name: 'argmax', inputs: ['Y'], outputs: ['index'], attrs: { axis: 1, keepdims: 0 } },
      { op: 'LabelEncoder', name: 'labels', domain: 'ai.onnx.ml', inputs: ['index'], outputs: ['label'], attrs: { keys_int64s: { ints: keys }, ...(str ? { values_strings: { strings: values as string[] } } : { values_int64s: { ints: values as number[] } }) } },
    ],
  }));
  m.graph!.node!.push(...tail.graph!.node!);
  m.graph!.output = tail.graph!.output;
  if (str) m.graph!.output![0].type!.tensorType!.elemType = 8;
  return ModelProto.encode(m).finish();
}
