/**
 * OnnxGraph -> FloatModel. Walks the nodes in order (ONNX requires topological order), lets each op's
 * importer turn its node into layers, and collects every problem (unsupported ops, attributes, shapes)
 * before throwing one UnsupportedModelError.
 *
 * Activations are tracked by name, so graphs may branch and join (residual Add, Concat). A node whose
 * output is the same data as its input (Identity, a bias folded into the layer before it) becomes an alias.
 *
 * Every number a layer computes with must be finite: a NaN or infinite weight, bias or scale has no integer
 * form (it would reach the circuit as garbage). Each node's layers are checked once the node is imported,
 * and the problem is reported on that node, naming the non-finite constants it read (an initializer, a
 * Constant's value, a dequantized weight) or attributes. Infinity in a constant is fine where the layer
 * does not keep it (Clip's bounds mean "no bound"; dividing by it gives 0); NaN never is.
 *
 * Graph inputs and outputs: any number of each. The model's input is the concatenation of the graph inputs in
 * declaration order, its output the concatenation of the graph outputs (FloatModel.input/output `parts`, when
 * there are several or an input is an integer tensor). Integer and bool inputs (token ids, masks) are carried
 * as exact integers. A symbolic or unknown first input dimension (the batch) is 1; other symbolic dimensions
 * come from ImportOptions.dims (`--dim`, or the input file's nesting) or are reported, naming the dimension. A
 * declared output shape with a symbolic or unknown dimension is taken as onnxruntime takes it.
 *
 * One pass reports every problem: an unsupported op anywhere, and past a node that cannot be imported, later
 * nodes are still checked when its outputs' shapes are known (a shape-preserving op; the layers it made; the
 * model's value_info or declared output shapes); otherwise they are checked for op support only. The
 * supported-op list is given once, in the error's hint.
 */
import { UnsupportedModelError, type ModelIssue } from '../errors.ts';
import type { OnnxGraph, OnnxTensor } from '../onnx/load.ts';
import { dataTypeName } from '../onnx/load.ts';
import { fuseGeluErf } from '../ops/elementwise-fuse.ts';
import { foldNode } from '../ops/fold.ts';
import { onnxImporters, supportedOps } from '../ops/registry.ts';
import type { Activation, ImportContext } from '../ops/types.ts';
import { firstNonFinite, type FloatLayer, type FloatModel, type IoSpec, type TensorPart, type TensorSpec } from './types.ts';
import { refusedOps } from '../ops/qdq.ts';

/** The non-finite values of a tensor: how many of each kind, and where the first one is. */
interface NonFinite {
  nan: number;
  inf: number;
  first: number;
  count: number;
}

function nonFiniteOf(data: ArrayLike<number>): NonFinite | undefined {
  let r: NonFinite | undefined;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v === 0) continue; // finite (NaN - NaN and Inf - Inf are NaN)
    r ??= { nan: 0, inf: 0, first: i, count: 0 };
    r.count++;
    if (Number.isNaN(v)) r.nan++;
    else r.inf++;
  }
  return r;
}

function describeNonFinite(nf: NonFinite, data: ArrayLike<number>): string {
  if (data.length === 1) return `is ${data[0]}`;
  if (nf.count === 1) return `holds ${data[nf.first]} at index ${nf.first} (of ${data.length} values)`;
  const kinds = [nf.nan && 'NaN', nf.inf && 'Infinity'].filter(Boolean).join(' and ');
  return `holds ${nf.count} non-finite values (${kinds}) of ${data.length}, the first, ${data[nf.first]}, at index ${nf.first}`;
}

/**
 * The first non-finite number among a float layer's parameters (weights, bias, coefficients, scales, pinned
 * scales, pad value, alpha); undefined when all are finite. A clip's bounds may be infinite (no bound).
 */
function nonFiniteParameter(layer: FloatLayer): string | undefined {
  return firstNonFinite(layer, (path) => layer.kind === 'clip' && (path === 'lo' || path === 'hi'));
}

export interface ImportOptions {
  /**
   * Sizes of symbolic input dimensions (ONNX dim_param names, or `input[i]` for an unnamed unknown dimension i
   * of an input). The batch dimension (a symbolic or unknown first dimension) is 1 unless given here.
   */
  dims?: Record<string, number>;
}

/** Float element types zkonnx reads an input of as reals. */
const FLOAT_TYPES = new Set([1, 10, 11, 16]);

/**
 * ONNX ops whose output has the shape of their (first) input: when such a node cannot be imported, later nodes
 * are still checked with that shape.
 */
