/**
 * ONNX Relu. After a dense layer it fuses into the requantization (zero point 0, so the clamp at 0 is the
 * ReLU): no constraints of its own. On a uint8 tensor whose zero point is 0 it is the identity.
 */
import type { ReluLayer } from '../ir/types.ts';
import { checkKnownAttrs } from './attrs.ts';
import type { FloatLayerDef, OpImporter } from './types.ts';

export const reluImporter: OpImporter = {
  onnxOps: ['Relu'],
  importNode(node, ctx) {
    checkKnownAttrs(node, ctx, []);
    const shape = ctx.current.shape;
    ctx.push({ kind: 'relu', name: node.name, inShape: shape, outShape: shape });
  },
};

export const reluFloat: FloatLayerDef<ReluLayer> = {
  forward: (_l, x) => x.map((v) => (v > 0 ? v : 0)),
  quantize(l, ctx) {
    const q = ctx.state.quant;
    if (q.kind === 'acc') {
      ctx.ensureU8(l.name, { relu: true });
    } else if (q.zeroPoint !== 0) {
      ctx.issue('Relu on a uint8 tensor that can be negative is supported only right after Gemm/MatMul');
    }
  },
};
