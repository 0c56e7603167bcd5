/**
 * ONNX Relu and Clip (Relu6 is Clip(0, 6)).
 *
 * On an accumulator the clamp is deferred: the requantization that makes it uint8 applies it (its own clamp
 * to [0, 255] with the zero point at the clamp's lower end), so a ReLU costs nothing of its own, and a
 * max-pool in between runs before requantizing. On a uint8 tensor it is a clamp to integer bounds:
 * Max2/Min2 gadgets (circuits/max.circom) with an 8-bit difference.
 */
import type { ClipLayer, QClamp, U8Quant } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import { attrFloat, checkKnownAttrs } from './attrs.ts';
import type { FloatLayerDef, OpImporter, QLayerDef } from './types.ts';
import { importClipTensor } from './arith.ts';

export const clipImporters: OpImporter[] = [
  {
    onnxOps: ['Relu'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, []);
      const shape = ctx.current.shape;
      ctx.push({ kind: 'clip', name: node.name, inputs: [ctx.current.name], output: node.outputs[0], inShape: shape, outShape: shape, lo: 0, hi: Infinity });
    },
  },
  {
    onnxOps: ['Clip'],
    importNode(node, ctx) {
      let lo = -Infinity;
      let hi = Infinity;
      if (ctx.opset < 11) {
        checkKnownAttrs(node, ctx, ['min', 'max']);
        lo = attrFloat(node, ctx, 'min', -Infinity);
        hi = attrFloat(node, ctx, 'max', Infinity);
      } else {
        checkKnownAttrs(node, ctx, []);
        // Activation bounds: min(max(x, min), max) by Max2/Min2 (src/ops/arith.ts).
        if (node.inputs.slice(1).some((n) => n && ctx.activation(n))) return importClipTensor(node, ctx);
        for (const [k, name] of [[1, 'min'], [2, 'max']] as const) {
          const n = node.inputs[k];
          if (!n) continue;
          const c = ctx.constant(n);
          if (!c || c.data.length !== 1) return ctx.issue(`${name} ('${n}') must be a constant scalar`);
          if (k === 1) lo = c.data[0];
          else hi = c.data[0];
        }
      }
      if (!(lo <= hi)) return ctx.issue(`min ${lo} is above max ${hi}`);
      const shape = ctx.current.shape;
      ctx.push({ kind: 'clip', name: node.name, inputs: [ctx.current.name], output: node.outputs[0], inShape: shape, outShape: shape, lo, hi });
    },
  },
];

export const clipFloat: FloatLayerDef<ClipLayer> = {
  forward: (l, [x]) => x.map((v) => Math.min(l.hi, Math.max(l.lo, v))),
  quantize(l, ctx) {
    const s = ctx.input(0);
    if (s.quant.kind === 'acc') {
      const c = s.clamp ?? { lo: -Infinity, hi: Infinity };
      const label = `${s.label}+${l.name}`;
      return ctx.alias(0, { clamp: { ...c, lo: Math.max(c.lo, l.lo), hi: Math.min(c.hi, l.hi) }, label });
    }
    const q = s.quant;
    // Both bounds stay in [0, 255] even when the clip range misses the tensor's grid (the clamp gadgets and
    // everything downstream assume uint8 values): the grid's nearest end stands in for the range.
    const qlo = Math.min(255, Math.max(0, Math.ceil(l.lo / q.scale + q.zeroPoint - 1e-9)));
    const qhi = Math.max(0, Math.min(255, Math.floor(l.hi / q.scale + q.zeroPoint + 1e-9)));
    if (qlo === 0 && qhi === 255) return ctx.alias(0);
    ctx.push(makeClamp(l.name, s.tensor, l.output, s.shape, q, qlo, Math.max(qlo, qhi)));
  },
};

export function makeClamp(name: string, input: string, output: string, shape: number[], q: U8Quant, lo: number, hi: number): QClamp {
  return { kind: 'clamp', name, inputs: [input], output, inShape: shape, outShape: shape, lo, hi, outQuant: q };
}

/** Comparisons of a uint8 value with a constant: |x - c| <= 255 < 2^8. */
const CLAMP_BITS = 8;

export const clampQ: QLayerDef<QClamp> = {
  reference: (l, [x]) => x.map((v) => Math.min(l.hi, Math.max(l.lo, v))),
  emit(l, [x], w) {
    w.include('max.circom');
    w.line(`// ${l.name}: clamp uint8 to [${l.lo}, ${l.hi}]`);
    return x.map((e) => {
      let cur = e;
      if (l.lo > 0) {
        const id = w.fresh('mx');
        w.line(`component ${id} = Max2(${CLAMP_BITS});`);
        w.bind(`${id}.a`, cur);
        w.bind(`${id}.b`, String(l.lo));
        cur = `${id}.out`;
      }
      if (l.hi < 255) {
        const id = w.fresh('mn');
        w.line(`component ${id} = Min2(${CLAMP_BITS});`);
        w.bind(`${id}.a`, cur);
        w.bind(`${id}.b`, String(l.hi));
        cur = `${id}.out`;
      }
      return cur;
    });
  },
  constraints: (l) => sizeOf(l.outShape) * ((l.lo > 0 ? CLAMP_BITS + 3 : 0) + (l.hi < 255 ? CLAMP_BITS + 3 : 0)),
  costFormula: 'per element: 11 per clamped end (Max2/Min2 with B = 8: B + 3)',
  bitsSummary: (l) => `[${l.lo}, ${l.hi}]`,
};
