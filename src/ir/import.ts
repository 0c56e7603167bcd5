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
 */
import { UnsupportedModelError, type ModelIssue } from '../errors.ts';
import type { OnnxGraph, OnnxTensor } from '../onnx/load.ts';
import { dataTypeName } from '../onnx/load.ts';
import { foldNode } from '../ops/fold.ts';
import { onnxImporters, supportedOps } from '../ops/registry.ts';
import type { Activation, ImportContext } from '../ops/types.ts';
import { firstNonFinite, type FloatLayer, type FloatModel } from './types.ts';

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

export function importGraph(g: OnnxGraph): FloatModel {
  const issues: ModelIssue[] = [];
  const constants = new Map<string, OnnxTensor>(g.initializers);
  const layers: FloatLayer[] = [];
  const notes: string[] = [];

  if (g.inputs.length !== 1) {
    issues.push({ node: '(graph)', op: 'input', message: `models must have exactly one input, this one has ${g.inputs.length} (${g.inputs.map((i) => i.name).join(', ')})` });
  }
  if (g.outputs.length !== 1) {
    issues.push({ node: '(graph)', op: 'output', message: `models must have exactly one output, this one has ${g.outputs.length}` });
  }
  const inputInfo = g.inputs[0];
  const inputShape: number[] = [];
  if (inputInfo) {
    if (inputInfo.elemType !== 1) issues.push({ node: '(graph)', op: 'input', message: `input '${inputInfo.name}' must be FLOAT, got ${dataTypeName(inputInfo.elemType)}` });
    inputInfo.dims.forEach((d, i) => {
      if (typeof d === 'number') inputShape.push(d);
      else if (i === 0) inputShape.push(1); // a symbolic batch dimension: we prove one sample
      else issues.push({ node: '(graph)', op: 'input', message: `input dimension ${i} is symbolic ('${d}'); only the batch dimension may be` });
    });
    if (inputShape.length === 0) issues.push({ node: '(graph)', op: 'input', message: `input '${inputInfo.name}' has no shape` });
  }
  const outputName = g.outputs[0]?.name;

  // ONNX name -> activation (aliases resolve to the tensor that holds the data).
  const acts = new Map<string, Activation>();
  if (inputInfo) acts.set(inputInfo.name, { name: inputInfo.name, shape: inputShape });
  const producers = new Map<string, FloatLayer>();
  const consumers = new Map<string, number>();
  for (const n of g.nodes) for (const i of new Set(n.inputs)) if (i) consumers.set(i, (consumers.get(i) ?? 0) + 1);
  const uses = (onnxName: string) => (consumers.get(onnxName) ?? 0) + (onnxName === outputName ? 1 : 0);
  // Uses of each IR tensor, over every ONNX name that aliases it: folding into a producer needs exactly one.
  const tensorUses = new Map<string, number>();
  let broken = issues.length > 0;

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

  for (const node of g.nodes) {
    // A node on constants only (a shape subgraph) is evaluated now, for batch 1, when src/ops/fold.ts can.
    if (node.op !== 'Constant' && node.inputs.some(Boolean) && node.inputs.every((n) => !n || constants.has(n))) {
      const folded = foldNode(node, (n) => constants.get(n), g.opset);
      if (folded && 'error' in folded) {
        issues.push({ node: node.name, op: node.op, message: folded.error });
        broken = true;
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
      issues.push({ node: node.name, op: node.op, message: `op '${node.op}' is not supported (supported: ${supportedOps.join(', ')})` });
      broken = true;
      continue;
    }
    const activations = node.inputs.filter((n) => n && acts.has(n)).map((n) => acts.get(n)!);
    const missing = node.inputs.filter((n) => n && !acts.has(n) && !constants.has(n));
    if (broken && node.op !== 'Constant') continue; // shapes are unknown past an error; keep checking op support only
    if (missing.length) {
      issues.push({ node: node.name, op: node.op, message: `input(s) ${missing.map((m) => `'${m}'`).join(', ')} are produced by no earlier node` });
      broken = true;
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
      isGraphOutput: out === outputName,
      onlyFeeds: (op) => {
        const readers = g.nodes.filter((n) => n.inputs.includes(out));
        return readers.length > 0 && out !== outputName && readers.every((n) => n.op === op);
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
      note: (t) => void notes.push(t),
    };
    // An op needs an activation unless it only makes constants (Constant, DequantizeLinear of a weight).
    imp.importNode(node, ctx);
    if (issues.length > before) {
      broken = true;
      continue;
    }
    // Finiteness: reported on this node, but not `broken` (shapes are fine): later nodes are still checked.
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
      broken = true;
      continue;
    }
    for (const [o, a] of produced) {
      acts.set(o, a);
      if (a === activations[0]) tensorUses.set(a.name, (tensorUses.get(a.name) ?? 0) - 1 + uses(o));
      else tensorUses.set(a.name, uses(o));
    }
  }

  const outputInfo = g.outputs[0];
  const final = outputInfo ? acts.get(outputInfo.name) : undefined;
  if (!broken && outputInfo && !final) {
    issues.push({ node: '(graph)', op: 'output', message: `graph output '${outputInfo.name}' is not computed from the input` });
  }
  if (!broken && outputInfo && final) {
    // A fully known declared output shape (symbolic batch = 1) must be what the ops computed.
    const declared = outputInfo.dims.map((d, i) => (typeof d === 'number' ? d : i === 0 ? 1 : null));
    const flat = (s: (number | null)[]) => s.filter((d) => d !== 1);
    if (declared.length && declared.every((d) => d !== null) && JSON.stringify(flat(declared)) !== JSON.stringify(flat(final.shape))) {
      issues.push({ node: '(graph)', op: 'output', message: `graph output '${outputInfo.name}' is declared [${outputInfo.dims}] but the ops compute [${final.shape}]` });
    }
  }
  if (!broken && layers.length === 0) issues.push({ node: '(graph)', op: 'graph', message: 'the model computes nothing zkonnx can prove (no layers)' });
  if (issues.length) throw new UnsupportedModelError(issues);
  return {
    name: g.name,
    sha256: g.sha256,
    opset: g.opset,
    input: { name: inputInfo.name, shape: inputShape },
    output: { name: outputInfo.name, shape: final!.shape, tensor: final!.name, ...integerDtype(outputInfo.elemType) },
    layers,
    notes,
  };
}

/** ONNX integer and bool element types, recorded on the output so that readers show integers (indices). */
const INTEGER_TYPES = new Set([2, 3, 4, 5, 6, 7, 9, 12, 13]);

function integerDtype(elemType: number): { dtype?: string } {
  return INTEGER_TYPES.has(elemType) ? { dtype: dataTypeName(elemType).toLowerCase() } : {};
}
