/**
 * Data movement: Transpose, Concat (constant inputs routed as constants) and Pad (constant, edge, reflect, wrap). Each output element is an input element or the
 * pad constant, so these cost 0 constraints and emit no code: the circuit just routes expressions.
 */
import type { GatherLayer, QGather } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import { quantizeInput } from '../ir/quant.ts';
import { attrInt, checkKnownAttrs } from './attrs.ts';
import type { Activation, FloatLayerDef, OpImporter, QLayerDef } from './types.ts';
import { accView, pushRouted, type Part } from './movement.ts';
import { padIndex } from './fold.ts';

const stridesOf = (shape: number[]) => shape.map((_, i) => sizeOf(shape.slice(i + 1)));

function coords(i: number, shape: number[]): number[] {
  const st = stridesOf(shape);
  return st.map((s, d) => Math.floor(i / s) % shape[d]);
}

function push(ctx: Parameters<OpImporter['importNode']>[1], inputs: Activation[], outShape: number[], index: Int32Array, padValue = 0): void {
  const node = ctx.node;
  ctx.push({ kind: 'gather', name: node.name, inputs: inputs.map((a) => a.name), output: node.outputs[0], inShape: inputs[0].shape, outShape, index, padValue });
}

export const gatherImporters: OpImporter[] = [
  {
    onnxOps: ['Transpose'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['perm']);
      const shape = ctx.current.shape;
      const p = node.attrs.get('perm');
      const perm = p ? (p.type === 'ints' ? p.value : null) : shape.map((_, i) => shape.length - 1 - i);
      if (!perm || perm.length !== shape.length || [...perm].sort((a, b) => a - b).some((v, i) => v !== i)) return ctx.issue(`perm must be a permutation of 0..${shape.length - 1}`);
      const outShape = perm.map((d) => shape[d]);
      const inSt = stridesOf(shape);
      const index = new Int32Array(sizeOf(outShape));
      for (let o = 0; o < index.length; o++) {
        const c = coords(o, outShape);
        index[o] = c.reduce((s, v, d) => s + v * inSt[perm[d]], 0);
      }
      push(ctx, [ctx.current], outShape, index);
    },
  },
  {
    onnxOps: ['Concat'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['axis']);
      // Inputs are activations or constants (a constant part is routed as constant values: see pushRouted).
      const parts: { shape: number[]; part: Part }[] = [];
      for (const n of node.inputs) {
        const a = ctx.activation(n);
        const c = a ? undefined : ctx.constant(n);
        if (!a && !c) return ctx.issue(`input '${n}' is neither an activation nor a constant`);
        parts.push(a ? { shape: a.shape, part: { act: a } } : { shape: c!.dims, part: { data: c!.data } });
      }
      const shapes = parts.map((p) => p.shape);
      const rank = shapes[0].length;
      let axis = attrInt(node, ctx, 'axis', 1);
      if (axis < 0) axis += rank;
      if (axis < 0 || axis >= rank) return ctx.issue(`axis out of range for rank ${rank}`);
      if (shapes.some((sh) => sh.length !== rank || sh.some((d, i) => i !== axis && d !== shapes[0][i]))) {
        return ctx.issue(`inputs of shapes ${shapes.map((sh) => `[${sh}]`).join(', ')} do not match outside axis ${axis}`);
      }
      const outShape = shapes[0].slice();
      outShape[axis] = shapes.reduce((s, sh) => s + sh[axis], 0);
      const index = new Int32Array(sizeOf(outShape));
      const bases: number[] = [];
      let base = 0;
      for (const sh of shapes) {
        bases.push(base);
        base += sizeOf(sh);
      }
      for (let o = 0; o < index.length; o++) {
        const c = coords(o, outShape);
        let k = 0;
        let along = c[axis];
        while (along >= shapes[k][axis]) along -= shapes[k++][axis];
        const cc = c.slice();
        cc[axis] = along;
        const st = stridesOf(shapes[k]);
        index[o] = bases[k] + cc.reduce((s, v, d) => s + v * st[d], 0);
      }
      if (parts.every((p) => 'act' in p.part)) return push(ctx, parts.map((p) => (p.part as { act: Activation }).act), outShape, index);
      pushRouted(ctx, parts.map((p) => p.part), outShape, index);
    },
  },
  {
    onnxOps: ['Pad'],
    importNode(node, ctx) {
      const shape = ctx.current.shape;
      let pads: number[] | undefined;
      let value = 0;
      let mode = 'constant';
      const m = node.attrs.get('mode');
      if (m?.type === 'string') mode = m.value;
      if (ctx.opset < 11) {
        checkKnownAttrs(node, ctx, ['mode', 'pads', 'value']);
        const p = node.attrs.get('pads');
        pads = p?.type === 'ints' ? p.value : undefined;
        const v = node.attrs.get('value');
        if (v && (v.type === 'float' || v.type === 'int')) value = v.value;
      } else {
        checkKnownAttrs(node, ctx, ['mode']);
        const p = node.inputs[1] ? ctx.constant(node.inputs[1]) : undefined;
        pads = p ? Array.from(p.data) : undefined;
        if (node.inputs[2]) {
          const v = ctx.constant(node.inputs[2]);
          if (!v) return ctx.issue('constant_value must be a constant');
          value = v.data[0] ?? 0;
        }
        if (node.inputs[3]) {
          const ax = ctx.constant(node.inputs[3]);
          if (!ax || !pads) return ctx.issue('axes must be a constant');
          const full = new Array(shape.length * 2).fill(0);
          Array.from(ax.data).forEach((a, i) => {
            const d = a < 0 ? a + shape.length : a;
            full[d] = pads![i];
            full[d + shape.length] = pads![i + ax.data.length];
          });
          pads = full;
        }
      }
      if (!['constant', 'edge', 'reflect', 'wrap'].includes(mode)) return ctx.issue(`mode '${mode}' is not supported (constant, edge, reflect, wrap)`);
      if (!pads || pads.length !== 2 * shape.length) return ctx.issue(`pads must be a constant of ${2 * shape.length} ints`);
      if (mode !== 'constant') {
        // edge / reflect / wrap: every output element is an input element (fold.ts's index map).
        let r: ReturnType<typeof padIndex>;
        try {
          r = padIndex(shape, pads, mode);
        } catch (e) {
          return ctx.issue((e as Error).message);
        }
        if (r.outDims.some((d) => d < 1)) return ctx.issue(`pads [${pads}] leave nothing of [${shape}]`);
        return push(ctx, [ctx.current], r.outDims, r.index);
      }
      const r = shape.length;
      const outShape = shape.map((d, i) => d + pads![i] + pads![i + r]);
      if (outShape.some((d) => d < 1)) return ctx.issue(`pads [${pads}] leave nothing of [${shape}]`);
      const inSt = stridesOf(shape);
      const index = new Int32Array(sizeOf(outShape));
      for (let o = 0; o < index.length; o++) {
        const c = coords(o, outShape).map((v, d) => v - pads![d]);
        index[o] = c.some((v, d) => v < 0 || v >= shape[d]) ? -1 : c.reduce((s, v, d) => s + v * inSt[d], 0);
      }
      push(ctx, [ctx.current], outShape, index, value);
    },
  },
];

