/**
 * OnnxGraph -> FloatModel. Walks the nodes in order, lets each op's importer turn its node into layers, and
 * collects every problem (unsupported ops, attributes, shapes) before throwing one UnsupportedModelError.
 */
import { UnsupportedModelError, type ModelIssue } from '../errors.ts';
import type { OnnxGraph, OnnxTensor } from '../onnx/load.ts';
import { dataTypeName } from '../onnx/load.ts';
import { onnxImporters, supportedOps } from '../ops/registry.ts';
import type { ImportContext } from '../ops/types.ts';
import type { FloatLayer, FloatModel } from './types.ts';

export function importGraph(g: OnnxGraph): FloatModel {
  const issues: ModelIssue[] = [];
  const constants = new Map<string, OnnxTensor>(g.initializers);
  const layers: FloatLayer[] = [];

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

  let current = { name: inputInfo?.name ?? '', shape: inputShape };
  let lastProducer: { name: string; layer: FloatLayer } | undefined;
  let broken = issues.length > 0;

  for (const node of g.nodes) {
    const imp = onnxImporters.get(node.op);
    if (!imp) {
      issues.push({ node: node.name, op: node.op, message: `op '${node.op}' is not supported (supported: ${supportedOps.join(', ')})` });
      broken = true;
      continue;
    }
    if (broken && node.op !== 'Constant') continue; // shapes are unknown past an error; keep checking op support only
    const usesActivation = node.inputs.includes(current.name);
    if (node.op !== 'Constant' && !usesActivation) {
      const inputsAreConst = node.inputs.filter(Boolean).every((n) => constants.has(n));
      issues.push({
        node: node.name, op: node.op,
        message: inputsAreConst
          ? 'computes on constants only; fold constants first (e.g. onnxsim or onnxruntime graph optimization)'
          : `does not consume the activation '${current.name}': only single-path graphs are supported`,
      });
      broken = true;
      continue;
    }
    const before = issues.length;
    let produced: { shape: number[]; layer?: FloatLayer } | undefined;
    const ctx: ImportContext = {
      node,
      opset: g.opset,
      current,
      constant: (n) => constants.get(n),
      setConstant: (n, t) => void constants.set(n, t),
      producer: () => (lastProducer && lastProducer.name === current.name ? lastProducer.layer : undefined),
      issue: (message) => void issues.push({ node: node.name, op: node.op, message }),
      push: (layer) => {
        layers.push(layer);
        produced = { shape: layer.outShape, layer };
      },
      alias: (shape) => {
        produced = { shape: shape ?? current.shape };
      },
    };
    imp.importNode(node, ctx);
    if (node.op === 'Constant') continue;
    if (issues.length > before || !produced) {
      broken = true;
      continue;
    }
    const out = node.outputs[0];
    if (produced.layer) lastProducer = { name: out, layer: produced.layer };
    else if (lastProducer && lastProducer.name === current.name) lastProducer = { name: out, layer: lastProducer.layer };
    current = { name: out, shape: produced.shape };
  }

  const outputInfo = g.outputs[0];
  if (!broken && outputInfo && outputInfo.name !== current.name) {
    issues.push({ node: '(graph)', op: 'output', message: `graph output '${outputInfo.name}' is not the end of the single activation path ('${current.name}')` });
  }
  if (!broken && outputInfo && outputInfo.name === current.name) {
    // A fully known declared output shape (symbolic batch = 1) must be what the ops computed.
    const declared = outputInfo.dims.map((d, i) => (typeof d === 'number' ? d : i === 0 ? 1 : null));
    const flat = (s: (number | null)[]) => s.filter((d) => d !== 1);
    if (declared.length && declared.every((d) => d !== null) && JSON.stringify(flat(declared)) !== JSON.stringify(flat(current.shape))) {
      issues.push({ node: '(graph)', op: 'output', message: `graph output '${outputInfo.name}' is declared [${outputInfo.dims}] but the ops compute [${current.shape}]` });
    }
  }
  if (!broken && layers.length === 0) issues.push({ node: '(graph)', op: 'graph', message: 'the model computes nothing zkonnx can prove (no layers)' });
  if (issues.length) throw new UnsupportedModelError(issues);
  return {
    name: g.name,
    sha256: g.sha256,
    opset: g.opset,
    input: { name: inputInfo.name, shape: inputShape },
    output: { name: outputInfo.name, shape: current.shape },
    layers,
  };
}
