/** JSON (de)serialization of the quantized model, stored as quantized-model.json in an artifact dir. */
import { ArtifactError } from '../errors.ts';
import type { QLayer, QuantizedModel } from './types.ts';

export function serializeQuantizedModel(m: QuantizedModel): string {
  return JSON.stringify({ format: 'zkonnx-quantized-model', version: 1, ...m }, (_k, v) =>
    v instanceof Int8Array ? Array.from(v) : v,
  );
}

export function parseQuantizedModel(text: string, source: string): QuantizedModel {
  let raw: QuantizedModel & { format?: string; version?: number };
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ArtifactError(`${source} is not valid JSON.`, { cause: e, hint: 'Re-run `zkonnx compile`.' });
  }
  if (raw.format !== 'zkonnx-quantized-model' || raw.version !== 1 || !Array.isArray(raw.layers)) {
    throw new ArtifactError(`${source} is not a zkonnx quantized model (version 1).`, { hint: 'Re-run `zkonnx compile`.' });
  }
  const layers = raw.layers.map((l: QLayer) => (l.kind === 'dense' ? { ...l, weights: Int8Array.from(l.weights as unknown as number[]) } : l));
  const { format: _f, version: _v, ...rest } = raw;
  return { ...rest, layers };
}
