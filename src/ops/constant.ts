/** ONNX Constant: its value becomes a constant tensor, usable wherever an initializer is. */
import type { OpImporter } from './types.ts';

export const constantImporter: OpImporter = {
  onnxOps: ['Constant'],
  importNode(node, ctx) {
    const [name, a] = [...node.attrs.entries()][0] ?? ['', undefined];
    const out = node.outputs[0];
    if (!a) return ctx.issue('has no value attribute');
    if (a.type === 'tensor') return ctx.setConstant(out, { ...a.value, name: out });
    // value_int(s) are INT64 (integer semantics when folded: Div truncates), value_float(s) FLOAT.
    if (a.type === 'float' || a.type === 'int') return ctx.setConstant(out, { name: out, dims: [], dataType: a.type === 'int' ? 7 : 1, data: Float64Array.of(a.value) });
    if (a.type === 'floats' || a.type === 'ints') return ctx.setConstant(out, { name: out, dims: [a.value.length], dataType: a.type === 'ints' ? 7 : 1, data: Float64Array.from(a.value) });
    ctx.issue(`attribute '${name}' of type ${a.type} is not supported`);
  },
};
