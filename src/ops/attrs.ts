/** Typed attribute access for importers: wrong types become issues, not exceptions. */
import type { OnnxAttr, OnnxNode } from '../onnx/load.ts';
import type { ImportContext } from './types.ts';

export function attrInt(node: OnnxNode, ctx: ImportContext, name: string, dflt: number): number {
  const a = node.attrs.get(name);
  if (!a) return dflt;
  if (a.type !== 'int') {
    ctx.issue(`attribute '${name}' should be an int, got ${a.type}`);
    return dflt;
  }
  return a.value;
}

export function attrFloat(node: OnnxNode, ctx: ImportContext, name: string, dflt: number): number {
  const a = node.attrs.get(name);
  if (!a) return dflt;
  if (a.type !== 'float' && a.type !== 'int') {
    ctx.issue(`attribute '${name}' should be a float, got ${a.type}`);
    return dflt;
  }
  return a.value;
}

type AttrValues = { [A in OnnxAttr as A['type']]: A['value'] };

/** The typed attribute readers of an op with many attributes (the ai.onnx.ml ops): a wrong type is an issue. */
export type Getter = {
  ints(name: string): number[] | undefined;
  floats(name: string): number[] | undefined;
  strings(name: string): string[] | undefined;
  str(name: string, dflt: string): string;
  int(name: string, dflt: number): number;
  /** A TENSOR attribute's values (float32 ones rounded to float32, as onnxruntime holds them). */
  tensor(name: string): number[] | undefined;
};

export function getter(node: OnnxNode, ctx: ImportContext): Getter {
  /** The attribute's value when it has type `type`; undefined (and an issue, `what` naming the expected type) otherwise. */
  const typed = <T extends keyof AttrValues>(name: string, type: T, what: string): AttrValues[T] | undefined => {
    const a = node.attrs.get(name);
    if (!a) return undefined;
    if (a.type === type) return a.value as AttrValues[T];
    ctx.issue(`attribute ${name} must be ${what}`);
    return undefined;
  };
  return {
    ints: (name) => typed(name, 'ints', 'a list of ints'),
    floats(name) {
      // A float list may also come as a tensor (`<name>_as_tensor`, ai.onnx.ml opset 3's double-precision form), which wins.
      if (node.attrs.has(`${name}_as_tensor`)) {
        const t = typed(`${name}_as_tensor`, 'tensor', 'a tensor');
        return t && Array.from(t.data);
      }
      return typed(name, 'floats', 'a list of floats');
    },
    strings: (name) => typed(name, 'strings', 'a list of strings (this loader could not read it)'),
    str: (name, dflt) => typed(name, 'string', 'a string') ?? dflt,
    int: (name, dflt) => attrInt(node, ctx, name, dflt),
    tensor(name) {
      const t = typed(name, 'tensor', 'a tensor');
      if (!t) return undefined;
      const d = Array.from(t.data);
      return t.dataType === 1 ? d.map(Math.fround) : d;
    },
  };
}

/** Issue for every attribute the op does not know. */
export function checkKnownAttrs(node: OnnxNode, ctx: ImportContext, known: readonly string[]): void {
  for (const name of node.attrs.keys()) {
    if (!known.includes(name)) ctx.issue(`attribute '${name}' is not supported (supported: ${known.join(', ') || 'none'})`);
  }
}
