/**
 * The integer reference interpreter: the executable specification of what a zkonnx circuit computes.
 * The circuit's witness outputs must equal these values bit for bit.
 */
import { partsOf } from '../ir/io.ts';
import type { QuantizedModel } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import { qDef } from '../ops/registry.ts';

/**
 * Run the quantized model on its integer input (uint8 per float input, the integers of an integer input,
 * concatenated in declaration order); returns every tensor by name.
 */
export function runIntegerAll(model: QuantizedModel, input: readonly number[]): Map<string, number[]> {
  const env = new Map<string, number[]>();
  for (const p of partsOf(model.input)) env.set(p.name, input.slice(p.offset, p.offset + sizeOf(p.shape)));
  for (const l of model.layers) env.set(l.output, qDef(l).reference(l, l.inputs.map((n) => env.get(n)!)));
  return env;
}

/** Run the quantized model; returns the output integers (with several outputs, their concatenation). */
export function runInteger(model: QuantizedModel, input: readonly number[]): number[] {
  return integerOutput(model, runIntegerAll(model, input));
}

/** The (concatenated) output out of runIntegerAll's tensors. */
export function integerOutput(model: QuantizedModel, env: Map<string, number[]>): number[] {
  const parts = model.output.parts;
  if (!parts) return env.get(model.outputTensor)!;
  return parts.flatMap((p) => env.get(p.tensor!)!);
}
