/**
 * A graph rewrite for LayerNorm written out in primitive ops, as torch.onnx exports nn.LayerNorm before opset 17
 * (and as hand-written models do):
 *
 *   mu = ReduceMean(X, axes) ; c = Sub(X, mu) ; sq = Pow(c, 2) | Mul(c, c) ; v = ReduceMean(sq, axes)
 *   ve = Add(v, eps) ; sd = Sqrt(ve) ; y = Div(c, sd) ; [y = Mul(y, gamma)] ; [y = Add(y, beta)]
 *
 * becomes one LayerNormalization(X, gamma, beta) node (axis = the first reduced axis, epsilon = eps), which
 * src/ops/norm.ts proves with exact integer gadgets. The generic path would need a broadcast Sub of two
 * activations, a square, a Sqrt table and a Div by an activation, each rounding on its own uint8 grid.
 *
 * Matched only when every intermediate tensor is read by the pattern alone (and is no graph output), the
 * axes are negative and contiguous up to -1 (the rank is not known before import), both ReduceMeans keep
 * dims and reduce the same axes, and eps, gamma and beta are constants. Anything else is left as it is.
 *
 * Pure: returns a new graph (the input graph is not modified); a graph with no match is returned as it is.
 */
import type { OnnxGraph, OnnxNode, OnnxTensor } from '../onnx/load.ts';

/** The constant behind a tensor name: an initializer or a Constant node's value. */
export function constantOf(g: OnnxGraph, name: string): OnnxTensor | undefined {
  const init = g.initializers.get(name);
  if (init) return init;
  const node = g.nodes.find((n) => n.op === 'Constant' && n.outputs[0] === name);
  const v = node?.attrs.get('value');
  if (v?.type === 'tensor') return v.value;
  const f = node?.attrs.get('value_float');
  if (f?.type === 'float') return { name, dims: [], dataType: 1, data: Float64Array.of(f.value) };
  return undefined;
}

export const scalarOf = (t: OnnxTensor | undefined): number | undefined => (t && t.data.length === 1 ? t.data[0] : undefined);

/** The axes of a ReduceMean (attribute, or constant input), with its keepdims; undefined if not constant. */
function meanAxes(g: OnnxGraph, n: OnnxNode): { axes: number[]; keep: boolean } | undefined {
  const keepAttr = n.attrs.get('keepdims');
  const keep = keepAttr?.type === 'int' ? keepAttr.value === 1 : true;
  const a = n.attrs.get('axes');
  if (a?.type === 'ints') return { axes: a.value, keep };
  if (n.inputs[1]) {
    const c = constantOf(g, n.inputs[1]);
    return c ? { axes: Array.from(c.data), keep } : undefined;
  }
  return undefined;
}

/** Fuse every decomposed LayerNorm of the graph into a LayerNormalization node. */
export function fuseDecomposedLayerNorm(g: OnnxGraph): OnnxGraph {
  const readers = new Map<string, OnnxNode[]>();
  for (const n of g.nodes) for (const i of n.inputs) if (i) readers.set(i, [...(readers.get(i) ?? []), n]);
  const outputs = new Set(g.outputs.map((o) => o.name));
  /** The single node reading `t` (and `t` is no graph output), of one of the given ops. */
  const only = (t: string, ops: string[]): OnnxNode | undefined => {
    const r = readers.get(t) ?? [];
    return !outputs.has(t) && r.length === 1 && ops.includes(r[0].op) ? r[0] : undefined;
  };
  const removed = new Set<OnnxNode>();
  const replacement = new Map<OnnxNode, OnnxNode>();
  const inits = new Map(g.initializers);

  for (const mean1 of g.nodes) {
    if (mean1.op !== 'ReduceMean' || removed.has(mean1)) continue;
    const ax1 = meanAxes(g, mean1);
    if (!ax1 || !ax1.keep || !ax1.axes.length) continue;
    const axes = [...ax1.axes].sort((a, b) => a - b);
    if (axes.some((a, i) => a >= 0 || a !== -axes.length + i)) continue;
    const x = mean1.inputs[0];
    const mu = mean1.outputs[0];
    const sub = only(mu, ['Sub']);
    if (!sub || sub.inputs[0] !== x || sub.inputs[1] !== mu) continue;
    const c = sub.outputs[0];
    // c feeds the square and the Div, nothing else.
    const cReaders = readers.get(c) ?? [];
    if (outputs.has(c) || cReaders.length !== 2) continue;
    const sqNode = cReaders.find((n) => (n.op === 'Pow' && n.inputs[0] === c && scalarOf(constantOf(g, n.inputs[1])) === 2) || (n.op === 'Mul' && n.inputs[0] === c && n.inputs[1] === c));
    const div = cReaders.find((n) => n.op === 'Div' && n.inputs[0] === c);
    if (!sqNode || !div) continue;
    const mean2 = only(sqNode.outputs[0], ['ReduceMean']);
    const ax2 = mean2 && meanAxes(g, mean2);
    if (!mean2 || !ax2 || !ax2.keep || JSON.stringify([...ax2.axes].sort((a, b) => a - b)) !== JSON.stringify(axes)) continue;
    const add = only(mean2.outputs[0], ['Add']);
    if (!add) continue;
    const epsName = add.inputs[0] === mean2.outputs[0] ? add.inputs[1] : add.inputs[0];
    const eps = scalarOf(constantOf(g, epsName));
    if (eps === undefined || !(eps >= 0)) continue;
    const sqrt = only(add.outputs[0], ['Sqrt']);
    if (!sqrt || only(sqrt.outputs[0], ['Div']) !== div || div.inputs[1] !== sqrt.outputs[0]) continue;
    const chain = [mean1, sub, sqNode, mean2, add, sqrt, div];
    // Optional affine tail: Mul by a constant gamma, then Add of a constant beta.
    let last = div;
    let gamma: string | undefined;
    let beta: string | undefined;
    const mul = only(div.outputs[0], ['Mul']);
    if (mul) {
      const other = mul.inputs[0] === div.outputs[0] ? mul.inputs[1] : mul.inputs[0];
      if (constantOf(g, other)) {
        gamma = other;
        chain.push(mul);
        last = mul;
      }
    }
    const addB = only(last.outputs[0], ['Add']);
    if (addB) {
      const other = addB.inputs[0] === last.outputs[0] ? addB.inputs[1] : addB.inputs[0];
      if (constantOf(g, other)) {
        beta = other;
        chain.push(addB);
        last = addB;
      }
    }
    const name = `${div.name}:layernorm`;
    const materialize = (n: string | undefined, dflt: number, tag: string): string => {
      if (n && g.initializers.has(n)) return n;
      const t = n ? constantOf(g, n)! : { name: `${name}.${tag}`, dims: [1], dataType: 1, data: Float64Array.of(dflt) };
      const id = `${name}.${tag}`;
      inits.set(id, { ...t, name: id });
      return id;
    };
    const fused: OnnxNode = {
      name, op: 'LayerNormalization', domain: '',
      inputs: [x, materialize(gamma, 1, 'scale'), materialize(beta, 0, 'bias')],
      outputs: [last.outputs[0]],
      attrs: new Map([['axis', { type: 'int', value: axes[0] }], ['epsilon', { type: 'float', value: eps }]]),
    };
    for (const n of chain) removed.add(n);
    replacement.set(last, fused);
  }
  if (!removed.size) return g;
  const nodes = g.nodes.flatMap((n) => (replacement.has(n) ? [replacement.get(n)!] : removed.has(n) ? [] : [n]));
  return { ...g, nodes, initializers: inits };
}
