/** JSON (de)serialization of the quantized model, stored as quantized-model.json in an artifact dir. */
import { ArtifactError } from '../errors.ts';
import type { QLayer, QuantizedModel } from './types.ts';

const VERSION = 2;

export function serializeQuantizedModel(m: QuantizedModel): string {
  return JSON.stringify({ format: 'zkonnx-quantized-model', version: VERSION, ...m }, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Int32Array) : v));
}

/** Typed-array fields restored on parse. */
function restore(l: QLayer): QLayer {
  switch (l.kind) {
    case 'dense':
    case 'conv':
      return { ...l, weights: Int32Array.from(l.weights as unknown as number[]) };
    case 'gather':
      return { ...l, index: Int32Array.from(l.index as unknown as number[]) };
    default:
      return l;
  }
}

export function parseQuantizedModel(text: string, source: string): QuantizedModel {
  let raw: QuantizedModel & { format?: string; version?: number };
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ArtifactError(`${source} is not valid JSON.`, { cause: e, hint: 'Re-run `zkonnx compile`.' });
  }
  if (raw.format !== 'zkonnx-quantized-model' || raw.version !== VERSION || !Array.isArray(raw.layers)) {
    throw new ArtifactError(`${source} is not a zkonnx quantized model (version ${VERSION}).`, { hint: 'Re-run `zkonnx compile`.' });
  }
  const { format: _f, version: _v, ...rest } = raw;
  return { ...rest, layers: raw.layers.map(restore) };
}