const SHAPE_PRESERVING = new Set([
  'Abs', 'Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'BitShift', 'Cast', 'CastLike', 'Ceil', 'Celu', 'Clip', 'Cos', 'Cosh', 'Dropout',
  'Elu', 'Erf', 'Exp', 'Floor', 'Gelu', 'HardSigmoid', 'HardSwish', 'Hardmax', 'Identity', 'IsInf', 'IsNaN', 'LeakyRelu', 'Log',
  'LogSoftmax', 'LpNormalization', 'Mish', 'Neg', 'Not', 'PRelu', 'Reciprocal', 'Relu', 'Round', 'Selu', 'Shrink', 'Sigmoid', 'Sign',
  'Sin', 'Sinh', 'Softmax', 'Softplus', 'Softsign', 'Sqrt', 'Tan', 'Tanh', 'ThresholdedRelu', 'QuantizeLinear', 'DequantizeLinear',
  'DynamicQuantizeLinear', 'LayerNormalization', 'InstanceNormalization', 'BatchNormalization', 'MeanVarianceNormalization',
]);

export function importGraph(graph: OnnxGraph, opts: ImportOptions = {}): FloatModel {
  // Patterns exporters spell out in primitive ops, proven as one op (src/ops/elementwise-fuse.ts).
  const g = fuseGeluErf(graph);
  const issues: ModelIssue[] = [];
  const constants = new Map<string, OnnxTensor>(g.initializers);
  const layers: FloatLayer[] = [];
  const notes: string[] = [];
  const dimsGiven = opts.dims ?? {};
  let unsupportedOp = false;

  if (g.inputs.length === 0) issues.push({ node: '(graph)', op: 'input', message: 'the graph has no input (every graph input is an initializer)' });
  if (g.outputs.length === 0) issues.push({ node: '(graph)', op: 'output', message: 'the graph has no output' });

  // ONNX name -> activation (aliases resolve to the tensor that holds the data).
  const acts = new Map<string, Activation>();
  // Tensors whose shape is unknown past a problem: nodes reading them are checked for op support only.
  const unknown = new Set<string>();
  const inputs: (TensorSpec & { offset: number })[] = [];
  let offset = 0;
  let nonFloatInput = false;
  for (const info of g.inputs) {
    const shape: number[] = [];
    let ok = true;
    let dtype: string | undefined;
    if (!FLOAT_TYPES.has(info.elemType)) {
      if (INTEGER_TYPES.has(info.elemType)) {
        dtype = dataTypeName(info.elemType).toLowerCase();
        nonFloatInput = true;
      } else {
        issues.push({ node: '(graph)', op: 'input', message: `input '${info.name}' has type ${dataTypeName(info.elemType)}; zkonnx takes float, integer and bool inputs` });
      }
    }
    info.dims.forEach((d, i) => {
      const key = typeof d === 'string' && d !== '?' ? d : `${info.name}[${i}]`;
      if (typeof d === 'number') shape.push(d);
      else if (key in dimsGiven) shape.push(dimsGiven[key]);
      else if (i === 0) shape.push(1); // the batch dimension: we prove one sample
      else {
        ok = false;
        issues.push({
          node: '(graph)', op: 'input',
          message: `input '${info.name}' dimension ${i} is ${d === '?' ? 'unknown' : `symbolic ('${d}')`}: give its size with --dim ${key}=N (library: dims { '${key}': N }), or give the input and calibration files nested as the tensor's shape`,
        });
      }
    });
    // A scalar input (rank 0) is one element.
    if (ok) acts.set(info.name, { name: info.name, shape: shape.length ? shape : [1] });
    else unknown.add(info.name);
    inputs.push({ name: info.name, shape: shape.length ? shape : [1], ...(dtype ? { dtype } : {}), offset });
    offset += shape.reduce((a, b) => a * b, 1);
  }
  const outputNames = new Set(g.outputs.map((o) => o.name));
  const softmaxOmitted = new Map<string, 'Softmax' | 'LogSoftmax'>();

  const producers = new Map<string, FloatLayer>();
  const consumers = new Map<string, number>();
  for (const n of g.nodes) for (const i of new Set(n.inputs)) if (i) consumers.set(i, (consumers.get(i) ?? 0) + 1);
  const graphOutputUses = (onnxName: string) => g.outputs.filter((o) => o.name === onnxName).length;
  const uses = (onnxName: string) => (consumers.get(onnxName) ?? 0) + graphOutputUses(onnxName);
  // Uses of each IR tensor, over every ONNX name that aliases it: folding into a producer needs exactly one.
  const tensorUses = new Map<string, number>();
  for (const i of g.inputs) tensorUses.set(i.name, uses(i.name));

  // Non-finite values: which node made each constant, and what is wrong with each constant (computed once).
  const madeBy = new Map<string, string>();
  const nonFiniteConstants = new Map<OnnxTensor, NonFinite | null>();
  const nonFiniteIn = (t: OnnxTensor): NonFinite | undefined => {
    let nf = nonFiniteConstants.get(t);
    if (nf === undefined) nonFiniteConstants.set(t, (nf = nonFiniteOf(t.data) ?? null));
    return nf ?? undefined;
  };
  const constantLabel = (n: string) =>
    g.initializers.get(n) === constants.get(n) ? `initializer '${n}'` : madeBy.has(n) ? `constant '${n}' (made by node '${madeBy.get(n)}')` : `constant '${n}'`;
  const reportedLayers = new Set<FloatLayer>();

  /**
   * A node that could not be imported: its outputs keep a shape when the op preserves its input's (later nodes
   * are then checked as usual, with a placeholder tensor), else they are unknown.
   */
  const skipOutputs = (node: OnnxGraph['nodes'][number]) => {
    const first = node.inputs.find((n) => n && acts.has(n));
    const shape = first && SHAPE_PRESERVING.has(node.op) && !node.inputs.some((n) => n && unknown.has(n)) ? acts.get(first)!.shape : undefined;
    for (const o of node.outputs) {
      if (!o) continue;
      // Else the shape the model records for it (value_info, or a graph output's declared shape), when fully known.
      const recorded = shape && o === node.outputs[0] ? shape : knownShape(g.valueInfo?.get(o) ?? g.outputs.find((v) => v.name === o));
      if (recorded) {
        acts.set(o, { name: o, shape: recorded });
        tensorUses.set(o, uses(o));
      } else unknown.add(o);
    }
  };

  for (const node of g.nodes) {
    // A node on constants only (a shape subgraph) is evaluated now, for batch 1, when src/ops/fold.ts can.
    if (node.op !== 'Constant' && node.inputs.some(Boolean) && node.inputs.every((n) => !n || constants.has(n))) {
      const folded = foldNode(node, (n) => constants.get(n), g.opset);
      if (folded && 'error' in folded) {
        issues.push({ node: node.name, op: node.op, message: folded.error });
        skipOutputs(node);
        continue;
      }
      if (folded) {
        folded.forEach((t, k) => {
          if (!node.outputs[k]) return;
          constants.set(node.outputs[k], t);
          madeBy.set(node.outputs[k], node.name);
        });
        continue;
      }
    }
    const imp = onnxImporters.get(node.op);
    if (!imp) {
      const refused = refusedOps.get(node.op);
      if (!refused) unsupportedOp = true;
      issues.push({ node: node.name, op: node.op, message: refused ?? `op '${node.op}' is not supported` });
      skipOutputs(node);
      continue;
    }
    if (node.inputs.some((n) => n && unknown.has(n))) {
      // Shapes are unknown past an earlier problem: keep checking op support only (and Constant nodes).
      if (node.op === 'Constant') imp.importNode(node, constantOnlyContext(node, g.opset, constants, madeBy, issues));
      else skipOutputs(node);
      continue;
    }
    const activations = node.inputs.filter((n) => n && acts.has(n)).map((n) => acts.get(n)!);
    const missing = node.inputs.filter((n) => n && !acts.has(n) && !constants.has(n));
    if (missing.length) {
      issues.push({ node: node.name, op: node.op, message: `input(s) ${missing.map((m) => `'${m}'`).join(', ')} are produced by no earlier node` });
      skipOutputs(node);
      continue;
    }
    const before = issues.length;
    // Activations the node produced, by ONNX output name (a node may have several outputs, e.g. Split).
    const produced = new Map<string, Activation>();
    const out = node.outputs[0];
    // What the node read and touched, for the finiteness check after it.
    const nonFiniteReads = new Map<string, { t: OnnxTensor; nf: NonFinite }>();
    const touched = new Set<FloatLayer>();
    const touch = (l: FloatLayer | undefined) => (l && touched.add(l), l);
    const ctx: ImportContext = {
      node,
      opset: g.opset,
      current: activations[0] ?? { name: '', shape: [] },
      activation: (n) => acts.get(n),
      constant: (n) => {
        const t = constants.get(n);
        const nf = t && nonFiniteIn(t);
        if (nf) nonFiniteReads.set(n, { t: t!, nf });
        return t;
      },
      setConstant: (n, t) => {
        constants.set(n, t);
        madeBy.set(n, node.name);
      },
      producer: () => {
        const cur = activations[0];
        if (!cur || tensorUses.get(cur.name) !== 1) return undefined;
        return touch(producers.get(cur.name));
      },
      layerOf: (t) => touch(producers.get(t)),
      isGraphOutput: outputNames.has(out),
      onlyFeeds: (op) => {
        const readers = g.nodes.filter((n) => n.inputs.includes(out));
        return readers.length > 0 && !outputNames.has(out) && readers.every((n) => n.op === op);
      },
      issue: (message) => void issues.push({ node: node.name, op: node.op, message }),
      push: (layer) => {
        // Layers writing other names are the node's internal steps (e.g. one per row); name them '<node>#...'.
        touched.add(layer);
        layers.push(layer);
        produced.set(layer.output, { name: layer.output, shape: layer.outShape });
        producers.set(layer.output, layer);
      },
      alias: () => {
        if (activations[0]) produced.set(out, activations[0]);
      },
      note: (t) => {
        notes.push(t);
        // A final Softmax/LogSoftmax left out: the graph output holds the logits (shown so to users).
        if ((node.op === 'Softmax' || node.op === 'LogSoftmax') && outputNames.has(out)) softmaxOmitted.set(out, node.op);
      },
    };
    // An op needs an activation unless it only makes constants (Constant, DequantizeLinear of a weight).
    imp.importNode(node, ctx);
    if (issues.length > before) {
      // The layers it made despite the problem (an attribute it cannot honour) still give later nodes shapes.
      if (produced.size) {
        for (const o of node.outputs) if (o && !produced.has(o)) unknown.add(o);
        for (const [o, a] of produced) {
          acts.set(o, a);
          tensorUses.set(a.name, uses(o));
        }
      } else skipOutputs(node);
      continue;
    }
    // Finiteness: reported on this node, but shapes are fine: later nodes are still checked.
    const sources = [...nonFiniteReads].map(([n, { t, nf }]) => `${constantLabel(n)} ${describeNonFinite(nf, t.data)}`);
    for (const [k, a] of node.attrs) {
      const values = a.type === 'float' ? [a.value] : a.type === 'floats' ? a.value : [];
      const nf = nonFiniteOf(values);
      if (nf) sources.push(`attribute '${k}' ${describeNonFinite(nf, values)}`);
    }
    let reportedNode = false;
    for (const layer of touched) {
      const bad = !reportedLayers.has(layer) && nonFiniteParameter(layer);
      if (!bad) continue;
      reportedLayers.add(layer);
      reportedNode = true;
      issues.push({
        node: node.name, op: node.op,
        message: sources.length
          ? `${sources.join('; ')}; weights, biases and scales must be finite numbers (the layer's ${bad})`
          : `computes a non-finite ${bad} from finite constants (an overflow, or a variance below -epsilon)`,
      });
    }
    // NaN is meaningless wherever it is read, even when no layer keeps it.
    const nanSources = [...nonFiniteReads].filter(([, r]) => r.nf.nan > 0).map(([n, { t, nf }]) => `${constantLabel(n)} ${describeNonFinite(nf, t.data)}`);
    if (!reportedNode && nanSources.length) issues.push({ node: node.name, op: node.op, message: `${nanSources.join('; ')}` });
    if (!produced.size) {
      if (out && constants.has(out)) continue; // the node made a constant
      if (!activations.length) {
        issues.push({ node: node.name, op: node.op, message: 'computes on constants only; fold constants first (e.g. onnxsim or onnxruntime graph optimization)' });
      } else {
        issues.push({ node: node.name, op: node.op, message: 'internal: the importer produced no output' });
      }
      skipOutputs(node);
      continue;
    }
    for (const [o, a] of produced) {
      acts.set(o, a);
      if (a === activations[0]) tensorUses.set(a.name, (tensorUses.get(a.name) ?? 0) - 1 + uses(o));
      else tensorUses.set(a.name, uses(o));
    }
  }

  const outputs: (TensorPart & { tensor: string })[] = [];
  let outOffset = 0;
  for (const info of g.outputs) {
    if (unknown.has(info.name)) continue; // its problem is reported where it started
    const final = acts.get(info.name);
    if (!final) {
      if (constants.has(info.name)) {
        issues.push({ node: '(graph)', op: 'output', message: `graph output '${info.name}' is a constant (it does not depend on the input${g.inputs.length > 1 ? 's' : ''}): a proof says nothing about it; remove it from the graph outputs` });
      } else {
        issues.push({ node: '(graph)', op: 'output', message: `graph output '${info.name}' is not computed from the input` });
      }
      continue;
    }
    // A declared output shape with symbolic or unknown dimensions is taken as onnxruntime takes it; a fully
    // known one (symbolic batch = 1) must be what the ops computed.
    const declared = info.dims;
    const flat = (s: (number | string)[]) => s.filter((d) => d !== 1);
    if (declared.length && declared.every((d) => typeof d === 'number') && JSON.stringify(flat(declared)) !== JSON.stringify(flat(final.shape))) {
      issues.push({ node: '(graph)', op: 'output', message: `graph output '${info.name}' is declared [${info.dims}] but the ops compute [${final.shape}]` });
    }
    const omitted = softmaxOmitted.get(info.name);
    // An output that is a graph input passed through (an Identity-only model): a routing copy makes it a
    // computed tensor like any other (0 constraints; the proof shows the quantized input as the output).
    let tensor = final.name;
    if (!producers.has(tensor)) {
      const copy = `${info.name}#copy`;
      const n = final.shape.reduce((a, b) => a * b, 1);
      layers.push({ kind: 'gather', name: copy, inputs: [tensor], output: copy, inShape: final.shape, outShape: final.shape, index: Int32Array.from({ length: n }, (_, i) => i), padValue: 0 });
      tensor = copy;
    }
    outputs.push({
      name: info.name, shape: final.shape, tensor, offset: outOffset,
      ...integerDtype(info.elemType), ...(omitted ? { softmaxOmitted: omitted } : {}),
    });
    outOffset += final.shape.reduce((a, b) => a * b, 1);
  }
  if (issues.length === 0 && layers.length === 0) issues.push({ node: '(graph)', op: 'graph', message: 'the model computes nothing zkonnx can prove (no layers)' });
  if (issues.length) {
    throw new UnsupportedModelError(issues, unsupportedOp ? `zkonnx supports these ONNX ops: ${supportedOps.join(', ')}.` : undefined);
  }
  const input: IoSpec = inputs.length === 1 && !nonFloatInput
    ? { name: inputs[0].name, shape: inputs[0].shape }
    : { name: inputs.map((i) => i.name).join(','), shape: [offset], parts: inputs };
  const output: FloatModel['output'] = outputs.length === 1
    ? (({ offset: _o, ...o }) => o)(outputs[0])
    : { name: outputs.map((o) => o.name).join(','), shape: [outOffset], tensor: '', parts: outputs };
  return { name: g.name, sha256: g.sha256, opset: g.opset, input, output, layers, notes };
}

