/**
 * Sigmoid, Tanh and LeakyRelu on uint8 values, through a 256-entry table (circuits/lut.circom):
 *
 *   T[q] = clamp(round(f((q - zp_in) * s_in) / s_out) + zp_out, 0, 255)
 *
 * The table is f evaluated exactly at every possible quantized input, so the only errors are the two
 * quantizations. Worst case, for an input x inside the calibrated range:
 *
 *   |(T[q(x)] - zp_out) * s_out - f(x)| <= s_out / 2 + L * s_in / 2
 *
 * with L the Lipschitz constant of f (1/4 for sigmoid, 1 for tanh, max(1, |alpha|) for LeakyRelu).
 * Cost: 35 constraints per element (plus 1 binding when the input is a linear combination).
 */
import type { ElementwiseFloatLayer, ElementwiseQLayer } from '../ir/layers/elementwise.ts';
import type { LutFunction, LutLayer, QLut, U8Quant } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import { roundHalfEven, u8QuantFor } from '../ir/quant.ts';
import { attrFloat, checkKnownAttrs } from './attrs.ts';
import type { FloatLayerDef, OpImporter, QLayerDef } from './types.ts';

/** Further element-wise layer kinds (see ElementwiseFloatLayer / ElementwiseQLayer). */
export const elementwiseFloatDefs: { [K in ElementwiseFloatLayer['kind']]: FloatLayerDef<Extract<ElementwiseFloatLayer, { kind: K }>> } = {};
export const elementwiseQDefs: { [K in ElementwiseQLayer['kind']]: QLayerDef<Extract<ElementwiseQLayer, { kind: K }>> } = {};

export const LUT_CONSTRAINTS = 35;

export function lutFn(fn: LutFunction, alpha: number): (x: number) => number {
  switch (fn) {
    case 'sigmoid': return (x) => 1 / (1 + Math.exp(-x));
    case 'tanh': return Math.tanh;
    case 'leakyrelu': return (x) => (x >= 0 ? x : alpha * x);
  }
}

/** Lipschitz constant of f, for the error bound. */
export function lutLipschitz(fn: LutFunction, alpha: number): number {
  return fn === 'sigmoid' ? 0.25 : fn === 'tanh' ? 1 : Math.max(1, Math.abs(alpha));
}

export function makeTable(fn: LutFunction, alpha: number, inQ: U8Quant, outQ: U8Quant): number[] {
  const f = lutFn(fn, alpha);
  return Array.from({ length: 256 }, (_, q) => Math.max(0, Math.min(255, roundHalfEven(f((q - inQ.zeroPoint) * inQ.scale) / outQ.scale) + outQ.zeroPoint)));
}

const importer = (op: string, fn: LutFunction): OpImporter => ({
  onnxOps: [op],
  importNode(node, ctx) {
    checkKnownAttrs(node, ctx, fn === 'leakyrelu' ? ['alpha'] : []);
    const alpha = fn === 'leakyrelu' ? attrFloat(node, ctx, 'alpha', 0.01) : 0;
    const shape = ctx.current.shape;
    ctx.push({ kind: 'lut', name: node.name, inputs: [ctx.current.name], output: node.outputs[0], inShape: shape, outShape: shape, fn, alpha });
  },
});

export const lutImporters: OpImporter[] = [importer('Sigmoid', 'sigmoid'), importer('Tanh', 'tanh'), importer('LeakyRelu', 'leakyrelu')];

export const lutFloat: FloatLayerDef<LutLayer> = {
  forward: (l, [x]) => x.map(lutFn(l.fn, l.alpha)),
  quantize(l, ctx) {
    const s = ctx.ensureU8(0);
    const out = u8QuantFor(ctx.outRange);
    ctx.push({
      kind: 'lut', name: l.name, inputs: [s.tensor], output: l.output, inShape: s.shape, outShape: l.outShape,
      fn: l.fn, table: makeTable(l.fn, l.alpha, s.quant, out), inQuant: s.quant, outQuant: out,
    });
  },
};

export const lutQ: QLayerDef<QLut> = {
  reference: (l, [x]) => x.map((v) => l.table[v]),
  emit(l, [x], w) {
    w.include('lut.circom');
    const t = w.fresh('table');
    w.line(`// ${l.name}: ${l.fn} by a 256-entry table`);
    w.line(`var ${t}[256] = [${l.table.join(',')}];`);
    return x.map((e) => {
      const id = w.fresh('lut');
      w.line(`component ${id} = Lut256(${t});`);
      w.bind(`${id}.x`, e);
      return `${id}.out`;
    });
  },
  constraints: (l) => LUT_CONSTRAINTS * sizeOf(l.outShape),
  costFormula: 'per element: 35 (8 bits, 1 recomposition, 11 monomials, 15 multiplexers)',
  bitsSummary: (l) => l.fn,
};
