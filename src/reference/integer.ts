/**
 * The integer reference interpreter: the executable specification of what a zkonnx circuit computes.
 * The circuit's witness outputs must equal these values bit for bit.
 */
import type { QuantizedModel } from '../ir/types.ts';
import { qDef } from '../ops/registry.ts';

/** Run the quantized model on a uint8 input; returns every tensor by name. */
export function runIntegerAll(model: QuantizedModel, input: readonly number[]): Map<string, number[]> {
  const env = new Map<string, number[]>([[model.input.name, [...input]]]);
  for (const l of model.layers) env.set(l.output, qDef(l).reference(l, l.inputs.map((n) => env.get(n)!)));
  return env;
}

/** Run the quantized model on a uint8 input; returns the output integers (uint8 or wide accumulators). */
export function runInteger(model: QuantizedModel, input: readonly number[]): number[] {
  return runIntegerAll(model, input).get(model.outputTensor)!;
}