/** A recorded shape with every dimension known (a symbolic or unknown first dimension, the batch, is 1). */
function knownShape(v: { dims: (number | string)[] } | undefined): number[] | undefined {
  if (!v || v.dims.length === 0) return undefined;
  const dims = v.dims.map((d, i) => (typeof d === 'number' ? d : i === 0 ? 1 : null));
  return dims.every((d) => d !== null) ? (dims as number[]) : undefined;
}

/** For a Constant node past a problem: only its constant is kept (anything else it does is ignored). */
function constantOnlyContext(node: OnnxGraph['nodes'][number], opset: number, constants: Map<string, OnnxTensor>, madeBy: Map<string, string>, issues: ModelIssue[]): ImportContext {
  return {
    node, opset, current: { name: '', shape: [] }, isGraphOutput: false,
    activation: () => undefined, constant: (n) => constants.get(n),
    setConstant: (n, t) => {
      constants.set(n, t);
      madeBy.set(n, node.name);
    },
    producer: () => undefined, layerOf: () => undefined, onlyFeeds: () => false,
    issue: (message) => void issues.push({ node: node.name, op: node.op, message }),
    push: () => {}, alias: () => {}, note: () => {},
  };
}

/** ONNX integer and bool element types, recorded on the output so that readers show integers (indices). */
const INTEGER_TYPES = new Set([2, 3, 4, 5, 6, 7, 9, 12, 13]);


function integerDtype(elemType: number): { dtype?: string } {
  return INTEGER_TYPES.has(elemType) ? { dtype: dataTypeName(elemType).toLowerCase() } : {};
}