export const gatherFloat: FloatLayerDef<GatherLayer> = {
  forward(l, xs) {
    const all = xs.length === 1 ? xs[0] : Float64Array.from(xs.flatMap((x) => Array.from(x)));
    return Float64Array.from(l.index, (i) => (i < 0 ? l.padValue : all[i]));
  },
  quantize(l, ctx) {
    const states = l.inputs.map((_, k) => ctx.settle(k));
    const q0 = states[0].quant;
    const allSame = states.every((s) => s.quant.kind === 'u8' && q0.kind === 'u8' && s.quant.scale === q0.scale && s.quant.zeroPoint === q0.zeroPoint);
    const base = { kind: 'gather' as const, name: l.name, inputs: states.map((s) => s.tensor), output: l.output, inShape: states[0].shape, outShape: l.outShape, index: l.index };
    // A pad value off the inputs' uint8 grid (e.g. -1e4 padding a mask) would be clamped there: the accumulator
    // form below keeps it (rounded to the grid's step) instead.
    const padOnGrid = q0.kind === 'u8' && Math.abs(l.padValue / q0.scale + q0.zeroPoint - 127.5) <= 128;
    const usesPad = l.index.some((i) => i < 0);
    if (allSame && q0.kind === 'u8' && (padOnGrid || !usesPad)) {
      return ctx.push({ ...base, padValue: quantizeInput(q0, [l.padValue])[0], inOffsets: states.map(() => 0), outQuant: q0 });
    }
    // Mixed inputs: uint8 ones become accumulators (q - zp), scales follow each element.
    const { scales, lo, hi } = accView(states);
    const padScale = scales[0];
    const pad = Math.round(l.padValue / padScale);
    const out = { kind: 'acc' as const, scales: [] as number[], lo: [] as number[], hi: [] as number[] };
    for (const i of l.index) {
      out.scales.push(i < 0 ? padScale : scales[i]);
      out.lo.push(i < 0 ? pad : lo[i]);
      out.hi.push(i < 0 ? pad : hi[i]);
    }
    ctx.push({ ...base, padValue: pad, inOffsets: states.map((s) => (s.quant.kind === 'u8' ? s.quant.zeroPoint : 0)), outQuant: out });
  },
};

/** Flatten the inputs with their offsets applied. */
function concatenated<T>(xs: T[][], offsets: number[], sub: (x: T, off: number) => T): T[] {
  return xs.flatMap((x, k) => (offsets[k] ? x.map((v) => sub(v, offsets[k])) : x));
}

export const gatherQ: QLayerDef<QGather> = {
  reference(l, xs) {
    const all = concatenated(xs, l.inOffsets, (v, o) => v - o);
    return Array.from(l.index, (i) => (i < 0 ? l.padValue : all[i]));
  },
  emit(l, xs) {
    const all = concatenated(xs, l.inOffsets, (v, o) => `(${v} - ${o})`);
    return Array.from(l.index, (i) => (i < 0 ? String(l.padValue) : all[i]));
  },
  constraints: () => 0,
  costFormula: '0 (routing only)',
  bitsSummary: () => '-',
};
