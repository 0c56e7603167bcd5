/**
 * A graph rewrite for GELU written out with Erf, as torch.onnx exports nn.GELU() before opset 20 and as
 * Hugging Face models write `0.5 * x * (1 + erf(x / sqrt(2)))`:
 *
 *   d = Div(x, sqrt 2) | Mul(x, 1/sqrt 2) ; e = Erf(d) ; a = Add(e, 1)
 *   y = Mul(Mul(x, a), 0.5) | Mul(x, Mul(a, 0.5)) | Mul(Mul(x, 0.5), a)      (either operand order)
 *
 * becomes one Gelu node (approximate 'none'), which src/ops/lut.ts proves as one table on x: on an
 * accumulator with the requantization fused in (K + 31 per element) instead of a requantization of x, an Erf
 * table and a product of two activations with its own requantization; and with one rounding instead of three.
 *
 * Matched only when every intermediate tensor is read by the pattern alone (and is no graph output) and the
 * constants are those of GELU (to 1e-6); anything else is left as it is. Pure: returns a new graph.
 */
import type { OnnxGraph, OnnxNode } from '../onnx/load.ts';
import { constantOf, scalarOf } from './norm-fuse.ts';

const near = (v: number | undefined, want: number) => v !== undefined && Math.abs(v - want) <= 1e-6 * Math.abs(want);

/** Fuse every Erf-written GELU of the graph into a Gelu node. */
export function fuseGeluErf(g: OnnxGraph): OnnxGraph {
  const readers = new Map<string, OnnxNode[]>();
  for (const n of g.nodes) for (const i of n.inputs) if (i) readers.set(i, [...(readers.get(i) ?? []), n]);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const only = (t: string, op: string): OnnxNode | undefined => {
    const r = readers.get(t) ?? [];
    return !outputs.has(t) && r.length === 1 && r[0].op === op ? r[0] : undefined;
  };
  /** The operand of a binary node other than `t`, when it is a constant scalar. */
  const otherScalar = (n: OnnxNode, t: string): number | undefined => {
    if (n.inputs.length !== 2 || !n.inputs.includes(t)) return undefined;
    const other = n.inputs[0] === t ? n.inputs[1] : n.inputs[0];
    return other === t ? undefined : scalarOf(constantOf(g, other));
  };
  const isOther = (n: OnnxNode, t: string, want: string) => n.inputs.length === 2 && ((n.inputs[0] === t && n.inputs[1] === want) || (n.inputs[1] === t && n.inputs[0] === want));
  const removed = new Set<OnnxNode>();
  const replacement = new Map<OnnxNode, OnnxNode>();

  for (const erf of g.nodes) {
    if (erf.op !== 'Erf' || removed.has(erf)) continue;
    const scale = g.nodes.find((n) => n.outputs[0] === erf.inputs[0]);
    if (!scale || outputs.has(erf.inputs[0]) || (readers.get(erf.inputs[0]) ?? []).length !== 1) continue;
    let x: string | undefined;
    if (scale.op === 'Div' && near(scalarOf(constantOf(g, scale.inputs[1])), Math.SQRT2)) x = scale.inputs[0];
    else if (scale.op === 'Mul') {
      for (const k of [0, 1]) if (near(scalarOf(constantOf(g, scale.inputs[1 - k])), Math.SQRT1_2)) x = scale.inputs[k];
    }
    if (!x || constantOf(g, x)) continue;
    const add = only(erf.outputs[0], 'Add');
    if (!add || !near(otherScalar(add, erf.outputs[0]), 1)) continue;
    const a = add.outputs[0];
    const m1 = only(a, 'Mul');
    if (!m1) continue;
    let chain: OnnxNode[] | undefined;
    let last: OnnxNode | undefined;
    if (isOther(m1, a, x)) {
      // Mul(x, a) then Mul(., 0.5)
      const half = only(m1.outputs[0], 'Mul');
      if (half && near(otherScalar(half, m1.outputs[0]), 0.5)) (chain = [scale, erf, add, m1, half]), (last = half);
    } else if (near(otherScalar(m1, a), 0.5)) {
      // Mul(a, 0.5) then Mul(x, .)
      const mx = only(m1.outputs[0], 'Mul');
      if (mx && isOther(mx, m1.outputs[0], x)) (chain = [scale, erf, add, m1, mx]), (last = mx);
    } else {
      // Mul(Mul(x, 0.5), a): the other factor of m1 is x * 0.5, read by m1 alone.
      const t = m1.inputs[0] === a ? m1.inputs[1] : m1.inputs[0];
      const xh = g.nodes.find((n) => n.outputs[0] === t);
      if (xh && xh.op === 'Mul' && only(t, 'Mul') === m1 && isOther(xh, x, xh.inputs[0] === x ? xh.inputs[1] : xh.inputs[0]) && near(otherScalar(xh, x), 0.5)) {
        chain = [scale, erf, add, xh, m1];
        last = m1;
      }
    }
    if (!chain || !last || chain.some((n) => removed.has(n))) continue;
    const fused: OnnxNode = {
      name: `${erf.name}:gelu`, op: 'Gelu', domain: '', inputs: [x], outputs: [last.outputs[0]],
      attrs: new Map([['approximate', { type: 'string', value: 'none' }]]),
    };
    for (const n of chain) removed.add(n);
    replacement.set(last, fused);
  }
  if (!removed.size) return g;
  const nodes = g.nodes.flatMap((n) => (replacement.has(n) ? [replacement.get(n)!] : removed.has(n) ? [] : [n]));
  return { ...g, nodes };
}
