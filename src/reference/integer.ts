/**
 * The integer reference interpreter: the executable specification of what a zkonnx circuit computes.
 * The circuit's witness outputs must equal these values bit for bit.
 */
import type { QuantizedModel } from '../ir/types.ts';
import { qDef } from '../ops/registry.ts';

/** Run the quantized model on a uint8 input; returns the output integers (uint8 or wide accumulators). */
export function runInteger(model: QuantizedModel, input: readonly number[]): number[] {
  let x = [...input];
  for (const l of model.layers) x = qDef(l).reference(l, x);
  return x;
}
