/** Typed attribute access for importers: wrong types become issues, not exceptions. */
import type { OnnxNode } from '../onnx/load.ts';
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

/** Issue for every attribute the op does not know. */
export function checkKnownAttrs(node: OnnxNode, ctx: ImportContext, known: readonly string[]): void {
  for (const name of node.attrs.keys()) {
    if (!known.includes(name)) ctx.issue(`attribute '${name}' is not supported (supported: ${known.join(', ') || 'none'})`);
  }
}
